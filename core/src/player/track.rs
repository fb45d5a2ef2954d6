//! A track in a guild's player: what it is, who asked for it, and the caps
//! that keep a stored queue inside a DynamoDB item.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::UserId;

/// The longest title kept, in characters; longer titles are cut with `…`.
///
/// Titles come from third parties (file tags, radio metadata); the cap
/// bounds what one stored track can weigh (at most 4 bytes a character).
pub const MAX_TITLE_CHARS: usize = 200;

/// The longest source (a link or a media path) accepted, in bytes.
///
/// A link cannot be shortened without breaking it, so a longer one is
/// refused rather than cut. With the title cap, a stored track stays under
/// 3 KiB, which is what the store adapters size their pages by.
pub const MAX_SOURCE_BYTES: usize = 2048;

/// A track's id, unique within its guild's player (never reused).
///
/// Commands and buttons name tracks by id, so a track that moved between
/// the moment a list was shown and the moment a button was pressed is still
/// the one meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TrackId(pub u64);

impl fmt::Display for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A track as a member asked for it, before the player gave it an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrack {
    /// What to open when it plays (a link or a media path), as resolved.
    pub source: String,
    /// A title to show.
    pub title: String,
    /// How long it lasts; `None` for a live stream or when unknown.
    pub duration_ms: Option<u64>,
    /// Who asked for it.
    pub requested_by: UserId,
}

/// A track in a player: current, waiting, or in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    /// Its id in this guild.
    pub id: TrackId,
    /// What to open (a link or a media path), at most [`MAX_SOURCE_BYTES`].
    pub source: String,
    /// A title to show, at most [`MAX_TITLE_CHARS`].
    pub title: String,
    /// How long it lasts; `None` for a live stream or when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Who asked for it.
    pub requested_by: UserId,
}

impl Track {
    /// Gives `new` the id `id`, cutting an overlong title.
    ///
    /// # Errors
    /// [`SourceTooLong`] when the source is over [`MAX_SOURCE_BYTES`].
    pub fn from_new(id: TrackId, new: NewTrack) -> Result<Self, SourceTooLong> {
        if new.source.len() > MAX_SOURCE_BYTES {
            return Err(SourceTooLong);
        }
        Ok(Self {
            id,
            source: new.source,
            title: cap_title(&new.title),
            duration_ms: new.duration_ms,
            requested_by: new.requested_by,
        })
    }

    /// Whether the track has no known end (a live stream).
    pub fn is_live(&self) -> bool {
        self.duration_ms.is_none()
    }
}

/// A source longer than [`MAX_SOURCE_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("track source longer than {MAX_SOURCE_BYTES} bytes")]
pub struct SourceTooLong;

/// `title` trimmed, with control characters removed, cut to
/// [`MAX_TITLE_CHARS`] (the last one an ellipsis when cut); `"Untitled"`
/// when nothing is left.
pub fn cap_title(title: &str) -> String {
    let cleaned: String = title.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        return "Untitled".to_owned();
    }
    if cleaned.chars().count() <= MAX_TITLE_CHARS {
        return cleaned.to_owned();
    }
    let mut cut: String = cleaned.chars().take(MAX_TITLE_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(source: &str, title: &str) -> NewTrack {
        NewTrack {
            source: source.into(),
            title: title.into(),
            duration_ms: Some(1),
            requested_by: UserId::new(1).unwrap(),
        }
    }

    #[test]
    fn titles_are_cleaned_and_cut_to_the_cap() {
        assert_eq!(cap_title("  a\u{0}b\nc "), "a b c");
        assert_eq!(cap_title(" \t "), "Untitled");
        let long = "é".repeat(MAX_TITLE_CHARS + 50);
        let cut = cap_title(&long);
        assert_eq!(cut.chars().count(), MAX_TITLE_CHARS);
        assert!(cut.ends_with('…'));
        let exact = "x".repeat(MAX_TITLE_CHARS);
        assert_eq!(cap_title(&exact), exact);
    }

    #[test]
    fn an_overlong_source_is_refused_not_cut() {
        let ok = "a".repeat(MAX_SOURCE_BYTES);
        assert_eq!(Track::from_new(TrackId(1), new(&ok, "t")).unwrap().source, ok);
        let long = "a".repeat(MAX_SOURCE_BYTES + 1);
        assert_eq!(Track::from_new(TrackId(1), new(&long, "t")), Err(SourceTooLong));
    }
}
