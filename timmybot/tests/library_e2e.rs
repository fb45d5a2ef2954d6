//! End to end, `/library` over the sandbox's media folder: the index lists
//! and searches the files by their tags, a page button edits the page, a
//! file's button queues it (a path too long for a button by its short id),
//! and `/play <words>` finds a local file by its title before the catalog.
//!
//! Each test is a plain `#[test]` in its own process (cargo-nextest): the
//! test CA is trusted through a process-wide variable.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{REPLY, assert_hears, reply_of, say, with_sandbox};
use timmybot::sandbox::{MEMBER_ID, Sandbox};
use timmybot::sandbox_sources::ARTIST;
use timmybot_test_support::audio::tone_wav;

/// A WAV tone with a RIFF INFO list (title, artist) before its data, where
/// symphonia reads tags.
fn write_tagged_wav(path: &Path, hz: f64, secs: f64, title: &str, artist: &str) {
    let wav = tone_wav(hz, secs).unwrap();
    let mut info = b"INFO".to_vec();
    for (id, text) in [(b"INAM", title), (b"IART", artist)] {
        let mut value = text.as_bytes().to_vec();
        value.push(0);
        info.extend_from_slice(id);
        info.extend_from_slice(&(value.len() as u32).to_le_bytes());
        if value.len() % 2 == 1 {
            value.push(0);
        }
        info.extend_from_slice(&value);
    }
    let mut out = wav[..36].to_vec();
    out.extend_from_slice(b"LIST");
    out.extend_from_slice(&(info.len() as u32).to_le_bytes());
    out.extend_from_slice(&info);
    out.extend_from_slice(&wav[36..]);
    let riff = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    std::fs::write(path, out).unwrap();
}

/// The folder of a path longer than a button's 100 characters.
const LONG_DIR: &str = "a_folder_with_a_rather_long_name_for_the_buttons/and_another_folder_whose_name_is_long_too";

fn media_folder(root: &Path) {
    std::fs::create_dir_all(root.join("synthwave")).unwrap();
    write_tagged_wav(&root.join("synthwave/night.wav"), 440.0, 6.0, "Night Drive", "The Tones");
    std::fs::create_dir_all(root.join("fill")).unwrap();
    let short = tone_wav(330.0, 0.5).unwrap();
    for n in 0..11 {
        std::fs::write(root.join(format!("fill/filler_{n:02}.wav")), &short).unwrap();
    }
    std::fs::create_dir_all(root.join(LONG_DIR)).unwrap();
    std::fs::write(root.join(LONG_DIR).join("the_long_song.wav"), tone_wav(660.0, 8.0).unwrap()).unwrap();
}

/// `/library` (with `args`) once the first scan is done: its reply and
/// the interaction's token.
async fn library(sandbox: &Sandbox, args: &str) -> (String, String) {
    let deadline = tokio::time::Instant::now() + REPLY;
    loop {
        let sent = sandbox.send_as(MEMBER_ID, &format!("/library {args}"), timmybot::sandbox::Route::Http).await;
        let sent = sent.expect("sent");
        let reply = reply_of(sandbox, &sent).await;
        if !reply.contains("Still reading") || tokio::time::Instant::now() > deadline {
            return (reply, sent.token);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The custom ids of the buttons on the interaction `token`'s message.
fn buttons(sandbox: &Sandbox, token: &str) -> Vec<String> {
    let body = sandbox.discord.original_body(token).expect("the reply has a message");
    body["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|button| button["custom_id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn library_lists_searches_pages_and_queues_files_and_words_find_a_local_file_first() {
    let media = tempfile::tempdir().unwrap();
    media_folder(media.path());
    with_sandbox(
        Some(media.path()),
        |o| o,
        |sandbox| async move {
            // Every file, in path order, ten to a page.
            let (listed, token) = library(&sandbox, "").await;
            assert!(listed.starts_with("📁 Media folder: 13 files · page 1/2"), "{listed}");
            assert!(listed.contains("`1` **the\\_long\\_song** (0:08) · a\\_folder\\_with"), "{listed}");
            assert!(listed.contains("`2` **filler\\_00** (0:00) · fill/filler\\_00.wav"), "{listed}");
            assert!(!listed.contains("Night Drive"), "on page 2: {listed}");
            let ids = buttons(&sandbox, &token);
            assert_eq!(ids.len(), 11, "ten files and Next: {ids:?}");
            assert!(ids.iter().all(|id| id.chars().count() <= 100), "{ids:?}");
            let long = &ids[0];
            assert!(long.starts_with("search:play:lib:") && long.len() == "search:play:lib:".len() + 16, "{long}");
            assert_eq!(ids[1], "search:play:fill/filler_00.wav");
            assert_eq!(ids[10], "library:page:2:");

            // The page button edits the same message.
            let next = sandbox.press_on_original(MEMBER_ID, &token, &ids[10]).await.unwrap();
            assert_eq!(next.response.as_ref().unwrap()["type"], 6, "{:?}", next.response);
            let deadline = tokio::time::Instant::now() + REPLY;
            let mut page = String::new();
            while tokio::time::Instant::now() < deadline {
                page = sandbox.discord.original_message(&token).unwrap_or_default();
                if page.contains("page 2/2") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            assert!(page.contains("`13` **The Tones – Night Drive** (0:06) · synthwave/night.wav"), "{page}");
            assert_eq!(buttons(&sandbox, &token).last().unwrap(), "library:page:1:", "and back");

            // Words look in tags and paths.
            let (found, found_token) = library(&sandbox, "query:tones").await;
            assert!(found.starts_with("📁 1 of 13 files match “tones” · page 1/1"), "{found}");
            assert!(found.contains("**The Tones – Night Drive**"), "{found}");
            assert_eq!(buttons(&sandbox, &found_token), ["search:play:synthwave/night.wav"]);
            let (none, _) = library(&sandbox, "nothing here").await;
            assert_eq!(none, "No file of the media folder matches “nothing here”.");

            // A file's button queues it: the long path by its short id.
            let pressed = sandbox.press_on_original(MEMBER_ID, &token, long).await.unwrap();
            let reply = reply_of(&sandbox, &pressed).await;
            assert!(reply.starts_with("Now playing **the\\_long\\_song** (0:08)"), "{reply}");
            assert_hears(&sandbox, 660.0, "the file queued by its button").await;

            // Words find the local file by its title before the catalog...
            let reply = say(&sandbox, "/play night drive now:true").await;
            assert!(reply.starts_with("Now playing **The Tones – Night Drive** (0:06)"), "{reply}");
            assert_hears(&sandbox, 440.0, "the local file found by its title").await;
            // ...and what the folder lacks is still found in the catalog.
            let reply = say(&sandbox, "/play morning walk").await;
            assert!(reply.starts_with(&format!("Queued **{ARTIST} – Morning Walk**")), "{reply}");
            sandbox
        },
    );
}

#[test]
fn library_without_a_media_folder_says_local_files_are_off() {
    with_sandbox(
        None,
        |o| o,
        |sandbox| async move {
            assert_eq!(say(&sandbox, "/library").await, "Local files are not enabled on this bot.");
            let reply = say(&sandbox, "/play lib:0123456789abcdef").await;
            assert_eq!(reply, "Local files are not enabled here; send an http(s) link.");
            sandbox
        },
    );
}
