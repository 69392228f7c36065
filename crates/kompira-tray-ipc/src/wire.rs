//! The transport: JSON lines over a local socket that only this user reaches.
//!
//! - Linux: a Unix-domain socket, `kompira-tray.sock` in `XDG_RUNTIME_DIR` (the user's by the
//!   XDG rules) or else in `$TMPDIR/kompira-tray-<uid>`, used only when `lstat` finds a real
//!   directory of ours with mode 0700 (made so when missing). Each end checks the other's uid
//!   with `SO_PEERCRED`: the agent closes (and logs) a connection from another uid, the window
//!   refuses an agent of another uid.
//! - Windows: the pipe `\\.\pipe\kompira-tray-<SID>` of the process token's user. Every instance
//!   is made with a protected DACL granting that SID alone (`D:P(A;;GA;;;<SID>)`), remote
//!   clients are rejected, the first instance must be the first of its name, and each end checks
//!   that the process at the other end (`GetNamedPipeClientProcessId`,
//!   `GetNamedPipeServerProcessId`) runs as the same SID.
//! - `KOMPIRA_TRAY_SOCKET` overrides the address on both (tests, two installs side by side).
//!
//! A connection carries either one call — `{"call": NAME, "args": {…}}` (a [`Call`]) answered by
//! `{"ok": VALUE}` or `{"err": VALUE}` — or, after `{"call": "subscribe"}`, the agent's events
//! as `{"event": NAME, "payload": VALUE}` lines (an [`Event`]) until either side goes away. The
//! agent reads a call of at most [`MAX_REQUEST_LINE`], waits [`FIRST_LINE_TIMEOUT`] for it and
//! serves [`MAX_CONNECTIONS`] at once; past each it answers an `{"err": …}` sentence and closes.
//! The window reads answers and events of up to [`MAX_LINE`]. The socket also makes the agent a
//! single instance: a second agent finds the first one answering and leaves.

pub mod access;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod win32;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

pub use access::Refusal;

use std::path::PathBuf;
use std::time::Duration;

use kompira_core::config::Os;
use serde::{Deserialize, Serialize};

use crate::Call;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The longest answer or event the window reads: far above any real one (an alert list of the
/// history's size), low enough that a confused agent cannot exhaust the window's memory.
pub const MAX_LINE: u64 = 64 << 20;

/// The longest call the agent reads: a call is a name and a form, kilobytes at most; a longer
/// line is refused before it is held in memory.
pub const MAX_REQUEST_LINE: u64 = 1 << 20;

/// How long the agent waits for a connection's first line: a window sends it at once, so a
/// connection silent this long is closed rather than held.
pub const FIRST_LINE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many connections the agent serves at once: each window holds one for events and makes
/// calls one at a time, so this is far above real use; past it a connection is told the agent
/// is busy and closed, so nothing can make the agent hold connections without end.
pub const MAX_CONNECTIONS: usize = 64;

/// How long a call may take before the window gives up on it: above the slowest call (a REST
/// listing with its own timeout, an event waiting for its ack).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// The name that turns a connection into the agent's stream of events.
pub const SUBSCRIBE: &str = "subscribe";

/// A call as it arrives, before it is read as a [`Call`] (so that an unknown name or bad
/// arguments get an answer naming them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub call: String,
    #[serde(default)]
    pub args: Value,
}

/// The agent's answer to a call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reply {
    Ok(Value),
    Err(Value),
}

/// Where the agent listens: `KOMPIRA_TRAY_SOCKET` when set; else on Windows the pipe of `user`
/// (the SID, [`access::pipe_name`]), elsewhere `kompira-tray.sock` in `XDG_RUNTIME_DIR`
/// (private to the user by the XDG rules), or in [`fallback_dir`] when that is unset. `user` is
/// this process's user as the OS names users: the uid on Unix, the SID on Windows.
pub fn address(os: Os, env: &dyn Fn(&str) -> Option<String>, user: &str) -> String {
    if let Some(explicit) = env("KOMPIRA_TRAY_SOCKET").filter(|s| !s.is_empty()) {
        return explicit;
    }
    if os == Os::Windows {
        return access::pipe_name(user);
    }
    match env("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => format!("{}/kompira-tray.sock", dir.trim_end_matches('/')),
        None => format!("{}/kompira-tray.sock", fallback_dir(env, user).display()),
    }
}

