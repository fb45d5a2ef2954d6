//! [`PlayerStore`] on DynamoDB, in the `guild-queues` table (partition key
//! `guild_id`, sort key `pos`).
//!
//! Layout of one guild's partition:
//! - the head, `pos = "head"`: everything but the upcoming tracks (current
//!   track and its clock, history, loop mode, volume, channels, controller,
//!   next ids), the `version`, a `write_id` naming the save that wrote it,
//!   and the ordered list of the pages holding the upcoming tracks, each as
//!   `{key, hash, count}`. While the player is active it also carries
//!   [`ACTIVE_ATTRIBUTE`], the key of the sparse index
//!   [`ACTIVE_PLAYERS_INDEX`];
//! - the pages, `pos = "page#<ms>-<nonce>#<n>"`: runs of upcoming tracks cut
//!   where their content says (`player_pages.rs`), so that the common
//!   changes rewrite the head and one page. A page is written once, under a
//!   key no other save uses, and never changed: a save that keeps a page
//!   (same content hash as one the current head lists) keeps its key.
//!
//! The deployment's alive mark is one item at `guild_id = "deployment"`,
//! `pos = "alive"` (not a snowflake, so no guild collides with it).
//!
//! The partition also holds the command ledger's `ran#<interaction id>`
//! items (`ledger_dynamodb.rs`); the player's queries ask only for the sort
//! keys `head ..= page$`, so they never read those.
//!
//! A save reads the head (consistently), writes its new pages, then puts the
//! head on condition that it is still the one read (same `version` and
//! `write_id`; absent for version 0), then deletes the pages only the old
//! head listed. Readers therefore see the old head with all its pages or
//! the new one with all of its: a page is deleted only after no head lists
//! it. A load queries the partition consistently; if a listed page is gone
//! (a save landed while the query paged), it reads again.
//!
//! Pages nobody lists are left behind only when a writer stops between
//! writing pages and finishing (a crash, or a head put whose outcome is
//! unknown, where deleting could break a save that did land); `delete`
//! removes those that are an hour old, an age no save in flight reaches.
//!
//! Schema 1 (before the queue engine) kept the whole queue in the head
//! (`now_playing`, `upcoming`); such a head loads through
//! [`PlayerState::from_legacy`] and the next save replaces it.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use timmybot_core::player::{LegacyTrack, LoopMode, NowPlaying, PlaybackClock, PlayerState, Track, TrackId};
use timmybot_core::{
    ChannelId, GuildId, MessageRef, PLAYER_SCHEMA_VERSION, PlayerStore, StoreError, StoreErrorKind, UserId,
};

use crate::DynamoStore;
use crate::dynamo_store::{Item, encode_item, put_error, schema_version, unavailable};
use crate::dynamo_tables::{ACTIVE_ATTRIBUTE, ACTIVE_PLAYERS_INDEX};
use crate::player_pages::{page_hash, split};

/// The sort key of the head item.
const HEAD: &str = "head";
/// The sort key prefix of page items.
const PAGE_PREFIX: &str = "page#";
/// Just past every `page#…` sort key (`$` follows `#`): the player's reads
/// ask for `head ..= page$`, so other items of the guild's partition (the
/// command ledger's `ran#…`) are never read, rewritten or deleted here.
const PLAYER_SORT_KEYS_END: &str = "page$";
/// The partition of deployment-wide items.
const DEPLOYMENT: &str = "deployment";
/// The sort key of the alive mark.
const ALIVE: &str = "alive";
/// The value of [`ACTIVE_ATTRIBUTE`] on an active player's head.
const ACTIVE_VALUE: &str = "active";

/// Reads of a partition before a load gives up on a page a concurrent save
/// keeps deleting under it.
const LOAD_ATTEMPTS: u32 = 4;
/// Pause before reading again, doubled each time.
const LOAD_RETRY_PAUSE: Duration = Duration::from_millis(25);
/// Page items written or deleted at once.
const PAGE_CONCURRENCY: usize = 8;
/// Pages older than this that the head does not list are garbage by then.
const ORPHAN_AGE_MS: u64 = 60 * 60 * 1000;

