//! The REST client as the alert watcher's message source: `.recv` long polls, with the
//! client's error sentences and transient/fatal judgement passed through.

use std::time::Duration;

use serde_json::Value;

use super::client::Client;
use crate::watch::{ChannelSource, SourceError};

impl ChannelSource for Client {
    async fn recv(&self, channel: &str, timeout: Duration) -> Result<Option<Value>, SourceError> {
        Client::recv(self, channel, timeout)
            .await
            .map_err(|error| SourceError { transient: error.is_transient(), message: error.to_string() })
    }
}
