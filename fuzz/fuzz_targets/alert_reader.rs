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
    for text in [&alert.title, &alert.body] {
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "control character in {text:?}");
    }
    assert!(!alert.title.contains('\n'), "title spans lines: {:?}", alert.title);
    // The caps of reading.rs (120 and 1000 characters), plus the `…` that marks a cut.
    assert!(alert.title.chars().count() <= 121, "title too long");
    assert!(alert.body.chars().count() <= 1001, "body too long");
});
