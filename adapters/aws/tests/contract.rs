//! Every port contract suite against the AWS adapters, through the real SDK,
//! on DynamoDB Local and moto (started by `scripts/emulators.sh`).
//!
//! Each test makes its own tables or queue under a unique name, so tests run
//! in parallel on one emulator and across runs without cleaning up.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ProjectionType, TimeToLiveStatus};
use aws_sdk_sqs::types::QueueAttributeName;
use sha2::Digest as _;
use timmybot_aws::{DynamoStore, DynamoTables, SecretsManagerStore, SqsBus, create_queue, create_tables};
use timmybot_core::{
    Actor, AllowlistChange, AllowlistEvent, AllowlistRecord, AllowlistState, AllowlistStore, BusErrorKind, CommandBus,
    GuildId, SlotEffect, StoreErrorKind, TrackCache,
};
use timmybot_test_support::contract::{self, RawPublisher, SecretSeeder, command_bus};
use timmybot_test_support::emulators::{Emulators, unique_name};

fn sdk_config() -> aws_config::SdkConfig {
    Emulators::from_env().sdk_config()
}

async fn dynamo_store() -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config());
    let tables = DynamoTables::with_prefix(&format!("{}-", unique_name("contract")));
    create_tables(&client, &tables).await.expect("tables created on DynamoDB Local");
    DynamoStore::new(client, tables)
}

fn secrets() -> (SecretsManagerStore, SecretsManagerSeeder) {
    let client = aws_sdk_secretsmanager::Client::new(&sdk_config());
    (SecretsManagerStore::new(client.clone()), SecretsManagerSeeder { client })
}

async fn sqs_bus(visibility: Duration) -> SqsBus {
    let client = aws_sdk_sqs::Client::new(&sdk_config());
    let queue = create_queue(&client, &unique_name("bus"), visibility).await.expect("queue created on moto");
    SqsBus::new(client, queue.url).with_visibility_timeout(visibility)
}

mod accounts_dynamodb {
    use super::*;
    timmybot_test_support::account_store_contract!(dynamo_store().await);
}

mod playlists_dynamodb {
    use super::*;
    use timmybot_core::{MemberPlaylist, PlaylistEntry, PlaylistName, PlaylistOrigin, PlaylistStore};
    timmybot_test_support::playlist_store_contract!(dynamo_store().await);

    /// How many items the member's partition holds, heads and pages.
    async fn partition_items(store: &DynamoStore, owner: timmybot_core::UserId) -> i32 {
        aws_sdk_dynamodb::Client::new(&sdk_config())
            .query()
            .table_name(&store.tables().users)
            .key_condition_expression("user_id = :user")
            .expression_attribute_values(":user", AttributeValue::S(owner.to_string()))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await
            .unwrap()
            .count
    }

    /// A playlist of several pages replaced by a short one, then deleted,
    /// leaves no page behind: the head swap removes the generation it
    /// replaced.
    #[tokio::test]
    async fn replacing_and_deleting_leave_no_pages_behind() {
        let store = dynamo_store().await;
        let owner = timmybot_test_support::contract::random_user();
        let entry = |i: usize| PlaylistEntry {
            title: format!("{i} {}", "t".repeat(190)),
            artist: Some("a".repeat(200)),
            duration_ms: None,
            isrc: None,
            source: Some(format!("https://x.example/{i}/{}", "s".repeat(1500))),
        };
        let name = PlaylistName::parse("Pages").unwrap();
        let mut playlist = MemberPlaylist {
            owner,
            name: name.clone(),
            origin: PlaylistOrigin::Saved,
            entries: (0..600).map(entry).collect(),
            updated_at_ms: 1,
        };
        store.save_playlist(&playlist).await.unwrap();
        let pages = partition_items(&store, owner).await - 1;
        assert!(pages >= 3, "600 wide entries span several pages, saw {pages}");
        playlist.entries.truncate(1);
        store.save_playlist(&playlist).await.unwrap();
        assert_eq!(partition_items(&store, owner).await, 2, "the head and one page");
        assert!(store.delete_playlist(owner, &name).await.unwrap());
        assert_eq!(partition_items(&store, owner).await, 0);
    }
}

