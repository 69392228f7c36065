//! Saved quick-send templates, in kompira.conf sections of our own (the official tools ignore
//! them):
//!
//! ```ini
//! [template:Disk full on web1]
//! kind = event
//! channel = /system/channels/Alert
//! fields =
//!     hostname=web1
//!     severity=4
//!
//! [template:Restart web1]
//! kind = jobflow
//! jobflow = /root/restart_process
//! parameters =
//!     host=web1
//!     count:=3
//! wait = true
//! ```
//!
//! `fields` and `parameters` follow the KEY=VAL rules of `kompira_sendevt` (split on the first
//! `=`; a repeated key keeps its first place and takes the last value). A parameter written
//! `KEY:=EXPR` is a Kompira expression, as with `kompira jobflow run -p`; `KEY=TEXT` is text.
//! An event template has `fields` or a raw `body`, not both.

use crate::config::{apply_edits, parse_ini, ConfigError, Edit, IniDocument, Settings};
use crate::event::{parse_key_values, EventBody};
use crate::rest::{format_assignment, parse_assignment, Parameters};

/// The prefix that marks a template section.
pub const TEMPLATE_SECTION_PREFIX: &str = "template:";

/// One saved template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Shown in the form's list; the part of the section name after `template:`.
    pub name: String,
    /// What it sends or runs.
    pub action: TemplateAction,
}

/// A template's action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateAction {
    /// Send an event.
    Event {
        /// Target channel; `None` uses the `[event] channel`.
        channel: Option<String>,
        /// Site id; `None` uses `[kompira] site_id`.
        site_id: Option<i64>,
        /// KEY=VAL fields (a JSON body) …
        fields: Vec<(String, String)>,
        /// … or a raw text body.
        body: Option<String>,
    },
    /// Run a job flow.
    Jobflow {
        /// Job flow path.
        path: String,
        /// Parameters, each text or an expression.
        parameters: Parameters,
        /// Follow the process to its end.
        wait: bool,
    },
}

const KEYS: [&str; 8] = ["kind", "channel", "site_id", "fields", "body", "jobflow", "parameters", "wait"];

/// The templates of `settings`' files (`[template:NAME]` sections), in the order first seen. A
/// bad one is an error naming its file, line and key. Only the app reads them: the command-line
/// tools ignore these sections, as the official tools ignore every section they do not know.
pub fn templates(settings: &Settings) -> Result<Vec<Template>, ConfigError> {
    read_templates(settings.document())
}

/// Every `[template:NAME]` section of the merged files, in the order first seen.
fn read_templates(doc: &IniDocument) -> Result<Vec<Template>, ConfigError> {
    let names: Vec<String> =
        doc.sections().filter_map(|s| s.strip_prefix(TEMPLATE_SECTION_PREFIX)).map(str::to_owned).collect();
    names.iter().map(|name| read_one(doc, name)).collect()
}

