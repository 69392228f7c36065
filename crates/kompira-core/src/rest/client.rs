//! The REST client: one method per Kompira operation the tools use.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::error::{RestError, RestErrorKind};
use super::tls;
use super::types::{ExecuteRequest, KompiraObject, Page, Process};
use crate::secret::Secret;

/// Seconds allowed to open a TCP + TLS connection, whatever the request.
const CONNECT_TIMEOUT_SECS: u64 = 10;
/// Extra seconds a long poll (`.wait`, `.recv`) may take beyond the server-side timeout.
const LONG_POLL_MARGIN_SECS: u64 = 15;
/// Largest answer read into memory.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Pages followed by one listing before it is taken to be a loop.
const MAX_PAGES: usize = 10_000;
/// The type filter for job flows.
const JOBFLOW_TYPE: &str = "/system/types/Jobflow";

/// Where the server is and how to reach it; usually from `Settings::rest()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestSettings {
    /// Base URL, e.g. `https://kompira.example.com`.
    pub url: String,
    /// The user's REST API token.
    pub token: Secret,
    /// An extra CA (PEM) trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (explicit opt-in for test servers).
    pub insecure: bool,
    /// Overall limit for an ordinary request.
    pub timeout: Duration,
}

/// A connection to one Kompira server as one user.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    origin: String,
    timeout: Duration,
    /// Whether a token is sent: without one Kompira answers 403, which then says so.
    has_token: bool,
}

/// Whether a request sends a JSON body.
pub(super) enum Body<'a> {
    None,
    Json(&'a Value),
}

