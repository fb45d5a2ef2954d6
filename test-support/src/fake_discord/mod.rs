//! A fake Discord on loopback: the REST API and the gateway WebSocket,
//! speaking the real protocols so real twilight clients can be tested.
//!
//! - REST: `http://127.0.0.1:<port>/api/v10/...`, what
//!   `twilight_http::Client::builder().proxy(fake.rest_addr(), true)` sends.
//!   Every call is recorded (never the Authorization value).
//! - Gateway: `ws://127.0.0.1:<port>`, reached with
//!   `twilight_gateway::ConfigBuilder::proxy_url(fake.gateway_url())`.
//!   HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay,
//!   and the bot's voice state updates (op 4) answered with
//!   VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE pointing at the caller's
//!   fake voice server.
//!
//! What admins and members do arrives as gateway events:
//! [`FakeDiscord::move_member`] (a member joins, moves or leaves voice),
//! [`FakeDiscord::move_bot`] (the bot is dragged to another channel:
//! VOICE_STATE_UPDATE, then VOICE_SERVER_UPDATE with a fresh token),
//! [`FakeDiscord::disconnect_bot`] (kicked from voice) and
//! [`FakeDiscord::delete_channel`] (CHANNEL_DELETE, then everyone in it
//! leaves voice). [`FakeDiscord::bot_voice_channel`] follows all of them.
//!
//! Messages and DMs: `POST /channels/{id}/messages` to a fake guild's
//! channel or a DM channel (`POST /users/@me/channels`), edits with
//! `PATCH /channels/{id}/messages/{id}`, deletes with
//! `DELETE /channels/{id}/messages/{id}` ([`FakeDiscord::deleted_messages`]),
//! `GET /guilds/{id}?with_counts=true` and leaving with
//! `DELETE /users/@me/guilds/{id}` (then GUILD_DELETE). A user in
//! [`FakeDiscordConfig::dm_closed_users`] gets a DM channel, but a message
//! to it fails with 403 / code 50007, as with closed DMs.
//!
//! Interaction replies: the callback (`POST /interactions/{id}/{token}/callback`),
//! `@original` and follow-ups (`POST /webhooks/{app}/{token}`) can be read
//! back as a test needs them: [`FakeDiscord::interaction_response`],
//! [`FakeDiscord::original_message`] and [`FakeDiscord::original_body`]
//! (the request bodies merged: `components`, `allowed_mentions`, `flags`),
//! [`FakeDiscord::original_deleted`], and [`FakeDiscord::followups`] with
//! each follow-up's `flags` (64 = ephemeral) and body.
//!
//! Interactions ([`FakeDiscord::slash_command`], [`FakeDiscord::button_press`],
//! [`FakeDiscord::autocomplete`]) carry `member.permissions` like Discord:
//! [`MEMBER_PERMISSIONS`] for everyone, plus [`MANAGE_GUILD`] for the
//! `(guild, user)` pairs in [`FakeDiscordConfig::guild_managers`]; and
//! `member.roles` from [`FakeDiscordConfig::member_roles`]. An autocomplete
//! interaction is answered with callback type 8 (choices) only.
//!
//! Bodies are checked like Discord checks them, with 400 / code 50035 and
//! the field named in `errors`: a message (created, edited, a follow-up, or
//! callback types 4 and 7) has at most 2000 characters of content, 5 action
//! rows of at most 5 components, `custom_id`s of at most 100 characters and
//! button labels of at most 80; an autocomplete answer has at most 25
//! choices with names of 1 to 100 characters.
//!
//! Voice states (in GUILD_CREATE and VOICE_STATE_UPDATE) carry the member;
//! `member.user.bot` is true for the bot under test and for
//! [`FakeDiscordConfig::bot_users`].
//!
//! Intents are honoured like Discord does: no GUILD_CREATE without
//! `GUILDS`, no voice states (in GUILD_CREATE or as VOICE_STATE_UPDATE)
//! without `GUILD_VOICE_STATES`. VOICE_SERVER_UPDATE and INTERACTION_CREATE
//! need no intent.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use timmybot_test_support::fake_discord::{FakeDiscord, FakeDiscordConfig, FakeGuild};
//!
//! let fake = FakeDiscord::start(FakeDiscordConfig {
//!     guilds: vec![FakeGuild {
//!         id: 81_384_788_765_712_384,
//!         voice_channels: vec![200],
//!         text_channels: vec![100],
//!         ..FakeGuild::default()
//!     }],
//!     voice_endpoint: "127.0.0.1:4433".into(),
//!     ..FakeDiscordConfig::default()
//! })
//! .await?;
//! // ... start the bot with fake.gateway_url() and fake.rest_addr() ...
//! let play = fake.slash_command(81_384_788_765_712_384, 100, 7, "play", serde_json::json!([]));
//! fake.send_interaction(81_384_788_765_712_384, play).await?;
//! # Ok(()) }
//! ```

