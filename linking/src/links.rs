//! A member's linked accounts as one service over the ports: start a link,
//! finish it at the callback, keep the tokens fresh (single-flight across
//! processes), import the library into the member's playlists, list and
//! remove links. `/link`, `/links` and `/unlink` (interactions), the OAuth
//! callback (`lambdas/oauth`, `timmybot serve`) and the scheduled refresh
//! all call this, never a store or a provider directly.

use std::sync::Arc;
use std::time::Duration;

use timmybot_accounts::oauth::{OAuthError, Pkce, TokenGrant, new_state};
use timmybot_accounts::{SealedToken, TokenVault, linked_to_save};
use timmybot_core::{
    AccountStore, Clock, DiscordRest, LinkState, LinkStateStore, LinkedAccount, MAX_LINK_STATE_BYTES,
    MAX_PLAYLISTS_PER_MEMBER, OutgoingMessage, PendingLink, PlaylistOrigin, PlaylistStore, Provider, Secret,
    StoreError, StoreErrorKind, UserId, escape_markdown,
};
use timmybot_outbound::SafeHttpClient;
use url::Url;

use crate::{LibraryError, SpotifyAuth, SpotifyLibrary};

/// How long before an access token's expiry it is refreshed (plus up to
/// [`REFRESH_JITTER`], so many members' tokens do not all refresh at once).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The most added to [`REFRESH_MARGIN`] at random.
pub const REFRESH_JITTER: Duration = Duration::from_secs(60);

/// How long a refresh lease lasts: longer than a token request can take,
/// short enough that a process that died holding it delays nobody long.
pub const REFRESH_LEASE: Duration = Duration::from_secs(30);

/// How long a refresh of Spotify's Development Mode lasts: refresh tokens
/// stop working six months after the grant (182 days is said here).
pub const SPOTIFY_DEVELOPMENT_GRANT: Duration = Duration::from_secs(182 * 24 * 3600);

/// How often a waiter looks at the store while another process refreshes.
const LEASE_POLL: Duration = Duration::from_millis(100);

/// Spotify linking: the app's OAuth, the library reader, and how long a
/// grant lasts (`Some(SPOTIFY_DEVELOPMENT_GRANT)` for an app in
/// Development Mode, `None` for one Spotify extended).
#[derive(Debug, Clone)]
pub struct SpotifyLinking {
    /// The app's authorization code flow.
    pub auth: SpotifyAuth,
    /// The member's library, read with their token.
    pub library: SpotifyLibrary,
    /// How long a grant lasts before the member must link again.
    pub grant_lifetime: Option<Duration>,
}

/// Why a link operation did not do what the member asked. Each has words
/// for the member ([`Self::user_message`]); none holds a token or code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// This deployment does not link that provider.
    #[error("linking {0} is not offered here")]
    NotOffered(Provider),
    /// The member has no link to that provider.
    #[error("no {0} link")]
    NotLinked(Provider),
    /// The provider refused the grant: the member must link again.
    #[error("the {0} link must be made again")]
    NeedsRelink(Provider),
    /// The deployment's client credentials were refused (an alarm).
    #[error("the {0} app credentials were refused")]
    InvalidClient(Provider),
    /// The provider's app is over its quota.
    #[error("the {0} app is over its quota")]
    QuotaExceeded(Provider),
    /// The provider refused this member for this app (Spotify's
    /// Development Mode serves only the users the deployer added).
    #[error("{0} refused this member for this app")]
    Forbidden(Provider),
    /// The provider could not be reached, or asked to wait.
    #[error("{0} is unavailable")]
    ProviderUnavailable(Provider),
    /// The store failed.
    #[error("the store failed: {0:?}")]
    Store(StoreErrorKind),
}

impl From<StoreError> for LinkError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.kind())
    }
}

