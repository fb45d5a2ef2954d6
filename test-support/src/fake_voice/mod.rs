//! A fake Discord voice server on loopback that listens to what a bot plays.
//!
//! [`FakeVoiceServer`] speaks the real protocol, so the bot under test runs
//! its production songbird code unchanged:
//!
//! - a TLS WebSocket (voice gateway v4) on `127.0.0.1:<port>`; songbird
//!   always dials `wss://`, so the client must trust a [`TestCa`] through
//!   `SSL_CERT_FILE`;
//! - a UDP socket on `127.0.0.1:<port>` that answers IP discovery, then
//!   decrypts each RTP packet (`aead_aes256_gcm_rtpsize` or
//!   `aead_xchacha20_poly1305_rtpsize`), decodes the Opus inside, and keeps
//!   per-guild statistics a test reads with [`FakeVoiceServer::heard`]:
//!   packet counts and rate, and over the last [`ANALYSIS_WINDOW`] the
//!   dominant frequency ([`Heard::dominant_hz`]) and the level in dBFS
//!   ([`Heard::level_dbfs`], -120 for silence, so volume 0 is visible).
//!   [`FakeVoiceServer::audio`] returns the decoded audio itself, for
//!   [`frequency_timeline`](crate::audio::frequency_timeline) (which tone
//!   played when) or other analysis, and [`FakeVoiceServer::opus_payloads`]
//!   the Opus payloads as they arrived (to tell a file's packets forwarded
//!   from audio the bot encoded).
//!
//! Sessions negotiate DAVE, Discord's end-to-end encryption, when the client
//! offers it ([`FakeVoiceConfig::dave`], on by default): the server is the
//! MLS external sender and one virtual listener that decrypts every frame
//! (see the `dave` module's docs for the exchange, and
//! [`FakeVoiceServer::dave`] for the events a test can cause). `Heard`
//! counts DAVE and plain frames apart.
//!
//! A test can also break the connection the way networks and Discord do:
//! [`FakeVoiceServer::close_sessions`] (a close code),
//! [`FakeVoiceServer::drop_sessions`] (TCP gone, no close frame) and
//! [`FakeVoiceServer::set_udp_answering`] (UDP unreachable, discovery
//! included).
//!
//! # Protocol
//!
//! Voice gateway v4, as songbird 0.6.1 speaks it (it dials
//! `wss://<endpoint>/?v=4`):
//!
//! | from   | op | name               | payload (`d`)                                              |
//! |--------|----|--------------------|------------------------------------------------------------|
//! | server | 8  | Hello              | `{heartbeat_interval}`, sent on connect as Discord does    |
//! | client | 0  | Identify           | `{server_id, user_id, session_id, token, max_dave_protocol_version}` |
//! | server | 2  | Ready              | `{ssrc, ip, port, modes, experiments}`                     |
//! | client | —  | UDP IP discovery   | 74 bytes, type 1; answered with type 2, address and port   |
//! | client | 1  | SelectProtocol     | `{protocol: "udp", data: {address, port, mode}}`           |
//! | server | 4  | SessionDescription | `{mode, secret_key: [32 bytes], dave_protocol_version: 1}` (0 without DAVE) |
//! | client | 3  | Heartbeat          | the bare nonce (v4), or `{t, seq_ack}` (v8)                |
//! | server | 6  | HeartbeatAck       | the nonce back, in the shape it came                       |
//! | client | 5  | Speaking           | `{speaking, delay, ssrc}`                                  |
//! | client | 7  | Resume             | `{server_id, session_id, token}`                           |
//! | server | 9  | Resumed            | `null`                                                     |
//! | server | 11 | ClientsConnect     | `{user_ids}`: the virtual listener (and guest)             |
//! | server | 13 | ClientDisconnect   | `{user_id}`: the guest leaving                             |
//! | server | 21 | DavePrepareTransition | `{protocol_version, transition_id}` (a downgrade)       |
//! | server | 22 | DaveExecuteTransition | `{transition_id}`, after the client's op23              |
//! | client | 23 | DaveTransitionReady   | `{transition_id}`                                       |
//! | server | 24 | DavePrepareEpoch      | `{protocol_version, epoch: 1}`: start the group over    |
//! | server | 25 | DaveMlsExternalSender | binary: the external sender                             |
//! | client | 26 | DaveMlsKeyPackage     | binary: the client's key package                        |
//! | server | 27 | DaveMlsProposals      | binary: `[0 = append][VLBytes(proposals)]`              |
//! | client | 28 | DaveMlsCommitWelcome  | binary: `[commit][welcome]`                             |
//! | server | 29 | DaveMlsAnnounceCommitTransition | binary: `[transition_id u16][commit]`         |
//! | client | 31 | DaveMlsInvalidCommitWelcome | `{transition_id}`                                 |
//!
//! With `?v=8` in the URL (@discordjs/voice), every server message but
//! Hello and HeartbeatAck carries a sequence number: `seq` in JSON, a
//! big-endian u16 before the opcode of binary messages.
//!
//! IDs are accepted as strings (what songbird sends) or numbers. Where a
//! real server would close, this one closes with Discord's code: 4002 for an
//! undecodable Identify/SelectProtocol/Resume, 4003 for other ops before
//! Identify, 4005 for a second Identify, 4006 for a Resume of an unknown
//! session, 4012 for a protocol other than `udp`, 4016 for a mode it did not
//! offer. Malformed JSON, binary frames and unknown ops are dropped with a
//! trace; so are short, garbled or unknown-ssrc datagrams. Nothing panics.
//!
//! # Example
//!
//! ```no_run
//! # async fn example(ca: &timmybot_test_support::test_ca::TestCa) -> anyhow::Result<()> {
//! use std::time::Duration;
//! use timmybot_test_support::fake_voice::FakeVoiceServer;
//!
//! let voice = FakeVoiceServer::start(ca).await?;
//! // Send `voice.endpoint()` in VOICE_SERVER_UPDATE, have the bot play a tone...
//! let played = voice
//!     .wait_until(Duration::from_secs(20), |v| v.heard(1).seconds_of_audio >= 4.0)
//!     .await;
//! assert!(played);
//! let heard = voice.heard(1);
//! assert!((heard.dominant_hz.unwrap() - 440.0).abs() < 5.0);
//! // A half-scale sine (what `write_tone_wav` writes) is about -9 dBFS.
//! assert!((heard.level_dbfs.unwrap() + 9.0).abs() < 1.5);
//! # Ok(()) }
//! ```