mod admin;
mod gateway;
mod limits;
mod payloads;
mod rest;
mod state;
#[cfg(test)]
mod tests;

use anyhow::Context as _;
use serde_json::Value;
use state::{ChannelMessage, Outbound, Shared};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Permission bit MANAGE_GUILD (`1 << 5`).
pub const MANAGE_GUILD: u64 = 1 << 5;

/// Permission bits of an ordinary member in every fake channel, as
/// interactions report them: view, send, embed, history, connect, speak,
/// voice activity and application commands (the `@everyone` role).
pub const MEMBER_PERMISSIONS: u64 = payloads::EVERYONE_PERMISSIONS;

/// How long [`FakeDiscord::send_interaction`] waits for the owning shard.
const SHARD_WAIT: Duration = Duration::from_secs(15);
/// How long [`FakeDiscord::drop_connections`] waits for sockets to close.
const DROP_WAIT: Duration = Duration::from_secs(5);

/// What the fake Discord knows about the world.
#[derive(Debug, Clone)]
pub struct FakeDiscordConfig {
    /// The application (client) id. Default `5_000_000_000_000_000_001`.
    pub application_id: u64,
    /// The bot's user id. Default `5_000_000_000_000_000_002`.
    pub bot_user_id: u64,
    /// Guilds the bot is in. Default none.
    pub guilds: Vec<FakeGuild>,
    /// `host:port` of the fake voice server, sent as the VOICE_SERVER_UPDATE
    /// endpoint. Default empty.
    pub voice_endpoint: String,
    /// Total shard count; IDENTIFY must use exactly this. Default 1.
    pub shards: u32,
    /// Heartbeat interval announced in HELLO. Default 1 s, so a test sees
    /// several heartbeats quickly (Discord uses about 41 s).
    pub heartbeat_interval: Duration,
    /// Users whose DMs are closed to the bot: opening the DM channel works,
    /// sending a message in it fails with 403 and code 50007. Default none.
    pub dm_closed_users: Vec<u64>,
    /// `(guild_id, user_id)` of members with MANAGE_GUILD: their
    /// interactions in that guild carry [`MEMBER_PERMISSIONS`] `|`
    /// [`MANAGE_GUILD`], everyone else's just [`MEMBER_PERMISSIONS`].
    /// Default none.
    pub guild_managers: Vec<(u64, u64)>,
    /// `(guild_id, user_id, role_id)`: the roles a member has. Every
    /// interaction a member triggers in that guild lists them in
    /// `member.roles` (decimal id strings, in this order). Default none.
    pub member_roles: Vec<(u64, u64, u64)>,
    /// Users that are bots (other than the fake's own bot): their voice
    /// states, in GUILD_CREATE and in the VOICE_STATE_UPDATE of
    /// [`FakeDiscord::move_member`], carry `member.user.bot = true`.
    /// Default none.
    pub bot_users: Vec<u64>,
    /// The session start limit `GET /gateway/bot` reports at first; each
    /// IDENTIFY lowers `remaining` by one, as on Discord. Default: 1000 of
    /// 1000, reset in 4 h, concurrency 1.
    pub session_start_limit: SessionStartLimit,
}

/// Discord's `session_start_limit`: how many IDENTIFYs are left today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStartLimit {
    /// Session starts allowed per reset period.
    pub total: u32,
    /// Session starts left.
    pub remaining: u32,
    /// Milliseconds until `remaining` resets to `total`.
    pub reset_after_ms: u64,
    /// IDENTIFYs allowed per 5 s.
    pub max_concurrency: u32,
}

