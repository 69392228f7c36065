//! `kompira_sendevt.exe` under Wine: the Windows search order for kompira.conf, a real send to
//! `io_queue` (every property and header), TLS with the test PKI read from `C:\` paths, retries
//! against a closed port, the log file in a `C:\` log folder, and the exit codes.

use std::time::Duration;

use kompira_testkit::{self as testkit, Received};
use lapin::types::AMQPValue;

use crate::wine::{wine, ConfigFiles, Run, Wine, INSTALL_DIR};

const SENDEVT: &str = "kompira_sendevt.exe";
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// The log folder the tests configure, on C: as an administrator would write it.
const LOG_DIR: &str = r"C:\KompiraTray\log";
const LOCAL_CONF: &str = "[amqp-connection]\nserver = 127.0.0.1\nmax_retry = 0\n";

/// Holds io_queue, empties it, runs `send`, then takes the one message it produced.
async fn send_and_receive(send: impl FnOnce() -> Run) -> (Run, Option<Received>) {
    let url = testkit::broker_url();
    let _guard = testkit::lock_io_queue().await;
    testkit::declare_io_queue(&url).await.expect("io_queue declared");
    testkit::purge(&url, testkit::IO_QUEUE).await.expect("io_queue purged");
    let run = send();
    let received = if run.code == 0 {
        testkit::receive_one(&url, testkit::IO_QUEUE, RECEIVE_TIMEOUT).await.expect("io_queue read")
    } else {
        None
    };
    (run, received)
}

fn long_string(value: Option<&AMQPValue>) -> String {
    match value {
        Some(AMQPValue::LongString(s)) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        other => panic!("expected a long string, got {other:?}"),
    }
}

fn log_text(wine: &Wine) -> String {
    std::fs::read_to_string(wine.linux(&format!(r"{LOG_DIR}\kompira_sendevt.log"))).unwrap_or_default()
}

/// A fresh log folder for one test.
fn fresh_log_dir(wine: &Wine) {
    let dir = wine.linux(LOG_DIR);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the log folder");
}

fn assert_uuid4(text: &str) {
    let parsed = text.len() == 36
        && text.as_bytes()[14] == b'4'
        && text.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_digit() || ('a'..='f').contains(&c)
            }
        });
    assert!(parsed, "not a lower-case uuid4: {text}");
}

