//! kompira.conf: reading, resolving and writing.
//!
//! This module is for the settings that Kompira's own tools (notably
//! `kompira_sendevt`) read from kompira.conf, with the same meaning they
//! give them: a ConfigParser-compatible reader ([`parse_ini`]), the search
//! path per OS ([`search_path`], [`user_config_path`]), the table of known keys and
//! their checks (`keys.rs`), resolution of defaults, files, environment, command line
//! and keyring into [`Settings`] that remember each value's [`Source`] ([`load`],
//! `resolve.rs`; `AMQP_URL` in `amqp_url.rs`), and an editor that
//! changes a few keys while keeping every other byte of the file
//! ([`apply_edits`], [`write_file`]); [`load_with_edits`] tells what a save would give
//! before the file is touched.
//!
//! The typed view of a section belongs to its consumer, which builds it from [`Settings`]:
//! `event::AmqpSettings`, `rest::RestSettings`, `watch::NotifySettings`,
//! `outbox::OutboxSettings`, `remedy::from_settings`. This module imports none of them.
//!
//! It is not a general INI library: keys it does not know are ignored when
//! reading and left untouched when writing, and it never prints, logs the
//! password, or exits.

mod amqp_url;
mod error;
mod ini;
mod keys;
mod paths;
mod resolve;
mod settings;
#[cfg(test)]
pub(crate) mod testing;
mod writer;

pub use error::ConfigError;
pub use ini::{parse as parse_ini, IniDocument, IniValue, DEFAULT_SECTION};
pub(crate) use keys::{parse_channels, parse_quiet_hours, parse_remedy_lines, AMQP, NOTIFY, OUTBOX, REST};
pub use keys::{DEFAULT_OUTBOX_MAX_BYTES, DEFAULT_OUTBOX_MAX_EVENTS, LANGUAGES};
pub use paths::{
    default_certs_dir, default_log_dir, default_outbox_path, search_path, user_config_path, Os, CA_FILE_NAME,
    CLIENT_CERT_FILE_NAME, CLIENT_KEY_FILE_NAME, CONFIG_FILE_NAME, OUTBOX_FILE_NAME,
};
pub use resolve::{check_env_is_text, load, load_with_edits, load_with_file_edits, LoadOptions, Override};
pub use settings::{LoggingSettings, Resolved, Settings, Source, Value};
pub use writer::{
    apply_edits, can_write, owner_only_acl_command, remove_section, remove_section_in_file, windows_user, write_file,
    Edit,
};
