//! Spotify's "Download your data" export: `Playlist1.json` (and further
//! `PlaylistN.json`) and `YourLibrary.json`.
//!
//! Spotify documents the files only loosely, so these shapes are
//! assumptions from exports seen in the wild, read tolerantly (a missing or
//! mistyped field is treated as absent, never as an error):
//!
//! ```json
//! {"playlists": [{
//!     "name": "Road trip",
//!     "lastModifiedDate": "2024-05-01",
//!     "items": [
//!         {"track": {"trackName": "…", "artistName": "…", "albumName": "…",
//!                    "trackUri": "spotify:track:…"},
//!          "episode": null, "localTrack": null, "audiobook": null,
//!          "addedDate": "2024-05-01"}
//!     ]
//! }]}
//! ```
//!
//! An item whose `episode`, `audiobook` or `localTrack` is set, or whose
//! `track` is missing or null, is skipped and counted.
//!
//! ```json
//! {"tracks": [{"artist": "…", "album": "…", "track": "…", "uri": "spotify:track:…"}],
//!  "albums": […], "shows": […]}
//! ```
//!
//! `YourLibrary.json`'s `tracks` are the member's liked songs and become one
//! playlist named [`LIKED_SONGS`]. A file with both lists gives its
//! playlists first.

use serde_json::{Map, Value};

use super::{ImportedPlaylist, ImportedTrack, check_entries, check_size, non_empty, track_uri};
use crate::ImportError;

/// The name of the playlist made from `YourLibrary.json`'s liked songs
/// (the one `/likes` plays).
pub const LIKED_SONGS: &str = timmybot_core::LIKED_SONGS_PLAYLIST;

/// The name given to a playlist whose export has no name.
pub const UNTITLED_PLAYLIST: &str = "Untitled playlist";

/// Reads a Spotify data export file into its playlists, in file order.
///
/// Playlists with no importable track are kept (with their
/// [`skipped`](ImportedPlaylist::skipped) count), so the caller can say why
/// nothing was saved.
///
/// # Errors
///
/// [`ImportError::TooLarge`] over [`MAX_IMPORT_BYTES`](crate::MAX_IMPORT_BYTES);
/// [`ImportError::Empty`] for a blank file or an export with no playlist
/// and no liked song; [`ImportError::NotJson`]; [`ImportError::NotSpotifyExport`]
/// for JSON without a `playlists` or `tracks` list;
/// [`ImportError::TooManyTracks`] when one list has more than
/// [`MAX_IMPORT_TRACKS`](crate::MAX_IMPORT_TRACKS) items.
pub fn parse_spotify_export(bytes: &[u8]) -> Result<Vec<ImportedPlaylist>, ImportError> {
    let bytes = check_size(bytes)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty);
    }
    // The error is dropped: it quotes the value it stopped at.
    let value: Value = serde_json::from_slice(bytes).map_err(|_| ImportError::NotJson)?;
    let root = value.as_object().ok_or(ImportError::NotSpotifyExport)?;
    let playlists = root.get("playlists").and_then(Value::as_array);
    let liked = root.get("tracks").and_then(Value::as_array);
    if playlists.is_none() && liked.is_none() {
        return Err(ImportError::NotSpotifyExport);
    }

    let mut imported = Vec::new();
    for playlist in playlists.into_iter().flatten().filter_map(Value::as_object) {
        imported.push(playlist_of(playlist)?);
    }
    if let Some(liked) = liked.filter(|liked| !liked.is_empty()) {
        imported.push(liked_songs(liked)?);
    }
    if imported.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(imported)
}

fn playlist_of(playlist: &Map<String, Value>) -> Result<ImportedPlaylist, ImportError> {
    let items = playlist.get("items").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    check_entries(items.len())?;
    let name = text(playlist, "name").unwrap_or_else(|| UNTITLED_PLAYLIST.to_owned());
    let mut imported = ImportedPlaylist { name, tracks: Vec::new(), skipped: 0 };
    for item in items {
        match item.as_object().and_then(item_track) {
            Some(track) => imported.tracks.push(track),
            None => imported.skipped += 1,
        }
    }
    Ok(imported)
}

