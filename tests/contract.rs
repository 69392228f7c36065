//! The contract of the Kompira REST API and event intake, written once and run against every
//! peer: `kompira-sim` always (started in-process), and a real Kompira 1.6 when
//! `KOMPIRA_REAL_URL` and `KOMPIRA_REAL_TOKEN` are set (events then go to
//! `KOMPIRA_REAL_AMQP_URL`, default `amqp://kompira:kompira@127.0.0.1:5673/%2f`). Every case is
//! one `async fn(&Peer)`; `contract!` makes a `sim` and a `real` test of it, and every assertion
//! names the peer. The expected values are what the real Kompira 1.6.11 answered
//! (recorded in docs/kompira-protocol.md §4–5).
//!
//! On a real server the suite reuses five job flows (`/root/contract_echo`, `_required`,
//! `_sleeper`, `_paging`, `_ask`: the temporary licence allows 100), creating or updating them
//! when needed (a sixth is created and deleted by `create_jobflow`); channels are its own (`/root/contract_<case>_<run>`), deleted after a passing case,
//! so it never takes a real alert.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

// The product's own literal encoding, so that this suite proves it on the real server.
use kompira_core::rest::string_literal;
use kompira_sim::{Definitions, SimConfig, SimHandle};
use kompira_testkit::IoQueueGuard;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SIM_TOKEN: &str = "contract-token";
const DEFAULT_REAL_AMQP_URL: &str = "amqp://kompira:kompira@127.0.0.1:5673/%2f";

/// The job flows the cases run. A real server keeps them between runs (fixed names); the
/// simulator runs this small subset of the language itself.
const ECHO: (&str, &str) = ("contract_echo", "|host = \"none\"|\nprint(host) ->\nreturn(host)\n");
const REQUIRED: (&str, &str) = ("contract_required", "|host|\nreturn(host)\n");
const SLEEPER: (&str, &str) = ("contract_sleeper", "|sec = 30|\nsleep(sec) -> return(\"slept\")\n");
const PAGING: (&str, &str) = ("contract_paging", "return(1)\n");
/// A job flow that asks a person (a task) and returns the answer: the real server runs this
/// source; the simulator, which cannot, defines the same job flow with `[jobflow.task]`.
const ASK: (&str, &str) = (
    "contract_ask",
    "[t = /task.add(name=\"contract_ask\", title=\"Question from the contract\", message=\"Which host?\", \
     action=[\"web 1\", \"web 2\"])] ->\n[[\"root\"] >> t.assigned_users] ->\nprint(t) ->\n<t> ->\n\
     [answer = $RESULT] ->\n[t.close] ->\nreturn(answer)\n",
);
const SIM_ASK: &str = r#"
[[jobflow]]
path = "/root/contract_ask"
[jobflow.task]
name = "contract_ask"
title = "Question from the contract"
message = "Which host?"
action = ["web 1", "web 2"]
assigned_users = ["root"]
"#;

/// One server under contract.
struct Peer {
    name: &'static str,
    base_url: String,
    token: String,
    amqp_url: String,
    http: reqwest::Client,
    /// Makes this run's object names unique on a server that keeps them.
    run_id: String,
    sim: Option<SimHandle>,
    _io_queue: Option<IoQueueGuard>,
}

/// An answer with everything the contract looks at.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self, peer: &Peer, what: &str) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("[{}] {what}: body is not JSON ({e}): {:?}", peer.name, String::from_utf8_lossy(&self.body))
        })
    }

    fn header(&self, name: impl reqwest::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Status and parsed JSON body, for one `assert_eq!` against the expected pair.
    fn status_json(&self, peer: &Peer, what: &str) -> (StatusCode, Value) {
        (self.status, self.json(peer, what))
    }
}

