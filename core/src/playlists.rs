//! Members' own playlists (issue #14): saved from a queue or imported (an
//! uploaded file, later a linked account), and the store port. A playlist
//! belongs to a member, not a guild: it follows them to every server.
//! See docs/accounts.md, "Member playlists".

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::player::{MAX_SOURCE_BYTES, MAX_TITLE_CHARS, cap_title};
use crate::{Provider, StoreError, UserId};

/// The longest playlist name, in characters.
pub const MAX_PLAYLIST_NAME_CHARS: usize = 100;
/// The most tracks one playlist keeps (Spotify's own cap, and the file
/// import's).
pub const MAX_PLAYLIST_TRACKS: usize = 10_000;
/// The most playlists one member keeps.
pub const MAX_PLAYLISTS_PER_MEMBER: usize = 200;
/// The name of a member's liked tracks (imported from Spotify's data
/// export, later from a linked account): what `/likes` plays.
pub const LIKED_SONGS_PLAYLIST: &str = "Liked songs";

/// A playlist's name as the member typed it (trimmed, 1–100 characters, no
/// control characters). Two names are the same playlist when their
/// [`Self::key`]s are equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlaylistName(String);

/// Why a name was refused (said to the member as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlaylistNameError {
    /// Blank.
    #[error("a playlist needs a name")]
    Empty,
    /// Over [`MAX_PLAYLIST_NAME_CHARS`].
    #[error("a playlist's name is at most 100 characters")]
    TooLong,
    /// Holds a control character (a line break, a tab).
    #[error("a playlist's name cannot hold line breaks or tabs")]
    Control,
}

impl PlaylistName {
    /// `raw`, trimmed and checked.
    ///
    /// # Errors
    /// [`PlaylistNameError`] saying what is wrong.
    pub fn parse(raw: &str) -> Result<Self, PlaylistNameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(PlaylistNameError::Empty);
        }
        if name.chars().count() > MAX_PLAYLIST_NAME_CHARS {
            return Err(PlaylistNameError::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(PlaylistNameError::Control);
        }
        Ok(Self(name.to_owned()))
    }

    /// A name made from a third party's text (a file's playlist name): cut
    /// to [`MAX_PLAYLIST_NAME_CHARS`], control characters as spaces, and
    /// `fallback` when nothing is left.
    pub fn lossy(raw: &str, fallback: &str) -> Self {
        let cleaned: String = raw.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let cut: String = cleaned.trim().chars().take(MAX_PLAYLIST_NAME_CHARS).collect();
        Self::parse(&cut).or_else(|_| Self::parse(fallback)).unwrap_or_else(|_| Self("Playlist".to_owned()))
    }

    /// The name as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store compares: lower case, runs of spaces as one, so
    /// "Road Trip" and "road  trip" are one playlist.
    pub fn key(&self) -> String {
        self.0.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
    }
}

impl std::fmt::Display for PlaylistName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PlaylistName {
    type Error = PlaylistNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PlaylistName> for String {
    fn from(value: PlaylistName) -> Self {
        value.0
    }
}

/// Where a playlist came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaylistOrigin {
    /// `/playlist save`: a guild's queue at that moment.
    Saved,
    /// An uploaded file (Spotify data export, Exportify CSV).
    File,
    /// A linked account's playlist or likes.
    Linked(Provider),
}

impl PlaylistOrigin {
    /// How `/playlist list` names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Saved => "saved from a queue",
            Self::File => "imported from a file",
            Self::Linked(Provider::Google) => "from YouTube",
            Self::Linked(Provider::Spotify) => "from Spotify",
            Self::Linked(Provider::Plex) => "from Plex",
        }
    }
}

