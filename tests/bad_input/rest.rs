//! REST answers: what a broken, hostile or overloaded server (or something that is not
//! Kompira) can send back to `kompira`. Each case starts a fake server on loopback and runs
//! one `kompira` command against it with a 3-second request limit.

use crate::fake::{self, http, json, Peer};
use crate::harness::{check, Expect, Run, Sandbox};
use crate::{case, Case};

/// `kompira --url http://127.0.0.1:PORT --request-timeout 3 <command>` against `peer`.
fn against(name: &str, peer: Peer, command: &'static [&'static str], expect: Expect) -> Case {
    against_scheme(name, "http", peer, command, expect)
}

fn against_scheme(
    name: &str,
    scheme: &'static str,
    peer: Peer,
    command: &'static [&'static str],
    expect: Expect,
) -> Case {
    let peer = std::sync::Mutex::new(Some(peer));
    case(name, move || {
        let peer = peer.lock().unwrap().take().ok_or("a case runs once")?;
        let port = fake::start(peer);
        let url = format!("{scheme}://127.0.0.1:{port}");
        let mut run = Run::new("kompira", &["--url", &url, "--request-timeout", "3"]).env("KOMPIRA_TOKEN", "t0ken");
        for arg in command {
            run = run.arg(arg);
        }
        let outcome = run.run(&Sandbox::new());
        if outcome.stderr.len() > 2000 {
            return Err(format!("stderr runs to {} bytes: an answer was dumped whole", outcome.stderr.len()));
        }
        check(&outcome, expect)
    })
}

const SHOW: &[&str] = &["process", "show", "1"];
const NOT_JSON: &str = "is not Kompira JSON";

fn big(len: usize) -> Vec<u8> {
    vec![b'x'; len]
}

