//! Secrets never leak: the whole flow runs with recognisable secret values
//! and every log line (at TRACE, for every crate in the process), every
//! reply and every error message is searched for them.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use timmybot::sandbox::{GUILD_ID, Route, Sandbox, SandboxOptions, trust_sandbox_ca};
use timmybot::sandbox_sources::{SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET, SPOTIFY_PLAYLIST_LINK};
use tracing_subscriber::fmt::MakeWriter;

const BOT_TOKEN: &str = "BOTTOKEN-zq81-recognisable-9x7w";
const ADMIN_TOKEN: &str = "ADMINTOKEN-k3v9-recognisable-2p4q";
const WRONG_ADMIN_TOKEN: &str = "WRONGADMIN-h7s1-recognisable-8c6d";

/// Collects every log line written by the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn no_token_reaches_a_log_line_a_reply_or_an_error() {
    let ca = trust_sandbox_ca().expect("test CA");
    let logs = Captured::default();
    // The binary's own log setup, at the most verbose level a user can ask for.
    timmybot::logging::init(Some("trace"), "info", logs.clone());

    let data = tempfile::tempdir().unwrap();
    timmybot_embedded::FileSecretStore::create(
        data.path().join("secrets"),
        [
            ("admin-token", ADMIN_TOKEN),
            ("spotify-client-id", SPOTIFY_CLIENT_ID),
            ("spotify-client-secret", SPOTIFY_CLIENT_SECRET),
        ],
    )
    .unwrap();
    let spotify_basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{SPOTIFY_CLIENT_ID}:{SPOTIFY_CLIENT_SECRET}"))
    };
    let media = tempfile::tempdir().unwrap();
    timmybot_test_support::audio::write_tone_wav(media.path().join("tone.wav"), 440.0, 2.0).unwrap();
    std::fs::write(media.path().join("junk.wav"), vec![1u8; 4096]).unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (tokens, replies, public_key, voice_token) = runtime.block_on(async {
        let mut options = SandboxOptions::embedded(data.path().to_path_buf(), Some(media.path().to_path_buf()));
        options.bot_token = BOT_TOKEN.to_owned();
        let sandbox = Sandbox::start(&ca, options).await.expect("sandbox starts");
        let mut sent = Vec::new();
        for (line, route) in [
            ("/play tone.wav", Route::Http),
            ("/play junk.wav", Route::Gateway),
            ("/play ../escape.wav", Route::Http),
            ("/play ftp://example.com/a.mp3", Route::Http),
            // Spotify: the app's secret is exchanged for a bearer token.
            (&format!("/play {SPOTIFY_PLAYLIST_LINK}"), Route::Http),
            ("/nonsense", Route::Http),
            ("/stop", Route::Gateway),
        ] {
            let command = sandbox.send_via(line, route).await.unwrap();
            sandbox.wait_for_reply(&command, Duration::from_secs(15)).await;
            sent.push(command);
        }
        // A forged request is refused; its refusal is logged too.
        let (status, _) = {
            let body = serde_json::to_vec(&serde_json::json!({"type": 2, "token": "forged-token-value"})).unwrap();
            let forger = timmybot_test_support::signer::InteractionSigner::from_seed([1; 32]);
            let mut request =
                reqwest::Client::new().post(format!("http://{}/interactions", sandbox.addr())).body(body.clone());
            for (k, v) in forger.signed_headers(&body, 1) {
                request = request.header(k, v);
            }
            let response = request.send().await.unwrap();
            (response.status().as_u16(), ())
        };
        assert_eq!(status, 401);
        // The admin API, with the right token and a wrong one.
        let mut admin_bodies = String::new();
        for (token, want) in [(ADMIN_TOKEN, 200), (WRONG_ADMIN_TOKEN, 401)] {
            let response = reqwest::Client::new()
                .get(format!("http://{}/admin/allowlist/slots", sandbox.addr()))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), want);
            admin_bodies.push_str(&response.text().await.unwrap());
        }
        assert!(sandbox.heard().packets > 0, "the flow really played: {}", sandbox.heard_line());
        let spotify = &sandbox.sources.as_ref().expect("the fake sources").spotify;
        assert_eq!(spotify.token_requests(), 1, "a Spotify token was issued and used");
        let tokens: Vec<String> = sent.iter().map(|s| s.token.clone()).collect();
        let replies = format!("{}\n{admin_bodies}", sandbox.transcript().join("\n"));
        let public_key = sandbox.signer().public_key_hex();
        let voice_token = sandbox.voice.session(GUILD_ID).map(|s| s.token).expect("a voice session was recorded");
        sandbox.shutdown().await.expect("clean shutdown");
        (tokens, replies, public_key, voice_token)
    });

    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(logs.lines().count() > 50, "the capture saw the run ({} lines)", logs.lines().count());
    assert!(logs.contains("voice command published"), "our own logs were captured");
    // The fake Spotify's access tokens all start so.
    let mut secrets: Vec<&str> = vec![
        BOT_TOKEN,
        ADMIN_TOKEN,
        WRONG_ADMIN_TOKEN,
        "forged-token-value",
        &public_key,
        &voice_token,
        SPOTIFY_CLIENT_SECRET,
        &spotify_basic,
        "BQfake",
    ];
    secrets.extend(tokens.iter().map(String::as_str));
    for secret in secrets {
        let hits: Vec<&str> = logs.lines().filter(|l| l.contains(secret)).take(3).collect();
        assert!(hits.is_empty(), "a secret reached the logs: {hits:#?}");
        assert!(!replies.contains(secret), "a secret reached a reply: {replies}");
    }
}
