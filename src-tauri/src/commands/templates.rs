//! Saved forms for Quick send and Job flow: `[template:NAME]` sections of kompira.conf, read with
//! the settings and written through the engine's byte-preserving writer.
//!
//! Templates go to the file the settings screen saves to (`settings::choose_target`: the last
//! file read that the user may write, else the per-user kompira.conf), so the app's edits live
//! in one file. A template that another file also defines is refused with that file's name,
//! because sections of the same name in several files merge key by key: editing only one copy
//! could leave a mix that no longer reads.

use std::path::{Path, PathBuf};

use kompira_core::config::{self, parse_ini, Settings};
use kompira_core::event::check_rows;
use kompira_core::templates::{
    check_template, template_edits, templates, Template, TemplateAction, TEMPLATE_SECTION_PREFIX,
};
use serde::{Deserialize, Serialize};
use tauri::State;

use super::settings::choose_target;
use crate::state::{self, WindowState};
use kompira_tray_ipc::rows::{self, pairs, parameter_rows, Row};

/// A template as the forms see it (and send it to be saved).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TemplateForm {
    Event {
        name: String,
        /// Empty: the `[event] channel`.
        #[serde(default)]
        channel: String,
        #[serde(default)]
        site_id: Option<i64>,
        #[serde(default)]
        fields: Vec<Row>,
        /// A raw body, the alternative to fields.
        #[serde(default)]
        body: String,
    },
    Jobflow {
        name: String,
        jobflow: String,
        #[serde(default)]
        parameters: Vec<Row>,
        #[serde(default)]
        wait: bool,
    },
}

impl TemplateForm {
    fn name(&self) -> &str {
        match self {
            TemplateForm::Event { name, .. } | TemplateForm::Jobflow { name, .. } => name,
        }
    }
}

impl From<&Template> for TemplateForm {
    fn from(template: &Template) -> Self {
        let name = template.name.clone();
        match &template.action {
            TemplateAction::Event { channel, site_id, fields, body } => TemplateForm::Event {
                name,
                channel: channel.clone().unwrap_or_default(),
                site_id: *site_id,
                fields: rows::rows(fields),
                body: body.clone().unwrap_or_default(),
            },
            TemplateAction::Jobflow { path, parameters, wait } => TemplateForm::Jobflow {
                name,
                jobflow: path.clone(),
                parameters: parameter_rows(parameters),
                wait: *wait,
            },
        }
    }
}

/// Validates a form into a template that kompira.conf holds exactly.
pub fn to_template(form: &TemplateForm) -> Result<Template, String> {
    let name = form.name().trim().to_owned();
    let action = match form {
        TemplateForm::Event { channel, site_id, fields, body, .. } => {
            let channel = Some(channel.trim().to_owned()).filter(|c| !c.is_empty());
            if let Some(c) = channel.as_deref().filter(|c| !c.starts_with('/')) {
                return Err(format!("{c:?} is not a channel path (like /system/channels/Alert)"));
            }
            let fields = check_rows(&pairs(fields)).map_err(|e| format!("fields: {e}"))?;
            // A final line break is not kept by kompira.conf; the rest of the body is, or is refused.
            let body = Some(body.trim_end_matches(['\n', '\r']).to_owned()).filter(|b| !b.is_empty());
            if !fields.is_empty() && body.is_some() {
                return Err("fill in fields or a raw body, not both (clear one of them)".into());
            }
            TemplateAction::Event { channel, site_id: *site_id, fields, body }
        }
        TemplateForm::Jobflow { jobflow, parameters, wait, .. } => {
            let path = jobflow.trim().to_owned();
            if !path.starts_with('/') {
                return Err(format!(
                    "{path:?} is not a job flow path: it must start with / (like /root/restart_process)"
                ));
            }
            let parameters = rows::parameters(parameters).map_err(|e| format!("parameters: {e}"))?;
            TemplateAction::Jobflow { path, parameters, wait: *wait }
        }
    };
    let template = Template { name, action };
    check_template(&template)?;
    Ok(template)
}

fn kind_name(action: &TemplateAction) -> &'static str {
    match action {
        TemplateAction::Event { .. } => "quick-send",
        TemplateAction::Jobflow { .. } => "job-flow",
    }
}

