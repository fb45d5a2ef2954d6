//! One voice WebSocket connection: TLS, the HTTP upgrade, then JSON opcodes.
//!
//! The opcodes and close codes are listed in the parent module's docs.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use futures_util::{SinkExt as _, StreamExt as _};
use serde::{Deserialize, Deserializer, de::Error as _};
use serde_json::{Value, json};
use tokio::{net::TcpStream, sync::mpsc, time::timeout};
use tokio_rustls::TlsAcceptor;
use tokio_websockets::{CloseCode, Message, ServerBuilder, WebSocketStream};
use tracing::{debug, trace, warn};

use super::{
    FakeVoiceConfig,
    dave::{DaveCall, GUEST_USER_ID},
    rtp::{CryptoMode, RtpCipher},
    state::{Shared, VoiceSession},
};

/// How long a client may take for TLS and the HTTP upgrade.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the client's reply after sending a close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What every connection of one server needs.
pub(crate) struct Context {
    pub(crate) shared: Arc<Shared>,
    pub(crate) config: FakeVoiceConfig,
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) udp_port: u16,
}

/// Where a connection stands in the handshake.
#[derive(Clone, Copy)]
struct Attached {
    guild_id: u64,
    ssrc: u32,
    /// The bot's user id: DAVE frames are decrypted as coming from it.
    user_id: u64,
    /// The call's channel (the MLS group id), from the token.
    channel_id: Option<u64>,
    /// Whether the client offered DAVE in Identify.
    offers_dave: bool,
}

/// What a test asks of a live connection (see `FakeVoiceServer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Control {
    /// Close with this code.
    Close(u16),
    /// End TLS and TCP with no close frame.
    Drop,
    /// Drive the call's DAVE group.
    Dave(DaveAction),
}

/// A DAVE event a test makes happen on a call, as Discord would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DaveAction {
    /// A second listener joins: op11 and an Add proposal (op27), so the bot
    /// commits a new epoch.
    GuestJoins,
    /// That listener leaves: op13 and a Remove proposal, another epoch.
    GuestLeaves,
    /// An op29 whose commit is garbage: the bot answers op31 and starts
    /// over with a new key package (op26).
    BrokenCommit,
    /// op21 to protocol version 0 with a non-zero transition id: the bot
    /// answers op23, the server executes with op22, frames go plain.
    Downgrade,
    /// op24 `{epoch: 1}`: the bot re-creates its session and sends a new
    /// key package, and the group is built again (back to DAVE after a
    /// downgrade).
    PrepareEpoch,
}

/// One message for the client.
enum Out {
    Json(Value),
    /// A binary DAVE message: opcode and payload.
    Binary(u8, Vec<u8>),
}

/// What handling one client message asks the connection to do.
#[derive(Default)]
struct Step {
    send: Vec<Out>,
    close: Option<(u16, &'static str)>,
}

impl Step {
    fn send(value: Value) -> Self {
        Self { send: vec![Out::Json(value)], close: None }
    }

