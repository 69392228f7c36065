//! `[notify]` as the alert watcher and the task poller use it: [`NotifySettings::from_settings`].

use std::time::Duration;

use super::{Policy, Severity};
use crate::config::{parse_channels, parse_quiet_hours, Settings, NOTIFY};

/// `[notify]`: what to watch and when to pop up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifySettings {
    /// Channel paths to watch.
    pub channels: Vec<String>,
    /// Popup rules.
    pub policy: Policy,
    /// Play the notification sound.
    pub sound: bool,
    /// How often the tray app asks for tasks waiting for a person (`task_poll`, seconds);
    /// `None` when it should not (`task_poll = 0`).
    pub task_poll: Option<Duration>,
    /// The Kompira user the tasks are meant for (`task_user`): tasks assigned to that user,
    /// or to nobody and created by that user's job flows. `None` takes every waiting task
    /// the token can read: Kompira 1.6 has no REST call that names the token's user.
    pub task_user: Option<String>,
}

impl NotifySettings {
    /// Desktop alert settings: the channels to watch (the `[event] channel` when unset) and the
    /// popup policy. Values were checked when the settings were loaded. (The remedies are
    /// `remedy::from_settings`.)
    pub fn from_settings(settings: &Settings) -> Self {
        let text = |key: &str| settings.get(NOTIFY, key).and_then(|r| r.value.as_str().map(str::to_owned));
        let channels = text("channels")
            .and_then(|list| parse_channels(&list).ok())
            .filter(|list| !list.is_empty())
            .unwrap_or_else(|| vec![settings.channel().to_owned()]);
        let severity = |key: &str| text(key).and_then(|name| Severity::parse(&name));
        NotifySettings {
            channels,
            policy: Policy {
                min_severity: severity("min_severity").unwrap_or(Severity::NotClassified),
                quiet_hours: text("quiet_hours").and_then(|t| parse_quiet_hours(&t).ok()),
                breakthrough: severity("breakthrough"),
            },
            sound: settings.get(NOTIFY, "sound").and_then(|r| r.value.as_bool()).unwrap_or(true),
            task_poll: match settings.int_or_default(NOTIFY, "task_poll") {
                0 => None,
                secs => Some(Duration::from_secs(secs.clamp(5, 3600) as u64)),
            },
            task_user: text("task_user").map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveTime;

    use super::*;
    use crate::config::testing::{value_of, Fixture};
    use crate::config::Value;

    #[test]
    fn notify_defaults_watch_the_event_channel() {
        let s = Fixture::new().load_text("[event]\nchannel = /root/channels/Mine\n").unwrap();
        let notify = NotifySettings::from_settings(&s);
        assert_eq!(notify.channels, ["/root/channels/Mine"]);
        assert_eq!(notify.policy, Policy::default());
        assert!(notify.sound);
    }

    #[test]
    fn notify_settings_are_parsed_and_normalised() {
        let s = Fixture::new()
            .load_text(
                "[notify]\nchannels = /root/channels/Desktop,\n  /system/channels/Alert\nmin_severity = 2\n\
                 quiet_hours = 22:00 - 7:30\nbreakthrough = none\nsound = off\n",
            )
            .unwrap();
        let notify = NotifySettings::from_settings(&s);
        assert_eq!(notify.channels, ["/root/channels/Desktop", "/system/channels/Alert"]);
        assert_eq!(notify.policy.min_severity, Severity::Warning);
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(notify.policy.quiet_hours, Some((at(22, 0), at(7, 30))));
        assert_eq!(notify.policy.breakthrough, None);
        assert!(!notify.sound);
        assert_eq!(value_of(&s, "notify", "quiet_hours"), Value::Str("22:00-07:30".into()));
        assert_eq!(value_of(&s, "notify", "min_severity"), Value::Str("Warning".into()));
        // The remedies of this test are in `remedy.rs`, beside `remedy::from_settings`.
    }

    #[test]
    fn task_settings_default_to_every_15_seconds_for_anyone() {
        let notify = NotifySettings::from_settings(&Fixture::new().load_text("").unwrap());
        assert_eq!(notify.task_poll, Some(std::time::Duration::from_secs(15)));
        assert_eq!(notify.task_user, None);
        let notify = NotifySettings::from_settings(
            &Fixture::new().load_text("[notify]\ntask_poll = 0\ntask_user = alice \n").unwrap(),
        );
        assert_eq!(notify.task_poll, None);
        assert_eq!(notify.task_user.as_deref(), Some("alice"));
        let err = Fixture::new().load_text("[notify]\ntask_poll = 2\n").unwrap_err().to_string();
        assert!(err.contains(":2: [notify] task_poll") && err.contains("5–3600"), "{err}");
    }

    #[test]
    fn the_settings_read_a_severity_as_severity_parse_does() {
        // `config` checks `[notify] min_severity` without knowing `Severity`; the two readings
        // must agree, or a value would load and then be read as something else.
        for text in [
            "0",
            "3",
            "5",
            "6",
            "high",
            "DISASTER",
            "not classified",
            "not_classified",
            "Not-Classified",
            "info",
            "warn",
            "error",
            "critical",
            "fatal",
            "severe",
            "",
        ] {
            let loaded = Fixture::new().load_text(&format!("[notify]\nmin_severity = {text}\n"));
            match Severity::parse(text) {
                Some(severity) => {
                    let s = loaded.unwrap_or_else(|e| panic!("{text:?}: {e}"));
                    assert_eq!(value_of(&s, "notify", "min_severity"), Value::Str(severity.name().into()), "{text:?}");
                    assert_eq!(NotifySettings::from_settings(&s).policy.min_severity, severity, "{text:?}");
                }
                None => assert!(loaded.is_err(), "{text:?}"),
            }
        }
    }
}