/// One entry: playable as it is (`source` set: what a queue's track opens)
/// or metadata only (imports), matched to the enabled sources when played.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaylistEntry {
    /// Its title, at most [`MAX_TITLE_CHARS`] (third-party text: escape
    /// before showing).
    pub title: String,
    /// Its artist, at most [`MAX_TITLE_CHARS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// How long it lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Its ISRC (12 characters), upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isrc: Option<String>,
    /// What the player opens, at most [`MAX_SOURCE_BYTES`]; `None`: match
    /// first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl PlaylistEntry {
    /// A metadata-only entry from a third party's text: title and artist
    /// capped as queue titles are, the ISRC kept only when it looks like one.
    pub fn metadata(title: &str, artist: &str, duration_ms: Option<u64>, isrc: Option<&str>) -> Self {
        let artist = artist.trim();
        Self {
            title: cap_title(title),
            artist: (!artist.is_empty()).then(|| cap_title(artist)),
            duration_ms,
            isrc: isrc.map(str::trim).filter(|i| is_isrc(i)).map(str::to_ascii_uppercase),
            source: None,
        }
    }

    /// Whether it keeps to the caps a store relies on to size its items.
    pub fn is_within_limits(&self) -> bool {
        self.title.chars().count() <= MAX_TITLE_CHARS
            && self.artist.as_ref().is_none_or(|a| a.chars().count() <= MAX_TITLE_CHARS)
            && self.isrc.as_ref().is_none_or(|i| is_isrc(i))
            && self.source.as_ref().is_none_or(|s| s.len() <= MAX_SOURCE_BYTES)
    }
}

/// Two letters or digits of country, three of registrant, two of year, five
/// of designation.
fn is_isrc(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A member's playlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPlaylist {
    /// Its owner.
    pub owner: UserId,
    /// Its name.
    pub name: PlaylistName,
    /// Where it came from.
    pub origin: PlaylistOrigin,
    /// Its tracks, in order, at most [`MAX_PLAYLIST_TRACKS`].
    pub entries: Vec<PlaylistEntry>,
    /// When it was written, Unix milliseconds.
    pub updated_at_ms: u64,
}

impl MemberPlaylist {
    /// Whether a store may keep it: at most [`MAX_PLAYLIST_TRACKS`] entries,
    /// each within its caps.
    pub fn is_within_limits(&self) -> bool {
        self.entries.len() <= MAX_PLAYLIST_TRACKS && self.entries.iter().all(PlaylistEntry::is_within_limits)
    }
}

/// What `/playlist list` and autocomplete show of one playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistSummary {
    /// Its name.
    pub name: PlaylistName,
    /// Where it came from.
    pub origin: PlaylistOrigin,
    /// How many tracks it has.
    pub tracks: usize,
    /// When it was written.
    pub updated_at_ms: u64,
}