impl Default for SessionStartLimit {
    fn default() -> Self {
        Self { total: 1000, remaining: 1000, reset_after_ms: 14_400_000, max_concurrency: 1 }
    }
}

impl Default for FakeDiscordConfig {
    fn default() -> Self {
        Self {
            application_id: 5_000_000_000_000_000_001,
            bot_user_id: 5_000_000_000_000_000_002,
            guilds: Vec::new(),
            voice_endpoint: String::new(),
            shards: 1,
            heartbeat_interval: Duration::from_secs(1),
            dm_closed_users: Vec::new(),
            guild_managers: Vec::new(),
            member_roles: Vec::new(),
            bot_users: Vec::new(),
            session_start_limit: SessionStartLimit::default(),
        }
    }
}

impl FakeDiscordConfig {
    /// The guild `guild_id` of the config.
    pub(crate) fn guild(&self, guild_id: u64) -> Option<&FakeGuild> {
        self.guilds.iter().find(|guild| guild.id == guild_id)
    }

    /// Whose user object `user_id` gets: the bot under test, another bot,
    /// or a person.
    pub(crate) fn account(&self, user_id: u64) -> payloads::Account {
        if user_id == self.bot_user_id {
            payloads::Account::Me
        } else if self.bot_users.contains(&user_id) {
            payloads::Account::OtherBot
        } else {
            payloads::Account::Human
        }
    }
}

/// A guild the bot is in.
#[derive(Debug, Clone, Default)]
pub struct FakeGuild {
    /// Guild id; its shard is `(id >> 22) % shards`.
    pub id: u64,
    /// Guild name.
    pub name: String,
    /// `member_count` in GUILD_CREATE.
    pub member_count: u64,
    /// Voice channel ids (channel type 2).
    pub voice_channels: Vec<u64>,
    /// Text channel ids (channel type 0).
    pub text_channels: Vec<u64>,
    /// Who is in voice at start: `(user_id, channel_id)`.
    pub voice_states: Vec<(u64, u64)>,
}

/// One REST request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    /// HTTP method, e.g. `"PATCH"`.
    pub method: String,
    /// Full path, e.g. `/api/v10/webhooks/1/tok/messages/@original`.
    pub path: String,
    /// Query string without `?`, if any.
    pub query: Option<String>,
    /// The body, if it was JSON.
    pub body: Option<Value>,
    /// Status code the fake answered with.
    pub status: u16,
    /// Whether an Authorization header was sent (its value is never kept).
    pub authorized: bool,
    /// When the request arrived.
    pub at: Instant,
}

/// A message the bot posted, as it is now: to a channel (guild channel or
/// DM), with edits (`PATCH`, or an interaction's UPDATE_MESSAGE) applied;
/// or an interaction follow-up ([`FakeDiscord::followups`]).
#[derive(Debug, Clone)]
pub struct SentMessage {
    /// The new message's id.
    pub id: u64,
    /// Channel it was posted in.
    pub channel_id: u64,
    /// Guild of the channel; `None` for a DM.
    pub guild_id: Option<u64>,
    /// The DM recipient; `None` for a guild channel.
    pub recipient_id: Option<u64>,
    /// Message content (empty if only embeds were sent).
    pub content: String,
    /// Message flags as Discord reports them: 64 for an ephemeral reply,
    /// 128 while a deferred reply is still "thinking".
    pub flags: u64,
    /// The create request's body with every edit's fields merged over it:
    /// `body["components"]` holds the current buttons, `body["allowed_mentions"]`
    /// what the bot last sent.
    pub body: Value,
}

/// One IDENTIFY the gateway accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedIdentify {
    /// Shard id.
    pub shard_id: u32,
    /// Total shards.
    pub shard_count: u32,
    /// Gateway intents bit set.
    pub intents: u64,
}

