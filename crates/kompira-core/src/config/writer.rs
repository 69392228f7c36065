//! Changing a few keys of kompira.conf while keeping every other byte.
//!
//! The file is shared with other tools and edited by hand, so the editor
//! touches only the lines of the keys it sets: other sections and keys,
//! comments, blank lines, key spelling and line endings stay as they were.
//! Lines are classified with the same rules as the reader, so a key's
//! continuation lines are replaced together with it.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::ini::{is_py_space, section_header};
use super::keys::is_secret;

/// Indentation of continuation lines in values this editor writes.
const CONTINUATION_INDENT: &str = "    ";

/// One change: set `[section] key` to `value`, or remove it (`None`).
#[derive(Clone, PartialEq, Eq)]
pub struct Edit {
    /// Section name (case-sensitive, as in ConfigParser).
    pub section: String,
    /// Key (matched case-insensitively).
    pub key: String,
    /// The plain value (it is escaped for `%` interpolation here); `None`
    /// removes the key. Lines after the first become indented continuation
    /// lines. ConfigParser cannot represent everything: surrounding
    /// whitespace of each line is stripped on reading, and a continuation
    /// line starting with `#` or `;` reads as a comment.
    pub value: Option<String>,
}

impl std::fmt::Debug for Edit {
    // By hand so that logging an edit of the password or the token does not print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = is_secret(&self.section, &self.key.to_lowercase());
        let value = match &self.value {
            Some(_) if secret => Some("********"),
            other => other.as_deref(),
        };
        f.debug_struct("Edit").field("section", &self.section).field("key", &self.key).field("value", &value).finish()
    }
}

/// A key line and the continuation lines that belong to it.
struct KeySpan {
    name: String,
    /// First line (the key line).
    start: usize,
    /// One past the last continuation line.
    end: usize,
}

struct SectionSpan {
    name: String,
    header: usize,
    keys: Vec<KeySpan>,
}

/// A line without its line ending.
fn content(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// Finds sections and keys the way the reader does.
fn analyse(lines: &[String]) -> Vec<SectionSpan> {
    let mut sections: Vec<SectionSpan> = Vec::new();
    let mut indent = 0;
    let mut in_value = false;
    for (i, line) in lines.iter().enumerate() {
        let text = content(line);
        let text = if i == 0 { text.strip_prefix('\u{feff}').unwrap_or(text) } else { text };
        let stripped = text.trim_matches(is_py_space);
        if stripped.is_empty() || stripped.starts_with('#') || stripped.starts_with(';') {
            continue;
        }
        let this_indent = text.chars().take_while(|c| is_py_space(*c)).count();
        if in_value && this_indent > indent {
            if let Some(key) = sections.last_mut().and_then(|s| s.keys.last_mut()) {
                key.end = i + 1;
            }
            continue;
        }
        indent = this_indent;
        in_value = false;
        if let Some(name) = section_header(stripped) {
            sections.push(SectionSpan { name: name.to_string(), header: i, keys: Vec::new() });
            continue;
        }
        let Some(section) = sections.last_mut() else {
            continue;
        };
        if let Some(split) = stripped.find(['=', ':']) {
            let name = stripped[..split].trim_end_matches(is_py_space).to_lowercase();
            if !name.is_empty() {
                section.keys.push(KeySpan { name, start: i, end: i + 1 });
                in_value = true;
            }
        }
    }
    sections
}

/// Escapes `%` so the reader's interpolation gives the text back.
fn escape(value: &str) -> String {
    value.replace('%', "%%")
}

/// The lines for `prefix` + value: continuation lines for a multi-line value.
fn value_lines(prefix: &str, indent: &str, value: &str, eol: &str) -> Vec<String> {
    let escaped = escape(value);
    let mut parts = escaped.split('\n');
    let first = parts.next().unwrap_or_default();
    let mut out = vec![if first.is_empty() {
        format!("{}{eol}", prefix.trim_end_matches(is_py_space))
    } else {
        format!("{prefix}{first}{eol}")
    }];
    for part in parts {
        let part = part.strip_suffix('\r').unwrap_or(part);
        // Blank lines inside a value are kept by the reader as-is.
        out.push(if part.is_empty() { eol.to_string() } else { format!("{indent}{CONTINUATION_INDENT}{part}{eol}") });
    }
    out
}

/// The text of a key line up to where its value starts (`key = `, `key: `).
fn key_prefix(line: &str) -> String {
    let text = content(line);
    let Some(split) = text.find(['=', ':']) else {
        return format!("{text} = ");
    };
    let after = &text[split + 1..];
    let spaces = after.len() - after.trim_start_matches(is_py_space).len();
    let mut prefix = text[..split + 1 + spaces].to_string();
    // `key =` with an empty value: write `key = value`, matching its style.
    if spaces == 0 && text[..split].ends_with(is_py_space) {
        prefix.push(' ');
    }
    prefix
}

/// Applies the edits to INI text and returns the new text. Everything not
/// edited is kept byte for byte.
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    // The reader takes a lone CR as a line break (Python's universal newlines) but the editor
    // works on LF-ended lines, so such a break becomes LF first; otherwise an edit could land
    // in what the reader sees as the middle of other lines (found by fuzzing).
    let text = &lone_cr_as_lf(text);
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    for edit in edits {
        apply_one(&mut lines, edit, eol);
    }
    lines.concat()
}

