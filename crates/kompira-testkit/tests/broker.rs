//! The testkit against the real local broker (start it with scripts/setup.sh).

use std::time::{Duration, Instant};

use kompira_testkit as tk;
use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use serde_json::json;

async fn publish(queue: &str, body: &[u8], props: BasicProperties) {
    let conn = Connection::connect(&tk::broker_url(), ConnectionProperties::default())
        .await
        .expect("connect to the test broker: run scripts/setup.sh first");
    let ch = conn.create_channel().await.unwrap();
    ch.basic_publish("".into(), queue.into(), BasicPublishOptions::default(), body, props)
        .await
        .unwrap()
        .await
        .unwrap();
    conn.close(200, "OK".into()).await.unwrap();
}

#[tokio::test]
async fn io_queue_round_trip_renders_types() {
    let url = tk::broker_url();
    let _lock = tk::lock_io_queue().await;
    tk::declare_io_queue(&url).await.unwrap();
    tk::purge(&url, tk::IO_QUEUE).await.unwrap();

    let mut headers = FieldTable::default();
    headers.insert("channel".into(), AMQPValue::LongString(LongString::from("/system/channels/Alert")));
    headers.insert("site_id".into(), AMQPValue::LongInt(1));
    headers.insert("timestamp".into(), AMQPValue::LongString(LongString::from("2026-11-22 08:07:42.909000")));
    headers.insert("ssl".into(), AMQPValue::Void);
    let props = BasicProperties::default()
        .with_delivery_mode(2)
        .with_correlation_id("0d9f7c52-3f43-4a5e-9d0f-2c1f6a1b7e10".into())
        .with_content_type("application/json".into())
        .with_content_encoding("utf-8".into())
        .with_timestamp(1_763_798_862)
        .with_headers(headers);
    let body = br#"{"hostname": "web1", "note": "\u65e5\u672c"}"#;
    publish(tk::IO_QUEUE, body, props).await;

    let got =
        tk::receive_one(&url, tk::IO_QUEUE, Duration::from_secs(10)).await.unwrap().expect("the message should arrive");
    assert_eq!(got.body, body);
    assert_eq!(got.routing_key, tk::IO_QUEUE);
    assert_eq!(got.exchange, "");
    assert_eq!(got.header("site_id"), Some(&AMQPValue::LongInt(1)));

    let j = got.to_json();
    assert_eq!(j["exchange"], "");
    assert_eq!(j["routing_key"], "io_queue");
    let p = &j["properties"];
    assert_eq!(p["delivery_mode"], 2);
    assert_eq!(p["correlation_id"], "0d9f7c52-3f43-4a5e-9d0f-2c1f6a1b7e10");
    assert_eq!(p["content_type"], "application/json");
    assert_eq!(p["content_encoding"], "utf-8");
    assert_eq!(p["timestamp"], 1_763_798_862u64);
    assert!(p.get("message_id").is_none(), "absent properties are left out");
    let h = &j["headers"];
    assert_eq!(h["channel"], json!({"type": "LongString", "value": "/system/channels/Alert"}));
    assert_eq!(h["site_id"], json!({"type": "LongInt", "value": 1}));
    assert_eq!(h["timestamp"], json!({"type": "LongString", "value": "2026-11-22 08:07:42.909000"}));
    assert_eq!(h["ssl"], json!({"type": "Void", "value": null}));
    assert_eq!(j["body_utf8"], std::str::from_utf8(body).unwrap());
    assert_eq!(j["body_hex"].as_str().unwrap().len(), body.len() * 2);

    // Nothing else was left behind.
    let none = tk::receive_one(&url, tk::IO_QUEUE, Duration::from_millis(200)).await.unwrap();
    assert!(none.is_none());
}

#[tokio::test]
async fn raw_body_larger_than_a_frame_arrives_whole() {
    let url = tk::broker_url();
    let _lock = tk::lock_io_queue().await;
    tk::declare_io_queue(&url).await.unwrap();
    tk::purge(&url, tk::IO_QUEUE).await.unwrap();
    let body: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8).collect();
    publish(tk::IO_QUEUE, &body, BasicProperties::default().with_delivery_mode(2)).await;
    let got =
        tk::receive_one(&url, tk::IO_QUEUE, Duration::from_secs(10)).await.unwrap().expect("the message should arrive");
    assert_eq!(got.body, body);
    let j = got.to_json();
    assert!(j["properties"].get("content_type").is_none());
    assert_eq!(j["headers"], serde_json::Value::Null);
    assert_eq!(j["body_utf8"], serde_json::Value::Null);
}

#[tokio::test]
async fn receive_times_out_with_none() {
    let url = tk::broker_url();
    let q = "kompira_testkit_selftest_empty";
    tk::declare_queue(&url, q).await.unwrap();
    tk::purge(&url, q).await.unwrap();
    let t0 = Instant::now();
    let got = tk::receive_one(&url, q, Duration::from_millis(500)).await.unwrap();
    let waited = t0.elapsed();
    assert!(got.is_none());
    assert!(waited >= Duration::from_millis(450), "returned too early: {waited:?}");
    assert!(waited < Duration::from_secs(5), "waited too long: {waited:?}");
    tk::delete_queue(&url, q).await.unwrap();
}

#[tokio::test]
async fn delete_then_declare_again() {
    let url = tk::broker_url();
    let q = "kompira_testkit_selftest_delete";
    tk::declare_queue(&url, q).await.unwrap();
    tk::declare_queue(&url, q).await.unwrap(); // idempotent
    tk::delete_queue(&url, q).await.unwrap();

    // A passive declare now fails: the queue is really gone.
    let conn = Connection::connect(&url, ConnectionProperties::default()).await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
    let err = ch
        .queue_declare(q.into(), passive, FieldTable::default())
        .await
        .expect_err("passive declare of a deleted queue must fail");
    assert!(format!("{err:?}").contains("NOT_FOUND") || format!("{err}").contains("NOT_FOUND"), "{err:?}");
    let _ = conn.close(200, "OK".into()).await;

    tk::declare_queue(&url, q).await.unwrap();
    tk::delete_queue(&url, q).await.unwrap();
}

#[test]
fn pki_files_exist() {
    let dir = tk::pki_dir();
    for f in ["ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key", "rogue-ca.crt"] {
        assert!(dir.join(f).is_file(), "{} missing: run scripts/setup.sh", dir.join(f).display());
    }
}
