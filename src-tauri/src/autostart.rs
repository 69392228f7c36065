//! Start at login for the Settings checkbox, through `tauri-plugin-autostart` (it writes
//! `~/.config/autostart/…desktop` on Linux, the Run key on Windows, a LaunchAgent on macOS; the
//! entry passes `--minimized`, which starts the agent alone). The tray's check item lives in the
//! agent and writes the same entry (`kompira_tray_agent::autostart`); each tells the other.

use tauri::{AppHandle, Emitter};
use tauri_plugin_autostart::ManagerExt;

/// Whether the app is registered to start at login.
pub fn is_enabled(app: &AppHandle) -> Result<bool, String> {
    app.autolaunch().is_enabled().map_err(|e| format!("cannot tell whether Kompira Tray starts at login: {e}"))
}

/// Registers or unregisters start at login; answers the state in force afterwards, and tells
/// the tray item and the window (`autostart-changed`).
pub fn set(app: &AppHandle, enabled: bool) -> Result<bool, String> {
    let manager = app.autolaunch();
    let changed = if enabled { manager.enable() } else { manager.disable() };
    let outcome = match changed {
        Ok(()) => is_enabled(app),
        Err(e) => Err(format!("cannot {} start at login: {e}", if enabled { "turn on" } else { "turn off" })),
    };
    // Whatever happened, show the state that is really in force.
    if let Ok(now) = is_enabled(app) {
        let _ = app.emit("autostart-changed", now);
        tauri::async_runtime::spawn(async {
            if let Err(reason) = crate::agent_link::forward("autostart_changed", serde_json::Value::Null).await {
                tracing::warn!("the tray's Start at login item may be out of date: {reason}");
            }
        });
    }
    outcome
}