fn apply_one(lines: &mut Vec<String>, edit: &Edit, eol: &str) {
    let key = edit.key.to_lowercase();
    let sections = analyse(lines);
    let Some(section) = sections.iter().rev().find(|s| s.name == edit.section) else {
        if let Some(value) = &edit.value {
            append_section(lines, &edit.section, &edit.key, value, eol);
        }
        return;
    };
    let matching: Vec<&KeySpan> = section.keys.iter().filter(|k| k.name == key).collect();
    match (&edit.value, matching.last()) {
        (None, _) => {
            // Remove every spelling of the key, last first so indices hold.
            for span in matching.iter().rev() {
                lines.drain(span.start..span.end);
            }
        }
        (Some(value), Some(span)) => {
            let old_last = &lines[span.end - 1];
            let line_end = if old_last.ends_with('\n') { eol } else { "" };
            let indent: String = content(&lines[span.start]).chars().take_while(|c| is_py_space(*c)).collect();
            let mut new = value_lines(&key_prefix(&lines[span.start]), &indent, value, eol);
            if let Some(last) = new.last_mut() {
                *last = format!("{}{line_end}", last.strip_suffix(eol).unwrap_or(last));
            }
            lines.splice(span.start..span.end, new);
        }
        (Some(value), None) => {
            let (at, indent) = match section.keys.last() {
                Some(last) => (last.end, content(&lines[last.start]).chars().take_while(|c| is_py_space(*c)).collect()),
                None => (section.header + 1, String::new()),
            };
            let indent = deep_enough(lines, at, indent);
            ensure_newline(lines, at, eol);
            let prefix = format!("{indent}{} = ", edit.key);
            let new = value_lines(&prefix, &indent, value, eol);
            lines.splice(at..at, new);
        }
    }
}

/// `text` with every CR that does not start a CRLF replaced by LF.
fn lone_cr_as_lf(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(if c == '\r' && chars.peek() != Some(&'\n') { '\n' } else { c });
    }
    out
}

/// The indentation for a key inserted at `at`: `indent`, or deeper when the next line with
/// text is indented deeper. ConfigParser reads an indented line after a key as part of the
/// key's value, so a shallower key would swallow that line (found by fuzzing: an indented
/// section header right after the header of the section that got a new key).
fn deep_enough(lines: &[String], at: usize, indent: String) -> String {
    let next = lines[at.min(lines.len())..].iter().map(|l| content(l)).find(|text| {
        let stripped = text.trim_matches(is_py_space);
        !stripped.is_empty() && !stripped.starts_with('#') && !stripped.starts_with(';')
    });
    let next_indent: String = next.unwrap_or_default().chars().take_while(|c| is_py_space(*c)).collect();
    if next_indent.chars().count() > indent.chars().count() {
        next_indent
    } else {
        indent
    }
}

/// Removes every `[section]`: its header and its lines up to its last key. Comments after
/// the last key stay (they may introduce what follows), and so does every other byte. The
/// blank line that [`apply_edits`] put before an appended section goes with it.
pub fn remove_section(text: &str, section: &str) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    while let Some(span) = analyse(&lines).into_iter().rev().find(|s| s.name == section) {
        let end = span.keys.last().map_or(span.header + 1, |k| k.end);
        let blank = |i: usize| lines.get(i).is_some_and(|l| content(l).trim().is_empty());
        let separator_before = span.header > 0 && blank(span.header - 1);
        let start = if separator_before && (end == lines.len() || blank(end)) { span.header - 1 } else { span.header };
        lines.drain(start..end);
    }
    lines.concat()
}

