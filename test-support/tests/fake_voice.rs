//! The fake voice server against a real songbird `Driver`, and against a
//! hand-driven client for the protocol's edge cases.
//!
//! songbird trusts the fake's TLS certificate only through `SSL_CERT_FILE`,
//! which must be set before any other thread could read the environment.
//! Every test here therefore starts with [`test_env`], which generates one CA
//! for the whole process, writes it out and sets the variable exactly once,
//! before the test builds its own tokio runtime. That holds under
//! cargo-nextest (one process per test) and under `cargo test` (threads in
//! one process: the `OnceLock` blocks the others until it is done). Each test
//! also gives songbird its own mixer scheduler, because the default one is
//! process-wide and bound to the first runtime that used it.

use std::{net::SocketAddr, num::NonZeroU64, path::PathBuf, sync::OnceLock, time::Duration};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use songbird::{
    ConnectionInfo,
    driver::{Driver, Scheduler, SchedulerConfig},
    id,
};
use timmybot_test_support::{
    audio::write_tone_wav,
    fake_voice::{CryptoMode, DaveAction, FakeVoiceConfig, FakeVoiceServer, RtpCipher, SILENCE_FRAME, rtp_header},
    test_ca::TestCa,
};
use tokio::net::{TcpStream, UdpSocket};
use tokio_websockets::{ClientBuilder, Message, WebSocketStream};

struct TestEnv {
    ca: TestCa,
    dir: PathBuf,
}