impl LinkError {
    /// What the member is told.
    pub fn user_message(&self) -> String {
        match self {
            Self::NotOffered(p) => format!("Linking {} is not set up on this bot.", title(*p)),
            Self::NotLinked(p) => format!("You have no {} account linked. `/link` links one.", title(*p)),
            Self::NeedsRelink(p) => {
                format!("Your {} link stopped working. Run `/link {p}` to link it again.", title(*p))
            }
            Self::InvalidClient(p) => {
                format!("The bot's {} app was refused by {0}; its owner has been alerted. Try again later.", title(*p))
            }
            Self::QuotaExceeded(p) => {
                format!("The bot's {} app has used up its quota for now. Try again tomorrow.", title(*p))
            }
            Self::Forbidden(p) => format!(
                "{} did not let this bot read your account: an app {0} has not reviewed serves only the users its \
                 owner added (at most 5). Ask the bot's owner to add you.",
                title(*p)
            ),
            Self::ProviderUnavailable(p) => format!("{} could not be reached. Try again in a few minutes.", title(*p)),
            Self::Store(_) => "Your links could not be read or saved just now. Try again in a moment.".to_owned(),
        }
    }
}

/// What `/link` shows: where to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkPrompt {
    /// Open this address (Spotify's consent page); it comes back to the
    /// callback.
    Open(Url),
}

/// What an import put in the member's playlists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportSummary {
    /// Playlists saved (the liked songs among them).
    pub playlists: usize,
    /// Tracks in them.
    pub tracks: usize,
    /// Entries that are not tracks (episodes, local files, removed ones).
    pub skipped: usize,
    /// Playlists left out: no room under the member's cap.
    pub left_out: usize,
}

impl ImportSummary {
    fn describe(&self) -> String {
        let mut text = format!("{} playlists ({} tracks) imported", self.playlists, self.tracks);
        if self.left_out > 0 {
            text.push_str(&format!("; {} left out (you have {MAX_PLAYLISTS_PER_MEMBER} playlists)", self.left_out));
        }
        text
    }
}

/// One line of `/links`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkView {
    /// The account.
    pub account: LinkedAccount,
    /// How many of the member's playlists came from it.
    pub playlists: usize,
}

/// The page the member's browser shows after the provider sent it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackPage {
    /// The HTTP status.
    pub status: u16,
    /// The heading.
    pub title: &'static str,
    /// The sentence under it (plain text; escaped when rendered).
    pub message: String,
}

impl CallbackPage {
    fn new(status: u16, title: &'static str, message: impl Into<String>) -> Self {
        Self { status, title, message: message.into() }
    }

    /// The page as HTML. The message may hold a provider's account name:
    /// escaped, never markup.
    pub fn html(&self) -> String {
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>timmybot: {title}</title>\
             <meta name=\"robots\" content=\"noindex\"></head><body><h1>{title}</h1><p>{message}</p></body></html>",
            title = html_escape(self.title),
            message = html_escape(&self.message),
        )
    }
}

/// The path of Spotify's callback on the bot's public address (the
/// `lambdas/oauth` Function URL, or `timmybot serve`): the redirect URI
/// registered in the Spotify app is `<public address>` + this.
pub const SPOTIFY_CALLBACK_PATH: &str = "/oauth/spotify/callback";

impl SpotifyLinking {
    /// Linking through the Spotify app `client_id`, whose callback is at
    /// `public_base` + [`SPOTIFY_CALLBACK_PATH`]; `development_mode` when
    /// Spotify has not extended the app (grants end after six months).
    ///
    /// # Errors
    /// When `public_base` cannot take a path (not an http(s) address).
    pub fn new(
        http: SafeHttpClient,
        client_id: impl Into<String>,
        public_base: &Url,
        development_mode: bool,
    ) -> Result<Self, url::ParseError> {
        let redirect_uri = public_base.join(SPOTIFY_CALLBACK_PATH)?;
        Ok(Self {
            auth: SpotifyAuth::new(http.clone(), client_id, redirect_uri),
            library: SpotifyLibrary::new(http),
            grant_lifetime: development_mode.then_some(SPOTIFY_DEVELOPMENT_GRANT),
        })
    }

