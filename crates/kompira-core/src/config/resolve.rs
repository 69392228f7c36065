//! Resolving the effective settings, remembering where each value came from.
//!
//! Layers, later winning: built-in defaults → kompira.conf files (in search
//! order) → environment variables → command-line overrides. Only the keys in
//! [`KEYS`] are read; other sections and keys belong to other tools and are
//! left alone. Values are typed and validated here, once, so the rest of the
//! program never sees raw config text.

use std::path::{Path, PathBuf};

use super::amqp_url::{amqp_url_other_vhost, mask_url_password, parse_amqp_url};
use super::error::ConfigError;
use super::ini::{self, IniDocument};
use super::keys::{
    check, default_value, find_spec, is_secret, kind_name, typed, Kind, AMQP, AMQP_URL, ENV_VARS, KEYS, MASK, REST,
};
use super::paths::{self, Os};
use super::settings::{Resolved, Settings, Source, Value};
use super::writer::{apply_edits, Edit};

/// A value given on the command line, already typed (a `Value::Str` for an
/// integer or boolean key is parsed as the file would be).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// Section, e.g. `amqp-connection`.
    pub section: String,
    /// Key, e.g. `port`.
    pub key: String,
    /// The value.
    pub value: Value,
    /// The flag that gave it, for provenance and errors, e.g. `--port`.
    pub flag: String,
}

/// What [`load`] reads.
pub struct LoadOptions<'a> {
    /// Whose path conventions apply.
    pub os: Os,
    /// `-c FILE`: read only this file (not the search list nor the user
    /// file); it must exist.
    pub explicit_config: Option<PathBuf>,
    /// The running executable, for the install-prefix file.
    pub exe: Option<PathBuf>,
    /// The current directory, whose kompira.conf the official tools read; `None` for the
    /// tray app, which must not take `[rest] url` or remedies from wherever it was started.
    pub cwd: Option<PathBuf>,
    /// Also read the per-user file, last among the files.
    pub include_user_file: bool,
    /// Environment lookup (tests pass a map).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Command-line values, applied last.
    pub overrides: Vec<Override>,
}

/// Fails when a variable the settings read is set but is not UTF-8 text. A lookup through
/// `std::env::var(..).ok()` would see such a variable as unset, and the setting would quietly
/// come from the file instead; binaries call this before [`load`]. `var_os` is
/// `std::env::var_os` (tests pass a map).
pub fn check_env_is_text(var_os: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> Result<(), ConfigError> {
    let names = ENV_VARS.iter().map(|(var, _, _)| *var).chain([AMQP_URL, "XDG_CONFIG_HOME", "HOME", "APPDATA"]);
    for var in names {
        if var_os(var).is_some_and(|value| value.to_str().is_none()) {
            return Err(ConfigError::EnvNotText { var: var.to_owned() });
        }
    }
    Ok(())
}

/// Reads the files, environment and overrides into [`Settings`].
pub fn load(opts: &LoadOptions) -> Result<Settings, ConfigError> {
    load_inner(opts, &[])
}

/// What [`load`] would give once [`write_file`](super::write_file)`(path, edits)` had run,
/// without touching the file: the settings screen checks a save with the same rules as
/// every later load, and tests unsaved values with it. A missing `path` counts as empty.
/// `path` must be one of the files `load` reads ([`Settings::files_searched`]); otherwise
/// the edits could not take effect, and that is the error.
pub fn load_with_edits(opts: &LoadOptions, path: &Path, edits: &[Edit]) -> Result<Settings, ConfigError> {
    load_with_file_edits(opts, &[(path, edits)])
}

/// [`load_with_edits`] for edits to several files (the settings screen saves secrets to the
/// per-user file and the rest to the file it chose).
pub fn load_with_file_edits(opts: &LoadOptions, files: &[(&Path, &[Edit])]) -> Result<Settings, ConfigError> {
    let mut replacements: Vec<(&Path, String)> = Vec::new();
    for (path, edits) in files {
        let text = match replacements.iter().position(|(p, _)| p == path) {
            Some(index) => replacements.remove(index).1,
            None => match read_text(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(source) => return Err(ConfigError::Unreadable { path: path.to_path_buf(), source }),
            },
        };
        replacements.push((path, apply_edits(&text, edits)));
    }
    load_inner(opts, &replacements)
}

/// Files whose text is given rather than read.
type Replacements<'a> = &'a [(&'a Path, String)];

fn load_inner(opts: &LoadOptions, replacements: Replacements) -> Result<Settings, ConfigError> {
    let mut settings = Settings {
        os: opts.os,
        entries: KEYS
            .iter()
            .map(|s| (s.section, s.key, Resolved { value: default_value(s, opts.os), source: Source::Default }))
            .collect(),
        files_read: Vec::new(),
        files_searched: Vec::new(),
        warnings: Vec::new(),
        document: IniDocument::default(),
    };
    let doc = settings.read_files(opts, replacements)?;
    settings.apply_files(&doc)?;
    settings.document = doc;
    settings.apply_env(opts.env)?;
    settings.apply_overrides(&opts.overrides)?;
    settings.validate(opts.env)?;
    settings.apply_keyring(&crate::secret_store::read);
    Ok(settings)
}

/// Largest kompira.conf read. Real files are a few kilobytes; the limit keeps `-c /dev/zero`
/// or a runaway file from eating memory.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a file as UTF-8 text; the error says what to fix. Only regular files are read: a
/// device never ends and a named pipe without a writer blocks forever on open.
fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidData, message);
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let what = if meta.is_dir() { "a directory" } else { "a device or pipe" };
        return Err(invalid(format!("not a regular file (it is {what})")));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(invalid(format!("larger than {} MiB; is it really kompira.conf?", MAX_CONFIG_BYTES >> 20)));
    }
    text_of(bytes).map_err(invalid)
}

