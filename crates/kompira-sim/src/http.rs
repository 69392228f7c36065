//! The REST API: one fallback handler that splits `<path>.<method>`, then
//! negotiates, authenticates and dispatches by object kind, as Kompira's
//! Django REST Framework views do.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query, State};

use crate::server::Peer;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::defs::JobflowDef;
use crate::expr::{EvalError, Parameter};
use crate::state::{Kind, Shared};

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

fn not_found(path: &str) -> Response {
    detail(StatusCode::NOT_FOUND, format!("Object \"{path}\" is not found."))
}

fn invalid_attribute(op: &str) -> Response {
    detail(StatusCode::BAD_REQUEST, format!("Invalid attribute \"{op}\" in request."))
}

/// A status with an empty body and no `Content-Type`, as the server answers `.send`, `.submit`
/// and timeouts.
fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

/// A 500 as the server writes an exception it did not expect: Python's `json.dumps` spacing.
fn server_error(text: &str) -> Response {
    let body = format!("{{\"detail\": {}}}", Value::from(text));
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn not_allowed(method: &Method) -> Response {
    detail(StatusCode::METHOD_NOT_ALLOWED, format!("Method \"{method}\" not allowed."))
}

fn field_error(field: &str, message: impl Into<String>) -> Response {
    reply(StatusCode::BAD_REQUEST, json!({ field: [message.into()] }))
}

fn timeout_response() -> Response {
    empty(StatusCode::REQUEST_TIMEOUT)
}

fn shutting_down() -> Response {
    detail(StatusCode::SERVICE_UNAVAILABLE, "kompira-sim is shutting down.")
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

/// Python's `quote_plus`, which `urlencode` applies to query keys and values.
fn query_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn accepts_json(headers: &HeaderMap, params: &Params) -> bool {
    if let Some(f) = param(params, "format") {
        return f == "json";
    }
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|range| {
        let media = range.split(';').next().unwrap_or("").trim();
        media.eq_ignore_ascii_case("application/json")
    })
}

/// `None` when authenticated, else the 401 (a token that is wrong or malformed) or 403 (no
/// token at all; another scheme such as `Bearer` counts as none) response.
fn authenticate(shared: &Shared, headers: &HeaderMap, params: &Params) -> Option<Response> {
    let header_token = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    let given = match header_token {
        Some(h) => {
            let mut parts = h.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(kw), Some(t), None) if kw.eq_ignore_ascii_case("token") => Some(t.to_string()),
                (Some(kw), None, _) if kw.eq_ignore_ascii_case("token") => {
                    return Some(unauthorized("Invalid token header. No credentials provided."))
                }
                (Some(kw), Some(_), Some(_)) if kw.eq_ignore_ascii_case("token") => {
                    return Some(unauthorized("Invalid token header. Token string should not contain spaces."))
                }
                _ => None,
            }
        }
        None => None,
    };
    let given = given.or_else(|| param(params, "token").map(str::to_string));
    match given {
        None => Some(detail(StatusCode::FORBIDDEN, "You do not have permission to perform this action.")),
        Some(t) if t == shared.token => None,
        Some(_) => Some(unauthorized("Invalid token.")),
    }
}

fn unauthorized(text: &str) -> Response {
    let mut r = detail(StatusCode::UNAUTHORIZED, text);
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
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
    serde_json::from_slice(body).map_err(|e| BadRequest(json!({ "detail": format!("JSON parse error - {e}") })))
}

/// The `timeout` of a `.wait`/`.recv` body as the server reads it: Python's `int()` of the
/// value (whole seconds, floats truncated, numeric strings accepted, negative means 0);
/// `Err` is Python's exception text, which the server answers as a 500.
fn timeout_of(body: &Value) -> Result<Duration, String> {
    let Value::Object(fields) = body else {
        return Err(format!("'{}' object has no attribute 'get'", json_type(body)));
    };
    let secs = match fields.get("timeout") {
        None => 0,
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)).unwrap_or(i64::MAX),
        Some(Value::Bool(b)) => i64::from(*b),
        Some(Value::String(s)) => s
            .trim()
            .replace('_', "")
            .parse::<i64>()
            .map_err(|_| format!("invalid literal for int() with base 10: {}", crate::expr::python_str_repr(s)))?,
        Some(other) => {
            return Err(format!(
                "int() argument must be a string, a bytes-like object or a number, not '{}'",
                json_type(other)
            ))
        }
    };
    Ok(Duration::from_secs_f64((secs.max(0) as f64).min(MAX_TIMEOUT_SECS)))
}

pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
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
        return reply(StatusCode::OK, serde_json::to_value(shared.stats()).unwrap_or_default());
    }
    let trimmed = if raw_path.len() > 1 { raw_path.trim_end_matches('/') } else { raw_path.as_str() };
    let (path, op) = split_method(trimmed);
    if !accepts_json(&headers, &params) {
        // The server's HTML side: a POST is answered with a redirect to the object and does
        // nothing (before any authentication). The simulator has no HTML pages to GET.
        if method == Method::POST {
            let mut r = empty(StatusCode::FOUND);
            if let Ok(location) = HeaderValue::from_str(&percent_encode(path)) {
                r.headers_mut().insert(header::LOCATION, location);
            }
            return r;
        }
        return detail(StatusCode::NOT_ACCEPTABLE, "Could not satisfy the request Accept header.");
    }
    if let Some(r) = authenticate(&shared, &headers, &params) {
        return r;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let self_url = format!("http://{host}{}", percent_encode(trimmed));
    let text_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.trim_start().to_ascii_lowercase().starts_with("text/"));
    let req = Request { shared, method, params, body, text_body, self_url };
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
    /// The body was sent as `text/*`: a channel message is then the text itself.
    text_body: bool,
    self_url: String,
}

impl Request {
    async fn dispatch(self, path: &str, op: Option<&str>) -> Response {
        if path == "/process" {
            return match (op, &self.method) {
                (None, &Method::GET) => self.list_processes(),
                (None, _) => not_allowed(&self.method),
                (Some(op), _) => invalid_attribute(op),
            };
        }
        if let Some(id) = path.strip_prefix("/process/id_").and_then(|n| n.parse().ok()) {
            return self.process(id, op).await;
        }
        // Tasks live in tasks.rs; only the list goes through the shared paging here.
        if path == "/task" {
            return match (op, &self.method) {
                (None, &Method::GET) => self.paginate(self.shared.tasks.list_json()),
                (None, _) => not_allowed(&self.method),
                (Some(op), _) => invalid_attribute(op),
            };
        }
        if let Some(id) = path.strip_prefix("/task/id_").and_then(|n| n.parse().ok()) {
            return crate::tasks::answer(&self.shared, &self.method, id, op, &self.body);
        }
        enum Target {
            Directory,
            Jobflow,
            Channel,
        }
        let target = {
            let inner = self.shared.lock();
            let Some(obj) = inner.objects.get(path) else {
                return not_found(path);
            };
            match obj.kind {
                Kind::Directory => Target::Directory,
                Kind::Jobflow(_) => Target::Jobflow,
                Kind::Channel(_) => Target::Channel,
            }
        };
        let Some(op) = op else {
            return match (&self.method, &target) {
                (&Method::GET, _) => self.object_json(path),
                (&Method::POST, Target::Directory) => self.create(path),
                (&Method::DELETE, _) => match self.shared.delete_object(path) {
                    Ok(()) => empty(StatusCode::NO_CONTENT),
                    Err(why) => detail(StatusCode::BAD_REQUEST, why),
                },
                _ => not_allowed(&self.method),
            };
        };
        let known = matches!(
            (&target, op),
            (Target::Directory, "descendant" | "children")
                | (Target::Jobflow, "execute")
                | (Target::Channel, "send" | "recv" | "clear_messages")
        );
        if !known {
            return invalid_attribute(op);
        }
        match (&self.method, op) {
            (&Method::GET, "descendant" | "children") => self.list_objects(path, op == "children"),
            // GET on a method shows the object itself, as the server does.
            (&Method::GET, _) => self.object_json(path),
            (&Method::POST, "execute") => self.execute(path),
            (&Method::POST, "send") => self.send(path),
            (&Method::POST, "recv") => self.recv(path).await,
            (&Method::POST, "clear_messages") => self.clear(path),
            _ => not_allowed(&self.method),
        }
    }

