//! The transport: JSON lines over a local socket (a Unix-domain socket in the user's runtime
//! directory; a named pipe on Windows). Only this user can reach it.
//!
//! A connection carries either one call — `{"call": NAME, "args": {…}}` (a [`Call`]) answered by
//! `{"ok": VALUE}` or `{"err": VALUE}` — or, after `{"call": "subscribe"}`, the agent's events
//! as `{"event": NAME, "payload": VALUE}` lines (an [`Event`]) until either side goes away. The
//! socket also makes the agent a single instance: a second agent finds the first one answering
//! and leaves.

use std::path::PathBuf;
use std::time::Duration;

use kompira_core::config::Os;
use serde::{Deserialize, Serialize};

use crate::Call;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The longest line either side accepts: far above any real message (an alert list of the
/// history's size), low enough that a confused peer cannot exhaust memory.
pub const MAX_LINE: u64 = 64 << 20;

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

/// Where the agent listens: `KOMPIRA_TRAY_SOCKET` when set; else on Windows a pipe named after
/// the user, elsewhere `kompira-tray.sock` in `XDG_RUNTIME_DIR` (private to the user by the
/// XDG rules), or in a private directory under the temporary one when that is unset.
pub fn address(os: Os, env: &dyn Fn(&str) -> Option<String>, uid: Option<u32>) -> String {
    if let Some(explicit) = env("KOMPIRA_TRAY_SOCKET").filter(|s| !s.is_empty()) {
        return explicit;
    }
    if os == Os::Windows {
        let user: String = env("USERNAME")
            .unwrap_or_default()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        return format!(r"\\.\pipe\kompira-tray-{user}");
    }
    match env("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => format!("{}/kompira-tray.sock", dir.trim_end_matches('/')),
        None => {
            let tmp = env("TMPDIR").filter(|d| !d.is_empty()).unwrap_or_else(|| "/tmp".into());
            let who = uid.map_or_else(|| env("USER").unwrap_or_default(), |u| u.to_string());
            format!("{}/kompira-tray-{who}/kompira-tray.sock", tmp.trim_end_matches('/'))
        }
    }
}

/// [`address`] for this process.
pub fn current_address() -> String {
    address(Os::current(), &|name| std::env::var(name).ok(), current_uid())
}

#[cfg(unix)]
fn current_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(not(unix))]
fn current_uid() -> Option<u32> {
    None
}

/// Writes one message as a line.
pub async fn write_line<W: AsyncWrite + Unpin>(writer: &mut W, message: &impl Serialize) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    writer.write_all(&line).await?;
    writer.flush().await
}

/// Reads one line and parses it; `Ok(None)` at the end of the stream.
pub async fn read_line<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>>(
    reader: &mut BufReader<R>,
) -> Result<Option<T>, String> {
    let mut line = Vec::new();
    let read = (&mut *reader).take(MAX_LINE).read_until(b'\n', &mut line).await.map_err(|e| e.to_string())?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') && read as u64 >= MAX_LINE {
        return Err(format!("a message longer than {} MB", MAX_LINE >> 20));
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
        let stream = connect(address).await.map_err(|e| format!("the Kompira Tray agent is not running ({e})"))?;
        let (read, mut write) = tokio::io::split(stream);
        write_line(&mut write, message).await.map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(read);
        read_line::<_, Reply>(&mut reader)
            .await?
            .ok_or_else(|| "the agent closed the connection without answering".to_owned())
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

#[cfg(unix)]
mod platform {
    use std::path::Path;

    pub type Stream = tokio::net::UnixStream;

    pub async fn connect(address: &str) -> std::io::Result<Stream> {
        tokio::net::UnixStream::connect(address).await
    }

    pub struct Listener(tokio::net::UnixListener, std::path::PathBuf);

    impl Listener {
        pub async fn accept(&self) -> std::io::Result<Stream> {
            self.0.accept().await.map(|(stream, _)| stream)
        }
    }

    impl Drop for Listener {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.1);
        }
    }

    pub async fn listen(address: &str) -> Result<Option<Listener>, String> {
        let path = Path::new(address);
        if connect(address).await.is_ok() {
            return Ok(None);
        }
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        // Nobody answers: a socket left by an agent that crashed.
        let _ = std::fs::remove_file(path);
        let listener = tokio::net::UnixListener::bind(path).map_err(|e| format!("cannot listen on {address}: {e}"))?;
        Ok(Some(Listener(listener, path.to_path_buf())))
    }

    fn create_private_dir(dir: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if dir.is_dir() {
            return Ok(());
        }
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
}

