//! User text inside messages.

/// `text` in double quotes, with quotes, backslashes and control characters escaped as JSON
/// escapes them (`\u001b`): a message stays on one line, never sends a terminal escape
/// sequence, and shows no Rust-only `\u{1b}` forms.
pub(crate) fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| String::from("\"?\""))
}

/// A URL for a message: its user part (`user:password@`) and its query and fragment (where a token may
/// travel, `?token=…`) are masked; the rest is kept to say which URL is meant.
pub(crate) fn url_without_secrets(url: &str) -> String {
    const MASK: &str = "********";
    let (before_query, had_query) = match url.find(['?', '#']) {
        Some(at) => (&url[..at], Some(&url[at..at + 1])),
        None => (url, None),
    };
    let mut shown = match before_query.find("://") {
        Some(scheme_end) => {
            let start = scheme_end + 3;
            let netloc_end = before_query[start..].find('/').map_or(before_query.len(), |i| start + i);
            let netloc = &before_query[start..netloc_end];
            match netloc.rfind('@') {
                // All of the user part: a token is sometimes given as the user name.
                Some(at) => format!("{}{MASK}{}", &before_query[..start], &before_query[start + at..]),
                None => before_query.to_string(),
            }
        }
        None => before_query.to_string(),
    };
    if let Some(mark) = had_query {
        shown.push_str(mark);
        shown.push_str(MASK);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::{quoted, url_without_secrets};

    #[test]
    fn urls_lose_passwords_queries_and_fragments() {
        assert_eq!(url_without_secrets("https://k.example/x"), "https://k.example/x");
        assert_eq!(url_without_secrets("https://k/?token=abc"), "https://k/?********");
        assert_eq!(url_without_secrets("http://u:pw@k:8/p#t=1"), "http://********@k:8/p#********");
        assert_eq!(url_without_secrets("ftp://tok@en@k"), "ftp://********@k");
        assert_eq!(url_without_secrets("k?token=1"), "k?********");
    }

    #[test]
    fn control_characters_are_escaped_the_json_way() {
        assert_eq!(quoted("a\u{1b}[31m\"b\"\n"), r#""a\u001b[31m\"b\"\n""#);
        assert_eq!(quoted("ジョブ"), "\"ジョブ\"");
    }
}
