//! The [`AllowlistStore`] contract: versioned, guild-partitioned records,
//! each change atomic with its audit event and its slot.
//!
//! Most behaviours only touch random guilds and so may share one store. The
//! slot and list behaviours read across guilds; they measure relative to
//! what they find (slot limits are set from the current approved count,
//! list pages are filtered to the behaviour's own guilds), so they also pass
//! on a store other behaviours used before — but not while another
//! behaviour changes slots at the same time. The macro gives every
//! behaviour a fresh store; [`run_all_allowlist_store`] runs them one by one.

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use timmybot_core::{
    Actor, AllowlistChange, AllowlistEvent, AllowlistPage, AllowlistRecord, AllowlistState, AllowlistStore, GuildId,
    MessageRef, SlotEffect, SlotUsage, StoreErrorKind,
};

use super::{random_channel, random_guild, random_user};

/// A plausible "now" (Unix seconds); tests move forward from it.
const T0: u64 = 1_790_000_000;

/// A first request with every request field set.
fn request(guild: GuildId, at: u64) -> AllowlistRecord {
    AllowlistRecord {
        guild_id: guild,
        version: 0,
        state: AllowlistState::Pending,
        guild_name: Some("Chœur « Ünïcødé » 🎶 \"quoted\"".to_owned()),
        member_count: Some(1_234),
        requested_by: Some(random_user()),
        request_channel: Some(random_channel()),
        reason: Some("our choir wants radio — « ça marche » 🎶 \"please\"".to_owned()),
        requested_at: at,
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        maintainer_notice: None,
        updated_at: at,
    }
}

/// The change that stores `record` (read at `record.version`) in `to`,
/// with an event from its current state.
fn change(record: &AllowlistRecord, to: AllowlistState, at: u64, slot: SlotEffect) -> AllowlistChange {
    let from = (record.version > 0).then_some(record.state);
    let mut next = AllowlistRecord { state: to, updated_at: at, ..record.clone() };
    let actor = if to == AllowlistState::Pending {
        Actor::DiscordUser(record.requested_by.unwrap_or_else(random_user))
    } else {
        next.decided_by = Some(Actor::Iam("arn:aws:iam::123456789012:user/maint".into()));
        next.decided_at = Some(at);
        next.decision_reason = Some(format!("decided {to} — ✓"));
        next.decided_by.clone().expect("just set")
    };
    let event = AllowlistEvent {
        guild_id: record.guild_id,
        seq: record.version + 1,
        at,
        actor,
        from,
        to,
        reason: Some(format!("to {to} « ok »")),
        forced: matches!(slot, SlotEffect::Take { force: true }),
    };
    AllowlistChange { record: next, event: Some(event), slot }
}

/// A new guild's request: a pending record at version 0.
fn ask(guild: GuildId, at: u64) -> AllowlistChange {
    change(&request(guild, at), AllowlistState::Pending, at, SlotEffect::Keep)
}

fn approve(record: &AllowlistRecord, at: u64) -> AllowlistChange {
    change(record, AllowlistState::Approved, at, SlotEffect::Take { force: false })
}

async fn get(store: &dyn AllowlistStore, guild: GuildId) -> Option<AllowlistRecord> {
    store.get(guild).await.expect("get succeeds")
}

async fn history(store: &dyn AllowlistStore, guild: GuildId) -> Vec<AllowlistEvent> {
    store.history(guild, 100).await.expect("history succeeds")
}

async fn usage(store: &dyn AllowlistStore) -> SlotUsage {
    store.slot_usage().await.expect("slot_usage succeeds")
}

async fn set_limit(store: &dyn AllowlistStore, limit: Option<u64>) -> SlotUsage {
    let usage = store.set_slot_limit(limit).await.expect("set_slot_limit succeeds");
    assert_eq!(usage.limit, limit, "set_slot_limit returns the new limit");
    usage
}

/// Applies `change` and returns the record as stored (with its new version).
async fn apply(store: &dyn AllowlistStore, change: &AllowlistChange) -> AllowlistRecord {
    let version = store.apply(change).await.expect("apply succeeds");
    assert_eq!(version, change.record.version + 1, "apply returns the next version");
    AllowlistRecord { version, ..change.record.clone() }
}

/// Asks for `guild` and returns the stored pending record.
async fn pending(store: &dyn AllowlistStore, guild: GuildId, at: u64) -> AllowlistRecord {
    apply(store, &ask(guild, at)).await
}

