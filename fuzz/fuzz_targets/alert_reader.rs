//! Channel messages as the alert watcher receives them: any bytes from the server, parsed as
//! JSON, read into a notification that must stay within its size caps and free of control
//! characters.
#![no_main]

use kompira_core::watch::read_message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let alert = read_message("/root/channels/Fuzz", &message, chrono::Utc::now());
    let short = [&alert.subject, &alert.host].map(|part| part.clone().unwrap_or_default());
    for text in short.iter().chain([&alert.body]) {
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "control character in {text:?}");
    }
    for text in &short {
        assert!(!text.contains('\n'), "subject or host spans lines: {text:?}");
        // The caps of reading.rs (120 and 1000 characters), plus the `…` that marks a cut.
        assert!(text.chars().count() <= 121, "subject or host too long");
    }
    assert!(alert.body.chars().count() <= 1001, "body too long");
});
