//! [`PlaylistStore`] on DynamoDB: in the users table, partitioned by member.
//!
//! A playlist can hold far more than DynamoDB's 400 KB item limit, so it
//! is kept as a head item and pages:
//!
//! - the head, at `kind = "playlist#<key>"`: the name, origin, size, time,
//!   and which *generation* of pages holds the entries and how many;
//! - the pages, at `kind = "plpage#<generation>#<n>"`: the entries as one
//!   JSON array each, at most [`MAX_PAGE_BYTES`].
//!
//! A save writes a new generation of pages (a random id), then swaps the
//! head to it conditionally on the head it read, then deletes the pages of
//! the generation it replaced. A reader reads the head, then its pages; if
//! one is gone a save replaced them meanwhile, so it reads the head again.
//! So a reader sees one playlist whole, and a save that loses a race to
//! another leaves no pages behind. Heads sort by key in the partition, so
//! listing is one query of small items; pages never match that query's
//! prefix.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use serde::{Deserialize, Serialize};
use timmybot_core::{
    MAX_PLAYLISTS_PER_MEMBER, MemberPlaylist, PlaylistEntry, PlaylistName, PlaylistOrigin, PlaylistStore,
    PlaylistSummary, StoreError, StoreErrorKind, UserId,
};

use crate::DynamoStore;
use crate::accounts_dynamodb::key;
use crate::dynamo_store::{decode_item, encode_item, put_error, unavailable};

/// The sort-key prefix of playlist heads.
const HEAD_PREFIX: &str = "playlist#";

/// The sort-key prefix of pages.
const PAGE_PREFIX: &str = "plpage#";

/// The most bytes of JSON one page's entries take: well under the 400 KB
/// item limit, and above the largest single entry (about 4 KB).
const MAX_PAGE_BYTES: usize = 300 * 1024;

/// How many times a save retries its head swap when another save of the
/// same playlist moved the head meanwhile, and a read re-reads a head whose
/// pages went.
const ATTEMPTS: usize = 5;

#[derive(Serialize, Deserialize)]
struct HeadItem {
    user_id: UserId,
    kind: String,
    schema_version: u32,
    name: PlaylistName,
    origin: PlaylistOrigin,
    tracks: usize,
    updated_at_ms: u64,
    generation: String,
    pages: usize,
}

#[derive(Serialize, Deserialize)]
struct PageItem {
    user_id: UserId,
    kind: String,
    schema_version: u32,
    entries: String,
}

fn head_kind(name: &PlaylistName) -> String {
    format!("{HEAD_PREFIX}{}", name.key())
}

fn page_kind(generation: &str, page: usize) -> String {
    format!("{PAGE_PREFIX}{generation}#{page:05}")
}

/// The entries as JSON arrays of at most [`MAX_PAGE_BYTES`] each (one
/// entry per page at worst); an empty playlist has no pages.
fn pages_of(entries: &[PlaylistEntry]) -> Result<Vec<String>, StoreError> {
    let mut pages = Vec::new();
    let mut page = String::from("[");
    for entry in entries {
        let json = serde_json::to_string(entry).map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e))?;
        if page.len() > 1 && page.len() + json.len() + 2 > MAX_PAGE_BYTES {
            page.push(']');
            pages.push(std::mem::replace(&mut page, String::from("[")));
        }
        if page.len() > 1 {
            page.push(',');
        }
        page.push_str(&json);
    }
    if page.len() > 1 {
        page.push(']');
        pages.push(page);
    }
    Ok(pages)
}