    fn close(code: u16, reason: &'static str) -> Self {
        Self { send: Vec::new(), close: Some((code, reason)) }
    }
}

/// The channel a voice token names: the fake Discord hands out tokens
/// `<hex>.<channel id>`, so this server knows the MLS group id (the channel
/// id) as a real one knows it from its own records.
pub(crate) fn channel_from_token(token: &str) -> Option<u64> {
    token.rsplit_once('.')?.1.parse().ok().filter(|id| *id != 0)
}

/// Serves one TCP connection until either side closes it.
pub(crate) async fn serve(ctx: Arc<Context>, tcp: TcpStream, peer: SocketAddr, conn: u64) {
    let tls = match timeout(HANDSHAKE_TIMEOUT, ctx.acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            // songbird retries silently when it does not trust the CA, so say
            // it loudly here: the usual cause is SSL_CERT_FILE not being set.
            warn!(%peer, %error, "voice tls handshake failed (is SSL_CERT_FILE set?)");
            return;
        }
        Err(_) => {
            debug!(%peer, "voice tls handshake timed out");
            return;
        }
    };
    let (request, ws) = match timeout(HANDSHAKE_TIMEOUT, ServerBuilder::new().accept(tls)).await {
        Ok(Ok(upgraded)) => upgraded,
        Ok(Err(error)) => {
            debug!(%peer, %error, "voice websocket upgrade failed");
            return;
        }
        Err(_) => {
            debug!(%peer, "voice websocket upgrade timed out");
            return;
        }
    };
    let gateway_version = request
        .uri()
        .query()
        .and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("v=")).map(str::to_owned));
    debug!(%peer, conn, version = ?gateway_version, "voice websocket open");

    // Voice gateway v8 sequences what the server sends (`seq` in JSON, a
    // u16 before the opcode of binary messages); v4 (songbird) does not.
    let sequenced = gateway_version.as_deref().and_then(|v| v.parse::<u32>().ok()).is_some_and(|v| v >= 8);
    let mut connection =
        Connection { ctx, conn, gateway_version, attached: None, closer: None, sequenced, seq: 0, dave: None };
    connection.run(ws).await;
    if let Some(attached) = connection.attached {
        connection.ctx.shared.lock().connection_closed(attached.guild_id, conn);
        debug!(guild_id = attached.guild_id, conn, "voice websocket closed");
    }
}

struct Connection {
    ctx: Arc<Context>,
    conn: u64,
    gateway_version: Option<String>,
    attached: Option<Attached>,
    /// Handed to the shared state on Identify/Resume, so a test can reach us.
    closer: Option<mpsc::UnboundedSender<Control>>,
    /// Whether messages carry sequence numbers (v8).
    sequenced: bool,
    /// The last sequence number sent.
    seq: u16,
    /// DAVE bookkeeping of this connection, once negotiated.
    dave: Option<DaveFlow>,
}

/// Where this connection's DAVE exchange stands; the group itself is in the
/// shared state, where the UDP task decrypts with it.
#[derive(Default)]
struct DaveFlow {
    /// The transition id the next commit is announced with.
    next_transition: u16,
    /// A transition waiting for the client's op23 before op22 executes it.
    awaiting_ready: Option<u16>,
}

impl Connection {
    async fn run<S>(&mut self, mut ws: WebSocketStream<S>)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let (closer, mut close_requests) = mpsc::unbounded_channel();
        self.closer = Some(closer);

        let hello = json!({
            "op": 8,
            "d": { "heartbeat_interval": self.ctx.config.heartbeat_interval.as_secs_f64() * 1000.0 },
        });
        if ws.send(Message::text(hello.to_string())).await.is_err() {
            return;
        }