    /// Talks to `accounts` and `api` (ending in `/v1/`) instead of Spotify
    /// (the sandbox's fake).
    #[must_use]
    pub fn with_bases(mut self, accounts: Url, api: Url) -> Self {
        self.auth = self.auth.with_accounts_base(accounts);
        self.library = self.library.with_api_base(api);
        self
    }
}

/// The members' linked accounts.
pub struct AccountLinks {
    states: Arc<dyn LinkStateStore>,
    accounts: Arc<dyn AccountStore>,
    playlists: Arc<dyn PlaylistStore>,
    vault: TokenVault,
    clock: Arc<dyn Clock>,
    spotify: Option<SpotifyLinking>,
    discord: Option<Arc<dyn DiscordRest>>,
}

impl std::fmt::Debug for AccountLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountLinks").field("spotify", &self.spotify.is_some()).finish_non_exhaustive()
    }
}

impl AccountLinks {
    /// Links over these stores, sealing tokens with `vault`; no provider
    /// offered until one is added.
    pub fn new(
        states: Arc<dyn LinkStateStore>,
        accounts: Arc<dyn AccountStore>,
        playlists: Arc<dyn PlaylistStore>,
        vault: TokenVault,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { states, accounts, playlists, vault, clock, spotify: None, discord: None }
    }

    /// Offers Spotify.
    #[must_use]
    pub fn with_spotify(mut self, spotify: SpotifyLinking) -> Self {
        self.spotify = Some(spotify);
        self
    }

    /// Confirms links and unlinks to the member by DM through `discord`.
    #[must_use]
    pub fn with_discord(mut self, discord: Arc<dyn DiscordRest>) -> Self {
        self.discord = Some(discord);
        self
    }

    /// Whether `provider` can be linked here.
    pub fn offers(&self, provider: Provider) -> bool {
        matches!(provider, Provider::Spotify) && self.spotify.is_some()
    }

    /// Starts `user`'s link to `provider`: a pending link (single-use, ten
    /// minutes) and where the member goes to approve.
    ///
    /// # Errors
    /// [`LinkError::NotOffered`], or the store's.
    pub async fn begin(&self, user: UserId, provider: Provider) -> Result<LinkPrompt, LinkError> {
        let spotify = match provider {
            Provider::Spotify => self.spotify.as_ref().ok_or(LinkError::NotOffered(provider))?,
            other => return Err(LinkError::NotOffered(other)),
        };
        let (state, pkce) = (new_state(), Pkce::generate());
        let pending = PendingLink::new(
            state.clone(),
            user,
            provider,
            Some(pkce.verifier().to_owned()),
            self.clock.now_unix_millis(),
        );
        self.states.put_link_state(&pending).await?;
        Ok(LinkPrompt::Open(spotify.auth.authorize_url(&state, &pkce)))
    }

