//! What can go wrong with the outbox, worded so the user knows what to do.

use std::path::PathBuf;

/// An outbox failure.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The outbox holds as many events or bytes as `[outbox]` allows; the event was not queued.
    #[error(
        "the outbox is full ({events} events, {bytes} bytes; [outbox] max_events = {max_events}, max_bytes = {max_bytes}): \
         the event was not queued; send or discard queued events (`kompira outbox status`) or raise the limits"
    )]
    Full {
        /// Events held.
        events: u64,
        /// Body bytes held.
        bytes: u64,
        /// The event limit.
        max_events: u64,
        /// The byte limit.
        max_bytes: u64,
    },
    /// One event is larger than the whole byte limit.
    #[error("the event ({size} bytes) is larger than the outbox allows ([outbox] max_bytes = {max_bytes})")]
    TooLarge {
        /// The event's body size.
        size: u64,
        /// The byte limit.
        max_bytes: u64,
    },
    /// SQLite failed (open, read, write); the text names the file.
    #[error("outbox {path}: {message}")]
    Store {
        /// The outbox file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The broker could not be used and retrying will not help (refused login, missing queue,
    /// certificates), or a one-shot send failed.
    #[error("cannot {stage}: {0}", stage = .0.stage().as_str())]
    Broker(crate::event::SendError),
    /// No entry with this id (already sent or discarded).
    #[error("no queued event with id {0} (already sent or discarded?)")]
    NoSuchEntry(i64),
}

impl OutboxError {
    /// Whether a later attempt could succeed (a busy file, a broker that is away).
    pub fn is_transient(&self) -> bool {
        match self {
            OutboxError::Broker(error) => error.is_transient(),
            _ => false,
        }
    }
}
