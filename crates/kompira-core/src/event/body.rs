//! What an event carries: KEY=VAL pairs (sent as a JSON object) or raw bytes from stdin.

use std::fmt;

use encoding_rs::{DecoderResult, Encoding};

use super::pyfmt;

/// The body of one event, before it is put on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventBody {
    /// From KEY=VAL arguments: a JSON object of strings, in first-seen key order.
    Fields(Vec<(String, String)>),
    /// Standard input, sent untouched.
    Raw(Vec<u8>),
    /// Standard input decoded with `--decode-stdin`; sent as UTF-8.
    Text(String),
}

impl EventBody {
    /// The bytes that go on the wire, exactly as the reference produces them.
    pub fn to_wire(&self) -> Vec<u8> {
        match self {
            EventBody::Fields(fields) => pyfmt::json_object_ascii(fields).into_bytes(),
            EventBody::Raw(bytes) => bytes.clone(),
            EventBody::Text(text) => text.as_bytes().to_vec(),
        }
    }

    /// Only KEY=VAL bodies are declared as JSON; raw bodies carry no content type.
    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            EventBody::Fields(_) => Some("application/json"),
            _ => None,
        }
    }

    /// A short rendering for logs, as the reference's `stringify` does (300 chars at most).
    pub fn for_log(&self) -> String {
        match self {
            EventBody::Fields(fields) => pyfmt::json_object_unicode(fields),
            EventBody::Raw(bytes) => pyfmt::truncated_bytes_repr(bytes, pyfmt::LOG_LIMIT),
            EventBody::Text(text) => pyfmt::truncated_text(text, pyfmt::LOG_LIMIT),
        }
    }
}

/// A KEY=VAL argument that has no `=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValueError {
    /// The offending argument.
    pub argument: String,
}

impl fmt::Display for KeyValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid message: {} is not KEY=VAL (no '=')", crate::quote::quoted(&self.argument))
    }
}

impl std::error::Error for KeyValueError {}

/// Builds a body from KEY=VAL arguments with the reference's rules (docs/kompira-protocol.md §2): split on the
/// first `=`, skip empty arguments, a repeated key keeps its first position and takes the
/// last value. Returns `None` only when there is no argument at all, meaning "read standard
/// input": arguments that are all empty still mean KEY=VAL mode and give `{}`, as the
/// reference decides on the number of arguments before it skips the empty ones.
pub fn parse_key_values<S: AsRef<str>>(args: &[S]) -> Result<Option<EventBody>, KeyValueError> {
    if args.is_empty() {
        return Ok(None);
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    for arg in args.iter().map(AsRef::as_ref).filter(|a| !a.is_empty()) {
        let (key, value) = arg.split_once('=').ok_or_else(|| KeyValueError { argument: arg.to_owned() })?;
        match fields.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_owned(),
            None => fields.push((key.to_owned(), value.to_owned())),
        }
    }
    Ok(Some(EventBody::Fields(fields)))
}

/// A form row that cannot become a KEY=VALUE pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The row, counted from 1.
    pub row: usize,
    /// What is wrong with it.
    pub problem: RowProblem,
}

/// Why a row was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowProblem {
    /// A value without a key.
    EmptyKey,
    /// The key holds `=`, which KEY=VAL text would split at.
    EqualsInKey(String),
    /// The key or value spans lines, which KEY=VAL lines cannot hold.
    LineBreak(String),
    /// The key was used in an earlier row (counted from 1).
    Duplicate {
        /// The key.
        key: String,
        /// The earlier row.
        first_row: usize,
    },
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = self.row;
        match &self.problem {
            RowProblem::EmptyKey => write!(f, "row {row}: the key is empty; name it or clear the row"),
            RowProblem::EqualsInKey(key) => {
                write!(f, "row {row}: the key {key:?} contains '='; put what follows it in the value")
            }
            RowProblem::LineBreak(key) => write!(f, "row {row} ({key:?}): keys and values must fit on one line"),
            RowProblem::Duplicate { key, first_row } => {
                write!(f, "row {row}: the key {key:?} is already used in row {first_row}")
            }
        }
    }
}

impl std::error::Error for RowError {}

