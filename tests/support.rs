//! Shared pieces of the end-to-end suites: locating the built binaries, a recording alert sink,
//! a recording desktop notification server ([`notify_recorder`]), and a private session bus.

pub mod notify_recorder;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kompira_core::watch::{AlertSink, Decision, Notification};

/// A child process killed when dropped, so a failing test leaves nothing running.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private D-Bus session bus (`dbus-daemon --session`), stopped when the first value is
/// dropped; the second is its address for `DBUS_SESSION_BUS_ADDRESS`.
pub fn private_session_bus() -> (Killed, String) {
    use std::io::BufRead;
    let mut bus = std::process::Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("dbus-daemon runs (scripts/setup.sh installs it)");
    let stdout = bus.stdout.take().expect("piped");
    let bus = Killed(bus);
    let mut address = String::new();
    std::io::BufReader::new(stdout).read_line(&mut address).expect("the bus prints its address");
    let address = address.trim().to_owned();
    assert!(!address.is_empty(), "the bus printed no address");
    (bus, address)
}

/// A binary of this workspace, built by `cargo build --workspace` (scripts/test.sh does that
/// first). Test binaries live in `target/<profile>/deps/`, the programs one level up.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("deps dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(path.exists(), "{} is not built: run `cargo build --workspace` (scripts/test.sh does)", path.display());
    path
}

/// Records every alert with the instant it arrived.
#[derive(Default)]
pub struct RecordingSink {
    alerts: Mutex<Vec<(Notification, Decision, Instant)>>,
}

impl AlertSink for RecordingSink {
    fn alert(&self, alert: &Notification, decision: Decision) {
        self.alerts.lock().unwrap().push((alert.clone(), decision, Instant::now()));
    }
}

impl RecordingSink {
    /// A new, shareable sink.
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Everything recorded so far.
    pub fn alerts(&self) -> Vec<(Notification, Decision, Instant)> {
        self.alerts.lock().unwrap().clone()
    }

    /// Waits until at least `count` alerts arrived, or `timeout` passed.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<(Notification, Decision, Instant)> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && self.alerts.lock().unwrap().len() < count {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.alerts()
    }
}

/// Engine connection options for the test broker's `amqp://user:pass@host:port` URL.
pub fn connect_options(url: &str) -> kompira_core::event::ConnectOptions {
    let uri: lapin::uri::AMQPUri = url.parse().expect("a valid AMQP URL");
    kompira_core::event::ConnectOptions {
        server: uri.authority.host.clone(),
        port: uri.authority.port,
        user: uri.authority.userinfo.username.clone(),
        password: kompira_core::secret::Secret::new(uri.authority.userinfo.password.clone()),
        tls: None,
        connect_timeout: Duration::from_secs(5),
        heartbeat_secs: 10,
        frame_max: kompira_core::event::ONE_SHOT_FRAME_MAX,
    }
}

/// `count` distinct events as the outbox keeps them: a Zabbix-like body numbered `n`.
pub fn burst_envelopes(count: usize) -> Vec<kompira_core::event::Envelope> {
    use kompira_core::event::{Envelope, Event, EventBody, Stamp};
    (0..count)
        .map(|n| {
            let event = Event {
                body: EventBody::Fields(vec![
                    ("n".into(), n.to_string()),
                    ("hostname".into(), format!("web{}", n % 50)),
                    ("severity".into(), "4".into()),
                    ("status".into(), "PROBLEM".into()),
                    ("trigger_name".into(), "Disk space is low".into()),
                ]),
                channel: "/system/channels/Alert".into(),
                site_id: 1,
            };
            Envelope::new(&event, Stamp::now())
        })
        .collect()
}