mod link_state_dynamodb {
    use super::*;
    timmybot_test_support::link_state_store_contract!(dynamo_store().await);
}

mod player_dynamodb {
    use super::*;
    timmybot_test_support::player_store_contract!(dynamo_store().await);
}

mod settings_dynamodb {
    use super::*;
    timmybot_test_support::settings_store_contract!(dynamo_store().await);
}

mod allowlist_dynamodb {
    use super::*;
    timmybot_test_support::allowlist_store_contract!(dynamo_store().await);
}

mod track_cache_dynamodb {
    use super::*;
    timmybot_test_support::track_cache_contract!(dynamo_store().await);
}

mod presence_dynamodb {
    use super::*;
    timmybot_test_support::gateway_presence_contract!(dynamo_store().await);
}

mod ledger_dynamodb {
    use super::*;
    timmybot_test_support::command_ledger_contract!(dynamo_store().await);
}

mod gateway_session_dynamodb {
    use super::*;
    timmybot_test_support::gateway_session_store_contract!(dynamo_store().await);
}

mod secrets_manager {
    use super::*;
    timmybot_test_support::secret_store_contract!(secrets());
}

mod bus_sqs {
    use super::*;
    timmybot_test_support::command_bus_contract!(|visibility| sqs_bus(visibility).await);

    // `duplicate_after_ack_is_still_dropped` is not run here: real SQS keeps
    // a deduplication id for five minutes after the message is deleted, but
    // moto 5.2.5 only compares against messages still in the queue, so the
    // emulator cannot show it. The in-process bus runs it (it mirrors SQS).

    #[tokio::test]
    async fn malformed_message_is_dropped_and_the_guild_keeps_flowing() {
        let bus = sqs_bus(command_bus::TEST_VISIBILITY_TIMEOUT).await;
        let raw = SqsRaw { client: aws_sdk_sqs::Client::new(&sdk_config()), queue_url: bus.queue_url().to_owned() };
        command_bus::malformed_message_is_dropped_and_the_guild_keeps_flowing(&bus, &raw).await;
    }
}

/// Stores secrets the way an operator would: create, or put a new current
/// version when the secret exists.
struct SecretsManagerSeeder {
    client: aws_sdk_secretsmanager::Client,
}

#[async_trait]
impl SecretSeeder for SecretsManagerSeeder {
    async fn put(&self, name: &str, value: &str) {
        let created = self.client.create_secret().name(name).secret_string(value).send().await;
        match created {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_exists_exception()) => {
                self.client
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(value)
                    .send()
                    .await
                    .expect("secret updated");
            }
            Err(e) => panic!("creating secret {name} failed: {e:?}"),
        }
    }
}

/// Sends bodies straight to the queue, below the port.
struct SqsRaw {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

#[async_trait]
impl RawPublisher for SqsRaw {
    async fn publish_raw(&self, guild: GuildId, dedup_id: &str, body: &str) {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_group_id(guild.to_string())
            .message_deduplication_id(dedup_id)
            .send()
            .await
            .expect("raw message sent");
    }
}

#[tokio::test]
async fn create_tables_is_idempotent_and_enables_ttl() {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config());
    let tables = DynamoTables::with_prefix(&format!("{}-", unique_name("tables")));
    create_tables(&client, &tables).await.expect("first run");
    create_tables(&client, &tables).await.expect("second run is a no-op");
    for table in [&tables.guilds, &tables.guild_queues, &tables.track_cache] {
        let ttl = client.describe_time_to_live().table_name(table).send().await.unwrap();
        let description = ttl.time_to_live_description().expect("ttl description");
        assert_eq!(description.time_to_live_status(), Some(&TimeToLiveStatus::Enabled), "{table}");
        assert_eq!(description.attribute_name(), Some(timmybot_aws::TTL_ATTRIBUTE));
    }

