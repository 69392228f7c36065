//! The agent's socket against a peer that is not a well-behaved window: a socket directory that
//! is not ours, a call too long, a connection that says nothing, more connections than the
//! agent serves at once. Each gets a sentence (in the answer where one can still be given).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use kompira_tray_ipc::wire::{self as ipc, Reply, Request};
use kompira_tray_ipc::Call;
use serde_json::Value;
use tokio::io::BufReader;

mod common;

use common::{agent_command, error_text, start};

/// What the agent printed when it refused to start with `TMPDIR=tmp` and no `XDG_RUNTIME_DIR`
/// (the socket in `tmp/kompira-tray-<uid>`); panics when it does not exit by itself.
fn refusal_to_start_in(tmp: &Path) -> String {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("kompira.conf"), "# empty\n").unwrap();
    let mut child = agent_command(home.path(), "")
        .env_remove("KOMPIRA_TRAY_SOCKET")
        .env("TMPDIR", tmp)
        .stderr(Stdio::piped())
        .spawn()
        .expect("the agent starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the agent took a socket directory that is not private to it (still running)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "{:?}", output.status);
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn own_uid() -> u32 {
    tempfile::tempfile().unwrap().metadata().unwrap().uid()
}

#[test]
fn a_fallback_socket_directory_that_is_not_privately_ours_is_refused() {
    let uid = own_uid();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(format!("kompira-tray-{uid}"));

    // A link to a directory someone else chose.
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), &dir).unwrap();
    let said = refusal_to_start_in(tmp.path());
    assert!(said.contains(&format!("{} is a symbolic link", dir.display())), "{said}");
    std::fs::remove_file(&dir).unwrap();

    // Ours, but open to everyone.
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let said = refusal_to_start_in(tmp.path());
    assert!(said.contains(&format!("{} has mode 0755", dir.display())), "{said}");
    assert!(said.contains(&format!("chmod 700 {}", dir.display())), "{said}");

    // Mode 0700, but someone else's.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    if uid != 0 {
        println!("SKIPPED the owner case: only root can give a directory to another uid");
        return;
    }
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    let said = refusal_to_start_in(tmp.path());
    assert!(said.contains(&format!("{} belongs to uid 65534, not to you (uid 0)", dir.display())), "{said}");
}

#[tokio::test]
async fn a_missing_fallback_directory_is_made_private_and_used() {
    let uid = own_uid();
    let tmp = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("kompira.conf"), "# empty\n").unwrap();
    let mut child =
        agent_command(home.path(), "").env_remove("KOMPIRA_TRAY_SOCKET").env("TMPDIR", tmp.path()).spawn().unwrap();
    let dir = tmp.path().join(format!("kompira-tray-{uid}"));
    let socket = dir.join("kompira-tray.sock").display().to_string();
    let deadline = Instant::now() + common::START_TIMEOUT;
    let answered = loop {
        if ipc::call(&socket, &Call::Ping).await.is_ok() || Instant::now() > deadline {
            break Instant::now() <= deadline;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(answered, "the agent did not answer on {socket}");
    let made = std::fs::symlink_metadata(&dir).unwrap();
    assert!(made.is_dir() && made.mode() & 0o7777 == 0o700 && made.uid() == uid, "{made:?}");
}

#[tokio::test]
async fn a_call_over_1_mib_is_refused_with_a_sentence() {
    let agent = start().await;
    let long = Request { call: "list_alerts".into(), args: serde_json::json!({"query": "x".repeat(2 << 20)}) };
    let refusal = error_text(ipc::request(&agent.socket, &long).await.unwrap());
    assert_eq!(refusal, "a message longer than 1 MiB, the most accepted here: refused");
    // The agent goes on serving.
    assert!(matches!(ipc::call(&agent.socket, &Call::Ping).await, Ok(Reply::Ok(_))));
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_5_s() {
    let agent = start().await;
    let stream = ipc::connect(&agent.socket).await.unwrap();
    let (read, _write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    let started = Instant::now();
    let said: Reply = tokio::time::timeout(Duration::from_secs(15), ipc::read_line(&mut reader))
        .await
        .expect("the agent closes a silent connection")
        .unwrap()
        .expect("with a sentence first");
    let waited = started.elapsed();
    assert_eq!(error_text(said), "no call within 5 s: the agent closes connections that send nothing");
    assert!(waited >= Duration::from_millis(4900) && waited < Duration::from_secs(8), "{waited:?}");
    assert_eq!(ipc::read_line::<_, Reply>(&mut reader).await.unwrap(), None, "then the connection is closed");
}

#[tokio::test]
async fn the_connection_past_the_64th_is_told_the_agent_is_busy() {
    let agent = start().await;
    let mut held = Vec::new();
    for _ in 0..ipc::MAX_CONNECTIONS {
        // Subscriptions: connections a window keeps open for good.
        let mut stream = ipc::connect(&agent.socket).await.unwrap();
        ipc::write_line(&mut stream, &Request { call: ipc::SUBSCRIBE.into(), args: Value::Null }).await.unwrap();
        held.push(stream);
    }
    let started = Instant::now();
    let busy = error_text(ipc::call(&agent.socket, &Call::Ping).await.unwrap());
    assert_eq!(
        busy,
        "the Kompira Tray agent is busy: 64 connections are open, the most it serves at once; try again later"
    );
    assert!(started.elapsed() < Duration::from_secs(2), "answered at once, not after a wait");

    held.pop();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match ipc::call(&agent.socket, &Call::Ping).await {
            Ok(Reply::Ok(_)) => break,
            other => assert!(Instant::now() < deadline, "a freed connection is not served again: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
