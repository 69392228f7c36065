//! KEY/VALUE rows, as the forms' row editor (ui/rows.js) sends them.

use serde::{Deserialize, Serialize};

/// One row of a form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Row {
    pub key: String,
    pub value: String,
}

/// Rows as the engine's `check_rows` takes them.
pub fn pairs(rows: &[Row]) -> Vec<(&str, &str)> {
    rows.iter().map(|r| (r.key.as_str(), r.value.as_str())).collect()
}

/// Pairs back into rows (to fill a form from a template).
pub fn rows(pairs: &[(String, String)]) -> Vec<Row> {
    pairs.iter().map(|(key, value)| Row { key: key.clone(), value: value.clone() }).collect()
}
