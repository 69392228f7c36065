//! Child processes of a test stack: started in their own process group (so the app that
//! `tauri-driver` starts goes with it), logged to a file, killed when dropped, and never waited
//! on without a time limit.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const POLL_INTERVAL_MILLIS: u64 = 50;

/// A running helper process; killed (with its whole process group) when dropped.
pub struct Proc {
    pub name: &'static str,
    pub log: PathBuf,
    child: Child,
}

impl Proc {
    /// Starts `command` with stderr (and stdout unless `capture_stdout`) going to `log`.
    pub fn spawn(name: &'static str, mut command: Command, log: &Path, capture_stdout: bool) -> Result<Self, String> {
        let log_file = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let stdout =
            if capture_stdout { Stdio::piped() } else { log_file.try_clone().map_err(|e| e.to_string())?.into() };
        command.stdin(Stdio::null()).stdout(stdout).stderr(log_file).process_group(0);
        let child = command.spawn().map_err(|e| {
            format!(
                "cannot start {name} ({:?}): {e}; is it installed? (scripts/setup.sh installs it)",
                command.get_program()
            )
        })?;
        Ok(Self { name, log: log.to_path_buf(), child })
    }

    /// The first line the process prints on stdout (then the rest is drained, so it never
    /// blocks on a full pipe). Fails when it exits first or says nothing within `timeout`.
    pub fn first_line(&mut self, timeout: Duration) -> Result<String, String> {
        let stdout = self.child.stdout.take().ok_or_else(|| format!("{}: stdout is not captured", self.name))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            lines.for_each(drop);
        });
        match rx.recv_timeout(timeout) {
            Ok(Some(Ok(line))) => Ok(line.trim().to_owned()),
            Ok(_) => Err(format!("{} ended without printing its ready line{}", self.name, self.log_tail())),
            Err(_) => Err(format!("{} printed nothing within {} s{}", self.name, timeout.as_secs(), self.log_tail())),
        }
    }

    /// Waits until `address` accepts TCP connections.
    pub fn wait_for_port(&mut self, address: SocketAddr, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited ({status}) before listening on {address}{}",
                    self.name,
                    self.log_tail()
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} does not listen on {address} after {} s{}",
                    self.name,
                    timeout.as_secs(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MILLIS));
        }
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log, 30)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // The group id is the child's pid (process_group(0)); `kill` needs no unsafe code.
        let _ =
            Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a short command to its end, killing it after `timeout`.
pub fn run(what: &str, mut command: Command, timeout: Duration) -> Result<Output, String> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| format!("cannot start {what}: {e}"))?;
    let deadline = Instant::now() + timeout;
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} did not finish within {} s", timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MILLIS));
    }
    child.wait_with_output().map_err(|e| format!("{what}: {e}"))
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the loopback interface has a free port")
}

/// The last `lines` lines of a log file, as a block to append to an error message.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    format!("\n--- last lines of {} ---\n{}", path.display(), all[start..].join("\n"))
}
