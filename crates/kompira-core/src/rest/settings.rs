//! `[rest]` as the REST client uses it: [`RestSettings::from_settings`].

use std::path::PathBuf;
use std::time::Duration;

use super::RestSettings;
use crate::config::{ConfigError, Settings, REST};
use crate::secret::Secret;

impl RestSettings {
    /// The `[rest]` settings for the REST client; an unset url or token is an error that
    /// says which key (or variable) to set.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let text =
            |key: &str| settings.value(REST, key).as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let url = text("url").ok_or_else(|| ConfigError::Missing {
            section: REST.into(),
            key: "url".into(),
            hint: "(e.g. https://kompira.example.com) or KOMPIRA_URL".into(),
        })?;
        let token = text("token").ok_or_else(|| ConfigError::Missing {
            section: REST.into(),
            key: "token".into(),
            hint: "(the REST API token from your Kompira user settings) or KOMPIRA_TOKEN".into(),
        })?;
        let timeout = u64::try_from(settings.int_or_default(REST, "timeout")).unwrap_or(30).max(1);
        Ok(RestSettings {
            url,
            token: Secret::new(token),
            ca_file: text("ca_file").map(PathBuf::from),
            insecure: settings.value(REST, "insecure").as_bool().unwrap_or(false),
            timeout: Duration::from_secs(timeout),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::config::testing::{source_of, value_of, Fixture};
    use crate::config::Value;

    #[test]
    fn rest_settings_come_from_the_file() {
        let s = Fixture::new()
            .load_text("[rest]\nurl = https://kompira.example.com\ntoken = abc123\nca_file = /etc/ca.pem\ninsecure = yes\ntimeout = 7\n")
            .unwrap();
        let rest = RestSettings::from_settings(&s).unwrap();
        assert_eq!(rest.url, "https://kompira.example.com");
        assert_eq!(rest.token.expose(), "abc123");
        assert_eq!(rest.ca_file, Some(PathBuf::from("/etc/ca.pem")));
        assert!(rest.insecure);
        assert_eq!(rest.timeout, Duration::from_secs(7));
    }

    #[test]
    fn rest_defaults_and_missing_keys_say_what_to_set() {
        let s = Fixture::new().load_file(None).unwrap();
        assert_eq!(value_of(&s, "rest", "timeout"), Value::Int(30));
        assert_eq!(value_of(&s, "rest", "insecure"), Value::Bool(false));
        assert_eq!(
            RestSettings::from_settings(&s).unwrap_err().to_string(),
            "set [rest] url (e.g. https://kompira.example.com) or KOMPIRA_URL"
        );
        let s = Fixture::new().load_text("[rest]\nurl = https://k\ntoken =\n").unwrap();
        assert!(RestSettings::from_settings(&s).unwrap_err().to_string().starts_with("set [rest] token ("));
        let rest =
            RestSettings::from_settings(&Fixture::new().load_text("[rest]\nurl = https://k\ntoken = t\n").unwrap())
                .unwrap();
        assert_eq!((rest.ca_file, rest.insecure, rest.timeout), (None, false, Duration::from_secs(30)));
    }

    #[test]
    fn rest_environment_beats_the_file() {
        let s = Fixture::new()
            .env("KOMPIRA_URL", "http://sim:8080")
            .env("KOMPIRA_TOKEN", "from-env")
            .load_text("[rest]\nurl = https://file\ntoken = from-file\n")
            .unwrap();
        let rest = RestSettings::from_settings(&s).unwrap();
        assert_eq!((rest.url.as_str(), rest.token.expose()), ("http://sim:8080", "from-env"));
        assert_eq!(source_of(&s, "rest", "token"), "environment KOMPIRA_TOKEN");
    }

    #[test]
    fn rest_token_is_masked_everywhere() {
        let s = Fixture::new().load_text("[rest]\nurl = https://k\ntoken = hunter2\n").unwrap();
        let shown = s.get("rest", "token").unwrap().shown("rest", "token");
        let debug = format!("{s:?} {:?}", RestSettings::from_settings(&s).unwrap());
        assert_eq!(shown, "********");
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