async fn assert_fails(store: &dyn AllowlistStore, change: &AllowlistChange, kind: StoreErrorKind) {
    let err = store.apply(change).await.expect_err("the change must be refused");
    assert_eq!(err.kind(), kind, "{err:?}");
}

async fn list(store: &dyn AllowlistStore, state: AllowlistState, limit: usize, cursor: Option<&str>) -> AllowlistPage {
    store.list(state, limit, cursor).await.expect("list succeeds")
}

/// Every record in `state` across all pages of `limit`, in page order.
/// Fails when a page is over the limit or the pages never end.
async fn list_all(store: &dyn AllowlistStore, state: AllowlistState, limit: usize) -> (Vec<AllowlistRecord>, usize) {
    let mut records = Vec::new();
    let mut cursor: Option<String> = None;
    for pages in 1..=1_000 {
        let page = list(store, state, limit, cursor.as_deref()).await;
        assert!(page.records.len() <= limit, "a page holds at most `limit` records");
        records.extend(page.records);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return (records, pages),
        }
    }
    panic!("list never reached a last page");
}

/// A guild that never asked has no record and no history.
pub async fn get_missing_guild_is_none(store: &dyn AllowlistStore) {
    let guild = random_guild();
    assert_eq!(get(store, guild).await, None);
    assert_eq!(history(store, guild).await, Vec::new());
}

/// The first change is at version 0 and stores version 1; a first change
/// claiming any other version is a conflict and creates nothing.
pub async fn first_apply_needs_version_zero_and_returns_one(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let mut ahead = ask(guild, T0);
    ahead.record.version = 3;
    ahead.event.as_mut().expect("event").seq = 4;
    assert_fails(store, &ahead, StoreErrorKind::Conflict).await;
    assert_eq!(get(store, guild).await, None, "a refused first change creates nothing");
    assert_eq!(history(store, guild).await, Vec::new());

    let stored = pending(store, guild, T0).await;
    assert_eq!(stored.version, 1);
    assert_eq!(get(store, guild).await.map(|r| r.version), Some(1));
}

/// What is read is exactly what was applied, every field, through every
/// state; each event reads back as applied.
pub async fn round_trip_keeps_every_field(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let first = ask(guild, T0);
    let mut record = apply(store, &first).await;
    assert_eq!(get(store, guild).await, Some(record.clone()));
    let mut events = vec![first.event.expect("event")];

    let mut approved = approve(&record, T0 + 60);
    approved.record.maintainer_notice = Some(MessageRef { channel_id: random_channel(), message_id: u64::MAX - 7 });
    approved.slot = SlotEffect::Take { force: true };
    approved.event.as_mut().expect("event").forced = true;
    record = apply(store, &approved).await;
    assert_eq!(record.decided_by, Some(Actor::Iam("arn:aws:iam::123456789012:user/maint".into())));
    assert_eq!(get(store, guild).await, Some(record.clone()));
    events.push(approved.event.expect("event"));

    for (n, (to, slot, actor)) in [
        (AllowlistState::Revoked, SlotEffect::Release, Actor::AdminToken),
        (AllowlistState::Denied, SlotEffect::Keep, Actor::System),
        (AllowlistState::Pending, SlotEffect::Keep, Actor::DiscordUser(random_user())),
    ]
    .into_iter()
    .enumerate()
    {
        let mut next = change(&record, to, T0 + 120 + n as u64, slot);
        next.event.as_mut().expect("event").actor = actor;
        record = apply(store, &next).await;
        assert_eq!(get(store, guild).await, Some(record.clone()));
        events.push(next.event.expect("event"));
    }
    events.reverse();
    assert_eq!(history(store, guild).await, events, "events read back as applied, newest first");
}

/// Absent optional fields stay absent, in records and events.
pub async fn record_without_optional_fields_round_trips(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let record = AllowlistRecord {
        guild_id: guild,
        version: 0,
        state: AllowlistState::Pending,
        guild_name: None,
        member_count: None,
        requested_by: None,
        request_channel: None,
        reason: None,
        requested_at: 0,
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        maintainer_notice: None,
        updated_at: T0,
    };
    let event = AllowlistEvent {
        guild_id: guild,
        seq: 1,
        at: T0,
        actor: Actor::System,
        from: None,
        to: AllowlistState::Pending,
        reason: None,
        forced: false,
    };
    let stored = apply(store, &AllowlistChange { record, event: Some(event.clone()), slot: SlotEffect::Keep }).await;
    assert_eq!(get(store, guild).await, Some(stored));
    assert_eq!(history(store, guild).await, vec![event]);
}

