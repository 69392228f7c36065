//! The tray icon and its menu. The icon tells the state at a glance; the menu opens the window
//! on a view, pauses popups and turns start at login on or off. What to show is decided here
//! ([`model`]); drawing it is the backend's job: StatusNotifierItem over D-Bus on Linux
//! (`sni.rs`), a Win32 notification icon on Windows (`win32.rs`). A desktop without a tray host
//! is logged, never fatal: the window is shown instead.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kompira_core::watch::{Connection, WatchState};

use crate::agent::Agent;
use crate::state::{lock, Pause};

/// Which icon shows, most urgent first: offline, unread alerts, reconnecting, paused, connected.
pub fn icon_name(state: Option<&WatchState>, unread: usize) -> &'static str {
    match state {
        None => "tray-offline",
        Some(s) if s.connection == Connection::Offline => "tray-offline",
        Some(_) if unread > 0 => "tray-unread",
        Some(s) if matches!(s.connection, Connection::Reconnecting { .. }) => "tray-reconnecting",
        Some(s) if s.paused => "tray-paused",
        Some(_) => "tray-connected",
    }
}

/// The tooltip (and the window's status line): state and unread count in words, in `lang`.
pub fn tooltip(lang: Lang, state: Option<&WatchState>, unread: usize, pending: u64) -> String {
    let ja = lang == Lang::Ja;
    let connection = match (state.map(|s| &s.connection), ja) {
        (None, false) => "not watching (set [rest] url and token)".to_owned(),
        (None, true) => "監視していません（[rest] の url と token を設定してください）".to_owned(),
        (Some(Connection::Connected), false) => "connected".to_owned(),
        (Some(Connection::Connected), true) => "接続中".to_owned(),
        // Attempt 0 is the first long poll, not yet answered: nothing has failed.
        (Some(Connection::Reconnecting { attempt: 0 }), false) => "connecting".to_owned(),
        (Some(Connection::Reconnecting { attempt: 0 }), true) => "接続しています".to_owned(),
        (Some(Connection::Reconnecting { attempt }), false) => format!("reconnecting (attempt {attempt})"),
        (Some(Connection::Reconnecting { attempt }), true) => format!("再接続中（{attempt} 回目）"),
        (Some(Connection::Offline), false) => "offline".to_owned(),
        (Some(Connection::Offline), true) => "オフライン".to_owned(),
    };
    let paused = state.is_some_and(|s| s.paused);
    let line = match (ja, paused) {
        (false, false) => format!("Kompira Tray: {connection}, {unread} unread"),
        (false, true) => format!("Kompira Tray: {connection}, paused, {unread} unread"),
        (true, false) => format!("Kompira Tray: {connection}、未読 {unread} 件"),
        (true, true) => format!("Kompira Tray: {connection}、通知停止中、未読 {unread} 件"),
    };
    match (ja, pending) {
        (_, 0) => line,
        (false, n) => format!("{line}, {n} waiting to send"),
        (true, n) => format!("{line}、送信待ち {n} 件"),
    }
}

/// The menu's language: `[tray] language`, or the OS locale's when `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Japanese.
    Ja,
}

impl Lang {
    /// `en`/`ja` force a language; anything else follows `locale` (e.g. `ja_JP.UTF-8`).
    pub fn choose(setting: &str, locale: Option<&str>) -> Lang {
        match setting {
            "en" => Lang::En,
            "ja" => Lang::Ja,
            _ if locale.is_some_and(|l| l.to_ascii_lowercase().starts_with("ja")) => Lang::Ja,
            _ => Lang::En,
        }
    }
}

/// The POSIX locale (Windows has none in the environment: English unless set in Settings).
pub fn os_locale() -> Option<String> {
    ["LC_ALL", "LC_MESSAGES", "LANG"].iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

/// The fixed labels of the menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuLabels {
    /// Opens quick send.
    pub quick_send: &'static str,
    /// Opens the job-flow form.
    pub run_jobflow: &'static str,
    /// Pauses popups for an hour.
    pub pause_hour: &'static str,
    /// Pauses popups until Resume.
    pub pause_until_resumed: &'static str,
    /// Ends a pause.
    pub resume: &'static str,
    /// The start-at-login check item.
    pub start_at_login: &'static str,
    /// Opens Settings.
    pub settings: &'static str,
    /// Ends the app.
    pub quit: &'static str,
}