mod dave;
mod discovery;
mod gateway;
mod heard;
mod rtp;
mod state;
mod udp;

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use tokio::{
    net::{TcpListener, UdpSocket},
    task::{JoinHandle, JoinSet},
};
use tokio_rustls::TlsAcceptor;
use tracing::debug;

pub use dave::{DAVE_MAGIC, GUEST_USER_ID, LISTENER_USER_ID, is_dave_frame};
pub use discovery::{IP_DISCOVERY_LEN, parse_request as parse_ip_discovery_request, response as ip_discovery_response};
pub use gateway::DaveAction;
pub use heard::{ANALYSIS_WINDOW, Heard};
pub use rtp::{CryptoMode, RTP_HEADER_LEN, RtpCipher, RtpError, RtpHeader, RtpPacket, SILENCE_FRAME, rtp_header};
pub use state::VoiceSession;

use crate::test_ca::TestCa;
use gateway::Control;

/// Settings for a [`FakeVoiceServer`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FakeVoiceConfig {
    /// Encryption modes offered in Ready, in order.
    ///
    /// Default: both modes, AES-256-GCM first (Discord's order). songbird
    /// picks its own `Config::crypto_mode` (default AES-256-GCM) whenever it
    /// is offered, whatever the order, so to make it use XChaCha20 offer
    /// only that mode.
    pub modes: Vec<CryptoMode>,
    /// Heartbeat interval announced in Hello.
    ///
    /// Default: 2 s, shorter than Discord's ~13.75 s so that every test of a
    /// few seconds also exercises heartbeats and their acks.
    pub heartbeat_interval: Duration,
    /// How much audio to keep per guild: the decoded audio (mono, 48 kHz,
    /// 4 bytes a sample) and the Opus payloads of as many 20 ms packets
    /// ([`FakeVoiceServer::opus_payloads`]). Default: 10 s, about 1.9 MB of
    /// samples and 500 payloads (about 160 kB at songbird's 128 kb/s) per
    /// guild.
    pub audio_keep: Duration,
    /// Whether to negotiate DAVE (protocol version 1) with clients that
    /// offer it. Default: on, as Discord requires since March 2026.
    ///
    /// DAVE needs the call's channel id (the MLS group id), which this
    /// server reads from the voice token: the fake Discord hands out tokens
    /// `<hex>.<channel id>`. A token without one gets no DAVE (and a warning).
    pub dave: bool,
    /// The transition id the server announces commits with (op29). Default
    /// 0, which takes effect at once; with N > 0 the client answers op23 and
    /// the server executes with op22, and later commits count up from N.
    pub dave_transition_id: u16,
    /// Whether RTP is decrypted, DAVE-decrypted and decoded. Default: on.
    /// Off, the server only counts and timestamps packets (a benchmark sink
    /// that must not compete for the CPU it measures): `Heard` then has
    /// `packets`, `rate` and the gaps, and zeros for everything decoded.
    pub decode: bool,
}

