//! Secrets: the real tools, given a distinctive password or token in kompira.conf, the
//! environment, the command line or a URL, made to fail in many ways (refused login, bad
//! server, broken URL, dry run, debug logging to the console and to a log file). The secret
//! must appear in no output and no log file.

use crate::fake::{self, http, Peer};
use crate::harness::{arg, Run, Sandbox};
use crate::{case, Case};

const SECRET: &str = "S3cr3t-T0ken-XYZ";

/// Runs `run` in `sandbox` and fails if the secret shows anywhere, or the run hung.
fn no_leak(sandbox: &Sandbox, run: Run) -> Result<(), String> {
    let outcome = run.run(sandbox);
    if outcome.timed_out {
        return Err("hung".into());
    }
    for (place, text) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr), ("the log", &sandbox.logs())] {
        if text.contains(SECRET) {
            return Err(format!("the secret is in {place}:\n{text}"));
        }
    }
    if outcome.code == Some(0) && outcome.stdout.is_empty() {
        return Err(format!("did nothing visible:\n{}", outcome.stderr));
    }
    Ok(())
}

/// `kompira_sendevt` with the secret as password in kompira.conf, debug logging to the log
/// file and the console, and `args`.
fn sendevt_conf(name: &str, args: &'static [&'static str]) -> Case {
    case(name, move || {
        let sandbox = Sandbox::new();
        let conf = sandbox.file(
            "kompira.conf",
            format!("[amqp-connection]\nserver = 127.0.0.1\nuser = guest\npassword = {SECRET}\nmax_retry = 0\nconnect_timeout = 3\n[logging]\nloglevel = DEBUG\nlogdir = {}\n", arg(&sandbox.log_dir())).as_bytes(),
        );
        let mut run = Run::new("kompira_sendevt", &["-c", &arg(&conf), "--debug"]);
        for a in args {
            run = run.arg(a);
        }
        no_leak(&sandbox, run)
    })
}

/// `kompira_sendevt` with the secret in AMQP_URL.
fn sendevt_url(name: &str, url: &'static str, args: &'static [&'static str]) -> Case {
    case(name, move || {
        let sandbox = Sandbox::new();
        let mut run = Run::new(
            "kompira_sendevt",
            &["--debug", "--loglevel", "DEBUG", "--max-retry", "0", "--connect-timeout", "3"],
        )
        .env("AMQP_URL", url.replace("SECRET", SECRET));
        for a in args {
            run = run.arg(a);
        }
        no_leak(&sandbox, run)
    })
}

/// `kompira` with the secret as token (kompira.conf), full tracing on stderr, against `peer`.
fn kompira(name: &str, peer: Option<Peer>, scheme: &'static str, args: &'static [&'static str]) -> Case {
    let peer = std::sync::Mutex::new(peer);
    case(name, move || {
        let port = match peer.lock().unwrap().take() {
            Some(peer) => fake::start(peer),
            None => fake::closed_port(),
        };
        let sandbox = Sandbox::new();
        let conf = sandbox.file(
            "kompira.conf",
            format!("[rest]\nurl = {scheme}://127.0.0.1:{port}\ntoken = {SECRET}\ntimeout = 3\n").as_bytes(),
        );
        let mut run = Run::new("kompira", &["-c", &arg(&conf)]).env("RUST_LOG", "trace");
        for a in args {
            run = run.arg(a.replace("PORT", &port.to_string()));
        }
        no_leak(&sandbox, run)
    })
}

pub fn cases() -> Vec<Case> {
    let refused =
        || Some(Peer::Answer(http("401 Unauthorized", "application/json", br#"{"detail": "Invalid token."}"#)));
    vec![
        sendevt_conf("sendevt_dry_run", &["--dry-run", "x=1"]),
        sendevt_conf("sendevt_test_settings", &["-t"]),
        sendevt_conf("sendevt_refused_login", &["--port", "5672", "x=1"]),
        sendevt_conf("sendevt_refused_login_test_connection", &["--port", "5672", "--test-connection"]),
        sendevt_conf("sendevt_closed_port", &["--port", "9", "x=1"]),
        sendevt_conf("sendevt_tls_to_plain_port", &["--port", "5672", "--ssl", "x=1"]),
        sendevt_conf("sendevt_bad_value_elsewhere", &["--loglevel", "LOUD", "x=1"]),
        sendevt_url("amqp_url_refused_login", "amqp://guest:SECRET@127.0.0.1:5672/", &["x=1"]),
        sendevt_url("amqp_url_bad_port", "amqp://guest:SECRET@127.0.0.1:99999/", &["x=1"]),
        sendevt_url("amqp_url_bad_scheme", "http://guest:SECRET@127.0.0.1/", &["x=1"]),
        sendevt_url("amqp_url_dry_run", "amqps://guest:SECRET@127.0.0.1/vhost", &["--dry-run", "x=1"]),
        case("sendevt_password_flag_silent_peer", || {
            let sandbox = Sandbox::new();
            let port = fake::start(Peer::Silent).to_string();
            let run = Run::new(
                "kompira_sendevt",
                &[
                    "--debug",
                    "--loglevel",
                    "DEBUG",
                    "--port",
                    &port,
                    "--password",
                    SECRET,
                    "--max-retry",
                    "0",
                    "--connect-timeout",
                    "2",
                    "x=1",
                ],
            );
            no_leak(&sandbox, run)
        }),
        kompira("rest_refused_token", refused(), "http", &["process", "show", "1"]),
        kompira("rest_refused_token_on_run", refused(), "http", &["jobflow", "run", "/root/x", "-p", "a=1"]),
        kompira(
            "rest_server_error",
            Some(Peer::Answer(http("500 Internal Server Error", "text/html", b"<h1>oops</h1>"))),
            "http",
            &["channel", "send", "/root/c", "a=1"],
        ),
        kompira("rest_closed_port", None, "http", &["process", "show", "1"]),
        kompira("rest_silent_server", Some(Peer::Silent), "http", &["process", "show", "1"]),
        kompira(
            "rest_tls_to_plain_port",
            Some(Peer::Answer(http("200 OK", "application/json", b"{}"))),
            "https",
            &["process", "show", "1"],
        ),
        kompira(
            "rest_redirect",
            Some(Peer::Answer(
                b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/\r\nContent-Length: 0\r\n\r\n".to_vec(),
            )),
            "http",
            &["process", "show", "1"],
        ),
        kompira(
            "rest_token_in_url_query",
            None,
            "http",
            &["--url", "http://127.0.0.1:PORT/?token=S3cr3t-T0ken-XYZ", "process", "show", "1"],
        ),
        kompira(
            "rest_password_in_url",
            None,
            "http",
            &["--url", "http://user:S3cr3t-T0ken-XYZ@127.0.0.1:PORT/", "process", "show", "1"],
        ),
        case("rest_token_flag_with_bad_character", || {
            let sandbox = Sandbox::new();
            let run = Run::new(
                "kompira",
                &["--url", "http://127.0.0.1:9", "--token", &format!("{SECRET}\u{7}"), "process", "show", "1"],
            )
            .env("RUST_LOG", "trace");
            no_leak(&sandbox, run)
        }),
        case("rest_token_env_bad_url", || {
            let sandbox = Sandbox::new();
            let run = Run::new("kompira", &["process", "show", "1"])
                .env("KOMPIRA_TOKEN", SECRET)
                .env("KOMPIRA_URL", format!("ftp://user:{SECRET}@x/?token={SECRET}"))
                .env("RUST_LOG", "trace");
            no_leak(&sandbox, run)
        }),
    ]
}
