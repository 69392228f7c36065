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

/// Indentation of continuation lines in values this editor writes.
const CONTINUATION_INDENT: &str = "    ";

/// One change: set `[section] key` to `value`, or remove it (`None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Section name (case-sensitive, as in ConfigParser).
    pub section: String,
    /// Key (matched case-insensitively).
    pub key: String,
    /// The plain value (it is escaped for `%` interpolation here); `None`
    /// removes the key.
    pub value: Option<String>,
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

/// Whitespace as Python's `str.isspace` sees it (see the reader).
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
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
        let text = if i == 0 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
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
        if let Some(name) = stripped.strip_prefix('[').and_then(|rest| {
            rest.rfind(']')
                .filter(|end| *end > 0)
                .map(|end| &rest[..end])
        }) {
            sections.push(SectionSpan {
                name: name.to_string(),
                header: i,
                keys: Vec::new(),
            });
            continue;
        }
        let Some(section) = sections.last_mut() else {
            continue;
        };
        if let Some(split) = stripped.find(['=', ':']) {
            let name = stripped[..split]
                .trim_end_matches(is_py_space)
                .to_lowercase();
            if !name.is_empty() {
                section.keys.push(KeySpan {
                    name,
                    start: i,
                    end: i + 1,
                });
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
        out.push(if part.is_empty() {
            eol.to_string()
        } else {
            format!("{indent}{CONTINUATION_INDENT}{part}{eol}")
        });
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
            let indent: String = content(&lines[span.start])
                .chars()
                .take_while(|c| is_py_space(*c))
                .collect();
            let mut new = value_lines(&key_prefix(&lines[span.start]), &indent, value, eol);
            if let Some(last) = new.last_mut() {
                *last = format!("{}{line_end}", last.strip_suffix(eol).unwrap_or(last));
            }
            lines.splice(span.start..span.end, new);
        }
        (Some(value), None) => {
            let (at, indent) = match section.keys.last() {
                Some(last) => (
                    last.end,
                    content(&lines[last.start])
                        .chars()
                        .take_while(|c| is_py_space(*c))
                        .collect(),
                ),
                None => (section.header + 1, String::new()),
            };
            ensure_newline(lines, at, eol);
            let prefix = format!("{indent}{} = ", edit.key);
            let new = value_lines(&prefix, &indent, value, eol);
            lines.splice(at..at, new);
        }
    }
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
    if lines
        .last()
        .is_some_and(|last| !content(last).trim().is_empty())
    {
        lines.push(eol.to_string());
    }
    lines.push(format!("[{section}]{eol}"));
    lines.extend(value_lines(&format!("{key} = "), "", value, eol));
}

/// Applies the edits to the file at `path` and saves it atomically (a
/// temporary file in the same directory, then a rename). A missing file is
/// created (with its directories), readable only by the owner on Unix; an
/// existing file keeps its permissions.
pub fn write_file(path: &Path, edits: &[Edit]) -> Result<(), ConfigError> {
    // Write through a symlink rather than replacing it.
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    };
    let unreadable = |source| ConfigError::Unreadable {
        path: target.clone(),
        source,
    };
    let (text, permissions) = match std::fs::read(&target) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| {
                unreadable(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "not UTF-8 text; save it as UTF-8 before editing",
                ))
            })?;
            let permissions = std::fs::metadata(&target)
                .map_err(unreadable)?
                .permissions();
            (text, Some(permissions))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), None),
        Err(e) => return Err(unreadable(e)),
    };
    let new_text = apply_edits(&text, edits);
    let write_error = |source| ConfigError::Write {
        path: target.clone(),
        source,
    };
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(write_error)?;
    let temp = temp_path(&dir, &target);
    let result = write_new(&temp, new_text.as_bytes(), permissions)
        .and_then(|()| std::fs::rename(&temp, &target));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(write_error)
}

fn temp_path(dir: &Path, target: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = target
        .file_name()
        .map_or_else(|| "kompira.conf".into(), |n| n.to_string_lossy());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

fn write_new(
    temp: &Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> std::io::Result<()> {
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
        file.set_permissions(permissions)?;
    }
    file.sync_all()
}
