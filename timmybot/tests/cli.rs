//! The `timmybot` binary as a user runs it: the sandbox's `heard` line,
//! `register-commands`, config errors, and `serve` stopping on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use timmybot_core::{ChannelId, GuildId, PlayerStore};
use timmybot_test_support::fake_discord::{FakeDiscord, FakeDiscordConfig, FakeGuild};
use timmybot_test_support::fake_voice::FakeVoiceServer;
use timmybot_test_support::signer::InteractionSigner;
use timmybot_test_support::test_ca::TestCa;

const BIN: &str = env!("CARGO_BIN_EXE_timmybot");
const GUILD: u64 = 700_000_000_000_000_001;
const VOICE: u64 = 700_000_000_000_000_002;
const TEXT: u64 = 700_000_000_000_000_003;
const MEMBER: u64 = 700_000_000_000_000_004;

fn runtime() -> tokio::runtime::Runtime {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")
}

/// A `timmybot` command with an empty environment but for PATH, so nothing
/// from the developer's shell leaks in.
fn timmybot(dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(dir);
    command
}

#[test]
fn sandbox_prints_a_heard_line_for_the_tone_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let tone = timmybot(dir.path()).args(["tone", "--hz", "440", "--secs", "5", "./tone.wav"]).output().unwrap();
    assert!(tone.status.success(), "{}", String::from_utf8_lossy(&tone.stderr));

    let out = timmybot(dir.path()).args(["sandbox", "--listen", "5", "/play ./tone.wav"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("reply to /play ./tone.wav: Now playing **tone** (0:05)"), "{stdout}");

    let heard = stdout.lines().find(|l| l.starts_with("heard ")).unwrap_or_else(|| panic!("no heard line:\n{stdout}"));
    let field = |name: &str| -> f64 {
        let prefix = format!("{name}=");
        heard.split_whitespace().find_map(|w| w.strip_prefix(&prefix)).unwrap().parse().unwrap()
    };
    assert!(heard.starts_with(&format!("heard guild={} ", timmybot::sandbox::GUILD_ID)), "{heard}");
    assert!(field("packets") >= 240.0, "{heard}");
    assert!((45.0..=55.0).contains(&field("rate")), "{heard}");
    assert!((field("dominant_hz") - 440.0).abs() <= 5.0, "{heard}");
    // A half-scale sine: -9 dBFS; the level is the line's last field.
    assert!(heard.split_whitespace().last().unwrap().starts_with("level_dbfs="), "{heard}");
    assert!((field("level_dbfs") + 9.0).abs() <= 1.5, "{heard}");
}

#[test]
fn serve_names_a_missing_config_value_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = timmybot(dir.path()).arg("serve").output().unwrap();
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "timmybot: config: DISCORD_TOKEN is missing\n");

    let out = timmybot(dir.path())
        .arg("serve")
        .env("DISCORD_TOKEN", "tok-do-not-print")
        .env("DISCORD_APPLICATION_ID", "12")
        .env("DISCORD_PUBLIC_KEY", "nothex")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr, "timmybot: config: DISCORD_PUBLIC_KEY is not 64 hex characters\n");
    assert!(!stderr.contains("tok-do-not-print"));
}

#[test]
fn register_commands_overwrites_global_and_guild_commands() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let guild = FakeGuild { id: 123_456_789_012_345_678, name: "Reg".into(), ..FakeGuild::default() };
        let fake = FakeDiscord::start(FakeDiscordConfig { guilds: vec![guild], ..FakeDiscordConfig::default() })
            .await
            .unwrap();
        let run = |args: &[&str]| {
            timmybot(dir.path())
                .arg("register-commands")
                .args(args)
                .env("DISCORD_TOKEN", "register-token")
                .env("DISCORD_APPLICATION_ID", fake.config().application_id.to_string())
                .env("TIMMYBOT_DISCORD_REST_PROXY", fake.rest_addr())
                .output()
                .unwrap()
        };
        let global = tokio::task::block_in_place(|| run(&[]));
        assert!(global.status.success(), "{}", String::from_utf8_lossy(&global.stderr));
        let every: Vec<&str> = timmybot_interactions::commands::COMMANDS.iter().map(|c| c.name).collect();
        assert_eq!(
            String::from_utf8_lossy(&global.stdout),
            format!("registered {} globally: {}\n", every.len(), every.join(", "))
        );
        let names = |commands: Vec<serde_json::Value>| -> Vec<String> {
            commands.iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(names(fake.registered_commands(None)), every);
        let play = &fake.registered_commands(None)[0];
        assert_eq!(play["options"][0]["name"], "query");
        assert_eq!(play["options"][0]["max_length"], 512);

        let guild = tokio::task::block_in_place(|| run(&["--guild", "123456789012345678"]));
        assert!(guild.status.success(), "{}", String::from_utf8_lossy(&guild.stderr));
        assert_eq!(names(fake.registered_commands(Some(123_456_789_012_345_678))), every);

        let bad = tokio::task::block_in_place(|| run(&["--guild", "../1"]));
        assert!(!bad.status.success());
        assert_eq!(String::from_utf8_lossy(&bad.stderr), "timmybot: --guild is not a Discord id\n");

        // A guild the bot is not in: Discord's 403 is reported, nothing changes.
        let stranger = tokio::task::block_in_place(|| run(&["--guild", "999999999999999999"]));
        assert!(!stranger.status.success());
        assert_eq!(String::from_utf8_lossy(&stranger.stderr), "timmybot: Discord refused the commands: HTTP 403\n");
        assert!(fake.registered_commands(Some(999_999_999_999_999_999)).is_empty());
    });
}

