//! The Rust half of `infra-cdk/deploy-contract.json`: the file the CDK stack
//! builds its environment variables, metric names and artifact paths from.
//!
//! Each component's lists here are the ones its config reader is tested to
//! read exactly (see the `declared_variables_are_exactly_the_ones_read`
//! tests), and the CDK tests check the stack sets only listed variables and
//! every required one. Together: the stack sets exactly names the Rust
//! config reads. The AWS half (tables, slot counter, queue) is checked in
//! `adapters/aws/tests/deploy_contract.rs`.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

fn contract() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra-cdk/deploy-contract.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("deploy contract readable")).expect("valid JSON")
}

fn names(value: &Value) -> BTreeSet<String> {
    value.as_array().expect("a list").iter().map(|v| v.as_str().expect("a name").to_owned()).collect()
}

fn set(lists: &[&[&str]]) -> BTreeSet<String> {
    lists.iter().flat_map(|l| l.iter()).map(|v| (*v).to_owned()).collect()
}

fn one_of(value: &Value) -> Vec<BTreeSet<String>> {
    value.as_array().expect("a list of groups").iter().map(names).collect()
}

#[test]
fn gateway_variables_are_the_binarys() {
    let contract = contract();
    let gateway = &contract["components"]["gateway"];
    assert_eq!(names(&gateway["required"]), set(&[&timmybot::config::REQUIRED_VARS]));
    assert_eq!(names(&gateway["optional"]), set(&[&timmybot::config::OPTIONAL_VARS]));
    assert!(one_of(&gateway["oneOf"]).is_empty());
}

#[test]
fn interactions_lambda_variables_are_its_configs() {
    let contract = contract();
    let lambda = &contract["components"]["interactions"];
    assert_eq!(names(&lambda["required"]), set(&[&interactions_lambda::REQUIRED_VARS]));
    assert_eq!(one_of(&lambda["oneOf"]), vec![set(&[&interactions_lambda::ONE_OF_VARS])]);
    assert_eq!(
        names(&lambda["optional"]),
        set(&[
            &interactions_lambda::OPTIONAL_VARS,
            &timmybot_allowlist::ALLOWLIST_VARS,
            &timmybot_sources::config::VARS
        ])
    );
}

#[test]
fn allowlist_admin_lambda_variables_are_its_configs() {
    let contract = contract();
    let lambda = &contract["components"]["allowlistAdmin"];
    let required = set(&[&allowlist_admin_lambda::REQUIRED_VARS]);
    let optional: BTreeSet<String> = set(&[&allowlist_admin_lambda::ALL_VARS]).difference(&required).cloned().collect();
    assert_eq!(names(&lambda["required"]), required);
    assert_eq!(names(&lambda["optional"]), optional);
    assert!(one_of(&lambda["oneOf"]).is_empty());
}

#[test]
fn start_check_lambda_variables_are_its_configs() {
    let contract = contract();
    let lambda = &contract["components"]["startCheck"];
    assert_eq!(names(&lambda["required"]), set(&[&start_check_lambda::REQUIRED_VARS]));
    assert_eq!(names(&lambda["optional"]), set(&[&start_check_lambda::OPTIONAL_VARS]));
    assert!(one_of(&lambda["oneOf"]).is_empty());
}

/// The track cache table the stack builds is the one the DynamoDB store
/// reads (its key and TTL attribute), and its name reaches both components
/// that use it through the variable their configs read: optional with a
/// default for the gateway (SQLite needs no table), required for the
/// interactions Lambda.
#[test]
fn track_cache_table_and_its_variable_are_the_stores() {
    let contract = contract();
    let table = &contract["tables"]["trackCache"];
    assert_eq!(table["partitionKey"], timmybot_aws::TRACK_CACHE_KEY_ATTRIBUTE);
    assert!(table.get("sortKey").is_none(), "the cache is keyed by its key alone: {table}");
    assert_eq!(table["ttlAttribute"], timmybot_aws::TTL_ATTRIBUTE);
    assert_eq!(table["indexes"], serde_json::json!([]));

    let var = interactions_lambda::TABLE_TRACK_CACHE_VAR;
    assert!(names(&contract["components"]["interactions"]["required"]).contains(var));
    assert!(names(&contract["components"]["gateway"]["optional"]).contains(var));
    assert!(!names(&contract["components"]["allowlistAdmin"]["optional"]).contains(var), "the admin API has no cache");
    let config = timmybot::config::Config::from_lookup(|name| match name {
        "DISCORD_TOKEN" => Some("t".into()),
        "DISCORD_APPLICATION_ID" => Some("1".into()),
        "DISCORD_PUBLIC_KEY" => Some("ab".repeat(32)),
        "TIMMYBOT_STORE" => Some("dynamodb".into()),
        n if n == var => Some("Timmybot-TrackCache".into()),
        _ => None,
    })
    .unwrap();
    let timmybot::config::StoreBackend::DynamoDb { track_cache_table, .. } = config.store else {
        panic!("the DynamoDB store");
    };
    assert_eq!(track_cache_table, "Timmybot-TrackCache");
}

/// `cargo lambda build` names each artifact folder after the binary.
#[test]
fn lambda_artifact_names_are_the_binaries() {
    let contract = contract();
    let lambdas = &contract["artifacts"]["lambdas"];
    assert_eq!(lambdas["interactions"], interactions_lambda::BIN_NAME);
    assert_eq!(lambdas["allowlistAdmin"], allowlist_admin_lambda::BIN_NAME);
    assert_eq!(lambdas["startCheck"], start_check_lambda::BIN_NAME);
    assert_eq!(lambdas.as_object().unwrap().len(), 3, "every Lambda is checked here");
}

/// The container runs these commands: the binary must know them (`--help`
/// of an unknown subcommand exits non-zero).
#[test]
fn gateway_commands_exist_in_the_binary() {
    let contract = contract();
    for field in ["gatewayCommand", "gatewayHealthCommand"] {
        let command = names(&contract["artifacts"][field]);
        let argv: Vec<&str> =
            contract["artifacts"][field].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(argv[0], "timmybot", "{field}: {command:?}");
        let status = Command::new(env!("CARGO_BIN_EXE_timmybot")).args(&argv[1..]).arg("--help").output().unwrap();
        assert!(status.status.success(), "{field}: `{}` is not a timmybot command", argv.join(" "));
    }
    let unknown = Command::new(env!("CARGO_BIN_EXE_timmybot")).args(["no-such-command", "--help"]).output().unwrap();
    assert!(!unknown.status.success());
}

/// The health command fails while nothing listens, as ECS needs to see.
#[test]
fn health_command_fails_when_the_platform_is_down() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_timmybot"))
        .arg("healthcheck")
        .env("TIMMYBOT_LISTEN", closed.to_string())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unreachable"));
}

/// Against a running platform whose shards are connected (the sandbox's fake
/// Discord), the health command succeeds, on the address TIMMYBOT_LISTEN names.
#[test]
fn health_command_passes_when_every_shard_is_connected() {
    use timmybot::sandbox::{Sandbox, SandboxOptions, trust_sandbox_ca};
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let sandbox = Sandbox::start(&ca, SandboxOptions::embedded(data.path().to_path_buf(), None)).await.unwrap();
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_timmybot"))
            .arg("healthcheck")
            .env("TIMMYBOT_LISTEN", sandbox.addr().to_string())
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        sandbox.shutdown().await.unwrap();
    });
}
