//! The agent's memory under a flood of maximal alerts: the real agent binary watches a channel
//! of the Kompira stand-in, which is sent COUNT alerts that exceed every cap the agent keeps an
//! alert to (65 fields of 1,200 three-byte characters, a 4,000-character detail; about 240 KB
//! each), 20 of them 1.9 MB (the most the stand-in's `.send` takes). Prints the agent's resident memory (VmRSS) before, after, and
//! its peak (VmHWM), and the history the agent kept. For comparison, in the same run: the same
//! alerts' raw size, which an agent that kept everything would hold.
//!
//! `cargo build --release --workspace && cargo run --release -p kompira-e2e --bin alert-memory -- [COUNT]`
//! (default 1000). Needs no broker: alerts go straight to the stand-in's channel.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kompira_core::rest::{Client, RestSettings};
use kompira_core::secret::Secret;
use kompira_e2e::workspace_binary;
use kompira_sim::Definitions;
use kompira_testkit::sim_with_conf;
use kompira_tray_ipc::wire::{self as ipc, Reply};
use kompira_tray_ipc::Call;
use serde_json::{json, Map, Value};

const TOKEN: &str = "bench-token";
const CHANNEL: &str = "/system/channels/Alert";
/// Alerts of [`HUGE_BYTES`] sent among the maximal ones.
const HUGE_ALERTS: usize = 20;
/// The largest message the stand-in takes in one `.send` (its HTTP body limit is 2 MB; a real
/// Kompira behind Django refuses bodies over 2.5 MB): bigger ones can reach a channel only from
/// AMQP, which the reading caps cover the same way.
const HUGE_BYTES: usize = 1_900_000;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let count: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
    // Quiet alerts (below min_severity) are kept in the history like shown ones, without popups.
    let stand_in = sim_with_conf(
        TOKEN,
        TOKEN,
        Definitions::builtin(),
        &format!("[notify]\nchannels = {CHANNEL}\nmin_severity = Disaster\n"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock").display().to_string();
    let agent = Killed(
        Command::new(workspace_binary("kompira-tray-agent"))
            .arg("--no-window")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("KOMPIRA_CONF", stand_in.conf())
            .env("KOMPIRA_TRAY_SOCKET", &socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the agent starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while ipc::call(&socket, &Call::Ping).await.is_err() {
        assert!(Instant::now() < deadline, "the agent did not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = agent.0.id();
    let idle = memory(pid);

    let client = Client::new(&RestSettings {
        url: stand_in.sim.base_url.clone(),
        token: Secret::new(TOKEN),
        ca_file: None,
        insecure: false,
        timeout: Duration::from_secs(60),
    })
    .unwrap();
    let mut raw_bytes = 0usize;
    let started = Instant::now();
    for n in 0..count {
        let message = if n % (count / HUGE_ALERTS).max(1) == 0 { huge(n) } else { maximal(n) };
        raw_bytes += message.to_string().len();
        client.send(CHANNEL, &message).await.expect("the stand-in takes the alert");
        // Let the watcher keep up, so the stand-in does not hold the whole flood at once.
        while n % 50 == 49 && client.channel_depth(CHANNEL).await.unwrap_or(0) > 20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    while client.channel_depth(CHANNEL).await.unwrap_or(1) > 0 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // the last .recv's alert into the history
    let sent_in = started.elapsed();
    let after = memory(pid);
    let kept = match ipc::call(&socket, &Call::ListAlerts { query: None }).await {
        Ok(Reply::Ok(Value::Array(rows))) => rows.len(),
        other => panic!("list_alerts: {other:?}"),
    };

    println!(
        "agent memory after {count} maximal alerts ({HUGE_ALERTS} of them {HUGE_BYTES} bytes), sent in {sent_in:.1?}"
    );
    println!("{:<44}{:>12}", "", "MiB");
    println!("{:<44}{:>12.1}", "agent VmRSS, idle (before)", mib(idle.rss));
    println!("{:<44}{:>12.1}", "agent VmRSS, after", mib(after.rss));
    println!("{:<44}{:>12.1}", "agent VmHWM (peak)", mib(after.peak));
    println!("{:<44}{:>12.1}", "the alerts as sent (peer: keep everything)", mib(raw_bytes as u64 / 1024));
    println!("alerts kept in the history: {kept} of {count}");
}

/// Past every cap: 65 fields (one more than kept) of 1,200 three-byte characters (four times
/// the 300 kept), a detail of 4,000 characters (four times the 1,000 kept).
fn maximal(n: usize) -> Value {
    let mut message = Map::new();
    message.insert("trigger_name".into(), json!(format!("maximal alert {n} {}", "障".repeat(200))));
    message.insert("hostname".into(), json!("h".repeat(200)));
    message.insert("detail".into(), json!("詳".repeat(4000)));
    message.insert("event_id".into(), json!(format!("bench-{n}")));
    for field in 0..65 {
        message.insert(format!("field_{field:02}"), json!(format!("{n}{}", "値".repeat(1200))));
    }
    Value::Object(message)
}

/// [`HUGE_BYTES`] in one field.
fn huge(n: usize) -> Value {
    json!({"trigger_name": format!("huge alert {n}"), "event_id": format!("bench-huge-{n}"),
           "detail": "x".repeat(HUGE_BYTES)})
}

struct Memory {
    rss: u64,
    peak: u64,
}

/// VmRSS and VmHWM of `pid`, in KiB.
fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the agent runs");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    Memory { rss: field("VmRSS:"), peak: field("VmHWM:") }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
