//! JSON APIs over the outbound client.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, USER_AGENT};
use serde::de::DeserializeOwned;
use timmybot_outbound::{FetchError, Fetched, SafeHttpClient};
use url::Url;

use crate::LookupError;

/// The User-Agent sent when the deployer sets none: names the software and
/// says what it is, as Radio Browser and Audius ask of their clients.
pub const DEFAULT_USER_AGENT: &str =
    concat!("timmybot/", env!("CARGO_PKG_VERSION"), " (self-hosted Discord music bot)");

/// Calls JSON APIs through the outbound client (so every fetch is checked
/// against the outbound policy), with a descriptive User-Agent.
///
/// Cheap to clone.
#[derive(Clone)]
pub struct ApiClient {
    http: SafeHttpClient,
    user_agent: Arc<str>,
}

impl ApiClient {
    /// A client sending [`DEFAULT_USER_AGENT`].
    pub fn new(http: SafeHttpClient) -> Self {
        Self { http, user_agent: DEFAULT_USER_AGENT.into() }
    }

    /// Sends `user_agent` instead of the default.
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<Arc<str>>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The User-Agent this client sends.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The outbound client underneath.
    pub fn http(&self) -> &SafeHttpClient {
        &self.http
    }

    /// A GET of `url` asking for JSON, with the User-Agent set.
    pub fn get(&self, url: Url) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, url)
    }

    /// A request of `method` to `url` asking for JSON, with the User-Agent set.
    pub fn request(&self, method: reqwest::Method, url: Url) -> reqwest::RequestBuilder {
        self.http.request(method, url).header(USER_AGENT, &*self.user_agent).header(ACCEPT, "application/json")
    }

    /// Sends `request` and returns the whole response, whatever its status.
    ///
    /// # Errors
    /// [`LookupError::Fetch`] when the fetch itself failed.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Fetched, LookupError> {
        Ok(self.http.fetch(request).await?)
    }

    /// Sends `request` and reads a success answer as `T`.
    ///
    /// # Errors
    /// See [`check_status`] and [`parse_json`].
    pub async fn json<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, LookupError> {
        let fetched = self.send(request).await?;
        check_status(&fetched)?;
        parse_json(&fetched.body)
    }
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient").field("user_agent", &self.user_agent).finish_non_exhaustive()
    }
}

/// Sorts the statuses every API here shares: 404 not found, 429 rate
/// limited (with its `Retry-After` in seconds), 451 not available in the
/// deployment's region, any other non-2xx an error status.
///
/// # Errors
/// The [`LookupError`] the status stands for.
pub fn check_status(fetched: &Fetched) -> Result<(), LookupError> {
    match fetched.status {
        200..=299 => Ok(()),
        404 => Err(LookupError::NotFound),
        429 => Err(LookupError::RateLimited { retry_after: retry_after(fetched) }),
        451 => Err(LookupError::RegionBlocked),
        status => Err(LookupError::Fetch(FetchError::Status(status))),
    }
}

/// The `Retry-After` of a response, when it is a number of seconds.
pub fn retry_after(fetched: &Fetched) -> Option<Duration> {
    fetched.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs)
}

/// Reads `body` as `T`.
///
/// # Errors
/// [`LookupError::BadResponse`] naming where the JSON did not fit (never the
/// body itself, which may be large or hold what a member typed).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, LookupError> {
    serde_json::from_slice(body).map_err(|e| LookupError::BadResponse(format!("json: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, retry: Option<&str>) -> Fetched {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(value) = retry {
            headers.insert("retry-after", value.parse().unwrap());
        }
        Fetched { status, headers, body: bytes::Bytes::new() }
    }

    #[test]
    fn statuses_become_the_errors_members_are_told_about() {
        assert!(check_status(&answer(204, None)).is_ok());
        assert!(matches!(check_status(&answer(404, None)), Err(LookupError::NotFound)));
        assert!(matches!(
            check_status(&answer(429, Some("7"))),
            Err(LookupError::RateLimited { retry_after: Some(d) }) if d == Duration::from_secs(7)
        ));
        let region = check_status(&answer(451, None)).unwrap_err();
        assert_eq!(region.user_message(), "That is not available in this bot's region.");
        assert!(matches!(check_status(&answer(503, None)), Err(LookupError::Fetch(FetchError::Status(503)))));
    }
}
