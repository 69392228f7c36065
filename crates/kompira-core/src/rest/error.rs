//! The one error type of the REST client. Every message says what happened, where (the
//! server origin or the object path, never the token) and what the user can change.

use std::fmt;
use std::time::Duration;

/// How long an excerpt of a server answer may be in a message.
const EXCERPT_CHARS: usize = 200;

/// What kind of failure a [`RestError`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestErrorKind {
    /// The settings cannot work (bad URL, unreadable CA file, bad process id).
    Setup,
    /// No TCP connection (refused, unreachable, name not resolved).
    Connect,
    /// No answer within the time allowed.
    Timeout,
    /// The TLS handshake failed (certificate not trusted, wrong name…).
    Tls,
    /// The connection broke while talking.
    Io,
    /// The server answered with an HTTP error status.
    Http,
    /// The server answered something that is not the expected JSON.
    InvalidAnswer,
    /// The answer was larger than the client accepts.
    TooLarge,
}

/// A failed REST call.
#[derive(Clone, Debug)]
pub struct RestError {
    kind: RestErrorKind,
    status: Option<u16>,
    path: String,
    detail: String,
    hint: String,
    /// An HTTP answer that may be different next time (429, a 5xx without a reason).
    passing: bool,
}

impl RestError {
    pub(crate) fn new(
        kind: RestErrorKind,
        path: impl Into<String>,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        RestError { kind, status: None, path: path.into(), detail: detail.into(), hint: hint.into(), passing: false }
    }

    /// An HTTP error answer. `what` names the object kind for the 404 hint ("job flow",
    /// "process", "channel", "object").
    pub(crate) fn from_status(status: u16, path: &str, body: &[u8], what: &str) -> Self {
        let detail = server_detail(body);
        // Kompira writes `{"detail": …}` when it refuses on purpose (a licence limit, a job flow
        // it cannot start, "No waiting processes"): asking again gets the same answer. A 5xx
        // without one is a crash, a proxy or a restart, which can pass.
        let reasoned = has_detail(body);
        let hint = match status {
            // Redirects are not followed (the token would go along), so say where to point.
            // Kompira 1.6 also answers 302 when the request does not ask for JSON.
            300..=399 => "the server redirects elsewhere (not followed, so that the token stays here); \
                 set [rest] url to the address it redirects to (http:// or https://? a path prefix?)"
                .to_owned(),
            400 => "check the parameters and options sent".to_owned(),
            401 => "the REST token was refused; check [rest] token (or KOMPIRA_TOKEN)".to_owned(),
            403 => format!(
                "either no token reached the server (is [rest] token set? does a proxy drop the Authorization header?) \
                 or the token's user lacks permission for {path} (ask an administrator for access)"
            ),
            404 => format!("{} not found; check the {what} path", object_of(path)),
            405 => format!("{} does not accept this request; is it a {what}?", object_of(path)),
            408 => "the server timed out waiting".to_owned(),
            429 => "the server is busy; try again later".to_owned(),
            500..=599 if reasoned => {
                "the Kompira server refused this (its reason is above); trying again will not help: check the request, or the server log".to_owned()
            }
            500..=599 => "the Kompira server failed; try again later or check the server log".to_owned(),
            _ => String::new(),
        };
        RestError {
            kind: RestErrorKind::Http,
            status: Some(status),
            path: path.to_owned(),
            detail,
            hint,
            passing: status == 429 || (status >= 500 && !reasoned),
        }
    }

    /// The same error with another hint (the client knows things the status does not).
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    /// A transport failure from reqwest, described without the URL's query.
    pub(crate) fn from_transport(error: &reqwest::Error, origin: &str, path: &str, timeout: Duration) -> Self {
        let cause = root_cause(error);
        if is_tls(error) && cause.contains("InvalidContentType") {
            return RestError::new(
                RestErrorKind::Tls,
                path,
                format!("TLS handshake with {origin} failed: {cause}"),
                "the server does not speak TLS on this port; should [rest] url start with http://?",
            );
        }
        if is_tls(error) {
            return RestError::new(
                RestErrorKind::Tls,
                path,
                format!("TLS handshake with {origin} failed: {cause}"),
                "if the server's certificate comes from a private CA, set [rest] ca_file to that CA's PEM file; \
                 only for a test server, [rest] insecure = true skips the check",
            );
        }
        if error.is_timeout() {
            return RestError::new(
                RestErrorKind::Timeout,
                path,
                format!("no answer from {origin} within {} s", timeout.as_secs()),
                "is the server overloaded or unreachable? [rest] timeout sets the limit",
            );
        }
        if error.is_connect() {
            let refused = cause.to_ascii_lowercase().contains("refused");
            let what = if refused { "connection refused to" } else { "cannot connect to" };
            return RestError::new(
                RestErrorKind::Connect,
                path,
                format!("{what} {origin} ({cause})"),
                "is [rest] url right and the server up?",
            );
        }
        RestError::new(
            RestErrorKind::Io,
            path,
            format!("talking to {origin} failed: {cause}"),
            "the connection broke; try again",
        )
    }