impl Default for FakeVoiceConfig {
    fn default() -> Self {
        Self {
            modes: CryptoMode::ALL.to_vec(),
            heartbeat_interval: Duration::from_secs(2),
            audio_keep: Duration::from_secs(10),
            dave: true,
            dave_transition_id: 0,
            decode: true,
        }
    }
}

impl FakeVoiceConfig {
    /// Returns the default configuration offering only `modes`.
    pub fn with_modes(modes: impl IntoIterator<Item = CryptoMode>) -> Self {
        Self { modes: modes.into_iter().collect(), ..Self::default() }
    }
}

/// A running fake voice server; its tasks stop when it is dropped.
///
/// All queries are cheap snapshots taken under a short lock, so a test can
/// poll them (see [`wait_until`](Self::wait_until)).
pub struct FakeVoiceServer {
    endpoint: String,
    udp_addr: SocketAddr,
    shared: Arc<state::Shared>,
    udp_switch: Arc<udp::UdpSwitch>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeVoiceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeVoiceServer")
            .field("endpoint", &self.endpoint)
            .field("udp_addr", &self.udp_addr)
            .finish_non_exhaustive()
    }
}

impl FakeVoiceServer {
    /// Starts a server with the default [`FakeVoiceConfig`], presenting the
    /// leaf certificate of `ca`.
    ///
    /// Must be called within a tokio runtime; the server's tasks run on it.
    ///
    /// # Errors
    ///
    /// Fails if the loopback sockets cannot be bound.
    pub async fn start(ca: &TestCa) -> anyhow::Result<Self> {
        Self::start_with(ca, FakeVoiceConfig::default()).await
    }

    /// Starts a server with `config`.
    ///
    /// # Errors
    ///
    /// Fails if `config.modes` is empty or the loopback sockets cannot be bound.
    pub async fn start_with(ca: &TestCa, config: FakeVoiceConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(!config.modes.is_empty(), "offer at least one crypto mode");
        let listener = TcpListener::bind("127.0.0.1:0").await.context("bind voice websocket")?;
        let udp = UdpSocket::bind("127.0.0.1:0").await.context("bind voice udp")?;
        let tcp_addr = listener.local_addr().context("voice websocket address")?;
        let udp_addr = udp.local_addr().context("voice udp address")?;

        let shared = Arc::new(state::Shared::new(config.audio_keep, config.decode));
        let ctx = Arc::new(gateway::Context {
            shared: shared.clone(),
            config,
            acceptor: TlsAcceptor::from(ca.server_config()),
            udp_port: udp_addr.port(),
        });
        let udp_switch = Arc::new(udp::UdpSwitch::new());
        let tasks = vec![
            tokio::spawn(accept_loop(listener, ctx)),
            tokio::spawn(udp::run(udp, shared.clone(), udp_switch.clone())),
        ];
        debug!(%tcp_addr, %udp_addr, "fake voice server listening");
        Ok(Self { endpoint: tcp_addr.to_string(), udp_addr, shared, udp_switch, tasks })
    }

    /// Returns `"127.0.0.1:<port>"`, the value for VOICE_SERVER_UPDATE's
    /// `endpoint` (songbird prefixes `wss://` and appends `/?v=4`).
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Returns the UDP address announced in Ready.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// Returns what arrived for `guild_id` so far, across all its sessions;
    /// all zeros for a guild never heard from.
    ///
    /// Measuring `dominant_hz` and `level_dbfs` costs a few milliseconds,
    /// done outside the lock.
    pub fn heard(&self, guild_id: u64) -> Heard {
        let (heard, recent) = match self.shared.lock().guilds.get(&guild_id) {
            Some(guild) => guild.audio.snapshot(),
            None => return Heard::default(),
        };
        heard::measure(heard, &recent)
    }

    /// Returns the decoded audio kept for `guild_id` (mono, 48 kHz, oldest
    /// first, at most [`FakeVoiceConfig::audio_keep`]), for custom analysis.
    pub fn audio(&self, guild_id: u64) -> Vec<f32> {
        self.shared.lock().guilds.get(&guild_id).map(|guild| guild.audio.kept_audio()).unwrap_or_default()
    }

    /// Returns the Opus payloads received for `guild_id`, oldest first: the
    /// last ones (one per 20 ms packet of [`FakeVoiceConfig::audio_keep`])
    /// of every packet that decrypted (transport, then DAVE), silence frames
    /// included: the Opus frames exactly as the bot encoded or forwarded
    /// them. A test compares them with a file's packets to see
    /// whether the bot forwarded the file's Opus or encoded its own.
    pub fn opus_payloads(&self, guild_id: u64) -> Vec<Vec<u8>> {
        self.shared.lock().guilds.get(&guild_id).map(|guild| guild.audio.opus_payloads()).unwrap_or_default()
    }

