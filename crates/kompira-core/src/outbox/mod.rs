//! The outbox: events kept on disk until the broker has confirmed them.
//!
//! Every event is written to a local SQLite file ([`Outbox::enqueue`]) before it is sent, and
//! leaves it only when the broker acks it with a publisher confirm ([`drain`]). Its correlation
//! id and bytes are fixed when it is queued, so a retry resends exactly the same message.
//! Delivery is at least once: a crash between the broker's ack and the delete resends that
//! window. Several processes may share one file (`kompira_sendevt --queue-on-failure` queueing
//! while the tray app drains): writes wait on SQLite's lock and drainers claim rows with a
//! lease, so two drainers never send, delete or count the same row at the same time.
//!
//! - `store`: the SQLite file (schema, durability settings, limits, claims) and the API the
//!   app shows: [`Outbox::status`], [`Outbox::list`], [`Outbox::retry_now`], [`Outbox::discard`];
//! - `drain`: the sender loop — connect, claim a window, publish with confirms, delete the
//!   acked rows in one transaction, back off (capped, jittered) when the broker is away.
//!
//! Not here: where the file lives (`config::default_outbox_path`), the wire format (`event`).

mod drain;
mod error;
mod settings;
mod store;

pub use drain::{drain, DrainOptions, DrainProgress, DrainReport, DEFAULT_WINDOW, WINDOWS_IN_FLIGHT};
pub use error::OutboxError;
pub use settings::OutboxSettings;
pub use store::{EntrySummary, Limits, Outbox, OutboxStatus, Queued};