    /// An answer that does not parse as the JSON expected.
    pub(crate) fn invalid_answer(path: &str, body: &[u8], problem: &str) -> Self {
        RestError::new(
            RestErrorKind::InvalidAnswer,
            path,
            format!(
                "the server answered something that is not Kompira JSON ({problem}): {}",
                excerpt(&String::from_utf8_lossy(body))
            ),
            "is [rest] url the Kompira server itself (not a proxy or login page)?",
        )
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &RestErrorKind {
        &self.kind
    }

    /// The HTTP status, when the server answered with one.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The object path (or URL path) of the request.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The server's reason (its `detail`, or field errors flattened), or our description.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// What the user can do about it.
    pub fn hint(&self) -> &str {
        &self.hint
    }

    /// Whether trying again later may succeed: connection failures, time-outs, broken
    /// connections, 429 and 5xx without a server reason. Refused tokens, missing objects, bad
    /// requests, a 5xx whose `detail` gives the server's reason, TLS and set-up problems are
    /// fatal.
    pub fn is_transient(&self) -> bool {
        match self.kind {
            RestErrorKind::Connect | RestErrorKind::Timeout | RestErrorKind::Io => true,
            RestErrorKind::Http => self.passing,
            _ => false,
        }
    }
}

impl fmt::Display for RestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => {
                write!(f, "{status} on {}", self.path)?;
                if !self.detail.is_empty() {
                    write!(f, ": {}", self.detail)?;
                }
            }
            None => f.write_str(&self.detail)?,
        }
        if !self.hint.is_empty() {
            write!(f, "; {}", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for RestError {}

/// `/root/x.execute` → `/root/x`: the object a request was about.
fn object_of(path: &str) -> &str {
    let last_slash = path.rfind('/').unwrap_or(0);
    match path[last_slash..].find('.') {
        Some(dot) => &path[..last_slash + dot],
        None => path,
    }
}

/// Whether the body is JSON with a `detail` (Kompira's own error shape).
fn has_detail(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.get("detail").is_some())
}

/// The reason in an error body: `{"detail": …}`, a field → messages map flattened to
/// `field: message; field: message`, any other JSON as text, or an excerpt of non-JSON.
fn server_detail(body: &[u8]) -> String {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return excerpt(&String::from_utf8_lossy(body));
    };
    match json {
        serde_json::Value::Object(map) => {
            if let Some(detail) = map.get("detail") {
                return flat(detail);
            }
            map.iter().map(|(field, messages)| format!("{field}: {}", flat(messages))).collect::<Vec<_>>().join("; ")
        }
        other => flat(&other),
    }
}

fn flat(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(flat).collect::<Vec<_>>().join(" "),
        serde_json::Value::Object(map) => {
            map.iter().map(|(k, v)| format!("{k}: {}", flat(v))).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}

/// The first characters of a text on one line, for messages.
pub(crate) fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "(empty answer)".to_owned();
    }
    let mut chars = one_line.chars();
    let short: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        format!("{short}…")
    } else {
        short
    }
}