fn read_one(doc: &IniDocument, name: &str) -> Result<Template, ConfigError> {
    let section = format!("{TEMPLATE_SECTION_PREFIX}{name}");
    let get = |key: &str| doc.get(&section, key);
    let bad = |key: &str, message: String| -> ConfigError {
        let at = doc.raw(&section, key);
        ConfigError::BadValue {
            path: at.map(|v| v.path.clone()).unwrap_or_default(),
            line: at.map_or(0, |v| v.line),
            section: section.clone(),
            key: key.to_owned(),
            message,
        }
    };
    if name.trim().is_empty() {
        return Err(bad("kind", "the template has no name (write [template:NAME])".into()));
    }
    let text = |key: &str| -> Result<Option<String>, ConfigError> { Ok(get(key)?.map(|v| v.value)) };
    let pairs = |key: &str| -> Result<Vec<(String, String)>, ConfigError> {
        let Some(lines) = text(key)? else { return Ok(Vec::new()) };
        let args: Vec<&str> = lines.lines().map(str::trim).collect();
        match parse_key_values(&args) {
            Ok(Some(EventBody::Fields(fields))) => Ok(fields),
            Ok(_) => Ok(Vec::new()),
            Err(e) => Err(bad(key, format!("has {:?}, which is not KEY=VALUE", e.argument))),
        }
    };
    let kind = text("kind")?.unwrap_or_default();
    let action = match kind.trim().to_ascii_lowercase().as_str() {
        "event" => {
            let fields = pairs("fields")?;
            let body = text("body")?;
            if !fields.is_empty() && body.is_some() {
                return Err(bad("body", "is set together with fields; keep one of them".into()));
            }
            let site_id = match text("site_id")? {
                Some(v) => {
                    Some(v.trim().parse::<i64>().map_err(|_| bad("site_id", format!("{v:?} is not an integer")))?)
                }
                None => None,
            };
            let channel = text("channel")?.filter(|c| !c.trim().is_empty());
            if let Some(c) = channel.as_deref().filter(|c| !c.starts_with('/')) {
                return Err(bad("channel", format!("{c:?} is not a channel path (like /system/channels/Alert)")));
            }
            TemplateAction::Event { channel, site_id, fields, body }
        }
        "jobflow" => {
            let path = text("jobflow")?
                .filter(|p| p.starts_with('/'))
                .ok_or_else(|| bad("jobflow", "must name the job flow's path (like /root/restart_process)".into()))?;
            let wait = match text("wait")?.map(|w| w.trim().to_ascii_lowercase()) {
                None => false,
                Some(w) if matches!(w.as_str(), "1" | "yes" | "true" | "on") => true,
                Some(w) if matches!(w.as_str(), "0" | "no" | "false" | "off") => false,
                Some(w) => return Err(bad("wait", format!("{w:?} is not a boolean"))),
            };
            let parameters = text("parameters")?
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(|line| parse_assignment(line).map_err(|why| bad("parameters", format!("has {line:?}: {why}"))))
                .collect::<Result<Parameters, ConfigError>>()?;
            TemplateAction::Jobflow { path, parameters, wait }
        }
        other => return Err(bad("kind", format!("{other:?} is not a template kind (use event or jobflow)"))),
    };
    Ok(Template { name: name.to_owned(), action })
}

/// Checks a name for a `[template:NAME]` header: not empty, no `]` (the header's end), no
/// spaces at its ends (the reader would keep them), on one line.
pub fn check_template_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the template needs a name".into());
    }
    if name.trim() != name {
        return Err(format!("the template name {name:?} starts or ends with spaces; remove them"));
    }
    if name.contains(']') {
        return Err(format!("the template name {name:?} contains ']', which kompira.conf section names cannot hold"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("the template name {name:?} must be one line of text"));
    }
    Ok(())
}

/// Checks that `template` can be saved and read back exactly: a good name, and values that
/// kompira.conf can hold (a value line starting with `#` or `;` would read as a comment,
/// spaces at the ends of a line are dropped). The error names the value to change.
pub fn check_template(template: &Template) -> Result<(), String> {
    check_template_name(&template.name)?;
    let text = apply_edits("", &template_edits(template));
    let name = &template.name;
    let unreadable = |detail: String| format!("template {name:?} cannot be saved: {detail}");
    let doc = parse_ini(&text, std::path::Path::new("kompira.conf")).map_err(|e| unreadable(e.to_string()))?;
    let read = read_templates(&doc).map_err(|e| unreadable(e.to_string()))?;
    match read.as_slice() {
        [back] if back == template => Ok(()),
        [back] => Err(unreadable(format!(
            "its {} would not read back as written (a line starting with # or ;, or spaces at the ends of a line, \
             are lost in kompira.conf); change it and save again",
            first_difference(&template.action, &back.action)
        ))),
        _ => Err(unreadable("it does not read back as one template".into())),
    }
}

