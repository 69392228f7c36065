//! The commands the agent answers (see `kompira_tray_agent::calls`), under the same names and
//! arguments the page uses; each forwards its arguments and returns the agent's answer.

use serde_json::{json, Value};

use crate::agent_link::forward;

type Answer = Result<Value, String>;

#[tauri::command]
pub async fn status() -> Answer {
    forward("status", Value::Null).await
}

#[tauri::command]
pub async fn list_alerts(query: Option<String>) -> Answer {
    forward("list_alerts", json!({ "query": query })).await
}

#[tauri::command]
pub async fn mark_alerts_read() -> Answer {
    forward("mark_alerts_read", Value::Null).await
}

#[tauri::command]
pub async fn clear_alerts() -> Answer {
    forward("clear_alerts", Value::Null).await
}

#[tauri::command]
pub async fn send_event(form: Value) -> Answer {
    forward("send_event", json!({ "form": form })).await
}

#[tauri::command]
pub async fn list_outbox() -> Answer {
    forward("list_outbox", Value::Null).await
}

#[tauri::command]
pub async fn retry_outbox(id: Option<i64>) -> Answer {
    forward("retry_outbox", json!({ "id": id })).await
}

#[tauri::command]
pub async fn discard_outbox(id: Option<i64>) -> Answer {
    forward("discard_outbox", json!({ "id": id })).await
}

#[tauri::command]
pub async fn run_jobflow(form: Value) -> Answer {
    forward("run_jobflow", json!({ "form": form })).await
}

#[tauri::command]
pub async fn list_jobflows() -> Answer {
    forward("list_jobflows", Value::Null).await
}

#[tauri::command]
pub async fn run_remedy(id: u64) -> Answer {
    forward("run_remedy", json!({ "id": id })).await
}

#[tauri::command]
pub async fn list_remedies() -> Answer {
    forward("list_remedies", Value::Null).await
}

#[tauri::command]
pub async fn list_tasks() -> Answer {
    forward("list_tasks", Value::Null).await
}

#[tauri::command]
pub async fn submit_task(id: i64, result: Option<Value>) -> Answer {
    forward("submit_task", json!({ "id": id, "result": result })).await
}

#[tauri::command]
pub async fn cancel_task(id: i64) -> Answer {
    forward("cancel_task", json!({ "id": id })).await
}
