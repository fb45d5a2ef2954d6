//! `build_handler` as the deployed Lambda runs it: clients from the default
//! credential chain, pointed at the local emulators by the standard
//! `AWS_ENDPOINT_URL_*` variables, the public key read from the
//! application secret (one Secrets Manager secret, a JSON object) on moto.
//!
//! Each test sets process-wide AWS variables before any runtime thread
//! exists; nextest runs every test in its own process.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_secretsmanager::Client as SecretsClient;
use interactions_lambda::{Config, PublicKeySource, build_handler};
use timmybot_allowlist::AllowlistSettings;
use timmybot_core::ApplicationId;
use timmybot_test_support::aws_fixtures::{GATEWAY_SERVICE, delayed_messages, ecs_gateway_service, standard_queue};
use timmybot_test_support::emulators::{Emulators, unique_name};
use timmybot_test_support::signer::{InteractionSigner, SAMPLE_APPLICATION_ID, SlashCommand, ping, slash_command};

/// Points the default chain at the emulators (SQS at `sqs_endpoint`).
fn aws_environment(emulators: &Emulators, sqs_endpoint: &str) {
    // SAFETY: called first thing in a #[test], before any other thread.
    unsafe {
        emulators.export_for_default_chain();
        std::env::set_var("AWS_ENDPOINT_URL_SQS", sqs_endpoint);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Creates an application secret whose value is `value`; returns its name.
async fn put_secret(emulators: &Emulators, value: &str) -> String {
    let name = format!("timmybot/{}", unique_name("app"));
    SecretsClient::new(&emulators.sdk_config())
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .expect("create secret");
    name
}

/// The application secret as the deployer writes it, with `public_key` as
/// its `discord-public-key` entry.
fn app_document(public_key: &str) -> String {
    serde_json::json!({"discord-public-key": public_key, "token-encryption-key": "k".repeat(64)}).to_string()
}

fn config(public_key: PublicKeySource, app_secret: Option<String>, queue_url: &str) -> Config {
    Config {
        public_key,
        app_secret,
        application_id: ApplicationId::new(SAMPLE_APPLICATION_ID).unwrap(),
        command_queue_url: queue_url.to_owned(),
        guilds_table: unique_name("guilds"),
        queues_table: unique_name("guild-queues"),
        track_cache_table: unique_name("track-cache"),
        users_table: None,
        allowlist: AllowlistSettings::open(),
        allowlist_webhook: None,
        // No internet here: nothing to discover.
        sources: timmybot_sources::SourcesConfig { radio: false, audius: false, ..Default::default() },
        gateway_service: None,
    }
}

async fn post(
    handler: &timmybot_interactions::InteractionHandler,
    signer: &InteractionSigner,
    body: &[u8],
) -> timmybot_interactions::HttpReply {
    let mut headers = http::HeaderMap::new();
    for (name, value) in signer.signed_headers(body, now()) {
        headers.insert(http::HeaderName::try_from(name).unwrap(), value.parse().unwrap());
    }
    handler.handle_http(&headers, body).await
}

#[test]
fn public_key_from_the_secret_verifies_interactions() {
    let emulators = Emulators::from_env();
    aws_environment(&emulators, &emulators.moto_endpoint);
    runtime().block_on(async {
        let signer = InteractionSigner::from_seed([21; 32]);
        // Stored the way a deployer pastes it: with a trailing newline.
        let secret = put_secret(&emulators, &app_document(&format!("{}\n", signer.public_key_hex()))).await;
        let handler = build_handler(config(PublicKeySource::AppSecret, Some(secret), "https://sqs.invalid/1/q.fifo"))
            .await
            .expect("handler builds");
        let body = ping().to_string();
        assert_eq!(post(&handler, &signer, body.as_bytes()).await.status, 200);
        let forger = InteractionSigner::from_seed([22; 32]);
        assert_eq!(post(&handler, &forger, body.as_bytes()).await.status, 401);
    });
}

#[test]
fn placeholder_public_key_secret_fails_the_cold_start_without_echoing_it() {
    let emulators = Emulators::from_env();
    aws_environment(&emulators, &emulators.moto_endpoint);
    runtime().block_on(async {
        // What the stack's placeholder looks like before the deployer sets
        // the real key.
        let placeholder = "set-me:discord-public-key-q8Z2xV0pLm4T";
        let secret = put_secret(&emulators, &app_document(placeholder)).await;
        let build = |secret: &str| {
            build_handler(config(PublicKeySource::AppSecret, Some(secret.to_owned()), "https://sqs.invalid/1/q.fifo"))
        };
        let Err(error) = build(&secret).await else { panic!("a placeholder is not a key") };
        let message = format!("{error:#}");
        assert!(message.contains("TIMMYBOT_APP_SECRET") && message.contains("discord-public-key"), "{message}");
        assert!(!message.contains("q8Z2xV0pLm4T"), "{message}");

        // The entry removed: the error names the entry.
        let secret = put_secret(&emulators, r#"{"discord-token": "Bot MTIz.kept-out-of-errors"}"#).await;
        let Err(error) = build(&secret).await else { panic!("no public key entry fails the cold start") };
        let message = format!("{error:#}");
        assert!(message.contains("has no \"discord-public-key\" entry"), "{message}");
        assert!(!message.contains("kept-out-of-errors"), "{message}");

        // The bare key pasted instead of the JSON document: not echoed.
        let secret = put_secret(&emulators, placeholder).await;
        let Err(error) = build(&secret).await else { panic!("a secret that is not JSON fails the cold start") };
        let message = format!("{error:#}");
        assert!(message.contains("not a JSON object") && !message.contains("q8Z2xV0pLm4T"), "{message}");

        let Err(error) = build("timmybot/never-created").await else {
            panic!("a missing secret fails the cold start");
        };
        assert!(format!("{error:#}").contains("timmybot/never-created"), "{error:#}");
    });
}

/// An SQS endpoint that accepts connections and never answers: the publish
/// must give up on its own (the SDK timeouts) and the member must get an
/// answer, instead of the interaction hanging until the Lambda is killed.
#[test]
fn a_hanging_command_queue_fails_the_command_instead_of_hanging() {
    let emulators = Emulators::from_env();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    aws_environment(&emulators, &silent_url);
    // Accept and hold every connection, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    runtime().block_on(async {
        let signer = InteractionSigner::from_seed([23; 32]);
        let key = interactions_lambda_key(&signer);
        let handler = build_handler(config(key, None, &format!("{silent_url}/1/commands.fifo"))).await.expect("builds");
        let body = slash_command(SlashCommand {
            options: vec![("query".into(), serde_json::json!("https://example.com/a.mp3"))],
            ..Default::default()
        })
        .to_string();
        // A generous outer bound: only a missing SDK timeout could reach it.
        let reply = tokio::time::timeout(Duration::from_secs(30), post(&handler, &signer, body.as_bytes()))
            .await
            .expect("the handler answers on its own");
        assert_eq!(reply.status, 200, "the member is told, not left waiting");
        // ... and the metrics count it as our failure.
        assert!(reply.failed);
    });
}

fn interactions_lambda_key(signer: &InteractionSigner) -> PublicKeySource {
    PublicKeySource::Inline(timmybot_interactions::PublicKey::from_hex(&signer.public_key_hex()).unwrap())
}

/// With the gateway's ECS service configured, a `/play` while the gateway
/// has no heartbeat is queued, starts the service (desired count 1 in
/// moto) and tells the member the player starts.
#[test]
fn a_cold_play_starts_the_configured_gateway_service() {
    let emulators = Emulators::from_env();
    aws_environment(&emulators, &emulators.moto_endpoint);
    runtime().block_on(async {
        let sdk = emulators.sdk_config();
        let signer = InteractionSigner::from_seed([24; 32]);
        let mut config = config(interactions_lambda_key(&signer), None, "https://sqs.invalid/1/q.fifo");
        let tables = timmybot_aws::DynamoTables {
            guilds: config.guilds_table.clone(),
            guild_queues: config.queues_table.clone(),
            track_cache: config.track_cache_table.clone(),
            users: unique_name("users"),
        };
        timmybot_aws::create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &tables).await.expect("tables");
        let queue =
            timmybot_aws::create_queue(&aws_sdk_sqs::Client::new(&sdk), &unique_name("cold"), Duration::from_secs(30))
                .await
                .expect("queue");
        config.command_queue_url = queue.url.clone();
        let cluster = ecs_gateway_service(&sdk, 0).await;
        let start_checks = standard_queue(&sdk, "start-check").await;
        config.gateway_service = Some(timmybot_lambda_common::GatewayService {
            cluster: cluster.clone(),
            service: GATEWAY_SERVICE.into(),
            start_check_queue_url: start_checks.clone(),
        });

        let handler = build_handler(config).await.expect("handler builds");
        let body = slash_command(SlashCommand {
            options: vec![("query".into(), serde_json::json!("https://example.com/a.mp3"))],
            ..Default::default()
        })
        .to_string();
        let reply = post(&handler, &signer, body.as_bytes()).await;
        let response: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(response["data"]["content"], timmybot_interactions::STARTING_REPLY, "{response}");
        let scaler = timmybot_aws::EcsScaler::new(aws_sdk_ecs::Client::new(&sdk), &cluster, GATEWAY_SERVICE);
        assert_eq!(scaler.counts().await.unwrap().0, 1, "desired count 1");
        let bus = timmybot_aws::SqsBus::new(aws_sdk_sqs::Client::new(&sdk), queue.url);
        assert_eq!(timmybot_core::CommandBus::outstanding(&bus).await.unwrap(), 1, "the command waits on the bus");
        assert_eq!(delayed_messages(&sdk, &start_checks).await, 1, "one start check set for the deadline");
        let store = timmybot_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables);
        let waiters = timmybot_core::GatewayPresence::take_waiters(&store, 0).await.unwrap();
        assert_eq!(waiters.len(), 1, "the member waits on the start");
    });
}