/// Makes sure the line before `at` ends with a newline before inserting there.
fn ensure_newline(lines: &mut [String], at: usize, eol: &str) {
    if at > 0 && !lines[at - 1].ends_with('\n') {
        lines[at - 1].push_str(eol);
    }
}

fn append_section(lines: &mut Vec<String>, section: &str, key: &str, value: &str, eol: &str) {
    let len = lines.len();
    ensure_newline(lines, len, eol);
    if lines.last().is_some_and(|last| !content(last).trim().is_empty()) {
        lines.push(eol.to_string());
    }
    lines.push(format!("[{section}]{eol}"));
    lines.extend(value_lines(&format!("{key} = "), "", value, eol));
}

/// Applies the edits to the file at `path` and saves it atomically (a
/// temporary file in the same directory, then a rename). A missing file is
/// created (with its directories), readable only by the owner on Unix (0600); an
/// existing file keeps its permissions less any group and other bits (0644 becomes 0600,
/// 0400 stays 0400): it may hold the password or the token. On Windows the saved file gets an
/// access list of its owner alone, inherited entries removed (see [`owner_only_acl_command`]).
pub fn write_file(path: &Path, edits: &[Edit]) -> Result<(), ConfigError> {
    rewrite_file(path, |text| apply_edits(text, edits))
}

/// Removes every `[section]` from the file at `path`, saving it as [`write_file`] does. A
/// missing file is left missing.
pub fn remove_section_in_file(path: &Path, section: &str) -> Result<(), ConfigError> {
    if !path.exists() {
        return Ok(());
    }
    rewrite_file(path, |text| remove_section(text, section))
}

/// Reads the file (empty when missing), changes its text and saves it atomically.
fn rewrite_file(path: &Path, change: impl FnOnce(&str) -> String) -> Result<(), ConfigError> {
    // Write through a symlink rather than replacing it.
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    };
    let unreadable = |source| ConfigError::Unreadable { path: target.clone(), source };
    let (text, permissions) = match std::fs::read(&target) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| {
                unreadable(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "not UTF-8 text; save it as UTF-8 before editing",
                ))
            })?;
            let permissions = std::fs::metadata(&target).map_err(unreadable)?.permissions();
            (text, Some(permissions))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), None),
        Err(e) => return Err(unreadable(e)),
    };
    let new_text = change(&text);
    let write_error = |source| ConfigError::Write { path: target.clone(), source };
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(write_error)?;
    let temp = temp_path(&dir, &target);
    let result = write_new(&temp, new_text.as_bytes(), permissions).and_then(|()| std::fs::rename(&temp, &target));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(write_error)?;
    #[cfg(windows)]
    restrict_to_owner(&target);
    Ok(())
}

/// The `icacls` command that leaves `path` to `user` (`DOMAIN\name`) alone: inherited entries
/// removed (`/inheritance:r`), full control granted to the user and replacing any other grant
/// (`/grant:r`). icacls ships with every Windows since Vista; a Win32 security-descriptor call
/// would need unsafe code for the same effect.
pub fn owner_only_acl_command(path: &Path, user: &str) -> (String, Vec<String>) {
    let args =
        vec![path.display().to_string(), "/inheritance:r".to_owned(), "/grant:r".to_owned(), format!("{user}:F")];
    ("icacls".to_owned(), args)
}

/// The Windows user as icacls names them, from `USERDOMAIN` and `USERNAME`.
pub fn windows_user(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let name = env("USERNAME").filter(|n| !n.is_empty())?;
    Some(match env("USERDOMAIN").filter(|d| !d.is_empty()) {
        Some(domain) => format!("{domain}\\{name}"),
        None => name,
    })
}

