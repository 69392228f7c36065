//! The REST API: one fallback handler that splits `<path>.<method>`, then
//! negotiates, authenticates and dispatches by object kind, as Kompira's
//! Django REST Framework views do.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::state::{Kind, Shared, Status};

const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 1000;
/// Upper bound of `.wait` and `.recv` timeouts, so a typo cannot pin a request for days.
const MAX_TIMEOUT_SECS: f64 = 3600.0;
/// Query parameters that are not attribute filters.
const RESERVED_PARAMS: &[&str] = &["page", "page_size", "order_by", "attrs", "format", "token"];

type Params = Vec<(String, String)>;

fn reply(status: StatusCode, value: Value) -> Response {
    (status, axum::Json(value)).into_response()
}

fn detail(status: StatusCode, text: impl Into<String>) -> Response {
    reply(status, json!({ "detail": text.into() }))
}

fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not found.")
}

fn not_allowed(method: &Method) -> Response {
    detail(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method \"{method}\" not allowed."),
    )
}

fn field_error(field: &str, message: impl Into<String>) -> Response {
    reply(StatusCode::BAD_REQUEST, json!({ field: [message.into()] }))
}

fn timeout_response() -> Response {
    detail(StatusCode::REQUEST_TIMEOUT, "Request timeout.")
}

fn shutting_down() -> Response {
    detail(
        StatusCode::SERVICE_UNAVAILABLE,
        "kompira-sim is shutting down.",
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn accepts_json(headers: &HeaderMap, params: &Params) -> bool {
    if let Some(f) = param(params, "format") {
        return f == "json";
    }
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let media = range.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("application/json")
        })
}

/// `None` when authenticated, else the 401 response.
fn authenticate(shared: &Shared, headers: &HeaderMap, params: &Params) -> Option<Response> {
    let header_token = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let given = match header_token {
        Some(h) => {
            let mut parts = h.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(kw), Some(t), None) if kw.eq_ignore_ascii_case("token") => {
                    Some(t.to_string())
                }
                (Some(kw), None, _) if kw.eq_ignore_ascii_case("token") => {
                    return Some(unauthorized(
                        "Invalid token header. No credentials provided.",
                    ))
                }
                _ => None,
            }
        }
        None => None,
    };
    let given = given.or_else(|| param(params, "token").map(str::to_string));
    match given {
        None => Some(unauthorized(
            "Authentication credentials were not provided.",
        )),
        Some(t) if t == shared.token => None,
        Some(_) => Some(unauthorized("Invalid token.")),
    }
}

fn unauthorized(text: &str) -> Response {
    let mut r = detail(StatusCode::UNAUTHORIZED, text);
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
    r
}

/// A 400 answer not yet rendered (small, unlike `Response`).
struct BadRequest(Value);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        reply(StatusCode::BAD_REQUEST, self.0)
    }
}

/// Parses a request body as JSON; an empty body is `{}`.
fn parse_body(body: &Bytes) -> Result<Value, BadRequest> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| BadRequest(json!({ "detail": format!("JSON parse error - {e}") })))
}

/// The `timeout` field of a `.wait`/`.recv` body, in seconds (default 0).
fn timeout_of(body: &Value) -> Result<Duration, BadRequest> {
    let t = match body.get("timeout") {
        None | Some(Value::Null) => 0.0,
        Some(v) => match v
            .as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        {
            Some(t) if t >= 0.0 && t.is_finite() => t,
            _ => {
                return Err(BadRequest(
                    json!({ "timeout": ["A valid number is required."] }),
                ))
            }
        },
    };
    Ok(Duration::from_secs_f64(t.min(MAX_TIMEOUT_SECS)))
}

pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params: Params = match Query::<Params>::try_from_uri(&uri) {
        Ok(Query(p)) => p,
        Err(e) => return detail(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let raw_path = percent_decode(uri.path());
    if raw_path == "/_sim/stats" {
        if !peer.ip().is_loopback() {
            if let Some(r) = authenticate(&shared, &headers, &params) {
                return r;
            }
        }
        return reply(
            StatusCode::OK,
            serde_json::to_value(shared.stats()).unwrap_or_default(),
        );
    }
    if !accepts_json(&headers, &params) {
        return detail(
            StatusCode::NOT_ACCEPTABLE,
            "Could not satisfy the request Accept header.",
        );
    }
    if let Some(r) = authenticate(&shared, &headers, &params) {
        return r;
    }
    let trimmed = if raw_path.len() > 1 {
        raw_path.trim_end_matches('/')
    } else {
        raw_path.as_str()
    };
    let (path, op) = split_method(trimmed);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let self_url = format!("http://{host}{}", percent_encode(trimmed));
    let req = Request {
        shared,
        method,
        params,
        body,
        self_url,
    };
    req.dispatch(path, op).await
}

/// Splits `/a/b.execute` into (`/a/b`, `Some("execute")`).
fn split_method(path: &str) -> (&str, Option<&str>) {
    let last = path.rfind('/').map_or(0, |i| i + 1);
    match path[last..].find('.') {
        Some(dot) => (&path[..last + dot], Some(&path[last + dot + 1..])),
        None => (path, None),
    }
}

struct Request {
    shared: Arc<Shared>,
    method: Method,
    params: Params,
    body: Bytes,
    self_url: String,
}

impl Request {
    async fn dispatch(self, path: &str, op: Option<&str>) -> Response {
        if path == "/process" {
            return match (op, &self.method) {
                (None, &Method::GET) => self.list_processes(),
                (None, _) => not_allowed(&self.method),
                _ => not_found(),
            };
        }
        if let Some(id) = path
            .strip_prefix("/process/id_")
            .and_then(|n| n.parse().ok())
        {
            return self.process(id, op).await;
        }
        enum Target {
            Directory,
            Jobflow,
            Channel,
        }
        let target = {
            let inner = self.shared.lock();
            let Some(obj) = inner.objects.get(path) else {
                return not_found();
            };
            if op.is_none() {
                return if self.method == Method::GET {
                    reply(StatusCode::OK, obj.to_json())
                } else {
                    not_allowed(&self.method)
                };
            }
            match obj.kind {
                Kind::Directory => Target::Directory,
                Kind::Jobflow(_) => Target::Jobflow,
                Kind::Channel(_) => Target::Channel,
            }
        };
        let op = op.unwrap_or_default();
        let (verb, known) = match (&target, op) {
            (Target::Directory, "descendant" | "children") => (Method::GET, true),
            (Target::Jobflow, "execute") => (Method::POST, true),
            (Target::Channel, "send" | "recv" | "clear_messages") => (Method::POST, true),
            _ => (Method::GET, false),
        };
        if !known {
            return not_found();
        }
        if self.method != verb {
            return not_allowed(&self.method);
        }
        match op {
            "descendant" | "children" => self.list_objects(path, op == "children"),
            "execute" => self.execute(path),
            "send" => self.send(path),
            "recv" => self.recv(path).await,
            _ => self.clear(path),
        }
    }

    fn list_objects(&self, dir: &str, children_only: bool) -> Response {
        let prefix = format!("{dir}/");
        let items = {
            let inner = self.shared.lock();
            inner
                .objects
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .filter(|(p, _)| !children_only || !p[prefix.len()..].contains('/'))
                .map(|(_, o)| o.to_json())
                .collect()
        };
        self.paginate(items)
    }

    fn list_processes(&self) -> Response {
        let items = {
            let inner = self.shared.lock();
            inner.processes.values().map(|p| p.to_json()).collect()
        };
        self.paginate(items)
    }

    /// Filters (`<attr>=<value>`), orders (`order_by`), pages and trims (`attrs`) a list.
    fn paginate(&self, mut items: Vec<Value>) -> Response {
        for (k, want) in &self.params {
            if RESERVED_PARAMS.contains(&k.as_str()) {
                continue;
            }
            items.retain(|item| match item.get(k) {
                Some(Value::String(s)) => s == want,
                Some(Value::Null) => want.is_empty() || want == "null" || want == "None",
                Some(v) => {
                    v.to_string().eq_ignore_ascii_case(want)
                        || (v == &Value::Bool(true) && want == "True")
                        || (v == &Value::Bool(false) && want == "False")
                }
                None => false,
            });
        }
        if let Some(order) = param(&self.params, "order_by") {
            for key in order.split(',').rev() {
                let (desc, key) = match key.strip_prefix('-') {
                    Some(k) => (true, k),
                    None => (false, key),
                };
                items.sort_by(|a, b| {
                    let o = compare(a.get(key), b.get(key));
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                });
            }
        }
        let page_size = param(&self.params, "page_size")
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .map_or(DEFAULT_PAGE_SIZE, |n| n.min(MAX_PAGE_SIZE));
        let count = items.len();
        let pages = count.div_ceil(page_size).max(1);
        let page = match param(&self.params, "page") {
            None => 1,
            Some("last") => pages,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=pages).contains(&n) => n,
                _ => return detail(StatusCode::NOT_FOUND, "Invalid page."),
            },
        };
        let attrs: Vec<&str> = self
            .params
            .iter()
            .filter(|(k, _)| k == "attrs")
            .flat_map(|(_, v)| v.split(','))
            .collect();
        let results: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * page_size)
            .take(page_size)
            .map(|item| match (&item, attrs.is_empty()) {
                (Value::Object(o), false) => Value::Object(
                    o.iter()
                        .filter(|(k, _)| attrs.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<Map<_, _>>(),
                ),
                _ => item,
            })
            .collect();
        let next = (page < pages).then(|| self.page_url(Some(page + 1)));
        let previous = (page > 1).then(|| self.page_url((page > 2).then_some(page - 1)));
        reply(
            StatusCode::OK,
            json!({ "count": count, "next": next, "previous": previous, "results": results }),
        )
    }

    /// This request's URL with `page` replaced (or removed, as DRF does for page 1).
    fn page_url(&self, page: Option<usize>) -> String {
        let mut q: Vec<String> = self
            .params
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        if let Some(p) = page {
            q.push(format!("page={p}"));
        }
        if q.is_empty() {
            self.self_url.clone()
        } else {
            format!("{}?{}", self.self_url, q.join("&"))
        }
    }

    fn execute(&self, path: &str) -> Response {
        let job = match self.shared.lock().objects.get(path).map(|o| &o.kind) {
            Some(Kind::Jobflow(j)) => j.clone(),
            _ => return not_found(),
        };
        let body = match parse_body(&self.body) {
            Ok(Value::Object(o)) => o,
            Ok(other) => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    json!({ "non_field_errors": [format!(
                        "Invalid data. Expected a dictionary, but got {}.", json_type(&other)
                    )] }),
                )
            }
            Err(r) => return r.into_response(),
        };
        let mut params = match body.get("parameters") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(other) => {
                return field_error(
                    "parameters",
                    format!(
                        "Expected a dictionary of items but got type \"{}\".",
                        json_type(other)
                    ),
                )
            }
        };
        for flag in ["step_mode", "checkpoint_mode"] {
            if !matches!(body.get(flag), None | Some(Value::Bool(_))) {
                return field_error(flag, "Must be a valid boolean.");
            }
        }
        match body.get("monitoring_mode") {
            None => {}
            Some(Value::String(m)) if ["NOTHING", "MAIL", "ABORT_MAIL"].contains(&m.as_str()) => {}
            Some(other) => {
                let shown = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_string);
                return field_error(
                    "monitoring_mode",
                    format!("\"{shown}\" is not a valid choice."),
                );
            }
        }
        for (k, v) in &job.defaults {
            params.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let missing: Vec<Value> = job
            .parameters
            .iter()
            .filter(|p| !params.contains_key(*p))
            .map(|p| Value::from(format!("missing parameter: {p}")))
            .collect();
        if !missing.is_empty() {
            return reply(StatusCode::BAD_REQUEST, json!({ "parameters": missing }));
        }
        let process = self.shared.start_process(job, params);
        reply(StatusCode::OK, Value::String(process))
    }

    async fn process(&self, id: u64, op: Option<&str>) -> Response {
        let exists = self.shared.lock().processes.contains_key(&id);
        if !exists {
            return not_found();
        }
        let verb = if op.is_none() {
            Method::GET
        } else {
            Method::POST
        };
        if !matches!(op, None | Some("wait" | "terminate" | "suspend" | "resume")) {
            return not_found();
        }
        if self.method != verb {
            return not_allowed(&self.method);
        }
        match op {
            None => self.process_json(id),
            Some("wait") => self.wait(id).await,
            Some(op) => {
                let changed = self.shared.update_process(id, |p| {
                    if p.status.finished() {
                        return false;
                    }
                    match op {
                        "terminate" => {
                            p.status = Status::Aborted;
                            p.error = "terminated by user".to_string();
                            p.finished = Some(chrono::Utc::now());
                            true
                        }
                        "suspend" => !std::mem::replace(&mut p.suspended, true),
                        _ => std::mem::replace(&mut p.suspended, false),
                    }
                });
                reply(StatusCode::OK, Value::Bool(changed.unwrap_or(false)))
            }
        }
    }

    fn process_json(&self, id: u64) -> Response {
        match self.shared.lock().processes.get(&id) {
            Some(p) => reply(StatusCode::OK, p.to_json()),
            None => not_found(),
        }
    }

    async fn wait(&self, id: u64) -> Response {
        let timeout = match parse_body(&self.body).and_then(|b| timeout_of(&b)) {
            Ok(t) => t,
            Err(r) => return r.into_response(),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.shared.process_changes.subscribe();
        let mut shutdown = self.shared.shutdown.clone();
        loop {
            let finished = self
                .shared
                .lock()
                .processes
                .get(&id)
                .is_some_and(|p| p.status.finished());
            if finished {
                return self.process_json(id);
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(deadline) => return timeout_response(),
                _ = shutdown.changed() => return shutting_down(),
            }
        }
    }

    fn send(&self, path: &str) -> Response {
        let body = match parse_body(&self.body) {
            Ok(b) => b,
            Err(r) => return r.into_response(),
        };
        match self.shared.push_message(path, body) {
            Ok(()) => reply(StatusCode::OK, Value::Bool(true)),
            Err(_) => not_found(),
        }
    }

    fn clear(&self, path: &str) -> Response {
        if let Some(Kind::Channel(c)) = self
            .shared
            .lock()
            .objects
            .get_mut(path)
            .map(|o| &mut o.kind)
        {
            c.messages.clear();
        }
        reply(StatusCode::OK, Value::Bool(true))
    }

    async fn recv(&self, path: &str) -> Response {
        let timeout = match parse_body(&self.body).and_then(|b| timeout_of(&b)) {
            Ok(t) => t,
            Err(r) => return r.into_response(),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let mut shutdown = self.shared.shutdown.clone();
        loop {
            let notify = match self
                .shared
                .lock()
                .objects
                .get_mut(path)
                .map(|o| &mut o.kind)
            {
                Some(Kind::Channel(c)) => c.notify.clone(),
                _ => return not_found(),
            };
            // Register interest before looking, so a send in between is not missed.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let taken = match self
                .shared
                .lock()
                .objects
                .get_mut(path)
                .map(|o| &mut o.kind)
            {
                Some(Kind::Channel(c)) => c.messages.pop_front(),
                _ => return not_found(),
            };
            if let Some(message) = taken {
                // No await between taking the message and handing it to the body:
                // if the client is gone, the body's drop puts it back.
                return delivery_response(self.shared.clone(), path.to_string(), message);
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => return timeout_response(),
                _ = shutdown.changed() => return shutting_down(),
            }
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Null) | None, Some(Value::Null) | None) => Ordering::Equal,
        (Some(Value::Null) | None, _) => Ordering::Less,
        (_, Some(Value::Null) | None) => Ordering::Greater,
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

/// A `.recv` answer whose message goes back to the head of the channel if the
/// body is dropped before hyper took its bytes (client gone, connection reset).
fn delivery_response(shared: Arc<Shared>, channel: String, message: Value) -> Response {
    let bytes = Bytes::from(serde_json::to_vec(&message).unwrap_or_default());
    let stream = Delivery {
        bytes: Some(bytes),
        undelivered: Some((shared, channel, message)),
    };
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

struct Delivery {
    bytes: Option<Bytes>,
    undelivered: Option<(Arc<Shared>, String, Value)>,
}

impl futures_util::Stream for Delivery {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = self.bytes.take();
        if next.is_some() {
            self.undelivered = None;
        }
        Poll::Ready(next.map(Ok))
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some((shared, channel, message)) = self.undelivered.take() {
            tracing::info!(%channel, "recv client went away before the answer was written; message put back");
            shared.requeue_front(&channel, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_method_suffix() {
        assert_eq!(
            split_method("/root/x.execute"),
            ("/root/x", Some("execute"))
        );
        assert_eq!(split_method("/process/id_3"), ("/process/id_3", None));
        assert_eq!(split_method("/a.b/c"), ("/a.b/c", None));
    }

    #[test]
    fn percent_round_trip() {
        assert_eq!(percent_decode("/root/%E3%81%82%2"), "/root/あ%2");
        assert_eq!(percent_encode("/a b&c"), "/a%20b%26c");
    }
}
