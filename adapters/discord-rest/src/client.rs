//! [`DiscordRestClient`]: the `DiscordRest` port over Discord's HTTP API v10.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use timmybot_core::{
    ChannelId, DiscordError, DiscordErrorKind, DiscordRest, GuildId, GuildInfo, MessageRef, OutgoingMessage, Secret,
    UserId,
};
use url::Url;

use crate::BuildError;

/// Discord's API root; routes are joined onto it, so it ends with `/`.
pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10/";

/// Discord requires this form: `DiscordBot ($url, $versionNumber)`.
pub(crate) const USER_AGENT_VALUE: &str = "DiscordBot (https://github.com/timmybot/timmybot, 0.1)";

/// Longest 429 wait honoured inline; longer ones are the caller's problem,
/// since blocking a command for many seconds is worse than reporting it.
const MAX_INLINE_RETRY: Duration = Duration::from_secs(2);

/// Discord's JSON error code for "Cannot send messages to this user".
const CANNOT_MESSAGE_USER: u64 = 50007;

/// How much of an unparseable error body goes into an error message.
const BODY_EXCERPT: usize = 200;

/// Discord's REST API as the bot user.
///
/// Sends `Authorization: Bot <token>` (marked sensitive, so it never shows
/// in `Debug` output) on every request and follows no redirects, so the
/// token can only ever reach `api_base`'s host.
#[derive(Clone)]
pub struct DiscordRestClient {
    http: reqwest::Client,
    api_base: Url,
    /// Kept only to scrub it from error text a server might echo back.
    bot_token: Secret,
}

impl fmt::Debug for DiscordRestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordRestClient").field("api_base", &self.api_base.as_str()).finish_non_exhaustive()
    }
}

