//! The server side of events: consume `io_queue` and append each message to
//! the channel named in its `channel` header, reconnecting when the broker goes away.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties};
use serde_json::Value;
use tokio::sync::{oneshot, watch};

use crate::state::Shared;

/// The queue the Kompira server consumes.
pub(crate) const IO_QUEUE: &str = "io_queue";
const PREFETCH: u16 = 4;
const CONNECT_TIMEOUT_SECS: u64 = 10;
const BACKOFF_START_MS: u64 = 500;
const BACKOFF_MAX_SECS: u64 = 30;
/// A connection that lived this long resets the backoff.
const HEALTHY_AFTER_SECS: u64 = 60;

/// Runs until shutdown. `ready` fires after the first subscription attempt,
/// successful or not, so `start` can return without hanging on a dead broker.
pub(crate) async fn run(
    url: String,
    queue: String,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(BACKOFF_START_MS);
    loop {
        let started = tokio::time::Instant::now();
        match subscribe(&url, &queue).await {
            Ok((conn, channel, consumer)) => {
                tracing::info!(queue = %queue, "kompira-sim consuming events");
                shared.lock().amqp_connected = true;
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                let stopped = consume(&shared, consumer, &mut shutdown).await;
                shared.lock().amqp_connected = false;
                // Closing returns unacknowledged prefetched messages to the queue.
                let _ = channel.close(200, "OK".into()).await;
                let _ = conn.close(200, "OK".into()).await;
                if stopped {
                    return;
                }
                if started.elapsed() >= Duration::from_secs(HEALTHY_AFTER_SECS) {
                    backoff = Duration::from_millis(BACKOFF_START_MS);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot consume io_queue");
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(BACKOFF_MAX_SECS));
    }
}

async fn subscribe(url: &str, queue: &str) -> Result<(Connection, Channel, lapin::Consumer), String> {
    let conn = tokio::time::timeout(
        Duration::from_secs(CONNECT_TIMEOUT_SECS),
        Connection::connect(url, ConnectionProperties::default()),
    )
    .await
    .map_err(|_| format!("no AMQP answer within {CONNECT_TIMEOUT_SECS} s"))?
    .map_err(|e| e.to_string())?;
    let setup = async {
        let channel = conn.create_channel().await?;
        // The Kompira server owns io_queue: declare it (durable) if absent.
        let durable = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
        channel.queue_declare(queue.into(), durable, FieldTable::default()).await?;
        channel.basic_qos(PREFETCH, BasicQosOptions::default()).await?;
        let tag = format!("kompira-sim-{}", uuid::Uuid::new_v4());
        let consumer = channel
            .basic_consume(queue.into(), tag.as_str().into(), BasicConsumeOptions::default(), FieldTable::default())
            .await?;
        Ok::<_, lapin::Error>((channel, consumer))
    };
    match setup.await {
        Ok((channel, consumer)) => Ok((conn, channel, consumer)),
        Err(e) => {
            let _ = conn.close(200, "OK".into()).await;
            Err(e.to_string())
        }
    }
}

/// Returns `true` on shutdown, `false` when the connection broke.
async fn consume(shared: &Shared, mut consumer: lapin::Consumer, shutdown: &mut watch::Receiver<bool>) -> bool {
    loop {
        if *shutdown.borrow() {
            return true;
        }
        let next = tokio::select! {
            d = consumer.next() => d,
            _ = shutdown.changed() => return true,
        };
        match next {
            Some(Ok(delivery)) => {
                deliver(shared, &delivery);
                if let Err(e) = delivery.ack(BasicAckOptions::default()).await {
                    tracing::warn!(error = %e, "cannot acknowledge an io_queue message");
                    return false;
                }
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "io_queue consumer failed; reconnecting");
                return false;
            }
            None => {
                tracing::warn!("io_queue consumer was cancelled; reconnecting");
                return false;
            }
        }
    }
}

fn deliver(shared: &Shared, d: &Delivery) {
    let channel = d.properties.headers().as_ref().and_then(|h| h.inner().get("channel")).and_then(|v| match v {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    });
    let Some(channel) = channel else {
        drop_event(shared, "no channel header".to_string());
        return;
    };
    let value = body_value(d);
    match shared.push_message(&channel, value) {
        Ok(()) => {
            shared.lock().events_consumed += 1;
            tracing::debug!(%channel, "event appended");
        }
        Err(reason) => drop_event(shared, reason),
    }
}

fn drop_event(shared: &Shared, reason: String) {
    tracing::warn!(%reason, "io_queue message dropped");
    *shared.lock().events_dropped.entry(reason).or_insert(0) += 1;
}

/// The message a body becomes, as on the server: JSON only when the event is declared
/// `application/json` (what `kompira_sendevt` does for KEY=VAL events); any other body, even
/// one that looks like JSON, is its text as a JSON string.
fn body_value(d: &Delivery) -> Value {
    let declared_json =
        d.properties.content_type().as_ref().is_some_and(|c| c.as_str().eq_ignore_ascii_case("application/json"));
    if declared_json {
        match serde_json::from_slice::<Value>(&d.data) {
            Ok(v) => return v,
            Err(e) => {
                tracing::warn!(error = %e, "body declared application/json does not parse; kept as text")
            }
        }
    }
    match std::str::from_utf8(&d.data) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => {
            tracing::warn!("event body is not UTF-8; invalid bytes replaced");
            Value::String(String::from_utf8_lossy(&d.data).into_owned())
        }
    }
}
