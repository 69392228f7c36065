//! User text inside messages.

/// `text` in double quotes, with quotes, backslashes and control characters escaped as JSON
/// escapes them (`\u001b`): a message stays on one line, never sends a terminal escape
/// sequence, and shows no Rust-only `\u{1b}` forms.
pub(crate) fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| String::from("\"?\""))
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn control_characters_are_escaped_the_json_way() {
        assert_eq!(quoted("a\u{1b}[31m\"b\"\n"), r#""a\u001b[31m\"b\"\n""#);
        assert_eq!(quoted("ジョブ"), "\"ジョブ\"");
    }
}
