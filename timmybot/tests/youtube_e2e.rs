//! End to end: `/play <youtube link>` through the whole platform (signed
//! interaction, bus, gateway service, resolver), with YouTube off and with a
//! fake yt-dlp (a bash script) configured through `SandboxOptions::ytdlp`.
//!
//! The sandbox runs the default outbound policy, which refuses loopback, so
//! the stream the fake names on a loopback server must be refused with no
//! connection made: that proves the yt-dlp output goes through the outbound
//! client. With `SandboxOptions::outbound_allow` opening `127.0.0.1/32`, the
//! same kind of link plays a tone served on loopback all the way to the fake
//! voice server.
//!
//! Like `e2e.rs`, each test is a plain `#[test]` that sets process-wide
//! settings (the test CA) before it starts a runtime; the test command runs
//! each test in its own process (cargo-nextest).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use timmybot_test_support::runtime::runtime_with_logs;

use timmybot::sandbox::{GUILD_ID, Sandbox, SandboxOptions, VOICE_CHANNEL_ID, trust_sandbox_ca};
use timmybot_test_support::audio::write_tone_wav;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TONE_HZ: f64 = 440.0;

/// Writes an executable fake yt-dlp into `dir` that records its arguments
/// (NUL separated, in `dir/argv`) and prints `json`.
fn fake_ytdlp(dir: &Path, json: &str) -> PathBuf {
    let program = dir.join("yt-dlp");
    let d = dir.display();
    let script = format!("#!/bin/bash\nprintf '%s\\0' \"$@\" > '{d}/argv'\ncat <<'JSON'\n{json}\nJSON\n");
    std::fs::write(&program, script).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    program
}

/// The requests a media server answered: `(method, path, user agent)`.
type Requests = Arc<Mutex<Vec<(String, String, String)>>>;

/// Serves `body` as `audio/wav` to every GET (and HEAD) on loopback over real
/// HTTP (axum), recording each request; returns the port.
async fn serve_audio(body: Vec<u8>) -> (u16, Requests) {
    let requests: Requests = Arc::default();
    let record = requests.clone();
    let body = Arc::new(body);
    let app = axum::Router::new().fallback(move |method: http::Method, uri: http::Uri, headers: http::HeaderMap| {
        let record = record.clone();
        let body = body.clone();
        async move {
            let agent = headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            record.lock().unwrap().push((method.to_string(), uri.path().to_owned(), agent));
            ([(http::header::CONTENT_TYPE, "audio/wav")], body.as_ref().clone())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, requests)
}

#[test]
fn a_youtube_link_is_refused_when_ytdlp_is_not_configured() {
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    runtime_with_logs().block_on(async {
        let options = SandboxOptions::embedded(data.path().to_path_buf(), None);
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");
        let play = sandbox.send("/play https://www.youtube.com/watch?v=abc").await.unwrap();
        let reply = sandbox.wait_for_reply(&play, Duration::from_secs(15)).await.expect("edited");
        assert_eq!(reply, "YouTube is turned off on this bot.");
        assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), None, "the bot never joined");
        sandbox.shutdown().await.unwrap();
    });
}

#[test]
fn a_youtube_link_goes_through_ytdlp_and_its_stream_through_the_outbound_policy() {
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    runtime_with_logs().block_on(async {
        // A server the fake's media URL points at; it counts connections.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").await;
            }
        });

        let program = fake_ytdlp(
            bin.path(),
            &format!(
                "{{\"_type\":\"video\",\"title\":\"Fake Song\",\"duration\":5,\"protocol\":\"http\",\
                 \"url\":\"http://127.0.0.1:{port}/videoplayback?sig=SIGNED\"}}"
            ),
        );

        let mut options = SandboxOptions::embedded(data.path().to_path_buf(), None);
        options.ytdlp = Some(program.clone());
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");

        let play = sandbox.send("/play https://youtu.be/abc?si=tracking").await.unwrap();
        let reply = sandbox.wait_for_reply(&play, Duration::from_secs(30)).await.expect("edited");
        assert_eq!(reply, "That address is not allowed.");

        let argv = std::fs::read(bin.path().join("argv")).expect("the platform ran the fake yt-dlp");
        let argv: Vec<String> =
            argv.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into()).collect();
        assert_eq!(argv[argv.len() - 2..], ["--", "https://www.youtube.com/watch?v=abc"], "{argv:?}");
        assert_eq!(connections.load(Ordering::SeqCst), 0, "the loopback stream was never fetched");
        assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), None, "the bot never joined");

        let transcript = sandbox.transcript().join("\n");
        for leak in ["SIGNED", "videoplayback", "127.0.0.1", &program.display().to_string()] {
            assert!(!transcript.contains(leak), "{leak} shown to the member: {transcript}");
        }
        sandbox.shutdown().await.unwrap();
    });
}