    /// Finishes a link at the callback: `state` taken once (so a replayed,
    /// foreign or stale one changes nothing), the code exchanged with the
    /// pending link's verifier, the tokens sealed and saved, the library
    /// imported, the member told. `error` is the provider's `error`
    /// parameter (the member declined).
    pub async fn complete(&self, state: &str, code: Option<&str>, error: Option<&str>) -> CallbackPage {
        let expired = || {
            CallbackPage::new(
                400,
                "This link has expired",
                "This link was already used or is more than ten minutes old. Run /link again in Discord.",
            )
        };
        if state.is_empty() || state.len() > MAX_LINK_STATE_BYTES {
            return expired();
        }
        let pending = match self.states.take_link_state(state, self.clock.now_unix_millis()).await {
            Ok(Some(pending)) => pending,
            Ok(None) => return expired(),
            Err(e) => {
                tracing::warn!(error = %e, "a link's state could not be read");
                return CallbackPage::new(503, "Try again", "The bot could not check this link. Run /link again.");
            }
        };
        let provider = pending.provider;
        if error.is_some() || code.is_none() {
            return CallbackPage::new(
                200,
                "Nothing was linked",
                format!("You did not allow access to {}.", title(provider)),
            );
        }
        let (Some(code), Some(verifier), Provider::Spotify, Some(spotify)) =
            (code, pending.verifier.as_deref(), provider, self.spotify.as_ref())
        else {
            return CallbackPage::new(400, "Nothing was linked", "This link cannot be finished here.");
        };
        let grant = match spotify.auth.exchange(code, verifier).await {
            Ok(grant) => grant,
            Err(e) => {
                let error = self.oauth_failure(provider, &e);
                return CallbackPage::new(502, "Nothing was linked", error.user_message());
            }
        };
        let access = Secret::new(grant.access_token.clone());
        let name = spotify.library.display_name(&access).await.unwrap_or_else(|e| {
            tracing::info!(error = %e, "the linked account's name could not be read");
            None
        });
        let now = self.clock.now_unix_millis();
        let grant_expires_ms = spotify.grant_lifetime.map(|d| now + millis(d));
        if let Err(e) = self.store_grant(pending.user, provider, grant, name.clone(), grant_expires_ms, now).await {
            return CallbackPage::new(503, "Nothing was linked", e.user_message());
        }
        let shown = name.as_deref().map(|n| format!(" as {n}")).unwrap_or_default();
        let imported = self.import_with(pending.user, provider, &access).await;
        let (page, dm) = match imported {
            Ok(summary) => (
                format!(
                    "{} is linked{shown}: {}. Back in Discord, /myplaylists lists them.",
                    title(provider),
                    summary.describe()
                ),
                format!(
                    "Your {} account{} is linked: {}. `/myplaylists` lists them; `/unlink {provider}` removes the \
                     link and everything imported from it.",
                    title(provider),
                    name.as_deref().map(|n| format!(" **{}**", escape_markdown(n))).unwrap_or_default(),
                    summary.describe()
                ),
            ),
            Err(e) => (
                format!(
                    "{} is linked{shown}, but reading your playlists failed: {}",
                    title(provider),
                    e.user_message()
                ),
                format!(
                    "Your {} account is linked, but reading your playlists failed: {}",
                    title(provider),
                    e.user_message()
                ),
            ),
        };
        self.tell(pending.user, dm).await;
        CallbackPage::new(200, "Linked", page)
    }

    /// Reads the member's library again and replaces what was imported
    /// from it.
    ///
    /// # Errors
    /// [`LinkError::NotLinked`], [`LinkError::NeedsRelink`], the provider's.
    pub async fn import(&self, user: UserId, provider: Provider) -> Result<ImportSummary, LinkError> {
        let access = self.access_token(user, provider).await?;
        self.import_with(user, provider, &access).await
    }

