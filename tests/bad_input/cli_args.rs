//! Command-line arguments of `kompira_sendevt` and `kompira`: bad option values, unknown
//! options, malformed KEY=VAL and parameters, and arguments that are not UTF-8.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use crate::harness::{check, Expect, Run, Sandbox};
use crate::{case, Case};

fn sendevt(name: &str, args: &'static [&'static str], expect: Expect) -> Case {
    case(name, move || check(&Run::new("kompira_sendevt", args).run(&Sandbox::new()), expect))
}

/// `kompira` with a server URL that nothing listens on (port 9): bad arguments must be
/// refused before any connection.
fn kompira(name: &str, args: &'static [&'static str], expect: Expect) -> Case {
    case(name, move || {
        let run = Run::new("kompira", args).env("KOMPIRA_URL", "http://127.0.0.1:9").env("KOMPIRA_TOKEN", "t0ken");
        check(&run.run(&Sandbox::new()), expect)
    })
}

pub fn cases() -> Vec<Case> {
    use Expect::Fails;
    const USAGE: &str = "kompira_sendevt: error: ";
    vec![
        sendevt("port_text", &["--port", "abc", "x=1"], Fails(2, &["--port", "abc"])),
        sendevt(
            "port_too_large",
            &["--port", "99999", "--dry-run", "x=1"],
            Fails(2, &["--port", "99999", "1..=65535"]),
        ),
        sendevt("port_zero", &["--port", "0", "--dry-run", "x=1"], Fails(2, &["--port", "1..=65535"])),
        sendevt("site_id_text", &["--site-id", "one", "x=1"], Fails(2, &["--site-id", "one"])),
        sendevt("max_retry_negative", &["--max-retry", "-1", "--dry-run", "x=1"], Fails(2, &["'-1'"])),
        sendevt("retry_interval_text", &["--retry_interval=soon", "x=1"], Fails(2, &["retry", "soon"])),
        sendevt("loglevel_unknown", &["--loglevel", "LOUD", "--dry-run", "x=1"], Fails(1, &["--loglevel", "DEBUG"])),
        sendevt("logwhen_unknown", &["--logwhen", "NEVER", "--dry-run", "x=1"], Fails(1, &["--logwhen", "MIDNIGHT"])),
        sendevt("logmaxsz_unit", &["--logmaxsz", "1G", "x=1"], Fails(2, &["--logmaxsz", "1G"])),
        sendevt("unknown_option", &["--frobnicate", "x=1"], Fails(2, &["--frobnicate"])),
        sendevt("option_missing_value", &["--server"], Fails(2, &["--server"])),
        sendevt("key_without_equals", &["--dry-run", "hostname"], Fails(2, &[USAGE, "\"hostname\"", "KEY=VAL"])),
        sendevt("key_with_newline_only", &["--dry-run", "a=1", "\n"], Fails(2, &[USAGE, "KEY=VAL"])),
        sendevt("unknown_encoding", &["--decode-stdin", "--encoding", "klingon", "--dry-run"], Fails(1, &["klingon"])),
        sendevt(
            "config_missing",
            &["-c", "/nonexistent.conf", "--dry-run", "x=1"],
            Fails(1, &["/nonexistent.conf", "not found"]),
        ),
        sendevt(
            "cacert_missing_with_ssl",
            &[
                "--ssl",
                "--ssl-verify",
                "--ssl-cacertfile",
                "/nonexistent/ca.crt",
                "--port",
                "9",
                "--max-retry",
                "0",
                "--test-connection",
            ],
            Fails(1, &["Failed to setup amqp: ", "/nonexistent/ca.crt"]),
        ),
        case("sendevt_key_not_utf8", || {
            let run = Run::new("kompira_sendevt", &["--dry-run"]).arg(OsString::from_vec(b"host=caf\xE9".to_vec()));
            check(&run.run(&Sandbox::new()), Fails(2, &["UTF-8"]))
        }),
        case("sendevt_stdin_not_decodable", || {
            let run = Run::new("kompira_sendevt", &["--decode-stdin", "--encoding", "utf-8", "--dry-run"])
                .stdin(b"caf\xE9\xFF");
            check(&run.run(&Sandbox::new()), Fails(1, &["not valid UTF-8", "--encoding"]))
        }),
        kompira("no_subcommand", &[], Fails(2, &["Usage"])),
        kompira("unknown_subcommand", &["frobnicate"], Fails(2, &["frobnicate"])),
        kompira("run_without_path", &["jobflow", "run"], Fails(2, &["<PATH>"])),
        kompira("parameter_without_equals", &["jobflow", "run", "/root/x", "-p", "hosts"], Fails(2, &["hosts"])),
        // An expression is compiled by Kompira (a 400 names the parameter); only an empty one is ours to refuse.
        kompira(
            "parameter_empty_expression",
            &["jobflow", "run", "/root/x", "-p", "n:="],
            Fails(2, &["n", "expression after := is empty"]),
        ),
        kompira("parameter_without_name", &["jobflow", "run", "/root/x", "-p", "=web1"], Fails(2, &["name is empty"])),
        kompira(
            "mail_mode_unknown",
            &["jobflow", "run", "/root/x", "--monitoring", "SOMETIMES"],
            Fails(2, &["SOMETIMES"]),
        ),
        kompira("process_not_a_number", &["process", "show", "abc"], Fails(1, &["\"abc\" is not a process"])),
        kompira("process_negative", &["process", "show", "-5"], Fails(2, &["-5"])),
        kompira("wait_timeout_text", &["process", "wait", "1", "--timeout", "forever"], Fails(2, &["forever"])),
        kompira(
            "request_timeout_zero",
            &["--request-timeout", "0", "process", "show", "1"],
            Fails(2, &["--request-timeout", "'0'"]),
        ),
        kompira("url_not_http", &["--url", "amqp://x", "process", "show", "1"], Fails(1, &["url", "http"])),
        kompira("send_bad_json", &["channel", "send", "/root/c", "--json", "{\"a\":"], Fails(2, &["JSON"])),
        kompira("send_fields_and_json", &["channel", "send", "/root/c", "a=1", "--json", "{}"], Fails(2, &["--json"])),
        kompira("send_field_without_equals", &["channel", "send", "/root/c", "oops"], Fails(2, &["oops"])),
        kompira(
            "ca_file_missing",
            &["--ca-file", "/nonexistent/ca.pem", "process", "show", "1"],
            Fails(1, &["/nonexistent/ca.pem"]),
        ),
        kompira(
            "secret_name_unknown",
            &["secret", "set", "amqp.password"],
            Fails(2, &["\"amqp.password\" is not a secret", "rest.token"]),
        ),
        kompira("secret_value_missing", &["secret", "set", "rest.token"], Fails(2, &["no value for rest.token"])),
        case("kompira_path_not_utf8", || {
            let run = Run::new("kompira", &["jobflow", "show"]).arg(OsString::from_vec(b"/root/caf\xE9".to_vec()));
            check(
                &run.env("KOMPIRA_URL", "http://127.0.0.1:9").env("KOMPIRA_TOKEN", "t0ken").run(&Sandbox::new()),
                Fails(2, &["UTF-8"]),
            )
        }),
    ]
}