/// A change without an event (bookkeeping) moves the version but leaves the
/// audit trail as it was.
pub async fn change_without_event_appends_nothing(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let first = ask(guild, T0);
    let record = apply(store, &first).await;
    let notice = MessageRef { channel_id: random_channel(), message_id: 42 };
    let noted = AllowlistRecord { maintainer_notice: Some(notice), ..record };
    let stored = apply(store, &AllowlistChange { record: noted, event: None, slot: SlotEffect::Keep }).await;
    assert_eq!(stored.version, 2);
    assert_eq!(get(store, guild).await, Some(stored.clone()));
    assert_eq!(history(store, guild).await, vec![first.event.expect("event")]);

    // The next event is numbered after the version it produces.
    let approved = apply(store, &change(&stored, AllowlistState::Denied, T0 + 5, SlotEffect::Keep)).await;
    let seqs: Vec<u64> = history(store, guild).await.iter().map(|e| e.seq).collect();
    assert_eq!((approved.version, seqs), (3, vec![3, 1]));
}

/// A change from an older (or newer) version than stored is a conflict and
/// writes neither the record, nor its event, nor its slot.
pub async fn stale_version_is_a_conflict_and_writes_nothing(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let first = pending(store, guild, T0).await;
    let second = apply(store, &change(&first, AllowlistState::Denied, T0 + 1, SlotEffect::Keep)).await;
    let before_history = history(store, guild).await;
    let before_usage = usage(store).await;

    // Someone still holding version 1 approves (taking a slot, forced so no
    // limit can be the reason); someone asks afresh; someone claims a
    // version never reached.
    let mut stale = approve(&first, T0 + 2);
    stale.slot = SlotEffect::Take { force: true };
    assert_fails(store, &stale, StoreErrorKind::Conflict).await;
    assert_fails(store, &ask(guild, T0 + 3), StoreErrorKind::Conflict).await;
    let ahead = AllowlistRecord { version: 9, ..second.clone() };
    assert_fails(
        store,
        &change(&ahead, AllowlistState::Approved, T0 + 4, SlotEffect::Take { force: true }),
        StoreErrorKind::Conflict,
    )
    .await;

    assert_eq!(get(store, guild).await, Some(second), "the record is as it was");
    assert_eq!(history(store, guild).await, before_history, "no event was appended");
    assert_eq!(usage(store).await, before_usage, "no slot was taken");
}

/// An event that does not belong to the change (another guild, or a `seq`
/// other than the version the change produces) is refused as invalid input,
/// and nothing is written.
pub async fn event_not_matching_the_record_is_invalid_input(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let mut other_guild = ask(guild, T0);
    other_guild.event.as_mut().expect("event").guild_id = random_guild();
    assert_fails(store, &other_guild, StoreErrorKind::InvalidInput).await;
    let mut wrong_seq = ask(guild, T0);
    wrong_seq.event.as_mut().expect("event").seq = 2;
    assert_fails(store, &wrong_seq, StoreErrorKind::InvalidInput).await;
    assert_eq!(get(store, guild).await, None);
    assert_eq!(history(store, guild).await, Vec::new());
}

/// A slot effect that contradicts the new state (taking a slot without
/// approving, releasing one while staying approved) is invalid input.
pub async fn slot_effect_contradicting_the_state_is_invalid_input(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let record = pending(store, guild, T0).await;
    let before = usage(store).await;
    let take_while_denied = change(&record, AllowlistState::Denied, T0 + 1, SlotEffect::Take { force: true });
    assert_fails(store, &take_while_denied, StoreErrorKind::InvalidInput).await;
    let release_while_approved = change(&record, AllowlistState::Approved, T0 + 1, SlotEffect::Release);
    assert_fails(store, &release_while_approved, StoreErrorKind::InvalidInput).await;
    assert_eq!(get(store, guild).await, Some(record));
    assert_eq!(history(store, guild).await.len(), 1);
    assert_eq!(usage(store).await, before);
}

