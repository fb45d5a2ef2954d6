//! The allowlist domain: which guilds may use a managed deployment.
//!
//! For now the stored record lives in `timmybot-core`
//! ([`timmybot_core::AllowlistRecord`]); the request / approve / deny /
//! revoke rules and slot limits arrive with the allowlist issue. This crate
//! holds the one rule the walking skeleton needs: which states may play.
#![warn(missing_docs)]

use timmybot_core::AllowlistState;

/// Whether a guild in `state` may use the player.
pub fn may_play(state: Option<AllowlistState>) -> bool {
    matches!(state, Some(AllowlistState::Approved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_approved_guilds_may_play() {
        assert!(may_play(Some(AllowlistState::Approved)));
        for state in [None, Some(AllowlistState::Pending), Some(AllowlistState::Denied), Some(AllowlistState::Revoked)]
        {
            assert!(!may_play(state), "{state:?}");
        }
    }
}
