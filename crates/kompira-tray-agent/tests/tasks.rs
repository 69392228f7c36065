//! The agent's task watcher as a process against kompira-sim: a job flow waits for a person,
//! the agent notices the task by itself (`tasks-changed`), lists it for the window with its
//! choices, and answers or cancels it for the window. No session bus: the popups are logged
//! away, which the agent must survive (the app e2e suite checks them).

use std::time::{Duration, Instant};

use kompira_core::rest::{Client, ExecuteRequest, RestSettings};
use kompira_core::secret::Secret;
use kompira_sim::{Definitions, SimConfig, SimHandle};
use kompira_tray_ipc::wire::{self as ipc, Reply, Request};
use kompira_tray_ipc::Event;
use serde_json::{json, Value};
use tokio::io::BufReader;

mod common;

use common::{call, start_with_conf, Agent};

const TOKEN: &str = "tasks-test-token";
const LIMIT: Duration = Duration::from_secs(30);

async fn sim() -> SimHandle {
    let mut definitions = Definitions::builtin();
    definitions.jobflows.extend(Definitions::from_toml(kompira_testkit::ASK_PERSON_DEFINITION).unwrap().jobflows);
    kompira_sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: TOKEN.into(),
        amqp_url: None,
        definitions,
        tls: None,
    })
    .await
    .expect("the stand-in starts")
}

async fn start_agent(sim: &SimHandle, notify: &str) -> Agent {
    start_with_conf(&format!("[rest]\nurl = {}\ntoken = {TOKEN}\n\n[notify]\n{notify}\n", sim.base_url)).await
}

fn client(sim: &SimHandle) -> Client {
    Client::new(&RestSettings {
        url: sim.base_url.clone(),
        token: Secret::new(TOKEN),
        ca_file: None,
        insecure: false,
        timeout: Duration::from_secs(10),
    })
    .unwrap()
}

async fn list(agent: &Agent) -> Value {
    match call(agent, "list_tasks", Value::Null).await {
        Reply::Ok(list) => list,
        other => panic!("list_tasks failed: {other:?}"),
    }
}

/// Starts ask_person and waits until its process is WAITING; its process path.
async fn ask(client: &Client) -> String {
    let process = client.execute("/root/ask_person", &ExecuteRequest::default()).await.unwrap();
    let deadline = Instant::now() + LIMIT;
    while client.process(&process).await.unwrap().status.as_str() != "WAITING" {
        assert!(Instant::now() < deadline, "{process} never waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    process
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_notices_lists_answers_and_cancels_tasks() {
    let sim = sim().await;
    let agent = start_agent(&sim, "task_poll = 5\ntask_user = root").await;
    let client = client(&sim);
    assert_eq!(list(&agent).await, json!({"tasks": [], "error": null, "enabled": true}));

    // A window listens; the agent's own poll notices the task within a poll or two.
    let stream = ipc::connect(&agent.socket).await.unwrap();
    let (read, mut write) = tokio::io::split(stream);
    ipc::write_line(&mut write, &Request { call: "subscribe".into(), args: Value::Null }).await.unwrap();
    let mut events = BufReader::new(read);
    let process = ask(&client).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event: Event = tokio::time::timeout(left, ipc::read_line(&mut events))
            .await
            .expect("no tasks-changed within 15 s")
            .unwrap()
            .unwrap();
        if event == Event::TasksChanged {
            break;
        }
    }
    let listed = list(&agent).await;
    let task = &listed["tasks"][0];
    assert_eq!(task["path"], "/task/id_1", "{listed}");
    assert_eq!(task["title"], "Question from ask_person");
    assert_eq!(task["choices"], json!([{"label": "web 1", "value": "web 1"}, {"label": "web 2", "value": "web 2"}]));

    assert_eq!(call(&agent, "submit_task", json!({"id": 1, "result": "web 2"})).await, Reply::Ok(Value::Null));
    let done = client.wait(&process, Duration::from_secs(10)).await.unwrap().expect("the job flow ends");
    assert_eq!((done.status.as_str(), &done.result), ("DONE", &json!("web 2")));
    assert_eq!(list(&agent).await["tasks"], json!([]));

    // Cancelled: it leaves the list; the job flow is left waiting, as Kompira does.
    let process = ask(&client).await;
    assert_eq!(list(&agent).await["tasks"][0]["id"], 2);
    assert_eq!(call(&agent, "cancel_task", json!({"id": 2})).await, Reply::Ok(Value::Null));
    assert_eq!(list(&agent).await["tasks"], json!([]));
    assert_eq!(client.process(&process).await.unwrap().status.as_str(), "WAITING");
    match call(&agent, "submit_task", json!({"id": 2, "result": null})).await {
        Reply::Err(Value::String(text)) => assert!(text.contains("no longer waiting for an answer"), "{text}"),
        other => panic!("expected a sentence, got {other:?}"),
    }
    match call(&agent, "submit_task", json!({"id": "two"})).await {
        Reply::Err(Value::String(text)) => assert!(text.starts_with("submit_task: bad arguments"), "{text}"),
        other => panic!("expected a sentence, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_of_other_users_and_a_switched_off_poll_are_left_alone() {
    let sim = sim().await;
    let client = client(&sim);
    ask(&client).await;
    let agent = start_agent(&sim, "task_user = guest").await;
    assert_eq!(list(&agent).await, json!({"tasks": [], "error": null, "enabled": true}));
    drop(agent);
    let agent = start_agent(&sim, "task_poll = 0").await;
    assert_eq!(list(&agent).await, json!({"tasks": [], "error": null, "enabled": false}));
    sim.shutdown().await;
}