pub fn cases() -> Vec<Case> {
    use Expect::{Fails, Succeeds};
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let chunked_20mb = {
        let mut bytes =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..20 {
            bytes.extend_from_slice(format!("{:x}\r\n", 1 << 20).as_bytes());
            bytes.extend(big(1 << 20));
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
        bytes
    };
    let huge_header = {
        let mut bytes = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
        bytes.extend(big(1 << 20));
        bytes.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\n{}");
        bytes
    };
    vec![
        against("invalid_json", Peer::Answer(json("{not json")), SHOW, Fails(1, &[NOT_JSON, "{not json"])),
        against(
            "html_login_page",
            Peer::Answer(http("200 OK", "text/html", b"<html><body>Login</body></html>")),
            SHOW,
            Fails(1, &[NOT_JSON, "Login"]),
        ),
        against("empty_body", Peer::Answer(json("")), SHOW, Fails(1, &[NOT_JSON])),
        against(
            "process_wrong_types",
            Peer::Answer(json(r#"{"id": "one", "status": 5}"#)),
            SHOW,
            Fails(1, &[NOT_JSON]),
        ),
        against("process_missing_fields", Peer::Answer(json("{}")), SHOW, Fails(1, &[NOT_JSON])),
        against("process_is_a_list", Peer::Answer(json("[1, 2, 3]")), SHOW, Fails(1, &[NOT_JSON])),
        against(
            "process_unknown_status",
            Peer::Answer(json(r#"{"id": 1, "status": "EXPLODED"}"#)),
            SHOW,
            Succeeds(&["EXPLODED"]),
        ),
        against(
            "execute_answers_a_number",
            Peer::Answer(json("123")),
            &["jobflow", "run", "/root/x"],
            Fails(1, &["expected the new process path"]),
        ),
        against(
            "terminate_answers_text",
            Peer::Answer(json("\"yes\"")),
            &["process", "terminate", "1"],
            Fails(1, &["expected true or false"]),
        ),
        against(
            "listing_next_link_loops",
            Peer::Answer(json(
                r#"{"count": 9, "next": "/root.descendant?type_object=%2Fsystem%2Ftypes%2FJobflow", "results": []}"#,
            )),
            &["jobflow", "list", "/root"],
            Fails(1, &["does not end"]),
        ),
        against(
            "listing_results_not_a_list",
            Peer::Answer(json(r#"{"count": 1, "results": "all"}"#)),
            &["jobflow", "list", "/root"],
            Fails(1, &[NOT_JSON]),
        ),
        against(
            "ten_mb_of_garbage",
            Peer::Answer(http("200 OK", "application/json", &big(10 << 20))),
            SHOW,
            Fails(1, &[NOT_JSON, "xxxx"]),
        ),
        against(
            "twenty_mb_body",
            Peer::Answer(http("200 OK", "application/json", &big(20 << 20))),
            SHOW,
            Fails(1, &["larger than 16 MiB"]),
        ),
        against("twenty_mb_chunked_body", Peer::Answer(chunked_20mb), SHOW, Fails(1, &["larger than 16 MiB"])),
        against("deeply_nested_json", Peer::Answer(json(&deep)), SHOW, Fails(1, &[NOT_JSON])),
        against(
            "invalid_utf8_in_json",
            Peer::Answer(http("200 OK", "application/json", b"\"caf\xE9\"")),
            &["jobflow", "run", "/root/x"],
            Fails(1, &[NOT_JSON]),
        ),
        against(
            "lone_surrogate_escape",
            Peer::Answer(json(r#""\ud800""#)),
            &["jobflow", "run", "/root/x"],
            Fails(1, &[NOT_JSON]),
        ),
        against(
            "trickles_bytes",
            Peer::Trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec()),
            SHOW,
            Fails(1, &["within 3 s"]),
        ),
        against(
            "trickles_headers",
            Peer::Trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ".to_vec()),
            SHOW,
            Fails(1, &["within 3 s"]),
        ),
        against("accepts_and_never_answers", Peer::Silent, SHOW, Fails(1, &["within 3 s"])),
        against(
            "long_poll_never_answers",
            Peer::Silent,
            &["channel", "recv", "/root/c", "--timeout", "1"],
            Fails(1, &["within"]),
        ),
        against("hangs_up_at_once", Peer::HangUp, SHOW, Fails(1, &["127.0.0.1"])),
        against("not_http", Peer::Answer(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()), SHOW, Fails(1, &["127.0.0.1"])),
        against(
            "short_body",
            Peer::Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"id\": 1".to_vec()),
            SHOW,
            Fails(1, &["127.0.0.1"]),
        ),
        against(
            "broken_chunked_encoding",
            Peer::Answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n".to_vec()),
            SHOW,
            Fails(1, &["127.0.0.1"]),
        ),
        against("huge_header", Peer::Answer(huge_header), SHOW, Fails(1, &["127.0.0.1"])),
        against(
            "nonsense_status",
            Peer::Answer(b"HTTP/1.1 999 WAT\r\nContent-Length: 0\r\n\r\n".to_vec()),
            SHOW,
            Fails(1, &["999"]),
        ),
        against(
            "http_400_field_errors",
            Peer::Answer(http("400 Bad Request", "application/json", br#"{"parameters": ["unknown parameter: x"]}"#)),
            &["jobflow", "run", "/root/x"],
            Fails(1, &["400", "unknown parameter: x"]),
        ),
        against(
            "http_401",
            Peer::Answer(http("401 Unauthorized", "application/json", br#"{"detail": "Invalid token."}"#)),
            SHOW,
            Fails(1, &["401", "Invalid token.", "[rest] token"]),
        ),
        against(
            "http_403",
            Peer::Answer(http("403 Forbidden", "application/json", br#"{"detail": "denied"}"#)),
            SHOW,
            Fails(1, &["403", "permission"]),
        ),
        against(
            "http_404",
            Peer::Answer(http("404 Not Found", "text/html", b"<h1>Not Found</h1>")),
            SHOW,
            Fails(1, &["404", "not found"]),
        ),
        against(
            "http_429",
            Peer::Answer(http("429 Too Many Requests", "text/plain", b"slow down")),
            SHOW,
            Fails(1, &["429", "busy"]),
        ),
        against(
            "http_500_html",
            Peer::Answer(http("500 Internal Server Error", "text/html", &big(100_000))),
            SHOW,
            Fails(1, &["500", "server failed"]),
        ),
        against("http_503", Peer::Answer(http("503 Service Unavailable", "text/plain", b"")), SHOW, Fails(1, &["503"])),
        against(
            "redirect_loop",
            Peer::Answer(b"HTTP/1.1 302 Found\r\nLocation: /process/id_1\r\nContent-Length: 0\r\n\r\n".to_vec()),
            SHOW,
            Fails(1, &["302", "redirect"]),
        ),
        against(
            "redirect_to_another_host",
            Peer::Answer(b"HTTP/1.1 301 Moved\r\nLocation: http://198.51.100.1/\r\nContent-Length: 0\r\n\r\n".to_vec()),
            SHOW,
            Fails(1, &["301", "redirect", "[rest] url"]),
        ),
        against(
            "recv_nothing_in_time",
            Peer::Answer(http("408 Request Timeout", "application/json", b"")),
            &["channel", "recv", "/root/c", "--timeout", "1"],
            Fails(1, &["no message"]),
        ),
        against_scheme("tls_to_a_plain_port", "https", Peer::Answer(json("{}")), SHOW, Fails(1, &["TLS", "http://"])),
        against_scheme("tls_to_a_silent_port", "https", Peer::Silent, SHOW, Fails(1, &["within 3 s"])),
    ]
}
