//! The engine's watcher, wired to the app: each alert goes into the history, to the window
//! (an `alerts-changed` event) and, unless kept quiet, to a desktop popup.

use std::sync::Arc;

use kompira_core::watch::{AlertSink, Decision, Notification, WatchConfig, Watcher};
use tauri::{AppHandle, Emitter, Manager};

use crate::popups::{self, Loudness};
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
    let Ok(settings) = state.settings() else { return };
    let client = match state.rest_client() {
        Ok(client) => client,
        Err(reason) => {
            tracing::warn!("not watching for alerts: {reason}");
            return;
        }
    };
    let notify = settings.notify();
    let mut config = WatchConfig::new(notify.channels);
    config.policy = notify.policy;
    tracing::info!("watching for alerts on {}", config.channels.join(", "));
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

fn popup(alert: Notification) {
    popups::show(alert.title, alert.body, Loudness::of(alert.severity));
}
