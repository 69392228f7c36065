//! The engine's watcher, wired to the app: each alert goes into the history, to the window
//! (an `alerts-changed` event) and, unless kept quiet, to a desktop popup.

use std::sync::atomic::Ordering;
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
    popups::set_sound(notify.sound);
    let mut config = WatchConfig::new(notify.channels);
    config.policy = notify.policy;
    let generation = state.watch_generation.load(Ordering::SeqCst);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let current_generation = || state.watch_generation.load(Ordering::SeqCst);
        let watcher = Watcher::spawn(Arc::new(client), Arc::new(AppSink { app: app.clone() }), config);
        state.apply_pause(&watcher);
        let mut states = watcher.state();
        {
            // Checked under the lock that restart_watching takes the old watcher with, so a
            // watcher started just before a restart is dropped (stopping it), never kept.
            let mut slot = lock(&state.watcher);
            if current_generation() != generation {
                return;
            }
            *slot = Some(watcher);
        }
        loop {
            {
                // Same lock as restart_watching's reset: a replaced watcher never writes after it.
                let mut shown = lock(&state.watch_state);
                if current_generation() != generation {
                    break;
                }
                *shown = Some(states.borrow_and_update().clone());
            }
            let _ = app.emit("status-changed", ());
            tray::refresh(&app);
            if states.changed().await.is_err() {
                break;
            }
        }
    });
}

/// Stops the running watcher, if any, and starts one from the current settings (after a save).
pub async fn restart_watching(app: &AppHandle) {
    let state = app.state::<AppState>();
    state.watch_generation.fetch_add(1, Ordering::SeqCst);
    let old = lock(&state.watcher).take();
    if let Some(old) = old {
        old.stop().await;
    }
    *lock(&state.watch_state) = None;
    start_watching(app);
    let _ = app.emit("status-changed", ());
    tray::refresh(app);
}

fn popup(alert: Notification) {
    popups::show(alert.title, alert.body, Loudness::of(alert.severity));
}
