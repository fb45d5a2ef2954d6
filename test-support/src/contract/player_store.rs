//! The [`PlayerStore`] contract: versioned, guild-partitioned players, the
//! index of active ones, and the deployment's alive mark.
//!
//! Every behaviour but [`mark_alive_then_last_alive_returns_the_latest`]
//! only touches random guilds, so they may share one store. The states are
//! built with `clock.ready = false`: readiness describes audio in this
//! process and is never stored.

use std::collections::HashSet;
use std::sync::Arc;

use timmybot_core::player::{
    HISTORY_LEN, LoopMode, MAX_SOURCE_BYTES, MAX_STORED_UPCOMING, MAX_TITLE_CHARS, NowPlaying, PlaybackClock,
    PlayerState, Track, TrackId,
};
use timmybot_core::{GuildId, MessageRef, PlayerStore, StoreErrorKind, UserId};

use super::{random_channel, random_guild, random_user};

/// How many tracks wait in the "long queue" behaviours: enough for many
/// pages in a store that splits the queue.
pub const LONG_QUEUE: usize = 300;

/// A plausible "now" in Unix milliseconds.
const NOW_MS: u64 = 1_790_000_000_000;

/// An ordinary track with id `id`, titled with characters that need care
/// in every encoding.
pub fn track(id: u64, requested_by: UserId) -> Track {
    Track {
        id: TrackId(id),
        source: format!("https://radio.example.com/stream/{id}.mp3?quality=high&name=%C3%A9"),
        title: format!("Track {id} — « ünïcødé » \"quoted\" \\ 🎵"),
        duration_ms: if id.is_multiple_of(7) { None } else { Some(180_000 + id) },
        requested_by,
    }
}

/// A track of the largest size the engine allows: a source of exactly
/// [`MAX_SOURCE_BYTES`] and a title of [`MAX_TITLE_CHARS`] four-byte
/// characters.
pub fn largest_track(id: u64) -> Track {
    let mut source = format!("https://media.example.com/{id}/");
    source.extend(std::iter::repeat_n('a', MAX_SOURCE_BYTES - source.len()));
    Track {
        id: TrackId(id),
        source,
        title: "🎶".repeat(MAX_TITLE_CHARS),
        duration_ms: Some(u64::MAX / 3),
        requested_by: UserId::new(u64::MAX / 5).expect("non-zero"),
    }
}

/// A player with every field set to something other than its default,
/// `upcoming` tracks waiting (ids from 1000 on).
pub fn full_state(guild: GuildId, upcoming: usize) -> PlayerState {
    let user = random_user();
    let text = random_channel();
    PlayerState {
        guild_id: guild,
        version: 0,
        current: Some(NowPlaying {
            track: track(999, user),
            clock: PlaybackClock { offset_ms: 12_345, since_ms: Some(NOW_MS), ready: false },
            epoch: 7,
            votes: vec![random_user(), random_user()],
            stream_title: Some("Live: an ICY title".into()),
        }),
        upcoming: (0..upcoming as u64)
            .map(|n| track(1000 + n, if n.is_multiple_of(3) { user } else { random_user() }))
            .collect(),
        history: (1..=3).map(|n| track(n, random_user())).collect(),
        loop_mode: LoopMode::Queue,
        volume: 150,
        paused: true,
        voice_channel: Some(random_channel()),
        text_channel: Some(text),
        controller: Some(MessageRef { channel_id: text, message_id: (rand::random::<u64>() >> 2) | 1 }),
        next_track_id: 1000 + upcoming as u64,
        next_epoch: 8,
    }
}

