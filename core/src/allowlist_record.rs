//! A guild's allowlist record and its audit trail, as stored. The rules that
//! move a record between states live in the `allowlist` crate.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ChannelId, GuildId, MessageRef, UserId};

/// Where a guild stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

impl AllowlistState {
    /// Every state, in workflow order.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Approved, Self::Denied, Self::Revoked];

    /// The lowercase name used in storage, the API and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Revoked => "revoked",
        }
    }

    /// Parses [`Self::as_str`]'s names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for AllowlistState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who made a change, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// A Discord user: the requester, or a maintainer pressing a button.
    DiscordUser(UserId),
    /// An AWS IAM principal calling the admin endpoint (its ARN).
    Iam(String),
    /// Whoever holds the local admin token.
    AdminToken,
    /// The platform itself.
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DiscordUser(id) => write!(f, "discord:{id}"),
            Self::Iam(arn) => write!(f, "iam:{arn}"),
            Self::AdminToken => f.write_str("admin-token"),
            Self::System => f.write_str("system"),
        }
    }
}

/// A guild's allowlist record: the current state and the last request and
/// decision. Every change also leaves an [`AllowlistEvent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowlistRecord {
    /// The guild (partition key).
    pub guild_id: GuildId,
    /// Incremented on every save; a save names the version it read.
    pub version: u64,
    /// Current state.
    pub state: AllowlistState,
    /// The guild's name when it asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_name: Option<String>,
    /// Its approximate member count when it asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<u64>,
    /// Who asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<UserId>,
    /// The channel the request was made in: where the requester is told
    /// the decision when their DMs are closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_channel: Option<ChannelId>,
    /// Why they asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When they last asked (Unix seconds).
    #[serde(default)]
    pub requested_at: u64,
    /// Who made the last decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Actor>,
    /// When (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<u64>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    /// The message with Approve / Deny buttons in the maintainers' channel,
    /// so a decision made elsewhere can update it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintainer_notice: Option<MessageRef>,
    /// When the record last changed (Unix seconds).
    pub updated_at: u64,
}

/// One entry of a guild's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowlistEvent {
    /// The guild.
    pub guild_id: GuildId,
    /// The record version this change produced; orders a guild's events.
    pub seq: u64,
    /// When (Unix seconds).
    pub at: u64,
    /// Who.
    pub actor: Actor,
    /// The state before (`None` for a guild's first request).
    pub from: Option<AllowlistState>,
    /// The state after.
    pub to: AllowlistState,
    /// Why, as the actor gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether an approval went past the slot limit on purpose.
    #[serde(default)]
    pub forced: bool,
}

/// What a change does to the count of approved guilds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotEffect {
    /// Nothing (the guild neither enters nor leaves `approved`).
    Keep,
    /// The guild becomes approved: takes a slot. Unless `force`, the store
    /// refuses with [`crate::StoreErrorKind::LimitReached`] when every slot
    /// is taken.
    Take {
        /// Approve even past the limit.
        force: bool,
    },
    /// The guild leaves `approved`: frees its slot.
    Release,
}

/// One atomic allowlist write: the record, its audit event and its slot.
///
/// A store applies all three or none, and only if the stored record is
/// still at `record.version` (0 = none stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowlistChange {
    /// The record to store; its `version` is the version it was read at.
    pub record: AllowlistRecord,
    /// The audit event to append (`None` for bookkeeping such as noting
    /// the maintainers' message, which changes no state).
    pub event: Option<AllowlistEvent>,
    /// The slot accounting.
    pub slot: SlotEffect,
}

impl AllowlistChange {
    /// Checks the change is self-consistent and returns the version it will
    /// be stored at (`record.version + 1`). Every store adapter calls this
    /// before writing anything.
    ///
    /// The event must be the one this change produces (same guild, `seq` =
    /// the new version): events are keyed by `seq`, so a wrong one would
    /// overwrite or misorder the trail. The slot effect must agree with the
    /// new state (a take approves, a release leaves `approved`), or the
    /// approved count would drift from the records.
    ///
    /// # Errors
    /// [`crate::StoreErrorKind::InvalidInput`] when it is not.
    pub fn check(&self) -> Result<u64, crate::StoreError> {
        let invalid = || crate::StoreError::new(crate::StoreErrorKind::InvalidInput);
        let record = &self.record;
        let version = record.version.checked_add(1).ok_or_else(invalid)?;
        if let Some(event) = &self.event
            && (event.guild_id != record.guild_id || event.seq != version)
        {
            return Err(invalid());
        }
        let approved = record.state == AllowlistState::Approved;
        match self.slot {
            SlotEffect::Take { .. } if !approved => Err(invalid()),
            SlotEffect::Release if approved => Err(invalid()),
            _ => Ok(version),
        }
    }
}

/// How many guilds are approved, and how many may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotUsage {
    /// Guilds approved now.
    pub approved: u64,
    /// The most that may be approved without forcing; `None` = no limit.
    pub limit: Option<u64>,
}

/// A page of records in one state, newest change first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowlistPage {
    /// The records.
    pub records: Vec<AllowlistRecord>,
    /// Pass back to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}
