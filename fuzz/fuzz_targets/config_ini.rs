//! kompira.conf text: parsing, reading every value (interpolation), and the writer's
//! promise that an edited file reads back the value it was given.
#![no_main]

use std::path::Path;

use kompira_core::config::{apply_edits, parse_ini, Edit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let origin = Path::new("fuzz.conf");
    let Ok(doc) = parse_ini(text, origin) else {
        return;
    };
    let sections: Vec<String> = doc.sections().map(str::to_owned).collect();
    for section in &sections {
        for key in ["server", "password", "port", "site_id", "channel", "url", "token"] {
            // Errors (bad interpolation) are fine; a panic or a hang is not.
            let _ = doc.get(section, key);
        }
    }
    // Setting a key on a file that parses must give a file that parses and holds the value.
    let value = "v%al\nue";
    let edited = apply_edits(
        text,
        &[Edit { section: "amqp-connection".into(), key: "password".into(), value: Some(value.into()) }],
    );
    let reread = parse_ini(&edited, origin).expect("an edited valid file stays valid");
    let got = reread
        .get("amqp-connection", "password")
        .expect("the written value interpolates")
        .expect("the written key is there");
    assert_eq!(got.value, value);
});
