//! The allowlist end to end against the fake Discord, on both adapter sets:
//! `/play` is refused until approved → `/request-access` → the maintainers'
//! notice with buttons → a non-maintainer's press changes nothing → the
//! maintainer approves → the requester's DM → `/play` plays → a revoke
//! through the admin API stops the player and leaves voice within seconds.
//!
//! Plain `#[test]`s that set process-wide settings before a runtime exists;
//! nextest runs each in its own process.

use std::time::Duration;
use timmybot_test_support::runtime::runtime_with_logs;

use serde_json::{Value, json};
use timmybot::config::{BusBackend, StoreBackend};
use timmybot::sandbox::{
    GUILD_ID, MAINTAINER_ID, MAINTAINERS_CHANNEL_ID, MEMBER_ID, OTHER_MEMBER_ID, Route, Sandbox, SandboxOptions,
    TEXT_CHANNEL_ID, trust_sandbox_ca,
};
use timmybot_core::{Actor, AllowlistState, AllowlistStore, GuildId, UserId};
use timmybot_test_support::audio::write_tone_wav;
use timmybot_test_support::emulators::{Emulators, unique_name};
use timmybot_test_support::fake_discord::SentMessage;

const ADMIN_TOKEN: &str = "test-admin-token-6f1d2c";

/// A data folder with the admin token in its secrets file, and a media
/// folder with a tone.
fn folders() -> (tempfile::TempDir, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    timmybot_embedded::FileSecretStore::create(data.path().join("secrets"), [("admin-token", ADMIN_TOKEN)]).unwrap();
    let media = tempfile::tempdir().unwrap();
    write_tone_wav(media.path().join("tone.wav"), 440.0, 30.0).unwrap();
    (data, media)
}