impl Client {
    /// Builds a client; nothing is sent yet. Fails on a URL that is not http(s) or a CA file
    /// that cannot be used.
    pub fn new(settings: &RestSettings) -> Result<Client, RestError> {
        let base = parse_base(&settings.url)?;
        let origin = base.origin().ascii_serialization();
        let mut auth = HeaderValue::from_str(&format!("Token {}", settings.token.expose())).map_err(|_| {
            RestError::new(
                RestErrorKind::Setup,
                "",
                "[rest] token contains characters that cannot be sent in a header",
                "copy the token again from your Kompira user settings",
            )
        })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        let has_token = !settings.token.expose().trim().is_empty();
        if has_token {
            headers.insert(AUTHORIZATION, auth);
        }
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let tls = tls::client_config(tls_scheme(&base), settings.ca_file.as_deref(), settings.insecure)?;
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_SECS).min(settings.timeout))
            .timeout(settings.timeout)
            // A redirect to another host would carry the token there.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kompira-tray/", env!("CARGO_PKG_VERSION")))
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| RestError::new(RestErrorKind::Setup, "", format!("cannot set up HTTP: {e}"), ""))?;
        Ok(Client { http, base, origin, timeout: settings.timeout, has_token })
    }

    /// The server's origin (`https://host:port`), for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Starts a job flow; returns the new process path, e.g. `/process/id_262`.
    pub async fn execute(&self, jobflow: &str, req: &ExecuteRequest) -> Result<String, RestError> {
        let body = serde_json::to_value(req).expect("plain data serializes");
        let path = format!("{}.execute", object_path(jobflow));
        let answer: Value = self.call(Method::POST, &path, Body::Json(&body), "job flow", None).await?;
        match answer {
            Value::String(process) => Ok(process),
            // Some servers answer with the process object instead of its path.
            Value::Object(ref map) if map.get("abspath").is_some_and(Value::is_string) => {
                Ok(map["abspath"].as_str().unwrap_or_default().to_owned())
            }
            other => {
                Err(RestError::invalid_answer(&path, other.to_string().as_bytes(), "expected the new process path"))
            }
        }
    }

    /// The current state of a process (`262`, `id_262` or `/process/id_262`).
    pub async fn process(&self, path_or_id: &str) -> Result<Process, RestError> {
        let path = process_path(path_or_id)?;
        let answer: Value = self.call(Method::GET, &path, Body::None, "process", None).await?;
        as_process(&path, answer)
    }

    /// Waits up to `timeout` (whole seconds) for a process to finish; `None` when it has not.
    pub async fn wait(&self, process: &str, timeout: Duration) -> Result<Option<Process>, RestError> {
        let path = format!("{}.wait", process_path(process)?);
        let body = json!({ "timeout": timeout.as_secs() });
        match self.long_poll::<Value>(&path, &body, "process", timeout).await? {
            Some(answer) => as_process(&path, answer).map(Some),
            None => Ok(None),
        }
    }

    /// Asks the server to stop a process; its answer (whether it did).
    pub async fn terminate(&self, process: &str) -> Result<bool, RestError> {
        let path = format!("{}.terminate", process_path(process)?);
        let answer: Value = self.call(Method::POST, &path, Body::Json(&json!({})), "process", None).await?;
        answer
            .as_bool()
            .ok_or_else(|| RestError::invalid_answer(&path, answer.to_string().as_bytes(), "expected true or false"))
    }

    /// Any object by path.
    pub async fn get_object(&self, path: &str) -> Result<KompiraObject, RestError> {
        self.call(Method::GET, &object_path(path), Body::None, "object", None).await
    }

    /// The raw JSON at a path (an object, a process, a list page).
    pub async fn get_json(&self, path: &str) -> Result<Value, RestError> {
        self.call(Method::GET, &object_path(path), Body::None, "object", None).await
    }

    /// Every job flow below a directory, following all pages.
    pub async fn list_jobflows(&self, dir: &str) -> Result<Vec<KompiraObject>, RestError> {
        let path = format!("{}.descendant", object_path(dir));
        let mut url = self.url(&path);
        url.query_pairs_mut().append_pair("type_object", JOBFLOW_TYPE);
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            if !seen.insert(url.to_string()) || seen.len() > MAX_PAGES {
                return Err(RestError::new(
                    RestErrorKind::InvalidAnswer,
                    &path,
                    format!("the listing of {dir} does not end: its `next` links loop or exceed {MAX_PAGES} pages"),
                    "report this to the Kompira server's administrator",
                ));
            }
            let page: Page<KompiraObject> =
                self.call(Method::GET, &path, Body::None, "directory", Some(url.clone())).await?;
            all.extend(page.results);
            match page.next.filter(|n| !n.is_empty()) {
                Some(next) => url = self.rebase(&next, &path)?,
                None => return Ok(all),
            }
        }
    }

    /// Queues a message (any JSON value) on a channel. Kompira 1.6 answers an empty 200.
    pub async fn send(&self, channel: &str, message: &Value) -> Result<(), RestError> {
        let path = format!("{}.send", object_path(channel));
        self.call_without_answer(Method::POST, &path, Body::Json(message), "channel").await
    }

    /// A call whose success answer carries nothing we use: Kompira 1.6 answers `.send`,
    /// `.submit` and `.cancel` with an empty 200, other servers with some JSON. Either is
    /// success; only a 2xx status is (a 302 for a missing `Accept` never is).
    pub(super) async fn call_without_answer(
        &self,
        method: Method,
        path: &str,
        body: Body<'_>,
        what: &str,
    ) -> Result<(), RestError> {
        let mut response = self.send_request(method, path, body, None, self.timeout).await?;
        let status = response.status();
        let answer = self.read_body(&mut response, path, self.timeout).await?;
        if !status.is_success() {
            return Err(self.status_error(status, path, &answer, what));
        }
        Ok(())
    }

    /// How many messages wait on a channel, read without taking any (Kompira 1.6 keeps the count
    /// in `extra_properties.message_count`). An error when the object has no count (not a
    /// channel, or a server that does not tell).
    pub async fn channel_depth(&self, channel: &str) -> Result<u64, RestError> {
        let path = object_path(channel);
        let object: Value = self.call(Method::GET, &path, Body::None, "channel", None).await?;
        message_count(&object).ok_or_else(|| {
            RestError::new(
                RestErrorKind::InvalidAnswer,
                &path,
                format!("{path} has no message count; is it a channel?"),
                "name a channel (type /system/types/Channel), e.g. /system/channels/Alert",
            )
        })
    }

    /// Takes the first message off a channel, waiting up to `timeout` (whole seconds);
    /// `None` when none came.
    pub async fn recv(&self, channel: &str, timeout: Duration) -> Result<Option<Value>, RestError> {
        let path = format!("{}.recv", object_path(channel));
        let body = json!({ "timeout": timeout.as_secs() });
        self.long_poll(&path, &body, "channel", timeout).await
    }

    pub(super) async fn long_poll<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        what: &str,
        server_timeout: Duration,
    ) -> Result<Option<T>, RestError> {
        let limit = self.timeout + server_timeout + Duration::from_secs(LONG_POLL_MARGIN_SECS);
        let response = self.send_request(Method::POST, path, Body::Json(body), None, limit).await?;
        if response.status() == StatusCode::REQUEST_TIMEOUT {
            return Ok(None);
        }
        self.decode(response, path, what, limit).await.map(Some)
    }

    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Body<'_>,
        what: &str,
        url: Option<Url>,
    ) -> Result<T, RestError> {
        let response = self.send_request(method, path, body, url, self.timeout).await?;
        self.decode(response, path, what, self.timeout).await
    }

    async fn send_request(
        &self,
        method: Method,
        path: &str,
        body: Body<'_>,
        url: Option<Url>,
        limit: Duration,
    ) -> Result<reqwest::Response, RestError> {
        let url = url.unwrap_or_else(|| self.url(path));
        tracing::debug!(%method, path, "REST request");
        let mut request = self.http.request(method, url).timeout(limit);
        if let Body::Json(value) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(value).expect("JSON value serializes"));
        }
        request.send().await.map_err(|e| RestError::from_transport(&e, &self.origin, path, limit))
    }

    async fn decode<T: DeserializeOwned>(
        &self,
        mut response: reqwest::Response,
        path: &str,
        what: &str,
        limit: Duration,
    ) -> Result<T, RestError> {
        let status = response.status();
        let body = self.read_body(&mut response, path, limit).await?;
        tracing::debug!(status = status.as_u16(), bytes = body.len(), path, "REST answer");
        if !status.is_success() {
            return Err(self.status_error(status, path, &body, what));
        }
        serde_json::from_slice(&body).map_err(|e| RestError::invalid_answer(path, &body, &e.to_string()))
    }

    async fn read_body(
        &self,
        response: &mut reqwest::Response,
        path: &str,
        limit: Duration,
    ) -> Result<Vec<u8>, RestError> {
        let too_large = || {
            RestError::new(
                RestErrorKind::TooLarge,
                path,
                format!("the answer for {path} is larger than {} MiB", MAX_BODY_BYTES / 1024 / 1024),
                "ask for less (a smaller directory or page)",
            )
        };
        if response.content_length().is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| RestError::from_transport(&e, &self.origin, path, limit))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn status_error(&self, status: StatusCode, path: &str, body: &[u8], what: &str) -> RestError {
        let error = RestError::from_status(status.as_u16(), path, body, what);
        if status == StatusCode::FORBIDDEN && !self.has_token {
            return error.with_hint(
                "no REST token is set, so the server does not know who asks: set [rest] token (or KOMPIRA_TOKEN)",
            );
        }
        error
    }

    pub(super) fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{path}"));
        url
    }

    /// A `next` link, moved onto our own origin: the token never goes to another host, even
    /// when a proxy makes the server write its links with another scheme or name.
    pub(super) fn rebase(&self, link: &str, path: &str) -> Result<Url, RestError> {
        let parsed = Url::parse(link)
            .or_else(|_| self.base.join(link))
            .map_err(|e| RestError::invalid_answer(path, link.as_bytes(), &format!("bad next link: {e}")))?;
        let mut url = self.base.clone();
        url.set_path(parsed.path());
        url.set_query(parsed.query());
        Ok(url)
    }
}

