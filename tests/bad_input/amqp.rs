//! AMQP failures: peers that refuse, hang up, say nothing or speak something else (fake
//! servers on loopback), and the real RabbitMQ refusing a login, a TLS mismatch or a missing
//! `io_queue`. Every run has `--max-retry 0` and a 3-second connect limit, so a case ends
//! with the first failure.

use crate::fake::{self, Peer};
use crate::harness::{check, Expect, Run, Sandbox};
use crate::{case, Case};

/// The broker of the tests (scripts/setup.sh): plain on 5672, TLS on 5671.
const BROKER: &str = "127.0.0.1";

fn run_sendevt(args: &[&str], extra: &[String]) -> Run<'static> {
    let mut run = Run::new("kompira_sendevt", &["--max-retry", "0", "--connect-timeout", "3"]);
    for a in args {
        run = run.arg(a);
    }
    for a in extra {
        run = run.arg(a);
    }
    run.arg("x=1")
}

/// `kompira_sendevt` against a fake peer on loopback.
fn fake_peer(name: &str, peer: Peer, args: &'static [&'static str], expect: Expect) -> Case {
    let peer = std::sync::Mutex::new(Some(peer));
    case(name, move || {
        let peer = peer.lock().unwrap().take().ok_or("a case runs once")?;
        let port = fake::start(peer).to_string();
        let run = run_sendevt(args, &["--server".into(), "127.0.0.1".into(), "--port".into(), port]);
        check(&run.run(&Sandbox::new()), expect)
    })
}

/// `kompira_sendevt` against the real broker.
fn broker(name: &str, args: &'static [&'static str], expect: Expect) -> Case {
    case(name, move || {
        let run = run_sendevt(args, &["--server".into(), BROKER.into()]);
        check(&run.run(&Sandbox::new()), expect)
    })
}

fn pki(file: &str) -> String {
    let dir = std::env::var("KOMPIRA_TEST_PKI").unwrap_or_else(|_| "/var/lib/kompira-tray-test/pki".into());
    format!("{dir}/{file}")
}

pub fn cases() -> Vec<Case> {
    use Expect::Fails;
    const CONNECT: &str = "Failed to connect: ";
    vec![
        case("refused_port", || {
            let port = fake::closed_port().to_string();
            let run = run_sendevt(&["--server", "127.0.0.1", "--port", &port], &[]);
            check(&run.run(&Sandbox::new()), Fails(1, &[CONNECT, "refused"]))
        }),
        case("unresolvable_host", || {
            let run = run_sendevt(&["--server", "no-such-host.invalid"], &[]);
            check(&run.run(&Sandbox::new()), Fails(1, &[CONNECT, "no-such-host.invalid"]))
        }),
        fake_peer("accepts_and_says_nothing", Peer::Silent, &[], Fails(1, &[CONNECT, "within 3 s"])),
        fake_peer("hangs_up_at_once", Peer::HangUp, &[], Fails(1, &[CONNECT])),
        fake_peer(
            "speaks_http",
            Peer::Answer(fake::http("400 Bad Request", "text/plain", b"no")),
            &[],
            Fails(1, &[CONNECT]),
        ),
        fake_peer(
            "answers_another_amqp_version",
            Peer::Answer(b"AMQP\x00\x00\x09\x00".to_vec()),
            &[],
            Fails(1, &[CONNECT]),
        ),
        fake_peer("greets_with_garbage_frames", Peer::Greet(vec![0xCE; 4096]), &[], Fails(1, &[CONNECT])),
        fake_peer("tls_to_a_silent_peer", Peer::Silent, &["--ssl"], Fails(1, &[CONNECT, "within 3 s"])),
        fake_peer("tls_to_a_peer_that_hangs_up", Peer::HangUp, &["--ssl"], Fails(1, &[CONNECT])),
        broker(
            "wrong_password",
            &["--port", "5672", "--user", "guest", "--password", "wrong"],
            Fails(1, &[CONNECT, "ACCESS_REFUSED"]),
        ),
        broker(
            "unknown_user",
            &["--port", "5672", "--user", "nobody-here", "--password", "x"],
            Fails(1, &[CONNECT, "ACCESS_REFUSED"]),
        ),
        broker("tls_to_the_plain_port", &["--port", "5672", "--ssl"], Fails(1, &[CONNECT, "TLS"])),
        broker("plain_to_the_tls_port", &["--port", "5671", "--no-ssl"], Fails(1, &[CONNECT])),
        case("untrusted_server_certificate", || {
            let run = run_sendevt(
                &[
                    "--server",
                    BROKER,
                    "--port",
                    "5671",
                    "--ssl",
                    "--ssl-verify",
                    "--ssl-cacertfile",
                    &pki("rogue-ca.crt"),
                    "--ssl-certfile",
                    &pki("client.crt"),
                    "--ssl-keyfile",
                    &pki("client.key"),
                ],
                &[],
            );
            check(&run.run(&Sandbox::new()), Fails(1, &[CONNECT, "certificate"]))
        }),
        broker(
            "ca_file_not_pem",
            &["--port", "5671", "--ssl", "--ssl-verify", "--ssl-cacertfile", "/etc/hostname"],
            Fails(1, &["Failed to setup amqp: ", "/etc/hostname", "no PEM certificate"]),
        ),
        case("client_key_missing", || {
            let run = run_sendevt(
                &[
                    "--server",
                    BROKER,
                    "--port",
                    "5671",
                    "--ssl",
                    "--ssl-verify",
                    "--ssl-cacertfile",
                    &pki("ca.crt"),
                    "--ssl-certfile",
                    &pki("client.crt"),
                    "--ssl-keyfile",
                    "/nonexistent/client.key",
                ],
                &[],
            );
            check(&run.run(&Sandbox::new()), Fails(1, &["Failed to setup amqp: ", "/nonexistent/client.key"]))
        }),
        case("missing_io_queue", || {
            let url = kompira_testkit::broker_url();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(async {
                let _guard = kompira_testkit::lock_io_queue().await;
                kompira_testkit::delete_queue(&url, kompira_testkit::IO_QUEUE).await.map_err(|e| e.to_string())?;
                let outcome = run_sendevt(&["--server", BROKER, "--port", "5672"], &[]).run(&Sandbox::new());
                kompira_testkit::declare_io_queue(&url).await.map_err(|e| e.to_string())?;
                check(&outcome, Fails(1, &["Failed to send event: ", "NOT_FOUND", "io_queue"]))
            })
        }),
    ]
}
