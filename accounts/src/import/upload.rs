//! An uploaded playlist file (`/playlist import file:`) as the member's
//! playlists: which parser reads it (by its extension), how its playlists
//! become [`MemberPlaylist`]s of metadata-only entries (names cleaned, kept
//! apart when two in one file share one), and what the member is told.
//! No I/O: the gateway downloads the file and saves what this returns.

use timmybot_core::{MemberPlaylist, PlaylistEntry, PlaylistName, PlaylistOrigin, UserId, escape_markdown};

use super::{ImportedPlaylist, MAX_IMPORT_BYTES, parse_exportify_csv, parse_spotify_export};
use crate::ImportError;

/// The name an imported playlist gets when its own is unusable.
pub const IMPORTED_PLAYLIST: &str = "Imported playlist";

/// Which file an upload is, by its name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadFormat {
    /// `.json`: Spotify's "Download your data" (`Playlist1.json`,
    /// `YourLibrary.json`).
    SpotifyExport,
    /// `.csv`: an Exportify export of one playlist.
    ExportifyCsv,
}

impl UploadFormat {
    /// The format `filename` names, if one the import reads.
    pub fn of(filename: &str) -> Option<Self> {
        let (_, extension) = filename.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "json" => Some(Self::SpotifyExport),
            "csv" => Some(Self::ExportifyCsv),
            _ => None,
        }
    }
}

/// What the member is told about a file that is not one the import reads.
pub const UNSUPPORTED_FILE: &str = "I import Spotify's data export (the `.json` files of \u{201c}Download your \
     data\u{201d}), an Exportify `.csv` file, or an `.m3u`, `.pls` or `.xspf` list of links.";

/// Reads the uploaded `bytes` of `filename`: every playlist it holds (a CSV
/// holds one, named after the file).
///
/// # Errors
/// [`ImportError`] from the format's parser; [`ImportError::NotCsv`] or
/// [`ImportError::NotJson`] never name the content.
pub fn parse_upload(format: UploadFormat, filename: &str, bytes: &[u8]) -> Result<Vec<ImportedPlaylist>, ImportError> {
    match format {
        UploadFormat::SpotifyExport => parse_spotify_export(bytes),
        UploadFormat::ExportifyCsv => {
            let stem = filename.rsplit_once('.').map_or(filename, |(stem, _)| stem);
            Ok(vec![parse_exportify_csv(stem, bytes)?])
        }
    }
}

/// One imported playlist ready to save, with what was left out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToSave {
    /// The member's playlist.
    pub playlist: MemberPlaylist,
    /// Entries the file had that are no tracks (episodes, local files).
    pub skipped: usize,
}

/// `imported` as `owner`'s playlists: each track a metadata-only entry; the
/// name `name` when the member gave one and the file holds one playlist,
/// else the file's own (cleaned, [`IMPORTED_PLAYLIST`] when unusable), with
/// " (2)", " (3)"… when two in the file would share one. Playlists without
/// a track are left out (the second value counts them).
pub fn to_save(
    imported: Vec<ImportedPlaylist>,
    owner: UserId,
    name: Option<&PlaylistName>,
    now_ms: u64,
) -> (Vec<ToSave>, usize) {
    saves(imported, owner, name, PlaylistOrigin::File, Vec::new(), now_ms)
}

/// `imported`, read from `owner`'s account at `provider`, as their
/// playlists of origin `Linked(provider)`: as [`to_save`] names them, and
/// kept apart from the names in `taken` (the keys of the member's other
/// playlists, which an import never replaces).
pub fn linked_to_save(
    imported: Vec<ImportedPlaylist>,
    owner: UserId,
    provider: timmybot_core::Provider,
    taken: Vec<String>,
    now_ms: u64,
) -> (Vec<ToSave>, usize) {
    saves(imported, owner, None, PlaylistOrigin::Linked(provider), taken, now_ms)
}

fn saves(
    imported: Vec<ImportedPlaylist>,
    owner: UserId,
    name: Option<&PlaylistName>,
    origin: PlaylistOrigin,
    mut taken: Vec<String>,
    now_ms: u64,
) -> (Vec<ToSave>, usize) {
    let single = imported.len() == 1;
    let mut empty = 0;
    let mut saves = Vec::new();
    for file_playlist in imported {
        if file_playlist.tracks.is_empty() {
            empty += 1;
            continue;
        }
        let base = match name {
            Some(name) if single => name.clone(),
            _ => PlaylistName::lossy(&file_playlist.name, IMPORTED_PLAYLIST),
        };
        let name = distinct(base, &taken);
        taken.push(name.key());
        let entries = file_playlist
            .tracks
            .iter()
            .map(|t| PlaylistEntry::metadata(&t.title, &t.artist, t.duration_ms, t.isrc.as_deref()))
            .collect();
        let playlist = MemberPlaylist { owner, name, origin, entries, updated_at_ms: now_ms };
        saves.push(ToSave { playlist, skipped: file_playlist.skipped });
    }
    (saves, empty)
}