fn test_env() -> &'static TestEnv {
    static ENV: OnceLock<TestEnv> = OnceLock::new();
    ENV.get_or_init(|| {
        let ca = TestCa::new().expect("generate test ca");
        // Under the target dir, per process: concurrent nextest processes each
        // get their own CA file, and nothing is left in the system temp dir.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fake_voice-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create test dir");
        let ca_file = dir.join("ca.pem");
        ca.write_ca_file(&ca_file).expect("write ca file");
        // SAFETY: every test in this binary calls `test_env` before it starts
        // a runtime or any thread, and the OnceLock runs this closure once
        // while other test threads wait on it, so no thread of ours reads or
        // writes the environment concurrently. songbird (through
        // tokio-websockets' rustls-native-roots) reads SSL_CERT_FILE on each
        // connect, later, from runtime threads.
        unsafe { std::env::set_var("SSL_CERT_FILE", &ca_file) };
        // Another workspace crate may enable rustls's aws-lc-rs provider too,
        // and then rustls has no implicit default: tokio-websockets'
        // `ClientConfig::builder()` would panic. Pick ring for the process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        TestEnv { ca, dir }
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("build runtime")
}

fn nonzero(id: u64) -> NonZeroU64 {
    NonZeroU64::new(id).expect("nonzero id")
}

/// Plays a 5 s, 440 Hz WAV through songbird and checks what the server heard,
/// then has the bot go away as `leave` says and checks the session closed.
fn songbird_plays_tone(config: FakeVoiceConfig, expected: CryptoMode, guild_id: u64, leave: Leave) {
    let env = test_env();
    runtime().block_on(async {
        let server = FakeVoiceServer::start_with(&env.ca, config.clone()).await.expect("start fake voice");
        let wav = env.dir.join(format!("tone-{guild_id}.wav"));
        write_tone_wav(&wav, 440.0, 5.0).expect("write wav");

        // songbird's default scheduler spawns its task on the first runtime
        // that uses it and dies with that runtime; under `cargo test` each
        // test has its own runtime, so each gets its own scheduler too.
        let scheduler = Scheduler::new(SchedulerConfig::default());
        let mut driver = Driver::new(songbird::Config::default().scheduler(scheduler));
        tokio::time::timeout(
            Duration::from_secs(15),
            driver.connect(ConnectionInfo {
                channel_id: id::ChannelId(nonzero(77)),
                endpoint: server.endpoint(),
                guild_id: id::GuildId(nonzero(guild_id)),
                session_id: "voice-session-1".into(),
                token: "voice-token-1.77".into(),
                user_id: id::UserId(nonzero(4242)),
            }),
        )
        .await
        .expect("connect timed out (TLS trust? see fake voice warnings)")
        .expect("songbird connect");
        assert!(server.is_connected(guild_id));

        let _track = driver.play_input(songbird::input::File::new(wav.clone()).into());

        // songbird sends five silence frames once the track ends.
        let finished = server.wait_until(Duration::from_secs(30), |s| s.heard(guild_id).silence_packets >= 5).await;
        let heard = server.heard(guild_id);
        println!("{expected}: {heard:?}");
        assert!(finished, "track did not finish: {heard:?}");
        assert!(heard.seconds_of_audio >= 4.0, "{heard:?}");
        assert!(heard.audio_packets >= 200, "{heard:?}");
        assert!((45.0..=55.0).contains(&heard.rate), "{heard:?}");
        let hz = heard.dominant_hz.expect("a tone");
        assert!((hz - 440.0).abs() <= 5.0, "{hz}");
        // The WAV's half-scale sine is -9.03 dBFS; Opus keeps the level.
        let level = heard.level_dbfs.expect("a level");
        assert!((level - (-9.03)).abs() <= 1.5, "{level} dBFS");
        assert_eq!(heard.undecryptable, 0, "{heard:?}");
        assert_eq!(heard.undecodable, 0, "{heard:?}");
        if config.dave {
            // After songbird's first commit, every audio frame is DAVE and
            // decrypts as the listener; only the first few may be plain.
            assert!(heard.dave_frames >= 200, "{heard:?}");
            assert_eq!(heard.plain_after_dave, 0, "{heard:?}");
            assert_eq!(heard.dave_undecryptable, 0, "{heard:?}");
            assert!(heard.plain_frames < 25, "plain for more than half a second: {heard:?}");
        } else {
            assert_eq!(heard.dave_frames, 0, "{heard:?}");
            assert_eq!(heard.plain_frames, heard.audio_packets, "{heard:?}");
        }

        let session = server.session(guild_id).expect("session");
        assert_eq!(session.mode, Some(expected));
        assert_eq!(session.user_id, 4242);
        assert_eq!(session.session_id, "voice-session-1");
        assert_eq!(session.token, "voice-token-1.77");
        assert_eq!(session.gateway_version.as_deref(), Some("4"));
        assert_eq!(session.max_dave_protocol_version, Some(1));
        assert!(session.heartbeats >= 1, "{session:?}");
        assert_eq!(session.dave_protocol_version, u16::from(config.dave));
        assert_eq!(session.dave_epoch, config.dave.then_some(1), "{session:?}");
        assert_eq!(session.dave_key_packages, u64::from(config.dave));
        assert_eq!(session.client_address.map(|a| a.ip().to_string()), Some("127.0.0.1".to_owned()));

        match leave {
            Leave::LeaveThenDiscordCloses => {
                // songbird 0.6.1's `leave` stops sending audio but keeps the
                // voice WebSocket open and heartbeating; Discord closes it
                // with 4014 once the bot's main-gateway op 4 (channel null)
                // lands. 4014 is final for songbird: it must not resume.
                driver.leave();
                assert_eq!(server.close_sessions(guild_id, 4014).expect("close"), 1);
            }
            Leave::ResumeThenDrop => {
                // 4015 (voice server crashed) makes songbird resume.
                assert_eq!(server.close_sessions(guild_id, 4015).expect("close"), 1);
                let resumed = server
                    .wait_until(Duration::from_secs(10), |s| {
                        s.is_connected(guild_id) && s.session(guild_id).is_some_and(|s| s.resumes == 1)
                    })
                    .await;
                assert!(resumed, "no resume: {:?}", server.session(guild_id));
                // Dropping the driver closes the socket.
                drop(driver);
            }
        }
        let closed = server.wait_until(Duration::from_secs(5), |s| !s.is_connected(guild_id)).await;
        assert!(closed, "websocket still open");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!server.is_connected(guild_id), "songbird came back");
        let (opened, closed) = match leave {
            Leave::LeaveThenDiscordCloses => (1, 1),
            Leave::ResumeThenDrop => (2, 2),
        };
        assert_eq!(server.sessions_opened(guild_id), opened);
        assert_eq!(server.sessions_closed(guild_id), closed);
        // The CA file stays (other tests may still dial); the 1 MB tone goes.
        let _ = std::fs::remove_file(&wav);
    });
}