        loop {
            let step = tokio::select! {
                message = ws.next() => match message {
                    None => return,
                    Some(Err(error)) => {
                        debug!(conn = self.conn, %error, "voice websocket read failed");
                        return;
                    }
                    Some(Ok(message)) => self.on_message(&message),
                },
                Some(control) = close_requests.recv() => match control {
                    Control::Close(code) => Step::close(code, "closed by test"),
                    Control::Dave(action) => self.on_dave_action(action),
                    Control::Drop => {
                        // Dropping the stream ends TLS and TCP with no close frame.
                        debug!(conn = self.conn, "voice websocket dropped by test");
                        return;
                    }
                },
            };
            for out in step.send {
                let message = self.frame(out);
                if ws.send(message).await.is_err() {
                    debug!(conn = self.conn, "voice websocket write failed");
                    return;
                }
            }
            if let Some((code, reason)) = step.close {
                close(&mut ws, code, reason).await;
                return;
            }
        }
    }

    fn on_message(&mut self, message: &Message) -> Step {
        if message.is_close() {
            debug!(conn = self.conn, close = ?message.as_close().map(|(code, _)| u16::from(code)), "client closed voice websocket");
            return Step::default();
        }
        if message.is_binary() {
            return self.on_binary(&message.as_payload()[..]);
        }
        let Some(text) = message.as_text() else {
            return Step::default();
        };
        let frame: Frame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(error) => {
                debug!(conn = self.conn, %error, "malformed voice payload dropped");
                return Step::default();
            }
        };
        match frame.op {
            0 => self.on_identify(frame.d),
            1 => self.on_select_protocol(frame.d),
            3 => self.on_heartbeat(frame.d),
            5 => self.on_speaking(&frame.d),
            7 => self.on_resume(frame.d),
            23 => self.on_transition_ready(&frame.d),
            31 => self.on_invalid_commit(&frame.d),
            op if self.attached.is_none() => {
                debug!(conn = self.conn, op, "voice op before identify");
                Step::close(4003, "not authenticated")
            }
            op => {
                trace!(conn = self.conn, op, "voice op ignored");
                Step::default()
            }
        }
    }

    fn on_identify(&mut self, d: Value) -> Step {
        if self.attached.is_some() {
            return Step::close(4005, "already authenticated");
        }
        let identify: Identify = match serde_json::from_value(d) {
            Ok(identify) => identify,
            Err(error) => {
                debug!(conn = self.conn, %error, "malformed identify");
                return Step::close(4002, "failed to decode payload");
            }
        };
        let Some(closer) = self.closer.take() else {
            return Step::default();
        };
        let session = VoiceSession {
            guild_id: identify.server_id,
            user_id: identify.user_id,
            session_id: identify.session_id,
            token: identify.token,
            max_dave_protocol_version: identify.max_dave_protocol_version,
            gateway_version: self.gateway_version.clone(),
            ssrc: 0,
            mode: None,
            client_address: None,
            speaking: false,
            heartbeats: 0,
            resumes: 0,
            dave_protocol_version: 0,
            dave_key_packages: 0,
            dave_commits: 0,
            dave_epoch: None,
            dave_transitions_ready: Vec::new(),
            dave_invalid_commits: Vec::new(),
        };
        let guild_id = session.guild_id;
        let channel_id = channel_from_token(&session.token);
        let offers_dave = session.max_dave_protocol_version.unwrap_or(0) >= 1;
        let ssrc = self.ctx.shared.lock().identify(session, self.conn, closer);
        self.attached = Some(Attached { guild_id, ssrc, user_id: identify.user_id, channel_id, offers_dave });
        debug!(guild_id, user_id = identify.user_id, ssrc, "voice identify");

        let modes: Vec<&str> = self.ctx.config.modes.iter().map(|m| m.name()).collect();
        Step::send(json!({
            "op": 2,
            "d": {
                "ssrc": ssrc,
                "ip": "127.0.0.1",
                "port": self.ctx.udp_port,
                "modes": modes,
                "experiments": [],
            },
        }))
    }

    fn on_select_protocol(&mut self, d: Value) -> Step {
        let Some(attached) = self.attached else {
            return Step::close(4003, "not authenticated");
        };
        let select: SelectProtocol = match serde_json::from_value(d) {
            Ok(select) => select,
            Err(error) => {
                debug!(guild_id = attached.guild_id, %error, "malformed select protocol");
                return Step::close(4002, "failed to decode payload");
            }
        };
        if select.protocol != "udp" {
            return Step::close(4012, "unknown protocol");
        }
        let Some(mode) = CryptoMode::from_name(&select.data.mode).filter(|mode| self.ctx.config.modes.contains(mode))
        else {
            debug!(guild_id = attached.guild_id, mode = %select.data.mode, "mode not offered");
            return Step::close(4016, "unknown encryption mode");
        };
        let client_address = select.data.address.parse().ok().map(|ip| SocketAddr::new(ip, select.data.port));

        let key: [u8; 32] = rand::random();
        let dave = self.start_dave(&attached);
        let dave_protocol_version = u16::from(dave.is_some());
        {
            let mut state = self.ctx.shared.lock();
            state.set_cipher(attached.ssrc, RtpCipher::new(mode, &key));
            if let Some(call) = dave {
                state.set_dave(attached.ssrc, call);
            }
            if let Some(session) = state.session_mut(attached.guild_id, attached.ssrc) {
                session.mode = Some(mode);
                session.client_address = client_address;
                session.dave_protocol_version = dave_protocol_version;
            }
        }
        debug!(guild_id = attached.guild_id, %mode, dave_protocol_version, "voice session description");
        Step::send(json!({
            "op": 4,
            "d": {
                "mode": mode.name(),
                "secret_key": key,
                "audio_codec": "opus",
                // 1: the client sends its key package (op26) next, and
                // encrypts end to end from its first commit on; 0: transport
                // encryption only.
                "dave_protocol_version": dave_protocol_version,
            },
        }))
    }

    /// Acknowledges a heartbeat, echoing its nonce in the shape it came in.
    fn on_heartbeat(&mut self, d: Value) -> Step {
        if let Some(attached) = self.attached
            && let Some(session) = self.ctx.shared.lock().session_mut(attached.guild_id, attached.ssrc)
        {
            session.heartbeats += 1;
        }
        // v4 clients (songbird 0.6.1) send the bare nonce and expect it back;
        // v8 clients send `{t, seq_ack}` and expect `{t}`.
        let ack = match d.get("t") {
            Some(t) => json!({ "t": t }),
            None => d,
        };
        Step::send(json!({ "op": 6, "d": ack }))
    }

    fn on_speaking(&mut self, d: &Value) -> Step {
        let Some(attached) = self.attached else {
            return Step::close(4003, "not authenticated");
        };
        let speaking = d.get("speaking").and_then(Value::as_u64).unwrap_or(0) != 0;
        if let Some(session) = self.ctx.shared.lock().session_mut(attached.guild_id, attached.ssrc) {
            session.speaking = speaking;
        }
        trace!(guild_id = attached.guild_id, speaking, "voice speaking");
        Step::default()
    }

    fn on_resume(&mut self, d: Value) -> Step {
        if self.attached.is_some() {
            return Step::close(4005, "already authenticated");
        }
        let resume: Resume = match serde_json::from_value(d) {
            Ok(resume) => resume,
            Err(error) => {
                debug!(conn = self.conn, %error, "malformed resume");
                return Step::close(4002, "failed to decode payload");
            }
        };
        let Some(closer) = self.closer.take() else {
            return Step::default();
        };
        let mut state = self.ctx.shared.lock();
        if !state.resume(resume.server_id, &resume.session_id, &resume.token, self.conn, closer) {
            debug!(guild_id = resume.server_id, "resume of unknown session");
            return Step::close(4006, "session no longer valid");
        }
        let ssrc = state
            .guilds
            .get(&resume.server_id)
            .and_then(|guild| guild.sessions.last())
            .map(|session| session.ssrc)
            .unwrap_or_default();
        let session = state.guilds.get(&resume.server_id).and_then(|guild| guild.sessions.last());
        let user_id = session.map_or(0, |session| session.user_id);
        let offers_dave = session.is_some_and(|session| session.dave_protocol_version >= 1);
        drop(state);
        let channel_id = channel_from_token(&resume.token);
        self.attached = Some(Attached { guild_id: resume.server_id, ssrc, user_id, channel_id, offers_dave });
        if offers_dave {
            // The group lives on in the shared state; songbird keeps its side.
            self.dave = Some(DaveFlow { next_transition: self.ctx.config.dave_transition_id, awaiting_ready: None });
        }
        debug!(guild_id = resume.server_id, ssrc, "voice resumed");
        Step::send(json!({ "op": 9, "d": null }))
    }
}

