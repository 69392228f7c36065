//! Only this user's processes meet on the socket: the listener closes a connection from another
//! uid unanswered, and the window refuses an agent that runs as another uid. Another uid is
//! `nobody`, reached as root with a `python3` child (skipped, saying why, when either is missing).
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use kompira_tray_ipc::wire::{self, Reply};
use kompira_tray_ipc::Call;
use tokio::io::BufReader;

const NOBODY: u32 = 65534;
const PYTHON: &str = "/usr/bin/python3";

/// Connects, prints what came back before the connection closed.
const CLIENT: &str = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
try:
    data = s.recv(4096)
except ConnectionResetError:
    data = b""
print(repr(data) if data else "closed without an answer")
"#;

/// Listens, says so, answers the first connection as if it were the agent.
const IMPOSTER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
s.settimeout(10)
print("ready", flush=True)
c, _ = s.accept()
c.sendall(b'{"ok": "imposter"}\n')
c.recv(4096)
"#;

/// Why another uid cannot be tried here, if it cannot.
fn cannot_switch_users() -> Option<String> {
    if rustix::process::geteuid().as_raw() != 0 {
        return Some("not root, so no process of another uid can be started".into());
    }
    if !Path::new(PYTHON).exists() {
        return Some(format!("{PYTHON} is missing (the other uid's client)"));
    }
    None
}

/// A directory and a socket path in it that `nobody` can reach too: the file permissions no
/// longer keep others out, so only the uid check does.
fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

fn as_nobody(script: &str, socket: &Path) -> Command {
    let mut command = Command::new(PYTHON);
    command.arg("-c").arg(script).arg(socket).uid(NOBODY).gid(NOBODY).stdin(Stdio::null());
    command
}

#[tokio::test]
async fn a_connection_from_another_uid_is_closed_unanswered() {
    if let Some(why) = cannot_switch_users() {
        println!("SKIPPED: {why}");
        return;
    }
    let dir = open_dir();
    let socket = dir.path().join("agent.sock");
    let listener = wire::listen(socket.to_str().unwrap()).await.unwrap().expect("a fresh socket");
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    // Greets whatever the listener hands over.
    tokio::spawn(async move {
        while let Ok(mut stream) = listener.accept().await {
            let _ = wire::write_line(&mut stream, &Reply::Ok("hello".into())).await;
        }
    });

    let own = wire::connect(socket.to_str().unwrap()).await.unwrap();
    let greeting: Option<Reply> = wire::read_line(&mut BufReader::new(own)).await.unwrap();
    assert_eq!(greeting, Some(Reply::Ok("hello".into())), "our own connection is served");

    let mut client = as_nobody(CLIENT, &socket);
    let output = tokio::task::spawn_blocking(move || client.output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.trim(), "closed without an answer", "stderr: {}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test]
async fn the_window_refuses_an_agent_of_another_uid() {
    if let Some(why) = cannot_switch_users() {
        println!("SKIPPED: {why}");
        return;
    }
    let dir = open_dir();
    let socket = dir.path().join("agent.sock");
    let mut imposter = as_nobody(IMPOSTER, &socket).stdout(Stdio::piped()).spawn().unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(imposter.stdout.take().unwrap()), &mut ready).unwrap();
    assert_eq!(ready.trim(), "ready");

    let answer = wire::call(socket.to_str().unwrap(), &Call::Ping).await;
    let _ = imposter.kill();
    let _ = imposter.wait();
    let refusal = answer.unwrap_err();
    assert!(
        refusal.ends_with(&format!("is answered by a process of another user ({NOBODY}), not by your Kompira Tray agent (0): not talking to it")),
        "{refusal}"
    );
}
