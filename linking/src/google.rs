//! Google's OAuth 2.0 device flow for YouTube: `youtube.readonly`, the
//! member's playlists and likes as metadata only.

use std::future::Future;
use std::time::Duration;

use timmybot_accounts::oauth::device::DEVICE_GRANT_TYPE;
use timmybot_accounts::oauth::{
    DeviceAuthorization, DevicePoll, DevicePoller, OAuthError, TokenGrant, parse_device_authorization,
    parse_device_poll,
};
use timmybot_core::Secret;
use timmybot_outbound::{FetchError, SafeHttpClient};
use url::Url;

/// The one scope asked for: reading the member's YouTube account.
pub const GOOGLE_SCOPE: &str = "https://www.googleapis.com/auth/youtube.readonly";

/// Google's OAuth endpoints.
const GOOGLE_OAUTH: &str = "https://oauth2.googleapis.com/";

/// The deployment's Google OAuth client ("TVs and limited-input devices").
/// `Debug` hides the secret.
#[derive(Clone)]
pub struct GoogleCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
}

impl std::fmt::Debug for GoogleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleCredentials").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// Runs the device flow against Google (or a stand-in at another base).
#[derive(Clone)]
pub struct GoogleDeviceFlow {
    http: SafeHttpClient,
    credentials: GoogleCredentials,
    base: Url,
}

impl GoogleDeviceFlow {
    /// The flow for `credentials` through `http`.
    pub fn new(http: SafeHttpClient, credentials: GoogleCredentials) -> Self {
        Self { http, credentials, base: Url::parse(GOOGLE_OAUTH).expect("a valid URL") }
    }

    /// Talks to `base` instead of Google (the tests' fake).
    #[must_use]
    pub fn with_base_url(mut self, base: Url) -> Self {
        self.base = base;
        self
    }

    fn endpoint(&self, path: &str) -> Url {
        self.base.join(path).expect("a relative path joins")
    }

    /// Asks for a device code and the user code to show the member.
    ///
    /// # Errors
    /// [`OAuthError`]: the answer's, or [`OAuthError::Unavailable`] when
    /// Google could not be reached.
    pub async fn start(&self) -> Result<DeviceAuthorization, OAuthError> {
        let form = [("client_id", self.credentials.client_id.as_str()), ("scope", GOOGLE_SCOPE)];
        let (status, _, body) = self.post(&self.endpoint("device/code"), &form).await?;
        parse_device_authorization(status, &body)
    }

    /// Polls once for the member's decision on `authorization`.
    ///
    /// # Errors
    /// [`OAuthError`] for an answer that is neither a decision nor tokens.
    pub async fn poll(&self, authorization: &DeviceAuthorization) -> Result<DevicePoll, OAuthError> {
        let form = [
            ("client_id", self.credentials.client_id.as_str()),
            ("client_secret", self.credentials.client_secret.expose()),
            ("device_code", authorization.device_code.as_str()),
            ("grant_type", DEVICE_GRANT_TYPE),
        ];
        let (status, retry_after, body) = self.post(&self.endpoint("token"), &form).await?;
        parse_device_poll(status, retry_after.as_deref(), &body)
    }

    /// Polls until the member decides or the code expires, waiting between
    /// polls with `sleep` (`tokio::time::sleep` in production) as RFC 8628
    /// says: the interval, five seconds more after each `slow_down`.
    /// Returns the tokens, or the outcome that ended it (`Denied`,
    /// `Expired`; `Expired` too when the code's time ran out).
    ///
    /// # Errors
    /// [`OAuthError`] from a poll (a passing failure ends the wait too: the
    /// member can start again).
    pub async fn wait_for_decision<S, F>(
        &self,
        authorization: &DeviceAuthorization,
        sleep: S,
    ) -> Result<Result<TokenGrant, DevicePoll>, OAuthError>
    where
        S: Fn(Duration) -> F,
        F: Future<Output = ()>,
    {
        let mut poller = DevicePoller::new(authorization);
        let mut wait = poller.first();
        while let Some(delay) = wait {
            sleep(delay).await;
            let outcome = self.poll(authorization).await?;
            match outcome {
                DevicePoll::Granted(grant) => return Ok(Ok(grant)),
                DevicePoll::Denied | DevicePoll::Expired => return Ok(Err(outcome)),
                DevicePoll::Pending | DevicePoll::SlowDown => wait = poller.next(&outcome),
            }
        }
        Ok(Err(DevicePoll::Expired))
    }

    /// POSTs `form` to `url`: status, `Retry-After` and body.
    async fn post(&self, url: &Url, form: &[(&str, &str)]) -> Result<(u16, Option<String>, Vec<u8>), OAuthError> {
        let request = self.http.request(reqwest::Method::POST, url.clone()).form(form);
        match self.http.fetch(request).await {
            Ok(fetched) => {
                let retry_after = fetched.header("retry-after").map(str::to_owned);
                Ok((fetched.status, retry_after, fetched.body.to_vec()))
            }
            Err(e) => {
                // The error names the host at most, never the form.
                tracing::warn!(error = %e, "a Google OAuth request failed");
                Err(OAuthError::Unavailable(match e {
                    FetchError::Status(status) => status,
                    _ => 0,
                }))
            }
        }
    }
}