/// Applies [`owner_only_acl_command`]; a failure (no icacls, as under Wine) is a warning: the
/// file was saved, only its access list is the folder's.
#[cfg(windows)]
fn restrict_to_owner(path: &Path) {
    use std::os::windows::process::CommandExt;
    const CREATE_NO_WINDOW: u32 = 0x0800_0000;
    let Some(user) = windows_user(&|name| std::env::var(name).ok()) else {
        tracing::warn!("{} keeps the folder's access list: USERNAME is not set", path.display());
        return;
    };
    let (program, args) = owner_only_acl_command(path, &user);
    match std::process::Command::new(&program).args(&args).creation_flags(CREATE_NO_WINDOW).output() {
        Ok(out) if out.status.success() => tracing::debug!("{} is readable by {user} alone", path.display()),
        Ok(out) => tracing::warn!(
            "{} keeps the folder's access list: icacls said {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => tracing::warn!("{} keeps the folder's access list: cannot run icacls ({e})", path.display()),
    }
}

/// Whether [`write_file`] can save `path` as the current user: an existing file must open for
/// writing, and the directory must take the temporary file it is saved through (or, for a
/// missing file, the nearest existing ancestor must take new entries). It probes by opening
/// and creating (then removing) a temporary file, since permission bits do not tell the
/// whole story (root, ACLs, read-only mounts).
pub fn can_write(path: &Path) -> bool {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if target.exists() && std::fs::OpenOptions::new().append(true).open(&target).is_err() {
        return false;
    }
    let mut dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    while !dir.exists() {
        match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => dir = parent.to_path_buf(),
            _ => return false,
        }
    }
    if !dir.is_dir() {
        return false;
    }
    let probe = temp_path(&dir, &target);
    match write_new(&probe, b"", None) {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

/// A rewritten file's permissions: its own, never looser, and on Unix without group or other
/// bits. (Windows files inherit their folder's ACL; only the read-only flag is kept.)
fn private(permissions: std::fs::Permissions) -> std::fs::Permissions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(owner_only(permissions.mode()))
    }
    #[cfg(not(unix))]
    {
        permissions
    }
}

/// A Unix mode with the group and other bits (and set-id bits) cleared.
#[cfg_attr(not(unix), allow(dead_code))]
fn owner_only(mode: u32) -> u32 {
    mode & 0o700
}

