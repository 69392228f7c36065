//! Alert latency, publish → sink: an event published to `io_queue` (as `kompira_sendevt` builds
//! it) travels through RabbitMQ, the Kompira stand-in's channel and the watcher's `.recv` long
//! poll to a sink. For comparison, in the same run: publish → a plain AMQP consumer on a
//! private queue (the broker's own share of the latency).
//!
//! `cargo run --release -p kompira-e2e --bin alert-latency -- [COUNT]` (default 200), with the
//! broker from scripts/setup.sh running. Prints percentiles and PASS/FAIL against the targets
//! (p50 ≤ 20 ms, p99 ≤ 100 ms). Alerts are sent one at a time, so this is latency, not queueing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kompira_core::event::message::{properties, Stamp};
use kompira_core::event::{Event, EventBody, IO_QUEUE};
use kompira_core::rest::{Client, RestSettings};
use kompira_core::secret::Secret;
use kompira_core::watch::{AlertSink, Decision, Notification, WatchConfig, Watcher};
use kompira_sim::{Definitions, SimConfig};
use kompira_testkit as testkit;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use tokio::sync::mpsc;

const TOKEN: &str = "bench-token";
const CHANNEL: &str = "/system/channels/Alert";
const PEER_QUEUE: &str = "kompira-bench-latency";
const GAP: Duration = Duration::from_millis(5);
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(10);

struct ArrivalSink(mpsc::UnboundedSender<Instant>);

impl AlertSink for ArrivalSink {
    fn alert(&self, _alert: &Notification, _decision: Decision) {
        let _ = self.0.send(Instant::now());
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(200);
    let url = testkit::broker_url();
    testkit::declare_io_queue(&url).await.expect("broker reachable (run scripts/setup.sh)");
    testkit::purge(&url, testkit::IO_QUEUE).await.unwrap();

    let connection = Connection::connect(&url, ConnectionProperties::default()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel.confirm_select(ConfirmSelectOptions::default()).await.unwrap();

    let peer = measure_peer(&connection, &channel, count).await;
    let pipeline = measure_pipeline(&url, &channel, count).await;
    let _ = connection.close(200, "OK".into()).await;

    println!("alert latency, {count} alerts one at a time, {GAP:?} apart");
    println!("{:<34}{:>9}{:>9}{:>9}{:>9}{:>9}", "", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms");
    print_row("publish → AMQP consumer (peer)", &peer);
    print_row("publish → stand-in → watcher → sink", &pipeline);
    let (p50, p99) = (percentile(&pipeline, 50.0), percentile(&pipeline, 99.0));
    println!(
        "ratio pipeline/peer: p50 {:.1}x, p99 {:.1}x",
        p50 / percentile(&peer, 50.0),
        p99 / percentile(&peer, 99.0)
    );
    println!("target p50 <= 20 ms: {} ({p50:.2} ms)", verdict(p50 <= 20.0));
    println!("target p99 <= 100 ms: {} ({p99:.2} ms)", verdict(p99 <= 100.0));
}

async fn measure_peer(connection: &Connection, publisher: &lapin::Channel, count: usize) -> Vec<f64> {
    let consumer_channel = connection.create_channel().await.unwrap();
    let options = QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() };
    consumer_channel.queue_declare(PEER_QUEUE.into(), options, FieldTable::default()).await.unwrap();
    let mut consumer = consumer_channel
        .basic_consume(PEER_QUEUE.into(), "bench".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .unwrap();
    let mut latencies = Vec::with_capacity(count);
    for seq in 0..count {
        let body = format!("{{\"seq\": \"{seq}\"}}");
        let started = Instant::now();
        publisher
            .basic_publish(
                "".into(),
                PEER_QUEUE.into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default(),
            )
            .await
            .unwrap();
        let delivery =
            tokio::time::timeout(ARRIVAL_TIMEOUT, next_delivery(&mut consumer)).await.expect("peer delivery");
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        delivery.ack(BasicAckOptions::default()).await.unwrap();
        tokio::time::sleep(GAP).await;
    }
    latencies
}

async fn next_delivery(consumer: &mut lapin::Consumer) -> lapin::message::Delivery {
    match consumer.next().await {
        Some(Ok(delivery)) => delivery,
        other => panic!("consumer ended: {other:?}"),
    }
}

async fn measure_pipeline(url: &str, publisher: &lapin::Channel, count: usize) -> Vec<f64> {
    let sim = kompira_sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.into(),
        amqp_url: Some(url.to_owned()),
        definitions: Definitions::builtin(),
        tls: None,
    })
    .await
    .expect("the stand-in starts");
    let client = Client::new(&RestSettings {
        url: sim.base_url.clone(),
        token: Secret::new(TOKEN),
        ca_file: None,
        insecure: false,
        timeout: Duration::from_secs(10),
    })
    .unwrap();
    let (arrivals, mut arrived) = mpsc::unbounded_channel();
    let watcher =
        Watcher::spawn(Arc::new(client), Arc::new(ArrivalSink(arrivals)), WatchConfig::new(vec![CHANNEL.into()]));
    // Let the first long poll reach the server.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut latencies = Vec::with_capacity(count);
    for seq in 0..count {
        let event = Event {
            body: EventBody::Fields(vec![("seq".into(), seq.to_string()), ("severity".into(), "3".into())]),
            channel: CHANNEL.into(),
            site_id: 1,
        };
        let stamp = Stamp::now();
        let started = Instant::now();
        publisher
            .basic_publish(
                "".into(),
                IO_QUEUE.into(),
                BasicPublishOptions::default(),
                &event.body.to_wire(),
                properties(&event, &stamp, None),
            )
            .await
            .unwrap();
        let arrival = tokio::time::timeout(ARRIVAL_TIMEOUT, arrived.recv())
            .await
            .unwrap_or_else(|_| panic!("alert {seq} did not arrive within {ARRIVAL_TIMEOUT:?}"))
            .expect("watcher running");
        latencies.push(arrival.duration_since(started).as_secs_f64() * 1000.0);
        tokio::time::sleep(GAP).await;
    }
    watcher.stop().await;
    sim.shutdown().await;
    latencies
}

fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn print_row(name: &str, samples: &[f64]) {
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let max = samples.iter().copied().fold(0.0, f64::max);
    println!(
        "{name:<34}{:>9.2}{:>9.2}{:>9.2}{max:>9.2}{mean:>9.2}",
        percentile(samples, 50.0),
        percentile(samples, 90.0),
        percentile(samples, 99.0)
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}