/// The socket's directory without `XDG_RUNTIME_DIR`: `kompira-tray-<uid>` in `TMPDIR` (or
/// `/tmp`). Anyone could have made that name first, so the socket goes there only when it is a
/// directory of ours with mode 0700 ([`access::check_private_dir`]).
pub fn fallback_dir(env: &dyn Fn(&str) -> Option<String>, uid: &str) -> PathBuf {
    let tmp = env("TMPDIR").filter(|d| !d.is_empty()).unwrap_or_else(|| "/tmp".into());
    PathBuf::from(format!("{}/kompira-tray-{uid}", tmp.trim_end_matches('/')))
}

/// [`address`] for this process.
pub fn current_address() -> String {
    address(Os::current(), &|name| std::env::var(name).ok(), &current_user())
}

#[cfg(unix)]
fn current_user() -> String {
    unix::current_uid().to_string()
}

#[cfg(windows)]
fn current_user() -> String {
    windows::current_user()
}

/// Writes one message as a line.
pub async fn write_line<W: AsyncWrite + Unpin>(writer: &mut W, message: &impl Serialize) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    writer.write_all(&line).await?;
    writer.flush().await
}

/// Reads one answer or event (at most [`MAX_LINE`]) and parses it; `Ok(None)` at the end of
/// the stream.
pub async fn read_line<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>>(
    reader: &mut BufReader<R>,
) -> Result<Option<T>, String> {
    read_line_within(reader, MAX_LINE).await
}

/// Reads the call that opens a connection, as the agent does: at most [`MAX_REQUEST_LINE`],
/// within [`FIRST_LINE_TIMEOUT`]. `Ok(None)`: the connection closed first. The error is a
/// sentence fit both for the log and for the answer.
pub async fn read_request<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Result<Option<Request>, String> {
    tokio::time::timeout(FIRST_LINE_TIMEOUT, read_line_within(reader, MAX_REQUEST_LINE)).await.unwrap_or_else(|_| {
        Err(format!(
            "no call within {} s: the agent closes connections that send nothing",
            FIRST_LINE_TIMEOUT.as_secs()
        ))
    })
}

async fn read_line_within<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>>(
    reader: &mut BufReader<R>,
    limit: u64,
) -> Result<Option<T>, String> {
    let mut line = Vec::new();
    let read = (&mut *reader).take(limit).read_until(b'\n', &mut line).await.map_err(|e| e.to_string())?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') && read as u64 >= limit {
        return Err(format!("a message longer than {} MiB, the most accepted here: refused", limit >> 20));
    }
    serde_json::from_slice(&line).map(Some).map_err(|e| format!("not a message ({e})"))
}

/// A connection to the agent.
pub type Stream = platform::Stream;

/// Connects to the agent at `address`.
pub async fn connect(address: &str) -> std::io::Result<Stream> {
    platform::connect(address).await
}

/// Makes one call; the agent's answer, or why there is none (no agent, a broken answer).
pub async fn call(address: &str, call: &Call) -> Result<Reply, String> {
    exchange(address, call, &call.name()).await
}

/// Sends a call as raw name and arguments (what an older or newer window might send); tests
/// use it to check how the agent answers calls that do not fit [`Call`].
pub async fn request(address: &str, request: &Request) -> Result<Reply, String> {
    exchange(address, request, &request.call).await
}

async fn exchange(address: &str, message: &impl Serialize, name: &str) -> Result<Reply, String> {
    let exchange = async {
        let stream = connect(address).await.map_err(|e| match Refusal::of(&e) {
            Some(refusal) => refusal.to_string(),
            None => format!("the Kompira Tray agent is not running ({e})"),
        })?;
        let (read, mut write) = tokio::io::split(stream);
        // An agent that refuses a call may answer and close before it has all of it: the
        // answer says why, so it is read even when sending failed.
        let sent = write_line(&mut write, message).await;
        let mut reader = BufReader::new(read);
        match (read_line::<_, Reply>(&mut reader).await, sent) {
            (Ok(Some(reply)), _) => Ok(reply),
            (_, Err(e)) => Err(format!("cannot send {name} to the agent ({e})")),
            (Ok(None), Ok(())) => Err("the agent closed the connection without answering".to_owned()),
            (Err(e), Ok(())) => Err(e),
        }
    };
    tokio::time::timeout(CALL_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("the agent did not answer {name} within {} s", CALL_TIMEOUT.as_secs())))
}

/// Where the agent listens, bound.
pub type Listener = platform::Listener;

/// Binds `address` for the agent. `Ok(None)`: another agent already answers there.
pub async fn listen(address: &str) -> Result<Option<Listener>, String> {
    platform::listen(address).await
}

