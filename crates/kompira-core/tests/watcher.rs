//! The watcher's behaviour over a scripted channel: delivery order, de-duplication, recovery
//! from failures without losing messages, the offline state, pause and resume.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kompira_core::watch::{
    AlertSink, Backoff, ChannelSource, Connection, Decision, Notification, QuietReason, SourceError, WatchConfig,
    Watcher, FIRST_POLL,
};
use serde_json::{json, Value};

/// What the fake server answers to each `.recv`, in order; then "nothing yet" forever.
#[derive(Default)]
struct Script(Mutex<VecDeque<Result<Option<Value>, SourceError>>>);

impl Script {
    fn new(steps: Vec<Result<Option<Value>, SourceError>>) -> Arc<Self> {
        Arc::new(Self(Mutex::new(steps.into())))
    }
}

impl ChannelSource for Script {
    async fn recv(&self, _channel: &str, timeout: Duration) -> Result<Option<Value>, SourceError> {
        let step = self.0.lock().unwrap().pop_front();
        match step {
            Some(step) => step,
            None => {
                tokio::time::sleep(timeout).await;
                Ok(None)
            }
        }
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(Notification, Decision)>>);

impl AlertSink for Recorder {
    fn alert(&self, alert: &Notification, decision: Decision) {
        self.0.lock().unwrap().push((alert.clone(), decision));
    }
}

impl Recorder {
    async fn wait_for(&self, count: usize) -> Vec<(Notification, Decision)> {
        for _ in 0..500 {
            if self.0.lock().unwrap().len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.0.lock().unwrap().clone()
    }
}

fn config() -> WatchConfig {
    let mut config = WatchConfig::new(vec!["/system/channels/Alert".into()]);
    config.long_poll = Duration::from_millis(50);
    config.backoff = Backoff { initial: Duration::from_millis(10), cap: Duration::from_millis(40) };
    config
}

fn transient(message: &str) -> Result<Option<Value>, SourceError> {
    Err(SourceError { message: message.into(), transient: true })
}

#[tokio::test]
async fn alerts_arrive_in_order_and_duplicates_once() {
    let source = Script::new(vec![
        Ok(Some(json!({"event_id": 1, "severity": 4, "trigger_name": "Disk full", "hostname": "web1"}))),
        Ok(None),
        Ok(Some(json!({"event_id": 1, "severity": 4, "trigger_name": "Disk full", "hostname": "web1"}))),
        Ok(Some(json!("plain text"))),
    ]);
    let sink = Arc::new(Recorder::default());
    let watcher = Watcher::spawn(source, sink.clone(), config());
    let got = sink.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got_later = sink.0.lock().unwrap().len();
    watcher.stop().await;
    let titles: Vec<_> = got.iter().map(|(n, _)| kompira_core::watch::reading::english_title(n)).collect();
    assert_eq!(titles, ["High: Disk full on web1", "plain text"]);
    assert_eq!(got_later, 2, "the duplicate was not delivered");
    assert!(got.iter().all(|(_, d)| *d == Decision::Show));
}

#[tokio::test]
async fn transient_failures_reconnect_and_lose_nothing() {
    let source = Script::new(vec![
        transient("connection refused"),
        transient("connection refused"),
        Ok(Some(json!({"n": 1}))),
        transient("server restarting"),
        Ok(Some(json!({"n": 2}))),
    ]);
    let sink = Arc::new(Recorder::default());
    let watcher = Watcher::spawn(source, sink.clone(), config());
    let mut state = watcher.state();
    let mut seen_reconnecting = false;
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Connection::Reconnecting { attempt } = state.borrow_and_update().connection {
                seen_reconnecting |= attempt >= 1;
            }
            if sink.0.lock().unwrap().len() == 2 {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(20), state.changed()).await;
        }
    })
    .await;
    assert!(got.is_ok(), "both messages arrived");
    assert!(seen_reconnecting);
    let final_state = watcher.state().borrow().clone();
    watcher.stop().await;
    assert_eq!(final_state.connection, Connection::Connected);
    assert_eq!(final_state.last_error.as_deref(), Some("server restarting"));
    let bodies: Vec<_> = sink.0.lock().unwrap().iter().map(|(n, _)| n.body.clone()).collect();
    assert_eq!(bodies, ["n: 1", "n: 2"]);
}

