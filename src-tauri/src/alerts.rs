//! The engine's watcher, wired to the app: each alert goes into the history, to the window
//! (an `alerts-changed` event) and, unless kept quiet, to a desktop popup.

use std::sync::Arc;

use kompira_core::rest::Client;
use kompira_core::watch::{AlertSink, Decision, Notification, Severity, WatchConfig, Watcher};
use tauri::{AppHandle, Emitter, Manager};

use crate::state::{lock, AppState};
use crate::tray;

struct AppSink {
    app: AppHandle,
}

impl AlertSink for AppSink {
    fn alert(&self, alert: &Notification, decision: Decision) {
        let state = self.app.state::<AppState>();
        lock(&state.history).push(alert.clone(), decision);
        let _ = self.app.emit("alerts-changed", ());
        tray::refresh(&self.app);
        if decision == Decision::Show {
            popup(alert.clone());
        }
    }
}

/// Starts watching when `[rest]` is configured; otherwise says why in the log and the status.
pub fn start_watching(app: &AppHandle) {
    let state = app.state::<AppState>();
    let Ok(settings) = &state.settings else { return };
    let client = match settings.rest().map_err(|e| e.to_string()).and_then(|rest| Client::new(&rest).map_err(|e| e.to_string())) {
        Ok(client) => client,
        Err(reason) => {
            tracing::warn!("not watching for alerts: {reason}");
            return;
        }
    };
    let notify = settings.notify();
    let mut config = WatchConfig::new(notify.channels);
    config.policy = notify.policy;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let watcher = Watcher::spawn(Arc::new(client), Arc::new(AppSink { app: app.clone() }), config);
        let mut states = watcher.state();
        *lock(&app.state::<AppState>().watcher) = Some(watcher);
        loop {
            let current = states.borrow_and_update().clone();
            *lock(&app.state::<AppState>().watch_state) = Some(current);
            let _ = app.emit("status-changed", ());
            tray::refresh(&app);
            if states.changed().await.is_err() {
                break;
            }
        }
    });
}

/// A desktop popup; D-Bus calls block, so they run off the async threads.
fn popup(alert: Notification) {
    tauri::async_runtime::spawn_blocking(move || {
        let mut popup = notify_rust::Notification::new();
        popup.appname("Kompira Tray").summary(&alert.title).body(&alert.body);
        #[cfg(all(unix, not(target_os = "macos")))]
        popup.urgency(urgency(alert.severity));
        if let Err(e) = popup.show() {
            tracing::warn!("desktop notification not shown: {e}");
        }
    });
}

#[cfg(all(unix, not(target_os = "macos")))]
fn urgency(severity: Severity) -> notify_rust::Urgency {
    match severity {
        Severity::High | Severity::Disaster => notify_rust::Urgency::Critical,
        Severity::Warning | Severity::Average => notify_rust::Urgency::Normal,
        Severity::NotClassified | Severity::Information => notify_rust::Urgency::Low,
    }
}
