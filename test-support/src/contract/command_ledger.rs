//! The [`CommandLedger`] contract: the first record of a command wins, a
//! second reports it already there, guilds and interactions are
//! independent, and an expired entry does not count.
//!
//! Times are the wall clock plus offsets (see [`super::track_cache`]): a
//! backend may delete expired entries on its own by the wall clock.

use timmybot_core::CommandLedger;

use super::track_cache::now_ms;
use super::{random_guild, random_interaction};

/// One hour, in milliseconds.
const HOUR_MS: u64 = 60 * 60 * 1000;

/// A command never recorded has not run.
pub async fn unrecorded_command_has_not_run(ledger: &dyn CommandLedger) {
    let ran = ledger.already_ran(random_guild(), random_interaction(), now_ms()).await.expect("read succeeds");
    assert!(!ran);
}

/// The first record wins and is read back; a second record of the same
/// command reports that it was there already.
pub async fn first_record_wins_and_a_second_reports_already(ledger: &dyn CommandLedger) {
    let (guild, interaction) = (random_guild(), random_interaction());
    let now = now_ms();
    assert!(ledger.record_ran(guild, interaction, now, now + HOUR_MS).await.unwrap(), "the first record wins");
    assert!(ledger.already_ran(guild, interaction, now).await.unwrap());
    assert!(!ledger.record_ran(guild, interaction, now + 1, now + 2 * HOUR_MS).await.unwrap(), "the second is told");
    // The losing record changed nothing: the first expiry still holds.
    assert!(!ledger.already_ran(guild, interaction, now + HOUR_MS).await.unwrap(), "the first expiry still applies");
}

/// One guild's entry says nothing of another guild's command with the same
/// interaction id, nor of another interaction in the same guild.
pub async fn guilds_and_interactions_are_independent(ledger: &dyn CommandLedger) {
    let (guild, other_guild, interaction) = (random_guild(), random_guild(), random_interaction());
    let now = now_ms();
    assert!(ledger.record_ran(guild, interaction, now, now + HOUR_MS).await.unwrap());
    assert!(!ledger.already_ran(other_guild, interaction, now).await.unwrap(), "another guild");
    assert!(!ledger.already_ran(guild, random_interaction(), now).await.unwrap(), "another interaction");
    assert!(ledger.record_ran(other_guild, interaction, now, now + HOUR_MS).await.unwrap(), "another guild records");
}

/// An entry counts while `now < expires_at`, to the millisecond; once it
/// expired, it does not count and a new record wins again.
pub async fn expired_entries_do_not_count(ledger: &dyn CommandLedger) {
    let (guild, interaction) = (random_guild(), random_interaction());
    let now = now_ms();
    // Not on a whole second, so a store rounding to seconds is caught.
    let expires_at = now + HOUR_MS + 337;
    assert!(ledger.record_ran(guild, interaction, now, expires_at).await.unwrap());
    assert!(ledger.already_ran(guild, interaction, expires_at - 1).await.unwrap(), "alive 1 ms before");
    assert!(!ledger.already_ran(guild, interaction, expires_at).await.unwrap(), "expired at the boundary");
    assert!(ledger.record_ran(guild, interaction, expires_at, expires_at + HOUR_MS).await.unwrap(), "recorded anew");
    assert!(ledger.already_ran(guild, interaction, expires_at + 1).await.unwrap(), "the new entry counts");

    let stale = random_interaction();
    assert!(ledger.record_ran(guild, stale, now, now - 1).await.unwrap());
    assert!(!ledger.already_ran(guild, stale, now).await.unwrap(), "an entry recorded already expired never counts");
}

/// Runs every behaviour of this suite on `ledger`.
pub async fn run_all_command_ledger(ledger: std::sync::Arc<dyn CommandLedger>) {
    let ledger_ref: &dyn CommandLedger = ledger.as_ref();
    unrecorded_command_has_not_run(ledger_ref).await;
    first_record_wins_and_a_second_reports_already(ledger_ref).await;
    guilds_and_interactions_are_independent(ledger_ref).await;
    expired_entries_do_not_count(ledger_ref).await;
    concurrent_records_one_wins(ledger).await;
}

/// Of several recorders of one command at once (two gateway tasks handed
/// the same redelivered message), exactly one wins.
pub async fn concurrent_records_one_wins(ledger: std::sync::Arc<dyn CommandLedger>) {
    let (guild, interaction) = (random_guild(), random_interaction());
    let now = now_ms();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let ledger = ledger.clone();
            tokio::spawn(async move { ledger.record_ran(guild, interaction, now, now + HOUR_MS).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.expect("recorder panicked"));
    }
    assert_eq!(wins, 1, "exactly one recorder wins");
}