/// The text of a file's bytes, or why it is not UTF-8 text: UTF-16 (as some Windows editors
/// save) is named, and a bad byte is placed by its line. (A UTF-8 byte-order mark is fine:
/// the INI reader skips it.)
fn text_of(bytes: Vec<u8>) -> Result<String, String> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err("UTF-16 text; save it as UTF-8".into());
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        format!("not UTF-8 text (line {line}); save it as UTF-8")
    })
}

impl Settings {
    /// With `[secrets] store = keyring`, the password and the token come from the OS keyring
    /// where it holds them; the environment and the command line still win. Where no keyring
    /// runs, the files' values stay and a warning says so (once).
    fn apply_keyring(&mut self, read: &dyn Fn(&str, &str) -> crate::secret_store::Lookup) {
        use crate::secret_store::{Lookup, KEYRING_KEYS};
        if !self.secrets_in_keyring() {
            return;
        }
        for (section, key) in KEYRING_KEYS {
            let slot = self.slot(section, key).expect("keyring key in KEYS");
            if matches!(slot.source, Source::Env(_) | Source::Flag(_)) {
                continue;
            }
            match read(section, key) {
                Lookup::Found(value) => *slot = Resolved { value: Value::Str(value), source: Source::Keyring },
                Lookup::Missing => {}
                Lookup::Unavailable(why) => {
                    self.warnings.push(format!(
                        "[secrets] store = keyring, but the OS keyring cannot be reached ({why}); \
                         the password and token come from kompira.conf"
                    ));
                    return;
                }
            }
        }
    }

    /// Puts values about to be stored in the OS keyring in force, as the next load will find
    /// them there: the settings screen checks and tests a form before it saves it. Only with
    /// `[secrets] store = keyring`; the environment and the command line still win.
    pub fn with_keyring_values(&mut self, values: &[(&str, &str, &str)]) {
        use crate::secret_store::Lookup;
        self.apply_keyring(&|section, key| {
            values
                .iter()
                .find(|(s, k, _)| *s == section && *k == key)
                .map_or(Lookup::Missing, |(_, _, value)| Lookup::Found((*value).to_owned()))
        });
    }