    fn object_json(&self, path: &str) -> Response {
        match self.shared.lock().object_json(path) {
            Some(v) => reply(StatusCode::OK, v),
            None => not_found(path),
        }
    }

    /// `POST <dir>`: creates a job flow, channel or directory in it.
    fn create(&self, dir: &str) -> Response {
        let body = match parse_body(&self.body) {
            Ok(Value::Object(o)) => o,
            Ok(other) => return non_field_error(&other),
            Err(r) => return r.into_response(),
        };
        let text = |key: &str| body.get(key).and_then(Value::as_str);
        let Some(name) = text("name") else {
            return field_error("name", "This field is required.");
        };
        let valid_name = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            return detail(StatusCode::BAD_REQUEST, format!("Invalid name '{name}'"));
        }
        let Some(type_object) = text("type_object") else {
            return field_error("type_object", "This field is required.");
        };
        let fields = body.get("fields").and_then(Value::as_object);
        let source = fields.and_then(|f| f.get("source")).and_then(Value::as_str).unwrap_or("").to_string();
        let display_name = text("display_name");
        let description = text("description").unwrap_or("").to_string();
        let shown = display_name.unwrap_or(name).to_string();
        let kind: Box<dyn FnOnce(String) -> Kind> = match type_object {
            crate::state::TYPE_JOBFLOW => {
                let description = description.clone();
                Box::new(move |path| Kind::Jobflow(Arc::new(JobflowDef::created(path, shown, description, source))))
            }
            crate::state::TYPE_CHANNEL => Box::new(|_| {
                Kind::Channel(crate::state::ChannelQueue { messages: Default::default(), notify: Default::default() })
            }),
            crate::state::TYPE_DIRECTORY => Box::new(|_| Kind::Directory),
            other => {
                return detail(
                    StatusCode::BAD_REQUEST,
                    format!("kompira-sim creates only job flows, channels and directories, not {other}"),
                )
            }
        };
        match self.shared.create_object(dir, name, display_name, &description, kind) {
            Ok(v) => reply(StatusCode::CREATED, v),
            Err(why) => detail(StatusCode::BAD_REQUEST, why),
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
                .map(|(p, o)| (o.id, inner.object_json(p).unwrap_or_default()))
                .collect::<Vec<_>>()
        };
        // Oldest first by default, as the server lists a directory.
        let mut items = items;
        items.sort_by_key(|(id, _)| *id);
        self.paginate(items.into_iter().map(|(_, item)| item).collect())
    }

    fn list_processes(&self) -> Response {
        let items = {
            let inner = self.shared.lock();
            // Newest first, as the server lists them.
            inner.processes.values().rev().map(|p| p.to_json()).collect()
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
        let attrs: Vec<&str> =
            self.params.iter().filter(|(k, _)| k == "attrs").flat_map(|(_, v)| v.split(',')).collect();
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
        reply(StatusCode::OK, json!({ "count": count, "next": next, "previous": previous, "results": results }))
    }

    /// This request's URL with `page` replaced (or removed, as DRF does for page 1).
    fn page_url(&self, page: Option<usize>) -> String {
        let mut pairs: Vec<(String, String)> = self.params.iter().filter(|(k, _)| k != "page").cloned().collect();
        if let Some(p) = page {
            pairs.push(("page".to_string(), p.to_string()));
        }
        // As DRF writes them: keys sorted (values of a key in their order), `urlencode` quoting.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", query_encode(k), query_encode(v))).collect();
        if q.is_empty() {
            self.self_url.clone()
        } else {
            format!("{}?{}", self.self_url, q.join("&"))
        }
    }

    fn execute(&self, path: &str) -> Response {
        let job = match self.shared.lock().objects.get(path).map(|o| &o.kind) {
            Some(Kind::Jobflow(j)) => j.clone(),
            _ => return not_found(path),
        };
        let body = match parse_body(&self.body) {
            Ok(Value::Object(o)) => o,
            Ok(other) => return non_field_error(&other),
            Err(r) => return r.into_response(),
        };
        let given = match body.get("parameters") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(other) => {
                return field_error(
                    "parameters",
                    format!("Expected a dictionary of items but got type \"{}\".", json_type(other)),
                )
            }
        };
        // Every value is a string field first (numbers become their text), as the server's
        // serializer reads them; then declared ones are compiled as expressions.
        let mut texts = Map::new();
        let mut field_errors = Map::new();
        for (name, value) in &given {
            let text = match value {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                Value::Null => {
                    field_errors.insert(name.clone(), json!(["This field may not be null."]));
                    continue;
                }
                _ => {
                    field_errors.insert(name.clone(), json!(["Not a valid string."]));
                    continue;
                }
            };
            if text.is_empty() {
                field_errors.insert(name.clone(), json!(["This field may not be blank."]));
                continue;
            }
            texts.insert(name.clone(), Value::String(text));
        }
        if !field_errors.is_empty() {
            return reply(StatusCode::BAD_REQUEST, json!({ "parameters": field_errors }));
        }
        let mut config = json!({ "step_mode": false, "checkpoint_mode": false, "monitoring_mode": "" });
        for flag in ["step_mode", "checkpoint_mode"] {
            match body.get(flag).map(drf_boolean) {
                None => {}
                Some(Some(on)) => config[flag] = Value::Bool(on),
                Some(None) => return field_error(flag, "Must be a valid boolean."),
            }
        }
        match body.get("monitoring_mode") {
            None => {}
            Some(Value::String(m)) if ["NOTHING", "MAIL", "ABORT_MAIL"].contains(&m.as_str()) => {
                config["monitoring_mode"] = Value::String(m.clone());
            }
            Some(other) => {
                let shown = other.as_str().map_or_else(|| other.to_string(), str::to_string);
                return field_error("monitoring_mode", format!("\"{shown}\" is not a valid choice."));
            }
        }
        if let Some(Err(why)) = &job.script {
            tracing::warn!(job = %path, %why, "kompira-sim cannot run this job flow");
            return detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("InvalidJobflow: jobflow is not executable (kompira-sim: {why})"),
            );
        }
        // Undeclared parameters are dropped without being compiled.
        let mut values = Map::new();
        let mut undefined = None;
        for (name, text) in texts.iter().filter(|(name, _)| job.declares(name)) {
            let text = text.as_str().unwrap_or_default();
            let compile_error =
                |why: String| detail(StatusCode::BAD_REQUEST, format!("Compile parameter \"{name}\" error: {why}"));
            let parameter = match Parameter::compile(text) {
                Ok(p) => p,
                Err(why) => return compile_error(why),
            };
            match parameter.value() {
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
                Err(EvalError::Undefined(variable)) => {
                    undefined.get_or_insert(variable);
                }
                Err(EvalError::Unsupported(why)) => return compile_error(why),
            }
        }
        // The run aborts before its first job: at line 0 for a parameter naming a variable,
        // at the declaration for a missing parameter.
        let start = match undefined {
            Some(variable) => Err((0, EvalError::Undefined(variable).message())),
            None => job.bind(values),
        };
        let process = self.shared.start_process(job, start, config);
        reply(StatusCode::OK, Value::String(process))
    }

    async fn process(&self, id: u64, op: Option<&str>) -> Response {
        let path = format!("/process/id_{id}");
        let exists = self.shared.lock().processes.contains_key(&id);
        if !exists {
            return not_found(&path);
        }
        let Some(op) = op else {
            return match self.method {
                Method::GET => self.process_json(id),
                _ => not_allowed(&self.method),
            };
        };
        if !matches!(op, "wait" | "terminate" | "suspend" | "resume") {
            return invalid_attribute(op);
        }
        // Unlike an object's methods, a process's cannot be shown with GET.
        if self.method != Method::POST {
            return not_allowed(&self.method);
        }
        match op {
            "wait" => self.wait(id).await,
            op => {
                let changed = self.shared.update_process(id, |p| {
                    if p.status.finished() {
                        // The server says true to terminating a finished process (and changes
                        // nothing), false to suspending or resuming one.
                        return op == "terminate";
                    }
                    match op {
                        "terminate" => {
                            let line = p.lineno;
                            p.abort(line, "terminated by user");
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
            None => not_found(&format!("/process/id_{id}")),
        }
    }

    async fn wait(&self, id: u64) -> Response {
        let timeout = match parse_body(&self.body) {
            Ok(b) => match timeout_of(&b) {
                Ok(t) => t,
                Err(why) => return server_error(&why),
            },
            Err(r) => return r.into_response(),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.shared.process_changes.subscribe();
        let mut shutdown = self.shared.shutdown.clone();
        loop {
            let finished = self.shared.lock().processes.get(&id).is_some_and(|p| p.status.finished());
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

    /// `.send`: the whole body is the message (`{}` when empty, the text itself when sent as
    /// `text/*`); the answer is an empty 200.
    fn send(&self, path: &str) -> Response {
        let message = if self.text_body {
            Value::String(String::from_utf8_lossy(&self.body).into_owned())
        } else {
            match parse_body(&self.body) {
                Ok(b) => b,
                Err(r) => return r.into_response(),
            }
        };
        match self.shared.push_message(path, message) {
            Ok(()) => empty(StatusCode::OK),
            Err(_) => not_found(path),
        }
    }

    fn clear(&self, path: &str) -> Response {
        if let Some(Kind::Channel(c)) = self.shared.lock().objects.get_mut(path).map(|o| &mut o.kind) {
            c.messages.clear();
        }
        empty(StatusCode::OK)
    }

    /// `.recv`: the first message, or an empty 408 after the timeout. The wait runs on its own
    /// task, as on the server: a client that goes away does not stop it, and the message it
    /// takes meanwhile is lost.
    async fn recv(&self, path: &str) -> Response {
        let timeout = match parse_body(&self.body) {
            Ok(b) => match timeout_of(&b) {
                Ok(t) => t,
                Err(why) => return server_error(&why),
            },
            Err(r) => return r.into_response(),
        };
        let waiter = tokio::spawn(take_message(self.shared.clone(), path.to_string(), timeout));
        match waiter.await {
            Ok(Taken::Message(message)) => reply(StatusCode::OK, message),
            Ok(Taken::Timeout) => timeout_response(),
            Ok(Taken::NoChannel) => not_found(path),
            Ok(Taken::ShuttingDown) | Err(_) => shutting_down(),
        }
    }
}

/// What a `.recv` wait ended with.
enum Taken {
    Message(Value),
    Timeout,
    NoChannel,
    ShuttingDown,
}

async fn take_message(shared: Arc<Shared>, path: String, timeout: Duration) -> Taken {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut shutdown = shared.shutdown.clone();
    loop {
        let notify = match shared.lock().objects.get(&path).map(|o| &o.kind) {
            Some(Kind::Channel(c)) => c.notify.clone(),
            _ => return Taken::NoChannel,
        };
        // Register interest before looking, so a send in between is not missed.
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let taken = match shared.lock().objects.get_mut(&path).map(|o| &mut o.kind) {
            Some(Kind::Channel(c)) => c.messages.pop_front(),
            _ => return Taken::NoChannel,
        };
        if let Some(message) = taken {
            return Taken::Message(message);
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => return Taken::Timeout,
            _ = shutdown.changed() => return Taken::ShuttingDown,
        }
    }
}

/// A boolean as DRF's `BooleanField` reads one (`true`, `"yes"`, `"on"`, `1`, …).
fn drf_boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "1" => Some(true),
            "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn non_field_error(body: &Value) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        json!({ "non_field_errors": [format!(
            "Invalid data. Expected a dictionary, but got {}.", json_type(body)
        )] }),
    )
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
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Null) | None, Some(Value::Null) | None) => Ordering::Equal,
        (Some(Value::Null) | None, _) => Ordering::Less,
        (_, Some(Value::Null) | None) => Ordering::Greater,
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_method_suffix() {
        assert_eq!(split_method("/root/x.execute"), ("/root/x", Some("execute")));
        assert_eq!(split_method("/process/id_3"), ("/process/id_3", None));
        assert_eq!(split_method("/a.b/c"), ("/a.b/c", None));
    }

    #[test]
    fn percent_round_trip() {
        assert_eq!(percent_decode("/root/%E3%81%82%2"), "/root/あ%2");
        assert_eq!(percent_encode("/a b&c"), "/a%20b%26c");
    }
}
