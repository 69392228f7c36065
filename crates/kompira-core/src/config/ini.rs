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
use crate::quote::quoted;

/// The section whose keys are fallbacks for every other section.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// BasicInterpolation's `MAX_INTERPOLATION_DEPTH`.
const MAX_INTERPOLATION_DEPTH: usize = 10;

/// The longest value interpolation may produce: far above any real setting, low enough that
/// ten references nested nine deep (10^9 copies) fail at once instead of filling memory.
const MAX_EXPANDED_BYTES: usize = 64 << 10;

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
#[derive(Clone, Default)]
pub struct IniDocument {
    defaults: Vec<(String, IniValue)>,
    sections: Vec<(String, Vec<(String, IniValue)>)>,
    /// Where each section is in `sections`, and each key in its section's list: without
    /// them a file of many sections or keys takes quadratic time to read.
    section_index: HashMap<String, usize>,
    key_index: HashMap<(String, String), usize>,
}

impl std::fmt::Debug for IniDocument {
    // Keys and where they are, never values: a file may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let all = std::iter::once((DEFAULT_SECTION, &self.defaults))
            .chain(self.sections.iter().map(|(n, e)| (n.as_str(), e)));
        let mut map = f.debug_map();
        for (section, entries) in all {
            for (key, value) in entries {
                map.entry(&format_args!("[{section}] {key}"), &format_args!("{}:{}", value.path.display(), value.line));
            }
        }
        map.finish()
    }
}