/// The menu's fixed labels in `lang`.
pub fn menu_labels(lang: Lang) -> MenuLabels {
    match lang {
        Lang::En => MenuLabels {
            quick_send: "Quick send…",
            run_jobflow: "Run job flow…",
            pause_hour: "Pause notifications for 1 hour",
            pause_until_resumed: "Pause until resumed",
            resume: "Resume notifications",
            start_at_login: "Start at login",
            settings: "Settings…",
            quit: "Quit",
        },
        Lang::Ja => MenuLabels {
            quick_send: "クイック送信…",
            run_jobflow: "ジョブフローを実行…",
            pause_hour: "通知を 1 時間停止",
            pause_until_resumed: "再開するまで通知を停止",
            resume: "通知を再開",
            start_at_login: "ログイン時に起動",
            settings: "設定…",
            quit: "終了",
        },
    }
}

/// The Alerts item, with the unread count when there is one.
pub fn alerts_label(lang: Lang, unread: usize) -> String {
    match (lang, unread) {
        (Lang::En, 0) => "Alerts".to_owned(),
        (Lang::En, n) => format!("Alerts ({n} unread)"),
        (Lang::Ja, 0) => "アラート".to_owned(),
        (Lang::Ja, n) => format!("アラート（未読 {n} 件）"),
    }
}

/// Which pause items can be chosen: (pause for an hour, pause until resumed, resume).
pub fn pause_items_enabled(paused: bool) -> (bool, bool, bool) {
    (!paused, !paused, paused)
}

/// What the tray shows: the backends draw this and nothing else.
#[derive(Clone, Debug, PartialEq)]
pub struct TrayModel {
    /// One of the `icons/tray-*.png` names (see [`icon_name`]).
    pub icon: &'static str,
    pub tooltip: String,
    pub labels: MenuLabels,
    /// The Alerts item, with its unread count.
    pub alerts: String,
    /// Pause for an hour, pause until resumed, resume (see [`pause_items_enabled`]).
    pub pause_enabled: (bool, bool, bool),
    /// Start at login is on.
    pub autostart: bool,
}

/// What the user chose in the tray.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrayAction {
    /// A left click on the icon.
    Activate,
    /// A menu item that opens the window on a view.
    Open(&'static str),
    PauseHour,
    PauseUntilResumed,
    Resume,
    ToggleAutostart,
    Quit,
}

/// The menu's language for the current settings.
pub fn current_lang(agent: &Agent) -> Lang {
    let setting = agent.state.settings().map(|s| s.language().to_owned()).unwrap_or_default();
    Lang::choose(&setting, os_locale().as_deref())
}

/// The tray as the current state wants it.
pub fn model(agent: &Agent) -> TrayModel {
    let state = &agent.state;
    let lang = current_lang(agent);
    let watch_state = lock(&state.watch_state).clone();
    let unread = lock(&state.history).unread_count();
    let pending = state.outbox_pending.load(std::sync::atomic::Ordering::SeqCst);
    let paused = Pause::holds(*lock(&state.pause), Instant::now());
    TrayModel {
        icon: icon_name(watch_state.as_ref(), unread),
        tooltip: tooltip(lang, watch_state.as_ref(), unread, pending),
        labels: menu_labels(lang),
        alerts: alerts_label(lang, unread),
        pause_enabled: pause_items_enabled(paused),
        autostart: crate::autostart::is_enabled().unwrap_or(false),
    }
}

/// The PNG of an icon name.
pub fn icon_png(name: &str) -> &'static [u8] {
    match name {
        "tray-unread" => include_bytes!("../../../../icons/tray-unread.png"),
        "tray-reconnecting" => include_bytes!("../../../../icons/tray-reconnecting.png"),
        "tray-paused" => include_bytes!("../../../../icons/tray-paused.png"),
        "tray-connected" => include_bytes!("../../../../icons/tray-connected.png"),
        _ => include_bytes!("../../../../icons/tray-offline.png"),
    }
}