/// Checks KEY/VALUE rows from a form so that they mean the same as KEY=VAL text would:
/// spaces around keys and values are dropped (as kompira.conf drops them), a row with
/// neither is skipped, and a key must be non-empty, free of `=` and line breaks, and unique
/// (a form has no reason to repeat one, so a repeat is a mistake rather than an override).
pub fn check_rows<K: AsRef<str>, V: AsRef<str>>(rows: &[(K, V)]) -> Result<Vec<(String, String)>, RowError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut rows_of_pairs: Vec<usize> = Vec::new();
    for (index, (key, value)) in rows.iter().enumerate() {
        let row = index + 1;
        let (key, value) = (key.as_ref().trim(), value.as_ref().trim());
        let error = |problem| Err(RowError { row, problem });
        if key.is_empty() && value.is_empty() {
            continue;
        }
        if key.is_empty() {
            return error(RowProblem::EmptyKey);
        }
        if key.contains('=') {
            return error(RowProblem::EqualsInKey(key.to_owned()));
        }
        if key.contains(['\n', '\r']) || value.contains(['\n', '\r']) {
            return error(RowProblem::LineBreak(key.to_owned()));
        }
        if let Some(first) = pairs.iter().position(|(k, _)| k == key) {
            return error(RowProblem::Duplicate { key: key.to_owned(), first_row: rows_of_pairs[first] });
        }
        pairs.push((key.to_owned(), value.to_owned()));
        rows_of_pairs.push(row);
    }
    Ok(pairs)
}

