//! PLS: an INI file with a `[playlist]` section of `FileN=`, `TitleN=` and
//! `LengthN=` keys.
//!
//! Real files get it wrong in every way: `NumberOfEntries` lies, keys come
//! in any order and case, numbers skip. So entries are gathered by their
//! number and played in number order, and the count is ignored.

use std::collections::BTreeMap;

use url::Url;

use super::{Collector, Flow, MAX_LINE_BYTES, MAX_PLAYLIST_ENTRIES, Playlist, PlaylistError, lines, seconds_to_ms};
use crate::text::{clean_title, decode_lossy};

/// Most entry numbers held while reading. Above it the highest numbers are
/// dropped, so the lowest [`MAX_PLAYLIST_ENTRIES`] survive whatever order
/// the lines come in, and a file of a million `TitleN=` lines stays small.
const MAX_HELD: usize = 2 * MAX_PLAYLIST_ENTRIES;

#[derive(Default)]
struct Held<'a> {
    file: Option<&'a str>,
    title: Option<&'a str>,
    length: Option<&'a str>,
}

pub(super) fn parse(body: &[u8], base: &Url) -> Result<Playlist, PlaylistError> {
    let text = decode_lossy(body);
    let mut held: BTreeMap<u64, Held<'_>> = BTreeMap::new();
    // Numbers at or above this were dropped for the cap and stay ignored.
    let mut dropped_from: Option<u64> = None;
    let mut dropped_a_file = false;
    let mut saw_header = false;
    let mut too_long = 0usize;
    let mut title = None;

    for line in lines(&text) {
        if line.len() > MAX_LINE_BYTES {
            too_long += usize::from(starts_with_ignore_case(line, "file"));
            continue;
        }
        if line.starts_with('[') {
            saw_header |= line.eq_ignore_ascii_case("[playlist]");
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let key = key.trim();
        let value = value.trim();
        if key.eq_ignore_ascii_case("x-playlist-name") || key.eq_ignore_ascii_case("PlaylistName") {
            title = title.or_else(|| clean_title(value));
            continue;
        }
        let Some((field, number)) = split_key(key) else { continue };
        if dropped_from.is_some_and(|from| number >= from) {
            dropped_a_file |= field == Field::File;
            continue;
        }
        let entry = held.entry(number).or_default();
        match field {
            Field::File => entry.file = entry.file.or(Some(value)),
            Field::Title => entry.title = entry.title.or(Some(value)),
            Field::Length => entry.length = entry.length.or(Some(value)),
        }
        if held.len() > MAX_HELD
            && let Some((highest, entry)) = held.pop_last()
        {
            dropped_from = Some(dropped_from.map_or(highest, |from| from.min(highest)));
            dropped_a_file |= entry.file.is_some();
        }
    }

    if !saw_header && held.values().all(|e| e.file.is_none()) && too_long == 0 {
        return Err(PlaylistError::NotAPlaylist("PLS"));
    }
    let mut collector = Collector::new(base);
    if let Some(title) = title {
        collector.set_title(&title);
    }
    for _ in 0..too_long {
        collector.skip();
    }
    for entry in held.into_values() {
        let Some(file) = entry.file else { continue };
        let title = entry.title.and_then(clean_title);
        let duration_ms = entry.length.and_then(seconds_to_ms);
        if collector.push(file, title, duration_ms) == Flow::Full {
            break;
        }
    }
    let mut playlist = collector.finish();
    playlist.truncated |= dropped_a_file;
    Ok(playlist)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    File,
    Title,
    Length,
}

/// `File12` as (File, 12), any case; `None` for other keys.
fn split_key(key: &str) -> Option<(Field, u64)> {
    let digits = key.find(|c: char| c.is_ascii_digit())?;
    let (name, number) = key.split_at(digits);
    let field = match name.to_ascii_lowercase().as_str() {
        "file" => Field::File,
        "title" => Field::Title,
        "length" => Field::Length,
        _ => return None,
    };
    Some((field, number.parse().ok()?))
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len()).is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}