/// A decoded icon, RGBA.
#[cfg(any(target_os = "linux", windows))]
pub struct Rgba {
    pub rgba: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Decodes one of our PNG icons into RGBA (8 bits per channel, alpha added where missing).
#[cfg(any(target_os = "linux", windows))]
pub fn decode_png(png_bytes: &[u8]) -> Result<Rgba, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(
        png::Transformations::EXPAND | png::Transformations::ALPHA | png::Transformations::STRIP_16,
    );
    let mut reader = decoder.read_info().map_err(|e| format!("tray icon: {e}"))?;
    let mut buffer = vec![0; reader.output_buffer_size().ok_or("tray icon: too large")?];
    let info = reader.next_frame(&mut buffer).map_err(|e| format!("tray icon: {e}"))?;
    buffer.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buffer,
        png::ColorType::GrayscaleAlpha => buffer.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
        other => return Err(format!("tray icon: unexpected colour type {other:?}")),
    };
    Ok(Rgba { rgba, width: info.width, height: info.height })
}

/// Puts the icon in the tray and starts answering its menu; false when the desktop has no tray
/// host (headless, GNOME without the AppIndicator extension), which is logged, never fatal.
pub async fn start(agent: &Arc<Agent>) -> bool {
    let (actions, mut chosen) = tokio::sync::mpsc::unbounded_channel();
    let answering = agent.clone();
    tokio::spawn(async move {
        while let Some(action) = chosen.recv().await {
            act(&answering, action);
        }
    });
    match backend::start(model(agent), actions.clone()).await {
        Ok(handle) => {
            agent.set_tray(handle);
            true
        }
        Err(reason) => {
            tracing::warn!("no system tray available ({reason}); the window is the way in until one starts");
            // A panel that starts after us (at login) still gets the icon.
            match backend::start_when_host_appears(model(agent), actions).await {
                Ok(handle) => agent.set_tray(handle),
                Err(reason) => tracing::warn!("no tray icon for this session: {reason}"),
            }
            false
        }
    }
}

/// Carries out what was chosen in the tray.
pub fn act(agent: &Arc<Agent>, action: TrayAction) {
    match action {
        TrayAction::Activate => agent.open_window("", None),
        TrayAction::Open(view) => agent.open_window(view, None),
        TrayAction::PauseHour => set_pause(agent, Some(Pause::Until(Instant::now() + Duration::from_secs(3600)))),
        TrayAction::PauseUntilResumed => set_pause(agent, Some(Pause::UntilResumed)),
        TrayAction::Resume => set_pause(agent, None),
        TrayAction::ToggleAutostart => toggle_autostart(agent),
        TrayAction::Quit => agent.quit(),
    }
}

/// Holds popups back (or lets them through again); a timed pause ends by itself.
fn set_pause(agent: &Arc<Agent>, pause: Option<Pause>) {
    let state = &agent.state;
    *lock(&state.pause) = pause;
    if let Some(watcher) = lock(&state.watcher).as_ref() {
        state.apply_pause(watcher);
    }
    agent.refresh_tray();
    agent.emit("status-changed", ());
    if let Some(Pause::Until(until)) = pause {
        let later = agent.clone();
        agent.spawn(async move {
            tokio::time::sleep_until(until.into()).await;
            // Unless the user chose something else meanwhile.
            if *lock(&later.state.pause) == pause {
                set_pause(&later, None);
            }
        });
    }
}

/// The check item flips itself when clicked on some desktops and not on others, so the state
/// is read back from the system rather than from the item.
fn toggle_autostart(agent: &Agent) {
    let outcome = crate::autostart::is_enabled().and_then(|on| crate::autostart::set(!on));
    if let Err(reason) = &outcome {
        tracing::warn!("{reason}");
        crate::popups::show("Kompira Tray".into(), reason.clone(), crate::popups::Loudness::Normal);
    }
    autostart_changed(agent);
}

/// Shows the start-at-login state now in force, in the tray and the window.
pub fn autostart_changed(agent: &Agent) {
    agent.refresh_tray();
    if let Ok(now) = crate::autostart::is_enabled() {
        agent.emit("autostart-changed", now);
    }
}

#[cfg(target_os = "linux")]
#[path = "sni.rs"]
mod backend;
#[cfg(windows)]
#[path = "win32.rs"]
mod backend;
#[cfg(not(any(target_os = "linux", windows)))]
mod backend {
    /// No tray on this system: the window is the way in.
    pub struct TrayHandle;
    impl TrayHandle {
        pub fn show(&self, _model: super::TrayModel) {}
    }
    pub async fn start(
        _model: super::TrayModel,
        _actions: tokio::sync::mpsc::UnboundedSender<super::TrayAction>,
    ) -> Result<TrayHandle, String> {
        Err("no tray backend for this system".into())
    }
    pub use start as start_when_host_appears;
}
pub use backend::TrayHandle;