/// The agent program next to `exe` (the window's own path).
pub fn sibling(exe: &std::path::Path, name: &str, os: Os) -> PathBuf {
    let file = if os == Os::Windows { format!("{name}.exe") } else { name.to_owned() };
    exe.with_file_name(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn the_socket_lives_in_the_users_runtime_directory_or_a_private_one() {
        assert_eq!(
            address(Os::Linux, &env(&[("XDG_RUNTIME_DIR", "/run/user/1000/")]), "1000"),
            "/run/user/1000/kompira-tray.sock"
        );
        assert_eq!(address(Os::Linux, &env(&[]), "1000"), "/tmp/kompira-tray-1000/kompira-tray.sock");
        assert_eq!(
            address(Os::Linux, &env(&[("TMPDIR", "/var/tmp/")]), "1001"),
            "/var/tmp/kompira-tray-1001/kompira-tray.sock"
        );
        assert_eq!(
            address(Os::Linux, &env(&[("KOMPIRA_TRAY_SOCKET", "/x/s"), ("XDG_RUNTIME_DIR", "/r")]), "1000"),
            "/x/s"
        );
    }

    #[test]
    fn windows_uses_the_pipe_of_the_users_sid_not_of_their_name() {
        // 田中 and 佐藤 once shared `kompira-tray-__`; their SIDs differ.
        let tanaka = address(Os::Windows, &env(&[("USERNAME", "田中")]), "S-1-5-21-7-8-9-1001");
        let sato = address(Os::Windows, &env(&[("USERNAME", "佐藤")]), "S-1-5-21-7-8-9-1002");
        assert_eq!(tanaka, r"\\.\pipe\kompira-tray-S-1-5-21-7-8-9-1001");
        assert_eq!(sato, r"\\.\pipe\kompira-tray-S-1-5-21-7-8-9-1002");
        assert_eq!(
            address(Os::Windows, &env(&[("KOMPIRA_TRAY_SOCKET", r"\\.\pipe\t")]), "S-1-5-21-7-8-9-1001"),
            r"\\.\pipe\t"
        );
    }

    #[test]
    fn programs_are_found_next_to_each_other() {
        assert_eq!(
            sibling(std::path::Path::new("/opt/kt/kompira-tray"), "kompira-tray-agent", Os::Linux),
            PathBuf::from("/opt/kt/kompira-tray-agent")
        );
        assert!(sibling(std::path::Path::new("/kt/kompira-tray.exe"), "kompira-tray-agent", Os::Windows)
            .ends_with("kompira-tray-agent.exe"));
    }

    #[tokio::test]
    async fn lines_round_trip_and_garbage_is_an_error_not_a_panic() {
        let (a, b) = tokio::io::duplex(1024);
        let (_, mut write) = tokio::io::split(a);
        let mut reader = BufReader::new(b);
        write_line(&mut write, &Reply::Ok(serde_json::json!({"n": 1}))).await.unwrap();
        assert_eq!(read_line::<_, Reply>(&mut reader).await.unwrap(), Some(Reply::Ok(serde_json::json!({"n": 1}))));
        write.write_all(b"{not json\n").await.unwrap();
        assert!(read_line::<_, Reply>(&mut reader).await.unwrap_err().starts_with("not a message"));
        drop(write);
        assert_eq!(read_line::<_, Reply>(&mut reader).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_call_over_1_mib_is_refused_but_an_answer_over_it_is_read() {
        let long = "x".repeat((MAX_REQUEST_LINE + 1) as usize);
        let (a, b) = tokio::io::duplex(4 << 20);
        let (_, mut write) = tokio::io::split(a);
        let mut reader = BufReader::new(b);
        write_line(&mut write, &Request { call: "ping".into(), args: long.clone().into() }).await.unwrap();
        let refusal = read_request(&mut reader).await.unwrap_err();
        assert_eq!(refusal, "a message longer than 1 MiB, the most accepted here: refused");

        let (a, b) = tokio::io::duplex(4 << 20);
        let (_, mut write) = tokio::io::split(a);
        let mut reader = BufReader::new(b);
        write_line(&mut write, &Reply::Ok(long.clone().into())).await.unwrap();
        assert_eq!(read_line::<_, Reply>(&mut reader).await.unwrap(), Some(Reply::Ok(long.into())));
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_silent_for_5_s_gets_no_more_time() {
        let (_quiet, b) = tokio::io::duplex(1024);
        let mut reader = BufReader::new(b);
        let started = tokio::time::Instant::now();
        let refusal = read_request(&mut reader).await.unwrap_err();
        assert_eq!(refusal, "no call within 5 s: the agent closes connections that send nothing");
        assert_eq!(started.elapsed(), FIRST_LINE_TIMEOUT);
    }
}
