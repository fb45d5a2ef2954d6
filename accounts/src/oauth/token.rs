//! Token endpoint answers (RFC 6749 §5): a grant, or an error classified
//! by what the caller must do about it.

use std::time::Duration;

use serde::Deserialize;

/// Tokens a provider granted. `Debug` hides them.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The access token.
    pub access_token: String,
    /// How long it lasts.
    pub expires_in: Duration,
    /// A refresh token, when the provider sent one (a refresh may send a
    /// new one, which must be saved before the access token is used).
    pub refresh_token: Option<String>,
    /// The scopes granted, space-separated, when the provider says.
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "<hidden>"))
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Why a token request gave no tokens. No variant holds a token, a code or
/// the provider's free-text description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// `invalid_grant`: the code, refresh token or device code is no good
    /// (revoked, expired, used, a wrong PKCE verifier). Terminal: delete
    /// the tokens and ask the member to link again.
    #[error("the grant is no longer valid")]
    InvalidGrant,
    /// `invalid_client` (or `unauthorized_client`): the deployment's client
    /// credentials are wrong. An alarm for the operator; no member's record
    /// changes.
    #[error("the client credentials were refused")]
    InvalidClient,
    /// HTTP 429: slow down, for `retry_after` when the provider said.
    #[error("rate limited")]
    RateLimited {
        /// The provider's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Another OAuth error code (`invalid_request`, `invalid_scope`, …),
    /// only the code kept (at most 64 characters).
    #[error("the provider refused the request ({code})")]
    Refused {
        /// The error code.
        code: String,
    },
    /// A server error (5xx) or an answer that is not a token response: may
    /// pass, try again later.
    #[error("the provider answered http {0} without a usable body")]
    Unavailable(u16),
}

impl OAuthError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

#[derive(Deserialize)]
struct Granted {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) error: String,
}

/// When a provider does not say how long an access token lasts: an hour,
/// what Google and Spotify give.
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);

/// Reads a token endpoint's answer: `status`, its `Retry-After` header and
/// its body.
///
/// # Errors
/// [`OAuthError`] by what the answer says.
pub fn parse_token_response(status: u16, retry_after: Option<&str>, body: &[u8]) -> Result<TokenGrant, OAuthError> {
    if status == 429 {
        let retry_after = retry_after.and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
        return Err(OAuthError::RateLimited { retry_after });
    }
    if (200..300).contains(&status) {
        let granted: Granted = serde_json::from_slice(body).map_err(|_| OAuthError::Unavailable(status))?;
        if granted.access_token.is_empty() {
            return Err(OAuthError::Unavailable(status));
        }
        return Ok(TokenGrant {
            access_token: granted.access_token,
            expires_in: granted.expires_in.map_or(DEFAULT_EXPIRES_IN, Duration::from_secs),
            refresh_token: granted.refresh_token.filter(|t| !t.is_empty()),
            scope: granted.scope,
        });
    }
    Err(error_of(status, body))
}

/// The error a non-success answer names.
pub(crate) fn error_of(status: u16, body: &[u8]) -> OAuthError {
    let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) else {
        return OAuthError::Unavailable(status);
    };
    match error.as_str() {
        "invalid_grant" => OAuthError::InvalidGrant,
        "invalid_client" | "unauthorized_client" => OAuthError::InvalidClient,
        _ if status >= 500 => OAuthError::Unavailable(status),
        code => {
            let code: String = code.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
            OAuthError::Refused { code }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_reads_with_its_refresh_token_and_hides_its_tokens() {
        let body = br#"{"access_token":"ya29.secret-access","expires_in":3599,"refresh_token":"1//secret-refresh",
            "scope":"https://www.googleapis.com/auth/youtube.readonly","token_type":"Bearer"}"#;
        let grant = parse_token_response(200, None, body).unwrap();
        assert_eq!(grant.access_token, "ya29.secret-access");
        assert_eq!(grant.expires_in, Duration::from_secs(3599));
        assert_eq!(grant.refresh_token.as_deref(), Some("1//secret-refresh"));
        let debug = format!("{grant:?}");
        assert!(!debug.contains("secret"), "{debug}");
        let bare = parse_token_response(200, None, br#"{"access_token":"a"}"#).unwrap();
        assert_eq!((bare.expires_in, bare.refresh_token), (Duration::from_secs(3600), None));
    }

    #[test]
    fn errors_are_classified_by_what_to_do() {
        let error = |status, body: &[u8]| parse_token_response(status, None, body).unwrap_err();
        assert_eq!(
            error(400, br#"{"error":"invalid_grant","error_description":"Bad Request"}"#),
            OAuthError::InvalidGrant
        );
        assert_eq!(error(401, br#"{"error":"invalid_client"}"#), OAuthError::InvalidClient);
        assert_eq!(error(400, br#"{"error":"unauthorized_client"}"#), OAuthError::InvalidClient);
        assert_eq!(error(400, br#"{"error":"invalid_scope"}"#), OAuthError::Refused { code: "invalid_scope".into() });
        assert_eq!(error(503, b"<html>down</html>"), OAuthError::Unavailable(503));
        assert_eq!(error(200, b"not json"), OAuthError::Unavailable(200));
        assert_eq!(error(200, br#"{"access_token":""}"#), OAuthError::Unavailable(200));
        assert_eq!(
            parse_token_response(429, Some("7"), b"").unwrap_err(),
            OAuthError::RateLimited { retry_after: Some(Duration::from_secs(7)) }
        );
        assert!(error(429, b"").is_retryable() && error(502, b"").is_retryable());
        assert!(!OAuthError::InvalidGrant.is_retryable() && !OAuthError::InvalidClient.is_retryable());
        let long = format!(r#"{{"error":"{}"}}"#, "x".repeat(500));
        let OAuthError::Refused { code } = error(400, long.as_bytes()) else { panic!("refused") };
        assert_eq!(code.len(), 64);
    }
}
