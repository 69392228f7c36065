//! The tray icon and its menu. The icon tells the state at a glance; the menu opens the window
//! and pauses popups. A desktop without a tray host (headless, GNOME without the AppIndicator
//! extension) is logged, never fatal: the window is shown instead.

use std::time::{Duration, Instant};

use kompira_core::watch::{Connection, WatchState};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Emitter, Manager};

use crate::state::{lock, AppState};

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

/// The tooltip: state and unread count in words.
pub fn tooltip(state: Option<&WatchState>, unread: usize) -> String {
    let connection = match state.map(|s| &s.connection) {
        None => "not watching (set [rest] url and token)".to_owned(),
        Some(Connection::Connected) => "connected".to_owned(),
        Some(Connection::Reconnecting { attempt }) => format!("reconnecting (attempt {attempt})"),
        Some(Connection::Offline) => "offline".to_owned(),
    };
    let paused = if state.is_some_and(|s| s.paused) { ", paused" } else { "" };
    format!("Kompira Tray: {connection}{paused}, {unread} unread")
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
    let menu = (|| {
        Menu::with_items(
            app,
            &[
                &MenuItem::with_id(app, "open", "Quick send…", true, None::<&str>)?,
                &MenuItem::with_id(app, "alerts", "Alerts", true, None::<&str>)?,
                &PredefinedMenuItem::separator(app)?,
                &MenuItem::with_id(app, "pause", "Pause notifications for 1 hour", true, None::<&str>)?,
                &MenuItem::with_id(app, "resume", "Resume notifications", true, None::<&str>)?,
                &PredefinedMenuItem::separator(app)?,
                &MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?,
            ],
        )
    })();
    let menu = match menu {
        Ok(menu) => menu,
        Err(e) => {
            tracing::warn!("tray menu not built: {e}");
            return false;
        }
    };
    let icon = Image::from_bytes(icon_bytes("tray-offline")).ok();
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .menu(&menu)
        .tooltip(tooltip(None, 0))
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "open" => show_view(app, "send"),
            "alerts" => show_view(app, "alerts"),
            "pause" => pause(app, Some(Instant::now() + Duration::from_secs(3600))),
            "resume" => pause(app, None),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
                show_window(tray.app_handle());
            }
        });
    if let Some(icon) = icon {
        builder = builder.icon(icon);
    }
    match builder.build(app) {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!("no system tray available ({e}); showing the window instead");
            false
        }
    }
}

fn pause(app: &AppHandle, until: Option<Instant>) {
    let state = app.state::<AppState>();
    let watcher = lock(&state.watcher);
    if let Some(watcher) = watcher.as_ref() {
        match until {
            Some(until) => watcher.pause(Some(until)),
            None => watcher.resume(),
        }
    }
}

/// Shows and focuses the window (show first: focusing a hidden window does nothing).
pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Shows the window on one of its views (`send`, `alerts`, …).
pub fn show_view(app: &AppHandle, view: &str) {
    show_window(app);
    let _ = app.emit_to("main", "show-view", view);
}

/// Redraws icon and tooltip from the current state.
pub fn refresh(app: &AppHandle) {
    let state = app.state::<AppState>();
    let watch_state = lock(&state.watch_state).clone();
    let unread = lock(&state.history).unread_count();
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        if let Ok(icon) = Image::from_bytes(icon_bytes(icon_name(watch_state.as_ref(), unread))) {
            let _ = tray.set_icon(Some(icon));
        }
        let _ = tray.set_tooltip(Some(tooltip(watch_state.as_ref(), unread)));
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
    fn the_tooltip_says_it_in_words() {
        assert_eq!(
            tooltip(Some(&state(Connection::Reconnecting { attempt: 2 }, true)), 1),
            "Kompira Tray: reconnecting (attempt 2), paused, 1 unread"
        );
        assert!(tooltip(None, 0).contains("set [rest] url and token"));
    }
}
