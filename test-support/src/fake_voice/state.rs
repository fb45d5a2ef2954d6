//! State shared by the WebSocket and UDP tasks of one fake voice server.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use opus2::{Channels, Decoder};
use tokio::sync::mpsc;

use super::{
    dave::{DaveCall, DaveError, is_dave_frame},
    gateway::Control,
    heard::AudioLog,
    rtp::{CryptoMode, RtpCipher, RtpError, RtpPacket},
};
use crate::audio::{SAMPLE_RATE, stereo_to_mono};

/// Largest Opus frame: 120 ms at 48 kHz, per channel.
const MAX_FRAME_SAMPLES: usize = 5760;

/// What the server knows about one voice session (one Identify, and any
/// Resumes of it).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VoiceSession {
    /// `server_id` from Identify.
    pub guild_id: u64,
    /// `user_id` from Identify.
    pub user_id: u64,
    /// `session_id` from Identify (from the bot's VOICE_STATE_UPDATE).
    pub session_id: String,
    /// `token` from Identify (from VOICE_SERVER_UPDATE).
    pub token: String,
    /// `max_dave_protocol_version` from Identify; songbird 0.6.1 offers 1.
    pub max_dave_protocol_version: Option<u16>,
    /// The `v` query parameter of the WebSocket URL; songbird 0.6.1 asks for 4.
    pub gateway_version: Option<String>,
    /// The ssrc handed out in Ready.
    pub ssrc: u32,
    /// Mode chosen in SelectProtocol; `None` until then.
    pub mode: Option<CryptoMode>,
    /// Address and port the client announced in SelectProtocol.
    pub client_address: Option<SocketAddr>,
    /// Whether the last Speaking (op 5) had any flag set.
    pub speaking: bool,
    /// Heartbeats (op 3) received and acknowledged.
    pub heartbeats: u64,
    /// Successful Resumes (op 7) of this session.
    pub resumes: u64,
    /// The DAVE protocol version in force: 1 once announced in op4, 0
    /// without DAVE or after a downgrade.
    pub dave_protocol_version: u16,
    /// Key packages (op26) received: one per (re)start of the group.
    pub dave_key_packages: u64,
    /// Commits (op28) the virtual members applied.
    pub dave_commits: u64,
    /// The group's epoch after the last commit.
    pub dave_epoch: Option<u64>,
    /// Transition ids the client said it was ready for (op23).
    pub dave_transitions_ready: Vec<u16>,
    /// Transition ids the client reported as invalid (op31).
    pub dave_invalid_commits: Vec<u16>,
}

/// Per-guild bookkeeping.
#[derive(Debug)]
pub(crate) struct Guild {
    /// Sessions in Identify order; the last is the current one.
    pub(crate) sessions: Vec<VoiceSession>,
    /// WebSocket connections that identified or resumed for this guild.
    pub(crate) opened: u64,
    /// Of those, how many have ended.
    pub(crate) closed: u64,
    /// Ways to close each live connection, by connection id.
    pub(crate) closers: HashMap<u64, mpsc::UnboundedSender<Control>>,
    pub(crate) audio: AudioLog,
}

/// One RTP stream: which guild it belongs to, and how to read it.
struct Stream {
    guild_id: u64,
    cipher: Option<RtpCipher>,
    decoder: Option<Decoder>,
    /// The call's DAVE group, once negotiated.
    dave: Option<DaveCall>,
}

/// Everything behind the server's lock.
pub(crate) struct State {
    next_ssrc: u32,
    audio_keep: Duration,
    /// Whether RTP is decrypted and decoded (else only counted).
    decode: bool,
    pub(crate) guilds: HashMap<u64, Guild>,
    streams: HashMap<u32, Stream>,
}