impl DiscordRestClient {
    /// A client for the API at `api_base` (e.g. [`DEFAULT_API_BASE`], or a
    /// fake's `http://127.0.0.1:<port>/api/v10/`); every request, including
    /// connecting, gives up after `timeout`.
    ///
    /// # Errors
    /// `api_base` is not an http(s) URL, the token cannot be a header value,
    /// or the TLS backend cannot start.
    pub fn new(api_base: Url, bot_token: Secret, timeout: Duration) -> Result<Self, BuildError> {
        let api_base = crate::api_base(api_base)?;
        let mut auth = HeaderValue::from_str(&format!("Bot {}", bot_token.expose()))
            // Never echo the value: it is the token.
            .map_err(|_| BuildError("bot token contains characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        let http = crate::http_client(headers, timeout)?;
        Ok(Self { http, api_base, bot_token })
    }

    /// Sends one request and returns the JSON body of a 2xx answer (`Null`
    /// for an empty one). A 429 with a short `retry_after` is waited out
    /// and retried once.
    async fn call(
        &self,
        route: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, DiscordError> {
        let url = self
            .api_base
            .join(path)
            .map_err(|_| DiscordError::new(DiscordErrorKind::Rejected, format!("{route}: invalid route")))?;
        let mut retried = false;
        loop {
            let mut request = self.http.request(method.clone(), url.clone());
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|error| transport_error(route, &error))?;
            let status = response.status();
            tracing::debug!(route, status = status.as_u16(), "discord rest call");
            let retry_after_header = header_seconds(response.headers().get(RETRY_AFTER));
            let bytes = response.bytes().await.map_err(|error| transport_error(route, &error))?;
            if status.is_success() {
                if bytes.is_empty() {
                    return Ok(Value::Null);
                }
                return serde_json::from_slice(&bytes).map_err(|_| {
                    DiscordError::new(DiscordErrorKind::Unavailable, format!("{route}: response is not JSON"))
                });
            }
            let error = serde_json::from_slice::<ErrorBody>(&bytes).ok();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = error.as_ref().and_then(|e| e.retry_after).and_then(seconds).or(retry_after_header);
                match wait {
                    Some(wait) if !retried && wait <= MAX_INLINE_RETRY => {
                        tracing::debug!(route, wait_ms = wait.as_millis(), "discord rate limit: waiting once");
                        retried = true;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    _ => {
                        let after = wait.map_or_else(|| "unknown".to_owned(), |w| format!("{:.1} s", w.as_secs_f64()));
                        return Err(DiscordError::new(
                            DiscordErrorKind::RateLimited,
                            format!("{route}: 429 Too Many Requests (retry after {after})"),
                        ));
                    }
                }
            }
            let error = status_error(route, status, error.as_ref(), &bytes);
            return Err(self.scrubbed(error));
        }
    }

    /// Discord never echoes the token, but a proxy or a broken server might:
    /// an error message must not carry it either way.
    fn scrubbed(&self, mut error: DiscordError) -> DiscordError {
        let token = self.bot_token.expose();
        if !token.is_empty() && error.message.contains(token) {
            error.message = error.message.replace(token, "[redacted]");
        }
        error
    }

    async fn post_message(&self, channel: ChannelId, message: &OutgoingMessage) -> Result<MessageRef, DiscordError> {
        const ROUTE: &str = "create message";
        let body = message_body(message, false);
        let created = self.call(ROUTE, Method::POST, &format!("channels/{channel}/messages"), Some(&body)).await?;
        let message_id = snowflake(&created, "id")
            .ok_or_else(|| DiscordError::new(DiscordErrorKind::Unavailable, format!("{ROUTE}: response has no id")))?;
        // The answer names the channel; trust it over our own argument only if present.
        let channel_id = snowflake(&created, "channel_id").and_then(ChannelId::new).unwrap_or(channel);
        Ok(MessageRef { channel_id, message_id })
    }
}

/// Discord's error body: `{"code", "message"}`, plus `retry_after` on 429.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<u64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    retry_after: Option<f64>,
}

/// A non-2xx answer as a [`DiscordError`]; Discord's own message and code
/// are kept since they say what was wrong and never contain our token.
fn status_error(route: &str, status: StatusCode, error: Option<&ErrorBody>, body: &[u8]) -> DiscordError {
    let code = error.and_then(|e| e.code);
    let kind = if code == Some(CANNOT_MESSAGE_USER) {
        DiscordErrorKind::CannotMessageUser
    } else if status == StatusCode::NOT_FOUND {
        DiscordErrorKind::NotFound
    } else if status == StatusCode::FORBIDDEN {
        DiscordErrorKind::Forbidden
    } else if status.is_server_error() {
        DiscordErrorKind::Unavailable
    } else {
        DiscordErrorKind::Rejected
    };
    let detail = match (code, error.and_then(|e| e.message.as_deref())) {
        (Some(code), Some(message)) => format!(" (code {code}: {message})"),
        (None, Some(message)) => format!(" ({message})"),
        (Some(code), None) => format!(" (code {code})"),
        (None, None) if !body.is_empty() => {
            let text: String = String::from_utf8_lossy(body).chars().take(BODY_EXCERPT).collect();
            format!(" ({text})")
        }
        (None, None) => String::new(),
    };
    DiscordError::new(kind, format!("{route}: {status}{detail}"))
}

/// A failure below HTTP (connect, timeout, reading the body). The URL is
/// stripped; the source chain (I/O and TLS errors) names no URL or header.
fn transport_error(route: &str, error: &reqwest::Error) -> DiscordError {
    let what = if error.is_timeout() { "timed out" } else { "request failed" };
    let mut message = format!("{route}: {what}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    DiscordError::new(DiscordErrorKind::Unavailable, message)
}

fn seconds(value: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(value).ok()
}

fn header_seconds(value: Option<&HeaderValue>) -> Option<Duration> {
    value?.to_str().ok()?.trim().parse::<f64>().ok().and_then(seconds)
}

/// A snowflake field of a response (Discord sends them as strings).
fn snowflake(value: &Value, key: &str) -> Option<u64> {
    match value.get(key)? {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
    .filter(|id| *id != 0)
}

/// The JSON of a create or edit. Mentions never ping (`parse: []`); buttons
/// go five to a row; an edit always sends `components` so buttons the
/// message had disappear when the new version has none.
pub(crate) fn message_body(message: &OutgoingMessage, edit: bool) -> Value {
    let mut body = json!({
        "content": message.content,
        "allowed_mentions": { "parse": [] },
    });
    if !message.buttons.is_empty() {
        body["components"] = timmybot_core::components_json(&message.buttons);
    } else if edit {
        body["components"] = json!([]);
    }
    body
}

#[async_trait]
impl DiscordRest for DiscordRestClient {
    async fn guild_info(&self, guild: GuildId) -> Result<GuildInfo, DiscordError> {
        const ROUTE: &str = "get guild";
        let value = self.call(ROUTE, Method::GET, &format!("guilds/{guild}?with_counts=true"), None).await?;
        let name = value
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| DiscordError::new(DiscordErrorKind::Unavailable, format!("{ROUTE}: response has no name")))?
            .to_owned();
        let approximate_member_count = value.get("approximate_member_count").and_then(Value::as_u64);
        Ok(GuildInfo { name, approximate_member_count })
    }

    async fn create_message(&self, channel: ChannelId, message: &OutgoingMessage) -> Result<MessageRef, DiscordError> {
        self.post_message(channel, message).await
    }

    async fn edit_message(&self, at: MessageRef, message: &OutgoingMessage) -> Result<(), DiscordError> {
        let body = message_body(message, true);
        let path = format!("channels/{}/messages/{}", at.channel_id, at.message_id);
        self.call("edit message", Method::PATCH, &path, Some(&body)).await?;
        Ok(())
    }

    async fn send_dm(&self, user: UserId, message: &OutgoingMessage) -> Result<MessageRef, DiscordError> {
        const ROUTE: &str = "create dm";
        let body = json!({ "recipient_id": user.to_string() });
        let channel = self.call(ROUTE, Method::POST, "users/@me/channels", Some(&body)).await?;
        let channel = snowflake(&channel, "id").and_then(ChannelId::new).ok_or_else(|| {
            DiscordError::new(DiscordErrorKind::Unavailable, format!("{ROUTE}: response has no channel id"))
        })?;
        self.post_message(channel, message).await
    }

    async fn leave_guild(&self, guild: GuildId) -> Result<(), DiscordError> {
        self.call("leave guild", Method::DELETE, &format!("users/@me/guilds/{guild}"), None).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_core::{Button, ButtonStyle};

    #[test]
    fn a_message_with_buttons_has_one_action_row() {
        let message = OutgoingMessage {
            content: "Allow?".into(),
            buttons: vec![Button { custom_id: "allow:1".into(), label: "Allow".into(), style: ButtonStyle::Success }],
        };
        let body = message_body(&message, false);
        assert_eq!(body["allowed_mentions"], json!({ "parse": [] }));
        assert_eq!(
            body["components"],
            json!([{ "type": 1, "components": [
                { "type": 2, "style": 3, "label": "Allow", "custom_id": "allow:1" }
            ] }])
        );
    }

    #[test]
    fn only_an_edit_without_buttons_clears_components() {
        let message = OutgoingMessage::text("done");
        assert!(message_body(&message, false).get("components").is_none());
        assert_eq!(message_body(&message, true)["components"], json!([]));
    }

    #[test]
    fn code_50007_wins_over_the_status() {
        let body = ErrorBody {
            code: Some(50007),
            message: Some("Cannot send messages to this user".into()),
            retry_after: None,
        };
        let error = status_error("create message", StatusCode::BAD_REQUEST, Some(&body), b"");
        assert_eq!(error.kind, DiscordErrorKind::CannotMessageUser);
    }

    #[test]
    fn statuses_map_to_kinds() {
        let kind = |status: u16| status_error("r", StatusCode::from_u16(status).unwrap(), None, b"").kind;
        assert_eq!(kind(404), DiscordErrorKind::NotFound);
        assert_eq!(kind(403), DiscordErrorKind::Forbidden);
        assert_eq!(kind(400), DiscordErrorKind::Rejected);
        assert_eq!(kind(401), DiscordErrorKind::Rejected);
        assert_eq!(kind(502), DiscordErrorKind::Unavailable);
    }

    #[test]
    fn a_base_without_trailing_slash_keeps_its_last_segment() {
        let client = DiscordRestClient::new(
            Url::parse("http://127.0.0.1:1/api/v10").unwrap(),
            Secret::new("t"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(client.api_base.join("guilds/1").unwrap().path(), "/api/v10/guilds/1");
    }

    #[test]
    fn debug_output_has_no_token() {
        let client = DiscordRestClient::new(
            Url::parse(DEFAULT_API_BASE).unwrap(),
            Secret::new("super-secret-token"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!format!("{client:?}").contains("super-secret-token"));
    }
}
