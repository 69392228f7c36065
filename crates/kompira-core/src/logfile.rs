//! The log file the official tools write, in their line format and with their rotation:
//! `[2026-11-22 08:07:42,909:host:MainProcess] INFO: message`, rotated by size (`logmaxsz`
//! bytes, `logbackup` numbered copies) or, when `logmaxsz` is 0, by time (`logwhen`).
//!
//! This is the one place that installs a `tracing` subscriber; the rest of the engine only
//! emits events. When the log directory is missing or the file cannot be opened, logging goes
//! to the console with one warning, as the reference does, and the program carries on.

use std::fmt;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use file_rotate::suffix::{AppendCount, AppendTimestamp, DateFrom, FileLimit};
use file_rotate::{compression::Compression, ContentLimit, FileRotate, TimeFrequency};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// What `[logging]` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSetup {
    /// Python level name: DEBUG, INFO, WARNING, ERROR or CRITICAL.
    pub level: String,
    /// Directory of the log file; it must exist (it is not created, like the reference).
    pub dir: PathBuf,
    /// File name, e.g. `kompira_sendevt.log`.
    pub file_name: String,
    /// Rotate when the file passes this size; 0 rotates by time instead.
    pub max_bytes: u64,
    /// Rotated copies to keep.
    pub backups: u32,
    /// Time rotation unit (S, M, H, D, MIDNIGHT, W0–W6).
    pub when: String,
    /// `--debug`: everything at DEBUG to the console instead of the file.
    pub console: bool,
}

/// Where the log ended up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// The log file.
    File(PathBuf),
    /// Standard error; `reason` says why the file could not be used.
    Console {
        /// Why not the file (`None` when the console was asked for).
        reason: Option<String>,
    },
}

/// Installs the global subscriber. Call once, first thing in a binary.
pub fn init(setup: &LogSetup) -> LogTarget {
    let level = if setup.console { Level::DEBUG } else { tracing_level(&setup.level) };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},lapin=warn,amq_protocol=warn,rustls=warn")));
    let format = PythonFormat { host: short_host_name() };
    let target = if setup.console {
        LogTarget::Console { reason: None }
    } else {
        match open_rotating_file(setup) {
            Ok(writer) => {
                let _ = tracing_subscriber::fmt()
                    .with_env_filter(filter)
                    .event_format(format)
                    .with_writer(Mutex::new(writer))
                    .try_init();
                return LogTarget::File(setup.dir.join(&setup.file_name));
            }
            Err(reason) => LogTarget::Console { reason: Some(reason) },
        }
    };
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).event_format(format).with_writer(std::io::stderr).try_init();
    if let LogTarget::Console { reason: Some(reason) } = &target {
        tracing::warn!("{reason}; logging to the console instead");
    }
    target
}

/// Python level names → tracing levels (CRITICAL has no equivalent: ERROR is the closest).
pub fn tracing_level(python_level: &str) -> Level {
    match python_level.to_ascii_uppercase().as_str() {
        "DEBUG" => Level::DEBUG,
        "WARNING" | "WARN" => Level::WARN,
        "ERROR" | "CRITICAL" => Level::ERROR,
        _ => Level::INFO,
    }
}

fn open_rotating_file(setup: &LogSetup) -> Result<FileRotate<RotationSuffix>, String> {
    let path = setup.dir.join(&setup.file_name);
    if !setup.dir.is_dir() {
        return Err(format!("log directory {} does not exist", setup.dir.display()));
    }
    // Opened here first because file-rotate swallows open errors and then writes nowhere.
    owner_only_append().open(&path).map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
    let backups = setup.backups.max(1) as usize;
    Ok(if setup.max_bytes > 0 {
        let limit = usize::try_from(setup.max_bytes).unwrap_or(usize::MAX);
        FileRotate::new(
            &path,
            RotationSuffix::Count(AppendCount::new(backups)),
            // Rotate after a whole line, never in the middle of one.
            ContentLimit::BytesSurpassed(limit),
            Compression::None,
            Some(owner_only_append()),
        )
    } else {
        let (frequency, format) = time_rotation(&setup.when);
        FileRotate::new(
            &path,
            RotationSuffix::Date(AppendTimestamp::with_format(
                format,
                FileLimit::MaxFiles(backups),
                DateFrom::DateYesterday,
            )),
            ContentLimit::Time(frequency),
            Compression::None,
            Some(owner_only_append()),
        )
    })
}

/// Python's rotation units mapped onto file-rotate's; seconds and minutes (meant for tests in
/// Python) rotate hourly here, the finest unit file-rotate offers.
fn time_rotation(when: &str) -> (TimeFrequency, &'static str) {
    let when = when.to_ascii_uppercase();
    if when.starts_with('W') {
        (TimeFrequency::Weekly, "%Y-%m-%d")
    } else if when == "D" || when == "MIDNIGHT" {
        (TimeFrequency::Daily, "%Y-%m-%d")
    } else {
        (TimeFrequency::Hourly, "%Y-%m-%d_%H")
    }
}

/// How every log file is opened. A file it creates (the first one, and each after a rotation)
/// is readable by its owner only: event bodies and server names are not for every local user.
/// (The reference made its log world-writable so that all users could append to one file; a
/// user who cannot open another's log gets a warning and logs to the console instead.)
fn owner_only_append() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true).create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Size rotation numbers copies like Python (`.1`, `.2`); time rotation dates them.
enum RotationSuffix {
    Count(AppendCount),
    Date(AppendTimestamp),
}

impl file_rotate::suffix::SuffixScheme for RotationSuffix {
    type Repr = RotationRepr;

