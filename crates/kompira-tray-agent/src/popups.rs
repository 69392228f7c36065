//! Desktop popups through notify-rust. D-Bus calls block, so every popup is shown off the async
//! threads; a desktop without a notification server is logged, never fatal.
//!
//! On Windows a toast that cannot be shown (an AppUserModelID that is not registered, as for a
//! portable copy; no WinRT, as under Wine) comes back as a balloon on our tray icon
//! ([`Balloon`], shown by the tray through [`set_balloon_sink`]). The log says which way each
//! popup went ([`Delivery`]).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use kompira_core::config::Os;
use kompira_core::watch::Severity;

/// `[notify] sound`, set whenever the watcher (re)starts. A process-wide switch rather than a
/// parameter: every popup follows the one setting, whoever shows it.
static SOUND: AtomicBool = AtomicBool::new(true);

/// Turns the popup sound on or off.
pub fn set_sound(on: bool) {
    SOUND.store(on, Ordering::Relaxed);
}

/// The sound theme name asked for when sound is on (freedesktop's instant-message sound;
/// the toast default on Windows and macOS).
#[cfg(all(unix, not(target_os = "macos")))]
const SOUND_NAME: &str = "message-new-instant";
#[cfg(not(all(unix, not(target_os = "macos"))))]
const SOUND_NAME: &str = "Default";

/// Popups whose buttons are being waited for, each by a thread of its own; beyond this, popups
/// come without buttons rather than pile up threads (the window still offers every action).
const MAX_POPUPS_WITH_ACTIONS: usize = 32;

static POPUPS_WITH_ACTIONS: AtomicUsize = AtomicUsize::new(0);

/// Our Windows AppUserModelID: the bundle identifier, registered by the installer on the
/// Start-menu shortcut (docs/windows.md). Windows drops toasts whose id is not registered.
#[cfg_attr(not(target_os = "windows"), allow(dead_code, reason = "only Windows toasts carry an id"))]
pub const WINDOWS_APP_ID: &str = "jp.kompira.tray";

/// The AppUserModelID a toast should carry, `None` for the default. On Windows an installed app
/// uses ours; a build run from a cargo `target` folder has no shortcut, so it keeps
/// notify-rust's default (PowerShell's id, always registered) and developers still see toasts.
/// Other systems have no such id.
#[cfg_attr(
    not(target_os = "windows"),
    allow(dead_code, reason = "only Windows toasts carry an id; unit-tested everywhere")
)]
pub fn toast_app_id(os: Os, exe: &Path) -> Option<&'static str> {
    if os != Os::Windows {
        return None;
    }
    // Split by hand: the OS is a parameter, so `\\` must separate even when tested on Linux.
    let text = exe.to_string_lossy().to_lowercase();
    let parts: Vec<&str> = text.split(['/', '\\']).collect();
    let from_cargo_target = parts.windows(2).any(|w| w[0] == "target" && (w[1] == "debug" || w[1] == "release"))
        || parts.windows(3).any(|w| w[0] == "target" && (w[2] == "debug" || w[2] == "release"));
    (!from_cargo_target).then_some(WINDOWS_APP_ID)
}

/// How loud a popup is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loudness {
    Low,
    Normal,
    Critical,
}

impl Loudness {
    /// Severity → urgency: High and Disaster are critical, Warning and Average normal.
    pub fn of(severity: Severity) -> Self {
        match severity {
            Severity::High | Severity::Disaster => Loudness::Critical,
            Severity::Warning | Severity::Average => Loudness::Normal,
            Severity::NotClassified | Severity::Information => Loudness::Low,
        }
    }
}

