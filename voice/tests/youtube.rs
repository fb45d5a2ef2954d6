//! YouTube links through a fake yt-dlp: a bash script each test writes into
//! a temp folder, which records its arguments and environment and prints
//! what the real one would (or hangs, fails, prints garbage). The media URL
//! it names points at a small HTTP server on loopback, which the tests'
//! outbound policy allows explicitly (the default refuses loopback).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use timmybot_outbound::{AllowList, OutboundPolicy, SafeHttpClient};
use timmybot_voice::{SourceError, SourceResolver, YTDLP_ARGS, YtDlp, YtDlpError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET_MARKER: &str = "stderr-secret-7f3a";

/// A fake yt-dlp in its own folder: `body` runs after the arguments (NUL
/// separated) and the environment were written next to it.
struct FakeYtDlp {
    dir: tempfile::TempDir,
}

impl FakeYtDlp {
    fn new(body: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let script = format!("#!/bin/bash\nprintf '%s\\0' \"$@\" > '{d}/argv'\nenv > '{d}/env'\n{body}\n");
        let path = dir.path().join("yt-dlp");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Another test thread forking at the moment the script was written
        // holds the write descriptor until it execs ("text file busy").
        std::thread::sleep(Duration::from_millis(100));
        Self { dir }
    }

    /// A fake that prints `json` and exits 0.
    fn printing(json: &str) -> Self {
        Self::new(&format!("cat <<'JSON'\n{json}\nJSON"))
    }

    fn program(&self) -> PathBuf {
        self.dir.path().join("yt-dlp")
    }

    /// The arguments it was last called with.
    fn argv(&self) -> Vec<String> {
        let raw = std::fs::read(self.dir.path().join("argv")).expect("the fake ran");
        raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8(a.to_vec()).unwrap()).collect()
    }

    fn env(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("env")).expect("the fake ran")
    }

    fn ran(&self) -> bool {
        self.dir.path().join("argv").exists()
    }
}

/// What the audio server saw.
#[derive(Default)]
struct Seen {
    connections: usize,
    requests: Vec<String>,
}

/// An HTTP server on loopback answering HEAD and GET with `body` as WAV.
async fn serve(body: Vec<u8>) -> (u16, Arc<Mutex<Seen>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    let body = Arc::new(body);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            record.lock().unwrap().connections += 1;
            let record = record.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                record.lock().unwrap().requests.push(head.clone());
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
                if head.starts_with("GET") {
                    let _ = stream.write_all(&body).await;
                }
            });
        }
    });
    (port, seen)
}

fn loopback_policy() -> OutboundPolicy {
    OutboundPolicy { allow: AllowList::parse(["127.0.0.1/32"]).unwrap(), ..OutboundPolicy::default() }
}

fn resolver(policy: OutboundPolicy, ytdlp: YtDlp) -> SourceResolver {
    SourceResolver::new(SafeHttpClient::new(policy), None).with_ytdlp_runner(Some(ytdlp))
}

fn json_for(url: &str, duration: f64) -> String {
    format!(
        r#"{{"_type":"video","id":"abc","title":"Fake Song","duration":{duration},"url":"{url}","protocol":"http",
"ext":"m4a","http_headers":{{"User-Agent":"fake-ua/1.0","Cookie":"SID=do-not-send"}}}}"#
    )
}

