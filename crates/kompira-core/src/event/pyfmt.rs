//! Renderings that must match what the Python reference prints or sends, byte for byte:
//! `json.dumps` with its default `", "` / `": "` separators, and `repr(bytes)`.

use std::fmt::Write as _;

/// How many characters (or bytes) of a body the reference shows in a log line or dry run.
pub const LOG_LIMIT: usize = 300;

/// `json.dumps(dict)` as the reference sends it: non-ASCII as `\uXXXX` escapes.
pub fn json_object_ascii(fields: &[(String, String)]) -> String {
    json_object(fields, true)
}

/// `json.dumps(dict, ensure_ascii=False)` as the reference logs it.
pub fn json_object_unicode(fields: &[(String, String)]) -> String {
    json_object(fields, false)
}

fn json_object(fields: &[(String, String)], ensure_ascii: bool) -> String {
    let mut out = String::with_capacity(2 + fields.len() * 16);
    out.push('{');
    for (index, (key, value)) in fields.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        push_json_string(&mut out, key, ensure_ascii);
        out.push_str(": ");
        push_json_string(&mut out, value, ensure_ascii);
    }
    out.push('}');
    out
}

fn push_json_string(out: &mut String, text: &str, ensure_ascii: bool) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => push_unicode_escape(out, c as u32),
            // Python's ensure_ascii escapes everything outside ' '..'~', DEL included.
            c if ensure_ascii && !(' '..='~').contains(&c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_unicode_escape(out, u32::from(*unit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_unicode_escape(out: &mut String, unit: u32) {
    let _ = write!(out, "\\u{unit:04x}");
}

/// `str(bytes)` of at most `limit` bytes, plus `... (length=N)` when cut, as the reference logs
/// a raw body.
pub fn truncated_bytes_repr(bytes: &[u8], limit: usize) -> String {
    let mut out = bytes_repr(&bytes[..bytes.len().min(limit)]);
    if bytes.len() > limit {
        let _ = write!(out, "... (length={})", bytes.len());
    }
    out
}

/// The first `limit` characters of a text, plus `... (length=N)` when cut.
pub fn truncated_text(text: &str, limit: usize) -> String {
    let length = text.chars().count();
    if length <= limit {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(limit).collect();
    let _ = write!(out, "... (length={length})");
    out
}

/// Python's `repr(bytes)`: `b'...'`, or `b"..."` when the bytes hold `'` but no `"`.
pub fn bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') { b'"' } else { b'\'' };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b if b == quote => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(byte as char),
            _ => {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
    }
    out.push(quote as char);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn ascii_json_matches_python_json_dumps() {
        // Expected strings produced by CPython 3.11 `json.dumps`.
        let fields = pairs(&[("a", "é😀\u{7f}\u{1}"), ("b", "\\/\u{8}\u{c}")]);
        assert_eq!(json_object_ascii(&fields), r#"{"a": "\u00e9\ud83d\ude00\u007f\u0001", "b": "\\/\b\f"}"#);
    }

    #[test]
    fn unicode_json_keeps_characters_but_escapes_controls() {
        let fields = pairs(&[("msg", "障害\u{7f}\u{1f}")]);
        assert_eq!(json_object_unicode(&fields), "{\"msg\": \"障害\u{7f}\\u001f\"}");
        assert_eq!(json_object_unicode(&[]), "{}");
    }

    #[test]
    fn bytes_repr_matches_python() {
        assert_eq!(bytes_repr(b"abc"), "b'abc'");
        assert_eq!(bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(bytes_repr(b"'\""), r#"b'\'"'"#);
        assert_eq!(bytes_repr(b"\x00\xff\n\\"), r"b'\x00\xff\n\\'");
    }

    #[test]
    fn long_bodies_are_cut_with_their_length() {
        let body = vec![b'x'; 301];
        let shown = truncated_bytes_repr(&body, LOG_LIMIT);
        assert!(shown.ends_with("'... (length=301)"));
        assert_eq!(shown.len(), 3 + 300 + "... (length=301)".len());
        assert_eq!(truncated_text("ab", 1), "a... (length=2)");
        assert_eq!(truncated_text("ab", 2), "ab");
    }
}
