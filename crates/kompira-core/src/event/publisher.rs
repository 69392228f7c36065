//! A long-lived confirmed channel for senders of many events (the outbox): one connection,
//! one passive check of the queue, then windows of publishes whose confirms are awaited
//! together, so a burst costs one round trip per window instead of one per event.

use lapin::options::BasicPublishOptions;
use lapin::PublisherConfirm;
use lapin::{Channel, Confirmation, Connection};

use super::error::{SendError, Stage};
use super::message::Envelope;
use super::send::{close_quietly, confirmed_channel, send_error, ConnectOptions, SessionInfo};
use super::transport;

/// An open connection with a channel in confirm mode, publishing to one queue.
pub struct Publisher {
    connection: Connection,
    channel: Channel,
    session: SessionInfo,
    queue: String,
    confirm_timeout: std::time::Duration,
}

impl Publisher {
    /// Connects, checks that `queue` exists (passively: a missing queue is an error, never a
    /// message dropped by the broker) and turns on publisher confirms. Kompira reads
    /// [`IO_QUEUE`](super::IO_QUEUE); tests and benchmarks pass a queue of their own.
    pub async fn open(options: &ConnectOptions, queue: &str) -> Result<Self, SendError> {
        let (connection, session) = transport::open(options).await?;
        let channel = match tokio::time::timeout(options.connect_timeout, confirmed_channel(&connection, queue)).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(error)) => {
                close_quietly(&connection).await;
                return Err(error);
            }
            Err(_) => {
                close_quietly(&connection).await;
                return Err(SendError::transient(Stage::Send, "the broker did not open a channel in time"));
            }
        };
        Ok(Self { connection, channel, session, queue: queue.to_owned(), confirm_timeout: options.connect_timeout })
    }

    /// Where the connection went.
    pub fn session(&self) -> &SessionInfo {
        &self.session
    }

    /// Publishes every envelope (persistent, mandatory) and waits for all their confirms.
    ///
    /// The answer has one entry per envelope, in order: `Ok` only when the broker acked it
    /// (it has taken responsibility: for a durable queue, written it to disk). The second
    /// value is `Some` when the connection is no longer usable; the caller reconnects.
    pub async fn publish_window(&self, envelopes: &[&Envelope]) -> (Vec<Result<(), SendError>>, Option<SendError>) {
        let window = self.publish(envelopes).await;
        self.confirmations(window).await
    }

    /// Publishes every envelope without waiting for the broker; [`Publisher::confirmations`]
    /// waits. Publishing the next window while this one's confirms travel keeps the broker busy.
    pub async fn publish(&self, envelopes: &[&Envelope]) -> InFlight {
        let tls_version = self.session.tls_version.as_deref();
        let mut pending: Vec<Result<PublisherConfirm, SendError>> = Vec::with_capacity(envelopes.len());
        let mut broken: Option<SendError> = None;
        for envelope in envelopes {
            if let Some(error) = &broken {
                pending.push(Err(error.clone()));
                continue;
            }
            let published = self
                .channel
                .basic_publish(
                    "".into(),
                    self.queue.as_str().into(),
                    // Mandatory: should the queue vanish, the broker returns the message.
                    BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
                    &envelope.body,
                    envelope.properties(tls_version),
                )
                .await
                .map_err(send_error);
            if let Err(error) = &published {
                broken = Some(error.clone());
            }
            pending.push(published);
        }
        InFlight { pending, broken }
    }

    /// Waits for the confirms of a window from [`Publisher::publish`]: one outcome per
    /// envelope, and `Some` error when the connection is no longer usable.
    pub async fn confirmations(&self, window: InFlight) -> (Vec<Result<(), SendError>>, Option<SendError>) {
        let InFlight { pending, mut broken } = window;
        let count = pending.len();
        let wait_all = async {
            let mut outcomes = Vec::with_capacity(count);
            for publish in pending {
                outcomes.push(match publish {
                    Ok(confirm) => match confirm.await {
                        Ok(confirmation) => confirmation_outcome(confirmation),
                        Err(error) => Err(send_error(error)),
                    },
                    Err(error) => Err(error),
                });
            }
            outcomes
        };
        let outcomes = match tokio::time::timeout(self.confirm_timeout, wait_all).await {
            Ok(outcomes) => outcomes,
            Err(_) => {
                let error = SendError::transient(
                    Stage::Send,
                    format!("the broker did not confirm within {} s", self.confirm_timeout.as_secs_f32()),
                );
                broken = Some(error.clone());
                vec![Err(error); count]
            }
        };
        if broken.is_none() && !self.channel.status().connected() {
            broken = outcomes.iter().find_map(|o| o.as_ref().err().cloned());
        }
        (outcomes, broken)
    }

    /// Closes the connection; what was confirmed stays confirmed.
    pub async fn close(self) {
        close_quietly(&self.connection).await;
    }
}

/// A published window whose confirms are still to come.
pub struct InFlight {
    pending: Vec<Result<PublisherConfirm, SendError>>,
    broken: Option<SendError>,
}

fn confirmation_outcome(confirmation: Confirmation) -> Result<(), SendError> {
    match confirmation {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(returned)) => Err(SendError::fatal(
            Stage::Send,
            format!("the broker returned the event unrouted ({} {})", returned.reply_code, returned.reply_text),
        )),
        Confirmation::Nack(_) => Err(SendError::transient(Stage::Send, "the broker refused to store the event (nack)")),
        Confirmation::NotRequested => Err(SendError::fatal(Stage::Send, "the broker gave no publisher confirm")),
    }
}
