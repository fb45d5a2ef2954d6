//! The handler end to end over HTTP bytes, signed like Discord signs them.

mod common;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;
use timmybot_core::player::Placement;
use timmybot_core::{ApplicationId, VoiceCommand};
use timmybot_interactions::{InteractionResponse, MAX_BODY_BYTES};
use timmybot_test_support::signer::{
    InteractionSigner, SIGNATURE_HEADER, SlashCommand, TIMESTAMP_HEADER, ping, slash_command,
};

use common::{Harness, NOW, RecordingBus, TOKEN, assert_ephemeral, command, header_map, json_of, play};

#[tokio::test]
async fn valid_ping_is_answered_with_pong() {
    let h = Harness::new();
    let reply = h.post(&ping()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/json");
    assert_eq!(json_of(&reply), json!({"type": 1}));
}

#[tokio::test]
async fn unsigned_or_forged_requests_get_401_and_nothing_is_published() {
    let h = Harness::new();
    let body = play("https://example.com/a.mp3").to_string().into_bytes();
    let good = h.signer.signed_headers(&body, NOW);
    let with = |name: &str, value: Option<&str>| -> HeaderMap {
        let mut headers = header_map(good.clone());
        match value {
            Some(v) => headers.insert(HeaderName::try_from(name).unwrap(), HeaderValue::try_from(v).unwrap()),
            None => headers.remove(name),
        };
        headers
    };
    let wrong_key = InteractionSigner::from_seed([9; 32]).sign(&body, &NOW.to_string());

    let cases: Vec<(&str, HeaderMap, Vec<u8>)> = vec![
        ("no headers", HeaderMap::new(), body.clone()),
        ("no signature", with(SIGNATURE_HEADER, None), body.clone()),
        ("no timestamp", with(TIMESTAMP_HEADER, None), body.clone()),
        ("bad hex", with(SIGNATURE_HEADER, Some(&"zz".repeat(64))), body.clone()),
        ("short signature", with(SIGNATURE_HEADER, Some("abcd")), body.clone()),
        ("wrong key", with(SIGNATURE_HEADER, Some(&wrong_key)), body.clone()),
        ("tampered body", header_map(good.clone()), body.iter().map(|b| if *b == b'a' { b'b' } else { *b }).collect()),
    ];
    for (case, headers, body) in cases {
        let reply = h.handler.handle_http(&headers, &body).await;
        assert_eq!(reply.status, 401, "{case}");
        assert!(!String::from_utf8_lossy(&reply.body).contains("signature does not match"), "{case}: detail leaked");
    }
    assert!(h.published().is_empty());
}

#[tokio::test]
async fn timestamps_six_minutes_old_or_ahead_get_401() {
    let h = Harness::new();
    let body = play("https://example.com/a.mp3").to_string().into_bytes();
    for signed_at in [NOW - 360, NOW + 360] {
        assert_eq!(h.post_signed_at(&body, signed_at).await.status, 401, "signed at {signed_at}");
    }
    assert!(h.published().is_empty());
    // Just inside the window still works.
    assert_eq!(h.post_signed_at(&body, NOW - 299).await.status, 200);
}

#[tokio::test]
async fn malformed_json_with_a_valid_signature_gets_400() {
    let h = Harness::new();
    for body in [&b"{\"type\": 1,"[..], b"not json", b"{\"type\": 2}"] {
        assert_eq!(h.post_signed_at(body, NOW).await.status, 400, "{}", String::from_utf8_lossy(body));
    }
    assert!(h.published().is_empty());
}

#[tokio::test]
async fn bodies_over_64_kib_get_413_before_verification() {
    let h = Harness::new();
    // Unsigned and not JSON: 413 (not 401 or 400) shows neither step ran.
    let reply = h.handler.handle_http(&HeaderMap::new(), &vec![b' '; MAX_BODY_BYTES + 1]).await;
    assert_eq!(reply.status, 413);
}

#[tokio::test]
async fn play_with_a_valid_query_is_deferred_and_published_once() {
    let h = Harness::new();
    let reply = h.post(&play("  https://example.com/song.mp3  ")).await;
    assert_eq!(reply.status, 200);
    // Only the member sees the outcome (or the refusal) the player edits in.
    assert_eq!(json_of(&reply), json!({"type": 5, "data": {"flags": 64}}));

    let published = h.published();
    assert_eq!(published.len(), 1);
    let sample = SlashCommand::default();
    let message = &published[0];
    assert_eq!(message.guild_id, sample.guild_id.unwrap());
    assert_eq!(message.user_id, sample.user_id);
    assert_eq!(message.channel_id, sample.channel_id);
    assert_eq!(message.interaction_id, sample.id);
    assert_eq!(message.application_id, sample.application_id);
    assert_eq!(message.interaction_token.expose(), TOKEN);
    assert_eq!(
        message.command,
        VoiceCommand::Play { query: "https://example.com/song.mp3".into(), placement: Placement::End }
    );
}

#[tokio::test]
async fn stop_is_deferred_and_published() {
    let h = Harness::new();
    let reply = h.post(&command("stop")).await;
    assert_eq!(json_of(&reply), json!({"type": 5, "data": {"flags": 64}}));
    let published = h.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].command, VoiceCommand::Stop);
}

