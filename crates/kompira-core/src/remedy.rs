//! "The alert offers its own remedy": a channel can name a job flow that an alert from it may
//! start, with the alert's top-level fields as the job flow's parameters. Configured in
//! kompira.conf, one `CHANNEL JOBFLOW [PARAMETER…]` line per channel:
//!
//! ```ini
//! [notify]
//! remedies =
//!     /system/channels/Alert  /root/restart_process  hostname
//! ```
//!
//! Named parameters are an allow-list: only those fields are passed, the others are dropped
//! (and the confirmation says so). Without names every field is passed. Nothing runs by
//! itself: the app shows the [`RemedyPlan`] (job flow and exact parameters) and the user
//! confirms it.

use crate::config::{parse_remedy_lines, Settings, NOTIFY};
use crate::rest::{ExecuteRequest, ParamValue, Parameters};
use crate::watch::Notification;
use serde::Serialize;

/// One channel's remedy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remedy {
    /// Alerts from this channel offer the remedy.
    pub channel: String,
    /// The job flow to run.
    pub jobflow: String,
    /// The parameters it takes; empty: every field of the alert.
    pub params: Vec<String>,
}

/// Exactly what a remedy would run for one alert, for a person to confirm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemedyPlan {
    /// The job flow's path.
    pub jobflow: String,
    /// The parameters, in the alert's field order, each sent as a string literal.
    pub parameters: Vec<(String, String)>,
    /// Fields of the alert that the allow-list leaves out.
    pub dropped: Vec<String>,
    /// Parameters whose value the alert reader cut (the message held more).
    pub cut: Vec<String>,
    /// Allowed parameters the alert does not have (the job flow gets its default for them).
    pub missing: Vec<String>,
    /// Fields the alert had beyond those kept: with no allow-list, they are not passed either.
    pub fields_left_out: usize,
}

impl Remedy {
    /// The job flow's name, the last part of its path (`restart_process`): what the app's
    /// action button names, in the user's language.
    pub fn jobflow_name(&self) -> &str {
        self.jobflow.rsplit('/').find(|s| !s.is_empty()).unwrap_or(&self.jobflow)
    }

    /// What running this remedy for `alert` means: the allowed fields (or all), and what was
    /// left out or cut on the way.
    pub fn plan(&self, alert: &Notification) -> RemedyPlan {
        let allowed = |key: &str| self.params.is_empty() || self.params.iter().any(|p| p == key);
        let (parameters, dropped): (Vec<_>, Vec<_>) = alert.fields.iter().cloned().partition(|(k, _)| allowed(k));
        let cut = alert.cut_fields.iter().filter(|k| allowed(k)).cloned().collect();
        let missing = self.params.iter().filter(|p| !alert.fields.iter().any(|(k, _)| k == *p)).cloned().collect();
        RemedyPlan {
            jobflow: self.jobflow.clone(),
            parameters,
            dropped: dropped.into_iter().map(|(k, _)| k).collect(),
            cut,
            missing,
            fields_left_out: alert.fields_left_out,
        }
    }

    /// The execute request for `alert`: its [`plan`](Self::plan)'s parameters as text, always
    /// sent as string literals (an alert's text must never be compiled as an expression).
    pub fn request(&self, alert: &Notification) -> ExecuteRequest {
        self.plan(alert).request()
    }
}

impl RemedyPlan {
    /// The execute request that runs this plan.
    pub fn request(&self) -> ExecuteRequest {
        let parameters: Parameters =
            self.parameters.iter().map(|(k, v)| (k.clone(), ParamValue::Text(v.clone()))).collect();
        ExecuteRequest { parameters, ..ExecuteRequest::default() }
    }
}

/// The remedy configured for `alert`'s channel, if any.
pub fn remedy_for<'a>(remedies: &'a [Remedy], alert: &Notification) -> Option<&'a Remedy> {
    remedies.iter().find(|r| r.channel == alert.channel)
}

/// Parses `CHANNEL JOBFLOW [PARAMETER…]` lines (blank lines skipped); the error says which
/// line is wrong. The grammar is the one the settings check `[notify] remedies` with when they
/// are loaded.
pub fn parse_remedies(text: &str) -> Result<Vec<Remedy>, String> {
    let lines = parse_remedy_lines(text)?;
    Ok(lines.into_iter().map(|(channel, jobflow, params)| Remedy { channel, jobflow, params }).collect())
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
    fn named_parameters_are_an_allow_list_and_the_plan_says_what_is_left_out_or_cut() {
        let remedies = parse_remedies("/system/channels/Alert /root/restart_process hostname, service").unwrap();
        assert_eq!(remedies[0].params, ["hostname", "service"]);
        // The popup is about web1; the message also carries host=db-prod, which must not ride along.
        let long = "x".repeat(400);
        let alert = read_message(
            "/system/channels/Alert",
            &json!({"hostname": "web1", "host": "db-prod", "severity": 4, "service": long}),
            chrono::Utc::now(),
        );
        let plan = remedies[0].plan(&alert);
        assert_eq!(plan.jobflow, "/root/restart_process");
        assert_eq!(plan.parameters.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["hostname", "service"]);
        assert_eq!(plan.parameters[0].1, "web1");
        assert_eq!(plan.dropped, ["host", "severity"]);
        assert_eq!(plan.cut, ["service"], "the 400-character value was cut to 300 and the plan says so");
        assert!(plan.missing.is_empty());
        assert_eq!(
            serde_json::to_value(plan.request()).unwrap(),
            json!({"parameters": {"hostname": "\"web1\"", "service": format!("\"{}…\"", "x".repeat(300))}})
        );
        let sparse = read_message("/system/channels/Alert", &json!({"service": "nginx"}), chrono::Utc::now());
        assert_eq!(remedies[0].plan(&sparse).missing, ["hostname"]);
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(parse_remedies("/a").unwrap_err().contains("\"/a\""));
        assert!(parse_remedies("/a b").unwrap_err().contains("CHANNEL JOBFLOW"));
        assert!(parse_remedies("/a /b host-name").unwrap_err().contains("\"host-name\" after /b"));
        assert!(parse_remedies("/a /b\n/a /c").unwrap_err().contains("twice"));
    }
}