    let guilds = client.describe_table().table_name(&tables.guilds).send().await.unwrap();
    let indexes = guilds.table().expect("table description").global_secondary_indexes();
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    let index = &indexes[0];
    assert_eq!(index.index_name(), Some(timmybot_aws::ALLOWLIST_BY_STATE_INDEX));
    let keys: Vec<_> = index.key_schema().iter().map(|k| (k.attribute_name(), k.key_type().clone())).collect();
    assert_eq!(keys, [("allowlist_state", KeyType::Hash), ("updated_at", KeyType::Range)]);
    assert_eq!(index.projection().and_then(|p| p.projection_type()), Some(&ProjectionType::All));

    let queues = client.describe_table().table_name(&tables.guild_queues).send().await.unwrap();
    let indexes = queues.table().expect("table description").global_secondary_indexes();
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    let index = &indexes[0];
    assert_eq!(index.index_name(), Some(timmybot_aws::ACTIVE_PLAYERS_INDEX));
    let keys: Vec<_> = index.key_schema().iter().map(|k| (k.attribute_name(), k.key_type().clone())).collect();
    assert_eq!(keys, [(timmybot_aws::ACTIVE_ATTRIBUTE, KeyType::Hash)]);
    assert_eq!(index.projection().and_then(|p| p.projection_type()), Some(&ProjectionType::KeysOnly));

    let cache = client.describe_table().table_name(&tables.track_cache).send().await.unwrap();
    let cache = cache.table().expect("table description");
    assert!(cache.global_secondary_indexes().is_empty());
    let keys: Vec<_> = cache.key_schema().iter().map(|k| (k.attribute_name(), k.key_type().clone())).collect();
    assert_eq!(keys, [(timmybot_aws::TRACK_CACHE_KEY_ATTRIBUTE, KeyType::Hash)], "a partition key alone");
}

