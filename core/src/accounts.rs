//! Linked accounts (issue #14): a member's Google, Spotify or Plex account
//! as the store keeps it, and the store port. The tokens are kept sealed
//! (`timmybot-accounts`' token vault seals them before they get here): a
//! store, a backup or a log of items never holds one in the clear.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Provider, StoreError, UserId};

/// Whether a link still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// The tokens work (or can be refreshed).
    Active,
    /// The provider refused the grant (`invalid_grant`): the tokens are
    /// gone and the member must link again.
    NeedsRelink,
}

/// One member's link to one provider. `Debug` shows whether tokens are
/// there, never their (sealed) text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedAccount {
    /// The member.
    pub user: UserId,
    /// The provider.
    pub provider: Provider,
    /// The account's display name at the provider, shown by `/links`.
    pub account_name: Option<String>,
    /// The sealed access token (the vault's stored form); `None` once the
    /// link needs relinking.
    pub access_token: Option<String>,
    /// The sealed refresh token, when the provider gave one.
    pub refresh_token: Option<String>,
    /// When the access token expires, Unix milliseconds.
    pub access_expires_ms: u64,
    /// When the grant itself ends (Spotify's Development Mode: six months
    /// after it was given), Unix milliseconds; `None` when it does not.
    pub grant_expires_ms: Option<u64>,
    /// When the member linked it, Unix milliseconds.
    pub linked_at_ms: u64,
    /// Whether it still works.
    pub state: LinkState,
    /// Until when (Unix milliseconds) one process holds the right to
    /// refresh these tokens: taken by a conditional save, so of several
    /// processes wanting a fresh token exactly one asks the provider and the
    /// others wait for its save. `None` when nobody refreshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_lease_until_ms: Option<u64>,
    /// The stored version this was read at (0: never stored); a save is
    /// conditional on it.
    pub version: u64,
}

impl std::fmt::Debug for LinkedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sealed = |token: &Option<String>| if token.is_some() { "<sealed>" } else { "none" };
        f.debug_struct("LinkedAccount")
            .field("user", &self.user)
            .field("provider", &self.provider)
            .field("access_token", &sealed(&self.access_token))
            .field("refresh_token", &sealed(&self.refresh_token))
            .field("access_expires_ms", &self.access_expires_ms)
            .field("grant_expires_ms", &self.grant_expires_ms)
            .field("state", &self.state)
            .field("refresh_lease_until_ms", &self.refresh_lease_until_ms)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Keeps members' linked accounts, partitioned by member.
///
/// Contract (one suite over every adapter):
/// - [`Self::save_account`] writes only when the stored version is the one
///   the account was read at (0 = none stored) and returns the new one;
///   otherwise [`crate::StoreErrorKind::Conflict`], nothing written;
/// - [`Self::accounts`] lists a member's links by provider name;
/// - [`Self::delete_member`] leaves nothing of the member (unlinking all,
///   as Spotify's policy requires on disconnect) and touches no other
///   member.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// The member's link to `provider`, if any.
    async fn load_account(&self, user: UserId, provider: Provider) -> Result<Option<LinkedAccount>, StoreError>;

    /// Stores `account` if nobody saved it since it was read; returns the
    /// new version.
    ///
    /// # Errors
    /// [`crate::StoreErrorKind::Conflict`] when the stored version moved on.
    async fn save_account(&self, account: &LinkedAccount) -> Result<u64, StoreError>;

    /// Every link the member has, ordered by provider name.
    async fn accounts(&self, user: UserId) -> Result<Vec<LinkedAccount>, StoreError>;

    /// Removes the member's link to `provider`; returns whether there was one.
    async fn delete_account(&self, user: UserId, provider: Provider) -> Result<bool, StoreError>;

    /// Removes everything the store holds of the member; returns how many
    /// records went.
    async fn delete_member(&self, user: UserId) -> Result<usize, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_sealed_tokens() {
        let account = LinkedAccount {
            user: UserId::new(1).unwrap(),
            provider: Provider::Spotify,
            account_name: None,
            access_token: Some("v1.c2VhbGVkLWFjY2Vzcw".into()),
            refresh_token: None,
            access_expires_ms: 1,
            grant_expires_ms: None,
            linked_at_ms: 0,
            state: LinkState::Active,
            refresh_lease_until_ms: None,
            version: 3,
        };
        let shown = format!("{account:?}");
        assert!(!shown.contains("c2VhbGVkLWFjY2Vzcw"), "{shown}");
        assert!(shown.contains("access_token: \"<sealed>\"") && shown.contains("refresh_token: \"none\""), "{shown}");
    }
}