fn http_client() -> reqwest::Client {
    // reqwest is built without a crypto provider in this workspace (see kompira-core's rest/tls.rs).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        // A redirect is an answer under contract (`.send` without Accept JSON), never followed.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

fn run_id() -> String {
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    format!("{millis:x}{:x}", std::process::id())
}

impl Peer {
    async fn sim(with_events: bool) -> Peer {
        // A consuming simulator takes every io_queue message of the shared test broker: hold
        // the io_queue lock and start from an empty queue, as the other event tests do.
        let io_queue = if with_events {
            let guard = kompira_testkit::lock_io_queue().await;
            let url = kompira_testkit::broker_url();
            kompira_testkit::declare_io_queue(&url).await.expect("io_queue declared on the test broker");
            kompira_testkit::purge(&url, kompira_testkit::IO_QUEUE).await.expect("io_queue purged");
            Some(guard)
        } else {
            None
        };
        let sim = kompira_sim::start(SimConfig {
            listen: "127.0.0.1:0".parse().expect("an address"),
            token: SIM_TOKEN.to_string(),
            amqp_url: with_events.then(kompira_testkit::broker_url),
            definitions: Definitions::from_toml(SIM_ASK).expect("the sim's task job flow"),
            tls: None,
        })
        .await
        .expect("kompira-sim starts");
        if with_events {
            assert!(sim.stats().amqp_connected, "[sim] consuming io_queue on {}", kompira_testkit::broker_url());
        }
        Peer {
            name: "sim",
            base_url: sim.base_url.clone(),
            token: SIM_TOKEN.to_string(),
            amqp_url: kompira_testkit::broker_url(),
            http: http_client(),
            run_id: run_id(),
            sim: Some(sim),
            _io_queue: io_queue,
        }
    }

    /// The real server named by the environment, or `None` (said once per run) without one.
    fn real() -> Option<Peer> {
        let url = std::env::var("KOMPIRA_REAL_URL").unwrap_or_default();
        let token = std::env::var("KOMPIRA_REAL_TOKEN").unwrap_or_default();
        if url.is_empty() || token.is_empty() {
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                println!(
                    "contract against a real Kompira: SKIPPED: KOMPIRA_REAL_URL and KOMPIRA_REAL_TOKEN are not set \
                     (the proprietary server is not available in CI; see /work/shared/real-kompira/README.md)"
                )
            });
            return None;
        }
        let amqp_url = std::env::var("KOMPIRA_REAL_AMQP_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_REAL_AMQP_URL.to_string());
        Some(Peer {
            name: "real",
            base_url: url.trim_end_matches('/').to_string(),
            token,
            amqp_url,
            http: http_client(),
            run_id: run_id(),
            sim: None,
            _io_queue: None,
        })
    }

    async fn finish(self) {
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends a prepared request; a transport failure fails the case, naming the peer.
    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap_or_else(|e| panic!("[{}] {what}: no answer: {e}", self.name));
        let status = response.status();
        let headers = response.headers().clone();
        let body =
            response.bytes().await.unwrap_or_else(|e| panic!("[{}] {what}: body unreadable: {e}", self.name)).to_vec();
        Answer { status, headers, body }
    }

    /// An authenticated request asking for JSON, as every client of the API does.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, format!("Token {}", self.token))
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(&format!("GET {path}"), self.request(Method::GET, path)).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(&format!("POST {path}"), self.request(Method::POST, path).json(&body)).await
    }

    /// `/root/<name>` holding `source`: created when missing, its source updated when it
    /// differs (a real server keeps it between runs).
    async fn jobflow(&self, (name, source): (&str, &str)) -> String {
        let path = format!("/root/{name}");
        let found = self.get(&path).await;
        if found.status == StatusCode::OK {
            let current = found.json(self, "the job flow");
            if current["fields"]["source"] != source {
                let patch = self
                    .send(
                        "PATCH the job flow's source",
                        self.request(Method::PATCH, &path).json(&json!({"fields": {"source": source}})),
                    )
                    .await;
                assert_eq!(patch.status, StatusCode::OK, "[{}] PATCH {path}", self.name);
            }
            return path;
        }
        assert_eq!(found.status, StatusCode::NOT_FOUND, "[{}] GET {path}", self.name);
        let created = self
            .post("/root", json!({"name": name, "type_object": "/system/types/Jobflow", "fields": {"source": source}}))
            .await;
        // Another case may have created it in the meantime: the server says so, or (seen on a
        // fresh real server, two creations at once) answers 500 while the other one's lands.
        let raced = json!({"detail": format!("Already exists '{name}'")});
        if created.status == StatusCode::BAD_REQUEST && created.json(self, "create") == raced {
            return path;
        }
        if created.status == StatusCode::INTERNAL_SERVER_ERROR && self.get(&path).await.status == StatusCode::OK {
            return path;
        }
        assert_eq!(created.status, StatusCode::CREATED, "[{}] POST /root {name}", self.name);
        path
    }

    /// The job flow that waits on a task: run by the real server from its source, defined in
    /// the simulator.
    async fn ask_jobflow(&self) -> String {
        match self.sim {
            Some(_) => format!("/root/{}", ASK.0),
            None => self.jobflow(ASK).await,
        }
    }

    /// Runs the asking job flow until it waits: the process and its task (`print(t)` shows it).
    async fn ask(&self) -> (String, String) {
        let job = self.ask_jobflow().await;
        let process = self.execute(&job, json!({})).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = self.get(&process).await.json(self, "asking process");
            if now["status"] == "WAITING" {
                let task = now["console"].as_str().unwrap_or_default().lines().last().unwrap_or_default();
                assert!(task.starts_with("/task/id_"), "[{}] the console shows the task: {now}", self.name);
                return (process, task.to_string());
            }
            assert!(Instant::now() < deadline, "[{}] the process never waited: {now}", self.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A channel of this run and case: nobody else sends to it.
    async fn channel(&self, case: &str) -> String {
        let name = format!("contract_{case}_{}", self.run_id);
        let created = self.post("/root", json!({"name": name, "type_object": "/system/types/Channel"})).await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "[{}] POST /root channel {name}: {:?}",
            self.name,
            String::from_utf8_lossy(&created.body)
        );
        let channel = created.json(self, "created channel");
        assert_eq!(channel["type_object"], "/system/types/Channel", "[{}] {channel}", self.name);
        format!("/root/{name}")
    }

    async fn delete(&self, path: &str) {
        let gone = self.send(&format!("DELETE {path}"), self.request(Method::DELETE, path)).await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT, "[{}] DELETE {path}", self.name);
        assert!(gone.body.is_empty(), "[{}] DELETE {path} answers no body", self.name);
    }

    /// Runs a job flow and returns the process path.
    async fn execute(&self, job: &str, body: Value) -> String {
        let answer = self.post(&format!("{job}.execute"), body.clone()).await;
        let (status, process) = answer.status_json(self, "execute");
        assert_eq!(status, StatusCode::OK, "[{}] execute {job} {body}: {process}", self.name);
        let process = process
            .as_str()
            .unwrap_or_else(|| panic!("[{}] execute answers a JSON string, got {process}", self.name))
            .to_string();
        assert!(
            process.starts_with("/process/id_") && process["/process/id_".len()..].parse::<u64>().is_ok(),
            "[{}] process path {process:?}",
            self.name
        );
        process
    }

    /// Waits for a process to finish (DONE or ABORTED) and returns it.
    async fn wait(&self, process: &str) -> Value {
        let answer = self.post(&format!("{process}.wait"), json!({"timeout": 20})).await;
        let (status, value) = answer.status_json(self, "wait");
        assert_eq!(status, StatusCode::OK, "[{}] {process}.wait: {value}", self.name);
        value
    }

    /// Runs `job` with these parameters and waits for the end.
    async fn run(&self, job: &str, parameters: Value) -> Value {
        let process = self.execute(job, json!({ "parameters": parameters })).await;
        self.wait(&process).await
    }

    /// `.recv` with a timeout: status and raw body.
    async fn recv(&self, channel: &str, timeout: u64) -> Answer {
        self.send(
            &format!("{channel}.recv"),
            self.request(Method::POST, &format!("{channel}.recv")).json(&json!({ "timeout": timeout })),
        )
        .await
    }

    async fn recv_json(&self, channel: &str) -> Value {
        let answer = self.recv(channel, 10).await;
        let (status, value) = answer.status_json(self, "recv");
        assert_eq!(status, StatusCode::OK, "[{}] {channel}.recv", self.name);
        value
    }

    async fn message_count(&self, channel: &str) -> Value {
        self.get(channel).await.json(self, "channel")["extra_properties"]["message_count"].clone()
    }

    /// Runs our `kompira_sendevt` against this peer's broker, sending to `channel`.
    fn sendevt(&self, channel: &str, args: &[&str], stdin: Option<&str>) {
        let uri: lapin::uri::AMQPUri = self.amqp_url.parse().expect("a valid AMQP URL");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = dir.path().join("kompira.conf");
        std::fs::write(&config, "").expect("an empty kompira.conf");
        let mut child = Command::new(sendevt_binary())
            .arg("-c")
            .arg(&config)
            .args(["--server", &uri.authority.host, "--port", &uri.authority.port.to_string()])
            .args(["--user", &uri.authority.userinfo.username])
            .args(["--password", &uri.authority.userinfo.password])
            .args(["--channel", channel, "--max-retry", "0", "--logdir"])
            .arg(dir.path())
            .args(args)
            .env_remove("AMQP_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kompira_sendevt starts");
        let mut input = child.stdin.take().expect("piped stdin");
        input.write_all(stdin.unwrap_or("").as_bytes()).expect("stdin written");
        drop(input);
        let out = child.wait_with_output().expect("kompira_sendevt ends");
        assert!(
            out.status.success(),
            "[{}] kompira_sendevt {args:?} to {}: {}",
            self.name,
            uri.authority.host,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Our `kompira_sendevt`, where cargo puts it (`target/<profile>/`); built when missing, since
/// `cargo test --test contract` alone does not build other packages' binaries.
fn sendevt_binary() -> std::path::PathBuf {
    static BUILD: Once = Once::new();
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("deps dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(format!("kompira_sendevt{}", std::env::consts::EXE_SUFFIX));
    BUILD.call_once(|| {
        if !path.exists() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "kompira-sendevt", "--bin", "kompira_sendevt"])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "cargo build -p kompira-sendevt failed");
        }
    });
    assert!(path.exists(), "{} is not built", path.display());
    path
}