/// The largest player the engine can make: [`MAX_STORED_UPCOMING`]
/// waiting, a full history of [`HISTORY_LEN`], a current track with a
/// full channel's votes, every track of [`largest_track`]'s size, and ids
/// as long as they get.
pub fn maximum_state(guild: GuildId) -> PlayerState {
    let base = u64::MAX / 2;
    let mut state = full_state(guild, 0);
    let current = state.current.as_mut().expect("full_state has a current track");
    current.track = largest_track(base);
    current.clock = PlaybackClock { offset_ms: u64::MAX / 7, since_ms: Some(u64::MAX / 6), ready: false };
    current.epoch = u32::MAX;
    // A voice channel holds at most 99 members when limited; a vote per
    // member is the most a track collects in practice.
    current.votes = (0..99).map(|n| UserId::new(u64::MAX - n).expect("non-zero")).collect();
    state.history = (1..=HISTORY_LEN as u64).map(|n| largest_track(base - n)).collect();
    state.upcoming = (1..=MAX_STORED_UPCOMING as u64).map(|n| largest_track(base + n)).collect();
    state.next_track_id = u64::MAX;
    state.next_epoch = u32::MAX;
    state
}

/// The advance a finished track makes: current to history, the first
/// waiting track becomes current.
pub fn advance(state: &mut PlayerState) {
    let next = state.upcoming.remove(0);
    let previous = state.current.replace(NowPlaying {
        track: next,
        clock: PlaybackClock::at(0),
        epoch: state.next_epoch,
        votes: Vec::new(),
        stream_title: None,
    });
    state.next_epoch = state.next_epoch.wrapping_add(1).max(1);
    if let Some(previous) = previous {
        state.history.push(previous.track);
        if state.history.len() > HISTORY_LEN {
            state.history.remove(0);
        }
    }
}

async fn load(store: &dyn PlayerStore, guild: GuildId) -> Option<PlayerState> {
    store.load(guild).await.expect("load succeeds")
}

/// Saves `state` and returns it as stored (with its new version).
async fn save(store: &dyn PlayerStore, state: &PlayerState) -> PlayerState {
    let version = store.save(state).await.expect("save succeeds");
    assert_eq!(version, state.version + 1, "save returns the next version");
    PlayerState { version, ..state.clone() }
}

/// Saves `state`, then checks that loading gives it back exactly.
async fn save_and_check(store: &dyn PlayerStore, state: &PlayerState, what: &str) -> PlayerState {
    let stored = save(store, state).await;
    let loaded = load(store, state.guild_id).await;
    assert!(loaded.as_ref() == Some(&stored), "{what}: loaded state differs from the saved one");
    stored
}

async fn assert_conflict(store: &dyn PlayerStore, state: &PlayerState) {
    let err = store.save(state).await.expect_err("save of a stale version must fail");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "stale save is a conflict: {err:?}");
    assert!(err.is_retryable(), "a conflict is retryable after a reload");
}

/// A guild that never saved a player has none.
pub async fn load_missing_guild_is_none(store: &dyn PlayerStore) {
    assert_eq!(load(store, random_guild()).await, None);
}

/// The first save is at version 0 and stores version 1.
pub async fn first_save_needs_version_zero_and_returns_one(store: &dyn PlayerStore) {
    let guild = random_guild();
    let stored = save(store, &PlayerState::new(guild, 100)).await;
    assert_eq!(stored.version, 1);
    assert_eq!(load(store, guild).await.map(|s| s.version), Some(1));
}

/// Every field comes back exactly: the current track with its clock,
/// epoch and votes, upcoming, history, loop mode, volume, paused, both
/// channels, the controller message and the next ids. A fresh player and
/// one without optional fields round-trip too.
pub async fn full_state_round_trips_exactly(store: &dyn PlayerStore) {
    save_and_check(store, &full_state(random_guild(), 5), "full state").await;
    save_and_check(store, &PlayerState::new(random_guild(), 100), "fresh state").await;

    let mut sparse = full_state(random_guild(), 2);
    sparse.current = None;
    sparse.history.clear();
    sparse.voice_channel = None;
    sparse.text_channel = None;
    sparse.controller = None;
    sparse.loop_mode = LoopMode::Track;
    sparse.paused = false;
    sparse.volume = 0;
    save_and_check(store, &sparse, "state without optional fields").await;

    let mut stopped_clock = full_state(random_guild(), 0);
    let current = stopped_clock.current.as_mut().expect("has a current track");
    current.clock = PlaybackClock::at(0);
    current.votes.clear();
    current.track.duration_ms = None;
    stopped_clock.loop_mode = LoopMode::Off;
    save_and_check(store, &stopped_clock, "live track with a stopped clock and no votes").await;
}