/// A track as stored.
#[derive(Serialize, Deserialize)]
struct StoredTrack {
    id: u64,
    source: String,
    title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    requested_by: UserId,
}

impl StoredTrack {
    fn new(track: &Track) -> Self {
        Self {
            id: track.id.0,
            source: track.source.clone(),
            title: track.title.clone(),
            duration_ms: track.duration_ms,
            requested_by: track.requested_by,
        }
    }

    fn into_track(self) -> Track {
        Track {
            id: TrackId(self.id),
            source: self.source,
            title: self.title,
            duration_ms: self.duration_ms,
            requested_by: self.requested_by,
        }
    }
}

/// The current track as stored; the clock's `ready` is not (no audio
/// survives a restart).
#[derive(Serialize, Deserialize)]
struct StoredNowPlaying {
    track: StoredTrack,
    offset_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since_ms: Option<u64>,
    epoch: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    votes: Vec<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream_title: Option<String>,
}

/// One page the head lists, in queue order.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PageRef {
    /// The page item's `pos`.
    key: String,
    /// [`page_hash`] of its tracks.
    hash: String,
    /// How many tracks it holds.
    count: u32,
}

/// The head item (schema 2).
#[derive(Serialize, Deserialize)]
struct HeadItem {
    guild_id: GuildId,
    pos: String,
    version: u64,
    schema_version: u32,
    write_id: String,
    /// Present only while the player is active: the index's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    active_player: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current: Option<StoredNowPlaying>,
    #[serde(default)]
    history: Vec<StoredTrack>,
    loop_mode: String,
    volume: u16,
    paused: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    voice_channel: Option<ChannelId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text_channel: Option<ChannelId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    controller: Option<MessageRef>,
    next_track_id: u64,
    next_epoch: u32,
    #[serde(default)]
    pages: Vec<PageRef>,
}

impl HeadItem {
    fn new(state: &PlayerState, version: u64, write_id: String, pages: Vec<PageRef>) -> Self {
        Self {
            guild_id: state.guild_id,
            pos: HEAD.to_owned(),
            version,
            schema_version: PLAYER_SCHEMA_VERSION,
            write_id,
            active_player: state.is_active().then(|| ACTIVE_VALUE.to_owned()),
            current: state.current.as_ref().map(|c| StoredNowPlaying {
                track: StoredTrack::new(&c.track),
                offset_ms: c.clock.offset_ms,
                since_ms: c.clock.since_ms,
                epoch: c.epoch,
                votes: c.votes.clone(),
                stream_title: c.stream_title.clone(),
            }),
            history: state.history.iter().map(StoredTrack::new).collect(),
            loop_mode: state.loop_mode.as_str().to_owned(),
            volume: state.volume,
            paused: state.paused,
            voice_channel: state.voice_channel,
            text_channel: state.text_channel,
            controller: state.controller,
            next_track_id: state.next_track_id,
            next_epoch: state.next_epoch,
            pages,
        }
    }

    fn into_state(self, upcoming: Vec<Track>) -> Result<PlayerState, StoreError> {
        let loop_mode = LoopMode::parse(&self.loop_mode).ok_or_else(|| StoreError::new(StoreErrorKind::Corrupt))?;
        Ok(PlayerState {
            guild_id: self.guild_id,
            version: self.version,
            current: self.current.map(|c| NowPlaying {
                track: c.track.into_track(),
                clock: PlaybackClock { offset_ms: c.offset_ms, since_ms: c.since_ms, ready: false },
                epoch: c.epoch,
                votes: c.votes,
                stream_title: c.stream_title,
            }),
            upcoming,
            history: self.history.into_iter().map(StoredTrack::into_track).collect(),
            loop_mode,
            volume: self.volume,
            paused: self.paused,
            voice_channel: self.voice_channel,
            text_channel: self.text_channel,
            controller: self.controller,
            next_track_id: self.next_track_id,
            next_epoch: self.next_epoch,
        })
    }
}

