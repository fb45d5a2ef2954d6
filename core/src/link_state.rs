//! Pending account links (issue #14): the `state` an OAuth authorization
//! carries from `/link` to the provider's callback. Single-use, bound to
//! the member who asked, and short-lived, so a replayed, foreign or stale
//! `state` links nothing.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Provider, StoreError, UserId};

/// How long a pending link waits for its callback: ten minutes.
pub const LINK_STATE_TTL_MS: u64 = 10 * 60 * 1000;

/// The longest `state` accepted, in bytes: what `/link` makes is 43
/// characters; anything much longer was not made here.
pub const MAX_LINK_STATE_BYTES: usize = 128;

/// A link a member started and the provider has not called back for yet.
/// `Debug` hides the PKCE verifier.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    /// The opaque value sent as OAuth's `state` (random, URL-safe).
    pub state: String,
    /// The member the link is for: the callback links this member only.
    pub user: UserId,
    /// The provider the link is with.
    pub provider: Provider,
    /// The PKCE code verifier (Spotify), sent only with the code exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier: Option<String>,
    /// When `/link` made it, Unix milliseconds.
    pub created_at_ms: u64,
    /// When it stops being accepted, Unix milliseconds.
    pub expires_at_ms: u64,
}

impl PendingLink {
    /// A pending link for `user` with `provider`, made at `now_ms`, expiring
    /// [`LINK_STATE_TTL_MS`] later.
    pub fn new(state: String, user: UserId, provider: Provider, verifier: Option<String>, now_ms: u64) -> Self {
        Self { state, user, provider, verifier, created_at_ms: now_ms, expires_at_ms: now_ms + LINK_STATE_TTL_MS }
    }
}

impl std::fmt::Debug for PendingLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLink")
            .field("user", &self.user)
            .field("provider", &self.provider)
            .field("verifier", &self.verifier.as_ref().map(|_| "<hidden>"))
            .field("expires_at_ms", &self.expires_at_ms)
            .finish_non_exhaustive()
    }
}

/// Keeps pending links until their callback takes them.
///
/// Contract (one suite over every adapter):
/// - [`Self::put_link_state`] stores a new state;
///   [`crate::StoreErrorKind::Conflict`] when that state exists;
/// - [`Self::take_link_state`] returns a state once and removes it: a second
///   take, an unknown state, or one past its expiry gets `None`; of two
///   takes at once exactly one gets it.
#[async_trait]
pub trait LinkStateStore: Send + Sync + 'static {
    /// Stores `pending`.
    async fn put_link_state(&self, pending: &PendingLink) -> Result<(), StoreError>;

    /// Takes the pending link of `state` if it is there and unexpired at
    /// `now_ms`, removing it whatever its expiry.
    async fn take_link_state(&self, state: &str, now_ms: u64) -> Result<Option<PendingLink>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_link_expires_after_ten_minutes_and_hides_its_verifier() {
        let pending =
            PendingLink::new("s".into(), UserId::new(1).unwrap(), Provider::Spotify, Some("verifier-x".into()), 1_000);
        assert_eq!(pending.expires_at_ms, 1_000 + 600_000);
        assert!(!format!("{pending:?}").contains("verifier-x"));
        assert!(!format!("{pending:?}").contains("\"s\""), "the state is a credential too");
    }
}
