//! The quick-send form: an event with KEY=VALUE rows or a raw body.

use kompira_core::config::Settings;
use kompira_core::event::{
    self, message::Stamp, ConnectOptions, Event, EventBody, RetryPolicy, ONE_SHOT_FRAME_MAX,
};
use serde::Deserialize;
use tauri::State;

use super::rows::{pairs, Row};
use crate::state::AppState;

/// What the form sends.
#[derive(Debug, Default, Deserialize)]
pub struct SendForm {
    /// Target channel; empty means the `[event] channel`.
    #[serde(default)]
    pub channel: String,
    /// KEY=VALUE rows (blank rows ignored).
    #[serde(default)]
    pub fields: Vec<Row>,
    /// A raw text body, the alternative to fields.
    #[serde(default)]
    pub raw: String,
    /// Site id; none means `[kompira] site_id`.
    pub site_id: Option<i64>,
}

/// Sends the event; the correlation id on success, an error sentence otherwise.
#[tauri::command]
pub async fn send_event(state: State<'_, AppState>, form: SendForm) -> Result<String, String> {
    let settings = state.settings().map_err(|e| format!("settings not loaded: {e}"))?;
    send(&settings, form).await
}

/// The command's work, without Tauri (tested against the real broker).
pub async fn send(settings: &Settings, form: SendForm) -> Result<String, String> {
    let event = build_event(settings, form)?;
    let options = ConnectOptions::from_settings(&settings.amqp(), ONE_SHOT_FRAME_MAX);
    // Interactive: report the first failure at once rather than retry behind a spinner.
    let retry = RetryPolicy { max_retry: 0, interval: std::time::Duration::ZERO };
    let stamp = Stamp::now();
    event::send_event(&options, retry, &event, &stamp, |_, _| {})
        .await
        .map(|report| report.correlation_id)
        .map_err(|e| format!("Failed to {}: {e}", e.stage().as_str()))
}

/// Validates the form: KEY=VALUE rows (see `check_rows`), a channel path, fields or a raw body.
pub fn build_event(settings: &Settings, form: SendForm) -> Result<Event, String> {
    let channel = match form.channel.trim() {
        "" => settings.channel().to_owned(),
        c if c.starts_with('/') => c.to_owned(),
        c => return Err(format!("{c:?} is not a channel path (like /system/channels/Alert)")),
    };
    let fields = event::check_rows(&pairs(&form.fields)).map_err(|e| format!("fields: {e}"))?;
    let body = match (fields.is_empty(), form.raw.is_empty()) {
        (false, true) => EventBody::Fields(fields),
        (true, false) => EventBody::Raw(form.raw.into_bytes()),
        (false, false) => return Err("fill in fields or a raw body, not both (clear one of them)".into()),
        (true, true) => return Err("nothing to send: add a KEY=VALUE row or a raw body".into()),
    };
    Ok(Event { body, channel, site_id: form.site_id.unwrap_or_else(|| settings.site_id()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(conf: &str) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kompira.conf");
        std::fs::write(&path, conf).unwrap();
        crate::commands::settings_from_file(&path)
    }

    fn rows(pairs: &[(&str, &str)]) -> Vec<Row> {
        pairs.iter().map(|(k, v)| Row { key: (*k).into(), value: (*v).into() }).collect()
    }

    #[test]
    fn the_form_follows_sendevt_rules_and_defaults() {
        let s = settings("[event]\nchannel = /root/c\n[kompira]\nsite_id = 4\n");
        let form = SendForm { fields: rows(&[("host", "web1"), ("", ""), (" msg", "a=b ")]), ..SendForm::default() };
        let event = build_event(&s, form).unwrap();
        assert_eq!(event.channel, "/root/c");
        assert_eq!(event.site_id, 4);
        assert_eq!(event.body, EventBody::Fields(vec![("host".into(), "web1".into()), ("msg".into(), "a=b".into())]));
        let raw = build_event(&s, SendForm { raw: "text".into(), site_id: Some(9), ..SendForm::default() }).unwrap();
        assert_eq!((raw.body, raw.site_id), (EventBody::Raw(b"text".to_vec()), 9));
    }

    #[test]
    fn bad_forms_get_a_sentence() {
        let s = settings("");
        let bad = |form: SendForm| build_event(&s, form).unwrap_err();
        assert!(bad(SendForm::default()).contains("nothing to send"));
        assert_eq!(
            bad(SendForm { fields: rows(&[("a", "1"), ("a", "2")]), ..SendForm::default() }),
            "fields: row 2: the key \"a\" is already used in row 1"
        );
        assert!(bad(SendForm { fields: rows(&[("", "x")]), ..SendForm::default() }).contains("the key is empty"));
        let both = SendForm { fields: rows(&[("a", "1")]), raw: "text".into(), ..SendForm::default() };
        assert!(bad(both).contains("not both"));
        assert!(bad(SendForm { channel: "Alert".into(), fields: rows(&[("a", "1")]), ..SendForm::default() }).contains("not a channel path"));
    }

    #[tokio::test]
    async fn the_form_sends_a_confirmed_event_to_the_broker() {
        let url = kompira_testkit::broker_url();
        let _guard = kompira_testkit::lock_io_queue().await;
        kompira_testkit::declare_io_queue(&url).await.unwrap();
        kompira_testkit::purge(&url, kompira_testkit::IO_QUEUE).await.unwrap();
        let s = settings("[amqp-connection]\nserver = 127.0.0.1\n");
        let id = send(&s, SendForm { fields: rows(&[("from", "app")]), ..SendForm::default() }).await.unwrap();
        let msg = kompira_testkit::receive_one(&url, kompira_testkit::IO_QUEUE, std::time::Duration::from_secs(10))
            .await
            .unwrap()
            .expect("the event arrived");
        assert_eq!(msg.body, br#"{"from": "app"}"#);
        assert_eq!(msg.properties.correlation_id().as_ref().unwrap().as_str(), id);
    }

    #[tokio::test]
    async fn an_unreachable_broker_is_reported_not_hung() {
        let s = settings("[amqp-connection]\nserver = 127.0.0.1\nport = 1\n");
        let err = send(&s, SendForm { fields: rows(&[("a", "1")]), ..SendForm::default() }).await.unwrap_err();
        assert!(err.starts_with("Failed to connect: "), "{err}");
    }
}
