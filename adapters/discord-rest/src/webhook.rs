//! [`JsonWebhook`]: the `Webhook` port as a JSON POST to an operator's URL.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use timmybot_core::{Webhook, WebhookError};
use url::Url;

use crate::BuildError;

/// POSTs events as JSON to one operator-configured URL.
///
/// The URL is treated as a secret (Slack and Discord webhook URLs embed
/// their token): it appears in no error, log line or `Debug` output.
/// Redirects are not followed, so events only ever reach that URL.
#[derive(Clone)]
pub struct JsonWebhook {
    http: reqwest::Client,
    url: Url,
}

impl fmt::Debug for JsonWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonWebhook").finish_non_exhaustive()
    }
}

impl JsonWebhook {
    /// A webhook that POSTs to `url`, giving up on a delivery after
    /// `timeout` (5 s is a sensible value: the operator's endpoint is not
    /// worth holding a command for longer).
    ///
    /// # Errors
    /// `url` is not http(s), or the TLS backend cannot start.
    pub fn new(url: Url, timeout: Duration) -> Result<Self, BuildError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(BuildError("webhook URL must be http(s)".into()));
        }
        let http = crate::http_client(reqwest::header::HeaderMap::new(), timeout)?;
        Ok(Self { http, url })
    }
}

#[async_trait]
impl Webhook for JsonWebhook {
    async fn post(&self, event: &serde_json::Value) -> Result<(), WebhookError> {
        let response = self.http.post(self.url.clone()).json(event).send().await.map_err(|error| {
            // Only the kind of failure: reqwest's messages and their sources
            // may carry the URL or its host.
            let what = if error.is_timeout() {
                "timed out"
            } else if error.is_connect() {
                "could not connect"
            } else {
                "request failed"
            };
            tracing::debug!(what, "webhook delivery failed");
            WebhookError(what.to_owned())
        })?;
        let status = response.status();
        tracing::debug!(route = "webhook", status = status.as_u16(), "webhook delivery");
        if status.is_success() { Ok(()) } else { Err(WebhookError(format!("status {}", status.as_u16()))) }
    }
}