// --- the cases --------------------------------------------------------------------------------

/// `.execute` → the process path; `.wait` → the whole finished process, in the server's shape.
async fn execute_and_wait_done(peer: &Peer) {
    let job = peer.jobflow(ECHO).await;
    let process = peer.execute(&job, json!({"parameters": {"host": "\"web1\""}})).await;
    let done = peer.wait(&process).await;
    let n = peer.name;
    assert_eq!(done["abspath"], process, "[{n}] {done}");
    assert_eq!(done["status"], "DONE", "[{n}] {done}");
    assert_eq!(done["exit_status"], 0, "[{n}] {done}");
    assert_eq!(done["result"], "web1", "[{n}] {done}");
    assert_eq!(done["console"], "web1\n", "[{n}] {done}");
    assert_eq!(done["error"], "", "[{n}] error is empty text after a DONE run: {done}");
    assert_eq!(done["user"], "root", "[{n}] user is a name: {done}");
    assert_eq!(done["job"], job, "[{n}] {done}");
    assert_eq!(done["current_job"], job, "[{n}] {done}");
    assert_eq!(done["lineno"], 3, "[{n}] the return(…) line: {done}");
    assert_eq!(done["suspended"], false, "[{n}] {done}");
    assert_eq!(done["parent"], Value::Null, "[{n}] {done}");
    assert_eq!(done["schedule"], Value::Null, "[{n}] {done}");
    let elapsed = done["elapsed_time"].as_f64();
    assert!(elapsed.is_some_and(|s| (0.0..60.0).contains(&s)), "[{n}] elapsed_time is seconds: {done}");
    for time in ["started_time", "finished_time"] {
        let t = done[time].as_str().unwrap_or_default();
        assert!(chrono::DateTime::parse_from_rfc3339(t).is_ok() && t.ends_with('Z'), "[{n}] {time}: {done}");
    }
    assert_eq!(
        done["config"],
        json!({"step_mode": false, "checkpoint_mode": false, "monitoring_mode": ""}),
        "[{n}] {done}"
    );
    let again = peer.get(&process).await.status_json(peer, "GET process");
    assert_eq!(again, (StatusCode::OK, done), "[{n}] GET {process} after the end equals the .wait answer");
}

/// A bare identifier is a variable: the run aborts before its first job.
async fn execute_and_wait_aborted(peer: &Peer) {
    let job = peer.jobflow(ECHO).await;
    let aborted = peer.run(&job, json!({"host": "web1"})).await;
    let n = peer.name;
    let error = format!("aborted at line 0 in {job}: Variable \"web1\" is not defined");
    assert_eq!(aborted["status"], "ABORTED", "[{n}] {aborted}");
    assert_eq!(aborted["exit_status"], 1, "[{n}] {aborted}");
    assert_eq!(aborted["error"], error, "[{n}] {aborted}");
    assert_eq!(aborted["result"], "", "[{n}] {aborted}");
    assert_eq!(aborted["lineno"], 0, "[{n}] {aborted}");
    let console = aborted["console"].as_str().unwrap_or_default();
    assert!(console.starts_with(&format!("{error}\n")), "[{n}] the console reports the abort: {console:?}");
    assert!(console.contains("$STATUS = 1"), "[{n}] {console:?}");
}

/// Parameters are expressions: literals of every type, the JSON number as its text.
async fn parameters_are_expressions(peer: &Peer) {
    let job = peer.jobflow(ECHO).await;
    let cases = [
        (json!("\"web1\""), json!("web1")),
        (json!("'web1'"), json!("web1")),
        (json!("  \"web 1\"  "), json!("web 1")),
        (json!("42"), json!(42)),
        (json!(42), json!(42)),
        (json!("-5"), json!(-5)),
        (json!("1.5"), json!(1.5)),
        (json!("true"), json!(true)),
        (json!("null"), json!(null)),
        (json!("[1, \"a\"]"), json!([1, "a"])),
        (json!("\"a $$ b\""), json!("a $ b")),
        (json!("\"$x ${y}\""), json!("$x ${y}")),
    ];
    for (parameter, expected) in cases {
        let done = peer.run(&job, json!({ "host": parameter })).await;
        assert_eq!(
            (&done["status"], &done["result"]),
            (&json!("DONE"), &expected),
            "[{}] parameter {parameter}: {done}",
            peer.name
        );
    }
    // Undeclared parameters are dropped without being compiled.
    let done = peer.run(&job, json!({"host": "'x'", "zzz": "web 1"})).await;
    assert_eq!(done["result"], "x", "[{}] undeclared parameter: {done}", peer.name);
    // A declared parameter left out takes its default.
    let done = peer.run(&job, json!({})).await;
    assert_eq!(done["result"], "none", "[{}] default: {done}", peer.name);
}