#[test]
fn settings_come_from_c_kompira_then_the_install_folder_then_the_work_folder_then_appdata() {
    let Some(wine) = wine() else { return };
    let files = ConfigFiles::new(wine);
    let [system, install, work, user] = files.search_path();
    assert_eq!(install, format!(r"{INSTALL_DIR}\kompira.conf"), "the prefix is the exe folder's parent");
    wine.write(&system, "[amqp-connection]\nserver = 127.0.0.1\nport = 1\n[kompira]\nsite_id = 2\n");
    wine.write(&install, "[amqp-connection]\nport = 2\nretry_interval = 3\n");
    wine.write(&work, "[amqp-connection]\nport = 3\nmax_retry = 4\n");
    wine.write(&user, "[amqp-connection]\nport = 5\n[event]\nchannel = /root/from_appdata\n");

    let run = wine.run(SENDEVT, &["-t"], &[], b"");
    assert_eq!(run.code, 0, "{run:?}");
    let read = format!("; files read, later ones win: {system}, {install}, {work}, {user}");
    assert!(run.stdout.lines().any(|line| line == read), "expected `{read}` in:\n{}", run.stdout);
    let source_of = |key: &str| {
        let line = run.stdout.lines().find(|l| l.starts_with(&format!("{key} = "))).unwrap_or_else(|| {
            panic!("no {key} in:\n{}", run.stdout);
        });
        line.to_owned()
    };
    let expect = |key: &str, value: &str, file: &str, line: u32| {
        let shown = source_of(key);
        assert!(shown.starts_with(&format!("{key} = {value} ")), "{shown}");
        assert!(shown.ends_with(&format!("; {file}:{line}")), "{key} should come from {file}:{line}: {shown}");
    };
    expect("server", "127.0.0.1", &system, 2);
    expect("site_id", "2", &system, 5);
    expect("retry_interval", "3", &install, 3);
    expect("max_retry", "4", &work, 3);
    expect("port", "5", &user, 2);
    expect("channel", "/root/from_appdata", &user, 4);

    // Without the user's file the work folder's port wins, and the dry run uses it.
    std::fs::remove_file(wine.linux(&user)).expect("the user's file");
    let run = wine.run(SENDEVT, &["--dry-run", "x=1"], &[], b"");
    assert_eq!(run.code, 0, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("the dry run's JSON");
    assert_eq!(report["amqp_opts"]["port"], 3, "{report}");
    assert_eq!(report["application header"]["channel"], "/system/channels/Alert", "{report}");
}

#[tokio::test]
async fn an_event_arrives_in_io_queue_with_every_property_and_header_and_is_logged_on_c() {
    let Some(wine) = wine() else { return };
    let files = ConfigFiles::new(wine);
    let [system, ..] = files.search_path();
    fresh_log_dir(wine);
    wine.write(&system, &format!("{LOCAL_CONF}[logging]\nlogdir = {LOG_DIR}\n"));
    let before = chrono::Utc::now().timestamp() as u64;
    let (run, msg) =
        send_and_receive(|| wine.run(SENDEVT, &["host=web1", "b=x=y", "empty=", "障害=値", "host=web2"], &[], b""))
            .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "");
    let msg = msg.expect("the event reached io_queue");

    assert_eq!((msg.exchange.as_str(), msg.routing_key.as_str()), ("", "io_queue"));
    assert_eq!(msg.body_utf8().unwrap(), r#"{"host": "web2", "b": "x=y", "empty": "", "\u969c\u5bb3": "\u5024"}"#);
    let p = &msg.properties;
    assert_eq!(*p.delivery_mode(), Some(2));
    assert_eq!(p.content_type().as_ref().unwrap().as_str(), "application/json");
    assert_eq!(p.content_encoding().as_ref().unwrap().as_str(), "utf-8");
    let correlation_id = p.correlation_id().as_ref().expect("a correlation id").as_str().to_owned();
    assert_uuid4(&correlation_id);
    let message_id = p.message_id().as_ref().expect("a message id").as_str();
    assert_uuid4(message_id);
    assert_ne!(message_id, correlation_id);
    let timestamp = p.timestamp().expect("timestamp property");
    assert!(timestamp >= before && timestamp <= before + 60, "{timestamp} vs {before}");

    let headers = p.headers().as_ref().expect("headers").inner();
    assert_eq!(headers.len(), 4, "{headers:?}");
    assert_eq!(long_string(msg.header("channel")), "/system/channels/Alert");
    assert_eq!(msg.header("site_id"), Some(&AMQPValue::ShortShortInt(1)));
    assert_eq!(msg.header("ssl"), Some(&AMQPValue::Void));
    let stamp = long_string(msg.header("timestamp"));
    let parsed = chrono::NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S%.6f").expect("a local time");
    let drift = (chrono::Local::now().naive_local() - parsed).num_seconds().abs();
    assert!(drift < 60, "local wall time expected, got {stamp}");

    let log = log_text(wine);
    assert!(log.contains(&format!("INFO: finished: sent message successfully: {correlation_id}")), "{log}");
    assert!(log.contains(r#"INFO: start: body={"host": "web2", "b": "x=y", "empty": "", "障害": "値"}"#), "{log}");
}

#[tokio::test]
async fn tls_with_the_test_pki_read_from_c_sends_and_names_the_tls_version() {
    let Some(wine) = wine() else { return };
    let files = ConfigFiles::new(wine);
    let [system, ..] = files.search_path();
    fresh_log_dir(wine);
    wine.write(&system, &format!("{LOCAL_CONF}[logging]\nlogdir = {LOG_DIR}\n"));
    let pki = format!(r"{INSTALL_DIR}\pki");
    for name in ["ca.crt", "client.crt", "client.key"] {
        let pem = std::fs::read_to_string(testkit::pki_dir().join(name)).expect("the test PKI (scripts/setup.sh)");
        wine.write(&format!(r"{pki}\{name}"), &pem);
    }
    let (ca, cert, key) = (format!(r"{pki}\ca.crt"), format!(r"{pki}\client.crt"), format!(r"{pki}\client.key"));
    let tls = ["--ssl", "--ssl-verify", "--ssl-cacertfile", &ca, "--ssl-certfile", &cert, "--ssl-keyfile", &key];
    let with_event: Vec<&str> = tls.iter().copied().chain(["tls=yes"]).collect();
    let (run, msg) = send_and_receive(|| wine.run(SENDEVT, &with_event, &[], b"")).await;
    assert_eq!(run.code, 0, "{run:?}");
    let version = long_string(msg.expect("the event reached io_queue").header("ssl"));
    assert!(version == "TLSv1.3" || version == "TLSv1.2", "{version}");

    let test: Vec<&str> = tls.iter().copied().chain(["--test-connection"]).collect();
    let run = wine.run(SENDEVT, &test, &[], b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("Connection OK: AMQPS(127.0.0.1:"), "{}", run.stdout);
    assert!(run.stdout.trim_end().ends_with(&format!("->127.0.0.1:5671,{version})")), "{}", run.stdout);
}

#[test]
fn a_closed_port_is_retried_as_configured_then_given_up_with_exit_code_1() {
    let Some(wine) = wine() else { return };
    let files = ConfigFiles::new(wine);
    let [system, ..] = files.search_path();
    fresh_log_dir(wine);
    wine.write(&system, &format!("{LOCAL_CONF}[logging]\nlogdir = {LOG_DIR}\n"));
    let closed = closed_port();
    let run = wine.run(SENDEVT, &["--port", &closed, "--max-retry", "2", "--retry-interval", "1", "x=1"], &[], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr.matches("Failed to connect:").count(), 3, "{}", run.stderr);
    assert!(run.elapsed >= Duration::from_secs(2), "two pauses of one second: {:?}", run.elapsed);
    let log = log_text(wine);
    assert_eq!(log.matches("WARNING: waiting 1 seconds for retry connection ...").count(), 2, "{log}");
    assert!(log.contains("ERROR: gave up retry connection"), "{log}");
}

#[test]
fn usage_errors_exit_2_and_a_missing_config_file_exits_1_naming_it() {
    let Some(wine) = wine() else { return };
    let _files = ConfigFiles::new(wine);
    let run = wine.run(SENDEVT, &["--bogus"], &[], b"");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("error"), "{}", run.stderr);
    let missing = r"C:\nowhere\kompira.conf";
    let run = wine.run(SENDEVT, &["-c", missing, "x=1"], &[], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains(missing) && run.stderr.contains("not found"), "{}", run.stderr);
}

/// A loopback port nobody listens on (bound, then released).
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    port.to_string()
}
