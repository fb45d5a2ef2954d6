//! What a guild's admins and members do that the bot only sees as gateway
//! events: members moving between voice channels, the bot being dragged to
//! another channel or kicked from voice, a channel being deleted; and
//! Discord itself moving a call to another voice server.
//!
//! Each control changes the state and dispatches its events under one lock,
//! so the events reach the owning shard in Discord's order, and later
//! GUILD_CREATEs (after a reconnect) show the result.

use super::payloads::{self, Account};
use super::state::{INTENT_GUILD_VOICE_STATES, INTENT_GUILDS, State};
use super::{FakeDiscord, FakeGuild};
use anyhow::Context as _;

impl FakeDiscord {
    /// The guild `guild_id` of the config, or an error naming it.
    fn known_guild(&self, guild_id: u64) -> anyhow::Result<&FakeGuild> {
        self.shared.config.guild(guild_id).with_context(|| format!("unknown guild {guild_id}"))
    }

    /// Move a member (a person, or one of
    /// [`FakeDiscordConfig::bot_users`](super::FakeDiscordConfig::bot_users))
    /// into `channel_id`, or out of voice with `None`, and dispatch
    /// VOICE_STATE_UPDATE to the owning shard if it has identified with
    /// `GUILD_VOICE_STATES` (queued for replay if it is between sockets).
    /// Later GUILD_CREATEs reflect the move. The bot under test moves with
    /// [`Self::move_bot`] and [`Self::disconnect_bot`] instead.
    ///
    /// # Errors
    ///
    /// Fails for an unknown guild, a channel that is not one of its voice
    /// channels (or was deleted), or the bot under test's own user id.
    pub async fn move_member(&self, guild_id: u64, user_id: u64, channel_id: Option<u64>) -> anyhow::Result<()> {
        let guild = self.known_guild(guild_id)?;
        anyhow::ensure!(
            user_id != self.shared.config.bot_user_id,
            "use move_bot or disconnect_bot to move the bot under test"
        );
        let shard = self.shard_for_guild(guild_id);
        let session = payloads::member_voice_session(user_id);
        let account = self.shared.config.account(user_id);
        let voice_state = payloads::voice_state(guild_id, user_id, channel_id, &session, account);
        self.shared.update(|state| {
            if let Some(channel_id) = channel_id {
                anyhow::ensure!(
                    state.is_voice_channel(guild, channel_id),
                    "{channel_id} is not a voice channel of guild {guild_id}"
                );
            }
            let members = state.voice.entry(guild_id).or_default();
            match channel_id {
                Some(channel_id) => members.insert(user_id, channel_id),
                None => members.remove(&user_id),
            };
            state.dispatch_to_shard(shard, INTENT_GUILD_VOICE_STATES, "VOICE_STATE_UPDATE", &voice_state);
            Ok(())
        })?;
        tracing::info!(guild_id, user_id, channel_id = ?channel_id, "member moved");
        Ok(())
    }

    /// An admin drags the bot to another voice channel of the guild.
    ///
    /// Records the bot in `channel_id` and dispatches to the owning shard,
    /// as Discord does: VOICE_STATE_UPDATE for the bot with the new
    /// `channel_id` and the session id it has now (needs
    /// `GUILD_VOICE_STATES`), then VOICE_SERVER_UPDATE with a fresh token
    /// and the same voice endpoint. songbird 0.6 drops its voice connection
    /// when its channel changes and reconnects on that server update, so a
    /// test sees a new voice session on its fake voice server.
    ///
    /// # Errors
    ///
    /// Fails for an unknown guild, a channel that is not one of its voice
    /// channels (or was deleted), when the bot is in no voice channel of
    /// the guild, or when it is already in `channel_id`.
    pub async fn move_bot(&self, guild_id: u64, channel_id: u64) -> anyhow::Result<()> {
        let config = &self.shared.config;
        let guild = self.known_guild(guild_id)?;
        let shard = self.shard_for_guild(guild_id);
        self.shared.update(|state| {
            anyhow::ensure!(
                state.is_voice_channel(guild, channel_id),
                "{channel_id} is not a voice channel of guild {guild_id}"
            );
            let current = bot_channel(state, config.bot_user_id, guild_id)?;
            anyhow::ensure!(current != channel_id, "the bot is already in channel {channel_id}");
            state.voice.entry(guild_id).or_default().insert(config.bot_user_id, channel_id);
            let session = state.shard_session_id(shard);
            let voice_state =
                payloads::voice_state(guild_id, config.bot_user_id, Some(channel_id), &session, Account::Me);
            state.dispatch_to_shard(shard, INTENT_GUILD_VOICE_STATES, "VOICE_STATE_UPDATE", &voice_state);
            let token = payloads::voice_token(channel_id);
            let server = payloads::voice_server_update(guild_id, &token, state.voice_endpoint(config, guild_id));
            state.dispatch_to_shard(shard, 0, "VOICE_SERVER_UPDATE", &server);
            Ok(())
        })?;
        tracing::info!(guild_id, channel_id, "bot moved");
        Ok(())
    }

