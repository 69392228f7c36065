//! The few W3C WebDriver calls the suite needs, over plain HTTP to `tauri-driver`. Every call
//! has a time limit, and every error names the call and the driver's own message.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

/// The W3C key of an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Starting the app (a debug build, software rendering) is the slow call.
const NEW_SESSION_TIMEOUT_SECS: u64 = 90;
const CALL_TIMEOUT_SECS: u64 = 30;

/// One WebDriver session: one running app.
pub struct Session {
    http: reqwest::Client,
    base: String,
    id: String,
}

/// An element of the page, valid while the page lives.
#[derive(Clone, Debug)]
pub struct Element(String);

/// A WebDriver error: the driver's `error` code (e.g. `no such element`) and the whole sentence.
#[derive(Debug)]
pub struct DriverError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

type Result<T> = std::result::Result<T, DriverError>;

impl Session {
    /// Asks the driver on `port` to start `application` with `args` and drive its window.
    pub async fn start(port: u16, application: &Path, args: &[&str]) -> Result<Self> {
        // reqwest is built without a default TLS provider in this workspace; plain HTTP still
        // builds a TLS config, so give it ring (a no-op when already installed).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().build().map_err(|e| failure("build the HTTP client", e))?;
        let mut session = Self { http, base: format!("http://127.0.0.1:{port}"), id: String::new() };
        let capabilities = json!({"capabilities": {"alwaysMatch": {"tauri:options": {
            "application": application, "args": args,
        }}}});
        let answer =
            session.call(reqwest::Method::POST, "/session", Some(capabilities), NEW_SESSION_TIMEOUT_SECS).await?;
        session.id = answer["sessionId"]
            .as_str()
            .ok_or_else(|| DriverError {
                code: "bad answer".into(),
                message: format!("new session: no sessionId in {answer}"),
            })?
            .to_owned();
        Ok(session)
    }

    /// The first element matching `css`, or `None`.
    pub async fn find(&self, css: &str) -> Result<Option<Element>> {
        match self.post("/element", json!({"using": "css selector", "value": css})).await {
            Ok(value) => Ok(Some(element(&value)?)),
            Err(e) if e.code == "no such element" => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn click(&self, element: &Element) -> Result<()> {
        self.post(&format!("/element/{}/click", element.0), json!({})).await.map(drop)
    }

    pub async fn clear(&self, element: &Element) -> Result<()> {
        self.post(&format!("/element/{}/clear", element.0), json!({})).await.map(drop)
    }

    /// Types `text` into the element as key presses.
    pub async fn send_keys(&self, element: &Element, text: &str) -> Result<()> {
        self.post(&format!("/element/{}/value", element.0), json!({"text": text})).await.map(drop)
    }

    /// The rendered text (what a user sees; empty for hidden elements).
    pub async fn text(&self, element: &Element) -> Result<String> {
        let value = self.get(&format!("/element/{}/text", element.0)).await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// A DOM property such as `value` or `hidden`.
    pub async fn property(&self, element: &Element, name: &str) -> Result<Value> {
        self.get(&format!("/element/{}/property/{name}", element.0)).await
    }

    pub async fn is_displayed(&self, element: &Element) -> Result<bool> {
        Ok(self.get(&format!("/element/{}/displayed", element.0)).await?.as_bool().unwrap_or(false))
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page; its return value.
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value> {
        self.post("/execute/sync", json!({"script": script, "args": args})).await
    }

    /// Runs `script` asynchronously: it ends by calling `arguments[arguments.length - 1](value)`.
    pub async fn execute_async(&self, script: &str, args: Value) -> Result<Value> {
        self.post("/execute/async", json!({"script": script, "args": args})).await
    }

    /// A PNG of the window's page. The window must be shown: on a hidden one the driver hangs.
    pub async fn screenshot(&self) -> Result<Vec<u8>> {
        let value = self.get("/screenshot").await?;
        base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap_or_default())
            .map_err(|e| failure("decode the screenshot", e))
    }

    /// Ends the session, which closes the app.
    pub async fn end(&self) -> Result<()> {
        let path = format!("/session/{}", self.id);
        self.call(reqwest::Method::DELETE, &path, None, CALL_TIMEOUT_SECS).await.map(drop)
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let path = format!("/session/{}{path}", self.id);
        self.call(reqwest::Method::GET, &path, None, CALL_TIMEOUT_SECS).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let path = format!("/session/{}{path}", self.id);
        self.call(reqwest::Method::POST, &path, Some(body), CALL_TIMEOUT_SECS).await
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>, timeout_secs: u64) -> Result<Value> {
        let what = format!("{method} {path}");
        let mut request =
            self.http.request(method, format!("{}{path}", self.base)).timeout(Duration::from_secs(timeout_secs));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| failure(&what, timeout_hint(e, timeout_secs)))?;
        let status = response.status();
        let answer: Value = response.json().await.map_err(|e| failure(&what, e))?;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let code = value["error"].as_str().unwrap_or("unknown error").to_owned();
        let detail = value["message"].as_str().unwrap_or_default();
        Err(DriverError { message: format!("WebDriver {what}: {code}: {detail}"), code })
    }
}

fn element(value: &Value) -> Result<Element> {
    value[ELEMENT_KEY]
        .as_str()
        .map(|id| Element(id.to_owned()))
        .ok_or_else(|| DriverError { code: "bad answer".into(), message: format!("not an element reference: {value}") })
}

fn failure(what: &str, e: impl std::fmt::Display) -> DriverError {
    DriverError { code: "client error".into(), message: format!("WebDriver {what}: {e}") }
}

fn timeout_hint(e: reqwest::Error, secs: u64) -> String {
    if e.is_timeout() {
        format!("no answer within {secs} s (is the window hidden, or the app hung?)")
    } else {
        e.to_string()
    }
}
