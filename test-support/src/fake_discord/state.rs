//! Everything the fake remembers, behind one lock shared by REST and gateway.
//!
//! The lock is a std `Mutex` that is never held across an `.await`: every
//! protocol step is a short synchronous update, so REST handlers, gateway
//! connections and test controls see one consistent order of events.

use super::payloads::{self, Snowflakes, StoredMessage};
use super::{FakeDiscordConfig, FakeGuild, RecordedCall, RecordedIdentify, SentMessage, SessionStartLimit};
use serde_json::Value;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Dispatches kept per session for RESUME; older ones make a resume fail
/// with op 9, like a session Discord has forgotten.
const RESUME_LOG_LIMIT: usize = 1000;

/// Intent bit for GUILD_CREATE and other guild events.
pub(crate) const INTENT_GUILDS: u64 = 1;
/// Intent bit for VOICE_STATE_UPDATE and `voice_states` in GUILD_CREATE.
pub(crate) const INTENT_GUILD_VOICE_STATES: u64 = 1 << 7;

/// State plus the addresses and config, shared by every task of the fake.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: FakeDiscordConfig,
    pub(crate) rest_addr: SocketAddr,
    pub(crate) gateway_addr: SocketAddr,
    state: Mutex<State>,
    /// Bumped after every change so waiters re-check their condition.
    changes: watch::Sender<u64>,
    /// Set to true once by `shutdown`; connection tasks end when they see it.
    pub(crate) shutdown: watch::Sender<bool>,
    /// While true, new gateway sockets wait before HELLO.
    pub(crate) held: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(config: FakeDiscordConfig, rest_addr: SocketAddr, gateway_addr: SocketAddr) -> Self {
        let state = State::new(&config);
        Self {
            config,
            rest_addr,
            gateway_addr,
            state: Mutex::new(state),
            changes: watch::Sender::new(0),
            shutdown: watch::Sender::new(false),
            held: watch::Sender::new(false),
        }
    }

    /// The gateway URL without a trailing slash (twilight appends `/?v=10..`).
    pub(crate) fn gateway_url(&self) -> String {
        format!("ws://{}", self.gateway_addr)
    }

    /// Where READY tells clients to resume; a distinct path so a test can see
    /// that a client honoured `resume_gateway_url`.
    pub(crate) fn resume_url(&self) -> String {
        format!("ws://{}/resume", self.gateway_addr)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not turn every later call into a panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Change the state, then wake everyone waiting for a change.
    pub(crate) fn update<R>(&self, change: impl FnOnce(&mut State) -> R) -> R {
        let result = change(&mut self.lock());
        self.changes.send_modify(|version| *version = version.wrapping_add(1));
        result
    }

    /// Read the state without waking anyone.
    pub(crate) fn read<R>(&self, read: impl FnOnce(&State) -> R) -> R {
        read(&self.lock())
    }

    /// Wait until `check` returns `Some`, re-checking after every change.
    pub(crate) async fn wait_until<R>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&State) -> Option<R>,
    ) -> Option<R> {
        // Subscribe before the first check so no change can slip between.
        let mut changes = self.changes.subscribe();
        let wait = async {
            loop {
                if let Some(found) = self.read(&mut check) {
                    return Some(found);
                }
                if changes.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }

    /// The shard that owns `guild_id`: `(guild_id >> 22) % shards`.
    pub(crate) fn shard_for_guild(&self, guild_id: u64) -> u32 {
        shard_for_guild(guild_id, self.config.shards)
    }
}

/// The shard that owns `guild_id` among `shards` shards.
pub(crate) fn shard_for_guild(guild_id: u64, shards: u32) -> u32 {
    let shard = (guild_id >> 22) % u64::from(shards.max(1));
    u32::try_from(shard).unwrap_or(0)
}

/// What a connection task writes to its socket.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A text frame (already serialised JSON).
    Text(String),
    /// A close frame with a gateway close code; the task ends after it.
    Close(u16, &'static str),
}

/// One open gateway WebSocket.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) tx: mpsc::UnboundedSender<Outbound>,
    /// The session this socket identified or resumed, if any.
    pub(crate) session: Option<String>,
}

impl Connection {
    /// Queue a frame; a closed socket has nobody left to tell.
    pub(crate) fn send(&self, outbound: Outbound) {
        _ = self.tx.send(outbound);
    }
}

/// A gateway session: survives its socket so it can be resumed.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) shard: [u32; 2],
    pub(crate) intents: u64,
    /// Sequence number of the last dispatch.
    pub(crate) seq: u64,
    /// Recent dispatches `(seq, frame)` to replay on RESUME.
    pub(crate) log: VecDeque<(u64, String)>,
    /// The socket currently attached, if any.
    pub(crate) connection: Option<u64>,
}

