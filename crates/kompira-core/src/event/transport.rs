//! Opens the AMQP connection over a socket we create ourselves, so that we control the
//! connect timeout and the TLS verifier, and can report the socket addresses and TLS version
//! (`Connection OK: AMQPS(local->peer,TLSv1.3)`, the `ssl` header).

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_compat::Compat;
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{Connection, ConnectionProperties, ErrorKind};
use rustls::ClientConfig;
use tcp_stream::{AsyncTcpStream, RustlsConnector};

use super::error::{broker_reply, SendError, Stage};
use super::send::ConnectOptions;
use super::tls;

/// Where a connection went, for `--test-connection` and the `ssl` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// Our end of the TCP connection.
    pub local: SocketAddr,
    /// The broker's end.
    pub peer: SocketAddr,
    /// `Some("TLSv1.3")` on TLS connections.
    pub tls_version: Option<String>,
}

impl SessionInfo {
    /// `AMQP(127.0.0.1:40000->127.0.0.1:5672)` or `AMQPS(…,TLSv1.3)`, as the reference prints.
    pub fn describe(&self) -> String {
        match &self.tls_version {
            Some(version) => format!("AMQPS({}->{},{version})", self.local, self.peer),
            None => format!("AMQP({}->{})", self.local, self.peer),
        }
    }
}

/// What the socket closure learnt, shared with the caller (the closure runs on lapin's
/// I/O thread and can only hand back a lapin error).
#[derive(Default)]
struct Handshake {
    info: Option<SessionInfo>,
    error: Option<SendError>,
}

/// Connects, logs in and returns the connection with where it went. The whole sequence (TCP,
/// TLS, AMQP handshake) is bounded by `options.connect_timeout`.
pub async fn open(options: &ConnectOptions) -> Result<(Connection, SessionInfo), SendError> {
    let tls_config = options.tls.as_ref().map(tls::client_config).transpose()?;
    let endpoint = format!("{}:{}", options.server, options.port);
    let shared = Arc::new(Mutex::new(Handshake::default()));
    let runtime = lapin::runtime::default_runtime()
        .map_err(|e| SendError::fatal(Stage::Connect, format!("no async runtime: {e}")))?;

    let socket_state = shared.clone();
    let timeout = options.connect_timeout;
    // The socket steps (TCP, TLS) end by `deadline` on lapin's I/O thread; the whole handshake
    // is given a little longer, so that a socket step always times out by itself first. Were
    // the caller to give up first, lapin's thread would still sit in a tokio timer when the
    // caller's runtime shuts down, and that panics.
    let deadline = tokio::time::Instant::now() + timeout;
    let connect = async move |uri: AMQPUri, _runtime| {
        let result = open_socket(&uri, tls_config.clone(), timeout, deadline).await;
        let mut state = socket_state.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok((stream, info)) => {
                state.info = Some(info);
                Ok(stream)
            }
            Err(err) => {
                let io_error = io::Error::other(err.message().to_owned());
                state.error = Some(err);
                Err(lapin::Error::from(io_error))
            }
        }
    };
    let properties = ConnectionProperties::default()
        .with_connection_name(format!("kompira-tray/{}", env!("CARGO_PKG_VERSION")).into());
    let handshake = Connection::connector(amqp_uri(options), runtime, connect, properties);

    let outcome = tokio::time::timeout_at(deadline + SOCKET_STEP_MARGIN, handshake).await;
    let mut state = shared.lock().unwrap_or_else(|p| p.into_inner());
    match outcome {
        Ok(Ok(connection)) => {
            let info = state
                .info
                .take()
                .ok_or_else(|| SendError::fatal(Stage::Connect, "connected without a socket (internal error)"))?;
            Ok((connection, info))
        }
        Ok(Err(err)) => Err(state.error.take().unwrap_or_else(|| classify_handshake_error(&err, &endpoint))),
        Err(_elapsed) => Err(state.error.take().unwrap_or_else(|| {
            SendError::transient(
                Stage::Connect,
                format!(
                    "{endpoint} did not complete the AMQP handshake within {} s \
                     (is it an AMQP broker? raise [amqp-connection] connect_timeout if it is slow)",
                    options.connect_timeout.as_secs_f32()
                ),
            )
        })),
    }
}