/// Each save from the latest version moves the version on by one.
pub async fn save_increments_version(store: &dyn PlayerStore) {
    let guild = random_guild();
    let mut state = save(store, &full_state(guild, 3)).await;
    for expected in 2..=4u64 {
        state.upcoming.push(track(5000 + expected, random_user()));
        state.volume = 50 + expected as u16;
        state = save_and_check(store, &state, "next version").await;
        assert_eq!(state.version, expected);
    }
}

/// A save from an older version than stored fails and changes nothing,
/// whatever it would have changed; so does one claiming a version the
/// store never reached, or a creation over an existing player.
pub async fn stale_save_is_a_conflict_and_changes_nothing(store: &dyn PlayerStore) {
    let guild = random_guild();
    let first = save(store, &full_state(guild, LONG_QUEUE)).await;
    let mut second = first.clone();
    second.upcoming.remove(0);
    second.volume = 10;
    let second = save(store, &second).await;

    let mut stale = first.clone();
    stale.upcoming.clear();
    stale.paused = false;
    assert_conflict(store, &stale).await;
    let mut stale = first.clone();
    stale.upcoming.reverse();
    assert_conflict(store, &stale).await;
    assert_conflict(store, &PlayerState { version: second.version + 5, ..second.clone() }).await;
    assert_conflict(store, &full_state(guild, 1)).await;
    assert!(load(store, guild).await.as_ref() == Some(&second), "a rejected save leaves the stored state as it was");

    let unsaved = PlayerState { version: 3, ..full_state(random_guild(), 1) };
    assert_conflict(store, &unsaved).await;
    assert_eq!(load(store, unsaved.guild_id).await, None, "only version 0 creates");
}

/// After a delete the guild counts as never saved: a writer still holding
/// the old version cannot bring the player back.
pub async fn stale_save_after_delete_cannot_recreate(store: &dyn PlayerStore) {
    let guild = random_guild();
    let stored = save(store, &full_state(guild, LONG_QUEUE)).await;
    store.delete(guild).await.expect("delete succeeds");
    assert_eq!(load(store, guild).await, None);
    assert_conflict(store, &stored).await;
    assert_eq!(load(store, guild).await, None);
    let fresh = save_and_check(store, &full_state(guild, 2), "created again after the delete").await;
    assert_eq!(fresh.version, 1);
}

/// Deleting a player that does not exist is not an error.
pub async fn delete_of_nothing_is_ok(store: &dyn PlayerStore) {
    let guild = random_guild();
    store.delete(guild).await.expect("delete of nothing succeeds");
    store.delete(guild).await.expect("and again");
}

/// Guilds never see or change each other's players or versions.
pub async fn guilds_are_independent(store: &dyn PlayerStore) {
    let (a, b) = (random_guild(), random_guild());
    let sa = save(store, &full_state(a, 4)).await;
    let sa = save(store, &sa).await;
    let sb = save(store, &full_state(b, LONG_QUEUE)).await;
    assert_eq!((sa.version, sb.version), (2, 1), "versions are per guild");
    assert!(load(store, a).await.as_ref() == Some(&sa));
    assert!(load(store, b).await.as_ref() == Some(&sb));
    store.delete(b).await.expect("delete succeeds");
    assert_eq!(load(store, b).await, None);
    assert!(load(store, a).await.as_ref() == Some(&sa), "deleting one guild keeps the other");
}

