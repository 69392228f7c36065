//! TLS for the REST client: rustls on ring, verified against the system's roots plus an
//! optional CA file, or — only when the user opted in with `insecure` — not verified.
//!
//! A plain `http://` server needs no certificates, so its client never reads the system's
//! store. Where that store cannot be read (seen under Wine: "unexpected error: Invalid
//! parameter"), an `https://` client falls back to the Mozilla root set built into the program,
//! plus `[rest] ca_file`, with a warning instead of refusing to work.

use crate::pki::{self, LenientVerifier, PemProblem};
use std::path::Path;
use std::sync::{Arc, Once};

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::error::{RestError, RestErrorKind};

static INSECURE_WARNING: Once = Once::new();
static BUNDLED_ROOTS_WARNING: Once = Once::new();

/// Which server the client talks to, as far as TLS cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// The rustls configuration for `ca_file` and `insecure`.
pub fn client_config(scheme: Scheme, ca_file: Option<&Path>, insecure: bool) -> Result<ClientConfig, RestError> {
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
    } else if scheme == Scheme::Http {
        // Redirects are never followed, so this verifier is never asked: an http client must
        // work where the system's store cannot be read.
        bundled_roots_verifier(extra, provider)?
    } else {
        let system = rustls_platform_verifier::Verifier::new_with_extra_roots(extra.clone(), provider.clone())
            .map(|verifier| Arc::new(verifier) as Arc<dyn ServerCertVerifier>)
            .map_err(|e| e.to_string());
        verifier_or_bundled(system, extra, provider)?
    };
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

/// The system's verifier, or — when the system's store could not be read — the bundled roots,
/// said once in the log.
fn verifier_or_bundled(
    system: Result<Arc<dyn ServerCertVerifier>, String>,
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, RestError> {
    match system {
        Ok(verifier) => Ok(verifier),
        Err(why) => {
            let with_ca_file = if extra.is_empty() { "" } else { " and [rest] ca_file" };
            BUNDLED_ROOTS_WARNING.call_once(|| {
                tracing::warn!(
                    "cannot read the system's trusted certificates ({why}); \
                     checking the server against the Mozilla root set built into this program{with_ca_file}"
                );
            });
            bundled_roots_verifier(extra, provider)
        }
    }
}

/// Mozilla's roots (webpki-roots) plus the user's CA file.
fn bundled_roots_verifier(
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, RestError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for cert in extra {
        roots.add(cert).map_err(|e| setup(format!("[rest] ca_file holds a certificate that cannot be a root: {e}")))?;
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| setup(format!("TLS set-up failed: {e}")))?;
    Ok(verifier)
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
        let e = client_config(Scheme::Https, Some(Path::new("/nonexistent/ca.pem")), false).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("[rest] ca_file /nonexistent/ca.pem"), "{text}");
    }

    #[test]
    fn ca_file_without_certificates_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let text = client_config(Scheme::Https, Some(&path), false).unwrap_err().to_string();
        assert!(text.contains("holds no PEM certificate"), "{text}");
    }

    #[test]
    fn system_roots_and_insecure_both_build() {
        client_config(Scheme::Https, None, false).unwrap();
        client_config(Scheme::Https, None, true).unwrap();
        client_config(Scheme::Http, None, false).unwrap();
    }

    #[test]
    fn an_unreadable_system_store_falls_back_to_the_bundled_roots_and_the_ca_file() {
        use rustls::pki_types::{ServerName, UnixTime};
        let (ca, leaf) = ca_and_leaf("kompira.test");
        let name = ServerName::try_from("kompira.test").unwrap();
        let unreadable = || Err("unexpected error: Invalid parameter".to_owned());

        let with_ca_file = verifier_or_bundled(unreadable(), vec![ca], pki::provider()).unwrap();
        with_ca_file.verify_server_cert(&leaf, &[], &name, &[], UnixTime::now()).unwrap();

        // Without the CA file the bundled (public) roots do not know our CA: still checked.
        let bundled_only = verifier_or_bundled(unreadable(), Vec::new(), pki::provider()).unwrap();
        let refused = bundled_only.verify_server_cert(&leaf, &[], &name, &[], UnixTime::now()).unwrap_err();
        assert!(refused.to_string().contains("UnknownIssuer"), "{refused}");
    }

    /// A self-made CA, as a user's `[rest] ca_file` holds, and a server certificate it signed.
    fn ca_and_leaf(host: &str) -> (CertificateDer<'static>, CertificateDer<'static>) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec![host.to_owned()]).unwrap().signed_by(&leaf_key, &issuer).unwrap();
        (ca.der().clone(), leaf.der().clone())
    }
}