#[test]
fn a_youtube_link_plays_the_stream_ytdlp_names_when_loopback_is_allowed() {
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let tone = bin.path().join("tone.wav");
    write_tone_wav(&tone, TONE_HZ, 5.0).expect("tone written");
    let tone = std::fs::read(&tone).unwrap();
    runtime_with_logs().block_on(async {
        let (port, requests) = serve_audio(tone).await;
        // What yt-dlp prints for an m4a stream; the test serves WAV there
        // instead (the player probes the bytes, not the extension).
        let program = fake_ytdlp(
            bin.path(),
            &format!(
                "{{\"_type\":\"video\",\"id\":\"abc12345678\",\"title\":\"Fake Song\",\"duration\":5,\
                 \"protocol\":\"http\",\"ext\":\"m4a\",\"url\":\"http://127.0.0.1:{port}/videoplayback?sig=SIGNED\",\
                 \"http_headers\":{{\"User-Agent\":\"fake-ua/1.0\"}}}}"
            ),
        );

        let mut options = SandboxOptions::embedded(data.path().to_path_buf(), None);
        options.ytdlp = Some(program.clone());
        options.outbound_allow = timmybot_outbound::AllowList::parse(["127.0.0.1/32"]).unwrap();
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");

        let play = sandbox.send("/play https://www.youtube.com/watch?v=abc12345678").await.unwrap();
        assert_eq!(play.status, 200);
        let reply = sandbox.wait_for_reply(&play, Duration::from_secs(30)).await.expect("edited");
        assert_eq!(reply, format!("Now playing **Fake Song** (0:05) · <@{}>", timmybot::sandbox::MEMBER_ID));
        assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), Some(VOICE_CHANNEL_ID));

        sandbox.hear_tone(3.0, TONE_HZ).await.expect("the tone, clean");

        // yt-dlp was asked about the canonical link; the stream was fetched
        // from the URL it named, with its user agent.
        let argv = std::fs::read(bin.path().join("argv")).expect("the platform ran the fake yt-dlp");
        let argv: Vec<String> =
            argv.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into()).collect();
        assert_eq!(argv[argv.len() - 2..], ["--", "https://www.youtube.com/watch?v=abc12345678"], "{argv:?}");
        let requests = requests.lock().unwrap().clone();
        assert!(
            requests
                .iter()
                .any(|(method, path, agent)| method == "GET" && path == "/videoplayback" && agent == "fake-ua/1.0"),
            "{requests:?}"
        );

        let stop = sandbox.send("/stop").await.unwrap();
        let reply = sandbox.wait_for_reply(&stop, Duration::from_secs(15)).await.expect("stop answered");
        assert_eq!(reply, "Stopped, cleared the queue and left the voice channel.");
        let left = sandbox.voice.wait_until(Duration::from_secs(10), |v| !v.is_connected(GUILD_ID)).await;
        assert!(left, "voice session still open after /stop");

        let transcript = sandbox.transcript().join("\n");
        for leak in ["SIGNED", "videoplayback", "127.0.0.1", &program.display().to_string()] {
            assert!(!transcript.contains(leak), "{leak} shown to the member: {transcript}");
        }
        sandbox.shutdown().await.unwrap();
    });
}

