//! The outbox file: one SQLite database in WAL mode.
//!
//! Durability: `journal_mode=WAL` with `synchronous=NORMAL`. A transaction is committed (in the
//! WAL file, through the OS) before [`Outbox::enqueue`] returns, so it survives the process
//! being killed (`kill -9`) or crashing at any point; only a power cut or OS crash may lose the
//! last commits before a checkpoint. `FULL` would add an fsync to every enqueue and ack, which
//! makes a burst of single events about a hundred times slower on ordinary disks; a desktop
//! whose power fails has lost its unsent events in the official tool anyway, which has no
//! store at all. Totals are kept by triggers in one row, so the limit check on enqueue costs
//! the same with 10 or 100,000 events queued.
//!
//! Concurrency: every write is a `BEGIN IMMEDIATE` transaction (the write lock is taken first,
//! so two writers never deadlock on an upgrade), and `busy_timeout` makes a writer wait for
//! another process instead of failing. A drainer claims rows for a lease; a claimed row is
//! invisible to other drainers until it is acked (deleted), released, or the lease ran out
//! because its drainer died.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::error::OutboxError;
use crate::event::message::wall_clock_text;
use crate::event::{Envelope, Stamp};

/// How long a write waits for another process's transaction before failing.
const BUSY_TIMEOUT_SECS: u64 = 10;
/// Pages of WAL between checkpoints (each one syncs to disk): SQLite's 1,000 would checkpoint
/// every few hundred events in a burst; 16,000 [`PAGE_SIZE`] pages (16 MiB at most)
/// checkpoint every ~6,000 events.
const WAL_CHECKPOINT_PAGES: i64 = 16000;
/// The schema this code reads and writes (`PRAGMA user_version`); 1 is migrated on open.
const SCHEMA_VERSION: i64 = 2;
/// Bytes per database page for new files. Every enqueue commits its dirty pages to the WAL
/// whole; events are a few hundred bytes, so 1 KiB pages write a quarter of what SQLite's
/// default 4 KiB does (measured in BENCHMARKS.md, outbox burst).
const PAGE_SIZE: i64 = 1024;
/// The stamp's local time as stored (written with nanoseconds); parsed back exactly.
const LOCAL_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";
/// Longest stored error text (errors can quote broker replies).
const MAX_ERROR_CHARS: usize = 500;

// Each enqueue dirties as few pages as it can: the events table's last leaf and the totals row.
// Ids never come back (a user's `outbox discard 42` must not hit a newer event) through
// `totals.last_id`, on the page the trigger writes anyway, not AUTOINCREMENT's sqlite_sequence
// page. correlation_id has no index: it is a fresh uuid4 per queued event and nothing looks
// rows up by it, while a unique index costs a random page per enqueue.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id               INTEGER PRIMARY KEY,
    correlation_id   TEXT NOT NULL,
    message_id       TEXT NOT NULL,
    channel          TEXT NOT NULL,
    site_id          INTEGER NOT NULL,
    content_type     TEXT,
    local_time       TEXT NOT NULL,
    unix_seconds     INTEGER NOT NULL,
    body             BLOB NOT NULL,
    size             INTEGER NOT NULL,
    queued_at_ms     INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    next_attempt_ms  INTEGER NOT NULL DEFAULT 0,
    claimed_by       TEXT,
    claim_expires_ms INTEGER
);
CREATE TABLE IF NOT EXISTS totals (
    singleton        INTEGER PRIMARY KEY CHECK (singleton = 1),
    events           INTEGER NOT NULL,
    bytes            INTEGER NOT NULL,
    retry_generation INTEGER NOT NULL,
    last_error       TEXT,
    last_id          INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO totals VALUES (1, 0, 0, 0, NULL, 0);
CREATE TRIGGER IF NOT EXISTS events_added AFTER INSERT ON events BEGIN
    UPDATE totals SET events = events + 1, bytes = bytes + NEW.size, last_id = MAX(last_id, NEW.id);
END;
CREATE TRIGGER IF NOT EXISTS events_removed AFTER DELETE ON events BEGIN
    UPDATE totals SET events = events - 1, bytes = bytes - OLD.size;
END;
";

/// Schema 1 to 2, around [`SCHEMA`]: the old events table set aside (its triggers dropped, so
/// [`SCHEMA`] creates the new table and triggers), `totals.last_id` taken from the old
/// sequence; then every row copied with its id, the old table dropped and the totals recounted.
const MIGRATE_FROM_1_BEFORE: &str = "
ALTER TABLE totals ADD COLUMN last_id INTEGER NOT NULL DEFAULT 0;
UPDATE totals SET last_id = MAX(
    COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),
    COALESCE((SELECT MAX(id) FROM events), 0));
