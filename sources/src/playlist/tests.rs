use std::time::{Duration, Instant};

use super::*;

fn base() -> Url {
    Url::parse("http://lists.test/dir/list.m3u").unwrap()
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn locations(list: &Playlist) -> Vec<&str> {
    list.entries.iter().map(|e| e.location.as_str()).collect()
}

fn media(body: &str) -> HlsMedia {
    match parse_hls(body.as_bytes(), &base()).unwrap() {
        HlsPlaylist::Media(media) => media,
        HlsPlaylist::Master(v) => panic!("expected a media playlist, got {v:?}"),
    }
}

fn master(body: &str) -> Vec<HlsVariant> {
    match parse_hls(body.as_bytes(), &base()).unwrap() {
        HlsPlaylist::Master(variants) => variants,
        HlsPlaylist::Media(m) => panic!("expected a master playlist, got {m:?}"),
    }
}

// ---- detect ----

#[test]
fn detect_reads_the_content_type() {
    use PlaylistFormat::*;
    for (content_type, format) in [
        ("audio/x-mpegurl", M3u),
        ("audio/mpegurl", M3u),
        ("application/x-mpegurl", M3u),
        ("Application/vnd.apple.mpegurl", Hls),
        ("audio/x-scpls", Pls),
        ("application/xspf+xml; charset=utf-8", Xspf),
    ] {
        assert_eq!(detect(Some(content_type), "/stream", b""), Some(format), "{content_type}");
    }
}

#[test]
fn detect_falls_back_to_the_extension_unless_the_server_says_audio() {
    use PlaylistFormat::*;
    assert_eq!(detect(None, "/a/list.M3U", b""), Some(M3u));
    assert_eq!(detect(Some("text/plain"), "/a/list.m3u8", b""), Some(M3u));
    assert_eq!(detect(Some("application/octet-stream"), "/radio.pls", b""), Some(Pls));
    assert_eq!(detect(None, "/x.xspf", b""), Some(Xspf));
    assert_eq!(detect(Some("audio/mpeg"), "/stream.m3u", b"\xFF\xFB\x90\x00"), None);
    assert_eq!(detect(Some("video/mp4"), "/x.pls", b""), None);
    assert_eq!(detect(None, "/song.mp3", b"ID3"), None);
    assert_eq!(detect(None, "/m3u/song", b""), None, "a directory named m3u is no extension");
}

#[test]
fn detect_trusts_the_body_over_the_headers() {
    use PlaylistFormat::*;
    assert_eq!(detect(Some("text/html"), "/", b"\xEF\xBB\xBF  #EXTM3U\r\nhttp://a/1\r\n"), Some(M3u));
    assert_eq!(detect(Some("audio/mpeg"), "/", b"[Playlist]\nFile1=http://a/1"), Some(Pls));
    let xspf = br#"<?xml version="1.0" encoding="UTF-8"?>
        <playlist version="1" xmlns="http://xspf.org/ns/0/"><trackList/></playlist>"#;
    assert_eq!(detect(None, "/", xspf), Some(Xspf));
    assert_eq!(detect(Some("text/html"), "/", b"<!doctype html><html><body>hi</body></html>"), None);
    assert_eq!(detect(None, "/", b"<rss><playlist/></rss>"), None, "a <playlist> without the XSPF namespace");
}

#[test]
fn detect_tells_hls_from_a_plain_m3u() {
    use PlaylistFormat::*;
    let plain = b"#EXTM3U\n#EXTINF:200,A - B\nhttp://a.test/1.mp3\n";
    assert_eq!(detect(Some("audio/x-mpegurl"), "/list.m3u8", plain), Some(M3u));
    let media = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nseg1.ts\n";
    assert_eq!(detect(Some("audio/x-mpegurl"), "/list.m3u", media), Some(Hls));
    let master = b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000\nlow.m3u8\n";
    assert_eq!(detect(None, "/x", master), Some(Hls));
    let extinf_and_tags = b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:4\n#EXTINF:6,\nseg4.aac\n";
    assert_eq!(detect(None, "/x", extinf_and_tags), Some(Hls));
    let version_only = b"#EXTM3U\n#EXT-X-VERSION:3\nhttp://a.test/stream\n";
    assert_eq!(detect(None, "/x", version_only), Some(M3u), "#EXT-X- without #EXTINF is not enough");
}

// ---- M3U ----

#[test]
fn m3u_reads_titles_durations_and_resolves_relative_entries() {
    let body = "#EXTM3U\r\n#PLAYLIST:Road trip\r\n#EXTINF:123.5,Artist - Song\r\nsong.mp3\r\n\
        #EXTINF:-1,Radio One\r\nhttp://radio.test:8000/live\r\n/root.ogg\r\n//cdn.test/x.flac\r\n";
    let list = parse(PlaylistFormat::M3u, body.as_bytes(), &base()).unwrap();
    assert_eq!(list.title.as_deref(), Some("Road trip"));
    assert_eq!(
        locations(&list),
        [
            "http://lists.test/dir/song.mp3",
            "http://radio.test:8000/live",
            "http://lists.test/root.ogg",
            "http://cdn.test/x.flac"
        ]
    );
    assert_eq!(list.entries[0].title.as_deref(), Some("Artist - Song"));
    assert_eq!(list.entries[0].duration_ms, Some(123_500));
    assert_eq!(list.entries[1].title.as_deref(), Some("Radio One"));
    assert_eq!(list.entries[1].duration_ms, None, "-1 is live");
    assert_eq!(list.entries[2].title, None, "an #EXTINF describes only the next line");
    assert_eq!((list.skipped, list.truncated), (0, false));
}

#[test]
fn m3u_skips_what_is_not_http_and_counts_it() {
    let body = "file:///etc/passwd\nC:\\Music\\song.mp3\nrtsp://cam.test/1\nhttp://ok.test/a.mp3\n\
        ftp://files.test/b.mp3\nhttps://ok.test/b.mp3\n";
    let list = parse(PlaylistFormat::M3u, body.as_bytes(), &base()).unwrap();
    assert_eq!(locations(&list), ["http://ok.test/a.mp3", "https://ok.test/b.mp3"]);
    assert_eq!(list.skipped, 4);
}

#[test]
fn m3u_with_only_local_files_is_nothing_playable() {
    let body = "#EXTM3U\n#EXTINF:1,A\n/home/me/a.mp3\nfile:///b.mp3\n";
    // "/home/me/a.mp3" resolves against the http base, so only file:// is
    // local here; a base-less list of files is all skipped.
    let list = parse(PlaylistFormat::M3u, body.as_bytes(), &base()).unwrap();
    assert_eq!(locations(&list), ["http://lists.test/home/me/a.mp3"]);
    let only_files = "file:///a.mp3\nC:\\b.mp3\n";
    assert_eq!(
        parse(PlaylistFormat::M3u, only_files.as_bytes(), &base()),
        Err(PlaylistError::NothingPlayable { skipped: 2 })
    );
    assert_eq!(parse(PlaylistFormat::M3u, b"#EXTM3U\n\n# nothing\n", &base()), Err(PlaylistError::Empty));
}

#[test]
fn m3u_tolerates_bom_latin1_and_iptv_attributes() {
    let mut body = b"\xEF\xBB\xBF#EXTM3U\n".to_vec();
    // Latin-1 "Motörhead": not valid UTF-8, read byte by byte.
    body.extend_from_slice(b"#EXTINF:-1 tvg-id=\"a,b\" group-title=\"Rock, Metal\",Mot\xF6rhead - Ace\n");
    body.extend_from_slice(b"http://a.test/ace\n");
    let list = parse(PlaylistFormat::M3u, &body, &base()).unwrap();
    assert_eq!(list.entries[0].title.as_deref(), Some("Motörhead - Ace"));
    assert_eq!(list.entries[0].duration_ms, None);
}

#[test]
fn m3u_refuses_html_and_skips_binary_lines() {
    let html = b"  <!DOCTYPE html>\n<html><body>Sign in</body></html>\n";
    let error = parse(PlaylistFormat::M3u, html, &base()).unwrap_err();
    assert_eq!(error, PlaylistError::NotAPlaylist("M3U"));
    assert!(!error.to_string().contains("Sign in"), "errors never repeat the body");
    let binary = b"http://a.test/1\n\x01\x02\xFF\xFE\n";
    let list = parse(PlaylistFormat::M3u, binary, &base()).unwrap();
    assert_eq!((list.entries.len(), list.skipped), (1, 1));
}

#[test]
fn m3u_skips_an_overlong_line() {
    let body = format!(
        "http://a.test/{}\n#EXTINF:1,{}\nhttp://b.test/\n",
        "x".repeat(MAX_LINE_BYTES),
        "y".repeat(MAX_LINE_BYTES)
    );
    let list = parse(PlaylistFormat::M3u, body.as_bytes(), &base()).unwrap();
    assert_eq!(locations(&list), ["http://b.test/"]);
    assert_eq!(list.skipped, 1);
    assert_eq!(list.entries[0].title, None, "the overlong #EXTINF was not read");
}

#[test]
fn a_ten_thousand_entry_m3u_stops_at_the_cap_quickly() {
    let body: String = (0..10_000).map(|i| format!("#EXTINF:10,Track {i}\nhttp://a.test/{i}.mp3\n")).collect();
    let started = Instant::now();
    let list = parse(PlaylistFormat::M3u, body.as_bytes(), &base()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(list.entries.len(), MAX_PLAYLIST_ENTRIES);
    assert!(list.truncated);
    assert_eq!(list.entries.last().unwrap().location.as_str(), "http://a.test/999.mp3");
}

#[test]
fn a_playlist_at_the_cap_exactly_is_not_truncated() {
    let body: String = (0..MAX_PLAYLIST_ENTRIES).map(|i| format!("http://a.test/{i}\n")).collect();
    let list = parse(PlaylistFormat::M3u, body.as_bytes(), &base()).unwrap();
    assert_eq!(list.entries.len(), MAX_PLAYLIST_ENTRIES);
    assert!(!list.truncated);
}

#[test]
fn bodies_over_the_size_limit_are_refused_before_reading() {
    let body = vec![b'#'; MAX_PLAYLIST_BYTES + 1];
    for format in [PlaylistFormat::M3u, PlaylistFormat::Pls, PlaylistFormat::Xspf] {
        assert_eq!(parse(format, &body, &base()), Err(PlaylistError::TooLarge { limit: MAX_PLAYLIST_BYTES }));
    }
    assert_eq!(parse_hls(&body, &base()), Err(PlaylistError::TooLarge { limit: MAX_PLAYLIST_BYTES }));
    assert_eq!(parse(PlaylistFormat::Hls, b"#EXTM3U\n", &base()), Err(PlaylistError::NotAPlaylist("M3U")));
}

// ---- PLS ----

#[test]
fn pls_orders_entries_by_number_whatever_the_line_order_and_count_say() {
    let body = "[playlist]\r\nNumberOfEntries=7\r\nTitle2=Second\r\nfile2=relative.mp3\r\n\
        File1=http://a.test/1\r\nLength1=-1\r\nTITLE1=First\r\nLength2=61\r\nFile10=http://a.test/10\r\nVersion=2\r\n";
    let list = parse(PlaylistFormat::Pls, body.as_bytes(), &base()).unwrap();
    assert_eq!(locations(&list), ["http://a.test/1", "http://lists.test/dir/relative.mp3", "http://a.test/10"]);
    assert_eq!(list.entries[0].title.as_deref(), Some("First"));
    assert_eq!(list.entries[0].duration_ms, None);
    assert_eq!(list.entries[1].title.as_deref(), Some("Second"));
    assert_eq!(list.entries[1].duration_ms, Some(61_000));
    assert_eq!(list.entries[2].title, None);
}

#[test]
fn pls_without_a_header_but_with_files_is_read_and_garbage_is_not() {
    let list = parse(PlaylistFormat::Pls, b"File1=http://a.test/x\n", &base()).unwrap();
    assert_eq!(locations(&list), ["http://a.test/x"]);
    assert_eq!(parse(PlaylistFormat::Pls, b"hello=world\nfoo", &base()), Err(PlaylistError::NotAPlaylist("PLS")));
    assert_eq!(parse(PlaylistFormat::Pls, b"[playlist]\nNumberOfEntries=3\n", &base()), Err(PlaylistError::Empty));
    assert_eq!(
        parse(PlaylistFormat::Pls, b"[playlist]\nFile1=file:///x\nFile2=smb://nas/y\n", &base()),
        Err(PlaylistError::NothingPlayable { skipped: 2 })
    );
}

#[test]
fn pls_keeps_the_lowest_numbers_when_there_are_too_many() {
    // Written backwards, so the entries kept are found last.
    let body: String = std::iter::once("[playlist]\n".to_owned())
        .chain((1..=10_000).rev().map(|i| format!("File{i}=http://a.test/{i}\n")))
        .collect();
    let list = parse(PlaylistFormat::Pls, body.as_bytes(), &base()).unwrap();
    assert_eq!(list.entries.len(), MAX_PLAYLIST_ENTRIES);
    assert!(list.truncated);
    assert_eq!(list.entries[0].location.as_str(), "http://a.test/1");
    assert_eq!(list.entries[999].location.as_str(), "http://a.test/1000");
}

#[test]
fn pls_with_a_million_titles_and_no_files_stays_small() {
    let body: String = (0..200_000).map(|i| format!("Title{i}=t\n")).collect();
    let started = Instant::now();
    assert_eq!(parse(PlaylistFormat::Pls, body.as_bytes(), &base()), Err(PlaylistError::NotAPlaylist("PLS")));
    assert!(started.elapsed() < Duration::from_secs(2));
}

// ---- XSPF ----

const XSPF_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<playlist version="1" xmlns="http://xspf.org/ns/0/">"#;

#[test]
fn xspf_reads_tracks_titles_and_durations() {
    let body = format!(
        r#"{XSPF_HEAD}
  <title>Mix &amp; match</title>
  <location>http://lists.test/self.xspf</location>
  <trackList>
    <track>
      <location>file:///home/a.ogg</location>
      <location>a.ogg</location>
      <creator>Björk</creator>
      <title>Jóga &#x2014; live</title>
      <duration>305000</duration>
      <extension application="x"><location>http://evil.test/</location></extension>
    </track>
    <track><location><![CDATA[http://b.test/b.mp3?x=1&y=2]]></location></track>
    <track><title>no location</title></track>
  </trackList>
</playlist>"#
    );
    let list = parse(PlaylistFormat::Xspf, body.as_bytes(), &base()).unwrap();
    assert_eq!(list.title.as_deref(), Some("Mix & match"));
    assert_eq!(locations(&list), ["http://lists.test/dir/a.ogg", "http://b.test/b.mp3?x=1&y=2"]);
    assert_eq!(list.entries[0].title.as_deref(), Some("Björk - Jóga — live"));
    assert_eq!(list.entries[0].duration_ms, Some(305_000));
    assert_eq!(list.skipped, 1, "the track without a location");
}

#[test]
fn xspf_with_a_namespace_prefix_is_read() {
    let body = r#"<x:playlist xmlns:x="http://xspf.org/ns/0/"><x:trackList><x:track><x:location>http://a.test/1</x:location></x:track></x:trackList></x:playlist>"#;
    let list = parse(PlaylistFormat::Xspf, body.as_bytes(), &base()).unwrap();
    assert_eq!(locations(&list), ["http://a.test/1"]);
}

#[test]
fn xspf_never_expands_dtd_entities() {
    let body = r#"<?xml version="1.0"?>
<!DOCTYPE playlist [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
  <!ENTITY lol "lollollollollollollollollollol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<playlist xmlns="http://xspf.org/ns/0/"><trackList><track>
<location>http://a.test/&xxe;x</location><title>A&lol2;B</title>
</track></trackList></playlist>"#;
    let list = parse(PlaylistFormat::Xspf, body.as_bytes(), &base()).unwrap();
    assert_eq!(locations(&list), ["http://a.test/x"]);
    assert_eq!(list.entries[0].title.as_deref(), Some("AB"));
}

#[test]
fn xspf_deep_nesting_stops_without_overflowing_the_stack() {
    let depth = 100_000;
    let body = format!(
        "{XSPF_HEAD}<trackList><track><location>http://a.test/1</location></track>{}{}</trackList></playlist>",
        "<x>".repeat(depth),
        "</x>".repeat(depth)
    );
    let started = Instant::now();
    let list = parse(PlaylistFormat::Xspf, body.as_bytes(), &base()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(locations(&list), ["http://a.test/1"]);
}

#[test]
fn xspf_cut_short_keeps_the_tracks_before_the_cut() {
    let body = format!(
        "{XSPF_HEAD}<trackList><track><location>http://a.test/1</location></track><track><location>http://a.te"
    );
    let list = parse(PlaylistFormat::Xspf, body.as_bytes(), &base()).unwrap();
    assert_eq!(locations(&list), ["http://a.test/1"]);
}

#[test]
fn xspf_refuses_other_xml_and_non_xml() {
    for body in ["<rss><channel/></rss>", "hello", "", "<?xml version=\"1.0\"?>"] {
        assert_eq!(
            parse(PlaylistFormat::Xspf, body.as_bytes(), &base()),
            Err(PlaylistError::NotAPlaylist("XSPF")),
            "{body}"
        );
    }
    assert_eq!(parse(PlaylistFormat::Xspf, b"<playlist/>", &base()), Err(PlaylistError::Empty));
    let no_tracks = format!("{XSPF_HEAD}<trackList></trackList></playlist>");
    assert_eq!(parse(PlaylistFormat::Xspf, no_tracks.as_bytes(), &base()), Err(PlaylistError::Empty));
}

#[test]
fn xspf_stops_at_the_cap() {
    let tracks: String = (0..5000).map(|i| format!("<track><location>http://a.test/{i}</location></track>")).collect();
    let body = format!("{XSPF_HEAD}<trackList>{tracks}</trackList></playlist>");
    let list = parse(PlaylistFormat::Xspf, body.as_bytes(), &base()).unwrap();
    assert_eq!(list.entries.len(), MAX_PLAYLIST_ENTRIES);
    assert!(list.truncated);
}

#[test]
fn xspf_ignores_an_overlong_location() {
    let body = format!(
        "{XSPF_HEAD}<trackList><track><location>http://a.test/{}</location></track><track><location>http://b.test/</location></track></trackList></playlist>",
        "x".repeat(MAX_LINE_BYTES)
    );
    let list = parse(PlaylistFormat::Xspf, body.as_bytes(), &base()).unwrap();
    assert_eq!(locations(&list), ["http://b.test/"]);
    assert_eq!(list.skipped, 1);
}

// ---- HLS ----

#[test]
fn hls_master_lists_variants_and_audio_renditions() {
    let variants = master(
        "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n\
         #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aac\",NAME=\"English\",DEFAULT=NO,URI=\"audio/en.m3u8\"\n\
         #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aac\",NAME=\"Main\",DEFAULT=YES,URI=\"audio/main.m3u8\"\n\
         #EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"s\",URI=\"subs.m3u8\"\n\
         #EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS=\"avc1.4d401f,mp4a.40.2\",AUDIO=\"aac\"\n\
         video/720.m3u8\n\
         #EXT-X-STREAM-INF:BANDWIDTH=96000,CODECS=\"mp4a.40.2\"\n\
         https://cdn.test/audio96.m3u8\n\
         #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI=\"iframes.m3u8\"\n",
    );
    let uris: Vec<&str> = variants.iter().map(|v| v.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "http://lists.test/dir/video/720.m3u8",
            "https://cdn.test/audio96.m3u8",
            "http://lists.test/dir/audio/main.m3u8",
            "http://lists.test/dir/audio/en.m3u8"
        ]
    );
    assert_eq!(variants[0].bandwidth, Some(2_500_000));
    assert_eq!(variants[0].codecs.as_deref(), Some("avc1.4d401f,mp4a.40.2"));
    assert!(!variants[0].audio_only);
    assert!(variants[1].audio_only);
    assert_eq!(variants[2].codecs.as_deref(), Some("mp4a.40.2"), "the audio codec of the streams using the group");
    assert!(variants[2].audio_only && variants[2].bandwidth.is_none());
    // Audio-only first; among them the lowest bandwidth of at least 64 kbit/s.
    assert_eq!(choose_variant(&variants).unwrap().uri.as_str(), "https://cdn.test/audio96.m3u8");
}

fn variant(bandwidth: Option<u64>, audio_only: bool, name: &str) -> HlsVariant {
    HlsVariant { uri: url(&format!("http://a.test/{name}")), bandwidth, codecs: None, audio_only }
}

#[test]
fn choose_variant_prefers_audio_then_the_lowest_good_bandwidth() {
    let chosen = |variants: &[HlsVariant]| choose_variant(variants).map(|v| v.uri.path().to_owned());
    assert_eq!(chosen(&[]), None);
    // No audio-only variant: the lowest of at least 64 kbit/s.
    let video = [
        variant(Some(800_000), false, "800k"),
        variant(Some(32_000), false, "32k"),
        variant(Some(128_000), false, "128k"),
    ];
    assert_eq!(chosen(&video).as_deref(), Some("/128k"));
    // All below 64 kbit/s: the lowest.
    let poor = [variant(Some(48_000), false, "48k"), variant(Some(24_000), false, "24k")];
    assert_eq!(chosen(&poor).as_deref(), Some("/24k"));
    // An audio-only variant wins over any video one.
    let mixed = [variant(Some(128_000), false, "video"), variant(Some(32_000), true, "audio32")];
    assert_eq!(chosen(&mixed).as_deref(), Some("/audio32"));
    // Unknown bandwidth comes after a good known one, before a poor one.
    let unknown =
        [variant(Some(32_000), true, "poor"), variant(None, true, "rendition"), variant(Some(64_000), true, "good")];
    assert_eq!(chosen(&unknown).as_deref(), Some("/good"));
    assert_eq!(chosen(&unknown[..2]).as_deref(), Some("/rendition"));
}

#[test]
fn hls_media_on_demand() {
    let m = media(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:42\n#EXT-X-PLAYLIST-TYPE:VOD\n\
         #EXT-X-KEY:METHOD=NONE\n#EXT-X-MAP:URI=\"init.mp4\"\n\
         #EXTINF:9.97,Artist - Song\nseg42.aac\n#EXTINF:10,\nhttps://cdn.test/seg43.aac\n#EXTINF:4.5\nfile:///seg44.aac\n#EXT-X-ENDLIST\n",
    );
    assert_eq!(m.target_duration_ms, 10_000);
    assert_eq!(m.media_sequence, 42);
    assert_eq!(m.sequence_of(1), 43);
    assert!(m.ended && !m.encrypted && m.ensure_playable().is_ok());
    assert_eq!(m.init_uri.as_ref().map(Url::as_str), Some("http://lists.test/dir/init.mp4"));
    assert_eq!(m.segments.len(), 2);
    assert_eq!(m.segments[0].uri.as_str(), "http://lists.test/dir/seg42.aac");
    assert_eq!(m.segments[0].duration_ms, 9_970);
    assert_eq!(m.segments[0].title.as_deref(), Some("Artist - Song"));
    assert_eq!(m.segments[1].title, None);
    assert_eq!((m.skipped, m.truncated), (1, false));
}

#[test]
fn hls_media_live_and_encrypted() {
    let live =
        media("#EXTM3U\r\n#EXT-X-TARGETDURATION:6\r\n#EXT-X-MEDIA-SEQUENCE:1000\r\n#EXTINF:6,\r\nlive1000.ts\r\n");
    assert!(!live.ended, "no ENDLIST: live, fetch again");
    assert_eq!(live.segments.len(), 1);
    let waiting = media("#EXTM3U\n#EXT-X-TARGETDURATION:6\n");
    assert!(waiting.segments.is_empty() && !waiting.ended, "a live playlist with no segments yet");

    let encrypted = media(
        "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.test/k\",IV=0x1\n#EXTINF:6,\na.ts\n",
    );
    assert!(encrypted.encrypted);
    assert_eq!(encrypted.ensure_playable(), Err(PlaylistError::Encrypted));
    let sample_aes = media("#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"k\"\n#EXTINF:6,\na.ts\n");
    assert!(sample_aes.encrypted);
    assert_eq!(sample_aes.target_duration_ms, 6_000, "no target duration: the longest segment");
}

#[test]
fn hls_refuses_what_is_not_hls() {
    assert_eq!(parse_hls(b"http://a.test/1\n", &base()), Err(PlaylistError::NotAPlaylist("HLS")));
    assert_eq!(parse_hls(b"", &base()), Err(PlaylistError::NotAPlaylist("HLS")));
    assert_eq!(parse_hls(b"#EXTM3U\n", &base()), Err(PlaylistError::Empty));
    assert_eq!(parse_hls(b"#EXTM3U\n#EXT-X-ENDLIST\n", &base()), Err(PlaylistError::Empty));
    assert_eq!(
        parse_hls(b"#EXTM3U\n#EXTINF:1,\nfile:///a.ts\n#EXT-X-ENDLIST\n", &base()),
        Err(PlaylistError::NothingPlayable { skipped: 1 })
    );
    // A BOM and leading blank lines are fine.
    assert!(parse_hls(b"\xEF\xBB\xBF\n\n#EXTM3U\n#EXTINF:1,\na.ts\n", &base()).is_ok());
}

#[test]
fn hls_caps_segments_but_still_reads_the_end_marker() {
    let mut body = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:2\n");
    for i in 0..12_000 {
        body.push_str(&format!("#EXTINF:2,\ns{i}.ts\n"));
    }
    body.push_str("#EXT-X-ENDLIST\n");
    let started = Instant::now();
    let m = media(&body);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(m.segments.len(), MAX_HLS_SEGMENTS);
    assert!(m.truncated && m.ended);
}

#[test]
fn hls_caps_variants() {
    let body: String = std::iter::once("#EXTM3U\n".to_owned())
        .chain((0..1000).map(|i| format!("#EXT-X-STREAM-INF:BANDWIDTH={}\nv{i}.m3u8\n", 64_000 + i)))
        .collect();
    assert_eq!(master(&body).len(), MAX_HLS_VARIANTS);
}

#[test]
fn hls_quoted_attributes_keep_their_commas() {
    let variants = master("#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"mp4a.40.2,ac-3\",BANDWIDTH=128000\na.m3u8\n");
    assert_eq!(variants[0].codecs.as_deref(), Some("mp4a.40.2,ac-3"));
    assert_eq!(variants[0].bandwidth, Some(128_000));
    assert!(variants[0].audio_only);
}

#[test]
fn errors_have_a_message_for_members() {
    for error in [
        PlaylistError::NotAPlaylist("M3U"),
        PlaylistError::Empty,
        PlaylistError::NothingPlayable { skipped: 3 },
        PlaylistError::TooLarge { limit: 5 },
        PlaylistError::Encrypted,
    ] {
        assert!(error.user_message().ends_with('.'), "{error:?}");
    }
    assert_eq!(PlaylistFormat::Xspf.name(), "XSPF");
}
