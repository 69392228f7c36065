//! The Job flow view (run a job flow, list the server's job flows) and the alerts' remedies.

use std::sync::Arc;

use crate::runs::{self, RunSpec};
use crate::shell::Shell;
use kompira_core::rest::{ExecuteRequest, MonitoringMode};
use kompira_tray_ipc::rows;
pub use kompira_tray_ipc::RunForm;
use serde::{Deserialize, Serialize};

/// The directory whose job flows the path field offers (as `kompira jobflow list` does).
const JOBFLOW_LIST_DIR: &str = "/root";

/// Validates the form into what to run: a job flow path, parameters (text sent as string literals,
/// expressions where the row says so), the
/// modes that were chosen (unchosen ones are left to the server).
pub fn run_spec(form: &RunForm) -> Result<RunSpec, String> {
    let jobflow = form.jobflow.trim();
    if jobflow.is_empty() {
        return Err("enter the job flow's path (like /root/restart_process)".into());
    }
    if !jobflow.starts_with('/') {
        return Err(format!("{jobflow:?} is not a job flow path: it must start with / (like /root/restart_process)"));
    }
    let parameters = rows::parameters(&form.parameters).map_err(|e| format!("parameters: {e}"))?;
    let monitoring_mode = match form.monitoring_mode.trim() {
        "" => None,
        mode => Some(mode.parse::<MonitoringMode>()?),
    };
    let request = ExecuteRequest {
        parameters,
        step_mode: form.step_mode.then_some(true),
        checkpoint_mode: form.checkpoint_mode.then_some(true),
        monitoring_mode,
    };
    Ok(RunSpec { jobflow: jobflow.to_owned(), request, wait: form.wait, alert: None })
}

/// Starts the job flow; the run number that `run-update` events carry.
pub fn run_jobflow(agent: &Arc<dyn Shell>, form: RunForm) -> Result<u64, String> {
    let spec = run_spec(&form)?;
    let client = agent.state().rest_client()?;
    Ok(runs::start(agent, Arc::new(client), spec))
}

/// A job flow the path field can offer.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobflowChoice {
    pub path: String,
    /// The name shown in Kompira's web UI.
    pub name: String,
}

/// The server's job flows below /root, sorted by path (the window keeps them for the session).
pub async fn list_jobflows(agent: &dyn Shell) -> Result<Vec<JobflowChoice>, String> {
    let client = agent.state().rest_client()?;
    let objects = client.list_jobflows(JOBFLOW_LIST_DIR).await.map_err(|e| e.to_string())?;
    let mut choices: Vec<JobflowChoice> =
        objects.into_iter().map(|o| JobflowChoice { path: o.abspath, name: o.display_name }).collect();
    choices.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(choices)
}

/// What the remedy of alert `id` would run, for the confirmation.
pub fn plan_remedy(agent: &dyn Shell, id: u64) -> Result<kompira_core::remedy::RemedyPlan, String> {
    crate::alerts::plan_remedy(agent, id)
}

/// Runs the remedy of alert `id` once the user confirmed it.
pub fn run_remedy(agent: &Arc<dyn Shell>, id: u64) -> Result<u64, String> {
    crate::alerts::run_remedy(agent, id)
}

/// A channel's remedy, as the Alerts view shows it.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct RemedyChoice {
    pub channel: String,
    pub jobflow: String,
    /// "Run restart_process", in the agent's language.
    pub label: String,
}

