//! TLS for the REST client: rustls on ring, verified against the system's roots plus an
//! optional CA file, or — only when the user opted in with `insecure` — not verified.

use crate::pki::{self, LenientVerifier, PemProblem};
use std::path::Path;
use std::sync::{Arc, Once};

use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::CertificateDer;
use rustls::ClientConfig;

use super::error::{RestError, RestErrorKind};

static INSECURE_WARNING: Once = Once::new();

/// The rustls configuration for `ca_file` and `insecure`.
pub fn client_config(ca_file: Option<&Path>, insecure: bool) -> Result<ClientConfig, RestError> {
    let provider = pki::provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(format!("TLS set-up failed: {e}")))?;
    let extra = match ca_file {
        Some(path) => load_ca_file(path)?,
        None => Vec::new(),
    };
    let verifier: Arc<dyn ServerCertVerifier> = if insecure {
        INSECURE_WARNING.call_once(|| {
            tracing::warn!("[rest] insecure = true: the server's certificate is not checked");
        });
        Arc::new(LenientVerifier::accept_any(provider))
    } else {
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
            .map_err(|e| setup(format!("cannot load the system's trusted certificates: {e}")))?;
        Arc::new(verifier)
    };
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

fn setup(message: String) -> RestError {
    RestError::new(RestErrorKind::Setup, "", message, "")
}

fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, RestError> {
    let shown = path.display();
    pki::read_certificates(path).map_err(|problem| match problem {
        PemProblem::Unreadable(e) => RestError::new(
            RestErrorKind::Setup,
            "",
            format!("cannot read [rest] ca_file {shown}: {e}"),
            "set [rest] ca_file to a readable PEM file, or remove it to use the system's CAs",
        ),
        PemProblem::Invalid(e) => setup(format!("[rest] ca_file {shown} is not valid PEM: {e}")),
        PemProblem::Empty => {
            setup(format!("[rest] ca_file {shown} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_is_named() {
        let e = client_config(Some(Path::new("/nonexistent/ca.pem")), false).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("[rest] ca_file /nonexistent/ca.pem"), "{text}");
    }

    #[test]
    fn ca_file_without_certificates_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let text = client_config(Some(&path), false).unwrap_err().to_string();
        assert!(text.contains("holds no PEM certificate"), "{text}");
    }

    #[test]
    fn system_roots_and_insecure_both_build() {
        client_config(None, false).unwrap();
        client_config(None, true).unwrap();
    }
}