/// Answers at once, as the script says, and notes how long each `.recv` was allowed to wait.
struct WaitLog {
    script: Arc<Script>,
    waits: Mutex<Vec<Duration>>,
}

impl ChannelSource for WaitLog {
    async fn recv(&self, _channel: &str, timeout: Duration) -> Result<Option<Value>, SourceError> {
        self.waits.lock().unwrap().push(timeout);
        let step = self.script.0.lock().unwrap().pop_front();
        match step {
            Some(step) => step,
            None => {
                // Yield, or the watcher's loop would keep the test's runtime to itself.
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok(None)
            }
        }
    }
}

/// Answers as the script says and notes when each `.recv` came (on tokio's clock).
struct CallTimes {
    script: Arc<Script>,
    calls: Mutex<Vec<tokio::time::Instant>>,
}

impl ChannelSource for CallTimes {
    async fn recv(&self, channel: &str, timeout: Duration) -> Result<Option<Value>, SourceError> {
        self.calls.lock().unwrap().push(tokio::time::Instant::now());
        self.script.recv(channel, timeout).await
    }
}

/// A network that cuts every long poll: each cut after an answer costs the first pause, not
/// one grown by the cuts before (which would leave alerts waiting up to the cap).
#[tokio::test(start_paused = true)]
async fn one_answer_ends_a_row_of_failures_so_the_next_pause_is_short_again() {
    let cut = || transient("connection closed before message completed");
    let script = Script::new(vec![cut(), cut(), cut(), Ok(None), cut(), Ok(None), cut()]);
    let source = Arc::new(CallTimes { script, calls: Mutex::new(Vec::new()) });
    let mut config = config();
    config.backoff = Backoff { initial: Duration::from_millis(100), cap: Duration::from_secs(60) };
    let watcher = Watcher::spawn(source.clone(), Arc::new(Recorder::default()), config);
    while source.calls.lock().unwrap().len() < 8 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    watcher.stop().await;
    let calls = source.calls.lock().unwrap().clone();
    let pauses_ms: Vec<u128> = calls.windows(2).map(|pair| (pair[1] - pair[0]).as_millis()).collect();
    // Three cuts in a row: 100, 200, 400 ms (±20 %). An answer: none. A cut: 100 ms again.
    let nominal = [100, 200, 400, 0, 100, 0, 100];
    for (index, (pause, nominal)) in pauses_ms.iter().zip(nominal).enumerate() {
        let (low, high) = (nominal * 8 / 10, nominal * 12 / 10 + 1);
        assert!(
            (low..=high).contains(pause),
            "pause {index}: {pause} ms, expected about {nominal} ms; all: {pauses_ms:?}"
        );
    }
}

