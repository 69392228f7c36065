//! The one command for everything the agent answers: the page names a call of
//! `kompira_tray_ipc::Call` (ui/calls.js) with its arguments, and this forwards it. A call the
//! enum does not know is refused here with the agent's own sentence.

use kompira_tray_ipc::Call;
use serde_json::Value;

use crate::agent_link::forward;

/// Forwards the page's call `name` with `args` to the agent; its answer or error sentence.
#[tauri::command]
pub async fn call(name: String, args: Option<Value>) -> Result<Value, String> {
    let call = Call::from_request(&name, args.unwrap_or(Value::Null))?;
    forward(&call).await
}