/// Standard input that does not decode with the chosen encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The name matches no encoding we know.
    UnknownEncoding(String),
    /// A byte sequence at `offset` is not valid in `encoding`.
    Malformed {
        /// The encoding's canonical name.
        encoding: &'static str,
        /// Byte offset of the first bad sequence.
        offset: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownEncoding(name) => {
                write!(f, "unknown encoding {name:?} (try utf-8, cp932, shift_jis or euc-jp)")
            }
            DecodeError::Malformed { encoding, offset } => write!(
                f,
                "standard input is not valid {encoding}: bad byte sequence at offset {offset} \
                 (check --encoding)"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes standard input for `--decode-stdin`. A BOM of the chosen encoding is dropped,
/// like Python's codecs do for UTF-8-SIG; invalid input is an error, never replaced silently.
pub fn decode_stdin(input: &[u8], encoding_name: &str) -> Result<String, DecodeError> {
    let encoding =
        lookup_encoding(encoding_name).ok_or_else(|| DecodeError::UnknownEncoding(encoding_name.to_owned()))?;
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder.max_utf8_buffer_length_without_replacement(input.len()).unwrap_or(input.len() * 3 + 16);
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(input, &mut text, true);
    match result {
        DecoderResult::InputEmpty => Ok(text),
        DecoderResult::Malformed(bad_len, after) => Err(DecodeError::Malformed {
            encoding: encoding.name(),
            offset: read - usize::from(after) - usize::from(bad_len),
        }),
        DecoderResult::OutputFull => unreachable!("the buffer is sized for the worst case"),
    }
}

/// Resolves Python codec names (`cp932`, `euc_jp`, `utf8`, …) as well as WHATWG labels.
fn lookup_encoding(name: &str) -> Option<&'static Encoding> {
    let normalised = name.trim().to_ascii_lowercase().replace('_', "-");
    let label = match normalised.as_str() {
        "utf8" | "u8" | "utf" | "cp65001" => "utf-8",
        "cp932" | "932" | "ms932" | "mskanji" | "ms-kanji" | "s-jis" | "sjis" | "shiftjis" => "windows-31j",
        "eucjp" | "ujis" | "u-jis" => "euc-jp",
        "latin-1" | "latin1" | "l1" | "iso8859-1" => "iso-8859-1",
        "ascii" | "us-ascii" | "646" => "windows-1252",
        other => other,
    };
    Encoding::for_label(label.as_bytes())
}

/// The encoding `--decode-stdin` uses when `--encoding` is not given: the locale's, as the
/// reference does with `locale.getlocale()`, else UTF-8. `env` looks up LC_ALL, LC_CTYPE, LANG.
pub fn default_stdin_encoding(env: &dyn Fn(&str) -> Option<String>) -> String {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|var| env(var).filter(|v| !v.is_empty()))
        .and_then(|locale| {
            let codeset = locale.split('.').nth(1)?;
            let codeset = codeset.split('@').next().unwrap_or(codeset);
            lookup_encoding(codeset).map(|_| codeset.to_owned())
        })
        .unwrap_or_else(|| "UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> EventBody {
        EventBody::Fields(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn form_rows_become_trimmed_pairs_and_blank_rows_are_skipped() {
        let rows = [(" host ", " web1 "), ("", ""), ("msg", "a=b"), ("empty", "")];
        assert_eq!(
            check_rows(&rows).unwrap(),
            vec![
                ("host".to_owned(), "web1".to_owned()),
                ("msg".to_owned(), "a=b".to_owned()),
                ("empty".to_owned(), String::new())
            ]
        );
    }

    #[test]
    fn bad_form_rows_name_the_row_and_the_fix() {
        let error = |rows: &[(&str, &str)]| check_rows(rows).unwrap_err().to_string();
        assert_eq!(error(&[("a", "1"), (" ", "x")]), "row 2: the key is empty; name it or clear the row");
        assert_eq!(error(&[("a=b", "1")]), "row 1: the key \"a=b\" contains '='; put what follows it in the value");
        assert_eq!(error(&[("a", "1"), ("", ""), ("a", "2")]), "row 3: the key \"a\" is already used in row 1");
        assert_eq!(error(&[("a", "1\n2")]), "row 1 (\"a\"): keys and values must fit on one line");
    }

    #[test]
    fn splits_on_the_first_equals_sign() {
        let body = parse_key_values(&["a=1", "b=x=y", "empty="]).unwrap().unwrap();
        assert_eq!(body, fields(&[("a", "1"), ("b", "x=y"), ("empty", "")]));
    }

    #[test]
    fn repeated_key_keeps_first_position_and_last_value() {
        let body = parse_key_values(&["a=1", "b=2", "a=3"]).unwrap().unwrap();
        assert_eq!(body, fields(&[("a", "3"), ("b", "2")]));
    }

    #[test]
    fn empty_arguments_are_skipped_but_still_mean_key_val_mode() {
        // `kompira_sendevt ''` sends `{}`, as the reference does; only no argument at all
        // means "read standard input".
        assert_eq!(parse_key_values(&[""]).unwrap(), Some(fields(&[])));
        assert_eq!(parse_key_values(&["", "a=1", ""]).unwrap(), Some(fields(&[("a", "1")])));
        assert_eq!(parse_key_values::<&str>(&[]).unwrap(), None);
        let empty = parse_key_values(&["", ""]).unwrap().unwrap();
        assert_eq!(empty.to_wire(), b"{}");
        assert_eq!(empty.content_type(), Some("application/json"));
        assert_eq!(empty.for_log(), "{}");
    }

    #[test]
    fn argument_without_equals_is_an_error_naming_it() {
        let err = parse_key_values(&["a=1", "oops"]).unwrap_err();
        assert_eq!(err.argument, "oops");
        assert!(err.to_string().contains("\"oops\""));
    }

    #[test]
    fn fields_go_on_the_wire_as_ascii_json_with_python_separators() {
        let body = fields(&[("host", "web1"), ("msg", "障害 \"x\"\n")]);
        assert_eq!(String::from_utf8(body.to_wire()).unwrap(), r#"{"host": "web1", "msg": "\u969c\u5bb3 \"x\"\n"}"#);
        assert_eq!(body.content_type(), Some("application/json"));
    }

    #[test]
    fn raw_bodies_are_untouched_and_have_no_content_type() {
        let body = EventBody::Raw(vec![0xff, 0x00, b'a']);
        assert_eq!(body.to_wire(), vec![0xff, 0x00, b'a']);
        assert_eq!(body.content_type(), None);
    }

    #[test]
    fn decodes_shift_jis_cp932_and_euc_jp() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("障害①");
        assert_eq!(decode_stdin(&sjis, "cp932").unwrap(), "障害①");
        assert_eq!(decode_stdin(&sjis, "Shift_JIS").unwrap(), "障害①");
        let (euc, _, _) = encoding_rs::EUC_JP.encode("障害");
        assert_eq!(decode_stdin(&euc, "euc_jp").unwrap(), "障害");
        assert_eq!(decode_stdin("ok".as_bytes(), "utf8").unwrap(), "ok");
    }

    #[test]
    fn malformed_input_reports_the_byte_offset() {
        let err = decode_stdin(b"abc\xffdef", "utf-8").unwrap_err();
        assert_eq!(err, DecodeError::Malformed { encoding: "UTF-8", offset: 3 });
    }

    #[test]
    fn unknown_encoding_is_an_error() {
        assert!(matches!(decode_stdin(b"x", "klingon"), Err(DecodeError::UnknownEncoding(_))));
    }

    #[test]
    fn default_encoding_follows_the_locale() {
        let env = |var: &str| match var {
            "LANG" => Some("ja_JP.eucJP".to_owned()),
            _ => None,
        };
        assert_eq!(default_stdin_encoding(&env), "eucJP");
        let c_locale = |var: &str| (var == "LC_ALL").then(|| "C".to_owned());
        assert_eq!(default_stdin_encoding(&c_locale), "UTF-8");
    }
}
