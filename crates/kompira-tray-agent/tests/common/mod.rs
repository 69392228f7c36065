#![allow(dead_code)] // each test binary uses its own subset of these helpers
//! The agent binary on a private socket, with a kompira.conf of the test's and nothing of the
//! machine's environment: how the process tests meet it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kompira_tray_ipc::wire::{self as ipc, Reply, Request};
use kompira_tray_ipc::Call;
use serde_json::Value;

/// How long the agent may take to answer its first ping.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running agent; killed when dropped.
pub struct Agent {
    pub child: Child,
    pub socket: String,
    _dir: tempfile::TempDir,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The agent's command in `dir` (HOME, data, kompira.conf) on `socket`, no window, no output.
pub fn agent_command(dir: &Path, socket: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kompira-tray-agent"));
    command
        .arg("--no-window")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("KOMPIRA_CONF", dir.join("kompira.conf"))
        .env("KOMPIRA_TRAY_SOCKET", socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// An agent on a private socket, with an empty kompira.conf (so it watches nothing).
pub async fn start() -> Agent {
    start_with_conf("# empty\n").await
}

/// The sentence of an error answer.
pub fn error_text(reply: Reply) -> String {
    match reply {
        Reply::Err(Value::String(text)) => text,
        other => panic!("expected an error sentence, got {other:?}"),
    }
}

/// Starts an agent whose kompira.conf is `conf`, once it answers `ping`.
pub async fn start_with_conf(conf: &str) -> Agent {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kompira.conf"), conf).unwrap();
    let socket = dir.path().join("agent.sock").display().to_string();
    let command = agent_command(dir.path(), &socket);
    start_in(command, socket, dir).await
}

/// Starts `command` (an [`agent_command`] on `socket`, changed as a test needs) and waits for
/// its first answer; `dir` lives as long as the agent.
pub async fn start_in(mut command: Command, socket: String, dir: tempfile::TempDir) -> Agent {
    let child = command.spawn().expect("the agent starts");
    let deadline = Instant::now() + START_TIMEOUT;
    while ipc::call(&socket, &Call::Ping).await.is_err() {
        assert!(Instant::now() < deadline, "the agent did not answer within {START_TIMEOUT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Agent { child, socket, _dir: dir }
}

/// One call by name, with JSON arguments, as a window sends it.
pub async fn call(agent: &Agent, name: &str, args: Value) -> Reply {
    ipc::request(&agent.socket, &Request { call: name.into(), args }).await.unwrap()
}