    /// A usable access token for `user` at `provider`, refreshed first when
    /// it expires within [`REFRESH_MARGIN`] (plus jitter). Single-flight
    /// across processes: the refresher holds a lease taken by a
    /// conditional save; the others wait for its save and use its token. A
    /// returned refresh token is saved before the new access token is used.
    ///
    /// # Errors
    /// [`LinkError::NotLinked`]; [`LinkError::NeedsRelink`] when the
    /// provider refused the grant (the tokens are then deleted and the
    /// member told); the provider's.
    pub async fn access_token(&self, user: UserId, provider: Provider) -> Result<Secret, LinkError> {
        let margin = millis(REFRESH_MARGIN) + rand::random_range(0..=millis(REFRESH_JITTER));
        loop {
            let account = self.accounts.load_account(user, provider).await?.ok_or(LinkError::NotLinked(provider))?;
            if account.state == LinkState::NeedsRelink {
                return Err(LinkError::NeedsRelink(provider));
            }
            let now = self.clock.now_unix_millis();
            if account.access_expires_ms > now + margin
                && let Some(sealed) = &account.access_token
            {
                return self.open(user, provider, sealed);
            }
            if account.refresh_lease_until_ms.is_some_and(|until| until > now) {
                tokio::time::sleep(LEASE_POLL).await;
                continue;
            }
            let claim = LinkedAccount { refresh_lease_until_ms: Some(now + millis(REFRESH_LEASE)), ..account };
            match self.accounts.save_account(&claim).await {
                Ok(version) => return self.refresh_holding_lease(LinkedAccount { version, ..claim }).await,
                // Another process claimed it first: read again and wait.
                Err(e) if e.kind() == StoreErrorKind::Conflict => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The member's links, with how many playlists each gave.
    ///
    /// # Errors
    /// The store's.
    pub async fn links(&self, user: UserId) -> Result<Vec<LinkView>, LinkError> {
        let accounts = self.accounts.accounts(user).await?;
        let playlists = self.playlists.playlists(user).await?;
        Ok(accounts
            .into_iter()
            .map(|account| {
                let from = PlaylistOrigin::Linked(account.provider);
                LinkView { playlists: playlists.iter().filter(|p| p.origin == from).count(), account }
            })
            .collect())
    }

    /// Removes `user`'s link to `provider` and every playlist imported from
    /// it (Spotify's policy: a disconnect deletes the member's data), and
    /// tells the member; returns how many playlists went. Spotify offers
    /// apps no revocation: the member is told where to remove the app.
    ///
    /// # Errors
    /// [`LinkError::NotLinked`], the store's.
    pub async fn unlink(&self, user: UserId, provider: Provider) -> Result<usize, LinkError> {
        let had = self.accounts.delete_account(user, provider).await?;
        let removed = self.remove_imported(user, provider, &[]).await?;
        if !had && removed == 0 {
            return Err(LinkError::NotLinked(provider));
        }
        self.tell(user, format!("{} {}", unlinked_message(provider, removed), revoke_hint(provider))).await;
        Ok(removed)
    }

    /// Removes everything of `user`: every link and every playlist (saved,
    /// imported, linked); returns how many records went.
    ///
    /// # Errors
    /// The store's.
    pub async fn forget(&self, user: UserId) -> Result<usize, LinkError> {
        let removed = self.accounts.delete_member(user).await?;
        // The stores here delete a member's playlists with the member; the
        // port does not promise it, so whatever is left goes one by one.
        let mut playlists = 0;
        for summary in self.playlists.playlists(user).await? {
            playlists += usize::from(self.playlists.delete_playlist(user, &summary.name).await?);
        }
        self.tell(
            user,
            "Everything timmybot kept of you is deleted: your links, their tokens and all your playlists.".into(),
        )
        .await;
        Ok(removed + playlists)
    }

    async fn refresh_holding_lease(&self, account: LinkedAccount) -> Result<Secret, LinkError> {
        let (user, provider) = (account.user, account.provider);
        let release = |account: &LinkedAccount| LinkedAccount { refresh_lease_until_ms: None, ..account.clone() };
        let refresh = match &account.refresh_token {
            Some(sealed) => self.open(user, provider, sealed)?,
            None => return self.relink(release(&account)).await,
        };
        let answer = match (provider, self.spotify.as_ref()) {
            (Provider::Spotify, Some(spotify)) => spotify.auth.refresh(refresh.expose()).await,
            _ => {
                self.accounts.save_account(&release(&account)).await?;
                return Err(LinkError::NotOffered(provider));
            }
        };
        match answer {
            Ok(grant) => {
                let access = Secret::new(grant.access_token.clone());
                let now = self.clock.now_unix_millis();
                let refreshed = LinkedAccount {
                    access_token: Some(self.vault.seal(user, provider, &access).to_stored()),
                    refresh_token: match &grant.refresh_token {
                        Some(rotated) => {
                            Some(self.vault.seal(user, provider, &Secret::new(rotated.clone())).to_stored())
                        }
                        None => account.refresh_token.clone(),
                    },
                    access_expires_ms: now + millis(grant.expires_in),
                    refresh_lease_until_ms: None,
                    ..account
                };
                // Saved before the token is used: a rotated refresh token
                // must not be lost to a crash after this.
                self.accounts.save_account(&refreshed).await?;
                Ok(access)
            }
            Err(OAuthError::InvalidGrant) => self.relink(release(&account)).await,
            Err(e) => {
                let error = self.oauth_failure(provider, &e);
                self.accounts.save_account(&release(&account)).await?;
                Err(error)
            }
        }
    }

    /// `invalid_grant` is terminal: the tokens go, the link is marked for
    /// relinking, the member is told.
    async fn relink(&self, account: LinkedAccount) -> Result<Secret, LinkError> {
        let (user, provider) = (account.user, account.provider);
        let marked =
            LinkedAccount { access_token: None, refresh_token: None, state: LinkState::NeedsRelink, ..account };
        self.accounts.save_account(&marked).await?;
        let error = LinkError::NeedsRelink(provider);
        self.tell(user, error.user_message()).await;
        Err(error)
    }

    fn oauth_failure(&self, provider: Provider, error: &OAuthError) -> LinkError {
        match error {
            OAuthError::InvalidClient => {
                // An alarm for the operator (the log metric filter counts
                // it); no member's record changes.
                tracing::error!(alarm = "oauth_invalid_client", %provider, "the provider refused the app's client credentials");
                LinkError::InvalidClient(provider)
            }
            OAuthError::InvalidGrant => LinkError::NeedsRelink(provider),
            other => {
                tracing::warn!(error = %other, %provider, "a token request failed");
                LinkError::ProviderUnavailable(provider)
            }
        }
    }

    fn open(&self, user: UserId, provider: Provider, sealed: &str) -> Result<Secret, LinkError> {
        let opened = SealedToken::from_stored(sealed).ok().and_then(|t| self.vault.open(user, provider, &t).ok());
        opened.ok_or_else(|| {
            // A record the keys cannot open (a retired key, a copied row):
            // unusable, so the member links again.
            tracing::warn!(%provider, "a stored token did not open");
            LinkError::NeedsRelink(provider)
        })
    }

    async fn store_grant(
        &self,
        user: UserId,
        provider: Provider,
        grant: TokenGrant,
        account_name: Option<String>,
        grant_expires_ms: Option<u64>,
        now: u64,
    ) -> Result<(), LinkError> {
        let seal = |token: String| self.vault.seal(user, provider, &Secret::new(token)).to_stored();
        let version = self.accounts.load_account(user, provider).await?.map_or(0, |a| a.version);
        let account = LinkedAccount {
            user,
            provider,
            account_name,
            access_token: Some(seal(grant.access_token)),
            refresh_token: grant.refresh_token.map(seal),
            access_expires_ms: now + millis(grant.expires_in),
            grant_expires_ms,
            linked_at_ms: now,
            state: LinkState::Active,
            refresh_lease_until_ms: None,
            version,
        };
        self.accounts.save_account(&account).await?;
        Ok(())
    }

    async fn import_with(&self, user: UserId, provider: Provider, access: &Secret) -> Result<ImportSummary, LinkError> {
        let spotify = self.spotify.as_ref().ok_or(LinkError::NotOffered(provider))?;
        let read = spotify.library.read(access).await.map_err(|e| library_failure(provider, &e))?;
        let existing = self.playlists.playlists(user).await?;
        let ours = PlaylistOrigin::Linked(provider);
        let taken: Vec<String> = existing.iter().filter(|p| p.origin != ours).map(|p| p.name.key()).collect();
        let room = MAX_PLAYLISTS_PER_MEMBER.saturating_sub(taken.len());
        let (saves, _empty) = linked_to_save(read.playlists, user, provider, taken, self.clock.now_unix_millis());
        let mut summary = ImportSummary { left_out: read.playlists_left_out, ..ImportSummary::default() };
        let mut kept = Vec::new();
        for save in saves {
            if kept.len() == room {
                summary.left_out += 1;
                continue;
            }
            self.playlists.save_playlist(&save.playlist).await?;
            summary.playlists += 1;
            summary.tracks += save.playlist.entries.len();
            summary.skipped += save.skipped;
            kept.push(save.playlist.name.key());
        }
        // What the account no longer has goes from the member's playlists.
        self.remove_imported(user, provider, &kept).await?;
        Ok(summary)
    }

    /// Deletes the playlists imported from `provider` whose keys are not in
    /// `keep`; returns how many.
    async fn remove_imported(&self, user: UserId, provider: Provider, keep: &[String]) -> Result<usize, LinkError> {
        let mut removed = 0;
        for summary in self.playlists.playlists(user).await? {
            if summary.origin == PlaylistOrigin::Linked(provider) && !keep.contains(&summary.name.key()) {
                removed += usize::from(self.playlists.delete_playlist(user, &summary.name).await?);
            }
        }
        Ok(removed)
    }

    /// A DM to the member; a closed DM is logged, not an error (the page or
    /// the command's own reply told them already).
    async fn tell(&self, user: UserId, text: String) {
        let Some(discord) = &self.discord else { return };
        if let Err(e) = discord.send_dm(user, &OutgoingMessage::text(text)).await {
            tracing::info!(error = %e, "a link confirmation could not be sent by DM");
        }
    }
}

fn library_failure(provider: Provider, error: &LibraryError) -> LinkError {
    match error {
        LibraryError::Unauthorized => LinkError::NeedsRelink(provider),
        LibraryError::QuotaExceeded => LinkError::QuotaExceeded(provider),
        LibraryError::Forbidden => LinkError::Forbidden(provider),
        _ => LinkError::ProviderUnavailable(provider),
    }
}

/// The unlink's confirmation.
pub fn unlinked_message(provider: Provider, removed: usize) -> String {
    format!(
        "Your {} link is removed: its tokens are deleted, and so are the {removed} playlists imported from it.",
        title(provider)
    )
}

/// Where the member revokes the app at the provider, when the provider
/// offers apps no way to do it.
pub fn revoke_hint(provider: Provider) -> &'static str {
    match provider {
        Provider::Spotify => {
            "Spotify offers apps no way to revoke their access: remove timmybot at https://www.spotify.com/account/apps/ too."
        }
        Provider::Google => "Google's access is revoked as well.",
        Provider::Plex => "Remove timmybot from your authorized devices at plex.tv too.",
    }
}

/// The provider's name as people write it.
pub fn title(provider: Provider) -> &'static str {
    match provider {
        Provider::Google => "YouTube",
        Provider::Spotify => "Spotify",
        Provider::Plex => "Plex",
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_a_provider_named() {
        let page = CallbackPage::new(200, "Linked", "Spotify is linked as <script>alert('x')</script> & co");
        let html = page.html();
        assert!(html.contains("as &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"), "{html}");
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn messages_name_the_provider_and_the_way_back() {
        assert_eq!(
            LinkError::NeedsRelink(Provider::Spotify).user_message(),
            "Your Spotify link stopped working. Run `/link spotify` to link it again."
        );
        assert!(LinkError::Forbidden(Provider::Spotify).user_message().contains("at most 5"));
        let summary = ImportSummary { playlists: 3, tracks: 40, skipped: 1, left_out: 2 };
        assert_eq!(summary.describe(), "3 playlists (40 tracks) imported; 2 left out (you have 200 playlists)");
    }
}
