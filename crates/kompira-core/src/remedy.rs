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
    /// The label of the action, e.g. "Run restart_process".
    pub fn label(&self) -> String {
        let name = self.jobflow.rsplit('/').find(|s| !s.is_empty()).unwrap_or(&self.jobflow);
        format!("Run {name}")
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
pub fn parse_remedies(text: &str) -> Result<Vec<Remedy>, String> {
    let mut remedies = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            [channel, jobflow] if channel.starts_with('/') && jobflow.starts_with('/') => {
                if remedies.iter().any(|r: &Remedy| r.channel == *channel) {
                    return Err(format!("names {channel} twice"));
                }
                remedies.push(Remedy { channel: (*channel).to_owned(), jobflow: (*jobflow).to_owned() });
            }
            _ => return Err(format!("has {line:?}, which is not `CHANNEL JOBFLOW` (two paths starting with /)")),
        }
    }
    Ok(remedies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::read_message;
    use serde_json::json;

    #[test]
    fn an_alert_offers_its_channels_remedy_with_its_fields_as_parameters() {
        let remedies =
            parse_remedies("\n /system/channels/Alert   /root/restart_process\n/root/c /root/other\n").unwrap();
        let alert =
            read_message("/system/channels/Alert", &json!({"hostname": "web1", "severity": 4}), chrono::Utc::now());
        let remedy = remedy_for(&remedies, &alert).expect("configured for the Alert channel");
        assert_eq!(remedy.label(), "Run restart_process");
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
