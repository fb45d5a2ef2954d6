//! Spotify's authorization code flow with PKCE: the link the member opens,
//! the code exchange at the callback (with the verifier kept in the
//! pending link), and refresh (Spotify may send a new refresh token, which
//! the caller must save before using the new access token).

use timmybot_accounts::oauth::{OAuthError, Pkce, TokenGrant, parse_token_response};
use timmybot_outbound::SafeHttpClient;
use url::Url;

/// What a link asks Spotify for: the member's playlists (their own and
/// collaborative) and their liked songs; nothing else.
pub const SPOTIFY_SCOPES: &str = "playlist-read-private playlist-read-collaborative user-library-read";

/// Spotify's accounts service.
const SPOTIFY_ACCOUNTS: &str = "https://accounts.spotify.com/";

/// Spotify's OAuth for one app and its registered callback.
#[derive(Clone)]
pub struct SpotifyAuth {
    http: SafeHttpClient,
    client_id: String,
    redirect_uri: Url,
    accounts: Url,
}

impl std::fmt::Debug for SpotifyAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpotifyAuth").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

impl SpotifyAuth {
    /// The flow of the app `client_id` whose callback is `redirect_uri`.
    pub fn new(http: SafeHttpClient, client_id: impl Into<String>, redirect_uri: Url) -> Self {
        Self {
            http,
            client_id: client_id.into(),
            redirect_uri,
            accounts: Url::parse(SPOTIFY_ACCOUNTS).expect("a valid URL"),
        }
    }

    /// Talks to `base` instead of Spotify's accounts service (the tests'
    /// fake).
    #[must_use]
    pub fn with_accounts_base(mut self, base: Url) -> Self {
        self.accounts = base;
        self
    }

    /// The address the member opens to approve: the app, the callback, the
    /// scopes, the link's `state` and the PKCE challenge (S256).
    pub fn authorize_url(&self, state: &str, pkce: &Pkce) -> Url {
        let mut url = self.accounts.join("authorize").expect("a relative path joins");
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", self.redirect_uri.as_str())
            .append_pair("scope", SPOTIFY_SCOPES)
            .append_pair("state", state)
            .append_pair("code_challenge_method", Pkce::METHOD)
            .append_pair("code_challenge", pkce.challenge());
        url
    }

    /// Exchanges the callback's `code` with the pending link's `verifier`.
    ///
    /// # Errors
    /// [`OAuthError::InvalidGrant`] for a used, expired or foreign code or a
    /// wrong verifier; the others as [`parse_token_response`] says.
    pub async fn exchange(&self, code: &str, verifier: &str) -> Result<TokenGrant, OAuthError> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("client_id", &self.client_id),
            ("code_verifier", verifier),
        ])
        .await
    }

    /// A new access token for `refresh_token`.
    ///
    /// # Errors
    /// [`OAuthError::InvalidGrant`] when the refresh token is revoked or
    /// replaced (terminal: the member must link again).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenGrant, OAuthError> {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", &self.client_id)])
            .await
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<TokenGrant, OAuthError> {
        let url = self.accounts.join("api/token").expect("a relative path joins");
        let request = self.http.request(reqwest::Method::POST, url).form(form);
        match self.http.fetch(request).await {
            Ok(fetched) => parse_token_response(fetched.status, fetched.header("retry-after"), &fetched.body),
            Err(e) => {
                // The error names the host at most, never the form.
                tracing::warn!(error = %e, "a Spotify token request failed");
                Err(OAuthError::Unavailable(0))
            }
        }
    }
}
