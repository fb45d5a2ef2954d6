//! A guild's allowlist record as stored. The rules that move it between
//! states live in the `allowlist` crate.

use serde::{Deserialize, Serialize};

use crate::{GuildId, UserId};

/// Where a guild stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowlistState {
    /// Asked for access; waiting for a maintainer.
    Pending,
    /// May use the bot.
    Approved,
    /// Refused.
    Denied,
    /// Was approved, no longer is.
    Revoked,
}

/// A guild's allowlist record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowlistRecord {
    /// The guild (partition key).
    pub guild_id: GuildId,
    /// Incremented on every save; a save names the version it read.
    pub version: u64,
    /// Current state.
    pub state: AllowlistState,
    /// Who asked.
    pub requested_by: Option<UserId>,
    /// Why they asked.
    pub reason: Option<String>,
    /// When the state last changed (Unix seconds).
    pub updated_at: u64,
}
