//! `DiscordRestClient` over real HTTP: against the fake Discord for the
//! routes, and against a scripted stub server for headers, rate limits and
//! server errors the fake does not produce.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use timmybot_core::{
    Button, ButtonStyle, ChannelId, DiscordErrorKind, DiscordRest, GuildId, MessageRef, OutgoingMessage, Secret, UserId,
};
use timmybot_discord_rest::DiscordRestClient;
use timmybot_test_support::fake_discord::{FakeDiscord, FakeDiscordConfig, FakeGuild};
use tokio::net::TcpListener;
use url::Url;

const GUILD: u64 = 81_384_788_765_712_384;
const TEXT: u64 = 100;
const VOICE: u64 = 200;
const MEMBER: u64 = 7;
const CLOSED_DMS: u64 = 8;
const TOKEN: &str = "Mzk4NjI.fake-bot-token.do-not-leak";
const TIMEOUT: Duration = Duration::from_secs(5);

async fn fake() -> FakeDiscord {
    FakeDiscord::start(FakeDiscordConfig {
        guilds: vec![FakeGuild {
            id: GUILD,
            name: "Test Guild".into(),
            member_count: 42,
            voice_channels: vec![VOICE],
            text_channels: vec![TEXT],
            voice_states: Vec::new(),
        }],
        dm_closed_users: vec![CLOSED_DMS],
        ..FakeDiscordConfig::default()
    })
    .await
    .unwrap()
}

fn client_for(api_base: &str, timeout: Duration) -> DiscordRestClient {
    DiscordRestClient::new(Url::parse(api_base).unwrap(), Secret::new(TOKEN), timeout).unwrap()
}

fn client(fake: &FakeDiscord) -> DiscordRestClient {
    client_for(&format!("http://{}/api/v10/", fake.rest_addr()), TIMEOUT)
}

fn guild() -> GuildId {
    GuildId::new(GUILD).unwrap()
}

fn text() -> ChannelId {
    ChannelId::new(TEXT).unwrap()
}

fn with_buttons(content: &str) -> OutgoingMessage {
    OutgoingMessage {
        content: content.into(),
        buttons: vec![
            Button { custom_id: "allow:1".into(), label: "Allow".into(), style: ButtonStyle::Success },
            Button { custom_id: "deny:1".into(), label: "Deny".into(), style: ButtonStyle::Danger },
        ],
    }
}

#[tokio::test]
async fn guild_info_returns_name_and_approximate_member_count() {
    let fake = fake().await;
    let info = client(&fake).guild_info(guild()).await.unwrap();
    assert_eq!(info.name, "Test Guild");
    assert_eq!(info.approximate_member_count, Some(42));
    let call = fake.rest_calls().into_iter().last().unwrap();
    assert_eq!(call.path, format!("/api/v10/guilds/{GUILD}"));
    assert_eq!(call.query.as_deref(), Some("with_counts=true"));
    assert!(call.authorized);
}

#[tokio::test]
async fn guild_info_of_an_unknown_guild_is_not_found() {
    let fake = fake().await;
    let error = client(&fake).guild_info(GuildId::new(999).unwrap()).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::NotFound);
    assert!(error.to_string().contains("10004"), "{error}");
}

#[tokio::test]
async fn create_message_sends_buttons_and_never_pings() {
    let fake = fake().await;
    let at = client(&fake).create_message(text(), &with_buttons("Allow <@123>?")).await.unwrap();
    assert_eq!(at.channel_id, text());
    let messages = fake.channel_messages(TEXT);
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.id, at.message_id);
    assert_eq!(message.content, "Allow <@123>?");
    assert_eq!(message.body["allowed_mentions"], json!({ "parse": [] }));
    assert_eq!(
        message.body["components"],
        json!([{ "type": 1, "components": [
            { "type": 2, "style": 3, "label": "Allow", "custom_id": "allow:1" },
            { "type": 2, "style": 4, "label": "Deny", "custom_id": "deny:1" },
        ] }])
    );
}

#[tokio::test]
async fn a_plain_message_has_no_components() {
    let fake = fake().await;
    client(&fake).create_message(text(), &OutgoingMessage::text("hello")).await.unwrap();
    let message = &fake.channel_messages(TEXT)[0];
    assert_eq!(message.content, "hello");
    assert!(message.body.get("components").is_none());
}

