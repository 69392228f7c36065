//! Watching Kompira channels for alerts and turning them into notifications.
//!
//! - [`reading`]: a channel message (any JSON) → a [`Notification`] in parts, with
//!   Zabbix-style events (severity 0–5, hostname, trigger_name, status, detail) understood;
//! - [`policy`]: pause, quiet hours, severity floor, "critical still gets through", and
//!   de-duplication;
//! - [`backoff`]: capped exponential backoff with jitter;
//! - `watcher`: one long-poll task per channel, recovery, and one observable [`WatchState`];
//! - [`history`]: the bounded, searchable alert list with read state (the app's Alerts view).
//!
//! `.recv` *consumes*: a message the watcher takes is gone for everyone else, job flows waiting
//! on that channel included. Watch a channel dedicated to the desktop (a job flow can forward
//! alerts to it); see the README.
//!
//! Not here: HTTP (the source is a [`ChannelSource`], implemented by the REST client), popups
//! (the app's [`AlertSink`]).

pub mod backoff;
pub mod history;
pub mod policy;
pub mod reading;
mod settings;
mod watcher;

pub use backoff::Backoff;
pub use history::{AlertHistory, HistoryEntry, HISTORY_CAPACITY};
pub use policy::{Decision, Deduplicator, Policy, QuietReason};
pub use reading::{english_title, read_message, Notification, Severity};
pub use settings::NotifySettings;
pub use watcher::{
    AlertSink, ChannelSource, Connection, SourceError, WatchConfig, WatchState, Watcher, DEDUPE_WINDOW, FIRST_POLL,
    LONG_POLL,
};
