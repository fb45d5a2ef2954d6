//! The AWS half of `infra-cdk/deploy-contract.json`, checked against what
//! this crate really does on DynamoDB Local: the CDK stack builds its tables,
//! queue and slot-limit custom resource from that file, so a drift between
//! the file and the adapters would deploy tables the code cannot use.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeySchemaElement, KeyType, ProjectionType};
use serde_json::Value;
use timmybot_aws::{DynamoStore, DynamoTables, create_tables};
use timmybot_core::AllowlistStore;
use timmybot_test_support::emulators::{Emulators, unique_name};

fn contract() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra-cdk/deploy-contract.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("deploy contract readable")).expect("valid JSON")
}

fn key_name(schema: &[KeySchemaElement], key_type: KeyType) -> String {
    schema.iter().find(|k| k.key_type() == &key_type).map(|k| k.attribute_name().to_owned()).unwrap_or_default()
}

async fn tables() -> (Client, DynamoTables) {
    let client = Client::new(&Emulators::from_env().sdk_config());
    let tables = DynamoTables::with_prefix(&format!("{}-", unique_name("deploy")));
    create_tables(&client, &tables).await.expect("tables created");
    (client, tables)
}

/// Each table's keys, attribute types, indexes and TTL attribute as
/// `create_tables` makes them (the layout every store test runs on) equal
/// the contract's.
#[tokio::test]
async fn tables_match_the_contract() {
    let contract = contract();
    let (client, tables) = tables().await;
    let names = [
        ("guilds", &tables.guilds),
        ("guildQueues", &tables.guild_queues),
        ("trackCache", &tables.track_cache),
        ("users", &tables.users),
    ];
    let listed: Vec<&String> = contract["tables"].as_object().unwrap().keys().collect();
    assert_eq!(listed.len(), names.len(), "every table of the contract is checked here: {listed:?}");
    for (contract_name, table) in names {
        let expected = &contract["tables"][contract_name];
        let described = client.describe_table().table_name(table).send().await.unwrap();
        let description = described.table().unwrap();
        let types: HashMap<&str, &str> = description
            .attribute_definitions()
            .iter()
            .map(|a| (a.attribute_name(), a.attribute_type().as_str()))
            .collect();
        let schema = description.key_schema();
        assert_eq!(key_name(schema, KeyType::Hash), expected["partitionKey"], "{contract_name} partition key");
        // The contract's table keys are strings.
        assert_eq!(types[key_name(schema, KeyType::Hash).as_str()], "S");
        match expected.get("sortKey") {
            Some(sort_key) => {
                assert_eq!(key_name(schema, KeyType::Range), *sort_key, "{contract_name} sort key");
                assert_eq!(types[key_name(schema, KeyType::Range).as_str()], "S");
            }
            None => assert_eq!(key_name(schema, KeyType::Range), "", "{contract_name} has a sort key"),
        }

        let indexes = description.global_secondary_indexes();
        let expected_indexes = expected["indexes"].as_array().unwrap();
        assert_eq!(indexes.len(), expected_indexes.len(), "{contract_name} index count");
        for want in expected_indexes {
            let index = indexes.iter().find(|i| i.index_name() == want["name"].as_str()).expect("index exists");
            let schema = index.key_schema();
            for (key_type, field) in [(KeyType::Hash, "partitionKey"), (KeyType::Range, "sortKey")] {
                let name = key_name(schema, key_type);
                if want.get(field).is_none() {
                    assert_eq!(name, "", "{contract_name} index has a {field} the contract does not list");
                    continue;
                }
                assert_eq!(name, want[field]["name"], "{contract_name} index {field}");
                assert_eq!(types[name.as_str()], want[field]["type"], "{contract_name} index {field} type");
            }
            // The contract names the projection when it is not ALL.
            let projection = want.get("projection").and_then(Value::as_str).unwrap_or("ALL");
            let made = index.projection().and_then(|p| p.projection_type());
            assert_eq!(made, Some(&ProjectionType::from(projection)), "{contract_name} index projection");
        }

        let ttl = client.describe_time_to_live().table_name(table).send().await.unwrap();
        let attribute = ttl.time_to_live_description().and_then(|d| d.attribute_name()).unwrap();
        assert_eq!(attribute, expected["ttlAttribute"], "{contract_name} TTL attribute");
        assert_eq!(attribute, timmybot_aws::TTL_ATTRIBUTE);
    }
    assert_eq!(contract["tables"]["guilds"]["indexes"][0]["name"], timmybot_aws::ALLOWLIST_BY_STATE_INDEX);
    let active = &contract["tables"]["guildQueues"]["indexes"][0];
    assert_eq!(active["name"], timmybot_aws::ACTIVE_PLAYERS_INDEX);
    assert_eq!(active["partitionKey"]["name"], timmybot_aws::ACTIVE_ATTRIBUTE);
    assert_eq!(contract["tables"]["trackCache"]["partitionKey"], timmybot_aws::TRACK_CACHE_KEY_ATTRIBUTE);
}

/// The stack's deploy-time slot limit is an `UpdateItem` on the contract's
/// counter key; the store must read exactly that back, and removing the
/// attribute must mean no limit.
#[tokio::test]
async fn slot_limit_written_the_way_the_stack_writes_it_is_the_stores_limit() {
    let contract = contract();
    let counter = &contract["slotCounter"];
    assert_eq!(counter["table"], "guilds");
    let (client, tables) = tables().await;
    let key: HashMap<String, AttributeValue> = counter["key"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), AttributeValue::S(v.as_str().unwrap().to_owned())))
        .collect();
    // Exactly the request the stack's custom resource sends.
    let write = |expression: &str, limit: Option<&str>| {
        let request = client
            .update_item()
            .table_name(&tables.guilds)
            .set_key(Some(key.clone()))
            .update_expression(counter[expression].as_str().unwrap())
            .expression_attribute_names("#sv", counter["schemaVersionAttribute"].as_str().unwrap())
            .expression_attribute_names("#limit", counter["limitAttribute"].as_str().unwrap())
            .expression_attribute_values(":sv", AttributeValue::N(counter["schemaVersion"].to_string()));
        match limit {
            Some(limit) => request.expression_attribute_values(":limit", AttributeValue::N(limit.into())),
            None => request,
        }
    };
    assert_eq!(counter["schemaVersion"], timmybot_core::SCHEMA_VERSION);
    write("setExpression", Some("3")).send().await.unwrap();
    let store = DynamoStore::new(client.clone(), tables.clone());
    let usage = store.slot_usage().await.unwrap();
    assert_eq!((usage.approved, usage.limit), (0, Some(3)));

    // The store's own count survives the stack changing the limit.
    store.set_slot_limit(Some(5)).await.unwrap();
    write("removeExpression", None).send().await.unwrap();
    assert_eq!(store.slot_usage().await.unwrap().limit, None);
}

#[test]
fn command_queue_attributes_match_the_bus() {
    let contract = contract();
    let queue = &contract["commandQueue"];
    assert_eq!(queue["maxReceiveCount"], timmybot_aws::bus_sqs::MAX_RECEIVE_COUNT);
    // The bus sends an explicit deduplication id (the interaction id).
    assert_eq!(queue["contentBasedDeduplication"], false);
    assert_eq!(queue["visibilityTimeoutSeconds"], timmybot_aws::bus_sqs::COMMAND_VISIBILITY_TIMEOUT.as_secs());
}