/// A channel's queue depth: `extra_properties.message_count` (Kompira 1.6), else the
/// `fields.message_count` some stand-ins wrote.
fn message_count(object: &Value) -> Option<u64> {
    ["extra_properties", "fields"].iter().find_map(|place| object.get(place)?.get("message_count")?.as_u64())
}

/// A process from an answer. serde would also build one from a list or from an object of
/// unrelated fields (every field is optional); neither is a process.
fn as_process(path: &str, answer: Value) -> Result<Process, RestError> {
    let invalid =
        |answer: &Value, problem: &str| RestError::invalid_answer(path, answer.to_string().as_bytes(), problem);
    if !answer.get("status").is_some_and(Value::is_string) {
        return Err(invalid(&answer, "expected a process, an object with a status"));
    }
    serde_json::from_value(answer.clone()).map_err(|e| invalid(&answer, &e.to_string()))
}

fn parse_base(text: &str) -> Result<Url, RestError> {
    let bad = |why: &str| {
        RestError::new(
            RestErrorKind::Setup,
            "",
            format!("[rest] url {} {why}", crate::quote::quoted(&crate::quote::url_without_secrets(text))),
            "set it to the server's address, e.g. https://kompira.example.com",
        )
    };
    let url = Url::parse(text.trim()).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("is not an http:// or https:// URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    Ok(url)
}

fn tls_scheme(base: &Url) -> tls::Scheme {
    if base.scheme() == "https" {
        tls::Scheme::Https
    } else {
        tls::Scheme::Http
    }
}

/// An object path with its leading `/` and without a trailing one.
pub(super) fn object_path(path: &str) -> String {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    }
}

