//! The engine's watcher, wired to the agent: each alert goes into the history, to the window
//! (an `alerts-changed` event) and, unless kept quiet, to a desktop popup with an "Open" button
//! and, where its channel has a remedy, a "Run <job flow>" button, worded by `text` in the
//! agent's language. Connection losses and returns pop up too (see `connection_notice`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kompira_core::remedy::{self, remedy_for, Remedy, RemedyPlan};
use kompira_core::rest::Client;
use kompira_core::watch::{
    AlertSink, Connection, Decision, Notification, NotifySettings, WatchConfig, WatchState, Watcher,
};
use kompira_tray_ipc::{Event, Opening};

use crate::connection_notice::{ConnectionNotices, Notice, CONNECTION_POPUP_GAP};
use crate::popups::{self, Loudness};
use crate::runs::{self, RunSpec};
use crate::shell::Shell;
use crate::state::{lock, ChannelDepth};
use crate::text::{self, Lang, Text};
use crate::tray::current_lang;

/// How often the messages waiting on the watched channels are counted (one GET per channel).
const DEPTH_INTERVAL: Duration = Duration::from_secs(30);

/// Popup button ids.
const OPEN_ACTION: &str = "open";
const REMEDY_ACTION: &str = "remedy";

struct AgentSink {
    agent: Arc<dyn Shell>,
}

impl AlertSink for AgentSink {
    fn alert(&self, alert: &Notification, decision: Decision) {
        let id = lock(&self.agent.state().history).push(alert.clone(), decision);
        self.agent.emit(Event::AlertsChanged);
        self.agent.refresh_tray();
        if decision == Decision::Show {
            popup(&self.agent, id, alert);
        }
    }
}

/// Starts watching when `[rest]` is configured; otherwise says why in the log and the status.
pub fn start_watching(agent: &Arc<dyn Shell>) {
    let state = &agent.state();
    let Ok(settings) = state.settings() else { return };
    let client = match state.rest_client() {
        Ok(client) => client,
        Err(reason) => {
            tracing::warn!("not watching for alerts: {reason}");
            return;
        }
    };
    let notify = NotifySettings::from_settings(&settings);
    popups::set_sound(notify.sound);
    let mut config = WatchConfig::new(notify.channels);
    config.policy = notify.policy;
    let generation = state.watch_generation.load(Ordering::SeqCst);
    tracing::info!("watching for alerts on {}", config.channels.join(", "));
    let agent = agent.clone();
    let client = Arc::new(client);
    agent.spawn(count_waiting_messages(agent.clone(), client.clone(), config.channels.clone(), generation));
    agent.clone().spawn(async move {
        let state = &agent.state();
        let current_generation = || state.watch_generation.load(Ordering::SeqCst);
        let watcher = Watcher::spawn(client, Arc::new(AgentSink { agent: agent.clone() }), config);
        state.apply_pause(&watcher);
        let mut states = watcher.state();
        {
            // Checked under the lock that restart_watching takes the old watcher with, so a
            // watcher started just before a restart is dropped (stopping it), never kept.
            let mut slot = lock(&state.watcher);
            if current_generation() != generation {
                return;
            }
            *slot = Some(watcher);
        }
        let mut notices = ConnectionNotices::new(CONNECTION_POPUP_GAP);
        loop {
            let current = {
                // Same lock as restart_watching's reset: a replaced watcher never writes after it.
                let mut shown = lock(&state.watch_state);
                if current_generation() != generation {
                    break;
                }
                let current = states.borrow_and_update().clone();
                *shown = Some(current.clone());
                current
            };
            let connected = current.connection == Connection::Connected;
            if let Some(notice) = notices.observe(connected, current.paused, Instant::now()) {
                let (summary, body) = connection_popup(current_lang(&agent), notice, &current);
                popups::show(summary, body, Loudness::Normal);
            }
            agent.emit(Event::StatusChanged);
            agent.refresh_tray();
            if states.changed().await.is_err() {
                break;
            }
        }
    });
}

