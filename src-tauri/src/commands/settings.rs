//! The Settings view: the kompira.conf keys the app uses, each with its value and where it comes
//! from; saving through the engine's writer after the engine's own checks; connection tests
//! with the values in the form, saved or not; start at login.
//!
//! Secrets never travel to the window: a password or token field starts empty (its placeholder
//! is the engine's mask), and an empty secret field means "keep". With `[secrets] store =
//! keyring` a typed secret goes to the OS keyring, and its copy in the file being saved (if
//! any) is removed, so no plain-text copy stays behind.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kompira_core::config::{self, ConfigError, Edit, LoadOptions, Resolved, Settings, Source, Value, LANGUAGES};
use kompira_core::event::{self, AmqpSettings, ConnectOptions, ONE_SHOT_FRAME_MAX};
use kompira_core::rest::{Client, RestSettings};
use kompira_core::watch::{NotifySettings, Severity};
use kompira_tray_ipc::{Call, Event};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, State};

use crate::state::{self, WindowState};

/// How a field is edited in the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Widget {
    /// One line of text; empty means "not set in this file".
    Text,
    /// A whole number; empty means "not set in this file".
    Number,
    /// A password or token: never shown, empty keeps it.
    Secret,
    /// On or off.
    Toggle,
    /// One of `options`.
    Choice,
}

/// One key on the screen.
struct Field {
    /// The fieldset it belongs to: `amqp`, `rest`, `notify` or `app`.
    group: &'static str,
    section: &'static str,
    key: &'static str,
    widget: Widget,
}

const fn field(group: &'static str, section: &'static str, key: &'static str, widget: Widget) -> Field {
    Field { group, section, key, widget }
}

const AMQP: &str = "amqp-connection";

/// The keys the screen edits, in screen order. Logging keys belong to `kompira_sendevt` and
/// stay in the file, untouched.
const FIELDS: &[Field] = &[
    field("amqp", AMQP, "server", Widget::Text),
    field("amqp", AMQP, "port", Widget::Number),
    field("amqp", AMQP, "user", Widget::Text),
    field("amqp", AMQP, "password", Widget::Secret),
    field("amqp", AMQP, "ssl", Widget::Toggle),
    field("amqp", AMQP, "ssl_verify", Widget::Toggle),
    field("amqp", AMQP, "ssl_cacertfile", Widget::Text),
    field("amqp", AMQP, "ssl_certfile", Widget::Text),
    field("amqp", AMQP, "ssl_keyfile", Widget::Text),
    field("amqp", AMQP, "max_retry", Widget::Number),
    field("amqp", AMQP, "retry_interval", Widget::Number),
    field("amqp", AMQP, "connect_timeout", Widget::Number),
    field("amqp", "event", "channel", Widget::Text),
    field("amqp", "kompira", "site_id", Widget::Number),
    field("rest", "rest", "url", Widget::Text),
    field("rest", "rest", "token", Widget::Secret),
    field("rest", "rest", "ca_file", Widget::Text),
    field("rest", "rest", "insecure", Widget::Toggle),
    field("rest", "rest", "timeout", Widget::Number),
    field("notify", "notify", "channels", Widget::Text),
    field("notify", "notify", "min_severity", Widget::Choice),
    field("notify", "notify", "quiet_hours", Widget::Text),
    field("notify", "notify", "breakthrough", Widget::Choice),
    field("notify", "notify", "sound", Widget::Toggle),
    field("notify", "notify", "task_poll", Widget::Number),
    field("notify", "notify", "task_user", Widget::Text),
    field("app", "tray", "language", Widget::Choice),
    field("app", "secrets", "store", Widget::Choice),
];

impl Field {
    fn id(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }

    fn options(&self) -> Vec<String> {
        let severities = || Severity::ALL.iter().map(|s| s.name().to_owned());
        match (self.section, self.key) {
            ("notify", "min_severity") => severities().collect(),
            ("notify", "breakthrough") => severities().chain(["none".to_owned()]).collect(),
            ("tray", "language") => LANGUAGES.iter().map(|l| (*l).to_owned()).collect(),
            ("secrets", "store") => vec!["file".to_owned(), "keyring".to_owned()],
            _ if self.widget == Widget::Toggle => vec!["true".to_owned(), "false".to_owned()],
            _ => Vec::new(),
        }
    }

    /// The value in force, derived defaults included (the engine fills in AMQP's).
    fn effective(&self, settings: &Settings) -> Resolved {
        let found = if self.section == AMQP {
            settings.amqp_resolved().into_iter().find(|(key, _)| *key == self.key).map(|(_, r)| r)
        } else {
            settings.get(self.section, self.key).cloned()
        };
        found.unwrap_or(Resolved { value: Value::Null, source: Source::Default })
    }

    /// What the input holds when the screen opens. Text and numbers show only values someone
    /// set (a default or derived value is the placeholder, so it keeps following its rule);
    /// toggles and choices show the value in force; secrets show nothing.
    fn initial(&self, settings: &Settings) -> String {
        let effective = self.effective(settings);
        match self.widget {
            Widget::Secret => String::new(),
            Widget::Toggle | Widget::Choice => plain(&effective.value),
            Widget::Text | Widget::Number => match effective.source {
                Source::Default | Source::Derived(_) => String::new(),
                _ => plain(&effective.value),
            },
        }
    }
}

/// A value as the form holds it (secrets are never passed here).
fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
    }
}

