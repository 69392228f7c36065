//! Burst throughput of the outbox: 10,000 events queued one by one (each its own committed
//! transaction, as the app and `kompira_sendevt --queue-on-failure` queue them) while a drainer
//! sends them to RabbitMQ with publisher confirms, until the broker has acked every one and the
//! outbox is empty. For comparison, in the same run, on the same broker and queue: a plain
//! `lapin` loop publishing the same 10,000 bodies and properties with confirms, in windows of
//! the same size (the best a sender that never touches a disk of its own can do with the same
//! pipelining), and a second one with all 10,000 in flight at once.
//!
//! `cargo run --release -p kompira-e2e --bin outbox-burst -- [COUNT] [WINDOW]` (defaults 10000
//! and the engine's window), with the broker from scripts/setup.sh running. Prints events/s and
//! PASS/FAIL against the targets (≥ 5,000 events/s and ≥ 70 % of the windowed raw loop).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kompira_core::event::Envelope;
use kompira_core::outbox::{self, DrainOptions, Limits, Outbox};
use kompira_e2e::{burst_envelopes, connect_options};
use kompira_testkit as testkit;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Confirmation, Connection, ConnectionProperties};
use tokio::sync::watch;

const QUEUE: &str = "kompira-bench-outbox";
const TARGET_EVENTS_PER_SEC: f64 = 5_000.0;
const TARGET_RATIO: f64 = 0.70;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let window: usize = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(outbox::DEFAULT_WINDOW);
    let url = testkit::broker_url();
    testkit::declare_queue(&url, QUEUE).await.expect("broker reachable (run scripts/setup.sh)");
    testkit::purge(&url, QUEUE).await.unwrap();
    let envelopes = burst_envelopes(count);

    let raw_windowed = raw_publish(&url, &envelopes, window).await;
    assert_eq!(queued(&url).await, count as u32, "raw windowed: every message in the queue");
    testkit::purge(&url, QUEUE).await.unwrap();
    let raw_all = raw_publish(&url, &envelopes, count).await;
    assert_eq!(queued(&url).await, count as u32, "raw all in flight: every message in the queue");
    testkit::purge(&url, QUEUE).await.unwrap();
    let enqueue_alone = enqueue_without_drainer(&envelopes);
    let (through_outbox, enqueue_only) = outbox_burst(&url, &envelopes, window).await;
    assert_eq!(queued(&url).await, count as u32, "outbox: every message in the queue");
    testkit::purge(&url, QUEUE).await.unwrap();

    let rate = |elapsed: Duration| count as f64 / elapsed.as_secs_f64();
    println!("outbox burst: {count} events, window {window}, RabbitMQ on loopback, durable queue, persistent messages");
    println!("{:<52}{:>10}{:>12}", "", "seconds", "events/s");
    let row = |name: &str, elapsed: Duration| println!("{name:<52}{:>10.3}{:>12.0}", elapsed.as_secs_f64(), rate(elapsed));
    row("raw lapin, confirms, windows of the same size", raw_windowed);
    row("raw lapin, confirms, all in flight", raw_all);
    row("outbox: enqueue, no drainer (one txn each)", enqueue_alone);
    row("outbox: enqueue while draining (one txn each)", enqueue_only);
    row("outbox: enqueue + drain until all acked", through_outbox);
    let ratio = rate(through_outbox) / rate(raw_windowed);
    println!(
        "ratio to raw (same window): {:.0} %; to raw (all in flight): {:.0} %",
        ratio * 100.0,
        rate(through_outbox) / rate(raw_all) * 100.0
    );
    let pass = rate(through_outbox) >= TARGET_EVENTS_PER_SEC && ratio >= TARGET_RATIO;
    println!(
        "{}: ≥ {TARGET_EVENTS_PER_SEC:.0} events/s and ≥ {:.0} % of raw",
        if pass { "PASS" } else { "FAIL" },
        TARGET_RATIO * 100.0
    );
    if !pass {
        std::process::exit(1);
    }
}

/// Queues every envelope into a fresh outbox with nothing else touching it.
fn enqueue_without_drainer(envelopes: &[Envelope]) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let store = Outbox::open(&dir.path().join("outbox.sqlite3"), Limits { max_events: 1_000_000, max_bytes: 1 << 30 }).unwrap();
    let started = Instant::now();
    for envelope in envelopes {
        store.enqueue(envelope).unwrap();
    }
    started.elapsed()
}

async fn queued(url: &str) -> u32 {
    let connection = Connection::connect(url, ConnectionProperties::default()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let queue = channel
        .queue_declare(QUEUE.into(), QueueDeclareOptions { passive: true, ..Default::default() }, FieldTable::default())
        .await
        .unwrap();
    let _ = connection.close(200, "OK".into()).await;
    queue.message_count()
}

/// Publishes every envelope with confirms, `window` in flight at a time.
async fn raw_publish(url: &str, envelopes: &[Envelope], window: usize) -> Duration {
    let connection = Connection::connect(url, ConnectionProperties::default()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    let started = Instant::now();
    for chunk in envelopes.chunks(window) {
        let mut confirms = Vec::with_capacity(chunk.len());
        for envelope in chunk {
            let confirm = channel
                .basic_publish(
                    "".into(),
                    QUEUE.into(),
                    BasicPublishOptions { mandatory: true, ..Default::default() },
                    &envelope.body,
                    envelope.properties(None),
                )
                .await
                .unwrap();
            confirms.push(confirm);
        }
        for confirm in confirms {
            assert_eq!(confirm.await.unwrap(), Confirmation::Ack(None));
        }
    }
    let elapsed = started.elapsed();
    let _ = connection.close(200, "OK".into()).await;
    elapsed
}

/// Queues every envelope (a blocking thread, one committed transaction each) while a drainer
/// with its own handle on the file sends them; returns the time until the outbox is empty,
/// and the time the queueing alone took.
async fn outbox_burst(url: &str, envelopes: &[Envelope], window: usize) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite3");
    let limits = Limits { max_events: 1_000_000, max_bytes: 1 << 30 };
    let drain_store = Arc::new(Outbox::open(&path, limits).unwrap());
    let mut options = DrainOptions::new(connect_options(url));
    options.queue = QUEUE.into();
    options.window = window;
    options.follow = true;
    let (stop_sender, stop) = watch::channel(false);

    let started = Instant::now();
    let producer = {
        let envelopes = envelopes.to_vec();
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            let store = Outbox::open(&path, limits).unwrap();
            for envelope in &envelopes {
                store.enqueue(envelope).unwrap();
            }
            started.elapsed()
        })
    };
    let drainer = {
        let store = drain_store.clone();
        tokio::spawn(async move { outbox::drain(store, &options, stop, |_| {}).await })
    };
    let enqueue_only = producer.await.unwrap();
    while drain_store.pending_count().unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    stop_sender.send(true).unwrap();
    let report = drainer.await.unwrap().unwrap();
    assert_eq!(report.acked, envelopes.len() as u64, "every event acked exactly once by the drainer");
    (elapsed, enqueue_only)
}
