//! `build_check` and `function_handler` as the deployed Lambda runs them:
//! clients from the default credential chain pointed at DynamoDB Local and
//! moto (ECS, SQS), replies edited on the fake Discord over real HTTP. A
//! start past its deadline, with members waiting, gets one SQS delivery:
//! each reply says the player is late, the service is asked to run again
//! (desired count 1 in moto) and one more check is delayed on the queue.
//!
//! Each test sets process-wide AWS variables before any runtime thread
//! exists; nextest runs every test in its own process.

use std::time::{SystemTime, UNIX_EPOCH};

use lambda_http::lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use start_check_lambda::{Config, build_check, function_handler};
use timmybot_aws::{DynamoStore, DynamoTables, EcsScaler};
use timmybot_core::{ApplicationId, GatewayPresence, InteractionId, START_DEADLINE, Secret, StartWaiter};
use timmybot_interactions::{START_OVERDUE_REPLY, STARTING_REPLY};
use timmybot_lambda_common::GatewayService;
use timmybot_test_support::aws_fixtures::{GATEWAY_SERVICE, delayed_messages, ecs_gateway_service, standard_queue};
use timmybot_test_support::emulators::{Emulators, unique_name};
use timmybot_test_support::fake_discord::{FakeDiscord, FakeDiscordConfig};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// What SQS hands the function: one record; the check ignores its body.
fn sqs_event() -> LambdaEvent<serde_json::Value> {
    let record = json!({"messageId": "1", "body": "{\"check\":\"gateway-start\"}", "eventSource": "aws:sqs"});
    LambdaEvent::new(json!({"Records": [record]}), Context::default())
}

#[test]
fn a_late_start_is_told_to_every_waiting_member_and_asked_again() {
    let emulators = Emulators::from_env();
    // SAFETY: first thing in the test, before any other thread.
    unsafe { emulators.export_for_default_chain() };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let sdk = emulators.sdk_config();
        let tables = DynamoTables::with_prefix(&format!("{}-", unique_name("check")));
        timmybot_aws::create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &tables).await.expect("tables");
        let queue = standard_queue(&sdk, "start-check").await;
        let cluster = ecs_gateway_service(&sdk, 0).await;
        let discord = FakeDiscord::start(FakeDiscordConfig::default()).await.unwrap();

        // A start claimed 200 s ago (deadline 20 s ago), two members waiting.
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables.clone());
        let claimed = now_ms() - 200_000;
        assert!(store.claim_start(claimed, claimed + START_DEADLINE.as_millis() as u64).await.unwrap());
        let mut tokens = Vec::new();
        for id in [7u64, 8] {
            let sent = discord.slash_command(1, 2, 3, "play", json!([]));
            let token = sent["token"].as_str().unwrap().to_owned();
            let answer = json!({"type": 4, "data": {"content": STARTING_REPLY, "flags": 64}});
            assert!(discord.accept_interaction_response(&token, answer));
            let waiter = StartWaiter {
                interaction: InteractionId::new(id).unwrap(),
                application: ApplicationId::new(discord.config().application_id).unwrap(),
                token: Secret::new(token.clone()),
                expires_ms: now_ms() + 600_000,
            };
            store.add_waiter(&waiter).await.unwrap();
            tokens.push(token);
        }

        let config = Config {
            queues_table: tables.guild_queues.clone(),
            gateway: GatewayService {
                cluster: cluster.clone(),
                service: GATEWAY_SERVICE.into(),
                start_check_queue_url: queue.clone(),
            },
            discord_api: url::Url::parse(&format!("http://{}/api/v10/", discord.rest_addr())).unwrap(),
        };
        let check = build_check(config).await.expect("the check builds");
        function_handler(&check, sqs_event()).await.expect("the delivery is handled");

        for token in &tokens {
            assert_eq!(discord.original_message(token).as_deref(), Some(START_OVERDUE_REPLY));
        }
        let scaler = EcsScaler::new(aws_sdk_ecs::Client::new(&sdk), &cluster, GATEWAY_SERVICE);
        assert_eq!(scaler.counts().await.unwrap().0, 1, "the start is asked again: desired 1");
        assert_eq!(delayed_messages(&sdk, &queue).await, 1, "one more check");
        assert!(store.start_deadline().await.unwrap().unwrap() > now_ms(), "a new deadline ahead");

        // Delivered again (SQS delivers at least once): nobody left to tell,
        // the new deadline is ahead, nothing more happens.
        function_handler(&check, sqs_event()).await.expect("a redelivery is handled");
        assert_eq!(delayed_messages(&sdk, &queue).await, 1, "no check chain");
    });
}