    fn rotate_file(
        &mut self,
        basepath: &Path,
        newest_suffix: Option<&Self::Repr>,
        suffix: &Option<Self::Repr>,
    ) -> std::io::Result<Self::Repr> {
        match self {
            RotationSuffix::Count(scheme) => scheme
                .rotate_file(
                    basepath,
                    newest_suffix.and_then(RotationRepr::count),
                    &suffix.as_ref().and_then(RotationRepr::count).copied(),
                )
                .map(RotationRepr::Count),
            RotationSuffix::Date(scheme) => scheme
                .rotate_file(
                    basepath,
                    newest_suffix.and_then(RotationRepr::date),
                    &suffix.as_ref().and_then(RotationRepr::date).cloned(),
                )
                .map(RotationRepr::Date),
        }
    }

    fn parse(&self, suffix: &str) -> Option<Self::Repr> {
        match self {
            RotationSuffix::Count(scheme) => scheme.parse(suffix).map(RotationRepr::Count),
            RotationSuffix::Date(scheme) => scheme.parse(suffix).map(RotationRepr::Date),
        }
    }

    fn too_old(&self, suffix: &Self::Repr, file_number: usize) -> bool {
        match (self, suffix) {
            (RotationSuffix::Count(scheme), RotationRepr::Count(s)) => scheme.too_old(s, file_number),
            (RotationSuffix::Date(scheme), RotationRepr::Date(s)) => scheme.too_old(s, file_number),
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RotationRepr {
    Count(usize),
    Date(file_rotate::suffix::TimestampSuffix),
}

impl RotationRepr {
    fn count(&self) -> Option<&usize> {
        match self {
            RotationRepr::Count(n) => Some(n),
            RotationRepr::Date(_) => None,
        }
    }
    fn date(&self) -> Option<&file_rotate::suffix::TimestampSuffix> {
        match self {
            RotationRepr::Date(d) => Some(d),
            RotationRepr::Count(_) => None,
        }
    }
}

impl file_rotate::suffix::Representation for RotationRepr {}

impl fmt::Display for RotationRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RotationRepr::Count(n) => write!(f, "{n}"),
            RotationRepr::Date(d) => write!(f, "{d}"),
        }
    }
}

fn short_host_name() -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    host.split('.').next().unwrap_or_default().to_owned()
}

/// `[asctime:host:MainProcess] LEVEL: message`, Python logging's SIMPLE_FORMAT.
struct PythonFormat {
    host: String,
}

impl<S, N> FormatEvent<S, N> for PythonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S,%3f");
        write!(writer, "[{now}:{}:MainProcess] {}: ", self.host, python_level_name(event.metadata().level()))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

fn python_level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        _ => "DEBUG",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_levels_map_to_tracing_levels() {
        assert_eq!(tracing_level("warning"), Level::WARN);
        assert_eq!(tracing_level("CRITICAL"), Level::ERROR);
        assert_eq!(tracing_level("DEBUG"), Level::DEBUG);
        assert_eq!(python_level_name(&Level::WARN), "WARNING");
    }

    #[test]
    fn midnight_and_weekdays_rotate_daily_and_weekly() {
        assert!(matches!(time_rotation("midnight").0, TimeFrequency::Daily));
        assert!(matches!(time_rotation("W0").0, TimeFrequency::Weekly));
        assert!(matches!(time_rotation("H").0, TimeFrequency::Hourly));
    }

    #[test]
    fn missing_directory_is_reported_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let setup = LogSetup {
            level: "INFO".into(),
            dir: dir.path().join("absent"),
            file_name: "x.log".into(),
            max_bytes: 10,
            backups: 2,
            when: "MIDNIGHT".into(),
            console: false,
        };
        let err = open_rotating_file(&setup).err().unwrap();
        assert!(err.contains("does not exist"), "{err}");
        assert!(!dir.path().join("absent").exists());
    }

    #[test]
    fn size_rotation_keeps_numbered_backups_and_whole_lines() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let setup = LogSetup {
            level: "INFO".into(),
            dir: dir.path().to_path_buf(),
            file_name: "r.log".into(),
            max_bytes: 10,
            backups: 2,
            when: "MIDNIGHT".into(),
            console: false,
        };
        let mut log = open_rotating_file(&setup).unwrap();
        for line in ["line one\n", "line two\n", "line three\n", "line four\n"] {
            log.write_all(line.as_bytes()).unwrap();
        }
        log.flush().unwrap();
        drop(log);
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
        // A file rotates once a write takes it past the limit, so lines are never split.
        assert_eq!(read("r.log"), "line four\n");
        assert_eq!(read("r.log.1"), "line three\n");
        assert_eq!(read("r.log.2"), "line one\nline two\n");
        assert!(!dir.path().join("r.log.3").exists(), "only two backups are kept");
    }

    #[cfg(unix)]
    #[test]
    fn log_files_are_created_readable_by_their_owner_only_also_after_rotation() {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let setup = LogSetup {
            level: "INFO".into(),
            dir: dir.path().to_path_buf(),
            file_name: "p.log".into(),
            max_bytes: 10,
            backups: 2,
            when: "MIDNIGHT".into(),
            console: false,
        };
        let mut log = open_rotating_file(&setup).unwrap();
        let mode = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("p.log"), 0o600);
        log.write_all(b"a line past the limit\n").unwrap();
        log.write_all(b"the line after the rotation\n").unwrap();
        log.flush().unwrap();
        assert!(dir.path().join("p.log.1").exists(), "rotated");
        assert_eq!(mode("p.log"), 0o600, "the file made by the rotation");
    }
}
