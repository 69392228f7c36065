//! "The alert offers its own remedy": a channel can name a job flow that an alert from it may
//! start, with the alert's top-level fields as the job flow's parameters. Configured in
//! kompira.conf, one `CHANNEL JOBFLOW` pair per line:
//!
//! ```ini
//! [notify]
//! remedies =
//!     /system/channels/Alert  /root/restart_process
//! ```
//!
//! Nothing runs by itself: the app offers the action and the user chooses it.

use crate::config::{parse_remedy_lines, Settings, NOTIFY};
use crate::rest::{ExecuteRequest, ParamValue, Parameters};
use crate::watch::Notification;

/// One channel's remedy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remedy {
    /// Alerts from this channel offer the remedy.
    pub channel: String,
    /// The job flow to run.
    pub jobflow: String,
}

impl Remedy {
    /// The job flow's name, the last part of its path (`restart_process`): what the app's
    /// action button names, in the user's language.
    pub fn jobflow_name(&self) -> &str {
        self.jobflow.rsplit('/').find(|s| !s.is_empty()).unwrap_or(&self.jobflow)
    }

    /// The execute request for `alert`: its fields become text parameters, always sent as
    /// string literals (an alert's text must never be compiled as an expression).
    pub fn request(&self, alert: &Notification) -> ExecuteRequest {
        let parameters: Parameters =
            alert.fields.iter().map(|(k, v)| (k.clone(), ParamValue::Text(v.clone()))).collect();
        ExecuteRequest { parameters, ..ExecuteRequest::default() }
    }
}

/// The remedy configured for `alert`'s channel, if any.
pub fn remedy_for<'a>(remedies: &'a [Remedy], alert: &Notification) -> Option<&'a Remedy> {
    remedies.iter().find(|r| r.channel == alert.channel)
}

/// Parses `CHANNEL JOBFLOW` lines (blank lines skipped); the error says which line is wrong.
/// The grammar is the one the settings check `[notify] remedies` with when they are loaded.
pub fn parse_remedies(text: &str) -> Result<Vec<Remedy>, String> {
    let pairs = parse_remedy_lines(text)?;
    Ok(pairs.into_iter().map(|(channel, jobflow)| Remedy { channel, jobflow }).collect())
}

/// The configured remedies (`[notify] remedies`, checked when the settings were loaded).
pub fn from_settings(settings: &Settings) -> Vec<Remedy> {
    settings.value(NOTIFY, "remedies").as_str().and_then(|text| parse_remedies(text).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::Fixture;
    use crate::watch::read_message;
    use serde_json::json;

    #[test]
    fn remedies_come_from_the_notify_section() {
        let s = Fixture::new()
            .load_text(
                "[notify]\nchannels = /root/channels/Desktop,\n  /system/channels/Alert\nmin_severity = 2\n\
                 quiet_hours = 22:00 - 7:30\nbreakthrough = none\nsound = off\n",
            )
            .unwrap();
        assert!(from_settings(&s).is_empty());
        let s = Fixture::new()
            .load_text("[notify]\nremedies =\n    /system/channels/Alert /root/restart_process\n")
            .unwrap();
        assert_eq!(from_settings(&s)[0].jobflow, "/root/restart_process");
    }

    #[test]
    fn an_alert_offers_its_channels_remedy_with_its_fields_as_parameters() {
        let remedies =
            parse_remedies("\n /system/channels/Alert   /root/restart_process\n/root/c /root/other\n").unwrap();
        let alert =
            read_message("/system/channels/Alert", &json!({"hostname": "web1", "severity": 4}), chrono::Utc::now());
        let remedy = remedy_for(&remedies, &alert).expect("configured for the Alert channel");
        assert_eq!(remedy.jobflow_name(), "restart_process");
        let request = remedy.request(&alert);
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"parameters": {"hostname": "\"web1\"", "severity": "\"4\""}})
        );
        let other = read_message("/root/elsewhere", &json!("x"), chrono::Utc::now());
        assert!(remedy_for(&remedies, &other).is_none());
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(parse_remedies("/a").unwrap_err().contains("\"/a\""));
        assert!(parse_remedies("/a b").unwrap_err().contains("CHANNEL JOBFLOW"));
        assert!(parse_remedies("/a /b\n/a /c").unwrap_err().contains("twice"));
    }
}
