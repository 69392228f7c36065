//! `kompira.exe` under Wine against the stand-in (a native process on loopback, which Wine's
//! programs reach): job flows run and followed to DONE and ABORTED, channel send, recv and watch
//! over plain HTTP, and HTTPS with `[rest] ca_file`, or without it on the bundled roots (a
//! warning at most, then a refusal that names the certificate, never a refusal to start).

use kompira_sim::SimTls;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::stand_in::Sim;
use crate::wine::{wine, ConfigFiles, Run, Wine, INSTALL_DIR};

const KOMPIRA: &str = "kompira.exe";
const TOKEN: &str = "windows-run-token";
const ALERT: &str = "/system/channels/Alert";

/// The stand-in on a runtime of its own (the program under Wine runs synchronously beside it)
/// and the `C:\` kompira.conf that points at it.
struct StandIn {
    /// Kept running for the test's length.
    _sim: Sim,
    conf: String,
}

impl StandIn {
    fn start(wine: &Wine, tls: Option<SimTls>, more_conf: &str) -> StandIn {
        let sim = Sim::start(TOKEN, None, tls);
        let conf = format!(r"{INSTALL_DIR}\cli\kompira.conf");
        wine.write(&conf, &format!("[rest]\nurl = {}\ntoken = {TOKEN}\ntimeout = 10\n{more_conf}", sim.base_url()));
        StandIn { _sim: sim, conf }
    }

    fn kompira(&self, wine: &Wine, args: &[&str]) -> Run {
        let mut full = vec!["-c", self.conf.as_str()];
        full.extend_from_slice(args);
        wine.run(KOMPIRA, &full, &[], b"")
    }
}

#[test]
fn a_job_flow_is_followed_to_done_and_an_aborted_one_exits_1() {
    let Some(wine) = wine() else { return };
    let _files = ConfigFiles::new(wine);
    let stand_in = StandIn::start(wine, None, "");
    let run = stand_in.kompira(wine, &["jobflow", "run", "/root/restart_process", "-p", "host=web1", "--wait"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("/process/id_"), "{run:?}");
    assert!(run.stdout.contains("connecting to web1\n"), "{run:?}");
    let last = run.stdout.lines().last().expect("a last line");
    assert!(last.starts_with("DONE exit_status=0") && last.contains("restarted on web1"), "{run:?}");

    let run = stand_in.kompira(wine, &["jobflow", "run", "/root/failing_job", "--wait"]);
    assert_eq!(run.code, 1, "{run:?}");
    let last = run.stdout.lines().last().expect("a last line");
    assert!(last.starts_with("ABORTED") && last.contains("simulated failure: no route to host"), "{run:?}");
}

#[test]
fn channel_send_recv_and_watch_over_plain_http() {
    let Some(wine) = wine() else { return };
    let _files = ConfigFiles::new(wine);
    let stand_in = StandIn::start(wine, None, "");
    let channel = "/root/channels/Desktop";
    let send = stand_in.kompira(wine, &["channel", "send", channel, "host=web1", "msg=a=b"]);
    assert_eq!(send.code, 0, "{send:?}");
    assert!(!send.stderr.contains("certificates"), "plain http needs no certificate store: {}", send.stderr);
    let recv = stand_in.kompira(wine, &["channel", "recv", channel]);
    assert_eq!((recv.code, recv.stdout.as_str()), (0, "{\"host\":\"web1\",\"msg\":\"a=b\"}\n"), "{recv:?}");
    let recv = stand_in.kompira(wine, &["channel", "recv", channel, "--timeout", "1"]);
    assert_eq!(recv.code, 1, "{recv:?}");
    assert!(recv.stderr.contains("no message on /root/channels/Desktop within 1 s"), "{recv:?}");

    let alert = ["channel", "send", ALERT, "status=PROBLEM", "severity=4", "hostname=web1", "trigger_name=Disk full"];
    assert_eq!(stand_in.kompira(wine, &alert).code, 0);
    let watch = stand_in.kompira(wine, &["channel", "watch", ALERT, "--count", "1"]);
    assert_eq!(watch.code, 0, "{watch:?}");
    assert!(watch.stdout.lines().next().unwrap_or("").ends_with(" [High] High: Disk full on web1"), "{watch:?}");
}

#[test]
fn https_is_verified_with_ca_file_and_without_it_the_bundled_roots_refuse_the_private_ca() {
    let Some(wine) = wine() else { return };
    let _files = ConfigFiles::new(wine);
    let (ca_pem, server) = private_pki();
    let ca_file = format!(r"{INSTALL_DIR}\cli\ca.pem");
    wine.write(&ca_file, &ca_pem);

    let verified = StandIn::start(wine, Some(server.clone()), &format!("ca_file = {ca_file}\n"));
    let send = verified.kompira(wine, &["channel", "send", "/root/channels/Desktop", "over=https"]);
    assert_eq!(send.code, 0, "{send:?}");
    let recv = verified.kompira(wine, &["channel", "recv", "/root/channels/Desktop"]);
    assert_eq!((recv.code, recv.stdout.as_str()), (0, "{\"over\":\"https\"}\n"), "{recv:?}");
    drop(verified);

    let unverified = StandIn::start(wine, Some(server), "");
    let send = unverified.kompira(wine, &["channel", "send", "/root/channels/Desktop", "over=https"]);
    assert_eq!(send.code, 1, "a private CA without ca_file must not be trusted: {send:?}");
    assert!(!send.stderr.contains("cannot load the system's trusted certificates"), "{send:?}");
    assert!(send.stderr.contains("ca_file"), "the refusal names the setting: {send:?}");
    // Where Wine cannot read the system's store, that is a warning and the bundled roots answer.
    for line in send.stderr.lines().filter(|l| l.contains("system's trusted certificates")) {
        assert!(line.contains("WARN") && line.contains("Mozilla root set"), "{line}");
    }
}

/// A CA made for this run and a server certificate for 127.0.0.1 it signed.
fn private_pki() -> (String, SimTls) {
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "Kompira Tray windows-run CA");
    let ca = ca_params.self_signed(&ca_key).expect("the CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("a server key");
    let server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("server parameters");
    let server = server_params.signed_by(&server_key, &issuer).expect("the server certificate");
    (ca.pem(), SimTls { cert_pem: server.pem().into_bytes(), key_pem: server_key.serialize_pem().into_bytes() })
}