/// The lock around [`State`]. Held only for short, non-async sections.
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(audio_keep: Duration, decode: bool) -> Self {
        Self {
            state: Mutex::new(State {
                // Arbitrary but recognisable in traces; real ssrcs are random.
                next_ssrc: 0x0001_0000,
                audio_keep,
                decode,
                guilds: HashMap::new(),
                streams: HashMap::new(),
            }),
        }
    }

    /// Locks the state, recovering from a poisoned lock: a panicking test
    /// thread must not turn every later assertion into a poison error.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn guild(&mut self, guild_id: u64) -> &mut Guild {
        let keep = self.audio_keep;
        self.guilds.entry(guild_id).or_insert_with(|| Guild {
            sessions: Vec::new(),
            opened: 0,
            closed: 0,
            closers: HashMap::new(),
            audio: AudioLog::new(keep),
        })
    }

    /// Starts a session for an Identify and attaches connection `conn` to
    /// it; returns the new ssrc.
    pub(crate) fn identify(
        &mut self,
        mut session: VoiceSession,
        conn: u64,
        closer: mpsc::UnboundedSender<Control>,
    ) -> u32 {
        let ssrc = self.next_ssrc;
        self.next_ssrc = self.next_ssrc.wrapping_add(1);
        session.ssrc = ssrc;
        let guild_id = session.guild_id;
        self.streams.insert(ssrc, Stream { guild_id, cipher: None, decoder: None, dave: None });
        let guild = self.guild(guild_id);
        guild.sessions.push(session);
        guild.opened += 1;
        guild.closers.insert(conn, closer);
        ssrc
    }

    /// Attaches connection `conn` to the guild's current session if
    /// `session_id` and `token` match it; returns whether they did.
    pub(crate) fn resume(
        &mut self,
        guild_id: u64,
        session_id: &str,
        token: &str,
        conn: u64,
        closer: mpsc::UnboundedSender<Control>,
    ) -> bool {
        let Some(guild) = self.guilds.get_mut(&guild_id) else {
            return false;
        };
        let Some(session) = guild.sessions.last_mut() else {
            return false;
        };
        if session.session_id != session_id || session.token != token {
            return false;
        }
        session.resumes += 1;
        guild.opened += 1;
        guild.closers.insert(conn, closer);
        true
    }

    /// Replaces the guild's audio log with an empty one.
    pub(crate) fn reset_audio(&mut self, guild_id: u64) {
        let keep = self.audio_keep;
        if let Some(guild) = self.guilds.get_mut(&guild_id) {
            guild.audio = AudioLog::new(keep);
        }
    }

    /// Returns the session with this ssrc, if any.
    pub(crate) fn session_mut(&mut self, guild_id: u64, ssrc: u32) -> Option<&mut VoiceSession> {
        self.guilds.get_mut(&guild_id)?.sessions.iter_mut().rev().find(|s| s.ssrc == ssrc)
    }

    /// Keys the stream `ssrc` after SelectProtocol.
    pub(crate) fn set_cipher(&mut self, ssrc: u32, cipher: RtpCipher) {
        if let Some(stream) = self.streams.get_mut(&ssrc) {
            stream.cipher = Some(cipher);
        }
    }

    /// The DAVE group of stream `ssrc`, if it has one.
    pub(crate) fn dave_mut(&mut self, ssrc: u32) -> Option<&mut DaveCall> {
        self.streams.get_mut(&ssrc)?.dave.as_mut()
    }

    /// Gives stream `ssrc` its DAVE group (at SelectProtocol).
    pub(crate) fn set_dave(&mut self, ssrc: u32, call: DaveCall) {
        if let Some(stream) = self.streams.get_mut(&ssrc) {
            stream.dave = Some(call);
        }
    }

    /// Records that connection `conn` of `guild_id` ended.
    pub(crate) fn connection_closed(&mut self, guild_id: u64, conn: u64) {
        if let Some(guild) = self.guilds.get_mut(&guild_id)
            && guild.closers.remove(&conn).is_some()
        {
            guild.closed += 1;
        }
    }

    /// Returns whether `ssrc` belongs to a session this server handed out.
    pub(crate) fn knows_ssrc(&self, ssrc: u32) -> bool {
        self.streams.contains_key(&ssrc)
    }

    /// Counts a keepalive for the stream's guild.
    pub(crate) fn keepalive(&mut self, ssrc: u32) {
        if let Some(guild_id) = self.streams.get(&ssrc).map(|s| s.guild_id) {
            self.guild(guild_id).audio.keepalive();
        }
    }

    /// Decrypts (transport, then DAVE), decodes and records one RTP
    /// datagram; with `decode` off only counts and timestamps it.
    ///
    /// Returns the outcome for tracing; unknown ssrcs are dropped without
    /// touching any guild.
    pub(crate) fn rtp(&mut self, ssrc: u32, datagram: &[u8], at: Instant) -> RtpOutcome {
        let decode_audio = self.decode;
        let Some(stream) = self.streams.get_mut(&ssrc) else {
            return RtpOutcome::UnknownSsrc;
        };
        let guild_id = stream.guild_id;
        if !decode_audio {
            self.guild(guild_id).audio.packet(at);
            return RtpOutcome::Counted;
        }
        let opened = match &stream.cipher {
            Some(cipher) => cipher.decrypt(datagram),
            None => Err(RtpError::Decrypt),
        };
        let packet = match opened {
            Ok(packet) => packet,
            Err(error) => {
                self.guild(guild_id).audio.undecryptable();
                return RtpOutcome::Rejected(guild_id, error);
            }
        };
        if packet.is_silence() {
            let audio = &mut self.guild(guild_id).audio;
            audio.packet(at);
            audio.opus_payload(&packet.payload);
            audio.silence();
            return RtpOutcome::Silence(guild_id, packet);
        }
        // DAVE frames end in its marker; anything else is plain Opus (what
        // songbird sends before its first commit, or after a downgrade).
        let layer = match stream.dave.as_mut() {
            Some(call) if is_dave_frame(&packet.payload) => Layer::Dave(call.decrypt(&packet.payload)),
            _ => Layer::Plain,
        };
        let opus = match &layer {
            Layer::Dave(Ok(opus)) => Some(opus.as_slice()),
            Layer::Dave(Err(_)) => None,
            Layer::Plain => Some(packet.payload.as_slice()),
        };
        let decoded = opus.map(|opus| decode(&mut stream.decoder, opus));

        let audio = &mut self.guild(guild_id).audio;
        audio.packet(at);
        if let Some(opus) = opus {
            // The Opus frame itself: after DAVE, what the bot encoded (or
            // passed through).
            audio.opus_payload(opus);
        }
        match layer {
            Layer::Dave(Ok(_)) => audio.dave_frame(),
            Layer::Dave(Err(error)) => {
                audio.dave_undecryptable();
                return RtpOutcome::DaveRejected(guild_id, error.to_string());
            }
            Layer::Plain => audio.plain_frame(),
        }
        match decoded {
            Some(Some(mono)) => {
                audio.audio(&mono);
                RtpOutcome::Audio(guild_id, packet)
            }
            _ => {
                audio.undecodable();
                RtpOutcome::Undecodable(guild_id, packet)
            }
        }
    }
}

/// Which end-to-end layer a frame came in.
enum Layer {
    Dave(Result<Vec<u8>, DaveError>),
    Plain,
}

/// What became of one RTP datagram.
#[derive(Debug)]
pub(crate) enum RtpOutcome {
    UnknownSsrc,
    Rejected(u64, RtpError),
    Silence(u64, RtpPacket),
    Audio(u64, RtpPacket),
    Undecodable(u64, RtpPacket),
    DaveRejected(u64, String),
    Counted,
}

/// Decodes one Opus frame to mono, creating the stream's decoder on first use.
fn decode(decoder: &mut Option<Decoder>, payload: &[u8]) -> Option<Vec<f32>> {
    if decoder.is_none() {
        *decoder = Decoder::new(SAMPLE_RATE, Channels::Stereo).ok();
    }
    let decoder = decoder.as_mut()?;
    let mut stereo = vec![0f32; 2 * MAX_FRAME_SAMPLES];
    let frames = decoder.decode_float(payload, &mut stereo, false).ok()?;
    // libopus reports errors as negative counts; opus2 turns those into
    // `Err`, but stay defensive about lengths anyway.
    let frames = frames.min(MAX_FRAME_SAMPLES);
    Some(stereo_to_mono(&stereo[..2 * frames]))
}