/// DAVE's life cycle with songbird, on one call playing a long tone:
/// a first commit announced with a non-zero transition id (op29, op23,
/// op22), a listener joining and leaving mid-song (two new epochs, no gap
/// over 40 ms), a broken commit (op31, then a new key package and group), a
/// downgrade to protocol 0 (op21/op23/op22: frames go plain) and back
/// (op24: a new key package, DAVE again). Each step asserts the tone plays
/// on.
#[test]
fn songbird_follows_dave_transitions_epochs_and_a_broken_commit() {
    const GUILD: u64 = 1003;
    let env = test_env();
    runtime().block_on(async {
        let mut config = FakeVoiceConfig::default();
        config.dave_transition_id = 7;
        let server = FakeVoiceServer::start_with(&env.ca, config).await.expect("start fake voice");
        let wav = env.dir.join("tone-dave.wav");
        write_tone_wav(&wav, 440.0, 30.0).expect("write wav");
        let scheduler = Scheduler::new(SchedulerConfig::default());
        let mut driver = Driver::new(songbird::Config::default().scheduler(scheduler));
        tokio::time::timeout(
            Duration::from_secs(15),
            driver.connect(ConnectionInfo {
                channel_id: id::ChannelId(nonzero(78)),
                endpoint: server.endpoint(),
                guild_id: id::GuildId(nonzero(GUILD)),
                session_id: "voice-session-dave".into(),
                token: "voice-token-dave.78".into(),
                user_id: id::UserId(nonzero(4243)),
            }),
        )
        .await
        .expect("connect timed out")
        .expect("songbird connect");
        let _track = driver.play_input(songbird::input::File::new(wav.clone()).into());
        let wait = Duration::from_secs(10);
        let session = |server: &FakeVoiceServer| server.session(GUILD).expect("session");
        // A second of DAVE frames from here on, all decrypted, the tone.
        let dave_second = |what: &'static str| {
            let server = &server;
            async move {
                server.reset_heard(GUILD);
                let heard = server.wait_until(wait, |s| s.heard(GUILD).dave_frames >= 50).await;
                let heard_now = server.heard(GUILD);
                assert!(heard, "{what}: no DAVE audio: {heard_now:?}");
                assert_eq!(heard_now.plain_after_dave, 0, "{what}: {heard_now:?}");
                assert_eq!(heard_now.dave_undecryptable, 0, "{what}: {heard_now:?}");
                let hz = heard_now.dominant_hz.expect("a tone");
                assert!((hz - 440.0).abs() <= 5.0, "{what}: {hz}");
                heard_now
            }
        };

        // The first commit, announced as transition 7: op23 names it.
        dave_second("first commit").await;
        let first = session(&server);
        assert_eq!((first.dave_epoch, first.dave_commits), (Some(1), 1), "{first:?}");
        assert_eq!(first.dave_transitions_ready, vec![7], "{first:?}");

        // A listener joins and leaves: epochs 2 and 3, with no gap.
        server.reset_heard(GUILD);
        assert_eq!(server.dave(GUILD, DaveAction::GuestJoins), 1);
        assert!(server.wait_until(wait, |s| session(s).dave_epoch == Some(2)).await, "{:?}", session(&server));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(server.dave(GUILD, DaveAction::GuestLeaves), 1);
        assert!(server.wait_until(wait, |s| session(s).dave_epoch == Some(3)).await, "{:?}", session(&server));
        tokio::time::sleep(Duration::from_millis(500)).await;
        let across = server.heard(GUILD);
        assert!(across.dave_frames >= 45, "{across:?}");
        assert_eq!((across.plain_frames, across.dave_undecryptable), (0, 0), "{across:?}");
        assert!(across.gap_max < Duration::from_millis(40), "a gap across the epochs: {across:?}");
        assert_eq!(session(&server).dave_transitions_ready, vec![7, 8, 9]);

        // A broken commit: op31 for its transition, a new key package, a
        // new group, DAVE again.
        assert_eq!(server.dave(GUILD, DaveAction::BrokenCommit), 1);
        let recovered =
            server.wait_until(wait, |s| session(s).dave_key_packages == 2 && session(s).dave_commits == 4).await;
        let after = session(&server);
        assert!(recovered, "{after:?}");
        assert_eq!(after.dave_invalid_commits, vec![10], "{after:?}");
        assert_eq!(after.dave_epoch, Some(1), "a new group starts at epoch 1: {after:?}");
        dave_second("after the broken commit").await;

        // Down to protocol 0 (transition 12): op23, op22, plain frames.
        assert_eq!(server.dave(GUILD, DaveAction::Downgrade), 1);
        assert!(server.wait_until(wait, |s| session(s).dave_transitions_ready.contains(&12)).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
        server.reset_heard(GUILD);
        assert!(server.wait_until(wait, |s| s.heard(GUILD).plain_frames >= 50).await);
        let plain = server.heard(GUILD);
        assert_eq!(plain.dave_frames, 0, "{plain:?}");
        assert!((plain.dominant_hz.expect("a tone") - 440.0).abs() <= 5.0);

        // Back up with op24: a third key package and DAVE frames again.
        assert_eq!(server.dave(GUILD, DaveAction::PrepareEpoch), 1);
        assert!(server.wait_until(wait, |s| session(s).dave_key_packages == 3).await, "{:?}", session(&server));
        dave_second("after op24").await;
        drop(driver);
        let _ = std::fs::remove_file(&wav);
    });
}