impl Connection {
    /// Turns a message into a frame, numbering it for v8 clients.
    fn frame(&mut self, out: Out) -> Message {
        match out {
            Out::Json(mut value) => {
                // Hello and heartbeat acks are not part of the sequence.
                let op = value.get("op").and_then(Value::as_u64);
                if self.sequenced && !matches!(op, Some(6 | 8)) {
                    self.seq = self.seq.wrapping_add(1);
                    value["seq"] = json!(self.seq);
                }
                Message::text(value.to_string())
            }
            Out::Binary(op, payload) => {
                let mut bytes = Vec::with_capacity(payload.len() + 3);
                if self.sequenced {
                    self.seq = self.seq.wrapping_add(1);
                    bytes.extend(self.seq.to_be_bytes());
                }
                bytes.push(op);
                bytes.extend(payload);
                Message::binary(bytes)
            }
        }
    }

    /// Sets up DAVE for this session if the server, the client and the
    /// token allow it.
    fn start_dave(&mut self, attached: &Attached) -> Option<DaveCall> {
        if !self.ctx.config.dave || !attached.offers_dave {
            return None;
        }
        let Some(channel_id) = attached.channel_id else {
            warn!(guild_id = attached.guild_id, "voice token names no channel: DAVE not negotiated");
            return None;
        };
        match DaveCall::new(channel_id, attached.user_id) {
            Ok(call) => {
                self.dave =
                    Some(DaveFlow { next_transition: self.ctx.config.dave_transition_id, awaiting_ready: None });
                Some(call)
            }
            Err(error) => {
                warn!(guild_id = attached.guild_id, %error, "DAVE setup failed: not negotiated");
                None
            }
        }
    }

