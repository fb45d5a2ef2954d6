use proptest::prelude::*;

use super::*;

/// One metadata block as a server writes it: the length byte, the text,
/// NUL padding to a multiple of 16.
fn block(text: &[u8]) -> Vec<u8> {
    let len = text.len().div_ceil(16);
    let mut out = vec![u8::try_from(len).expect("short enough for one block")];
    out.extend_from_slice(text);
    out.resize(1 + len * 16, 0);
    out
}

/// `audio` with a metadata block after every `metaint` bytes: the text of
/// `blocks[i]` after the i-th run of audio (`None` is an empty block), and
/// empty blocks once `blocks` runs out.
fn interleave(audio: &[u8], metaint: usize, blocks: &[Option<Vec<u8>>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, run) in audio.chunks(metaint).enumerate() {
        out.extend_from_slice(run);
        if run.len() == metaint {
            match blocks.get(i) {
                Some(Some(text)) => out.extend_from_slice(&block(text)),
                _ => out.push(0),
            }
        }
    }
    out
}

fn title(text: &str) -> Option<String> {
    parse_metadata(text.as_bytes()).stream_title
}

#[test]
fn parses_title_and_url() {
    let metadata = parse_metadata(b"StreamTitle='Daft Punk - One More Time';StreamUrl='https://radio.test/now';\0\0\0");
    assert_eq!(metadata.stream_title.as_deref(), Some("Daft Punk - One More Time"));
    assert_eq!(metadata.stream_url.as_deref(), Some("https://radio.test/now"));
}

#[test]
fn quotes_inside_a_title_do_not_end_it() {
    assert_eq!(title("StreamTitle='It's';").as_deref(), Some("It's"));
    assert_eq!(
        title("StreamTitle='Guns N' Roses - Don't Cry';StreamUrl='';").as_deref(),
        Some("Guns N' Roses - Don't Cry")
    );
    assert_eq!(title("StreamTitle='a';b';").as_deref(), Some("a';b"), "';b' is not followed by a key");
    assert_eq!(title("StreamTitle='no end").as_deref(), Some("no end"));
    assert_eq!(title("StreamTitle='no semicolon'").as_deref(), Some("no semicolon"));
    let both = parse_metadata(b"StreamTitle='Rock 'n' Roll';  StreamURL='x';");
    assert_eq!(both.stream_title.as_deref(), Some("Rock 'n' Roll"));
    assert_eq!(both.stream_url.as_deref(), Some("x"), "keys in any case");
}

#[test]
fn empty_titles_padding_and_control_characters() {
    assert_eq!(parse_metadata(b"StreamTitle='';\0\0\0\0"), IcyMetadata::default());
    assert_eq!(parse_metadata(b"StreamTitle='   ';"), IcyMetadata::default());
    assert_eq!(parse_metadata(b""), IcyMetadata::default());
    assert_eq!(parse_metadata(&[0; 32]), IcyMetadata::default());
    assert_eq!(title("StreamTitle='A\u{1b}[2J\r\nB';").as_deref(), Some("A[2JB"));
    assert_eq!(title("StreamTitle=unquoted;").as_deref(), Some("unquoted"));
    assert_eq!(title("garbage without keys"), None);
}

#[test]
fn titles_are_capped() {
    let long = format!("StreamTitle='{}';", "x".repeat(1000));
    assert_eq!(title(&long).map(|t| t.len()), Some(crate::MAX_TITLE_CHARS));
    let url = format!("StreamUrl='{}';", "u".repeat(5000));
    assert_eq!(parse_metadata(url.as_bytes()).stream_url.map(|u| u.len()), Some(MAX_STREAM_URL_CHARS));
}

#[test]
fn utf8_and_latin1_titles() {
    assert_eq!(title("StreamTitle='Sigur Rós - Hoppípolla';").as_deref(), Some("Sigur Rós - Hoppípolla"));
    assert_eq!(parse_metadata(b"StreamTitle='Beyonc\xE9 - Halo';").stream_title.as_deref(), Some("Beyoncé - Halo"));
}

#[test]
fn metaint_must_be_sane() {
    assert_eq!(IcyDemuxer::new(0).unwrap_err(), IcyError::BadMetaint);
    assert_eq!(IcyDemuxer::new(MAX_METAINT + 1).unwrap_err(), IcyError::BadMetaint);
    assert_eq!(IcyDemuxer::new(MAX_METAINT).unwrap().metaint(), MAX_METAINT);
    assert_eq!(IcyDemuxer::from_header(" 16000 ").unwrap().metaint(), 16_000);
    for bad in ["", "-1", "abc", "16000.5", "99999999999999999999999"] {
        assert_eq!(IcyDemuxer::from_header(bad).unwrap_err(), IcyError::BadMetaint, "{bad:?}");
    }
    assert!(!IcyError::BadMetaint.to_string().contains("abc"));
}

