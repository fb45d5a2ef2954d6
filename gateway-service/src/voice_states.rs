//! Who sits in which voice channel, per guild, from gateway events.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use timmybot_core::{ChannelId, GuildId, SavedVoiceState, UserId};
use twilight_model::gateway::event::Event;
use twilight_model::gateway::payload::incoming::GuildCreate;
use twilight_model::voice::VoiceState;

use crate::discord_ids;

/// The voice channel of every member the gateway told us about.
///
/// Filled from GUILD_CREATE (the initial voice states) and kept current by
/// VOICE_STATE_UPDATE; a guild is forgotten on GUILD_DELETE. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct VoiceStateCache {
    guilds: Arc<RwLock<HashMap<GuildId, GuildVoice>>>,
    /// Woken whenever a guild's GUILD_CREATE arrives.
    guild_arrived: Arc<tokio::sync::Notify>,
}

/// One guild's voice states.
#[derive(Debug, Default)]
struct GuildVoice {
    members: HashMap<UserId, ChannelId>,
    /// Users in voice that are bots (they do not count as listeners).
    bots: HashSet<UserId>,
}

impl VoiceStateCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The voice channel `user` sits in, if any.
    pub fn channel_of(&self, guild: GuildId, user: UserId) -> Option<ChannelId> {
        self.guilds.read().expect("voice state lock poisoned").get(&guild)?.members.get(&user).copied()
    }

    /// The members (not bots, not `bot_user`) in `channel`, sorted by id.
    pub fn listeners(&self, guild: GuildId, channel: ChannelId, bot_user: UserId) -> Vec<UserId> {
        let guilds = self.guilds.read().expect("voice state lock poisoned");
        let Some(voice) = guilds.get(&guild) else { return Vec::new() };
        let mut listeners: Vec<UserId> = voice
            .members
            .iter()
            .filter(|(user, c)| **c == channel && **user != bot_user && !voice.bots.contains(user))
            .map(|(user, _)| *user)
            .collect();
        listeners.sort_unstable();
        listeners
    }

    /// Whether the gateway described `guild` (its GUILD_CREATE arrived).
    pub fn knows_guild(&self, guild: GuildId) -> bool {
        self.guilds.read().expect("voice state lock poisoned").contains_key(&guild)
    }

    /// Waits up to `timeout` for `guild`'s GUILD_CREATE; returns whether it
    /// is known. After (re)connecting, READY comes before the guilds, and a
    /// command may arrive in between: it must not be told "not in voice".
    pub async fn wait_for_guild(&self, guild: GuildId, timeout: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.guild_arrived.notified();
            if self.knows_guild(guild) {
                return true;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.knows_guild(guild);
            }
        }
    }

    /// Records that `user` is in `channel` (or in none).
    pub fn set(&self, guild: GuildId, user: UserId, channel: Option<ChannelId>) {
        self.set_user(guild, user, channel, false);
    }

    fn set_user(&self, guild: GuildId, user: UserId, channel: Option<ChannelId>, bot: bool) {
        let mut guilds = self.guilds.write().expect("voice state lock poisoned");
        let voice = guilds.entry(guild).or_default();
        match channel {
            Some(channel) => {
                voice.members.insert(user, channel);
            }
            None => {
                voice.members.remove(&user);
            }
        }
        if bot {
            voice.bots.insert(user);
        } else {
            voice.bots.remove(&user);
        }
    }

    /// Applies a gateway event; other events are ignored.
    pub fn apply(&self, event: &Event) {
        match event {
            Event::GuildCreate(create) => {
                if let GuildCreate::Available(guild) = &**create {
                    let id = discord_ids::guild(guild.id);
                    let members = guild
                        .voice_states
                        .iter()
                        .filter_map(|s| s.channel_id.map(|c| (discord_ids::user(s.user_id), discord_ids::channel(c))))
                        .collect();
                    let bots =
                        guild.voice_states.iter().filter(|s| is_bot(s)).map(|s| discord_ids::user(s.user_id)).collect();
                    self.guilds.write().expect("voice state lock poisoned").insert(id, GuildVoice { members, bots });
                    self.guild_arrived.notify_waiters();
                }
            }
            Event::GuildDelete(delete) => {
                self.guilds.write().expect("voice state lock poisoned").remove(&discord_ids::guild(delete.id));
            }
            Event::VoiceStateUpdate(update) => self.apply_state(&update.0),
            _ => {}
        }
    }

    /// Every known guild and everyone in voice, for the next task: a
    /// resumed session replays events, never the GUILD_CREATEs this cache
    /// is filled from.
    pub(crate) fn snapshot(&self) -> (Vec<u64>, Vec<SavedVoiceState>) {
        let guilds = self.guilds.read().expect("voice state lock poisoned");
        let mut ids: Vec<u64> = guilds.keys().map(|g| g.get()).collect();
        ids.sort_unstable();
        let mut states: Vec<SavedVoiceState> = guilds
            .iter()
            .flat_map(|(guild, voice)| {
                voice.members.iter().map(move |(user, channel)| SavedVoiceState {
                    guild_id: guild.get(),
                    user_id: user.get(),
                    channel_id: channel.get(),
                    bot: voice.bots.contains(user),
                })
            })
            .collect();
        states.sort_unstable_by_key(|s| (s.guild_id, s.user_id));
        (ids, states)
    }

    /// Fills the cache from a [`Self::snapshot`] of the task whose sessions
    /// this one resumed, for the guilds `keep` accepts (those of the shards
    /// that resume); events replayed after RESUME bring it up to date.
    pub(crate) fn restore(&self, guilds: &[u64], states: &[SavedVoiceState], keep: impl Fn(u64) -> bool) {
        let mut cache = self.guilds.write().expect("voice state lock poisoned");
        for id in guilds.iter().copied().filter(|id| keep(*id)) {
            let Some(guild) = GuildId::new(id) else { continue };
            let mut voice = GuildVoice::default();
            for state in states.iter().filter(|s| s.guild_id == id) {
                let (Some(user), Some(channel)) = (UserId::new(state.user_id), ChannelId::new(state.channel_id)) else {
                    continue;
                };
                voice.members.insert(user, channel);
                if state.bot {
                    voice.bots.insert(user);
                }
            }
            cache.insert(guild, voice);
        }
        drop(cache);
        self.guild_arrived.notify_waiters();
    }

    fn apply_state(&self, state: &VoiceState) {
        let Some(guild) = state.guild_id else { return };
        self.set_user(
            discord_ids::guild(guild),
            discord_ids::user(state.user_id),
            state.channel_id.map(discord_ids::channel),
            is_bot(state),
        );
    }
}