async fn admin(sandbox: &Sandbox, method: &str, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
    let url = format!("http://{}/admin/allowlist{path}", sandbox.addr());
    let mut request = reqwest::Client::new().request(method.parse().unwrap(), url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("admin request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn guild() -> GuildId {
    GuildId::new(GUILD_ID).unwrap()
}

async fn wait_for<T>(what: &str, secs: u64, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn notice(sandbox: &Sandbox) -> Option<SentMessage> {
    sandbox.discord.channel_messages(MAINTAINERS_CHANNEL_ID).into_iter().next()
}

fn button_id(message: &SentMessage, label: &str) -> String {
    let buttons = message.body["components"][0]["components"].as_array().expect("a row of buttons");
    let button = buttons.iter().find(|b| b["label"] == label).expect("the button");
    button["custom_id"].as_str().unwrap().to_owned()
}

/// The whole workflow; `store` reads the platform's own store behind it.
async fn request_approve_play_revoke(sandbox: &Sandbox, store: &dyn AllowlistStore, dms_closed: bool) {
    // Not approved: /play is refused ephemerally with how to ask; /help works.
    let play = sandbox.send("/play tone.wav").await.unwrap();
    let response = play.response.clone().expect("answered at once");
    assert_eq!((response["type"].as_u64(), response["data"]["flags"].as_u64()), (Some(4), Some(64)), "{response}");
    assert!(response["data"]["content"].as_str().unwrap().contains("/request-access"), "{response}");
    let help = sandbox.send("/help").await.unwrap();
    assert!(sandbox.reply(&help).unwrap().contains("/request-access"));

    // Only a member with Manage Server may ask.
    let refused = sandbox.send_as(OTHER_MEMBER_ID, "/request-access", Route::Http).await.unwrap();
    assert!(sandbox.reply(&refused).unwrap().contains("Manage Server"), "{:?}", sandbox.reply(&refused));
    assert_eq!(store.get(guild()).await.unwrap(), None, "nothing recorded for a refused request");

    let ask = sandbox.send("/request-access we run a lo-fi club").await.unwrap();
    assert!(sandbox.reply(&ask).unwrap().starts_with("Request sent"), "{:?}", sandbox.reply(&ask));
    let record = store.get(guild()).await.unwrap().expect("request recorded");
    assert_eq!(record.state, AllowlistState::Pending);
    assert_eq!(record.guild_name.as_deref(), Some("Sandbox"), "name looked up on Discord");
    assert_eq!(record.member_count, Some(4));
    assert_eq!(record.requested_by, UserId::new(MEMBER_ID));
    assert_eq!(record.reason.as_deref(), Some("we run a lo-fi club"));
    let again = sandbox.send("/request-access").await.unwrap();
    assert!(sandbox.reply(&again).unwrap().contains("already asked"), "{:?}", sandbox.reply(&again));

    // The maintainers were told at once, with buttons.
    let posted = wait_for("the maintainers' notice", 10, || notice(sandbox)).await;
    assert!(posted.content.contains("Sandbox") && posted.content.contains("lo-fi club"), "{}", posted.content);
    assert_eq!(posted.body["allowed_mentions"], json!({"parse": []}));
    let approve = button_id(&posted, "Approve");

    // A non-maintainer's press: ephemeral refusal, nothing changes.
    let intruder = sandbox.press_button(MEMBER_ID, posted.id, &approve).await.unwrap();
    let response = intruder.response.clone().unwrap();
    assert_eq!((response["type"].as_u64(), response["data"]["flags"].as_u64()), (Some(4), Some(64)));
    assert!(response["data"]["content"].as_str().unwrap().contains("maintainers"), "{response}");
    assert_eq!(store.get(guild()).await.unwrap().unwrap().state, AllowlistState::Pending);
    assert!(!notice(sandbox).unwrap().body["components"].as_array().unwrap().is_empty(), "buttons still there");

    // The maintainer approves: the notice becomes the outcome, buttons gone.
    let press = sandbox.press_button(MAINTAINER_ID, posted.id, &approve).await.unwrap();
    assert_eq!(press.response.as_ref().unwrap()["type"], 7, "{:?}", press.response);
    let updated = notice(sandbox).unwrap();
    assert!(updated.content.starts_with("**Approved**"), "{}", updated.content);
    assert_eq!(updated.body["components"], json!([]));
    let record = store.get(guild()).await.unwrap().unwrap();
    assert_eq!(record.state, AllowlistState::Approved);
    assert_eq!(record.decided_by, Some(Actor::DiscordUser(UserId::new(MAINTAINER_ID).unwrap())));

    // The requester is told: by DM, or in the channel they asked from.
    if dms_closed {
        let told = wait_for("the channel message", 10, || {
            sandbox.discord.channel_messages(TEXT_CHANNEL_ID).into_iter().find(|m| m.content.contains("approved"))
        })
        .await;
        assert!(told.content.starts_with(&format!("<@{MEMBER_ID}>")), "{}", told.content);
        assert!(sandbox.discord.dm_messages(MEMBER_ID).is_empty());
    } else {
        let dm = wait_for("the DM", 10, || sandbox.discord.dm_messages(MEMBER_ID).into_iter().next()).await;
        assert!(dm.content.contains("approved") && dm.content.contains("Sandbox"), "{}", dm.content);
    }

    // Approved: /play plays.
    let play = sandbox.send("/play tone.wav").await.unwrap();
    let reply = sandbox.wait_for_reply(&play, Duration::from_secs(30)).await.expect("play answered");
    assert!(reply.starts_with("Now playing"), "{reply}");
    let heard = sandbox.voice.wait_until(Duration::from_secs(20), |v| v.heard(GUILD_ID).seconds_of_audio >= 1.0).await;
    assert!(heard, "heard {:?}", sandbox.heard());

    // The admin API: no token or a wrong one is 401 and changes nothing.
    for token in [None, Some("wrong-token")] {
        let (status, body) = admin(sandbox, "POST", &format!("/guilds/{GUILD_ID}/revoke"), json!({}), token).await;
        assert_eq!(status, 401, "{body}");
    }
    assert_eq!(store.get(guild()).await.unwrap().unwrap().state, AllowlistState::Approved);
    assert!(sandbox.discord.bot_voice_channel(GUILD_ID).is_some(), "still playing");

    // Revoke: the player stops and the bot leaves voice within seconds.
    let revoked_at = tokio::time::Instant::now();
    let (status, body) =
        admin(sandbox, "POST", &format!("/guilds/{GUILD_ID}/revoke"), json!({"reason": "abuse"}), Some(ADMIN_TOKEN))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["guild"]["state"], "revoked");
    wait_for("the bot to leave voice", 10, || sandbox.discord.bot_voice_channel(GUILD_ID).is_none().then_some(()))
        .await;
    assert!(sandbox.voice.wait_until(Duration::from_secs(5), |v| !v.is_connected(GUILD_ID)).await);
    tracing::info!(elapsed = ?revoked_at.elapsed(), "left voice after the revoke");
    let packets = sandbox.heard().packets;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sandbox.heard().packets, packets, "no audio after the revoke");

    // The history tells the story, newest first, with each actor.
    let (status, body) = admin(sandbox, "GET", &format!("/guilds/{GUILD_ID}"), Value::Null, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let states: Vec<&str> = body["history"].as_array().unwrap().iter().map(|e| e["to"].as_str().unwrap()).collect();
    assert_eq!(states, ["revoked", "approved", "pending"]);
    assert_eq!(body["history"][0]["actor"], json!({"kind": "admin_token"}));
    assert_eq!(body["history"][0]["reason"], "abuse");

    // And /play is refused again.
    let play = sandbox.send("/play tone.wav").await.unwrap();
    assert!(sandbox.reply(&play).unwrap().contains("revoked"), "{:?}", sandbox.reply(&play));
}

#[test]
fn allowlist_workflow_end_to_end_on_sqlite() {
    let ca = trust_sandbox_ca().expect("test CA");
    let (data, media) = folders();
    runtime_with_logs().block_on(async {
        let options =
            SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf())).with_allowlist();
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");
        // A second handle on the same SQLite file reads what the platform wrote.
        let store = timmybot_embedded::SqliteStore::open(data.path().join("timmybot.db")).unwrap();
        request_approve_play_revoke(&sandbox, &store, false).await;
        sandbox.shutdown().await.expect("clean shutdown");
    });
}

