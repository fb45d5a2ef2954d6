//! The gateway WebSocket: HELLO, IDENTIFY/READY, heartbeats, RESUME and
//! voice state updates, as plain uncompressed JSON text frames.
//!
//! Each socket runs in its own task that only moves frames; the protocol
//! itself ([`handle_frame`]) is synchronous code run under the state lock,
//! so a dispatch and the state change behind it can never be reordered.

use super::payloads::{self, Account, GuildSnapshot};
use super::state::{INTENT_GUILD_VOICE_STATES, INTENT_GUILDS, Outbound, Session, Shared, State, shard_for_guild};
use super::{FakeDiscordConfig, RecordedIdentify};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_websockets::{CloseCode, Limits, Message, ServerBuilder, WebSocketStream};
use tracing::Instrument;

/// How long a closing socket waits for the client's close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Accept gateway sockets until the task is aborted.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let span = tracing::info_span!("gateway_connection", %peer);
                tokio::spawn(serve_connection(Arc::clone(&shared), stream).instrument(span));
            }
            Err(error) => {
                // Usually too many open files; back off instead of spinning.
                tracing::warn!(%error, "gateway accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_connection(shared: Arc<Shared>, stream: TcpStream) {
    // Discord's READY and GUILD_CREATE can be large; tests must not hit a
    // limit the real gateway does not have.
    let builder = ServerBuilder::new().limits(Limits::unlimited());
    let (request, mut socket) = match builder.accept(stream).await {
        Ok(accepted) => accepted,
        Err(error) => {
            tracing::warn!(%error, "gateway handshake failed");
            return;
        }
    };
    let target = request.uri().to_string();
    tracing::debug!(target = %target, "gateway connection opened");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = shared.update(|state| state.open_connection(target, tx));
    run_connection(&shared, id, &mut socket, &mut rx).await;
    shared.update(|state| state.close_connection(id));
    tracing::debug!(connection_id = id, "gateway connection closed");
}

async fn run_connection<S>(
    shared: &Shared,
    id: u64,
    socket: &mut WebSocketStream<S>,
    rx: &mut mpsc::UnboundedReceiver<Outbound>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // A held gateway ([`super::FakeDiscord::hold_gateway`]) keeps new
    // sockets waiting for HELLO, so a test can look at a client between
    // losing its socket and getting back in.
    let mut held = shared.held.subscribe();
    let mut shutdown = shared.shutdown.subscribe();
    // The `Ref`s of `wait_for` are not Send: drop them inside the blocks.
    tokio::select! {
        released = async { held.wait_for(|held| !*held).await.is_ok() } => if !released { return },
        _ = async { shutdown.wait_for(|stopped| *stopped).await.is_ok() } => return,
    }
    let hello = json!({ "heartbeat_interval": shared.config.heartbeat_interval.as_millis() });
    if socket.send(Message::text(payloads::gateway_frame(10, &hello))).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            inbound = socket.next() => match inbound {
                Some(Ok(message)) => {
                    if let Some(text) = message.as_text() {
                        shared.update(|state| handle_frame(state, shared, id, text));
                    } else if let Some((code, _)) = message.as_close() {
                        // Like Discord: a client closing with 1000 or 1001
                        // ends its session; any other code (4000) keeps it
                        // resumable. tokio-websockets replies to the close.
                        let code = u16::from(code);
                        shared.update(|state| state.client_closed(id, code));
                    } else if message.is_binary() {
                        // We never offer compression or ETF, so binary is garbage.
                        tracing::warn!(connection_id = id, "binary gateway frame");
                        shared.update(|state| close(state, id, 4002, "Error while decoding payload."));
                    }
                    // Ping, pong and close replies are handled by tokio-websockets.
                }
                Some(Err(error)) => {
                    tracing::debug!(connection_id = id, %error, "gateway socket error");
                    return;
                }
                None => return,
            },
            outbound = rx.recv() => match outbound {
                Some(Outbound::Text(frame)) => {
                    if socket.send(Message::text(frame)).await.is_err() {
                        return;
                    }
                }
                Some(Outbound::Close(code, reason)) => {
                    close_socket(shared, id, socket, code, reason).await;
                    return;
                }
                None => return,
            },
            // The `Ref` of `wait_for` is not Send: drop it inside the block.
            _ = async { shutdown.wait_for(|stopped| *stopped).await.is_ok() } => return,
        }
    }
}

