//! TLS pieces shared by the AMQP and REST clients: PEM certificate files and the one
//! certificate verifier that can be lenient (no host name check, or no check at all).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// The crypto provider everywhere in the engine (ring: no C toolchain beyond `cc` needed).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why a certificate file could not be used; callers name the setting it came from.
pub(crate) enum PemProblem {
    Unreadable(std::io::Error),
    Invalid(String),
    Empty,
}

/// The certificates in a PEM file, at least one.
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemProblem> {
    let pem = std::fs::read(path).map_err(PemProblem::Unreadable)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PemProblem::Invalid(e.to_string()))?;
    if certs.is_empty() {
        return Err(PemProblem::Empty);
    }
    Ok(certs)
}

/// With `chain`, verifies the chain, validity dates and signatures and forgives only a name
/// mismatch (webpki checks the name last, so every other check has passed when that error
/// comes): what the official AMQP tools do. Without it, accepts any certificate (AMQP
/// `ssl_verify` off, REST `insecure`). Handshake signatures are checked either way, so the
/// connection is at least encrypted to whoever holds the presented key.
#[derive(Debug)]
pub(crate) struct LenientVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl LenientVerifier {
    pub(crate) fn chain_without_name(chain: Arc<WebPkiServerVerifier>, provider: Arc<CryptoProvider>) -> Self {
        Self { chain: Some(chain), provider }
    }

    pub(crate) fn accept_any(provider: Arc<CryptoProvider>) -> Self {
        Self { chain: None, provider }
    }
}

impl ServerCertVerifier for LenientVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
