//! Fault tests of the outbox and the watcher against the real RabbitMQ and the real binaries:
//! (a) the broker stopped and started twice during a 10,000-event burst, (b) the drainer's
//! host process (`kompira outbox drain --follow`) killed with SIGKILL mid-burst and restarted,
//! (c) the Kompira stand-in killed with SIGKILL and restarted while the watcher watches.
//!
//! Each prints what was sent, acked and received (distinct correlation ids, duplicates) and
//! fails if anything was lost. Duplicates are allowed only where a confirm can be lost (a
//! broker stop or a kill between publish and ack) and are reported. Loopback only; every
//! wait has a limit. Stops the broker, so it is not part of `cargo test --workspace` (other
//! suites share the broker): `scripts/test.sh fault`, or
//! `cargo test --workspace --test fault -- --test-threads=1` with the workspace built.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kompira_core::event::{Envelope, Event, EventBody, Stamp};
use kompira_core::outbox::{self, DrainOptions, DrainProgress, Limits, Outbox};
use kompira_core::rest::{Client, RestSettings};
use kompira_core::secret::Secret;
use kompira_core::watch::{Connection as WatchConnection, WatchConfig, Watcher};
use kompira_e2e::{burst_envelopes, connect_options, workspace_binary, RecordingSink};
use kompira_testkit as testkit;
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::{Connection, ConnectionProperties};
use tokio::sync::watch;

const BURST: usize = 10_000;
/// Limit on any one phase of a test; a test that needs longer has failed.
const PHASE_LIMIT: Duration = Duration::from_secs(90);
const LIMITS: Limits = Limits { max_events: 1_000_000, max_bytes: 1 << 30 };
const SIM_TOKEN: &str = "fault-token";
const ALERT: &str = "/system/channels/Alert";

/// A private durable queue per test, so no other suite's consumer can take our messages.
fn private_queue(name: &str) -> String {
    format!("kompira-fault-{name}-{}", std::process::id())
}

/// What a test counts; printed in one line and checked for losses.
#[derive(Debug, Default)]
struct Tally {
    sent: usize,
    acked: u64,
    received: usize,
    distinct: usize,
    duplicates: usize,
    missing: usize,
}

impl Tally {
    fn new(sent: &[String], acked: u64, received: &[String]) -> Self {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for id in received {
            *seen.entry(id.as_str()).or_default() += 1;
        }
        Self {
            sent: sent.len(),
            acked,
            received: received.len(),
            distinct: seen.len(),
            duplicates: seen.values().map(|n| n - 1).sum(),
            missing: sent.iter().filter(|id| !seen.contains_key(id.as_str())).count(),
        }
    }

    fn print(&self, test: &str, extra: &str) {
        println!(
            "FAULT {test}: sent={} acked={} received={} distinct={} duplicates={} lost={} {extra}",
            self.sent, self.acked, self.received, self.distinct, self.duplicates, self.missing
        );
    }
}