#[tokio::test]
async fn the_first_poll_after_start_and_after_a_failure_is_short() {
    let script = Script::new(vec![Ok(None), transient("connection reset"), Ok(None), Ok(None)]);
    let source = Arc::new(WaitLog { script, waits: Mutex::new(Vec::new()) });
    let mut config = config();
    config.long_poll = Duration::from_secs(20);
    let watcher = Watcher::spawn(source.clone(), Arc::new(Recorder::default()), config);
    for _ in 0..500 {
        if source.waits.lock().unwrap().len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    watcher.stop().await;
    let waits = source.waits.lock().unwrap()[..5].to_vec();
    let (short, long) = (FIRST_POLL, Duration::from_secs(20));
    // Start: short; healthy: long; failed: short again, then long.
    assert_eq!(waits, [short, long, short, long, long]);
}

#[tokio::test]
async fn a_refused_token_shows_offline_with_the_reason() {
    let source = Script::new(vec![Err(SourceError {
        message: "401: the REST token was refused; check [rest] token".into(),
        transient: false,
    })]);
    let watcher = Watcher::spawn(source, Arc::new(Recorder::default()), config());
    let mut state = watcher.state();
    let offline = tokio::time::timeout(Duration::from_secs(5), state.wait_for(|s| s.connection == Connection::Offline))
        .await
        .expect("went offline")
        .unwrap()
        .clone();
    watcher.stop().await;
    assert!(offline.last_error.unwrap().contains("[rest] token"));
}

#[tokio::test]
async fn paused_alerts_are_recorded_quietly_until_resumed() {
    let source = Script::new(vec![Ok(None), Ok(Some(json!({"a": 1}))), Ok(None), Ok(None), Ok(None)]);
    let sink = Arc::new(Recorder::default());
    let watcher = Watcher::spawn(source.clone(), sink.clone(), config());
    watcher.pause(None);
    assert!(watcher.state().borrow().paused);
    let got = sink.wait_for(1).await;
    assert_eq!(got[0].1, Decision::Quiet(QuietReason::Paused));
    watcher.resume();
    assert!(!watcher.state().borrow().paused);
    source.0.lock().unwrap().push_back(Ok(Some(json!({"a": 2}))));
    let got = sink.wait_for(2).await;
    watcher.stop().await;
    assert_eq!(got[1].1, Decision::Show);
}

/// Answers the first `.recv` after `delay` with a message, then waits forever (an idle poll).
struct SlowAnswer {
    delay: Duration,
    answered: Mutex<bool>,
}

impl ChannelSource for SlowAnswer {
    async fn recv(&self, _channel: &str, _timeout: Duration) -> Result<Option<Value>, SourceError> {
        let first = !std::mem::replace(&mut *self.answered.lock().unwrap(), true);
        if first {
            tokio::time::sleep(self.delay).await;
            return Ok(Some(json!({"taken": "while stopping"})));
        }
        std::future::pending().await
    }
}

#[tokio::test]
async fn stopping_delivers_an_answer_already_on_its_way_and_abandons_idle_polls() {
    let source = Arc::new(SlowAnswer { delay: Duration::from_millis(100), answered: Mutex::new(false) });
    let sink = Arc::new(Recorder::default());
    let watcher = Watcher::spawn(source, sink.clone(), config());
    tokio::time::sleep(Duration::from_millis(20)).await;
    tokio::time::timeout(Duration::from_secs(5), watcher.stop())
        .await
        .expect("stop does not wait for an idle long poll");
    let got = sink.0.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "the message the server had already handed over was delivered");
    assert_eq!(got[0].0.body, "taken: while stopping");
}

/// A channel whose every `.recv` takes `delay` and then brings the next message, counting calls.
struct SlowChannel {
    delay: Duration,
    calls: Mutex<u64>,
}

impl ChannelSource for SlowChannel {
    async fn recv(&self, _channel: &str, _timeout: Duration) -> Result<Option<Value>, SourceError> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            *calls += 1;
            *calls
        };
        tokio::time::sleep(self.delay).await;
        Ok(Some(json!({"n": n})))
    }
}

#[tokio::test(start_paused = true)]
async fn stop_waits_for_the_poll_in_flight_and_delivers_what_it_brings() {
    // Kompira hands a message to a poll even after its client went away: abandoning the poll
    // would lose the message, so stop waits for it (here 3 s, longer than any grace period).
    let source = Arc::new(SlowChannel { delay: Duration::from_secs(3), calls: Mutex::new(0) });
    let sink = Arc::new(Recorder::default());
    let mut config = config();
    config.long_poll = Duration::from_secs(5);
    let watcher = Watcher::spawn(source.clone(), sink.clone(), config);
    tokio::time::sleep(Duration::from_millis(100)).await;
    watcher.stop().await;
    assert_eq!(*source.calls.lock().unwrap(), 1, "no poll starts after stop");
    let bodies: Vec<_> = sink.0.lock().unwrap().iter().map(|(n, _)| n.body.clone()).collect();
    assert_eq!(bodies.len(), 1, "the message of the poll in flight reached the sink: {bodies:?}");
}

#[tokio::test(start_paused = true)]
async fn a_limit_starts_no_poll_beyond_it() {
    let source = Arc::new(SlowChannel { delay: Duration::from_millis(10), calls: Mutex::new(0) });
    let sink = Arc::new(Recorder::default());
    let mut config = config();
    config.limit = Some(3);
    let mut watcher = Watcher::spawn(source.clone(), sink.clone(), config);
    tokio::time::timeout(Duration::from_secs(60), watcher.finished()).await.expect("the watcher ends at its limit");
    watcher.stop().await;
    assert_eq!(*source.calls.lock().unwrap(), 3, "exactly as many polls as messages wanted");
    assert_eq!(sink.0.lock().unwrap().len(), 3);
}