    fn read_files(&mut self, opts: &LoadOptions, replacements: Replacements) -> Result<IniDocument, ConfigError> {
        let replacement_is_read =
            |searched: &[PathBuf]| match replacements.iter().find(|(path, _)| !searched.iter().any(|p| p == path)) {
                Some((path, _)) => Err(ConfigError::NotRead { path: path.to_path_buf(), searched: searched.to_vec() }),
                None => Ok(()),
            };
        // A replacement's text, or the file's.
        let read = |path: &Path| match replacements.iter().find(|(replaced, _)| *replaced == path) {
            Some((_, text)) => Ok(text.clone()),
            None => read_text(path),
        };
        let mut doc = IniDocument::default();
        if let Some(path) = &opts.explicit_config {
            self.files_searched.push(path.clone());
            replacement_is_read(&self.files_searched)?;
            let text = read(path).map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => ConfigError::NotFound { path: path.clone() },
                _ => ConfigError::Unreadable { path: path.clone(), source },
            })?;
            doc.merge(ini::parse(&text, path)?);
            self.files_read.push(path.clone());
            return Ok(doc);
        }
        self.files_searched = paths::search_path(opts.os, opts.exe.as_deref(), opts.cwd.as_deref());
        if opts.include_user_file {
            if let Some(user) = paths::user_config_path(opts.os, opts.env) {
                self.files_searched.push(user);
            }
        }
        replacement_is_read(&self.files_searched)?;
        for path in self.files_searched.clone() {
            match read(&path) {
                Ok(text) => {
                    doc.merge(ini::parse(&text, &path)?);
                    self.files_read.push(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // ConfigParser skips such a file silently; say so instead.
                Err(e) => self.warnings.push(format!("skipped config file '{}': cannot read it: {e}", path.display())),
            }
        }
        Ok(doc)
    }

    fn slot(&mut self, section: &str, key: &str) -> Option<&mut Resolved> {
        self.entries.iter_mut().find(|(s, k, _)| *s == section && *k == key).map(|(_, _, r)| r)
    }

    fn apply_files(&mut self, doc: &IniDocument) -> Result<(), ConfigError> {
        for spec in KEYS {
            // A secret's errors name the key only; AMQP_URL may carry a password too.
            let secret = is_secret(spec.section, spec.key) || spec.key.eq_ignore_ascii_case(AMQP_URL);
            let read = if secret { doc.get_secret(spec.section, spec.key) } else { doc.get(spec.section, spec.key) };
            let Some(found) = read? else {
                continue;
            };
            let value = typed(spec.kind, &found.value).map_err(|problem| ConfigError::BadValue {
                path: found.path.clone(),
                line: found.line,
                section: spec.section.to_string(),
                key: spec.key.to_string(),
                message: format!("{} {problem}", crate::quote::quoted(&found.value)),
            })?;
            let source = Source::File { path: found.path, line: found.line };
            *self.slot(spec.section, spec.key).expect("key from KEYS") = Resolved { value, source };
        }
        Ok(())
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        // An empty variable counts as unset, as `if os.environ.get(...)` does.
        let get = |name: &str| env(name).filter(|v| !v.is_empty());
        if let Some(url) = get(AMQP_URL) {
            let parsed = parse_amqp_url(&url).map_err(|message| ConfigError::BadEnv {
                var: AMQP_URL.to_string(),
                value: mask_url_password(&url),
                message,
            })?;
            if let Some(vhost) = amqp_url_other_vhost(&url) {
                self.warnings.push(format!(
                    "AMQP_URL names the vhost {vhost:?}, which is ignored: events go to vhost \"/\", where Kompira consumes io_queue"
                ));
            }
            let source = Source::Env(AMQP_URL.to_string());
            let text = |v: Option<String>| v.map_or(Value::Null, Value::Str);
            for (key, value) in [
                ("server", text(parsed.host)),
                ("port", parsed.port.map_or(Value::Null, Value::Int)),
                ("user", text(parsed.user)),
                ("password", text(parsed.password)),
                ("ssl", Value::Bool(parsed.ssl)),
            ] {
                *self.slot(AMQP, key).expect("amqp key") = Resolved { value, source: source.clone() };
            }
        }
        for (var, section, key) in ENV_VARS {
            let Some(raw) = get(var) else { continue };
            let spec = find_spec(section, key).expect("env key in KEYS");
            let value = typed(spec.kind, &raw).map_err(|message| ConfigError::BadEnv {
                var: var.to_string(),
                value: if is_secret(section, key) { MASK.to_string() } else { raw.clone() },
                message,
            })?;
            *self.slot(section, key).expect("env key") = Resolved { value, source: Source::Env(var.to_string()) };
        }
        Ok(())
    }

    fn apply_overrides(&mut self, overrides: &[Override]) -> Result<(), ConfigError> {
        for o in overrides {
            let Some(spec) = find_spec(&o.section, &o.key) else {
                self.warnings.push(format!("ignored {}: kompira.conf has no key [{}] {}", o.flag, o.section, o.key));
                continue;
            };
            let value = match (&o.value, spec.kind) {
                (Value::Str(text), Kind::Int | Kind::Bool) => {
                    typed(spec.kind, text).map_err(|problem| ConfigError::BadFlag {
                        flag: o.flag.clone(),
                        message: format!("{} {problem}", crate::quote::quoted(text)),
                    })?
                }
                (Value::Null, _)
                | (Value::Str(_), Kind::Str)
                | (Value::Int(_), Kind::Int)
                | (Value::Bool(_), Kind::Bool) => o.value.clone(),
                (other, _) => {
                    return Err(ConfigError::BadFlag {
                        flag: o.flag.clone(),
                        message: format!("{} is not {}", other.show(), kind_name(spec.kind)),
                    })
                }
            };
            *self.slot(spec.section, spec.key).expect("key from KEYS") =
                Resolved { value, source: Source::Flag(o.flag.clone()) };
        }
        Ok(())
    }

    /// Range checks on the final values (a bad value that a later layer
    /// replaced does not matter, as in sendevt), normalising case.
    fn validate(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for (section, key, resolved) in &mut self.entries {
            let checked = match check(section, key, &resolved.value) {
                Ok(Some(normal)) => {
                    resolved.value = normal;
                    continue;
                }
                Ok(None) => continue,
                Err(problem) => problem,
            };
            // A URL may carry a password or a token (`?token=`): never show those.
            let is_url = (*section, *key) == (REST, "url");
            let shown = match resolved.value.as_str() {
                Some(url) if is_url => crate::quote::quoted(&crate::quote::url_without_secrets(url)),
                _ => resolved.value.show(),
            };
            return Err(match &resolved.source {
                Source::File { path, line } => ConfigError::BadValue {
                    path: path.clone(),
                    line: *line,
                    section: section.to_string(),
                    key: key.to_string(),
                    message: format!("{shown} {checked}"),
                },
                Source::Env(var) if var == AMQP_URL => ConfigError::BadEnv {
                    var: var.clone(),
                    value: mask_url_password(&env(var).unwrap_or_default()),
                    message: format!("gives {key} {shown}, which {checked}"),
                },
                Source::Env(var) => ConfigError::BadEnv {
                    var: var.clone(),
                    value: match env(var).unwrap_or_default() {
                        url if is_url => crate::quote::url_without_secrets(&url),
                        value => value,
                    },
                    message: checked,
                },
                Source::Flag(flag) => {
                    ConfigError::BadFlag { flag: flag.clone(), message: format!("{shown} {checked}") }
                }
                // Built-in and derived values are valid by construction; the keyring is read
                // after validation, and only for keys that have no checks.
                Source::Default | Source::Derived(_) | Source::Keyring => {
                    unreachable!("invalid built-in {section}.{key}")
                }
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::{source_of, text, value_of, Fixture};

    fn set(section: &str, key: &str, value: Option<&str>) -> Edit {
        Edit { section: section.into(), key: key.into(), value: value.map(str::to_owned) }
    }

    #[test]
    fn file_values_are_typed_with_provenance() {
        let f = Fixture::new();
        let s = f
            .load_text(
                "[kompira]\nsite_id = 7\n[amqp-connection]\nServer = mq.example\nport: 5673\n\
                 ssl = Yes\npassword = p%%w\n[event]\nchannel = /c\n[agent]\nname = x\n",
            )
            .unwrap();
        let path = f.dir.path().join("kompira.conf");
        assert_eq!(s.site_id(), 7);
        assert_eq!(s.channel(), "/c");
        assert_eq!(value_of(&s, "amqp-connection", "ssl"), Value::Bool(true));
        assert_eq!(value_of(&s, "amqp-connection", "port"), Value::Int(5673));
        assert_eq!(value_of(&s, "amqp-connection", "password"), text("p%w"));
        assert_eq!(s.get("amqp-connection", "server").unwrap().source, Source::File { path: path.clone(), line: 4 });
        assert_eq!(source_of(&s, "amqp-connection", "port"), format!("{}:5", path.display()));
        assert_eq!(s.files_read(), std::slice::from_ref(&path));
        assert_eq!(s.files_searched(), [path]);
        assert!(s.get("agent", "name").is_none());
    }

    #[test]
    fn default_section_applies_to_known_sections() {
        let s = Fixture::new().load_text("[DEFAULT]\nloglevel = error\n[logging]\n").unwrap();
        assert_eq!(s.logging().level, "ERROR");
        // Without a [logging] section the DEFAULT does not apply (ConfigParser).
        let s = Fixture::new().load_text("[DEFAULT]\nloglevel = error\n").unwrap();
        assert_eq!(s.logging().level, "INFO");
    }

    #[test]
    fn interpolation_error_in_known_key_fails_load() {
        let e = Fixture::new().load_text("[amqp-connection]\npassword = 100%\n").unwrap_err();
        assert!(matches!(e, ConfigError::Interpolation { line: 2, .. }), "{e}");
        // An unknown key with bad syntax is not ours to judge.
        Fixture::new().load_text("[agent]\nname = 100%\n").unwrap();
    }

    #[test]
    fn parse_error_fails_load() {
        let e = Fixture::new().load_text("server = x\n").unwrap_err();
        assert!(matches!(e, ConfigError::Parse { line: 1, .. }), "{e}");
    }

    #[test]
    fn later_files_override_earlier_ones_in_search_order() {
        let f = Fixture::new();
        let prefix = f.file("prefix/kompira.conf", "[kompira]\nsite_id = 2\n[event]\nchannel = /prefix\n");
        let work = f.file("work/kompira.conf", "[kompira]\nsite_id = 3\n");
        let user = f.file("xdg/kompira/kompira.conf", "[kompira]\nsite_id = 4\n");

        let s = f.load_search(false).unwrap();
        assert_eq!(s.site_id(), 3);
        assert_eq!(s.channel(), "/prefix");
        assert_eq!(s.files_read(), [prefix.clone(), work.clone()]);
        assert_eq!(s.files_searched(), [PathBuf::from("/opt/kompira/kompira.conf"), prefix.clone(), work.clone()]);

        let s = f.load_search(true).unwrap();
        assert_eq!(s.site_id(), 4);
        assert_eq!(s.files_read(), [prefix, work, user.clone()]);
        assert_eq!(s.files_searched().last(), Some(&user));
        assert_eq!(source_of(&s, "kompira", "site_id"), format!("{}:2", user.display()));
    }

    #[test]
    fn interpolation_sees_keys_from_later_files() {
        let f = Fixture::new();
        f.file("prefix/kompira.conf", "[event]\nchannel = /system/channels/%(name)s\n");
        f.file("work/kompira.conf", "[event]\nname = Desk\n");
        assert_eq!(f.load_search(false).unwrap().channel(), "/system/channels/Desk");
    }

    #[test]
    fn duplicate_section_across_files_is_fine() {
        let f = Fixture::new();
        f.file("prefix/kompira.conf", "[kompira]\nsite_id = 2\n");
        f.file("work/kompira.conf", "[kompira]\nsite_id = 3\n");
        assert_eq!(f.load_search(false).unwrap().site_id(), 3);
    }

    #[test]
    fn explicit_config_replaces_search_list() {
        let f = Fixture::new();
        f.file("work/kompira.conf", "[kompira]\nsite_id = 3\n");
        let only = f.file("other.conf", "[kompira]\nsite_id = 9\n");
        let s = f.load_file(Some(only.clone())).unwrap();
        assert_eq!(s.site_id(), 9);
        assert_eq!(s.files_searched(), [only]);
    }

    #[test]
    fn explicit_config_missing_is_error() {
        let f = Fixture::new();
        let missing = f.dir.path().join("nope.conf");
        let e = f.load_file(Some(missing.clone())).unwrap_err();
        assert_eq!(e.to_string(), format!("config file '{}' not found", missing.display()));
    }

    #[test]
    fn explicit_config_unreadable_is_error() {
        let f = Fixture::new();
        let dir = f.dir.path().join("dir.conf");
        std::fs::create_dir(&dir).unwrap();
        assert!(matches!(f.load_file(Some(dir)), Err(ConfigError::Unreadable { .. })));
    }

    #[test]
    fn unreadable_searched_file_is_skipped_with_warning() {
        let f = Fixture::new();
        // A directory cannot be read as a file, even by root.
        std::fs::create_dir_all(f.dir.path().join("prefix/kompira.conf")).unwrap();
        f.file("work/kompira.conf", "[kompira]\nsite_id = 5\n");
        let s = f.load_search(false).unwrap();
        assert_eq!(s.site_id(), 5);
        assert_eq!(s.warnings().len(), 1);
        assert!(s.warnings()[0].contains("prefix/kompira.conf"), "{:?}", s.warnings());
    }

    #[test]
    fn non_utf8_file_is_skipped_with_warning() {
        let f = Fixture::new();
        std::fs::create_dir_all(f.dir.path().join("work")).unwrap();
        std::fs::write(f.dir.path().join("work/kompira.conf"), b"[kompira]\nsite_id = \xff\n").unwrap();
        let s = f.load_search(false).unwrap();
        assert!(s.files_read().is_empty());
        assert!(s.warnings()[0].contains("UTF-8"), "{:?}", s.warnings());
    }

    #[test]
    fn empty_environment_variable_is_ignored() {
        let s = Fixture::new().env("AMQP_MAX_RETRY", "").env("AMQP_URL", "").load_file(None).unwrap();
        assert_eq!(source_of(&s, "amqp-connection", "max_retry"), "default");
        assert_eq!(source_of(&s, "amqp-connection", "server"), "default");
    }

    #[test]
    fn bad_environment_values_name_the_variable() {
        let e = Fixture::new().env("AMQP_MAX_RETRY", "x").load_file(None).unwrap_err();
        assert_eq!(e.to_string(), "AMQP_MAX_RETRY=\"x\" is not an integer");
        let e = Fixture::new().env("AMQP_SSL_VERIFY", "sure").load_file(None).unwrap_err();
        assert!(e.to_string().starts_with("AMQP_SSL_VERIFY=\"sure\" is not a boolean"), "{e}");
        let e = Fixture::new().env("LOGGING_LEVEL", "loud").load_file(None).unwrap_err();
        assert!(e.to_string().starts_with("LOGGING_LEVEL=\"loud\" is not a log level"), "{e}");
        let e = Fixture::new().env("AMQP_RETRY_INTERVAL", "-1").load_file(None).unwrap_err();
        assert!(e.to_string().starts_with("AMQP_RETRY_INTERVAL=\"-1\" is out of range"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_variable_that_is_not_text_is_an_error_not_unset() {
        use std::os::unix::ffi::OsStringExt;
        let bad = |name: &str| (name == "KOMPIRA_TOKEN").then(|| std::ffi::OsString::from_vec(b"t\xE9ken".to_vec()));
        let e = check_env_is_text(&bad).unwrap_err().to_string();
        assert_eq!(e, "the environment variable KOMPIRA_TOKEN is not UTF-8 text; set it again in UTF-8, or unset it");
        assert!(check_env_is_text(&|_| Some("text".into())).is_ok());
    }

    #[test]
    fn keyring_values_replace_file_secrets_but_not_environment_ones() {
        use crate::secret_store::Lookup;
        let text = "[secrets]\nstore = keyring\n[amqp-connection]\npassword = from-file\n[rest]\nurl = http://k\ntoken = file-token\n";
        let mut s = Fixture::new().env("KOMPIRA_TOKEN", "env-token").load_text(text).unwrap();
        s.warnings.clear();
        s.apply_keyring(&|section, key| Lookup::Found(format!("ring-{section}.{key}")));
        assert_eq!(value_of(&s, "amqp-connection", "password"), Value::Str("ring-amqp-connection.password".into()));
        assert_eq!(source_of(&s, "amqp-connection", "password"), "OS keyring");
        assert_eq!(value_of(&s, "rest", "token"), Value::Str("env-token".into()));
        assert!(s.warnings().is_empty());
    }

    #[test]
    fn without_a_keyring_the_file_stays_and_a_warning_says_so() {
        use crate::secret_store::Lookup;
        let text = "[secrets]\nstore = keyring\n[amqp-connection]\npassword = from-file\n";
        let mut s = Fixture::new().load_text(text).unwrap();
        s.warnings.clear();
        s.apply_keyring(&|_, _| Lookup::Unavailable("no D-Bus session".into()));
        assert_eq!(value_of(&s, "amqp-connection", "password"), Value::Str("from-file".into()));
        assert_eq!(s.warnings().len(), 1, "{:?}", s.warnings());
        assert!(s.warnings()[0].contains("cannot be reached (no D-Bus session)"), "{:?}", s.warnings());
        // Missing entries keep the file's value quietly; the file store never asks.
        s.warnings.clear();
        s.apply_keyring(&|_, _| Lookup::Missing);
        assert_eq!(value_of(&s, "amqp-connection", "password"), Value::Str("from-file".into()));
        let mut plain = Fixture::new().load_text("[amqp-connection]\npassword = p\n").unwrap();
        plain.apply_keyring(&|_, _| panic!("the file store must not ask the keyring"));
        assert!(Fixture::new().load_text("[secrets]\nstore = vault\n").is_err());
    }

    #[test]
    fn overrides_beat_environment_which_beats_file() {
        let f = Fixture::new().env("AMQP_MAX_RETRY", "5").env("AMQP_RETRY_INTERVAL", "6").flag(
            "amqp-connection",
            "max_retry",
            Value::Int(9),
            "--max-retry",
        );
        let s = f.load_text("[amqp-connection]\nmax_retry = 1\nretry_interval = 2\nheartbeat_interval = 3\n").unwrap();
        assert_eq!(value_of(&s, "amqp-connection", "max_retry"), Value::Int(9));
        assert_eq!(source_of(&s, "amqp-connection", "max_retry"), "command line --max-retry");
        assert_eq!(value_of(&s, "amqp-connection", "retry_interval"), Value::Int(6));
        assert_eq!(source_of(&s, "amqp-connection", "retry_interval"), "environment AMQP_RETRY_INTERVAL");
        assert_eq!(value_of(&s, "amqp-connection", "heartbeat_interval"), Value::Int(3));
        assert!(source_of(&s, "amqp-connection", "heartbeat_interval").ends_with("kompira.conf:4"));
        assert_eq!(source_of(&s, "amqp-connection", "connect_timeout"), "default");
    }

    #[test]
    fn override_text_is_typed_and_checked() {
        let s = Fixture::new()
            .flag("amqp-connection", "port", text("5999"), "--port")
            .flag("amqp-connection", "ssl", text("yes"), "--ssl")
            .load_file(None)
            .unwrap();
        assert_eq!(value_of(&s, "amqp-connection", "port"), Value::Int(5999));
        assert_eq!(value_of(&s, "amqp-connection", "ssl"), Value::Bool(true));
        let e = Fixture::new().flag("amqp-connection", "port", text("x"), "--port").load_file(None).unwrap_err();
        assert_eq!(e.to_string(), "command line --port: \"x\" is not an integer");
        let e = Fixture::new().flag("amqp-connection", "port", Value::Int(0), "--port").load_file(None).unwrap_err();
        assert_eq!(e.to_string(), "command line --port: 0 is out of range (1–65535)");
        let e = Fixture::new().flag("kompira", "site_id", Value::Bool(true), "--site-id").load_file(None).unwrap_err();
        assert_eq!(e.to_string(), "command line --site-id: true is not an integer");
    }

    #[test]
    fn override_of_unknown_key_is_warned() {
        let s = Fixture::new().flag("x", "y", Value::Int(1), "--y").load_file(None).unwrap();
        assert_eq!(s.warnings().len(), 1);
    }

    #[test]
    fn load_with_edits_gives_what_a_save_would_and_leaves_the_file_alone() {
        let f = Fixture::new();
        let text = "# mine\n[amqp-connection]\nport = 5672\nuser = me\n";
        let path = f.file("kompira.conf", text);
        let s = load_with_edits(
            &LoadOptions {
                os: Os::Linux,
                explicit_config: Some(path.clone()),
                exe: None,
                cwd: Some(f.dir.path().to_path_buf()),
                include_user_file: false,
                env: &|_| None,
                overrides: Vec::new(),
            },
            &path,
            &[set("amqp-connection", "port", Some("5673")), set("amqp-connection", "user", None)],
        )
        .unwrap();
        assert_eq!(value_of(&s, "amqp-connection", "port"), Value::Int(5673));
        assert_eq!(s.get("amqp-connection", "port").unwrap().source, Source::File { path: path.clone(), line: 3 });
        assert_eq!(value_of(&s, "amqp-connection", "user"), Value::Null);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn load_with_edits_applies_the_same_checks_as_load() {
        let f = Fixture::new();
        let path = f.file("kompira.conf", "[kompira]\nsite_id = 1\n");
        let opts = |path: &Path| LoadOptions {
            os: Os::Linux,
            explicit_config: Some(path.to_path_buf()),
            exe: None,
            cwd: Some(f.dir.path().to_path_buf()),
            include_user_file: false,
            env: &|_| None,
            overrides: Vec::new(),
        };
        let e = load_with_edits(&opts(&path), &path, &[set("amqp-connection", "port", Some("70000"))]).unwrap_err();
        match e {
            ConfigError::BadValue { section, key, line, .. } => {
                assert_eq!((section.as_str(), key.as_str(), line), ("amqp-connection", "port", 5))
            }
            other => panic!("{other}"),
        }
        let e = load_with_edits(&opts(&path), &path, &[set("notify", "quiet_hours", Some("late"))]).unwrap_err();
        assert!(e.to_string().contains("[notify] quiet_hours: \"late\" is not a time range"), "{e}");
        // Any integer is a site id, negative ones too, as for the reference.
        let edit = [set("kompira", "site_id", Some("-1"))];
        let s = load_with_edits(&opts(&path), &path, &edit).unwrap();
        assert_eq!(s.site_id(), -1);
        assert_eq!(Fixture::new().load_text("[kompira]\nsite_id = -1\n").unwrap().site_id(), -1);
    }

    #[test]
    fn load_with_edits_reads_a_missing_user_file_as_empty_and_refuses_a_file_not_read() {
        let f = Fixture::new();
        f.file("work/kompira.conf", "[kompira]\nsite_id = 2\n");
        let xdg = f.dir.path().join("xdg").to_string_lossy().into_owned();
        let env = |name: &str| (name == "XDG_CONFIG_HOME").then(|| xdg.clone());
        let opts = LoadOptions {
            os: Os::Linux,
            explicit_config: None,
            exe: None,
            cwd: Some(f.dir.path().join("work")),
            include_user_file: true,
            env: &env,
            overrides: Vec::new(),
        };
        let user = f.dir.path().join("xdg/kompira/kompira.conf");
        let s = load_with_edits(&opts, &user, &[set("kompira", "site_id", Some("3"))]).unwrap();
        assert_eq!(s.site_id(), 3);
        assert_eq!(s.files_read().last(), Some(&user));
        assert!(!user.exists());
        let elsewhere = f.dir.path().join("other.conf");
        let e = load_with_edits(&opts, &elsewhere, &[]).unwrap_err().to_string();
        assert!(e.contains("is not one of the files read") && e.contains("would have no effect"), "{e}");
    }
}
