//! The ICY demuxer and the playlist parsers over real HTTP, against the fake
//! stream server of test-support, through the outbound client.

use std::time::Duration;

use reqwest::Method;
use timmybot_outbound::{FetchError, OutboundPolicy, SafeHttpClient};
use timmybot_sources::icy::IcyDemuxer;
use timmybot_sources::playlist::{self, HlsPlaylist, PlaylistFormat};
use timmybot_test_support::audio::{SAMPLE_RATE, dominant_frequency};
use timmybot_test_support::fake_apis::streams::{
    BURST, ENDLESS, FakeStreams, ICY_METAINT, STATION_BYTES_PER_SECOND, Station,
};
use url::Url;

const WAV_HEADER_BYTES: usize = 44;

fn client() -> SafeHttpClient {
    SafeHttpClient::new(OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() })
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// A connection to a station, read through the demuxer when ICY is on.
struct Listener {
    response: reqwest::Response,
    demuxer: Option<IcyDemuxer>,
    /// The bytes after demuxing: the WAV header and PCM.
    audio: Vec<u8>,
    /// Each title reported, with how much audio had arrived by then.
    titles: Vec<(Option<String>, usize)>,
}

impl Listener {
    async fn open(http: &SafeHttpClient, url: &str, icy: bool) -> Self {
        let url = Url::parse(url).unwrap();
        http.check_url(&url).unwrap();
        let mut request = http.request(Method::GET, url);
        if icy {
            request = request.header("Icy-MetaData", "1");
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let demuxer = response
            .headers()
            .get("icy-metaint")
            .map(|v| IcyDemuxer::from_header(v.to_str().unwrap()).expect("a usable icy-metaint"));
        Self { response, demuxer, audio: Vec::new(), titles: Vec::new() }
    }

    async fn read_chunk(&mut self) {
        let chunk = tokio::time::timeout(Duration::from_secs(5), self.response.chunk())
            .await
            .expect("the stream kept sending")
            .unwrap()
            .expect("the stream does not end");
        match self.demuxer.as_mut() {
            Some(demuxer) => {
                if let Some(metadata) = demuxer.feed(&chunk, &mut self.audio) {
                    self.titles.push((metadata.stream_title, self.audio.len()));
                }
            }
            None => self.audio.extend_from_slice(&chunk),
        }
    }

    async fn read_until(&mut self, done: impl Fn(&Self) -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !done(self) {
                self.read_chunk().await;
            }
        })
        .await
        .expect("the stream delivered in time");
    }

    fn titles(&self) -> Vec<&str> {
        self.titles.iter().map(|(t, _)| t.as_deref().unwrap_or("")).collect()
    }
}

/// The PCM after the header as (left, right) samples.
fn frames(audio: &[u8]) -> Vec<(i16, i16)> {
    audio[WAV_HEADER_BYTES..]
        .chunks_exact(4)
        .map(|f| (i16::from_le_bytes([f[0], f[1]]), i16::from_le_bytes([f[2], f[3]])))
        .collect()
}

/// Checks the stream is a well-formed endless WAV whose every frame has the
/// same sample on both channels (one stray metadata byte would shift the
/// rest out of step), of a `hz` tone.
fn assert_clean_tone(audio: &[u8], hz: f64) {
    assert_eq!(&audio[..4], b"RIFF");
    assert_eq!(&audio[8..16], b"WAVEfmt ");
    assert_eq!(&audio[36..40], b"data");
    assert_eq!(&audio[40..44], &[0xFF; 4], "an endless data chunk");
    let frames = frames(audio);
    assert!(frames.len() > 4800, "at least 0.1 s of audio");
    let mismatched = frames.iter().filter(|(l, r)| l != r).count();
    assert_eq!(mismatched, 0, "left and right differ: bytes were inserted or lost");
    let mono: Vec<f32> = frames.iter().take(SAMPLE_RATE as usize / 2).map(|(l, _)| f32::from(*l) / 32768.0).collect();
    let found = dominant_frequency(&mono, SAMPLE_RATE);
    assert!((found - hz).abs() < 2.0, "heard {found} Hz, expected {hz}");
}

#[tokio::test]
async fn titles_arrive_in_order_and_the_audio_comes_out_clean() {
    let streams = FakeStreams::start().await.unwrap();
    streams.add_station(
        "test",
        Station::tone(440.0)
            .icy_name("Test FM")
            .title("First Artist - First Song")
            .then_title_after(Duration::from_millis(800), "It's - the Second"),
    );
    let http = client();
    let mut listener = Listener::open(&http, &streams.station_url("test"), true).await;
    let headers = listener.response.headers();
    assert_eq!(headers["content-type"], "audio/wav");
    assert_eq!(headers["icy-name"], "Test FM");
    assert_eq!(headers["icy-metaint"], ICY_METAINT.to_string().as_str());
    assert!(headers.get("content-length").is_none(), "a live stream has no size");

    listener.read_until(|l| l.titles.len() >= 2).await;
    assert_eq!(listener.titles(), ["First Artist - First Song", "It's - the Second"]);
    // The second title comes with the first block after 0.8 s of audio; it
    // is reported once the chunk holding that block is read (at most a
    // burst more).
    let second_at = listener.titles[1].1 as u64;
    let change_at = STATION_BYTES_PER_SECOND * 8 / 10;
    assert!(second_at >= change_at, "changed after {second_at} bytes");
    assert!(second_at <= change_at + ICY_METAINT as u64 + 64 * 1024, "changed after {second_at} bytes");
    assert_clean_tone(&listener.audio, 440.0);
    assert_eq!(streams.icy_requests(), ["/radio/test"]);
}