/// What a save needs of the head it replaces, whatever its schema.
#[derive(Deserialize)]
struct HeadMeta {
    guild_id: GuildId,
    pos: String,
    version: u64,
    /// Absent on schema-1 heads.
    #[serde(default)]
    write_id: Option<String>,
    #[serde(default)]
    pages: Vec<PageRef>,
}

/// The head as schema 1 stored it: the whole queue.
#[derive(Deserialize)]
struct LegacyHead {
    guild_id: GuildId,
    pos: String,
    version: u64,
    #[serde(default)]
    now_playing: Option<LegacyTrack>,
    #[serde(default)]
    upcoming: Vec<LegacyTrack>,
}

/// One page of upcoming tracks.
#[derive(Serialize, Deserialize)]
struct PageItem {
    guild_id: GuildId,
    pos: String,
    schema_version: u32,
    tracks: Vec<StoredTrack>,
}

/// The deployment's alive mark.
#[derive(Serialize, Deserialize)]
struct AliveItem {
    guild_id: String,
    pos: String,
    schema_version: u32,
    at_ms: u64,
}

/// What one read of a partition found.
enum Read {
    Missing,
    Found(Box<PlayerState>),
    /// The head lists a page that is gone: a save landed meanwhile.
    PageGone,
}

fn corrupt() -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt)
}

fn decode<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e))
}

