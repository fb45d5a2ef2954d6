//! `InteractionReplies` over real HTTP against the fake Discord: the edit
//! lands on the interaction's `@original`, pings nobody, and an unknown or
//! malformed token is an error that never shows the token.

use std::time::Duration;

use serde_json::json;
use timmybot_core::{ApplicationId, DiscordReplies, OutgoingMessage, Secret};
use timmybot_discord_rest::InteractionReplies;
use timmybot_test_support::fake_discord::{FakeDiscord, FakeDiscordConfig};
use url::Url;

async fn fake_and_replies() -> (FakeDiscord, InteractionReplies, ApplicationId) {
    let fake = FakeDiscord::start(FakeDiscordConfig::default()).await.unwrap();
    let api = Url::parse(&format!("http://{}/api/v10/", fake.rest_addr())).unwrap();
    let replies = InteractionReplies::new(api, Duration::from_secs(5)).unwrap();
    let application = ApplicationId::new(fake.config().application_id).unwrap();
    (fake, replies, application)
}

#[tokio::test]
async fn an_edit_replaces_the_original_and_pings_nobody() {
    let (fake, replies, application) = fake_and_replies().await;
    let interaction = fake.slash_command(1, 2, 3, "play", json!([]));
    let token = interaction["token"].as_str().unwrap().to_owned();
    let answer = json!({"type": 4, "data": {"content": "Starting…", "flags": 64}});
    assert!(fake.accept_interaction_response(&token, answer));
    let message = OutgoingMessage::text("@everyone the player is late");
    replies.edit_original(application, &Secret::new(token.clone()), &message).await.unwrap();
    assert_eq!(fake.original_message(&token).as_deref(), Some("@everyone the player is late"));
    let body = fake.original_body(&token).unwrap();
    assert_eq!(body["allowed_mentions"], json!({"parse": []}), "{body}");
}

#[tokio::test]
async fn an_unknown_interaction_is_reported_without_its_token() {
    let (_fake, replies, application) = fake_and_replies().await;
    let token = Secret::new("aW50ZXJhY3Rpb24.never-answered-token");
    let error = replies.edit_original(application, &token, &OutgoingMessage::text("late")).await.unwrap_err();
    assert!(error.unknown_interaction, "{error}");
    assert!(!error.to_string().contains("never-answered"), "{error}");
}

#[tokio::test]
async fn a_token_that_would_change_the_path_is_refused_before_any_request() {
    let (_fake, replies, application) = fake_and_replies().await;
    for bad in ["", "../../guilds/1", "a/b", "tok?x=1", "tok en"] {
        let error =
            replies.edit_original(application, &Secret::new(bad), &OutgoingMessage::text("late")).await.unwrap_err();
        assert!(error.to_string().contains("malformed"), "{bad}: {error}");
        assert!(!error.unknown_interaction);
    }
}

#[tokio::test]
async fn an_unreachable_discord_is_an_error_without_the_url() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api = Url::parse(&format!("http://{}/api/v10/", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let replies = InteractionReplies::new(api, Duration::from_secs(2)).unwrap();
    let application = ApplicationId::new(1).unwrap();
    let error = replies
        .edit_original(application, &Secret::new("secret-token-value"), &OutgoingMessage::text("late"))
        .await
        .unwrap_err();
    assert!(!error.to_string().contains("secret-token-value"), "{error}");
    assert!(!error.to_string().contains("webhooks"), "{error}");
}