/// What the server refuses before starting a process.
async fn parameters_refused(peer: &Peer) {
    let job = peer.jobflow(ECHO).await;
    let execute = format!("{job}.execute");
    let compile = |detail: &str| {
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": format!("Compile parameter \"host\" error: Syntax error: {detail}")}),
        )
    };
    let not_string = (StatusCode::BAD_REQUEST, json!({"parameters": {"host": ["Not a valid string."]}}));
    let cases = [
        (json!("web 1"), compile("Unexpected token: 1.")),
        (json!("\"a\", \"b\""), compile("Unexpected token: ,.")),
        (json!("\"web1"), compile("Unclosed string literal.")),
        (json!("[1,"), compile("Incomplete expression.")),
        (json!(true), not_string.clone()),
        (json!({"a": 1}), not_string.clone()),
        (json!([1]), not_string.clone()),
        (json!(""), (StatusCode::BAD_REQUEST, json!({"parameters": {"host": ["This field may not be blank."]}}))),
        (json!(null), (StatusCode::BAD_REQUEST, json!({"parameters": {"host": ["This field may not be null."]}}))),
    ];
    for (parameter, expected) in cases {
        let got = peer.post(&execute, json!({"parameters": {"host": parameter}})).await;
        assert_eq!(got.status_json(peer, "execute"), expected, "[{}] parameter {parameter}", peer.name);
    }
    // Non-string JSON is refused even for a parameter the job flow does not declare.
    let got = peer.post(&execute, json!({"parameters": {"zzz": true}})).await;
    assert_eq!(
        got.status_json(peer, "execute"),
        (StatusCode::BAD_REQUEST, json!({"parameters": {"zzz": ["Not a valid string."]}})),
        "[{}] undeclared JSON true",
        peer.name
    );
}

/// Bodies `.execute` refuses, and the run options it shows in `config`.
async fn execute_body_checks(peer: &Peer) {
    let job = peer.jobflow(PAGING).await;
    let execute = format!("{job}.execute");
    let n = peer.name;
    let not_dict = |kind: &str| {
        let message = format!("Invalid data. Expected a dictionary, but got {kind}.");
        (StatusCode::BAD_REQUEST, json!({ "non_field_errors": [message] }))
    };
    let got = peer.post(&execute, json!("x")).await;
    assert_eq!(got.status_json(peer, "string body"), not_dict("str"), "[{n}]");
    let got = peer.post(&execute, json!([])).await;
    assert_eq!(got.status_json(peer, "list body"), not_dict("list"), "[{n}]");
    let got = peer.post(&execute, json!({"parameters": "x"})).await;
    assert_eq!(
        got.status_json(peer, "parameters not a dict"),
        (StatusCode::BAD_REQUEST, json!({"parameters": ["Expected a dictionary of items but got type \"str\"."]})),
        "[{n}]"
    );
    let got = peer.post(&execute, json!({"monitoring_mode": "X"})).await;
    assert_eq!(
        got.status_json(peer, "monitoring_mode"),
        (StatusCode::BAD_REQUEST, json!({"monitoring_mode": ["\"X\" is not a valid choice."]})),
        "[{n}]"
    );
    let got = peer.post(&execute, json!({"checkpoint_mode": "maybe"})).await;
    assert_eq!(
        got.status_json(peer, "checkpoint_mode"),
        (StatusCode::BAD_REQUEST, json!({"checkpoint_mode": ["Must be a valid boolean."]})),
        "[{n}]"
    );
    let broken = peer
        .send(
            "broken JSON",
            peer.request(Method::POST, &execute).header(CONTENT_TYPE, "application/json").body("{nope"),
        )
        .await;
    let (status, detail) = broken.status_json(peer, "broken JSON");
    assert_eq!(status, StatusCode::BAD_REQUEST, "[{n}] {detail}");
    assert!(detail["detail"].as_str().is_some_and(|d| d.starts_with("JSON parse error - ")), "[{n}] {detail}");
    let process = peer.execute(&job, json!({"monitoring_mode": "NOTHING"})).await;
    let done = peer.wait(&process).await;
    assert_eq!(
        done["config"],
        json!({"step_mode": false, "checkpoint_mode": false, "monitoring_mode": "NOTHING"}),
        "[{n}] {done}"
    );
}

/// A required parameter left out aborts the run at its declaration.
async fn missing_parameter_aborts(peer: &Peer) {
    let job = peer.jobflow(REQUIRED).await;
    let aborted = peer.run(&job, json!({})).await;
    assert_eq!(aborted["status"], "ABORTED", "[{}] {aborted}", peer.name);
    assert_eq!(
        aborted["error"],
        format!("aborted at line 1 in {job}: Parameter 'host' is missing."),
        "[{}] {aborted}",
        peer.name
    );
}

/// Text typed by a person comes back exactly, once written as a string literal.
async fn string_literal_round_trip(peer: &Peer) {
    let job = peer.jobflow(ECHO).await;
    let typed =
        "He said \"hi\" \\ back\\slash \\n not a newline\nline 2\r\n\ttab 日本語 $HOME ${x} $$ {braces} '\u{1}\u{7f}";
    let done = peer.run(&job, json!({ "host": string_literal(typed) })).await;
    assert_eq!(done["status"], "DONE", "[{}] {done}", peer.name);
    assert_eq!(done["result"], typed, "[{}] literal {}", peer.name, string_literal(typed));
}