/// The errors under `error`, outermost first. `io::Error` hides its payload from `source()`
/// (it skips to the payload's own source), so the payload is visited explicitly: that is where
/// rustls puts certificate failures.
fn chain<'a>(error: &'a (dyn std::error::Error + 'static)) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = vec![error];
    let mut current = error;
    loop {
        let next = match current.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(payload) => Some(payload as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
        match next {
            Some(next) if out.len() < 32 => {
                out.push(next);
                current = next;
            }
            _ => return out,
        }
    }
}

/// The innermost description in an error chain; reqwest's outer text repeats the URL.
fn root_cause(error: &reqwest::Error) -> String {
    chain(error).last().map(ToString::to_string).unwrap_or_default()
}

fn is_tls(error: &reqwest::Error) -> bool {
    chain(error).iter().any(|e| e.is::<rustls::Error>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, path: &str, body: &str, what: &str) -> RestError {
        RestError::from_status(status, path, body.as_bytes(), what)
    }

    #[test]
    fn refused_token_points_at_the_token_setting() {
        let e = http(401, "/root/x.execute", r#"{"detail": "Invalid token."}"#, "job flow");
        assert_eq!(
            e.to_string(),
            "401 on /root/x.execute: Invalid token.; the REST token was refused; check [rest] token (or KOMPIRA_TOKEN)"
        );
        assert_eq!(e.status(), Some(401));
        assert_eq!(e.detail(), "Invalid token.");
        assert!(!e.is_transient());
    }

    #[test]
    fn a_redirect_says_to_fix_the_url() {
        let e = http(302, "/process/id_1", "", "process");
        assert!(
            e.to_string().starts_with("302 on /process/id_1: (empty answer); the server redirects elsewhere"),
            "{e}"
        );
        assert!(e.hint().contains("[rest] url"), "{e}");
        assert!(!e.is_transient());
    }

    #[test]
    fn missing_object_names_the_object_and_its_kind() {
        let e = http(404, "/root/nope.execute", r#"{"detail": "Not found."}"#, "job flow");
        assert_eq!(e.hint(), "/root/nope not found; check the job flow path");
        assert!(!e.is_transient());
        let e = http(404, "/process/id_9", "", "process");
        assert_eq!(e.hint(), "/process/id_9 not found; check the process path");
    }

    #[test]
    fn forbidden_mentions_permission() {
        let e = http(403, "/root/x", r#"{"detail": "You do not have permission."}"#, "job flow");
        assert!(e.hint().contains("permission for /root/x"), "{e}");
        assert!(e.hint().contains("no token reached the server"), "{e}");
        assert!(!e.is_transient());
    }

    #[test]
    fn a_server_failure_with_a_reason_is_not_worth_retrying() {
        let e = http(500, "/root/x.execute", r#"{"detail": "License expired"}"#, "job flow");
        assert_eq!(e.detail(), "License expired");
        assert!(!e.is_transient());
        assert!(e.hint().contains("trying again will not help"), "{e}");
        assert!(!e.to_string().contains("try again later"), "{e}");
    }

    #[test]
    fn validation_errors_are_flattened() {
        let e = http(
            400,
            "/root/x.execute",
            r#"{"parameters": ["Unknown parameter: hots."], "monitoring_mode": ["Bad choice.", "Really."]}"#,
            "job flow",
        );
        assert_eq!(e.detail(), "parameters: Unknown parameter: hots.; monitoring_mode: Bad choice. Really.");
        assert!(!e.is_transient());
    }

    #[test]
    fn server_failures_are_transient() {
        for status in [500, 502, 503, 504, 429] {
            assert!(http(status, "/p", "<html>Bad gateway</html>", "object").is_transient(), "{status}");
        }
        let e = http(502, "/p", "<html>\n  Bad   gateway\n</html>", "object");
        assert_eq!(e.detail(), "<html> Bad gateway </html>");
        for status in [400, 401, 403, 404, 405] {
            assert!(!http(status, "/p", "", "object").is_transient(), "{status}");
        }
    }

    #[test]
    fn transport_kinds_classify() {
        let e = RestError::new(RestErrorKind::Connect, "/p", "connection refused to https://h:1", "");
        assert!(e.is_transient());
        assert!(RestError::new(RestErrorKind::Timeout, "/p", "", "").is_transient());
        assert!(!RestError::new(RestErrorKind::Tls, "/p", "", "").is_transient());
        assert!(!RestError::new(RestErrorKind::TooLarge, "/p", "", "").is_transient());
        assert!(!RestError::new(RestErrorKind::Setup, "/p", "", "").is_transient());
    }

    #[test]
    fn invalid_answer_shows_a_short_excerpt() {
        let body = format!("<html><body>{}</body></html>", "x".repeat(500));
        let e = RestError::invalid_answer("/root/x", body.as_bytes(), "expected value");
        let text = e.to_string();
        assert!(text.starts_with("the server answered something that is not Kompira JSON"), "{text}");
        assert!(text.contains("…"));
        assert!(text.len() < 500, "{text}");
        assert!(!e.is_transient());
    }

    #[test]
    fn object_of_strips_the_method_suffix_only() {
        assert_eq!(object_of("/root/x.execute"), "/root/x");
        assert_eq!(object_of("/root/v1.2/job"), "/root/v1.2/job");
        assert_eq!(object_of("/process/id_1.wait"), "/process/id_1");
    }
}
