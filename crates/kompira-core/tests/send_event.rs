//! The engine's `send_event` against the real broker, without the CLI.

use std::time::Duration;

use kompira_core::event::{self, message::Stamp, ConnectOptions, Event, EventBody, RetryPolicy, Stage};
use kompira_core::secret::Secret;
use kompira_testkit as testkit;
use lapin::types::AMQPValue;

fn local(port: u16) -> ConnectOptions {
    ConnectOptions {
        server: "127.0.0.1".into(),
        port,
        user: "guest".into(),
        password: Secret::new("guest"),
        tls: None,
        connect_timeout: Duration::from_secs(5),
        heartbeat_secs: 10,
        frame_max: event::ONE_SHOT_FRAME_MAX,
    }
}

const NO_RETRY: RetryPolicy = RetryPolicy { max_retry: 0, interval: Duration::ZERO };

#[tokio::test]
async fn the_library_publishes_a_confirmed_event_with_its_correlation_id() {
    let url = testkit::broker_url();
    let _guard = testkit::lock_io_queue().await;
    testkit::declare_io_queue(&url).await.unwrap();
    testkit::purge(&url, testkit::IO_QUEUE).await.unwrap();

    let event = Event {
        body: EventBody::Fields(vec![("severity".into(), "5".into())]),
        channel: "/system/channels/Alert".into(),
        site_id: 2,
    };
    let stamp = Stamp::now();
    let report = event::send_event(&local(5672), NO_RETRY, &event, &stamp, |e, _| panic!("{e}")).await.unwrap();
    assert_eq!(report.attempts, 1);
    assert_eq!(report.correlation_id, stamp.correlation_id);
    assert_eq!(report.session.peer.port(), 5672);

    let msg = testkit::receive_one(&url, testkit::IO_QUEUE, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("the event arrived");
    assert_eq!(msg.body, br#"{"severity": "5"}"#);
    assert_eq!(msg.properties.correlation_id().as_ref().map(|s| s.as_str()), Some(stamp.correlation_id.as_str()));
    assert_eq!(msg.header("site_id"), Some(&AMQPValue::ShortShortInt(2)));
}

#[tokio::test]
async fn each_failed_attempt_is_reported_with_the_pause_before_the_next() {
    let event = Event { body: EventBody::Raw(vec![]), channel: "/c".into(), site_id: 1 };
    let retry = RetryPolicy { max_retry: 2, interval: Duration::from_millis(50) };
    let mut seen = Vec::new();
    let err = event::send_event(&local(1), retry, &event, &Stamp::now(), |e, pause| {
        seen.push((e.stage(), pause));
    })
    .await
    .unwrap_err();
    assert!(err.is_transient());
    let pause = Some(Duration::from_millis(50));
    assert_eq!(seen, vec![(Stage::Connect, pause), (Stage::Connect, pause), (Stage::Connect, None)]);
}