/// The body as the notification server reads it: servers that advertise `body-markup` (GNOME
/// Shell, KDE, dunst, xfce4-notifyd) parse the body as markup, where an alert's
/// `<a href=…>` would become a link and a lone `a < b` can blank the text. For them `&`, `<` and
/// `>` are escaped, so every body (alerts, job-flow results, connection errors) shows as typed.
pub fn body_for_server(body: &str, server_reads_markup: bool) -> String {
    if !server_reads_markup {
        return body.to_owned();
    }
    let mut escaped = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Whether the notification server reads bodies as markup: asked on each popup's own
/// connection (a popup is rare, and the server may have been replaced since the last one).
/// Windows toasts and balloons take plain text.
fn server_reads_markup() -> bool {
    #[cfg(all(unix, not(target_os = "macos")))]
    match notify_rust::get_capabilities() {
        Ok(capabilities) => capabilities.iter().any(|c| c == "body-markup"),
        // Then `show` fails too and says why; escaping is the safe guess meanwhile.
        Err(_) => true,
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    false
}

/// The popup as notify-rust builds it, without showing it; `body` is plain text, escaped when
/// the server reads markup.
pub fn build(summary: &str, body: &str, loudness: Loudness) -> notify_rust::Notification {
    let mut popup = notify_rust::Notification::new();
    popup.appname("Kompira Tray").summary(summary).body(&body_for_server(body, server_reads_markup()));
    #[cfg(all(unix, not(target_os = "macos")))]
    popup.urgency(match loudness {
        Loudness::Low => notify_rust::Urgency::Low,
        Loudness::Normal => notify_rust::Urgency::Normal,
        Loudness::Critical => notify_rust::Urgency::Critical,
    });
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let _ = loudness;
    if SOUND.load(Ordering::Relaxed) {
        popup.sound_name(SOUND_NAME);
    }
    #[cfg(target_os = "windows")]
    if let Some(id) = std::env::current_exe().ok().and_then(|exe| toast_app_id(Os::Windows, &exe)) {
        popup.app_id(id);
    }
    popup
}

/// Shows a popup without actions.
pub fn show(summary: String, body: String, loudness: Loudness) {
    // D-Bus blocks: a short-lived thread of its own, callable from anywhere (popups are rare).
    let spawned = std::thread::Builder::new().name("popup".into()).spawn(move || {
        let delivery = match build(&summary, &body, loudness).show() {
            Ok(_) => Delivery::Native,
            Err(e) => after_native_failed(native_failure(&e.to_string()), || {
                try_balloon(Balloon::new(summary, body, loudness, Vec::new(), None))
            }),
        };
        delivery.log(Os::current());
    });
    if let Err(e) = spawned {
        tracing::warn!("desktop notification not shown: no thread for it ({e})");
    }
}

/// Shows a popup with buttons (`(id, label)` pairs) and calls `on_action` with the id of the
/// one chosen. Nothing is called when the popup is dismissed or expires. As a balloon (which
/// has no buttons) it names the choices and a click on it counts as a click on the popup
/// ("default").
pub fn show_with_actions(
    summary: String,
    body: String,
    loudness: Loudness,
    actions: Vec<(String, String)>,
    on_action: impl FnOnce(&str) + Send + 'static,
) {
    // A popup that is never answered keeps its thread; the slot is freed when it closes.
    let slot = POPUPS_WITH_ACTIONS.fetch_add(1, Ordering::Relaxed);
    if slot >= MAX_POPUPS_WITH_ACTIONS {
        POPUPS_WITH_ACTIONS.fetch_sub(1, Ordering::Relaxed);
        tracing::debug!("{slot} popups await an answer; this one comes without buttons");
        return show(summary, body, loudness);
    }
    let spawned = std::thread::Builder::new().name("popup-actions".into()).spawn(move || {
        let mut popup = build(&summary, &body, loudness);
        for (id, label) in &actions {
            popup.action(id, label);
        }
        match popup.show() {
            Ok(handle) => {
                Delivery::Native.log(Os::current());
                wait_for_action(handle, on_action);
            }
            Err(e) => {
                let choices = actions.into_iter().map(|(_, label)| label).collect();
                let on_click: OnClick = Box::new(move || on_action("default"));
                let balloon = Balloon::new(summary, body, loudness, choices, Some(on_click));
                after_native_failed(native_failure(&e.to_string()), || try_balloon(balloon)).log(Os::current());
            }
        }
        POPUPS_WITH_ACTIONS.fetch_sub(1, Ordering::Relaxed);
    });
    if let Err(e) = spawned {
        POPUPS_WITH_ACTIONS.fetch_sub(1, Ordering::Relaxed);
        tracing::warn!("desktop notification not shown: no thread for it ({e})");
    }
}

/// Which way a popup reached the screen (or did not), for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The system's own popup: a toast on Windows, a desktop notification elsewhere.
    Native,
    /// A notification-area balloon, after the toast failed for the reason given.
    Balloon { toast_failed: String },
    /// Nowhere: why the system's popup failed, and why the balloon did where one was tried.
    NotShown { native_failed: String, balloon_failed: Option<String> },
}

impl Delivery {
    /// The log line. Windows checks (tests/windows_run/popup_balloon.sh) look for these words,
    /// so they are fixed.
    pub fn describe(&self, os: Os) -> String {
        match (self, os) {
            (Delivery::Native, Os::Windows) => "popup shown as a toast".to_owned(),
            (Delivery::Native, Os::Linux) => "popup shown as a desktop notification".to_owned(),
            (Delivery::Balloon { toast_failed }, _) => {
                format!("popup shown as a notification-area balloon (the toast failed: {toast_failed})")
            }
            (Delivery::NotShown { native_failed, balloon_failed: Some(balloon) }, _) => {
                format!("desktop notification not shown: toast: {native_failed}; balloon: {balloon}")
            }
            (Delivery::NotShown { native_failed, balloon_failed: None }, _) => {
                format!("desktop notification not shown: {native_failed}")
            }
        }
    }

    /// Logs [`Delivery::describe`]: info when shown as asked (at the agent's default level, so
    /// a log tells which way popups go), a warning for the fallback and for nothing shown.
    fn log(&self, os: Os) {
        let line = self.describe(os);
        match self {
            Delivery::Native => tracing::info!("{line}"),
            Delivery::Balloon { .. } | Delivery::NotShown { .. } => tracing::warn!("{line}"),
        }
    }
}

/// The system's popup failed with `native_failed`: tries the balloon (`None` where this system
/// has none) and says where the popup ended up.
pub fn after_native_failed(native_failed: String, balloon: impl FnOnce() -> Option<Result<(), String>>) -> Delivery {
    match balloon() {
        Some(Ok(())) => Delivery::Balloon { toast_failed: native_failed },
        Some(Err(balloon_failed)) => Delivery::NotShown { native_failed, balloon_failed: Some(balloon_failed) },
        None => Delivery::NotShown { native_failed, balloon_failed: None },
    }
}

/// Why the system's popup failed, in words: notify-rust reports a failed toast as its WinRT
/// error's debug form (`Os(Error { code: HRESULT(0x80040154), message: "" })`, the message often
/// empty), so the codes a person meets are named.
pub fn native_failure(reported: &str) -> String {
    let Some(code) = reported.split("HRESULT(").nth(1).and_then(|rest| rest.split(')').next()) else {
        return reported.to_owned();
    };
    let meaning = match code.to_ascii_lowercase().as_str() {
        "0x80040154" => "class not registered: this system has no WinRT toasts (as under Wine)",
        "0x80070490" => "element not found: Windows does not know the app's AppUserModelID (docs/windows.md)",
        _ => return format!("WinRT error {code}: {reported}"),
    };
    format!("WinRT error {code}, {meaning}")
}

/// What a click on a balloon does.
pub type OnClick = Box<dyn FnOnce() + Send>;

/// Shows a balloon and says whether the shell took it; registered by the tray that owns the icon.
pub type BalloonSink = Box<dyn Fn(Balloon) -> Result<(), String> + Send + Sync>;

/// The Windows tray, once its icon is up: balloons are shown on our own icon, so they carry our
/// name and no second icon comes and goes.
static BALLOON_SINK: OnceLock<BalloonSink> = OnceLock::new();

/// Where balloons go from now on (the Windows tray calls this once its icon is up).
#[cfg_attr(not(windows), allow(dead_code, reason = "only the Windows tray shows balloons"))]
pub fn set_balloon_sink(sink: BalloonSink) {
    if BALLOON_SINK.set(sink).is_err() {
        tracing::debug!("balloons already go to the first tray icon");
    }
}

/// Shows `balloon` where balloons exist: on Windows through the tray, elsewhere `None`.
fn try_balloon(balloon: Balloon) -> Option<Result<(), String>> {
    if Os::current() != Os::Windows {
        return None;
    }
    Some(match BALLOON_SINK.get() {
        Some(sink) => sink(balloon),
        None => Err("there is no tray icon to show it on".to_owned()),
    })
}

/// The longest balloon title and text, in UTF-16 units: NOTIFYICONDATAW's `szInfoTitle` holds
/// 64 and `szInfo` 256, each with its closing NUL.
pub const BALLOON_TITLE_MAX_UNITS: usize = 63;
pub const BALLOON_TEXT_MAX_UNITS: usize = 255;

/// `text` in at most `max_units` UTF-16 units: whole when it fits, else cut at a character
/// boundary and ended with "…", so a shortened text shows that it was.
pub fn fit_utf16(text: &str, max_units: usize) -> String {
    if text.encode_utf16().count() <= max_units {
        return text.to_owned();
    }
    let room = max_units.saturating_sub(ELLIPSIS.len_utf16());
    let mut used = 0;
    let kept: String = text
        .chars()
        .take_while(|c| {
            used += c.len_utf16();
            used <= room
        })
        .collect();
    if max_units < ELLIPSIS.len_utf16() {
        return kept;
    }
    format!("{}{ELLIPSIS}", kept.trim_end())
}

const ELLIPSIS: char = '…';

/// The icon beside a balloon's title.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalloonIcon {
    /// NIIF_INFO.
    Info,
    /// NIIF_WARNING.
    Warning,
    /// NIIF_ERROR.
    Error,
}