/// One interaction token's responses and messages.
#[derive(Debug, Default)]
pub(crate) struct InteractionRecord {
    pub(crate) id: Option<u64>,
    /// Interaction type (2 command, 3 component, 4 autocomplete), when the
    /// fake built or delivered the interaction itself.
    pub(crate) kind: Option<u64>,
    pub(crate) guild_id: Option<u64>,
    pub(crate) channel_id: Option<u64>,
    /// The initial response body (callback type and data).
    pub(crate) response: Option<Value>,
    pub(crate) original: Option<StoredMessage>,
    /// Whether `DELETE .../messages/@original` removed the original.
    pub(crate) original_deleted: bool,
    pub(crate) followups: Vec<StoredMessage>,
    /// For a component interaction: the message the pressed button is on,
    /// which callback type 7 (and `@original` after types 6 and 7) edits.
    pub(crate) component_message: Option<u64>,
}

impl InteractionRecord {
    /// The callback type of the initial response, if answered.
    pub(crate) fn response_kind(&self) -> Option<u64> {
        self.response.as_ref().and_then(|response| response.get("type")).and_then(Value::as_u64)
    }
}

/// A message the bot posted with `POST /channels/{id}/messages`.
#[derive(Debug, Clone)]
pub(crate) struct ChannelMessage {
    pub(crate) message: StoredMessage,
    /// The DM recipient; `None` in a guild channel.
    pub(crate) recipient_id: Option<u64>,
}

impl ChannelMessage {
    /// The public view: current content, and the request bodies merged.
    pub(crate) fn sent(&self) -> SentMessage {
        self.message.sent(self.recipient_id)
    }
}

/// Everything recorded or simulated by the fake.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) calls: Vec<RecordedCall>,
    pub(crate) connections: HashMap<u64, Connection>,
    next_connection: u64,
    pub(crate) sessions: HashMap<String, Session>,
    /// The newest session of each shard: where its dispatches go.
    pub(crate) shard_sessions: HashMap<u32, String>,
    /// guild → user → voice channel, the bot included.
    pub(crate) voice: HashMap<u64, BTreeMap<u64, u64>>,
    pub(crate) interactions: HashMap<String, InteractionRecord>,
    pub(crate) global_commands: Vec<Value>,
    pub(crate) guild_commands: HashMap<u64, Vec<Value>>,
    /// recipient user → DM channel.
    pub(crate) dm_channels: HashMap<u64, u64>,
    /// Channel and DM messages, oldest first, as they are now (edits applied).
    pub(crate) channel_messages: Vec<ChannelMessage>,
    /// Guilds the bot left (`DELETE /users/@me/guilds/{id}`), in order.
    pub(crate) left_guilds: Vec<u64>,
    /// Messages the bot deleted, in order.
    pub(crate) deleted_messages: Vec<u64>,
    /// Channels an admin deleted ([`FakeDiscord::delete_channel`](super::FakeDiscord::delete_channel)).
    pub(crate) deleted_channels: Vec<u64>,
    /// guild → the voice server endpoint it was moved to
    /// ([`FakeDiscord::move_voice_server`](super::FakeDiscord::move_voice_server));
    /// guilds not listed use the config's `voice_endpoint`.
    pub(crate) voice_endpoints: HashMap<u64, String>,
    pub(crate) identifies: Vec<RecordedIdentify>,
    pub(crate) resume_count: usize,
    /// What `GET /gateway/bot` reports; IDENTIFY lowers `remaining`.
    pub(crate) session_start_limit: SessionStartLimit,
    /// Sessions ended by the client closing with 1000 or 1001.
    pub(crate) sessions_ended: usize,
    pub(crate) heartbeat_count: usize,
    pub(crate) gateway_connections: Vec<String>,
    pub(crate) ids: Snowflakes,
}

impl State {
    fn new(config: &FakeDiscordConfig) -> Self {
        let voice =
            config.guilds.iter().map(|guild| (guild.id, guild.voice_states.iter().copied().collect())).collect();
        Self {
            calls: Vec::new(),
            connections: HashMap::new(),
            next_connection: 1,
            sessions: HashMap::new(),
            shard_sessions: HashMap::new(),
            voice,
            interactions: HashMap::new(),
            global_commands: Vec::new(),
            guild_commands: HashMap::new(),
            dm_channels: HashMap::new(),
            channel_messages: Vec::new(),
            left_guilds: Vec::new(),
            deleted_channels: Vec::new(),
            deleted_messages: Vec::new(),
            voice_endpoints: HashMap::new(),
            identifies: Vec::new(),
            resume_count: 0,
            session_start_limit: config.session_start_limit,
            sessions_ended: 0,
            heartbeat_count: 0,
            gateway_connections: Vec::new(),
            ids: Snowflakes::default(),
        }
    }

