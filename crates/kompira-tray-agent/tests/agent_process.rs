//! The agent as a process, the way the window and the run command meet it: one per socket,
//! answering calls and streaming events over it, refusing garbage with a sentence, and ending
//! on SIGTERM with its socket removed. No display or session bus: the tray is missing, which
//! the agent must survive.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kompira_tray_ipc::wire::{self as ipc, Reply, Request};
use kompira_tray_ipc::Event;
use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader};

mod common;

use common::{agent_command, call, error_text, start, start_in, START_TIMEOUT};

#[tokio::test]
async fn the_agent_answers_the_windows_calls() {
    let agent = start().await;
    assert_eq!(call(&agent, "ping", Value::Null).await, Reply::Ok(json!(agent.child.id())));
    let Reply::Ok(status) = call(&agent, "status", Value::Null).await else { panic!("no status") };
    assert!(status["summary"].as_str().unwrap().contains("not watching"), "{status}");
    assert_eq!(call(&agent, "list_alerts", json!({"query": ""})).await, Reply::Ok(json!([])));
    // No window is connected: a launching window must become the window.
    assert_eq!(call(&agent, "open", json!({"view": "send", "alert": null})).await, Reply::Ok(json!(false)));
    let Reply::Ok(outbox) = call(&agent, "list_outbox", Value::Null).await else { panic!("no outbox") };
    assert_eq!(outbox, json!([]));
}

#[tokio::test]
async fn bad_calls_get_a_sentence_and_the_agent_keeps_serving() {
    let agent = start().await;
    assert!(error_text(call(&agent, "format_disk", Value::Null).await).contains("no call named \"format_disk\""));
    assert!(
        error_text(call(&agent, "list_alerts", json!({"query": 5})).await).starts_with("list_alerts: bad arguments")
    );
    assert!(
        error_text(call(&agent, "retry_outbox", json!({"id": "all"})).await).starts_with("retry_outbox: bad arguments")
    );
    let sent = call(&agent, "send_event", json!({"form": {"fields": []}})).await;
    assert!(error_text(sent).contains("nothing to send"));

    // Not JSON at all, then a connection closed mid-line: a sentence, then nothing, no crash.
    let stream = ipc::connect(&agent.socket).await.unwrap();
    let (read, mut write) = tokio::io::split(stream);
    write.write_all(b"{\"call\": \xff\n").await.unwrap();
    let reply: Reply = ipc::read_line(&mut BufReader::new(read)).await.unwrap().unwrap();
    assert!(error_text(reply).starts_with("not a message"));
    let mut half = ipc::connect(&agent.socket).await.unwrap();
    half.write_all(b"{\"call\": \"sta").await.unwrap();
    drop(half);
    assert!(matches!(call(&agent, "ping", Value::Null).await, Reply::Ok(_)));
}

#[tokio::test]
async fn a_subscribed_window_hears_the_agents_events() {
    let agent = start().await;
    let stream = ipc::connect(&agent.socket).await.unwrap();
    let (read, mut write) = tokio::io::split(stream);
    ipc::write_line(&mut write, &Request { call: "subscribe".into(), args: Value::Null }).await.unwrap();
    let mut events = BufReader::new(read);
    // A window is now connected: a second launch hands over to it.
    let deadline = Instant::now() + START_TIMEOUT;
    while call(&agent, "open", json!({"view": "alerts", "alert": 3})).await != Reply::Ok(json!(true)) {
        assert!(Instant::now() < deadline, "the subscription never counted as a window");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shown: Event = ipc::read_line(&mut events).await.unwrap().unwrap();
    assert_eq!((shown.name(), shown.payload()), ("show-window".to_owned(), json!({"view": "alerts", "alert": 3})));
    // Settings saved by the window: the agent reloads and says its status changed.
    assert_eq!(call(&agent, "settings_saved", Value::Null).await, Reply::Ok(Value::Null));
    let mut names = Vec::new();
    while !names.iter().any(|n| n == "status-changed") {
        let event: Event =
            tokio::time::timeout(START_TIMEOUT, ipc::read_line(&mut events)).await.unwrap().unwrap().unwrap();
        names.push(event.name());
    }
}

#[tokio::test]
async fn a_second_agent_leaves_the_first_in_charge_and_sigterm_ends_it_cleanly() {
    let mut agent = start().await;
    let dir: PathBuf = Path::new(&agent.socket).parent().unwrap().to_path_buf();
    let second = agent_command(&dir, &agent.socket).output().expect("a second agent runs");
    assert!(second.status.success(), "{second:?}");
    assert_eq!(call(&agent, "ping", Value::Null).await, Reply::Ok(json!(agent.child.id())));

    let killed = Command::new("kill").arg(agent.child.id().to_string()).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + START_TIMEOUT;
    let status = loop {
        if let Some(status) = agent.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the agent ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(!Path::new(&agent.socket).exists(), "the socket was left behind");
}

#[tokio::test]
async fn the_agent_reads_no_kompira_conf_from_the_directory_it_was_started_in() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("Downloads");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("kompira.conf"), "[event]\nchannel = /from/the/working/directory\n").unwrap();
    let socket = dir.path().join("agent.sock").display().to_string();
    let mut command = agent_command(dir.path(), &socket);
    // The search list, not one named file: as an agent started by a person meets it.
    command.env_remove("KOMPIRA_CONF").env("XDG_CONFIG_HOME", dir.path().join("config")).current_dir(&work);
    let agent = start_in(command, socket, dir).await;
    let Reply::Ok(status) = call(&agent, "status", Value::Null).await else { panic!("no status") };
    let channel = status["default_channel"].as_str().expect("settings loaded");
    assert_ne!(channel, "/from/the/working/directory", "{status}");
}

#[tokio::test]
async fn a_quit_call_is_answered_then_ends_the_agent_cleanly() {
    let mut agent = start().await;
    assert_eq!(call(&agent, "quit", Value::Null).await, Reply::Ok(Value::Null));
    let deadline = Instant::now() + START_TIMEOUT;
    let status = loop {
        if let Some(status) = agent.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the agent did not end after quit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(!Path::new(&agent.socket).exists(), "the socket was left behind");
}