#[test]
fn allowlist_workflow_end_to_end_on_dynamodb_with_closed_dms() {
    let emulators = Emulators::from_env();
    let ca = trust_sandbox_ca().expect("test CA");
    // SAFETY: no other thread exists yet in this test process.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", &emulators.dynamodb_endpoint);
        std::env::set_var("AWS_ENDPOINT_URL_SQS", &emulators.moto_endpoint);
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDTIMMYBOTTEST");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "timmybot-test-secret");
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let (data, media) = folders();
    runtime_with_logs().block_on(async {
        let sdk = emulators.sdk_config();
        let prefix = unique_name("allow");
        let tables = timmybot_aws::DynamoTables::with_prefix(&format!("{prefix}-"));
        timmybot_aws::create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &tables).await.expect("tables");
        let queue = timmybot_aws::create_queue(&aws_sdk_sqs::Client::new(&sdk), &prefix, Duration::from_secs(30))
            .await
            .expect("queue");
        let options = SandboxOptions {
            store: StoreBackend::DynamoDb {
                guilds_table: tables.guilds.clone(),
                queues_table: tables.guild_queues.clone(),
                track_cache_table: tables.track_cache.clone(),
                users_table: tables.users.clone(),
            },
            bus: BusBackend::Sqs { queue_url: queue.url.clone() },
            member_dms_closed: true,
            ..SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf())).with_allowlist()
        };
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");
        let store = timmybot_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables);
        request_approve_play_revoke(&sandbox, &store, true).await;
        sandbox.shutdown().await.expect("clean shutdown");
    });
}

#[test]
fn a_revoked_guild_is_left_after_the_grace_period() {
    let ca = trust_sandbox_ca().expect("test CA");
    let (data, media) = folders();
    runtime_with_logs().block_on(async {
        let options = SandboxOptions {
            leave_revoked_guild_after: Some(Duration::from_secs(1)),
            ..SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf())).with_allowlist()
        };
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");
        sandbox.send("/request-access").await.unwrap();
        let (status, _) =
            admin(&sandbox, "POST", &format!("/guilds/{GUILD_ID}/approve"), json!({}), Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 200);
        let play = sandbox.send("/play tone.wav").await.unwrap();
        let reply = sandbox.wait_for_reply(&play, Duration::from_secs(30)).await.unwrap();
        assert!(reply.starts_with("Now playing"), "{reply}");
        let (status, _) =
            admin(&sandbox, "POST", &format!("/guilds/{GUILD_ID}/revoke"), json!({}), Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 200);
        wait_for("the bot to leave the guild", 15, || sandbox.discord.left_guilds().contains(&GUILD_ID).then_some(()))
            .await;
        sandbox.shutdown().await.expect("clean shutdown");
    });
}
