//! The GUI-free engine of Kompira Tray: every piece of Kompira logic, shared by the
//! `kompira_sendevt` and `kompira` commands and the tray app.
//!
//! What it is *not*: a user interface. It prints nothing, never exits the process, and has no
//! GTK, WebKit or Tauri dependency, so the commands build on a headless server.
//!
//! - Settings: [`config`] reads kompira.conf like Python's ConfigParser, resolves files →
//!   environment → command line with the source of every value, and edits files byte-for-byte.
//! - Events: [`event`] sends an event over AMQP exactly as the official `kompira_sendevt` does,
//!   with publisher confirms and retries.
//! - REST: [`rest`] runs job flows, follows processes, sends and receives channel messages.
//! - Outbox: [`outbox`] keeps events on disk until the broker confirms them, and drains them
//!   (retries with backoff, shared safely between processes).
//! - Alerts: [`watch`] turns channel messages into notifications (reading, policy, history,
//!   reconnection); [`remedy`] maps an alert to the job flow its channel offers.
//! - Plumbing: [`logfile`] (the official log format and rotation), [`secret`] (masked values),
//!   [`secret_store`] (the OS keyring for `[secrets] store = keyring`).
#![warn(missing_docs)]

pub mod config;
pub mod event;
pub mod logfile;
pub mod outbox;
mod pki;
mod quote;
pub mod remedy;
pub mod rest;
pub mod secret;
pub mod secret_store;
pub mod templates;
pub mod watch;
