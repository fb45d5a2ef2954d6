//! XSPF: `<playlist><trackList><track><location>…` in XML.
//!
//! Read with quick-xml's pull parser, one event at a time: a DOCTYPE is
//! reported and ignored, never expanded, so no entity can grow the document
//! ("billion laughs") or reach a file; only the five predefined entities
//! and character references are resolved. Nesting is capped, and so is the
//! text gathered for any one element.

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};
use url::Url;

use super::{Collector, Flow, MAX_LINE_BYTES, Playlist, PlaylistError, resolve_http};
use crate::text::{clean_title, decode_lossy};

/// Deepest element nesting read; XSPF needs four levels, extensions a few
/// more. A deeper document stops being read there.
const MAX_DEPTH: usize = 32;

/// Most `<location>`s of one track considered (XSPF allows alternatives).
const MAX_LOCATIONS: usize = 8;

/// The elements whose place matters; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Playlist,
    TrackList,
    Track,
    Location,
    Title,
    Creator,
    Duration,
    Other,
}

impl Tag {
    fn of(start: &BytesStart<'_>) -> Self {
        match start.local_name().as_ref() {
            "playlist" => Self::Playlist,
            "trackList" => Self::TrackList,
            "track" => Self::Track,
            "location" => Self::Location,
            "title" => Self::Title,
            "creator" => Self::Creator,
            "duration" => Self::Duration,
            _ => Self::Other,
        }
    }
}

#[derive(Default)]
struct Track {
    locations: Vec<String>,
    title: Option<String>,
    creator: Option<String>,
    duration: Option<String>,
}

/// The text of one element being gathered, and where it goes.
struct Gathering {
    text: String,
    too_long: bool,
}

pub(super) fn parse(body: &[u8], base: &Url) -> Result<Playlist, PlaylistError> {
    let text = decode_lossy(body);
    let mut reader = Reader::from_str(&text);
    reader.config_mut().allow_dangling_amp = true;

    let mut collector = Collector::new(base);
    let mut stack: Vec<Tag> = Vec::new();
    let mut seen_root = false;
    let mut track: Option<Track> = None;
    let mut gathering: Option<Gathering> = None;

    // A syntax error (often a body cut short) ends the reading; what was
    // read before it is kept.
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Start(start) => {
                let tag = Tag::of(&start);
                if !seen_root {
                    if tag != Tag::Playlist {
                        return Err(PlaylistError::NotAPlaylist("XSPF"));
                    }
                    seen_root = true;
                }
                if stack.len() >= MAX_DEPTH {
                    break;
                }
                stack.push(tag);
                match stack.as_slice() {
                    [Tag::Playlist, Tag::TrackList, Tag::Track] => track = Some(Track::default()),
                    [Tag::Playlist, Tag::Title]
                    | [
                        Tag::Playlist,
                        Tag::TrackList,
                        Tag::Track,
                        Tag::Location | Tag::Title | Tag::Creator | Tag::Duration,
                    ] => {
                        gathering = Some(Gathering { text: String::new(), too_long: false });
                    }
                    _ => {}
                }
            }
            Event::Empty(start) => {
                if !seen_root {
                    // `<playlist/>` is a playlist with nothing in it.
                    return Err(if Tag::of(&start) == Tag::Playlist {
                        PlaylistError::Empty
                    } else {
                        PlaylistError::NotAPlaylist("XSPF")
                    });
                }
            }
            Event::End(_) => {
                let gathered = gathering.take();
                let flow = match (stack.as_slice(), gathered) {
                    ([Tag::Playlist, Tag::Title], Some(g)) if !g.too_long => {
                        collector.set_title(&g.text);
                        Flow::Continue
                    }
                    ([Tag::Playlist, Tag::TrackList, Tag::Track, field], Some(g)) => {
                        if let Some(track) = track.as_mut() {
                            store(track, *field, g);
                        }
                        Flow::Continue
                    }
                    ([Tag::Playlist, Tag::TrackList, Tag::Track], _) => {
                        track.take().map_or(Flow::Continue, |track| add_track(&mut collector, base, track))
                    }
                    _ => Flow::Continue,
                };
                stack.pop();
                if flow == Flow::Full {
                    break;
                }
            }
            Event::Text(text) => gather(&mut gathering, &text.xml10_content()),
            Event::CData(data) => gather(&mut gathering, &data.xml10_content()),
            Event::GeneralRef(reference) => {
                if let Some(c) = resolve_reference(&reference) {
                    gather(&mut gathering, c.encode_utf8(&mut [0; 4]));
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !seen_root {
        return Err(PlaylistError::NotAPlaylist("XSPF"));
    }
    Ok(collector.finish())
}

fn gather(gathering: &mut Option<Gathering>, text: &str) {
    let Some(g) = gathering.as_mut() else { return };
    if g.text.len() + text.len() > MAX_LINE_BYTES {
        g.too_long = true;
    } else {
        g.text.push_str(text);
    }
}

fn store(track: &mut Track, field: Tag, gathered: Gathering) {
    if gathered.too_long {
        // An overlong location still counts, so the track is skipped rather
        // than silently missing.
        if field == Tag::Location && track.locations.len() < MAX_LOCATIONS {
            track.locations.push(String::new());
        }
        return;
    }
    let text = gathered.text;
    match field {
        Tag::Location if track.locations.len() < MAX_LOCATIONS => track.locations.push(text),
        Tag::Title if track.title.is_none() => track.title = Some(text),
        Tag::Creator if track.creator.is_none() => track.creator = Some(text),
        Tag::Duration if track.duration.is_none() => track.duration = Some(text),
        _ => {}
    }
}

/// Adds a finished track: its first http(s) location, its title as
/// "Creator - Title" when both are given, its duration (milliseconds in
/// XSPF). A track with no usable location is counted as skipped.
fn add_track(collector: &mut Collector<'_>, base: &Url, track: Track) -> Flow {
    let title = match (track.creator.as_deref().and_then(clean_title), track.title.as_deref().and_then(clean_title)) {
        (Some(creator), Some(title)) => clean_title(&format!("{creator} - {title}")),
        (None, title) => title,
        (creator, None) => creator,
    };
    // XSPF says integer milliseconds; some writers add a fraction.
    let duration_ms = track
        .duration
        .as_deref()
        .and_then(|d| d.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 1.0)
        .map(|ms| ms.round() as u64);
    let location = track
        .locations
        .iter()
        .find(|l| resolve_http(base, l).is_some())
        .or(track.locations.first())
        .map_or("", String::as_str);
    collector.push(location, title, duration_ms)
}

/// The character a reference stands for: the five predefined entities and
/// numeric character references. Anything else (an entity a DTD would
/// define) is dropped, never looked up.
fn resolve_reference(reference: &BytesRef<'_>) -> Option<char> {
    if reference.is_char_ref() {
        return reference.resolve_char_ref().ok().flatten().filter(|c| !c.is_control());
    }
    match reference.xml10_content().as_ref() {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}