/// Send a close frame, detach the socket from its session (so dispatches
/// from now on wait for a RESUME), then wait briefly for the client's close
/// reply so it sees our code rather than a reset connection. Detaching first
/// matters: the client only replies when it is polled again.
async fn close_socket<S>(shared: &Shared, id: u64, socket: &mut WebSocketStream<S>, code: u16, reason: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = Message::close(CloseCode::try_from(code).ok(), reason);
    let sent = socket.send(frame).await.is_ok();
    shared.update(|state| state.close_connection(id));
    if !sent {
        return;
    }
    // Stop at the client's close reply: it may wait for us to drop TCP.
    let drain = async {
        while let Some(Ok(message)) = socket.next().await {
            if message.is_close() {
                break;
            }
        }
    };
    _ = tokio::time::timeout(CLOSE_GRACE, drain).await;
}

/// Queue a close frame for connection `id`.
pub(crate) fn close(state: &State, id: u64, code: u16, reason: &'static str) {
    tracing::info!(connection_id = id, code, reason, "closing gateway connection");
    if let Some(connection) = state.connections.get(&id) {
        connection.send(Outbound::Close(code, reason));
    }
}

fn send(state: &State, id: u64, frame: String) {
    if let Some(connection) = state.connections.get(&id) {
        connection.send(Outbound::Text(frame));
    }
}

/// A Discord snowflake given as a string or a number; 0 is not an id.
pub(crate) fn snowflake(value: &Value) -> Option<u64> {
    let id = match value {
        Value::String(text) => text.parse().ok()?,
        Value::Number(number) => number.as_u64()?,
        _ => return None,
    };
    (id != 0).then_some(id)
}

/// Handle one text frame from connection `id`.
pub(crate) fn handle_frame(state: &mut State, shared: &Shared, id: u64, text: &str) {
    let Some(session_id) = state.connections.get(&id).map(|c| c.session.clone()) else {
        return;
    };
    let Ok(payload) = serde_json::from_str::<Value>(text) else {
        tracing::warn!(connection_id = id, "gateway frame is not JSON");
        return close(state, id, 4002, "Error while decoding payload.");
    };
    let Some(op) = payload.get("op").and_then(Value::as_u64) else {
        tracing::warn!(connection_id = id, "gateway frame has no op");
        return close(state, id, 4002, "Error while decoding payload.");
    };
    let data = payload.get("d").unwrap_or(&Value::Null);
    match (op, session_id) {
        (1, _) => {
            state.heartbeat_count += 1;
            send(state, id, payloads::gateway_frame(11, &Value::Null));
        }
        (2 | 6, Some(_)) => close(state, id, 4005, "Already authenticated."),
        (2, None) => identify(state, shared, id, data),
        (6, None) => resume(state, id, data),
        (_, None) => close(state, id, 4003, "Not authenticated."),
        // Presence updates and member requests have no effect in the fake.
        (3 | 8, Some(_)) => tracing::debug!(connection_id = id, op, "ignored gateway command"),
        (4, Some(session_id)) => voice_state_update(state, &shared.config, id, &session_id, data),
        (_, Some(_)) => {
            tracing::warn!(connection_id = id, op, "unknown gateway opcode");
            close(state, id, 4001, "Unknown opcode.");
        }
    }
}