/// History is newest first (by `seq`) and holds at most `limit` events.
pub async fn history_is_newest_first_and_limited(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let mut record = pending(store, guild, T0).await;
    // Twelve changes, so `seq` 10 and up would sort wrongly as text.
    for n in 1..12 {
        let to = if n % 2 == 1 { AllowlistState::Denied } else { AllowlistState::Pending };
        record = apply(store, &change(&record, to, T0 + n, SlotEffect::Keep)).await;
    }
    let all = history(store, guild).await;
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=12).rev().collect::<Vec<_>>());
    let three = store.history(guild, 3).await.expect("history succeeds");
    assert_eq!(three, all[..3].to_vec());
    assert_eq!(store.history(guild, 0).await.expect("history succeeds"), Vec::new());
}

/// Guilds never see each other's records, versions or events.
pub async fn guilds_are_isolated(store: &dyn AllowlistStore) {
    let (a, b) = (random_guild(), random_guild());
    let ra = pending(store, a, T0).await;
    let ra = apply(store, &change(&ra, AllowlistState::Denied, T0 + 1, SlotEffect::Keep)).await;
    let rb = pending(store, b, T0 + 2).await;
    assert_eq!((ra.version, rb.version), (2, 1), "versions are per guild");
    assert_eq!(get(store, a).await, Some(ra));
    assert_eq!(get(store, b).await, Some(rb));
    let (ha, hb) = (history(store, a).await, history(store, b).await);
    assert_eq!((ha.len(), hb.len()), (2, 1));
    assert!(ha.iter().all(|e| e.guild_id == a) && hb.iter().all(|e| e.guild_id == b));
}

/// Listing returns only records in the asked state, most recently changed
/// first.
pub async fn list_filters_by_state_newest_first(store: &dyn AllowlistStore) {
    // Far in the future, so these come before anything another behaviour
    // stored in the same backend.
    let base = T0 + 10_000_000 + u64::from(rand::random::<u16>()) * 100;
    let mut mine = HashSet::new();
    let mut expected_pending = Vec::new();
    let mut expected_denied = Vec::new();
    for n in 0..6 {
        let guild = random_guild();
        mine.insert(guild);
        let record = pending(store, guild, base + n).await;
        if n % 3 == 0 {
            let denied = apply(store, &change(&record, AllowlistState::Denied, base + 10 + n, SlotEffect::Keep)).await;
            expected_denied.push(denied);
        } else {
            expected_pending.push(record);
        }
    }
    expected_pending.reverse();
    expected_denied.reverse();

    for (state, expected) in [(AllowlistState::Pending, expected_pending), (AllowlistState::Denied, expected_denied)] {
        let page = list(store, state, 100, None).await;
        assert!(page.records.iter().all(|r| r.state == state), "only {state} records are listed");
        let found: Vec<_> = page.records.into_iter().filter(|r| mine.contains(&r.guild_id)).collect();
        assert_eq!(found, expected, "{state}: every record, newest first, as stored");
    }
    let approved = list(store, AllowlistState::Approved, 100, None).await;
    assert!(approved.records.iter().all(|r| !mine.contains(&r.guild_id)), "none of these is approved");
}

/// Paging with cursors goes through more than one page and returns every
/// record exactly once, in order, ties included.
pub async fn list_pages_without_duplicates_or_gaps(store: &dyn AllowlistStore) {
    let base = T0 + 20_000_000 + u64::from(rand::random::<u16>()) * 100;
    let mut expected = Vec::new();
    for n in 0..7u64 {
        // Pairs share a timestamp, so ties have to be ordered stably too.
        expected.push(pending(store, random_guild(), base + n / 2).await);
    }
    let mine: HashSet<GuildId> = expected.iter().map(|r| r.guild_id).collect();

    let (records, pages) = list_all(store, AllowlistState::Pending, 3).await;
    assert!(pages >= 3, "7 records at 3 a page take at least 3 pages, got {pages}");
    let keys: Vec<(u64, GuildId)> = records.iter().map(|r| (r.updated_at, r.guild_id)).collect();
    let unique: HashSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "no record appears twice");
    assert!(records.windows(2).all(|w| w[0].updated_at >= w[1].updated_at), "newest first across pages");

    let found: Vec<_> = records.into_iter().filter(|r| mine.contains(&r.guild_id)).collect();
    assert_eq!(found.len(), expected.len(), "every record is listed");
    for record in &expected {
        assert!(found.contains(record), "{:?} is listed as stored", record.guild_id);
    }
}

