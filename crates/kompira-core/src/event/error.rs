//! Why a send failed, at which stage, and whether trying again could help.

use std::fmt;

/// The step that failed; the CLI prints `Failed to <stage>: <message>` as the reference does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Preparing TLS (certificate files); no connection was attempted.
    Setup,
    /// TCP, TLS handshake or AMQP login.
    Connect,
    /// Declaring `io_queue`, publishing or waiting for the broker's confirm.
    Send,
}

impl Stage {
    /// The verb phrase the reference uses in its messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Setup => "setup amqp",
            Stage::Connect => "connect",
            Stage::Send => "send event",
        }
    }
}

/// A failed send. `transient` errors (refused or dropped connections, timeouts) are worth a
/// retry; the rest (refused login, missing queue, certificates) will fail the same way again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendError {
    stage: Stage,
    message: String,
    transient: bool,
}

impl SendError {
    /// An error retrying cannot fix.
    pub fn fatal(stage: Stage, message: impl Into<String>) -> Self {
        Self { stage, message: message.into(), transient: false }
    }

    /// An error that may go away on a later attempt.
    pub fn transient(stage: Stage, message: impl Into<String>) -> Self {
        Self { stage, message: message.into(), transient: true }
    }

    /// The step that failed.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// Whether a retry could succeed.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The reason, without the stage.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SendError {}

/// A broker reply (`ACCESS_REFUSED`, `NOT_FOUND`, …) as a final error, with the setting that
/// usually fixes it. Broker replies describe the request, so repeating it cannot help.
pub fn broker_reply(stage: Stage, reply: &lapin::protocol::AMQPError) -> SendError {
    let text = reply.get_message().as_str();
    let hint = match reply.get_id() {
        403 => " (check [amqp-connection] user and password)",
        404 if text.contains("io_queue") => {
            " (io_queue is declared by the Kompira server: is it running and using this broker?)"
        }
        530 => " (the user may not use this broker's vhost)",
        _ => "",
    };
    SendError::fatal(stage, format!("{text}{hint}"))
}