fn is_bot(state: &VoiceState) -> bool {
    state.member.as_ref().is_some_and(|m| m.user.bot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (GuildId, UserId, ChannelId) {
        (GuildId::new(10).unwrap(), UserId::new(20).unwrap(), ChannelId::new(30).unwrap())
    }

    #[test]
    fn voice_state_updates_move_and_remove_members() {
        let cache = VoiceStateCache::new();
        let (g, u, c) = ids();
        let update = |channel: Option<u64>| {
            let json = serde_json::json!({
                "guild_id": "10", "user_id": "20", "channel_id": channel.map(|c| c.to_string()),
                "deaf": false, "mute": false, "self_deaf": false, "self_mute": false,
                "self_video": false, "session_id": "s", "suppress": false, "request_to_speak_timestamp": null
            });
            let state: VoiceState = serde_json::from_value(json).unwrap();
            Event::VoiceStateUpdate(Box::new(twilight_model::gateway::payload::incoming::VoiceStateUpdate(state)))
        };
        cache.apply(&update(Some(30)));
        assert_eq!(cache.channel_of(g, u), Some(c));
        cache.apply(&update(None));
        assert_eq!(cache.channel_of(g, u), None);
    }

    #[test]
    fn listeners_are_the_members_in_the_channel_without_bots() {
        let cache = VoiceStateCache::new();
        let (g, _, c) = ids();
        let other = ChannelId::new(31).unwrap();
        let bot_user = UserId::new(99).unwrap();
        cache.set(g, UserId::new(2).unwrap(), Some(c));
        cache.set(g, UserId::new(1).unwrap(), Some(c));
        cache.set(g, UserId::new(3).unwrap(), Some(other));
        cache.set(g, bot_user, Some(c));
        cache.set_user(g, UserId::new(4).unwrap(), Some(c), true);
        assert_eq!(cache.listeners(g, c, bot_user), vec![UserId::new(1).unwrap(), UserId::new(2).unwrap()]);
        assert!(cache.listeners(GuildId::new(77).unwrap(), c, bot_user).is_empty());
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;

    #[test]
    fn a_snapshot_restores_the_kept_guilds_with_their_listeners_and_bots() {
        let cache = VoiceStateCache::new();
        let (g, u, c) = (GuildId::new(10).unwrap(), UserId::new(20).unwrap(), ChannelId::new(30).unwrap());
        let empty_guild = GuildId::new(11).unwrap();
        let other_shard = GuildId::new(12).unwrap();
        cache.set(g, u, Some(c));
        cache.set_user(g, UserId::new(21).unwrap(), Some(c), true);
        cache.set(empty_guild, u, None);
        cache.set(other_shard, u, Some(c));
        let (guilds, states) = cache.snapshot();
        assert_eq!(guilds, vec![10, 11, 12]);

        let restored = VoiceStateCache::new();
        restored.restore(&guilds, &states, |id| id != 12);
        assert!(restored.knows_guild(g) && restored.knows_guild(empty_guild), "nobody in voice, still known");
        assert!(!restored.knows_guild(other_shard), "not kept");
        let bot_user = UserId::new(99).unwrap();
        assert_eq!(restored.listeners(g, c, bot_user), vec![u], "the bot in voice is no listener");
        assert_eq!(restored.channel_of(g, UserId::new(21).unwrap()), Some(c));
    }
}

#[cfg(test)]
mod wait_tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waiting_for_an_unknown_guild_times_out_and_a_known_one_returns_at_once() {
        let cache = VoiceStateCache::new();
        let guild = GuildId::new(10).unwrap();
        assert!(!cache.wait_for_guild(guild, std::time::Duration::from_secs(5)).await);
        cache.set(guild, UserId::new(1).unwrap(), ChannelId::new(2));
        assert!(cache.wait_for_guild(guild, std::time::Duration::from_secs(5)).await);
    }
}