/// A running fake Discord; stops when dropped.
#[derive(Debug)]
pub struct FakeDiscord {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl FakeDiscord {
    /// Start the REST and gateway servers on loopback ports.
    ///
    /// # Errors
    ///
    /// Fails when `shards` is 0 or a port cannot be bound.
    pub async fn start(config: FakeDiscordConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(config.shards > 0, "shards must be at least 1");
        let rest = TcpListener::bind("127.0.0.1:0").await.context("bind fake discord rest")?;
        let gateway = TcpListener::bind("127.0.0.1:0").await.context("bind fake discord gateway")?;
        let shared = Arc::new(Shared::new(config, rest.local_addr()?, gateway.local_addr()?));
        let router = rest::router(Arc::clone(&shared));
        let rest_task = tokio::spawn(async move {
            if let Err(error) = axum::serve(rest, router).await {
                tracing::error!(%error, "fake discord rest server stopped");
            }
        });
        let gateway_task = tokio::spawn(gateway::accept_loop(Arc::clone(&shared), gateway));
        tracing::info!(
            rest = %shared.rest_addr,
            gateway = %shared.gateway_addr,
            "fake discord started"
        );
        Ok(Self { shared, tasks: vec![rest_task, gateway_task] })
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &FakeDiscordConfig {
        &self.shared.config
    }

    /// `127.0.0.1:<port>`: the proxy host for twilight-http.
    pub fn rest_addr(&self) -> String {
        self.shared.rest_addr.to_string()
    }

    /// `http://127.0.0.1:<port>` (routes live under `/api/v10/`).
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.shared.rest_addr)
    }

    /// `ws://127.0.0.1:<port>` without a trailing slash: twilight appends
    /// `/?v=10&encoding=json`.
    pub fn gateway_url(&self) -> String {
        self.shared.gateway_url()
    }

    /// The shard that owns `guild_id`.
    pub fn shard_for_guild(&self, guild_id: u64) -> u32 {
        self.shared.shard_for_guild(guild_id)
    }

    /// Wait until `shard_id` has an identified session with an open socket.
    ///
    /// # Errors
    ///
    /// Fails after `timeout`.
    pub async fn wait_for_shard(&self, shard_id: u32, timeout: Duration) -> anyhow::Result<()> {
        self.shared
            .wait_until(timeout, |state| state.shard_connected(shard_id).then_some(()))
            .await
            .with_context(|| format!("shard {shard_id} did not connect within {timeout:?}"))
    }

    /// A slash command interaction (type 2) in Discord's JSON shape, with a
    /// fresh id and token (read them from `["id"]` and `["token"]`).
    ///
    /// `options` is Discord's `data.options` array, e.g.
    /// `[{"name": "query", "type": 3, "value": "song"}]`. The command id is
    /// that of a registered command with this name, if any. The member
    /// carries their permissions and roles.
    pub fn slash_command(&self, guild_id: u64, channel_id: u64, user_id: u64, name: &str, options: Value) -> Value {
        self.command_interaction(payloads::APPLICATION_COMMAND, guild_id, channel_id, user_id, name, &options)
    }

    /// An APPLICATION_COMMAND_AUTOCOMPLETE interaction (type 4) in Discord's
    /// JSON shape: like [`Self::slash_command`]'s, with a fresh id and token.
    ///
    /// `options` is the caller's `data.options` array in which the option
    /// being typed carries `"focused": true`; its `value` is a string
    /// whatever the option's type, as Discord sends it, e.g.
    /// `[{"name": "query", "type": 3, "value": "nev", "focused": true}]`.
    /// Deliver it like a slash command. The callback route takes only a
    /// type 8 answer (`{"type": 8, "data": {"choices": [{"name", "value"}]}}`)
    /// for it, with at most 25 choices whose names are 1 to 100 characters;
    /// read the answer back with [`Self::interaction_response`].
    pub fn autocomplete(
        &self,
        guild_id: u64,
        channel_id: u64,
        user_id: u64,
        command_name: &str,
        options: Value,
    ) -> Value {
        self.command_interaction(payloads::AUTOCOMPLETE, guild_id, channel_id, user_id, command_name, &options)
    }