/// The configured remedies (`[notify] remedies`), so the Alerts view can offer them.
pub fn list_remedies(agent: &dyn Shell) -> Vec<RemedyChoice> {
    let remedies = agent.state().settings().map(|s| kompira_core::remedy::from_settings(&s)).unwrap_or_default();
    let lang = crate::tray::current_lang(agent);
    remedies
        .into_iter()
        .map(|r| RemedyChoice {
            label: crate::text::remedy_label(lang, r.jobflow_name()),
            channel: r.channel,
            jobflow: r.jobflow,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kompira_tray_ipc::Row;
    use serde_json::json;

    fn rows(pairs: &[(&str, &str)]) -> Vec<Row> {
        pairs.iter().map(|(k, v)| Row { key: (*k).into(), value: (*v).into(), expression: false }).collect()
    }

    #[test]
    fn the_form_becomes_an_execute_request_with_only_the_chosen_modes() {
        let form = RunForm {
            jobflow: " /root/restart_process ".into(),
            parameters: rows(&[("host", "web1"), ("", ""), ("note", "a=b")]),
            checkpoint_mode: true,
            monitoring_mode: "abort_mail".into(),
            wait: true,
            ..RunForm::default()
        };
        let spec = run_spec(&form).unwrap();
        assert_eq!((spec.jobflow.as_str(), spec.wait, spec.alert), ("/root/restart_process", true, None));
        assert_eq!(
            serde_json::to_value(&spec.request).unwrap(),
            json!({"parameters": {"host": "\"web1\"", "note": "\"a=b\""}, "checkpoint_mode": true, "monitoring_mode": "ABORT_MAIL"})
        );
        let bare = run_spec(&RunForm { jobflow: "/root/x".into(), ..RunForm::default() }).unwrap();
        assert_eq!(serde_json::to_value(&bare.request).unwrap(), json!({}));
    }

    #[test]
    fn bad_forms_get_a_sentence() {
        let bad = |form: RunForm| run_spec(&form).unwrap_err();
        assert!(bad(RunForm::default()).starts_with("enter the job flow's path"));
        assert!(bad(RunForm { jobflow: "root/x".into(), ..RunForm::default() }).contains("must start with /"));
        let with = |pairs: &[(&str, &str)]| RunForm {
            jobflow: "/root/x".into(),
            parameters: rows(pairs),
            ..RunForm::default()
        };
        assert_eq!(bad(with(&[("", "web1")])), "parameters: row 1: the key is empty; name it or clear the row");
        assert_eq!(
            bad(with(&[("host", "a"), ("host", "b")])),
            "parameters: row 2: the key \"host\" is already used in row 1"
        );
        assert!(bad(with(&[("a=b", "c")])).contains("contains '='"));
        let mode = RunForm { jobflow: "/root/x".into(), monitoring_mode: "loud".into(), ..RunForm::default() };
        assert!(bad(mode).contains("is not a monitoring mode"));
    }

    /// The run as the command starts it (`run_spec`, then `execute_and_follow`), against a
    /// kompira-sim started here; every update the window would get, in order.
    async fn run_against_sim(form: RunForm) -> Vec<runs::RunUpdate> {
        let stand_in =
            kompira_testkit::sim_with_conf("sim-token", "sim-token", kompira_sim::Definitions::builtin(), "").await;
        let settings = kompira_testkit::settings_from_file(&stand_in.conf());
        let state = crate::state::AppState::with_settings(Ok(std::sync::Arc::new(settings)));
        let client = state.rest_client().unwrap();
        let spec = run_spec(&form).unwrap();
        let mut updates = Vec::new();
        runs::execute_and_follow(&client, 1, spec, |update| updates.push(update)).await;
        stand_in.sim.shutdown().await;
        updates
    }

    fn form(jobflow: &str, parameters: &[(&str, &str)], wait: bool) -> RunForm {
        RunForm { jobflow: jobflow.into(), parameters: rows(parameters), wait, ..RunForm::default() }
    }

    /// Only the last update is marked finished.
    fn last(updates: &[runs::RunUpdate]) -> &runs::RunUpdate {
        let (last, before) = updates.split_last().expect("at least one update");
        assert!(last.finished, "{last:?}");
        assert!(before.iter().all(|u| !u.finished), "{updates:?}");
        last
    }

    #[tokio::test]
    async fn a_job_flow_from_the_form_is_followed_to_done_with_its_console_and_result() {
        let updates = run_against_sim(form("/root/restart_process", &[("host", "web1")], true)).await;
        assert_eq!(updates[0].status, "STARTED");
        let process = updates[0].process.clone().expect("the process path");
        assert!(process.starts_with("/process/id_"), "{process}");
        let done = last(&updates);
        assert_eq!((done.status.as_str(), done.exit_status, done.error.as_deref()), ("DONE", Some(0), None));
        assert_eq!(done.result, "\"restarted on web1\"");
        assert_eq!(done.process.as_deref(), Some(process.as_str()));
        let console: String = updates.iter().map(|u| u.console_tail.as_str()).collect();
        assert!(console.contains("connecting to web1") && console.contains("restarted"), "{console:?}");
        assert!(updates.iter().all(|u| u.run == 1 && u.alert.is_none()));
    }

    #[tokio::test]
    async fn an_aborted_job_flow_reports_its_error_and_exit_status() {
        let updates = run_against_sim(form("/root/failing_job", &[], true)).await;
        let aborted = last(&updates);
        assert_eq!((aborted.status.as_str(), aborted.exit_status), ("ABORTED", Some(1)));
        // Kompira puts where it aborted in front of the reason.
        assert!(
            aborted.error.as_deref().is_some_and(|e| e.ends_with("simulated failure: no route to host")),
            "{aborted:?}"
        );
        let console: String = updates.iter().map(|u| u.console_tail.as_str()).collect();
        assert!(console.contains("giving up"), "{console:?}");
    }

    #[tokio::test]
    async fn without_waiting_only_the_process_path_is_reported() {
        let updates = run_against_sim(form("/root/restart_process", &[("host", "web1")], false)).await;
        assert_eq!(updates.len(), 1, "{updates:?}");
        assert_eq!(updates[0].status, "STARTED");
        assert!(updates[0].finished);
        assert!(updates[0].process.as_deref().is_some_and(|p| p.starts_with("/process/id_")));
    }

    #[tokio::test]
    async fn a_run_the_server_refuses_fails_with_its_reason() {
        // An expression row that does not compile: Kompira refuses the run with 400.
        let mut refused = form("/root/restart_process", &[("host", "web 1")], true);
        refused.parameters[0].expression = true;
        let updates = run_against_sim(refused).await;
        let failed = last(&updates);
        assert_eq!((failed.status.as_str(), failed.process.as_deref()), ("FAILED", None));
        assert!(failed.error.as_deref().is_some_and(|e| e.contains("Compile parameter \"host\"")), "{failed:?}");
        let missing = run_against_sim(form("/root/no_such_flow", &[], true)).await;
        assert_eq!(last(&missing).status, "FAILED");
    }
}
