//! A desktop notification server that records instead of showing: it owns
//! `org.freedesktop.Notifications` on a session bus, answers `Notify` with a fresh id and keeps
//! what was asked (app name, summary, body, actions, urgency and other hints). A test reads the
//! records and plays the user by emitting `ActionInvoked` for one of a popup's actions.
//!
//! It speaks plain D-Bus messages rather than zbus's object server: the four methods of the
//! spec fit in one `match`, and the app's own zbus (through notify-rust) keeps the exact feature
//! set it is shipped with.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;
use zbus::message::{Header, Type};
use zbus::{Connection, Message, MessageStream, OwnedVariant, Variant};

/// The well-known name, object path and interface of the Desktop Notifications spec.
pub const NAME: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";
/// `NotificationClosed` reasons from the spec.
const CLOSED_BY_USER: u32 = 2;
const CLOSED_BY_CALL: u32 = 3;
/// How often [`NotifyRecorder::wait_for`] looks at the records again.
const POLL_INTERVAL_MILLIS: u64 = 50;

/// One `Notify` call, as the app made it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notice {
    /// The id this server returned (the same id again when the call replaced a popup).
    pub id: u32,
    pub app_name: String,
    pub replaces_id: u32,
    pub summary: String,
    pub body: String,
    /// `(action key, label)` pairs, in the order given.
    pub actions: Vec<(String, String)>,
    /// The `urgency` hint: 0 low, 1 normal, 2 critical.
    pub urgency: Option<u8>,
    /// Every hint, rendered in GVariant text form (`urgency` included).
    pub hints: BTreeMap<String, String>,
    pub expire_timeout: i32,
    /// Closed since, by `CloseNotification` or by an invoked action.
    pub closed: bool,
}

/// Called with each new record (the command-line recorder prints it).
pub type OnNotice = Box<dyn Fn(&Notice) + Send + Sync>;

/// A running recorder; it stops serving when dropped.
pub struct NotifyRecorder {
    connection: Connection,
    records: Arc<Mutex<Vec<Notice>>>,
    capabilities: Arc<Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

/// What the recorder says it can do until told otherwise: plain bodies and buttons.
const PLAIN_CAPABILITIES: [&str; 2] = ["body", "actions"];

impl NotifyRecorder {
    /// Owns the notification name on the bus at `address` (the session bus when `None`) and
    /// starts answering. Fails when another server already owns the name.
    pub async fn start(address: Option<&str>, on_notice: Option<OnNotice>) -> Result<Self, String> {
        let builder = match address {
            Some(address) => zbus::connection::Builder::address(address),
            None => zbus::connection::Builder::session(),
        };
        let connection = builder.name(NAME).build().await.map_err(|e| {
            format!("notification recorder: cannot own {NAME} on {}: {e}", address.unwrap_or("the session bus"))
        })?;
        let records = Arc::new(Mutex::new(Vec::new()));
        let capabilities = Arc::new(Mutex::new(PLAIN_CAPABILITIES.map(String::from).to_vec()));
        let stream = MessageStream::from(&connection);
        let server = tokio::spawn(serve(connection.clone(), stream, records.clone(), capabilities.clone(), on_notice));
        Ok(Self { connection, records, capabilities, server })
    }

    /// What `GetCapabilities` answers from now on (e.g. with `body-markup`, as GNOME Shell,
    /// KDE and dunst answer).
    pub fn set_capabilities(&self, capabilities: &[&str]) {
        *lock(&self.capabilities) = capabilities.iter().map(|c| (*c).to_owned()).collect();
    }

    /// Every `Notify` call so far, oldest first.
    pub fn records(&self) -> Vec<Notice> {
        lock(&self.records).clone()
    }

    /// The first record that `matches`, waiting up to `timeout`; the error names `what` was
    /// awaited and lists what arrived instead.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&Notice) -> bool,
    ) -> Result<Notice, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = lock(&self.records).iter().find(|n| matches(n)) {
                return Ok(found.clone());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no notification {what} within {} s; the recorder has: {:#?}",
                    timeout.as_secs(),
                    self.records()
                ));
            }
            tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MILLIS)).await;
        }
    }

    /// Returns when the bus connection is gone (the session ended).
    pub async fn closed(&self) {
        self.connection.closed().await
    }

    /// Plays the user choosing `action_key` on popup `id`: `ActionInvoked`, then
    /// `NotificationClosed` (dismissed), as desktop servers do.
    pub async fn invoke_action(&self, id: u32, action_key: &str) -> Result<(), String> {
        let emit = async {
            self.connection.emit_signal(None::<()>, PATH, INTERFACE, "ActionInvoked", &(id, action_key)).await?;
            close(&self.connection, &self.records, id, CLOSED_BY_USER).await
        };
        emit.await.map_err(|e| format!("notification recorder: cannot invoke {action_key:?} on {id}: {e}"))
    }
}