    /// Discord moves the guild's call to another voice server (another
    /// region, or a server being drained): dispatches VOICE_SERVER_UPDATE
    /// with a fresh token and `endpoint` (`host:port`, e.g. a second
    /// [`FakeVoiceServer::endpoint`](crate::fake_voice::FakeVoiceServer::endpoint))
    /// to the owning shard, and names `endpoint` in every later
    /// VOICE_SERVER_UPDATE of the guild (a join after this goes there too).
    /// The bot stays in its channel: no VOICE_STATE_UPDATE is sent.
    ///
    /// # Errors
    ///
    /// Fails for an unknown guild, an empty endpoint, or when the bot is in
    /// no voice channel of the guild.
    pub async fn move_voice_server(&self, guild_id: u64, endpoint: &str) -> anyhow::Result<()> {
        let config = &self.shared.config;
        self.known_guild(guild_id)?;
        anyhow::ensure!(!endpoint.trim().is_empty(), "a voice server endpoint is host:port, not empty");
        let shard = self.shard_for_guild(guild_id);
        self.shared.update(|state| {
            let channel_id = bot_channel(state, config.bot_user_id, guild_id)?;
            state.voice_endpoints.insert(guild_id, endpoint.to_owned());
            let token = payloads::voice_token(channel_id);
            let server = payloads::voice_server_update(guild_id, &token, endpoint);
            state.dispatch_to_shard(shard, 0, "VOICE_SERVER_UPDATE", &server);
            Ok::<_, anyhow::Error>(())
        })?;
        tracing::info!(guild_id, endpoint, "voice server moved");
        Ok(())
    }

    /// An admin disconnects the bot from voice: dispatches
    /// VOICE_STATE_UPDATE for the bot with `channel_id: null` (needs
    /// `GUILD_VOICE_STATES`) and records it out of voice.
    ///
    /// Discord also closes the bot's voice WebSocket with 4014; the fake
    /// voice server is separate, so the test does that itself with
    /// [`FakeVoiceServer::close_sessions`](crate::fake_voice::FakeVoiceServer::close_sessions)`(guild_id, 4014)`.
    ///
    /// # Errors
    ///
    /// Fails for an unknown guild, or when the bot is in no voice channel
    /// of the guild.
    pub async fn disconnect_bot(&self, guild_id: u64) -> anyhow::Result<()> {
        let config = &self.shared.config;
        self.known_guild(guild_id)?;
        let shard = self.shard_for_guild(guild_id);
        self.shared.update(|state| {
            bot_channel(state, config.bot_user_id, guild_id)?;
            state.voice.entry(guild_id).or_default().remove(&config.bot_user_id);
            let session = state.shard_session_id(shard);
            let voice_state = payloads::voice_state(guild_id, config.bot_user_id, None, &session, Account::Me);
            state.dispatch_to_shard(shard, INTENT_GUILD_VOICE_STATES, "VOICE_STATE_UPDATE", &voice_state);
            Ok::<_, anyhow::Error>(())
        })?;
        tracing::info!(guild_id, "bot disconnected from voice");
        Ok(())
    }

    /// An admin deletes a text or voice channel of the guild.
    ///
    /// Dispatches CHANNEL_DELETE with the channel object as GUILD_CREATE
    /// described it (needs `GUILDS`), then, for everyone in that channel
    /// (members and the bot, by user id), VOICE_STATE_UPDATE with
    /// `channel_id: null` (needs `GUILD_VOICE_STATES`), and removes them
    /// from voice. From then on GUILD_CREATE no longer lists the channel,
    /// [`Self::move_member`], [`Self::move_bot`] and the bot's op 4 cannot
    /// go into it, and posting a message in it fails with 404 / 10003
    /// (messages already sent there stay in [`Self::channel_messages`]).
    ///
    /// # Errors
    ///
    /// Fails for an unknown guild, or a channel that is not one of its
    /// channels or was already deleted.
    pub async fn delete_channel(&self, guild_id: u64, channel_id: u64) -> anyhow::Result<()> {
        let config = &self.shared.config;
        let guild = self.known_guild(guild_id)?;
        let shard = self.shard_for_guild(guild_id);
        let removed = self.shared.update(|state| {
            let channel = payloads::channel_object(guild_id, &guild.text_channels, &guild.voice_channels, channel_id)
                .filter(|_| !state.deleted_channels.contains(&channel_id))
                .with_context(|| format!("{channel_id} is not a channel of guild {guild_id}"))?;
            state.deleted_channels.push(channel_id);
            state.dispatch_to_shard(shard, INTENT_GUILDS, "CHANNEL_DELETE", &channel);
            let members = state.voice.entry(guild_id).or_default();
            let inside: Vec<u64> =
                members.iter().filter(|(_, channel)| **channel == channel_id).map(|(user, _)| *user).collect();
            members.retain(|_, channel| *channel != channel_id);
            for &user_id in &inside {
                let session = if user_id == config.bot_user_id {
                    state.shard_session_id(shard)
                } else {
                    payloads::member_voice_session(user_id)
                };
                let account = config.account(user_id);
                let voice_state = payloads::voice_state(guild_id, user_id, None, &session, account);
                state.dispatch_to_shard(shard, INTENT_GUILD_VOICE_STATES, "VOICE_STATE_UPDATE", &voice_state);
            }
            Ok::<_, anyhow::Error>(inside.len())
        })?;
        tracing::info!(guild_id, channel_id, removed, "channel deleted");
        Ok(())
    }
}

/// The voice channel the bot is in, or an error saying it is in none.
fn bot_channel(state: &State, bot_user_id: u64, guild_id: u64) -> anyhow::Result<u64> {
    state
        .voice
        .get(&guild_id)
        .and_then(|members| members.get(&bot_user_id).copied())
        .with_context(|| format!("the bot is in no voice channel of guild {guild_id}"))
}