#[tokio::test]
async fn a_title_set_by_the_test_reaches_a_connected_listener() {
    let streams = FakeStreams::start().await.unwrap();
    streams.add_station("jazz", Station::tone(330.0).title("Before"));
    let mut listener = Listener::open(&client(), &streams.station_url("jazz"), true).await;
    listener.read_until(|l| !l.titles.is_empty()).await;
    streams.set_title("jazz", "Miles Davis - So What");
    listener.read_until(|l| l.titles.len() >= 2).await;
    assert_eq!(listener.titles(), ["Before", "Miles Davis - So What"]);
    assert_clean_tone(&listener.audio, 330.0);
}

#[tokio::test]
async fn without_icy_metadata_the_stream_is_plain_wav() {
    let streams = FakeStreams::start().await.unwrap();
    streams.add_station("plain", Station::tone(440.0));
    let mut listener = Listener::open(&client(), &streams.station_url("plain"), false).await;
    assert!(listener.response.headers().get("icy-metaint").is_none());
    // More than two metaints: blocks would be in here if the fake sent any.
    listener.read_until(|l| l.audio.len() > 3 * ICY_METAINT).await;
    assert!(!listener.audio.windows(11).any(|w| w == b"StreamTitle"));
    assert_clean_tone(&listener.audio, 440.0);
    assert!(streams.icy_requests().is_empty());
}

#[tokio::test]
async fn the_stream_is_paced_at_real_time() {
    let streams = FakeStreams::start().await.unwrap();
    streams.add_station("paced", Station::tone(440.0));
    let mut listener = Listener::open(&client(), &streams.station_url("paced"), false).await;
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(5), async {
        while started.elapsed() < Duration::from_secs(1) {
            listener.read_chunk().await;
        }
    })
    .await
    .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let played = (listener.audio.len() - WAV_HEADER_BYTES) as f64 / STATION_BYTES_PER_SECOND as f64;
    let burst = BURST.as_secs_f64();
    assert!(played <= elapsed + burst + 0.1, "{played:.2} s of audio in {elapsed:.2} s");
    assert!(played >= elapsed - 0.3, "{played:.2} s of audio in {elapsed:.2} s: too slow");
}