    /// Updates this connection's session record.
    fn record(&self, update: impl FnOnce(&mut VoiceSession)) {
        if let Some(attached) = self.attached
            && let Some(session) = self.ctx.shared.lock().session_mut(attached.guild_id, attached.ssrc)
        {
            update(session);
        }
    }

    /// The transition id for the next change, advancing when non-zero.
    fn next_transition(&mut self, at_least_one: bool) -> u16 {
        let Some(flow) = self.dave.as_mut() else {
            return 0;
        };
        let id = if at_least_one { flow.next_transition.max(1) } else { flow.next_transition };
        if id != 0 {
            flow.next_transition = id.wrapping_add(1).max(1);
        }
        id
    }

    /// Binary messages: the client's DAVE opcodes, `[opcode][payload]`.
    fn on_binary(&mut self, bytes: &[u8]) -> Step {
        let Some(attached) = self.attached.filter(|_| self.dave.is_some()) else {
            trace!(conn = self.conn, len = bytes.len(), "binary voice frame without DAVE dropped");
            return Step::default();
        };
        let Some((&op, payload)) = bytes.split_first() else {
            return Step::default();
        };
        match op {
            26 => self.on_key_package(attached),
            28 => self.on_commit_welcome(attached, payload),
            op => {
                trace!(conn = self.conn, op, "binary voice op ignored");
                Step::default()
            }
        }
    }

    /// op26: the client's key package. Make it the group's creator and add
    /// the listener (op25, op11, op27); a second op26 (after op31 or op24)
    /// starts the group over.
    fn on_key_package(&mut self, attached: Attached) -> Step {
        self.record(|session| session.dave_key_packages += 1);
        let mut state = self.ctx.shared.lock();
        let Some(call) = state.dave_mut(attached.ssrc) else {
            return Step::default();
        };
        let external_sender = call.external_sender().to_vec();
        match call.propose_listener() {
            Ok(proposal) => {
                drop(state);
                debug!(guild_id = attached.guild_id, "dave: key package, proposing the listener");
                Step {
                    send: vec![
                        Out::Binary(25, external_sender),
                        Out::Json(json!({ "op": 11, "d": { "user_ids": ids(&proposal.connect) } })),
                        Out::Binary(27, proposal.body),
                    ],
                    close: None,
                }
            }
            Err(error) => {
                warn!(guild_id = attached.guild_id, %error, "dave: listener proposal failed");
                Step::default()
            }
        }
    }

