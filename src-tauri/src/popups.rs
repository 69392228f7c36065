//! Desktop popups through notify-rust. D-Bus calls block, so every popup is shown off the async
//! threads; a desktop without a notification server is logged, never fatal.

use std::sync::atomic::{AtomicBool, Ordering};

use kompira_core::watch::Severity;

/// `[notify] sound`, set whenever the watcher (re)starts. A process-wide switch rather than a
/// parameter: every popup follows the one setting, whoever shows it.
static SOUND: AtomicBool = AtomicBool::new(true);

/// Turns the popup sound on or off.
pub fn set_sound(on: bool) {
    SOUND.store(on, Ordering::Relaxed);
}

/// The sound theme name asked for when sound is on (freedesktop's instant-message sound;
/// the toast default on Windows and macOS).
#[cfg(all(unix, not(target_os = "macos")))]
const SOUND_NAME: &str = "message-new-instant";
#[cfg(not(all(unix, not(target_os = "macos"))))]
const SOUND_NAME: &str = "Default";

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
    if SOUND.load(Ordering::Relaxed) {
        popup.sound_name(SOUND_NAME);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    // One test, as the switch is process-wide.
    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn popups_ask_for_a_sound_only_when_sound_is_on() {
        let sound = notify_rust::Hint::SoundName(SOUND_NAME.into());
        set_sound(false);
        assert!(!build("s", "b", Loudness::Normal).hints.contains(&sound));
        set_sound(true);
        assert!(build("s", "b", Loudness::Normal).hints.contains(&sound));
    }
}
