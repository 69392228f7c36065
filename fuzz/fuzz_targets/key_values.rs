//! KEY=VAL arguments, form rows and stdin decoding: what `kompira_sendevt` and the quick-send
//! form turn into an event body.
#![no_main]

use kompira_core::event::{check_rows, decode_stdin, parse_key_values, EventBody};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a stdin encoding; the rest is also split into arguments at NUL.
    if let Some((&pick, rest)) = data.split_first() {
        let encodings = ["utf-8", "cp932", "shift_jis", "euc-jp", "latin-1", "no-such"];
        let _ = decode_stdin(rest, encodings[pick as usize % encodings.len()]);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<&str> = text.split('\0').collect();
    if let Ok(Some(body)) = parse_key_values(&args) {
        let wire = body.to_wire();
        // The wire form is JSON that reads back as the same fields.
        let parsed: serde_json::Value = serde_json::from_slice(&wire).expect("wire body is JSON");
        if let EventBody::Fields(fields) = &body {
            for (key, value) in fields {
                assert_eq!(parsed[key.as_str()].as_str(), Some(value.as_str()));
            }
        }
        let _ = body.for_log();
    }
    let rows: Vec<(&str, &str)> = args.iter().map(|a| a.split_once('=').unwrap_or((a, ""))).collect();
    let _ = check_rows(&rows);
});