DROP TRIGGER events_added;
DROP TRIGGER events_removed;
ALTER TABLE events RENAME TO events_v1;
";
const MIGRATE_FROM_1_AFTER: &str = "
INSERT INTO events SELECT * FROM events_v1;
DROP TABLE events_v1;
UPDATE totals SET events = (SELECT COUNT(*) FROM events), bytes = (SELECT COALESCE(SUM(size), 0) FROM events);
";

/// How much the outbox may hold (`[outbox] max_events`, `max_bytes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most events.
    pub max_events: u64,
    /// Most body bytes, summed.
    pub max_bytes: u64,
}

impl From<&super::OutboxSettings> for Limits {
    fn from(settings: &super::OutboxSettings) -> Self {
        Self { max_events: settings.max_events, max_bytes: settings.max_bytes }
    }
}

/// An event now safely on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// Its outbox id (for `discard`, `retry_now`).
    pub id: i64,
    /// Its correlation id, the same on every send.
    pub correlation_id: String,
    /// Events waiting, this one included.
    pub pending: u64,
}

/// The whole outbox at a glance.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OutboxStatus {
    /// The file.
    pub path: PathBuf,
    /// Events waiting.
    pub pending: u64,
    /// Their body bytes.
    pub bytes: u64,
    /// When the oldest was queued.
    pub oldest_queued_at: Option<DateTime<Utc>>,
    /// The last failure of any send (cleared by a successful one).
    pub last_error: Option<String>,
    /// The event limit.
    pub max_events: u64,
    /// The byte limit.
    pub max_bytes: u64,
}

/// One waiting event, as a list shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EntrySummary {
    /// Outbox id.
    pub id: i64,
    /// The correlation id it will carry.
    pub correlation_id: String,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// Sends tried so far.
    pub attempts: u32,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// Target Kompira channel.
    pub channel: String,
    /// Body size in bytes.
    pub size: u64,
    /// Not sent before this time (after a refusal by the broker); `None`: as soon as possible.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// A drainer is sending it now.
    pub in_flight: bool,
}

/// A claimed row: its id and what to send.
pub(crate) struct Claimed {
    pub id: i64,
    pub envelope: Envelope,
}

/// A row that was not acked: why, and when to try it again (`None`: at once).
pub(crate) struct NotAcked {
    pub id: i64,
    pub error: String,
    pub retry_in: Option<Duration>,
}

/// An open outbox file. Cheap to share behind an `Arc`; each process (or each independent
/// part of one) may open its own.
pub struct Outbox {
    path: PathBuf,
    limits: Limits,
    connection: Mutex<Connection>,
    /// Wakes an idle drainer of this process when this process queues or asks for a retry;
    /// drainers also poll the file for what other processes do.
    news: tokio::sync::Notify,
}

