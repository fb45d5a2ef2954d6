//! The invariants the parsers keep over any input, as functions that panic
//! when one breaks: the bodies of the `playlist_parsers` and `icy_metadata`
//! cargo-fuzz targets (fuzz/), also run over random inputs by this crate's
//! tests. Built only for tests and with the `fuzzing` feature.

use url::Url;

use crate::MAX_TITLE_CHARS;
use crate::icy::{IcyDemuxer, IcyMetadata, MAX_STREAM_URL_CHARS, parse_metadata};
use crate::playlist::{
    self, HlsPlaylist, MAX_HLS_SEGMENTS, MAX_HLS_VARIANTS, MAX_PLAYLIST_ENTRIES, Playlist, PlaylistError,
    PlaylistFormat,
};

/// Longest error message allowed: long enough for any variant, too short to
/// carry a body along.
const MAX_ERROR_CHARS: usize = 100;

const CONTENT_TYPES: [Option<&str>; 8] = [
    None,
    Some("audio/x-mpegurl"),
    Some("application/vnd.apple.mpegurl"),
    Some("audio/x-scpls; charset=utf-8"),
    Some("application/xspf+xml"),
    Some("audio/mpeg"),
    Some("text/html"),
    Some("application/octet-stream"),
];

const PATHS: [&str; 6] = ["/", "/list.m3u", "/live/index.m3u8", "/radio.pls", "/list.xspf", "/stream"];

/// Feeds `data` to [`playlist::detect`] and to every parser, and checks
/// what comes out: at most [`MAX_PLAYLIST_ENTRIES`] entries (and the HLS
/// caps), every link absolute http(s) with a host, titles clean and short,
/// errors short (never the body).
pub fn playlist_parsers(data: &[u8]) {
    let selector = data.first().copied().unwrap_or(0) as usize;
    let content_type = CONTENT_TYPES[selector % CONTENT_TYPES.len()];
    let path = PATHS[(selector / CONTENT_TYPES.len()) % PATHS.len()];
    let _ = playlist::detect(content_type, path, data);

    let base = Url::parse("http://playlists.test/dir/list").expect("base url");
    for format in [PlaylistFormat::M3u, PlaylistFormat::Pls, PlaylistFormat::Xspf] {
        match playlist::parse(format, data, &base) {
            Ok(list) => check_playlist(&list),
            Err(error) => check_error(&error),
        }
    }
    match playlist::parse_hls(data, &base) {
        Ok(HlsPlaylist::Master(variants)) => {
            assert!(!variants.is_empty() && variants.len() <= MAX_HLS_VARIANTS, "{} variants", variants.len());
            for variant in &variants {
                check_url(&variant.uri);
            }
            let chosen = playlist::choose_variant(&variants).expect("a variant is chosen from a non-empty list");
            assert!(variants.iter().any(|v| std::ptr::eq(v, chosen)));
        }
        Ok(HlsPlaylist::Media(media)) => {
            assert!(media.segments.len() <= MAX_HLS_SEGMENTS, "{} segments", media.segments.len());
            assert!(!media.truncated || media.segments.len() == MAX_HLS_SEGMENTS);
            for segment in &media.segments {
                check_url(&segment.uri);
                check_title(segment.title.as_deref());
            }
            if let Some(init) = &media.init_uri {
                check_url(init);
            }
            assert_eq!(media.ensure_playable().is_err(), media.encrypted);
        }
        Err(error) => check_error(&error),
    }
}

fn check_playlist(list: &Playlist) {
    assert!(!list.entries.is_empty(), "an Ok playlist has entries");
    assert!(list.entries.len() <= MAX_PLAYLIST_ENTRIES, "{} entries", list.entries.len());
    check_title(list.title.as_deref());
    for entry in &list.entries {
        check_url(&entry.location);
        check_title(entry.title.as_deref());
    }
}

fn check_url(url: &Url) {
    assert!(matches!(url.scheme(), "http" | "https"), "scheme of {url}");
    assert!(url.host().is_some(), "host of {url}");
}

fn check_title(title: Option<&str>) {
    check_text(title, MAX_TITLE_CHARS);
}

fn check_text(text: Option<&str>, max_chars: usize) {
    let Some(text) = text else { return };
    assert!(!text.is_empty() && text.chars().count() <= max_chars, "{} chars", text.chars().count());
    assert!(!text.chars().any(char::is_control), "control character in {text:?}");
    assert_eq!(text.trim(), text, "untrimmed {text:?}");
}

fn check_error(error: &PlaylistError) {
    let message = error.to_string();
    assert!(message.chars().count() <= MAX_ERROR_CHARS, "error too long: {message}");
    assert!(!error.user_message().is_empty());
}