/// A limit outside 1..=100 is clamped: 0 still returns a record, and the
/// next page follows on.
pub async fn list_clamps_the_limit(store: &dyn AllowlistStore) {
    let base = T0 + 30_000_000 + u64::from(rand::random::<u16>()) * 100;
    let (a, b) = (random_guild(), random_guild());
    let ra = pending(store, a, base).await;
    let rb = pending(store, b, base + 1).await;
    let first = list(store, AllowlistState::Pending, 0, None).await;
    assert_eq!(first.records, vec![rb], "limit 0 is read as 1");
    let cursor = first.next_cursor.expect("more follow");
    let second = list(store, AllowlistState::Pending, 0, Some(&cursor)).await;
    assert_eq!(second.records, vec![ra]);
    let big = list(store, AllowlistState::Pending, usize::MAX, None).await;
    assert!(big.records.len() <= 100, "at most 100 a page");
}

/// A cursor the store did not hand out is invalid input, never a panic or
/// a backend error.
pub async fn garbage_cursor_is_invalid_input(store: &dyn AllowlistStore) {
    // Something to list, so a store that ignored the cursor would succeed.
    pending(store, random_guild(), T0).await;
    let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
    let cursors = [
        String::new(),
        "not a cursor!".to_owned(),
        "%%%".to_owned(),
        b64("not json"),
        b64("{}"),
        b64("[1,2,3]"),
        b64("null"),
        b64(r#"{"guild_id":{"S":"1"},"kind":{"S":"allowlist"}}"#),
        b64(r#"{"guild_id":"0","updated_at":-1,"state":"pending","x":{"B":"AAAA"}}"#),
        "A".repeat(10_000),
    ];
    for cursor in &cursors {
        let err =
            store.list(AllowlistState::Pending, 10, Some(cursor)).await.expect_err("a forged cursor must be refused");
        assert_eq!(err.kind(), StoreErrorKind::InvalidInput, "cursor {cursor:.40?}: {err:?}");
    }
}

/// A cursor handed out for one state is refused for another.
pub async fn cursor_of_another_state_is_invalid_input(store: &dyn AllowlistStore) {
    let base = T0 + 40_000_000;
    pending(store, random_guild(), base).await;
    pending(store, random_guild(), base + 1).await;
    let page = list(store, AllowlistState::Pending, 1, None).await;
    let cursor = page.next_cursor.expect("more follow");
    let err = store.list(AllowlistState::Approved, 1, Some(&cursor)).await.expect_err("wrong state");
    assert_eq!(err.kind(), StoreErrorKind::InvalidInput, "{err:?}");
}

/// Setting the limit shows in the usage; `None` removes it; the approved
/// count is untouched, even by a limit below it.
pub async fn set_and_remove_slot_limit(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let record = pending(store, guild, T0).await;
    set_limit(store, None).await;
    let mut forced = approve(&record, T0 + 1);
    forced.slot = SlotEffect::Take { force: true };
    apply(store, &forced).await;
    let approved = usage(store).await.approved;
    assert!(approved >= 1);

    let set = set_limit(store, Some(approved + 5)).await;
    assert_eq!(set, SlotUsage { approved, limit: Some(approved + 5) });
    assert_eq!(usage(store).await, set);
    let below = set_limit(store, Some(0)).await;
    assert_eq!(below, SlotUsage { approved, limit: Some(0) }, "approved guilds stay approved");
    let removed = set_limit(store, None).await;
    assert_eq!(removed, SlotUsage { approved, limit: None });
    assert_eq!(usage(store).await, removed);
}

/// Taking a slot while one is free succeeds and counts.
pub async fn take_within_limit_succeeds(store: &dyn AllowlistStore) {
    let approved = usage(store).await.approved;
    set_limit(store, Some(approved + 2)).await;
    for n in 0..2 {
        let record = pending(store, random_guild(), T0).await;
        let stored = apply(store, &approve(&record, T0 + 1)).await;
        assert_eq!(stored.state, AllowlistState::Approved);
        assert_eq!(usage(store).await, SlotUsage { approved: approved + n + 1, limit: Some(approved + 2) });
    }
}

/// Taking a slot when every one is taken is `LimitReached`, and writes
/// neither the record, nor its event, nor the count.
pub async fn take_past_limit_is_limit_reached_and_writes_nothing(store: &dyn AllowlistStore) {
    let guild = random_guild();
    let record = pending(store, guild, T0).await;
    let approved = usage(store).await.approved;
    set_limit(store, Some(approved)).await;
    let before_history = history(store, guild).await;

    let err = store.apply(&approve(&record, T0 + 1)).await.expect_err("no slot is free");
    assert_eq!(err.kind(), StoreErrorKind::LimitReached, "{err:?}");
    assert!(!err.is_retryable(), "waiting does not free a slot");
    assert_eq!(get(store, guild).await, Some(record), "the record is still pending");
    assert_eq!(history(store, guild).await, before_history, "no event was appended");
    assert_eq!(usage(store).await, SlotUsage { approved, limit: Some(approved) });

    // A limit of zero refuses even the first approval.
    set_limit(store, Some(0)).await;
    let fresh = pending(store, random_guild(), T0).await;
    assert_fails(store, &approve(&fresh, T0 + 1), StoreErrorKind::LimitReached).await;
}

/// A forced take goes past the limit and is counted.
pub async fn forced_take_past_limit_succeeds(store: &dyn AllowlistStore) {
    let approved = usage(store).await.approved;
    set_limit(store, Some(approved)).await;
    let record = pending(store, random_guild(), T0).await;
    let mut forced = approve(&record, T0 + 1);
    forced.slot = SlotEffect::Take { force: true };
    forced.event.as_mut().expect("event").forced = true;
    let stored = apply(store, &forced).await;
    assert_eq!(get(store, record.guild_id).await, Some(stored));
    assert_eq!(usage(store).await, SlotUsage { approved: approved + 1, limit: Some(approved) });
    assert!(history(store, record.guild_id).await[0].forced);
}

/// Releasing a slot frees it for the next approval.
pub async fn release_frees_a_slot(store: &dyn AllowlistStore) {
    let approved = usage(store).await.approved;
    set_limit(store, Some(approved + 1)).await;
    let a = pending(store, random_guild(), T0).await;
    let b = pending(store, random_guild(), T0).await;
    let a = apply(store, &approve(&a, T0 + 1)).await;
    assert_fails(store, &approve(&b, T0 + 2), StoreErrorKind::LimitReached).await;

    apply(store, &change(&a, AllowlistState::Revoked, T0 + 3, SlotEffect::Release)).await;
    assert_eq!(usage(store).await.approved, approved);
    apply(store, &approve(&b, T0 + 4)).await;
    assert_eq!(usage(store).await, SlotUsage { approved: approved + 1, limit: Some(approved + 1) });
}

/// With no guild approved, a release leaves the count at zero (never
/// below, and a later take counts from zero) and the change still applies.
///
/// Needs a deployment where no guild is approved yet.
pub async fn release_never_goes_below_zero(store: &dyn AllowlistStore) {
    assert_eq!(usage(store).await.approved, 0, "this behaviour needs a deployment with no approved guild");
    let record = pending(store, random_guild(), T0).await;
    let revoked = apply(store, &change(&record, AllowlistState::Revoked, T0 + 1, SlotEffect::Release)).await;
    assert_eq!(get(store, record.guild_id).await, Some(revoked));
    assert_eq!(usage(store).await.approved, 0);

    set_limit(store, Some(1)).await;
    let next = pending(store, random_guild(), T0).await;
    apply(store, &approve(&next, T0 + 2)).await;
    assert_eq!(usage(store).await, SlotUsage { approved: 1, limit: Some(1) });
    set_limit(store, None).await;
}

/// Two maintainers decide the same pending guild at once, one approving and
/// one denying: exactly one wins, the other gets a conflict, and the record,
/// history and count are the winner's alone.
///
/// Takes an `Arc` because the two writers run as separate tasks.
pub async fn concurrent_approve_and_deny_one_wins(store: Arc<dyn AllowlistStore>) {
    let guild = random_guild();
    pending(&*store, guild, T0).await;
    let before = usage(&*store).await;
    set_limit(&*store, None).await;

    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let writers: Vec<_> =
        [(AllowlistState::Approved, SlotEffect::Take { force: false }), (AllowlistState::Denied, SlotEffect::Keep)]
            .into_iter()
            .map(|(to, slot)| {
                let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
                tokio::spawn(async move {
                    let record = store.get(guild).await.expect("get succeeds").expect("record exists");
                    let change = change(&record, to, T0 + 1, slot);
                    // Both have read version 1 before either writes.
                    barrier.wait().await;
                    let result = store.apply(&change).await;
                    (change, result)
                })
            })
            .collect();

    let mut winners = Vec::new();
    let mut conflicts = 0;
    for writer in writers {
        let (change, result) = writer.await.expect("writer task completes");
        match result {
            Ok(version) => winners.push((AllowlistRecord { version, ..change.record }, change.event)),
            Err(e) if e.kind() == StoreErrorKind::Conflict => conflicts += 1,
            Err(e) => panic!("unexpected store error: {e:?}"),
        }
    }
    assert_eq!((winners.len(), conflicts), (1, 1), "exactly one Ok and one Conflict");
    let (record, event) = winners.pop().expect("one winner");
    assert_eq!(record.version, 2);
    assert_eq!(get(&*store, guild).await, Some(record.clone()));
    let trail = history(&*store, guild).await;
    assert_eq!(trail.len(), 2, "the request and the winner's decision");
    assert_eq!(Some(&trail[0]), event.as_ref());
    let taken = u64::from(record.state == AllowlistState::Approved);
    assert_eq!(usage(&*store).await.approved, before.approved + taken, "only an approval that won takes a slot");
}

/// Two guilds are approved at once for the last free slot: exactly one
/// wins, the other is told `LimitReached` and stays pending.
///
/// Takes an `Arc` because the two writers run as separate tasks.
pub async fn concurrent_takes_of_the_last_slot_one_wins(store: Arc<dyn AllowlistStore>) {
    let a = pending(&*store, random_guild(), T0).await;
    let b = pending(&*store, random_guild(), T0).await;
    let approved = usage(&*store).await.approved;
    set_limit(&*store, Some(approved + 1)).await;

    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let writers: Vec<_> = [a, b]
        .into_iter()
        .map(|record| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                let change = approve(&record, T0 + 1);
                barrier.wait().await;
                let result = store.apply(&change).await;
                (record, result)
            })
        })
        .collect();

    let mut winners = 0;
    let mut losers = Vec::new();
    for writer in writers {
        let (record, result) = writer.await.expect("writer task completes");
        match result {
            Ok(_) => winners += 1,
            Err(e) if e.kind() == StoreErrorKind::LimitReached => losers.push(record),
            Err(e) => panic!("unexpected store error: {e:?}"),
        }
    }
    assert_eq!((winners, losers.len()), (1, 1), "exactly one Ok and one LimitReached");
    assert_eq!(usage(&*store).await, SlotUsage { approved: approved + 1, limit: Some(approved + 1) });
    let loser = &losers[0];
    assert_eq!(get(&*store, loser.guild_id).await.as_ref(), Some(loser), "the loser is still pending");
    assert_eq!(history(&*store, loser.guild_id).await.len(), 1);
}