/// Check the token field of IDENTIFY and RESUME: absent is a decode error,
/// empty is a failed authentication.
fn check_token(state: &State, id: u64, data: &Value) -> bool {
    match data.get("token").and_then(Value::as_str) {
        None => {
            close(state, id, 4002, "Error while decoding payload.");
            false
        }
        Some(token) if token.trim().is_empty() || token.trim() == "Bot" => {
            close(state, id, 4004, "Authentication failed.");
            false
        }
        Some(_) => true,
    }
}

fn identify(state: &mut State, shared: &Shared, id: u64, data: &Value) {
    if !check_token(state, id, data) {
        return;
    }
    let Some(intents) = data.get("intents").and_then(Value::as_u64) else {
        return close(state, id, 4002, "Error while decoding payload.");
    };
    let config = &shared.config;
    let shard = match data.get("shard") {
        None | Some(Value::Null) => Some([0, 1]),
        Some(value) => serde_json::from_value::<[u32; 2]>(value.clone()).ok(),
    };
    let Some([shard_id, shard_count]) = shard else {
        return close(state, id, 4002, "Error while decoding payload.");
    };
    if shard_count < config.shards {
        tracing::warn!(shard_count, expected = config.shards, "identify with too few shards");
        return close(state, id, 4011, "Sharding required.");
    }
    if shard_count != config.shards || shard_id >= shard_count {
        tracing::warn!(shard_id, shard_count, expected = config.shards, "invalid shard");
        return close(state, id, 4010, "Invalid shard.");
    }

    let session_id = payloads::random_hex(16);
    state.sessions.insert(
        session_id.clone(),
        Session { shard: [shard_id, shard_count], intents, seq: 0, log: VecDeque::new(), connection: Some(id) },
    );
    state.shard_sessions.insert(shard_id, session_id.clone());
    if let Some(connection) = state.connections.get_mut(&id) {
        connection.session = Some(session_id.clone());
    }
    state.identifies.push(RecordedIdentify { shard_id, shard_count, intents });
    // Each IDENTIFY uses one session start of the day's allowance.
    state.session_start_limit.remaining = state.session_start_limit.remaining.saturating_sub(1);
    tracing::info!(shard_id, shard_count, intents, "shard identified");

    // A guild the bot left is gone from READY, like on Discord.
    let guilds: Vec<_> = config
        .guilds
        .iter()
        .filter(|guild| shard_for_guild(guild.id, shard_count) == shard_id && !state.left_guilds.contains(&guild.id))
        .collect();
    let guild_ids: Vec<u64> = guilds.iter().map(|guild| guild.id).collect();
    let ready = payloads::ready(
        config.application_id,
        config.bot_user_id,
        &session_id,
        &shared.resume_url(),
        [shard_id, shard_count],
        &guild_ids,
    );
    state.dispatch(&session_id, "READY", &ready);
    if intents & INTENT_GUILDS == 0 {
        tracing::info!(shard_id, "no GUILDS intent: GUILD_CREATE not sent");
        return;
    }
    for guild in guilds {
        let voice_states = state
            .voice
            .get(&guild.id)
            .into_iter()
            .flatten()
            .map(|(&user_id, &channel_id)| {
                let voice_session = if user_id == config.bot_user_id {
                    session_id.clone()
                } else {
                    payloads::member_voice_session(user_id)
                };
                (user_id, channel_id, voice_session)
            })
            .collect();
        let snapshot = GuildSnapshot {
            id: guild.id,
            name: &guild.name,
            member_count: guild.member_count,
            voice_channels: &guild.voice_channels,
            text_channels: &guild.text_channels,
            deleted_channels: &state.deleted_channels,
            voice_states,
            bot_user_id: config.bot_user_id,
            other_bots: &config.bot_users,
            include_voice_states: intents & INTENT_GUILD_VOICE_STATES != 0,
        };
        let guild_create = payloads::guild_create(&snapshot);
        state.dispatch(&session_id, "GUILD_CREATE", &guild_create);
    }
}