#[tokio::test]
async fn help_answers_at_once_and_publishes_nothing() {
    let h = Harness::new();
    let reply = h.post(&command("help")).await;
    assert_ephemeral(&reply, "/play");
    assert!(h.published().is_empty());
}

#[tokio::test]
async fn unknown_command_is_an_ephemeral_message() {
    let h = Harness::new();
    assert_ephemeral(&h.post(&command("dance")).await, "/dance");
    assert!(h.published().is_empty());
}

#[tokio::test]
async fn play_in_a_dm_is_an_ephemeral_message() {
    let h = Harness::new();
    let dm = slash_command(SlashCommand {
        guild_id: None,
        options: vec![("query".into(), json!("https://example.com/a.mp3"))],
        ..Default::default()
    });
    assert_ephemeral(&h.post(&dm).await, "only works in a server");
    assert!(h.published().is_empty());
}

#[tokio::test]
async fn empty_missing_or_overlong_queries_are_ephemeral_messages() {
    let h = Harness::new();
    assert_ephemeral(&h.post(&play("   ")).await, "what to play");
    assert_ephemeral(&h.post(&play(&"a".repeat(513))).await, "512 characters");
    assert_ephemeral(&h.post(&command("play")).await, "a link, a song to search for, or an uploaded file");
    assert!(h.published().is_empty());
    // 512 is allowed.
    assert_eq!(json_of(&h.post(&play(&"a".repeat(512))).await)["type"], 5);
}

#[tokio::test]
async fn bus_failure_is_an_ephemeral_player_unavailable() {
    let h = Harness::with_bus(RecordingBus::failing());
    let reply = h.post(&play("https://example.com/a.mp3")).await;
    assert_ephemeral(&reply, "player is unavailable");
    // Our failure, although the member got a 200: the metrics count it.
    assert!(reply.failed);
    assert_eq!(reply.route, "/play");
    // A member's mistake is not.
    let reply = Harness::new().post(&play("  ")).await;
    assert!(!reply.failed);
    assert_eq!(reply.route, "/play");
}

#[tokio::test]
async fn unknown_interaction_types_and_other_applications_are_ephemeral_messages() {
    let h = Harness::new();
    let mut modal = command("play");
    modal["type"] = json!(5);
    assert_ephemeral(&h.post(&modal).await, "can't handle");
    // Autocomplete of an option that has none gets no suggestions.
    let mut autocomplete = command("play");
    autocomplete["type"] = json!(4);
    assert_eq!(json_of(&h.post(&autocomplete).await), json!({"type": 8, "data": {"choices": []}}));
    // A button this bot does not know (no allowlist configured here).
    let mut component = command("play");
    component["type"] = json!(3);
    component["data"] = json!({"custom_id": "allowlist:approve:1", "component_type": 2});
    assert_ephemeral(&h.post(&component).await, "no longer does anything");

    let other_app = slash_command(SlashCommand {
        application_id: ApplicationId::new(77).unwrap(),
        options: vec![("query".into(), json!("https://example.com/a.mp3"))],
        ..Default::default()
    });
    assert_ephemeral(&h.post(&other_app).await, "different bot");
    assert!(h.published().is_empty());
}

#[tokio::test]
async fn gateway_interactions_skip_verification_but_share_dispatch() {
    let h = Harness::new();
    let interaction = serde_json::from_value(play("https://example.com/a.mp3")).unwrap();
    assert_eq!(
        h.handler.handle_interaction(interaction).await,
        InteractionResponse::DeferredMessage { ephemeral: true }
    );
    assert_eq!(h.published().len(), 1);
}