/// Runs every behaviour above against `store`, one at a time.
///
/// `store` must be a fresh deployment (no guild approved yet):
/// [`release_never_goes_below_zero`] runs first and needs that.
pub async fn run_all_allowlist_store(store: Arc<dyn AllowlistStore>) {
    let s = &*store;
    release_never_goes_below_zero(s).await;
    get_missing_guild_is_none(s).await;
    first_apply_needs_version_zero_and_returns_one(s).await;
    round_trip_keeps_every_field(s).await;
    record_without_optional_fields_round_trips(s).await;
    change_without_event_appends_nothing(s).await;
    stale_version_is_a_conflict_and_writes_nothing(s).await;
    event_not_matching_the_record_is_invalid_input(s).await;
    slot_effect_contradicting_the_state_is_invalid_input(s).await;
    history_is_newest_first_and_limited(s).await;
    guilds_are_isolated(s).await;
    list_filters_by_state_newest_first(s).await;
    list_pages_without_duplicates_or_gaps(s).await;
    list_clamps_the_limit(s).await;
    garbage_cursor_is_invalid_input(s).await;
    cursor_of_another_state_is_invalid_input(s).await;
    set_and_remove_slot_limit(s).await;
    take_within_limit_succeeds(s).await;
    take_past_limit_is_limit_reached_and_writes_nothing(s).await;
    forced_take_past_limit_succeeds(s).await;
    release_frees_a_slot(s).await;
    concurrent_approve_and_deny_one_wins(Arc::clone(&store)).await;
    concurrent_takes_of_the_last_slot_one_wins(Arc::clone(&store)).await;
}
