//! KEY/VALUE rows, as the forms' row editor (ui/rows.js) sends them.

use kompira_core::event::check_rows;
use kompira_core::rest::{ParamValue, Parameters};
use serde::{Deserialize, Serialize};

/// One row of a form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Row {
    pub key: String,
    pub value: String,
    /// Job-flow parameters only: the value is a Kompira expression, not text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expression: bool,
}

/// Rows as the engine's `check_rows` takes them.
pub fn pairs(rows: &[Row]) -> Vec<(&str, &str)> {
    rows.iter().map(|r| (r.key.as_str(), r.value.as_str())).collect()
}

/// Pairs back into rows (to fill a form from a template).
pub fn rows(pairs: &[(String, String)]) -> Vec<Row> {
    pairs.iter().map(|(key, value)| Row { key: key.clone(), value: value.clone(), expression: false }).collect()
}

/// Job-flow parameters from the form's rows, checked with the same rules as event fields:
/// a row's value is text (sent as a string literal) unless its "expression" switch is on.
pub fn parameters(rows: &[Row]) -> Result<Parameters, String> {
    let checked = check_rows(&pairs(rows)).map_err(|e| e.to_string())?;
    let filled = rows.iter().filter(|r| !(r.key.trim().is_empty() && r.value.trim().is_empty()));
    let mut out = Parameters::new();
    for ((key, value), row) in checked.into_iter().zip(filled) {
        if row.expression && value.is_empty() {
            return Err(format!(
                "the expression for {key:?} is empty; write one or turn the switch off for empty text"
            ));
        }
        out.set(key, if row.expression { ParamValue::Expression(value) } else { ParamValue::Text(value) });
    }
    Ok(out)
}

/// Parameters back into rows (to fill the Job flow form from a template).
pub fn parameter_rows(parameters: &Parameters) -> Vec<Row> {
    parameters
        .iter()
        .map(|(key, value)| Row {
            key: key.to_owned(),
            value: value.as_typed().to_owned(),
            expression: matches!(value, ParamValue::Expression(_)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, value: &str, expression: bool) -> Row {
        Row { key: key.into(), value: value.into(), expression }
    }

    #[test]
    fn rows_are_text_unless_switched_to_expressions() {
        let form =
            [row("host", "web 1 (primary)", false), row("", "", true), row("n", "3", true), row("t", "42", false)];
        let parameters = parameters(&form).unwrap();
        assert_eq!(
            serde_json::to_string(&parameters).unwrap(),
            r#"{"host":"\"web 1 (primary)\"","n":"3","t":"\"42\""}"#
        );
        assert_eq!(parameter_rows(&parameters), vec![form[0].clone(), form[2].clone(), form[3].clone()]);
    }

    #[test]
    fn bad_rows_are_refused_with_their_row() {
        assert_eq!(
            parameters(&[row("", "x", false)]).unwrap_err(),
            "row 1: the key is empty; name it or clear the row"
        );
        assert!(parameters(&[row("n", " ", true)]).unwrap_err().contains("expression for \"n\" is empty"));
    }

    #[test]
    fn the_switch_is_optional_in_json() {
        let r: Row = serde_json::from_str(r#"{"key": "a", "value": "b"}"#).unwrap();
        assert!(!r.expression);
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"key":"a","value":"b"}"#);
    }
}
