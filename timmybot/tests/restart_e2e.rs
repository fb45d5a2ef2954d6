//! A player survives its process: `timmybot serve` is killed with SIGKILL
//! mid-track, started again on the same store, and the bot rejoins the
//! channel and resumes within 2 s of where it was — not where it would be
//! had it kept playing through the downtime. On SQLite and on DynamoDB.
//!
//! The platform runs as a child process against the fake Discord and the
//! fake voice server of this test process; commands arrive over the gateway
//! (INTERACTION_CREATE), as for a self-hoster without a public endpoint.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use timmybot_test_support::audio::{SAMPLE_RATE, dominant_frequency, write_steps_wav};
use timmybot_test_support::emulators::{Emulators, unique_name};
use timmybot_test_support::fake_discord::{FakeDiscord, FakeDiscordConfig, FakeGuild};
use timmybot_test_support::fake_voice::FakeVoiceServer;
use timmybot_test_support::signer::InteractionSigner;
use timmybot_test_support::test_ca::TestCa;

const BIN: &str = env!("CARGO_BIN_EXE_timmybot");
const GUILD: u64 = 710_000_000_000_000_001;
const VOICE: u64 = 710_000_000_000_000_002;
const TEXT: u64 = 710_000_000_000_000_003;
const MEMBER: u64 = 710_000_000_000_000_004;
/// The steps track: second `n` plays `300 + 100 n` Hz.
const STEPS: usize = 20;
/// How long the platform stays dead: longer than the 2 s the resume may be
/// off by, so a resume that counted the downtime as played would show.
const DOWNTIME: Duration = Duration::from_secs(3);

fn step_hz(n: usize) -> f64 {
    300.0 + 100.0 * n as f64
}

/// Which second of the steps track `samples` (0.25 s or so) are.
fn step_of(samples: &[f32]) -> Option<usize> {
    let hz = dominant_frequency(samples, SAMPLE_RATE);
    (0..STEPS).find(|n| (step_hz(*n) - hz).abs() <= 30.0)
}

fn runtime() -> tokio::runtime::Runtime {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")
}

/// The store the platform runs on, as environment variables.
type StoreEnv = Vec<(String, String)>;

struct World {
    dir: tempfile::TempDir,
    ca_file: PathBuf,
    signer: InteractionSigner,
    voice: FakeVoiceServer,
    discord: FakeDiscord,
}

