//! [`InteractionReplies`]: the `DiscordReplies` port over Discord's
//! interaction webhooks (`PATCH /webhooks/{application}/{token}/messages/@original`),
//! for code that answers members outside the gateway (the start check).
//!
//! The interaction's token authenticates the call and sits in the path, so
//! no bot token is sent and no URL ever reaches an error or a log line.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, USER_AGENT};
use timmybot_core::{ApplicationId, DiscordReplies, OutgoingMessage, ReplyError, Secret};
use url::Url;

use crate::BuildError;
use crate::client::{USER_AGENT_VALUE, message_body};

/// Edits interaction replies through Discord's webhook routes.
#[derive(Debug, Clone)]
pub struct InteractionReplies {
    http: reqwest::Client,
    api_base: Url,
}

impl InteractionReplies {
    /// Replies through the API at `api_base` (e.g.
    /// [`crate::DEFAULT_API_BASE`], or a fake's
    /// `http://127.0.0.1:<port>/api/v10/`); each call gives up after
    /// `timeout`.
    ///
    /// # Errors
    /// `api_base` is not an http(s) URL, or the TLS backend cannot start.
    pub fn new(api_base: Url, timeout: Duration) -> Result<Self, BuildError> {
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        Ok(Self { http: crate::http_client(headers, timeout)?, api_base: crate::api_base(api_base)? })
    }
}

#[async_trait]
impl DiscordReplies for InteractionReplies {
    async fn edit_original(
        &self,
        application: ApplicationId,
        token: &Secret,
        message: &OutgoingMessage,
    ) -> Result<(), ReplyError> {
        let failed = |message: String, unknown_interaction: bool| ReplyError { message, unknown_interaction };
        if !is_token_like(token.expose()) {
            return Err(failed("edit reply: the interaction token is malformed".into(), false));
        }
        let mut url = self.api_base.clone();
        url.path_segments_mut()
            .map_err(|()| failed("edit reply: invalid route".into(), false))?
            .pop_if_empty()
            .extend(["webhooks", &application.to_string(), token.expose(), "messages", "@original"]);
        let response = self
            .http
            .patch(url)
            .json(&message_body(message, true))
            .send()
            .await
            .map_err(|e| failed(format!("edit reply: {}", e.without_url()), false))?;
        let status = response.status();
        tracing::debug!(status = status.as_u16(), "discord reply edited");
        if status.is_success() {
            return Ok(());
        }
        Err(failed(format!("edit reply: {status}"), status == StatusCode::NOT_FOUND))
    }
}

/// Whether `token` can be an interaction token (base64-like text): anything
/// else is refused before it could change the request's path.
fn is_token_like(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 1024
        && token.chars().any(|c| c.is_ascii_alphanumeric())
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~+=:".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_base64_like_text() {
        assert!(is_token_like("aW50ZXJhY3Rpb246MTIz.abc-_=+:"));
        for bad in ["", "..", ".", "a/b", "a b", "a?b", "a#b", "a%2Fb"] {
            assert!(!is_token_like(bad), "{bad}");
        }
    }
}