    /// The voice server endpoint VOICE_SERVER_UPDATE names for `guild_id`.
    pub(crate) fn voice_endpoint<'a>(&'a self, config: &'a FakeDiscordConfig, guild_id: u64) -> &'a str {
        self.voice_endpoints.get(&guild_id).map_or(config.voice_endpoint.as_str(), String::as_str)
    }

    /// Register a new socket and return its id.
    pub(crate) fn open_connection(&mut self, target: String, tx: mpsc::UnboundedSender<Outbound>) -> u64 {
        let id = self.next_connection;
        self.next_connection += 1;
        self.gateway_connections.push(target);
        self.connections.insert(id, Connection { tx, session: None });
        id
    }

    /// Forget a socket (again is a no-op); its session stays resumable.
    pub(crate) fn close_connection(&mut self, id: u64) {
        if let Some(session) = self
            .connections
            .remove(&id)
            .and_then(|connection| connection.session)
            .and_then(|session_id| self.sessions.get_mut(&session_id))
            && session.connection == Some(id)
        {
            session.connection = None;
        }
    }

    /// The client closed socket `id` with `code`: 1000 and 1001 end the
    /// session behind it (a later RESUME gets INVALID_SESSION), like on
    /// Discord; other codes leave it resumable.
    pub(crate) fn client_closed(&mut self, id: u64, code: u16) {
        let Some(session_id) = self.connections.get(&id).and_then(|connection| connection.session.clone()) else {
            return;
        };
        if matches!(code, 1000 | 1001) && self.sessions.remove(&session_id).is_some() {
            self.sessions_ended += 1;
            tracing::info!(connection_id = id, code, "client closed: session ended");
        } else {
            tracing::info!(connection_id = id, code, "client closed: session kept for resuming");
        }
    }

    /// Whether `shard` has an identified session with a socket attached.
    pub(crate) fn shard_connected(&self, shard: u32) -> bool {
        self.shard_session(shard).is_some_and(|session| session.connection.is_some())
    }

    /// The newest session of `shard`.
    pub(crate) fn shard_session(&self, shard: u32) -> Option<&Session> {
        self.shard_sessions.get(&shard).and_then(|id| self.sessions.get(id))
    }

