//! Sending one event: connect, check `io_queue` exists, publish with publisher confirms, and
//! retry what retrying can fix.

use std::path::PathBuf;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Confirmation, Connection, ErrorKind};

pub use super::transport::SessionInfo;

use super::error::{broker_reply, SendError, Stage};
use super::message::{self, Event, Stamp, IO_QUEUE};
use super::settings::AmqpSettings;
use super::transport;
use crate::secret::Secret;

/// AMQP reply code for a normal close.
const REPLY_SUCCESS: u16 = 200;

/// Where and how to connect (derived defaults already applied).
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Broker host name or address.
    pub server: String,
    /// Broker port.
    pub port: u16,
    /// AMQP user.
    pub user: String,
    /// AMQP password.
    pub password: Secret,
    /// `Some` for AMQPS.
    pub tls: Option<TlsOptions>,
    /// Bound on each wait for the broker: TCP connect, TLS and AMQP handshakes, confirms.
    pub connect_timeout: Duration,
    /// AMQP heartbeat to negotiate.
    pub heartbeat_secs: u16,
    /// Largest frame to negotiate. lapin keeps 32 frames of buffer in each direction, so a
    /// one-shot sender asks for small frames ([`ONE_SHOT_FRAME_MAX`]); bodies of any size are
    /// still split across frames.
    pub frame_max: u32,
}

/// Frame size for a process that sends a few events and exits: 2 × 32 × 8 KiB of buffers
/// instead of 8 MiB with RabbitMQ's default 128 KiB frames.
pub const ONE_SHOT_FRAME_MAX: u32 = 8192;

impl ConnectOptions {
    /// From `[amqp-connection]` (derived defaults applied), with the frame size for the caller:
    /// [`ONE_SHOT_FRAME_MAX`] for a process that sends and exits.
    pub fn from_settings(settings: &crate::config::Settings, frame_max: u32) -> Self {
        let amqp = AmqpSettings::from_settings(settings);
        let tls = amqp.ssl.then(|| TlsOptions {
            verify: amqp.ssl_verify.then(|| ClientPki {
                ca_file: amqp.ca_file.clone(),
                cert_file: amqp.cert_file.clone(),
                key_file: amqp.key_file.clone(),
            }),
        });
        Self {
            server: amqp.server.clone(),
            port: amqp.port,
            user: amqp.user.clone(),
            password: amqp.password.clone(),
            tls,
            connect_timeout: Duration::from_secs(amqp.connect_timeout_secs),
            heartbeat_secs: amqp.heartbeat_secs,
            frame_max,
        }
    }
}

impl RetryPolicy {
    /// `max_retry` further attempts, `retry_interval` seconds apart.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let amqp = AmqpSettings::from_settings(settings);
        Self { max_retry: amqp.max_retry, interval: Duration::from_secs(amqp.retry_interval_secs) }
    }
}

/// TLS settings; `verify: None` encrypts without authenticating the server (`ssl_verify` off).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOptions {
    /// CA and client certificate files, when the server is to be verified.
    pub verify: Option<ClientPki>,
}

/// The files for a verified TLS connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientPki {
    /// CA bundle the server's chain must lead to.
    pub ca_file: PathBuf,
    /// Client certificate (PEM) presented to the broker.
    pub cert_file: PathBuf,
    /// The client certificate's private key (PEM).
    pub key_file: PathBuf,
}

/// "Try up to `max_retry` more times, `interval` apart", on transient failures only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Further attempts after the first.
    pub max_retry: u32,
    /// Pause between attempts. Zero disables retries, as in the reference.
    pub interval: Duration,
}

impl RetryPolicy {
    fn retries_allowed(&self) -> u32 {
        if self.interval.is_zero() {
            0
        } else {
            self.max_retry
        }
    }
}

/// A send the broker confirmed.
#[derive(Clone, Debug)]
pub struct SendReport {
    /// The event's correlation id (the same on every attempt).
    pub correlation_id: String,
    /// The connection that carried it.
    pub session: SessionInfo,
    /// How many attempts it took (1 = first try).
    pub attempts: u32,
}

/// Sends `event` and returns once the broker has confirmed it. `on_failure` hears about every
/// failed attempt, with the delay before the next one (`None` when giving up).
pub async fn send_event(
    options: &ConnectOptions,
    retry: RetryPolicy,
    event: &Event,
    stamp: &Stamp,
    mut on_failure: impl FnMut(&SendError, Option<Duration>),
) -> Result<SendReport, SendError> {
    let body = event.body.to_wire();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match send_once(options, event, stamp, &body).await {
            Ok(session) => return Ok(SendReport { correlation_id: stamp.correlation_id.clone(), session, attempts }),
            Err(error) => {
                let retry_in = (error.is_transient() && attempts <= retry.retries_allowed()).then_some(retry.interval);
                on_failure(&error, retry_in);
                match retry_in {
                    Some(pause) => tokio::time::sleep(pause).await,
                    None => return Err(error),
                }
            }
        }
    }
}