    /// A slash command or autocomplete interaction, remembered at once (so
    /// the REST routes know its type, guild and channel however it is
    /// delivered).
    fn command_interaction(
        &self,
        kind: u64,
        guild_id: u64,
        channel_id: u64,
        user_id: u64,
        name: &str,
        options: &Value,
    ) -> Value {
        let token = payloads::interaction_token();
        let (interaction_id, command_id) = self.shared.update(|state| {
            let interaction_id = state.ids.next();
            let command_id = state.command_id(guild_id, name);
            state.remember_interaction(&token, interaction_id, guild_id, Some(channel_id), kind);
            (interaction_id, command_id)
        });
        let invoker = self.invoker(guild_id, user_id);
        payloads::application_command(&payloads::CommandInvocation {
            kind,
            interaction_id,
            token: &token,
            application_id: self.shared.config.application_id,
            guild_id,
            channel_id,
            invoker: &invoker,
            command_id,
            name,
            options,
        })
    }

    /// The member an interaction of `user_id` in `guild_id` describes.
    fn invoker(&self, guild_id: u64, user_id: u64) -> payloads::Invoker {
        payloads::Invoker {
            user_id,
            permissions: self.member_permissions(guild_id, user_id),
            roles: self.member_roles(guild_id, user_id),
        }
    }

    /// A button press (MESSAGE_COMPONENT interaction, type 3) in Discord's
    /// JSON shape: `data: {"custom_id", "component_type": 2}`, `message` the
    /// full message object the button is on (one the bot sent: a channel or
    /// DM message, or an interaction response), the member with their
    /// permissions and roles, and a fresh id and token. Deliver it like a slash
    /// command (signed over HTTP, or [`Self::send_interaction`]).
    ///
    /// The fake remembers the message, so answering with callback type 7
    /// (UPDATE_MESSAGE) edits it, and after type 6 or 7 the webhook's
    /// `@original` is that message. An id the bot never sent gets a bare
    /// message object with empty content.
    pub fn button_press(
        &self,
        guild_id: u64,
        channel_id: u64,
        user_id: u64,
        message_id: u64,
        custom_id: &str,
    ) -> Value {
        let config = &self.shared.config;
        let token = payloads::interaction_token();
        let invoker = self.invoker(guild_id, user_id);
        let (interaction_id, message) = self.shared.update(|state| {
            let interaction_id = state.ids.next();
            let message = state.message_mut(message_id).map(|message| message.clone()).unwrap_or_else(|| {
                payloads::StoredMessage {
                    id: message_id,
                    channel_id,
                    guild_id: Some(guild_id),
                    content: String::new(),
                    embeds: Value::Array(Vec::new()),
                    components: Value::Array(Vec::new()),
                    flags: 0,
                    webhook_id: None,
                    timestamp: payloads::now_iso8601(),
                    edited_timestamp: None,
                    body: serde_json::json!({}),
                }
            });
            let record = state.remember_interaction(
                &token,
                interaction_id,
                guild_id,
                Some(channel_id),
                payloads::MESSAGE_COMPONENT,
            );
            record.component_message = Some(message_id);
            (interaction_id, message)
        });
        payloads::button_press(&payloads::ButtonPress {
            interaction_id,
            token: &token,
            application_id: config.application_id,
            guild_id,
            channel_id,
            invoker: &invoker,
            custom_id,
            message: message.to_json(config.bot_user_id, config.application_id),
        })
    }

    /// The permission bits `user_id`'s interactions in `guild_id` carry:
    /// [`MEMBER_PERMISSIONS`], plus [`MANAGE_GUILD`] for the pairs in
    /// [`FakeDiscordConfig::guild_managers`].
    pub fn member_permissions(&self, guild_id: u64, user_id: u64) -> u64 {
        let manager = self.shared.config.guild_managers.contains(&(guild_id, user_id));
        if manager { MEMBER_PERMISSIONS | MANAGE_GUILD } else { MEMBER_PERMISSIONS }
    }

    /// The role ids `user_id` has in `guild_id`, as its interactions list
    /// them in `member.roles`: the [`FakeDiscordConfig::member_roles`]
    /// entries for that pair, in order, without repeats.
    pub fn member_roles(&self, guild_id: u64, user_id: u64) -> Vec<u64> {
        let mut roles: Vec<u64> = Vec::new();
        for &(guild, user, role) in &self.shared.config.member_roles {
            if (guild, user) == (guild_id, user_id) && !roles.contains(&role) {
                roles.push(role);
            }
        }
        roles
    }