/// Python's `str.isspace`, which `strip()` and the regex `\s` follow.
pub(super) fn is_py_space(c: char) -> bool {
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
                format!("missing section header: put a header such as [kompira] before {}", quoted(stripped)),
            ));
        };
        let Some(split) = stripped.find(['=', ':']) else {
            return Err(self.error(
                lineno,
                format!(
                    "[{section}] {} is not 'key = value' or 'key: value' \
                     (comment lines start with # or ;)",
                    quoted(stripped)
                ),
            ));
        };
        let name = stripped[..split].trim_end_matches(is_py_space).to_lowercase();
        if name.is_empty() {
            return Err(self.error(
                lineno,
                format!("[{section}] {} has no key name before '{}'", quoted(stripped), &stripped[split..split + 1]),
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
        let Some(pending) = self.key.take() else {
            return;
        };
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
pub(super) fn section_header(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

impl IniDocument {
    fn section_mut(&mut self, name: &str) -> &mut Vec<(String, IniValue)> {
        if name == DEFAULT_SECTION {
            return &mut self.defaults;
        }
        let index = match self.section_index.get(name) {
            Some(&index) => index,
            None => {
                self.sections.push((name.to_string(), Vec::new()));
                self.section_index.insert(name.to_string(), self.sections.len() - 1);
                self.sections.len() - 1
            }
        };
        &mut self.sections[index].1
    }

    fn set(&mut self, section: &str, key: &str, value: IniValue) {
        let id = (section.to_string(), key.to_string());
        let known = self.key_index.get(&id).copied();
        let entries = self.section_mut(section);
        match known {
            Some(position) => entries[position].1 = value,
            None => {
                entries.push((key.to_string(), value));
                let position = entries.len() - 1;
                self.key_index.insert(id, position);
            }
        }
    }

    fn section(&self, name: &str) -> Option<&[(String, IniValue)]> {
        if name == DEFAULT_SECTION {
            return Some(&self.defaults);
        }
        self.section_index.get(name).map(|&index| self.sections[index].1.as_slice())
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
        self.section_index.contains_key(name)
    }

    /// The raw (not interpolated) value of a key, falling back to
    /// `[DEFAULT]`. As in ConfigParser, a section that does not exist has no
    /// keys, not even the defaults. The key is matched case-insensitively.
    pub fn raw(&self, section: &str, key: &str) -> Option<&IniValue> {
        let key = key.to_lowercase();
        let own = self.section(section)?;
        own.iter().chain(self.defaults.iter()).find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The value of a key with `%%` and `%(name)s` expanded, or `None` when
    /// the key is not set.
    pub fn get(&self, section: &str, key: &str) -> Result<Option<IniValue>, ConfigError> {
        self.get_shown(section, key, Reveal::Names)
    }

    /// [`get`](Self::get) for a key that holds a secret: an error names the key and a place in
    /// the value, never a piece of it (not even the name in a `%(name)s` it holds).
    pub fn get_secret(&self, section: &str, key: &str) -> Result<Option<IniValue>, ConfigError> {
        self.get_shown(section, key, Reveal::Nothing)
    }

    fn get_shown(&self, section: &str, key: &str, reveal: Reveal) -> Result<Option<IniValue>, ConfigError> {
        let Some(raw) = self.raw(section, key) else {
            return Ok(None);
        };
        let fail = |message: String| ConfigError::Interpolation {
            path: raw.path.clone(),
            line: raw.line,
            section: section.to_string(),
            key: key.to_lowercase(),
            message,
        };
        let mut out = String::new();
        self.interpolate(section, &raw.value, Place { offset: 0, depth: 1, reveal }, &mut out).map_err(fail)?;
        Ok(Some(IniValue { value: out, path: raw.path.clone(), line: raw.line }))
    }

    /// BasicInterpolation's `_interpolate_some`, bounded in size. `offset` is where `rest`
    /// starts in the value being read, so that errors can point at a place without quoting the
    /// value (which may be a password).
    fn interpolate(&self, section: &str, mut rest: &str, place: Place, out: &mut String) -> Result<(), String> {
        let Place { offset, depth, reveal } = place;
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(format!(
                "references nested more than {MAX_INTERPOLATION_DEPTH} levels deep \
                 (does a %(name)s refer back to itself?)"
            ));
        }
        let start_len = rest.len();
        let at = |rest: &str| offset + start_len - rest.len() + 1;
        let too_long = || {
            format!(
                "expands to more than {} KiB (do %(name)s references repeat each other many times?)",
                MAX_EXPANDED_BYTES >> 10
            )
        };
        while let Some(p) = rest.find('%') {
            out.push_str(&rest[..p]);
            rest = &rest[p..];
            if out.len() > MAX_EXPANDED_BYTES {
                return Err(too_long());
            }
            if let Some(after) = rest.strip_prefix("%%") {
                out.push('%');
                rest = after;
            } else if rest.starts_with("%(") {
                let name = reference_name(rest).ok_or_else(|| {
                    // The place, not the text: the value may be a secret.
                    format!(
                        "the '%(' at character {} starts no complete %(name)s reference: write %(name)s to \
                         use another key's value, or %% for a literal percent sign",
                        at(rest)
                    )
                })?;
                rest = &rest[name.len() + 4..];
                let target = name.to_lowercase();
                let value = self.raw(section, &target).ok_or_else(|| match reveal {
                    Reveal::Names => format!(
                        "%({name})s refers to '{target}', which is not set in [{section}] \
                         or [DEFAULT] (write %% for a literal percent sign)"
                    ),
                    Reveal::Nothing => format!(
                        "the %(…)s reference at character {} names a key that is not set in [{section}] \
                         or [DEFAULT] (write %% for a literal percent sign)",
                        at(rest) - name.len() - 4
                    ),
                })?;
                // Like Python, only a value that has a '%' goes one level deeper.
                if value.value.contains('%') {
                    self.interpolate(section, &value.value, Place { offset: 0, depth: depth + 1, reveal }, out)?;
                } else {
                    out.push_str(&value.value);
                }
            } else {
                return Err(format!(
                    "the '%' at character {} must be followed by '%' or '(' — write a literal percent sign as %%",
                    at(rest)
                ));
            }
        }
        out.push_str(rest);
        if out.len() > MAX_EXPANDED_BYTES {
            return Err(too_long());
        }
        Ok(())
    }
}

/// What an interpolation error may quote of the value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reveal {
    /// Key names from `%(name)s` (an ordinary setting).
    Names,
    /// Only places (a secret).
    Nothing,
}

/// Where interpolation is: `offset` is where the text starts in the value being read (for
/// errors that point at a place), `depth` how many references deep.
#[derive(Clone, Copy)]
struct Place {
    offset: usize,
    depth: usize,
    reveal: Reveal,
}

/// The `name` of a leading `%(name)s` (`_KEYCRE`: `%\(([^)]+)\)s`).
fn reference_name(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("%(")?;
    let close = inner.find(')')?;
    (close > 0 && inner[close + 1..].starts_with('s')).then(|| &inner[..close])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> IniDocument {
        parse(text, Path::new("/etc/k.conf")).expect("parses")
    }

    fn value(text: &str, section: &str, key: &str) -> Option<String> {
        doc(text).get(section, key).expect("interpolates").map(|v| v.value)
    }

    fn parse_error(text: &str) -> String {
        parse(text, Path::new("/etc/k.conf")).expect_err("should fail").to_string()
    }

    fn get_error(text: &str, section: &str, key: &str) -> String {
        doc(text).get(section, key).expect_err("should fail").to_string()
    }

    #[test]
    fn reads_equals_and_colon_separators() {
        let text = "[s]\na = 1\nb: 2\nc=3\nd :4\n";
        assert_eq!(value(text, "s", "a").as_deref(), Some("1"));
        assert_eq!(value(text, "s", "b").as_deref(), Some("2"));
        assert_eq!(value(text, "s", "c").as_deref(), Some("3"));
        assert_eq!(value(text, "s", "d").as_deref(), Some("4"));
    }

    #[test]
    fn splits_at_first_separator() {
        let text = "[s]\na:b = c\nurl = amqp://h:1\n";
        assert_eq!(value(text, "s", "a").as_deref(), Some("b = c"));
        assert_eq!(value(text, "s", "url").as_deref(), Some("amqp://h:1"));
    }

    #[test]
    fn keys_are_case_insensitive_and_sections_are_not() {
        let text = "[Amqp]\nSSL_Verify = yes\n";
        let d = doc(text);
        assert_eq!(d.get("Amqp", "ssl_verify").unwrap().unwrap().value, "yes");
        assert_eq!(d.get("Amqp", "SSL_VERIFY").unwrap().unwrap().value, "yes");
        assert_eq!(d.get("amqp", "ssl_verify").unwrap(), None);
    }

    #[test]
    fn strips_keys_and_values_and_keeps_empty_value() {
        let text = "[s]\n  key   =   spaced value  \nempty =\nalso_empty:\n";
        assert_eq!(value(text, "s", "key").as_deref(), Some("spaced value"));
        assert_eq!(value(text, "s", "empty").as_deref(), Some(""));
        assert_eq!(value(text, "s", "also_empty").as_deref(), Some(""));
    }

    #[test]
    fn section_name_runs_to_last_bracket() {
        let d = doc("[a]b] trailing\nk = v\n");
        assert_eq!(d.sections().collect::<Vec<_>>(), ["a]b"]);
        assert!(d.has_section("a]b"));
    }

    #[test]
    fn skips_full_line_comments() {
        let text = "# top\n; top\n[s]\n  # indented comment\n;x = 1\nk = v\n";
        let d = doc(text);
        assert_eq!(d.get("s", "k").unwrap().unwrap().value, "v");
        assert_eq!(d.get("s", "x").unwrap(), None);
        assert_eq!(d.get("s", ";x").unwrap(), None);
    }

    #[test]
    fn has_no_inline_comments() {
        assert_eq!(value("[s]\nx = 1 # c\ny = 2 ; d\n", "s", "x").as_deref(), Some("1 # c"));
        assert_eq!(value("[s]\nx = 1 # c\ny = 2 ; d\n", "s", "y").as_deref(), Some("2 ; d"));
    }

    #[test]
    fn joins_continuation_lines() {
        let text = "[s]\nk = one\n  two\n\tthree\nnext = x\n";
        assert_eq!(value(text, "s", "k").as_deref(), Some("one\ntwo\nthree"));
        assert_eq!(value(text, "s", "next").as_deref(), Some("x"));
    }

    #[test]
    fn keeps_inner_blank_lines_and_drops_trailing_ones() {
        // Checked against Python 3.11: '1\n\nb = 2\nd'.
        let text = "[s]\na = 1\n\n  b = 2\n# c\n  d\n\n\n[t]\n";
        assert_eq!(value(text, "s", "a").as_deref(), Some("1\n\nb = 2\nd"));
        assert_eq!(value("[s]\na = 1\n\n\nb = 2\n", "s", "a").as_deref(), Some("1"));
    }

    #[test]
    fn continuation_needs_more_indent_than_key_line() {
        let text = "[s]\n  a = 1\n  b = 2\n    more\n";
        assert_eq!(value(text, "s", "a").as_deref(), Some("1"));
        assert_eq!(value(text, "s", "b").as_deref(), Some("2\nmore"));
    }

    #[test]
    fn empty_first_line_with_continuation() {
        assert_eq!(value("[s]\nk =\n  a\n  b\n", "s", "k").as_deref(), Some("\na\nb"));
    }

    #[test]
    fn records_file_and_key_line() {
        let d = doc("\n[s]\n\nk = a\n  b\n");
        let v = d.get("s", "k").unwrap().unwrap();
        assert_eq!((v.path.as_path(), v.line), (Path::new("/etc/k.conf"), 4));
    }

    #[test]
    fn accepts_bom_and_crlf() {
        let d = doc("\u{feff}[s]\r\nk = v\r\n  w\r\n");
        assert_eq!(d.get("s", "k").unwrap().unwrap().value, "v\nw");
        assert_eq!(d.get("s", "k").unwrap().unwrap().line, 2);
    }

    #[test]
    fn key_without_separator_is_error_with_line() {
        let e = parse_error("[s]\nok = 1\njust_a_word\n");
        assert!(e.starts_with("/etc/k.conf:3: [s] \"just_a_word\" is not 'key = value'"), "{e}");
        let e = parse_error("[s]\n= value\n");
        assert!(e.starts_with("/etc/k.conf:2: [s] \"= value\" has no key name"), "{e}");
    }

    #[test]
    fn key_before_section_header_is_error() {
        let e = parse_error("# comment\nserver = x\n[s]\n");
        assert!(e.starts_with("/etc/k.conf:2: missing section header"), "{e}");
    }

    #[test]
    fn duplicate_section_in_one_file_is_error() {
        let e = parse_error("[s]\na = 1\n[t]\n[s]\n");
        assert_eq!(
            e,
            "/etc/k.conf:4: section [s] appears twice in this file (first on line 1); \
             merge the two into one"
        );
    }

    #[test]
    fn duplicate_key_in_one_section_is_error_whatever_the_case() {
        let e = parse_error("[s]\nport = 1\nPORT = 2\n");
        assert_eq!(e, "/etc/k.conf:3: [s] port: key set twice in this section (first on line 2); keep only one");
        // The same key in two sections is fine.
        doc("[s]\na = 1\n[t]\na = 2\n");
    }

    #[test]
    fn default_section_may_repeat_but_its_keys_may_not() {
        let d = doc("[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n[s]\n");
        assert_eq!(d.get("s", "b").unwrap().unwrap().value, "2");
        let e = parse_error("[DEFAULT]\na = 1\n[DEFAULT]\na = 2\n");
        assert!(e.starts_with("/etc/k.conf:4: [DEFAULT] a: key set twice"), "{e}");
    }

    #[test]
    fn default_supplies_fallbacks_for_existing_sections_only() {
        let text = "[DEFAULT]\nloglevel = DEBUG\n[logging]\nlogdir = /tmp\n[other]\nloglevel = INFO\n";
        assert_eq!(value(text, "logging", "loglevel").as_deref(), Some("DEBUG"));
        assert_eq!(value(text, "other", "loglevel").as_deref(), Some("INFO"));
        // As in ConfigParser, a missing section has no keys at all.
        assert_eq!(value(text, "kompira", "loglevel"), None);
        assert_eq!(value(text, "DEFAULT", "loglevel").as_deref(), Some("DEBUG"));
        assert!(!doc(text).has_section("DEFAULT"));
    }

    #[test]
    fn later_document_overrides_earlier() {
        let mut d = parse("[s]\na = 1\nb = 2\n", Path::new("/one")).unwrap();
        d.merge(parse("[s]\nA = 3\n[t]\nc = 4\n", Path::new("/two")).unwrap());
        let a = d.get("s", "a").unwrap().unwrap();
        assert_eq!((a.value.as_str(), a.path.as_path(), a.line), ("3", Path::new("/two"), 2));
        assert_eq!(d.get("s", "b").unwrap().unwrap().path, Path::new("/one"));
        assert_eq!(d.get("t", "c").unwrap().unwrap().value, "4");
    }

    #[test]
    fn double_percent_is_literal_percent() {
        assert_eq!(value("[s]\np = 100%% sure %%(x)s\n", "s", "p").as_deref(), Some("100% sure %(x)s"));
    }

    #[test]
    fn raw_keeps_percent_signs() {
        assert_eq!(doc("[s]\np = a%%b\n").raw("s", "P").unwrap().value, "a%%b");
    }

    #[test]
    fn reference_expands_same_section_then_default() {
        let text = "[DEFAULT]\nhost = d.example\nbase = /opt\n[s]\nhost = s.example\n\
                    url = amqp://%(HOST)s/%(base)s\n";
        assert_eq!(value(text, "s", "url").as_deref(), Some("amqp://s.example//opt"));
    }

    #[test]
    fn default_value_references_resolve_in_reading_section() {
        let text = "[DEFAULT]\ndir = %(root)s/log\n[a]\nroot = /x\n[b]\nroot = /y\n";
        assert_eq!(value(text, "a", "dir").as_deref(), Some("/x/log"));
        assert_eq!(value(text, "b", "dir").as_deref(), Some("/y/log"));
    }

    #[test]
    fn references_expand_recursively_across_files() {
        let mut d = parse("[s]\na = %(b)s!\n", Path::new("/one")).unwrap();
        d.merge(parse("[s]\nb = %(c)s%%\nc = x\n", Path::new("/two")).unwrap());
        assert_eq!(d.get("s", "a").unwrap().unwrap().value, "x%!");
    }

    #[test]
    fn lone_percent_is_error_naming_file_line_section_key() {
        let e = get_error("[amqp-connection]\n\npassword = 50%off\n", "amqp-connection", "password");
        assert_eq!(
            e,
            "/etc/k.conf:3: [amqp-connection] password: the '%' at character 3 must be followed by '%' or '(' \
             — write a literal percent sign as %%"
        );
        get_error("[s]\np = end%\n", "s", "p");
    }

    #[test]
    fn unclosed_reference_is_error() {
        let e = get_error("[s]\np = %(name\n", "s", "p");
        assert!(e.starts_with("/etc/k.conf:2: [s] p: the '%(' at character 1 starts no complete"), "{e}");
        get_error("[s]\nname = 1\np = %(name)d\n", "s", "p");
        get_error("[s]\np = %()s\n", "s", "p");
    }

    #[test]
    fn errors_point_at_a_place_and_never_quote_the_value() {
        let e = get_error("[rest]\ntoken = hunter2%(zz\n", "rest", "token");
        assert!(e.contains("at character 8") && !e.contains("hunter2") && !e.contains("zz"), "{e}");
        let e = get_error("[amqp-connection]\npassword = s3cr3t%x\n", "amqp-connection", "password");
        assert!(e.contains("at character 7") && !e.contains("s3cr3t"), "{e}");
        let secret = doc("[rest]\ntoken = qx%(zzkey)swv\n").get_secret("rest", "token").unwrap_err().to_string();
        assert!(secret.contains("reference at character 3 names a key that is not set"), "{secret}");
        assert!(!secret.contains("qx") && !secret.contains("zzkey") && !secret.contains("wv"), "{secret}");
        let shown = doc("[s]\np = %(cd)s\n").get("s", "p").unwrap_err().to_string();
        assert!(shown.contains("%(cd)s refers to 'cd'"), "{shown}");
    }

    #[test]
    fn expansion_is_bounded_so_nested_references_cannot_fill_memory() {
        // Nine levels of ten references each over a 100-byte value: 10^11 bytes unbounded.
        let mut text = format!("[s]\na0 = {}\n", "x".repeat(100));
        for level in 1..=9 {
            let previous = format!("%(a{})s", level - 1);
            text.push_str(&format!("a{level} = {}\n", previous.repeat(10)));
        }
        let e = get_error(&text, "s", "a9");
        assert!(e.contains("expands to more than 64 KiB"), "{e}");
        // Just under the bound still reads: 10 × 10 × 100 × 6 = 60,000 bytes.
        let mut ok = format!("[s]\nb0 = {}\n", "y".repeat(600));
        for level in 1..=2 {
            ok.push_str(&format!("b{level} = {}\n", format!("%(b{})s", level - 1).repeat(10)));
        }
        assert_eq!(value(&ok, "s", "b2").unwrap().len(), 60_000);
    }

    #[test]
    fn missing_reference_is_error() {
        let e = get_error("[s]\np = %(nope)s\n", "s", "p");
        assert!(e.contains("[s] p: %(nope)s refers to 'nope', which is not set in [s] or [DEFAULT]"), "{e}");
    }

    #[test]
    fn reference_loop_hits_depth_limit() {
        let e = get_error("[s]\na = %(a)s\n", "s", "a");
        assert!(e.contains("nested more than 10 levels"), "{e}");
    }

    #[test]
    fn depth_limit_matches_python() {
        // k0 → k1 → … ; Python allows 9 nested '%' values below the first.
        let chain = |n: usize| {
            let mut text = String::from("[s]\n");
            for i in 0..n {
                text.push_str(&format!("k{i} = %(k{})s\n", i + 1));
            }
            text.push_str(&format!("k{n} = end\n"));
            text
        };
        assert_eq!(value(&chain(10), "s", "k0").as_deref(), Some("end"));
        assert!(doc(&chain(11)).get("s", "k0").is_err());
    }

    #[test]
    fn unread_bad_values_do_not_fail_parsing() {
        let d = doc("[agent]\nname = 100%\n[s]\nk = v\n");
        assert_eq!(d.get("s", "k").unwrap().unwrap().value, "v");
    }

    #[test]
    fn debug_shows_keys_but_not_values() {
        let debug = format!("{:?}", doc("[s]\npassword = hunter2\n"));
        assert_eq!(debug, "{[s] password: /etc/k.conf:2}");
    }

    #[test]
    fn indented_section_header_inside_value_is_continuation() {
        let text = "[s]\nk = v\n  [t]\n";
        assert_eq!(value(text, "s", "k").as_deref(), Some("v\n[t]"));
        assert!(!doc(text).has_section("t"));
    }
}
