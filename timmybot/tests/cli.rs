//! The `timmybot` binary as a user runs it: the sandbox's `heard` line,
//! `register-commands` and config errors. `serve` stopping on SIGTERM and
//! surviving SIGKILL are in `restart_e2e.rs`.

use std::process::Command;

use timmybot_test_support::fake_discord::{FakeDiscord, FakeDiscordConfig, FakeGuild};

const BIN: &str = env!("CARGO_BIN_EXE_timmybot");

fn runtime() -> tokio::runtime::Runtime {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")
}

/// A `timmybot` command with an empty environment but for PATH, so nothing
/// from the developer's shell leaks in.
fn timmybot(dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(dir);
    command
}

#[test]
fn sandbox_prints_a_heard_line_for_the_tone_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let tone = timmybot(dir.path()).args(["tone", "--hz", "440", "--secs", "5", "./tone.wav"]).output().unwrap();
    assert!(tone.status.success(), "{}", String::from_utf8_lossy(&tone.stderr));

    let out = timmybot(dir.path()).args(["sandbox", "--listen", "5", "/play ./tone.wav"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("reply to /play ./tone.wav: Now playing **tone** (0:05)"), "{stdout}");

    let heard = stdout.lines().find(|l| l.starts_with("heard ")).unwrap_or_else(|| panic!("no heard line:\n{stdout}"));
    let field = |name: &str| -> f64 {
        let prefix = format!("{name}=");
        heard.split_whitespace().find_map(|w| w.strip_prefix(&prefix)).unwrap().parse().unwrap()
    };
    assert!(heard.starts_with(&format!("heard guild={} ", timmybot::sandbox::GUILD_ID)), "{heard}");
    assert!(field("packets") >= 240.0, "{heard}");
    assert!((45.0..=55.0).contains(&field("rate")), "{heard}");
    assert!((field("dominant_hz") - 440.0).abs() <= 5.0, "{heard}");
    // A half-scale sine: -9 dBFS.
    assert!((field("level_dbfs") + 9.0).abs() <= 1.5, "{heard}");
    // DAVE is negotiated: nearly every frame came end-to-end encrypted, and
    // the line ends with the two counts.
    let words: Vec<&str> = heard.split_whitespace().collect();
    assert!(words[words.len() - 2].starts_with("dave_frames=") && words[words.len() - 1].starts_with("plain_frames="));
    assert!(field("dave_frames") >= 200.0, "{heard}");
    assert!(field("plain_frames") < 25.0, "{heard}");
}

#[test]
fn the_sandbox_plays_a_station_of_its_directory_and_reads_the_media_folder_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let media = tempfile::tempdir().unwrap();
    let tone =
        timmybot(dir.path()).args(["tone", "--hz", "880", "--secs", "3"]).arg(media.path().join("mine.wav")).output();
    assert!(tone.unwrap().status.success());
    let out = timmybot(dir.path())
        .env("TIMMYBOT_MEDIA_DIR", media.path())
        .env("TIMMYBOT_OUTBOUND_ALLOW", "radio.lan, 192.168.1.0/24")
        .args(["sandbox", "--listen", "4", "/play mine.wav", "/radio rock"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("reply to /play mine.wav: Now playing **mine** (0:03)"), "{stdout}");
    assert!(stdout.contains("reply to /radio rock: Queued **Sandbox Rock Radio** (live)"), "{stdout}");
    let heard = stdout.lines().find(|l| l.starts_with("heard ")).unwrap_or_else(|| panic!("no heard line:\n{stdout}"));
    let hz: f64 = heard.split_whitespace().find_map(|w| w.strip_prefix("dominant_hz=")).unwrap().parse().unwrap();
    // The station (660 Hz) plays after the three seconds of the file.
    assert!((hz - 660.0).abs() <= 8.0, "{heard}");

    let out =
        timmybot(dir.path()).env("TIMMYBOT_OUTBOUND_ALLOW", "not a cidr!").args(["sandbox", "--listen", "0"]).output();
    let out = out.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TIMMYBOT_OUTBOUND_ALLOW is not a list"), "{out:?}");
}

#[test]
fn serve_names_a_missing_config_value_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = timmybot(dir.path()).arg("serve").output().unwrap();
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "timmybot: config: DISCORD_TOKEN is missing\n");

    let out = timmybot(dir.path())
        .arg("serve")
        .env("DISCORD_TOKEN", "tok-do-not-print")
        .env("DISCORD_APPLICATION_ID", "12")
        .env("DISCORD_PUBLIC_KEY", "nothex")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr, "timmybot: config: DISCORD_PUBLIC_KEY is not 64 hex characters\n");
    assert!(!stderr.contains("tok-do-not-print"));
}

#[test]
fn register_commands_overwrites_global_and_guild_commands() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let guild = FakeGuild { id: 123_456_789_012_345_678, name: "Reg".into(), ..FakeGuild::default() };
        let fake = FakeDiscord::start(FakeDiscordConfig { guilds: vec![guild], ..FakeDiscordConfig::default() })
            .await
            .unwrap();
        let run = |args: &[&str]| {
            timmybot(dir.path())
                .arg("register-commands")
                .args(args)
                .env("DISCORD_TOKEN", "register-token")
                .env("DISCORD_APPLICATION_ID", fake.config().application_id.to_string())
                .env("TIMMYBOT_DISCORD_REST_PROXY", fake.rest_addr())
                .output()
                .unwrap()
        };
        let global = tokio::task::block_in_place(|| run(&[]));
        assert!(global.status.success(), "{}", String::from_utf8_lossy(&global.stderr));
        let every: Vec<&str> = timmybot_interactions::commands::COMMANDS.iter().map(|c| c.name).collect();
        assert_eq!(
            String::from_utf8_lossy(&global.stdout),
            format!("registered {} globally: {}\n", every.len(), every.join(", "))
        );
        let names = |commands: Vec<serde_json::Value>| -> Vec<String> {
            commands.iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(names(fake.registered_commands(None)), every);
        let play = &fake.registered_commands(None)[0];
        assert_eq!(play["options"][0]["name"], "query");
        assert_eq!(play["options"][0]["max_length"], 512);

        let guild = tokio::task::block_in_place(|| run(&["--guild", "123456789012345678"]));
        assert!(guild.status.success(), "{}", String::from_utf8_lossy(&guild.stderr));
        assert_eq!(names(fake.registered_commands(Some(123_456_789_012_345_678))), every);

        let bad = tokio::task::block_in_place(|| run(&["--guild", "../1"]));
        assert!(!bad.status.success());
        assert_eq!(String::from_utf8_lossy(&bad.stderr), "timmybot: --guild is not a Discord id\n");

        // A guild the bot is not in: Discord's 403 is reported, nothing changes.
        let stranger = tokio::task::block_in_place(|| run(&["--guild", "999999999999999999"]));
        assert!(!stranger.status.success());
        assert_eq!(String::from_utf8_lossy(&stranger.stderr), "timmybot: Discord refused the commands: HTTP 403\n");
        assert!(fake.registered_commands(Some(999_999_999_999_999_999)).is_empty());
    });
}