/// Files other than `file`, among those read, that have the template's section.
fn other_files_defining(settings: &Settings, file: &Path, name: &str) -> Vec<PathBuf> {
    let section = format!("{TEMPLATE_SECTION_PREFIX}{name}");
    settings
        .files_read()
        .iter()
        .filter(|path| path.as_path() != file)
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            parse_ini(&text, path).is_ok_and(|doc| doc.has_section(&section))
        })
        .cloned()
        .collect()
}

fn defined_elsewhere(others: &[PathBuf]) -> String {
    others.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Saves the form as a template in `file` (replacing one of the same name and kind); the name.
pub fn save(settings: &Settings, file: &Path, form: &TemplateForm) -> Result<String, String> {
    let template = to_template(form)?;
    let name = &template.name;
    if let Some(existing) = saved(settings)?.iter().find(|t| &t.name == name) {
        if std::mem::discriminant(&existing.action) != std::mem::discriminant(&template.action) {
            return Err(format!(
                "a {} template is already named {name:?}; choose another name",
                kind_name(&existing.action)
            ));
        }
    }
    let others = other_files_defining(settings, file, name);
    if !others.is_empty() {
        return Err(format!(
            "template {name:?} is also defined in {}, which the app does not edit; choose another name",
            defined_elsewhere(&others)
        ));
    }
    config::write_file(file, &template_edits(&template)).map_err(|e| e.to_string())?;
    Ok(name.clone())
}

/// Removes template `name` from `file`.
pub fn delete(settings: &Settings, file: &Path, name: &str) -> Result<(), String> {
    if !saved(settings)?.iter().any(|t| t.name == name) {
        return Err(format!("there is no template named {name:?}"));
    }
    let others = other_files_defining(settings, file, name);
    if !others.is_empty() {
        return Err(format!(
            "template {name:?} is defined in {}, which the app does not edit; remove it there",
            defined_elsewhere(&others)
        ));
    }
    config::remove_section_in_file(file, &format!("{TEMPLATE_SECTION_PREFIX}{name}")).map_err(|e| e.to_string())
}

/// Templates of the current settings, in file order; a bad one is named with its file and line.
pub fn list(settings: &Settings) -> Result<Vec<TemplateForm>, String> {
    Ok(saved(settings)?.iter().map(TemplateForm::from).collect())
}

fn saved(settings: &Settings) -> Result<Vec<Template>, String> {
    templates(settings).map_err(|e| e.to_string())
}

/// Where this user's saves go (the settings screen's rule).
fn templates_file(settings: &Settings) -> Result<PathBuf, String> {
    choose_target(settings, state::user_config_file().as_deref(), config::can_write)
}

/// Reads the files again so every view sees the change; the new list.
fn reload(state: &WindowState) -> Result<Vec<TemplateForm>, String> {
    let settings = state.reload().map_err(|e| format!("saved, but kompira.conf no longer loads: {e}"))?;
    list(&settings)
}

#[tauri::command]
pub fn list_templates(state: State<'_, WindowState>) -> Result<Vec<TemplateForm>, String> {
    let settings = state.settings().map_err(|e| format!("settings not loaded: {e}"))?;
    list(&settings)
}

/// Saves a template; the new list.
#[tauri::command]
pub async fn save_template(state: State<'_, WindowState>, template: TemplateForm) -> Result<Vec<TemplateForm>, String> {
    // One writer of kompira.conf at a time (the settings screen takes the same lock).
    let _saving = state.saving.lock().await;
    let settings = state.settings().map_err(|e| format!("settings not loaded: {e}"))?;
    save(&settings, &templates_file(&settings)?, &template)?;
    reload(&state)
}

/// Deletes a template; the new list.
#[tauri::command]
pub async fn delete_template(state: State<'_, WindowState>, name: String) -> Result<Vec<TemplateForm>, String> {
    let _saving = state.saving.lock().await;
    let settings = state.settings().map_err(|e| format!("settings not loaded: {e}"))?;
    delete(&settings, &templates_file(&settings)?, &name)?;
    reload(&state)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads settings from `file` alone, as with `KOMPIRA_CONF`.
    fn load_file(file: &Path) -> Settings {
        crate::commands::settings_from_file(file)
    }

    fn row(key: &str, value: &str) -> Row {
        Row { key: key.into(), value: value.into(), expression: false }
    }

    fn event(name: &str, fields: Vec<Row>, body: &str) -> TemplateForm {
        TemplateForm::Event {
            name: name.into(),
            channel: "/root/channels/Desktop".into(),
            site_id: Some(3),
            fields,
            body: body.into(),
        }
    }

    fn event_form(name: &str) -> TemplateForm {
        event(name, vec![row("hostname", "web1"), row("note", "50% full")], "")
    }

    fn jobflow(name: &str, path: &str, parameters: Vec<Row>, wait: bool) -> TemplateForm {
        TemplateForm::Jobflow { name: name.into(), jobflow: path.into(), parameters, wait }
    }

    fn jobflow_form(name: &str) -> TemplateForm {
        jobflow(name, "/root/restart_process", vec![row("host", "web1")], true)
    }

    const ORIGINAL: &str =
        "# my settings; keep this\n[event]\nchannel = /c   ; not a comment\n\n; about rest\n[rest]\nurl = http://x\n";

    #[test]
    fn templates_are_saved_listed_and_deleted_leaving_other_bytes_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kompira.conf");
        std::fs::write(&file, ORIGINAL).unwrap();

        save(&load_file(&file), &file, &event_form(" Disk full ")).unwrap();
        save(&load_file(&file), &file, &jobflow_form("Restart web1")).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with(ORIGINAL), "{text}");
        assert!(text.contains("[template:Disk full]\nkind = event\n"), "{text}");
        let listed = list(&load_file(&file)).unwrap();
        assert_eq!(listed, vec![event_form("Disk full"), jobflow_form("Restart web1")]);

        // Saving under the same name replaces it.
        let changed = jobflow("Restart web1", "/root/restart_process", vec![row("host", "web1")], false);
        save(&load_file(&file), &file, &changed).unwrap();
        assert_eq!(list(&load_file(&file)).unwrap()[1], changed);

        delete(&load_file(&file), &file, "Restart web1").unwrap();
        delete(&load_file(&file), &file, "Disk full").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), ORIGINAL);
        assert!(list(&load_file(&file)).unwrap().is_empty());
    }

    #[test]
    fn bad_templates_are_refused_with_a_sentence_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kompira.conf");
        std::fs::write(&file, ORIGINAL).unwrap();
        let settings = load_file(&file);
        let refused = |form: TemplateForm| save(&settings, &file, &form).unwrap_err();
        assert_eq!(refused(event_form("  ")), "the template needs a name");
        assert!(refused(event_form("a]b")).contains("contains ']'"));
        let both = event("x", vec![row("a", "1")], "raw");
        assert!(refused(both).contains("not both"));
        let dup = jobflow("x", "/root/x", vec![row("h", "1"), row("h", "2")], true);
        assert_eq!(refused(dup), "parameters: row 2: the key \"h\" is already used in row 1");
        let comment = event("x", vec![], "ok\n# gone");
        assert!(refused(comment).contains("its body would not read back"));
        assert!(refused(jobflow("x", "restart", vec![], true)).contains("must start with /"));
        assert_eq!(delete(&settings, &file, "nope").unwrap_err(), "there is no template named \"nope\"");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), ORIGINAL);
    }

    #[test]
    fn a_name_used_by_the_other_kind_or_another_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let system = dir.path().join("system.conf");
        let own = dir.path().join("kompira.conf");
        std::fs::write(&own, "").unwrap();
        save(&load_file(&own), &own, &jobflow_form("Restart")).unwrap();
        let err = save(&load_file(&own), &own, &event_form("Restart")).unwrap_err();
        assert_eq!(err, "a job-flow template is already named \"Restart\"; choose another name");

        // A template from a file the app does not write: named in the refusal, left alone.
        std::fs::write(&system, "[template:Shared]\nkind = event\nfields = a=1\n").unwrap();
        let mut settings = load_file(&system);
        assert_eq!(templates(&settings).unwrap().len(), 1);
        let err = delete(&settings, &own, "Shared").unwrap_err();
        assert_eq!(
            err,
            format!(
                "template \"Shared\" is defined in {}, which the app does not edit; remove it there",
                system.display()
            )
        );
        settings = load_file(&system);
        let err = save(&settings, &own, &event_form("Shared")).unwrap_err();
        assert!(err.contains("is also defined in"), "{err}");
    }
}
