// No console window on Windows: the agent lives in the tray.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    kompira_tray_agent::run()
}
