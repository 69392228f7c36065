//! Start at login, the one implementation: the tray's check item and the window's Settings
//! checkbox (through `Call::GetAutostart`/`Call::SetAutostart`) both use it. The entry
//! (`~/.config/autostart/Kompira Tray.desktop` on Linux, the Run key on Windows) names the app,
//! the window program `kompira-tray`, and `--minimized`, which hands over to this agent at once
//! without opening a window.

use auto_launch::{AutoLaunch, AutoLaunchBuilder};
use kompira_core::config::Os;

/// The name the entry is registered under: Tauri's `productName` (what the window's
/// `tauri-plugin-autostart` registered under, before this was the only implementation).
pub const APP_NAME: &str = "Kompira Tray";

fn launcher() -> Result<AutoLaunch, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot tell where Kompira Tray is installed: {e}"))?;
    let window = kompira_tray_ipc::wire::sibling(&exe, "kompira-tray", Os::current());
    AutoLaunchBuilder::new()
        .set_app_name(APP_NAME)
        .set_app_path(&window.display().to_string())
        .set_args(&["--minimized"])
        .build()
        .map_err(|e| format!("cannot set up start at login: {e}"))
}

/// Whether the app is registered to start at login.
pub fn is_enabled() -> Result<bool, String> {
    launcher()?.is_enabled().map_err(|e| format!("cannot tell whether Kompira Tray starts at login: {e}"))
}

/// Registers or unregisters start at login.
pub fn set(enabled: bool) -> Result<(), String> {
    let launcher = launcher()?;
    let changed = if enabled { launcher.enable() } else { launcher.disable() };
    changed.map_err(|e| format!("cannot {} start at login: {e}", if enabled { "turn on" } else { "turn off" }))
}
