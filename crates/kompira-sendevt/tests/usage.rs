//! Usage errors, bad configuration, `--dry-run`, `-t` and `--version`: no broker involved
//! (the port points at nothing, so an accidental connection attempt would fail the test).

mod common;

use common::{run_binary, RunSendevt, Sandbox};

const NOWHERE_CONF: &str = "[amqp-connection]\nserver = 127.0.0.1\nport = 1\nmax_retry = 0\n";

#[test]
fn bad_arguments_exit_with_status_2() {
    let sandbox = Sandbox::with_conf(NOWHERE_CONF);
    for args in [
        &["--bogus"][..],
        &["--port", "abc"],
        &["--port", "70000"],
        &["--max-retry", "-1"],
        &["--site-id"],
        &["key=value", "not-a-pair"],
    ] {
        let run = sandbox.run(args, b"");
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
    }
}

#[test]
fn a_named_config_file_that_does_not_exist_is_an_error() {
    let sandbox = Sandbox::with_conf(NOWHERE_CONF);
    let run = sandbox.run_raw(&["-c", "/nonexistent/kompira.conf", "x=1"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("/nonexistent/kompira.conf"), "{}", run.stderr);
    assert!(run.stderr.contains("not found"), "{}", run.stderr);
}

#[test]
fn config_errors_name_the_file_and_line() {
    let cases = [
        ("[kompira]\nsite_id = abc\n", ":2"),
        ("[amqp-connection]\nserver = a\nserver = b\n", ":3"),
        ("server = a\n", ":1"),
        ("[amqp-connection]\nssl = perhaps\n", ":2"),
        ("[amqp-connection]\npassword = 100%\n", ":2"),
        ("[amqp-connection]\nport = 99999\n", ":2"),
    ];
    for (conf, line) in cases {
        let sandbox = Sandbox::with_conf(conf);
        let run = sandbox.run(&["--dry-run", "x=1"], b"");
        assert_eq!(run.code, 1, "{conf:?}: {run:?}");
        let expected = format!("{}{line}", sandbox.path("kompira.conf").display());
        assert!(run.stderr.contains(&expected), "{conf:?}: {}", run.stderr);
    }
}

#[test]
fn bad_environment_values_are_named() {
    let sandbox = Sandbox::with_conf(NOWHERE_CONF).with_env("AMQP_MAX_RETRY", "many");
    let run = sandbox.run(&["--dry-run", "x=1"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("AMQP_MAX_RETRY"), "{}", run.stderr);
}

#[test]
fn dry_run_prints_the_reference_shape_with_the_password_masked() {
    let sandbox = Sandbox::with_conf("[amqp-connection]\nserver = mq.example\npassword = s3cret\n");
    let run = sandbox.run(&["--dry-run", "--site-id", "3", "host=web1", "msg=障害"], b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("s3cret"), "{}", run.stdout);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let opts = &report["amqp_opts"];
    let keys: Vec<_> = opts.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "server",
            "port",
            "user",
            "password",
            "ssl",
            "ssl_verify",
            "ssl_cacertfile",
            "ssl_certfile",
            "ssl_keyfile",
            "max_retry",
            "retry_interval"
        ]
    );
    assert_eq!(opts["server"], "mq.example");
    assert_eq!(opts["password"], "********");
    assert_eq!(opts["user"], serde_json::Value::Null);
    assert_eq!(report["application header"]["site_id"], 3);
    assert_eq!(report["application header"]["channel"], "/system/channels/Alert");
    assert_eq!(report["message_dict"], serde_json::json!({"host": "web1", "msg": "障害"}));
    // Indented like Python's json.dumps(indent=2), non-ASCII kept as is.
    assert!(run.stdout.starts_with("{\n  \"amqp_opts\": {\n    \"server\": \"mq.example\",\n"), "{}", run.stdout);
    assert!(run.stdout.contains("\"msg\": \"障害\""));
}

