//! The metric names the CDK stack's dashboard and alarms read
//! (`infra-cdk/deploy-contract.json`, section `metrics`) are the ones the
//! code writes: the namespace and dimension of this adapter and the core's
//! service and metric names.

use serde_json::Value;
use timmybot_core::metrics::{
    ACTIVE_PLAYERS, COMMAND_ERRORS, COMMANDS_PROCESSED, FRAME_DEFICIT, FRAMES_NULLED, FRAMES_SENT, GATEWAY_SERVICE,
    INTERACTION_ERRORS, INTERACTION_LATENCY, INTERACTIONS, INTERACTIONS_SERVICE,
};
use timmybot_emf::{NAMESPACE, SERVICE_DIMENSION};

fn contract_metrics() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra-cdk/deploy-contract.json");
    let text = std::fs::read_to_string(path).expect("the deploy contract");
    let contract: Value = serde_json::from_str(&text).expect("the deploy contract is JSON");
    contract["metrics"].clone()
}

#[test]
fn the_contracts_metric_names_are_the_ones_written() {
    let m = contract_metrics();
    assert_eq!(m["namespace"], NAMESPACE);
    assert_eq!(m["serviceDimension"], SERVICE_DIMENSION);
    let interactions = &m["interactions"];
    for (key, name) in [
        ("service", INTERACTIONS_SERVICE),
        ("latency", INTERACTION_LATENCY),
        ("errors", INTERACTION_ERRORS),
        ("count", INTERACTIONS),
    ] {
        assert_eq!(interactions[key], name, "metrics.interactions.{key}");
    }
    let gateway = &m["gateway"];
    for (key, name) in [
        ("service", GATEWAY_SERVICE),
        ("players", ACTIVE_PLAYERS),
        ("framesSent", FRAMES_SENT),
        ("framesNulled", FRAMES_NULLED),
        ("frameDeficit", FRAME_DEFICIT),
        ("commands", COMMANDS_PROCESSED),
        ("commandErrors", COMMAND_ERRORS),
    ] {
        assert_eq!(gateway[key], name, "metrics.gateway.{key}");
    }
}
