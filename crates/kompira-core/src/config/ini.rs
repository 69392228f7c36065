//! A reader for INI text that behaves like Python 3.11's
//! `configparser.ConfigParser()` with its default settings, because
//! kompira.conf is written for (and read by) Python tools: a file that they
//! accept must mean the same thing here, and one they reject must fail here
//! too, with the file and line to fix.
//!
//! Parsing keeps the raw text of each value and where it came from;
//! `%` interpolation happens when a value is read ([`IniDocument::get`]),
//! as `BasicInterpolation` does, because a reference may point to a key that
//! a later file supplies.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::error::ConfigError;

/// The section whose keys are fallbacks for every other section.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// BasicInterpolation's `MAX_INTERPOLATION_DEPTH`.
const MAX_INTERPOLATION_DEPTH: usize = 10;

/// A value with the place it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniValue {
    /// The value: raw text from [`IniDocument::raw`], interpolated from
    /// [`IniDocument::get`]. Continuation lines are joined with `\n`.
    pub value: String,
    /// The file that holds the key.
    pub path: PathBuf,
    /// The 1-based line of the key (not of its continuation lines).
    pub line: usize,
}

/// Sections and keys read from one or more files.
#[derive(Clone, Debug, Default)]
pub struct IniDocument {
    defaults: Vec<(String, IniValue)>,
    sections: Vec<(String, Vec<(String, IniValue)>)>,
}

/// Python's `str.isspace`, which `strip()` and the regex `\s` follow.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Parses INI text; `origin` names the file in errors and provenance.
pub fn parse(text: &str, origin: &Path) -> Result<IniDocument, ConfigError> {
    Parser::new(origin).run(text)
}

/// State of one pass over one file, mirroring `RawConfigParser._read`.
struct Parser<'a> {
    origin: &'a Path,
    doc: IniDocument,
    /// Sections seen in this file, with the line of their header (strict mode).
    seen_sections: HashMap<String, usize>,
    /// (section, key) pairs seen in this file, with their line (strict mode).
    seen_keys: HashMap<(String, String), usize>,
    /// The current section; `None` before the first header.
    section: Option<String>,
    /// The key whose value continuation lines extend, with its pending lines.
    key: Option<PendingValue>,
    /// Indentation of the line that started the current key or section.
    indent: usize,
}

struct PendingValue {
    name: String,
    line: usize,
    lines: Vec<String>,
}

impl<'a> Parser<'a> {
    fn new(origin: &'a Path) -> Self {
        Parser {
            origin,
            doc: IniDocument::default(),
            seen_sections: HashMap::new(),
            seen_keys: HashMap::new(),
            section: None,
            key: None,
            indent: 0,
        }
    }

    fn error(&self, line: usize, message: String) -> ConfigError {
        ConfigError::Parse { path: self.origin.to_path_buf(), line, message }
    }

    fn run(mut self, text: &str) -> Result<IniDocument, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Python reads text files with universal newlines.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        for (index, line) in text.split('\n').enumerate() {
            self.line(index + 1, line)?;
        }
        self.finish_value();
        Ok(self.doc)
    }

    fn line(&mut self, lineno: usize, line: &str) -> Result<(), ConfigError> {
        let stripped = py_strip(line);
        if stripped.starts_with('#') || stripped.starts_with(';') {
            // Comments neither end a value nor add a blank line to it.
            return Ok(());
        }
        if stripped.is_empty() {
            // Kept only if a later continuation line follows (see finish_value).
            if let Some(pending) = &mut self.key {
                pending.lines.push(String::new());
            }
            return Ok(());
        }
        let indent = line.chars().take_while(|c| is_py_space(*c)).count();
        if indent > self.indent {
            if let Some(pending) = &mut self.key {
                pending.lines.push(stripped.to_string());
                return Ok(());
            }
        }
        self.finish_value();
        self.indent = indent;
        if let Some(name) = section_header(stripped) {
            return self.start_section(lineno, name);
        }
        let Some(section) = self.section.clone() else {
            return Err(self.error(
                lineno,
                format!(
                    "missing section header: put a header such as [kompira] before {stripped:?}"
                ),
            ));
        };
        let Some(split) = stripped.find(['=', ':']) else {
            return Err(self.error(
                lineno,
                format!(
                    "[{section}] {stripped:?} is not 'key = value' or 'key: value' \
                     (comment lines start with # or ;)"
                ),
            ));
        };
        let name = stripped[..split].trim_end_matches(is_py_space).to_lowercase();
        if name.is_empty() {
            return Err(self.error(
                lineno,
                format!("[{section}] {stripped:?} has no key name before '{}'", &stripped[split..split + 1]),
            ));
        }
        let id = (section.clone(), name.clone());
        if let Some(first) = self.seen_keys.get(&id) {
            return Err(self.error(
                lineno,
                format!(
                    "[{section}] {name}: key set twice in this section (first on line {first}); \
                     keep only one"
                ),
            ));
        }
        self.seen_keys.insert(id, lineno);
        let value = py_strip(&stripped[split + 1..]).to_string();
        self.key = Some(PendingValue { name, line: lineno, lines: vec![value] });
        Ok(())
    }

    fn start_section(&mut self, lineno: usize, name: &str) -> Result<(), ConfigError> {
        // ConfigParser does not count [DEFAULT] as a section, so it may repeat.
        if name != DEFAULT_SECTION {
            if let Some(first) = self.seen_sections.get(name) {
                return Err(self.error(
                    lineno,
                    format!(
                        "section [{name}] appears twice in this file (first on line {first}); \
                         merge the two into one"
                    ),
                ));
            }
            self.seen_sections.insert(name.to_string(), lineno);
            self.doc.section_mut(name);
        }
        self.section = Some(name.to_string());
        Ok(())
    }

    /// Stores the value being collected; trailing blank lines are dropped.
    fn finish_value(&mut self) {
        let Some(pending) = self.key.take() else { return };
        let section = self.section.clone().unwrap_or_default();
        let joined = pending.lines.join("\n");
        let value = IniValue {
            value: joined.trim_end_matches(is_py_space).to_string(),
            path: self.origin.to_path_buf(),
            line: pending.line,
        };
        self.doc.set(&section, &pending.name, value);
    }
}

