//! The [`CommandBus`] contract: per-guild order, deduplication by
//! interaction id, acknowledgement, redelivery, extending and releasing a
//! delivery, bounded waits.
//!
//! Every behaviour expects a fresh, empty bus whose visibility timeout is
//! [`TEST_VISIBILITY_TIMEOUT`].

use std::time::{Duration, Instant};

use async_trait::async_trait;
use timmybot_core::player::Placement;
use timmybot_core::{
    ApplicationId, BusDelivery, BusErrorKind, BusMessage, ChannelId, CommandBus, CommandOrigin, GuildId, InteractionId,
    Secret, VoiceCommand,
};

use super::{random_guild, random_interaction, random_user};

/// The visibility timeout the bus under test must be built with: short, so
/// redelivery is observable, and long enough that a receive-then-ack on a
/// busy two-core machine never races it.
pub const TEST_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a behaviour waits for messages it expects before failing.
const PATIENCE: Duration = Duration::from_secs(15);

/// Slack allowed beyond a receive's `wait` (network, emulator scheduling).
const WAIT_SLACK: Duration = Duration::from_secs(3);

/// Puts a raw body on the bus below the port, for adapters whose transport
/// can carry bytes the port never produces (SQS).
#[async_trait]
pub trait RawPublisher: Send + Sync {
    /// Sends `body` as-is for `guild`, deduplicated by `dedup_id`.
    async fn publish_raw(&self, guild: GuildId, dedup_id: &str, body: &str);
}

/// A command for `guild`; `n` makes it recognisable.
pub fn message(guild: GuildId, n: u32) -> BusMessage {
    message_with_id(guild, random_interaction(), n)
}

fn message_with_id(guild: GuildId, interaction: InteractionId, n: u32) -> BusMessage {
    BusMessage {
        guild_id: guild,
        channel_id: ChannelId::new(u64::from(n) + 1000),
        user_id: random_user(),
        interaction_id: interaction,
        application_id: ApplicationId::new(42).expect("non-zero"),
        interaction_token: Secret::new(format!("aW50ZXJhY3Rpb24.token-{n}")),
        command: VoiceCommand::Play {
            query: format!("https://radio.example.com/{n}.mp3?a=1&b=ü"),
            placement: Placement::End,
        },
        origin: CommandOrigin::SlashCommand,
        member_roles: Vec::new(),
        member_permissions: 0,
    }
}

async fn publish(bus: &dyn CommandBus, message: &BusMessage) {
    bus.publish(message).await.expect("publish succeeds");
}

async fn receive(bus: &dyn CommandBus, max: usize, wait: Duration) -> Vec<BusDelivery> {
    bus.receive(max, wait).await.expect("receive succeeds")
}

async fn ack(bus: &dyn CommandBus, delivery: &BusDelivery) {
    bus.ack(delivery).await.expect("ack succeeds");
}

/// Receives and acknowledges until `until` says enough or [`PATIENCE`] runs
/// out; returns the messages in the order received.
async fn drain(bus: &dyn CommandBus, until: impl Fn(&[BusMessage]) -> bool) -> Vec<BusMessage> {
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    while !until(&got) && Instant::now() < deadline {
        for delivery in receive(bus, 10, Duration::from_secs(1)).await {
            ack(bus, &delivery).await;
            got.push(delivery.message);
        }
    }
    got
}

fn numbers(messages: &[BusMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.channel_id.map_or(0, |c| c.get() - 1000)).collect()
}

/// A receive on an empty bus returns nothing, and returns once `wait` is up.
pub async fn receive_on_empty_bus_returns_empty_in_time(bus: &dyn CommandBus) {
    let wait = Duration::from_secs(1);
    let started = Instant::now();
    assert!(receive(bus, 10, wait).await.is_empty());
    let took = started.elapsed();
    assert!(took < wait + WAIT_SLACK, "receive took {took:?} for a {wait:?} wait");
}

/// Asking for no messages returns none, even when some wait.
pub async fn receive_with_zero_max_returns_nothing(bus: &dyn CommandBus) {
    publish(bus, &message(random_guild(), 1)).await;
    assert!(receive(bus, 0, Duration::ZERO).await.is_empty());
    assert_eq!(drain(bus, |got| !got.is_empty()).await.len(), 1, "the message is still there");
}

