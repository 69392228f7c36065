//! Small fake servers on loopback (tokio `TcpListener`) that misbehave at the byte level: they
//! answer what a case tells them, trickle, say nothing, or hang up.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a fake server does with each connection.
#[derive(Clone)]
pub enum Peer {
    /// Reads the request, writes these bytes, closes.
    Answer(Vec<u8>),
    /// Writes these bytes at once, without reading, then holds the connection open.
    Greet(Vec<u8>),
    /// Reads the request, writes the head, then one byte of body every 200 ms, forever.
    Trickle(Vec<u8>),
    /// Accepts and never writes a byte.
    Silent,
    /// Accepts and closes at once.
    HangUp,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("fake server runtime")
    })
}

/// Starts a fake server; returns its port. It runs until the test process ends.
pub fn start(peer: Peer) -> u16 {
    runtime().block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let port = listener.local_addr().expect("local addr").port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, peer.clone()));
            }
        });
        port
    })
}

/// A port where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

async fn serve(mut stream: TcpStream, peer: Peer) {
    const HOLD: Duration = Duration::from_secs(3600);
    match peer {
        Peer::Answer(bytes) => {
            read_request(&mut stream).await;
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Peer::Greet(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let mut sink = Vec::new();
            let _ = tokio::time::timeout(HOLD, stream.read_to_end(&mut sink)).await;
        }
        Peer::Trickle(head) => {
            read_request(&mut stream).await;
            if stream.write_all(&head).await.is_err() {
                return;
            }
            while stream.write_all(b" ").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Peer::Silent => {
            let mut sink = Vec::new();
            let _ = tokio::time::timeout(HOLD, stream.read_to_end(&mut sink)).await;
        }
        Peer::HangUp => drop(stream),
    }
}

/// Reads an HTTP request head and its body (by Content-Length), or gives up after 2 s.
async fn read_request(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
            if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if seen.len() >= end + 4 + length {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
}

/// An HTTP/1.1 answer with a length and `Connection: close`.
pub fn http(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A JSON answer with status 200.
pub fn json(body: &str) -> Vec<u8> {
    http("200 OK", "application/json", body.as_bytes())
}
