//! What a window may ask the agent: one function per call, each validating its input and
//! answering plain data or an error sentence. [`dispatch`] maps a call's name and JSON
//! arguments to them; the window's Tauri commands of the same names forward here.

pub mod alerts;
pub mod events;
pub mod jobflows;
pub mod outbox;
pub mod status;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agent::Agent;
use crate::ipc::Opening;

#[derive(Deserialize)]
struct Query {
    query: Option<String>,
}

#[derive(Deserialize)]
struct Form<T> {
    form: T,
}

#[derive(Deserialize)]
struct OptionalId {
    id: Option<i64>,
}

#[derive(Deserialize)]
struct AlertId {
    id: u64,
}

#[derive(Deserialize)]
struct TaskId {
    id: i64,
}

#[derive(Deserialize)]
struct TaskAnswer {
    id: i64,
    /// Any JSON value; absent or null sends no result (Kompira answers "OK").
    result: Option<Value>,
}

/// Answers one call: `Ok` with the answer, `Err` with a sentence for the window.
pub async fn dispatch(agent: &Arc<Agent>, call: &str, args: Value) -> Result<Value, Value> {
    match call {
        "ping" => answer(Ok::<_, String>(std::process::id())),
        "status" => answer(Ok::<_, String>(status::status(agent))),
        "list_alerts" => answer(Ok::<_, String>(alerts::list_alerts(agent, parse::<Query>(call, args)?.query))),
        "mark_alerts_read" => {
            alerts::mark_alerts_read(agent);
            answer(Ok::<_, String>(()))
        }
        "clear_alerts" => {
            alerts::clear_alerts(agent);
            answer(Ok::<_, String>(()))
        }
        "send_event" => answer(events::send_event(agent, parse::<Form<events::SendForm>>(call, args)?.form).await),
        "list_outbox" => answer(outbox::list_outbox(agent).await),
        "retry_outbox" => answer(outbox::retry_outbox(agent, parse::<OptionalId>(call, args)?.id).await),
        "discard_outbox" => answer(outbox::discard_outbox(agent, parse::<OptionalId>(call, args)?.id).await),
        "run_jobflow" => answer(jobflows::run_jobflow(agent, parse::<Form<jobflows::RunForm>>(call, args)?.form)),
        "list_jobflows" => answer(jobflows::list_jobflows(agent).await),
        "run_remedy" => answer(jobflows::run_remedy(agent, parse::<AlertId>(call, args)?.id)),
        "list_remedies" => answer(Ok::<_, String>(jobflows::list_remedies(agent))),
        "list_tasks" => answer(Ok::<_, String>(crate::tasks::list_tasks(agent).await)),
        "submit_task" => {
            let TaskAnswer { id, result } = parse(call, args)?;
            answer(crate::tasks::submit_task(agent, id, result.filter(|r| !r.is_null())).await)
        }
        "cancel_task" => answer(crate::tasks::cancel_task(agent, parse::<TaskId>(call, args)?.id).await),
        "settings_saved" => {
            settings_saved(agent).await;
            answer(Ok::<_, String>(()))
        }
        "autostart_changed" => {
            crate::tray::autostart_changed(agent);
            answer(Ok::<_, String>(()))
        }
        "open" => answer(Ok::<_, String>(open(agent, parse::<Opening>(call, args)?))),
        _ => Err(Value::String(format!("the agent has no call named {call:?} (is it older than the window?)"))),
    }
}

/// The window saved kompira.conf: read it again and restart what depends on it.
async fn settings_saved(agent: &Arc<Agent>) {
    if let Err(e) = agent.state.reload() {
        tracing::warn!("kompira.conf no longer loads: {e}");
    }
    crate::alerts::restart_watching(agent).await;
    crate::tasks::restart_watching(agent);
    crate::outbox::restart(agent);
    agent.refresh_tray();
    agent.emit("status-changed", ());
}

/// A `kompira-tray` launch asks to be shown: the window already open (or on its way) shows the
/// view instead (true), or there is none and the asker becomes the window (false).
fn open(agent: &Agent, opening: Opening) -> bool {
    if !agent.window_present() {
        return false;
    }
    agent.emit("show-window", opening);
    true
}

fn parse<T: DeserializeOwned>(call: &str, args: Value) -> Result<T, Value> {
    // A call without arguments sends null; the optional fields then take their defaults.
    let args = if args.is_null() { Value::Object(Default::default()) } else { args };
    serde_json::from_value(args).map_err(|e| Value::String(format!("{call}: bad arguments ({e})")))
}

fn answer<T: Serialize, E: Serialize>(result: Result<T, E>) -> Result<Value, Value> {
    result.map(to_json).map_err(to_json)
}

/// An answer as JSON; one that cannot be written becomes a sentence saying so.
fn to_json(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| Value::String(format!("the answer could not be written: {e}")))
}