    /// op28: the client's commit (and Welcome). The virtual members apply
    /// it, then the server announces it with op29.
    fn on_commit_welcome(&mut self, attached: Attached, payload: &[u8]) -> Step {
        let committed = {
            let mut state = self.ctx.shared.lock();
            let Some(call) = state.dave_mut(attached.ssrc) else {
                return Step::default();
            };
            call.commit_welcome(payload).map(|commit| (commit, call.epoch()))
        };
        let (commit, epoch) = match committed {
            Ok(committed) => committed,
            Err(error) => {
                debug!(guild_id = attached.guild_id, %error, "dave: commit refused");
                return Step::default();
            }
        };
        let transition = self.next_transition(false);
        if transition != 0
            && let Some(flow) = self.dave.as_mut()
        {
            flow.awaiting_ready = Some(transition);
        }
        self.record(|session| {
            session.dave_commits += 1;
            session.dave_epoch = epoch;
        });
        debug!(guild_id = attached.guild_id, ?epoch, transition, "dave: commit announced");
        let mut body = transition.to_be_bytes().to_vec();
        body.extend(commit);
        Step { send: vec![Out::Binary(29, body)], close: None }
    }

    /// op23: the client is ready for a transition; execute it (op22).
    fn on_transition_ready(&mut self, d: &Value) -> Step {
        let Some(transition) = d.get("transition_id").and_then(Value::as_u64).and_then(|id| u16::try_from(id).ok())
        else {
            return Step::default();
        };
        self.record(|session| session.dave_transitions_ready.push(transition));
        let Some(flow) = self.dave.as_mut().filter(|flow| flow.awaiting_ready == Some(transition)) else {
            debug!(conn = self.conn, transition, "dave: ready for a transition nobody started");
            return Step::default();
        };
        flow.awaiting_ready = None;
        Step::send(json!({ "op": 22, "d": { "transition_id": transition } }))
    }

    /// op31: the client could not apply a commit or Welcome.
    fn on_invalid_commit(&mut self, d: &Value) -> Step {
        let transition = d.get("transition_id").and_then(Value::as_u64).unwrap_or(0);
        self.record(|session| session.dave_invalid_commits.push(u16::try_from(transition).unwrap_or(u16::MAX)));
        debug!(conn = self.conn, transition, "dave: client reports an invalid commit");
        Step::default()
    }

    /// A test's DAVE event.
    fn on_dave_action(&mut self, action: DaveAction) -> Step {
        let Some(attached) = self.attached.filter(|_| self.dave.is_some()) else {
            debug!(conn = self.conn, ?action, "dave action on a connection without DAVE");
            return Step::default();
        };
        match action {
            DaveAction::GuestJoins | DaveAction::GuestLeaves => {
                let proposal = {
                    let mut state = self.ctx.shared.lock();
                    let Some(call) = state.dave_mut(attached.ssrc) else {
                        return Step::default();
                    };
                    if action == DaveAction::GuestJoins {
                        call.propose_guest_join()
                    } else {
                        call.propose_guest_leave()
                    }
                };
                match proposal {
                    Ok(proposal) => {
                        let announce = if action == DaveAction::GuestJoins {
                            json!({ "op": 11, "d": { "user_ids": ids(&proposal.connect) } })
                        } else {
                            json!({ "op": 13, "d": { "user_id": GUEST_USER_ID.to_string() } })
                        };
                        Step { send: vec![Out::Json(announce), Out::Binary(27, proposal.body)], close: None }
                    }
                    Err(error) => {
                        warn!(guild_id = attached.guild_id, %error, ?action, "dave: proposal failed");
                        Step::default()
                    }
                }
            }
            DaveAction::BrokenCommit => {
                let transition = self.next_transition(true);
                let mut body = transition.to_be_bytes().to_vec();
                body.extend(b"not an MLS commit");
                Step { send: vec![Out::Binary(29, body)], close: None }
            }
            DaveAction::Downgrade => {
                let transition = self.next_transition(true);
                if let Some(flow) = self.dave.as_mut() {
                    flow.awaiting_ready = Some(transition);
                }
                self.record(|session| session.dave_protocol_version = 0);
                Step::send(json!({ "op": 21, "d": { "protocol_version": 0, "transition_id": transition } }))
            }
            DaveAction::PrepareEpoch => {
                self.record(|session| session.dave_protocol_version = 1);
                Step::send(json!({ "op": 24, "d": { "protocol_version": 1, "epoch": 1 } }))
            }
        }
    }
}