    /// Dispatch INTERACTION_CREATE with `interaction` to the shard that owns
    /// `guild_id`, once that shard is connected. `guild_id` and
    /// `application_id` are filled in when missing; the token is remembered
    /// so the REST routes know the interaction.
    ///
    /// # Errors
    ///
    /// Fails when `interaction` is not a JSON object or no shard owning the
    /// guild connects within 15 s.
    pub async fn send_interaction(&self, guild_id: u64, mut interaction: Value) -> anyhow::Result<()> {
        let config = &self.shared.config;
        let object = interaction.as_object_mut().context("interaction must be a JSON object")?;
        object.entry("guild_id").or_insert_with(|| Value::String(guild_id.to_string()));
        object.entry("application_id").or_insert_with(|| Value::String(config.application_id.to_string()));
        let shard = self.shard_for_guild(guild_id);
        self.wait_for_shard(shard, SHARD_WAIT).await?;
        let token = interaction.get("token").and_then(Value::as_str).map(str::to_owned);
        let id = interaction.get("id").and_then(gateway::snowflake);
        let kind = interaction.get("type").and_then(Value::as_u64);
        let channel_id =
            interaction.get("channel_id").or_else(|| interaction.pointer("/channel/id")).and_then(gateway::snowflake);
        self.shared.update(|state| {
            if let Some(token) = token {
                let record = state.interactions.entry(token).or_default();
                record.id = id;
                record.guild_id = Some(guild_id);
                record.channel_id = channel_id;
                record.kind = kind.or(record.kind);
            }
            state.dispatch_to_shard(shard, 0, "INTERACTION_CREATE", &interaction);
        });
        tracing::info!(guild_id, shard_id = shard, interaction_id = ?id, "interaction sent");
        Ok(())
    }

    /// Every REST call so far, oldest first.
    pub fn rest_calls(&self) -> Vec<RecordedCall> {
        self.shared.read(|state| state.calls.clone())
    }

