//! Scale to zero end to end, on DynamoDB Local, SQS and ECS in moto: a
//! cold `/play` (a hundred at once) makes one `UpdateService` call, every
//! command waits on the bus, the member is told the player starts; the
//! start check at the deadline (the platform still down) tells every
//! waiting member it is late and asks again; the platform then starts,
//! plays the queued command and edits the reply. And
//! the idle stop: desired count 0, the heartbeat gone, a clean end, and a
//! command that arrives while stopping left on the bus with the desired
//! count back at 1.
//!
//! `UpdateService` calls are counted at the wire: every ECS client (the
//! handler's and the platform's) goes through a recording proxy in front
//! of moto. moto sets the running count to the desired one at once and
//! launches nothing; the test starts the platform itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use timmybot::config::{BusBackend, ScaleToZeroConfig, StoreBackend};
use timmybot::sandbox::{GUILD_ID, MEMBER_ID, Sandbox, SandboxOptions, TEXT_CHANNEL_ID, trust_sandbox_ca};
use timmybot_aws::{DynamoStore, DynamoTables, EcsScaler, SqsBus, SqsStartCheckTimer};
use timmybot_core::{CommandBus, GatewayPresence, ManualClock, START_DEADLINE, SystemClock};
use timmybot_discord_rest::InteractionReplies;
use timmybot_interactions::{
    InteractionHandler, PublicKey, START_OVERDUE_REPLY, STARTING_REPLY, ScaleToZero, StartCheck, StartCheckOutcome,
};
use timmybot_test_support::audio::write_tone_wav;
use timmybot_test_support::aws_fixtures::{GATEWAY_SERVICE, delayed_messages, ecs_gateway_service, standard_queue};
use timmybot_test_support::aws_proxy::{BeforeForward, BoxFuture, RecordedAwsCall, RecordingProxy};
use timmybot_test_support::emulators::{Emulators, unique_name};
use timmybot_test_support::runtime::runtime_with_logs;

const TONE_HZ: f64 = 440.0;
const COMMANDS: usize = 100;

/// Points the default AWS chain (what the platform uses) at the emulators,
/// ECS at the proxy about to listen on `ecs_proxy`. Before any thread.
fn aws_env(emulators: &Emulators, ecs_proxy: &std::net::TcpListener) {
    let proxy = format!("http://{}", ecs_proxy.local_addr().unwrap());
    // SAFETY: no other thread exists yet in this test process.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", &emulators.dynamodb_endpoint);
        std::env::set_var("AWS_ENDPOINT_URL_SQS", &emulators.moto_endpoint);
        std::env::set_var("AWS_ENDPOINT_URL_ECS", proxy);
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDTIMMYBOTTEST");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "timmybot-test-secret");
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
}

/// The AWS side of one test: tables, a queue, an ECS service in moto.
struct Aws {
    sdk: aws_config::SdkConfig,
    tables: DynamoTables,
    queue_url: String,
    cluster: String,
    service: String,
}

