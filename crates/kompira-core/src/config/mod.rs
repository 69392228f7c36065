//! kompira.conf: reading, resolving and writing.
//!
//! This module is for the settings that Kompira's own tools (notably
//! `kompira_sendevt`) read from kompira.conf, with the same meaning they
//! give them: a ConfigParser-compatible reader ([`parse_ini`]), the search
//! path per OS ([`search_path`], [`user_config_path`]), resolution of
//! defaults, files, environment and command line into typed [`Settings`]
//! that remember each value's [`Source`] ([`load`]), and an editor that
//! changes a few keys while keeping every other byte of the file
//! ([`apply_edits`], [`write_file`]); [`load_with_edits`] tells what a save would give
//! before the file is touched.
//!
//! It is not a general INI library: keys it does not know are ignored when
//! reading and left untouched when writing, and it never prints, logs the
//! password, or exits.

mod error;
mod ini;
mod paths;
mod settings;
mod templates;
mod writer;

pub use error::ConfigError;
pub use ini::{parse as parse_ini, IniDocument, IniValue, DEFAULT_SECTION};
pub use paths::{
    default_certs_dir, default_log_dir, default_outbox_path, search_path, user_config_path, Os, CA_FILE_NAME,
    CLIENT_CERT_FILE_NAME, CLIENT_KEY_FILE_NAME, CONFIG_FILE_NAME, OUTBOX_FILE_NAME,
};
pub use settings::{
    check_env_is_text, load, load_with_edits, AmqpSettings, LoadOptions, LoggingSettings, NotifySettings,
    OutboxSettings, Override, Resolved, Settings, Source, Value, DEFAULT_OUTBOX_MAX_BYTES, DEFAULT_OUTBOX_MAX_EVENTS,
    LANGUAGES,
};
pub use templates::{
    check_template, check_template_name, template_edits, Template, TemplateAction, TEMPLATE_SECTION_PREFIX,
};
pub use writer::{apply_edits, can_write, remove_section, remove_section_in_file, write_file, Edit};