/// How the bot goes away at the end of a tone test.
#[derive(Clone, Copy)]
enum Leave {
    /// `Driver::leave`, then the fake closes the socket with 4014.
    LeaveThenDiscordCloses,
    /// The fake closes with 4015, songbird resumes, then the driver is dropped.
    ResumeThenDrop,
}

#[test]
fn songbird_tone_is_heard_over_aes256_gcm() {
    songbird_plays_tone(FakeVoiceConfig::default(), CryptoMode::Aes256GcmRtpsize, 1001, Leave::LeaveThenDiscordCloses);
}

#[test]
fn songbird_tone_is_heard_over_xchacha20_poly1305() {
    // Also the path without DAVE (protocol version 0), as before March 2026.
    let mut config = FakeVoiceConfig::with_modes([CryptoMode::XChaCha20Poly1305Rtpsize]);
    config.dave = false;
    songbird_plays_tone(config, CryptoMode::XChaCha20Poly1305Rtpsize, 1002, Leave::ResumeThenDrop);
}

/// Voice gateway v8 (what @discordjs/voice speaks): every server message but
/// Hello and heartbeat acks carries a sequence number, binary ones as a u16
/// before the opcode; and the DAVE handshake answers a key package with the
/// external sender (op25), the listener's user id (op11) and its Add
/// proposal (op27).
#[test]
fn v8_clients_get_sequenced_messages_and_the_dave_handshake() {
    let env = test_env();
    runtime().block_on(async {
        let server = FakeVoiceServer::start(&env.ca).await.expect("start fake voice");
        let mut ws = dial_version(&server, 8).await;
        assert_eq!(recv(&mut ws).await.expect("hello")["op"], 8);
        send(
            &mut ws,
            json!({"op": 0, "d": {"server_id": "2001", "user_id": "4244", "session_id": "s",
            "token": "tok.55", "max_dave_protocol_version": 1}}),
        )
        .await;
        let ready = recv(&mut ws).await.expect("ready");
        assert_eq!((ready["op"].as_u64(), ready["seq"].as_u64()), (Some(2), Some(1)), "{ready}");
        send(&mut ws, json!({"op": 3, "d": {"t": 1, "seq_ack": 1}})).await;
        assert_eq!(recv(&mut ws).await, Ok(json!({"op": 6, "d": {"t": 1}})), "acks are not sequenced");
        send(
            &mut ws,
            json!({"op": 1, "d": {"protocol": "udp", "data": {
            "address": "127.0.0.1", "port": 9, "mode": "aead_aes256_gcm_rtpsize"}}}),
        )
        .await;
        let description = recv(&mut ws).await.expect("session description");
        assert_eq!((description["op"].as_u64(), description["seq"].as_u64()), (Some(4), Some(2)));
        assert_eq!(description["d"]["dave_protocol_version"], 1);

        let mut bot = davey::DaveSession::new(std::num::NonZeroU16::MIN, 4244, 55, None).expect("dave session");
        let mut key_package = vec![26u8];
        key_package.extend(bot.create_key_package().expect("key package"));
        ws.send(Message::binary(key_package)).await.expect("send op26");
        let external_sender = ws.next().await.expect("op25").expect("op25");
        let bytes = external_sender.as_payload().to_vec();
        assert_eq!((&bytes[..2], bytes[2]), (&3u16.to_be_bytes()[..], 25), "seq 3, op25");
        bot.set_external_sender(&bytes[3..]).expect("a valid external sender");
        let connect = recv(&mut ws).await.expect("op11");
        assert_eq!(connect["op"], 11);
        assert_eq!(connect["seq"], 4);
        let listener = connect["d"]["user_ids"][0].as_str().expect("an id").parse::<u64>().unwrap();
        let proposals = ws.next().await.expect("op27").expect("op27").as_payload().to_vec();
        assert_eq!((&proposals[..2], proposals[2], proposals[3]), (&5u16.to_be_bytes()[..], 27, 0));
        let commit = bot
            .process_proposals(davey::ProposalsOperationType::APPEND, &proposals[4..], Some(&[4244, listener]))
            .expect("the bot accepts the proposal")
            .expect("and commits");
        assert!(commit.welcome.is_some(), "the listener is added");
        let session = server.session(2001).expect("session");
        assert_eq!((session.dave_key_packages, session.dave_protocol_version), (1, 1));
    });
}

