//! The io_queue consumer against the real test broker (scripts/setup.sh).
mod common;

use std::time::Duration;

use common::{post, sim};
use kompira_testkit::{broker_url, declare_io_queue, lock_io_queue, purge, IO_QUEUE};
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use reqwest::StatusCode;
use serde_json::json;

async fn publish(channel: Option<&str>, body: &[u8], content_type: Option<&str>) {
    let conn = Connection::connect(&broker_url(), ConnectionProperties::default()).await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    let mut headers = FieldTable::default();
    if let Some(c) = channel {
        headers.insert("channel".into(), AMQPValue::LongString(LongString::from(c)));
    }
    let mut props = BasicProperties::default().with_delivery_mode(2).with_headers(headers);
    if let Some(t) = content_type {
        props = props.with_content_type(t.into());
    }
    ch.basic_publish("".into(), IO_QUEUE.into(), BasicPublishOptions::default(), body, props)
        .await
        .unwrap()
        .await
        .unwrap();
    let _ = conn.close(200, "OK".into()).await;
}

#[tokio::test]
async fn events_land_in_their_channel() {
    let _lock = lock_io_queue().await;
    let url = broker_url();
    declare_io_queue(&url).await.unwrap();
    purge(&url, IO_QUEUE).await.unwrap();
    let s = sim(Some(url.clone())).await;
    assert!(s.stats().amqp_connected);

    publish(Some("/system/channels/Alert"), br#"{"status": "PROBLEM", "severity": 4}"#, Some("application/json")).await;
    let (st, v) = post(&s, "/system/channels/Alert.recv", json!({"timeout": 5})).await;
    assert_eq!((st, v), (StatusCode::OK, json!({"status": "PROBLEM", "severity": 4})));

    publish(Some("/root/channels/Desktop"), b"disk full on web1", None).await;
    let (_, v) = post(&s, "/root/channels/Desktop.recv", json!({"timeout": 5})).await;
    assert_eq!(v, json!("disk full on web1"));

    // JSON only when declared: a raw body that looks like JSON stays text, as on the server.
    publish(Some("/root/channels/Desktop"), b"[1, 2]", None).await;
    let (_, v) = post(&s, "/root/channels/Desktop.recv", json!({"timeout": 5})).await;
    assert_eq!(v, json!("[1, 2]"));

    publish(Some("/no/such/channel"), b"{}", Some("application/json")).await;
    publish(None, b"{}", Some("application/json")).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let stats = s.stats();
        let dropped: u64 = stats.events_dropped.values().sum();
        if dropped == 2 {
            assert_eq!(stats.events_dropped["unknown channel: /no/such/channel"], 1);
            assert_eq!(stats.events_dropped["no channel header"], 1);
            assert_eq!(stats.events_consumed, 3);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "drops not counted: {stats:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.shutdown().await;

    // After shutdown the sim no longer takes io_queue messages.
    publish(Some("/system/channels/Alert"), b"{}", None).await;
    let left = kompira_testkit::receive_one(&url, IO_QUEUE, Duration::from_secs(2)).await.unwrap();
    assert!(left.is_some(), "the stopped sim must not consume");
}

#[tokio::test]
async fn dead_broker_does_not_stop_http() {
    let s = sim(Some("amqp://guest:guest@127.0.0.1:1/%2f".to_string())).await;
    assert!(!s.stats().amqp_connected);
    let (st, _) = common::get(&s, "/root").await;
    assert_eq!(st, StatusCode::OK);
    s.shutdown().await;
}