/// User ids as Discord sends them: strings.
fn ids(user_ids: &[u64]) -> Vec<String> {
    user_ids.iter().map(u64::to_string).collect()
}

/// Sends a close frame and waits briefly for the client's reply.
async fn close<S>(ws: &mut WebSocketStream<S>, code: u16, reason: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // Codes were validated where they entered (close_session), but a
    // reserved code must never reach `Message::close`, which asserts.
    let code = CloseCode::try_from(code).ok().filter(|code| !code.is_reserved()).unwrap_or(CloseCode::NORMAL_CLOSURE);
    if ws.send(Message::close(Some(code), reason)).await.is_err() {
        return;
    }
    let _ = timeout(CLOSE_TIMEOUT, async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

/// The envelope of every voice gateway message.
#[derive(Deserialize)]
struct Frame {
    op: u64,
    #[serde(default)]
    d: Value,
}

#[derive(Deserialize)]
struct Identify {
    #[serde(deserialize_with = "snowflake")]
    server_id: u64,
    #[serde(deserialize_with = "snowflake")]
    user_id: u64,
    session_id: String,
    token: String,
    #[serde(default)]
    max_dave_protocol_version: Option<u16>,
}

#[derive(Deserialize)]
struct Resume {
    #[serde(deserialize_with = "snowflake")]
    server_id: u64,
    session_id: String,
    token: String,
}

#[derive(Deserialize)]
struct SelectProtocol {
    protocol: String,
    data: ProtocolData,
}

#[derive(Deserialize)]
struct ProtocolData {
    address: String,
    port: u16,
    mode: String,
}

/// Reads a Discord ID sent as a string (the usual form) or a number.
fn snowflake<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Number(id) => Ok(id),
        Raw::Text(text) => text.parse().map_err(D::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_accepts_string_and_number_ids() {
        let from_songbird: Identify = serde_json::from_value(json!({
            "server_id": "123", "user_id": "456", "session_id": "s", "token": "t",
            "max_dave_protocol_version": 1,
        }))
        .unwrap();
        assert_eq!((from_songbird.server_id, from_songbird.user_id), (123, 456));
        assert_eq!(from_songbird.max_dave_protocol_version, Some(1));

        let numeric: Identify = serde_json::from_value(json!({
            "server_id": 1, "user_id": 2, "session_id": "s", "token": "t",
        }))
        .unwrap();
        assert_eq!((numeric.server_id, numeric.user_id), (1, 2));
        assert_eq!(numeric.max_dave_protocol_version, None);

        assert!(
            serde_json::from_value::<Identify>(json!({
                "server_id": "x1", "user_id": 2, "session_id": "s", "token": "t",
            }))
            .is_err()
        );
    }

    #[test]
    fn frame_parses_ops_with_or_without_payload() {
        let frame: Frame = serde_json::from_str(r#"{"op":3,"d":1501184119561}"#).unwrap();
        assert_eq!(frame.op, 3);
        assert_eq!(frame.d, json!(1_501_184_119_561u64));
        let frame: Frame = serde_json::from_str(r#"{"op":9}"#).unwrap();
        assert_eq!(frame.d, Value::Null);
        assert!(serde_json::from_str::<Frame>(r#"{"d":1}"#).is_err());
        assert!(serde_json::from_str::<Frame>("not json").is_err());
    }
}
