//! The one error type of the config module.
//!
//! Every message names the place to fix: a file and line (plus section and
//! key), an environment variable, or a command-line flag.

use std::path::PathBuf;

/// Anything that can go wrong while reading, resolving or writing kompira.conf.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not valid INI (as Python's ConfigParser reads it).
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file being parsed.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A file named explicitly (`-c FILE`) does not exist.
    #[error("config file '{}' not found", path.display())]
    NotFound {
        /// The file that was asked for.
        path: PathBuf,
    },
    /// A file exists but could not be read (or is not UTF-8 text).
    #[error("cannot read config file '{}': {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A `%` in a value is not valid interpolation syntax, or a reference fails.
    #[error("{}:{line}: [{section}] {key}: {message}", path.display())]
    Interpolation {
        /// The file holding the value.
        path: PathBuf,
        /// Line of the key.
        line: usize,
        /// The section being read.
        section: String,
        /// The key being read.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A value in a file has the wrong type or is out of range.
    #[error("{}:{line}: [{section}] {key}: {message}", path.display())]
    BadValue {
        /// The file holding the value.
        path: PathBuf,
        /// Line of the key.
        line: usize,
        /// The section.
        section: String,
        /// The key.
        key: String,
        /// What is wrong, e.g. `"abc" is not an integer`.
        message: String,
    },
    /// An environment variable has a value that cannot be used.
    #[error("{var}={} {message}", crate::quote::quoted(value))]
    BadEnv {
        /// The variable name, e.g. `AMQP_MAX_RETRY`.
        var: String,
        /// Its value (with any password masked).
        value: String,
        /// What is wrong, e.g. `is not an integer`.
        message: String,
    },
    /// A variable the settings read is set, but not to UTF-8 text.
    #[error("the environment variable {var} is not UTF-8 text; set it again in UTF-8, or unset it")]
    EnvNotText {
        /// The variable.
        var: String,
    },
    /// A command-line value cannot be used.
    #[error("command line {flag}: {message}")]
    BadFlag {
        /// The flag, e.g. `--port`.
        flag: String,
        /// What is wrong.
        message: String,
    },
    /// A key that this use needs has no value.
    #[error("set [{section}] {key} {hint}")]
    Missing {
        /// The section, e.g. `rest`.
        section: String,
        /// The key, e.g. `url`.
        key: String,
        /// An example and the environment variable that can set it instead.
        hint: String,
    },
    /// Edits were meant for a file that is not among those read, so they would have no effect.
    #[error(
        "'{}' is not one of the files read ({}), so settings saved there would have no effect",
        path.display(),
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NotRead {
        /// The file that was to be edited.
        path: PathBuf,
        /// The files that are read, in order.
        searched: Vec<PathBuf>,
    },
    /// Saving a file failed.
    #[error("cannot write config file '{}': {source}", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
