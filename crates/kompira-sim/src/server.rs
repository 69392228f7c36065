//! Wiring: bind, serve, start the consumer, shut both down.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::state::{Shared, Stats};
use crate::tls::{SimTls, TlsListener};
use crate::{amqp, http, Definitions, SimError};

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free port (tests use `127.0.0.1:0`).
    pub listen: SocketAddr,
    /// The one REST API token accepted.
    pub token: String,
    /// Broker to consume `io_queue` from; `None` serves HTTP only.
    pub amqp_url: Option<String>,
    /// The object tree.
    pub definitions: Definitions,
    /// Serve HTTPS with this certificate instead of plain HTTP.
    pub tls: Option<SimTls>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: "kompira-sim-token".to_string(),
            amqp_url: None,
            definitions: Definitions::builtin(),
            tls: None,
        }
    }
}

/// A running simulator. Dropping it without [`SimHandle::shutdown`] leaves
/// the tasks running until the runtime ends.
pub struct SimHandle {
    /// `http://127.0.0.1:PORT` (`https://` with TLS), without a trailing slash.
    pub base_url: String,
    /// The accepted token.
    pub token: String,
    /// The bound address.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    consumer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// Starts serving. Returns once the listener is bound and, with an
/// `amqp_url`, once the first attempt to subscribe to `io_queue` has
/// finished: subscribed, or failed and retrying in the background (see
/// [`Stats::amqp_connected`]), so a dead broker never stops the HTTP side.
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    start_on_queue(config, amqp::IO_QUEUE).await
}

/// [`start`], consuming `queue` instead of `io_queue`: for fault tests that must not share
/// their events with other suites' stand-ins on the same broker.
pub async fn start_on_queue(config: SimConfig, queue: &str) -> Result<SimHandle, SimError> {
    // Checked before binding, so a bad certificate never leaves a half-started server.
    let acceptor = config.tls.as_ref().map(SimTls::acceptor).transpose()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| SimError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| SimError::Listen { addr: config.listen, source })?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let shared = Arc::new(Shared::new(&config.definitions, config.token.clone(), shutdown_rx.clone()));
    let app = axum::Router::new().fallback(http::handle).with_state(shared.clone());
    let stop = shutdown_rx.clone();
    let (server, scheme) = match acceptor {
        Some(acceptor) => (spawn_server(TlsListener { tcp: listener, acceptor }, app, stop), "https"),
        None => (spawn_server(listener, app, stop), "http"),
    };
    let consumer = match config.amqp_url {
        Some(url) => {
            let (ready_tx, ready_rx) = oneshot::channel();
            let task = tokio::spawn(amqp::run(url, queue.to_owned(), shared.clone(), shutdown_rx, ready_tx));
            let _ = ready_rx.await;
            Some(task)
        }
        None => None,
    };
    Ok(SimHandle {
        base_url: format!("{scheme}://{addr}"),
        token: config.token,
        addr,
        shared,
        shutdown,
        server,
        consumer,
    })
}

/// The client's address, for plain and TLS listeners alike (axum only provides `SocketAddr`
/// for its own TCP listener).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peer(pub(crate) SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

fn spawn_server<L>(listener: L, app: axum::Router, mut stop: watch::Receiver<bool>) -> JoinHandle<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    for<'a> Peer: axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    tokio::spawn(async move {
        let serve = axum::serve(listener, app.into_make_service_with_connect_info::<Peer>()).with_graceful_shutdown(
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
        );
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    })
}

impl SimHandle {
    /// Stops serving and, when consuming, closes the AMQP connection (so no
    /// later `io_queue` message is taken) before returning.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Some(c) = self.consumer {
            let _ = c.await;
        }
        let _ = self.server.await;
    }

    /// A snapshot of the counters also served at `/_sim/stats`.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }
}
