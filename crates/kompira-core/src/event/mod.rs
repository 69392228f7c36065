//! Events to Kompira over AMQP 0-9-1, byte-compatible with the official `kompira_sendevt`.
//!
//! This module is the only place that knows the wire format (docs/kompira-protocol.md §3). It is split by job:
//! - [`body`]: what the user gives (KEY=VAL arguments or raw/decoded stdin) → body bytes;
//! - [`pyfmt`]: Python-compatible renderings (compact JSON, `bytes` repr) the reference shows;
//! - [`message`]: body + channel + site id → AMQP properties and headers;
//! - `tls`: rustls set-up (CA-verified chain without a host-name check, client certificate);
//! - `transport`: TCP (+TLS) with a timeout, handed to `lapin`;
//! - `send`: connect, passive-declare `io_queue`, publish with confirms, retry transient failures;
//! - `publisher`: a long-lived confirmed channel that publishes windows of [`Envelope`]s (the outbox).
//!
//! Not here: reading kompira.conf (see `config`), printing, process exit codes.

pub mod body;
mod error;
pub mod message;
mod publisher;
pub mod pyfmt;
mod send;
mod settings;
mod tls;
mod transport;

pub use body::{check_rows, decode_stdin, default_stdin_encoding, parse_key_values, EventBody, RowError, RowProblem};
pub use error::{SendError, Stage};
pub use message::{Envelope, Event, Stamp, IO_QUEUE};
pub use publisher::{InFlight, Publisher};
pub use send::{
    send_event, test_connection, ClientPki, ConnectOptions, RetryPolicy, SendReport, SessionInfo, TlsOptions,
    ONE_SHOT_FRAME_MAX,
};
pub use settings::AmqpSettings;