/// A 440 Hz WAV of `secs` seconds, as served by the fake media host.
fn wav(secs: f64) -> Vec<u8> {
    timmybot_test_support::audio::tone_wav(440.0, secs).expect("tone")
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[tokio::test]
async fn youtube_links_are_refused_without_ytdlp_and_never_fetched() {
    let resolver = SourceResolver::new(SafeHttpClient::new(OutboundPolicy::default()), None);
    assert!(!resolver.youtube_enabled());
    for link in [
        "https://www.youtube.com/watch?v=abc",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://m.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/playlist?list=PL1",
    ] {
        let started = Instant::now();
        let error = resolver.resolve(link).await.unwrap_err();
        assert!(matches!(error, SourceError::YouTubeDisabled), "{link}: {error:?}");
        assert_eq!(error.user_message(), "YouTube is turned off on this bot.");
        // No DNS lookup or connection was attempted.
        assert!(started.elapsed() < Duration::from_millis(200), "{link}");
    }
}

#[tokio::test]
async fn with_ytdlp_youtube_links_go_to_it_before_the_service_links_source() {
    let (port, _) = serve(wav(1.0)).await;
    let fake = FakeYtDlp::printing(&json_for(&format!("http://127.0.0.1:{port}/videoplayback"), 1.0));
    // The service-links source claims YouTube video links too (here turned
    // off, so it would refuse them): with yt-dlp on, it is never asked.
    let resolver = resolver(loopback_policy(), YtDlp::new(fake.program()))
        .with_source(std::sync::Arc::new(timmybot_voice::ServiceLinkSource::disabled()));
    let resolved = resolver.resolve("https://www.youtube.com/watch?v=dQw4w9WgXcQ").await.expect("yt-dlp resolves it");
    assert_eq!(resolved.source, "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
    assert!(fake.ran());
    // Without yt-dlp, the same link is the service-links source's.
    let without = SourceResolver::new(SafeHttpClient::new(loopback_policy()), None)
        .with_source(std::sync::Arc::new(timmybot_voice::ServiceLinkSource::disabled()));
    let error = without.resolve("https://www.youtube.com/watch?v=dQw4w9WgXcQ").await.unwrap_err();
    assert!(matches!(error, SourceError::Lookup(timmybot_sources::LookupError::Disabled("YouTube"))), "{error:?}");
}

#[tokio::test]
async fn with_ytdlp_a_youtube_link_plays_the_stream_it_names() {
    let (port, seen) = serve(wav(2.0)).await;
    let fake = FakeYtDlp::printing(&json_for(&format!("http://127.0.0.1:{port}/videoplayback?sig=SIGNED"), 2.0));
    let resolver = resolver(loopback_policy(), YtDlp::new(fake.program()));
    assert!(resolver.youtube_enabled());

    let resolved = resolver.resolve("https://youtu.be/abc?si=tracking&list=PL9").await.expect("resolves");
    assert_eq!(resolved.title, "Fake Song");
    assert_eq!(resolved.source, "https://www.youtube.com/watch?v=abc", "the queue keeps the canonical link");
    assert!(!format!("{resolved:?}").contains("SIGNED"));

    // yt-dlp got the fixed arguments, then `--`, then the link rebuilt from the id.
    let mut expected: Vec<String> = YTDLP_ARGS.iter().map(|a| (*a).to_owned()).collect();
    expected.push("--".to_owned());
    expected.push("https://www.youtube.com/watch?v=abc".to_owned());
    assert_eq!(fake.argv(), expected);

    // Its environment is not the bot's (cargo's variables stand in for secrets).
    assert!(std::env::vars().any(|(k, _)| k.starts_with("CARGO_")), "the test runner sets CARGO_ variables");
    let env = fake.env();
    assert!(env.contains("PATH="), "{env}");
    assert!(!env.contains("CARGO_"), "{env}");

    // The stream was fetched, with yt-dlp's user agent and without its cookie.
    let seen = seen.lock().unwrap();
    let get = seen.requests.iter().find(|r| r.starts_with("GET /videoplayback?sig=SIGNED")).expect("a GET");
    assert!(get.to_ascii_lowercase().contains("user-agent: fake-ua/1.0"), "{get}");
    assert!(!get.to_ascii_lowercase().contains("cookie"), "{get}");
}

#[tokio::test]
async fn the_link_is_one_argument_after_double_dash_whatever_it_contains() {
    let fake = FakeYtDlp::printing(&json_for("https://media.example/a.m4a", 1.0));
    let canary = fake.dir.path().join("pwned");
    let hostile =
        format!("--exec touch {c}; touch {c} && $(touch {c}) `touch {c}` | > {c} 'q\" *", c = canary.display());
    let ytdlp = YtDlp::new(fake.program());
    ytdlp.lookup(&hostile).await.expect("the fake answers");
    let argv = fake.argv();
    assert_eq!(argv.len(), YTDLP_ARGS.len() + 2, "{argv:?}");
    assert_eq!(argv[argv.len() - 2], "--");
    assert_eq!(argv[argv.len() - 1], hostile);
    assert!(!canary.exists(), "nothing in the link was run");

    ytdlp.lookup("-o/tmp/x").await.expect("the fake answers");
    assert_eq!(fake.argv().last().map(String::as_str), Some("-o/tmp/x"));
}

#[tokio::test]
async fn a_hanging_ytdlp_is_killed_at_the_timeout() {
    let fake = FakeYtDlp::new("echo $$ > \"$(dirname \"$0\")/pid\"\nexec sleep 30");
    let ytdlp = YtDlp::new(fake.program()).with_timeout(Duration::from_millis(800));
    let resolver = resolver(loopback_policy(), ytdlp);
    let started = Instant::now();
    let error = resolver.resolve("https://www.youtube.com/watch?v=abc").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(matches!(error, SourceError::YouTube(YtDlpError::Timeout)), "{error:?}");
    assert_eq!(error.user_message(), "YouTube took too long to answer; try again later.");
    let pid = std::fs::read_to_string(fake.dir.path().join("pid")).unwrap().trim().to_owned();
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the fake (pid {pid}) is still running");
}

#[tokio::test]
async fn a_failing_ytdlp_gives_a_plain_error_without_its_stderr() {
    let fake = FakeYtDlp::new(&format!(
        "echo 'ERROR: [youtube] abc: Video unavailable {SECRET_MARKER} https://rr1.googlevideo.com/x?sig=1' >&2\nexit 1"
    ));
    let resolver = resolver(loopback_policy(), YtDlp::new(fake.program()));
    let error = resolver.resolve("https://www.youtube.com/watch?v=abc").await.unwrap_err();
    assert!(matches!(error, SourceError::YouTube(YtDlpError::Failed { code: Some(1) })), "{error:?}");
    let message = error.user_message();
    assert_eq!(message, "I could not get audio for that YouTube video (it may be private, removed or blocked).");
    let chain = error_chain(&error);
    for leak in [SECRET_MARKER, "googlevideo", fake.program().to_str().unwrap()] {
        assert!(!message.contains(leak) && !chain.contains(leak), "{leak} in {message:?} / {chain:?}");
    }
}

#[tokio::test]
async fn garbage_output_is_a_plain_error() {
    for body in ["<html>not json</html>", "{\"title\":\"no url\"}", "{\"url\":\"file:///etc/passwd\"}", ""] {
        let fake = FakeYtDlp::printing(body);
        let resolver = resolver(loopback_policy(), YtDlp::new(fake.program()));
        let error = resolver.resolve("https://www.youtube.com/watch?v=abc").await.unwrap_err();
        assert!(matches!(error, SourceError::YouTube(YtDlpError::BadOutput(_))), "{body}: {error:?}");
        assert!(error.user_message().starts_with("I could not get audio for that YouTube video"));
    }
}

#[tokio::test]
async fn output_over_the_cap_kills_ytdlp() {
    let fake = FakeYtDlp::new("head -c 1048576 /dev/zero\nexec sleep 30");
    let ytdlp = YtDlp::new(fake.program()).with_max_output(64 * 1024);
    let started = Instant::now();
    let error = ytdlp.lookup("https://www.youtube.com/watch?v=abc").await.unwrap_err();
    assert!(matches!(error, YtDlpError::OutputTooLarge { limit: 65_536 }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_media_url_to_an_internal_address_is_refused_without_a_connection() {
    let (port, seen) = serve(wav(1.0)).await;
    // The default policy: loopback is not allowed.
    for url in [
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::ffff:169.254.169.254]/latest/meta-data/".to_owned(),
        format!("http://127.0.0.1:{port}/videoplayback"),
        format!("http://localhost:{port}/videoplayback"),
        "http://10.0.0.1/videoplayback".to_owned(),
    ] {
        let fake = FakeYtDlp::printing(&json_for(&url, 1.0));
        let resolver = resolver(OutboundPolicy::default(), YtDlp::new(fake.program()));
        let error = resolver.resolve("https://www.youtube.com/watch?v=abc").await.unwrap_err();
        assert!(matches!(error, SourceError::Refused(_)), "{url}: {error:?}");
        assert_eq!(error.user_message(), "That address is not allowed.");
    }
    assert_eq!(seen.lock().unwrap().connections, 0, "no connection reached the server");
}

#[tokio::test]
async fn a_video_longer_than_the_policy_allows_is_refused_before_fetching() {
    let (port, seen) = serve(wav(1.0)).await;
    let fake = FakeYtDlp::printing(&json_for(&format!("http://127.0.0.1:{port}/videoplayback"), 4.0 * 3600.0));
    let resolver = resolver(loopback_policy(), YtDlp::new(fake.program()));
    let error = resolver.resolve("https://www.youtube.com/watch?v=abc").await.unwrap_err();
    assert!(matches!(error, SourceError::TooLong), "{error:?}");
    assert_eq!(error.user_message(), "That track is too long.");
    assert_eq!(seen.lock().unwrap().connections, 0);
}

#[tokio::test]
async fn a_stream_larger_than_the_policy_allows_is_refused_before_fetching() {
    let (port, seen) = serve(wav(1.0)).await;
    let fake = FakeYtDlp::printing(&format!(
        r#"{{"title":"Big","duration":60,"filesize":{},"url":"http://127.0.0.1:{port}/videoplayback"}}"#,
        OutboundPolicy::DEFAULT_MAX_TRACK_BYTES + 1
    ));
    let resolver = resolver(loopback_policy(), YtDlp::new(fake.program()));
    let error = resolver.resolve("https://www.youtube.com/watch?v=abc").await.unwrap_err();
    assert!(matches!(error, SourceError::TooLarge), "{error:?}");
    assert_eq!(error.user_message(), "That file is too large.");
    assert_eq!(seen.lock().unwrap().connections, 0);
}

#[tokio::test]
async fn playlists_channels_and_live_streams_are_not_played() {
    let fake = FakeYtDlp::printing(
        r#"{"_type":"video","title":"Live","url":"https://manifest.example/x.m3u8","protocol":"m3u8_native","is_live":true}"#,
    );
    let resolver = resolver(loopback_policy(), YtDlp::new(fake.program()));
    let error = resolver.resolve("https://www.youtube.com/playlist?list=PL1").await.unwrap_err();
    assert!(matches!(error, SourceError::YouTubeUnsupported), "{error:?}");
    assert!(!fake.ran(), "yt-dlp is not asked about a link that is not one video");
    let error = resolver.resolve("https://www.youtube.com/live/abc").await.unwrap_err();
    assert!(matches!(error, SourceError::YouTubeUnsupported), "{error:?}");
    assert_eq!(error.user_message(), "I can only play single YouTube videos, not playlists, channels or live streams.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_over_the_concurrency_cap_wait_then_are_refused_as_busy() {
    let fake = FakeYtDlp::new("sleep 2\ncat <<'JSON'\n{\"url\":\"https://media.example/a.m4a\"}\nJSON");
    let ytdlp = YtDlp::new(fake.program()).with_concurrency(1, Duration::from_millis(300));
    let first = tokio::spawn({
        let ytdlp = ytdlp.clone();
        async move { ytdlp.lookup("https://www.youtube.com/watch?v=one").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = ytdlp.lookup("https://www.youtube.com/watch?v=two").await.unwrap_err();
    assert!(matches!(second, YtDlpError::Busy), "{second:?}");
    assert_eq!(
        SourceError::YouTube(second).user_message(),
        "Too many YouTube links are being looked up right now; try again in a moment."
    );
    first.await.unwrap().expect("the first lookup finishes");
    assert_eq!(fake.argv().last().map(String::as_str), Some("https://www.youtube.com/watch?v=one"), "two never ran");
}

#[tokio::test]
async fn a_missing_executable_is_a_plain_error_without_its_path() {
    let resolver = resolver(loopback_policy(), YtDlp::new(PathBuf::from("/nonexistent/secret-dir/yt-dlp")));
    let error = resolver.resolve("https://www.youtube.com/watch?v=abc").await.unwrap_err();
    assert!(matches!(error, SourceError::YouTube(YtDlpError::Spawn(_))), "{error:?}");
    assert!(!error.user_message().contains("secret-dir"));
    assert!(!error_chain(&error).contains("secret-dir"));
}

#[tokio::test]
async fn soundcloud_links_are_refused_while_it_is_off_and_yt_dlp_is_never_run() {
    let fake = FakeYtDlp::printing(&json_for("http://127.0.0.1:9/stream.mp3", 1.0));
    let off = resolver(loopback_policy(), YtDlp::new(fake.program()));
    let without_ytdlp = SourceResolver::new(SafeHttpClient::new(loopback_policy()), None).with_soundcloud(true);
    assert!(!off.soundcloud_enabled() && !without_ytdlp.soundcloud_enabled());
    for resolver in [&off, &without_ytdlp] {
        for link in ["https://soundcloud.com/forss/flickermood", "https://soundcloud.com/forss/sets/soulhack"] {
            let started = Instant::now();
            let error = resolver.resolve(link).await.unwrap_err();
            assert!(matches!(error, SourceError::SoundCloudDisabled), "{link}: {error:?}");
            assert_eq!(error.user_message(), "SoundCloud is turned off on this bot.");
            assert!(started.elapsed() < Duration::from_millis(200), "nothing was fetched for {link}");
        }
    }
    assert!(!fake.ran());
}

#[tokio::test]
async fn with_soundcloud_on_a_track_link_plays_the_stream_yt_dlp_names_and_the_queue_keeps_the_link() {
    let (port, seen) = serve(wav(2.0)).await;
    let json = json_for(&format!("http://127.0.0.1:{port}/media/stream.mp3?Policy=SIGNED"), 2.0);
    let fake = FakeYtDlp::printing(&json);
    let resolver = resolver(loopback_policy(), YtDlp::new(fake.program())).with_soundcloud(true);
    assert!(resolver.soundcloud_enabled());

    let resolved = resolver.resolve("https://m.soundcloud.com/forss/flickermood?si=tracking&in=x").await.unwrap();
    assert_eq!(resolved.title, "Fake Song");
    assert_eq!(resolved.source, "https://soundcloud.com/forss/flickermood", "the canonical link is queued");
    assert_eq!(resolved.duration, Some(Duration::from_secs(2)));
    assert!(!format!("{resolved:?}").contains("SIGNED"));
    // The same fixed arguments with SoundCloud's format, `--`, the rebuilt link.
    let mut expected: Vec<String> = timmybot_voice::soundcloud_args().iter().map(|a| (*a).to_owned()).collect();
    expected.push("--".to_owned());
    expected.push("https://soundcloud.com/forss/flickermood".to_owned());
    assert_eq!(fake.argv(), expected);
    assert!(fake.argv().contains(&timmybot_voice::SOUNDCLOUD_FORMAT.to_owned()));
    assert!(!fake.env().contains("CARGO_"), "yt-dlp gets a clean environment");
    assert!(seen.lock().unwrap().requests.iter().any(|r| r.starts_with("GET /media/stream.mp3?Policy=SIGNED")));

    // Not one public track: refused before yt-dlp runs.
    std::fs::remove_file(fake.dir.path().join("argv")).unwrap();
    for link in ["https://soundcloud.com/forss/sets/soulhack", "https://soundcloud.com/forss/flickermood/s-Secret"] {
        let error = resolver.resolve(link).await.unwrap_err();
        assert!(matches!(error, SourceError::SoundCloudUnsupported), "{link}: {error:?}");
        assert!(error.user_message().starts_with("I can only play single public SoundCloud tracks"));
    }
    assert!(!fake.ran());
}

#[tokio::test]
async fn a_soundcloud_stream_is_held_to_the_outbound_policy_and_the_limits() {
    // The default policy refuses loopback: the named stream is never fetched.
    let (port, seen) = serve(wav(1.0)).await;
    let fake = FakeYtDlp::printing(&json_for(&format!("http://127.0.0.1:{port}/stream.mp3"), 1.0));
    let strict = resolver(OutboundPolicy::default(), YtDlp::new(fake.program())).with_soundcloud(true);
    let error = strict.resolve("https://soundcloud.com/a/b").await.unwrap_err();
    assert!(matches!(error, SourceError::Refused(_)), "{error:?}");
    assert_eq!(seen.lock().unwrap().connections, 0);

    let long = FakeYtDlp::printing(&json_for(&format!("http://127.0.0.1:{port}/stream.mp3"), 99_999.0));
    let too_long = resolver(loopback_policy(), YtDlp::new(long.program())).with_soundcloud(true);
    assert!(matches!(too_long.resolve("https://soundcloud.com/a/b").await, Err(SourceError::TooLong)));

    let live = FakeYtDlp::printing(&format!(
        r#"{{"url":"http://127.0.0.1:{port}/live.m3u8","protocol":"m3u8_native","live_status":"is_live"}}"#
    ));
    let live = resolver(loopback_policy(), YtDlp::new(live.program())).with_soundcloud(true);
    assert!(matches!(live.resolve("https://soundcloud.com/a/b").await, Err(SourceError::SoundCloudUnsupported)));

    let failing = FakeYtDlp::new(&format!("echo 'ERROR: [soundcloud] 404 {SECRET_MARKER}' >&2\nexit 1"));
    let failing = resolver(loopback_policy(), YtDlp::new(failing.program())).with_soundcloud(true);
    let error = failing.resolve("https://soundcloud.com/a/b").await.unwrap_err();
    assert!(matches!(error, SourceError::SoundCloud(YtDlpError::Failed { code: Some(1) })), "{error:?}");
    assert!(error.user_message().starts_with("I could not get audio for that SoundCloud track"));
    assert!(!error_chain(&error).contains(SECRET_MARKER));
}
