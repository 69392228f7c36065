//! `kompira_sendevt` against the real RabbitMQ set up by scripts/setup.sh: what arrives in
//! `io_queue`, byte for byte and type for type, and how failures behave.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::{assert_uuid4, RunSendevt, Sandbox, LOCAL_CONF};
use kompira_testkit::{self as testkit, Received};
use lapin::types::AMQPValue;

const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Holds io_queue, empties it, runs `send`, then takes the one message it produced.
async fn send_and_receive(send: impl FnOnce() -> common::Run) -> (common::Run, Option<Received>) {
    let url = testkit::broker_url();
    let _guard = testkit::lock_io_queue().await;
    testkit::declare_io_queue(&url).await.unwrap();
    testkit::purge(&url, testkit::IO_QUEUE).await.unwrap();
    // The child runs to completion before anything is received, so blocking here is fine.
    let run = send();
    let received = if run.code == 0 {
        testkit::receive_one(&url, testkit::IO_QUEUE, RECEIVE_TIMEOUT).await.unwrap()
    } else {
        None
    };
    (run, received)
}

fn long_string(value: Option<&AMQPValue>) -> String {
    match value {
        Some(AMQPValue::LongString(s)) => String::from_utf8(s.as_bytes().to_vec()).unwrap(),
        other => panic!("expected a long string, got {other:?}"),
    }
}

fn pki(name: &str) -> String {
    testkit::pki_dir().join(name).display().to_string()
}

#[tokio::test]
async fn key_values_arrive_as_ascii_json_with_every_property_and_header() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let before = chrono::Utc::now().timestamp() as u64;
    let (run, msg) =
        send_and_receive(|| sandbox.run(&["host=web1", "b=x=y", "empty=", "障害=値", "host=web2"], b"")).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "");
    let msg = msg.expect("the event reached io_queue");

    assert_eq!(msg.exchange, "");
    assert_eq!(msg.routing_key, "io_queue");
    assert_eq!(msg.body_utf8().unwrap(), r#"{"host": "web2", "b": "x=y", "empty": "", "\u969c\u5bb3": "\u5024"}"#);
    let p = &msg.properties;
    assert_eq!(*p.delivery_mode(), Some(2));
    assert_eq!(p.content_type().as_ref().unwrap().as_str(), "application/json");
    assert_eq!(p.content_encoding().as_ref().unwrap().as_str(), "utf-8");
    let correlation_id = p.correlation_id().as_ref().unwrap().as_str().to_owned();
    assert_uuid4(&correlation_id);
    let message_id = p.message_id().as_ref().unwrap().as_str();
    assert_uuid4(message_id);
    assert_ne!(message_id, correlation_id);
    let timestamp = p.timestamp().expect("timestamp property");
    assert!(timestamp >= before && timestamp <= before + 60, "{timestamp} vs {before}");

    let headers = p.headers().as_ref().unwrap().inner();
    assert_eq!(headers.len(), 4, "{headers:?}");
    assert_eq!(long_string(msg.header("channel")), "/system/channels/Alert");
    assert_eq!(msg.header("site_id"), Some(&AMQPValue::ShortShortInt(1)));
    assert_eq!(msg.header("ssl"), Some(&AMQPValue::Void));
    let stamp = long_string(msg.header("timestamp"));
    let parsed = chrono::NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S%.6f").unwrap();
    assert_eq!(stamp.len(), 26, "{stamp}");
    let drift = (chrono::Local::now().naive_local() - parsed).num_seconds().abs();
    assert!(drift < 60, "local wall time expected, got {stamp}");

    let log = sandbox.log();
    assert!(log.contains(&format!("INFO: finished: sent message successfully: {correlation_id}")), "{log}");
    assert!(
        log.contains(r#"INFO: start: body={"host": "web2", "b": "x=y", "empty": "", "障害": "値"}, dest=amqp://127.0.0.1/system/channels/Alert, site_id=1, corr_id="#),
        "{log}"
    );
}

#[tokio::test]
async fn only_empty_arguments_send_an_empty_json_object_and_leave_stdin_alone() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let (run, msg) = send_and_receive(|| sandbox.run(&[""], b"not to be read")).await;
    assert_eq!(run.code, 0, "{run:?}");
    let msg = msg.expect("the event reached io_queue");
    assert_eq!(msg.body_utf8(), Some("{}"));
    let content_type = msg.properties.content_type().as_ref().map(|t| t.as_str().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert!(sandbox.log().contains("INFO: start: body={}, dest="), "{}", sandbox.log());
}

#[tokio::test]
async fn raw_stdin_is_sent_untouched_without_content_type() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let body = b"\xff\x00raw \x82\xa0 bytes\n".to_vec();
    let (run, msg) = send_and_receive(|| sandbox.run(&[], &body)).await;
    assert_eq!(run.code, 0, "{run:?}");
    let msg = msg.unwrap();
    assert_eq!(msg.body, body);
    assert_eq!(*msg.properties.content_type(), None);
    assert!(sandbox.log().contains(r"body=b'\xff\x00raw \x82\xa0 bytes\n'"), "{}", sandbox.log());
}

