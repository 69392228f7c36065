//! The window process's one window: shown at start, hidden when closed, and the whole process
//! ends when it has stayed hidden a while.
//!
//! A webview is WebKit's web and network processes, hundreds of MB, and a process that had one
//! keeps much of it after the webview is destroyed (BENCHMARKS.md). So the window is a process
//! of its own: closing only hides, so a window brought back soon keeps what was typed; after
//! [`RELEASE_AFTER`] hidden the process exits and gives all of it back. The agent keeps
//! everything that must outlive it (alerts, runs, the outbox); opening the window again starts a
//! fresh process, which reads that state from the agent when its page loads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use kompira_tray_ipc::{lock, Opening};
use tauri::{AppHandle, Emitter, Manager, WebviewWindow};

const LABEL: &str = "main";

/// How long a hidden window's process lives on before it ends, unless
/// `KOMPIRA_TRAY_WINDOW_RELEASE_SECS` says otherwise (tests and benchmarks shorten it).
pub const RELEASE_AFTER: Duration = Duration::from_secs(60);

/// The delay given by `KOMPIRA_TRAY_WINDOW_RELEASE_SECS` (whole seconds), else [`RELEASE_AFTER`].
pub fn release_after(setting: Option<&str>) -> Result<Duration, String> {
    match setting {
        None => Ok(RELEASE_AFTER),
        Some(text) => text.trim().parse::<u64>().map(Duration::from_secs).map_err(|_| {
            format!(
                "KOMPIRA_TRAY_WINDOW_RELEASE_SECS must be whole seconds, not {text:?}; using {} s",
                RELEASE_AFTER.as_secs()
            )
        }),
    }
}

fn configured_release_after() -> Duration {
    let setting = std::env::var("KOMPIRA_TRAY_WINDOW_RELEASE_SECS").ok();
    release_after(setting.as_deref()).unwrap_or_else(|message| {
        tracing::warn!("{message}");
        RELEASE_AFTER
    })
}

/// What a just-created window should open on; its page asks for it once loaded.
static PENDING: Mutex<Option<Opening>> = Mutex::new(None);

/// Bumped whenever the window is shown or hidden: a release planned at one hide is void once
/// this has moved on.
static VISIBILITY_CHANGES: AtomicU64 = AtomicU64::new(0);

/// Shows and focuses the window (show first: focusing a hidden window does nothing). Returns
/// false when it was created just now: its page is still loading and hears no events yet.
pub fn show(app: &AppHandle) -> bool {
    VISIBILITY_CHANGES.fetch_add(1, Ordering::SeqCst);
    let (window, existed) = match app.get_webview_window(LABEL) {
        Some(window) => (window, true),
        None => match create(app) {
            Ok(window) => (window, false),
            Err(e) => {
                tracing::error!("cannot open the window: {e}");
                return false;
            }
        },
    };
    let _ = window.show();
    let _ = window.unminimize();
    let _ = window.set_focus();
    existed
}

fn create(app: &AppHandle) -> tauri::Result<WebviewWindow> {
    let config = app.config().app.windows.iter().find(|w| w.label == LABEL).cloned().unwrap_or_default();
    tauri::WebviewWindowBuilder::from_config(app, &config)?.build()
}

/// Shows the window on the opening's view (the current one when empty), with its alert marked.
pub fn open(app: &AppHandle, opening: &Opening) {
    *lock(&PENDING) = Some(opening.clone());
    if show(app) {
        // The page is there and listening: tell it now, not when it next loads.
        lock(&PENDING).take();
        if let Some(id) = opening.alert {
            let _ = app.emit_to(LABEL, "focus-alert", id);
        }
        if !opening.view.is_empty() {
            let _ = app.emit_to(LABEL, "show-view", &opening.view);
        }
        if let (Some(id), true) = (opening.alert, opening.remedy) {
            let _ = app.emit_to(LABEL, "confirm-remedy", id);
        }
    }
}

/// What the window opens on at start (the command line's `--view` and `--alert`).
pub fn set_initial(opening: Opening) {
    *lock(&PENDING) = Some(opening);
}

/// The opening asked for before the page could listen (see [`open`]), once.
#[tauri::command]
pub fn initial_view() -> Option<Opening> {
    lock(&PENDING).take()
}

/// The page drew its first frame since it loaded or was shown again: logged with its time, so
/// that "tray click → window painted" can be measured from outside (scripts/bench-app.sh
/// --window-open) on what the user sees, not on the window being mapped.
#[tauri::command]
pub fn page_painted(shown: bool) {
    tracing::info!("window painted ({})", if shown { "shown again" } else { "page loaded" });
}

/// Hides the window (its close button, Esc) and plans the process's end.
pub fn hide(window: &tauri::Window) {
    let _ = window.hide();
    let change = VISIBILITY_CHANGES.fetch_add(1, Ordering::SeqCst) + 1;
    let app = window.app_handle().clone();
    let delay = configured_release_after();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(delay).await;
        // Decided on the main thread, where the agent's "show" lands: no show slips in between.
        let main = app.clone();
        let _ = app.run_on_main_thread(move || {
            if VISIBILITY_CHANGES.load(Ordering::SeqCst) == change {
                tracing::debug!("the window stayed hidden: ending the window process");
                main.exit(0);
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_delay_is_a_minute_unless_set() {
        assert_eq!(release_after(None), Ok(RELEASE_AFTER));
        assert_eq!(release_after(Some(" 5 ")), Ok(Duration::from_secs(5)));
        assert_eq!(release_after(Some("0")), Ok(Duration::ZERO));
    }

    #[test]
    fn a_bad_release_delay_is_named_in_the_warning() {
        let message = release_after(Some("soon")).unwrap_err();
        assert!(message.contains("KOMPIRA_TRAY_WINDOW_RELEASE_SECS") && message.contains("\"soon\""), "{message}");
        assert!(release_after(Some("-1")).is_err());
    }
}
