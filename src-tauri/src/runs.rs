//! Running a job flow from the app (the form, or an alert's remedy) and following it to its end.
//! Each change goes to the window as a `run-update` event; the end also pops up, because the
//! window may be hidden by then.

#![allow(dead_code, reason = "the job-flow form and the remedy action are being wired to it")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use kompira_core::rest::{follow, Client, ExecuteRequest, FollowOptions, Process, ProcessUpdate};
use serde::Serialize;
use tauri::{AppHandle, Emitter};

use crate::popups::{self, Loudness};

/// What the window hears about a run.
#[derive(Clone, Debug, Serialize)]
pub struct RunUpdate {
    /// This app's number for the run (the form matches updates to its request by it).
    pub run: u64,
    pub jobflow: String,
    /// `/process/id_N` once started.
    pub process: Option<String>,
    /// NEW, RUNNING, DONE, ABORTED, … or `FAILED` when the run could not be started or followed.
    pub status: String,
    pub exit_status: Option<i64>,
    /// The result value as JSON text (`null` when none).
    pub result: String,
    pub error: Option<String>,
    /// Console text added since the last update.
    pub console_tail: String,
    pub finished: bool,
}

static NEXT_RUN: AtomicU64 = AtomicU64::new(1);

/// Starts `jobflow` and returns the run number at once; the rest arrives as `run-update`s.
/// With `wait` false, only the start (or its failure) is reported.
pub fn start(app: &AppHandle, client: Arc<Client>, jobflow: String, request: ExecuteRequest, wait: bool) -> u64 {
    let run = NEXT_RUN.fetch_add(1, Ordering::Relaxed);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let report = |update: RunUpdate| {
            if update.finished {
                let (summary, body, loudness) = result_popup(&update);
                popups::show(summary, body, loudness);
            }
            let _ = app.emit("run-update", update);
        };
        let base = RunUpdate {
            run,
            jobflow: jobflow.clone(),
            process: None,
            status: "STARTING".into(),
            exit_status: None,
            result: "null".into(),
            error: None,
            console_tail: String::new(),
            finished: false,
        };
        let process = match client.execute(&jobflow, &request).await {
            Ok(process) => process,
            Err(e) => return report(RunUpdate { status: "FAILED".into(), error: Some(e.to_string()), finished: true, ..base }),
        };
        let started = RunUpdate { process: Some(process.clone()), status: "STARTED".into(), ..base };
        if !wait {
            return report(RunUpdate { finished: false, ..started });
        }
        let outcome = follow(&client, &process, FollowOptions::default(), |update: &ProcessUpdate| {
            if !update.process.is_finished() {
                report(from_process(&started, &update.process, &update.console_tail));
            }
        })
        .await;
        match outcome {
            Ok(done) => report(from_process(&started, &done, "")),
            Err(e) => report(RunUpdate { status: "FAILED".into(), error: Some(e.to_string()), finished: true, ..started }),
        }
    });
    run
}

fn from_process(started: &RunUpdate, process: &Process, console_tail: &str) -> RunUpdate {
    RunUpdate {
        status: process.status.as_str().to_owned(),
        exit_status: process.exit_status,
        result: process.result.to_string(),
        error: process.error.clone(),
        console_tail: console_tail.to_owned(),
        finished: process.is_finished(),
        ..started.clone()
    }
}

/// The popup for a finished run: the job flow's name and status, then exit status and error.
pub fn result_popup(update: &RunUpdate) -> (String, String, Loudness) {
    let name = update.jobflow.rsplit('/').find(|s| !s.is_empty()).unwrap_or(&update.jobflow);
    let summary = format!("{name}: {}", update.status);
    let mut lines = Vec::new();
    if let Some(process) = &update.process {
        lines.push(process.clone());
    }
    if let Some(code) = update.exit_status {
        lines.push(format!("exit status {code}"));
    }
    if let Some(error) = &update.error {
        lines.push(error.clone());
    }
    let loudness = if update.status == "DONE" && update.exit_status.unwrap_or(0) == 0 { Loudness::Low } else { Loudness::Normal };
    (summary, lines.join("\n"), loudness)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(status: &str, exit_status: Option<i64>, error: Option<&str>) -> RunUpdate {
        RunUpdate {
            run: 1,
            jobflow: "/root/restart_process".into(),
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
        let (summary, body, loudness) = result_popup(&update("DONE", Some(0), None));
        assert_eq!((summary.as_str(), body.as_str(), loudness), ("restart_process: DONE", "/process/id_7\nexit status 0", Loudness::Low));
        let (summary, body, loudness) = result_popup(&update("ABORTED", Some(1), Some("host unreachable")));
        assert_eq!(summary, "restart_process: ABORTED");
        assert!(body.ends_with("exit status 1\nhost unreachable"), "{body}");
        assert_eq!(loudness, Loudness::Normal);
    }
}
