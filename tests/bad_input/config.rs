//! kompira.conf: broken INI, a bad value for every kind of key, odd encodings, garbage, huge
//! and special files. Each file is given with `-c`; the AMQP and logging keys are read by
//! `kompira_sendevt --dry-run`, the REST and desktop keys by `kompira`.

use crate::harness::{arg, check, Expect, Run, Sandbox};
use crate::{case, Case};

/// A file given to `kompira_sendevt -c FILE --dry-run x=1`.
fn sendevt(name: &str, text: impl Into<Vec<u8>>, expect: Expect) -> Case {
    let text = text.into();
    case(name, move || {
        let sandbox = Sandbox::new();
        let conf = sandbox.file("kompira.conf", &text);
        let outcome = Run::new("kompira_sendevt", &["-c", &arg(&conf), "--dry-run", "x=1"]).run(&sandbox);
        check(&outcome, expect)
    })
}

/// A file given to `kompira -c FILE process show 1`, which fails on settings before it
/// connects anywhere (the URL's port is closed should a bad file pass).
fn cli(name: &str, text: impl Into<Vec<u8>>, expect: Expect) -> Case {
    let text = text.into();
    case(name, move || {
        let sandbox = Sandbox::new();
        let conf = sandbox.file("kompira.conf", &text);
        let outcome = Run::new("kompira", &["-c", &arg(&conf), "process", "show", "1"]).run(&sandbox);
        check(&outcome, expect)
    })
}

/// `kompira_sendevt -c PATH` on something that is not a plain file.
fn special(name: &str, path: &'static str, expect: Expect) -> Case {
    case(name, move || {
        let sandbox = Sandbox::new();
        check(&Run::new("kompira_sendevt", &["-c", path, "--dry-run", "x=1"]).run(&sandbox), expect)
    })
}

const LOAD: &str = "Failed to load settings: ";

/// `[section]` + `key = value`, with a REST URL so `kompira` gets past the url check.
fn key(section: &str, key: &str, value: &str) -> String {
    let rest = "[rest]\nurl = http://127.0.0.1:9\ntoken = t0ken\n";
    if section == "rest" {
        format!("{rest}{key} = {value}\n")
    } else {
        format!("{rest}[{section}]\n{key} = {value}\n")
    }
}

/// Pseudo-random bytes (a fixed seed: the same garbage every run).
fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
    for unit in text.encode_utf16() {
        bytes.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
    }
    bytes
}