/// Reads `data` as `[metaint: 2 bytes][chunking seed: 1 byte][stream...]`
/// and checks [`IcyDemuxer`] against a plain reading of the stream: the
/// same audio bytes (so its length is the input minus the metadata blocks)
/// whatever the chunking, and the metadata of the last block as current.
pub fn icy_metadata(data: &[u8]) {
    let [a, b, seed, stream @ ..] = data else { return };
    let metaint = 1 + usize::from(u16::from_le_bytes([*a, *b])) % 4096;

    let (expected_audio, last_block) = plain_reading(stream, metaint);
    let mut demuxer = IcyDemuxer::new(metaint).expect("metaint in range");
    let mut audio = Vec::new();
    let mut reported: Option<IcyMetadata> = None;
    for chunk in Chunks::new(stream, *seed) {
        if let Some(metadata) = demuxer.feed(chunk, &mut audio) {
            assert_ne!(reported.as_ref(), Some(&metadata), "reported the same metadata twice in a row");
            check_text(metadata.stream_title.as_deref(), MAX_TITLE_CHARS);
            check_text(metadata.stream_url.as_deref(), MAX_STREAM_URL_CHARS);
            reported = Some(metadata);
        }
    }
    assert_eq!(audio.len(), expected_audio.len(), "audio length");
    assert!(audio == expected_audio, "audio bytes differ");
    assert_eq!(demuxer.current(), last_block.map(parse_metadata).as_ref());
    assert_eq!(demuxer.current(), reported.as_ref());
}

/// The audio of `stream` and its last complete non-empty metadata block,
/// read the obvious way, all at once.
fn plain_reading(stream: &[u8], metaint: usize) -> (Vec<u8>, Option<&[u8]>) {
    let mut audio = Vec::new();
    let mut last_block = None;
    let mut rest = stream;
    loop {
        let take = metaint.min(rest.len());
        audio.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        let Some((&len, after)) = rest.split_first() else { break };
        let len = usize::from(len) * 16;
        if after.len() < len {
            break;
        }
        if len > 0 {
            last_block = Some(&after[..len]);
        }
        rest = &after[len..];
    }
    (audio, last_block)
}

/// `data` cut into pieces of 1 to 300 bytes, sizes drawn from `seed`.
struct Chunks<'a> {
    rest: &'a [u8],
    state: u32,
}

impl<'a> Chunks<'a> {
    fn new(data: &'a [u8], seed: u8) -> Self {
        Self { rest: data, state: u32::from(seed).wrapping_mul(2_654_435_761) | 1 }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        self.state = self.state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let size = 1 + (self.state >> 16) as usize % 300;
        let (chunk, rest) = self.rest.split_at(size.min(self.rest.len()));
        self.rest = rest;
        Some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Valid playlists of every format, for the fuzz bodies to mutate.
    const SAMPLES: [&str; 5] = [
        "#EXTM3U\n#PLAYLIST:Mix\n#EXTINF:123,Artist - Song\nhttp://a.test/1.mp3\n#EXTINF:-1,Live\nrelative/2.mp3\nfile:///etc/passwd\n",
        "[playlist]\nNumberOfEntries=9\nFile2=http://a.test/2\nTitle1=One\nFile1=http://a.test/1\nLength1=-1\n",
        r#"<?xml version="1.0"?><playlist version="1" xmlns="http://xspf.org/ns/0/"><title>T</title><trackList><track><location>http://a.test/1.ogg</location><title>A &amp; B</title><duration>1000</duration></track></trackList></playlist>"#,
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS=\"mp4a.40.2\"\nlow.m3u8\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"audio.m3u8\"\n",
        "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:6.0,Song\nseg7.ts\n#EXTINF:6,\nseg8.ts\n#EXT-X-ENDLIST\n",
    ];

    fn mutated() -> impl Strategy<Value = Vec<u8>> {
        (0..SAMPLES.len(), proptest::collection::vec((any::<u16>(), any::<u8>(), 0..3u8), 0..8)).prop_map(
            |(sample, edits)| {
                let mut bytes = SAMPLES[sample].as_bytes().to_vec();
                for (at, byte, kind) in edits {
                    let at = usize::from(at) % (bytes.len() + 1);
                    match kind {
                        0 => bytes.insert(at, byte),
                        1 if at < bytes.len() => bytes[at] = byte,
                        _ if at < bytes.len() => {
                            bytes.remove(at);
                        }
                        _ => {}
                    }
                }
                bytes
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn playlist_parsers_keep_their_invariants_on_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            playlist_parsers(&data);
        }

        #[test]
        fn playlist_parsers_keep_their_invariants_on_mutated_playlists(data in mutated()) {
            playlist_parsers(&data);
        }

        #[test]
        fn icy_demuxer_agrees_with_a_plain_reading_of_random_streams(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            icy_metadata(&data);
        }
    }

    #[test]
    fn the_samples_parse_so_the_mutations_start_from_valid_input() {
        let base = Url::parse("http://playlists.test/dir/list").unwrap();
        for (sample, format) in SAMPLES.iter().zip([PlaylistFormat::M3u, PlaylistFormat::Pls, PlaylistFormat::Xspf]) {
            assert!(playlist::parse(format, sample.as_bytes(), &base).is_ok(), "{sample}");
        }
        for sample in &SAMPLES[3..] {
            assert!(playlist::parse_hls(sample.as_bytes(), &base).is_ok(), "{sample}");
        }
    }

    #[test]
    fn icy_check_catches_a_stream_with_metadata() {
        // 4 audio bytes, a one-block title, 4 more audio bytes: the plain
        // reading must find the block, or the check compares nothing.
        let mut block = b"StreamTitle='x';".to_vec();
        block.resize(16, 0);
        let mut data = vec![3, 0, 7]; // metaint 1 + 3
        data.extend_from_slice(b"abcd");
        data.push(1);
        data.extend_from_slice(&block);
        data.extend_from_slice(b"efgh");
        let (audio, last) = plain_reading(&data[3..], 4);
        assert_eq!(audio, b"abcdefgh");
        assert_eq!(last, Some(&block[..]));
        icy_metadata(&data);
    }
}