#[test]
fn dry_run_with_only_empty_arguments_shows_an_empty_dict_and_reads_no_stdin() {
    // `kompira_sendevt ''`: the empty arguments are skipped, but their presence means KEY=VAL
    // mode, so the reference reports `"message_dict": {}` and ignores standard input.
    let sandbox = Sandbox::with_conf(NOWHERE_CONF);
    for args in [&["--dry-run", ""][..], &["--dry-run", "", ""]] {
        let run = sandbox.run(args, b"not to be read");
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(report["message_dict"], serde_json::json!({}), "{args:?}: {}", run.stdout);
        assert!(report.get("message_body").is_none(), "{args:?}: {}", run.stdout);
        assert!(run.stdout.ends_with("\n  \"message_dict\": {}\n}\n"), "{args:?}: {}", run.stdout);
    }
}

#[test]
fn a_negative_site_id_is_accepted_from_the_command_line_and_the_file() {
    let in_file = format!("{NOWHERE_CONF}[kompira]\nsite_id = -1\n");
    let cases = [
        (NOWHERE_CONF, &["--dry-run", "--site-id", "-1", "x=1"][..]),
        (NOWHERE_CONF, &["--dry-run", "--site-id=-1", "x=1"]),
        (NOWHERE_CONF, &["--dry-run", "--site_id", "-1", "x=1"]),
        (&in_file, &["--dry-run", "x=1"]),
    ];
    for (conf, args) in cases {
        let sandbox = Sandbox::with_conf(conf);
        let run = sandbox.run(args, b"");
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(report["application header"]["site_id"], -1, "{args:?}: {}", run.stdout);
        assert_eq!(report["message_dict"], serde_json::json!({"x": "1"}), "{args:?}");
    }
}

#[test]
fn dry_run_shows_raw_stdin_as_python_bytes() {
    let sandbox = Sandbox::with_conf(NOWHERE_CONF);
    let run = sandbox.run(&["--dry-run"], b"it's\n");
    assert_eq!(run.code, 0, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["message_body"], "b\"it's\\n\"");
}

#[test]
fn test_settings_lists_values_with_their_sources() {
    let sandbox = Sandbox::with_conf("[amqp-connection]\nserver = 127.0.0.1\npassword = s3cret\n")
        .with_env("AMQP_MAX_RETRY", "4");
    let conf = sandbox.path("kompira.conf");
    let run = sandbox.run_raw(&["-c", conf.to_str().unwrap(), "-t", "--port", "5673"], b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("s3cret"), "{}", run.stdout);
    let line_of = |key: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no {key} in {}", run.stdout))
            .to_owned()
    };
    assert!(line_of("server").ends_with(&format!("{}:2", conf.display())), "{}", line_of("server"));
    assert!(line_of("max_retry").contains("AMQP_MAX_RETRY"), "{}", line_of("max_retry"));
    assert!(line_of("port").contains("--port"), "{}", line_of("port"));
    assert!(line_of("channel").ends_with("default"), "{}", line_of("channel"));
}

#[test]
fn version_names_the_compatible_reference() {
    let run = run_binary(std::path::Path::new("/"), &["--version"], b"", &[]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("kompira_sendevt (Kompira version 2.0.0"), "{}", run.stdout);
}

#[test]
fn a_password_on_the_command_line_is_warned_about_without_being_shown() {
    let sandbox = Sandbox::with_conf(NOWHERE_CONF);
    let run = sandbox.run(&["--password", "pw-on-the-line", "--dry-run", "x=1"], b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("warning: other users of this machine can read --password"), "{}", run.stderr);
    assert!(run.stderr.contains("[amqp-connection] password"), "{}", run.stderr);
    assert!(!run.stderr.contains("pw-on-the-line"), "{}", run.stderr);
    let quiet = sandbox.run(&["--dry-run", "x=1"], b"");
    assert!(!quiet.stderr.contains("warning"), "{}", quiet.stderr);
}
