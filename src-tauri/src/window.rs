//! The app's one window: created on first use, hidden when closed, released when it has stayed
//! hidden a while.
//!
//! A webview is WebKit's web and network processes, hundreds of MB; an app started at login may
//! never be opened, and one opened once should not keep paying for it. Closing only hides, so a
//! window brought back soon keeps what was typed; after [`RELEASE_AFTER`] hidden, and once no
//! job flow it shows is still running, the window is destroyed. Opening it again builds a fresh
//! one, which reads its state (alerts, status, settings) from the app when its page loads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, WebviewWindow};

use crate::runs;
use crate::state::lock;

const LABEL: &str = "main";

/// How long a hidden window is kept before it is released, unless
/// `KOMPIRA_TRAY_WINDOW_RELEASE_SECS` says otherwise (tests and benchmarks shorten it).
pub const RELEASE_AFTER: Duration = Duration::from_secs(60);

/// The delay given by `KOMPIRA_TRAY_WINDOW_RELEASE_SECS` (whole seconds), else [`RELEASE_AFTER`].
pub fn release_after(setting: Option<&str>) -> Result<Duration, String> {
    match setting {
        None => Ok(RELEASE_AFTER),
        Some(text) => text.trim().parse::<u64>().map(Duration::from_secs).map_err(|_| {
            format!("KOMPIRA_TRAY_WINDOW_RELEASE_SECS must be whole seconds, not {text:?}; using {} s", RELEASE_AFTER.as_secs())
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
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Opening {
    /// `send`, `jobflow`, `alerts` or `settings`.
    pub view: String,
    /// The alert to mark in the Alerts view (a popup's "Open").
    pub alert: Option<u64>,
}

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

/// Shows the window on `view`, with `alert` marked when given.
pub fn open(app: &AppHandle, view: &str, alert: Option<u64>) {
    let opening = Opening { view: view.to_owned(), alert };
    *lock(&PENDING) = Some(opening.clone());
    if show(app) {
        // The page is there and listening: tell it now, not when it next loads.
        lock(&PENDING).take();
        if let Some(id) = alert {
            let _ = app.emit_to(LABEL, "focus-alert", id);
        }
        let _ = app.emit_to(LABEL, "show-view", view);
    }
}

/// The opening asked for before the page could listen (see [`open`]), once.
#[tauri::command]
pub fn initial_view() -> Option<Opening> {
    lock(&PENDING).take()
}

/// Hides the window (its close button, Esc) and plans its release.
pub fn hide(window: &tauri::Window) {
    let _ = window.hide();
    let change = VISIBILITY_CHANGES.fetch_add(1, Ordering::SeqCst) + 1;
    let app = window.app_handle().clone();
    let delay = configured_release_after();
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(delay).await;
            if VISIBILITY_CHANGES.load(Ordering::SeqCst) != change {
                return; // shown (or hidden anew) since: that change plans its own release
            }
            // A running job flow reports into the window: release it once the run has ended.
            if runs::in_flight() == 0 {
                break;
            }
        }
        // Decided on the main thread, where the tray shows the window: no show slips in between.
        let main = app.clone();
        let _ = app.run_on_main_thread(move || {
            let still_hidden = VISIBILITY_CHANGES.load(Ordering::SeqCst) == change;
            if let (true, Some(window)) = (still_hidden, main.get_webview_window(LABEL)) {
                tracing::debug!("releasing the hidden window");
                let _ = window.destroy();
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
