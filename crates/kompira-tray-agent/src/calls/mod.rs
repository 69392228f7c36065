//! What a window may ask the agent: one function per call, each validating its input and
//! answering plain data or an error sentence. [`dispatch`] matches every [`Call`] (the contract
//! in `kompira-tray-ipc`): a new variant does not compile until it is answered here.

pub mod alerts;
pub mod events;
pub mod jobflows;
pub mod outbox;
pub mod status;

use std::sync::Arc;

use kompira_tray_ipc::{Call, Event, Opening};
use serde::Serialize;
use serde_json::Value;

use crate::shell::Shell;

/// Answers one call: `Ok` with the answer, `Err` with a sentence for the window.
pub async fn dispatch(agent: &Arc<dyn Shell>, call: Call) -> Result<Value, Value> {
    match call {
        Call::Ping => answer(Ok::<_, String>(std::process::id())),
        Call::Open(opening) => answer(Ok::<_, String>(open(agent.as_ref(), opening))),
        Call::Status => answer(Ok::<_, String>(status::status(agent))),
        Call::ListAlerts { query } => answer(Ok::<_, String>(alerts::list_alerts(agent, query))),
        Call::MarkAlertsRead => {
            alerts::mark_alerts_read(agent);
            answer(Ok::<_, String>(()))
        }
        Call::ClearAlerts => {
            alerts::clear_alerts(agent);
            answer(Ok::<_, String>(()))
        }
        Call::SendEvent { form } => answer(events::send_event(agent.as_ref(), form).await),
        Call::ListOutbox => answer(outbox::list_outbox(agent).await),
        Call::RetryOutbox { id } => answer(outbox::retry_outbox(agent, id).await),
        Call::DiscardOutbox { id } => answer(outbox::discard_outbox(agent, id).await),
        Call::RunJobflow { form } => answer(jobflows::run_jobflow(agent, form)),
        Call::ListJobflows => answer(jobflows::list_jobflows(agent).await),
        Call::PlanRemedy { id } => answer(jobflows::plan_remedy(agent.as_ref(), id)),
        Call::RunRemedy { id } => answer(jobflows::run_remedy(agent, id)),
        Call::ListRemedies => answer(Ok::<_, String>(jobflows::list_remedies(agent))),
        Call::ListTasks => answer(Ok::<_, String>(crate::tasks::list_tasks(agent).await)),
        Call::SubmitTask { id, result } => {
            answer(crate::tasks::submit_task(agent, id, result.filter(|r| !r.is_null())).await)
        }
        Call::CancelTask { id } => answer(crate::tasks::cancel_task(agent, id).await),
        Call::SettingsSaved => {
            settings_saved(agent).await;
            answer(Ok::<_, String>(()))
        }
        Call::GetAutostart => answer(crate::autostart::is_enabled()),
        Call::SetAutostart { enabled } => answer(set_autostart(agent.as_ref(), enabled)),
        // The connection quits the agent once the answer is written (server.rs).
        Call::Quit => answer(Ok::<_, String>(())),
    }
}

/// The window saved kompira.conf: read it again and restart what depends on it.
async fn settings_saved(agent: &Arc<dyn Shell>) {
    if let Err(e) = agent.state().reload() {
        tracing::warn!("kompira.conf no longer loads: {e}");
    }
    crate::alerts::restart_watching(agent).await;
    crate::tasks::restart_watching(agent);
    crate::outbox::restart(agent);
    agent.refresh_tray();
    agent.emit(Event::StatusChanged);
}

/// The window's Settings checkbox: registers or unregisters start at login, then shows the state
/// in force in the tray and every window; answers that state.
fn set_autostart(agent: &dyn Shell, enabled: bool) -> Result<bool, String> {
    let outcome = crate::autostart::set(enabled).and_then(|()| crate::autostart::is_enabled());
    crate::tray::autostart_changed(agent);
    outcome
}

/// A `kompira-tray` launch asks to be shown: the window already open (or on its way) shows the
/// view instead (true), or there is none and the asker becomes the window (false).
fn open(agent: &dyn Shell, opening: Opening) -> bool {
    if !agent.window_present() {
        return false;
    }
    agent.emit(Event::ShowWindow(opening));
    true
}

fn answer<T: Serialize, E: Serialize>(result: Result<T, E>) -> Result<Value, Value> {
    result.map(to_json).map_err(to_json)
}

/// An answer as JSON; one that cannot be written becomes a sentence saying so.
fn to_json(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| Value::String(format!("the answer could not be written: {e}")))
}
