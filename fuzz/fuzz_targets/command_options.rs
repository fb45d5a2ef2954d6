//! Arbitrary JSON into command data, then `commands::voice_command`: never a
//! panic, a `/play` query that gets through is trimmed, non-empty and at
//! most `MAX_QUERY_LEN` characters, positions and volumes stay in their
//! ranges, and only commands with options refuse their data. The text is
//! also read as a `/seek` target, which never panics and never goes past
//! a day.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timmybot_core::VoiceCommand;
use timmybot_core::player::{MAX_QUEUE_LEN, MAX_VOLUME, SeekTarget};
use timmybot_interactions::commands::{self, MAX_QUERY_LEN, PLAY, STOP};
use timmybot_interactions::model::InteractionData;

fn check_query(query: &str) {
    assert!(!query.is_empty());
    assert!(query.chars().count() <= MAX_QUERY_LEN);
    assert_eq!(query.trim(), query);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(query) = commands::validate_query(text) {
            check_query(&query);
        }
        if let Ok(SeekTarget::To(ms) | SeekTarget::Forward(ms) | SeekTarget::Back(ms)) = text.parse::<SeekTarget>() {
            assert!(ms <= 24 * 60 * 60 * 1000);
        }
    }
    let Ok(data) = serde_json::from_slice::<InteractionData>(data) else { return };
    let name = data.name.clone().unwrap_or_default();
    // Also run `/play` on whatever data came, whatever name it had.
    for name in [name.as_str(), PLAY] {
        match commands::voice_command(name, &data) {
            Ok(Some(VoiceCommand::Play { query, .. })) => {
                assert_eq!(name, PLAY);
                check_query(&query);
            }
            Ok(Some(VoiceCommand::Stop)) => assert_eq!(name, STOP),
            Ok(Some(
                VoiceCommand::SkipTo { position } | VoiceCommand::Remove { position } | VoiceCommand::Move { from: position, .. },
            )) => assert!((1..=MAX_QUEUE_LEN).contains(&position)),
            Ok(Some(VoiceCommand::Volume { percent })) => assert!(percent <= MAX_VOLUME),
            Ok(Some(_)) => {}
            Ok(None) => assert!(name != PLAY && name != STOP),
            Err(_) => assert!(commands::find(name).is_some_and(|c| !c.options.is_empty()), "{name} refused"),
        }
    }
});