fn amqp_uri(options: &ConnectOptions) -> AMQPUri {
    AMQPUri {
        scheme: if options.tls.is_some() { AMQPScheme::AMQPS } else { AMQPScheme::AMQP },
        authority: AMQPAuthority {
            userinfo: AMQPUserInfo { username: options.user.clone(), password: options.password.expose().to_owned() },
            host: options.server.clone(),
            port: options.port,
        },
        vhost: "/".into(),
        query: AMQPQueryString {
            heartbeat: Some(options.heartbeat_secs),
            frame_max: Some(options.frame_max),
            ..AMQPQueryString::default()
        },
    }
}

type Socket = AsyncTcpStream<Compat<tokio::net::TcpStream>>;

/// How much longer than the socket steps' deadline the whole handshake may take (see `open`).
const SOCKET_STEP_MARGIN: Duration = Duration::from_millis(500);

async fn open_socket(
    uri: &AMQPUri,
    tls_config: Option<Arc<ClientConfig>>,
    timeout: Duration,
    deadline: tokio::time::Instant,
) -> Result<(Socket, SessionInfo), SendError> {
    let host = uri.authority.host.as_str();
    let endpoint = format!("{host}:{}", uri.authority.port);
    let tcp = tokio::time::timeout_at(deadline, connect_tcp(host, uri.authority.port))
        .await
        .map_err(|_| {
            SendError::transient(
                Stage::Connect,
                format!("no answer from {endpoint} within {} s", timeout.as_secs_f32()),
            )
        })?
        .map_err(|e| SendError::transient(Stage::Connect, format!("{endpoint}: {e}")))?;
    // Events are single small messages: send them now rather than waiting for more data.
    let _ = tcp.set_nodelay(true);
    let local = tcp.local_addr().map_err(|e| SendError::transient(Stage::Connect, e.to_string()))?;
    let peer = tcp.peer_addr().map_err(|e| SendError::transient(Stage::Connect, e.to_string()))?;
    let plain = Compat::new(tcp);

    let Some(config) = tls_config else {
        let info = SessionInfo { local, peer, tls_version: None };
        return Ok((AsyncTcpStream::Plain(plain), info));
    };
    let handshake = RustlsConnector::from(config).connect_async(host, plain);
    let stream = tokio::time::timeout_at(deadline, handshake)
        .await
        .map_err(|_| {
            SendError::transient(
                Stage::Connect,
                format!("TLS handshake with {endpoint} did not finish within {} s", timeout.as_secs_f32()),
            )
        })?
        .map_err(|e| classify_tls_error(e, &endpoint))?;
    let tls_version = stream.get_ref().1.protocol_version().map(tls::protocol_name);
    let info = SessionInfo { local, peer, tls_version };
    Ok((AsyncTcpStream::Rustls(stream), info))
}

/// RFC 6761 §6.3: `localhost` is the loopback address, so the default server needs no
/// resolver (a thread and four file reads per send). Should nothing listen on 127.0.0.1, the
/// resolver gets its say (e.g. a broker bound to `::1` only).
async fn connect_tcp(host: &str, port: u16) -> io::Result<tokio::net::TcpStream> {
    if host.eq_ignore_ascii_case("localhost") {
        if let Ok(tcp) = tokio::net::TcpStream::connect((std::net::Ipv4Addr::LOCALHOST, port)).await {
            return Ok(tcp);
        }
    }
    tokio::net::TcpStream::connect((host, port)).await
}

/// Certificate and protocol errors will not heal by themselves; a dropped connection may.
fn classify_tls_error(error: io::Error, endpoint: &str) -> SendError {
    let message = format!("TLS handshake with {endpoint} failed: {error}");
    match error.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => SendError::fatal(Stage::Connect, message),
        _ => SendError::transient(Stage::Connect, message),
    }
}

/// Errors after the socket is up: a refused login or vhost is fatal; I/O trouble is transient.
fn classify_handshake_error(error: &lapin::Error, endpoint: &str) -> SendError {
    match error.kind() {
        ErrorKind::ProtocolError(reply) => broker_reply(Stage::Connect, reply),
        ErrorKind::IOError(io) if is_refused_login(io) => SendError::fatal(
            Stage::Connect,
            format!(
                "{endpoint} closed the connection during login: the user or password was \
                 probably refused (check [amqp-connection] user and password)"
            ),
        ),
        ErrorKind::IOError(_) => SendError::transient(Stage::Connect, format!("{endpoint}: {error}")),
        _ => SendError::fatal(Stage::Connect, format!("{endpoint}: {error}")),
    }
}

/// RabbitMQ answers a bad password by closing the socket right after the login frame.
fn is_refused_login(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionAborted
    )
}