pub fn cases() -> Vec<Case> {
    use Expect::{Fails, Succeeds};
    let mut huge = Vec::new();
    while huge.len() < 20 << 20 {
        huge.extend_from_slice(b"; a comment line that only makes the file large\n");
    }
    let many_sections: String = (0..50_000).map(|i| format!("[s{i}]\nk = v\n")).collect();
    vec![
        // Broken INI.
        sendevt("no_section_header", "server = x\n", Fails(1, &[LOAD, "kompira.conf:1:", "section header"])),
        sendevt("unclosed_section_header", "[amqp-connection\nserver = x\n", Fails(1, &[LOAD, ":1:"])),
        sendevt("duplicate_section", "[kompira]\n[kompira]\n", Fails(1, &[LOAD, ":2:", "kompira"])),
        sendevt("duplicate_key", "[kompira]\nsite_id = 1\nsite_id = 2\n", Fails(1, &[LOAD, ":3:", "site_id"])),
        sendevt("key_without_separator", "[kompira]\nsite_id\n", Fails(1, &[LOAD, ":2:"])),
        sendevt("empty_key", "[kompira]\n= 3\n", Fails(1, &[LOAD, ":2:"])),
        sendevt("lone_percent", "[amqp-connection]\npassword = 100%\n", Fails(1, &[LOAD, ":2:", "password", "'%'"])),
        sendevt("missing_reference", "[kompira]\nsite_id = %(nope)s\n", Fails(1, &[LOAD, ":2:", "site_id", "nope"])),
        sendevt(
            "interpolation_loop",
            "[kompira]\na = %(b)s\nb = %(a)s\nsite_id = %(a)s\n",
            Fails(1, &[LOAD, "site_id"]),
        ),
        sendevt("nul_byte", "[kompira]\nsite_id = 1\0\n", Fails(1, &[LOAD, "site_id"])),
        sendevt("old_mac_line_ends_as_python", "[kompira]\rsite_id = 5\r", Succeeds(&["\"site_id\": 5"])),
        sendevt("crlf_line_ends_work", "[kompira]\r\nsite_id = 5\r\n", Succeeds(&["\"site_id\": 5"])),
        sendevt("fifty_thousand_sections", many_sections, Succeeds(&["\"site_id\": 1"])),
        // Encodings and garbage.
        sendevt("utf8_bom_is_skipped", b"\xEF\xBB\xBF[kompira]\nsite_id = 7\n".to_vec(), Succeeds(&["\"site_id\": 7"])),
        sendevt("utf16le", utf16("[kompira]\nsite_id = 7\n", false), Fails(1, &[LOAD, "UTF-16", "UTF-8"])),
        sendevt("utf16be", utf16("[kompira]\nsite_id = 7\n", true), Fails(1, &[LOAD, "UTF-16", "UTF-8"])),
        sendevt(
            "cp932_comment",
            [b"[kompira]\n; ".as_slice(), &[0x83, 0x65, 0x83, 0x58, 0x83, 0x67], b"\nsite_id = 1\n"].concat(),
            Fails(1, &[LOAD, "not UTF-8", "line 2"]),
        ),
        sendevt(
            "latin1_value",
            b"[event]\nchannel = /root/caf\xE9\n".to_vec(),
            Fails(1, &[LOAD, "not UTF-8", "line 2"]),
        ),
        sendevt("binary_garbage", garbage(4096, 7), Fails(1, &[LOAD, "kompira.conf"])),
        sendevt("control_characters", "\x01\x02\x1b[31m\x7f\n", Fails(1, &[LOAD, ":1:"])),
        sendevt("huge_file", huge, Fails(1, &[LOAD, "larger than"])),
        sendevt("empty_file_is_fine", "", Succeeds(&["\"site_id\": 1"])),
        special("directory", "/", Fails(1, &[LOAD, "not a regular file"])),
        special("endless_device", "/dev/zero", Fails(1, &[LOAD, "not a regular file"])),
        special("missing_file", "/nonexistent/kompira.conf", Fails(1, &[LOAD, "not found"])),
        case("named_pipe_without_writer", || {
            let sandbox = Sandbox::new();
            let fifo = sandbox.path("fifo.conf");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status().map_err(|e| e.to_string())?;
            if !made.success() {
                return Err("mkfifo failed".into());
            }
            let outcome = Run::new("kompira_sendevt", &["-c", &arg(&fifo), "--dry-run", "x=1"]).run(&sandbox);
            check(&outcome, Fails(1, &[LOAD, "not a regular file"]))
        }),
        // A bad value for every kind of key.
        sendevt(
            "site_id_not_a_number",
            "[kompira]\nsite_id = abc\n",
            Fails(1, &[LOAD, ":2: [kompira] site_id", "abc"]),
        ),
        sendevt("site_id_overflow", "[kompira]\nsite_id = 99999999999999999999\n", Fails(1, &[LOAD, "site_id"])),
        sendevt("port_out_of_range", "[amqp-connection]\nport = 70000\n", Fails(1, &[LOAD, "port", "out of range"])),
        sendevt("port_negative", "[amqp-connection]\nport = -5\n", Fails(1, &[LOAD, "port", "out of range"])),
        sendevt("port_text", "[amqp-connection]\nport = amqp\n", Fails(1, &[LOAD, "port"])),
        sendevt("ssl_not_boolean", "[amqp-connection]\nssl = maybe\n", Fails(1, &[LOAD, "ssl", "maybe"])),
        sendevt("ssl_verify_number", "[amqp-connection]\nssl_verify = 2\n", Fails(1, &[LOAD, "ssl_verify"])),
        sendevt(
            "max_retry_negative",
            "[amqp-connection]\nmax_retry = -1\n",
            Fails(1, &[LOAD, "max_retry", "out of range"]),
        ),
        sendevt(
            "retry_interval_fraction",
            "[amqp-connection]\nretry_interval = 1.5\n",
            Fails(1, &[LOAD, "retry_interval"]),
        ),
        sendevt(
            "heartbeat_text",
            "[amqp-connection]\nheartbeat_interval = often\n",
            Fails(1, &[LOAD, "heartbeat_interval"]),
        ),
        sendevt(
            "connect_timeout_zero",
            "[amqp-connection]\nconnect_timeout = 0\n",
            Fails(1, &[LOAD, "connect_timeout", "out of range"]),
        ),
        sendevt("logmaxsz_with_unit", "[logging]\nlogmaxsz = 1GB\n", Fails(1, &[LOAD, "logmaxsz"])),
        sendevt("logbackup_words", "[logging]\nlogbackup = ten\n", Fails(1, &[LOAD, "logbackup"])),
        sendevt("loglevel_unknown", "[logging]\nloglevel = LOUD\n", Fails(1, &[LOAD, "loglevel", "DEBUG"])),
        sendevt("logwhen_unknown", "[logging]\nlogwhen = SOMETIMES\n", Fails(1, &[LOAD, "logwhen", "MIDNIGHT"])),
        cli("rest_url_not_a_url", "[rest]\nurl = kompira server\n", Fails(1, &["kompira: ", "url"])),
        cli("rest_url_ftp", "[rest]\nurl = ftp://kompira.example.com\n", Fails(1, &["kompira: ", "url", "http"])),
        cli("rest_timeout_zero", key("rest", "timeout", "0"), Fails(1, &["kompira: ", "timeout", "out of range"])),
        cli("rest_timeout_text", key("rest", "timeout", "soon"), Fails(1, &["kompira: ", "timeout"])),
        cli("rest_insecure_not_boolean", key("rest", "insecure", "perhaps"), Fails(1, &["kompira: ", "insecure"])),
        cli("rest_token_control_character", key("rest", "token", "abc\x07def"), Fails(1, &["kompira: ", "token"])),
        cli("rest_ca_file_missing", key("rest", "ca_file", "/nonexistent/ca.pem"), Fails(1, &["kompira: ", "ca.pem"])),
        cli("rest_ca_file_not_pem", key("rest", "ca_file", "/etc/hostname"), Fails(1, &["kompira: ", "hostname"])),
        cli(
            "notify_min_severity_unknown",
            key("notify", "min_severity", "Terrible"),
            Fails(1, &["kompira: ", "min_severity"]),
        ),
        cli(
            "notify_breakthrough_unknown",
            key("notify", "breakthrough", "Bogus"),
            Fails(1, &["kompira: ", "breakthrough"]),
        ),
        cli(
            "notify_quiet_hours_bad_times",
            key("notify", "quiet_hours", "25:00-99:00"),
            Fails(1, &["kompira: ", "quiet_hours"]),
        ),
        cli("notify_sound_not_boolean", key("notify", "sound", "loud"), Fails(1, &["kompira: ", "sound"])),
        cli(
            "notify_remedies_one_word",
            key("notify", "remedies", "/root/channels/A"),
            Fails(1, &["kompira: ", "remedies"]),
        ),
        cli("notify_channels_relative", key("notify", "channels", "channels/A"), Fails(1, &["kompira: ", "channels"])),
        sendevt("secrets_store_unknown", "[secrets]\nstore = vault\n", Fails(1, &[LOAD, "[secrets] store", "keyring"])),
        case("keyring_unreachable_falls_back_to_the_file", || {
            // No D-Bus session in the sandbox: the file's password is used, and the log says why.
            let sandbox = Sandbox::new();
            let conf =
                sandbox.file("kompira.conf", b"[secrets]\nstore = keyring\n[amqp-connection]\npassword = from-file\n");
            let outcome = Run::new("kompira_sendevt", &["-c", &arg(&conf), "-t"]).run(&sandbox);
            check(&outcome, Succeeds(&["store = keyring", "password = ********", "keyring cannot be reached"]))
        }),
        cli("tray_language_unknown", key("tray", "language", "xx"), Fails(1, &["kompira: ", "language", "auto"])),
    ]
}