impl World {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("media")).unwrap();
        let steps: Vec<(f64, f64)> = (0..STEPS).map(|n| (step_hz(n), 1.0)).collect();
        write_steps_wav(dir.path().join("media/steps.wav"), &steps).unwrap();
        let ca = TestCa::new().unwrap();
        let ca_file = dir.path().join("ca.pem");
        ca.write_ca_file(&ca_file).unwrap();
        let voice = FakeVoiceServer::start(&ca).await.unwrap();
        let discord = FakeDiscord::start(FakeDiscordConfig {
            guilds: vec![FakeGuild {
                id: GUILD,
                name: "Restart".into(),
                member_count: 2,
                voice_channels: vec![VOICE],
                text_channels: vec![TEXT],
                voice_states: vec![(MEMBER, VOICE)],
            }],
            voice_endpoint: voice.endpoint(),
            ..FakeDiscordConfig::default()
        })
        .await
        .unwrap();
        Self { dir, ca_file, signer: InteractionSigner::from_seed([6; 32]), voice, discord }
    }

    fn serve(&self, store: &StoreEnv) -> Child {
        let data: &Path = &self.dir.path().join("data");
        let mut command = Command::new(BIN);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(self.dir.path())
            .arg("serve")
            .env("DISCORD_TOKEN", "restart-token")
            .env("DISCORD_APPLICATION_ID", self.discord.config().application_id.to_string())
            .env("DISCORD_PUBLIC_KEY", self.signer.public_key_hex())
            .env("TIMMYBOT_LISTEN", "127.0.0.1:0")
            .env("TIMMYBOT_DATA_DIR", data)
            .env("TIMMYBOT_MEDIA_DIR", self.dir.path().join("media"))
            .env("TIMMYBOT_ALLOWLIST_MODE", "open")
            .env("TIMMYBOT_DISCORD_REST_PROXY", self.discord.rest_addr())
            .env("TIMMYBOT_DISCORD_GATEWAY_URL", self.discord.gateway_url())
            .env("SSL_CERT_FILE", &self.ca_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in store {
            command.env(key, value);
        }
        command.spawn().expect("serve starts")
    }

    /// Sends `/play query` over the gateway and waits for its reply.
    async fn play(&self, query: &str) -> String {
        let interaction = self.discord.slash_command(
            GUILD,
            TEXT,
            MEMBER,
            "play",
            serde_json::json!([{"name": "query", "type": 3, "value": query}]),
        );
        let token = interaction["token"].as_str().unwrap().to_owned();
        self.discord.send_interaction(GUILD, interaction).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(reply) = self.discord.original_message(&token).filter(|r| !r.is_empty()) {
                return reply;
            }
            assert!(tokio::time::Instant::now() < deadline, "no reply to /play");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn kill(child: &mut Child, signal: &str) {
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let _ = child.wait();
}

/// Plays the steps track, kills the platform mid-track, waits, starts it
/// again and checks where the music resumed.
async fn killed_mid_track_resumes_where_it_was(store: StoreEnv) {
    let world = World::start().await;
    let mut first = world.serve(&store);
    world.discord.wait_for_shard(0, Duration::from_secs(30)).await.unwrap();
    let reply = world.play("steps.wav").await;
    assert!(reply.starts_with("Now playing **steps**"), "{reply}");
    let heard_enough =
        world.voice.wait_until(Duration::from_secs(30), |v| v.heard(GUILD).seconds_of_audio >= 5.5).await;
    assert!(heard_enough, "heard {:?}", world.voice.heard(GUILD));
    let audio = world.voice.audio(GUILD);
    let last = &audio[audio.len().saturating_sub(SAMPLE_RATE as usize / 4)..];
    let killed_at = step_of(last).expect("the steps track was playing");
    assert!((4..=7).contains(&killed_at), "killed at second {killed_at}");

    kill(&mut first, "-KILL");
    tokio::time::sleep(DOWNTIME).await;
    world.voice.reset_heard(GUILD);

    let mut second = world.serve(&store);
    // Nobody asks: the new process rejoins and resumes by itself.
    let resumed = world.voice.wait_until(Duration::from_secs(30), |v| v.heard(GUILD).seconds_of_audio >= 0.6).await;
    assert!(resumed, "no audio after the restart: {:?}", world.voice.heard(GUILD));
    let audio = world.voice.audio(GUILD);
    let quarter = SAMPLE_RATE as usize / 4;
    let resumed_at = step_of(&audio[..quarter]).expect("the steps track again");
    eprintln!("killed at second {killed_at}, resumed at second {resumed_at}, down for {DOWNTIME:?}");
    assert!(
        resumed_at + 2 >= killed_at && resumed_at <= killed_at + 1,
        "killed at second {killed_at}, resumed at second {resumed_at} (the downtime was {DOWNTIME:?})"
    );
    assert_eq!(world.discord.bot_voice_channel(GUILD), Some(VOICE), "back in the channel");
    kill(&mut second, "-TERM");
}

#[test]
fn sigterm_leaves_voice_stores_the_exact_position_and_the_next_start_resumes_there() {
    runtime().block_on(async {
        let world = World::start().await;
        let mut first = world.serve(&Vec::new());
        world.discord.wait_for_shard(0, Duration::from_secs(30)).await.unwrap();
        world.play("steps.wav").await;
        assert!(world.voice.wait_until(Duration::from_secs(30), |v| v.heard(GUILD).seconds_of_audio >= 4.0).await);

        let started = std::time::Instant::now();
        Command::new("kill").args(["-TERM", &first.id().to_string()]).status().unwrap();
        let status = loop {
            if let Some(status) = first.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "serve did not exit after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(status.code(), Some(0), "exit status {status:?}");
        assert!(!world.voice.is_connected(GUILD), "voice session still open");
        assert_eq!(world.discord.bot_voice_channel(GUILD), None, "bot still in the channel");

        // The player outlives the process: the track kept at the exact
        // position it reached, with the channel to rejoin.
        let store = timmybot_embedded::SqliteStore::open(world.dir.path().join("data/timmybot.db")).unwrap();
        let player = timmybot_core::PlayerStore::load(&store, timmybot_core::GuildId::new(GUILD).unwrap())
            .await
            .unwrap()
            .expect("player persisted");
        assert_eq!(player.voice_channel, timmybot_core::ChannelId::new(VOICE), "the next start rejoins");
        let current = player.current.expect("the track is kept");
        assert_eq!(current.track.source, "steps.wav");
        assert!(!current.clock.is_running(), "stopped at an exact position");
        let stopped_at = (current.clock.offset_ms / 1000) as usize;
        assert!((4..=7).contains(&stopped_at), "position {} ms", current.clock.offset_ms);
        drop(store);

        world.voice.reset_heard(GUILD);
        let mut second = world.serve(&Vec::new());
        assert!(world.voice.wait_until(Duration::from_secs(30), |v| v.heard(GUILD).seconds_of_audio >= 0.6).await);
        let audio = world.voice.audio(GUILD);
        let resumed_at = step_of(&audio[..SAMPLE_RATE as usize / 4]).expect("the steps track again");
        assert_eq!(resumed_at, stopped_at, "resumed at the stored position");
        kill(&mut second, "-TERM");
    });
}

#[test]
fn sigkill_then_restart_resumes_the_track_on_sqlite() {
    runtime().block_on(killed_mid_track_resumes_where_it_was(Vec::new()));
}

#[test]
fn sigkill_then_restart_resumes_the_track_on_dynamodb() {
    let emulators = Emulators::from_env();
    runtime().block_on(async {
        let sdk = emulators.sdk_config();
        let prefix = unique_name("restart");
        let tables = timmybot_aws::DynamoTables::with_prefix(&format!("{prefix}-"));
        timmybot_aws::create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &tables).await.expect("tables");
        let store = vec![
            ("TIMMYBOT_STORE".to_owned(), "dynamodb".to_owned()),
            ("TIMMYBOT_TABLE_GUILDS".to_owned(), tables.guilds.clone()),
            ("TIMMYBOT_TABLE_GUILD_QUEUES".to_owned(), tables.guild_queues.clone()),
            ("TIMMYBOT_TABLE_TRACK_CACHE".to_owned(), tables.track_cache.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), emulators.dynamodb_endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".to_owned(), "AKIDTIMMYBOTTEST".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "timmybot-test-secret".to_owned()),
            ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ];
        killed_mid_track_resumes_where_it_was(store).await;
    });
}