/// Reads how many messages wait on each watched channel (Kompira's `message_count`, which takes
/// nothing off the channel) now and every `DEPTH_INTERVAL`, for the status line, until the
/// watcher of `generation` is replaced.
async fn count_waiting_messages(agent: Arc<dyn Shell>, client: Arc<Client>, channels: Vec<String>, generation: u64) {
    let state = &agent.state();
    while state.watch_generation.load(Ordering::SeqCst) == generation {
        let mut depths = Vec::with_capacity(channels.len());
        for channel in &channels {
            let waiting = match client.channel_depth(channel).await {
                Ok(n) => Some(n),
                Err(e) => {
                    tracing::debug!(channel, "cannot count the messages waiting: {e}");
                    None
                }
            };
            depths.push(ChannelDepth { channel: channel.clone(), waiting });
        }
        let changed = {
            let mut shown = lock(&state.channel_depths);
            let stale = state.watch_generation.load(Ordering::SeqCst) != generation;
            let changed = !stale && *shown != depths;
            if changed {
                *shown = depths;
            }
            changed
        };
        if changed {
            agent.emit(Event::StatusChanged);
        }
        tokio::time::sleep(DEPTH_INTERVAL).await;
    }
}

/// Starts a watcher from the current settings (after a save) and stops the old one beside it:
/// the old one's polls in flight finish and their alerts still reach this agent's history and
/// popups, so a restart loses nothing and waits for nothing.
pub async fn restart_watching(agent: &Arc<dyn Shell>) {
    let state = &agent.state();
    state.watch_generation.fetch_add(1, Ordering::SeqCst);
    let old = lock(&state.watcher).take();
    if let Some(old) = old {
        agent.spawn(old.stop());
    }
    *lock(&state.watch_state) = None;
    start_watching(agent);
    agent.emit(Event::StatusChanged);
    agent.refresh_tray();
}

/// Stops watching for good (Quit, logout): waits for the polls in flight, so an alert that
/// Kompira already handed out still pops up instead of vanishing with the process.
pub async fn stop_watching(agent: &Arc<dyn Shell>) {
    let state = &agent.state();
    state.watch_generation.fetch_add(1, Ordering::SeqCst);
    let old = lock(&state.watcher).take();
    if let Some(old) = old {
        old.stop().await;
    }
}

/// The words of a connection popup; a loss carries the error that caused it.
fn connection_popup(lang: Lang, notice: Notice, state: &WatchState) -> (String, String) {
    match notice {
        Notice::Lost => (
            Text::ConnectionLost.get(lang).into(),
            state.last_error.clone().unwrap_or_else(|| Text::TryingAgain.get(lang).into()),
        ),
        Notice::Restored => (Text::ConnectionRestored.get(lang).into(), Text::AlertsComingIn.get(lang).into()),
    }
}

/// The buttons of an alert's popup: always "Open", and its channel's remedy if any.
fn popup_actions(lang: Lang, remedy: Option<&Remedy>) -> Vec<(String, String)> {
    let mut actions = vec![(OPEN_ACTION.to_owned(), Text::Open.get(lang).to_owned())];
    if let Some(remedy) = remedy {
        actions.push((REMEDY_ACTION.to_owned(), text::remedy_label(lang, remedy.jobflow_name())));
    }
    actions
}

fn configured_remedies(agent: &dyn Shell) -> Vec<Remedy> {
    agent.state().settings().map(|s| remedy::from_settings(&s)).unwrap_or_default()
}

fn popup(agent: &Arc<dyn Shell>, id: u64, alert: &Notification) {
    let lang = current_lang(agent);
    let remedies = configured_remedies(agent);
    let actions = popup_actions(lang, remedy_for(&remedies, alert));
    let agent = agent.clone();
    popups::show_with_actions(
        text::alert_title(lang, alert),
        alert.body.clone(),
        Loudness::of(alert.severity),
        actions,
        move |action| {
            match action {
                // "default" is a click on the popup itself where the desktop reports one.
                OPEN_ACTION | "default" => open_alert(&agent, id),
                // Nothing runs from the popup itself: the window shows the job flow and the exact
                // parameters, and runs them when the user confirms.
                REMEDY_ACTION => agent.show(Opening { view: "alerts".into(), alert: Some(id), remedy: true }),
                _ => {}
            }
        },
    );
}

/// Shows the window on the Alerts view with alert `id` marked.
pub fn open_alert(agent: &dyn Shell, id: u64) {
    agent.open_window("alerts", Some(id));
}

/// What running the remedy of `alert` means: its channel's job flow with its fields, followed to
/// the end; or why there is none.
pub fn remedy_run(lang: Lang, remedies: &[Remedy], id: u64, alert: &Notification) -> Result<RunSpec, String> {
    let remedy = remedy_for(remedies, alert).ok_or_else(|| text::no_remedy(lang, &alert.channel))?;
    Ok(RunSpec { jobflow: remedy.jobflow.clone(), request: remedy.request(alert), wait: true, alert: Some(id) })
}