/// One field as the window shows it.
#[derive(Debug, Serialize)]
pub struct FieldView {
    /// `section.key`, the form's name for it.
    pub id: String,
    /// Fieldset: `amqp`, `rest`, `notify`, `app`.
    pub group: &'static str,
    /// kompira.conf section.
    pub section: &'static str,
    /// kompira.conf key.
    pub key: &'static str,
    /// How it is edited.
    pub widget: Widget,
    /// The choices of a toggle or choice.
    pub options: Vec<String>,
    /// The input's starting value (empty for secrets, defaults and derived values).
    pub value: String,
    /// What applies while the input is empty, as the engine shows it (secrets masked).
    pub placeholder: String,
    /// Where the value in force comes from: `FILE:LINE`, `environment VAR`, `default`, ….
    pub source: String,
}

/// Everything the Settings view shows.
#[derive(Debug, Serialize)]
pub struct SettingsView {
    /// The file a save writes, if there is one.
    pub target: Option<String>,
    /// Why nothing can be saved, if so.
    pub target_problem: Option<String>,
    /// The files read, in order (later ones win).
    pub files_read: Vec<String>,
    /// The fields, in screen order.
    pub fields: Vec<FieldView>,
    /// `[tray] language`: `auto`, `en` or `ja`.
    pub language: String,
    /// Things the engine noticed while loading (an unreadable file skipped, …).
    pub warnings: Vec<String>,
}

/// The view model of the settings screen.
pub fn view(settings: &Settings, target: &Result<PathBuf, String>) -> SettingsView {
    let fields = FIELDS
        .iter()
        .map(|f| {
            let effective = f.effective(settings);
            let placeholder = match (f.section, f.key) {
                // Unset, the watched channels are the [event] channel: show that, not "(not set)".
                ("notify", "channels") if effective.value == Value::Null => {
                    NotifySettings::from_settings(settings).channels.join(", ")
                }
                _ => effective.shown(f.section, f.key),
            };
            FieldView {
                id: f.id(),
                group: f.group,
                section: f.section,
                key: f.key,
                widget: f.widget,
                options: f.options(),
                value: f.initial(settings),
                placeholder,
                source: effective.source.to_string(),
            }
        })
        .collect();
    SettingsView {
        target: target.as_ref().ok().map(|p| p.display().to_string()),
        target_problem: target.as_ref().err().cloned(),
        files_read: settings.files_read().iter().map(|p| p.display().to_string()).collect(),
        fields,
        language: settings.language().to_owned(),
        warnings: settings.warnings().to_vec(),
    }
}

/// What the window sends: `section.key` → the input's text. Fields left out are unchanged.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    /// Input values by field id.
    pub values: HashMap<String, String>,
}

/// A refusal, with the field to mark when one is to blame.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// `section.key`, or none when the problem is not one field's.
    pub field: Option<String>,
    /// The sentence to show.
    pub message: String,
}

impl FieldError {
    fn general(message: impl Into<String>) -> Self {
        Self { field: None, message: message.into() }
    }
}

impl From<ConfigError> for FieldError {
    fn from(error: ConfigError) -> Self {
        match &error {
            // The line number is the would-be file's, which the user has not seen: name the key.
            ConfigError::BadValue { section, key, message, .. }
            | ConfigError::Interpolation { section, key, message, .. } => {
                Self { field: Some(format!("{section}.{key}")), message: format!("[{section}] {key}: {message}") }
            }
            _ => Self::general(error.to_string()),
        }
    }
}

