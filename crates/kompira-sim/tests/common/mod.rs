#![allow(dead_code)]

use kompira_sim::{Definitions, SimConfig, SimHandle};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const TOKEN: &str = "test-token";

/// A reqwest builder that works in this workspace: reqwest is built with `rustls-no-provider`
/// (kompira-core hands it a ring-based TLS config), so a plain `reqwest::Client::new()` would
/// panic for want of a process-wide crypto provider. Installing ring first avoids that.
pub fn http_builder() -> reqwest::ClientBuilder {
    // Err only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

pub async fn sim(amqp_url: Option<String>) -> SimHandle {
    kompira_sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.to_string(),
        amqp_url,
        definitions: Definitions::builtin(),
        tls: None,
    })
    .await
    .expect("sim starts")
}

/// An authenticated JSON request; `body` None sends no body. An empty answer is `null`.
pub async fn call(sim: &SimHandle, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = http_builder()
        .build()
        .unwrap()
        .request(method, format!("{}{}", sim.base_url, path))
        .header("Accept", "application/json")
        .header("Authorization", format!("Token {TOKEN}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    // `.send`, `.submit` and timeouts answer with an empty body: shown as null.
    let body = resp.bytes().await.expect("body");
    let v = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).expect("json body") };
    (status, v)
}

pub async fn get(sim: &SimHandle, path: &str) -> (StatusCode, Value) {
    call(sim, Method::GET, path, None).await
}

pub async fn post(sim: &SimHandle, path: &str, body: Value) -> (StatusCode, Value) {
    call(sim, Method::POST, path, Some(body)).await
}