fn temp_path(dir: &Path, target: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = target.file_name().map_or_else(|| "kompira.conf".into(), |n| n.to_string_lossy());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

fn write_new(temp: &Path, bytes: &[u8], permissions: Option<std::fs::Permissions>) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        // Never readable by others, not even for a moment: it may hold a password.
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(temp)?;
    file.write_all(bytes)?;
    if let Some(permissions) = permissions {
        file.set_permissions(private(permissions))?;
    }
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::super::ini;
    use super::*;

    fn set(section: &str, key: &str, value: &str) -> Edit {
        Edit { section: section.into(), key: key.into(), value: Some(value.into()) }
    }

    fn remove(section: &str, key: &str) -> Edit {
        Edit { section: section.into(), key: key.into(), value: None }
    }

    /// Reads `[section] key` back through the real reader.
    fn read_back(text: &str, section: &str, key: &str) -> Option<String> {
        let doc = ini::parse(text, Path::new("t.conf")).expect("edited text parses");
        doc.get(section, key).expect("interpolates").map(|v| v.value)
    }

    const SAMPLE: &str = "\
# Kompira settings
[kompira]
site_id = 1

[amqp-connection]
; the broker
Server: mq.example
port = 5672
# keep this comment
password = old
    continued

[agent]
name = job-manager
";

    #[test]
    fn removing_a_section_undoes_adding_it_byte_for_byte() {
        let added = apply_edits(SAMPLE, &[set("template:x", "kind", "event"), set("template:x", "fields", "a=1\nb=2")]);
        assert!(
            added.ends_with("name = job-manager\n\n[template:x]\nkind = event\nfields = a=1\n    b=2\n"),
            "{added}"
        );
        assert_eq!(remove_section(&added, "template:x"), SAMPLE);
        assert_eq!(remove_section(SAMPLE, "template:x"), SAMPLE);
    }

    #[test]
    fn removing_a_middle_section_keeps_comments_after_its_keys() {
        let text = "[a]\nk = 1\n\n[gone]\n; about k\nk = 2\n    more\n# about b\n\n[b]\nk = 3\n";
        assert_eq!(remove_section(text, "gone"), "[a]\nk = 1\n\n# about b\n\n[b]\nk = 3\n");
        let twice = "[gone]\nk = 1\n[a]\nk = 2\n[gone]\nk = 3\n";
        assert_eq!(remove_section(twice, "gone"), "[a]\nk = 2\n");
    }

    #[test]
    fn removing_a_section_from_a_file_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kompira.conf");
        let original = "# mine\r\n[event]\r\nchannel = /c\r\n";
        std::fs::write(&path, original).unwrap();
        write_file(&path, &[set("template:x", "kind", "event")]).unwrap();
        assert_ne!(std::fs::read_to_string(&path).unwrap(), original);
        remove_section_in_file(&path, "template:x").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
        remove_section_in_file(&dir.path().join("missing.conf"), "x").unwrap();
        assert!(!dir.path().join("missing.conf").exists());
    }

    #[test]
    fn replaces_value_keeping_everything_else() {
        let out = apply_edits(SAMPLE, &[set("amqp-connection", "port", "5671")]);
        assert_eq!(out, SAMPLE.replace("port = 5672", "port = 5671"));
    }

    #[test]
    fn key_match_is_case_insensitive_and_keeps_spelling() {
        let out = apply_edits(SAMPLE, &[set("amqp-connection", "SERVER", "mq2")]);
        assert_eq!(out, SAMPLE.replace("Server: mq.example", "Server: mq2"));
    }

    #[test]
    fn replaces_continuation_lines_with_the_key() {
        let out = apply_edits(SAMPLE, &[set("amqp-connection", "password", "new")]);
        assert_eq!(out, SAMPLE.replace("password = old\n    continued\n", "password = new\n"));
        assert_eq!(read_back(&out, "amqp-connection", "password").as_deref(), Some("new"));
    }

    #[test]
    fn adds_new_key_after_last_key_of_section() {
        let out = apply_edits(SAMPLE, &[set("kompira", "extra", "x"), set("amqp-connection", "ssl", "true")]);
        let expected = SAMPLE
            .replace("site_id = 1\n", "site_id = 1\nextra = x\n")
            .replace("    continued\n", "    continued\nssl = true\n");
        assert_eq!(out, expected);
    }

    #[test]
    fn new_key_goes_before_trailing_comments() {
        let text = "[s]\na = 1\n\n# about t\n[t]\n";
        assert_eq!(apply_edits(text, &[set("s", "b", "2")]), "[s]\na = 1\nb = 2\n\n# about t\n[t]\n");
    }

    #[test]
    fn new_key_in_empty_section_follows_header() {
        assert_eq!(apply_edits("[s]\n\n[t]\n", &[set("s", "k", "v")]), "[s]\nk = v\n\n[t]\n");
    }

    #[test]
    fn appends_new_section_after_blank_line() {
        let out = apply_edits(SAMPLE, &[set("event", "channel", "/c")]);
        assert_eq!(out, format!("{SAMPLE}\n[event]\nchannel = /c\n"));
        assert_eq!(apply_edits("", &[set("s", "k", "v")]), "[s]\nk = v\n");
        assert_eq!(apply_edits("[a]\nx = 1\n\n", &[set("s", "k", "v")]), "[a]\nx = 1\n\n[s]\nk = v\n");
    }

    #[test]
    fn missing_final_newline_is_kept_unless_appending() {
        assert_eq!(apply_edits("[s]\nk = 1", &[set("s", "k", "2")]), "[s]\nk = 2");
        assert_eq!(apply_edits("[s]\nk = 1", &[set("s", "j", "2")]), "[s]\nk = 1\nj = 2\n");
        assert_eq!(apply_edits("[s]\nk = 1", &[set("t", "j", "2")]), "[s]\nk = 1\n\n[t]\nj = 2\n");
    }

    #[test]
    fn crlf_file_stays_crlf() {
        let text = SAMPLE.replace('\n', "\r\n");
        let out = apply_edits(
            &text,
            &[set("amqp-connection", "port", "1"), set("kompira", "new", "a\nb"), set("event", "channel", "/c")],
        );
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
        assert!(out.contains("port = 1\r\n"));
        assert!(out.ends_with("\r\n\r\n[event]\r\nchannel = /c\r\n"));
        assert_eq!(read_back(&out, "kompira", "new").as_deref(), Some("a\nb"));
    }

    #[test]
    fn removes_key_and_its_continuations() {
        let out = apply_edits(SAMPLE, &[remove("amqp-connection", "password")]);
        assert_eq!(out, SAMPLE.replace("password = old\n    continued\n", ""));
        assert_eq!(apply_edits(SAMPLE, &[remove("nope", "x"), remove("kompira", "x")]), SAMPLE);
    }

    #[test]
    fn edits_last_occurrence_of_repeated_section() {
        let text = "[s]\nk = 1\n[t]\n[s]\nj = 2\n";
        assert_eq!(apply_edits(text, &[set("s", "k", "3")]), "[s]\nk = 1\n[t]\n[s]\nj = 2\nk = 3\n");
    }

    #[test]
    fn section_names_are_case_sensitive() {
        let out = apply_edits("[S]\nk = 1\n", &[set("s", "k", "2")]);
        assert_eq!(out, "[S]\nk = 1\n\n[s]\nk = 2\n");
    }

    #[test]
    fn percent_is_escaped_and_round_trips() {
        let out = apply_edits(SAMPLE, &[set("amqp-connection", "password", "50%(off)s%")]);
        assert!(out.contains("password = 50%%(off)s%%\n"));
        assert_eq!(read_back(&out, "amqp-connection", "password").as_deref(), Some("50%(off)s%"));
    }

    #[test]
    fn multi_line_value_round_trips() {
        let value = "first\nsecond\n\nafter blank";
        let out = apply_edits("[s]\n  k = old\nz = 1\n", &[set("s", "k", value)]);
        assert_eq!(out, "[s]\n  k = first\n      second\n\n      after blank\nz = 1\n");
        assert_eq!(read_back(&out, "s", "k").as_deref(), Some(value));
        assert_eq!(read_back(&out, "s", "z").as_deref(), Some("1"));
    }

    #[test]
    fn empty_value_has_no_trailing_space() {
        assert_eq!(apply_edits("[s]\nk = v\n", &[set("s", "k", "")]), "[s]\nk =\n");
        assert_eq!(read_back("[s]\nk =\n", "s", "k").as_deref(), Some(""));
        assert_eq!(apply_edits("[s]\nk =\n", &[set("s", "k", "v")]), "[s]\nk = v\n");
        assert_eq!(apply_edits("[s]\nk=\n", &[set("s", "k", "v")]), "[s]\nk=v\n");
    }

    #[test]
    fn parse_edit_parse_round_trip_keeps_other_values() {
        let edits = [
            set("amqp-connection", "server", "mq.other"),
            set("amqp-connection", "ssl", "yes"),
            remove("amqp-connection", "port"),
            set("logging", "loglevel", "DEBUG"),
        ];
        let out = apply_edits(SAMPLE, &edits);
        assert_eq!(read_back(&out, "amqp-connection", "server").as_deref(), Some("mq.other"));
        assert_eq!(read_back(&out, "amqp-connection", "ssl").as_deref(), Some("yes"));
        assert_eq!(read_back(&out, "amqp-connection", "port"), None);
        assert_eq!(read_back(&out, "logging", "loglevel").as_deref(), Some("DEBUG"));
        assert_eq!(read_back(&out, "amqp-connection", "password").as_deref(), Some("old\ncontinued"));
        assert_eq!(read_back(&out, "agent", "name").as_deref(), Some("job-manager"));
        assert_eq!(read_back(&out, "kompira", "site_id").as_deref(), Some("1"));
        assert!(out.starts_with("# Kompira settings\n"));
        assert!(out.contains("; the broker\n") && out.contains("# keep this comment\n"));
    }

    #[test]
    fn debug_of_password_edit_is_masked() {
        let debug = format!("{:?}", set("amqp-connection", "Password", "hunter2"));
        assert!(!debug.contains("hunter2") && debug.contains("********"), "{debug}");
        assert!(format!("{:?}", set("s", "server", "mq")).contains("\"mq\""));
    }

    #[test]
    fn bom_is_kept_and_first_section_found() {
        let out = apply_edits("\u{feff}[s]\nk = 1\n", &[set("s", "k", "2")]);
        assert_eq!(out, "\u{feff}[s]\nk = 2\n");
    }

    #[test]
    fn write_file_creates_private_file_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/kompira.conf");
        write_file(&path, &[set("amqp-connection", "password", "s%cret")]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "[amqp-connection]\npassword = s%%cret\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left behind");
    }

    #[test]
    fn lone_carriage_returns_are_line_breaks_for_the_editor_too() {
        // Minimised from a fuzzing crash (fuzz/artifacts/config_ini/crash-99008503…).
        let text = "[amqp-connection]\rk = v\r\n[other]\rx = 1\r";
        let edited = apply_edits(text, &[set("amqp-connection", "password", "p")]);
        assert_eq!(read_back(&edited, "amqp-connection", "password").as_deref(), Some("p"));
        assert_eq!(read_back(&edited, "amqp-connection", "k").as_deref(), Some("v"));
        assert_eq!(read_back(&edited, "other", "x").as_deref(), Some("1"));
    }

    #[test]
    fn a_new_key_does_not_swallow_an_indented_line_below_it() {
        // Minimised from a fuzzing crash (fuzz/artifacts/config_ini/crash-2e4df878…).
        let text = "[amqp-connection]\n  [other]\nk = v\n";
        let edited = apply_edits(text, &[set("amqp-connection", "password", "v%al\nue")]);
        assert_eq!(read_back(&edited, "amqp-connection", "password").as_deref(), Some("v%al\nue"));
        assert_eq!(read_back(&edited, "other", "k").as_deref(), Some("v"));
        assert_eq!(edited, "[amqp-connection]\n  password = v%%al\n      ue\n  [other]\nk = v\n");
    }

    #[test]
    fn rewritten_modes_lose_group_and_other_bits_only() {
        assert_eq!(owner_only(0o644), 0o600);
        assert_eq!(owner_only(0o600), 0o600);
        assert_eq!(owner_only(0o400), 0o400);
        assert_eq!(owner_only(0o4777), 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn rewriting_keeps_a_tighter_mode_and_never_loosens_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kompira.conf");
        for (before, after) in [(0o600, 0o600), (0o400, 0o400), (0o640, 0o600)] {
            std::fs::write(&path, SAMPLE).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(before)).unwrap();
            write_file(&path, &[set("amqp-connection", "password", "s3cret")]).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, after, "{before:o}");
        }
    }

    #[test]
    fn windows_files_are_left_to_their_owner_by_icacls() {
        let env = |name: &str| match name {
            "USERNAME" => Some("田中".to_owned()),
            "USERDOMAIN" => Some("OPS".to_owned()),
            _ => None,
        };
        let user = windows_user(&env).unwrap();
        assert_eq!(user, "OPS\\田中");
        let (program, args) =
            owner_only_acl_command(Path::new(r"C:\Users\田中\AppData\Roaming\Kompira\kompira.conf"), &user);
        assert_eq!(program, "icacls");
        assert_eq!(
            args,
            [r"C:\Users\田中\AppData\Roaming\Kompira\kompira.conf", "/inheritance:r", "/grant:r", "OPS\\田中:F"]
        );
        assert_eq!(windows_user(&|_| None), None);
    }

    #[test]
    fn write_file_edits_existing_file_making_it_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kompira.conf");
        std::fs::write(&path, SAMPLE).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        write_file(&path, &[set("kompira", "site_id", "2")]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), SAMPLE.replace("site_id = 1", "site_id = 2"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn write_file_writes_through_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.conf");
        let link = dir.path().join("kompira.conf");
        std::fs::write(&real, "[s]\nk = 1\n").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_file(&link, &[set("s", "k", "2")]).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "[s]\nk = 2\n");
    }

    #[test]
    fn can_write_a_missing_file_in_a_missing_directory_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/kompira.conf");
        assert!(can_write(&path));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        std::fs::write(dir.path().join("kompira.conf"), "x").unwrap();
        assert!(can_write(&dir.path().join("kompira.conf")));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn cannot_write_below_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        assert!(!can_write(&file.join("kompira.conf")));
    }

    #[test]
    fn debug_of_token_edit_is_masked() {
        let debug = format!("{:?}", set("rest", "token", "t0ps3cret"));
        assert!(!debug.contains("t0ps3cret"), "{debug}");
    }

    #[test]
    fn write_file_refuses_non_utf8_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kompira.conf");
        std::fs::write(&path, b"[s]\nk = \xff\n").unwrap();
        let e = write_file(&path, &[set("s", "k", "2")]).unwrap_err();
        assert!(matches!(e, ConfigError::Unreadable { .. }), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"[s]\nk = \xff\n");
    }
}