/// `base`, or `base (n)` for the first n from 2 whose key is not `taken`.
fn distinct(base: PlaylistName, taken: &[String]) -> PlaylistName {
    if !taken.contains(&base.key()) {
        return base;
    }
    for n in 2.. {
        let suffix = format!(" ({n})");
        let room = timmybot_core::MAX_PLAYLIST_NAME_CHARS - suffix.chars().count();
        let stem: String = base.as_str().chars().take(room).collect();
        let candidate = PlaylistName::lossy(&format!("{}{suffix}", stem.trim_end()), IMPORTED_PLAYLIST);
        if !taken.contains(&candidate.key()) {
            return candidate;
        }
    }
    unreachable!("some suffix is free")
}

/// How an import went, for the reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Saved playlists: name, tracks, entries left out.
    pub saved: Vec<(PlaylistName, usize, usize)>,
    /// Playlists in the file without a track.
    pub empty: usize,
    /// Playlists not saved because the member has the most they may keep.
    pub over_cap: usize,
}

/// How many saved playlists the reply names.
const NAMED: usize = 10;

impl ImportReport {
    /// What the member is told.
    pub fn message(&self) -> String {
        let mut text = match self.saved.as_slice() {
            [] => "Nothing was imported: the file holds no playlist with a track in it.".to_owned(),
            [(name, tracks, skipped)] => {
                let mut text = format!("Imported **{}** ({}", escape_markdown(name.as_str()), tracks_word(*tracks));
                if *skipped > 0 {
                    text.push_str(&format!("; {skipped} left out: episodes, local files or untitled rows"));
                }
                text.push_str("). Play it with `/play playlist:`.");
                text
            }
            many => {
                let named: Vec<String> = many
                    .iter()
                    .take(NAMED)
                    .map(|(name, tracks, _)| {
                        format!("**{}** ({})", escape_markdown(name.as_str()), tracks_word(*tracks))
                    })
                    .collect();
                let more = many.len().saturating_sub(NAMED);
                let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
                format!(
                    "Imported {} playlists: {}{tail}. Play one with `/play playlist:`.",
                    many.len(),
                    named.join(", ")
                )
            }
        };
        if self.over_cap > 0 {
            text.push_str(&format!(
                "\n{} more not saved: you have {} playlists, the most one member keeps.",
                self.over_cap,
                timmybot_core::MAX_PLAYLISTS_PER_MEMBER
            ));
        }
        text
    }
}

fn tracks_word(count: usize) -> String {
    if count == 1 { "1 track".into() } else { format!("{count} tracks") }
}

impl ImportError {
    /// What the member is told: the problem in plain words, never the
    /// file's content.
    pub fn user_message(&self) -> String {
        match self {
            Self::TooLarge { .. } => {
                format!("That file is too large: I import files of up to {} MB.", MAX_IMPORT_BYTES / (1024 * 1024))
            }
            Self::TooManyTracks { limit } => format!("A playlist in that file has more than {limit} tracks."),
            Self::NotJson => "That file is not valid JSON.".into(),
            Self::NotSpotifyExport => {
                "That JSON file is not Spotify's data export (it has no playlists or tracks list).".into()
            }
            Self::NotCsv => "That file is not a CSV file I can read.".into(),
            Self::MissingColumn { name } => format!("That CSV file has no \u{201c}{name}\u{201d} column."),
            Self::Empty => "That file holds no playlist.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::ImportedTrack;

    fn track(title: &str) -> ImportedTrack {
        ImportedTrack {
            title: title.into(),
            artist: "Band".into(),
            album: None,
            duration_ms: Some(1000),
            isrc: Some("usrc17607839".into()),
            spotify_uri: None,
        }
    }

    fn file_playlist(name: &str, tracks: usize) -> ImportedPlaylist {
        ImportedPlaylist {
            name: name.into(),
            tracks: (0..tracks).map(|i| track(&format!("t{i}"))).collect(),
            skipped: 1,
        }
    }

    fn owner() -> UserId {
        UserId::new(9).unwrap()
    }

    #[test]
    fn formats_go_by_extension() {
        assert_eq!(UploadFormat::of("Playlist1.JSON"), Some(UploadFormat::SpotifyExport));
        assert_eq!(UploadFormat::of("road trip.csv"), Some(UploadFormat::ExportifyCsv));
        assert_eq!(UploadFormat::of("list.m3u"), None);
        assert_eq!(UploadFormat::of("csv"), None);
    }

    #[test]
    fn a_csv_is_one_playlist_named_after_the_file() {
        let csv = b"Track Name,Artist Name(s),Duration (ms)\nSong,Band,1000\n";
        let parsed = parse_upload(UploadFormat::ExportifyCsv, "Road Trip.csv", csv).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].name, "Road Trip");
        assert_eq!(parse_upload(UploadFormat::ExportifyCsv, "x.csv", b"").unwrap_err(), ImportError::Empty);
    }

