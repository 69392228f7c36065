//! Desktop popups through notify-rust. D-Bus calls block, so every popup is shown off the async
//! threads; a desktop without a notification server is logged, never fatal.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use std::path::Path;

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

/// The popup as notify-rust builds it, without showing it.
pub fn build(summary: &str, body: &str, loudness: Loudness) -> notify_rust::Notification {
    let mut popup = notify_rust::Notification::new();
    popup.appname("Kompira Tray").summary(summary).body(body);
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
        if let Err(e) = build(&summary, &body, loudness).show() {
            tracing::warn!("desktop notification not shown: {e}");
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("desktop notification not shown: no thread for it ({e})");
    }
}

/// Shows a popup with buttons (`(id, label)` pairs) and calls `on_action` with the id of the
/// one chosen. Nothing is called when the popup is dismissed or expires.
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
            Ok(handle) => wait_for_action(handle, on_action),
            Err(e) => tracing::warn!("desktop notification not shown: {e}"),
        }
        POPUPS_WITH_ACTIONS.fetch_sub(1, Ordering::Relaxed);
    });
    if let Err(e) = spawned {
        POPUPS_WITH_ACTIONS.fetch_sub(1, Ordering::Relaxed);
        tracing::warn!("desktop notification not shown: no thread for it ({e})");
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
    fn installed_windows_builds_use_our_toast_id_and_cargo_builds_the_default() {
        let id = |os, exe: &str| toast_app_id(os, Path::new(exe));
        assert_eq!(id(Os::Windows, r"C:\Program Files\Kompira Tray\kompira-tray.exe"), Some(WINDOWS_APP_ID));
        assert_eq!(id(Os::Windows, r"C:\src\kompira-tray\target\release\kompira-tray.exe"), None);
        assert_eq!(id(Os::Windows, r"C:\src\kt\target\x86_64-pc-windows-msvc\debug\kompira-tray.exe"), None);
        assert_eq!(id(Os::Linux, "/usr/bin/kompira-tray"), None);
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