/// `.wait` with a timeout that passes: 408 with an empty body; a running process's shape;
/// `.terminate` aborts it.
async fn wait_timeout_and_terminate(peer: &Peer) {
    let job = peer.jobflow(SLEEPER).await;
    let process = peer.execute(&job, json!({"parameters": {"sec": "30"}})).await;
    let n = peer.name;
    for timeout in [0, 1] {
        let answer = peer.post(&format!("{process}.wait"), json!({ "timeout": timeout })).await;
        assert_eq!(answer.status, StatusCode::REQUEST_TIMEOUT, "[{n}] .wait timeout {timeout}");
        assert!(answer.body.is_empty(), "[{n}] 408 has an empty body: {:?}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.header(CONTENT_TYPE), None, "[{n}] 408 has no Content-Type");
    }
    let running = peer.get(&process).await.json(peer, "running process");
    // Still starting (READY) or sleeping (RUNNING): the server takes its time to schedule it.
    let active = ["NEW", "READY", "RUNNING"];
    assert!(running["status"].as_str().is_some_and(|s| active.contains(&s)), "[{n}] active: {running}");
    for empty in ["error", "result", "exit_status", "finished_time"] {
        assert_eq!(running[empty], Value::Null, "[{n}] {empty} is null while running: {running}");
    }
    assert!(running["elapsed_time"].as_f64().is_some_and(|s| s >= 0.9), "[{n}] elapsed seconds: {running}");
    let terminated = peer.post(&format!("{process}.terminate"), json!({})).await;
    assert_eq!(terminated.status_json(peer, "terminate"), (StatusCode::OK, json!(true)), "[{n}]");
    let aborted = peer.wait(&process).await;
    assert_eq!(aborted["status"], "ABORTED", "[{n}] {aborted}");
    // Terminating a finished process says true and changes nothing; resuming one says false.
    let again = peer.post(&format!("{process}.terminate"), json!({})).await;
    assert_eq!(again.status_json(peer, "terminate again"), (StatusCode::OK, json!(true)), "[{n}]");
    let resumed = peer.post(&format!("{process}.resume"), json!({})).await;
    assert_eq!(resumed.status_json(peer, "resume"), (StatusCode::OK, json!(false)), "[{n}]");
    assert_eq!(peer.get(&process).await.json(peer, "process")["status"], "ABORTED", "[{n}]");
    let shown = peer.get(&format!("{process}.wait")).await;
    assert_eq!(
        shown.status_json(peer, "GET .wait"),
        (StatusCode::METHOD_NOT_ALLOWED, json!({"detail": "Method \"GET\" not allowed."})),
        "[{n}] a process's methods are POST only"
    );
    let error = aborted["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("aborted at line ") && error.ends_with(&format!("in {job}: terminated by user")),
        "[{n}] {aborted}"
    );
}

/// `.send` answers an empty 200; the whole body is the message, whatever its shape.
async fn send_and_recv(peer: &Peer) {
    let channel = peer.channel("send").await;
    let send = format!("{channel}.send");
    let n = peer.name;
    let sent = peer.post(&send, json!({"message": {"a": 1}})).await;
    assert_eq!(sent.status, StatusCode::OK, "[{n}] .send");
    assert!(sent.body.is_empty(), "[{n}] .send answers no body: {:?}", String::from_utf8_lossy(&sent.body));
    assert_eq!(sent.header(CONTENT_LENGTH), Some("0"), "[{n}] .send Content-Length");
    assert_eq!(sent.header(CONTENT_TYPE), None, "[{n}] .send has no Content-Type");
    peer.post(&send, json!("hello")).await;
    let no_body = peer.send("send without a body", peer.request(Method::POST, &send)).await;
    assert_eq!(no_body.status, StatusCode::OK, "[{n}] .send without a body");
    let text = peer
        .send("send text/plain", peer.request(Method::POST, &send).header(CONTENT_TYPE, "text/plain").body("just text"))
        .await;
    assert_eq!(text.status, StatusCode::OK, "[{n}] .send text/plain");
    assert_eq!(peer.message_count(&channel).await, 4, "[{n}] extra_properties.message_count");
    let received = [
        peer.recv_json(&channel).await,
        peer.recv_json(&channel).await,
        peer.recv_json(&channel).await,
        peer.recv_json(&channel).await,
    ];
    assert_eq!(
        received,
        [json!({"message": {"a": 1}}), json!("hello"), json!({}), json!("just text")],
        "[{n}] messages come back raw, in order"
    );
    assert_eq!(peer.message_count(&channel).await, 0, "[{n}] message_count after the recvs");
    peer.delete(&channel).await;
}

/// Without `Accept: application/json` a `.send` is redirected and sends nothing.
async fn send_without_accept_json(peer: &Peer) {
    let channel = peer.channel("noaccept").await;
    let n = peer.name;
    let answer = peer
        .send(
            "send without Accept JSON",
            peer.http
                .post(peer.url(&format!("{channel}.send")))
                .header(ACCEPT, "*/*")
                .header(AUTHORIZATION, format!("Token {}", peer.token))
                .json(&json!({"a": 1})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FOUND, "[{n}] .send without Accept JSON");
    assert_eq!(answer.header(LOCATION), Some(channel.as_str()), "[{n}] redirected to the channel");
    assert_eq!(peer.message_count(&channel).await, 0, "[{n}] nothing was sent");
    peer.delete(&channel).await;
}

/// `.recv` timeouts: an empty 408 after about the time asked, at once without a body; a bad
/// timeout is the server's 500.
async fn recv_timeouts(peer: &Peer) {
    let channel = peer.channel("recv").await;
    let n = peer.name;
    let started = Instant::now();
    let answer = peer.recv(&channel, 1).await;
    let took = started.elapsed();
    assert_eq!(answer.status, StatusCode::REQUEST_TIMEOUT, "[{n}] .recv timeout 1");
    assert!(answer.body.is_empty(), "[{n}] 408 body: {:?}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.header(CONTENT_TYPE), None, "[{n}] 408 has no Content-Type");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "[{n}] .recv 1 s took {took:?}");
    let recv = format!("{channel}.recv");
    let started = Instant::now();
    let no_body = peer.send(".recv without a body", peer.request(Method::POST, &recv)).await;
    assert_eq!(no_body.status, StatusCode::REQUEST_TIMEOUT, "[{n}] .recv without a body");
    assert!(started.elapsed() < Duration::from_millis(900), "[{n}] no body means timeout 0");
    let bad = peer.post(&recv, json!({"timeout": "x"})).await;
    assert_eq!(
        bad.status_json(peer, "bad timeout"),
        (StatusCode::INTERNAL_SERVER_ERROR, json!({"detail": "invalid literal for int() with base 10: 'x'"})),
        "[{n}] .recv timeout \"x\""
    );
    peer.delete(&channel).await;
}

/// A `.recv` whose client went away still takes the next message: that message is lost.
async fn abandoned_recv_loses_a_message(peer: &Peer) {
    let channel = peer.channel("abandoned").await;
    let n = peer.name;
    let impatient = peer
        .request(Method::POST, &format!("{channel}.recv"))
        .timeout(Duration::from_millis(1500))
        .json(&json!({"timeout": 5}))
        .send()
        .await;
    assert!(impatient.is_err(), "[{n}] the client gave up before the 5 s recv ended");
    let sent = peer.post(&format!("{channel}.send"), json!({"lost": true})).await;
    assert_eq!(sent.status, StatusCode::OK, "[{n}] .send");
    // The server checks about once a second; let the abandoned recv's window pass.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(peer.message_count(&channel).await, 0, "[{n}] the abandoned recv took the message");
    let after = peer.recv(&channel, 0).await;
    assert_eq!(after.status, StatusCode::REQUEST_TIMEOUT, "[{n}] the message is gone");
    peer.delete(&channel).await;
}

/// Authentication: token header (any case of `Token`), `?token=`, and the failures.
async fn authentication(peer: &Peer) {
    let path = "/root";
    let n = peer.name;
    let with = |auth: Option<String>, query: &str| {
        let mut r = peer.http.get(peer.url(&format!("{path}{query}"))).header(ACCEPT, "application/json");
        if let Some(auth) = auth {
            r = r.header(AUTHORIZATION, auth);
        }
        r
    };
    let bad = peer.send("bad token", with(Some("Token 0000000000000000000000000000000000000000".into()), "")).await;
    assert_eq!(
        bad.status_json(peer, "bad token"),
        (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid token."})),
        "[{n}]"
    );
    assert_eq!(bad.header(WWW_AUTHENTICATE), Some("Token"), "[{n}] WWW-Authenticate");
    let forbidden = (StatusCode::FORBIDDEN, json!({"detail": "You do not have permission to perform this action."}));
    let none = peer.send("no credentials", with(None, "")).await;
    assert_eq!(none.status_json(peer, "no credentials"), forbidden, "[{n}] no credentials");
    let bearer = peer.send("Bearer", with(Some(format!("Bearer {}", peer.token)), "")).await;
    assert_eq!(bearer.status_json(peer, "Bearer"), forbidden, "[{n}] Bearer");
    let lower = peer.send("lower-case scheme", with(Some(format!("token {}", peer.token)), "")).await;
    assert_eq!(lower.status, StatusCode::OK, "[{n}] `token` scheme");
    let query = peer.send("?token=", with(None, &format!("?token={}", peer.token))).await;
    assert_eq!(query.status, StatusCode::OK, "[{n}] ?token=");
    assert_eq!(query.json(peer, "?token=")["abspath"], path, "[{n}]");
    let empty = peer.send("Token without a key", with(Some("Token".into()), "")).await;
    assert_eq!(
        empty.status_json(peer, "Token without a key"),
        (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid token header. No credentials provided."})),
        "[{n}]"
    );
    let bad_query = peer.send("bad ?token=", with(None, "?token=nope")).await;
    assert_eq!(bad_query.status, StatusCode::UNAUTHORIZED, "[{n}] bad ?token=");
}

/// Missing objects, unknown methods, and GET on a method.
async fn not_found_and_unknown_methods(peer: &Peer) {
    let job = peer.jobflow(ECHO).await;
    let n = peer.name;
    let missing = |path: &str| (StatusCode::NOT_FOUND, json!({"detail": format!("Object \"{path}\" is not found.")}));
    let got = peer.get("/root/nosuch").await;
    assert_eq!(got.status_json(peer, "missing object"), missing("/root/nosuch"), "[{n}]");
    let got = peer.post("/root/nosuch.execute", json!({"parameters": {}})).await;
    assert_eq!(got.status_json(peer, "execute missing"), missing("/root/nosuch"), "[{n}]");
    let got = peer.get("/process/id_999999999").await;
    assert_eq!(got.status_json(peer, "missing process"), missing("/process/id_999999999"), "[{n}]");
    let got = peer.post("/process/id_999999999.wait", json!({"timeout": 1})).await;
    assert_eq!(got.status_json(peer, "wait missing"), missing("/process/id_999999999"), "[{n}]");
    let invalid = (StatusCode::BAD_REQUEST, json!({"detail": "Invalid attribute \"nosuch\" in request."}));
    let got = peer.post(&format!("{job}.nosuch"), json!({})).await;
    assert_eq!(got.status_json(peer, "POST .nosuch"), invalid, "[{n}]");
    let got = peer.get(&format!("{job}.nosuch")).await;
    assert_eq!(got.status_json(peer, "GET .nosuch"), invalid, "[{n}]");
    let got = peer.get(&format!("{job}.execute")).await;
    let (status, object) = got.status_json(peer, "GET .execute");
    assert_eq!((status, &object["abspath"]), (StatusCode::OK, &json!(job)), "[{n}] GET .execute shows the object");
}

/// `/process` pages: newest first, absolute links, `page=last`, out of range.
async fn process_paging(peer: &Peer) {
    let job = peer.jobflow(PAGING).await;
    let n = peer.name;
    for _ in 0..3 {
        peer.run(&job, json!({})).await;
    }
    let list = format!("/process?job={job}&page_size=2&attrs=id&attrs=status");
    let first = peer.get(&list).await.json(peer, "page 1");
    let count = first["count"].as_u64().unwrap_or(0);
    assert!(count >= 3, "[{n}] count: {first}");
    assert_eq!(first["previous"], Value::Null, "[{n}] {first}");
    let ids = |page: &Value| -> Vec<u64> {
        page["results"].as_array().map_or(Vec::new(), |r| r.iter().filter_map(|p| p["id"].as_u64()).collect())
    };
    let first_ids = ids(&first);
    assert_eq!(first_ids.len(), 2, "[{n}] page_size=2: {first}");
    assert!(first_ids[0] > first_ids[1], "[{n}] newest first: {first}");
    assert_eq!(first["results"][0].as_object().map(|o| o.len()), Some(2), "[{n}] attrs trims: {first}");
    let next = first["next"].as_str().unwrap_or_default().to_string();
    assert!(next.starts_with(&format!("{}/process?", peer.base_url)), "[{n}] next is absolute: {next}");
    assert!(next.contains("page=2"), "[{n}] {next}");
    let second = peer
        .send(
            "page 2",
            peer.http
                .get(&next)
                .header(ACCEPT, "application/json")
                .header(AUTHORIZATION, format!("Token {}", peer.token)),
        )
        .await
        .json(peer, "page 2");
    let second_ids = ids(&second);
    assert!(!second_ids.is_empty() && second_ids[0] < first_ids[1], "[{n}] page 2 continues: {second}");
    let previous = second["previous"].as_str().unwrap_or_default();
    assert!(
        previous.starts_with(&format!("{}/process?", peer.base_url)) && !previous.contains("page="),
        "[{n}] previous: {second}"
    );
    let last = peer.get(&format!("{list}&page=last")).await.json(peer, "page=last");
    assert_eq!(last["next"], Value::Null, "[{n}] {last}");
    assert_eq!(ids(&last).len() as u64, (count - 1) % 2 + 1, "[{n}] {last}");
    let beyond = peer.get(&format!("{list}&page=99999")).await;
    assert_eq!(
        beyond.status_json(peer, "page out of range"),
        (StatusCode::NOT_FOUND, json!({"detail": "Invalid page."})),
        "[{n}]"
    );
    let default = peer.get(&format!("/process?job={job}&attrs=id")).await.json(peer, "default page");
    assert_eq!(ids(&default).len() as u64, count.min(25), "[{n}] 25 per page: {default}");
}

/// `POST <dir>` creates a job flow (201); a second time is refused; DELETE removes it.
async fn create_jobflow(peer: &Peer) {
    let n = peer.name;
    let name = format!("contract_created_{}", peer.run_id);
    let source = "|x = 1|\nreturn(x)\n";
    let body = json!({"name": name, "type_object": "/system/types/Jobflow", "description": "made by the contract", "fields": {"source": source}});
    let created = peer.post("/root", body.clone()).await;
    let (status, object) = created.status_json(peer, "create");
    assert_eq!(status, StatusCode::CREATED, "[{n}] {object}");
    let path = format!("/root/{name}");
    assert_eq!(object["abspath"], path, "[{n}] {object}");
    assert_eq!(object["type_object"], "/system/types/Jobflow", "[{n}] {object}");
    assert_eq!(object["parent_object"], "/root", "[{n}] {object}");
    assert_eq!(object["owner"], "root", "[{n}] {object}");
    assert_eq!(object["display_name"], name, "[{n}] {object}");
    assert_eq!(object["description"], "made by the contract", "[{n}] {object}");
    assert_eq!(object["fields"]["source"], source, "[{n}] {object}");
    assert!(object["id"].is_u64(), "[{n}] {object}");
    let again = peer.post("/root", body).await;
    assert_eq!(
        again.status_json(peer, "create again"),
        (StatusCode::BAD_REQUEST, json!({"detail": format!("Already exists '{name}'")})),
        "[{n}]"
    );
    let bad_name = peer.post("/root", json!({"name": "x.y", "type_object": "/system/types/Jobflow"})).await;
    assert_eq!(
        bad_name.status_json(peer, "bad name"),
        (StatusCode::BAD_REQUEST, json!({"detail": "Invalid name 'x.y'"})),
        "[{n}]"
    );
    let no_name = peer.post("/root", json!({"type_object": "/system/types/Jobflow"})).await;
    assert_eq!(
        no_name.status_json(peer, "no name"),
        (StatusCode::BAD_REQUEST, json!({"name": ["This field is required."]})),
        "[{n}]"
    );
    let done = peer.run(&path, json!({})).await;
    assert_eq!(done["result"], 1, "[{n}] the created job flow runs: {done}");
    peer.delete(&path).await;
    assert_eq!(peer.get(&path).await.status, StatusCode::NOT_FOUND, "[{n}] deleted");
}

/// A channel object: its queue depth is `extra_properties.message_count`.
async fn channel_object(peer: &Peer) {
    let channel = peer.channel("object").await;
    let n = peer.name;
    let object = peer.get(&channel).await.json(peer, "channel");
    assert_eq!(object["type_object"], "/system/types/Channel", "[{n}] {object}");
    assert_eq!(object["owner"], "root", "[{n}] {object}");
    assert_eq!(object["extra_properties"], json!({"message_count": 0, "event_count": 0}), "[{n}] {object}");
    assert_eq!(object["fields"]["action_type"], "NoAction", "[{n}] {object}");
    peer.post(&format!("{channel}.send"), json!(1)).await;
    peer.post(&format!("{channel}.send"), json!(2)).await;
    assert_eq!(peer.message_count(&channel).await, 2, "[{n}]");
    peer.recv_json(&channel).await;
    assert_eq!(peer.message_count(&channel).await, 1, "[{n}]");
    let cleared = peer.post(&format!("{channel}.clear_messages"), json!({})).await;
    assert_eq!(cleared.status, StatusCode::OK, "[{n}] .clear_messages");
    assert!(cleared.body.is_empty(), "[{n}] .clear_messages answers no body");
    assert_eq!(peer.message_count(&channel).await, 0, "[{n}] cleared");
    peer.delete(&channel).await;
}

/// KEY=VAL events arrive as a JSON object of strings.
async fn sendevt_key_val(peer: &Peer) {
    let channel = peer.channel("evkv").await;
    peer.sendevt(&channel, &["hostname=web1", "severity=4", "detail=a=b"], None);
    let message = peer.recv_json(&channel).await;
    assert_eq!(message, json!({"hostname": "web1", "severity": "4", "detail": "a=b"}), "[{}] KEY=VAL event", peer.name);
    peer.delete(&channel).await;
}

/// Standard-input events arrive as a JSON string, even when the text looks like JSON.
async fn sendevt_stdin(peer: &Peer) {
    let channel = peer.channel("evstdin").await;
    peer.sendevt(&channel, &[], Some("line1\nline2\n"));
    peer.sendevt(&channel, &[], Some("{\"k\": [1,2]}"));
    let first = peer.recv_json(&channel).await;
    let second = peer.recv_json(&channel).await;
    assert_eq!([first, second], [json!("line1\nline2\n"), json!("{\"k\": [1,2]}")], "[{}] stdin events", peer.name);
    peer.delete(&channel).await;
}

/// A task: listed while WAITING, answered with `.submit` (empty 200); the answer is the
/// process result; answering again is the server's 500.
async fn task_submit(peer: &Peer) {
    let (process, task) = peer.ask().await;
    let n = peer.name;
    let shown = peer.get(&task).await.json(peer, "task");
    let keys: Vec<&str> = shown.as_object().map_or(Vec::new(), |o| o.keys().map(String::as_str).collect());
    assert_eq!(
        keys,
        [
            "id",
            "abspath",
            "owner",
            "assigned_users",
            "assigned_groups",
            "name",
            "title",
            "message",
            "action_text",
            "status",
            "created_date",
            "closed_date"
        ],
        "[{n}] task fields: {shown}"
    );
    assert_eq!(shown["abspath"], task, "[{n}] {shown}");
    assert_eq!(shown["status"], "WAITING", "[{n}] {shown}");
    assert_eq!(shown["owner"], "root", "[{n}] {shown}");
    assert_eq!(shown["assigned_users"], json!(["root"]), "[{n}] {shown}");
    assert_eq!(shown["title"], "Question from the contract", "[{n}] {shown}");
    assert_eq!(shown["message"], "Which host?", "[{n}] {shown}");
    assert_eq!(shown["action_text"], "[\"web 1\", \"web 2\"]", "[{n}] {shown}");
    assert_eq!(shown["closed_date"], Value::Null, "[{n}] {shown}");
    let waiting = peer.get("/task?status=WAITING&attrs=id&page_size=1000").await.json(peer, "task list");
    assert!(waiting["count"].is_u64() && waiting.get("next").is_some(), "[{n}] paged: {waiting}");
    assert!(
        waiting["results"].as_array().is_some_and(|r| r.iter().any(|t| t["id"] == shown["id"])),
        "[{n}] listed as WAITING: {waiting}"
    );
    let submitted = peer.post(&format!("{task}.submit"), json!({"result": "web 2"})).await;
    assert_eq!(submitted.status, StatusCode::OK, "[{n}] .submit");
    assert!(submitted.body.is_empty(), "[{n}] .submit answers no body");
    let done = peer.wait(&process).await;
    assert_eq!((&done["status"], &done["result"]), (&json!("DONE"), &json!("web 2")), "[{n}] {done}");
    let closed = peer.get(&task).await.json(peer, "answered task");
    assert_eq!(closed["status"], "DONE", "[{n}] {closed}");
    assert!(closed["closed_date"].is_string(), "[{n}] {closed}");
    let again = peer.post(&format!("{task}.submit"), json!({"result": "again"})).await;
    assert_eq!(
        again.status_json(peer, "submit again"),
        (StatusCode::INTERNAL_SERVER_ERROR, json!({"detail": "No waiting processes"})),
        "[{n}]"
    );
}

/// `.submit` without a body answers "OK".
async fn task_submit_without_body(peer: &Peer) {
    let (process, task) = peer.ask().await;
    let submit = format!("{task}.submit");
    let submitted = peer.send("submit without a body", peer.request(Method::POST, &submit)).await;
    assert_eq!(submitted.status, StatusCode::OK, "[{}] .submit", peer.name);
    let done = peer.wait(&process).await;
    assert_eq!(done["result"], "OK", "[{}] {done}", peer.name);
}

/// `.cancel` closes the task but leaves its process waiting, until `.terminate`.
async fn task_cancel(peer: &Peer) {
    let (process, task) = peer.ask().await;
    let n = peer.name;
    let canceled = peer.post(&format!("{task}.cancel"), json!({})).await;
    assert_eq!(canceled.status, StatusCode::OK, "[{n}] .cancel");
    assert!(canceled.body.is_empty(), "[{n}] .cancel answers no body");
    let shown = peer.get(&task).await.json(peer, "canceled task");
    assert_eq!(shown["status"], "CANCELED", "[{n}] {shown}");
    assert!(shown["closed_date"].is_string(), "[{n}] {shown}");
    let still = peer.post(&format!("{process}.wait"), json!({"timeout": 2})).await;
    assert_eq!(still.status, StatusCode::REQUEST_TIMEOUT, "[{n}] the process still waits");
    let late = peer.post(&format!("{task}.submit"), json!({"result": "late"})).await;
    assert_eq!(
        late.status_json(peer, "submit after cancel"),
        (StatusCode::INTERNAL_SERVER_ERROR, json!({"detail": "No waiting processes"})),
        "[{n}]"
    );
    let terminated = peer.post(&format!("{process}.terminate"), json!({})).await;
    assert_eq!(terminated.status_json(peer, "terminate"), (StatusCode::OK, json!(true)), "[{n}]");
    let aborted = peer.wait(&process).await;
    assert_eq!(aborted["status"], "ABORTED", "[{n}] {aborted}");
    assert!(aborted["error"].as_str().is_some_and(|e| e.ends_with(": terminated by user")), "[{n}] {aborted}");
}

// --- one sim and one real test per case ---------------------------------------------------------

macro_rules! contract {
    ($events:literal => $($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sim() {
                let peer = super::Peer::sim($events).await;
                super::$case(&peer).await;
                peer.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn real() {
                if let Some(peer) = super::Peer::real() {
                    super::$case(&peer).await;
                }
            }
        }
    )*};
}

contract!(false =>
    execute_and_wait_done,
    execute_and_wait_aborted,
    parameters_are_expressions,
    parameters_refused,
    execute_body_checks,
    missing_parameter_aborts,
    string_literal_round_trip,
    wait_timeout_and_terminate,
    send_and_recv,
    send_without_accept_json,
    recv_timeouts,
    abandoned_recv_loses_a_message,
    authentication,
    not_found_and_unknown_methods,
    process_paging,
    create_jobflow,
    channel_object,
    task_submit,
    task_submit_without_body,
    task_cancel,
);

contract!(true => sendevt_key_val, sendevt_stdin);