#[tokio::test]
async fn empty_stdin_sends_an_empty_body() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let (run, msg) = send_and_receive(|| sandbox.run(&[], b"")).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(msg.unwrap().body, b"");
}

#[tokio::test]
async fn decoded_stdin_is_sent_as_utf8() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("ディスク障害①");
    let (run, msg) = send_and_receive(|| sandbox.run(&["--decode-stdin", "--encoding", "cp932"], &sjis)).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(msg.unwrap().body_utf8(), Some("ディスク障害①"));
}

#[tokio::test]
async fn undecodable_stdin_fails_with_the_offset_and_sends_nothing() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let run = sandbox.run(&["--decode-stdin", "--encoding", "utf-8"], b"ok\xff");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("offset 2"), "{}", run.stderr);
}

#[tokio::test]
async fn channel_and_site_id_come_from_file_env_and_flags_in_that_order() {
    let conf = format!("{LOCAL_CONF}[kompira]\nsite_id = 7\n[event]\nchannel = /root/from_file\n");
    let sandbox = Sandbox::with_conf(&conf);
    let (run, msg) = send_and_receive(|| sandbox.run(&["k=v"], b"")).await;
    assert_eq!(run.code, 0, "{run:?}");
    let msg = msg.unwrap();
    assert_eq!(long_string(msg.header("channel")), "/root/from_file");
    assert_eq!(msg.header("site_id"), Some(&AMQPValue::ShortShortInt(7)));

    let (run, msg) =
        send_and_receive(|| sandbox.run(&["--channel", "/root/from_flag", "--site_id=300", "k=v"], b"")).await;
    assert_eq!(run.code, 0, "{run:?}");
    let msg = msg.unwrap();
    assert_eq!(long_string(msg.header("channel")), "/root/from_flag");
    assert_eq!(msg.header("site_id"), Some(&AMQPValue::LongInt(300)));
}

/// The site ids whose type matters: the common 1 (the reference's bytes), negative ones and
/// those where the reference's `b` (128–255) and `s` types read differently in py-amqp, the
/// library of the Kompira server, and in RabbitMQ and lapin. `I` reads alike in all of them.
#[tokio::test]
async fn negative_and_large_site_ids_arrive_as_signed_integers() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let cases: [(&[&str], AMQPValue); 6] = [
        (&["--site-id", "1"], AMQPValue::ShortShortInt(1)),
        (&["--site-id", "-1"], AMQPValue::LongInt(-1)),
        (&["--site-id=-1"], AMQPValue::LongInt(-1)),
        (&["--site-id", "200"], AMQPValue::LongInt(200)),
        (&["--site-id", "-40000"], AMQPValue::LongInt(-40_000)),
        (&["--site-id", "5000000000"], AMQPValue::LongLongInt(5_000_000_000)),
    ];
    for (flags, expected) in cases {
        let mut args = flags.to_vec();
        args.push("k=v");
        let (run, msg) = send_and_receive(|| sandbox.run(&args, b"")).await;
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        assert_eq!(msg.unwrap().header("site_id"), Some(&expected), "{args:?}");
    }
    let in_file = Sandbox::with_conf(&format!("{LOCAL_CONF}[kompira]\nsite_id = -1\n"));
    let (run, msg) = send_and_receive(|| in_file.run(&["k=v"], b"")).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(msg.unwrap().header("site_id"), Some(&AMQPValue::LongInt(-1)));
    assert!(in_file.log().contains(", site_id=-1, corr_id="), "{}", in_file.log());
}

