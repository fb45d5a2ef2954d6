//! Why an allowlist operation did not happen, with the words shown to the
//! person who asked.

use timmybot_core::{AllowlistState, GuildId, StoreError, StoreErrorKind};

/// An allowlist operation was refused or failed. Nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AllowlistError {
    /// The guild already has a request waiting.
    #[error("a request is already pending (since {since})")]
    AlreadyPending {
        /// When it was made (Unix seconds).
        since: u64,
    },
    /// The guild is already approved.
    #[error("the guild is already approved")]
    AlreadyApproved,
    /// The guild was denied recently.
    #[error("the guild was denied; it may ask again at {until}")]
    CoolingDown {
        /// When it may ask again (Unix seconds).
        until: u64,
    },
    /// Access was revoked; only a maintainer can restore it.
    #[error("access was revoked by the maintainers")]
    RevokedByMaintainers,
    /// The guild never asked.
    #[error("guild {0} has no allowlist record")]
    UnknownGuild(GuildId),
    /// The guild is already in the state the decision leads to.
    #[error("the guild is already {0}")]
    AlreadyInState(AllowlistState),
    /// The state machine has no such move.
    #[error("cannot go from {from} to {to}")]
    InvalidTransition {
        /// The current state.
        from: AllowlistState,
        /// The state asked for.
        to: AllowlistState,
    },
    /// Every slot is taken; approving needs `force`.
    #[error("every slot is taken ({approved} of {limit}); approve with force to go past the limit")]
    SlotsFull {
        /// Guilds approved now.
        approved: u64,
        /// The limit.
        limit: u64,
    },
    /// Someone else changed the guild at the same moment; their change won.
    #[error("the guild was changed by someone else at the same time; reload and try again")]
    ConcurrentChange,
    /// The pressing user is not a configured maintainer.
    #[error("only the bot's maintainers can decide access requests")]
    NotAMaintainer,
    /// The caller's input is unusable (a malformed page cursor).
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The store failed.
    #[error("allowlist store failed")]
    Store(#[source] StoreError),
}

impl PartialEq for AllowlistError {
    fn eq(&self, other: &Self) -> bool {
        // Store errors carry sources that cannot be compared; their kinds can.
        match (self, other) {
            (Self::Store(a), Self::Store(b)) => a.kind() == b.kind(),
            _ => std::mem::discriminant(self) == std::mem::discriminant(other) && self.to_string() == other.to_string(),
        }
    }
}

impl From<StoreError> for AllowlistError {
    fn from(error: StoreError) -> Self {
        match error.kind() {
            StoreErrorKind::Conflict => Self::ConcurrentChange,
            StoreErrorKind::InvalidInput => Self::InvalidInput("page cursor"),
            _ => Self::Store(error),
        }
    }
}

impl AllowlistError {
    /// Whether this is our failure rather than the caller's.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Store(_))
    }
}