/// `[name]` → `name`: everything up to the last `]`, at least one character.
fn section_header(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

impl IniDocument {
    fn section_mut(&mut self, name: &str) -> &mut Vec<(String, IniValue)> {
        if name == DEFAULT_SECTION {
            return &mut self.defaults;
        }
        let index = match self.sections.iter().position(|(n, _)| n == name) {
            Some(index) => index,
            None => {
                self.sections.push((name.to_string(), Vec::new()));
                self.sections.len() - 1
            }
        };
        &mut self.sections[index].1
    }

    fn set(&mut self, section: &str, key: &str, value: IniValue) {
        let entries = self.section_mut(section);
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, slot)) => *slot = value,
            None => entries.push((key.to_string(), value)),
        }
    }

    fn section(&self, name: &str) -> Option<&[(String, IniValue)]> {
        if name == DEFAULT_SECTION {
            return Some(&self.defaults);
        }
        self.sections.iter().find(|(n, _)| n == name).map(|(_, e)| e.as_slice())
    }

    /// Adds a later file: its sections join ours and its keys win.
    pub fn merge(&mut self, later: IniDocument) {
        for (key, value) in later.defaults {
            self.set(DEFAULT_SECTION, &key, value);
        }
        for (name, entries) in later.sections {
            self.section_mut(&name);
            for (key, value) in entries {
                self.set(&name, &key, value);
            }
        }
    }

    /// Section names in the order first seen, without `DEFAULT`.
    pub fn sections(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|(n, _)| n.as_str())
    }

    /// Whether a section (other than `DEFAULT`) exists.
    pub fn has_section(&self, name: &str) -> bool {
        self.sections.iter().any(|(n, _)| n == name)
    }

    /// The raw (not interpolated) value of a key, falling back to
    /// `[DEFAULT]`. As in ConfigParser, a section that does not exist has no
    /// keys, not even the defaults. The key is matched case-insensitively.
    pub fn raw(&self, section: &str, key: &str) -> Option<&IniValue> {
        let key = key.to_lowercase();
        let own = self.section(section)?;
        own.iter()
            .chain(self.defaults.iter())
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// The value of a key with `%%` and `%(name)s` expanded, or `None` when
    /// the key is not set.
    pub fn get(&self, section: &str, key: &str) -> Result<Option<IniValue>, ConfigError> {
        let Some(raw) = self.raw(section, key) else { return Ok(None) };
        let fail = |message: String| ConfigError::Interpolation {
            path: raw.path.clone(),
            line: raw.line,
            section: section.to_string(),
            key: key.to_lowercase(),
            message,
        };
        let mut out = String::new();
        self.interpolate(section, &raw.value, 1, &mut out).map_err(fail)?;
        Ok(Some(IniValue { value: out, path: raw.path.clone(), line: raw.line }))
    }

    /// BasicInterpolation's `_interpolate_some`.
    fn interpolate(
        &self,
        section: &str,
        mut rest: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<(), String> {
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(format!(
                "references nested more than {MAX_INTERPOLATION_DEPTH} levels deep \
                 (does a %(name)s refer back to itself?)"
            ));
        }
        while let Some(p) = rest.find('%') {
            out.push_str(&rest[..p]);
            rest = &rest[p..];
            if let Some(after) = rest.strip_prefix("%%") {
                out.push('%');
                rest = after;
            } else if rest.starts_with("%(") {
                let name = reference_name(rest).ok_or_else(|| {
                    format!(
                        "bad reference {rest:?}: write %(name)s to use another key's value, \
                         or %% for a literal percent sign"
                    )
                })?;
                rest = &rest[name.len() + 4..];
                let target = name.to_lowercase();
                let value = self.raw(section, &target).ok_or_else(|| {
                    format!(
                        "%({name})s refers to '{target}', which is not set in [{section}] \
                         or [DEFAULT] (write %% for a literal percent sign)"
                    )
                })?;
                // Like Python, only a value that has a '%' goes one level deeper.
                if value.value.contains('%') {
                    self.interpolate(section, &value.value, depth + 1, out)?;
                } else {
                    out.push_str(&value.value);
                }
            } else {
                return Err(
                    "'%' must be followed by '%' or '(' — write a literal percent sign as %%"
                        .to_string(),
                );
            }
        }
        out.push_str(rest);
        Ok(())
    }
}

/// The `name` of a leading `%(name)s` (`_KEYCRE`: `%\(([^)]+)\)s`).
fn reference_name(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("%(")?;
    let close = inner.find(')')?;
    (close > 0 && inner[close + 1..].starts_with('s')).then(|| &inner[..close])
}
