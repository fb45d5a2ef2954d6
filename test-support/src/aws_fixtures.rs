//! Resources the scale-to-zero tests make on moto: the gateway's ECS
//! service, a standard (start-check) queue, and how many messages wait out
//! their delay on it.

use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::emulators::unique_name;

/// The name every test gives the gateway's ECS service.
pub const GATEWAY_SERVICE: &str = "gateway";

/// A new cluster with a [`GATEWAY_SERVICE`] at `desired` tasks; returns the
/// cluster's name. moto launches nothing and reports the running count
/// equal to the desired one.
pub async fn ecs_gateway_service(sdk: &SdkConfig, desired: i32) -> String {
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let cluster = unique_name("cluster");
    ecs.create_cluster().cluster_name(&cluster).send().await.expect("cluster");
    let container =
        aws_sdk_ecs::types::ContainerDefinition::builder().name("gateway").image("timmybot:test").memory(512).build();
    ecs.register_task_definition().family(&cluster).container_definitions(container).send().await.expect("task");
    // Bridge networking: moto answers awsvpc without security groups with a 500.
    ecs.create_service()
        .cluster(&cluster)
        .service_name(GATEWAY_SERVICE)
        .task_definition(&cluster)
        .desired_count(desired)
        .send()
        .await
        .expect("service");
    cluster
}

/// A new standard queue (per-message delays work on it); returns its URL.
pub async fn standard_queue(sdk: &SdkConfig, label: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let created = sqs.create_queue().queue_name(unique_name(label)).send().await.expect("queue");
    created.queue_url.expect("a queue url")
}

/// The messages on the queue at `url` still waiting out their delay.
pub async fn delayed_messages(sdk: &SdkConfig, url: &str) -> u64 {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let delayed = QueueAttributeName::ApproximateNumberOfMessagesDelayed;
    let answer = sqs.get_queue_attributes().queue_url(url).attribute_names(delayed.clone()).send().await.unwrap();
    answer.attributes.unwrap_or_default()[&delayed].parse().expect("a count")
}
