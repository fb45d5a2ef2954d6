//! The device authorization grant (RFC 8628) as Google runs it for
//! "TVs and limited-input devices": `/link google` shows the address and
//! the code; the bot polls the token endpoint at the interval the provider
//! asks for, slowing down when told, until the member approves, refuses or
//! the code expires.

use std::time::Duration;

use serde::Deserialize;

use super::token::{ErrorBody, OAuthError, TokenGrant, error_of, parse_token_response};

/// The grant type of the token poll.
pub const DEVICE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// How much `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The interval when the provider names none (RFC 8628 §3.2).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// What the device authorization request answered. `Debug` hides the
/// device code (with it, anyone could poll for the member's tokens).
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    /// What the bot polls with.
    pub device_code: String,
    /// What the member types at [`Self::verification_url`].
    pub user_code: String,
    /// Where the member goes.
    pub verification_url: String,
    /// How long the code is good for.
    pub expires_in: Duration,
    /// How long to wait between polls.
    pub interval: Duration,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_url", &self.verification_url)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Answer {
    device_code: String,
    user_code: String,
    // RFC 8628 says `verification_uri`; Google says `verification_url`.
    #[serde(default)]
    verification_uri: Option<String>,
    #[serde(default)]
    verification_url: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

/// Reads the device authorization answer.
///
/// # Errors
/// [`OAuthError`] for an error answer; [`OAuthError::Unavailable`] for a
/// body without a code, a user code, an https address or a lifetime.
pub fn parse_device_authorization(status: u16, body: &[u8]) -> Result<DeviceAuthorization, OAuthError> {
    if !(200..300).contains(&status) {
        return Err(error_of(status, body));
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|_| OAuthError::Unavailable(status))?;
    let url = answer.verification_url.or(answer.verification_uri).unwrap_or_default();
    // The member is sent there: only an https address of reasonable length.
    let usable = url.starts_with("https://") && url.len() <= 200 && !url.chars().any(char::is_whitespace);
    let user_code_ok = (1..=32).contains(&answer.user_code.len())
        && answer.user_code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !usable || !user_code_ok || answer.device_code.is_empty() || answer.expires_in == 0 {
        return Err(OAuthError::Unavailable(status));
    }
    Ok(DeviceAuthorization {
        device_code: answer.device_code,
        user_code: answer.user_code,
        verification_url: url,
        expires_in: Duration::from_secs(answer.expires_in),
        interval: answer.interval.filter(|s| *s > 0).map_or(DEFAULT_INTERVAL, Duration::from_secs),
    })
}

/// One poll's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePoll {
    /// The member approved: the tokens.
    Granted(TokenGrant),
    /// `authorization_pending`: not yet; poll again after the interval.
    Pending,
    /// `slow_down`: poll again after the interval plus [`SLOW_DOWN_STEP`].
    SlowDown,
    /// `expired_token`: the code expired; the member must start again.
    Expired,
    /// `access_denied`: the member refused.
    Denied,
}

/// Reads a token poll's answer.
///
/// # Errors
/// [`OAuthError`] for any other error (an `invalid_client` is the
/// deployment's, not the member's).
pub fn parse_device_poll(status: u16, retry_after: Option<&str>, body: &[u8]) -> Result<DevicePoll, OAuthError> {
    if !(200..300).contains(&status)
        && status != 429
        && let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body)
    {
        match error.as_str() {
            "authorization_pending" => return Ok(DevicePoll::Pending),
            "slow_down" => return Ok(DevicePoll::SlowDown),
            "expired_token" => return Ok(DevicePoll::Expired),
            "access_denied" => return Ok(DevicePoll::Denied),
            _ => {}
        }
    }
    parse_token_response(status, retry_after, body).map(DevicePoll::Granted)
}

/// When to poll next, by the rules of RFC 8628: the provider's interval,
/// five seconds more at each `slow_down`, and never past the code's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevicePoller {
    interval: Duration,
    left: Duration,
}

impl DevicePoller {
    /// Polls for `authorization`.
    pub fn new(authorization: &DeviceAuthorization) -> Self {
        Self { interval: authorization.interval, left: authorization.expires_in }
    }

    /// The wait before the next poll after `outcome` (the first poll waits
    /// [`Self::interval`] too); `None` when polling must stop (granted,
    /// denied, expired, or no time left).
    pub fn next(&mut self, outcome: &DevicePoll) -> Option<Duration> {
        match outcome {
            DevicePoll::Pending => {}
            DevicePoll::SlowDown => self.interval += SLOW_DOWN_STEP,
            DevicePoll::Granted(_) | DevicePoll::Expired | DevicePoll::Denied => return None,
        }
        self.wait()
    }