impl BalloonIcon {
    /// As loud as the popup: critical (High, Disaster) an error, normal a warning, low an info.
    pub fn of(loudness: Loudness) -> Self {
        match loudness {
            Loudness::Critical => BalloonIcon::Error,
            Loudness::Normal => BalloonIcon::Warning,
            Loudness::Low => BalloonIcon::Info,
        }
    }
}

/// A popup as a notification-area balloon: no buttons, so the choices a popup would offer are
/// named (in the language the tray speaks) and a click on the balloon stands for a click on it.
pub struct Balloon {
    pub title: String,
    pub body: String,
    /// The labels of the popup's buttons; empty when it has none.
    pub choices: Vec<String>,
    pub icon: BalloonIcon,
    /// Whether the balloon may play the system's sound (`[notify] sound`).
    pub sound: bool,
    pub on_click: Option<OnClick>,
}

impl Balloon {
    fn new(title: String, body: String, loudness: Loudness, choices: Vec<String>, on_click: Option<OnClick>) -> Self {
        let sound = SOUND.load(Ordering::Relaxed);
        Balloon { title, body, choices, icon: BalloonIcon::of(loudness), sound, on_click }
    }

    /// The title and text as the balloon holds them: each within its limit, the body shortened
    /// first so that `note` (where the choices are) stays whole. An empty body repeats the
    /// title, as the shell shows no balloon without text.
    pub fn texts(&self, note: Option<&str>) -> (String, String) {
        let title = fit_utf16(&self.title, BALLOON_TITLE_MAX_UNITS);
        let body = self.body.trim();
        let text = match note {
            None if body.is_empty() => fit_utf16(&self.title, BALLOON_TEXT_MAX_UNITS),
            None => fit_utf16(body, BALLOON_TEXT_MAX_UNITS),
            Some(note) => {
                let room = BALLOON_TEXT_MAX_UNITS.saturating_sub(note.encode_utf16().count() + 1);
                let body = fit_utf16(body, room);
                let joined = if body.is_empty() { note.to_owned() } else { format!("{body}\n{note}") };
                fit_utf16(&joined, BALLOON_TEXT_MAX_UNITS)
            }
        };
        (title, text)
    }
}

