//! The Alerts view: list, mark read, clear.

use kompira_core::watch::{HistoryEntry, Severity};
use tauri::State;

use crate::state::{lock, AppState};

/// Alerts newest first, filtered by a search text.
#[tauri::command]
pub fn list_alerts(state: State<'_, AppState>, query: Option<String>) -> Vec<HistoryEntry> {
    let history = lock(&state.history);
    history.search(query.as_deref().unwrap_or(""), Severity::NotClassified).into_iter().cloned().collect()
}

/// Marks everything read (the window was opened on the list).
#[tauri::command]
pub fn mark_alerts_read(app: tauri::AppHandle, state: State<'_, AppState>) {
    lock(&state.history).mark_all_read();
    crate::tray::refresh(&app);
}

/// Forgets the list.
#[tauri::command]
pub fn clear_alerts(app: tauri::AppHandle, state: State<'_, AppState>) {
    lock(&state.history).clear();
    crate::tray::refresh(&app);
}
