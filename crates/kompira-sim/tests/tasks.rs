//! Tasks as the real Kompira 1.6.11 answers them (transcripts `09*`): a job flow that waits
//! for a person, submit, cancel, the list with filters.

mod common;

use std::time::Duration;

use common::{get, http_builder, post, TOKEN};
use kompira_sim::{Definitions, SimConfig, SimHandle};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ASK: &str = r#"
[[jobflow]]
path = "/root/ask_person"
parameters = ["host"]
console = ["asking about {host}"]
duration_ms = 20
[jobflow.task]
title = "Question from ask_person"
message = "Which host should replace {host}?"
action = ["web 1", "web 2"]
assigned_users = ["root"]
"#;

async fn sim() -> SimHandle {
    kompira_sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.to_string(),
        amqp_url: None,
        definitions: Definitions::from_toml(ASK).unwrap(),
        tls: None,
    })
    .await
    .expect("sim starts")
}

/// A request whose answer may be empty: the status and the raw body.
async fn raw_post(s: &SimHandle, path: &str, body: Option<Value>) -> (StatusCode, String, bool) {
    let mut req = http_builder()
        .build()
        .unwrap()
        .request(Method::POST, format!("{}{path}", s.base_url))
        .header("Accept", "application/json")
        .header("Authorization", format!("Token {TOKEN}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let has_type = r.headers().contains_key("content-type");
    (r.status(), r.text().await.unwrap(), has_type)
}

/// Starts the job flow and waits until its process is WAITING; the process and task paths.
async fn start_waiting(s: &SimHandle) -> (String, String) {
    let (st, p) = post(s, "/root/ask_person.execute", json!({"parameters": {"host": "\"web0\""}})).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let process = p.as_str().unwrap().to_string();
    for _ in 0..200 {
        let (_, now) = get(s, &process).await;
        if now["status"] == "WAITING" {
            let console = now["console"].as_str().unwrap();
            let task = console.lines().last().unwrap().to_string();
            assert!(task.starts_with("/task/id_"), "{console}");
            return (process, task);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{process} never became WAITING");
}

#[tokio::test]
async fn submit_answers_the_job_flow() {
    let s = sim().await;
    let (process, task) = start_waiting(&s).await;
    let (st, list) = get(&s, "/task?status=WAITING").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["count"], 1);
    let t = &list["results"][0];
    assert_eq!(t["abspath"], task.as_str());
    assert_eq!(t["message"], "Which host should replace web0?");
    assert_eq!(t["action_text"], r#"["web 1", "web 2"]"#);
    assert_eq!(t["assigned_users"], json!(["root"]));
    assert_eq!(t["owner"], "root");
    let (st, body, has_type) = raw_post(&s, &format!("{task}.submit"), Some(json!({"result": "web 2"}))).await;
    assert_eq!((st, body.as_str(), has_type), (StatusCode::OK, "", false));
    let (_, done) = post(&s, &format!("{process}.wait"), json!({"timeout": 5})).await;
    assert_eq!(done["status"], "DONE");
    assert_eq!(done["result"], "web 2");
    let (_, t) = get(&s, &task).await;
    assert_eq!(t["status"], "DONE");
    assert!(t["closed_date"].is_string());
    // Answered already: nobody waits any more.
    let (st, body, _) = raw_post(&s, &format!("{task}.submit"), Some(json!({"result": "again"}))).await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({"detail": "No waiting processes"}));
    let (_, waiting) = get(&s, "/task?status=WAITING").await;
    assert_eq!(waiting["count"], 0);
    s.shutdown().await;
}

#[tokio::test]
async fn submit_without_body_sends_ok_and_objects_pass_through() {
    let s = sim().await;
    let (process, task) = start_waiting(&s).await;
    let (st, _, _) = raw_post(&s, &format!("{task}.submit"), None).await;
    assert_eq!(st, StatusCode::OK);
    let (_, done) = post(&s, &format!("{process}.wait"), json!({"timeout": 5})).await;
    assert_eq!(done["result"], "OK");
    let (process, task) = start_waiting(&s).await;
    let answer = json!({"host": "web 3", "n": 2});
    let (st, _, _) = raw_post(&s, &format!("{task}.submit"), Some(json!({"result": answer}))).await;
    assert_eq!(st, StatusCode::OK);
    let (_, done) = post(&s, &format!("{process}.wait"), json!({"timeout": 5})).await;
    assert_eq!(done["result"], answer);
    s.shutdown().await;
}

#[tokio::test]
async fn cancel_leaves_the_process_waiting_until_terminated() {
    let s = sim().await;
    let (process, task) = start_waiting(&s).await;
    let (st, body, _) = raw_post(&s, &format!("{task}.cancel"), Some(json!({}))).await;
    assert_eq!((st, body.as_str()), (StatusCode::OK, ""));
    let (_, t) = get(&s, &task).await;
    assert_eq!(t["status"], "CANCELED");
    assert!(t["closed_date"].is_string());
    let (st, _, _) = raw_post(&s, &format!("{process}.wait"), Some(json!({"timeout": 1}))).await;
    assert_eq!(st, StatusCode::REQUEST_TIMEOUT);
    let (_, p) = get(&s, &process).await;
    assert_eq!(p["status"], "WAITING");
    let (st, _, _) = raw_post(&s, &format!("{task}.submit"), Some(json!({"result": "late"}))).await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
    let (_, ok) = post(&s, &format!("{process}.terminate"), json!({})).await;
    assert_eq!(ok, json!(true));
    let (_, p) = post(&s, &format!("{process}.wait"), json!({"timeout": 5})).await;
    assert_eq!(p["status"], "ABORTED");
    s.shutdown().await;
}

#[tokio::test]
async fn list_filters_pages_and_trims() {
    let s = sim().await;
    let (_, first) = start_waiting(&s).await;
    let (_, second) = start_waiting(&s).await;
    raw_post(&s, &format!("{first}.cancel"), None).await;
    let (_, all) = get(&s, "/task?page_size=1").await;
    assert_eq!(all["count"], 2);
    assert_eq!(all["results"][0]["abspath"], second.as_str(), "newest first");
    assert!(all["next"].as_str().unwrap().contains("page=2"));
    let (_, canceled) = get(&s, "/task?status=CANCELED&attrs=id&attrs=title").await;
    assert_eq!(canceled["count"], 1);
    assert_eq!(
        canceled["results"][0],
        json!({"id": first.trim_start_matches("/task/id_").parse::<u64>().unwrap(), "title": "Question from ask_person"})
    );
    let (st, v) = get(&s, "/task/id_99").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v, json!({"detail": "Object \"/task/id_99\" is not found."}));
    let (st, _) = get(&s, &format!("{second}.submit")).await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    let (st, _) = post(&s, &format!("{second}.nosuch"), json!({})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    s.shutdown().await;
}

#[test]
fn a_bad_task_table_names_the_line() {
    let e = Definitions::from_toml("[[jobflow]]\npath = \"/root/a\"\n[jobflow.task]\ntitel = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 4") && e.contains("titel"), "{e}");
    let e = Definitions::from_toml("[[jobflow]]\npath = \"/task/x\"\n").unwrap_err().to_string();
    assert!(e.contains("reserved"), "{e}");
}