/// Creates a missing outbox file readable by its owner only (events may carry host names and
/// messages): an empty file is an empty database to SQLite, whose `-wal` and `-shm` files then
/// take the same permissions. An existing file keeps its own.
fn create_owner_only(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl Outbox {
    /// Opens (creating the file and its directory when needed) the outbox at `path`.
    pub fn open(path: &Path, limits: Limits) -> Result<Self, OutboxError> {
        let store_error = |message: String| OutboxError::Store { path: path.to_owned(), message };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| store_error(format!("cannot create the directory {}: {e}", dir.display())))?;
        }
        create_owner_only(path).map_err(|e| store_error(format!("cannot create: {e}")))?;
        let connection = Connection::open(path).map_err(|e| store_error(format!("cannot open: {e}")))?;
        let outbox = Self {
            path: path.to_owned(),
            limits,
            connection: Mutex::new(connection),
            news: tokio::sync::Notify::new(),
        };
        outbox.prepare()?;
        Ok(outbox)
    }

    fn prepare(&self) -> Result<(), OutboxError> {
        let mut db = self.db();
        db.busy_handler(Some(wait_for_lock)).map_err(|e| self.error(e))?;
        // Takes effect only on a file without tables yet; an existing file keeps its pages.
        db.pragma_update(None, "page_size", PAGE_SIZE).map_err(|e| self.error(e))?;
        let mode: String =
            db.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(|e| self.error(e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(self.error_text(format!(
                "the file system refused write-ahead logging (journal mode {mode}); put [outbox] path on a local disk"
            )));
        }
        db.pragma_update(None, "synchronous", "NORMAL").map_err(|e| self.error(e))?;
        db.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES).map_err(|e| self.error(e))?;
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.error(e))?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(|e| self.error(e))?;
        if version > SCHEMA_VERSION {
            return Err(self.error_text(format!(
                "written by a newer Kompira Tray (schema {version}, this one knows {SCHEMA_VERSION}); update this program"
            )));
        }
        if version == 1 {
            tx.execute_batch(MIGRATE_FROM_1_BEFORE).map_err(|e| self.error(e))?;
        }
        tx.execute_batch(SCHEMA).map_err(|e| self.error(e))?;
        if version == 1 {
            tx.execute_batch(MIGRATE_FROM_1_AFTER).map_err(|e| self.error(e))?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Writes `envelope` to disk. When this returns `Ok`, the event is committed and will be
    /// sent by a drainer even if this process dies now. A full outbox is an error: the event
    /// is refused, never dropped or made to push out an older one.
    pub fn enqueue(&self, envelope: &Envelope) -> Result<Queued, OutboxError> {
        let size = envelope.body.len() as u64;
        if size > self.limits.max_bytes {
            return Err(OutboxError::TooLarge { size, max_bytes: self.limits.max_bytes });
        }
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.error(e))?;
        let (events, bytes) = totals(&tx).map_err(|e| self.error(e))?;
        if events + 1 > self.limits.max_events || bytes + size > self.limits.max_bytes {
            return Err(OutboxError::Full {
                events,
                bytes,
                max_events: self.limits.max_events,
                max_bytes: self.limits.max_bytes,
            });
        }
        let stamp = &envelope.stamp;
        tx.prepare_cached(
            "INSERT INTO events (id, correlation_id, message_id, channel, site_id, content_type, local_time,
                                 unix_seconds, body, size, queued_at_ms)
             VALUES ((SELECT last_id + 1 FROM totals), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                stamp.correlation_id,
                stamp.message_id,
                envelope.channel,
                envelope.site_id,
                envelope.content_type,
                wall_clock_text(&stamp.local_time, 'T', 9),
                i64::try_from(stamp.unix_seconds).unwrap_or(i64::MAX),
                envelope.body,
                size as i64,
                now_ms(),
            ])
        })
        .map_err(|e| self.error(e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| self.error(e))?;
        self.news.notify_one();
        Ok(Queued { id, correlation_id: stamp.correlation_id.clone(), pending: events + 1 })
    }

    /// Count, size, age and the last error.
    pub fn status(&self) -> Result<OutboxStatus, OutboxError> {
        let db = self.db();
        let read = || -> rusqlite::Result<OutboxStatus> {
            let (pending, bytes, last_error): (i64, i64, Option<String>) =
                db.query_row("SELECT events, bytes, last_error FROM totals", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            let oldest: Option<i64> = db.query_row("SELECT MIN(queued_at_ms) FROM events", [], |r| r.get(0))?;
            Ok(OutboxStatus {
                path: self.path.clone(),
                pending: pending.max(0) as u64,
                bytes: bytes.max(0) as u64,
                oldest_queued_at: oldest.map(from_ms),
                last_error,
                max_events: self.limits.max_events,
                max_bytes: self.limits.max_bytes,
            })
        };
        read().map_err(|e| self.error(e))
    }

    /// Events waiting (the tray's badge).
    pub fn pending_count(&self) -> Result<u64, OutboxError> {
        let db = self.db();
        totals(&db).map(|(events, _)| events).map_err(|e| self.error(e))
    }

    /// The oldest `limit` waiting events, oldest first.
    pub fn list(&self, limit: usize) -> Result<Vec<EntrySummary>, OutboxError> {
        let db = self.db();
        let now = now_ms();
        let read = || -> rusqlite::Result<Vec<EntrySummary>> {
            let mut statement = db.prepare(
                "SELECT id, correlation_id, queued_at_ms, attempts, last_error, channel, size, next_attempt_ms,
                        claimed_by IS NOT NULL AND claim_expires_ms > ?2
                 FROM events ORDER BY id LIMIT ?1",
            )?;
            let rows =
                statement.query_map(params![i64::try_from(limit).unwrap_or(i64::MAX), now], |r| summary(r, now))?;
            rows.collect()
        };
        read().map_err(|e| self.error(e))
    }

    /// One waiting event with what will be sent.
    pub fn entry(&self, id: i64) -> Result<(EntrySummary, Envelope), OutboxError> {
        let db = self.db();
        let now = now_ms();
        let found = db
            .query_row(
                "SELECT id, correlation_id, queued_at_ms, attempts, last_error, channel, size, next_attempt_ms,
                        claimed_by IS NOT NULL AND claim_expires_ms > ?2,
                        body, content_type, site_id, message_id, local_time, unix_seconds
                 FROM events WHERE id = ?1",
                params![id, now],
                |r| Ok((summary(r, now)?, envelope_columns(r, 9)?)),
            )
            .optional()
            .map_err(|e| self.error(e))?;
        let (summary, columns) = found.ok_or(OutboxError::NoSuchEntry(id))?;
        let envelope = columns
            .into_envelope(summary.correlation_id.clone(), summary.channel.clone())
            .map_err(|m| self.error_text(format!("event {id}: {m}")))?;
        Ok((summary, envelope))
    }

    /// Makes one event (or every event) due at once and tells drainers, in any process, to
    /// stop waiting out their backoff. Returns how many events were made due.
    pub fn retry_now(&self, id: Option<i64>) -> Result<u64, OutboxError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.error(e))?;
        let changed = match id {
            Some(id) => {
                let exists: Option<i64> = tx
                    .query_row("SELECT id FROM events WHERE id = ?1", [id], |r| r.get(0))
                    .optional()
                    .map_err(|e| self.error(e))?;
                if exists.is_none() {
                    return Err(OutboxError::NoSuchEntry(id));
                }
                tx.execute("UPDATE events SET next_attempt_ms = 0 WHERE id = ?1", [id])
            }
            None => tx.execute("UPDATE events SET next_attempt_ms = 0", []),
        }
        .map_err(|e| self.error(e))?;
        tx.execute("UPDATE totals SET retry_generation = retry_generation + 1", []).map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        self.news.notify_one();
        Ok(changed as u64)
    }

    /// Removes one event unsent. One that a drainer is publishing at this moment may still
    /// arrive.
    pub fn discard(&self, id: i64) -> Result<(), OutboxError> {
        let db = self.db();
        let removed = db.execute("DELETE FROM events WHERE id = ?1", [id]).map_err(|e| self.error(e))?;
        if removed == 0 {
            return Err(OutboxError::NoSuchEntry(id));
        }
        Ok(())
    }

    /// Removes every event unsent; returns how many.
    pub fn discard_all(&self) -> Result<u64, OutboxError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.error(e))?;
        let removed = tx.execute("DELETE FROM events", []).map_err(|e| self.error(e))?;
        tx.execute("UPDATE totals SET last_error = NULL", []).map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        Ok(removed as u64)
    }

    /// Claims up to `max` due rows that no live drainer holds, for `lease`, oldest first,
    /// counting an attempt for each.
    pub(crate) fn claim(&self, owner: &str, max: usize, lease: Duration) -> Result<Vec<Claimed>, OutboxError> {
        let mut db = self.db();
        let now = now_ms();
        let expires = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.error(e))?;
        let mut claimed = {
            let mut statement = tx
                .prepare_cached(
                    "UPDATE events SET claimed_by = ?1, claim_expires_ms = ?2, attempts = attempts + 1
                     WHERE id IN (SELECT id FROM events
                                  WHERE next_attempt_ms <= ?3 AND (claimed_by IS NULL OR claim_expires_ms <= ?3)
                                  ORDER BY id LIMIT ?4)
                     RETURNING id, correlation_id, channel, body, content_type, site_id, message_id, local_time, unix_seconds",
                )
                .map_err(|e| self.error(e))?;
            let rows = statement
                .query_map(params![owner, expires, now, i64::try_from(max).unwrap_or(i64::MAX)], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, envelope_columns(r, 3)?))
                })
                .map_err(|e| self.error(e))?;
            let mut claimed = Vec::new();
            for row in rows {
                let (id, correlation_id, channel, columns) = row.map_err(|e| self.error(e))?;
                let envelope = columns
                    .into_envelope(correlation_id, channel)
                    .map_err(|m| self.error_text(format!("event {id}: {m}")))?;
                claimed.push(Claimed { id, envelope });
            }
            claimed
        };
        tx.commit().map_err(|e| self.error(e))?;
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }

    /// Deletes rows the broker acked, in one transaction; returns how many this call removed
    /// (a row another drainer or a discard removed first is not counted twice).
    pub(crate) fn acked(&self, ids: &[i64]) -> Result<u64, OutboxError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.error(e))?;
        let mut removed = 0;
        {
            let mut delete = tx.prepare_cached("DELETE FROM events WHERE id = ?1").map_err(|e| self.error(e))?;
            for id in ids {
                removed += delete.execute([id]).map_err(|e| self.error(e))? as u64;
            }
        }
        tx.execute("UPDATE totals SET last_error = NULL", []).map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        Ok(removed)
    }

    /// Releases rows that were not acked, with why and when to try again.
    pub(crate) fn not_acked(&self, owner: &str, rows: &[NotAcked]) -> Result<(), OutboxError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut db = self.db();
        let now = now_ms();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.error(e))?;
        {
            let mut release = tx
                .prepare_cached(
                    "UPDATE events SET claimed_by = NULL, claim_expires_ms = NULL, last_error = ?3, next_attempt_ms = ?4
                     WHERE id = ?1 AND claimed_by = ?2",
                )
                .map_err(|e| self.error(e))?;
            for row in rows {
                let due = row
                    .retry_in
                    .map_or(0, |pause| now.saturating_add(i64::try_from(pause.as_millis()).unwrap_or(i64::MAX)));
                release.execute(params![row.id, owner, clip(&row.error), due]).map_err(|e| self.error(e))?;
            }
        }
        if let Some(last) = rows.last() {
            tx.execute("UPDATE totals SET last_error = ?1", [clip(&last.error)]).map_err(|e| self.error(e))?;
        }
        tx.commit().map_err(|e| self.error(e))
    }

    /// Records a failure that kept every waiting row from being sent (the broker is away).
    pub(crate) fn note_unreachable(&self, error: &str) -> Result<(), OutboxError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.error(e))?;
        let error = clip(error);
        tx.execute("UPDATE events SET last_error = ?1 WHERE claimed_by IS NULL", [&error])
            .map_err(|e| self.error(e))?;
        tx.execute("UPDATE totals SET last_error = ?1", [&error]).map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))
    }

    /// Bumped by [`Outbox::retry_now`]; a drainer waiting out a backoff watches it.
    pub(crate) fn retry_generation(&self) -> Result<i64, OutboxError> {
        let db = self.db();
        db.query_row("SELECT retry_generation FROM totals", [], |r| r.get(0)).map_err(|e| self.error(e))
    }

    /// Resolves when this process queued an event or asked for a retry since the last call (a
    /// wake-up that came while nobody waited is kept for the next one).
    pub(crate) async fn news(&self) {
        self.news.notified().await;
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere cannot leave SQLite half-written (transactions roll back on drop).
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn error(&self, error: rusqlite::Error) -> OutboxError {
        let message = match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                format!("still locked by another process after {BUSY_TIMEOUT_SECS} s ({error})")
            }
            Some(rusqlite::ErrorCode::DiskFull) => format!("the disk is full ({error})"),
            Some(rusqlite::ErrorCode::NotADatabase) => {
                format!("not an outbox file ({error}); move it away or set [outbox] path")
            }
            _ => error.to_string(),
        };
        self.error_text(message)
    }

    fn error_text(&self, message: String) -> OutboxError {
        OutboxError::Store { path: self.path.clone(), message }
    }
}