#[tokio::test]
async fn edit_message_replaces_content_and_removes_buttons() {
    let fake = fake().await;
    let client = client(&fake);
    let at = client.create_message(text(), &with_buttons("Allow?")).await.unwrap();
    client.edit_message(at, &OutgoingMessage::text("Allowed by <@7>")).await.unwrap();
    let messages = fake.channel_messages(TEXT);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].content, "Allowed by <@7>");
    assert_eq!(messages[0].body["components"], json!([]));
    let call = fake.rest_calls().into_iter().last().unwrap();
    assert_eq!(call.method, "PATCH");
    assert_eq!(call.path, format!("/api/v10/channels/{TEXT}/messages/{}", at.message_id));
}

#[tokio::test]
async fn editing_an_unknown_message_is_not_found() {
    let fake = fake().await;
    let at = MessageRef { channel_id: text(), message_id: 12345 };
    let error = client(&fake).edit_message(at, &OutgoingMessage::text("x")).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::NotFound);
}

#[tokio::test]
async fn a_message_to_an_unknown_channel_is_not_found() {
    let fake = fake().await;
    let error =
        client(&fake).create_message(ChannelId::new(999).unwrap(), &OutgoingMessage::text("x")).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::NotFound);
}

#[tokio::test]
async fn send_dm_opens_the_channel_and_posts_in_it() {
    let fake = fake().await;
    let at = client(&fake).send_dm(UserId::new(MEMBER).unwrap(), &with_buttons("Your request")).await.unwrap();
    let dms = fake.dm_messages(MEMBER);
    assert_eq!(dms.len(), 1);
    assert_eq!(dms[0].id, at.message_id);
    assert_eq!(dms[0].channel_id, at.channel_id.get());
    assert_eq!(dms[0].content, "Your request");
    assert_eq!(dms[0].body["components"][0]["components"][0]["custom_id"], "allow:1");
    let create = fake.rest_calls().into_iter().find(|call| call.path == "/api/v10/users/@me/channels").unwrap();
    assert_eq!(create.body, Some(json!({ "recipient_id": MEMBER.to_string() })));
}

#[tokio::test]
async fn send_dm_to_closed_dms_is_cannot_message_user() {
    let fake = fake().await;
    let error =
        client(&fake).send_dm(UserId::new(CLOSED_DMS).unwrap(), &OutgoingMessage::text("hi")).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::CannotMessageUser);
    assert!(fake.dm_messages(CLOSED_DMS).is_empty());
}

#[tokio::test]
async fn leave_guild_leaves_and_the_guild_is_then_unknown() {
    let fake = fake().await;
    let client = client(&fake);
    client.leave_guild(guild()).await.unwrap();
    assert_eq!(fake.left_guilds(), vec![GUILD]);
    assert_eq!(client.guild_info(guild()).await.unwrap_err().kind, DiscordErrorKind::NotFound);
    assert_eq!(client.leave_guild(guild()).await.unwrap_err().kind, DiscordErrorKind::NotFound);
}

/// One scripted answer: status and JSON body (plus an optional delay).
#[derive(Clone)]
struct Answer {
    status: u16,
    body: Value,
    delay: Duration,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer { status, body, delay: Duration::ZERO }
}

#[derive(Default)]
struct Stub {
    answers: Mutex<VecDeque<Answer>>,
    requests: Mutex<Vec<(Instant, HeaderMap)>>,
}

/// A server answering every request with the next scripted answer (the
/// last one repeats), recording request headers.
async fn stub(answers: Vec<Answer>) -> (String, Arc<Stub>) {
    let stub = Arc::new(Stub { answers: Mutex::new(answers.into()), requests: Mutex::default() });
    async fn handle(State(stub): State<Arc<Stub>>, headers: HeaderMap) -> impl IntoResponse {
        stub.requests.lock().unwrap().push((Instant::now(), headers));
        let next = {
            let mut answers = stub.answers.lock().unwrap();
            if answers.len() > 1 { answers.pop_front().unwrap() } else { answers.front().cloned().unwrap() }
        };
        tokio::time::sleep(next.delay).await;
        (StatusCode::from_u16(next.status).unwrap(), axum::Json(next.body))
    }
    let router = Router::new().fallback(handle).with_state(Arc::clone(&stub));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}/api/v10/"), stub)
}

fn request_count(stub: &Stub) -> usize {
    stub.requests.lock().unwrap().len()
}

