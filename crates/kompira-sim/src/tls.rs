//! HTTPS for the stand-in, so clients' certificate handling (a private CA, `insecure`) is tested
//! against a real TLS server. A listener that finishes each TLS handshake before handing the
//! connection to axum; a failed handshake (a client that refuses our certificate) is logged and
//! skipped, as a real server would.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::SimError;

/// A handshake that takes longer than this is abandoned (a client that connects and stalls).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's certificate chain and key, PEM.
#[derive(Clone, Debug)]
pub struct SimTls {
    /// Certificate chain, leaf first.
    pub cert_pem: Vec<u8>,
    /// Private key of the leaf.
    pub key_pem: Vec<u8>,
}

impl SimTls {
    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor, SimError> {
        let bad = |message: String| SimError::Tls { message };
        let chain = CertificateDer::pem_slice_iter(&self.cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("certificate PEM: {e}")))?;
        if chain.is_empty() {
            return Err(bad("no certificate in the certificate PEM".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem).map_err(|e| bad(format!("key PEM: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| bad(format!("certificate and key: {e}")))?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

pub(crate) struct TlsListener {
    pub(crate) tcp: TcpListener,
    pub(crate) acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (tcp, peer) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => return (stream, peer),
                Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