/// Waits for another connection's write lock: SQLite's own `busy_timeout` sleeps at least a
/// millisecond per try, while a drainer's transaction holds the lock for well under that, so
/// a queueing burst would spend most of its time asleep. Short sleeps first, then 1 ms ones,
/// [`BUSY_TIMEOUT_SECS`] in all.
fn wait_for_lock(attempt: i32) -> bool {
    const SHORT_TRIES: i32 = 200;
    const SHORT_SLEEP_MICROS: u64 = 50;
    let long_tries = i32::try_from(BUSY_TIMEOUT_SECS * 1000).unwrap_or(i32::MAX);
    if attempt < SHORT_TRIES {
        std::thread::sleep(Duration::from_micros(SHORT_SLEEP_MICROS));
        true
    } else if attempt - SHORT_TRIES < long_tries {
        std::thread::sleep(Duration::from_millis(1));
        true
    } else {
        false
    }
}

fn totals(db: &Connection) -> rusqlite::Result<(u64, u64)> {
    db.prepare_cached("SELECT events, bytes FROM totals")?
        .query_row([], |r| Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get::<_, i64>(1)?.max(0) as u64)))
}

fn summary(row: &rusqlite::Row<'_>, now: i64) -> rusqlite::Result<EntrySummary> {
    let next_attempt_ms: i64 = row.get(7)?;
    Ok(EntrySummary {
        id: row.get(0)?,
        correlation_id: row.get(1)?,
        queued_at: from_ms(row.get(2)?),
        attempts: u32::try_from(row.get::<_, i64>(3)?).unwrap_or(u32::MAX),
        last_error: row.get(4)?,
        channel: row.get(5)?,
        size: row.get::<_, i64>(6)?.max(0) as u64,
        next_attempt_at: (next_attempt_ms > now).then(|| from_ms(next_attempt_ms)),
        in_flight: row.get(8)?,
    })
}

