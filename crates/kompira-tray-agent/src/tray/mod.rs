//! The tray icon and its menu. The icon tells the state at a glance; the menu opens the window
//! on a view, pauses popups and turns start at login on or off. What to show is decided here
//! ([`model`]); drawing it is the backend's job: StatusNotifierItem over D-Bus on Linux
//! (`sni.rs`), a Win32 notification icon on Windows (`win32.rs`). A desktop without a tray host
//! is logged, never fatal: the window is shown instead.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kompira_core::watch::{Connection, WatchState};
use kompira_tray_ipc::Event;

use crate::shell::Shell;
use crate::state::{lock, Pause};
use crate::text::{self, Lang, Text};

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
    let connection = text::connection(lang, state.map(|s| &s.connection));
    text::tooltip_line(lang, &connection, state.is_some_and(|s| s.paused), unread, pending)
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
    MenuLabels {
        quick_send: Text::QuickSend.get(lang),
        run_jobflow: Text::RunJobflow.get(lang),
        pause_hour: Text::PauseHour.get(lang),
        pause_until_resumed: Text::PauseUntilResumed.get(lang),
        resume: Text::Resume.get(lang),
        start_at_login: Text::StartAtLogin.get(lang),
        settings: Text::Settings.get(lang),
        quit: Text::Quit.get(lang),
    }
}

/// Which pause items can be chosen: (pause for an hour, pause until resumed, resume).
pub fn pause_items_enabled(paused: bool) -> (bool, bool, bool) {
    (!paused, !paused, paused)
}

/// What the tray shows: the backends draw this and nothing else.
#[derive(Clone, Debug, PartialEq)]
pub struct TrayModel {
    /// The language of the words below (and of what the tray adds to balloons).
    pub lang: Lang,
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

/// The agent's language for the current settings (see `text::current`).
pub fn current_lang(agent: &dyn Shell) -> Lang {
    let setting = agent.state().settings().map(|s| s.language().to_owned()).unwrap_or_default();
    text::current(&setting)
}

/// The tray as the current state wants it.
pub fn model(agent: &dyn Shell) -> TrayModel {
    let state = &agent.state();
    let lang = current_lang(agent);
    let watch_state = lock(&state.watch_state).clone();
    let unread = lock(&state.history).unread_count();
    let pending = state.outbox_pending.load(std::sync::atomic::Ordering::SeqCst);
    let paused = Pause::holds(*lock(&state.pause), Instant::now());
    TrayModel {
        lang,
        icon: icon_name(watch_state.as_ref(), unread),
        tooltip: tooltip(lang, watch_state.as_ref(), unread, pending),
        labels: menu_labels(lang),
        alerts: text::alerts_label(lang, unread),
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
pub async fn start(agent: &Arc<dyn Shell>, keep: impl Fn(TrayHandle)) -> bool {
    let (actions, mut chosen) = tokio::sync::mpsc::unbounded_channel();
    let answering = agent.clone();
    tokio::spawn(async move {
        while let Some(action) = chosen.recv().await {
            act(&answering, action);
        }
    });
    match backend::start(model(agent), actions.clone()).await {
        Ok(handle) => {
            keep(handle);
            true
        }
        Err(reason) => {
            tracing::warn!("no system tray available ({reason}); the window is the way in until one starts");
            // A panel that starts after us (at login) still gets the icon.
            match backend::start_when_host_appears(model(agent), actions).await {
                Ok(handle) => keep(handle),
                Err(reason) => tracing::warn!("no tray icon for this session: {reason}"),
            }
            false
        }
    }
}

/// Carries out what was chosen in the tray.
pub fn act(agent: &Arc<dyn Shell>, action: TrayAction) {
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
fn set_pause(agent: &Arc<dyn Shell>, pause: Option<Pause>) {
    let state = &agent.state();
    *lock(&state.pause) = pause;
    if let Some(watcher) = lock(&state.watcher).as_ref() {
        state.apply_pause(watcher);
    }
    agent.refresh_tray();
    agent.emit(Event::StatusChanged);
    if let Some(Pause::Until(until)) = pause {
        let later = agent.clone();
        agent.spawn(async move {
            tokio::time::sleep_until(until.into()).await;
            // Unless the user chose something else meanwhile.
            if *lock(&later.state().pause) == pause {
                set_pause(&later, None);
            }
        });
    }
}

/// The check item flips itself when clicked on some desktops and not on others, so the state
/// is read back from the system rather than from the item.
fn toggle_autostart(agent: &dyn Shell) {
    let outcome = crate::autostart::is_enabled().and_then(|on| crate::autostart::set(!on));
    if let Err(reason) = &outcome {
        tracing::warn!("{reason}");
        crate::popups::show("Kompira Tray".into(), reason.clone(), crate::popups::Loudness::Normal);
    }
    autostart_changed(agent);
}

/// Shows the start-at-login state now in force, in the tray and the window.
pub fn autostart_changed(agent: &dyn Shell) {
    agent.refresh_tray();
    if let Ok(now) = crate::autostart::is_enabled() {
        agent.emit(Event::AutostartChanged(now));
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
    fn menu_labels_exist_in_both_languages() {
        assert_eq!(menu_labels(Lang::En).settings, "Settings…");
        assert_eq!(menu_labels(Lang::Ja).start_at_login, "ログイン時に起動");
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
