//! Running a job flow from the agent (the window's form, or an alert's remedy) and following it
//! to its end. Each change goes to the window as a `run-update` event; the end also pops up,
//! because the window may be closed by then.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use kompira_core::rest::{follow, Client, ExecuteRequest, FollowOptions, Process, ProcessUpdate};
use kompira_tray_ipc::Event;
pub use kompira_tray_ipc::RunUpdate;

use crate::popups::{self, Loudness};
use crate::shell::Shell;
use crate::text::{self, Lang};

/// What to run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    /// The job flow's path.
    pub jobflow: String,
    pub request: ExecuteRequest,
    /// Follow the process to its end (otherwise only its start is reported).
    pub wait: bool,
    /// The history id of the alert whose remedy this is.
    pub alert: Option<u64>,
}

static NEXT_RUN: AtomicU64 = AtomicU64::new(1);

/// Starts the run and returns its number at once; the rest arrives as `run-update`s, and the
/// end of a followed run (or a failure) as a popup.
pub fn start(agent: &Arc<dyn Shell>, client: Arc<Client>, spec: RunSpec) -> u64 {
    let run = NEXT_RUN.fetch_add(1, Ordering::Relaxed);
    let reporter = agent.clone();
    agent.spawn(async move {
        let wait = spec.wait;
        execute_and_follow(&client, run, spec, |update| {
            if update.finished && (wait || update.status == "FAILED") {
                let (summary, body, loudness) = result_popup(crate::tray::current_lang(&reporter), &update);
                popups::show(summary, body, loudness);
            }
            reporter.emit(Event::RunUpdate(update));
        })
        .await;
    });
    run
}

/// The run itself: executes the job flow and reports the start, every change and the
/// end to `report`. The last report is the only one with `finished` set.
pub async fn execute_and_follow(client: &Client, run: u64, spec: RunSpec, mut report: impl FnMut(RunUpdate)) {
    let base = RunUpdate {
        run,
        jobflow: spec.jobflow.clone(),
        alert: spec.alert,
        process: None,
        status: "STARTING".into(),
        exit_status: None,
        result: "null".into(),
        error: None,
        console_tail: String::new(),
        finished: false,
    };
    let failed = |base: RunUpdate, error: String| RunUpdate {
        status: "FAILED".into(),
        error: Some(error),
        finished: true,
        ..base
    };
    let process = match client.execute(&spec.jobflow, &spec.request).await {
        Ok(process) => process,
        Err(e) => return report(failed(base, e.to_string())),
    };
    let started = RunUpdate { process: Some(process.clone()), status: "STARTED".into(), ..base };
    if !spec.wait {
        return report(RunUpdate { finished: true, ..started });
    }
    report(started.clone());
    // The last console lines come with the final state; keep them for the final report.
    let mut final_tail = String::new();
    let outcome = follow(client, &process, FollowOptions::default(), |update: &ProcessUpdate| {
        if update.process.is_finished() {
            final_tail = update.console_tail.clone();
        } else {
            report(from_process(&started, &update.process, &update.console_tail));
        }
    })
    .await;
    match outcome {
        Ok(done) => report(from_process(&started, &done, &final_tail)),
        Err(e) => report(failed(started, e.to_string())),
    }
}

fn from_process(started: &RunUpdate, process: &Process, console_tail: &str) -> RunUpdate {
    RunUpdate {
        status: process.status.as_str().to_owned(),
        exit_status: process.exit_status,
        result: process.result.to_string(),
        // Kompira sends "" for no error; the popup and the view show none then.
        error: process.error.clone().filter(|e| !e.trim().is_empty()),
        console_tail: console_tail.to_owned(),
        finished: process.is_finished(),
        ..started.clone()
    }
}

/// The popup for a finished run: the job flow's name and status, then exit status and error.
pub fn result_popup(lang: Lang, update: &RunUpdate) -> (String, String, Loudness) {
    let name = update.jobflow.rsplit('/').find(|s| !s.is_empty()).unwrap_or(&update.jobflow);
    let summary = format!("{name}: {}", update.status);
    let mut lines = Vec::new();
    if let Some(process) = &update.process {
        lines.push(process.clone());
    }
    if let Some(code) = update.exit_status {
        lines.push(text::exit_status(lang, code));
    }
    if let Some(error) = &update.error {
        lines.push(error.clone());
    }
    let loudness =
        if update.status == "DONE" && update.exit_status.unwrap_or(0) == 0 { Loudness::Low } else { Loudness::Normal };
    (summary, lines.join("\n"), loudness)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(status: &str, exit_status: Option<i64>, error: Option<&str>) -> RunUpdate {
        RunUpdate {
            run: 1,
            jobflow: "/root/restart_process".into(),
            alert: None,
            process: Some("/process/id_7".into()),
            status: status.into(),
            exit_status,
            result: "null".into(),
            error: error.map(Into::into),
            console_tail: String::new(),
            finished: true,
        }
    }

    #[test]
    fn a_finished_run_pops_up_its_name_status_and_error() {
        let (summary, body, loudness) = result_popup(Lang::En, &update("DONE", Some(0), None));
        assert_eq!(
            (summary.as_str(), body.as_str(), loudness),
            ("restart_process: DONE", "/process/id_7\nexit status 0", Loudness::Low)
        );
        let (summary, body, loudness) = result_popup(Lang::En, &update("ABORTED", Some(1), Some("host unreachable")));
        assert_eq!(summary, "restart_process: ABORTED");
        assert!(body.ends_with("exit status 1\nhost unreachable"), "{body}");
        assert_eq!(loudness, Loudness::Normal);
        let (_, body, _) = result_popup(Lang::Ja, &update("ABORTED", Some(1), None));
        assert_eq!(body, "/process/id_7\n終了ステータス 1");
    }
}