/// The stored columns of an envelope, from column `first` on: body, content_type, site_id,
/// message_id, local_time, unix_seconds.
struct EnvelopeColumns {
    body: Vec<u8>,
    content_type: Option<String>,
    site_id: i64,
    message_id: String,
    local_time: String,
    unix_seconds: i64,
}

fn envelope_columns(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<EnvelopeColumns> {
    Ok(EnvelopeColumns {
        body: row.get(first)?,
        content_type: row.get(first + 1)?,
        site_id: row.get(first + 2)?,
        message_id: row.get(first + 3)?,
        local_time: row.get(first + 4)?,
        unix_seconds: row.get(first + 5)?,
    })
}

impl EnvelopeColumns {
    fn into_envelope(self, correlation_id: String, channel: String) -> Result<Envelope, String> {
        let local_time = NaiveDateTime::parse_from_str(&self.local_time, LOCAL_TIME_FORMAT)
            .map_err(|e| format!("unreadable queue time {:?}: {e}", self.local_time))?;
        Ok(Envelope {
            body: self.body,
            content_type: self.content_type,
            channel,
            site_id: self.site_id,
            stamp: Stamp {
                correlation_id,
                message_id: self.message_id,
                local_time,
                unix_seconds: u64::try_from(self.unix_seconds).unwrap_or(0),
            },
        })
    }
}

fn clip(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventBody};

    const ROOMY: Limits = Limits { max_events: 1000, max_bytes: 1 << 20 };

    fn envelope(n: u32) -> Envelope {
        let event = Event {
            body: EventBody::Fields(vec![("n".into(), n.to_string())]),
            channel: "/system/channels/Alert".into(),
            site_id: 200,
        };
        Envelope::new(&event, Stamp::now())
    }

    fn open(dir: &tempfile::TempDir, limits: Limits) -> Outbox {
        Outbox::open(&dir.path().join("sub/outbox.sqlite3"), limits).unwrap()
    }

    #[cfg(unix)]
    #[test]
    fn a_new_outbox_and_its_wal_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(&dir, ROOMY);
        outbox.enqueue(&envelope(1)).unwrap();
        for name in ["outbox.sqlite3", "outbox.sqlite3-wal", "outbox.sqlite3-shm"] {
            let mode = std::fs::metadata(dir.path().join("sub").join(name)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    #[test]
    fn a_queued_event_reads_back_byte_for_byte_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let sent = envelope(1);
        let queued = open(&dir, ROOMY).enqueue(&sent).unwrap();
        assert_eq!((queued.pending, queued.correlation_id.as_str()), (1, sent.stamp.correlation_id.as_str()));
        let reopened = open(&dir, ROOMY);
        let (summary, stored) = reopened.entry(queued.id).unwrap();
        assert_eq!(stored, sent);
        assert_eq!(stored.properties(None), sent.properties(None));
        assert_eq!((summary.attempts, summary.size, summary.in_flight), (0, sent.body.len() as u64, false));
        assert_eq!(reopened.list(10).unwrap(), vec![summary]);
    }

    #[test]
    fn a_full_outbox_refuses_the_event_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(&dir, Limits { max_events: 2, max_bytes: 1 << 20 });
        outbox.enqueue(&envelope(1)).unwrap();
        outbox.enqueue(&envelope(2)).unwrap();
        let error = outbox.enqueue(&envelope(3)).unwrap_err();
        assert!(matches!(error, OutboxError::Full { events: 2, max_events: 2, .. }), "{error}");
        assert!(error.to_string().contains("max_events = 2"), "{error}");
        assert_eq!(outbox.pending_count().unwrap(), 2);

        let small_dir = tempfile::tempdir().unwrap();
        let small = open(&small_dir, Limits { max_events: 10, max_bytes: 15 });
        small.enqueue(&envelope(1)).unwrap(); // 10 bytes: {"n": "1"}
        assert!(matches!(small.enqueue(&envelope(2)).unwrap_err(), OutboxError::Full { bytes: 10, .. }));
        let huge = Envelope { body: vec![b'x'; 16], ..envelope(3) };
        assert!(matches!(small.enqueue(&huge).unwrap_err(), OutboxError::TooLarge { size: 16, max_bytes: 15 }));
    }

    #[test]
    fn two_drainers_claim_disjoint_rows_and_an_ack_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = open(&dir, ROOMY);
        let second = open(&dir, ROOMY);
        for n in 0..5 {
            first.enqueue(&envelope(n)).unwrap();
        }
        let lease = Duration::from_secs(60);
        let a = first.claim("a", 3, lease).unwrap();
        let b = second.claim("b", 3, lease).unwrap();
        let ids = |rows: &[Claimed]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!((ids(&a), ids(&b)), (vec![1, 2, 3], vec![4, 5]));
        assert!(second.claim("b", 3, lease).unwrap().is_empty());
        assert!(first.list(10).unwrap().iter().all(|e| e.in_flight && e.attempts == 1));

        assert_eq!(first.acked(&ids(&a)).unwrap(), 3);
        assert_eq!(second.acked(&ids(&a)).unwrap(), 0, "already deleted: not counted again");
        assert_eq!(second.pending_count().unwrap(), 2);
    }

    #[test]
    fn a_dead_drainers_rows_come_back_when_its_lease_ends() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(&dir, ROOMY);
        outbox.enqueue(&envelope(1)).unwrap();
        assert_eq!(outbox.claim("dead", 10, Duration::ZERO).unwrap().len(), 1);
        let again = outbox.claim("alive", 10, Duration::from_secs(60)).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(outbox.list(1).unwrap()[0].attempts, 2);
    }

    #[test]
    fn a_refused_row_waits_and_retry_now_makes_it_due() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(&dir, ROOMY);
        let id = outbox.enqueue(&envelope(1)).unwrap().id;
        outbox.claim("a", 10, Duration::from_secs(60)).unwrap();
        let refused =
            NotAcked { id, error: "cannot send event: nack".into(), retry_in: Some(Duration::from_secs(600)) };
        outbox.not_acked("a", &[refused]).unwrap();
        let entry = &outbox.list(1).unwrap()[0];
        assert!(entry.next_attempt_at.is_some() && !entry.in_flight);
        assert_eq!(entry.last_error.as_deref(), Some("cannot send event: nack"));
        assert_eq!(outbox.status().unwrap().last_error.as_deref(), Some("cannot send event: nack"));
        assert!(outbox.claim("a", 10, Duration::from_secs(60)).unwrap().is_empty());

        let generation = outbox.retry_generation().unwrap();
        assert_eq!(outbox.retry_now(Some(id)).unwrap(), 1);
        assert_eq!(outbox.retry_generation().unwrap(), generation + 1);
        assert!(matches!(outbox.retry_now(Some(99)), Err(OutboxError::NoSuchEntry(99))));
        assert_eq!(outbox.claim("a", 10, Duration::from_secs(60)).unwrap().len(), 1);
    }

    #[test]
    fn discard_removes_one_or_all_and_keeps_totals_right() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(&dir, ROOMY);
        let first = outbox.enqueue(&envelope(1)).unwrap().id;
        outbox.enqueue(&envelope(22)).unwrap();
        outbox.enqueue(&envelope(333)).unwrap();
        outbox.discard(first).unwrap();
        assert!(matches!(outbox.discard(first), Err(OutboxError::NoSuchEntry(_))));
        let status = outbox.status().unwrap();
        assert_eq!((status.pending, status.bytes), (2, 11 + 12));
        assert_eq!(outbox.discard_all().unwrap(), 2);
        let status = outbox.status().unwrap();
        assert_eq!((status.pending, status.bytes, status.oldest_queued_at), (0, 0, None));
    }

    #[test]
    fn ids_are_never_given_again_even_after_the_newest_event_left() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(&dir, ROOMY);
        let ids: Vec<i64> = (1..=3).map(|n| outbox.enqueue(&envelope(n)).unwrap().id).collect();
        assert_eq!(ids, [1, 2, 3]);
        outbox.discard(3).unwrap();
        assert_eq!(outbox.enqueue(&envelope(4)).unwrap().id, 4, "the discarded newest id is not reused");
        outbox.discard_all().unwrap();
        drop(outbox);
        assert_eq!(open(&dir, ROOMY).enqueue(&envelope(5)).unwrap().id, 5, "nor after emptying and reopening");
    }

    /// The first released schema, written as that version wrote it.
    const SCHEMA_1: &str = "
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT, correlation_id TEXT NOT NULL UNIQUE, message_id TEXT NOT NULL,
            channel TEXT NOT NULL, site_id INTEGER NOT NULL, content_type TEXT, local_time TEXT NOT NULL,
            unix_seconds INTEGER NOT NULL, body BLOB NOT NULL, size INTEGER NOT NULL, queued_at_ms INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, next_attempt_ms INTEGER NOT NULL DEFAULT 0,
            claimed_by TEXT, claim_expires_ms INTEGER);
        CREATE TABLE totals (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), events INTEGER NOT NULL,
            bytes INTEGER NOT NULL, retry_generation INTEGER NOT NULL, last_error TEXT);
        INSERT INTO totals VALUES (1, 0, 0, 0, NULL);
        CREATE TRIGGER events_added AFTER INSERT ON events BEGIN
            UPDATE totals SET events = events + 1, bytes = bytes + NEW.size; END;
        CREATE TRIGGER events_removed AFTER DELETE ON events BEGIN
            UPDATE totals SET events = events - 1, bytes = bytes - OLD.size; END;
        PRAGMA user_version = 1;";

    #[test]
    fn a_file_of_schema_1_keeps_its_events_and_never_reuses_their_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(SCHEMA_1).unwrap();
        for (n, body) in ["{\"a\": \"1\"}", "{\"b\": \"22\"}", "{\"c\": \"333\"}"].iter().enumerate() {
            old.execute(
                "INSERT INTO events (correlation_id, message_id, channel, site_id, content_type, local_time,
                                     unix_seconds, body, size, queued_at_ms, attempts, last_error)
                 VALUES (?1, 'm', '/system/channels/Alert', 7, NULL, '2026-11-24T12:00:00.123456', 1795000000, ?2, ?3, 1795000000000, 2, 'refused')",
                params![format!("corr-{n}"), body.as_bytes(), body.len() as i64],
            )
            .unwrap();
        }
        old.execute("DELETE FROM events WHERE id = 3", []).unwrap();
        drop(old);

        let outbox = Outbox::open(&path, ROOMY).unwrap();
        let status = outbox.status().unwrap();
        assert_eq!((status.pending, status.bytes), (2, 10 + 11));
        let listed: Vec<(i64, String, u32, Option<String>)> =
            outbox.list(10).unwrap().into_iter().map(|e| (e.id, e.correlation_id, e.attempts, e.last_error)).collect();
        assert_eq!(
            listed,
            [(1, "corr-0".into(), 2, Some("refused".into())), (2, "corr-1".into(), 2, Some("refused".into()))]
        );
        assert_eq!(outbox.entry(2).unwrap().1.body, b"{\"b\": \"22\"}");
        assert_eq!(outbox.enqueue(&envelope(4)).unwrap().id, 4, "id 3 was given once already");
        let version: i64 = outbox.db().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let tables: Vec<String> = {
            let db = outbox.db();
            let mut statement =
                db.prepare("SELECT sql FROM sqlite_master WHERE tbl_name LIKE 'events%' ORDER BY name").unwrap();
            let rows = statement.query_map([], |r| r.get::<_, Option<String>>(0)).unwrap();
            rows.map(|r| r.unwrap().unwrap_or_default()).collect()
        };
        assert_eq!(tables.len(), 3, "the new table and its two triggers only: {tables:?}");
        assert!(
            tables
                .iter()
                .all(|sql| !sql.contains("UNIQUE") && !sql.contains("AUTOINCREMENT") && !sql.contains("events_v1")),
            "{tables:?}"
        );
        drop(outbox);
        assert_eq!(
            Outbox::open(&path, ROOMY).unwrap().status().unwrap().pending,
            3,
            "a migrated file opens again as it is"
        );
    }

    #[test]
    fn a_file_from_a_newer_version_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.sqlite3");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 9).unwrap();
        let error = Outbox::open(&path, ROOMY).err().unwrap().to_string();
        assert!(error.contains("newer Kompira Tray"), "{error}");
        std::fs::write(&path, b"this is not sqlite, just text long enough to be a header").unwrap();
        let error = Outbox::open(&path, ROOMY).err().unwrap().to_string();
        assert!(error.contains("o.sqlite3"), "{error}");
    }
}
