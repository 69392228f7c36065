//! The whole alert path, for real: `kompira_sendevt` → RabbitMQ `io_queue` → the Kompira
//! stand-in's channel → the engine's watcher (REST long polls) → a sink.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kompira_core::rest::{Client, RestSettings};
use kompira_core::secret::Secret;
use kompira_core::watch::reading::english_title;
use kompira_core::watch::{Connection, Decision, Severity, WatchConfig, Watcher};
use kompira_e2e::{workspace_binary, RecordingSink};
use kompira_sim::{Definitions, SimConfig};
use kompira_testkit as testkit;

const ALERT: &str = "/system/channels/Alert";
const TOKEN: &str = "e2e-token";
const ARRIVAL: Duration = Duration::from_secs(15);

async fn start_sim(listen: &str) -> kompira_sim::SimHandle {
    kompira_sim::start(SimConfig {
        listen: listen.parse().unwrap(),
        token: TOKEN.into(),
        amqp_url: Some(testkit::broker_url()),
        definitions: Definitions::builtin(),
        tls: None,
    })
    .await
    .expect("the stand-in starts")
}

fn client(base_url: &str, token: &str) -> Arc<Client> {
    Arc::new(
        Client::new(&RestSettings {
            url: base_url.into(),
            token: Secret::new(token),
            ca_file: None,
            insecure: false,
            timeout: Duration::from_secs(10),
        })
        .unwrap(),
    )
}

fn watch_config() -> WatchConfig {
    let mut config = WatchConfig::new(vec![ALERT.into()]);
    config.long_poll = Duration::from_secs(2);
    config.backoff.initial = Duration::from_millis(100);
    config.backoff.cap = Duration::from_millis(500);
    config
}

fn sendevt(args: &[&str]) {
    let status = Command::new(workspace_binary("kompira_sendevt"))
        .args(["--server", "127.0.0.1", "--logdir", std::env::temp_dir().to_str().unwrap()])
        .args(args)
        .env_remove("AMQP_URL")
        .status()
        .unwrap();
    assert!(status.success(), "kompira_sendevt {args:?} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_sent_with_sendevt_pops_up_as_a_readable_notification() {
    let _queue = testkit::lock_io_queue().await;
    testkit::purge(&testkit::broker_url(), testkit::IO_QUEUE).await.unwrap();
    let sim = start_sim("127.0.0.1:0").await;
    let sink = RecordingSink::shared();
    let watcher = Watcher::spawn(client(&sim.base_url, TOKEN), sink.clone(), watch_config());

    sendevt(&[
        "status=PROBLEM",
        "severity=4",
        "hostname=web1",
        "trigger_name=Disk full",
        "trigger_key=vfs.fs.size[/,pfree]",
        "detail=free space 2%",
    ]);
    let alerts = sink.wait_for(1, ARRIVAL).await;
    watcher.stop().await;
    sim.shutdown().await;

    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let (alert, decision, _) = &alerts[0];
    assert_eq!(english_title(alert), "High: Disk full on web1");
    assert_eq!(alert.body, "free space 2%\ntrigger_key: vfs.fs.size[/,pfree]");
    assert_eq!(alert.severity, Severity::High);
    assert_eq!(alert.channel, ALERT);
    assert_eq!(*decision, Decision::Show);
    assert_eq!(alert.fields[0], ("status".to_owned(), "PROBLEM".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_survives_a_stand_in_restart_and_loses_no_alert() {
    let _queue = testkit::lock_io_queue().await;
    testkit::purge(&testkit::broker_url(), testkit::IO_QUEUE).await.unwrap();
    let sim = start_sim("127.0.0.1:0").await;
    let address = sim.base_url.trim_start_matches("http://").to_owned();
    let sink = RecordingSink::shared();
    let watcher = Watcher::spawn(client(&sim.base_url, TOKEN), sink.clone(), watch_config());
    let mut state = watcher.state();

    sendevt(&["n=1"]);
    assert_eq!(sink.wait_for(1, ARRIVAL).await.len(), 1);

    sim.shutdown().await;
    tokio::time::timeout(ARRIVAL, state.wait_for(|s| matches!(s.connection, Connection::Reconnecting { .. })))
        .await
        .expect("the watcher noticed the stand-in is gone")
        .unwrap();
    // Sent while the stand-in is down: it waits in io_queue.
    sendevt(&["n=2"]);
    sendevt(&["n=3"]);

    let sim = start_sim(&address).await;
    let alerts = sink.wait_for(3, ARRIVAL).await;
    let reconnected = tokio::time::timeout(ARRIVAL, state.wait_for(|s| s.connection == Connection::Connected)).await;
    watcher.stop().await;
    sim.shutdown().await;

    let bodies: Vec<_> = alerts.iter().map(|(a, _, _)| a.body.as_str()).collect();
    assert_eq!(bodies, ["n: 1", "n: 2", "n: 3"]);
    assert!(reconnected.is_ok(), "state back to connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_offline_with_a_clear_reason() {
    let sim = kompira_sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.into(),
        amqp_url: None,
        definitions: Definitions::builtin(),
        tls: None,
    })
    .await
    .unwrap();
    let watcher = Watcher::spawn(client(&sim.base_url, "wrong-token"), RecordingSink::shared(), watch_config());
    let mut state = watcher.state();
    let offline = tokio::time::timeout(ARRIVAL, state.wait_for(|s| s.connection == Connection::Offline))
        .await
        .expect("offline")
        .unwrap()
        .clone();
    watcher.stop().await;
    sim.shutdown().await;
    let reason = offline.last_error.unwrap();
    assert!(reason.contains("401"), "{reason}");
    assert!(reason.contains("[rest] token"), "{reason}");
    assert!(!reason.contains("wrong-token"), "the token leaked: {reason}");
}