/// The file a save writes: the last file read that this user can write (later files win, so
/// a key saved in an earlier one could stay hidden), else the per-user file when it is among
/// the files read at all. `can_write` is [`config::can_write`] outside tests.
pub fn choose_target(
    settings: &Settings,
    user_file: Option<&Path>,
    can_write: impl Fn(&Path) -> bool,
) -> Result<PathBuf, String> {
    if let Some(file) = settings.files_read().iter().rev().find(|f| can_write(f)) {
        return Ok(file.clone());
    }
    match user_file {
        Some(user) if settings.files_searched().iter().any(|f| f == user) => Ok(user.to_path_buf()),
        _ => Err(format!(
            "nothing can be saved: {} cannot be written, and the per-user file is not read \
             (KOMPIRA_CONF names the only file to read)",
            settings.files_read().iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// A secret the form sends to the OS keyring instead of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyringWrite {
    /// kompira.conf section.
    pub section: &'static str,
    /// kompira.conf key.
    pub key: &'static str,
    /// The typed value.
    pub value: String,
}

/// What saving the form does: edits of the target file, typed secrets for the per-user file
/// (with `[secrets] store = file`) or for the OS keyring.
#[derive(Debug, Default)]
pub struct Plan {
    /// File edits, in screen order.
    pub edits: Vec<Edit>,
    /// Secrets typed for a file: they go to [`choose_secret_file`]'s file, never to a shared one.
    pub secret_edits: Vec<Edit>,
    /// That file, once [`with_form`] has chosen it (when there are secret edits).
    pub secret_file: Option<PathBuf>,
    /// Keyring entries to store, in screen order.
    pub keyring: Vec<KeyringWrite>,
}

impl Plan {
    /// Keys the save changes.
    pub fn changes(&self) -> usize {
        self.edits.len() + self.secret_edits.len() + self.keyring.len()
    }
}

/// Where a typed password or token is saved with `[secrets] store = file`: the per-user file
/// when it is read, else the one file `KOMPIRA_CONF` names unless that is the machine's shared
/// one. Never the shared file (`/opt/kompira/kompira.conf`, `C:\Kompira\kompira.conf`) nor the
/// install folder's, even when this user can write them: other users read those.
pub fn choose_secret_file(
    settings: &Settings,
    user_file: Option<&Path>,
    shared: &[PathBuf],
) -> Result<PathBuf, String> {
    let searched = settings.files_searched();
    if let Some(user) = user_file.filter(|user| searched.iter().any(|f| f == user)) {
        return Ok(user.to_path_buf());
    }
    match searched {
        [only] if !shared.contains(only) => Ok(only.clone()),
        _ => Err(format!(
            "a password or token is saved only in your own kompira.conf or the OS keyring, never in {}, which other \
             users of this computer read: choose \"keyring\" for [secrets] store",
            searched.first().map_or_else(|| "a shared file".to_owned(), |f| f.display().to_string())
        )),
    }
}

/// The shared files of the search list: the machine's and the install folder's.
fn shared_files(opts: &LoadOptions) -> Vec<PathBuf> {
    config::search_path(opts.os, opts.exe.as_deref(), None)
}

/// The form's changes. Only fields that differ from what the screen started with change
/// anything; an emptied text field removes the key from the file; an empty secret keeps the
/// old one. With `[secrets] store = keyring` (as the form leaves it) a typed secret is for
/// the keyring, and the file's copy is removed.
pub fn plan_edits(settings: &Settings, form: &SettingsForm) -> Result<Plan, FieldError> {
    let mut plan = Plan::default();
    let keyring_after = match form.values.get("secrets.store").map(|v| v.trim()) {
        Some(choice) if !choice.is_empty() => choice.eq_ignore_ascii_case("keyring"),
        _ => settings.secrets_in_keyring(),
    };
    for field in FIELDS {
        let id = field.id();
        let Some(text) = form.values.get(&id) else { continue };
        if text.chars().any(char::is_control) {
            return Err(FieldError {
                field: Some(id),
                message: format!("[{}] {}: must be one line of text", field.section, field.key),
            });
        }
        let text = text.trim();
        let value = match field.widget {
            Widget::Secret if text.is_empty() => continue,
            Widget::Secret if keyring_after => {
                plan.keyring.push(KeyringWrite { section: field.section, key: field.key, value: text.to_owned() });
                // No plain-text copy left where this screen saves (a no-op where there is none).
                None
            }
            Widget::Secret => {
                plan.secret_edits.push(Edit {
                    section: field.section.into(),
                    key: field.key.into(),
                    value: Some(text.into()),
                });
                continue;
            }
            _ if text == field.initial(settings) => continue,
            _ if text.is_empty() => None,
            _ => Some(text.to_owned()),
        };
        plan.edits.push(Edit { section: field.section.into(), key: field.key.into(), value });
    }
    // The official docs and tools disagree on ssl's default for a remote server, so a saved
    // connection always says it (unless a file already does).
    let touches_amqp = plan.edits.iter().any(|e| e.section == AMQP);
    let ssl_edited = plan.edits.iter().any(|e| e.section == AMQP && e.key == "ssl");
    let ssl = settings.get(AMQP, "ssl").map(|r| &r.source);
    if touches_amqp && !ssl_edited && matches!(ssl, Some(Source::Default | Source::Derived(_))) {
        plan.edits.push(Edit {
            section: AMQP.into(),
            key: "ssl".into(),
            value: Some(AmqpSettings::from_settings(settings).ssl.to_string()),
        });
    }
    Ok(plan)
}

/// The settings as they would be with the form saved to `target`, checked by the engine's
/// own rules, and the edits that make them.
pub fn with_form(
    opts: &LoadOptions,
    current: &Settings,
    target: Option<&Path>,
    form: &SettingsForm,
) -> Result<(Settings, Plan), FieldError> {
    let mut plan = plan_edits(current, form)?;
    let mut files: Vec<(PathBuf, &[Edit])> = Vec::new();
    if !plan.edits.is_empty() {
        let Some(target) = target else {
            return Err(FieldError::general("the changed values cannot be used: there is no file to save them to"));
        };
        files.push((target.to_path_buf(), &plan.edits));
    }
    if let Some(first) = plan.secret_edits.first() {
        let user_file = config::user_config_path(opts.os, opts.env);
        let file = choose_secret_file(current, user_file.as_deref(), &shared_files(opts))
            .map_err(|message| FieldError { field: Some(format!("{}.{}", first.section, first.key)), message })?;
        plan.secret_file = Some(file);
    }
    if let Some(file) = &plan.secret_file {
        files.push((file.clone(), &plan.secret_edits));
    }
    let mut settings = if files.is_empty() {
        current.clone()
    } else {
        let files: Vec<(&Path, &[Edit])> = files.iter().map(|(path, edits)| (path.as_path(), *edits)).collect();
        config::load_with_file_edits(opts, &files)?
    };
    let typed: Vec<(&str, &str, &str)> = plan.keyring.iter().map(|w| (w.section, w.key, w.value.as_str())).collect();
    settings.with_keyring_values(&typed);
    Ok((settings, plan))
}

/// Stores `value` as `[section] key` in the OS keyring (`secret_store::store`; a fake in tests).
pub type KeyringStore<'a> = &'a dyn Fn(&str, &str, &str) -> Result<(), String>;

/// The result of a save.
#[derive(Debug, Serialize)]
pub struct Saved {
    /// The file written (or that would have been, when nothing changed).
    pub path: String,
    /// How many keys changed.
    pub changed: usize,
    /// Saved keys that something else still decides (an environment variable, a later file).
    pub notes: Vec<String>,
}

/// Checks the form with the engine's rules, stores typed secrets in the OS keyring when the
/// keyring keeps them, then writes the changes to `target`. On any refusal the file is not
/// touched; a keyring that refuses a secret stops the save before the file is written.
pub fn save(
    opts: &LoadOptions,
    current: &Settings,
    target: &Path,
    form: &SettingsForm,
    keyring: KeyringStore<'_>,
) -> Result<Saved, FieldError> {
    let (would, plan) = with_form(opts, current, Some(target), form)?;
    let mut stored: Vec<String> = Vec::new();
    for write in &plan.keyring {
        let name = format!("[{}] {}", write.section, write.key);
        keyring(write.section, write.key, &write.value).map_err(|why| FieldError {
            field: Some(format!("{}.{}", write.section, write.key)),
            message: format!(
                "the OS keyring did not take {name}: {why}. {} To keep secrets in kompira.conf instead, choose \"file\" for [secrets] store.",
                if stored.is_empty() { "Nothing was saved.".to_owned() } else { format!("Only {} was stored; nothing else was saved.", stored.join(", ")) }
            ),
        })?;
        tracing::info!(entry = %name, "secret stored in the OS keyring");
        stored.push(name);
    }
    let edits = &plan.edits;
    if !edits.is_empty() {
        config::write_file(target, edits)?;
        tracing::info!(path = %target.display(), keys = edits.len(), "settings saved");
    }
    let mut secret_notes = Vec::new();
    let secret_file = plan.secret_file.as_ref();
    if let Some(file) = secret_file {
        config::write_file(file, &plan.secret_edits)?;
        tracing::info!(path = %file.display(), keys = plan.secret_edits.len(), "secrets saved");
        if file != target {
            secret_notes.extend(
                plan.secret_edits.iter().map(|e| format!("[{}] {} saved in {}", e.section, e.key, file.display())),
            );
        }
    }
    let keyring_notes = plan.keyring.iter().filter_map(|write| {
        let field = FIELDS.iter().find(|f| f.section == write.section && f.key == write.key)?;
        let source = field.effective(&would).source;
        Some(match source {
            Source::Keyring => format!("[{}] {} stored in the OS keyring", write.section, write.key),
            other => {
                format!("[{}] {} stored in the OS keyring, but it still comes from {other}", write.section, write.key)
            }
        })
    });
    let notes = keyring_notes
        .chain(secret_notes)
        .chain(edits.iter().chain(&plan.secret_edits).filter_map(|edit| {
            let field = FIELDS.iter().find(|f| f.section == edit.section && f.key == edit.key)?;
            let source = field.effective(&would).source;
            let decided_here = matches!(&source, Source::File { path, .. }
                if path == target || secret_file == Some(path));
            let fallback = edit.value.is_none() && matches!(source, Source::Default | Source::Derived(_));
            // A secret moved to the keyring is reported above.
            let moved = plan.keyring.iter().any(|w| w.section == edit.section && w.key == edit.key);
            (!decided_here && !fallback && !moved)
                .then(|| format!("[{}] {} still comes from {source}", edit.section, edit.key))
        }))
        .collect();
    Ok(Saved { path: target.display().to_string(), changed: plan.changes(), notes })
}

/// Opens and closes one AMQP connection with `settings`, as `kompira_sendevt --test-connection`.
pub async fn test_amqp(settings: &Settings) -> Result<String, String> {
    let options = ConnectOptions::from_settings(settings, ONE_SHOT_FRAME_MAX);
    event::test_connection(&options)
        .await
        .map(|session| format!("Connection OK: {}", session.describe()))
        .map_err(|e| format!("Failed to connect: {e}"))
}

/// An object every Kompira has and every user may read: a cheap authenticated request.
const REST_PROBE: &str = "/system";

/// One authenticated REST request with `settings`.
pub async fn test_rest(settings: &Settings) -> Result<String, String> {
    let rest = RestSettings::from_settings(settings).map_err(|e| e.to_string())?;
    let client = Client::new(&rest).map_err(|e| e.to_string())?;
    client.get_object(REST_PROBE).await.map_err(|e| e.to_string())?;
    Ok(format!("REST OK: {} accepted the token", client.origin()))
}

/// Where saves go for these settings, from the real environment.
fn target_of(settings: &Settings) -> Result<PathBuf, String> {
    choose_target(settings, state::user_config_file().as_deref(), config::can_write)
}

/// The form's settings, checked; `Err` names the field at fault.
fn settings_with_form(state: &WindowState, form: &SettingsForm) -> Result<Settings, FieldError> {
    let current = state.settings().map_err(FieldError::general)?;
    let target = target_of(&current).ok();
    state::with_load_options(|opts| with_form(opts, &current, target.as_deref(), form))
        .map_err(FieldError::general)?
        .map(|(settings, _)| settings)
}

/// The Settings view's model.
#[tauri::command]
pub fn get_settings(state: State<'_, WindowState>) -> Result<SettingsView, String> {
    let settings = state.settings()?;
    Ok(view(&settings, &target_of(&settings)))
}

/// Saves the form, then reloads the settings and restarts watching with them.
#[tauri::command]
pub async fn save_settings(
    app: AppHandle,
    state: State<'_, WindowState>,
    form: SettingsForm,
) -> Result<Saved, FieldError> {
    let saved = {
        // One save at a time: each plans its edits from the settings the last one left.
        let _saving = state.saving.lock().await;
        let current = state.settings().map_err(FieldError::general)?;
        let target = target_of(&current).map_err(FieldError::general)?;
        let saved =
            state::with_load_options(|opts| save(opts, &current, &target, &form, &kompira_core::secret_store::store))
                .map_err(FieldError::general)??;
        if saved.changed > 0 {
            state.reload().map_err(|e| {
                FieldError::general(format!("saved to {}, but reading it back failed: {e}", saved.path))
            })?;
        }
        saved
    };
    if saved.changed > 0 {
        // The agent watches, sends and draws the tray with these settings: it reads them again.
        if let Err(reason) = crate::agent_link::forward(&Call::SettingsSaved).await {
            tracing::warn!("saved, but the agent did not take the new settings: {reason}");
        }
        let _ = app.emit(&Event::StatusChanged.name(), ());
    }
    Ok(saved)
}

/// Opens one AMQP connection with the values in the form.
#[tauri::command]
pub async fn test_amqp_connection(state: State<'_, WindowState>, form: SettingsForm) -> Result<String, FieldError> {
    let settings = settings_with_form(&state, &form)?;
    test_amqp(&settings).await.map_err(FieldError::general)
}

/// Makes one REST request with the values in the form.
#[tauri::command]
pub async fn test_rest_token(state: State<'_, WindowState>, form: SettingsForm) -> Result<String, FieldError> {
    let settings = settings_with_form(&state, &form)?;
    test_rest(&settings).await.map_err(FieldError::general)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kompira_core::config::Os;

    const CONF: &str = "\
# Kompira settings, kept by hand
[amqp-connection]
server = 127.0.0.1
password = s3cret   ; not a comment: part of the value
; the broker's TLS port is closed
port = 5672

[agent]
name = job-manager

[rest]
url = http://127.0.0.1:1
token = tok-old
";

    /// A kompira.conf in a scratch directory, read as the only file (like `KOMPIRA_CONF`).
    struct Conf {
        dir: tempfile::TempDir,
        path: PathBuf,
    }

    impl Conf {
        fn new(text: &str) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("kompira.conf");
            std::fs::write(&path, text).unwrap();
            Self { dir, path }
        }

        fn with_opts<R>(&self, f: impl FnOnce(&LoadOptions) -> R) -> R {
            let no_env = |_: &str| None;
            f(&LoadOptions {
                os: Os::Linux,
                explicit_config: Some(self.path.clone()),
                exe: None,
                cwd: Some(self.dir.path().to_path_buf()),
                include_user_file: false,
                env: &no_env,
                overrides: Vec::new(),
            })
        }

        fn settings(&self) -> Settings {
            self.with_opts(config::load).unwrap()
        }

        fn save(&self, values: &[(&str, &str)]) -> Result<Saved, FieldError> {
            self.save_with_keyring(values, &no_keyring)
        }

        fn save_with_keyring(&self, values: &[(&str, &str)], keyring: KeyringStore<'_>) -> Result<Saved, FieldError> {
            let current = self.settings();
            self.with_opts(|opts| save(opts, &current, &self.path, &form(values), keyring))
        }

        fn bytes(&self) -> Vec<u8> {
            std::fs::read(&self.path).unwrap()
        }
    }

    /// The keyring of a test that expects none to be used.
    fn no_keyring(section: &str, key: &str, _value: &str) -> Result<(), String> {
        panic!("[{section}] {key} sent to the keyring without [secrets] store = keyring");
    }

    /// A keyring that keeps what it is given.
    #[derive(Default)]
    struct FakeKeyring(std::cell::RefCell<Vec<(String, String, String)>>);

    impl FakeKeyring {
        fn store(&self, section: &str, key: &str, value: &str) -> Result<(), String> {
            self.0.borrow_mut().push((section.to_owned(), key.to_owned(), value.to_owned()));
            Ok(())
        }
    }

    fn form(values: &[(&str, &str)]) -> SettingsForm {
        SettingsForm { values: values.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect() }
    }

    fn field<'a>(view: &'a SettingsView, id: &str) -> &'a FieldView {
        view.fields.iter().find(|f| f.id == id).unwrap_or_else(|| panic!("no field {id}"))
    }

    #[test]
    fn the_view_shows_values_with_their_sources_and_never_a_secret() {
        let conf = Conf::new(CONF);
        let view = view(&conf.settings(), &Ok(conf.path.clone()));
        let at = |line| format!("{}:{line}", conf.path.display());
        let server = field(&view, "amqp-connection.server");
        assert_eq!((server.value.as_str(), server.source.clone()), ("127.0.0.1", at(3)));
        let user = field(&view, "amqp-connection.user");
        assert_eq!((user.value.as_str(), user.placeholder.as_str()), ("", "guest"));
        assert_eq!(user.source, "derived: local server");
        let ssl = field(&view, "amqp-connection.ssl");
        assert_eq!(
            (ssl.widget, ssl.value.as_str(), ssl.options.clone()),
            (Widget::Toggle, "false", vec!["true".into(), "false".into()])
        );
        let channel = field(&view, "event.channel");
        assert_eq!(
            (channel.value.as_str(), channel.placeholder.as_str(), channel.source.as_str()),
            ("", "/system/channels/Alert", "default")
        );
        for id in ["amqp-connection.password", "rest.token"] {
            let secret = field(&view, id);
            assert_eq!(
                (secret.widget, secret.value.as_str(), secret.placeholder.as_str()),
                (Widget::Secret, "", "********")
            );
        }
        assert_eq!(field(&view, "amqp-connection.password").source, at(4));
        let json = serde_json::to_string(&view).unwrap();
        assert!(!json.contains("s3cret") && !json.contains("tok-old"), "{json}");
        assert_eq!(field(&view, "tray.language").options, ["auto", "en", "ja"]);
        let store = field(&view, "secrets.store");
        assert_eq!(
            (store.value.as_str(), store.options.clone()),
            ("file", vec!["file".to_owned(), "keyring".to_owned()])
        );
        assert_eq!(field(&view, "notify.breakthrough").value, "Disaster");
        let watched = field(&view, "notify.channels");
        assert_eq!((watched.value.as_str(), watched.placeholder.as_str()), ("", "/system/channels/Alert"));
        assert_eq!((view.target.as_deref(), view.language.as_str()), (Some(conf.path.to_str().unwrap()), "auto"));
    }

    #[test]
    fn saving_changes_only_the_edited_lines_byte_for_byte() {
        let conf = Conf::new(&CONF.replace('\n', "\r\n"));
        let saved = conf
            .save(&[
                ("amqp-connection.server", "127.0.0.1"),
                ("amqp-connection.port", "5673"),
                ("amqp-connection.password", ""),
                ("notify.quiet_hours", "22:00-07:00"),
                ("notify.min_severity", "Not classified"),
                ("tray.language", "ja"),
            ])
            .unwrap();
        assert_eq!((saved.changed, saved.notes.len()), (4, 0), "{saved:?}");
        let expected = CONF.replace("port = 5672\n", "port = 5673\nssl = false\n")
            + "\n[notify]\nquiet_hours = 22:00-07:00\n\n[tray]\nlanguage = ja\n";
        assert_eq!(String::from_utf8(conf.bytes()).unwrap(), expected.replace('\n', "\r\n"));
        let settings = conf.settings();
        assert_eq!(settings.language(), "ja");
        assert_eq!(
            AmqpSettings::from_settings(&settings).password.expose(),
            "s3cret   ; not a comment: part of the value"
        );
    }

    #[test]
    fn an_unchanged_form_writes_nothing() {
        let conf = Conf::new(CONF);
        let settings = conf.settings();
        let untouched: Vec<(String, String)> =
            view(&settings, &Ok(conf.path.clone())).fields.into_iter().map(|f| (f.id, f.value)).collect();
        let values: Vec<(&str, &str)> = untouched.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(plan_edits(&settings, &form(&values)).unwrap().changes(), 0);
        assert_eq!(conf.save(&values).unwrap().changed, 0);
        assert_eq!(conf.bytes(), CONF.as_bytes());
    }

    #[test]
    fn with_the_keyring_keeping_secrets_a_typed_one_goes_there_and_leaves_the_file() {
        let text = format!("{CONF}\n[secrets]\nstore = keyring\n");
        let conf = Conf::new(&text);
        let keyring = FakeKeyring::default();
        let saved = conf
            .save_with_keyring(&[("rest.token", "tok-new"), ("amqp-connection.password", "")], &|s, k, v| {
                keyring.store(s, k, v)
            })
            .unwrap();
        assert_eq!(keyring.0.take(), [("rest".to_owned(), "token".to_owned(), "tok-new".to_owned())]);
        assert_eq!(
            String::from_utf8(conf.bytes()).unwrap(),
            text.replace("token = tok-old\n", ""),
            "only the plain-text copy is gone"
        );
        assert_eq!((saved.changed, saved.notes.clone()), (2, vec!["[rest] token stored in the OS keyring".to_owned()]));
    }

    #[test]
    fn a_keyring_that_refuses_a_secret_stops_the_save_with_the_file_untouched() {
        let conf = Conf::new(&format!("{CONF}\n[secrets]\nstore = keyring\n"));
        let before = conf.bytes();
        let refuse = |_: &str, _: &str, _: &str| Err("no Secret Service on the session bus".to_owned());
        let err = conf.save_with_keyring(&[("rest.token", "tok-new"), ("kompira.site_id", "3")], &refuse).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("rest.token"));
        assert!(
            err.message.contains("did not take [rest] token: no Secret Service on the session bus. Nothing was saved."),
            "{}",
            err.message
        );
        assert!(err.message.contains("choose \"file\" for [secrets] store"), "{}", err.message);
        assert!(!err.message.contains("tok-new"), "{}", err.message);
        assert_eq!(conf.bytes(), before, "the file is left alone");
    }

    #[test]
    fn choosing_the_keyring_sends_the_secrets_typed_with_it_there() {
        let conf = Conf::new(CONF);
        let keyring = FakeKeyring::default();
        conf.save_with_keyring(&[("secrets.store", "keyring"), ("amqp-connection.password", "pw-new")], &|s, k, v| {
            keyring.store(s, k, v)
        })
        .unwrap();
        assert_eq!(keyring.0.take(), [("amqp-connection".to_owned(), "password".to_owned(), "pw-new".to_owned())]);
        let written = String::from_utf8(conf.bytes()).unwrap();
        assert!(!written.contains("s3cret") && !written.contains("pw-new"), "{written}");
        assert!(written.ends_with("\n[secrets]\nstore = keyring\n"), "{written}");
    }

    #[test]
    fn a_secret_typed_for_the_keyring_is_the_one_a_connection_test_uses() {
        let conf = Conf::new(&format!("{CONF}\n[secrets]\nstore = keyring\n"));
        let current = conf.settings();
        let typed = conf
            .with_opts(|opts| with_form(opts, &current, Some(&conf.path), &form(&[("rest.token", "tok-typed")])))
            .unwrap()
            .0;
        assert_eq!(RestSettings::from_settings(&typed).unwrap().token.expose(), "tok-typed");
        assert_eq!(field(&view(&typed, &Ok(conf.path.clone())), "rest.token").source, "OS keyring");
    }

    #[test]
    fn a_typed_secret_replaces_the_old_one_and_an_empty_one_keeps_it() {
        let conf = Conf::new(CONF);
        conf.save(&[("rest.token", "tok-new"), ("amqp-connection.password", "")]).unwrap();
        assert_eq!(String::from_utf8(conf.bytes()).unwrap(), CONF.replace("tok-old", "tok-new"));
        let settings = conf.settings();
        assert_eq!(RestSettings::from_settings(&settings).unwrap().token.expose(), "tok-new");
        assert!(AmqpSettings::from_settings(&settings).password.expose().starts_with("s3cret"));
    }

    #[test]
    fn a_bad_value_is_refused_with_its_field_named_and_the_file_untouched() {
        let conf = Conf::new(CONF);
        for (id, value, says) in [
            ("amqp-connection.port", "70000", "[amqp-connection] port: 70000 is out of range (1–65535)"),
            ("amqp-connection.port", "five", "[amqp-connection] port: \"five\" is not an integer"),
            ("notify.quiet_hours", "late", "[notify] quiet_hours: \"late\" is not a time range like 22:00-07:00"),
            ("notify.channels", "Alert", "which is not a channel path"),
            (
                "rest.url",
                "kompira.example.com",
                "[rest] url: \"kompira.example.com\" is not an http:// or https:// URL",
            ),
            ("amqp-connection.ssl", "maybe", "[amqp-connection] ssl: \"maybe\" is not a boolean"),
            ("tray.language", "fr", "[tray] language: \"fr\" is not a language"),
            ("secrets.store", "vault", "[secrets] store: \"vault\" is not a secret store (use file or keyring)"),
            ("event.channel", "a\nb", "[event] channel: must be one line"),
        ] {
            let error = conf.save(&[("kompira.site_id", "2"), (id, value)]).unwrap_err();
            assert_eq!(error.field.as_deref(), Some(id), "{error:?}");
            assert!(error.message.contains(says), "{id}: {}", error.message);
            assert_eq!(conf.bytes(), CONF.as_bytes(), "{id}");
        }
    }

    #[test]
    fn an_emptied_field_removes_the_key_and_says_what_still_decides_it() {
        let conf = Conf::new(CONF);
        let saved = conf.save(&[("amqp-connection.port", "")]).unwrap();
        assert!(saved.notes.is_empty(), "{saved:?}");
        assert_eq!(
            String::from_utf8(conf.bytes()).unwrap(),
            CONF.replace(
                "value\n; the broker's TLS port is closed\nport = 5672\n",
                "value\nssl = false\n; the broker's TLS port is closed\n"
            )
        );
        // A key that an environment variable sets stays decided there: the save says so.
        let current = conf.settings();
        let env = |name: &str| (name == "KOMPIRA_URL").then(|| "http://from-env:1".to_owned());
        let opts = LoadOptions {
            os: Os::Linux,
            explicit_config: Some(conf.path.clone()),
            exe: None,
            cwd: Some(conf.dir.path().to_path_buf()),
            include_user_file: false,
            env: &env,
            overrides: Vec::new(),
        };
        let saved =
            save(&opts, &current, &conf.path, &form(&[("rest.url", "http://127.0.0.1:2")]), &no_keyring).unwrap();
        assert_eq!(saved.notes, ["[rest] url still comes from environment KOMPIRA_URL"]);
    }

    #[test]
    fn saves_go_to_the_last_writable_file_read_else_the_user_file() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work/kompira.conf");
        std::fs::create_dir_all(work.parent().unwrap()).unwrap();
        std::fs::write(&work, "[kompira]\nsite_id = 2\n").unwrap();
        let xdg = dir.path().join("xdg").to_string_lossy().into_owned();
        let env = |name: &str| (name == "XDG_CONFIG_HOME").then(|| xdg.clone());
        let user = dir.path().join("xdg/kompira/kompira.conf");
        let load = |explicit: Option<PathBuf>| {
            config::load(&LoadOptions {
                os: Os::Linux,
                explicit_config: explicit,
                exe: None,
                cwd: Some(dir.path().join("work")),
                include_user_file: true,
                env: &env,
                overrides: Vec::new(),
            })
            .unwrap()
        };
        let settings = load(None);
        assert_eq!(choose_target(&settings, Some(&user), |_| true), Ok(work.clone()));
        assert_eq!(choose_target(&settings, Some(&user), |_| false), Ok(user.clone()));
        let only_work = load(Some(work.clone()));
        let refused = choose_target(&only_work, Some(&user), |_| false).unwrap_err();
        assert!(refused.starts_with("nothing can be saved: ") && refused.contains("KOMPIRA_CONF"), "{refused}");

        // Saving to the user file creates it, readable by its owner only.
        let opts_env = |name: &str| (name == "XDG_CONFIG_HOME").then(|| xdg.clone());
        let opts = LoadOptions {
            os: Os::Linux,
            explicit_config: None,
            exe: None,
            cwd: Some(dir.path().join("work")),
            include_user_file: true,
            env: &opts_env,
            overrides: Vec::new(),
        };
        let saved = save(&opts, &settings, &user, &form(&[("notify.sound", "false")]), &no_keyring).unwrap();
        assert_eq!((saved.path, saved.notes.len()), (user.display().to_string(), 0));
        assert_eq!(std::fs::read_to_string(&user).unwrap(), "[notify]\nsound = false\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&user).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_typed_secret_goes_to_the_users_own_file_never_to_a_shared_one_it_can_write() {
        let dir = tempfile::tempdir().unwrap();
        // The install folder's kompira.conf (shared by every user of the machine), writable here.
        let shared = dir.path().join("prefix/kompira.conf");
        std::fs::create_dir_all(shared.parent().unwrap()).unwrap();
        std::fs::write(&shared, "[rest]\nurl = http://127.0.0.1:1\n").unwrap();
        let exe = dir.path().join("prefix/bin/kompira-tray");
        let xdg = dir.path().join("xdg").to_string_lossy().into_owned();
        let env = |name: &str| (name == "XDG_CONFIG_HOME").then(|| xdg.clone());
        let user = dir.path().join("xdg/kompira/kompira.conf");
        let opts = |explicit: Option<PathBuf>| LoadOptions {
            os: Os::Linux,
            explicit_config: explicit,
            exe: Some(exe.clone()),
            cwd: None,
            include_user_file: true,
            env: &env,
            overrides: Vec::new(),
        };
        let current = config::load(&opts(None)).unwrap();
        assert_eq!(choose_target(&current, Some(&user), |_| true), Ok(shared.clone()), "the shared file is the target");
        let values =
            [("rest.token", "tok-typed-secret"), ("amqp-connection.password", "pw-typed"), ("notify.sound", "false")];
        let saved = save(&opts(None), &current, &shared, &form(&values), &no_keyring).unwrap();

        let shared_text = std::fs::read_to_string(&shared).unwrap();
        assert!(!shared_text.contains("tok-typed-secret") && !shared_text.contains("pw-typed"), "{shared_text}");
        assert!(shared_text.contains("sound = false"), "other settings still go to the target: {shared_text}");
        let user_text = std::fs::read_to_string(&user).unwrap();
        assert!(user_text.contains("token = tok-typed-secret") && user_text.contains("password = pw-typed"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&user).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let saved_in = format!("[rest] token saved in {}", user.display());
        assert!(saved.notes.contains(&saved_in), "{:?}", saved.notes);
        let reloaded = config::load(&opts(None)).unwrap();
        let source = &reloaded.get("rest", "token").unwrap().source;
        assert!(matches!(source, Source::File { path, .. } if *path == user), "{source:?}");

        // KOMPIRA_CONF naming the shared file: no file may take the secret; nothing is written.
        let only_shared = config::load(&opts(Some(shared.clone()))).unwrap();
        let before = std::fs::read(&shared).unwrap();
        let refused =
            save(&opts(Some(shared.clone())), &only_shared, &shared, &form(&[("rest.token", "t2")]), &no_keyring)
                .unwrap_err();
        assert_eq!(refused.field.as_deref(), Some("rest.token"));
        assert!(refused.message.contains("choose \"keyring\" for [secrets] store"), "{}", refused.message);
        assert_eq!(std::fs::read(&shared).unwrap(), before);
    }

    #[tokio::test]
    async fn the_amqp_test_uses_unsaved_values_and_says_what_failed() {
        let conf = Conf::new("[amqp-connection]\nserver = 127.0.0.1\nport = 1\n");
        let current = conf.settings();
        let unsaved = |values: &[(&str, &str)]| {
            conf.with_opts(|opts| with_form(opts, &current, Some(&conf.path), &form(values))).unwrap().0
        };
        let ok = test_amqp(&unsaved(&[("amqp-connection.port", "5672")])).await.unwrap();
        assert!(ok.starts_with("Connection OK: AMQP(127.0.0.1:") && ok.ends_with("->127.0.0.1:5672)"), "{ok}");
        let refused = test_amqp(&current).await.unwrap_err();
        assert!(refused.starts_with("Failed to connect: ") && refused.contains("127.0.0.1:1"), "{refused}");
        let bad_login = test_amqp(&unsaved(&[("amqp-connection.port", "5672"), ("amqp-connection.password", "wrong")]))
            .await
            .unwrap_err();
        assert!(bad_login.starts_with("Failed to connect: ") && bad_login.contains("ACCESS_REFUSED"), "{bad_login}");
        assert!(!bad_login.contains("wrong"), "{bad_login}");
        assert_eq!(conf.bytes(), b"[amqp-connection]\nserver = 127.0.0.1\nport = 1\n");
    }

    #[test]
    fn the_rest_test_accepts_the_right_token_and_names_the_setting_for_a_wrong_one() {
        const TOKEN: &str = "settings-test-token";
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let sim = runtime
            .block_on(kompira_sim::start(kompira_sim::SimConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                token: TOKEN.into(),
                amqp_url: None,
                definitions: kompira_sim::Definitions::builtin(),
                tls: None,
            }))
            .expect("the stand-in starts");
        let conf = Conf::new(&format!("[rest]\nurl = {}\ntoken = wrong-token\ntimeout = 10\n", sim.base_url));
        let current = conf.settings();
        let refused = runtime.block_on(test_rest(&current)).unwrap_err();
        assert!(refused.starts_with("401 on /system") && refused.contains("check [rest] token"), "{refused}");
        assert!(!refused.contains("wrong-token"), "{refused}");
        let typed = conf
            .with_opts(|opts| with_form(opts, &current, Some(&conf.path), &form(&[("rest.token", TOKEN)])))
            .unwrap()
            .0;
        let ok = runtime.block_on(test_rest(&typed)).unwrap();
        assert_eq!(ok, format!("REST OK: {} accepted the token", sim.base_url.trim_end_matches('/')));
        let unset = Conf::new("");
        assert!(runtime.block_on(test_rest(&unset.settings())).unwrap_err().starts_with("set [rest] url"));
    }
}