type Ws = WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// Opens a voice WebSocket with our own TLS, trusting the test CA directly.
async fn dial(server: &FakeVoiceServer) -> Ws {
    dial_version(server, 4).await
}

/// Opens a voice WebSocket asking for gateway `version`.
async fn dial_version(server: &FakeVoiceServer, version: u8) -> Ws {
    let tcp = TcpStream::connect(server.endpoint()).await.expect("tcp");
    let connector = tokio_rustls::TlsConnector::from(test_env().ca.client_config());
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let tls = connector.connect(name, tcp).await.expect("tls");
    let uri = format!("wss://{}/?v={version}", server.endpoint());
    let (ws, _) = ClientBuilder::new().uri(&uri).expect("uri").connect_on(tls).await.expect("websocket upgrade");
    ws
}

async fn send(ws: &mut Ws, value: Value) {
    ws.send(Message::text(value.to_string())).await.expect("send");
}

/// Returns the next JSON message, or the close code if the server closed.
async fn recv(ws: &mut Ws) -> Result<Value, Option<u16>> {
    let message = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("reply timed out");
    match message {
        Some(Ok(message)) if message.is_text() => {
            Ok(serde_json::from_str(message.as_text().expect("text")).expect("json"))
        }
        Some(Ok(message)) => Err(message.as_close().map(|(code, _)| code.into())),
        _ => Err(None),
    }
}

fn identify(guild_id: u64, session_id: &str) -> Value {
    json!({"op": 0, "d": {
        "server_id": guild_id.to_string(), "user_id": "9", "session_id": session_id,
        "token": "tok", "max_dave_protocol_version": 1,
    }})
}

/// Encodes 20 ms of a 440 Hz tone, as songbird would for one packet.
fn opus_frame(encoder: &mut opus2::Encoder, frame: usize) -> Vec<u8> {
    let pcm: Vec<f32> = (0..960)
        .flat_map(|i| {
            let t = (frame * 960 + i) as f32 / 48_000.0;
            let s = 0.4 * (std::f32::consts::TAU * 440.0 * t).sin();
            [s, s]
        })
        .collect();
    encoder.encode_vec_float(&pcm, 1275).expect("encode")
}

