//! Exportify's CSV: one playlist, one header row, one row per track.
//!
//! Assumed from the files Exportify writes (not from a published spec):
//! the header names the columns, among them `Track URI`, `Track Name`,
//! `Artist Name(s)` (several artists joined by `,`, a comma inside a name
//! escaped as `\,`), `Album Name`, `Duration (ms)` and `ISRC`. Column order
//! varies between versions and other tools, so columns are found by name,
//! case-insensitively; older exports say `Artist Name`, some versions
//! `Track Duration (ms)`. Only the track
//! name and artist columns are required.

use super::csv::{CsvError, Records};
use super::{ImportedPlaylist, ImportedTrack, check_entries, check_size, non_empty, track_uri};
use crate::ImportError;

const TRACK_NAME: &str = "Track Name";
const ARTIST_NAMES: &str = "Artist Name(s)";

/// Reads an Exportify CSV file as the playlist `name` (the caller's choice,
/// such as the uploaded file's name without `.csv`).
///
/// A row with an empty track name is skipped and counted; blank lines are
/// ignored. A row shorter than the header reads its missing cells as empty.
/// An unparsable duration or a URI that is not a Spotify track's is left
/// out of that track.
///
/// # Errors
///
/// [`ImportError::TooLarge`] over [`MAX_IMPORT_BYTES`](crate::MAX_IMPORT_BYTES);
/// [`ImportError::Empty`] without a header row; [`ImportError::NotCsv`] for
/// text that is not UTF-8 or not CSV; [`ImportError::MissingColumn`] when
/// the header has no track name or no artist column;
/// [`ImportError::TooManyTracks`] over
/// [`MAX_IMPORT_TRACKS`](crate::MAX_IMPORT_TRACKS) rows.
pub fn parse_exportify_csv(name: &str, bytes: &[u8]) -> Result<ImportedPlaylist, ImportError> {
    let bytes = check_size(bytes)?;
    let text = std::str::from_utf8(bytes).map_err(|_| ImportError::NotCsv)?;
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let mut records = Records::new(text);
    let header = records.next().ok_or(ImportError::Empty)?.map_err(not_csv)?;
    let columns = Columns::find(&header)?;

    let mut playlist = ImportedPlaylist { name: name.trim().to_owned(), tracks: Vec::new(), skipped: 0 };
    let mut entries = 0;
    for record in records {
        let record = record.map_err(not_csv)?;
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        entries += 1;
        check_entries(entries)?;
        match columns.track(&record) {
            Some(track) => playlist.tracks.push(track),
            None => playlist.skipped += 1,
        }
    }
    Ok(playlist)
}

fn not_csv(_: CsvError) -> ImportError {
    ImportError::NotCsv
}

/// Where each column is in the header.
struct Columns {
    title: usize,
    artist: usize,
    album: Option<usize>,
    duration_ms: Option<usize>,
    isrc: Option<usize>,
    uri: Option<usize>,
}

impl Columns {
    fn find(header: &[String]) -> Result<Self, ImportError> {
        let find = |names: &[&str]| {
            header.iter().position(|column| names.iter().any(|name| column.trim().eq_ignore_ascii_case(name)))
        };
        Ok(Self {
            title: find(&[TRACK_NAME]).ok_or(ImportError::MissingColumn { name: TRACK_NAME })?,
            artist: find(&[ARTIST_NAMES, "Artist Name"]).ok_or(ImportError::MissingColumn { name: ARTIST_NAMES })?,
            album: find(&["Album Name"]),
            duration_ms: find(&["Duration (ms)", "Track Duration (ms)"]),
            isrc: find(&["ISRC"]),
            uri: find(&["Track URI"]),
        })
    }

    /// The row's track, or `None` when it has no title.
    fn track(&self, record: &[String]) -> Option<ImportedTrack> {
        let cell = |at: usize| record.get(at).map_or("", String::as_str);
        let optional = |at: Option<usize>| at.map_or("", cell);
        Some(ImportedTrack {
            title: non_empty(cell(self.title))?,
            artist: artists(cell(self.artist)),
            album: non_empty(optional(self.album)),
            duration_ms: optional(self.duration_ms).trim().parse().ok(),
            isrc: non_empty(optional(self.isrc)).map(|isrc| isrc.to_ascii_uppercase()),
            spotify_uri: track_uri(optional(self.uri)),
        })
    }
}

/// Exportify's artist cell (`A,B`, a comma in a name as `\,`) as `A, B`.
fn artists(cell: &str) -> String {
    let mut names = Vec::new();
    let mut name = String::new();
    let mut chars = cell.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(',') => name.push(','),
                Some(other) => {
                    name.push('\\');
                    name.push(other);
                }
                None => name.push('\\'),
            },
            ',' => names.push(std::mem::take(&mut name)),
            _ => name.push(c),
        }
    }
    names.push(name);
    names.iter().map(|name| name.trim()).filter(|name| !name.is_empty()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artists_are_split_on_unescaped_commas() {
        assert_eq!(artists("Daft Punk,Pharrell Williams"), "Daft Punk, Pharrell Williams");
        assert_eq!(artists("Tyler\\, The Creator,Kali Uchis"), "Tyler, The Creator, Kali Uchis");
        assert_eq!(artists(" Solo "), "Solo");
        assert_eq!(artists("AC\\DC,"), "AC\\DC");
        assert_eq!(artists(""), "");
    }

    #[test]
    fn header_names_match_case_insensitively_and_trimmed() {
        let header: Vec<String> = [" track name ", "ARTIST NAME"].iter().map(|s| s.to_string()).collect();
        let columns = Columns::find(&header).unwrap();
        assert_eq!((columns.title, columns.artist), (0, 1));
        assert!(columns.album.is_none() && columns.uri.is_none());
    }

    #[test]
    fn a_short_row_reads_missing_cells_as_empty() {
        let playlist = parse_exportify_csv("p", b"Track Name,Artist Name(s),Album Name\nSong,Band\n").unwrap();
        assert_eq!(playlist.tracks[0].album, None);
        assert_eq!(playlist.tracks[0].artist, "Band");
    }

    #[test]
    fn invalid_utf8_is_not_csv() {
        assert_eq!(parse_exportify_csv("p", b"Track Name,Artist Name\n\xFF\xFE,x\n"), Err(ImportError::NotCsv));
    }

    #[test]
    fn an_unterminated_quote_is_not_csv() {
        assert_eq!(parse_exportify_csv("p", b"Track Name,Artist Name\n\"Song,x\n"), Err(ImportError::NotCsv));
    }

    #[test]
    fn blank_lines_are_neither_tracks_nor_skipped() {
        let playlist = parse_exportify_csv("p", b"Track Name,Artist Name\n\nSong,Band\n\n").unwrap();
        assert_eq!((playlist.tracks.len(), playlist.skipped), (1, 0));
    }

    #[test]
    fn whitespace_only_input_is_empty() {
        assert_eq!(parse_exportify_csv("p", b" \r\n"), Err(ImportError::Empty));
        assert_eq!(parse_exportify_csv("p", b"\xEF\xBB\xBF"), Err(ImportError::Empty));
    }
}
