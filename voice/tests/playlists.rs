//! Playlist links (M3U, PLS, XSPF) through the real resolver and outbound
//! client, against the fake stream host: entries queued, checked one by
//! one, the first opened from one GET; stations whose link is a playlist.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{decode, loopback_policy, near, resolver, resolver_with};
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_sources::ApiClient;
use timmybot_sources::radio_browser::RadioBrowser;
use timmybot_test_support::audio::tone_wav;
use timmybot_test_support::fake_apis::radio_browser::{FakeRadioBrowser, FakeStation};
use timmybot_test_support::fake_apis::streams::{FakeStreams, Station};
use timmybot_voice::{RadioSource, SourceError, SourceResolver};

const TONES: [(&str, f64); 3] = [("a", 440.0), ("b", 660.0), ("c", 880.0)];

/// A fake host serving three one-second tones at `/a.wav`, `/b.wav`, `/c.wav`.
async fn tone_host() -> FakeStreams {
    let streams = FakeStreams::start().await.unwrap();
    for (name, hz) in TONES {
        streams.serve(&format!("/{name}.wav"), "audio/wav", tone_wav(hz, 1.0).unwrap());
    }
    streams
}

fn requests(streams: &FakeStreams, path: &str) -> usize {
    streams.seen().all().iter().filter(|s| s.path_and_query == path).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m3u_pls_and_xspf_lists_queue_their_tracks_and_play_the_first_from_one_get() {
    let streams = tone_host().await;
    let base = streams.base_url();
    let m3u = format!(
        "#EXTM3U\n#PLAYLIST:Morning\n#EXTINF:1,Alpha\n/a.wav\n#EXTINF:1,Beta\n../b.wav\n#EXTINF:-1,Gamma\n{base}/c.wav\n"
    );
    let pls = format!(
        "[playlist]\nFile1={base}/a.wav\nTitle1=Alpha\nLength1=1\nFile2={base}/b.wav\nTitle2=Beta\n\
         File3={base}/c.wav\nTitle3=Gamma\nNumberOfEntries=3\nVersion=2\n"
    );
    let xspf = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<playlist version="1" xmlns="http://xspf.org/ns/0/"><title>Morning</title><trackList>
<track><location>{base}/a.wav</location><title>Alpha</title><duration>1000</duration></track>
<track><location>{base}/b.wav</location><title>Beta</title></track>
<track><location>{base}/c.wav</location><title>Gamma</title></track>
</trackList></playlist>"#
    );
    let lists = [
        ("/lists/morning.m3u", "audio/x-mpegurl", m3u.clone()),
        ("/lists/morning.pls", "audio/x-scpls", pls),
        ("/lists/morning.xspf", "application/xspf+xml", xspf),
        // Neither type nor path says what it is: its first bytes do.
        ("/lists/morning", "text/plain", m3u),
    ];
    for (path, content_type, body) in &lists {
        streams.serve(path, content_type, body.clone());
    }
    let resolver = resolver();
    for (round, (path, _, _)) in lists.iter().enumerate() {
        let resolved = resolver.resolve(&streams.url(path)).await.unwrap_or_else(|e| panic!("{path}: {e:?}"));
        assert_eq!(resolved.title, "Alpha", "{path}");
        assert_eq!(resolved.source, format!("{base}/a.wav"), "{path}: the queue stores the entry");
        assert_eq!(resolved.duration, Some(Duration::from_secs(1)), "{path}");
        let more: Vec<(&str, Option<&str>)> =
            resolved.more.iter().map(|t| (t.title.as_str(), t.locator.as_deref())).collect();
        let (b, c) = (format!("{base}/b.wav"), format!("{base}/c.wav"));
        assert_eq!(more, [("Beta", Some(b.as_str())), ("Gamma", Some(c.as_str()))], "{path}");
        assert!(resolved.more.iter().all(|t| t.origin == timmybot_sources::Origin::Link));
        if path.ends_with(".xspf") || path.ends_with(".m3u") {
            assert_eq!(resolved.notes.collection.as_deref(), Some("Morning"), "{path}");
        }
        assert_eq!(resolved.notes.skipped, 0);
        assert!(!resolved.notes.truncated);
        let decoded =
            tokio::task::spawn_blocking(move || decode(resolved.input, Duration::from_secs(5))).await.unwrap();
        assert!(decoded.ended, "{path}: the first track decodes to its end");
        assert!(near(Some(decoded.dominant()), 440.0), "{path}: heard {}", decoded.dominant());
        assert_eq!(requests(&streams, path), 1, "{path}: one GET for the playlist");
        assert_eq!(requests(&streams, "/a.wav"), round + 1, "{path}: one GET for the first track");
        assert_eq!(requests(&streams, "/b.wav"), 0, "{path}: the others are opened when they play");
    }
    assert!(streams.seen().all().iter().all(|s| s.method == "GET"), "no HEAD first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_of_an_unknown_type_plays_from_the_bytes_read_to_tell_it_from_a_playlist() {
    let streams = tone_host().await;
    streams.serve("/download", "application/octet-stream", tone_wav(660.0, 1.0).unwrap());
    let resolved = resolver().resolve(&streams.url("/download")).await.unwrap();
    assert!(resolved.more.is_empty());
    let decoded = tokio::task::spawn_blocking(move || decode(resolved.input, Duration::from_secs(5))).await.unwrap();
    assert!(decoded.ended);
    assert!((decoded.length().as_secs_f64() - 1.0).abs() < 0.05, "the sniffed start is played too");
    assert!(near(Some(decoded.dominant()), 660.0));
    assert_eq!(requests(&streams, "/download"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_naming_internal_addresses_or_other_schemes_are_left_out_and_counted() {
    let streams = tone_host().await;
    let list = format!(
        "#EXTM3U\nhttp://169.254.169.254/latest/meta-data/\nhttp://10.0.0.1/a.mp3\nfile:///etc/passwd\n{}\n",
        streams.url("/b.wav")
    );
    streams.serve("/mixed.m3u", "audio/x-mpegurl", list);
    let resolved = resolver().resolve(&streams.url("/mixed.m3u")).await.unwrap();
    assert_eq!(resolved.source, streams.url("/b.wav"));
    assert_eq!(resolved.title, "b.wav", "no title in the list: the file name");
    assert!(resolved.more.is_empty());
    assert_eq!(resolved.notes.skipped, 3);
    assert_eq!(resolved.notes.message().unwrap(), "3 entries were left out (not playable here).");
    let decoded = tokio::task::spawn_blocking(move || decode(resolved.input, Duration::from_secs(5))).await.unwrap();
    assert!(near(Some(decoded.dominant()), 660.0));

    let only_bad = "#EXTM3U\nhttp://169.254.169.254/x.mp3\nhttp://10.0.0.1/a.mp3\nfile:///etc/passwd\n";
    streams.serve("/bad.m3u", "audio/x-mpegurl", only_bad);
    let error = resolver().resolve(&streams.url("/bad.m3u")).await.unwrap_err();
    assert!(matches!(error, SourceError::NothingPlayable { skipped: 3 }), "{error:?}");
    assert!(error.user_message().contains("3 entries were left out"), "{}", error.user_message());
    assert_eq!(requests(&streams, "/b.wav"), 1);
}

#[tokio::test]
async fn empty_lists_and_pages_that_are_not_lists_get_their_own_messages() {
    let streams = FakeStreams::start().await.unwrap();
    streams.serve("/empty.m3u", "audio/x-mpegurl", "#EXTM3U\n");
    streams.serve("/page.pls", "text/html", "<html>not a playlist</html>");
    let resolver = resolver();
    let error = resolver.resolve(&streams.url("/empty.m3u")).await.unwrap_err();
    assert_eq!(error.user_message(), "That playlist is empty.", "{error:?}");
    let error = resolver.resolve(&streams.url("/page.pls")).await.unwrap_err();
    assert_eq!(error.user_message(), "That link is not a playlist I can read.", "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_ten_thousand_entries_queues_the_first_thousand_and_says_so() {
    let streams = tone_host().await;
    let mut list = String::from("#EXTM3U\n/a.wav\n");
    for n in 1..10_000 {
        list.push_str(&format!("/track-{n}.mp3\n"));
    }
    assert!(list.len() < 1024 * 1024, "within the metadata limit");
    streams.serve("/huge.m3u", "audio/x-mpegurl", list);
    let started = Instant::now();
    let resolved = resolver().resolve(&streams.url("/huge.m3u")).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(resolved.more.len(), 999, "1000 tracks in all");
    assert_eq!(resolved.more.last().unwrap().title, "track-999", "titled by the file name without its audio extension");
    assert!(resolved.notes.truncated);
    assert!(resolved.notes.message().unwrap().contains("the rest was left out"));
}

#[tokio::test]
async fn a_playlist_larger_than_the_metadata_limit_is_refused_unread() {
    let streams = FakeStreams::start().await.unwrap();
    streams.serve("/big.m3u", "audio/x-mpegurl", format!("#EXTM3U\n{}", "/a.wav\n".repeat(20_000)));
    let policy = OutboundPolicy { max_body_bytes: 64 * 1024, ..loopback_policy() };
    let error = resolver_with(policy).resolve(&streams.url("/big.m3u")).await.unwrap_err();
    assert_eq!(error.user_message(), "That playlist is too large.", "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_playlist_is_not_expanded_at_queue_time_and_plays_its_first_entry() {
    let streams = tone_host().await;
    streams.serve("/inner.m3u", "audio/x-mpegurl", "#EXTM3U\n/c.wav\n/b.wav\n");
    streams.serve("/outer.m3u", "audio/x-mpegurl", "#EXTM3U\n/inner.m3u\n/a.wav\n");
    let resolved = resolver().resolve(&streams.url("/outer.m3u")).await.unwrap();
    assert_eq!(resolved.more.len(), 1, "only the outer list's other entry");
    assert_eq!(resolved.more[0].locator.as_deref(), Some(streams.url("/a.wav").as_str()));
    let decoded = tokio::task::spawn_blocking(move || decode(resolved.input, Duration::from_secs(5))).await.unwrap();
    assert!(near(Some(decoded.dominant()), 880.0), "the inner list's first entry plays");
    assert_eq!(requests(&streams, "/b.wav"), 0);
}

const UUID: &str = "96062a7b-0601-11e8-ae97-52543be04c81";

/// The real resolver with a Radio Browser source over the fake directory
/// listing one station at `url`.
async fn radio_resolver(url: String) -> (SourceResolver, FakeRadioBrowser) {
    let directory = FakeRadioBrowser::start(vec![FakeStation::new(UUID, "Jazz FM", url)]).await.unwrap();
    let api = ApiClient::new(SafeHttpClient::new(loopback_policy()));
    let radio = RadioBrowser::with_servers(api, vec![url::Url::parse(&directory.base_url()).unwrap()]);
    (resolver().with_source(Arc::new(RadioSource::new(radio))), directory)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_whose_link_is_a_pls_plays_its_first_stream_that_opens_with_its_titles() {
    let streams = FakeStreams::start().await.unwrap();
    streams.add_station("jazz", Station::tone(440.0).title("Miles Davis - So What"));
    let pls = format!(
        "[playlist]\nFile1={}\nTitle1=Mirror 1\nLength1=-1\nFile2={}\nTitle2=Mirror 2\nLength2=-1\nNumberOfEntries=2\n",
        streams.station_url("gone"),
        streams.station_url("jazz")
    );
    streams.serve("/jazz.pls", "audio/x-scpls", pls);
    let (resolver, _directory) = radio_resolver(streams.url("/jazz.pls")).await;
    let resolved = resolver.resolve(&format!("radio:{UUID}")).await.unwrap();
    assert_eq!(resolved.title, "Jazz FM");
    assert_eq!(resolved.source, format!("radio:{UUID}"));
    assert_eq!(resolved.duration, None, "live");
    assert!(resolved.more.is_empty(), "a station is one track, its mirrors are not queued");
    assert_eq!(resolved.notes.skipped, 0);
    let mut titles = resolved.stream_titles.unwrap();
    let input = resolved.input;
    let decoding = tokio::task::spawn_blocking(move || decode(input, Duration::from_secs(2)));
    let title = tokio::time::timeout(Duration::from_secs(10), titles.recv()).await.unwrap();
    assert_eq!(title.as_deref(), Some("Miles Davis - So What"));
    let decoded = decoding.await.unwrap();
    assert!(near(Some(decoded.dominant()), 440.0));
    assert_eq!(streams.icy_requests(), ["/radio/gone", "/radio/jazz"], "ICY asked of the streams");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirecting_station_plays_and_a_redirect_to_an_internal_address_is_refused() {
    let streams = FakeStreams::start().await.unwrap();
    streams.add_station("jazz", Station::tone(660.0));
    let (resolver, _directory) = radio_resolver(streams.url("/redirect/jazz")).await;
    let resolved = resolver.resolve(&format!("radio:{UUID}")).await.unwrap();
    assert_eq!(resolved.duration, None);
    let decoded = tokio::task::spawn_blocking(move || decode(resolved.input, Duration::from_secs(1))).await.unwrap();
    assert!(near(Some(decoded.dominant()), 660.0));

    streams.serve_redirect("/evil", "http://169.254.169.254/latest/meta-data/");
    let (resolver, _directory) = radio_resolver(streams.url("/evil")).await;
    let error = resolver.resolve(&format!("radio:{UUID}")).await.unwrap_err();
    assert!(matches!(error, SourceError::Refused(_)), "{error:?}");
    assert_eq!(error.user_message(), "That address is not allowed.");

    // The same hop inside a playlist: the entry passes its check (a
    // loopback link), the redirect it answers with does not.
    streams.serve("/evil.pls", "audio/x-scpls", format!("[playlist]\nFile1={}\n", streams.url("/evil")));
    let error = resolver.resolve(&streams.url("/evil.pls")).await.unwrap_err();
    assert!(matches!(error, SourceError::Refused(_)), "{error:?}");
}