/// Takes every message off `queue` (acked after it is recorded) and returns the correlation ids.
async fn drain_queue(url: &str, queue: &str) -> Vec<String> {
    let connection = Connection::connect(url, ConnectionProperties::default()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let mut ids = Vec::new();
    let deadline = Instant::now() + PHASE_LIMIT;
    while let Some(message) = channel.basic_get(queue.into(), BasicGetOptions::default()).await.unwrap() {
        let id = message.delivery.properties.correlation_id().as_ref().map(|s| s.to_string()).unwrap_or_default();
        ids.push(id);
        message.delivery.ack(BasicAckOptions::default()).await.unwrap();
        assert!(Instant::now() < deadline, "reading {queue} took too long");
    }
    let _ = connection.close(200, "OK".into()).await;
    ids
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PHASE_LIMIT;
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts the broker's AMQP service again when dropped, so a failing test never leaves it down.
struct BrokerGuard;

impl BrokerGuard {
    fn stop(&self) {
        rabbitmqctl("stop_app");
    }
    fn start(&self) {
        rabbitmqctl("start_app");
    }
}

impl Drop for BrokerGuard {
    fn drop(&mut self) {
        rabbitmqctl("start_app");
    }
}

fn rabbitmqctl(command: &str) {
    let status = Command::new("rabbitmqctl")
        .args(["-q", command])
        .stdout(Stdio::null())
        .status()
        .expect("rabbitmqctl runs (scripts/setup.sh installs RabbitMQ)");
    assert!(status.success(), "rabbitmqctl {command} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_stopped_twice_mid_burst_loses_no_event() {
    let url = testkit::broker_url();
    let queue = private_queue("broker");
    testkit::declare_queue(&url, &queue).await.unwrap();
    testkit::purge(&url, &queue).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite3");
    let store = Arc::new(Outbox::open(&path, LIMITS).unwrap());

    let mut options = DrainOptions::new(connect_options(&url));
    options.queue = queue.clone();
    options.follow = true;
    options.reconnect.cap = Duration::from_secs(2);
    let (stop_drainer, stop) = watch::channel(false);
    let unreachable = Arc::new(AtomicUsize::new(0));
    let connected = Arc::new(AtomicUsize::new(0));
    let drainer = {
        let (store, unreachable, connected) = (store.clone(), unreachable.clone(), connected.clone());
        tokio::spawn(async move {
            outbox::drain(store, &options, stop, move |progress| match progress {
                DrainProgress::Unreachable { .. } => {
                    unreachable.fetch_add(1, Ordering::Relaxed);
                }
                DrainProgress::Connected(_) => {
                    connected.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            })
            .await
        })
    };

    // The burst arrives over ten seconds (250 events every 250 ms), so both stops fall
    // inside it; events queued while the broker is down wait in the outbox.
    let envelopes = burst_envelopes(BURST);
    let sent: Vec<String> = envelopes.iter().map(|e| e.stamp.correlation_id.clone()).collect();
    let producer = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            let store = Outbox::open(&path, LIMITS).unwrap();
            for chunk in envelopes.chunks(250) {
                for envelope in chunk {
                    store.enqueue(envelope).unwrap();
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let broker = BrokerGuard;
    let mut waiting_at_stops = Vec::new();
    let mut burst_running_at_stops = Vec::new();
    for stop_index in 0..2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // Each stop must meet a connected drainer (connected once more than there were
        // stops), so the two stops are two outages, not one long one.
        let connections = connected.clone();
        wait_until("the drainer to connect", move || connections.load(Ordering::Relaxed) > stop_index).await;
        waiting_at_stops.push(store.pending_count().unwrap());
        burst_running_at_stops.push(!producer.is_finished());
        tokio::task::block_in_place(|| broker.stop());
        tokio::time::sleep(Duration::from_secs(1)).await;
        tokio::task::block_in_place(|| broker.start());
    }
    producer.await.unwrap();
    let store_for_wait = store.clone();
    wait_until("the outbox to empty", move || store_for_wait.pending_count().unwrap() == 0).await;
    stop_drainer.send(true).unwrap();
    let report = tokio::time::timeout(PHASE_LIMIT, drainer).await.unwrap().unwrap().unwrap();
    drop(broker);

    let received = drain_queue(&url, &queue).await;
    testkit::delete_queue(&url, &queue).await.unwrap();
    let tally = Tally::new(&sent, report.acked, &received);
    let interruptions = unreachable.load(Ordering::Relaxed);
    tally.print(
        "broker-stop-start-x2",
        &format!(
            "connections={} unreachable_reports={interruptions} waiting_at_stops={waiting_at_stops:?}",
            report.connections
        ),
    );
    assert_eq!(tally.missing, 0, "events lost: {tally:?}");
    assert_eq!(report.acked, BURST as u64, "each row acked and deleted once");
    assert!(interruptions >= 2, "the drainer saw the broker go away at least twice: {report:?}");
    assert!(report.connections >= 2, "it reconnected: {report:?}");
    assert_eq!(burst_running_at_stops, [true, true], "both stops fell inside the burst");
    // A lost confirm can resend at most the windows in flight when a stop broke the link.
    assert!(tally.duplicates <= 2 * outbox::WINDOWS_IN_FLIGHT * outbox::DEFAULT_WINDOW, "{tally:?}");
}

/// `kompira -c <conf> outbox drain --follow` publishing to `queue`, its output in `log`.
fn spawn_drain_host(conf: &Path, queue: &str, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    Command::new(workspace_binary("kompira"))
        .args(["-c", conf.to_str().unwrap(), "outbox", "drain", "--follow", "--queue", queue])
        .env_remove("AMQP_URL")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("kompira runs")
}

fn sigkill(child: &mut Child) {
    // Child::kill sends SIGKILL on Unix: no destructor, no chance to release claims.
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drainer_killed_mid_burst_resumes_from_the_outbox_after_restart() {
    let url = testkit::broker_url();
    let queue = private_queue("kill");
    testkit::declare_queue(&url, &queue).await.unwrap();
    testkit::purge(&url, &queue).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite3");
    let conf = dir.path().join("kompira.conf");
    let options = connect_options(&url);
    std::fs::write(
        &conf,
        format!(
            "[amqp-connection]\nserver = {}\nport = {}\nuser = {}\npassword = {}\nconnect_timeout = 2\n\n[outbox]\npath = {}\n",
            options.server,
            options.port,
            options.user,
            options.password.expose(),
            path.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("drain.log");
    let store = Outbox::open(&path, LIMITS).unwrap();

    // The burst is queued in steps while the host drains, so there is always work in flight.
    let envelopes = burst_envelopes(BURST);
    let sent: Vec<String> = envelopes.iter().map(|e| e.stamp.correlation_id.clone()).collect();
    let mut host = spawn_drain_host(&conf, &queue, &log);
    let mut kills = Vec::new();
    for (step, chunk) in envelopes.chunks(BURST / 4).enumerate() {
        for envelope in chunk {
            store.enqueue(envelope).unwrap();
        }
        if step < 3 {
            // Let it get going on this step, then kill it while rows are waiting.
            let before = store.pending_count().unwrap();
            wait_until("the drain host to send", || store.pending_count().unwrap() < before).await;
            let waiting = store.pending_count().unwrap();
            sigkill(&mut host);
            kills.push(waiting);
            host = spawn_drain_host(&conf, &queue, &log);
        }
    }
    wait_until("the outbox to empty", || store.pending_count().unwrap() == 0).await;
    sigkill(&mut host);

    let received = drain_queue(&url, &queue).await;
    testkit::delete_queue(&url, &queue).await.unwrap();
    let acked = BURST as u64 - store.pending_count().unwrap();
    let tally = Tally::new(&sent, acked, &received);
    tally.print("drainer-kill-9-x3", &format!("waiting_at_kills={kills:?}"));
    let host_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(tally.missing, 0, "events lost: {tally:?}\n{host_log}");
    assert!(kills.iter().all(|n| *n > 0), "each kill fell inside the burst: {kills:?}");
    // A kill between publish and ack resends at most the windows in flight.
    assert!(tally.duplicates <= kills.len() * outbox::WINDOWS_IN_FLIGHT * outbox::DEFAULT_WINDOW, "{tally:?}");
}

/// The stand-in as a separate process, killable with SIGKILL.
struct SimProcess {
    child: Child,
    base_url: String,
}

impl SimProcess {
    async fn start(port: u16, queue: &str) -> Self {
        let child = Command::new(workspace_binary("kompira-sim"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--token",
                SIM_TOKEN,
                "--amqp-url",
                &testkit::broker_url(),
            ])
            .args(["--io-queue", queue])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("kompira-sim runs");
        let sim = Self { child, base_url: format!("http://127.0.0.1:{port}") };
        let stats_url = format!("{}/_sim/stats", sim.base_url);
        let deadline = Instant::now() + PHASE_LIMIT;
        loop {
            if let Ok(stats) = sim_stats(&stats_url).await {
                if stats["amqp_connected"] == true {
                    return sim;
                }
            }
            assert!(Instant::now() < deadline, "the stand-in did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn waiting_in(&self, channel: &str) -> u64 {
        let stats = sim_stats(&format!("{}/_sim/stats", self.base_url)).await.unwrap();
        stats["messages_per_channel"][channel].as_u64().unwrap_or(0)
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn sim_stats(url: &str) -> Result<serde_json::Value, String> {
    // reqwest is built without a TLS provider of its own; plain HTTP still wants one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().map_err(|e| e.to_string())?;
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    response.json().await.map_err(|e| e.to_string())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn numbered(n: usize) -> Envelope {
    let event = Event { body: EventBody::Fields(vec![("n".into(), n.to_string())]), channel: ALERT.into(), site_id: 1 };
    Envelope::new(&event, Stamp::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_loses_no_alert_when_the_stand_in_is_killed_and_restarted() {
    const PER_ROUND: usize = 50;
    const ROUNDS: usize = 3;
    let url = testkit::broker_url();
    // The stand-in consumes a private queue: other suites' stand-ins on this broker consume
    // io_queue and would take our events.
    let queue = private_queue("watch");
    testkit::declare_queue(&url, &queue).await.unwrap();
    testkit::purge(&url, &queue).await.unwrap();
    let port = free_port();
    let mut sim = SimProcess::start(port, &queue).await;

    let client = Arc::new(
        Client::new(&RestSettings {
            url: sim.base_url.clone(),
            token: Secret::new(SIM_TOKEN),
            ca_file: None,
            insecure: false,
            timeout: Duration::from_secs(5),
        })
        .unwrap(),
    );
    let mut config = WatchConfig::new(vec![ALERT.into()]);
    config.long_poll = Duration::from_secs(2);
    config.backoff.initial = Duration::from_millis(100);
    config.backoff.cap = Duration::from_millis(500);
    let sink = RecordingSink::shared();
    let watcher = Watcher::spawn(client, sink.clone(), config);
    let mut state = watcher.state();

    // Events go through the outbox to io_queue, as the app sends them.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Outbox::open(&dir.path().join("outbox.sqlite3"), LIMITS).unwrap());
    let mut options = DrainOptions::new(connect_options(&url));
    options.queue = queue.clone();
    let mut sent = 0;
    let mut kills = 0;
    for round in 0..ROUNDS {
        for _ in 0..PER_ROUND {
            store.enqueue(&numbered(sent)).unwrap();
            sent += 1;
        }
        let (_keep, stop) = watch::channel(false);
        outbox::drain(store.clone(), &options, stop, |_| {}).await.unwrap();
        if round == ROUNDS - 1 {
            break;
        }
        // The stand-in keeps channel messages in memory (the real server keeps them in its
        // database), so it is killed once its channel is empty: every alert is then either
        // with the watcher or still in io_queue, and none may go missing.
        let arrived = sink.wait_for(sent, PHASE_LIMIT).await.len();
        assert_eq!(arrived, sent, "alerts before kill {kills}");
        assert_eq!(sim.waiting_in(ALERT).await, 0);
        sigkill(&mut sim.child);
        kills += 1;
        tokio::time::timeout(
            PHASE_LIMIT,
            state.wait_for(|s| matches!(s.connection, WatchConnection::Reconnecting { .. })),
        )
        .await
        .expect("the watcher noticed the stand-in is gone")
        .unwrap();
        // Sent while the stand-in is dead: they wait in io_queue.
        for _ in 0..PER_ROUND {
            store.enqueue(&numbered(sent)).unwrap();
            sent += 1;
        }
        let (_keep, stop) = watch::channel(false);
        outbox::drain(store.clone(), &options, stop, |_| {}).await.unwrap();
        sim = SimProcess::start(port, &queue).await;
    }
    let alerts = sink.wait_for(sent, PHASE_LIMIT).await;
    watcher.stop().await;
    drop(sim);
    testkit::delete_queue(&url, &queue).await.unwrap();

    let bodies: Vec<String> = alerts.iter().map(|(a, _, _)| a.body.clone()).collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for body in &bodies {
        *seen.entry(body.as_str()).or_default() += 1;
    }
    let missing: Vec<usize> = (0..sent).filter(|n| !seen.contains_key(format!("n: {n}").as_str())).collect();
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    println!(
        "FAULT stand-in-kill-9-x{kills}: sent={sent} acked={sent} received={} distinct={} duplicates={duplicates} lost={}",
        bodies.len(),
        seen.len(),
        missing.len()
    );
    assert!(missing.is_empty(), "alerts lost: {missing:?}");
    assert_eq!(duplicates, 0, "the watcher showed an alert twice: {bodies:?}");
    assert_eq!(kills, ROUNDS - 1);
}