    /// The first recorded call (including earlier ones) matching `predicate`.
    /// Calls are recorded after they were handled, so the state they changed
    /// is visible once this returns.
    ///
    /// # Errors
    ///
    /// Fails after `timeout`.
    pub async fn wait_for_call(
        &self,
        predicate: impl Fn(&RecordedCall) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<RecordedCall> {
        self.shared
            .wait_until(timeout, |state| state.calls.iter().find(|c| predicate(c)).cloned())
            .await
            .with_context(|| format!("no matching rest call within {timeout:?}"))
    }

    /// Current content of the interaction's original response (the deferred
    /// reply once edited), or `None` if there is none.
    pub fn original_message(&self, token: &str) -> Option<String> {
        self.shared.read(|state| {
            state
                .interactions
                .get(token)
                .and_then(|record| record.original.as_ref())
                .map(|message| message.content.clone())
        })
    }

    /// The message id of the interaction's original response, if it has one
    /// (to press a button on it with [`Self::button_press`]).
    pub fn original_id(&self, token: &str) -> Option<u64> {
        self.shared.read(|state| state.original(token).map(|message| message.id))
    }

    /// The initial response body (`{"type": .., "data": ..}`) the bot gave.
    pub fn interaction_response(&self, token: &str) -> Option<Value> {
        self.shared.read(|state| state.interactions.get(token).and_then(|record| record.response.clone()))
    }

    /// The follow-up messages of an interaction (`POST /webhooks/{app}/{token}`),
    /// oldest first, as they are now: content, `flags` (64 for an ephemeral
    /// one) and the request bodies merged. A deleted one is gone.
    pub fn followups(&self, token: &str) -> Vec<SentMessage> {
        self.shared.read(|state| {
            state
                .interactions
                .get(token)
                .map_or_else(Vec::new, |record| record.followups.iter().map(|m| m.sent(None)).collect())
        })
    }

    /// The request bodies of the interaction's original response merged in
    /// order (the callback's `data`, then every `@original` edit), so a test
    /// can read what the bot last sent: `["components"]`,
    /// `["allowed_mentions"]`, `["flags"]`. After callback type 6 or 7 it is
    /// the body of the message the pressed button is on. `None` before a
    /// response, for one without a message (type 8), and once deleted.
    pub fn original_body(&self, token: &str) -> Option<Value> {
        self.shared.read(|state| state.original(token).map(|message| message.body.clone()))
    }

    /// Whether `DELETE /webhooks/{app}/{token}/messages/@original` removed
    /// the interaction's original response.
    pub fn original_deleted(&self, token: &str) -> bool {
        self.shared.read(|state| state.interactions.get(token).is_some_and(|record| record.original_deleted))
    }

    /// Ids of the messages the bot deleted, in order: channel and DM
    /// messages (`DELETE /channels/{id}/messages/{id}`), and interaction
    /// responses and follow-ups (`DELETE /webhooks/.../messages/{id}`).
    pub fn deleted_messages(&self) -> Vec<u64> {
        self.shared.read(|state| state.deleted_messages.clone())
    }

    /// Contents of the follow-up messages of an interaction, oldest first.
    pub fn followup_messages(&self, token: &str) -> Vec<String> {
        self.shared.read(|state| {
            state
                .interactions
                .get(token)
                .map_or_else(Vec::new, |record| record.followups.iter().map(|m| m.content.clone()).collect())
        })
    }

    /// Take `response` as an interaction's initial response that reached
    /// Discord outside this fake, i.e. the HTTP reply of an interactions
    /// endpoint. It creates the original message like the callback route, so
    /// later webhook edits of `token` work.
    ///
    /// Returns false when the interaction was already acknowledged.
    pub fn accept_interaction_response(&self, token: &str, response: Value) -> bool {
        let config = &self.shared.config;
        self.shared.update(|state| state.respond_to_interaction(config, token, response))
    }

    /// The voice channel the bot is in: where its last op 4 put it, or
    /// [`Self::move_bot`]; `None` after it left, [`Self::disconnect_bot`],
    /// or [`Self::delete_channel`] of its channel.
    pub fn bot_voice_channel(&self, guild_id: u64) -> Option<u64> {
        self.voice_channel(guild_id, self.shared.config.bot_user_id)
    }

    /// The voice channel `user_id` is in, as the fake believes.
    pub fn voice_channel(&self, guild_id: u64, user_id: u64) -> Option<u64> {
        self.shared.read(|state| state.voice.get(&guild_id).and_then(|members| members.get(&user_id).copied()))
    }

    /// Commands of the last bulk overwrite, with their ids: global ones for
    /// `None`, else those of the guild.
    pub fn registered_commands(&self, guild_id: Option<u64>) -> Vec<Value> {
        self.shared.read(|state| match guild_id {
            None => state.global_commands.clone(),
            Some(guild_id) => state.guild_commands.get(&guild_id).cloned().unwrap_or_default(),
        })
    }

    /// Messages posted with `POST /channels/{id}/messages`, oldest first,
    /// with later edits applied; deleted ones are gone.
    pub fn messages_sent(&self) -> Vec<SentMessage> {
        self.shared.read(|state| state.channel_messages.iter().map(ChannelMessage::sent).collect())
    }

    /// The messages the bot posted in `channel_id` (a guild channel or a DM
    /// channel), oldest first, as they are now; deleted ones are gone.
    pub fn channel_messages(&self, channel_id: u64) -> Vec<SentMessage> {
        self.shared.read(|state| {
            state
                .channel_messages
                .iter()
                .filter(|entry| entry.message.channel_id == channel_id)
                .map(ChannelMessage::sent)
                .collect()
        })
    }

    /// The DMs the bot sent `user_id`, oldest first, as they are now. A DM
    /// refused because the user's DMs are closed is not among them.
    pub fn dm_messages(&self, user_id: u64) -> Vec<SentMessage> {
        self.shared.read(|state| {
            state
                .channel_messages
                .iter()
                .filter(|entry| entry.recipient_id == Some(user_id))
                .map(ChannelMessage::sent)
                .collect()
        })
    }

    /// The first channel or DM message (in its current version, including
    /// earlier ones) matching `predicate`; re-checked after every change,
    /// so it also catches an edit that makes a message match.
    ///
    /// # Errors
    ///
    /// Fails after `timeout`.
    pub async fn wait_for_message(
        &self,
        predicate: impl Fn(&SentMessage) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<SentMessage> {
        self.shared
            .wait_until(timeout, |state| {
                state.channel_messages.iter().map(ChannelMessage::sent).find(|message| predicate(message))
            })
            .await
            .with_context(|| format!("no matching message within {timeout:?}"))
    }

    /// Guilds the bot left with `DELETE /users/@me/guilds/{id}`, in order.
    pub fn left_guilds(&self) -> Vec<u64> {
        self.shared.read(|state| state.left_guilds.clone())
    }

    /// Number of IDENTIFYs accepted.
    pub fn identify_count(&self) -> usize {
        self.shared.read(|state| state.identifies.len())
    }

    /// Every IDENTIFY accepted: shard and intents.
    pub fn identifies(&self) -> Vec<RecordedIdentify> {
        self.shared.read(|state| state.identifies.clone())
    }

    /// Number of successful RESUMEs.
    pub fn resume_count(&self) -> usize {
        self.shared.read(|state| state.resume_count)
    }

    /// Number of heartbeats (op 1) received and acknowledged.
    pub fn heartbeat_count(&self) -> usize {
        self.shared.read(|state| state.heartbeat_count)
    }

    /// Request target (path and query) of every gateway socket opened, e.g.
    /// `/?v=10&encoding=json`, or `/resume/?v=10..` for a resume.
    pub fn gateway_connections(&self) -> Vec<String> {
        self.shared.read(|state| state.gateway_connections.clone())
    }

    /// Close every gateway socket with close code 4000 (resumable), and wait
    /// until each close frame is sent and the socket detached from its
    /// session. Sessions stay; dispatches sent from then on are replayed on
    /// RESUME. Returns how many sockets were closed.
    ///
    /// # Errors
    ///
    /// Fails if a socket is still attached after 5 s.
    pub async fn drop_connections(&self) -> anyhow::Result<usize> {
        let ids: Vec<u64> = self.shared.read(|state| {
            for connection in state.connections.values() {
                connection.send(Outbound::Close(4000, "fake discord dropped the connection"));
            }
            state.connections.keys().copied().collect()
        });
        tracing::info!(count = ids.len(), "dropping gateway connections");
        self.shared
            .wait_until(DROP_WAIT, |state| ids.iter().all(|id| !state.connections.contains_key(id)).then_some(()))
            .await
            .context("gateway connections did not close")?;
        Ok(ids.len())
    }

    /// The session start limit `GET /gateway/bot` reports now.
    pub fn session_start_limit(&self) -> SessionStartLimit {
        self.shared.read(|state| state.session_start_limit)
    }

    /// Sets how many session starts (IDENTIFYs) are left today.
    pub fn set_identifies_remaining(&self, remaining: u32) {
        self.shared.update(|state| state.session_start_limit.remaining = remaining);
    }

    /// How many sessions clients ended by closing with 1000 or 1001.
    pub fn sessions_ended(&self) -> usize {
        self.shared.read(|state| state.sessions_ended)
    }

    /// While `held`, new gateway sockets get no HELLO (they wait); sockets
    /// already open are unaffected. Releasing lets the waiting ones on.
    pub fn hold_gateway(&self, held: bool) {
        self.shared.held.send_replace(held);
    }

    /// Close the socket of `shard_id`'s session with `code` (4000 leaves
    /// the session resumable) and wait until it is detached. Returns
    /// whether the shard had a socket.
    ///
    /// # Errors
    ///
    /// Fails if the socket is still attached after 5 s.
    pub async fn close_shard(&self, shard_id: u32, code: u16) -> anyhow::Result<bool> {
        let id = self.shared.read(|state| {
            let id = state.shard_session(shard_id).and_then(|session| session.connection)?;
            if let Some(connection) = state.connections.get(&id) {
                connection.send(Outbound::Close(code, "fake discord closed the shard"));
            }
            Some(id)
        });
        let Some(id) = id else { return Ok(false) };
        tracing::info!(shard_id, code, "closing a shard's gateway connection");
        self.shared
            .wait_until(DROP_WAIT, |state| (!state.connections.contains_key(&id)).then_some(()))
            .await
            .context("the shard's gateway connection did not close")?;
        Ok(true)
    }

    /// Stop both servers and end every gateway socket. Also done on drop.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.shutdown();
    }
}