/// A message arrives whole, token included.
pub async fn published_message_is_received_intact(bus: &dyn CommandBus) {
    let sent = message(random_guild(), 7);
    publish(bus, &sent).await;
    let got = drain(bus, |got| !got.is_empty()).await;
    assert_eq!(got.len(), 1);
    assert!(got[0] == sent, "received message differs from the one published");
}

/// Messages of one guild are received in the order they were published,
/// whatever other guilds do in between.
pub async fn messages_of_a_guild_arrive_in_publish_order(bus: &dyn CommandBus) {
    let (a, b) = (random_guild(), random_guild());
    for n in 0..6 {
        publish(bus, &message(a, n)).await;
        publish(bus, &message(b, 100 + n)).await;
    }
    let got = drain(bus, |got| got.len() >= 12).await;
    let of = |guild: GuildId| numbers(&got.iter().filter(|m| m.guild_id == guild).cloned().collect::<Vec<_>>());
    assert_eq!(of(a), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(of(b), vec![100, 101, 102, 103, 104, 105]);
}

/// While a guild's message is received but not acknowledged, its later
/// messages are held back; the acknowledgement releases them.
pub async fn later_message_of_a_guild_waits_for_the_earlier_ack(bus: &dyn CommandBus) {
    let guild = random_guild();
    publish(bus, &message(guild, 1)).await;
    publish(bus, &message(guild, 2)).await;
    let first = receive(bus, 1, Duration::from_secs(1)).await;
    assert_eq!(numbers(&first.iter().map(|d| d.message.clone()).collect::<Vec<_>>()), vec![1]);
    // Well within the visibility timeout: the first is still in flight.
    assert!(receive(bus, 10, Duration::ZERO).await.is_empty(), "second message delivered before the first was acked");
    ack(bus, &first[0]).await;
    let rest = drain(bus, |got| !got.is_empty()).await;
    assert_eq!(numbers(&rest), vec![2]);
}

/// One guild's unacknowledged message does not hold up other guilds.
pub async fn other_guilds_flow_while_one_is_busy(bus: &dyn CommandBus) {
    let (a, b) = (random_guild(), random_guild());
    publish(bus, &message(a, 1)).await;
    publish(bus, &message(a, 2)).await;
    publish(bus, &message(b, 3)).await;
    let held = receive(bus, 1, Duration::from_secs(1)).await;
    assert_eq!(held.len(), 1);
    let held_guild = held[0].message.guild_id;
    let other = if held_guild == a { b } else { a };
    let got = drain(bus, |got| got.iter().any(|m| m.guild_id == other)).await;
    assert!(got.iter().any(|m| m.guild_id == other), "the other guild's message did not flow");
    assert!(got.iter().all(|m| m.guild_id == other), "the busy guild's next message jumped ahead");
}

/// A receive never returns more than asked.
pub async fn receive_returns_at_most_max(bus: &dyn CommandBus) {
    for n in 0..5 {
        publish(bus, &message(random_guild(), n)).await;
    }
    let got = receive(bus, 2, Duration::from_secs(1)).await;
    assert!(!got.is_empty() && got.len() <= 2, "asked for 2, got {}", got.len());
    for delivery in &got {
        ack(bus, delivery).await;
    }
    let rest = drain(bus, |rest| got.len() + rest.len() >= 5).await;
    assert_eq!(got.len() + rest.len(), 5);
}

/// Publishing the same interaction twice delivers it once.
pub async fn duplicate_interaction_is_delivered_once(bus: &dyn CommandBus) {
    let guild = random_guild();
    let first = message(guild, 1);
    publish(bus, &first).await;
    // A retry of the same interaction, even with a different body.
    publish(bus, &message_with_id(guild, first.interaction_id, 2)).await;
    // Same guild, so a duplicate would arrive before this one.
    publish(bus, &message(guild, 3)).await;
    let got = drain(bus, |got| numbers(got).contains(&3)).await;
    assert_eq!(numbers(&got), vec![1, 3]);
}

/// An interaction already handled and acknowledged is still a duplicate
/// (SQS keeps a deduplication id five minutes, deleted or not).
///
/// Not in [`run_all_command_bus`] nor the macro: moto does not implement it.
pub async fn duplicate_after_ack_is_still_dropped(bus: &dyn CommandBus) {
    let guild = random_guild();
    let first = message(guild, 1);
    publish(bus, &first).await;
    assert_eq!(numbers(&drain(bus, |got| !got.is_empty()).await), vec![1]);
    publish(bus, &first).await;
    publish(bus, &message(guild, 2)).await;
    let got = drain(bus, |got| numbers(got).contains(&2)).await;
    assert_eq!(numbers(&got), vec![2]);
}

/// An acknowledged message does not come back, even after the visibility
/// timeout.
pub async fn acked_message_is_not_received_again(bus: &dyn CommandBus) {
    publish(bus, &message(random_guild(), 1)).await;
    let got = drain(bus, |got| !got.is_empty()).await;
    assert_eq!(got.len(), 1);
    let later = receive(bus, 10, TEST_VISIBILITY_TIMEOUT + Duration::from_secs(1)).await;
    assert!(later.is_empty(), "an acked message came back");
}

/// A message received but never acknowledged is received again after the
/// visibility timeout, under a new receipt.
pub async fn unacked_message_comes_back_after_visibility_timeout(bus: &dyn CommandBus) {
    let sent = message(random_guild(), 1);
    publish(bus, &sent).await;
    let first = receive(bus, 10, Duration::from_secs(1)).await;
    assert_eq!(first.len(), 1);
    let deadline = Instant::now() + TEST_VISIBILITY_TIMEOUT + PATIENCE;
    let again = loop {
        let got = receive(bus, 10, Duration::from_secs(1)).await;
        if !got.is_empty() || Instant::now() > deadline {
            break got;
        }
    };
    assert_eq!(again.len(), 1, "the unacked message did not come back");
    assert!(again[0].message == sent, "redelivered message differs");
    ack(bus, &again[0]).await;
}

/// An extended delivery stays invisible past the timeout it was received
/// with, and can still be acknowledged; the bus reports the timeout it
/// receives with.
pub async fn extended_message_is_not_received_again_after_the_original_timeout(bus: &dyn CommandBus) {
    assert_eq!(bus.visibility_timeout(), TEST_VISIBILITY_TIMEOUT, "the bus reports its visibility timeout");
    publish(bus, &message(random_guild(), 1)).await;
    let got = receive(bus, 10, Duration::from_secs(1)).await;
    assert_eq!(got.len(), 1);
    bus.extend(&got[0], TEST_VISIBILITY_TIMEOUT * 4).await.expect("extend succeeds");
    // Well past the original timeout, well before the extended one.
    let later = receive(bus, 10, TEST_VISIBILITY_TIMEOUT + Duration::from_secs(2)).await;
    assert!(later.is_empty(), "an extended message came back after the original timeout");
    ack(bus, &got[0]).await;
    let after = receive(bus, 10, TEST_VISIBILITY_TIMEOUT + Duration::from_secs(1)).await;
    assert!(after.is_empty(), "an acked message came back");
}

/// A released delivery is receivable again at once, long before its
/// visibility timeout, under a new receipt.
pub async fn released_message_is_received_again_at_once(bus: &dyn CommandBus) {
    let sent = message(random_guild(), 1);
    publish(bus, &sent).await;
    let got = receive(bus, 10, Duration::from_secs(1)).await;
    assert_eq!(got.len(), 1);
    let released = Instant::now();
    bus.release(&got[0]).await.expect("release succeeds");
    let again = receive(bus, 10, Duration::from_secs(1)).await;
    let took = released.elapsed();
    assert_eq!(again.len(), 1, "the released message was not received again at once");
    assert!(took < TEST_VISIBILITY_TIMEOUT, "received again only after {took:?}");
    assert!(again[0].message == sent, "the released message differs");
    ack(bus, &again[0]).await;
}

/// A released delivery goes back to its place: its guild's later messages
/// still come after it.
pub async fn released_message_keeps_its_place_in_the_guild_order(bus: &dyn CommandBus) {
    let guild = random_guild();
    publish(bus, &message(guild, 1)).await;
    publish(bus, &message(guild, 2)).await;
    let first = receive(bus, 1, Duration::from_secs(1)).await;
    assert_eq!(numbers(&first.iter().map(|d| d.message.clone()).collect::<Vec<_>>()), vec![1]);
    bus.release(&first[0]).await.expect("release succeeds");
    let got = drain(bus, |got| got.len() >= 2).await;
    assert_eq!(numbers(&got), vec![1, 2]);
}

/// Extending or releasing a delivery already acknowledged fails as not
/// held, and brings nothing back.
pub async fn extend_or_release_of_an_acked_delivery_is_not_held(bus: &dyn CommandBus) {
    publish(bus, &message(random_guild(), 1)).await;
    let got = receive(bus, 10, Duration::from_secs(1)).await;
    assert_eq!(got.len(), 1);
    ack(bus, &got[0]).await;
    let extended = bus.extend(&got[0], TEST_VISIBILITY_TIMEOUT).await.expect_err("extend of an acked delivery");
    assert_eq!(extended.kind(), BusErrorKind::NotHeld, "{extended:?}");
    let released = bus.release(&got[0]).await.expect_err("release of an acked delivery");
    assert_eq!(released.kind(), BusErrorKind::NotHeld, "{released:?}");
    assert!(receive(bus, 10, Duration::from_secs(1)).await.is_empty(), "an acked message came back");
}

/// A body the port cannot decode is dropped, not returned and not retried,
/// and the guild's later messages still flow. Needs a way below the port.
pub async fn malformed_message_is_dropped_and_the_guild_keeps_flowing(bus: &dyn CommandBus, raw: &dyn RawPublisher) {
    let guild = random_guild();
    raw.publish_raw(guild, "garbage-1", "{not json").await;
    raw.publish_raw(guild, "garbage-2", r#"{"v":1,"guild_id":"1"}"#).await;
    publish(bus, &message(guild, 5)).await;
    let got = drain(bus, |got| numbers(got).contains(&5)).await;
    assert_eq!(numbers(&got), vec![5]);
    let later = receive(bus, 10, TEST_VISIBILITY_TIMEOUT + Duration::from_secs(1)).await;
    assert!(later.is_empty(), "a malformed message came back");
}

/// The outstanding count is every message published and not acknowledged,
/// waiting or in flight: zero on a fresh bus, and zero again after the acks.
pub async fn outstanding_counts_waiting_and_in_flight_until_acked(bus: &dyn CommandBus) {
    assert_eq!(bus.outstanding().await.expect("outstanding"), 0, "a fresh bus has nothing outstanding");
    let guild = random_guild();
    publish(bus, &message(guild, 1)).await;
    publish(bus, &message(random_guild(), 2)).await;
    assert_eq!(bus.outstanding().await.expect("outstanding"), 2, "both wait");
    let first = receive(bus, 1, Duration::from_secs(1)).await;
    assert_eq!(first.len(), 1);
    assert_eq!(bus.outstanding().await.expect("outstanding"), 2, "one waits, one is in flight");
    ack(bus, &first[0]).await;
    assert_eq!(bus.outstanding().await.expect("outstanding"), 1, "the acknowledged one is gone");
    drain(bus, |got| !got.is_empty()).await;
    assert_eq!(bus.outstanding().await.expect("outstanding"), 0, "nothing left");
}

/// Runs every behaviour above that every backend supports, each on a fresh
/// bus from `new_bus` (built with [`TEST_VISIBILITY_TIMEOUT`]); see
/// [`duplicate_after_ack_is_still_dropped`] and
/// [`malformed_message_is_dropped_and_the_guild_keeps_flowing`] for the two
/// left out.
pub async fn run_all_command_bus<B: CommandBus>(new_bus: impl AsyncFn() -> B) {
    receive_on_empty_bus_returns_empty_in_time(&new_bus().await).await;
    receive_with_zero_max_returns_nothing(&new_bus().await).await;
    published_message_is_received_intact(&new_bus().await).await;
    messages_of_a_guild_arrive_in_publish_order(&new_bus().await).await;
    later_message_of_a_guild_waits_for_the_earlier_ack(&new_bus().await).await;
    other_guilds_flow_while_one_is_busy(&new_bus().await).await;
    receive_returns_at_most_max(&new_bus().await).await;
    duplicate_interaction_is_delivered_once(&new_bus().await).await;
    acked_message_is_not_received_again(&new_bus().await).await;
    unacked_message_comes_back_after_visibility_timeout(&new_bus().await).await;
    outstanding_counts_waiting_and_in_flight_until_acked(&new_bus().await).await;
    extended_message_is_not_received_again_after_the_original_timeout(&new_bus().await).await;
    released_message_is_received_again_at_once(&new_bus().await).await;
    released_message_keeps_its_place_in_the_guild_order(&new_bus().await).await;
    extend_or_release_of_an_acked_delivery_is_not_held(&new_bus().await).await;
}