/// A cache item sits at the SHA-256 hex of its key, with the value, the
/// TTL in whole seconds rounded up (so DynamoDB never deletes it before it
/// expired) and the exact expiry in milliseconds; nothing names a guild.
#[tokio::test]
async fn track_cache_items_sit_at_the_hashed_key_with_a_ttl_in_seconds() {
    let store = dynamo_store().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk_config());
    let key = contract::track_cache::random_key("https://example.com/a?b=c");
    let expires_at_ms = contract::track_cache::now_ms() / 1000 * 1000 + 60_001;
    TrackCache::put(&store, &key, r#"{"title":"t"}"#, expires_at_ms).await.unwrap();

    let hash = format!("{:x}", sha2::Sha256::digest(key.as_bytes()));
    let item_key = HashMap::from([(timmybot_aws::TRACK_CACHE_KEY_ATTRIBUTE.to_owned(), AttributeValue::S(hash))]);
    let item = client
        .get_item()
        .table_name(&store.tables().track_cache)
        .set_key(Some(item_key.clone()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("item at the hashed key");
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["expires_at", "expires_at_ms", "key", "value"]);
    assert_eq!(item["value"], AttributeValue::S(r#"{"title":"t"}"#.into()));
    assert_eq!(item[timmybot_aws::TTL_ATTRIBUTE], AttributeValue::N((expires_at_ms / 1000 + 1).to_string()));
    assert_eq!(item["expires_at_ms"], AttributeValue::N(expires_at_ms.to_string()));

    // An item the TTL has not deleted yet is still not returned once expired.
    assert_eq!(TrackCache::get(&store, &key, expires_at_ms).await.unwrap(), None);
    // An item that is not the adapter's is reported, not misread.
    let mut broken = item_key;
    broken.insert("value".into(), AttributeValue::S("{}".into()));
    client.put_item().table_name(&store.tables().track_cache).set_item(Some(broken)).send().await.unwrap();
    let err = TrackCache::get(&store, &key, 0).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Corrupt);
}

/// The item keys the CDK stack, the index and maintainers' tooling rely on.
#[tokio::test]
async fn allowlist_items_sit_at_the_documented_keys() {
    let store = dynamo_store().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk_config());
    let guild = contract::random_guild();
    let record = AllowlistRecord {
        guild_id: guild,
        version: 0,
        state: AllowlistState::Approved,
        guild_name: None,
        member_count: None,
        requested_by: None,
        request_channel: None,
        reason: None,
        requested_at: 5,
        decided_by: Some(Actor::System),
        decided_at: Some(6),
        decision_reason: None,
        maintainer_notice: None,
        updated_at: 6,
    };
    let event = AllowlistEvent {
        guild_id: guild,
        seq: 1,
        at: 6,
        actor: Actor::System,
        from: None,
        to: AllowlistState::Approved,
        reason: None,
        forced: true,
    };
    store.apply(&AllowlistChange { record, event: Some(event), slot: SlotEffect::Take { force: true } }).await.unwrap();

    let get = |pk: String, sk: &str| {
        let key = HashMap::from([
            ("guild_id".to_owned(), AttributeValue::S(pk)),
            ("kind".to_owned(), AttributeValue::S(sk.to_owned())),
        ]);
        client.get_item().table_name(&store.tables().guilds).set_key(Some(key)).consistent_read(true).send()
    };
    let record = get(guild.to_string(), "allowlist").await.unwrap().item.expect("record item");
    assert_eq!(record.get("allowlist_state"), Some(&AttributeValue::S("approved".into())));
    assert_eq!(record.get("updated_at"), Some(&AttributeValue::N("6".into())));
    assert_eq!(record.get("version"), Some(&AttributeValue::N("1".into())));
    assert_eq!(record.get("schema_version"), Some(&AttributeValue::N(timmybot_core::SCHEMA_VERSION.to_string())));
    let event = get(guild.to_string(), "allowlist#event#00000000000000000001").await.unwrap().item.expect("event");
    assert_eq!(event.get("seq"), Some(&AttributeValue::N("1".into())));
    assert!(!event.contains_key("allowlist_state"), "events stay out of the state index");
    let slots = get("deployment".to_owned(), "allowlist#slots").await.unwrap().item.expect("counter item");
    assert_eq!(slots.get("approved"), Some(&AttributeValue::N("1".into())));
    assert!(!slots.contains_key("allowlist_state"), "the counter stays out of the state index");
}

#[tokio::test]
async fn allowlist_record_from_a_newer_schema_is_corrupt_not_misread() {
    let store = dynamo_store().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk_config());
    let guild = contract::random_guild();
    let item = HashMap::from([
        ("guild_id".to_owned(), AttributeValue::S(guild.to_string())),
        ("kind".to_owned(), AttributeValue::S("allowlist".to_owned())),
        ("version".to_owned(), AttributeValue::N("1".to_owned())),
        ("schema_version".to_owned(), AttributeValue::N((timmybot_core::SCHEMA_VERSION + 1).to_string())),
        ("allowlist_state".to_owned(), AttributeValue::S("pending".to_owned())),
        ("updated_at".to_owned(), AttributeValue::N("1".to_owned())),
    ]);
    client.put_item().table_name(&store.tables().guilds).set_item(Some(item)).send().await.unwrap();
    assert_eq!(AllowlistStore::get(&store, guild).await.unwrap_err().kind(), StoreErrorKind::Corrupt);
    let listed = store.list(AllowlistState::Pending, 10, None).await.unwrap_err();
    assert_eq!(listed.kind(), StoreErrorKind::Corrupt);
}

#[tokio::test]
async fn store_suites_pass_in_one_run() {
    let store = dynamo_store().await;
    contract::run_all_player_store(std::sync::Arc::new(store.clone())).await;
    contract::run_all_settings_store(&store).await;
    contract::run_all_track_cache(&store).await;
    contract::run_all_command_ledger(std::sync::Arc::new(store.clone())).await;
    contract::run_all_allowlist_store(std::sync::Arc::new(store)).await;
    let (store, seeder) = secrets();
    contract::run_all_secret_store(&store, &seeder).await;
}