impl Drop for NotifyRecorder {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(
    connection: Connection,
    mut stream: MessageStream,
    records: Arc<Mutex<Vec<Notice>>>,
    capabilities: Arc<Mutex<Vec<String>>>,
    on_notice: Option<OnNotice>,
) {
    while let Some(message) = stream.next().await {
        let Ok(message) = message else { continue };
        let header = message.header();
        if header.message_type() != Type::MethodCall {
            continue;
        }
        let answered = match header.member().map(|m| m.as_str()) {
            Some("Notify") => match notify(&message, &records) {
                Ok(notice) => {
                    if let Some(on_notice) = &on_notice {
                        on_notice(&notice);
                    }
                    connection.reply(&header, &(notice.id,)).await
                }
                Err(e) => invalid_args(&connection, &header, &e).await,
            },
            Some("GetCapabilities") => {
                let answer = lock(&capabilities).clone();
                connection.reply(&header, &(answer,)).await
            }
            Some("GetServerInformation") => {
                connection
                    .reply(
                        &header,
                        &("kompira-notify-recorder", "Kompira Tray tests", env!("CARGO_PKG_VERSION"), "1.2"),
                    )
                    .await
            }
            Some("CloseNotification") => match message.body().deserialize::<(u32,)>() {
                Ok((id,)) => match connection.reply(&header, &()).await {
                    Ok(()) => close(&connection, &records, id, CLOSED_BY_CALL).await,
                    Err(e) => Err(e),
                },
                Err(e) => invalid_args(&connection, &header, &e.to_string()).await,
            },
            other => {
                let text = format!("the notification recorder has no method {other:?}");
                connection.reply_error(&header, "org.freedesktop.DBus.Error.UnknownMethod", &(text,)).await
            }
        };
        if let Err(e) = answered {
            eprintln!("notification recorder: cannot answer a call: {e}");
        }
    }
}

type NotifyArgs = (String, u32, String, String, String, Vec<String>, HashMap<String, OwnedVariant>, i32);

fn notify(message: &Message, records: &Mutex<Vec<Notice>>) -> Result<Notice, String> {
    let (app_name, replaces_id, _icon, summary, body, actions, hints, expire_timeout): NotifyArgs =
        message.body().deserialize().map_err(|e| e.to_string())?;
    let mut records = lock(records);
    let id = if replaces_id != 0 && records.iter().any(|n| n.id == replaces_id) {
        replaces_id
    } else {
        records.iter().map(|n| n.id).max().unwrap_or(0) + 1
    };
    let urgency = hints.get("urgency").and_then(|v| match &**v {
        Variant::U8(level) => Some(*level),
        _ => None,
    });
    let notice = Notice {
        id,
        app_name,
        replaces_id,
        summary,
        body,
        actions: actions.chunks(2).map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default())).collect(),
        urgency,
        hints: hints.iter().map(|(k, v)| (k.clone(), (**v).to_string())).collect(),
        expire_timeout,
        closed: false,
    };
    records.push(notice.clone());
    Ok(notice)
}

async fn close(connection: &Connection, records: &Mutex<Vec<Notice>>, id: u32, reason: u32) -> zbus::Result<()> {
    let mut known = false;
    for notice in lock(records).iter_mut().filter(|n| n.id == id) {
        notice.closed = true;
        known = true;
    }
    if !known {
        return Ok(());
    }
    connection.emit_signal(None::<()>, PATH, INTERFACE, "NotificationClosed", &(id, reason)).await
}

async fn invalid_args(connection: &Connection, header: &Header<'_>, reason: &str) -> zbus::Result<()> {
    connection.reply_error(header, "org.freedesktop.DBus.Error.InvalidArgs", &(reason,)).await
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
