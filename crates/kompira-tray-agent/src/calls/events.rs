//! The quick-send form: an event with KEY=VALUE rows or a raw body, queued in the outbox and
//! sent by the agent's drainer (see `outbox.rs`), or sent directly when there is no outbox.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kompira_core::config::Settings;
use kompira_core::event::{
    self, message::Stamp, ConnectOptions, Envelope, Event, EventBody, RetryPolicy, ONE_SHOT_FRAME_MAX,
};
use kompira_core::outbox::{Outbox, OutboxError};
use kompira_tray_ipc::rows::pairs;
pub use kompira_tray_ipc::{SendForm, SendOutcome};

use crate::shell::Shell;

/// How long Send waits for the broker's ack before saying "queued" instead of "sent".
pub const ACK_WAIT: Duration = Duration::from_secs(3);

/// Queues and sends the event; its outcome, or an error sentence (bad form, full outbox).
pub async fn send_event(agent: &dyn Shell, form: SendForm) -> Result<SendOutcome, String> {
    let settings = agent.state().settings().map_err(|e| format!("settings not loaded: {e}"))?;
    let Some(store) = crate::outbox::store(agent) else {
        return send(&settings, form).await.map(|correlation_id| SendOutcome {
            correlation_id,
            queued: false,
            reason: None,
        });
    };
    let outcome = queue_and_wait(store, &settings, form, ACK_WAIT).await;
    crate::outbox::refresh_count(agent);
    outcome
}