/// Keeps members' playlists, partitioned by member.
///
/// Contract (one suite over every adapter):
/// - [`Self::save_playlist`] replaces the member's playlist of the same
///   [`PlaylistName::key`] whole (a reader sees the old one or the new one,
///   never a mix); [`crate::StoreErrorKind::TooLarge`] when
///   [`MemberPlaylist::is_within_limits`] is false and
///   [`crate::StoreErrorKind::LimitReached`] for a new one past
///   [`MAX_PLAYLISTS_PER_MEMBER`]; nothing is written then;
/// - [`Self::playlists`] lists a member's playlists ordered by key;
/// - [`crate::AccountStore::delete_member`] removes them too.
#[async_trait]
pub trait PlaylistStore: Send + Sync + 'static {
    /// The member's playlist named `name` (compared by key).
    async fn load_playlist(&self, owner: UserId, name: &PlaylistName) -> Result<Option<MemberPlaylist>, StoreError>;

    /// Stores `playlist`, replacing the owner's one of the same key.
    async fn save_playlist(&self, playlist: &MemberPlaylist) -> Result<(), StoreError>;

    /// The member's playlists, ordered by key.
    async fn playlists(&self, owner: UserId) -> Result<Vec<PlaylistSummary>, StoreError>;

    /// Removes the member's playlist named `name`; returns whether there
    /// was one.
    async fn delete_playlist(&self, owner: UserId, name: &PlaylistName) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(PlaylistName::parse("  Road Trip ").unwrap().as_str(), "Road Trip");
        assert_eq!(PlaylistName::parse("   "), Err(PlaylistNameError::Empty));
        assert_eq!(PlaylistName::parse("a\nb"), Err(PlaylistNameError::Control));
        assert!(PlaylistName::parse(&"é".repeat(MAX_PLAYLIST_NAME_CHARS)).is_ok());
        assert_eq!(PlaylistName::parse(&"é".repeat(MAX_PLAYLIST_NAME_CHARS + 1)), Err(PlaylistNameError::TooLong));
    }

    #[test]
    fn keys_ignore_case_and_runs_of_spaces() {
        let a = PlaylistName::parse("Road  Trip").unwrap();
        let b = PlaylistName::parse("road trip").unwrap();
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), PlaylistName::parse("roadtrip").unwrap().key());
        assert_eq!(a.as_str(), "Road  Trip", "the name keeps what was typed");
    }

    #[test]
    fn lossy_names_are_cut_cleaned_or_fall_back() {
        assert_eq!(PlaylistName::lossy("Mix\tTape", "x").as_str(), "Mix Tape");
        assert_eq!(PlaylistName::lossy(&"a".repeat(300), "x").as_str().len(), MAX_PLAYLIST_NAME_CHARS);
        assert_eq!(PlaylistName::lossy(" \n ", "Imported").as_str(), "Imported");
    }

    #[test]
    fn a_name_deserializes_only_when_valid() {
        let ok: PlaylistName = serde_json::from_str("\"Chill\"").unwrap();
        assert_eq!(ok.as_str(), "Chill");
        assert!(serde_json::from_str::<PlaylistName>("\"\"").is_err());
    }

    #[test]
    fn metadata_entries_are_capped_and_keep_only_real_isrcs() {
        let long = "x".repeat(MAX_TITLE_CHARS * 2);
        let entry = PlaylistEntry::metadata(&long, " ", Some(1), Some(" usrc17607839 "));
        assert!(entry.is_within_limits());
        assert_eq!(entry.title.chars().count(), MAX_TITLE_CHARS);
        assert_eq!(entry.artist, None);
        assert_eq!(entry.isrc.as_deref(), Some("USRC17607839"));
        assert_eq!(PlaylistEntry::metadata("t", "a", None, Some("not an isrc")).isrc, None);
    }

    #[test]
    fn limits_catch_an_overlong_source_and_too_many_entries() {
        let entry = PlaylistEntry::metadata("t", "a", None, None);
        let mut playlist = MemberPlaylist {
            owner: UserId::new(1).unwrap(),
            name: PlaylistName::parse("p").unwrap(),
            origin: PlaylistOrigin::Saved,
            entries: vec![entry.clone(); MAX_PLAYLIST_TRACKS],
            updated_at_ms: 0,
        };
        assert!(playlist.is_within_limits());
        playlist.entries.push(entry.clone());
        assert!(!playlist.is_within_limits());
        playlist.entries = vec![PlaylistEntry { source: Some("s".repeat(MAX_SOURCE_BYTES + 1)), ..entry }];
        assert!(!playlist.is_within_limits());
    }

    #[test]
    fn origins_round_trip_in_their_stored_form() {
        for origin in [PlaylistOrigin::Saved, PlaylistOrigin::File, PlaylistOrigin::Linked(Provider::Plex)] {
            let text = serde_json::to_string(&origin).unwrap();
            assert_eq!(serde_json::from_str::<PlaylistOrigin>(&text).unwrap(), origin);
        }
        assert_eq!(
            serde_json::to_string(&PlaylistOrigin::Linked(Provider::Spotify)).unwrap(),
            r#"{"linked":"spotify"}"#
        );
    }
}