#[test]
fn hand_driven_client_covers_protocol_edges() {
    let env = test_env();
    runtime().block_on(async {
        let server = FakeVoiceServer::start_with(&env.ca, FakeVoiceConfig::with_modes([CryptoMode::Aes256GcmRtpsize]))
            .await
            .expect("start");
        let guild_id = 5;

        // An op before Identify is refused with 4003, after garbage is ignored.
        let mut ws = dial(&server).await;
        let hello = recv(&mut ws).await.expect("hello");
        assert_eq!(hello["op"], 8);
        assert_eq!(hello["d"]["heartbeat_interval"], 2000.0);
        ws.send(Message::text("{not json")).await.expect("send");
        ws.send(Message::binary(vec![0u8, 1, 2])).await.expect("send");
        send(&mut ws, json!({"op": 3, "d": 1_501_184_119_561u64})).await;
        assert_eq!(recv(&mut ws).await, Ok(json!({"op": 6, "d": 1_501_184_119_561u64})));
        send(&mut ws, json!({"op": 1, "d": {}})).await;
        assert_eq!(recv(&mut ws).await, Err(Some(4003)));
        drop(ws);

        // A full handshake with numeric and string IDs mixed.
        let mut ws = dial(&server).await;
        recv(&mut ws).await.expect("hello");
        send(&mut ws, identify(guild_id, "s1")).await;
        let ready = recv(&mut ws).await.expect("ready");
        assert_eq!(ready["op"], 2);
        assert_eq!(ready["d"]["ip"], "127.0.0.1");
        assert_eq!(ready["d"]["port"], server.udp_addr().port());
        assert_eq!(ready["d"]["modes"], json!(["aead_aes256_gcm_rtpsize"]));
        let ssrc = u32::try_from(ready["d"]["ssrc"].as_u64().expect("ssrc")).expect("u32");
        assert!(server.is_connected(guild_id));
        send(&mut ws, identify(guild_id, "s1")).await;
        // A second Identify on the same socket is 4005; start over.
        assert_eq!(recv(&mut ws).await, Err(Some(4005)));
        drop(ws);
        assert!(server.wait_until(Duration::from_secs(5), |s| !s.is_connected(guild_id)).await);

        let mut ws = dial(&server).await;
        recv(&mut ws).await.expect("hello");
        send(&mut ws, identify(guild_id, "s2")).await;
        let ready = recv(&mut ws).await.expect("ready");
        let ssrc_2 = u32::try_from(ready["d"]["ssrc"].as_u64().expect("ssrc")).expect("u32");
        assert_ne!(ssrc, ssrc_2);
        let ssrc = ssrc_2;

        // UDP: garbage is dropped, discovery is answered with what was seen.
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
        udp.connect(server.udp_addr()).await.expect("udp connect");
        for junk in [&[][..], &[0x80], &[0u8; 11], &[0xFF; 74], &[0x80; 300]] {
            udp.send(junk).await.expect("send junk");
        }
        let mut request = [0u8; 74];
        request[1] = 1;
        request[3] = 70;
        request[4..8].copy_from_slice(&0xBAD_u32.to_be_bytes());
        udp.send(&request).await.expect("send discovery");
        request[4..8].copy_from_slice(&ssrc.to_be_bytes());
        udp.send(&request).await.expect("send discovery");
        let mut reply = [0u8; 100];
        let len = tokio::time::timeout(Duration::from_secs(5), udp.recv(&mut reply))
            .await
            .expect("discovery reply timed out")
            .expect("recv");
        assert_eq!(len, 74);
        assert_eq!(&reply[..4], &[0, 2, 0, 70]);
        assert_eq!(u32::from_be_bytes(reply[4..8].try_into().unwrap()), ssrc);
        let local: SocketAddr = udp.local_addr().expect("local");
        let nul = reply[8..72].iter().position(|&b| b == 0).expect("nul");
        assert_eq!(std::str::from_utf8(&reply[8..8 + nul]).unwrap(), "127.0.0.1");
        assert_eq!(u16::from_be_bytes([reply[72], reply[73]]), local.port());

        // A mode that was not offered is 4016, on its own connection.
        let mut other = dial(&server).await;
        recv(&mut other).await.expect("hello");
        send(&mut other, identify(99, "x")).await;
        recv(&mut other).await.expect("ready");
        send(
            &mut other,
            json!({"op": 1, "d": {"protocol": "udp", "data": {
                "address": "127.0.0.1", "port": 1, "mode": "aead_xchacha20_poly1305_rtpsize"}}}),
        )
        .await;
        assert_eq!(recv(&mut other).await, Err(Some(4016)));
        drop(other);

        send(
            &mut ws,
            json!({"op": 1, "d": {"protocol": "udp", "data": {
                "address": "127.0.0.1", "port": local.port(), "mode": "aead_aes256_gcm_rtpsize"}}}),
        )
        .await;
        let description = recv(&mut ws).await.expect("session description");
        assert_eq!(description["op"], 4);
        assert_eq!(description["d"]["mode"], "aead_aes256_gcm_rtpsize");
        assert_eq!(description["d"]["dave_protocol_version"], 0);
        let key: Vec<u8> = serde_json::from_value(description["d"]["secret_key"].clone()).expect("key bytes");
        let key: [u8; 32] = key.try_into().expect("32-byte key");

        // v8-style heartbeat gets a v8-style ack; speaking is recorded.
        send(&mut ws, json!({"op": 3, "d": {"t": 7, "seq_ack": 3}})).await;
        assert_eq!(recv(&mut ws).await, Ok(json!({"op": 6, "d": {"t": 7}})));
        send(&mut ws, json!({"op": 5, "d": {"speaking": 1, "delay": 0, "ssrc": ssrc}})).await;

        // 1 s of tone, a silence frame, a packet under the wrong key, a keepalive.
        let cipher = RtpCipher::new(CryptoMode::Aes256GcmRtpsize, &key);
        let mut encoder =
            opus2::Encoder::new(48_000, opus2::Channels::Stereo, opus2::Application::Audio).expect("encoder");
        for frame in 0..50u16 {
            let header = rtp_header(frame, u32::from(frame) * 960, ssrc);
            let opus = opus_frame(&mut encoder, usize::from(frame));
            let packet = cipher.encrypt(&header, &opus, 1000 + u32::from(frame)).expect("seal");
            udp.send(&packet).await.expect("send rtp");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let silence = cipher.encrypt(&rtp_header(50, 48_000, ssrc), &SILENCE_FRAME, 2000).expect("seal");
        udp.send(&silence).await.expect("send silence");
        let wrong = RtpCipher::new(CryptoMode::Aes256GcmRtpsize, &[0; 32])
            .encrypt(&rtp_header(51, 0, ssrc), &SILENCE_FRAME, 1)
            .expect("seal");
        udp.send(&wrong).await.expect("send wrong key");
        udp.send(&ssrc.to_be_bytes()).await.expect("keepalive");

        let arrived = server
            .wait_until(Duration::from_secs(5), |s| {
                let heard = s.heard(guild_id);
                heard.packets == 51 && heard.undecryptable == 1 && heard.keepalives == 1
            })
            .await;
        let heard = server.heard(guild_id);
        assert!(arrived, "{heard:?}");
        assert_eq!(heard.audio_packets, 50);
        assert_eq!(heard.silence_packets, 1);
        assert_eq!(heard.undecodable, 0);
        assert!((heard.seconds_of_audio - 1.0).abs() < 1e-9, "{heard:?}");
        let hz = heard.dominant_hz.expect("tone");
        assert!((hz - 440.0).abs() < 2.0, "{hz}");
        assert_eq!(server.audio(guild_id).len(), 48_000);
        let session = server.session(guild_id).expect("session");
        assert!(session.speaking);
        assert_eq!(session.heartbeats, 1);
        assert_eq!(session.client_address, Some(local));

        // Discord dropping the bot: the client sees the close code.
        assert_eq!(server.close_sessions(guild_id, 4014).expect("close"), 1);
        assert_eq!(recv(&mut ws).await, Err(Some(4014)));
        drop(ws);
        assert!(server.wait_until(Duration::from_secs(5), |s| !s.is_connected(guild_id)).await);
        assert!(server.close_sessions(guild_id, 1005).is_err());

        // Resume: the right session comes back, a wrong one gets 4006.
        let mut ws = dial(&server).await;
        recv(&mut ws).await.expect("hello");
        send(&mut ws, json!({"op": 7, "d": {"server_id": guild_id.to_string(), "session_id": "s2", "token": "tok"}}))
            .await;
        assert_eq!(recv(&mut ws).await, Ok(json!({"op": 9, "d": null})));
        assert!(server.is_connected(guild_id));
        let mut stale = dial(&server).await;
        recv(&mut stale).await.expect("hello");
        send(&mut stale, json!({"op": 7, "d": {"server_id": guild_id, "session_id": "s1", "token": "tok"}})).await;
        assert_eq!(recv(&mut stale).await, Err(Some(4006)));
        drop(stale);
        assert_eq!(server.session(guild_id).expect("session").resumes, 1);

        drop(ws);
        assert!(server.wait_until(Duration::from_secs(5), |s| !s.is_connected(guild_id)).await);
        // Identify s1 (closed by 4005), s2, its resume: three opened, all closed.
        assert_eq!(server.sessions_opened(guild_id), 3);
        assert_eq!(server.sessions_closed(guild_id), 3);

        server.reset_heard(guild_id);
        assert_eq!(server.heard(guild_id).packets, 0);
    });
}

/// A discovery request for `ssrc`, as songbird lays it out.
fn discovery_request(ssrc: u32) -> [u8; 74] {
    let mut request = [0u8; 74];
    request[1] = 1;
    request[3] = 70;
    request[4..8].copy_from_slice(&ssrc.to_be_bytes());
    request
}

#[test]
fn a_dropped_websocket_ends_without_a_close_frame_and_udp_can_go_silent() {
    let env = test_env();
    runtime().block_on(async {
        let server = FakeVoiceServer::start(&env.ca).await.expect("start");
        let guild_id = 6;
        assert_eq!(server.drop_sessions(guild_id), 0, "nothing to drop yet");

        let mut ws = dial(&server).await;
        recv(&mut ws).await.expect("hello");
        send(&mut ws, identify(guild_id, "s1")).await;
        let ready = recv(&mut ws).await.expect("ready");
        let ssrc = u32::try_from(ready["d"]["ssrc"].as_u64().expect("ssrc")).expect("u32");

        // UDP off: discovery goes unanswered and is counted; back on, answered.
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
        udp.connect(server.udp_addr()).await.expect("udp connect");
        server.set_udp_answering(false);
        udp.send(&discovery_request(ssrc)).await.expect("send discovery");
        udp.send(&ssrc.to_be_bytes()).await.expect("keepalive");
        let mut reply = [0u8; 100];
        let silent = tokio::time::timeout(Duration::from_millis(500), udp.recv(&mut reply)).await;
        assert!(silent.is_err(), "discovery answered while udp is off");
        assert!(server.wait_until(Duration::from_secs(5), |s| s.udp_ignored() == 2).await);
        assert_eq!(server.heard(guild_id).keepalives, 0, "nothing recorded while off");
        server.set_udp_answering(true);
        udp.send(&discovery_request(ssrc)).await.expect("send discovery");
        let len = tokio::time::timeout(Duration::from_secs(5), udp.recv(&mut reply))
            .await
            .expect("discovery answered once udp is back")
            .expect("recv");
        assert_eq!((len, &reply[..4]), (74, &[0u8, 2, 0, 70][..]));
        assert_eq!(server.udp_ignored(), 2);

        // Dropped: the stream just ends, no close frame, and the session is closed.
        assert_eq!(server.drop_sessions(guild_id), 1);
        let ended = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("the stream ends");
        assert!(
            !matches!(&ended, Some(Ok(message)) if message.is_close()),
            "a close frame came: {:?}",
            ended.map(|m| m.map(|m| m.as_close().map(|(code, _)| u16::from(code))))
        );
        assert!(server.wait_until(Duration::from_secs(5), |s| !s.is_connected(guild_id)).await);
        assert_eq!((server.sessions_opened(guild_id), server.sessions_closed(guild_id)), (1, 1));

        // The session can still be resumed, as after a real network drop.
        let mut ws = dial(&server).await;
        recv(&mut ws).await.expect("hello");
        send(&mut ws, json!({"op": 7, "d": {"server_id": guild_id.to_string(), "session_id": "s1", "token": "tok"}}))
            .await;
        assert_eq!(recv(&mut ws).await, Ok(json!({"op": 9, "d": null})));
    });
}