/// What the remedy of history entry `id` would run, for the user to confirm; or why there is
/// none.
pub fn plan_remedy(agent: &dyn Shell, id: u64) -> Result<RemedyPlan, String> {
    let lang = current_lang(agent);
    let alert = kept_alert(agent, id)?;
    let remedies = configured_remedies(agent);
    let remedy = remedy_for(&remedies, &alert).ok_or_else(|| text::no_remedy(lang, &alert.channel))?;
    Ok(remedy.plan(&alert))
}

fn kept_alert(agent: &dyn Shell, id: u64) -> Result<Notification, String> {
    let lang = current_lang(agent);
    lock(&agent.state().history)
        .get(id)
        .map(|entry| entry.alert.clone())
        .ok_or_else(|| Text::AlertGone.get(lang).to_owned())
}

/// Starts the remedy of history entry `id` (after the user confirmed its plan); the run
/// number, or why it cannot start.
pub fn run_remedy(agent: &Arc<dyn Shell>, id: u64) -> Result<u64, String> {
    let state = &agent.state();
    let lang = current_lang(agent);
    let alert = kept_alert(agent, id)?;
    let spec = remedy_run(lang, &configured_remedies(agent), id, &alert)?;
    let client = state.rest_client().map_err(|reason| text::cannot_run(lang, &spec.jobflow, &reason))?;
    Ok(runs::start(agent, Arc::new(client), spec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kompira_core::remedy::parse_remedies;
    use kompira_core::watch::read_message;
    use serde_json::json;

    #[test]
    fn every_alert_popup_opens_and_a_remedy_adds_its_run_button() {
        let remedies = parse_remedies("/system/channels/Alert /root/restart_process").unwrap();
        let open = ("open".to_owned(), "Open".to_owned());
        assert_eq!(popup_actions(Lang::En, None), vec![open.clone()]);
        assert_eq!(
            popup_actions(Lang::En, remedies.first()),
            vec![open, ("remedy".to_owned(), "Run restart_process".to_owned())]
        );
        assert_eq!(
            popup_actions(Lang::Ja, remedies.first()),
            vec![("open".to_owned(), "開く".to_owned()), ("remedy".to_owned(), "restart_process を実行".to_owned())]
        );
    }

    #[test]
    fn a_remedy_runs_its_job_flow_with_the_alert_fields_and_waits() {
        let remedies = parse_remedies("/system/channels/Alert /root/restart_process").unwrap();
        let alert =
            read_message("/system/channels/Alert", &json!({"hostname": "web1", "severity": 4}), chrono::Utc::now());
        let spec = remedy_run(Lang::En, &remedies, 7, &alert).unwrap();
        assert_eq!((spec.jobflow.as_str(), spec.wait, spec.alert), ("/root/restart_process", true, Some(7)));
        assert_eq!(
            serde_json::to_value(&spec.request).unwrap(),
            json!({"parameters": {"hostname": "\"web1\"", "severity": "\"4\""}})
        );
        let elsewhere = read_message("/root/channels/Other", &json!("x"), chrono::Utc::now());
        assert_eq!(
            remedy_run(Lang::En, &remedies, 8, &elsewhere).unwrap_err(),
            "no remedy is configured for /root/channels/Other ([notify] remedies)"
        );
        assert_eq!(
            remedy_run(Lang::Ja, &remedies, 8, &elsewhere).unwrap_err(),
            "/root/channels/Other の対処は設定されていません（[notify] remedies）"
        );
    }

    #[test]
    fn a_lost_connection_pops_up_with_its_error() {
        let state = WatchState {
            connection: Connection::Reconnecting { attempt: 1 },
            last_error: Some("connection refused".into()),
            paused: false,
        };
        assert_eq!(
            connection_popup(Lang::En, Notice::Lost, &state),
            ("Connection to Kompira lost".into(), "connection refused".into())
        );
        assert_eq!(connection_popup(Lang::En, Notice::Restored, &state).0, "Connection to Kompira restored");
        assert_eq!(
            connection_popup(Lang::Ja, Notice::Restored, &state),
            ("Kompira との接続が回復しました".into(), "アラートの受信を再開しました。".into())
        );
        let quiet = WatchState { last_error: None, ..state };
        assert_eq!(connection_popup(Lang::Ja, Notice::Lost, &quiet).1, "再接続しています。");
    }
}