    /// Forgets the audio statistics of `guild_id`, its decoded audio and
    /// Opus payloads (sessions are kept), so a test can measure the next
    /// track on its own.
    pub fn reset_heard(&self, guild_id: u64) {
        self.shared.lock().reset_audio(guild_id);
    }

    /// Returns whether a voice WebSocket for `guild_id` that identified (or
    /// resumed) is open now.
    pub fn is_connected(&self, guild_id: u64) -> bool {
        self.shared.lock().guilds.get(&guild_id).is_some_and(|guild| !guild.closers.is_empty())
    }

    /// Returns how many voice WebSockets for `guild_id` identified or resumed.
    pub fn sessions_opened(&self, guild_id: u64) -> u64 {
        self.shared.lock().guilds.get(&guild_id).map_or(0, |guild| guild.opened)
    }

    /// Returns how many of those have closed, by either side: after the bot
    /// leaves, this goes up by one.
    pub fn sessions_closed(&self, guild_id: u64) -> u64 {
        self.shared.lock().guilds.get(&guild_id).map_or(0, |guild| guild.closed)
    }

    /// Returns the latest session that identified for `guild_id`, open or not.
    pub fn session(&self, guild_id: u64) -> Option<VoiceSession> {
        self.shared.lock().guilds.get(&guild_id).and_then(|guild| guild.sessions.last().cloned())
    }

    /// Closes every open voice WebSocket of `guild_id` with close `code`, as
    /// Discord does when it drops a bot (4014: disconnected, 4015: server
    /// crashed, which songbird answers with a Resume). Returns how many
    /// connections were asked to close.
    ///
    /// # Errors
    ///
    /// Fails if `code` cannot be sent in a close frame (outside 1000–4999,
    /// or reserved: 1004–1006, 1015).
    pub fn close_sessions(&self, guild_id: u64, code: u16) -> anyhow::Result<usize> {
        let valid = tokio_websockets::CloseCode::try_from(code).is_ok_and(|code| !code.is_reserved());
        anyhow::ensure!(valid, "close code {code} cannot be sent");
        let state = self.shared.lock();
        let Some(guild) = state.guilds.get(&guild_id) else {
            return Ok(0);
        };
        Ok(guild.closers.values().filter(|closer| closer.send(Control::Close(code)).is_ok()).count())
    }

    /// Makes a DAVE event happen on every open connection of `guild_id`
    /// that negotiated DAVE (see [`DaveAction`]); returns how many
    /// connections were asked. The outcome shows in [`session`](Self::session)
    /// (`dave_epoch`, `dave_commits`, `dave_key_packages`, …) and in
    /// [`heard`](Self::heard).
    pub fn dave(&self, guild_id: u64, action: DaveAction) -> usize {
        let state = self.shared.lock();
        let Some(guild) = state.guilds.get(&guild_id) else {
            return 0;
        };
        guild.closers.values().filter(|control| control.send(Control::Dave(action)).is_ok()).count()
    }

    /// Ends every open voice WebSocket of `guild_id` with no close frame:
    /// the TLS stream and the TCP connection are dropped, as when a voice
    /// server dies or the network between drops the connection. Returns how
    /// many connections were dropped.
    pub fn drop_sessions(&self, guild_id: u64) -> usize {
        let state = self.shared.lock();
        let Some(guild) = state.guilds.get(&guild_id) else {
            return 0;
        };
        guild.closers.values().filter(|closer| closer.send(Control::Drop).is_ok()).count()
    }

    /// Turns the UDP side off (`false`) or back on (`true`, the start
    /// state), for every guild of this server. While off, every datagram is
    /// ignored as if lost: IP discovery goes unanswered, so a client that
    /// (re)connects cannot finish, and audio is neither decoded nor counted.
    /// The WebSocket side is not touched.
    pub fn set_udp_answering(&self, answering: bool) {
        self.udp_switch.set_answering(answering);
    }

    /// Returns how many datagrams arrived while UDP was off (from any
    /// client), so a test can see the bot tried.
    pub fn udp_ignored(&self) -> u64 {
        self.udp_switch.ignored()
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` passes;
    /// returns whether it held.
    ///
    /// Polling uses tokio's clock, so this needs a runtime. Audio arrives in
    /// real time: do not use it on a paused clock.
    pub async fn wait_until(&self, timeout: Duration, mut condition: impl FnMut(&Self) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if condition(self) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for FakeVoiceServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Accepts TCP connections; each is served on its own task, and all of them
/// stop when this task is aborted (dropping the `JoinSet` aborts them).
async fn accept_loop(listener: TcpListener, ctx: Arc<gateway::Context>) {
    static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let conn = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
                    connections.spawn(gateway::serve(ctx.clone(), tcp, peer, conn));
                }
                Err(error) => {
                    // Usually out of file descriptors: wait instead of spinning.
                    debug!(%error, "voice accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
