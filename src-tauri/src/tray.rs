//! The tray icon and its menu. The icon tells the state at a glance; the menu opens the window
//! on a view, pauses popups and turns start at login on or off. A desktop without a tray host
//! (headless, GNOME without the AppIndicator extension) is logged, never fatal: the window is
//! shown instead.

use std::time::{Duration, Instant};

use kompira_core::watch::{Connection, WatchState};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::state::{lock, AppState, Pause};
use crate::window;

const TRAY_ID: &str = "main";

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
fn os_locale() -> Option<String> {
    ["LC_ALL", "LC_MESSAGES", "LANG"].iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

pub fn current_lang(app: &AppHandle) -> Lang {
    let setting = app.state::<AppState>().settings().map(|s| s.language().to_owned()).unwrap_or_default();
    Lang::choose(&setting, os_locale().as_deref())
}

/// The fixed labels of the menu.
#[derive(Debug, PartialEq, Eq)]
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

/// The items whose text or state changes while the app runs.
struct TrayMenu {
    quick_send: MenuItem<Wry>,
    run_jobflow: MenuItem<Wry>,
    alerts: MenuItem<Wry>,
    pause_hour: MenuItem<Wry>,
    pause_until_resumed: MenuItem<Wry>,
    resume: MenuItem<Wry>,
    start_at_login: CheckMenuItem<Wry>,
    settings: MenuItem<Wry>,
    quit: MenuItem<Wry>,
}

impl TrayMenu {
    fn new(app: &AppHandle, lang: Lang) -> tauri::Result<Self> {
        let labels = menu_labels(lang);
        let item = |id: &str, text: &str| MenuItem::with_id(app, id, text, true, None::<&str>);
        Ok(Self {
            quick_send: item("send", labels.quick_send)?,
            run_jobflow: item("jobflow", labels.run_jobflow)?,
            alerts: item("alerts", &alerts_label(lang, 0))?,
            pause_hour: item("pause-hour", labels.pause_hour)?,
            pause_until_resumed: item("pause", labels.pause_until_resumed)?,
            resume: item("resume", labels.resume)?,
            start_at_login: CheckMenuItem::with_id(
                app,
                "autostart",
                labels.start_at_login,
                true,
                crate::autostart::is_enabled(app).unwrap_or(false),
                None::<&str>,
            )?,
            settings: item("settings", labels.settings)?,
            quit: item("quit", labels.quit)?,
        })
    }

    fn menu(&self, app: &AppHandle) -> tauri::Result<Menu<Wry>> {
        Menu::with_items(
            app,
            &[
                &self.quick_send,
                &self.run_jobflow,
                &self.alerts,
                &PredefinedMenuItem::separator(app)?,
                &self.pause_hour,
                &self.pause_until_resumed,
                &self.resume,
                &PredefinedMenuItem::separator(app)?,
                &self.start_at_login,
                &self.settings,
                &PredefinedMenuItem::separator(app)?,
                &self.quit,
            ],
        )
    }
}

fn icon_bytes(name: &str) -> &'static [u8] {
    match name {
        "tray-unread" => include_bytes!("../../icons/tray-unread.png"),
        "tray-reconnecting" => include_bytes!("../../icons/tray-reconnecting.png"),
        "tray-paused" => include_bytes!("../../icons/tray-paused.png"),
        "tray-connected" => include_bytes!("../../icons/tray-connected.png"),
        _ => include_bytes!("../../icons/tray-offline.png"),
    }
}

/// Builds the tray; false when the desktop has no tray host.
pub fn build(app: &AppHandle) -> bool {
    let lang = current_lang(app);
    let built = TrayMenu::new(app, lang).and_then(|items| Ok((items.menu(app)?, items)));
    let (menu, items) = match built {
        Ok(built) => built,
        Err(e) => {
            tracing::warn!("tray menu not built: {e}");
            return false;
        }
    };
    let icon = Image::from_bytes(icon_bytes("tray-offline")).ok();
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .menu(&menu)
        .tooltip(tooltip(lang, None, 0, 0))
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "send" => window::open(app, "send", None),
            "jobflow" => window::open(app, "jobflow", None),
            "alerts" => window::open(app, "alerts", None),
            "pause-hour" => set_pause(app, Some(Pause::Until(Instant::now() + Duration::from_secs(3600)))),
            "pause" => set_pause(app, Some(Pause::UntilResumed)),
            "resume" => set_pause(app, None),
            "autostart" => toggle_autostart(app),
            "settings" => window::open(app, "settings", None),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
                window::show(tray.app_handle());
            }
        });
    if let Some(icon) = icon {
        builder = builder.icon(icon);
    }
    match builder.build(app) {
        Ok(_) => {
            app.manage(items);
            refresh(app);
            true
        }
        Err(e) => {
            tracing::warn!("no system tray available ({e}); showing the window instead");
            false
        }
    }
}