#[tokio::test]
async fn requests_carry_the_bot_token_and_a_discord_user_agent() {
    let (base, stub) = stub(vec![answer(200, json!({ "name": "g", "approximate_member_count": 1 }))]).await;
    client_for(&base, TIMEOUT).guild_info(guild()).await.unwrap();
    let requests = stub.requests.lock().unwrap();
    let headers = &requests[0].1;
    assert_eq!(headers["authorization"], format!("Bot {TOKEN}").as_str());
    assert_eq!(headers["user-agent"], "DiscordBot (https://github.com/timmybot/timmybot, 0.1)");
}

#[tokio::test]
async fn a_short_rate_limit_is_waited_out_once() {
    let (base, stub) = stub(vec![
        answer(429, json!({ "message": "You are being rate limited.", "retry_after": 0.2, "global": false })),
        answer(200, json!({ "name": "g" })),
    ])
    .await;
    let info = client_for(&base, TIMEOUT).guild_info(guild()).await.unwrap();
    assert_eq!(info.name, "g");
    assert_eq!(info.approximate_member_count, None);
    let requests = stub.requests.lock().unwrap();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].0 - requests[0].0 >= Duration::from_millis(200));
}

#[tokio::test]
async fn a_second_rate_limit_is_reported() {
    let limited = answer(429, json!({ "message": "You are being rate limited.", "retry_after": 0.05 }));
    let (base, stub) = stub(vec![limited.clone(), limited]).await;
    let error = client_for(&base, TIMEOUT).guild_info(guild()).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::RateLimited);
    assert_eq!(request_count(&stub), 2);
}

#[tokio::test]
async fn a_long_rate_limit_is_reported_without_waiting() {
    let (base, stub) = stub(vec![answer(429, json!({ "message": "slow down", "retry_after": 30.0 }))]).await;
    let started = Instant::now();
    let error = client_for(&base, TIMEOUT).guild_info(guild()).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::RateLimited);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(request_count(&stub), 1);
}

#[tokio::test]
async fn server_errors_are_unavailable_and_bad_requests_rejected() {
    let (base, _stub) = stub(vec![answer(502, json!({ "message": "Bad Gateway", "code": 0 }))]).await;
    let error = client_for(&base, TIMEOUT).leave_guild(guild()).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::Unavailable);

    let (base, _stub) = stub(vec![answer(400, json!({ "message": "Invalid Form Body", "code": 50035 }))]).await;
    let error = client_for(&base, TIMEOUT).create_message(text(), &OutgoingMessage::text("x")).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::Rejected);
    assert!(error.to_string().contains("50035"), "{error}");

    let (base, _stub) = stub(vec![answer(403, json!({ "message": "Missing Access", "code": 50001 }))]).await;
    let error = client_for(&base, TIMEOUT).create_message(text(), &OutgoingMessage::text("x")).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::Forbidden);
}

#[tokio::test]
async fn a_slow_server_times_out_as_unavailable() {
    let slow = Answer { status: 200, body: json!({ "name": "g" }), delay: Duration::from_secs(5) };
    let (base, _stub) = stub(vec![slow]).await;
    let started = Instant::now();
    let error = client_for(&base, Duration::from_millis(300)).guild_info(guild()).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::Unavailable);
    assert!(error.to_string().contains("timed out"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // A port that was just free: nothing listens there.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let error = client_for(&format!("http://{addr}/api/v10/"), TIMEOUT).guild_info(guild()).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::Unavailable);
    let text = error.to_string();
    assert!(!text.contains(TOKEN), "{text}");
    assert!(!text.contains(&addr.to_string()), "the URL must be stripped: {text}");
}

#[tokio::test]
async fn error_messages_never_contain_the_token() {
    // A hostile or broken server that echoes the Authorization header back.
    let echo = answer(400, json!({ "message": format!("bad header Bot {TOKEN}"), "code": 0 }));
    let (base, _stub) = stub(vec![echo]).await;
    let client = client_for(&base, TIMEOUT);
    let error = client.create_message(text(), &OutgoingMessage::text("x")).await.unwrap_err();
    assert_eq!(error.kind, DiscordErrorKind::Rejected);
    for text in [error.to_string(), format!("{error:?}"), format!("{client:?}")] {
        assert!(!text.contains(TOKEN), "token leaked: {text}");
    }

    let fake = fake().await;
    let error = client_for(&format!("http://{}/api/v10/", fake.rest_addr()), TIMEOUT)
        .send_dm(UserId::new(CLOSED_DMS).unwrap(), &OutgoingMessage::text("hi"))
        .await
        .unwrap_err();
    assert!(!error.to_string().contains(TOKEN), "{error}");
}