#[tokio::test]
async fn the_stream_stops_when_the_listener_goes() {
    let streams = FakeStreams::start().await.unwrap();
    streams.add_station("gone", Station::tone(440.0));
    let mut listener = Listener::open(&client(), &streams.station_url("gone"), true).await;
    listener.read_until(|l| l.audio.len() > ICY_METAINT).await;
    assert_eq!(streams.open_connections("gone"), 1);
    drop(listener);

    tokio::time::timeout(Duration::from_secs(3), async {
        while streams.open_connections("gone") > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the fake noticed the disconnection");
    let sent = streams.bytes_sent("gone");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(streams.bytes_sent("gone"), sent, "nothing sent after the listener left");
    assert!(sent > ICY_METAINT as u64);
}

#[tokio::test]
async fn an_unknown_station_is_not_found_and_a_redirect_leads_to_one() {
    let streams = FakeStreams::start().await.unwrap();
    streams.add_station("moved", Station::tone(440.0));
    let http = client();
    let missing = http.fetch(http.request(Method::GET, url(&streams.station_url("nope")))).await.unwrap();
    assert_eq!(missing.status, 404);

    let mut listener = Listener::open(&http, &streams.url("/redirect/moved"), true).await;
    assert_eq!(listener.response.url().path(), "/radio/moved");
    listener.read_until(|l| !l.titles.is_empty()).await;
    assert_eq!(listener.titles(), ["Fake Artist - Fake Song"]);
    let paths: Vec<String> = streams.seen().all().into_iter().map(|s| s.path_and_query).collect();
    assert_eq!(paths, ["/radio/nope", "/redirect/moved", "/radio/moved"]);
}

#[tokio::test]
async fn endless_bytes_are_cut_by_the_fetch_limit() {
    let streams = FakeStreams::start().await.unwrap();
    let limit = 256 * 1024;
    let http = SafeHttpClient::new(OutboundPolicy {
        allow: "127.0.0.1/32".parse().unwrap(),
        max_body_bytes: limit,
        ..OutboundPolicy::default()
    });
    let error = http.get_limited(&url(&streams.url("/endless"))).await.unwrap_err();
    assert!(matches!(error, FetchError::TooLarge { .. }), "{error:?}");
    assert!(streams.bytes_sent(ENDLESS) > limit);
    tokio::time::timeout(Duration::from_secs(3), async {
        while streams.open_connections(ENDLESS) > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the endless stream stopped once the client gave up");
}

#[tokio::test]
async fn hosted_playlists_are_detected_parsed_and_lead_to_the_station() {
    let streams = FakeStreams::start().await.unwrap();
    streams.add_station("listed", Station::tone(550.0).title("From the list"));
    let station = streams.station_url("listed");
    streams.serve("/lists/radio.m3u", "audio/x-mpegurl", format!("#EXTM3U\r\n#EXTINF:-1,Listed FM\r\n{station}\r\n"));
    streams.serve(
        "/lists/radio.pls",
        "audio/x-scpls",
        "[playlist]\nNumberOfEntries=1\nFile1=/radio/listed\nTitle1=Listed FM\n",
    );
    let xspf = format!(
        r#"<?xml version="1.0"?><playlist version="1" xmlns="http://xspf.org/ns/0/"><trackList><track><location>{station}</location><title>Listed FM</title></track></trackList></playlist>"#
    );
    streams.serve("/lists/radio.xspf", "application/xspf+xml", xspf);

    let http = client();
    for (path, format) in [
        ("/lists/radio.m3u", PlaylistFormat::M3u),
        ("/lists/radio.pls", PlaylistFormat::Pls),
        ("/lists/radio.xspf", PlaylistFormat::Xspf),
    ] {
        let list_url = url(&streams.url(path));
        let fetched = http.fetch(http.request(Method::GET, list_url.clone())).await.unwrap();
        assert_eq!(fetched.status, 200);
        let detected = playlist::detect(fetched.header("content-type"), list_url.path(), &fetched.body);
        assert_eq!(detected, Some(format), "{path}");
        let list = playlist::parse(format, &fetched.body, &list_url).unwrap();
        assert_eq!(list.entries.len(), 1, "{path}");
        assert_eq!(list.entries[0].location.as_str(), station, "{path}");
        assert_eq!(list.entries[0].title.as_deref(), Some("Listed FM"), "{path}");
        assert_eq!(list.entries[0].duration_ms, None, "{path}");
    }

    let list = playlist::parse(
        PlaylistFormat::M3u,
        &http.get_limited(&url(&streams.url("/lists/radio.m3u"))).await.unwrap(),
        &url(&streams.url("/lists/radio.m3u")),
    )
    .unwrap();
    let mut listener = Listener::open(&http, list.entries[0].location.as_str(), true).await;
    listener.read_until(|l| !l.titles.is_empty()).await;
    assert_eq!(listener.titles(), ["From the list"]);
    assert_clean_tone(&listener.audio, 550.0);
    assert_eq!(streams.open_connections("listed"), 1);
}

#[tokio::test]
async fn a_hosted_hls_stream_leads_from_master_to_segments() {
    let streams = FakeStreams::start().await.unwrap();
    streams.serve(
        "/hls/master.m3u8",
        "application/vnd.apple.mpegurl",
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS=\"avc1.4d401f,mp4a.40.2\",RESOLUTION=1280x720\nvideo.m3u8\n\
         #EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS=\"mp4a.40.2\"\naudio/128.m3u8\n",
    );
    streams.serve(
        "/hls/audio/128.m3u8",
        "application/vnd.apple.mpegurl",
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:20\n#EXTINF:4.0,Song A\nseg20.aac\n#EXTINF:4.0,Song A\nseg21.aac\n",
    );
    streams.serve("/hls/audio/seg20.aac", "audio/aac", vec![0xFF, 0xF1, 20]);
    streams.serve("/hls/audio/seg21.aac", "audio/aac", vec![0xFF, 0xF1, 21]);

    let http = client();
    let master_url = url(&streams.url("/hls/master.m3u8"));
    let master = http.fetch(http.request(Method::GET, master_url.clone())).await.unwrap();
    assert_eq!(
        playlist::detect(master.header("content-type"), master_url.path(), &master.body),
        Some(PlaylistFormat::Hls)
    );
    let HlsPlaylist::Master(variants) = playlist::parse_hls(&master.body, &master_url).unwrap() else {
        panic!("a master playlist")
    };
    let chosen = playlist::choose_variant(&variants).unwrap();
    assert!(chosen.audio_only);

    let media_body = http.get_limited(&chosen.uri).await.unwrap();
    let HlsPlaylist::Media(media) = playlist::parse_hls(&media_body, &chosen.uri).unwrap() else {
        panic!("a media playlist")
    };
    assert!(!media.ended, "live: fetch again later");
    assert_eq!(media.target_duration_ms, 4000);
    let mut got = Vec::new();
    for (i, segment) in media.segments.iter().enumerate() {
        let bytes = http.get_limited(&segment.uri).await.unwrap();
        got.push((media.sequence_of(i), bytes[2]));
    }
    assert_eq!(got, [(20, 20), (21, 21)]);
    let paths: Vec<String> = streams.seen().with_prefix("/hls/").into_iter().map(|s| s.path_and_query).collect();
    assert_eq!(paths, ["/hls/master.m3u8", "/hls/audio/128.m3u8", "/hls/audio/seg20.aac", "/hls/audio/seg21.aac"]);
}
