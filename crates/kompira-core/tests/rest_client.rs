//! The REST client against a scripted HTTP server: the cases kompira-sim does not produce
//! (no `.wait`, server failures, oversized and non-JSON answers, the exact request shape).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kompira_core::rest::{follow, Client, FollowOptions, ProcessStatus, RestErrorKind, RestSettings};
use kompira_core::secret::Secret;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    head: String,
    body: String,
}

type Script = dyn Fn(&Seen, usize) -> (u16, String) + Send + Sync;

/// Serves each connection one answer from `script(request, index of the request)`.
async fn server(script: Arc<Script>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            let (head, body) = loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), String::new());
                }
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let head = text[..end].to_owned();
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if raw.len() >= end + 4 + length {
                        break (head, text[end + 4..end + 4 + length].to_owned());
                    }
                }
            };
            let mut words = head.split_whitespace();
            let request = Seen {
                method: words.next().unwrap_or_default().to_owned(),
                target: words.next().unwrap_or_default().to_owned(),
                head: head.clone(),
                body,
            };
            let index = {
                let mut log = log.lock().unwrap();
                log.push(request.clone());
                log.len() - 1
            };
            let (status, body) = script(&request, index);
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, seen)
}

fn client(url: &str) -> Client {
    Client::new(&RestSettings {
        url: url.to_owned(),
        token: Secret::new("s3cret-token"),
        ca_file: None,
        insecure: false,
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

fn process(status: &str, console: &str) -> String {
    json!({"id": 5, "abspath": "/process/id_5", "status": status, "console": console,
           "exit_status": if status == "DONE" { json!(0) } else { json!(null) }})
    .to_string()
}

#[tokio::test]
async fn execute_sends_token_header_and_json_and_returns_the_path() {
    let (url, seen) = server(Arc::new(|_: &Seen, _| (200, "\"/process/id_262\"".into()))).await;
    let mut req = kompira_core::rest::ExecuteRequest::default();
    req.parameters.set_text("host", "web 1 (primary)");
    let path = client(&url).execute("/root/restart_process", &req).await.unwrap();
    assert_eq!(path, "/process/id_262");
    let seen = seen.lock().unwrap()[0].clone();
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("POST", "/root/restart_process.execute"));
    let head = seen.head.to_ascii_lowercase();
    assert!(head.contains("authorization: token s3cret-token"), "{head}");
    assert!(head.contains("accept: application/json"), "{head}");
    assert_eq!(seen.body, r#"{"parameters":{"host":"\"web 1 (primary)\""}}"#);
}

#[tokio::test]
async fn follow_falls_back_to_polling_when_wait_is_missing() {
    // Kompira 1.6 answers an unknown method with 400 "Invalid attribute"; other servers 405.
    follow_without_wait(400, r#"{"detail": "Invalid attribute \"wait\" in request."}"#).await;
    follow_without_wait(405, r#"{"detail": "Method not allowed."}"#).await;
}

async fn follow_without_wait(status: u16, detail: &'static str) {
    let script = move |req: &Seen, _: usize| -> (u16, String) {
        if req.target.ends_with(".wait") {
            return (status, detail.into());
        }
        (200, String::new())
    };
    let gets = Arc::new(Mutex::new(0));
    let counter = gets.clone();
    let script = move |req: &Seen, i: usize| {
        if req.method == "GET" {
            let mut n = counter.lock().unwrap();
            *n += 1;
            return match *n {
                1 => (200, process("RUNNING", "a\n")),
                2 => (503, "<html>busy</html>".into()),
                3 => (200, process("RUNNING", "a\nb\n")),
                _ => (200, process("DONE", "a\nb\nc\n")),
            };
        }
        script(req, i)
    };
    let (url, seen) = server(Arc::new(script)).await;
    let options = FollowOptions {
        wait_chunk: Duration::from_secs(1),
        interval: Duration::from_millis(10),
        give_up_after: Duration::from_secs(10),
    };
    let mut updates = Vec::new();
    let last = follow(&client(&url), "5", options, |u| updates.push(u.clone())).await.unwrap();
    assert_eq!(last.status, ProcessStatus::Done);
    let tails: Vec<&str> = updates.iter().map(|u| u.console_tail.as_str()).collect();
    assert_eq!(tails, ["a\n", "b\n", "c\n"]);
    assert!(updates[0].initial && updates[2].status_changed);
    let waits = seen.lock().unwrap().iter().filter(|s| s.target.ends_with(".wait")).count();
    assert_eq!(waits, 1, "after a {status}, .wait is not tried again");
}

#[tokio::test]
async fn follow_stops_at_a_fatal_error() {
    let (url, _) = server(Arc::new(|_: &Seen, _| (401, r#"{"detail": "Invalid token."}"#.into()))).await;
    let e = follow(&client(&url), "/process/id_5", FollowOptions::default(), |_| {}).await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert!(!e.to_string().contains("s3cret-token"));
}

#[tokio::test]
async fn recv_and_wait_time_out_as_none() {
    // Kompira 1.6 answers a timed-out long poll with 408 and an empty body.
    let (url, seen) = server(Arc::new(|_: &Seen, _| (408, String::new()))).await;
    let c = client(&url);
    assert_eq!(c.recv("/system/channels/Alert", Duration::from_secs(3)).await.unwrap(), None);
    assert_eq!(c.wait("id_5", Duration::from_secs(2)).await.unwrap(), None);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].target, "/system/channels/Alert.recv");
    assert_eq!(seen[0].body, r#"{"timeout":3}"#);
    assert_eq!(seen[1].target, "/process/id_5.wait");
}

#[tokio::test]
async fn non_json_and_oversized_answers_are_errors() {
    let big = Arc::new(format!("\"{}\"", "x".repeat(kompira_core::rest::MAX_BODY_BYTES)));
    let script = move |req: &Seen, _: usize| {
        if req.target.contains("big") {
            (200, big.to_string())
        } else {
            (200, "<html><body>Please log in</body></html>".into())
        }
    };
    let (url, _) = server(Arc::new(script)).await;
    let c = client(&url);
    let e = c.get_object("/root/x").await.unwrap_err();
    assert_eq!(e.kind(), &RestErrorKind::InvalidAnswer);
    assert!(e.to_string().contains("<html><body>Please log in"), "{e}");
    let e = c.get_object("/root/big").await.unwrap_err();
    assert_eq!(e.kind(), &RestErrorKind::TooLarge);
}

#[tokio::test]
async fn refused_connection_is_transient_and_names_the_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let e = client(&url).process("1").await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(e.to_string().starts_with(&format!("connection refused to {url}")), "{e}");
    assert!(e.to_string().contains("[rest] url"), "{e}");
}

#[tokio::test]
async fn send_takes_an_empty_200_as_success_and_a_redirect_never() {
    let script = |req: &Seen, _: usize| -> (u16, String) {
        if req.target.contains("Moved") {
            (302, String::new())
        } else {
            (200, String::new())
        }
    };
    let (url, seen) = server(Arc::new(script)).await;
    let c = client(&url);
    c.send("/system/channels/Alert", &json!({"a": 1})).await.unwrap();
    assert_eq!(seen.lock().unwrap()[0].body, r#"{"a":1}"#);
    let e = c.send("/system/channels/Moved", &json!({})).await.unwrap_err();
    assert_eq!(e.status(), Some(302), "{e}");
    assert!(e.to_string().contains("redirects"), "{e}");
}

#[tokio::test]
async fn a_refusal_with_a_reason_is_not_retried_and_a_missing_token_is_named() {
    let script = |req: &Seen, _: usize| -> (u16, String) {
        if req.head.to_ascii_lowercase().contains("authorization:") {
            (500, r#"{"detail": "Process limit exceeded"}"#.into())
        } else {
            (403, r#"{"detail": "You do not have permission to perform this action."}"#.into())
        }
    };
    let (url, _) = server(Arc::new(script)).await;
    let e = client(&url).execute("/root/x", &Default::default()).await.unwrap_err();
    assert_eq!((e.status(), e.detail()), (Some(500), "Process limit exceeded"));
    assert!(!e.is_transient() && !e.to_string().contains("try again later"), "{e}");
    let tokenless = Client::new(&RestSettings {
        url: url.clone(),
        token: Secret::new(""),
        ca_file: None,
        insecure: false,
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let e = tokenless.process("1").await.unwrap_err();
    assert_eq!(e.status(), Some(403));
    assert!(e.hint().contains("no REST token is set"), "{e}");
}

#[tokio::test]
async fn channel_depth_reads_the_count_without_taking_a_message() {
    let script = |req: &Seen, _: usize| -> (u16, String) {
        match req.target.as_str() {
            "/system/channels/Alert" => (
                200,
                r#"{"abspath": "/system/channels/Alert", "extra_properties": {"message_count": 4, "event_count": 9}}"#
                    .into(),
            ),
            _ => (200, r#"{"abspath": "/root/x", "fields": {"source": ""}}"#.into()),
        }
    };
    let (url, seen) = server(Arc::new(script)).await;
    let c = client(&url);
    assert_eq!(c.channel_depth("/system/channels/Alert").await.unwrap(), 4);
    let e = c.channel_depth("/root/x").await.unwrap_err();
    assert!(e.to_string().contains("is it a channel?"), "{e}");
    assert!(seen.lock().unwrap().iter().all(|s| s.method == "GET"), "only reads");
}