/// `active_guilds` lists the guilds whose player is active (in a voice
/// channel with a track) and no other: not an idle one, not one that
/// became inactive, not a deleted one.
pub async fn active_guilds_lists_exactly_the_active_ones(store: &dyn PlayerStore) {
    let active = save(store, &full_state(random_guild(), 2)).await;
    let mut no_channel = full_state(random_guild(), 2);
    no_channel.voice_channel = None;
    let no_channel = save(store, &no_channel).await;
    let mut no_track = full_state(random_guild(), 2);
    no_track.current = None;
    let no_track = save(store, &no_track).await;
    let mut left = save(store, &full_state(random_guild(), 2)).await;
    let deleted = save(store, &full_state(random_guild(), 2)).await;
    let mut idle = full_state(random_guild(), 2);
    idle.voice_channel = None;
    let mut became_active = save(store, &idle).await;

    let listed = active_set(store).await;
    assert!(listed.contains(&active.guild_id) && listed.contains(&left.guild_id), "active players are listed");
    assert!(!listed.contains(&no_channel.guild_id), "a player in no voice channel is not active");
    assert!(!listed.contains(&no_track.guild_id), "a player with no track is not active");

    left.voice_channel = None;
    save(store, &left).await;
    store.delete(deleted.guild_id).await.expect("delete succeeds");
    became_active.voice_channel = Some(random_channel());
    save(store, &became_active).await;
    let listed = active_set(store).await;
    assert!(!listed.contains(&left.guild_id), "a player that became inactive is dropped");
    assert!(!listed.contains(&deleted.guild_id), "a deleted player is dropped");
    assert!(listed.contains(&became_active.guild_id), "a player that became active is listed");
    assert!(listed.contains(&active.guild_id));
}

async fn active_set(store: &dyn PlayerStore) -> HashSet<GuildId> {
    let listed = store.active_guilds().await.expect("active_guilds succeeds");
    let set: HashSet<GuildId> = listed.iter().copied().collect();
    assert_eq!(set.len(), listed.len(), "each guild is listed once: {listed:?}");
    set
}

/// The alive mark reads back as the last one written. Marks the whole
/// deployment, so no other behaviour may mark at the same time on a
/// shared store.
pub async fn mark_alive_then_last_alive_returns_the_latest(store: &dyn PlayerStore) {
    store.mark_alive(NOW_MS).await.expect("mark succeeds");
    assert_eq!(store.last_alive().await.expect("read succeeds"), Some(NOW_MS));
    store.mark_alive(NOW_MS + 1_000).await.expect("mark succeeds");
    store.mark_alive(NOW_MS + 2_000).await.expect("mark succeeds");
    assert_eq!(store.last_alive().await.expect("read succeeds"), Some(NOW_MS + 2_000));
}

/// The largest player the engine can make ([`maximum_state`]) is stored
/// whole, and changes to it are too.
pub async fn maximum_state_round_trips(store: &dyn PlayerStore) {
    let guild = random_guild();
    let state = maximum_state(guild);
    assert_eq!(state.upcoming.len(), MAX_STORED_UPCOMING);
    let mut stored = save_and_check(store, &state, "maximum state").await;
    advance(&mut stored);
    let mut stored = save_and_check(store, &stored, "maximum state, advanced").await;
    stored.upcoming.push(largest_track(u64::MAX - 1_000));
    save_and_check(store, &stored, "maximum state, appended").await;
}