/// Opens and closes one connection, as `--test-connection` does. No retries.
pub async fn test_connection(options: &ConnectOptions) -> Result<SessionInfo, SendError> {
    let (connection, session) = transport::open(options).await?;
    close_quietly(&connection).await;
    Ok(session)
}

async fn send_once(
    options: &ConnectOptions,
    event: &Event,
    stamp: &Stamp,
    body: &[u8],
) -> Result<SessionInfo, SendError> {
    let started = std::time::Instant::now();
    let (connection, session) = transport::open(options).await?;
    tracing::debug!("connected: {} in {:?}", session.describe(), started.elapsed());
    let mut channel = None;
    let outcome = tokio::time::timeout(
        options.connect_timeout,
        publish(&connection, &mut channel, event, stamp, body, session.tls_version.as_deref()),
    )
    .await
    .unwrap_or_else(|_| {
        Err(SendError::transient(
            Stage::Send,
            format!("the broker did not confirm the event within {} s", options.connect_timeout.as_secs_f32()),
        ))
    });
    tracing::debug!("publish finished after {:?}", started.elapsed());
    close_quietly(&connection).await;
    // Only now may the channel go: dropped while still open, lapin closes it on its own, and
    // that close, racing the connection's, fails ("invalid channel state: Closing") and is
    // logged at ERROR as a connection error after every successful send. The connection's
    // close has closed the channel with it, so dropping it now sends nothing.
    drop(channel);
    tracing::debug!("connection closed after {:?}", started.elapsed());
    outcome.map(|()| session)
}

/// `channel` receives the channel as soon as it is open, so that the caller holds it past a
/// timeout that drops this future (see [`send_once`]).
async fn publish(
    connection: &Connection,
    channel: &mut Option<lapin::Channel>,
    event: &Event,
    stamp: &Stamp,
    body: &[u8],
    tls_version: Option<&str>,
) -> Result<(), SendError> {
    let channel = channel.insert(confirmed_channel(connection, IO_QUEUE).await?);
    let properties = message::properties(event, stamp, tls_version);
    // Mandatory: should io_queue vanish after the check, the broker returns the message.
    let confirmation = channel
        .basic_publish(
            "".into(),
            IO_QUEUE.into(),
            BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
            body,
            properties,
        )
        .await
        .map_err(send_error)?
        .await
        .map_err(send_error)?;
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

/// Broker replies (NOT_FOUND, ACCESS_REFUSED, …) are final; a dropped connection is not.
/// A channel with publisher confirms on, after checking that `queue` exists. Passive: a
/// missing queue is an error, not a message silently dropped by the broker. Both requests go
/// out together: one round trip instead of two.
pub(super) async fn confirmed_channel(connection: &Connection, queue: &str) -> Result<lapin::Channel, SendError> {
    let channel = connection.create_channel().await.map_err(send_error)?;
    let declare = channel.queue_declare(
        queue.into(),
        QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() },
        FieldTable::default(),
    );
    let confirms = channel.confirm_select(ConfirmSelectOptions::default());
    let (declared, confirming) = tokio::join!(declare, confirms);
    declared.map_err(send_error)?;
    confirming.map_err(send_error)?;
    Ok(channel)
}

pub(super) fn send_error(error: lapin::Error) -> SendError {
    match error.kind() {
        ErrorKind::ProtocolError(reply) => broker_reply(Stage::Send, reply),
        ErrorKind::IOError(_) | ErrorKind::InvalidConnectionState(_) => {
            SendError::transient(Stage::Send, error.to_string())
        }
        _ => SendError::fatal(Stage::Send, error.to_string()),
    }
}

pub(super) async fn close_quietly(connection: &Connection) {
    // The event is already confirmed (or failed); a failing close changes nothing for the user.
    let _ = connection.close(REPLY_SUCCESS, "OK".into()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_interval_disables_retries_like_the_reference() {
        let policy = RetryPolicy { max_retry: 3, interval: Duration::ZERO };
        assert_eq!(policy.retries_allowed(), 0);
        let policy = RetryPolicy { max_retry: 3, interval: Duration::from_secs(1) };
        assert_eq!(policy.retries_allowed(), 3);
    }
}
