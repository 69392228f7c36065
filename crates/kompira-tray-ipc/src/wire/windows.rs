//! The socket on Windows: a named pipe named after the user's SID, each instance made with a
//! DACL that grants our SID alone, remote clients rejected, and the process at the other end
//! checked to run as our user on both sides.

use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::net::windows::named_pipe::{ClientOptions, NamedPipeClient, NamedPipeServer, ServerOptions};
use windows_sys::Win32::Foundation::ERROR_PIPE_BUSY;

use super::access::{self, Refusal};
use super::win32;

/// How long a client waits for a free pipe instance (the agent makes the next one as soon as
/// one is taken, so this is a moment at most).
const BUSY_WAIT: Duration = Duration::from_secs(2);

/// Our SID, or the empty string when Windows will not tell it: then listening and connecting
/// fail with the reason, as they need it.
pub fn current_user() -> String {
    win32::current_user_sid().unwrap_or_else(|e| {
        tracing::warn!("cannot tell which Windows user this is ({e})");
        String::new()
    })
}

pub enum Stream {
    Client(NamedPipeClient),
    Server(NamedPipeServer),
}

fn own_sid() -> io::Result<String> {
    win32::current_user_sid()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot tell which Windows user this is ({e})")))
}

/// Connects to the agent at `address`, if its process runs as our user.
pub async fn connect(address: &str) -> io::Result<Stream> {
    let ours = own_sid()?;
    let client = open(address).await?;
    let theirs = win32::server_process_id(&client)
        .and_then(win32::process_user_sid)
        .map_err(|e| Refusal(format!("cannot tell which user answers {address} ({e}): not talking to it")).into_io())?;
    if theirs != ours {
        return Err(access::foreign_agent(address, &ours, &theirs).into_io());
    }
    Ok(Stream::Client(client))
}

async fn open(address: &str) -> io::Result<NamedPipeClient> {
    let deadline = Instant::now() + BUSY_WAIT;
    loop {
        match ClientOptions::new().open(address) {
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY as i32) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            opened => return opened,
        }
    }
}

/// The next pipe instance waits for a client; accepting hands it over and makes another.
pub struct Listener {
    address: String,
    sid: String,
    next: Mutex<Option<NamedPipeServer>>,
}

impl Listener {
    /// The next connection from a process of our user; others are dropped and logged.
    pub async fn accept(&self) -> io::Result<Stream> {
        loop {
            let server = match crate::lock(&self.next).take() {
                Some(server) => server,
                None => create(&self.address, &self.sid, false)?,
            };
            server.connect().await?;
            *crate::lock(&self.next) = match create(&self.address, &self.sid, false) {
                Ok(next) => Some(next),
                Err(e) => {
                    tracing::warn!(
                        "cannot make the next instance of {} ({e}); trying again at the next accept",
                        self.address
                    );
                    None
                }
            };
            let pid = win32::client_process_id(&server).ok();
            match pid.map(win32::process_user_sid) {
                Some(Ok(theirs)) if theirs == self.sid => return Ok(Stream::Server(server)),
                Some(Ok(theirs)) => tracing::warn!("{}", access::foreign_window(&self.sid, &theirs, pid)),
                Some(Err(e)) => {
                    tracing::warn!("refused a connection from process {pid:?}, whose user Windows would not tell ({e})")
                }
                None => tracing::warn!("refused a connection whose process Windows would not tell"),
            }
        }
    }
}

/// One pipe instance, granted to `sid` alone, local clients only.
fn create(address: &str, sid: &str, first: bool) -> io::Result<NamedPipeServer> {
    let descriptor = win32::SecurityDescriptor::from_sddl(&access::owner_only_sddl(sid))?;
    let mut options = ServerOptions::new();
    options.first_pipe_instance(first).reject_remote_clients(true);
    descriptor.create_pipe(&options, address)
}

