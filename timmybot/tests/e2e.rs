//! End to end: a signed `/play` goes in over HTTP (or the gateway), the
//! platform joins the fake voice server, the fake hears a 440 Hz tone, the
//! reply is edited, `/stop` stops and leaves. Runs on both adapter sets.
//!
//! Each test is a plain `#[test]` that sets process-wide settings (the test
//! CA through `SSL_CERT_FILE`, AWS endpoints) before it starts a runtime;
//! the test command runs every test in its own process (cargo-nextest).

use std::path::Path;
use std::time::Duration;
use timmybot_test_support::runtime::runtime_with_logs;

use timmybot::config::{BusBackend, StoreBackend};
use timmybot::sandbox::{GUILD_ID, MEMBER_ID, Route, Sandbox, SandboxOptions, trust_sandbox_ca};
use timmybot_test_support::audio::write_tone_wav;
use timmybot_test_support::emulators::{Emulators, unique_name};

const TONE_HZ: f64 = 440.0;

fn media_with_tone(dir: &Path) {
    write_tone_wav(dir.join("tone.wav"), TONE_HZ, 5.0).expect("tone written");
}

/// `/play` a tone, check what the voice channel heard, `/stop`, check the bot left.
async fn play_tone_then_stop(sandbox: &Sandbox) {
    let play = sandbox.send("/play tone.wav").await.expect("play sent");
    assert_eq!(play.status, 200);
    assert_eq!(play.response.as_ref().expect("a response")["type"], 5, "play is deferred");
    assert_eq!(play.response.as_ref().unwrap()["data"]["flags"], 64, "only the member sees the reply");
    let reply = sandbox.wait_for_reply(&play, Duration::from_secs(30)).await.expect("the deferred reply was edited");
    assert!(reply.starts_with("Now playing"), "reply was {reply:?}");
    assert!(reply.contains("tone"), "reply names the track: {reply:?}");
    assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), Some(timmybot::sandbox::VOICE_CHANNEL_ID));

    sandbox.hear_tone(4.0, TONE_HZ).await.expect("the tone, clean");

    let stop = sandbox.send("/stop").await.expect("stop sent");
    let reply = sandbox.wait_for_reply(&stop, Duration::from_secs(15)).await.expect("stop answered");
    assert_eq!(reply, "Stopped, cleared the queue and left the voice channel.");
    let left = sandbox.voice.wait_until(Duration::from_secs(10), |v| !v.is_connected(GUILD_ID)).await;
    assert!(left, "voice session still open after /stop");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sandbox.discord.bot_voice_channel(GUILD_ID).is_some() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), None, "bot left the channel on the gateway");
    let packets = sandbox.heard().packets;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sandbox.heard().packets, packets, "no audio after /stop");
}

#[test]
fn play_and_stop_end_to_end_on_sqlite_and_in_process_bus() {
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    media_with_tone(media.path());
    runtime_with_logs().block_on(async {
        let options = SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf()));
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");
        play_tone_then_stop(&sandbox).await;
        let (key, expires_at) = cache_an_entry(&sandbox).await;
        sandbox.shutdown().await.expect("clean shutdown");

        // The platform's cache is the table in the data folder's file.
        let store = timmybot_embedded::SqliteStore::open(data.path().join("timmybot.db")).unwrap();
        let cached = timmybot_core::TrackCache::get(&store, &key, expires_at - 1).await.unwrap();
        assert_eq!(cached.as_deref(), Some(CACHED));
    });
}

const CACHED: &str = r#"{"title":"cached by the platform"}"#;

/// Puts an entry through the platform's track cache; returns its key and expiry.
async fn cache_an_entry(sandbox: &Sandbox) -> (String, u64) {
    let key = unique_name("https://example.com/track");
    let expires_at = timmybot_test_support::contract::track_cache::now_ms() + 60_000;
    sandbox.track_cache().put(&key, CACHED, expires_at).await.expect("put through the platform");
    (key, expires_at)
}

#[test]
fn play_and_stop_end_to_end_on_dynamodb_and_sqs() {
    let emulators = Emulators::from_env();
    let ca = trust_sandbox_ca().expect("test CA");
    // The platform builds its clients from the default chain, as on AWS; the
    // standard endpoint variables point that chain at the emulators.
    // SAFETY: no other thread exists yet in this test process.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", &emulators.dynamodb_endpoint);
        std::env::set_var("AWS_ENDPOINT_URL_SQS", &emulators.moto_endpoint);
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDTIMMYBOTTEST");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "timmybot-test-secret");
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let data = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    media_with_tone(media.path());
    runtime_with_logs().block_on(async {
        let sdk = emulators.sdk_config();
        let prefix = unique_name("e2e");
        let tables = timmybot_aws::DynamoTables::with_prefix(&format!("{prefix}-"));
        timmybot_aws::create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &tables).await.expect("tables");
        let queue = timmybot_aws::create_queue(&aws_sdk_sqs::Client::new(&sdk), &prefix, Duration::from_secs(30))
            .await
            .expect("queue");
        let options = SandboxOptions {
            data_dir: data.path().to_path_buf(),
            media_dir: Some(media.path().to_path_buf()),
            store: StoreBackend::DynamoDb {
                guilds_table: tables.guilds.clone(),
                queues_table: tables.guild_queues.clone(),
                track_cache_table: tables.track_cache.clone(),
                users_table: tables.users.clone(),
            },
            bus: BusBackend::Sqs { queue_url: queue.url.clone() },
            ..SandboxOptions::embedded(data.path().to_path_buf(), None)
        };
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");
        play_tone_then_stop(&sandbox).await;
        let (key, expires_at) = cache_an_entry(&sandbox).await;
        sandbox.shutdown().await.expect("clean shutdown");

        // The queue really lived in DynamoDB: /stop left an empty one there.
        let store = timmybot_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables);
        let guild = timmybot_core::GuildId::new(GUILD_ID).unwrap();
        let player = timmybot_core::PlayerStore::load(&store, guild).await.expect("load").expect("a stored player");
        assert!(player.is_empty() && player.version >= 2, "stored player {player:?}");
        assert_eq!(player.history.last().map(|t| t.source.as_str()), Some("tone.wav"), "the tone counts as played");
        // And the platform's cache is the configured DynamoDB table.
        let cached = timmybot_core::TrackCache::get(&store, &key, expires_at - 1).await.unwrap();
        assert_eq!(cached.as_deref(), Some(CACHED));
    });
}