impl Aws {
    async fn create(emulators: &Emulators, desired: i32) -> Self {
        let sdk = emulators.sdk_config();
        let prefix = unique_name("scale");
        let tables = DynamoTables::with_prefix(&format!("{prefix}-"));
        timmybot_aws::create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &tables).await.expect("tables");
        let queue = timmybot_aws::create_queue(&aws_sdk_sqs::Client::new(&sdk), &prefix, Duration::from_secs(30))
            .await
            .expect("queue");
        let cluster = ecs_gateway_service(&sdk, desired).await;
        Self { sdk, tables, queue_url: queue.url, cluster, service: GATEWAY_SERVICE.into() }
    }

    fn store(&self) -> DynamoStore {
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&self.sdk), self.tables.clone())
    }

    fn bus(&self) -> SqsBus {
        SqsBus::new(aws_sdk_sqs::Client::new(&self.sdk), self.queue_url.clone())
    }

    /// The scaler, talking to ECS at `endpoint`.
    fn scaler(&self, endpoint: &str) -> EcsScaler {
        let config = aws_sdk_ecs::config::Builder::from(&self.sdk).endpoint_url(endpoint).build();
        EcsScaler::new(aws_sdk_ecs::Client::from_conf(config), &self.cluster, &self.service)
    }

    /// The service's desired count, asked of moto directly.
    async fn desired(&self) -> i32 {
        self.scaler(&Emulators::from_env().moto_endpoint).counts().await.expect("DescribeServices").0
    }

    fn options(&self, data: &std::path::Path, media: &std::path::Path, idle: Duration) -> SandboxOptions {
        SandboxOptions {
            store: StoreBackend::DynamoDb {
                guilds_table: self.tables.guilds.clone(),
                queues_table: self.tables.guild_queues.clone(),
                track_cache_table: self.tables.track_cache.clone(),
                users_table: self.tables.users.clone(),
            },
            bus: BusBackend::Sqs { queue_url: self.queue_url.clone() },
            scale_to_zero: Some(ScaleToZeroConfig {
                cluster: self.cluster.clone(),
                service: self.service.clone(),
                idle_stop_after: idle,
            }),
            ..SandboxOptions::embedded(data.to_path_buf(), Some(media.to_path_buf())).with_fake_sources(false)
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn desired_counts(proxy: &RecordingProxy) -> Vec<i64> {
    proxy.calls_to("UpdateService").iter().map(|body| body["desiredCount"].as_i64().expect("a desired count")).collect()
}

#[test]
fn a_cold_play_starts_the_gateway_once_and_plays_when_it_is_up() {
    let emulators = Emulators::from_env();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    aws_env(&emulators, &listener);
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    write_tone_wav(media.path().join("tone.wav"), TONE_HZ, 5.0).unwrap();
    runtime_with_logs().block_on(async {
        let proxy = RecordingProxy::start(listener, &emulators.moto_endpoint, None).unwrap();
        let aws = Aws::create(&emulators, 0).await;
        // A stop asks for 10 minutes idle: the platform never stops in this test.
        let options = aws.options(data.path(), media.path(), Duration::from_secs(600));
        let mut sandbox = Sandbox::start_stopped(&ca, options).await.unwrap();

        // The interactions Lambda's handler, with the gateway stopped.
        let store = Arc::new(aws.store());
        let start_checks = standard_queue(&aws.sdk, "start-check").await;
        let scale = ScaleToZero::new(
            Arc::new(aws.scaler(&proxy.url())),
            store.clone(),
            Arc::new(SqsStartCheckTimer::new(aws_sdk_sqs::Client::new(&aws.sdk), start_checks.clone())),
        );
        let handler = Arc::new(
            InteractionHandler::new(
                Arc::new(aws.bus()),
                Arc::new(SystemClock),
                PublicKey::from_hex(&sandbox.signer().public_key_hex()).unwrap(),
                timmybot_core::ApplicationId::new(sandbox.discord.config().application_id).unwrap(),
            )
            .with_scale_to_zero(scale.clone()),
        );
        let mut posts = Vec::new();
        for _ in 0..COMMANDS {
            let interaction = sandbox.discord.slash_command(
                GUILD_ID,
                TEXT_CHANNEL_ID,
                MEMBER_ID,
                "play",
                json!([{"name": "query", "type": 3, "value": "tone.wav"}]),
            );
            let token = interaction["token"].as_str().unwrap().to_owned();
            let body = serde_json::to_vec(&interaction).unwrap();
            let headers = sandbox.signer().signed_headers(&body, unix_now());
            let handler = handler.clone();
            posts.push(tokio::spawn(async move {
                let headers: http::HeaderMap = headers
                    .into_iter()
                    .map(|(k, v)| (http::HeaderName::try_from(k).unwrap(), http::HeaderValue::try_from(v).unwrap()))
                    .collect();
                (token, handler.handle_http(&headers, &body).await)
            }));
        }
        let mut tokens = Vec::new();
        for post in posts {
            let (token, reply) = post.await.unwrap();
            assert_eq!(reply.status, 200);
            let response: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
            assert_eq!(response["type"], 4, "an ephemeral message the gateway edits later: {response}");
            assert_eq!(response["data"]["flags"], 64);
            assert_eq!(response["data"]["content"], STARTING_REPLY);
            // What Discord does with the endpoint's answer.
            assert!(sandbox.discord.accept_interaction_response(&token, response));
            tokens.push(token);
        }
        assert_eq!(desired_counts(&proxy), [1], "one UpdateService call for {COMMANDS} commands");
        assert_eq!(aws.desired().await, 1, "DescribeServices: desired 1");
        assert_eq!(aws.bus().outstanding().await.unwrap(), COMMANDS as u64, "every command waits on the bus");
        assert!(store.start_deadline().await.unwrap().is_some(), "the starting marker is claimed");

        assert_eq!(delayed_messages(&aws.sdk, &start_checks).await, 1, "one start check set for the deadline");

        // The deadline passes with the task still not up: the start check
        // (the start-check Lambda's library code, on a clock past it) tells
        // every waiting member, asks for the start again, sets one more check.
        let api = url::Url::parse(&format!("http://{}/api/v10/", sandbox.discord.rest_addr())).unwrap();
        let replies = InteractionReplies::new(api, Duration::from_secs(5)).unwrap();
        let late = ManualClock::at(unix_now() + START_DEADLINE.as_secs() + 1);
        let check = StartCheck::new(scale, Arc::new(replies), Arc::new(late));
        let outcome = check.run().await.expect("the check runs");
        assert_eq!(outcome, StartCheckOutcome::Overdue { told: COMMANDS, asked_again: true });
        let told =
            tokens.iter().filter(|t| sandbox.discord.original_message(t).as_deref() == Some(START_OVERDUE_REPLY));
        assert_eq!(told.count(), COMMANDS, "every waiting member is told the start is late");
        assert_eq!(desired_counts(&proxy), [1, 1], "the start is asked again, once");
        assert_eq!(delayed_messages(&aws.sdk, &start_checks).await, 2, "one more check");
        assert_eq!(aws.bus().outstanding().await.unwrap(), COMMANDS as u64, "no command is lost");

        // The task is up: moto launches nothing, so the test starts the platform.
        sandbox.start_platform().await.expect("the platform starts");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        let replies = loop {
            let replies: Vec<String> =
                tokens.iter().map(|t| sandbox.discord.original_message(t).unwrap_or_default()).collect();
            if replies.iter().all(|r| r != START_OVERDUE_REPLY) || tokio::time::Instant::now() > deadline {
                break replies;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let still_starting = replies.iter().filter(|r| *r == STARTING_REPLY || *r == START_OVERDUE_REPLY).count();
        assert_eq!(still_starting, 0, "every reply was edited");
        let now_playing: Vec<_> = replies.iter().filter(|r| r.starts_with("Now playing")).collect();
        assert_eq!(now_playing.len(), 1, "the first queued /play plays, the rest queue: {replies:?}");
        assert!(now_playing[0].contains("tone"), "{}", now_playing[0]);
        sandbox.hear_tone(2.0, TONE_HZ).await.expect("the queued /play is heard");
        // The first beat (once every shard is connected) clears the starting marker.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while store.start_deadline().await.unwrap().is_some() {
            assert!(tokio::time::Instant::now() < deadline, "the gateway's first beat did not clear the marker");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(store.last_beat().await.unwrap().is_some(), "the gateway beats");
        sandbox.shutdown().await.expect("clean shutdown");
        assert_eq!(desired_counts(&proxy), [1, 1], "no more scaling: a shutdown is not an idle stop");
        assert_eq!(store.last_beat().await.unwrap(), None, "the heartbeat is cleared at stop");
    });
}

/// Starts a platform that stops after 3 s idle; when `late_command`, a
/// command is published while it stops (just before it sets desired 0).
/// Returns the desired counts it set, the final desired count and what
/// is left on the bus.
fn idle_stop(late_command: bool) -> (Vec<i64>, i32, u64) {
    let emulators = Emulators::from_env();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    aws_env(&emulators, &listener);
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    runtime_with_logs().block_on(async {
        let aws = Arc::new(Aws::create(&emulators, 1).await);
        let published = Arc::new(AtomicBool::new(false));
        let hook: BeforeForward = {
            let (aws, published) = (aws.clone(), published.clone());
            Arc::new(move |call: RecordedAwsCall| -> BoxFuture<'static, ()> {
                let (aws, published) = (aws.clone(), published.clone());
                Box::pin(async move {
                    let stopping = call.operation == "UpdateService" && call.body["desiredCount"] == 0;
                    if late_command && stopping && !published.swap(true, Ordering::SeqCst) {
                        // The platform stopped consuming: this one must wait for the next task.
                        let message = timmybot_test_support::contract::command_bus::message(
                            timmybot_core::GuildId::new(GUILD_ID).unwrap(),
                            1,
                        );
                        aws.bus().publish(&message).await.expect("late command published");
                    }
                })
            })
        };
        let proxy = RecordingProxy::start(listener, &emulators.moto_endpoint, Some(hook)).unwrap();
        let store = aws.store();
        let options = aws.options(data.path(), media.path(), Duration::from_secs(3));
        let sandbox = Sandbox::start(&ca, options).await.expect("the platform starts");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !sandbox.gateway_finished() {
            assert!(tokio::time::Instant::now() < deadline, "the platform did not stop by itself");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sandbox.shutdown().await.expect("the idle stop is a clean end");
        assert_eq!(store.last_beat().await.unwrap(), None, "the heartbeat is gone");
        assert_eq!(late_command, published.load(Ordering::SeqCst));
        (desired_counts(&proxy), aws.desired().await, aws.bus().outstanding().await.unwrap())
    })
}

#[test]
fn an_idle_gateway_sets_desired_zero_clears_its_heartbeat_and_ends() {
    let (scaled, desired, outstanding) = idle_stop(false);
    assert_eq!(scaled, [0]);
    assert_eq!(desired, 0);
    assert_eq!(outstanding, 0);
}

#[test]
fn a_command_arriving_during_the_idle_stop_stays_on_the_bus_for_the_next_task() {
    let (scaled, desired, outstanding) = idle_stop(true);
    assert_eq!(scaled, [0, 1], "stopped, then asked for the next task");
    assert_eq!(desired, 1);
    assert_eq!(outstanding, 1, "the late command waits on the bus");
}