fn resume(state: &mut State, id: u64, data: &Value) {
    if !check_token(state, id, data) {
        return;
    }
    let session_id = data.get("session_id").and_then(Value::as_str);
    let seq = data.get("seq").and_then(Value::as_u64).unwrap_or(0);
    let resumable = session_id.and_then(|session_id| state.sessions.get(session_id)).is_some_and(|session| {
        // Every dispatch after `seq` must still be in the log.
        seq <= session.seq && (seq == session.seq || session.log.front().is_some_and(|(first, _)| *first <= seq + 1))
    });
    let Some(session_id) = session_id.filter(|_| resumable) else {
        tracing::info!(connection_id = id, "resume refused: invalid session");
        // op 9 with d=false: the client must identify again.
        return send(state, id, payloads::gateway_frame(9, &json!(false)));
    };
    let session_id = session_id.to_owned();
    let Some(session) = state.sessions.get_mut(&session_id) else {
        return;
    };
    // A socket that still holds the session just stops receiving; the
    // client only resumes after it lost that socket anyway.
    session.connection = Some(id);
    let missed: Vec<String> = session.log.iter().filter(|(s, _)| *s > seq).map(|(_, frame)| frame.clone()).collect();
    let shard_id = session.shard[0];
    if let Some(connection) = state.connections.get_mut(&id) {
        connection.session = Some(session_id.clone());
    }
    state.resume_count += 1;
    tracing::info!(shard_id, replayed = missed.len(), "shard resumed");
    for frame in missed {
        send(state, id, frame);
    }
    state.dispatch(&session_id, "RESUMED", &json!({}));
}

fn voice_state_update(state: &mut State, config: &FakeDiscordConfig, id: u64, session_id: &str, data: &Value) {
    let Some(guild_id) = data.get("guild_id").and_then(snowflake) else {
        return close(state, id, 4002, "Error while decoding payload.");
    };
    let channel_id = match data.get("channel_id") {
        None | Some(Value::Null) => None,
        Some(value) => match snowflake(value) {
            Some(channel_id) => Some(channel_id),
            None => return close(state, id, 4002, "Error while decoding payload."),
        },
    };
    let Some(session) = state.sessions.get(session_id) else {
        return;
    };
    let Some(guild) = config.guilds.iter().find(|guild| guild.id == guild_id) else {
        tracing::warn!(guild_id, "voice state update for an unknown guild ignored");
        return;
    };
    if shard_for_guild(guild_id, session.shard[1]) != session.shard[0] {
        tracing::warn!(guild_id, shard_id = session.shard[0], "voice state update on the wrong shard ignored");
        return;
    }
    if let Some(channel_id) = channel_id
        && !state.is_voice_channel(guild, channel_id)
    {
        tracing::warn!(guild_id, channel_id, "voice state update to a non-voice channel ignored");
        return;
    }
    let intents = session.intents;
    let members = state.voice.entry(guild_id).or_default();
    match channel_id {
        Some(channel_id) => members.insert(config.bot_user_id, channel_id),
        None => members.remove(&config.bot_user_id),
    };
    tracing::info!(guild_id, channel_id = ?channel_id, "bot voice state updated");
    if intents & INTENT_GUILD_VOICE_STATES != 0 {
        let voice_state = payloads::voice_state(guild_id, config.bot_user_id, channel_id, session_id, Account::Me);
        state.dispatch(session_id, "VOICE_STATE_UPDATE", &voice_state);
    } else {
        tracing::info!(guild_id, "no GUILD_VOICE_STATES intent: VOICE_STATE_UPDATE not sent");
    }
    if let Some(channel_id) = channel_id {
        let token = payloads::voice_token(channel_id);
        let server = payloads::voice_server_update(guild_id, &token, state.voice_endpoint(config, guild_id));
        state.dispatch(session_id, "VOICE_SERVER_UPDATE", &server);
    }
}
