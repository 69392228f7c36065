//! Desktop popups through notify-rust. D-Bus calls block, so every popup is shown off the async
//! threads; a desktop without a notification server is logged, never fatal.

use kompira_core::watch::Severity;

/// How loud a popup is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loudness {
    Low,
    Normal,
    Critical,
}

impl Loudness {
    /// Severity → urgency: High and Disaster are critical, Warning and Average normal.
    pub fn of(severity: Severity) -> Self {
        match severity {
            Severity::High | Severity::Disaster => Loudness::Critical,
            Severity::Warning | Severity::Average => Loudness::Normal,
            Severity::NotClassified | Severity::Information => Loudness::Low,
        }
    }
}

/// The popup as notify-rust builds it, without showing it.
pub fn build(summary: &str, body: &str, loudness: Loudness) -> notify_rust::Notification {
    let mut popup = notify_rust::Notification::new();
    popup.appname("Kompira Tray").summary(summary).body(body);
    #[cfg(all(unix, not(target_os = "macos")))]
    popup.urgency(match loudness {
        Loudness::Low => notify_rust::Urgency::Low,
        Loudness::Normal => notify_rust::Urgency::Normal,
        Loudness::Critical => notify_rust::Urgency::Critical,
    });
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let _ = loudness;
    popup
}

/// Shows a popup without actions.
pub fn show(summary: String, body: String, loudness: Loudness) {
    tauri::async_runtime::spawn_blocking(move || {
        if let Err(e) = build(&summary, &body, loudness).show() {
            tracing::warn!("desktop notification not shown: {e}");
        }
    });
}