/// A log monitor that greps for ERROR must stay quiet when nothing failed.
#[tokio::test]
async fn a_successful_send_and_a_connection_test_log_no_error() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    for _ in 0..2 {
        // Exit status 0 is the broker's confirm. The event is taken off io_queue only to leave
        // the queue clean: other test processes purge it too, so its arrival is not asserted.
        let (run, _) = send_and_receive(|| sandbox.run(&["quiet=yes"], b"")).await;
        assert_eq!(run.code, 0, "{run:?}");
    }
    assert_eq!(sandbox.run(&["--test-connection"], b"").code, 0);
    let log = sandbox.log();
    assert_eq!(log.matches("INFO: finished: sent message successfully").count(), 2, "{log}");
    let noisy: Vec<_> = log.lines().filter(|l| !l.contains("] INFO: ")).collect();
    assert!(noisy.is_empty(), "only INFO lines expected, got {noisy:#?}");
}

#[test]
fn a_refused_login_and_an_unreachable_broker_still_log_errors() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let run = sandbox.run(&["--password", "wrong", "x=1"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    let log = sandbox.log();
    assert!(log.contains("] ERROR: failed to connect: "), "{log}");
    assert!(log.contains("ACCESS_REFUSED"), "{log}");

    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let run = sandbox.run(&["--port", "1", "x=1"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(sandbox.log().contains("] ERROR: failed to connect: "), "{}", sandbox.log());
}

#[tokio::test]
async fn amqp_url_from_the_environment_is_used() {
    let sandbox = Sandbox::with_conf("[amqp-connection]\nserver = nowhere.invalid\nmax_retry = 0\n")
        .with_env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672");
    let (run, msg) = send_and_receive(|| sandbox.run(&["via=env"], b"")).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(msg.is_some());
}

#[tokio::test]
async fn remote_server_defaults_to_user_kompira_without_tls() {
    // 127.0.0.2 is loopback but not "local" by the reference's rule: user and password
    // default to kompira, and (as observed in sendevt 2.0.0) TLS stays off on port 5672.
    let sandbox = Sandbox::with_conf("[amqp-connection]\nserver = 127.0.0.2\nmax_retry = 0\n");
    let (run, msg) = send_and_receive(|| sandbox.run(&["remote=yes"], b"")).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(msg.unwrap().header("ssl"), Some(&AMQPValue::Void));
}

#[tokio::test]
async fn verified_tls_sends_with_the_tls_version_in_the_ssl_header() {
    // The server certificate names broker.kompira.invalid, not 127.0.0.1: the chain is
    // verified, the host name deliberately is not (as the official tool does).
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let (ca, cert, key) = (pki("ca.crt"), pki("client.crt"), pki("client.key"));
    let args = ["--ssl", "--ssl-verify", "--ssl-cacertfile", &ca, "--ssl-certfile", &cert, "--ssl-keyfile", &key];
    let mut with_event = args.to_vec();
    with_event.push("tls=yes");
    let (run, msg) = send_and_receive(|| sandbox.run(&with_event, b"")).await;
    assert_eq!(run.code, 0, "{run:?}");
    let version = long_string(msg.unwrap().header("ssl"));
    assert!(version == "TLSv1.3" || version == "TLSv1.2", "{version}");

    let mut test = args.to_vec();
    test.push("--test-connection");
    let run = sandbox.run(&test, b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("Connection OK: AMQPS(127.0.0.1:"), "{}", run.stdout);
    assert!(run.stdout.trim_end().ends_with(&format!("->127.0.0.1:5671,{version})")), "{}", run.stdout);
}

#[tokio::test]
async fn unverified_tls_still_encrypts() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let (run, msg) = send_and_receive(|| sandbox.run(&["--ssl", "--no-ssl-verify", "x=1"], b"")).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(long_string(msg.unwrap().header("ssl")).starts_with("TLSv1."));
}

#[test]
fn a_server_certificate_from_another_ca_is_refused_without_retry() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let (ca, cert, key) = (pki("rogue-ca.crt"), pki("client.crt"), pki("client.key"));
    let run = sandbox.run(
        &[
            "--ssl",
            "--ssl-verify",
            "--ssl-cacertfile",
            &ca,
            "--ssl-certfile",
            &cert,
            "--ssl-keyfile",
            &key,
            "--max-retry",
            "3",
            "--retry-interval",
            "1",
            "x=1",
        ],
        b"",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr.matches("Failed to connect:").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
}

#[test]
fn missing_certificate_files_fail_before_connecting() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let run = sandbox.run(&["--ssl", "--ssl-verify", "--ssl-cacertfile", "/nonexistent/ca.crt", "x=1"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.starts_with("Failed to setup amqp: cannot read CA file /nonexistent/ca.crt"), "{}", run.stderr);
}

#[test]
fn an_unreachable_broker_is_retried_as_configured_then_given_up() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let run = sandbox.run(&["--port", "1", "--max-retry", "2", "--retry-interval", "1", "x=1"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr.matches("Failed to connect:").count(), 3, "{}", run.stderr);
    let log = sandbox.log();
    assert_eq!(log.matches("WARNING: waiting 1 seconds for retry connection ...").count(), 2, "{log}");
    assert!(log.contains("ERROR: gave up retry connection"), "{log}");
    // Two pauses of one second separate the three attempts.
    assert!(run.elapsed >= Duration::from_secs(2), "{:?}", run.elapsed);
}

#[test]
fn zero_retry_interval_means_a_single_attempt() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let run = sandbox.run(&["--port", "1", "--max-retry", "5", "--retry-interval", "0", "x=1"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr.matches("Failed to connect:").count(), 1, "{}", run.stderr);
}

#[test]
fn a_wrong_password_fails_at_once() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let run = sandbox.run(&["--password", "not-the-password", "--max-retry", "3", "--retry-interval", "1", "x=1"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr.matches("Failed to connect:").count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("not-the-password"), "the password leaked: {}", run.stderr);
    assert!(!sandbox.log().contains("not-the-password"), "the password leaked into the log");
}

#[tokio::test]
async fn a_missing_io_queue_is_an_error_not_a_silent_drop() {
    let url = testkit::broker_url();
    let _guard = testkit::lock_io_queue().await;
    testkit::delete_queue(&url, testkit::IO_QUEUE).await.unwrap();
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let run = sandbox.run(&["x=1"], b"");
    testkit::declare_io_queue(&url).await.unwrap();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.starts_with("Failed to send event: "), "{}", run.stderr);
    assert!(run.stderr.contains("NOT_FOUND"), "{}", run.stderr);
}

#[test]
fn a_peer_that_never_speaks_amqp_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    // Accept and hold connections without ever answering.
    std::thread::spawn(move || {
        let _held: Vec<_> = listener.incoming().take(4).collect();
        std::thread::sleep(Duration::from_secs(30));
    });
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let run = sandbox.run(&["--port", &port, "--connect-timeout", "1", "x=1"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("within 1 s"), "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(20), "gave up only after {:?}", run.elapsed);
}

#[test]
fn test_connection_reports_both_socket_ends() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let run = sandbox.run(&["--test-connection"], b"");
    assert_eq!(run.code, 0, "{run:?}");
    let line = run.stdout.trim_end();
    assert!(line.starts_with("Connection OK: AMQP(127.0.0.1:"), "{line}");
    assert!(line.ends_with("->127.0.0.1:5672)"), "{line}");
}

#[tokio::test]
async fn a_missing_log_directory_warns_and_still_sends() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let conf = sandbox.path("kompira.conf");
    let logdir = sandbox.path("no-such-dir");
    let (run, msg) = send_and_receive(|| {
        sandbox.run_raw(&["-c", conf.to_str().unwrap(), "--logdir", logdir.to_str().unwrap(), "x=1"], b"")
    })
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(msg.is_some());
    assert_eq!(run.stderr.matches("WARNING:").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
}

#[test]
fn the_default_localhost_server_is_reached_over_loopback() {
    let sandbox = Sandbox::with_conf("[amqp-connection]\nmax_retry = 0\n");
    let run = sandbox.run(&["--test-connection"], b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.trim_end().ends_with("->127.0.0.1:5672)"), "{}", run.stdout);
}

fn sandbox_outbox(sandbox: &Sandbox) -> kompira_core::outbox::Outbox {
    // The sandbox's HOME is its directory, so the default per-user data directory is inside.
    let path = sandbox.path("home/.local/share/kompira/outbox.sqlite3");
    let limits = kompira_core::outbox::Limits { max_events: 100, max_bytes: 1 << 20 };
    kompira_core::outbox::Outbox::open(&path, limits).unwrap()
}

#[test]
fn queue_on_failure_keeps_an_unsendable_event_in_the_outbox_under_its_correlation_id() {
    let sandbox = Sandbox::with_conf(LOCAL_CONF);
    let without = sandbox.run(&["--port", "1", "host=web0"], b"");
    assert_eq!(without.code, 1, "without the flag nothing changes: {without:?}");

    let run = sandbox.run(&["--port", "1", "--queue-on-failure", "host=web1"], b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("Failed to connect:"), "{}", run.stderr);
    let outbox = sandbox_outbox(&sandbox);
    let entries = outbox.list(10).unwrap();
    assert_eq!(entries.len(), 1, "only the flagged event is queued: {entries:?}");
    let correlation_id = &entries[0].correlation_id;
    assert_uuid4(correlation_id);
    assert!(
        run.stdout.starts_with("Queued in the outbox ") && run.stdout.contains(correlation_id.as_str()),
        "{}",
        run.stdout
    );
    assert!(sandbox.log().contains(&format!("corr_id={correlation_id}")), "the log names the same id");
    let (_, envelope) = outbox.entry(entries[0].id).unwrap();
    assert_eq!(envelope.body, br#"{"host": "web1"}"#.to_vec());
    assert_eq!(envelope.content_type.as_deref(), Some("application/json"));
}

#[test]
fn queue_on_failure_still_fails_on_errors_a_retry_cannot_fix_and_on_a_full_outbox() {
    let sandbox = Sandbox::with_conf(&format!("{LOCAL_CONF}[outbox]\nmax_events = 1\n"));
    let refused = sandbox.run(&["--password", "wrong", "--queue-on-failure", "x=1"], b"");
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(sandbox_outbox(&sandbox).pending_count().unwrap(), 0);

    assert_eq!(sandbox.run(&["--port", "1", "--queue-on-failure", "x=2"], b"").code, 0);
    let full = sandbox.run(&["--port", "1", "--queue-on-failure", "x=3"], b"");
    assert_eq!(full.code, 1, "{full:?}");
    assert!(full.stderr.contains("Failed to queue the event: the outbox is full"), "{}", full.stderr);
    assert_eq!(sandbox_outbox(&sandbox).pending_count().unwrap(), 1);
}
