//! TLS for AMQPS the way the official tool does it: with `ssl_verify`, the server chain is
//! checked against the CA file and a client certificate is presented, but the host name is
//! not checked (Kompira's broker certificates name the server, not the address users type);
//! without `ssl_verify`, the connection is encrypted but the server is not authenticated.

use crate::pki::{self, LenientVerifier, PemProblem};
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::error::{SendError, Stage};
use super::send::{ClientPki, TlsOptions};

/// Builds the rustls configuration, reading and checking every file first so a missing or
/// unreadable file is reported by name before any network traffic.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, SendError> {
    let provider = pki::provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| setup_error(format!("TLS set-up failed: {e}")))?;
    let config = match &options.verify {
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(LenientVerifier::accept_any(provider)))
            .with_no_client_auth(),
        Some(pki) => {
            let chain = chain_verifier(pki, provider.clone())?;
            let certificates = load_certificates(&pki.cert_file, "client certificate")?;
            let key = load_private_key(&pki.key_file)?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(LenientVerifier::chain_without_name(chain, provider)))
                .with_client_auth_cert(certificates, key)
                .map_err(|e| {
                    setup_error(format!(
                        "client certificate {} does not match key {}: {e}",
                        pki.cert_file.display(),
                        pki.key_file.display()
                    ))
                })?
        }
    };
    Ok(Arc::new(config))
}

fn setup_error(message: String) -> SendError {
    SendError::fatal(Stage::Setup, message)
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, SendError> {
    std::fs::read(path).map_err(|e| setup_error(format!("cannot read {what} {}: {e}", path.display())))
}

fn load_certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, SendError> {
    pki::read_certificates(path).map_err(|problem| {
        setup_error(match problem {
            PemProblem::Unreadable(e) => format!("cannot read {what} {}: {e}", path.display()),
            PemProblem::Invalid(e) => format!("{what} {} is not valid PEM: {e}", path.display()),
            PemProblem::Empty => format!("{what} {} holds no PEM certificate", path.display()),
        })
    })
}

fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, SendError> {
    let pem = read_file(path, "client key")?;
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| setup_error(format!("client key {} holds no usable PEM private key: {e}", path.display())))
}

fn chain_verifier(pki: &ClientPki, provider: Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>, SendError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certificates(&pki.ca_file, "CA file")? {
        roots.add(cert).map_err(|e| setup_error(format!("CA file {}: {e}", pki.ca_file.display())))?;
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| setup_error(format!("CA file {}: {e}", pki.ca_file.display())))
}

/// The protocol name as Python's `SSLSocket.version()` prints it.
pub fn protocol_name(version: rustls::ProtocolVersion) -> String {
    match version {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn pki(dir: &Path) -> ClientPki {
        ClientPki { ca_file: dir.join("ca.crt"), cert_file: dir.join("client.crt"), key_file: dir.join("client.key") }
    }

    #[test]
    fn missing_ca_file_is_named_in_the_error() {
        let dir = PathBuf::from("/nonexistent-kompira-test");
        let err = client_config(&TlsOptions { verify: Some(pki(&dir)) }).unwrap_err();
        assert!(err.to_string().contains("cannot read CA file /nonexistent-kompira-test/ca.crt"));
        assert!(!err.is_transient());
    }

    #[test]
    fn a_file_without_pem_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.crt"), "not a certificate").unwrap();
        let err = client_config(&TlsOptions { verify: Some(pki(dir.path())) }).unwrap_err();
        assert!(err.to_string().contains("holds no PEM certificate"), "{err}");
    }

    #[test]
    fn without_verification_no_file_is_needed() {
        assert!(client_config(&TlsOptions { verify: None }).is_ok());
    }

    #[test]
    fn protocol_names_match_python() {
        assert_eq!(protocol_name(rustls::ProtocolVersion::TLSv1_3), "TLSv1.3");
        assert_eq!(protocol_name(rustls::ProtocolVersion::TLSv1_2), "TLSv1.2");
    }
}