#[cfg(windows)]
mod platform {
    use std::sync::Mutex;

    use tokio::net::windows::named_pipe::{ClientOptions, NamedPipeServer, ServerOptions};

    pub enum Stream {
        Client(tokio::net::windows::named_pipe::NamedPipeClient),
        Server(NamedPipeServer),
    }

    pub async fn connect(address: &str) -> std::io::Result<Stream> {
        ClientOptions::new().open(address).map(Stream::Client)
    }

    /// The next pipe instance waits for a client; accepting hands it over and makes another.
    pub struct Listener {
        address: String,
        next: Mutex<Option<NamedPipeServer>>,
    }

    impl Listener {
        pub async fn accept(&self) -> std::io::Result<Stream> {
            let server = match crate::lock(&self.next).take() {
                Some(server) => server,
                None => ServerOptions::new().create(&self.address)?,
            };
            server.connect().await?;
            *crate::lock(&self.next) = ServerOptions::new().create(&self.address).ok();
            Ok(Stream::Server(server))
        }
    }

    pub async fn listen(address: &str) -> Result<Option<Listener>, String> {
        match ServerOptions::new().first_pipe_instance(true).create(address) {
            Ok(first) => Ok(Some(Listener { address: address.to_owned(), next: Mutex::new(Some(first)) })),
            Err(_) if connect(address).await.is_ok() => Ok(None),
            Err(e) => Err(format!("cannot listen on {address}: {e}")),
        }
    }

    macro_rules! delegate {
        ($self:ident, $s:ident => $e:expr) => {
            match $self.get_mut() {
                Stream::Client($s) => $e,
                Stream::Server($s) => $e,
            }
        };
    }

    impl tokio::io::AsyncRead for Stream {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            delegate!(self, s => std::pin::Pin::new(s).poll_read(cx, buf))
        }
    }

    impl tokio::io::AsyncWrite for Stream {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            delegate!(self, s => std::pin::Pin::new(s).poll_write(cx, buf))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            delegate!(self, s => std::pin::Pin::new(s).poll_flush(cx))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            delegate!(self, s => std::pin::Pin::new(s).poll_shutdown(cx))
        }
    }
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
            address(Os::Linux, &env(&[("XDG_RUNTIME_DIR", "/run/user/1000/")]), Some(1000)),
            "/run/user/1000/kompira-tray.sock"
        );
        assert_eq!(address(Os::Linux, &env(&[]), Some(1000)), "/tmp/kompira-tray-1000/kompira-tray.sock");
        assert_eq!(
            address(Os::Linux, &env(&[("TMPDIR", "/var/tmp")]), None),
            "/var/tmp/kompira-tray-/kompira-tray.sock"
        );
        assert_eq!(
            address(Os::Linux, &env(&[("KOMPIRA_TRAY_SOCKET", "/x/s"), ("XDG_RUNTIME_DIR", "/r")]), None),
            "/x/s"
        );
    }

    #[test]
    fn windows_uses_a_pipe_named_after_the_user() {
        assert_eq!(address(Os::Windows, &env(&[("USERNAME", "taro")]), None), r"\\.\pipe\kompira-tray-taro");
        assert_eq!(address(Os::Windows, &env(&[("USERNAME", r"a b\c")]), None), r"\\.\pipe\kompira-tray-a_b_c");
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
}