#[test]
fn a_soundcloud_link_is_refused_while_soundcloud_is_off_even_with_ytdlp() {
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    runtime_with_logs().block_on(async {
        let program = fake_ytdlp(bin.path(), "{\"url\":\"http://127.0.0.1:9/x.mp3\",\"protocol\":\"http\"}");
        let mut options = SandboxOptions::embedded(data.path().to_path_buf(), None);
        options.ytdlp = Some(program);
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");
        let play = sandbox.send("/play https://soundcloud.com/forss/flickermood").await.unwrap();
        let reply = sandbox.wait_for_reply(&play, Duration::from_secs(15)).await.expect("edited");
        assert_eq!(reply, "SoundCloud is turned off on this bot.");
        assert!(!bin.path().join("argv").exists(), "yt-dlp never ran");
        assert_eq!(sandbox.discord.bot_voice_channel(GUILD_ID), None, "the bot never joined");
        sandbox.shutdown().await.unwrap();
    });
}

#[test]
fn with_soundcloud_on_a_track_link_plays_the_stream_ytdlp_names() {
    let ca = trust_sandbox_ca().expect("test CA");
    let data = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let tone = bin.path().join("tone.wav");
    write_tone_wav(&tone, TONE_HZ, 5.0).expect("tone written");
    let tone = std::fs::read(&tone).unwrap();
    runtime_with_logs().block_on(async {
        let (port, requests) = serve_audio(tone).await;
        // What yt-dlp prints for SoundCloud's progressive MP3; the test serves
        // WAV there (the player probes the bytes, not the extension).
        let program = fake_ytdlp(
            bin.path(),
            &format!(
                "{{\"_type\":\"video\",\"id\":\"123\",\"title\":\"Flickermood\",\"duration\":5,\"protocol\":\"https\",\
                 \"ext\":\"mp3\",\"url\":\"http://127.0.0.1:{port}/media/stream.mp3?Policy=SIGNED\"}}"
            ),
        );
        let mut options = SandboxOptions::embedded(data.path().to_path_buf(), None);
        options.ytdlp = Some(program.clone());
        options.soundcloud = true;
        options.outbound_allow = timmybot_outbound::AllowList::parse(["127.0.0.1/32"]).unwrap();
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");

        let play = sandbox.send("/play https://soundcloud.com/forss/flickermood?utm_source=clipboard").await.unwrap();
        let reply = sandbox.wait_for_reply(&play, Duration::from_secs(30)).await.expect("edited");
        assert_eq!(reply, format!("Now playing **Flickermood** (0:05) · <@{}>", timmybot::sandbox::MEMBER_ID));
        sandbox.hear_tone(3.0, TONE_HZ).await.expect("the tone, clean");

        let argv = std::fs::read(bin.path().join("argv")).expect("the platform ran the fake yt-dlp");
        let argv: Vec<String> =
            argv.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into()).collect();
        assert_eq!(argv[argv.len() - 2..], ["--", "https://soundcloud.com/forss/flickermood"], "{argv:?}");
        assert!(argv.iter().any(|a| a == timmybot_voice::SOUNDCLOUD_FORMAT), "{argv:?}");
        let requests = requests.lock().unwrap().clone();
        assert!(
            requests.iter().any(|(method, path, _)| method == "GET" && path == "/media/stream.mp3"),
            "{requests:?}"
        );

        // A set is not one track: refused, and yt-dlp is not asked.
        std::fs::remove_file(bin.path().join("argv")).unwrap();
        let set = sandbox.send("/play https://soundcloud.com/forss/sets/soulhack").await.unwrap();
        let reply = sandbox.wait_for_reply(&set, Duration::from_secs(15)).await.expect("edited");
        assert!(reply.starts_with("I can only play single public SoundCloud tracks"), "{reply}");
        assert!(!bin.path().join("argv").exists());

        let transcript = sandbox.transcript().join("\n");
        for leak in ["SIGNED", "stream.mp3", "127.0.0.1", &program.display().to_string()] {
            assert!(!transcript.contains(leak), "{leak} shown to the member: {transcript}");
        }
        sandbox.shutdown().await.unwrap();
    });
}
