//! `kompira outbox …`: the engine's outbox from a terminal, and the headless host of its
//! drainer. Results go to stdout; progress and problems to stderr.

use std::sync::Arc;
use std::time::Duration;

use kompira_core::config::Settings;
use kompira_core::event::{ConnectOptions, ONE_SHOT_FRAME_MAX};
use kompira_core::outbox::{
    self, DrainOptions, DrainProgress, EntrySummary, Limits, Outbox, OutboxSettings, OutboxStatus,
};
use serde_json::json;
use tokio::sync::watch;

use crate::args::{DrainTarget, OutboxCommand};
use crate::commands::Failure;

pub async fn run(command: OutboxCommand, settings: &Settings) -> Result<(), Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let config = OutboxSettings::from_settings(settings, &env).map_err(|e| Failure::Runtime(e.to_string()))?;
    let store = Outbox::open(&config.path, Limits::from(&config)).map_err(runtime)?;
    match command {
        OutboxCommand::Status { json } => {
            let status = store.status().map_err(runtime)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status).unwrap_or_default());
            } else {
                print!("{}", status_text(&status));
            }
            Ok(())
        }
        OutboxCommand::List { limit, json } => {
            for entry in store.list(limit).map_err(runtime)? {
                if json {
                    println!("{}", serde_json::to_string(&entry).unwrap_or_default());
                } else {
                    println!("{}", list_line(&entry));
                }
            }
            Ok(())
        }
        OutboxCommand::Show { id } => {
            let (entry, envelope) = store.entry(id).map_err(runtime)?;
            let body = match std::str::from_utf8(&envelope.body) {
                Ok(text) => json!(text),
                Err(_) => json!(format!("{} bytes, not UTF-8", envelope.body.len())),
            };
            let shown = json!({
                "id": entry.id,
                "correlation_id": entry.correlation_id,
                "message_id": envelope.stamp.message_id,
                "queued_at": entry.queued_at,
                "attempts": entry.attempts,
                "last_error": entry.last_error,
                "channel": envelope.channel,
                "site_id": envelope.site_id,
                "content_type": envelope.content_type,
                "size": entry.size,
                "body": body,
            });
            println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
            Ok(())
        }
        OutboxCommand::Send { target } => {
            // "Now" includes events waiting out a refusal by the broker.
            store.retry_now(None).map_err(runtime)?;
            drain(store, settings, &target, false, true).await
        }
        OutboxCommand::Drain { follow, target } => drain(store, settings, &target, follow, false).await,
        OutboxCommand::Retry { id } => {
            let due = store.retry_now(id).map_err(runtime)?;
            println!("{due} event(s) due now");
            Ok(())
        }
        OutboxCommand::Discard { id: Some(id), .. } => {
            store.discard(id).map_err(runtime)?;
            println!("discarded event {id}");
            Ok(())
        }
        OutboxCommand::Discard { id: None, .. } => {
            let removed = store.discard_all().map_err(runtime)?;
            println!("discarded {removed} event(s)");
            Ok(())
        }
    }
}

async fn drain(
    store: Outbox,
    settings: &Settings,
    target: &DrainTarget,
    follow: bool,
    once: bool,
) -> Result<(), Failure> {
    let mut options = DrainOptions::new(ConnectOptions::from_settings(settings, ONE_SHOT_FRAME_MAX));
    options.follow = follow;
    options.once = once;
    if let Some(queue) = &target.queue {
        options.queue = queue.clone();
    }
    if let Some(window) = target.window {
        options.window = usize::try_from(window).unwrap_or(outbox::DEFAULT_WINDOW);
    }
    let store = Arc::new(store);
    let (stop_sender, stop) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_sender.send(true);
        }
    });
    let report = outbox::drain(store.clone(), &options, stop, report_progress).await.map_err(runtime)?;
    let left = store.pending_count().map_err(runtime)?;
    println!("sent {} event(s); {} waiting", report.acked, left);
    Ok(())
}

fn report_progress(progress: DrainProgress) {
    match progress {
        DrainProgress::Connected(session) => eprintln!("kompira: outbox: connected {session}"),
        DrainProgress::Sent { acked, pending } => eprintln!("kompira: outbox: sent {acked}, {pending} waiting"),
        DrainProgress::Unreachable { error, retry_in } => {
            eprintln!("kompira: outbox: {error}; retrying in {:.1} s", retry_in.as_secs_f64())
        }
        DrainProgress::Idle => {}
    }
}

fn status_text(status: &OutboxStatus) -> String {
    let mut text = format!(
        "file:      {}\nwaiting:   {} event(s), {} bytes (limits {} events, {} bytes)\n",
        status.path.display(),
        status.pending,
        status.bytes,
        status.max_events,
        status.max_bytes
    );
    if let Some(oldest) = status.oldest_queued_at {
        let age = chrono::Utc::now().signed_duration_since(oldest).to_std().unwrap_or(Duration::ZERO);
        text.push_str(&format!("oldest:    {} ({} s ago)\n", oldest.to_rfc3339(), age.as_secs()));
    }
    if let Some(error) = &status.last_error {
        text.push_str(&format!("last error: {error}\n"));
    }
    text
}

fn list_line(entry: &EntrySummary) -> String {
    let state = if entry.in_flight {
        "sending".to_owned()
    } else if let Some(at) = entry.next_attempt_at {
        format!("after {}", at.format("%H:%M:%S"))
    } else {
        "due".to_owned()
    };
    format!(
        "{}\t{}\t{}\tattempts={}\t{}\t{}B\t{}\t{}",
        entry.id,
        entry.correlation_id,
        entry.queued_at.to_rfc3339(),
        entry.attempts,
        entry.channel,
        entry.size,
        state,
        entry.last_error.as_deref().unwrap_or("-")
    )
}

fn runtime(error: kompira_core::outbox::OutboxError) -> Failure {
    Failure::Runtime(error.to_string())
}
