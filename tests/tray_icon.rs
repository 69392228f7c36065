//! The agent's tray icon on a real session bus: a tray host (panel) that starts after the agent,
//! as one may at login, still gets the icon, with the app's tooltip. `kompira-tray-host` stands
//! in for the panel (it owns `org.kde.StatusNotifierWatcher` and prints what registers).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kompira_e2e::{private_session_bus, workspace_binary, Killed};
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(20);

/// Lines of a child's stdout, read on a thread so waits can have a limit.
fn lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The first JSON line whose `event` is `name`.
fn wait_for(lines: &mpsc::Receiver<String>, name: &str) -> Value {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line =
            lines.recv_timeout(left).unwrap_or_else(|_| panic!("no {name:?} from the tray host within {TIMEOUT:?}"));
        let value: Value = serde_json::from_str(&line).unwrap_or_default();
        if value["event"] == name {
            return value;
        }
    }
}

fn agent_answers(socket: &Path) -> bool {
    use std::io::Write;
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = String::new();
    stream.write_all(b"{\"call\": \"ping\"}\n").is_ok()
        && BufReader::new(stream).read_line(&mut answer).is_ok()
        && answer.contains("\"ok\"")
}

#[test]
fn a_tray_host_that_starts_after_the_agent_still_gets_the_icon_and_tooltip() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kompira.conf"), "[tray]\nlanguage = en\n").unwrap();
    let (_bus, address) = private_session_bus();

    let socket = dir.path().join("agent.sock");
    let agent = Command::new(workspace_binary("kompira-tray-agent"))
        .arg("--no-window")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("KOMPIRA_CONF", dir.path().join("kompira.conf"))
        .env("KOMPIRA_TRAY_SOCKET", &socket)
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the agent starts");
    let _agent = Killed(agent);
    let deadline = Instant::now() + TIMEOUT;
    while !agent_answers(&socket) {
        assert!(Instant::now() < deadline, "the agent did not answer within {TIMEOUT:?}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The agent has started without a tray. Now the panel comes up.
    let mut host = Command::new(workspace_binary("kompira-tray-host"))
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the tray host starts");
    let host_lines = lines(host.stdout.take().unwrap());
    let _host = Killed(host);
    wait_for(&host_lines, "ready");
    let registered = wait_for(&host_lines, "registered");
    assert!(
        registered["service"].as_str().is_some_and(|s| s.starts_with("org.kde.StatusNotifierItem-")),
        "{registered}"
    );
    let tooltip = wait_for(&host_lines, "tooltip");
    assert!(tooltip["title"].as_str().is_some_and(|t| t.starts_with("Kompira Tray: not watching")), "{tooltip}");
}