/// After a long queue is stored, each common change round-trips: the
/// first track removed, an advance, one appended, play-next (inserted at
/// the front), a volume, pause and seek change, one removed from the
/// middle, a shuffle, and the queue emptied.
pub async fn long_queue_edits_round_trip(store: &dyn PlayerStore) {
    let guild = random_guild();
    let user = random_user();
    let mut state = save_and_check(store, &full_state(guild, LONG_QUEUE), "long queue").await;

    state.upcoming.remove(0);
    state = save_and_check(store, &state, "first track removed").await;
    advance(&mut state);
    state = save_and_check(store, &state, "advanced").await;
    state.upcoming.push(track(state.next_track_id, user));
    state.next_track_id += 1;
    state = save_and_check(store, &state, "one appended").await;
    state.upcoming.insert(0, track(state.next_track_id, user));
    state.next_track_id += 1;
    state = save_and_check(store, &state, "one inserted at the front").await;
    state.volume = 42;
    state = save_and_check(store, &state, "volume changed").await;
    state.paused = !state.paused;
    state = save_and_check(store, &state, "pause toggled").await;
    if let Some(current) = &mut state.current {
        current.clock = PlaybackClock { offset_ms: 60_000, since_ms: Some(NOW_MS + 5), ready: false };
        current.epoch += 1;
    }
    state = save_and_check(store, &state, "seeked").await;
    let middle = state.upcoming.len() / 2;
    state.upcoming.remove(middle);
    state = save_and_check(store, &state, "one removed from the middle").await;
    let moved = state.upcoming.remove(10);
    state.upcoming.insert(200, moved);
    state = save_and_check(store, &state, "one moved").await;
    timmybot_core::player::shuffle_seeded(&mut state.upcoming, 7);
    state = save_and_check(store, &state, "shuffled").await;
    state.upcoming.clear();
    state = save_and_check(store, &state, "emptied").await;
    state.upcoming = (0..50).map(|n| track(state.next_track_id + n, user)).collect();
    save_and_check(store, &state, "refilled").await;
}

/// Two tasks load the same player and save concurrently: exactly one wins,
/// the other gets a conflict, and the winner's state is what is stored.
///
/// Takes an `Arc` because the two writers run as separate tasks.
pub async fn concurrent_saves_one_wins(store: Arc<dyn PlayerStore>) {
    for queue_len in [1, LONG_QUEUE] {
        let guild = random_guild();
        save(&*store, &full_state(guild, queue_len)).await;

        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let writers: Vec<_> = (0..2u64)
            .map(|n| {
                let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
                tokio::spawn(async move {
                    let mut state = store.load(guild).await.expect("load succeeds").expect("state exists");
                    // Different changes to the same pages: a front insert
                    // and a removal, plus a new tail.
                    if n == 0 {
                        state.upcoming.insert(0, track(state.next_track_id, random_user()));
                    } else {
                        state.upcoming.remove(0);
                    }
                    state.upcoming.push(track(state.next_track_id + 1 + n, random_user()));
                    state.volume = 10 + n as u16;
                    // Both have read version 1 before either writes.
                    barrier.wait().await;
                    let result = store.save(&state).await;
                    (state, result)
                })
            })
            .collect();

        let mut winners = Vec::new();
        let mut conflicts = 0;
        for writer in writers {
            let (state, result) = writer.await.expect("writer task completes");
            match result {
                Ok(version) => winners.push(PlayerState { version, ..state }),
                Err(e) if e.kind() == StoreErrorKind::Conflict => conflicts += 1,
                Err(e) => panic!("unexpected store error: {e:?}"),
            }
        }
        assert_eq!((winners.len(), conflicts), (1, 1), "exactly one Ok and one Conflict");
        assert_eq!(winners[0].version, 2);
        assert!(load(&*store, guild).await.as_ref() == Some(&winners[0]), "the winner's state is stored");
    }
}

/// Runs every behaviour above against `store`.
pub async fn run_all_player_store(store: Arc<dyn PlayerStore>) {
    let s = &*store;
    load_missing_guild_is_none(s).await;
    first_save_needs_version_zero_and_returns_one(s).await;
    full_state_round_trips_exactly(s).await;
    save_increments_version(s).await;
    stale_save_is_a_conflict_and_changes_nothing(s).await;
    stale_save_after_delete_cannot_recreate(s).await;
    delete_of_nothing_is_ok(s).await;
    guilds_are_independent(s).await;
    active_guilds_lists_exactly_the_active_ones(s).await;
    mark_alive_then_last_alive_returns_the_latest(s).await;
    maximum_state_round_trips(s).await;
    long_queue_edits_round_trip(s).await;
    concurrent_saves_one_wins(Arc::clone(&store)).await;
}