#[test]
fn serve_on_sigterm_leaves_voice_keeps_the_player_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&media).unwrap();
    timmybot_test_support::audio::write_tone_wav(media.join("long.wav"), 440.0, 30.0).unwrap();
    let ca = TestCa::new().unwrap();
    let ca_file = dir.path().join("ca.pem");
    ca.write_ca_file(&ca_file).unwrap();
    let signer = InteractionSigner::from_seed([5; 32]);

    runtime().block_on(async {
        let voice = FakeVoiceServer::start(&ca).await.unwrap();
        let discord = FakeDiscord::start(FakeDiscordConfig {
            guilds: vec![FakeGuild {
                id: GUILD,
                name: "Term".into(),
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

        let mut child = timmybot(dir.path())
            .arg("serve")
            .env("DISCORD_TOKEN", "serve-token")
            .env("DISCORD_APPLICATION_ID", discord.config().application_id.to_string())
            .env("DISCORD_PUBLIC_KEY", signer.public_key_hex())
            .env("TIMMYBOT_LISTEN", "127.0.0.1:0")
            .env("TIMMYBOT_DATA_DIR", &data)
            .env("TIMMYBOT_MEDIA_DIR", &media)
            .env("TIMMYBOT_ALLOWLIST_MODE", "open")
            .env("TIMMYBOT_DISCORD_REST_PROXY", discord.rest_addr())
            .env("TIMMYBOT_DISCORD_GATEWAY_URL", discord.gateway_url())
            .env("SSL_CERT_FILE", &ca_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let first_line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await
        .unwrap()
        .unwrap();
        let addr = first_line
            .strip_prefix("timmybot serving on http://")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"))
            .to_owned();
        discord.wait_for_shard(0, Duration::from_secs(20)).await.unwrap();

        let interaction = discord.slash_command(
            GUILD,
            TEXT,
            MEMBER,
            "play",
            serde_json::json!([{"name": "query", "type": 3, "value": "long.wav"}]),
        );
        let token = interaction["token"].as_str().unwrap().to_owned();
        let body = serde_json::to_vec(&interaction).unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let mut request = reqwest::Client::new().post(format!("http://{addr}/interactions")).body(body.clone());
        for (k, v) in signer.signed_headers(&body, now) {
            request = request.header(k, v);
        }
        let response: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
        assert_eq!(response["type"], 5);
        discord.accept_interaction_response(&token, response);
        assert!(voice.wait_until(Duration::from_secs(20), |v| v.heard(GUILD).seconds_of_audio >= 1.0).await);

        let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(kill.success());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "serve did not exit after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(status.code(), Some(0), "exit status {status:?}");
        assert!(!voice.is_connected(GUILD), "voice session still open");
        assert_eq!(discord.bot_voice_channel(GUILD), None, "bot still in the channel");

        // The player outlives the process: the track that was playing is
        // kept at the position it reached, with the channel to rejoin.
        let store = timmybot_embedded::SqliteStore::open(data.join("timmybot.db")).unwrap();
        let player = store.load(GuildId::new(GUILD).unwrap()).await.unwrap().expect("player persisted");
        assert_eq!(player.voice_channel, ChannelId::new(VOICE), "the next start rejoins");
        let current = player.current.expect("the track is kept");
        assert_eq!(current.track.source, "long.wav");
        assert!(!current.clock.is_running(), "stopped at an exact position");
        assert!((1_000..10_000).contains(&current.clock.offset_ms), "position {} ms", current.clock.offset_ms);
    });
}