/// `/playlist list` is answered from the users table when the stack names
/// it, and says the data is unavailable when it does not.
#[test]
fn playlists_are_served_from_the_users_table_when_it_is_named() {
    let emulators = Emulators::from_env();
    aws_environment(&emulators, &emulators.moto_endpoint);
    runtime().block_on(async {
        let sdk = emulators.sdk_config();
        let signer = InteractionSigner::from_seed([25; 32]);
        let mut config = config(interactions_lambda_key(&signer), None, "https://sqs.invalid/1/q.fifo");
        let tables = timmybot_aws::DynamoTables {
            guilds: config.guilds_table.clone(),
            guild_queues: config.queues_table.clone(),
            track_cache: config.track_cache_table.clone(),
            users: unique_name("users"),
        };
        timmybot_aws::create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &tables).await.expect("tables");
        let store = timmybot_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables.clone());
        let member = SlashCommand::default().user_id;
        let playlist = timmybot_core::MemberPlaylist {
            owner: member,
            name: timmybot_core::PlaylistName::parse("Night Drive").unwrap(),
            origin: timmybot_core::PlaylistOrigin::File,
            entries: vec![timmybot_core::PlaylistEntry::metadata("Song", "Band", Some(1_000), None)],
            updated_at_ms: 1,
        };
        timmybot_core::PlaylistStore::save_playlist(&store, &playlist).await.unwrap();
        let mut list = slash_command(SlashCommand { name: "playlist".into(), ..Default::default() });
        list["data"]["options"] = serde_json::json!([{"name": "list", "type": 1}]);
        let body = list.to_string();

        let unnamed = build_handler(config.clone()).await.expect("handler builds");
        let reply: serde_json::Value =
            serde_json::from_slice(&post(&unnamed, &signer, body.as_bytes()).await.body).unwrap();
        assert!(reply["data"]["content"].as_str().unwrap().contains("unavailable"), "{reply}");

        config.users_table = Some(tables.users.clone());
        let handler = build_handler(config).await.expect("handler builds");
        let reply: serde_json::Value =
            serde_json::from_slice(&post(&handler, &signer, body.as_bytes()).await.body).unwrap();
        let text = reply["data"]["content"].as_str().unwrap();
        assert!(text.contains("**Night Drive** · 1 track · imported from a file"), "{text}");
    });
}