fn pos_of(item: &Item) -> Option<&str> {
    match item.get("pos") {
        Some(AttributeValue::S(pos)) => Some(pos),
        _ => None,
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A fresh id for one save: its wall-clock time (so garbage can be told by
/// age) and a random nonce (so no two saves share page keys).
fn new_write_id() -> String {
    format!("{:015}-{:016x}", now_ms(), rand::random::<u64>())
}

/// When the save that wrote page `key` started; `None` for keys this
/// adapter did not make.
fn page_written_ms(key: &str) -> Option<u64> {
    let (ms, _) = key.strip_prefix(PAGE_PREFIX)?.split_once('-')?;
    ms.parse().ok()
}

/// Builds the player from one read of its partition, checking each page
/// against what the head says of it.
fn assemble(guild: GuildId, items: Vec<Item>) -> Result<Read, StoreError> {
    let mut head = None;
    let mut pages = HashMap::new();
    for item in items {
        match pos_of(&item) {
            Some(HEAD) => head = Some(item),
            Some(pos) if pos.starts_with(PAGE_PREFIX) => {
                pages.insert(pos.to_owned(), item);
            }
            // Not ours to read (a newer build's item kinds); the head's
            // schema version guards what this build must understand.
            _ => {}
        }
    }
    let Some(head) = head else { return Ok(Read::Missing) };
    match schema_version(&head) {
        Some(1) => {
            let legacy: LegacyHead = decode(head)?;
            if legacy.guild_id != guild || legacy.pos != HEAD {
                return Err(corrupt());
            }
            let tracks = legacy.now_playing.into_iter().chain(legacy.upcoming).collect();
            Ok(Read::Found(Box::new(PlayerState::from_legacy(guild, legacy.version, tracks))))
        }
        Some(PLAYER_SCHEMA_VERSION) => {
            let head: HeadItem = decode(head)?;
            if head.guild_id != guild {
                return Err(corrupt());
            }
            let mut upcoming = Vec::with_capacity(head.pages.iter().map(|p| p.count as usize).sum());
            for page in &head.pages {
                let Some(item) = pages.remove(&page.key) else { return Ok(Read::PageGone) };
                if schema_version(&item).is_none_or(|v| v > PLAYER_SCHEMA_VERSION) {
                    return Err(corrupt());
                }
                let item: PageItem = decode(item)?;
                let tracks: Vec<Track> = item.tracks.into_iter().map(StoredTrack::into_track).collect();
                if item.guild_id != guild || tracks.len() != page.count as usize || page_hash(&tracks) != page.hash {
                    return Err(corrupt());
                }
                upcoming.extend(tracks);
            }
            head.into_state(upcoming).map(|state| Read::Found(Box::new(state)))
        }
        _ => Err(corrupt()),
    }
}

impl DynamoStore {
    fn queues_table(&self) -> &str {
        &self.tables().guild_queues
    }

    fn key(partition: String, pos: &str) -> Item {
        HashMap::from([
            ("guild_id".to_owned(), AttributeValue::S(partition)),
            ("pos".to_owned(), AttributeValue::S(pos.to_owned())),
        ])
    }

    /// Every player item of the guild's partition (the sort keys from
    /// `head` to the pages' end: not the command ledger's `ran#…`), in
    /// `pos` order (the head first), with strongly consistent reads. `keys_only` asks for the keys
    /// alone.
    async fn partition(&self, guild: GuildId, keys_only: bool) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client()
                .query()
                .table_name(self.queues_table())
                .key_condition_expression("#guild = :guild AND #pos BETWEEN :first AND :last")
                .expression_attribute_names("#guild", "guild_id")
                .expression_attribute_names("#pos", "pos")
                .expression_attribute_values(":guild", AttributeValue::S(guild.to_string()))
                .expression_attribute_values(":first", AttributeValue::S(HEAD.to_owned()))
                .expression_attribute_values(":last", AttributeValue::S(PLAYER_SORT_KEYS_END.to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            if keys_only {
                query = query.projection_expression("#guild, #pos");
            }
            let output = query.send().await.map_err(unavailable)?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// The head as a save needs it, read consistently.
    async fn head_meta(&self, guild: GuildId) -> Result<Option<HeadMeta>, StoreError> {
        let Some(item) = self.get_raw(self.queues_table(), Self::key(guild.to_string(), HEAD)).await? else {
            return Ok(None);
        };
        // A newer layout may list its pages differently: replacing it
        // could orphan them or drop its fields.
        if schema_version(&item).is_none_or(|v| v > PLAYER_SCHEMA_VERSION) {
            return Err(corrupt());
        }
        let meta: HeadMeta = decode(item)?;
        if meta.guild_id != guild || meta.pos != HEAD {
            return Err(corrupt());
        }
        Ok(Some(meta))
    }

    /// Writes new page items, each on condition that its key is unused.
    /// On a failure it deletes the ones it wrote and returns the error.
    async fn put_pages(&self, guild: GuildId, pages: Vec<PageItem>) -> Result<(), StoreError> {
        let results: Vec<(String, Result<(), StoreError>)> = stream::iter(pages)
            .map(|page| async move {
                let key = page.pos.clone();
                let result = async {
                    self.client()
                        .put_item()
                        .table_name(self.queues_table())
                        .set_item(Some(encode_item(&page)?))
                        .condition_expression("attribute_not_exists(guild_id)")
                        .send()
                        .await
                        .map(drop)
                        // Even a lost condition (a nonce drawn twice) is no
                        // version conflict: trying again draws a new one.
                        .map_err(unavailable)
                }
                .await;
                (key, result)
            })
            .buffer_unordered(PAGE_CONCURRENCY)
            .collect()
            .await;
        let mut written = Vec::new();
        let mut failure = None;
        for (key, result) in results {
            match result {
                Ok(()) => written.push(key),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        match failure {
            None => Ok(()),
            Some(error) => {
                self.delete_pages_logged(guild, written, "pages of a failed save").await;
                Err(error)
            }
        }
    }

    /// Deletes page items; every delete is tried, the first error returned.
    async fn delete_pages(&self, guild: GuildId, keys: Vec<String>) -> Result<(), StoreError> {
        let results: Vec<Result<(), StoreError>> = stream::iter(keys)
            .map(|key| async move {
                self.client()
                    .delete_item()
                    .table_name(self.queues_table())
                    .set_key(Some(Self::key(guild.to_string(), &key)))
                    .send()
                    .await
                    .map(drop)
                    .map_err(unavailable)
            })
            .buffer_unordered(PAGE_CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// [`Self::delete_pages`] as a best effort: a page left behind is
    /// garbage, never wrong, so a failure is logged, not returned.
    async fn delete_pages_logged(&self, guild: GuildId, keys: Vec<String>, what: &'static str) {
        if keys.is_empty() {
            return;
        }
        if let Err(e) = self.delete_pages(guild, keys).await {
            tracing::warn!(guild_id = %guild, table = self.queues_table(), error = %e, "could not delete {what}");
        }
    }

    /// Puts the head if the stored one is still `replaced` (or, for `None`,
    /// there is none).
    async fn put_head(&self, head: &HeadItem, replaced: Option<&HeadMeta>) -> Result<(), StoreError> {
        let request = self.client().put_item().table_name(self.queues_table()).set_item(Some(encode_item(head)?));
        let request = match replaced {
            // Version 0 only creates: a stale writer must not bring back a
            // deleted player (as `put_versioned`).
            None => request.condition_expression("attribute_not_exists(guild_id)"),
            // The write id as well as the version: after a delete the
            // versions start again at 1, and a writer that read an older
            // head with the same version would list pages deleted since.
            Some(old) => {
                let request = request
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_names("#write_id", "write_id")
                    .expression_attribute_values(":expected", AttributeValue::N(old.version.to_string()));
                match &old.write_id {
                    Some(write_id) => request
                        .condition_expression("#version = :expected AND #write_id = :write_id")
                        .expression_attribute_values(":write_id", AttributeValue::S(write_id.clone())),
                    None => request.condition_expression("#version = :expected AND attribute_not_exists(#write_id)"),
                }
            }
        };
        request.send().await.map(drop).map_err(put_error)
    }
}

#[async_trait]
impl PlayerStore for DynamoStore {
    async fn load(&self, guild: GuildId) -> Result<Option<PlayerState>, StoreError> {
        let mut pause = LOAD_RETRY_PAUSE;
        for attempt in 1..=LOAD_ATTEMPTS {
            match assemble(guild, self.partition(guild, false).await?)? {
                Read::Missing => return Ok(None),
                Read::Found(state) => return Ok(Some(*state)),
                Read::PageGone if attempt < LOAD_ATTEMPTS => {
                    tracing::debug!(guild_id = %guild, attempt, "a listed page was gone, reading again");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Read::PageGone => {}
            }
        }
        tracing::warn!(guild_id = %guild, table = self.queues_table(), "listed pages kept disappearing");
        Err(StoreError::new(StoreErrorKind::Unavailable))
    }

    async fn save(&self, state: &PlayerState) -> Result<u64, StoreError> {
        let guild = state.guild_id;
        let version = state.version.checked_add(1).ok_or_else(corrupt)?;
        let old = self.head_meta(guild).await?;
        if old.as_ref().map_or(0, |h| h.version) != state.version {
            return Err(StoreError::new(StoreErrorKind::Conflict));
        }

        let write_id = new_write_id();
        let kept: HashMap<(&str, u32), &str> =
            old.iter().flat_map(|h| &h.pages).map(|p| ((p.hash.as_str(), p.count), p.key.as_str())).collect();
        let before: Vec<TrackId> =
            state.history.iter().map(|t| t.id).chain(state.current.as_ref().map(|c| c.track.id)).collect();
        let mut pages = Vec::new();
        let mut fresh = Vec::new();
        for (n, range) in split(&before, &state.upcoming).into_iter().enumerate() {
            let tracks = &state.upcoming[range];
            let hash = page_hash(tracks);
            let count = u32::try_from(tracks.len()).map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e))?;
            let key = match kept.get(&(hash.as_str(), count)) {
                Some(key) => (*key).to_owned(),
                None => {
                    let key = format!("{PAGE_PREFIX}{write_id}#{n:04}");
                    let tracks = tracks.iter().map(StoredTrack::new).collect();
                    fresh.push(PageItem {
                        guild_id: guild,
                        pos: key.clone(),
                        schema_version: PLAYER_SCHEMA_VERSION,
                        tracks,
                    });
                    key
                }
            };
            pages.push(PageRef { key, hash, count });
        }
        let fresh_keys: Vec<String> = fresh.iter().map(|p| p.pos.clone()).collect();
        self.put_pages(guild, fresh).await?;

        let listed: HashSet<&str> = pages.iter().map(|p| p.key.as_str()).collect();
        let dropped: Vec<String> = old
            .iter()
            .flat_map(|h| &h.pages)
            .filter(|p| !listed.contains(p.key.as_str()))
            .map(|p| p.key.clone())
            .collect();
        let head = HeadItem::new(state, version, write_id, pages);
        match self.put_head(&head, old.as_ref()).await {
            Ok(()) => {
                tracing::debug!(
                    guild_id = %guild,
                    version,
                    table = self.queues_table(),
                    written = fresh_keys.len(),
                    dropped = dropped.len(),
                    "player saved"
                );
                self.delete_pages_logged(guild, dropped, "pages no head lists").await;
                Ok(version)
            }
            Err(e) if e.kind() == StoreErrorKind::Conflict => {
                self.delete_pages_logged(guild, fresh_keys, "pages of a lost save").await;
                Err(e)
            }
            // The head may have landed: its pages must stay.
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, guild: GuildId) -> Result<(), StoreError> {
        // The keys before the head goes: pages written after this point
        // belong to saves that have not landed yet, and are left alone.
        let items = self.partition(guild, true).await?;
        let removed = self
            .client()
            .delete_item()
            .table_name(self.queues_table())
            .set_key(Some(Self::key(guild.to_string(), HEAD)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        let mut doomed: HashSet<String> = removed
            .attributes
            .and_then(|head| decode::<HeadMeta>(head).ok())
            .map(|head| head.pages.into_iter().map(|p| p.key).collect())
            .unwrap_or_default();
        let now = now_ms();
        doomed.extend(
            items
                .iter()
                .filter_map(pos_of)
                .filter(|pos| page_written_ms(pos).is_some_and(|ms| ms.saturating_add(ORPHAN_AGE_MS) < now))
                .map(str::to_owned),
        );
        tracing::debug!(guild_id = %guild, table = self.queues_table(), pages = doomed.len(), "player deleted");
        self.delete_pages(guild, doomed.into_iter().collect()).await
    }

    async fn active_guilds(&self) -> Result<Vec<GuildId>, StoreError> {
        // Index reads are eventually consistent: a player that changed a
        // moment ago may still be listed as it was. A resuming gateway loads
        // each listed player anyway, and that load is consistent.
        let mut guilds = Vec::new();
        let mut seen = HashSet::new();
        let mut start = None;
        loop {
            let output = self
                .client()
                .query()
                .table_name(self.queues_table())
                .index_name(ACTIVE_PLAYERS_INDEX)
                .key_condition_expression("#active = :active")
                .expression_attribute_names("#active", ACTIVE_ATTRIBUTE)
                .expression_attribute_values(":active", AttributeValue::S(ACTIVE_VALUE.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items.unwrap_or_default() {
                let guild = match item.get("guild_id") {
                    Some(AttributeValue::S(id)) => id.parse::<GuildId>().map_err(|_| corrupt())?,
                    _ => return Err(corrupt()),
                };
                if seen.insert(guild) {
                    guilds.push(guild);
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(guilds),
            }
        }
    }

    async fn mark_alive(&self, at_ms: u64) -> Result<(), StoreError> {
        let item = AliveItem {
            guild_id: DEPLOYMENT.to_owned(),
            pos: ALIVE.to_owned(),
            schema_version: PLAYER_SCHEMA_VERSION,
            at_ms,
        };
        self.client()
            .put_item()
            .table_name(self.queues_table())
            .set_item(Some(encode_item(&item)?))
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn last_alive(&self) -> Result<Option<u64>, StoreError> {
        let key = Self::key(DEPLOYMENT.to_owned(), ALIVE);
        let Some(item) = self.get_raw(self.queues_table(), key).await? else { return Ok(None) };
        if schema_version(&item).is_none_or(|v| v > PLAYER_SCHEMA_VERSION) {
            return Err(corrupt());
        }
        Ok(Some(decode::<AliveItem>(item)?.at_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_keys_carry_the_time_of_their_save() {
        let write_id = new_write_id();
        let key = format!("{PAGE_PREFIX}{write_id}#0003");
        let ms = page_written_ms(&key).unwrap();
        assert!(ms.abs_diff(now_ms()) < 60_000);
        assert_eq!(page_written_ms("page#whatever"), None);
        assert_eq!(page_written_ms("head"), None);
        assert_ne!(new_write_id(), new_write_id());
    }
}
