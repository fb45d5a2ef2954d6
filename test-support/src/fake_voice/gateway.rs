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
}

/// What handling one client message asks the connection to do.
#[derive(Default)]
struct Step {
    send: Vec<Value>,
    close: Option<(u16, &'static str)>,
}

impl Step {
    fn send(value: Value) -> Self {
        Self { send: vec![value], close: None }
    }

    fn close(code: u16, reason: &'static str) -> Self {
        Self { send: Vec::new(), close: Some((code, reason)) }
    }
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

    let mut connection = Connection { ctx, conn, gateway_version, attached: None, closer: None };
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
    /// Handed to the shared state on Identify/Resume, so a test can close us.
    closer: Option<mpsc::UnboundedSender<u16>>,
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
        if send(&mut ws, &hello).await.is_err() {
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
                Some(code) = close_requests.recv() => Step::close(code, "closed by test"),
            };
            for value in &step.send {
                if send(&mut ws, value).await.is_err() {
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
            // Binary frames carry DAVE MLS opcodes, which a session with
            // dave_protocol_version 0 never uses.
            trace!(conn = self.conn, len = message.as_payload().len(), "binary voice frame dropped");
            return Step::default();
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
        };
        let guild_id = session.guild_id;
        let ssrc = self.ctx.shared.lock().identify(session, self.conn, closer);
        self.attached = Some(Attached { guild_id, ssrc });
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
        {
            let mut state = self.ctx.shared.lock();
            state.set_cipher(attached.ssrc, RtpCipher::new(mode, &key));
            if let Some(session) = state.session_mut(attached.guild_id, attached.ssrc) {
                session.mode = Some(mode);
                session.client_address = client_address;
            }
        }
        debug!(guild_id = attached.guild_id, %mode, "voice session description");
        Step::send(json!({
            "op": 4,
            "d": {
                "mode": mode.name(),
                "secret_key": key,
                "audio_codec": "opus",
                // 0: transport encryption only, so the client skips DAVE/MLS.
                "dave_protocol_version": 0,
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
        drop(state);
        self.attached = Some(Attached { guild_id: resume.server_id, ssrc });
        debug!(guild_id = resume.server_id, ssrc, "voice resumed");
        Step::send(json!({ "op": 9, "d": null }))
    }
}

async fn send<S>(ws: &mut WebSocketStream<S>, value: &Value) -> Result<(), ()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send(Message::text(value.to_string())).await.map_err(|error| debug!(%error, "voice websocket write failed"))
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