    /// The wait before the first poll.
    pub fn first(&mut self) -> Option<Duration> {
        self.wait()
    }

    /// The interval now.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    fn wait(&mut self) -> Option<Duration> {
        if self.left < self.interval {
            return None;
        }
        self.left -= self.interval;
        Some(self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOGLE: &[u8] = br#"{"device_code":"AH-1Ng-secret-device","user_code":"GQVQ-JKEC",
        "verification_url":"https://www.google.com/device","expires_in":1800,"interval":5}"#;

    #[test]
    fn googles_answer_reads_and_hides_the_device_code() {
        let auth = parse_device_authorization(200, GOOGLE).unwrap();
        assert_eq!(auth.user_code, "GQVQ-JKEC");
        assert_eq!(auth.verification_url, "https://www.google.com/device");
        assert_eq!((auth.expires_in, auth.interval), (Duration::from_secs(1800), Duration::from_secs(5)));
        assert!(!format!("{auth:?}").contains("secret-device"));
        let rfc = br#"{"device_code":"d","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device",
            "expires_in":900}"#;
        let auth = parse_device_authorization(200, rfc).unwrap();
        assert_eq!((auth.verification_url.as_str(), auth.interval), ("https://example.com/device", DEFAULT_INTERVAL));
    }

    #[test]
    fn an_answer_that_would_send_the_member_somewhere_odd_is_refused() {
        for body in [
            &br#"{"device_code":"d","user_code":"A-B","verification_url":"http://insecure.example","expires_in":9}"#[..],
            br#"{"device_code":"d","user_code":"<b>x</b>","verification_url":"https://a.example","expires_in":9}"#,
            br#"{"device_code":"","user_code":"A","verification_url":"https://a.example","expires_in":9}"#,
            br#"{"device_code":"d","user_code":"A","verification_url":"https://a.example","expires_in":0}"#,
            b"[]",
        ] {
            assert_eq!(parse_device_authorization(200, body), Err(OAuthError::Unavailable(200)));
        }
        assert_eq!(parse_device_authorization(401, br#"{"error":"invalid_client"}"#), Err(OAuthError::InvalidClient));
    }

    #[test]
    fn polls_read_pending_slow_down_expired_denied_and_granted() {
        let poll = |status, body: &[u8]| parse_device_poll(status, None, body);
        assert_eq!(poll(428, br#"{"error":"authorization_pending"}"#), Ok(DevicePoll::Pending));
        assert_eq!(poll(403, br#"{"error":"slow_down"}"#), Ok(DevicePoll::SlowDown));
        assert_eq!(poll(400, br#"{"error":"expired_token"}"#), Ok(DevicePoll::Expired));
        assert_eq!(poll(403, br#"{"error":"access_denied"}"#), Ok(DevicePoll::Denied));
        assert_eq!(poll(401, br#"{"error":"invalid_client"}"#), Err(OAuthError::InvalidClient));
        let Ok(DevicePoll::Granted(grant)) = poll(200, br#"{"access_token":"t","expires_in":60,"refresh_token":"r"}"#)
        else {
            panic!("granted")
        };
        assert_eq!(grant.refresh_token.as_deref(), Some("r"));
    }

    #[test]
    fn the_poller_waits_the_interval_slows_down_by_five_and_stops_at_expiry() {
        let auth = DeviceAuthorization {
            device_code: "d".into(),
            user_code: "A".into(),
            verification_url: "https://a.example".into(),
            expires_in: Duration::from_secs(30),
            interval: Duration::from_secs(5),
        };
        let mut poller = DevicePoller::new(&auth);
        assert_eq!(poller.first(), Some(Duration::from_secs(5)));
        assert_eq!(poller.next(&DevicePoll::Pending), Some(Duration::from_secs(5)));
        assert_eq!(poller.next(&DevicePoll::SlowDown), Some(Duration::from_secs(10)));
        assert_eq!(poller.next(&DevicePoll::Pending), Some(Duration::from_secs(10)));
        assert_eq!(poller.next(&DevicePoll::Pending), None, "30 s spent: the code has expired");
        let mut poller = DevicePoller::new(&auth);
        assert_eq!(poller.next(&DevicePoll::Denied), None);
        assert_eq!(poller.next(&DevicePoll::Expired), None);
    }
}