#[cfg(test)]
mod tests {
    use super::*;

    fn state(connection: Connection, paused: bool) -> WatchState {
        WatchState { connection, last_error: None, paused }
    }

    #[test]
    fn the_icon_shows_the_most_urgent_state() {
        assert_eq!(icon_name(None, 3), "tray-offline");
        assert_eq!(icon_name(Some(&state(Connection::Offline, false)), 3), "tray-offline");
        assert_eq!(icon_name(Some(&state(Connection::Connected, true)), 2), "tray-unread");
        assert_eq!(icon_name(Some(&state(Connection::Reconnecting { attempt: 1 }, true)), 0), "tray-reconnecting");
        assert_eq!(icon_name(Some(&state(Connection::Connected, true)), 0), "tray-paused");
        assert_eq!(icon_name(Some(&state(Connection::Connected, false)), 0), "tray-connected");
    }

    #[test]
    fn the_menu_language_follows_the_setting_then_the_locale() {
        assert_eq!(Lang::choose("ja", Some("en_US.UTF-8")), Lang::Ja);
        assert_eq!(Lang::choose("en", Some("ja_JP.UTF-8")), Lang::En);
        assert_eq!(Lang::choose("auto", Some("ja_JP.UTF-8")), Lang::Ja);
        assert_eq!(Lang::choose("auto", Some("C")), Lang::En);
        assert_eq!(Lang::choose("auto", None), Lang::En);
    }

    #[test]
    fn menu_labels_exist_in_both_languages() {
        assert_eq!(menu_labels(Lang::En).settings, "Settings…");
        assert_eq!(menu_labels(Lang::Ja).start_at_login, "ログイン時に起動");
        assert_eq!(alerts_label(Lang::En, 0), "Alerts");
        assert_eq!(alerts_label(Lang::En, 3), "Alerts (3 unread)");
        assert_eq!(alerts_label(Lang::Ja, 2), "アラート（未読 2 件）");
    }

    #[test]
    fn only_the_pause_items_that_make_sense_are_enabled() {
        assert_eq!(pause_items_enabled(false), (true, true, false));
        assert_eq!(pause_items_enabled(true), (false, false, true));
        let now = Instant::now();
        assert!(!Pause::holds(None, now));
        assert!(Pause::holds(Some(Pause::UntilResumed), now));
        assert!(Pause::holds(Some(Pause::Until(now + Duration::from_secs(1))), now));
        assert!(!Pause::holds(Some(Pause::Until(now)), now));
    }

    #[test]
    fn the_tooltip_says_it_in_words() {
        assert_eq!(
            tooltip(Lang::En, Some(&state(Connection::Reconnecting { attempt: 2 }, true)), 1, 0),
            "Kompira Tray: reconnecting (attempt 2), paused, 1 unread"
        );
        assert!(tooltip(Lang::En, None, 0, 0).contains("set [rest] url and token"));
        assert_eq!(
            tooltip(Lang::En, Some(&state(Connection::Reconnecting { attempt: 0 }, false)), 0, 0),
            "Kompira Tray: connecting, 0 unread"
        );
    }

    #[test]
    fn the_tooltip_speaks_japanese_too() {
        assert_eq!(
            tooltip(Lang::Ja, Some(&state(Connection::Reconnecting { attempt: 2 }, true)), 1, 0),
            "Kompira Tray: 再接続中（2 回目）、通知停止中、未読 1 件"
        );
        assert_eq!(
            tooltip(Lang::Ja, Some(&state(Connection::Connected, false)), 0, 0),
            "Kompira Tray: 接続中、未読 0 件"
        );
        assert!(tooltip(Lang::Ja, None, 0, 0).contains("[rest] の url と token"));
    }

    #[test]
    fn events_waiting_in_the_outbox_are_counted_in_the_tooltip() {
        let connected = state(Connection::Connected, false);
        assert_eq!(tooltip(Lang::En, Some(&connected), 1, 2), "Kompira Tray: connected, 1 unread, 2 waiting to send");
        assert_eq!(tooltip(Lang::Ja, Some(&connected), 0, 5), "Kompira Tray: 接続中、未読 0 件、送信待ち 5 件");
    }
}