#[test]
fn strips_metadata_and_reports_changes_only() {
    let audio: Vec<u8> = (0..40u8).collect();
    let blocks = [
        Some(b"StreamTitle='One';".to_vec()),
        None,
        Some(b"StreamTitle='One';".to_vec()),
        Some(b"StreamTitle='Two';".to_vec()),
    ];
    let stream = interleave(&audio, 8, &blocks);
    let mut demuxer = IcyDemuxer::new(8).unwrap();
    let mut out = Vec::new();
    let mut titles = Vec::new();
    for byte in &stream {
        if let Some(metadata) = demuxer.feed(std::slice::from_ref(byte), &mut out) {
            titles.push(metadata.stream_title.unwrap());
        }
    }
    assert_eq!(out, audio);
    assert_eq!(titles, ["One", "Two"], "the repeated title and the empty block report nothing");
    assert_eq!(demuxer.current().and_then(|m| m.stream_title.as_deref()), Some("Two"));
}

#[test]
fn a_chunk_with_several_blocks_reports_the_newest() {
    let audio = [7u8; 12];
    let blocks = [Some(b"StreamTitle='A';".to_vec()), Some(b"StreamTitle='B';".to_vec())];
    let stream = interleave(&audio, 4, &blocks);
    let mut demuxer = IcyDemuxer::new(4).unwrap();
    let mut out = Vec::new();
    let newest = demuxer.feed(&stream, &mut out).unwrap();
    assert_eq!(newest.stream_title.as_deref(), Some("B"));
    assert_eq!(out, audio);
    assert_eq!(demuxer.feed(&[], &mut out), None);
}

#[test]
fn a_stream_ending_inside_a_block_keeps_the_audio_before_it() {
    let mut stream = vec![1, 2, 3, 4];
    stream.extend_from_slice(&block(b"StreamTitle='cut';")[..10]);
    let mut demuxer = IcyDemuxer::new(4).unwrap();
    let mut out = Vec::new();
    assert_eq!(demuxer.feed(&stream, &mut out), None);
    assert_eq!(out, [1, 2, 3, 4]);
}

proptest! {
    #[test]
    fn audio_out_equals_audio_in_and_titles_come_in_order(
        audio in proptest::collection::vec(any::<u8>(), 0..20_000),
        metaint in 1usize..3000,
        titles in proptest::collection::vec("[ -~]{0,40}", 0..12),
        empty_every in 1usize..4,
        cuts in proptest::collection::vec(1usize..5000, 1..50),
    ) {
        // Titles numbered so that consecutive ones differ; an empty block
        // between some of them.
        let sent: Vec<String> = titles.iter().enumerate().map(|(i, t)| format!("{i} {t}")).collect();
        let mut blocks = Vec::new();
        for (i, t) in sent.iter().enumerate() {
            if i % empty_every == 0 {
                blocks.push(None);
            }
            let escaped = t.replace('\'', "");
            blocks.push(Some(format!("StreamTitle='{escaped}';").into_bytes()));
        }
        let stream = interleave(&audio, metaint, &blocks);

        let mut demuxer = IcyDemuxer::new(metaint).unwrap();
        let mut out = Vec::new();
        let mut got = Vec::new();
        let mut rest = &stream[..];
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, after) = rest.split_at((*cut).min(rest.len()));
            rest = after;
            if let Some(metadata) = demuxer.feed(chunk, &mut out) {
                got.push(metadata.stream_title.unwrap_or_default());
            }
        }
        prop_assert_eq!(&out, &audio);

        // The titles that fit in the audio were sent; those reported are a
        // subsequence of them, in order, ending with the last one sent.
        let runs = audio.len() / metaint;
        let delivered: Vec<String> = blocks
            .iter()
            .take(runs)
            .flatten()
            .map(|b| parse_metadata(b).stream_title.unwrap_or_default())
            .collect();
        let mut remaining = delivered.iter();
        for title in &got {
            prop_assert!(remaining.any(|d| d == title), "{:?} out of order in {:?}", title, delivered);
        }
        prop_assert_eq!(got.last(), delivered.last());
    }
}

#[test]
fn a_title_that_changed_and_came_back_within_one_chunk_is_not_reported_again() {
    // Found by the icy_metadata fuzz target: A reported, then B and A in one
    // chunk reported A a second time.
    let block = |title: &str| {
        let text = format!("StreamTitle='{title}';");
        let blocks = text.len().div_ceil(16);
        let mut block = vec![u8::try_from(blocks).unwrap()];
        block.extend(text.as_bytes());
        block.resize(1 + blocks * 16, 0);
        block
    };
    let mut demuxer = IcyDemuxer::new(2).unwrap();
    let mut audio = Vec::new();
    let first: Vec<u8> = [b"ab".to_vec(), block("A")].concat();
    assert_eq!(demuxer.feed(&first, &mut audio).and_then(|m| m.stream_title).as_deref(), Some("A"));
    let back: Vec<u8> = [b"cd".to_vec(), block("B"), b"ef".to_vec(), block("A")].concat();
    assert_eq!(demuxer.feed(&back, &mut audio), None, "A again is no change to report");
    assert_eq!(demuxer.current().and_then(|m| m.stream_title.as_deref()), Some("A"));
    let next: Vec<u8> = [b"gh".to_vec(), block("B")].concat();
    assert_eq!(demuxer.feed(&next, &mut audio).and_then(|m| m.stream_title).as_deref(), Some("B"));
    assert_eq!(audio, b"abcdefgh");
}