    /// Send a dispatch on a session: next sequence number, kept for RESUME,
    /// written to the socket if one is attached (else delivered on resume).
    pub(crate) fn dispatch(&mut self, session_id: &str, event: &str, data: &Value) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        session.seq += 1;
        let frame = payloads::dispatch_frame(session.seq, event, data);
        if let Some(connection) = session.connection.and_then(|id| self.connections.get(&id)) {
            connection.send(Outbound::Text(frame.clone()));
        }
        session.log.push_back((session.seq, frame));
        if session.log.len() > RESUME_LOG_LIMIT {
            session.log.pop_front();
        }
    }

    /// Dispatch to the newest session of `shard` if its intents allow it;
    /// returns false when the shard never identified.
    pub(crate) fn dispatch_to_shard(&mut self, shard: u32, required_intents: u64, event: &str, data: &Value) -> bool {
        let Some(session_id) = self.shard_sessions.get(&shard).cloned() else {
            return false;
        };
        let allowed = self
            .sessions
            .get(&session_id)
            .is_some_and(|session| session.intents & required_intents == required_intents);
        if allowed {
            self.dispatch(&session_id, event, data);
        } else {
            tracing::debug!(shard_id = shard, event, "dispatch skipped: shard lacks the intent");
        }
        true
    }

    /// Store an interaction's initial response and create the "original"
    /// message that callback types 4 and 5 produce.
    ///
    /// Returns false when the interaction was already acknowledged.
    pub(crate) fn respond_to_interaction(&mut self, config: &FakeDiscordConfig, token: &str, response: Value) -> bool {
        let message_id = self.ids.next();
        let record = self.interactions.entry(token.to_owned()).or_default();
        if record.response.is_some() {
            return false;
        }
        let kind = response.get("type").and_then(Value::as_u64).unwrap_or(0);
        let data = response.get("data").cloned().unwrap_or(Value::Null);
        // 4 = message with source, 5 = deferred message (shows "thinking").
        if kind == 4 || kind == 5 {
            let fallback_channel = config
                .guilds
                .iter()
                .find(|guild| Some(guild.id) == record.guild_id)
                .and_then(|guild| guild.text_channels.first().copied())
                .unwrap_or(message_id);
            let mut message = StoredMessage {
                id: message_id,
                channel_id: record.channel_id.unwrap_or(fallback_channel),
                guild_id: record.guild_id,
                content: String::new(),
                embeds: Value::Array(Vec::new()),
                components: Value::Array(Vec::new()),
                flags: 0,
                webhook_id: Some(config.application_id),
                timestamp: payloads::now_iso8601(),
                edited_timestamp: None,
                body: json!({}),
            };
            message.apply(&data);
            if kind == 5 {
                // LOADING until the first edit.
                message.flags |= 128;
            }
            record.original = Some(message);
        }
        // 7 = update the message the component is on; 6 = deferred update
        // (acknowledged now, edited later through `@original`).
        let component_message = record.component_message;
        record.response = Some(response);
        if kind == 7
            && let Some(message) = component_message.and_then(|id| self.message_mut(id))
        {
            message.apply(&data);
            message.edited_timestamp = Some(payloads::now_iso8601());
        }
        true
    }

    /// Remember an interaction the fake built, so the REST routes know it.
    pub(crate) fn remember_interaction(
        &mut self,
        token: &str,
        id: u64,
        guild_id: u64,
        channel_id: Option<u64>,
        kind: u64,
    ) -> &mut InteractionRecord {
        let record = self.interactions.entry(token.to_owned()).or_default();
        record.id = Some(id);
        record.guild_id = Some(guild_id);
        record.channel_id = channel_id;
        record.kind = Some(kind);
        record
    }

    /// The id of the command `name` registered for `guild_id` or globally,
    /// or a fresh id for an unregistered one.
    pub(crate) fn command_id(&mut self, guild_id: u64, name: &str) -> u64 {
        let registered = self
            .guild_commands
            .get(&guild_id)
            .into_iter()
            .flatten()
            .chain(&self.global_commands)
            .find(|command| command.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|command| command.get("id").and_then(super::gateway::snowflake));
        registered.unwrap_or_else(|| self.ids.next())
    }

    /// The original response of an interaction: the message callback type
    /// 4 or 5 created, or after type 6 or 7 the message the pressed button
    /// is on (what `@original` names).
    pub(crate) fn original(&self, token: &str) -> Option<&StoredMessage> {
        let record = self.interactions.get(token)?;
        if record.original.is_some() {
            return record.original.as_ref();
        }
        let component = record.component_message.filter(|_| matches!(record.response_kind(), Some(6 | 7)))?;
        self.channel_messages
            .iter()
            .map(|entry| &entry.message)
            .chain(self.webhook_messages())
            .find(|m| m.id == component)
    }

    /// Interaction responses and follow-ups.
    fn webhook_messages(&self) -> impl Iterator<Item = &StoredMessage> {
        self.interactions.values().flat_map(|record| record.original.iter().chain(&record.followups))
    }

    /// Delete a message the bot sent, wherever it is; returns whether it
    /// existed. Recorded in `deleted_messages`.
    pub(crate) fn delete_message(&mut self, id: u64) -> bool {
        let before = self.channel_messages.len();
        self.channel_messages.retain(|entry| entry.message.id != id);
        let mut found = self.channel_messages.len() != before;
        for record in self.interactions.values_mut() {
            if record.original.as_ref().is_some_and(|message| message.id == id) {
                record.original = None;
                record.original_deleted = true;
                found = true;
            }
            let before = record.followups.len();
            record.followups.retain(|message| message.id != id);
            found |= record.followups.len() != before;
        }
        if found {
            self.deleted_messages.push(id);
        }
        found
    }

    /// Any message the bot sent, by id: channel and DM messages, then
    /// interaction responses and follow-ups.
    pub(crate) fn message_mut(&mut self, id: u64) -> Option<&mut StoredMessage> {
        if let Some(index) = self.channel_messages.iter().position(|m| m.message.id == id) {
            return self.channel_messages.get_mut(index).map(|m| &mut m.message);
        }
        self.interactions
            .values_mut()
            .flat_map(|record| record.original.iter_mut().chain(record.followups.iter_mut()))
            .find(|message| message.id == id)
    }

    /// Whether `channel_id` is a voice channel of `guild` that still exists.
    pub(crate) fn is_voice_channel(&self, guild: &FakeGuild, channel_id: u64) -> bool {
        guild.voice_channels.contains(&channel_id) && !self.deleted_channels.contains(&channel_id)
    }

    /// The session id of `shard`'s newest gateway session, which the bot's
    /// voice states carry (empty if the shard never identified).
    pub(crate) fn shard_session_id(&self, shard: u32) -> String {
        self.shard_sessions.get(&shard).cloned().unwrap_or_default()
    }

    /// Whether the bot is (still) in `guild_id`.
    pub(crate) fn in_guild(&self, config: &FakeDiscordConfig, guild_id: u64) -> bool {
        config.guilds.iter().any(|guild| guild.id == guild_id) && !self.left_guilds.contains(&guild_id)
    }
}