#[tokio::test]
async fn message_received_too_often_moves_to_the_dead_letter_queue() {
    let client = aws_sdk_sqs::Client::new(&sdk_config());
    // Visibility 0: an unacknowledged message is receivable again at once.
    let queue = create_queue(&client, &unique_name("redrive"), Duration::ZERO).await.unwrap();
    let bus = SqsBus::new(client.clone(), &queue.url).with_visibility_timeout(Duration::ZERO);
    bus.publish(&command_bus::message(contract::random_guild(), 1)).await.unwrap();

    let mut receives = 0;
    while !bus.receive(10, Duration::from_secs(1)).await.unwrap().is_empty() {
        receives += 1;
        assert!(receives <= timmybot_aws::bus_sqs::MAX_RECEIVE_COUNT + 1, "never moved to the dead-letter queue");
    }
    assert_eq!(receives, timmybot_aws::bus_sqs::MAX_RECEIVE_COUNT);
    let dead = client.receive_message().queue_url(&queue.dead_letter_url).wait_time_seconds(1).send().await.unwrap();
    assert_eq!(dead.messages().len(), 1, "the message is in the dead-letter queue");

    let attributes = client
        .get_queue_attributes()
        .queue_url(&queue.url)
        .attribute_names(QueueAttributeName::FifoQueue)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attributes.attributes().and_then(|a| a.get(&QueueAttributeName::FifoQueue)).map(String::as_str),
        Some("true")
    );
}

#[tokio::test]
async fn bus_errors_never_reveal_the_interaction_token() {
    let client = aws_sdk_sqs::Client::new(&sdk_config());
    let missing = format!("{}/000000000000/{}.fifo", Emulators::from_env().moto_endpoint, unique_name("missing"));
    let bus = SqsBus::new(client, missing);
    let message = command_bus::message(contract::random_guild(), 1);
    let err = bus.publish(&message).await.unwrap_err();
    assert_eq!(err.kind(), BusErrorKind::Unavailable);
    let mut text = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        text.push_str(&format!(" {e} {e:?}"));
        source = e.source();
    }
    assert!(!text.contains(message.interaction_token.expose()), "token leaked into an error");
}

/// The start-check timer on moto's SQS: the message is delayed (not
/// received before its time, counted as delayed), then delivered.
mod start_check_sqs {
    use timmybot_aws::SqsStartCheckTimer;
    use timmybot_core::StartCheckTimer;
    use timmybot_test_support::aws_fixtures::{delayed_messages, standard_queue};

    use super::*;

    #[tokio::test]
    async fn a_check_arrives_after_its_delay_and_not_before() {
        let sdk = sdk_config();
        let client = aws_sdk_sqs::Client::new(&sdk);
        let url = standard_queue(&sdk, "start-check").await;
        let timer = SqsStartCheckTimer::new(client.clone(), url.clone());
        timer.check_after(Duration::from_secs(2)).await.unwrap();
        assert_eq!(delayed_messages(&sdk, &url).await, 1);
        let early = client.receive_message().queue_url(&url).wait_time_seconds(1).send().await.unwrap();
        assert!(early.messages().is_empty(), "delivered before its delay");
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let on_time = client.receive_message().queue_url(&url).wait_time_seconds(5).send().await.unwrap();
        assert_eq!(on_time.messages().len(), 1, "delivered once its delay passed");
        assert!(on_time.messages()[0].body().unwrap().contains("gateway-start"));
    }

    #[tokio::test]
    async fn the_deadline_check_is_one_delayed_message() {
        let sdk = sdk_config();
        let client = aws_sdk_sqs::Client::new(&sdk);
        let url = standard_queue(&sdk, "start-check").await;
        let timer = SqsStartCheckTimer::new(client.clone(), url.clone());
        timer.check_after(timmybot_core::START_DEADLINE).await.unwrap();
        assert_eq!(delayed_messages(&sdk, &url).await, 1);
        let early = client.receive_message().queue_url(&url).send().await.unwrap();
        assert!(early.messages().is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_queue_is_an_error_without_its_url() {
        let client = aws_sdk_sqs::Client::new(&sdk_config());
        let url = format!("{}/000000000000/no-such-queue-secretish", Emulators::from_env().moto_endpoint);
        let error = SqsStartCheckTimer::new(client, url).check_after(Duration::from_secs(1)).await.unwrap_err();
        assert!(!error.to_string().contains("no-such-queue"), "{error}");
    }
}
