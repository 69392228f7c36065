//! `kompira channel watch`: the engine's watcher with a terminal for a sink. Alerts go to
//! stdout (text or one JSON object per line); connection changes go to stderr.

use std::io::Write as _;
use std::sync::Arc;

use kompira_core::rest::Client;
use kompira_core::watch::reading::english_title;
use kompira_core::watch::{AlertSink, Connection, Decision, Notification, Policy, WatchConfig, WatchState, Watcher};
use serde_json::json;
use tokio::sync::mpsc;

use crate::commands::Failure;

/// Hands alerts to the printing loop, in arrival order.
struct ChannelSink(mpsc::UnboundedSender<(Notification, Decision)>);

impl AlertSink for ChannelSink {
    fn alert(&self, alert: &Notification, decision: Decision) {
        let _ = self.0.send((alert.clone(), decision));
    }
}

pub async fn run(
    client: Client,
    channels: Vec<String>,
    policy: Policy,
    json: bool,
    count: Option<u64>,
    long_poll: std::time::Duration,
) -> Result<(), Failure> {
    let (sender, mut alerts) = mpsc::unbounded_channel();
    let mut config = WatchConfig::new(channels.clone());
    config.policy = policy;
    config.long_poll = long_poll;
    // With --count, the watcher starts no `.recv` once it has taken that many messages: a
    // poll nobody waits for would swallow the next message on the server.
    config.limit = count;
    let watcher = Watcher::spawn(Arc::new(client), Arc::new(ChannelSink(sender)), config);
    let mut state = watcher.state();
    eprintln!("kompira: watching {} (Ctrl+C stops)", channels.join(", "));
    let mut printed: u64 = 0;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let outcome = loop {
        tokio::select! {
            Some((alert, decision)) = alerts.recv() => {
                print_alert(&alert, decision, json);
                printed += 1;
                if count.is_some_and(|limit| printed >= limit) {
                    break Ok(());
                }
            }
            changed = state.changed() => {
                if changed.is_err() {
                    break Err(Failure::Runtime("the watcher stopped".into()));
                }
                report_state(&state.borrow_and_update());
            }
            _ = &mut ctrl_c => break Ok(()),
        }
    };
    // Waits for the polls in flight (Ctrl+C included): what they bring is printed below.
    watcher.stop().await;
    // Alerts already taken off the channel are gone from the server: print them rather than
    // drop them, even past --count.
    while let Ok((alert, decision)) = alerts.try_recv() {
        print_alert(&alert, decision, json);
    }
    outcome
}

fn print_alert(alert: &Notification, decision: Decision, json: bool) {
    let mut out = std::io::stdout().lock();
    if json {
        // The engine gives the parts; the English title is kept in the line as it always was.
        let mut alert_json = json!(alert);
        alert_json["title"] = json!(english_title(alert));
        let line = json!({ "alert": alert_json, "decision": decision });
        let _ = writeln!(out, "{line}");
    } else {
        let time = alert.received.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S");
        let quiet = match decision {
            Decision::Show => String::new(),
            Decision::Quiet(reason) => format!(" (quiet: {reason:?})"),
        };
        let _ = writeln!(out, "{time} [{}] {}{quiet}", alert.severity.name(), english_title(alert));
        for line in alert.body.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = out.flush();
}

fn report_state(state: &WatchState) {
    let error = state.last_error.as_deref().unwrap_or("");
    match &state.connection {
        Connection::Connected => eprintln!("kompira: connected"),
        Connection::Reconnecting { attempt } => eprintln!("kompira: reconnecting (attempt {attempt}): {error}"),
        Connection::Offline => eprintln!("kompira: offline: {error}"),
    }
}