impl DynamoStore {
    async fn playlist_head(&self, owner: UserId, kind: &str) -> Result<Option<HeadItem>, StoreError> {
        let Some(item) = self.get_raw(&self.tables().users, key(owner, kind.to_owned())).await? else {
            return Ok(None);
        };
        let head: HeadItem = decode_item(item)?;
        if head.user_id != owner || head.kind != head_kind(&head.name) {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        Ok(Some(head))
    }

    /// The head's entries, or `None` when a page is gone (replaced since).
    async fn playlist_entries(&self, head: &HeadItem) -> Result<Option<Vec<PlaylistEntry>>, StoreError> {
        let mut entries = Vec::with_capacity(head.tracks);
        for page in 0..head.pages {
            let kind = page_kind(&head.generation, page);
            let Some(item) = self.get_raw(&self.tables().users, key(head.user_id, kind.clone())).await? else {
                return Ok(None);
            };
            let page: PageItem = decode_item(item)?;
            if page.user_id != head.user_id || page.kind != kind {
                return Err(StoreError::new(StoreErrorKind::Corrupt));
            }
            let part: Vec<PlaylistEntry> =
                serde_json::from_str(&page.entries).map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e))?;
            entries.extend(part);
        }
        if entries.len() != head.tracks {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        }
        Ok(Some(entries))
    }

    async fn delete_playlist_pages(&self, owner: UserId, generation: &str, pages: usize) -> Result<(), StoreError> {
        for page in 0..pages {
            self.delete_user_item(owner, page_kind(generation, page)).await?;
        }
        Ok(())
    }

    async fn count_playlists(&self, owner: UserId) -> Result<usize, StoreError> {
        let mut count = 0;
        let mut start = None;
        loop {
            let page = self
                .client()
                .query()
                .table_name(&self.tables().users)
                .key_condition_expression("user_id = :user AND begins_with(kind, :prefix)")
                .expression_attribute_values(":user", AttributeValue::S(owner.to_string()))
                .expression_attribute_values(":prefix", AttributeValue::S(HEAD_PREFIX.to_owned()))
                .select(Select::Count)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            count += usize::try_from(page.count).unwrap_or(0);
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(count);
            }
        }
    }

    /// Swaps the head to `head`, conditionally on the stored one being
    /// `expected` (its generation, or none: the caller counted the member's
    /// playlists then); returns the one it replaced.
    async fn swap_head(&self, head: &HeadItem, mut expected: Option<HeadItem>) -> Result<Option<HeadItem>, StoreError> {
        let item = encode_item(head)?;
        for attempt in 0..ATTEMPTS {
            // Deleted since the caller read it: it is a new one again.
            if attempt > 0
                && expected.is_none()
                && self.count_playlists(head.user_id).await? >= MAX_PLAYLISTS_PER_MEMBER
            {
                return Err(StoreError::new(StoreErrorKind::LimitReached));
            }
            let put = self.client().put_item().table_name(&self.tables().users).set_item(Some(item.clone()));
            let put = match &expected {
                None => put.condition_expression("attribute_not_exists(user_id)"),
                Some(old) => put
                    .condition_expression("generation = :expected")
                    .expression_attribute_values(":expected", AttributeValue::S(old.generation.clone())),
            };
            match put.send().await.map_err(put_error) {
                Ok(_) => return Ok(expected),
                Err(e) if e.kind() == StoreErrorKind::Conflict => {
                    expected = self.playlist_head(head.user_id, &head.kind).await?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::new(StoreErrorKind::Conflict))
    }
}

#[async_trait]
impl PlaylistStore for DynamoStore {
    async fn load_playlist(&self, owner: UserId, name: &PlaylistName) -> Result<Option<MemberPlaylist>, StoreError> {
        let kind = head_kind(name);
        for _ in 0..ATTEMPTS {
            let Some(head) = self.playlist_head(owner, &kind).await? else { return Ok(None) };
            if let Some(entries) = self.playlist_entries(&head).await? {
                return Ok(Some(MemberPlaylist {
                    owner,
                    name: head.name,
                    origin: head.origin,
                    entries,
                    updated_at_ms: head.updated_at_ms,
                }));
            }
        }
        // Replaced over and over while reading: say so, as a busy store.
        Err(StoreError::new(StoreErrorKind::Unavailable))
    }

    async fn save_playlist(&self, playlist: &MemberPlaylist) -> Result<(), StoreError> {
        if !playlist.is_within_limits() {
            return Err(StoreError::new(StoreErrorKind::TooLarge));
        }
        let owner = playlist.owner;
        let kind = head_kind(&playlist.name);
        let expected = self.playlist_head(owner, &kind).await?;
        if expected.is_none() && self.count_playlists(owner).await? >= MAX_PLAYLISTS_PER_MEMBER {
            return Err(StoreError::new(StoreErrorKind::LimitReached));
        }
        let generation = format!("{:032x}", rand::random::<u128>());
        let pages = pages_of(&playlist.entries)?;
        for (n, entries) in pages.iter().enumerate() {
            let item = encode_item(&PageItem {
                user_id: owner,
                kind: page_kind(&generation, n),
                schema_version: timmybot_core::SCHEMA_VERSION,
                entries: entries.clone(),
            })?;
            if let Err(e) = self.client().put_item().table_name(&self.tables().users).set_item(Some(item)).send().await
            {
                // Best effort: the pages written so far are nobody's.
                let _ = self.delete_playlist_pages(owner, &generation, n).await;
                return Err(unavailable(e));
            }
        }
        let head = HeadItem {
            user_id: owner,
            kind,
            schema_version: timmybot_core::SCHEMA_VERSION,
            name: playlist.name.clone(),
            origin: playlist.origin,
            tracks: playlist.entries.len(),
            updated_at_ms: playlist.updated_at_ms,
            generation: generation.clone(),
            pages: pages.len(),
        };
        match self.swap_head(&head, expected).await {
            Ok(Some(replaced)) => self.delete_playlist_pages(owner, &replaced.generation, replaced.pages).await,
            Ok(None) => Ok(()),
            Err(e) => {
                let _ = self.delete_playlist_pages(owner, &generation, pages.len()).await;
                Err(e)
            }
        }
    }

    async fn playlists(&self, owner: UserId) -> Result<Vec<PlaylistSummary>, StoreError> {
        self.member_items(owner, Some(HEAD_PREFIX))
            .await?
            .into_iter()
            .map(|item| {
                let head: HeadItem = decode_item(item)?;
                if head.user_id != owner {
                    return Err(StoreError::new(StoreErrorKind::Corrupt));
                }
                Ok(PlaylistSummary {
                    name: head.name,
                    origin: head.origin,
                    tracks: head.tracks,
                    updated_at_ms: head.updated_at_ms,
                })
            })
            .collect()
    }

    async fn delete_playlist(&self, owner: UserId, name: &PlaylistName) -> Result<bool, StoreError> {
        let kind = head_kind(name);
        let Some(head) = self.playlist_head(owner, &kind).await? else { return Ok(false) };
        let deleted = self
            .client()
            .delete_item()
            .table_name(&self.tables().users)
            .set_key(Some(key(owner, kind)))
            .condition_expression("generation = :expected")
            .expression_attribute_values(":expected", AttributeValue::S(head.generation.clone()))
            .send()
            .await;
        match deleted {
            Ok(_) => {
                self.delete_playlist_pages(owner, &head.generation, head.pages).await?;
                Ok(true)
            }
            // Replaced meanwhile: the newer save stands, as if it came
            // after this delete.
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(title_len: usize) -> PlaylistEntry {
        PlaylistEntry { title: "t".repeat(title_len), artist: None, duration_ms: None, isrc: None, source: None }
    }

    #[test]
    fn pages_hold_every_entry_in_order_within_the_cap() {
        let entries: Vec<PlaylistEntry> = (0..3000).map(|i| entry(100 + i % 100)).collect();
        let pages = pages_of(&entries).unwrap();
        assert!(pages.len() >= 2, "{} pages", pages.len());
        assert!(pages.iter().all(|p| p.len() <= MAX_PAGE_BYTES));
        let back: Vec<PlaylistEntry> =
            pages.iter().flat_map(|p| serde_json::from_str::<Vec<PlaylistEntry>>(p).unwrap()).collect();
        assert_eq!(back, entries);
        assert_eq!(pages_of(&[]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn page_kinds_never_look_like_heads() {
        let kind = page_kind("00ff", 3);
        assert_eq!(kind, "plpage#00ff#00003");
        assert!(!kind.starts_with(HEAD_PREFIX));
    }
}