/// The key whose value changed on the way through the file.
fn first_difference(written: &TemplateAction, read: &TemplateAction) -> &'static str {
    match (written, read) {
        (
            TemplateAction::Event { channel, site_id, fields, body },
            TemplateAction::Event { channel: c, site_id: s, fields: f, body: b },
        ) => {
            if channel != c {
                "channel"
            } else if site_id != s {
                "site id"
            } else if fields != f {
                "fields"
            } else if body != b {
                "body"
            } else {
                "content"
            }
        }
        (TemplateAction::Jobflow { path, parameters, .. }, TemplateAction::Jobflow { path: p, parameters: q, .. }) => {
            if path != p {
                "job flow path"
            } else if parameters != q {
                "parameters"
            } else {
                "content"
            }
        }
        _ => "kind",
    }
}

/// The writer edits that save `template` (every template key set or removed).
pub fn template_edits(template: &Template) -> Vec<Edit> {
    let section = format!("{TEMPLATE_SECTION_PREFIX}{}", template.name);
    let lines = |pairs: &[(String, String)]| -> Option<String> {
        (!pairs.is_empty()).then(|| pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n"))
    };
    let mut values: Vec<(&str, Option<String>)> = match &template.action {
        TemplateAction::Event { channel, site_id, fields, body } => vec![
            ("kind", Some("event".into())),
            ("channel", channel.clone()),
            ("site_id", site_id.map(|s| s.to_string())),
            ("fields", lines(fields)),
            ("body", body.clone()),
        ],
        TemplateAction::Jobflow { path, parameters, wait } => vec![
            ("kind", Some("jobflow".into())),
            ("jobflow", Some(path.clone())),
            (
                "parameters",
                (!parameters.is_empty())
                    .then(|| parameters.iter().map(|(k, v)| format_assignment(k, v)).collect::<Vec<_>>().join("\n")),
            ),
            ("wait", Some(wait.to_string())),
        ],
    };
    for key in KEYS {
        if !values.iter().any(|(k, _)| *k == key) {
            values.push((key, None));
        }
    }
    values.into_iter().map(|(key, value)| Edit { section: section.clone(), key: key.to_owned(), value }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_ini, testing::Fixture};
    use crate::rest::ParamValue;
    use std::path::Path;

    #[test]
    fn templates_come_from_the_loaded_files_and_a_bad_one_fails_only_them() {
        let s = Fixture::new().load_text("[template:Ping]\nkind = event\nfields = ping=1\n").unwrap();
        let listed = templates(&s).unwrap();
        assert_eq!((listed.len(), listed[0].name.as_str()), (1, "Ping"));
        // The settings load (kompira_sendevt and kompira ignore these sections); the app's list says why.
        let s = Fixture::new().load_text("[template:Bad]\nkind = nope\n").unwrap();
        let err = templates(&s).unwrap_err();
        assert!(err.to_string().contains(":2: [template:Bad] kind"), "{err}");
    }

    fn read(text: &str) -> Result<Vec<Template>, ConfigError> {
        read_templates(&parse_ini(text, Path::new("kompira.conf")).unwrap())
    }

    #[test]
    fn event_and_jobflow_templates_are_read() {
        let templates = read(
            "[event]\nchannel = /c\n[template:Disk]\nkind = event\nfields =\n    hostname=web1\n    msg=a=b\n\
             [template:Restart web1]\nkind = JobFlow\njobflow = /root/restart_process\nparameters = host=web1\nwait = yes\n",
        )
        .unwrap();
        assert_eq!(templates.len(), 2);
        assert_eq!(
            templates[0],
            Template {
                name: "Disk".into(),
                action: TemplateAction::Event {
                    channel: None,
                    site_id: None,
                    fields: vec![("hostname".into(), "web1".into()), ("msg".into(), "a=b".into())],
                    body: None
                }
            }
        );
        assert_eq!(
            templates[1].action,
            TemplateAction::Jobflow {
                path: "/root/restart_process".into(),
                parameters: [("host".to_owned(), ParamValue::Text("web1".into()))].into_iter().collect(),
                wait: true
            }
        );
    }

    #[test]
    fn bad_templates_name_the_line_and_the_fix() {
        for (text, expected) in [
            ("[template:x]\nkind = mail\n", "kompira.conf:2: [template:x] kind: \"mail\" is not a template kind"),
            ("[template:x]\nkind = event\nfields =\n    oops\n", "kompira.conf:3: [template:x] fields: has \"oops\""),
            (
                "[template:x]\nkind = event\nfields = a=1\nbody = raw\n",
                ":4: [template:x] body: is set together with fields",
            ),
            ("[template:x]\nkind = jobflow\njobflow = restart\n", ":3: [template:x] jobflow: must name"),
            ("[template:x]\nkind = event\nsite_id = one\n", ":3: [template:x] site_id: \"one\" is not an integer"),
        ] {
            let err = read(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn template_names_that_make_a_bad_header_are_refused() {
        assert!(check_template_name("Disk full: web1 [prod").is_ok());
        for (name, expected) in [
            ("", "needs a name"),
            ("  ", "needs a name"),
            (" x", "starts or ends with spaces"),
            ("a]b", "contains ']'"),
            ("a\nb", "one line"),
        ] {
            let err = check_template_name(name).unwrap_err();
            assert!(err.contains(expected), "{name:?}: {err}");
        }
    }

    #[test]
    fn values_kompira_conf_cannot_hold_are_named_before_saving() {
        let event = |fields: Vec<(&str, &str)>, body: Option<&str>| Template {
            name: "t".into(),
            action: TemplateAction::Event {
                channel: None,
                site_id: None,
                fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
                body: body.map(Into::into),
            },
        };
        assert_eq!(check_template(&event(vec![("a", "50% ; not a comment")], None)), Ok(()));
        assert_eq!(check_template(&event(vec![], Some("line one\nline two\n\nafter a blank"))), Ok(()));
        let err = check_template(&event(vec![], Some("text\n# looks like a comment"))).unwrap_err();
        assert!(err.starts_with("template \"t\" cannot be saved: its body would not read back"), "{err}");
        let err = check_template(&event(vec![("a", "1"), ("#b", "2")], None)).unwrap_err();
        assert!(err.contains("its fields would not read back"), "{err}");
        let err = check_template(&Template { name: "a]".into(), ..event(vec![("a", "1")], None) }).unwrap_err();
        assert!(err.contains("']'"), "{err}");
    }

    #[test]
    fn saving_round_trips_through_the_writer_and_keeps_other_text() {
        let original = "# my settings\r\n[event]\r\nchannel = /c\r\n";
        let template = Template {
            name: "Disk 100%".into(),
            action: TemplateAction::Event {
                channel: Some("/root/channels/Desktop".into()),
                site_id: Some(3),
                fields: vec![("hostname".into(), "web1".into()), ("note".into(), "50% full".into())],
                body: None,
            },
        };
        let saved = apply_edits(original, &template_edits(&template));
        assert!(saved.starts_with(original), "{saved:?}");
        assert_eq!(read(&saved).unwrap(), vec![template.clone()]);
        // Turning it into a job flow template removes the event keys.
        let changed = Template {
            name: template.name.clone(),
            action: TemplateAction::Jobflow { path: "/root/x".into(), parameters: Parameters::new(), wait: false },
        };
        let resaved = apply_edits(&saved, &template_edits(&changed));
        assert_eq!(read(&resaved).unwrap(), vec![changed]);
        assert!(!resaved.contains("hostname"), "{resaved}");
    }

    #[test]
    fn jobflow_templates_keep_which_parameters_are_expressions() {
        let template = Template {
            name: "Restart".into(),
            action: TemplateAction::Jobflow {
                path: "/root/x".into(),
                parameters: [
                    ("host".to_owned(), ParamValue::Text("web 1 (primary)".into())),
                    ("count".to_owned(), ParamValue::Expression("3".into())),
                    ("note".to_owned(), ParamValue::Text("a:=b".into())),
                ]
                .into_iter()
                .collect(),
                wait: true,
            },
        };
        let saved = apply_edits("", &template_edits(&template));
        assert!(saved.contains("count:=3"), "{saved}");
        assert_eq!(read(&saved).unwrap(), vec![template]);
        let e = read("[template:x]\nkind = jobflow\njobflow = /root/x\nparameters = =oops\n").unwrap_err();
        assert!(e.to_string().contains("name is empty"), "{e}");
    }
}
