//! The REST client's TLS against the stand-in serving HTTPS with a certificate from a private
//! CA made for this run: verified with `[rest] ca_file`, refused without it (with a message that
//! names the settings), accepted with the explicit `insecure` opt-in.

use std::time::Duration;

use kompira_core::rest::{Client, RestSettings};
use kompira_core::secret::Secret;
use kompira_sim::{Definitions, SimConfig, SimTls};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

const TOKEN: &str = "tls-token";
const CHANNEL: &str = "/system/channels/Alert";

struct Pki {
    ca_pem: String,
    server: SimTls,
}

fn private_pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "Kompira Tray test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let server = server_params.signed_by(&server_key, &issuer).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: SimTls { cert_pem: server.pem().into_bytes(), key_pem: server_key.serialize_pem().into_bytes() },
    }
}

async fn https_sim(tls: SimTls) -> kompira_sim::SimHandle {
    kompira_sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.into(),
        amqp_url: None,
        definitions: Definitions::builtin(),
        tls: Some(tls),
    })
    .await
    .unwrap()
}

fn client(base_url: &str, ca_file: Option<std::path::PathBuf>, insecure: bool) -> Client {
    Client::new(&RestSettings {
        url: base_url.into(),
        token: Secret::new(TOKEN),
        ca_file,
        insecure,
        timeout: Duration::from_secs(10),
    })
    .unwrap()
}

#[tokio::test]
async fn a_private_ca_file_verifies_the_server() {
    let pki = private_pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let sim = https_sim(pki.server).await;
    assert!(sim.base_url.starts_with("https://"));
    let object = client(&sim.base_url, Some(ca_file), false).get_object(CHANNEL).await;
    sim.shutdown().await;
    assert_eq!(object.unwrap().abspath, CHANNEL);
}

#[tokio::test]
async fn an_unknown_ca_is_refused_with_a_message_naming_the_settings() {
    let pki = private_pki();
    let sim = https_sim(pki.server).await;
    let error = client(&sim.base_url, None, false).get_object(CHANNEL).await.unwrap_err();
    sim.shutdown().await;
    let message = error.to_string();
    assert!(message.contains("ca_file"), "{message}");
    assert!(!error.is_transient(), "a certificate problem does not heal by retrying: {message}");
}

#[tokio::test]
async fn insecure_accepts_the_self_signed_server() {
    let pki = private_pki();
    let sim = https_sim(pki.server).await;
    let object = client(&sim.base_url, None, true).get_object(CHANNEL).await;
    sim.shutdown().await;
    assert_eq!(object.unwrap().abspath, CHANNEL);
}

#[tokio::test]
async fn an_unreadable_ca_file_is_reported_by_name() {
    let error = Client::new(&RestSettings {
        url: "https://127.0.0.1:1".into(),
        token: Secret::new(TOKEN),
        ca_file: Some("/nonexistent/ca.pem".into()),
        insecure: false,
        timeout: Duration::from_secs(1),
    })
    .expect_err("a missing CA file is an error");
    assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
}
