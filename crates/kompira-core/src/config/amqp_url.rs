//! `AMQP_URL` read as Python's `urllib.parse.urlparse` reads it, as the official tool does:
//! scheme, host, port, user and password (percent-decoded); the vhost is always `/`.

use super::keys::MASK;

/// What `urllib.parse.urlparse` gives for an `amqp[s]://` URL.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct AmqpUrl {
    pub(super) ssl: bool,
    pub(super) host: Option<String>,
    pub(super) port: Option<i64>,
    pub(super) user: Option<String>,
    pub(super) password: Option<String>,
}

/// The vhost an AMQP URL names other than `/`, if any. The tools always use `/` (where the
/// Kompira server consumes io_queue), as the official tool does with AMQP_URL, so such a
/// vhost is ignored; this finds it so that a warning can say so.
pub(super) fn amqp_url_other_vhost(url: &str) -> Option<String> {
    let after = url.trim_matches(|c: char| c <= ' ').split_once("://")?.1;
    let path = &after[after.find('/')?..];
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    let vhost = percent_decode(&path[1..]);
    (!vhost.is_empty() && vhost != "/").then_some(vhost)
}

pub(super) fn parse_amqp_url(url: &str) -> Result<AmqpUrl, String> {
    let url = url.trim_matches(|c: char| c <= ' ');
    let not_amqp = || "is not an amqp:// or amqps:// URL (e.g. amqps://user:pass@host:5671)".to_string();
    let (scheme, rest) = url.split_once(':').ok_or_else(not_amqp)?;
    let ssl = match scheme.to_ascii_lowercase().as_str() {
        "amqp" => false,
        "amqps" => true,
        _ => return Err(not_amqp()),
    };
    let netloc = match rest.strip_prefix("//") {
        Some(after) => &after[..after.find(['/', '?', '#']).unwrap_or(after.len())],
        None => "",
    };
    let (userinfo, hostinfo) = match netloc.rsplit_once('@') {
        Some((info, host)) => (Some(info), host),
        None => (None, netloc),
    };
    let (user, password) = match userinfo {
        Some(info) => match info.split_once(':') {
            Some((u, p)) => (Some(percent_decode(u)), Some(percent_decode(p))),
            None => (Some(percent_decode(info)), None),
        },
        None => (None, None),
    };
    let (host, port) = match hostinfo.split_once('[') {
        Some((_, bracketed)) => {
            let (host, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
            (host, after.split_once(':').map_or("", |(_, p)| p))
        }
        None => hostinfo.split_once(':').unwrap_or((hostinfo, "")),
    };
    let host = (!host.is_empty()).then(|| host.to_lowercase());
    let port = if port.is_empty() {
        None
    } else if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("has a port {port:?} that is not a number"));
    } else {
        match port.parse::<i64>() {
            Ok(p) if p <= 65535 => Some(p),
            _ => return Err(format!("has a port {port} out of range (1–65535)")),
        }
    };
    Ok(AmqpUrl { ssl, host, port, user, password })
}

/// `urllib.parse.unquote`: `%XX` escapes as UTF-8, invalid bytes replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with any password replaced by the mask, for error messages.
pub(super) fn mask_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let start = scheme_end + 3;
    let netloc_end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    let Some(at) = url[start..netloc_end].rfind('@').map(|i| start + i) else {
        return url.to_string();
    };
    match url[start..at].find(':') {
        Some(colon) => format!("{}{MASK}{}", &url[..start + colon + 1], &url[at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::Fixture;

    #[test]
    fn amqp_url_vhost_other_than_root_is_named_in_a_warning() {
        assert_eq!(amqp_url_other_vhost("amqp://u:p@h:1/kompira?x=1"), Some("kompira".into()));
        assert_eq!(amqp_url_other_vhost("amqp://h/a%2Fb"), Some("a/b".into()));
        for root in ["amqp://h", "amqp://h/", "amqp://h/%2f", "amqp://h/%2F?x", "amqp:h"] {
            assert_eq!(amqp_url_other_vhost(root), None, "{root}");
        }
        let s = Fixture::new().env("AMQP_URL", "amqp://h/kompira").load_file(None).unwrap();
        assert!(s.warnings().iter().any(|w| w.contains("\"kompira\", which is ignored")), "{:?}", s.warnings());
    }

    #[test]
    fn amqp_url_forms_parse_like_urlparse() {
        let url = |u: &str| parse_amqp_url(u).unwrap();
        assert_eq!(
            url("AMQPS://u@h"),
            AmqpUrl { ssl: true, host: Some("h".into()), port: None, user: Some("u".into()), password: None }
        );
        assert_eq!(url("amqp://:pw@h:").password.as_deref(), Some("pw"));
        assert_eq!(url("amqp://:pw@h:").user.as_deref(), Some(""));
        assert_eq!(url("amqp://[::1]:5672").host.as_deref(), Some("::1"));
        assert_eq!(url("amqp://[::1]:5672").port, Some(5672));
        assert_eq!(url("amqp://a@b@h/x?y").user.as_deref(), Some("a@b"));
        assert_eq!(url("amqp:h").host, None);
        assert!(parse_amqp_url("amqp://h:abc").is_err());
        assert!(parse_amqp_url("amqp://h:70000").is_err());
    }

    #[test]
    fn amqp_url_with_other_scheme_is_error() {
        let e = Fixture::new().env("AMQP_URL", "http://u:secret@h").load_file(None).unwrap_err().to_string();
        assert!(e.starts_with("AMQP_URL=\"http://u:********@h\" is not an amqp:// or amqps:// URL"), "{e}");
        assert!(Fixture::new().env("AMQP_URL", "localhost").load_file(None).is_err());
    }

    #[test]
    fn amqp_url_port_zero_is_error_without_showing_password() {
        let e = Fixture::new().env("AMQP_URL", "amqp://u:secret@h:0").load_file(None).unwrap_err().to_string();
        assert_eq!(e, "AMQP_URL=\"amqp://u:********@h:0\" gives port 0, which is out of range (1–65535)");
    }
}
