//! M3U: one location a line, with optional `#EXTINF:<seconds>,<title>`
//! before it and an optional `#PLAYLIST:<title>`.

use url::Url;

use super::{Collector, Flow, MAX_LINE_BYTES, Playlist, PlaylistError, lines, seconds_to_ms};
use crate::text::{clean_title, decode_lossy};

pub(super) fn parse(body: &[u8], base: &Url) -> Result<Playlist, PlaylistError> {
    let text = decode_lossy(body);
    if text.trim_start().starts_with('<') {
        // An HTML page (an error page, a login wall) served under a .m3u name.
        return Err(PlaylistError::NotAPlaylist("M3U"));
    }
    let mut collector = Collector::new(base);
    // The `#EXTINF` waiting for the location line it describes.
    let mut pending: Option<(Option<u64>, Option<String>)> = None;
    for line in lines(&text) {
        let tag = line.strip_prefix('#');
        if line.len() > MAX_LINE_BYTES || (tag.is_none() && !plausible_location(line)) {
            // A location too long to be real, or markup or binary rather
            // than a link, is skipped (with the info that described it); an
            // overlong tag is not read.
            if tag.is_none() {
                pending = None;
                collector.skip();
            }
            continue;
        }
        if let Some(tag) = tag {
            if let Some(info) = strip_prefix_ignore_case(tag, "EXTINF:") {
                pending = Some(parse_extinf(info));
            } else if let Some(title) = strip_prefix_ignore_case(tag, "PLAYLIST:") {
                collector.set_title(title);
            }
            continue;
        }
        let (duration_ms, title) = pending.take().unwrap_or((None, None));
        if collector.push(line, title, duration_ms) == Flow::Full {
            break;
        }
    }
    Ok(collector.finish())
}

/// `<duration>[ key="value" ...],<title>`: the duration is seconds (maybe
/// fractional, `-1` for live); IPTV-style attributes may follow it, and a
/// comma inside their quotes does not end them.
fn parse_extinf(info: &str) -> (Option<u64>, Option<String>) {
    let mut in_quotes = false;
    let comma = info.char_indices().find_map(|(i, c)| match c {
        '"' => {
            in_quotes = !in_quotes;
            None
        }
        ',' if !in_quotes => Some(i),
        _ => None,
    });
    let (head, title) = match comma {
        Some(i) => (&info[..i], Some(&info[i + 1..])),
        None => (info, None),
    };
    let duration = head.split_whitespace().next().and_then(seconds_to_ms);
    (duration, title.and_then(clean_title))
}

/// Whether a line can be a link or a path: markup and control characters
/// (binary read as Latin-1) cannot.
fn plausible_location(line: &str) -> bool {
    !line.chars().any(|c| c.is_control() || matches!(c, '<' | '>'))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let start = text.get(..prefix.len())?;
    start.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}