/// Asks first whether an agent of ours answers (Wine lets a second "first instance" be made),
/// then makes the first instance, which on Windows fails when any process got there before us.
pub async fn listen(address: &str) -> Result<Option<Listener>, String> {
    let sid = own_sid().map_err(|e| format!("cannot make {address} private to this user: {e}"))?;
    match connect(address).await {
        Ok(_) => return Ok(None),
        Err(refused) if Refusal::of(&refused).is_some() => return Err(refused.to_string()),
        Err(_) => {}
    }
    match create(address, &sid, true) {
        Ok(first) => Ok(Some(Listener { address: address.to_owned(), sid, next: Mutex::new(Some(first)) })),
        Err(e) => Err(format!("cannot listen on {address} (another program holds that pipe name?): {e}")),
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
    ) -> std::task::Poll<io::Result<()>> {
        delegate!(self, s => std::pin::Pin::new(s).poll_read(cx, buf))
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        delegate!(self, s => std::pin::Pin::new(s).poll_write(cx, buf))
    }
    fn poll_flush(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        delegate!(self, s => std::pin::Pin::new(s).poll_flush(cx))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        delegate!(self, s => std::pin::Pin::new(s).poll_shutdown(cx))
    }
}

#[cfg(test)]
mod tests {
    use std::os::windows::io::AsRawHandle;

    use super::*;
    use crate::wire::{self, Reply};
    use crate::Call;

    fn private_address() -> String {
        format!(r"\\.\pipe\kompira-tray-test-{}-{}", std::process::id(), fastrand_suffix())
    }

    fn fastrand_suffix() -> u128 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
    }

    /// The SIDs an SDDL string's ACEs name (the last field of each `(…)`).
    fn ace_sids(sddl: &str) -> Vec<String> {
        sddl.split('(').skip(1).filter_map(|ace| ace.split(')').next()?.rsplit(';').next().map(str::to_owned)).collect()
    }

    /// Answers every call with the caller's process id as the pipe tells it, while the test runs.
    fn serve(listener: wire::Listener) {
        tokio::spawn(async move {
            while let Ok(stream) = listener.accept().await {
                let Stream::Server(server) = &stream else { unreachable!("the listener hands over servers") };
                let caller = win32::client_process_id(server).map_err(|e| e.to_string());
                tokio::spawn(async move {
                    let (read, mut write) = tokio::io::split(stream);
                    let mut reader = tokio::io::BufReader::new(read);
                    if let Ok(Some(_)) = wire::read_request(&mut reader).await {
                        let _ = wire::write_line(&mut write, &Reply::Ok(serde_json::json!(caller))).await;
                    }
                });
            }
        });
    }

    #[tokio::test]
    async fn a_call_goes_through_a_pipe_granted_to_our_sid_alone() {
        let address = private_address();
        let listener = wire::listen(&address).await.unwrap().expect("nobody else listens on a fresh name");
        serve(listener);
        let ours = std::process::id();
        assert_eq!(wire::call(&address, &Call::Ping).await.unwrap(), Reply::Ok(serde_json::json!({"Ok": ours})));

        let sid = win32::current_user_sid().unwrap();
        assert!(sid.starts_with("S-1-"), "{sid}");
        let Stream::Client(client) = wire::connect(&address).await.unwrap() else { unreachable!() };
        assert_eq!(win32::server_process_id(&client).unwrap(), ours);
        let dacl = win32::dacl_sddl(client.as_raw_handle()).unwrap();
        println!("the pipe's DACL as read back: {dacl}");
        assert!(dacl.starts_with("D:P"), "not protected: {dacl}");
        assert_eq!(ace_sids(&dacl), vec![sid], "{dacl}");
        drop(client);

        assert!(wire::listen(&address).await.unwrap().is_none(), "a second listen finds another agent answering");
    }

    #[test]
    fn the_address_is_the_pipe_of_our_sid() {
        let sid = win32::current_user_sid().unwrap();
        assert_eq!(wire::address(kompira_core::config::Os::Windows, &|_| None, &sid), access::pipe_name(&sid));
        assert_eq!(wire::current_address(), access::pipe_name(&sid));
    }
}
