//! The gateway sessions a stopping task leaves for the next one, and the
//! record of how often this deployment identified.
//!
//! Discord keeps a gateway session for a short while after its socket
//! closes (unless the client closed it with 1000 or 1001). A new task that
//! resumes it costs no IDENTIFY from the daily allowance and gets the
//! events it missed replayed. RESUME replays events, never the
//! GUILD_CREATEs a fresh process fills its caches from, so the saved
//! sessions carry the voice states the old task knew.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// How many identifies [`GatewaySessionStore::record_identify`] keeps: the
/// newest, older ones are dropped, so the record stays one small item.
pub const IDENTIFY_HISTORY_LIMIT: usize = 200;

/// One shard's resumable session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewaySession {
    /// The shard's id.
    pub shard_id: u32,
    /// How many shards the deployment ran: a session only resumes on the
    /// same shard of the same count.
    pub shard_count: u32,
    /// Discord's session id (not a credential: RESUME needs the token too).
    pub session_id: String,
    /// The sequence number of the last event the shard received.
    pub sequence: u64,
    /// Where Discord said to resume (READY's `resume_gateway_url`).
    pub resume_url: String,
}

/// A member (or bot) in a voice channel, as the stopping task knew it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedVoiceState {
    /// The guild.
    pub guild_id: u64,
    /// The user in voice.
    pub user_id: u64,
    /// Their voice channel.
    pub channel_id: u64,
    /// Whether the user is a bot (bots are not listeners).
    pub bot: bool,
}

/// What a stopping task leaves: every shard's session and the voice states
/// behind them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedGatewaySessions {
    /// When they were saved (Unix milliseconds): Discord forgets a session
    /// after a while, so an old one is not worth a try.
    pub saved_at_ms: u64,
    /// One per shard that closed resumable.
    pub sessions: Vec<GatewaySession>,
    /// Guilds the task knew, each listed even when nobody is in voice, so
    /// the next task knows the bot is in it without a GUILD_CREATE.
    pub guilds: Vec<u64>,
    /// Who sat in voice when the shards closed.
    pub voice_states: Vec<SavedVoiceState>,
}

/// Keeps the deployment's saved gateway sessions and its recent identifies.
#[async_trait]
pub trait GatewaySessionStore: Send + Sync + 'static {
    /// Replaces the saved sessions with `saved`.
    async fn save_sessions(&self, saved: &SavedGatewaySessions) -> Result<(), StoreError>;

    /// Returns the saved sessions and removes them, in one step: a session
    /// is tried once (two tasks resuming one session would fight over it).
    async fn take_sessions(&self) -> Result<Option<SavedGatewaySessions>, StoreError>;

    /// Records that a shard identified at `at_ms` (Unix milliseconds);
    /// keeps the newest [`IDENTIFY_HISTORY_LIMIT`].
    async fn record_identify(&self, at_ms: u64) -> Result<(), StoreError>;

    /// How many recorded identifies happened at or after `since_ms`.
    async fn identifies_since(&self, since_ms: u64) -> Result<usize, StoreError>;
}