/// A playlist item's track, or `None` for anything else.
fn item_track(item: &Map<String, Value>) -> Option<ImportedTrack> {
    let set = |key: &str| item.get(key).is_some_and(|value| !value.is_null());
    if set("episode") || set("audiobook") || set("localTrack") {
        return None;
    }
    let track = item.get("track")?.as_object()?;
    let uri = text(track, "trackUri");
    if uri.as_deref().is_some_and(|uri| uri.starts_with("spotify:local:")) {
        return None;
    }
    Some(ImportedTrack {
        title: text(track, "trackName")?,
        artist: text(track, "artistName").unwrap_or_default(),
        album: text(track, "albumName"),
        duration_ms: None,
        isrc: None,
        spotify_uri: uri.as_deref().and_then(track_uri),
    })
}

fn liked_songs(tracks: &[Value]) -> Result<ImportedPlaylist, ImportError> {
    check_entries(tracks.len())?;
    let mut imported = ImportedPlaylist { name: LIKED_SONGS.to_owned(), tracks: Vec::new(), skipped: 0 };
    for track in tracks {
        let track = track.as_object().and_then(|track| {
            Some(ImportedTrack {
                title: text(track, "track")?,
                artist: text(track, "artist").unwrap_or_default(),
                album: text(track, "album"),
                duration_ms: None,
                isrc: None,
                spotify_uri: text(track, "uri").as_deref().and_then(track_uri),
            })
        });
        match track {
            Some(track) => imported.tracks.push(track),
            None => imported.skipped += 1,
        }
    }
    Ok(imported)
}

/// The object's string field, trimmed, when it is a non-empty string.
fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).and_then(non_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistyped_fields_are_read_as_absent() {
        let playlists = parse_spotify_export(
            br#"{"playlists": [{"name": 7, "items": [
                {"track": {"trackName": "Song", "artistName": ["x"], "albumName": null, "trackUri": 5}},
                {"track": "not an object"},
                {"track": {"trackName": "   "}},
                3
            ]}, "not a playlist"]}"#,
        )
        .unwrap();
        assert_eq!(playlists.len(), 1);
        let playlist = &playlists[0];
        assert_eq!(playlist.name, UNTITLED_PLAYLIST);
        assert_eq!(playlist.skipped, 3);
        assert_eq!(
            playlist.tracks,
            vec![ImportedTrack {
                title: "Song".into(),
                artist: String::new(),
                album: None,
                duration_ms: None,
                isrc: None,
                spotify_uri: None,
            }]
        );
    }

    #[test]
    fn a_local_file_uri_in_a_track_is_skipped() {
        let playlists = parse_spotify_export(
            br#"{"playlists": [{"name": "p", "items": [
                {"track": {"trackName": "Demo", "artistName": "Me", "trackUri": "spotify:local:Me::Demo:180"}}
            ]}]}"#,
        )
        .unwrap();
        assert_eq!((playlists[0].tracks.len(), playlists[0].skipped), (0, 1));
    }

    #[test]
    fn json_that_is_not_an_export_is_refused() {
        assert_eq!(parse_spotify_export(b"[1, 2]"), Err(ImportError::NotSpotifyExport));
        assert_eq!(parse_spotify_export(br#"{"albums": []}"#), Err(ImportError::NotSpotifyExport));
        assert_eq!(parse_spotify_export(br#"{"playlists": {}}"#), Err(ImportError::NotSpotifyExport));
    }

    #[test]
    fn an_export_without_playlists_or_liked_songs_is_empty() {
        assert_eq!(parse_spotify_export(br#"{"playlists": []}"#), Err(ImportError::Empty));
        assert_eq!(parse_spotify_export(br#"{"tracks": [], "albums": []}"#), Err(ImportError::Empty));
        assert_eq!(parse_spotify_export(b" \n "), Err(ImportError::Empty));
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let playlists = parse_spotify_export(b"\xEF\xBB\xBF{\"playlists\": [{\"name\": \"p\"}]}").unwrap();
        assert_eq!(playlists[0].name, "p");
        assert!(playlists[0].tracks.is_empty());
    }
}
