//! Environment variables the tools read: AMQP_URL and the per-key AMQP_* and LOGGING_*
//! variables, KOMPIRA_URL and KOMPIRA_TOKEN, the per-user config location, the locale for
//! `--decode-stdin`, RUST_LOG, and values that are not UTF-8.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use crate::harness::{check, Expect, Run, Sandbox};
use crate::{case, Case};

/// `kompira_sendevt --dry-run x=1` with one variable set.
fn sendevt(name: &str, var: &'static str, value: &'static str, expect: Expect) -> Case {
    case(name, move || {
        check(&Run::new("kompira_sendevt", &["--dry-run", "x=1"]).env(var, value).run(&Sandbox::new()), expect)
    })
}

/// `kompira process show 1` with one variable set (and a URL nothing listens on).
fn kompira(name: &str, var: &'static str, value: &'static str, expect: Expect) -> Case {
    case(name, move || {
        let run = Run::new("kompira", &["process", "show", "1"])
            .env("KOMPIRA_URL", "http://127.0.0.1:9")
            .env("KOMPIRA_TOKEN", "t0ken")
            .env(var, value);
        check(&run.run(&Sandbox::new()), expect)
    })
}

pub fn cases() -> Vec<Case> {
    use Expect::{Fails, Succeeds};
    const LOAD: &str = "Failed to load settings: ";
    vec![
        sendevt("amqp_url_http", "AMQP_URL", "http://host", Fails(1, &[LOAD, "AMQP_URL", "amqp://"])),
        sendevt("amqp_url_no_scheme", "AMQP_URL", "kompira.example.com", Fails(1, &[LOAD, "AMQP_URL"])),
        sendevt("amqp_url_port_text", "AMQP_URL", "amqp://h:five/", Fails(1, &[LOAD, "AMQP_URL", "not a number"])),
        sendevt("amqp_url_port_huge", "AMQP_URL", "amqp://h:99999/", Fails(1, &[LOAD, "AMQP_URL", "out of range"])),
        sendevt("amqp_url_port_zero", "AMQP_URL", "amqp://h:0/", Fails(1, &[LOAD, "AMQP_URL", "port"])),
        case("amqp_url_other_vhost_is_named_in_the_log", || {
            // Accepted as the official tool accepts it, but not silently: the log says so.
            let sandbox = Sandbox::new();
            let run = Run::new("kompira_sendevt", &["--dry-run", "x=1"])
                .env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/kompira");
            check(&run.run(&sandbox), Succeeds(&["\"server\": \"127.0.0.1\""]))?;
            let log = sandbox.logs();
            if !log.contains("vhost \"kompira\", which is ignored") {
                return Err(format!("the log does not name the ignored vhost:\n{log}"));
            }
            Ok(())
        }),
        sendevt("amqp_url_empty_is_unset", "AMQP_URL", "", Succeeds(&["\"server\": \"localhost\""])),
        sendevt("amqp_url_bad_percent", "AMQP_URL", "amqp://us%zzer:pa%@h/", Succeeds(&["\"server\": \"h\""])),
        sendevt(
            "ssl_verify_not_boolean",
            "AMQP_SSL_VERIFY",
            "sometimes",
            Fails(1, &[LOAD, "AMQP_SSL_VERIFY", "sometimes"]),
        ),
        sendevt("max_retry_text", "AMQP_MAX_RETRY", "many", Fails(1, &[LOAD, "AMQP_MAX_RETRY", "many"])),
        sendevt("max_retry_negative", "AMQP_MAX_RETRY", "-3", Fails(1, &[LOAD, "AMQP_MAX_RETRY", "out of range"])),
        sendevt("retry_interval_float", "AMQP_RETRY_INTERVAL", "1e3", Fails(1, &[LOAD, "AMQP_RETRY_INTERVAL"])),
        sendevt("logging_level_unknown", "LOGGING_LEVEL", "LOUD", Fails(1, &[LOAD, "LOGGING_LEVEL", "DEBUG"])),
        sendevt("logging_maxsz_negative", "LOGGING_MAXSZ", "-1", Fails(1, &[LOAD, "LOGGING_MAXSZ", "out of range"])),
        sendevt("logging_backup_text", "LOGGING_BACKUP", "all", Fails(1, &[LOAD, "LOGGING_BACKUP"])),
        sendevt("logging_when_unknown", "LOGGING_WHEN", "EASTER", Fails(1, &[LOAD, "LOGGING_WHEN", "MIDNIGHT"])),
        sendevt(
            "logging_dir_missing_warns",
            "LOGGING_DIR",
            "/nonexistent/logs",
            Succeeds(&["/nonexistent/logs", "\"amqp_opts\""]),
        ),
        sendevt("logging_dir_is_a_file", "LOGGING_DIR", "/etc/hostname", Succeeds(&["/etc/hostname", "\"amqp_opts\""])),
        sendevt("user_config_dir_is_a_file", "XDG_CONFIG_HOME", "/etc/hostname", Succeeds(&["\"amqp_opts\""])),
        case("amqp_url_not_utf8", || {
            let run = Run::new("kompira_sendevt", &["--dry-run", "x=1"])
                .env("AMQP_URL", OsString::from_vec(b"amqp://h\xE9st/".to_vec()));
            check(&run.run(&Sandbox::new()), Fails(1, &[LOAD, "AMQP_URL", "UTF-8"]))
        }),
        case("locale_unknown_for_decode_stdin", || {
            let run = Run::new("kompira_sendevt", &["--decode-stdin", "--dry-run"])
                .env("LANG", "xx_XX.KLINGON")
                .stdin(b"text");
            check(&run.run(&Sandbox::new()), Succeeds(&["\"amqp_opts\""]))
        }),
        kompira("kompira_url_bad", "KOMPIRA_URL", "not a url", Fails(1, &["KOMPIRA_URL", "url"])),
        kompira("kompira_url_with_query", "KOMPIRA_URL", "http://127.0.0.1:9/?x=1", Fails(1, &["url", "query"])),
        kompira("kompira_token_newline", "KOMPIRA_TOKEN", "abc\ndef", Fails(1, &["token"])),
        kompira("rust_log_garbage", "RUST_LOG", "=== not a filter", Fails(1, &["connection refused", "127.0.0.1:9"])),
        case("kompira_token_not_utf8", || {
            let run = Run::new("kompira", &["process", "show", "1"])
                .env("KOMPIRA_URL", "http://127.0.0.1:9")
                .env("KOMPIRA_TOKEN", OsString::from_vec(b"t\xE9ken".to_vec()));
            check(&run.run(&Sandbox::new()), Fails(1, &["KOMPIRA_TOKEN", "UTF-8"]))
        }),
    ]
}