/// Holds popups back (or lets them through again); a timed pause ends by itself.
fn set_pause(app: &AppHandle, pause: Option<Pause>) {
    let state = app.state::<AppState>();
    *lock(&state.pause) = pause;
    if let Some(watcher) = lock(&state.watcher).as_ref() {
        state.apply_pause(watcher);
    }
    refresh(app);
    if let Some(Pause::Until(until)) = pause {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep_until(until.into()).await;
            // Unless the user chose something else meanwhile.
            if *lock(&app.state::<AppState>().pause) == pause {
                set_pause(&app, None);
            }
        });
    }
}

/// The check item flips itself when clicked on some desktops and not on others, so the state
/// is read back from the system rather than from the item.
fn toggle_autostart(app: &AppHandle) {
    let outcome = crate::autostart::is_enabled(app).and_then(|on| crate::autostart::set(app, !on));
    if let Err(reason) = outcome {
        tracing::warn!("{reason}");
        crate::popups::show("Kompira Tray".into(), reason, crate::popups::Loudness::Normal);
    }
}

/// Ticks or unticks the tray's Start at login item.
pub fn show_autostart(app: &AppHandle, enabled: bool) {
    if let Some(items) = app.try_state::<TrayMenu>() {
        let _ = items.start_at_login.set_checked(enabled);
    }
}

/// Re-labels the menu in the language now set (after Settings were saved).
pub fn relabel(app: &AppHandle) {
    let Some(items) = app.try_state::<TrayMenu>() else { return };
    let labels = menu_labels(current_lang(app));
    for (item, text) in [
        (&items.quick_send, labels.quick_send),
        (&items.run_jobflow, labels.run_jobflow),
        (&items.pause_hour, labels.pause_hour),
        (&items.pause_until_resumed, labels.pause_until_resumed),
        (&items.resume, labels.resume),
        (&items.settings, labels.settings),
        (&items.quit, labels.quit),
    ] {
        let _ = item.set_text(text);
    }
    let _ = items.start_at_login.set_text(labels.start_at_login);
    refresh(app);
}

/// Redraws icon, tooltip, the unread count and the pause items from the current state.
pub fn refresh(app: &AppHandle) {
    let state = app.state::<AppState>();
    let watch_state = lock(&state.watch_state).clone();
    let unread = lock(&state.history).unread_count();
    let paused = Pause::holds(*lock(&state.pause), Instant::now());
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        if let Ok(icon) = Image::from_bytes(icon_bytes(icon_name(watch_state.as_ref(), unread))) {
            let _ = tray.set_icon(Some(icon));
        }
        let pending = state.outbox_pending.load(std::sync::atomic::Ordering::SeqCst);
        let _ = tray.set_tooltip(Some(tooltip(current_lang(app), watch_state.as_ref(), unread, pending)));
    }
    if let Some(items) = app.try_state::<TrayMenu>() {
        let _ = items.alerts.set_text(alerts_label(current_lang(app), unread));
        let (hour, until_resumed, resume) = pause_items_enabled(paused);
        let _ = items.pause_hour.set_enabled(hour);
        let _ = items.pause_until_resumed.set_enabled(until_resumed);
        let _ = items.resume.set_enabled(resume);
    }
}

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
        assert_eq!(tooltip(Lang::Ja, Some(&state(Connection::Connected, false)), 0, 0), "Kompira Tray: 接続中、未読 0 件");
        assert!(tooltip(Lang::Ja, None, 0, 0).contains("[rest] の url と token"));
    }

    #[test]
    fn events_waiting_in_the_outbox_are_counted_in_the_tooltip() {
        let connected = state(Connection::Connected, false);
        assert_eq!(tooltip(Lang::En, Some(&connected), 1, 2), "Kompira Tray: connected, 1 unread, 2 waiting to send");
        assert_eq!(tooltip(Lang::Ja, Some(&connected), 0, 5), "Kompira Tray: 接続中、未読 0 件、送信待ち 5 件");
    }
}