/// Writes the event to the outbox, then waits up to `wait` for a drainer to have it acked.
pub async fn queue_and_wait(
    store: Arc<Outbox>,
    settings: &Settings,
    form: SendForm,
    wait: Duration,
) -> Result<SendOutcome, String> {
    let envelope = Envelope::new(&build_event(settings, form)?, Stamp::now());
    let queuer = store.clone();
    let queued = tokio::task::spawn_blocking(move || queuer.enqueue(&envelope))
        .await
        .map_err(|e| format!("queueing failed: {e}"))?
        .map_err(|e| format!("not queued: {e}"))?;
    let deadline = Instant::now() + wait;
    loop {
        let lookup = store.clone();
        let entry = tokio::task::spawn_blocking(move || lookup.entry(queued.id)).await.map_err(|e| e.to_string())?;
        match entry {
            Err(OutboxError::NoSuchEntry(_)) => {
                return Ok(SendOutcome { correlation_id: queued.correlation_id, queued: false, reason: None })
            }
            Err(e) => return Err(format!("queued as {}, but the outbox cannot be read: {e}", queued.correlation_id)),
            Ok((summary, _)) if Instant::now() >= deadline => {
                let reason = summary.last_error.or_else(|| Some("the broker has not confirmed it yet".into()));
                return Ok(SendOutcome { correlation_id: queued.correlation_id, queued: true, reason });
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
}

/// Sends directly, without the outbox (when it cannot be opened; tested against the real broker).
pub async fn send(settings: &Settings, form: SendForm) -> Result<String, String> {
    let event = build_event(settings, form)?;
    let options = ConnectOptions::from_settings(settings, ONE_SHOT_FRAME_MAX);
    // Interactive: report the first failure at once rather than retry behind a spinner.
    let retry = RetryPolicy { max_retry: 0, interval: std::time::Duration::ZERO };
    let stamp = Stamp::now();
    event::send_event(&options, retry, &event, &stamp, |_, _| {})
        .await
        .map(|report| report.correlation_id)
        .map_err(|e| format!("Failed to {}: {e}", e.stage().as_str()))
}

/// Validates the form: KEY=VALUE rows (see `check_rows`), a channel path, fields or a raw body.
pub fn build_event(settings: &Settings, form: SendForm) -> Result<Event, String> {
    let channel = match form.channel.trim() {
        "" => settings.channel().to_owned(),
        c if c.starts_with('/') => c.to_owned(),
        c => return Err(format!("{c:?} is not a channel path (like /system/channels/Alert)")),
    };
    let fields = event::check_rows(&pairs(&form.fields)).map_err(|e| format!("fields: {e}"))?;
    let body = match (fields.is_empty(), form.raw.is_empty()) {
        (false, true) => EventBody::Fields(fields),
        (true, false) => EventBody::Raw(form.raw.into_bytes()),
        (false, false) => return Err("fill in fields or a raw body, not both (clear one of them)".into()),
        (true, true) => return Err("nothing to send: add a KEY=VALUE row or a raw body".into()),
    };
    Ok(Event { body, channel, site_id: form.site_id.unwrap_or_else(|| settings.site_id()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kompira_tray_ipc::Row;

    fn settings(conf: &str) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kompira.conf");
        std::fs::write(&path, conf).unwrap();
        kompira_testkit::settings_from_file(&path)
    }

    fn rows(pairs: &[(&str, &str)]) -> Vec<Row> {
        pairs.iter().map(|(k, v)| Row { key: (*k).into(), value: (*v).into(), expression: false }).collect()
    }

    #[test]
    fn the_form_follows_sendevt_rules_and_defaults() {
        let s = settings("[event]\nchannel = /root/c\n[kompira]\nsite_id = 4\n");
        let form = SendForm { fields: rows(&[("host", "web1"), ("", ""), (" msg", "a=b ")]), ..SendForm::default() };
        let event = build_event(&s, form).unwrap();
        assert_eq!(event.channel, "/root/c");
        assert_eq!(event.site_id, 4);
        assert_eq!(event.body, EventBody::Fields(vec![("host".into(), "web1".into()), ("msg".into(), "a=b".into())]));
        let raw = build_event(&s, SendForm { raw: "text".into(), site_id: Some(9), ..SendForm::default() }).unwrap();
        assert_eq!((raw.body, raw.site_id), (EventBody::Raw(b"text".to_vec()), 9));
    }

    #[test]
    fn bad_forms_get_a_sentence() {
        let s = settings("");
        let bad = |form: SendForm| build_event(&s, form).unwrap_err();
        assert!(bad(SendForm::default()).contains("nothing to send"));
        assert_eq!(
            bad(SendForm { fields: rows(&[("a", "1"), ("a", "2")]), ..SendForm::default() }),
            "fields: row 2: the key \"a\" is already used in row 1"
        );
        assert!(bad(SendForm { fields: rows(&[("", "x")]), ..SendForm::default() }).contains("the key is empty"));
        let both = SendForm { fields: rows(&[("a", "1")]), raw: "text".into(), ..SendForm::default() };
        assert!(bad(both).contains("not both"));
        assert!(bad(SendForm { channel: "Alert".into(), fields: rows(&[("a", "1")]), ..SendForm::default() })
            .contains("not a channel path"));
    }

    /// The broker's URL and an empty io_queue, held for this test alone.
    async fn empty_io_queue() -> (String, kompira_testkit::IoQueueGuard) {
        let url = kompira_testkit::broker_url();
        let guard = kompira_testkit::lock_io_queue().await;
        kompira_testkit::declare_io_queue(&url).await.unwrap();
        kompira_testkit::purge(&url, kompira_testkit::IO_QUEUE).await.unwrap();
        (url, guard)
    }

    #[tokio::test]
    async fn the_form_sends_a_confirmed_event_to_the_broker() {
        let (url, _guard) = empty_io_queue().await;
        let s = settings("[amqp-connection]\nserver = 127.0.0.1\n");
        let id = send(&s, SendForm { fields: rows(&[("from", "app")]), ..SendForm::default() }).await.unwrap();
        let msg = kompira_testkit::receive_one(&url, kompira_testkit::IO_QUEUE, std::time::Duration::from_secs(10))
            .await
            .unwrap()
            .expect("the event arrived");
        assert_eq!(msg.body, br#"{"from": "app"}"#);
        assert_eq!(msg.properties.correlation_id().as_ref().unwrap().as_str(), id);
    }

    /// An outbox in a temporary directory with a drainer following it, as the agent runs one,
    /// except that it reads the file only once a minute when idle: only the wake-up that
    /// queueing sends gets an event out within a test's wait. Returns once the drainer is idle.
    async fn outbox_with_drainer(
        s: &Settings,
        dir: &std::path::Path,
    ) -> (Arc<Outbox>, tokio::sync::watch::Sender<bool>) {
        use kompira_core::outbox::{drain, DrainOptions, DrainProgress, Limits};
        let store =
            Arc::new(Outbox::open(&dir.join("outbox.sqlite"), Limits { max_events: 10, max_bytes: 1 << 20 }).unwrap());
        let mut options = DrainOptions::new(ConnectOptions::from_settings(s, ONE_SHOT_FRAME_MAX));
        options.follow = true;
        options.idle_poll = Duration::from_secs(60);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let drained = store.clone();
        let idle = Arc::new(tokio::sync::Notify::new());
        let idle_seen = idle.clone();
        tokio::spawn(async move {
            drain(drained, &options, stopped, |progress| {
                if matches!(progress, DrainProgress::Idle) {
                    idle_seen.notify_one();
                }
            })
            .await
        });
        tokio::time::timeout(Duration::from_secs(10), idle.notified()).await.expect("the drainer went idle");
        (store, stop)
    }

    #[tokio::test]
    async fn a_queued_form_is_sent_by_the_drainer_and_reported_sent() {
        let (url, _guard) = empty_io_queue().await;
        let s = settings("[amqp-connection]\nserver = 127.0.0.1\n");
        let dir = tempfile::tempdir().unwrap();
        let (store, stop) = outbox_with_drainer(&s, dir.path()).await;
        let form = SendForm { fields: rows(&[("via", "outbox")]), ..SendForm::default() };
        let outcome = queue_and_wait(store.clone(), &s, form, Duration::from_secs(20)).await.unwrap();
        assert!(!outcome.queued, "{outcome:?}");
        let msg = kompira_testkit::receive_one(&url, kompira_testkit::IO_QUEUE, Duration::from_secs(10))
            .await
            .unwrap()
            .expect("the event arrived");
        assert_eq!(msg.body, br#"{"via": "outbox"}"#);
        assert_eq!(msg.properties.correlation_id().as_ref().unwrap().as_str(), outcome.correlation_id);
        assert_eq!(store.pending_count().unwrap(), 0);
        let _ = stop.send(true);
    }

    #[tokio::test]
    async fn with_the_broker_away_the_form_stays_queued_with_the_reason() {
        let s = settings("[amqp-connection]\nserver = 127.0.0.1\nport = 1\n");
        let dir = tempfile::tempdir().unwrap();
        let (store, stop) = outbox_with_drainer(&s, dir.path()).await;
        let form = SendForm { fields: rows(&[("a", "1")]), ..SendForm::default() };
        let outcome = queue_and_wait(store.clone(), &s, form, Duration::from_secs(2)).await.unwrap();
        assert!(outcome.queued, "{outcome:?}");
        assert!(outcome.reason.as_deref().is_some_and(|r| r.contains("connect")), "{outcome:?}");
        let waiting = store.list(10).unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].correlation_id, outcome.correlation_id);
        let _ = stop.send(true);
    }

    #[tokio::test]
    async fn a_full_outbox_refuses_the_form_with_a_sentence() {
        let s = settings("");
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            Outbox::open(
                &dir.path().join("o.sqlite"),
                kompira_core::outbox::Limits { max_events: 1, max_bytes: 1 << 20 },
            )
            .unwrap(),
        );
        let form = || SendForm { fields: rows(&[("a", "1")]), ..SendForm::default() };
        assert!(queue_and_wait(store.clone(), &s, form(), Duration::ZERO).await.unwrap().queued);
        let err = queue_and_wait(store.clone(), &s, form(), Duration::ZERO).await.unwrap_err();
        assert!(err.starts_with("not queued: "), "{err}");
        assert_eq!(store.pending_count().unwrap(), 1, "the first event is kept");
    }

    #[tokio::test]
    async fn an_unreachable_broker_is_reported_not_hung() {
        let s = settings("[amqp-connection]\nserver = 127.0.0.1\nport = 1\n");
        let err = send(&s, SendForm { fields: rows(&[("a", "1")]), ..SendForm::default() }).await.unwrap_err();
        assert!(err.starts_with("Failed to connect: "), "{err}");
    }
}