/// XDG and Windows tell which button was pressed ("__closed" when none was).
#[cfg(any(target_os = "windows", all(unix, not(target_os = "macos"))))]
fn wait_for_action(handle: notify_rust::NotificationHandle, on_action: impl FnOnce(&str)) {
    handle.wait_for_action(|action| {
        if action != "__closed" {
            on_action(action);
        }
    });
}

/// macOS popups report no buttons here; the window offers the same actions.
#[cfg(target_os = "macos")]
fn wait_for_action(_handle: notify_rust::NotificationHandle, _on_action: impl FnOnce(&str)) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_escaped_for_servers_that_read_markup_and_left_alone_for_the_others() {
        let body = r#"<a href="https://evil.example/">click here</a> & a < b > c"#;
        assert_eq!(
            body_for_server(body, true),
            r#"&lt;a href="https://evil.example/"&gt;click here&lt;/a&gt; &amp; a &lt; b &gt; c"#
        );
        assert_eq!(body_for_server(body, false), body);
        assert_eq!(body_for_server("障害 &amp;", true), "障害 &amp;amp;", "an entity in the text stays text");
    }

    #[test]
    fn installed_windows_builds_use_our_toast_id_and_cargo_builds_the_default() {
        let id = |os, exe: &str| toast_app_id(os, Path::new(exe));
        assert_eq!(id(Os::Windows, r"C:\Program Files\Kompira Tray\kompira-tray.exe"), Some(WINDOWS_APP_ID));
        assert_eq!(id(Os::Windows, r"C:\src\kompira-tray\target\release\kompira-tray.exe"), None);
        assert_eq!(id(Os::Windows, r"C:\src\kt\target\x86_64-pc-windows-msvc\debug\kompira-tray.exe"), None);
        assert_eq!(id(Os::Linux, "/usr/bin/kompira-tray"), None);
    }

    fn units(text: &str) -> usize {
        text.encode_utf16().count()
    }

    #[test]
    fn texts_that_fit_stay_whole_and_longer_ones_end_in_an_ellipsis_within_the_limit() {
        assert_eq!(fit_utf16("Disk full on web1", BALLOON_TITLE_MAX_UNITS), "Disk full on web1");
        let exact = "x".repeat(BALLOON_TITLE_MAX_UNITS);
        assert_eq!(fit_utf16(&exact, BALLOON_TITLE_MAX_UNITS), exact);

        let long = fit_utf16(&"word ".repeat(40), BALLOON_TITLE_MAX_UNITS);
        assert!(long.starts_with("word word ") && long.ends_with('…'), "{long:?}");
        assert!(units(&long) <= BALLOON_TITLE_MAX_UNITS, "{}", units(&long));

        let japanese = fit_utf16(&"ディスク容量不足".repeat(40), BALLOON_TEXT_MAX_UNITS);
        assert_eq!(units(&japanese), BALLOON_TEXT_MAX_UNITS);
        assert!(japanese.ends_with('…'));
    }

    #[test]
    fn shortening_never_splits_a_character_made_of_two_utf16_units() {
        // 40 emoji are 80 units; cut for 64, the 63 left before the ellipsis hold 31 whole ones.
        let cut = fit_utf16(&"😀".repeat(40), 64);
        assert_eq!(cut, format!("{}…", "😀".repeat(31)));
        assert_eq!(units(&cut), 63);
    }

    #[test]
    fn the_balloon_icon_is_as_loud_as_the_popup() {
        assert_eq!(BalloonIcon::of(Loudness::of(Severity::Disaster)), BalloonIcon::Error);
        assert_eq!(BalloonIcon::of(Loudness::of(Severity::High)), BalloonIcon::Error);
        assert_eq!(BalloonIcon::of(Loudness::of(Severity::Average)), BalloonIcon::Warning);
        assert_eq!(BalloonIcon::of(Loudness::of(Severity::Information)), BalloonIcon::Info);
    }

    fn balloon(title: &str, body: &str) -> Balloon {
        Balloon::new(title.into(), body.into(), Loudness::Normal, vec!["Open".into()], None)
    }

    #[test]
    fn a_balloon_names_where_the_choices_are_and_shortens_the_body_to_keep_that_whole() {
        let note = "Open: in the Kompira Tray window (click to open it).";
        let (title, text) = balloon("High: Disk full on web1", "free space 2%").texts(Some(note));
        assert_eq!(title, "High: Disk full on web1");
        assert_eq!(text, format!("free space 2%\n{note}"));

        let (title, text) = balloon(&"Very long trigger name ".repeat(5), &"detail ".repeat(60)).texts(Some(note));
        assert!(units(&title) <= BALLOON_TITLE_MAX_UNITS && title.ends_with('…'), "{title:?}");
        assert!(units(&text) <= BALLOON_TEXT_MAX_UNITS, "{}", units(&text));
        assert!(text.ends_with(&format!("…\n{note}")), "{text:?}");
    }

    #[test]
    fn a_balloon_without_a_body_repeats_its_title_as_the_shell_shows_none_without_text() {
        assert_eq!(balloon("Connection to Kompira lost", "  ").texts(None).1, "Connection to Kompira lost");
        assert_eq!(balloon("Answer sent", "").texts(Some("Open: in the window.")).1, "Open: in the window.");
    }

    #[test]
    fn the_log_says_which_way_a_popup_went_in_fixed_words() {
        assert_eq!(Delivery::Native.describe(Os::Windows), "popup shown as a toast");
        assert_eq!(Delivery::Native.describe(Os::Linux), "popup shown as a desktop notification");

        let toast_failed = "Class not registered".to_owned();
        let fell_back = after_native_failed(toast_failed.clone(), || Some(Ok(())));
        assert_eq!(
            fell_back.describe(Os::Windows),
            "popup shown as a notification-area balloon (the toast failed: Class not registered)"
        );
        let both_failed = after_native_failed(toast_failed.clone(), || Some(Err("no tray icon".into())));
        assert_eq!(
            both_failed.describe(Os::Windows),
            "desktop notification not shown: toast: Class not registered; balloon: no tray icon"
        );
        let no_balloons = after_native_failed("no D-Bus".into(), || None);
        assert_eq!(no_balloons.describe(Os::Linux), "desktop notification not shown: no D-Bus");
    }

    #[test]
    fn a_failed_toast_is_named_by_its_winrt_error() {
        let under_wine = r#"Os(Error { code: HRESULT(0x80040154), message: "" })"#;
        assert_eq!(
            native_failure(under_wine),
            "WinRT error 0x80040154, class not registered: this system has no WinRT toasts (as under Wine)"
        );
        let other = r#"Os(Error { code: HRESULT(0x80004005), message: "Unspecified error" })"#;
        assert_eq!(native_failure(other), format!("WinRT error 0x80004005: {other}"));
        assert_eq!(
            native_failure("org.freedesktop.DBus.Error.ServiceUnknown"),
            "org.freedesktop.DBus.Error.ServiceUnknown"
        );
    }

    #[test]
    fn only_windows_has_balloons_to_fall_back_on() {
        let tried = try_balloon(balloon("t", "b"));
        assert_eq!(tried.is_some(), cfg!(windows));
    }

    // One test, as the switch is process-wide.
    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn popups_ask_for_a_sound_only_when_sound_is_on() {
        let sound = notify_rust::Hint::SoundName(SOUND_NAME.into());
        set_sound(false);
        assert!(!build("s", "b", Loudness::Normal).hints.contains(&sound));
        set_sound(true);
        assert!(build("s", "b", Loudness::Normal).hints.contains(&sound));
    }
}
