//! A member's own playlist (`/playlist load`, `/play playlist:`) turned
//! into tracks to queue: playable entries as they are, metadata-only ones
//! (imports) matched to the enabled catalogs by the [`crate::TrackMatcher`],
//! and the first track opened, so a dead first entry is found before the
//! player joins.

use timmybot_core::player::NewTrack;
use timmybot_core::{MemberPlaylist, PlaylistEntry, UserId};
use timmybot_sources::{Origin, TrackMeta};

use crate::source::{ResolveNotes, ResolvedSource, SourceResolver};
use crate::{MAX_MATCHED_TRACKS, SourceError};

/// How many entries are tried in turn for the first track before the load
/// gives up (each a network open).
pub const FIRST_TRACK_ATTEMPTS: usize = 5;

/// A playlist ready for the queue.
pub struct OpenedPlaylist {
    /// The first track, opened.
    pub first: ResolvedSource,
    /// Every track to queue, the first one first.
    pub tracks: Vec<NewTrack>,
    /// What the member is told besides (the playlist's name, what matched
    /// nothing, what was left out).
    pub notes: ResolveNotes,
}

/// "Artist – Title", or the title alone.
fn display(entry: &PlaylistEntry) -> String {
    match &entry.artist {
        Some(artist) => format!("{artist} – {}", entry.title),
        None => entry.title.clone(),
    }
}

/// The entry as a track to match.
fn wanted(entry: &PlaylistEntry) -> TrackMeta {
    let mut meta = TrackMeta::new(Origin::Imported, "", &entry.title);
    meta.artist = entry.artist.clone();
    meta.duration_ms = entry.duration_ms;
    meta.isrc = entry.isrc.clone();
    meta
}

impl SourceResolver {
    /// Turns `playlist` into at most `room` tracks requested by `user`:
    /// playable entries as they are; metadata-only ones matched (at most
    /// [`MAX_MATCHED_TRACKS`] a load, each a catalog search; the others are
    /// left out and counted); then the first track opened, trying up to
    /// [`FIRST_TRACK_ATTEMPTS`] entries (those that fail are left out and
    /// counted).
    ///
    /// # Errors
    /// [`SourceError::NotMatched`] when nothing in it is playable here; the
    /// last entry's error when none of the first ones opens.
    pub async fn open_playlist(
        &self,
        playlist: &MemberPlaylist,
        user: UserId,
        room: usize,
    ) -> Result<OpenedPlaylist, SourceError> {
        let mut notes = ResolveNotes { collection: Some(playlist.name.to_string()), ..ResolveNotes::default() };
        let entries = &playlist.entries[..playlist.entries.len().min(room)];
        notes.truncated = playlist.entries.len() > entries.len();
        // Which metadata-only entries are matched this time, in order.
        let to_match: Vec<usize> =
            (0..entries.len()).filter(|&i| entries[i].source.is_none()).take(MAX_MATCHED_TRACKS).collect();
        let unmatchable = entries.iter().filter(|e| e.source.is_none()).count() - to_match.len();
        notes.skipped += unmatchable;
        let mut matched: Vec<Option<TrackMeta>> = vec![None; entries.len()];
        if !to_match.is_empty() {
            match self.matcher().filter(|m| m.has_catalogs()) {
                Some(matcher) => {
                    let wanted: Vec<TrackMeta> = to_match.iter().map(|&i| wanted(&entries[i])).collect();
                    let (found, _rate_limited) = matcher.matches(&wanted).await;
                    for (&i, found) in to_match.iter().zip(found) {
                        matched[i] = found;
                    }
                }
                // Nothing to match in: said as left out, not as "not found".
                None => notes.skipped += to_match.len(),
            }
        }
        let searched = self.matcher().is_some_and(crate::TrackMatcher::has_catalogs);
        let mut tracks = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let (source, duration_ms) = match (&entry.source, &matched[i]) {
                (Some(source), _) => (source.clone(), entry.duration_ms),
                (None, Some(found)) => match &found.locator {
                    Some(locator) => (locator.clone(), found.duration_ms.or(entry.duration_ms)),
                    None => continue,
                },
                (None, None) => {
                    if searched && to_match.contains(&i) {
                        notes.unmatched.push(display(entry));
                    }
                    continue;
                }
            };
            tracks.push(NewTrack { source, title: display(entry), duration_ms, requested_by: user });
        }
        if tracks.is_empty() {
            return Err(SourceError::NotMatched { looked_for: entries.len().max(1), what: "playlist" });
        }
        let mut last_error = None;
        for attempt in 0..FIRST_TRACK_ATTEMPTS.min(tracks.len()) {
            match self.resolve(&tracks[attempt].source).await {
                Ok(first) => {
                    // The entries that did not open are left out.
                    notes.skipped += attempt;
                    tracks.drain(..attempt);
                    return Ok(OpenedPlaylist { first, tracks, notes });
                }
                Err(e) => {
                    tracing::info!(error = %e, "a playlist entry did not open; trying the next");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or(SourceError::NotFound))
    }
}
