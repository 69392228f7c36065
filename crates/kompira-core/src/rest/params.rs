//! Job-flow parameters as a person means them.
//!
//! Kompira 1.6 compiles every parameter value as an expression of its job-flow language: the
//! value `web1` is the variable `web1` (the process aborts: `Variable "web1" is not defined`),
//! `web 1` is a syntax error (400), `42` is an integer. What a person types in a form or after
//! `-p KEY=` is text, so text is sent as a string literal, quoted and escaped per the string
//! literal grammar of the 1.6 reference ("String literal (STRING)"): double quotes, with
//! `\\`, `\"`, `\n`, `\r`, `\t` and `\xhh` for the other control characters. A string literal
//! also expands `$name` and `${name}` (after the escapes are decoded, so `\x24` does not hide
//! one) and reads `$$` as `$`: every `$` is written `$$`. Every other character, Japanese
//! included, stands for itself. An expression is sent only when the person
//! asked for one (`-p KEY:=EXPR`, the form's "expression" switch).

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// One parameter value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum ParamValue {
    /// Text, meant exactly as typed: sent as a string literal.
    Text(String),
    /// A Kompira expression (`42`, `true`, `[1, "a"]`, `$RESULT`), compiled by the server.
    Expression(String),
}

impl ParamValue {
    /// What goes on the wire: the JSON string the server compiles.
    pub fn to_expression(&self) -> String {
        match self {
            ParamValue::Text(text) => string_literal(text),
            ParamValue::Expression(expression) => expression.clone(),
        }
    }

    /// The value as typed (the text, or the expression's source).
    pub fn as_typed(&self) -> &str {
        match self {
            ParamValue::Text(s) | ParamValue::Expression(s) => s,
        }
    }
}

/// `text` as a Kompira string literal that evaluates to exactly `text`.
pub fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' => out.push_str("$$"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parameters by name, in the order given; a name given twice keeps its first place and its
/// last value (as `kompira_sendevt` treats KEY=VAL).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parameters(Vec<(String, ParamValue)>);

impl Parameters {
    /// No parameters.
    pub fn new() -> Self {
        Parameters::default()
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: impl Into<String>, value: ParamValue) {
        let name = name.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// Sets `name` to a text value.
    pub fn set_text(&mut self, name: impl Into<String>, text: impl Into<String>) {
        self.set(name, ParamValue::Text(text.into()));
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Each name and value, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl FromIterator<(String, ParamValue)> for Parameters {
    fn from_iter<I: IntoIterator<Item = (String, ParamValue)>>(iter: I) -> Self {
        let mut out = Parameters::new();
        for (name, value) in iter {
            out.set(name, value);
        }
        out
    }
}

/// The wire shape: `{"name": "<expression>", …}`.
impl Serialize for Parameters {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, &value.to_expression())?;
        }
        map.end()
    }
}

/// Reads `-p`/template notation: `KEY=TEXT` is text, `KEY:=EXPR` an expression. The error
/// says what is wrong, for the caller to put in front of the input.
pub fn parse_assignment(arg: &str) -> Result<(String, ParamValue), String> {
    let (key, value) =
        arg.split_once('=').ok_or("write KEY=TEXT for text or KEY:=EXPRESSION for a Kompira expression")?;
    let (key, value) = match key.strip_suffix(':') {
        Some(key) => {
            if value.trim().is_empty() {
                return Err("the expression after := is empty (for empty text write KEY=)".into());
            }
            (key, ParamValue::Expression(value.to_owned()))
        }
        None => (key, ParamValue::Text(value.to_owned())),
    };
    let key = key.trim();
    if key.is_empty() {
        return Err("the parameter name is empty".into());
    }
    Ok((key.to_owned(), value))
}

/// The `-p`/template notation of one parameter (the inverse of [`parse_assignment`]).
pub fn format_assignment(name: &str, value: &ParamValue) -> String {
    match value {
        ParamValue::Text(text) => format!("{name}={text}"),
        ParamValue::Expression(expression) => format!("{name}:={expression}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_becomes_a_literal_that_reads_back_as_typed() {
        assert_eq!(string_literal("web1"), r#""web1""#);
        assert_eq!(string_literal("web 1 (primary)"), r#""web 1 (primary)""#);
        assert_eq!(string_literal(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(string_literal(r"C:\temp\new"), r#""C:\\temp\\new""#);
        assert_eq!(string_literal("a\nb\r\tc"), r#""a\nb\r\tc""#);
        assert_eq!(string_literal("bell\u{7}del\u{7f}"), r#""bell\x07del\x7f""#);
        assert_eq!(string_literal("障害 $X ${y} $$ {a} 'q'"), r#""障害 $$X $${y} $$$$ {a} 'q'""#);
        assert_eq!(string_literal(""), r#""""#);
    }

    #[test]
    fn parameters_serialize_as_expressions_in_order() {
        let mut p = Parameters::new();
        p.set_text("host", "web1");
        p.set("count", ParamValue::Expression("3".into()));
        p.set_text("n", "42");
        p.set_text("host", "web2");
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"host":"\"web2\"","count":"3","n":"\"42\""}"#);
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn assignments_read_text_and_expressions() {
        assert_eq!(parse_assignment("host=web1").unwrap(), ("host".into(), ParamValue::Text("web1".into())));
        assert_eq!(parse_assignment("eq=a=b").unwrap().1, ParamValue::Text("a=b".into()));
        assert_eq!(parse_assignment("empty=").unwrap().1, ParamValue::Text(String::new()));
        assert_eq!(parse_assignment("n:=3").unwrap().1, ParamValue::Expression("3".into()));
        assert_eq!(parse_assignment("l:=[1, \"a\"]").unwrap().1, ParamValue::Expression("[1, \"a\"]".into()));
        assert!(parse_assignment("novalue").unwrap_err().contains("KEY=TEXT"));
        assert!(parse_assignment("=x").unwrap_err().contains("name is empty"));
        assert!(parse_assignment("n:=").unwrap_err().contains("empty"));
        for v in [ParamValue::Text("a=b".into()), ParamValue::Expression("[1]".into())] {
            assert_eq!(parse_assignment(&format_assignment("k", &v)).unwrap(), ("k".into(), v));
        }
    }

    #[test]
    fn a_value_keeps_its_kind_through_serde() {
        let v = ParamValue::Expression("true".into());
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json, json!({"kind": "expression", "value": "true"}));
        assert_eq!(serde_json::from_value::<ParamValue>(json).unwrap(), v);
    }
}