#[test]
fn gateway_route_bad_sources_and_absent_members_get_clear_replies() {
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    std::fs::write(media.path().join("noise.wav"), vec![3u8; 8192]).unwrap();
    runtime_with_logs().block_on(async {
        let options = SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf()));
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");

        // Over the gateway: INTERACTION_CREATE → callback route → deferred → edited.
        let missing = sandbox.send_via("/play missing.wav", Route::Gateway).await.unwrap();
        assert_eq!(missing.response.as_ref().expect("callback answered")["type"], 5);
        let reply = sandbox.wait_for_reply(&missing, Duration::from_secs(15)).await.expect("edited");
        assert_eq!(reply, "There is no such file in the media folder.");

        let help = sandbox.send_via("/help", Route::Gateway).await.unwrap();
        assert_eq!(help.response.as_ref().expect("callback answered")["type"], 4);

        let junk = sandbox.send("/play noise.wav").await.unwrap();
        let reply = sandbox.wait_for_reply(&junk, Duration::from_secs(15)).await.expect("edited");
        assert_eq!(reply, "That source could not be opened as audio.");

        let escape = sandbox.send("/play ../../etc/passwd").await.unwrap();
        let reply = sandbox.wait_for_reply(&escape, Duration::from_secs(15)).await.expect("edited");
        assert_eq!(reply, "That file path is not allowed.");

        // A link to the instance metadata service: refused before any
        // connection, with a message that names neither address nor reason.
        let metadata = sandbox.send("/play http://169.254.169.254/latest/meta-data/").await.unwrap();
        let reply = sandbox.wait_for_reply(&metadata, Duration::from_secs(15)).await.expect("edited");
        assert_eq!(reply, "That address is not allowed.");
        let loopback = sandbox.send(&format!("/play http://{}/interactions", sandbox.addr())).await.unwrap();
        let reply = sandbox.wait_for_reply(&loopback, Duration::from_secs(15)).await.expect("edited");
        assert_eq!(reply, "That address is not allowed.");

        sandbox.discord.move_member(GUILD_ID, MEMBER_ID, None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let absent = sandbox.send("/play noise.wav").await.unwrap();
        let reply = sandbox.wait_for_reply(&absent, Duration::from_secs(15)).await.expect("edited");
        assert_eq!(reply, "Join a voice channel first.");

        assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), None, "the bot never joined");
        assert_eq!(sandbox.voice.sessions_opened(GUILD_ID), 0);
        sandbox.shutdown().await.unwrap();
    });
}

#[test]
fn forged_stale_malformed_and_oversized_requests_are_refused_over_http() {
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    runtime_with_logs().block_on(async {
        let sandbox = Sandbox::start(&ca, SandboxOptions::embedded(data.path().to_path_buf(), None)).await.unwrap();
        let url = format!("http://{}/interactions", sandbox.addr());
        let http = reqwest::Client::new();
        let interaction = sandbox.discord.slash_command(
            GUILD_ID,
            timmybot::sandbox::TEXT_CHANNEL_ID,
            MEMBER_ID,
            "play",
            serde_json::json!([{"name": "query", "type": 3, "value": "tone.wav"}]),
        );
        let body = serde_json::to_vec(&interaction).unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();

        let forger = timmybot_test_support::signer::InteractionSigner::from_seed([9; 32]);
        let send = |headers: Vec<(String, String)>, body: Vec<u8>| {
            let mut request = http.post(&url).body(body);
            for (k, v) in headers {
                request = request.header(k, v);
            }
            request.send()
        };
        let forged = send(forger.signed_headers(&body, now), body.clone()).await.unwrap();
        assert_eq!(forged.status(), 401);
        let stale = send(sandbox.signer().signed_headers(&body, now - 600), body.clone()).await.unwrap();
        assert_eq!(stale.status(), 401);
        let unsigned = send(vec![], body.clone()).await.unwrap();
        assert_eq!(unsigned.status(), 401);
        let malformed = b"{\"type\": 2, \"id\": ".to_vec();
        let bad_json = send(sandbox.signer().signed_headers(&malformed, now), malformed).await.unwrap();
        assert_eq!(bad_json.status(), 400);
        let huge = vec![b' '; 70 * 1024];
        let oversized = send(sandbox.signer().signed_headers(&huge, now), huge).await.unwrap();
        assert_eq!(oversized.status(), 413);

        // None of those reached the player: nothing joined, nothing was edited.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(sandbox.voice.sessions_opened(GUILD_ID), 0);
        let token = interaction["token"].as_str().unwrap();
        assert_eq!(sandbox.discord.original_message(token), None);
        sandbox.shutdown().await.unwrap();
    });
}