    #[test]
    fn entries_are_metadata_and_names_are_the_members_or_the_files_kept_apart() {
        let given = PlaylistName::parse("Mine").unwrap();
        let (one, empty) = to_save(vec![file_playlist("Theirs", 2)], owner(), Some(&given), 5);
        assert_eq!(empty, 0);
        assert_eq!(one[0].playlist.name.as_str(), "Mine", "one playlist takes the given name");
        assert_eq!(one[0].playlist.entries[0], PlaylistEntry::metadata("t0", "Band", Some(1000), Some("USRC17607839")));
        assert_eq!(one[0].playlist.entries[0].source, None);
        assert_eq!(
            (one[0].playlist.origin, one[0].playlist.updated_at_ms, one[0].skipped),
            (PlaylistOrigin::File, 5, 1)
        );

        let file =
            vec![file_playlist("Mix", 1), file_playlist("mix", 1), file_playlist("", 1), file_playlist("Nil", 0)];
        let (many, empty) = to_save(file, owner(), Some(&given), 5);
        let names: Vec<&str> = many.iter().map(|s| s.playlist.name.as_str()).collect();
        assert_eq!(names, ["Mix", "mix (2)", IMPORTED_PLAYLIST], "several keep their own names, apart");
        assert_eq!(empty, 1);
        let long = "n".repeat(100);
        let (cut, _) = to_save(vec![file_playlist(&long, 1), file_playlist(&long, 1)], owner(), None, 0);
        assert_eq!(cut[1].playlist.name.as_str(), format!("{} (2)", "n".repeat(96)));
    }

    #[test]
    fn linked_playlists_keep_clear_of_the_members_other_names() {
        let taken = vec![PlaylistName::parse("Road Trip").unwrap().key()];
        let read = vec![file_playlist("road trip", 2), file_playlist("Gym", 1)];
        let (saves, _) = linked_to_save(read, owner(), timmybot_core::Provider::Spotify, taken, 7);
        let names: Vec<&str> = saves.iter().map(|s| s.playlist.name.as_str()).collect();
        assert_eq!(names, ["road trip (2)", "Gym"], "a saved playlist's name is never taken over");
        assert!(saves.iter().all(|s| s.playlist.origin == PlaylistOrigin::Linked(timmybot_core::Provider::Spotify)));
    }

    #[test]
    fn the_report_names_what_was_saved_and_what_was_not() {
        let name = |n: &str| PlaylistName::parse(n).unwrap();
        let one = ImportReport { saved: vec![(name("*Mix*"), 12, 2)], ..ImportReport::default() };
        assert_eq!(
            one.message(),
            "Imported **\\*Mix\\*** (12 tracks; 2 left out: episodes, local files or untitled rows). Play it with \
             `/play playlist:`."
        );
        let many =
            ImportReport { saved: (0..12).map(|i| (name(&format!("p{i}")), 1, 0)).collect(), empty: 0, over_cap: 3 };
        let text = many.message();
        assert!(text.starts_with("Imported 12 playlists: **p0** (1 track), **p1** (1 track)"), "{text}");
        assert!(text.contains("**p9** (1 track) and 2 more."), "{text}");
        assert!(text.ends_with("3 more not saved: you have 200 playlists, the most one member keeps."), "{text}");
        assert!(ImportReport::default().message().starts_with("Nothing was imported"));
        assert_eq!(
            ImportError::TooLarge { limit: 1 }.user_message(),
            "That file is too large: I import files of up to 5 MB."
        );
    }
}