/// `262`, `id_262`, `/process/id_262` (or `process/id_262/`) → `/process/id_262`.
pub fn process_path(path_or_id: &str) -> Result<String, RestError> {
    let text = path_or_id.trim().trim_end_matches('/');
    let id = text.strip_prefix("/process/").or_else(|| text.strip_prefix("process/")).unwrap_or(text);
    let digits = id.strip_prefix("id_").unwrap_or(id);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(format!("/process/id_{digits}"));
    }
    Err(RestError::new(
        RestErrorKind::Setup,
        "",
        format!("{} is not a process", crate::quote::quoted(path_or_id)),
        "give its number (262), id (id_262) or path (/process/id_262)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> RestSettings {
        RestSettings {
            url: url.into(),
            token: Secret::new("t0ken"),
            ca_file: None,
            insecure: false,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn process_forms_are_accepted() {
        for form in ["262", "id_262", "/process/id_262", "/process/id_262/", "process/id_262"] {
            assert_eq!(process_path(form).unwrap(), "/process/id_262", "{form}");
        }
        for bad in ["", "id_", "/root/x", "26x"] {
            assert!(process_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_keep_a_base_prefix_and_encode_names() {
        let client = Client::new(&settings("https://k.example:8443/kompira/")).unwrap();
        assert_eq!(
            client.url("/root/ジョブ.execute").as_str(),
            "https://k.example:8443/kompira/root/%E3%82%B8%E3%83%A7%E3%83%96.execute"
        );
        assert_eq!(client.origin(), "https://k.example:8443");
    }

    #[test]
    fn next_links_stay_on_our_origin() {
        let client = Client::new(&settings("https://k.example")).unwrap();
        let url = client.rebase("http://evil.example/root.descendant?page=2&type_object=x", "/root").unwrap();
        assert_eq!(url.as_str(), "https://k.example/root.descendant?page=2&type_object=x");
        let url = client.rebase("/root.descendant?page=3", "/root").unwrap();
        assert_eq!(url.as_str(), "https://k.example/root.descendant?page=3");
    }

    #[test]
    fn bad_urls_name_the_setting() {
        for bad in ["kompira.example.com", "ftp://k", "https://k/?token=x"] {
            let e = Client::new(&settings(bad)).unwrap_err().to_string();
            assert!(e.starts_with("[rest] url"), "{e}");
        }
    }

    #[test]
    fn token_never_shows_in_debug() {
        let s = settings("https://k");
        let client = Client::new(&s).unwrap();
        let debug = format!("{s:?} {client:?}");
        assert!(!debug.contains("t0ken"), "{debug}");
    }

    #[test]
    fn only_an_object_with_a_status_is_a_process() {
        for bad in [json!([1, 2, 3]), json!({}), json!({"id": 1, "status": 5}), json!("DONE")] {
            let e = as_process("/process/id_1", bad.clone()).unwrap_err().to_string();
            assert!(e.contains("is not Kompira JSON"), "{bad}: {e}");
        }
        let p = as_process("/process/id_1", json!({"id": 1, "status": "EXPLODED"})).unwrap();
        assert_eq!(p.id, 1);
    }

    #[test]
    fn the_message_count_is_read_where_kompira_keeps_it() {
        let real =
            json!({"extra_properties": {"message_count": 3, "event_count": 9}, "fields": {"action_type": "NoAction"}});
        assert_eq!(message_count(&real), Some(3));
        assert_eq!(message_count(&json!({"fields": {"message_count": 2}})), Some(2));
        assert_eq!(message_count(&json!({"fields": {"source": "x"}})), None);
        assert_eq!(message_count(&json!({"extra_properties": {"message_count": "many"}})), None);
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(object_path("root/x/"), "/root/x");
        assert_eq!(object_path("/system/channels/Alert"), "/system/channels/Alert");
    }
}
