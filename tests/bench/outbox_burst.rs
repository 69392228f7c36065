//! Burst throughput of the outbox: 10,000 events queued one by one (each its own committed
//! transaction, as the app and `kompira_sendevt --queue-on-failure` queue them) while a drainer
//! sends them to RabbitMQ with publisher confirms, until the broker has acked every one and the
//! outbox is empty. For comparison, in the same run, on the same broker and queue: a plain
//! `lapin` loop publishing the same 10,000 bodies and properties with confirms, in windows of
//! the same size (the best a sender that never touches a disk of its own can do with the same
//! pipelining), and a second one with all 10,000 in flight at once.
//!
//! `cargo run --release -p kompira-e2e --bin outbox-burst -- [COUNT] [WINDOW] [ROUNDS]`
//! (defaults 10000, the engine's window, 5), with the broker from scripts/setup.sh running.
//! Every part runs once per round, back to back; prints events/s per round and PASS/FAIL of the
//! medians against the targets (≥ 5,000 events/s and ≥ 70 % of the windowed raw loop). The
//! outbox is also measured queueing alone and draining alone, to show which side limits it.

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
const LIMITS: Limits = Limits { max_events: 1_000_000, max_bytes: 1 << 30 };

/// One round: every part once, back to back, so slow spells of the machine hit them alike.
struct Round {
    raw_windowed: Duration,
    raw_all: Duration,
    enqueue_alone: Duration,
    drain_alone: Duration,
    enqueue_while_draining: Duration,
    through_outbox: Duration,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let window: usize = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(outbox::DEFAULT_WINDOW);
    let rounds: usize = std::env::args().nth(3).and_then(|n| n.parse().ok()).unwrap_or(5).max(1);
    let url = testkit::broker_url();
    testkit::declare_queue(&url, QUEUE).await.expect("broker reachable (run scripts/setup.sh)");
    testkit::purge(&url, QUEUE).await.unwrap();
    let envelopes = burst_envelopes(count);

    let rate = |elapsed: Duration| count as f64 / elapsed.as_secs_f64();
    println!("outbox burst: {count} events, window {window}, {rounds} rounds; RabbitMQ on loopback, durable queue, persistent messages");
    println!("events/s per round: raw same window | raw all in flight | enqueue alone | drain alone | enqueue while draining | enqueue + drain until acked | ratio");
    let mut ratios = Vec::new();
    let mut through = Vec::new();
    for index in 1..=rounds {
        let round = one_round(&url, &envelopes, window).await;
        let ratio = rate(round.through_outbox) / rate(round.raw_windowed);
        println!(
            "round {index}: {:>6.0} | {:>6.0} | {:>6.0} | {:>6.0} | {:>6.0} | {:>6.0} | {:>3.0} %",
            rate(round.raw_windowed),
            rate(round.raw_all),
            rate(round.enqueue_alone),
            rate(round.drain_alone),
            rate(round.enqueue_while_draining),
            rate(round.through_outbox),
            ratio * 100.0
        );
        ratios.push(ratio);
        through.push(rate(round.through_outbox));
    }
    let (ratio, events_per_sec) = (median(&mut ratios), median(&mut through));
    println!("median: outbox {events_per_sec:.0} events/s, {:.0} % of raw lapin with the same window", ratio * 100.0);
    let pass = events_per_sec >= TARGET_EVENTS_PER_SEC && ratio >= TARGET_RATIO;
    println!(
        "{}: ≥ {TARGET_EVENTS_PER_SEC:.0} events/s and ≥ {:.0} % of raw (medians)",
        if pass { "PASS" } else { "FAIL" },
        TARGET_RATIO * 100.0
    );
    if !pass {
        std::process::exit(1);
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

async fn one_round(url: &str, envelopes: &[Envelope], window: usize) -> Round {
    let count = envelopes.len() as u32;
    let raw_windowed = raw_publish(url, envelopes, window).await;
    assert_eq!(queued(url).await, count, "raw windowed: every message in the queue");
    testkit::purge(url, QUEUE).await.unwrap();
    let raw_all = raw_publish(url, envelopes, envelopes.len()).await;
    assert_eq!(queued(url).await, count, "raw all in flight: every message in the queue");
    testkit::purge(url, QUEUE).await.unwrap();
    let (enqueue_alone, queued_file) = enqueue_without_drainer(envelopes);
    let drain_alone = drain_what_is_queued(url, &queued_file.path().join("outbox.sqlite3"), window).await;
    assert_eq!(queued(url).await, count, "outbox drained alone: every message in the queue");
    testkit::purge(url, QUEUE).await.unwrap();
    let (through_outbox, enqueue_while_draining) = outbox_burst(url, envelopes, window).await;
    assert_eq!(queued(url).await, count, "outbox: every message in the queue");
    testkit::purge(url, QUEUE).await.unwrap();
    Round { raw_windowed, raw_all, enqueue_alone, drain_alone, enqueue_while_draining, through_outbox }
}

/// Queues every envelope into a fresh outbox with nothing else touching it; returns the time
/// and the directory holding the file.
fn enqueue_without_drainer(envelopes: &[Envelope]) -> (Duration, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Outbox::open(&dir.path().join("outbox.sqlite3"), LIMITS).unwrap();
    let started = Instant::now();
    for envelope in envelopes {
        store.enqueue(envelope).unwrap();
    }
    (started.elapsed(), dir)
}

/// Sends what the outbox at `path` holds until it is empty, with nothing queueing meanwhile.
async fn drain_what_is_queued(url: &str, path: &std::path::Path, window: usize) -> Duration {
    let store = Arc::new(Outbox::open(path, LIMITS).unwrap());
    let queued = store.pending_count().unwrap();
    let mut options = DrainOptions::new(connect_options(url));
    options.queue = QUEUE.into();
    options.window = window;
    let (_keep_running, stop) = watch::channel(false);
    let started = Instant::now();
    let report = outbox::drain(store, &options, stop, |_| {}).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(report.acked, queued, "every queued event acked once");
    elapsed
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
    let limits = LIMITS;
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
