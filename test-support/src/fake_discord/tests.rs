//! The message, DM, guild and component routes of the fake, driven by the
//! real twilight 0.17 HTTP client and gateway shard, so the shapes the fake
//! speaks are the ones twilight parses. (The `timmybot-discord-rest` tests
//! cover the same routes through reqwest.)

use super::{FakeDiscord, FakeDiscordConfig, FakeGuild, MANAGE_GUILD, MEMBER_PERMISSIONS};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::oneshot;
use twilight_gateway::{ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt as _, queue::Queue};
use twilight_http::{Client, error::ErrorType, request::Request, response::marker::EmptyBody, routing::Route};
use twilight_model::{
    application::{
        command::{CommandOptionChoice, CommandOptionChoiceValue, CommandOptionType},
        interaction::{Interaction, InteractionData, InteractionType, application_command::CommandOptionValue},
    },
    channel::message::{AllowedMentions, Component, MessageFlags},
    guild::Permissions,
    http::interaction::{InteractionResponse, InteractionResponseType},
    id::Id,
};

const GUILD: u64 = 81_384_788_765_712_384;
const TEXT: u64 = 100;
const VOICE: u64 = 200;
const MEMBER: u64 = 7;
const ADMIN: u64 = 8;
const CLOSED_DMS: u64 = 9;
const DJ_ROLE: u64 = 300;
const MOD_ROLE: u64 = 301;
const WAIT: Duration = Duration::from_secs(10);

async fn start() -> FakeDiscord {
    // Both ring and aws-lc-rs are in this crate's graph; twilight needs one chosen.
    _ = rustls::crypto::ring::default_provider().install_default();
    FakeDiscord::start(FakeDiscordConfig {
        guilds: vec![FakeGuild {
            id: GUILD,
            name: "test guild".into(),
            member_count: 3,
            voice_channels: vec![VOICE],
            text_channels: vec![TEXT],
            voice_states: Vec::new(),
        }],
        dm_closed_users: vec![CLOSED_DMS],
        guild_managers: vec![(GUILD, ADMIN)],
        member_roles: vec![(GUILD, ADMIN, DJ_ROLE), (GUILD, ADMIN, MOD_ROLE), (GUILD + 1, MEMBER, DJ_ROLE)],
        ..FakeDiscordConfig::default()
    })
    .await
    .unwrap()
}

fn http(fake: &FakeDiscord) -> Client {
    Client::builder().token("test-token".into()).proxy(fake.rest_addr(), true).ratelimiter(None).build()
}

fn buttons() -> Vec<Component> {
    serde_json::from_value(json!([{ "type": 1, "components": [
        { "type": 2, "style": 3, "label": "Allow", "custom_id": "allow:1" },
        { "type": 2, "style": 4, "label": "Deny", "custom_id": "deny:1" },
    ] }]))
    .unwrap()
}

fn response(value: Value) -> InteractionResponse {
    serde_json::from_value(value).unwrap()
}

/// Discord's JSON error code of a failed twilight request.
fn discord_code(error: &twilight_http::Error) -> (u16, u64) {
    match error.kind() {
        ErrorType::Response { status, body, .. } => {
            let body: Value = serde_json::from_slice(body).unwrap();
            (status.get(), body["code"].as_u64().unwrap())
        }
        other => panic!("not a response error: {other:?}"),
    }
}

/// Send `body` on `route` as it is, past twilight's own checks, and return
/// the status and Discord's error body of a refusal.
async fn raw(fake: &FakeDiscord, route: Route<'_>, body: &Value) -> Result<(), (u16, Value)> {
    let request = Request::builder(&route).json(body).build().unwrap();
    match http(fake).request::<EmptyBody>(request).await {
        Ok(_) => Ok(()),
        Err(error) => match error.kind() {
            ErrorType::Response { status, body, .. } => Err((status.get(), serde_json::from_slice(body).unwrap())),
            other => panic!("not a response error: {other:?}"),
        },
    }
}

/// `rows` action rows of `buttons` buttons each, with distinct custom ids.
fn button_rows(rows: usize, buttons: usize) -> Value {
    let rows: Vec<Value> = (0..rows)
        .map(|row| {
            let buttons: Vec<Value> = (0..buttons)
                .map(|i| json!({ "type": 2, "style": 1, "label": format!("{row}.{i}"), "custom_id": format!("b:{row}:{i}") }))
                .collect();
            json!({ "type": 1, "components": buttons })
        })
        .collect();
    Value::Array(rows)
}

/// Post a message with two buttons in the text channel; returns its id.
async fn post_with_buttons(fake: &FakeDiscord) -> u64 {
    let components = buttons();
    let message = http(fake)
        .create_message(Id::new(TEXT))
        .content("Allow guild?")
        .components(&components)
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(message.components.len(), 1, "components are returned");
    message.id.get()
}

#[tokio::test]
async fn messages_keep_their_components_and_edits_replace_them() {
    let fake = start().await;
    let id = post_with_buttons(&fake).await;
    let stored = fake.channel_messages(TEXT);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body["components"][0]["components"][1]["custom_id"], "deny:1");

    let edited = http(&fake)
        .update_message(Id::new(TEXT), Id::new(id))
        .content(Some("Allowed"))
        .components(Some(&[]))
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(edited.content, "Allowed");
    assert!(edited.components.is_empty());
    assert!(edited.edited_timestamp.is_some());
    let stored = fake.channel_messages(TEXT);
    assert_eq!(stored[0].content, "Allowed");
    assert_eq!(stored[0].body["components"], json!([]));
    assert_eq!(fake.messages_sent().len(), 1);

    let unknown = http(&fake).update_message(Id::new(TEXT), Id::new(12_345)).content(Some("x")).await.unwrap_err();
    assert_eq!(discord_code(&unknown), (404, 10008));
}

#[tokio::test]
async fn guild_lookup_has_counts_only_when_asked() {
    let fake = start().await;
    let guild = http(&fake).guild(Id::new(GUILD)).with_counts(true).await.unwrap().model().await.unwrap();
    assert_eq!(guild.name, "test guild");
    assert_eq!(guild.approximate_member_count, Some(3));
    let guild = http(&fake).guild(Id::new(GUILD)).await.unwrap().model().await.unwrap();
    assert_eq!(guild.approximate_member_count, None);
    let unknown = http(&fake).guild(Id::new(404)).await.unwrap_err();
    assert_eq!(discord_code(&unknown), (404, 10004));
}

#[tokio::test]
async fn closed_dms_open_a_channel_but_refuse_the_message() {
    let fake = start().await;
    let client = http(&fake);
    let open = client.create_private_channel(Id::new(MEMBER)).await.unwrap().model().await.unwrap();
    client.create_message(open.id).content("hi").await.unwrap();
    assert_eq!(fake.dm_messages(MEMBER)[0].content, "hi");
    assert_eq!(fake.dm_messages(MEMBER)[0].recipient_id, Some(MEMBER));

    let closed = client.create_private_channel(Id::new(CLOSED_DMS)).await.unwrap().model().await.unwrap();
    let error = client.create_message(closed.id).content("hi").await.unwrap_err();
    assert_eq!(discord_code(&error), (403, 50007));
    assert!(fake.dm_messages(CLOSED_DMS).is_empty());
}

#[tokio::test]
async fn interactions_carry_member_permissions() {
    let fake = start().await;
    let permissions = |value: &Value| -> u64 { value["member"]["permissions"].as_str().unwrap().parse().unwrap() };
    let ordinary = fake.slash_command(GUILD, TEXT, MEMBER, "allowlist", json!([]));
    let manager = fake.slash_command(GUILD, TEXT, ADMIN, "allowlist", json!([]));
    assert_eq!(permissions(&ordinary), MEMBER_PERMISSIONS);
    assert_eq!(permissions(&manager), MEMBER_PERMISSIONS | MANAGE_GUILD);
    assert_eq!(MEMBER_PERMISSIONS & MANAGE_GUILD, 0);
    let parsed: Interaction = serde_json::from_value(manager).unwrap();
    assert!(parsed.member.unwrap().permissions.unwrap().contains(Permissions::MANAGE_GUILD));
    // Managers are per guild.
    assert_eq!(fake.member_permissions(GUILD + 1, ADMIN), MEMBER_PERMISSIONS);
}

#[tokio::test]
async fn interactions_carry_member_roles() {
    let fake = start().await;
    let roles = |value: &Value| value["member"]["roles"].clone();
    let message_id = post_with_buttons(&fake).await;
    let command = fake.slash_command(GUILD, TEXT, ADMIN, "play", json!([]));
    let press = fake.button_press(GUILD, TEXT, ADMIN, message_id, "allow:1");
    let typing = fake.autocomplete(GUILD, TEXT, ADMIN, "play", json!([]));
    for interaction in [&command, &press, &typing] {
        assert_eq!(roles(interaction), json!(["300", "301"]), "{}", interaction["type"]);
    }
    let parsed: Interaction = serde_json::from_value(command).unwrap();
    let parsed_roles: Vec<u64> = parsed.member.unwrap().roles.iter().map(|role| role.get()).collect();
    assert_eq!(parsed_roles, [DJ_ROLE, MOD_ROLE]);
    // Roles are per guild; a member without any has an empty list.
    assert_eq!(roles(&fake.slash_command(GUILD, TEXT, MEMBER, "play", json!([]))), json!([]));
    assert_eq!(fake.member_roles(GUILD, ADMIN), [DJ_ROLE, MOD_ROLE]);
    assert_eq!(fake.member_roles(GUILD, MEMBER), Vec::<u64>::new());
    assert_eq!(fake.member_roles(GUILD + 1, MEMBER), [DJ_ROLE]);
}

fn choices(count: usize, name_len: usize) -> InteractionResponse {
    let choices: Vec<CommandOptionChoice> = (0..count)
        .map(|i| CommandOptionChoice {
            name: format!("{i:0>name_len$}"),
            name_localizations: None,
            value: CommandOptionChoiceValue::String(format!("song-{i}")),
        })
        .collect();
    response(json!({ "type": 8, "data": { "choices": choices } }))
}

#[tokio::test]
async fn autocomplete_is_answered_with_at_most_25_choices() {
    let fake = start().await;
    let client = http(&fake);
    let interactions = client.interaction(Id::new(fake.config().application_id));
    let typing = |value: &str| {
        let options = json!([
            { "name": "query", "type": 3, "value": value, "focused": true },
            { "name": "position", "type": 4, "value": 2 },
        ]);
        let value = fake.autocomplete(GUILD, TEXT, MEMBER, "play", options);
        serde_json::from_value::<Interaction>(value).unwrap()
    };

    let interaction = typing("nev");
    assert_eq!(interaction.kind, InteractionType::ApplicationCommandAutocomplete);
    let Some(InteractionData::ApplicationCommand(data)) = &interaction.data else {
        panic!("not command data: {:?}", interaction.data);
    };
    assert_eq!(data.name, "play");
    assert_eq!(data.options[0].value, CommandOptionValue::Focused("nev".into(), CommandOptionType::String));
    assert_eq!(data.options[1].value, CommandOptionValue::Integer(2));

    // Discord refuses more than 25 choices, or a name over 100 characters.
    for refused in [choices(26, 1), choices(1, 101)] {
        let error = interactions.create_response(interaction.id, &interaction.token, &refused).await.unwrap_err();
        assert_eq!(discord_code(&error), (400, 50035));
    }
    // An autocomplete takes choices only, and choices answer nothing else.
    let message = response(json!({ "type": 4, "data": { "content": "hi" } }));
    let error = interactions.create_response(interaction.id, &interaction.token, &message).await.unwrap_err();
    assert_eq!(discord_code(&error), (400, 50035));
    assert_eq!(fake.interaction_response(&interaction.token), None);

    interactions.create_response(interaction.id, &interaction.token, &choices(25, 100)).await.unwrap();
    let answer = fake.interaction_response(&interaction.token).unwrap();
    assert_eq!(answer["type"], InteractionResponseType::ApplicationCommandAutocompleteResult as u8);
    assert_eq!(answer["data"]["choices"].as_array().unwrap().len(), 25);
    assert_eq!(answer["data"]["choices"][3]["value"], "song-3");
    assert_eq!(fake.original_message(&interaction.token), None, "choices are no message");

    let message_id = post_with_buttons(&fake).await;
    let press: Interaction =
        serde_json::from_value(fake.button_press(GUILD, TEXT, MEMBER, message_id, "allow:1")).unwrap();
    let error = interactions.create_response(press.id, &press.token, &choices(1, 4)).await.unwrap_err();
    assert_eq!(discord_code(&error), (400, 50035));
}

#[tokio::test]
async fn a_button_press_looks_like_discord_and_update_message_edits_the_message() {
    let fake = start().await;
    let message_id = post_with_buttons(&fake).await;
    let press = fake.button_press(GUILD, TEXT, ADMIN, message_id, "allow:1");
    assert_eq!(press["type"], 3);
    assert_eq!(press["data"], json!({ "custom_id": "allow:1", "component_type": 2 }));
    assert_eq!(press["message"]["id"], message_id.to_string());
    assert_eq!(press["message"]["content"], "Allow guild?");
    let interaction: Interaction = serde_json::from_value(press.clone()).unwrap();
    assert_eq!(interaction.kind, InteractionType::MessageComponent);
    assert!(matches!(interaction.data, Some(InteractionData::MessageComponent(_))));
    assert!(interaction.member.unwrap().permissions.unwrap().contains(Permissions::MANAGE_GUILD));

    let client = http(&fake);
    let update = response(json!({ "type": 7, "data": { "content": "Allowed by <@8>", "components": [] } }));
    client
        .interaction(Id::new(fake.config().application_id))
        .create_response(interaction.id, &interaction.token, &update)
        .await
        .unwrap();
    let stored = fake.channel_messages(TEXT);
    assert_eq!(stored.len(), 1, "the message is edited, not a new one posted");
    assert_eq!(stored[0].content, "Allowed by <@8>");
    assert_eq!(stored[0].body["components"], json!([]));
    assert_eq!(fake.interaction_response(&interaction.token).unwrap()["type"], 7);
}

#[tokio::test]
async fn deferred_update_then_an_original_edit_changes_the_pressed_message() {
    let fake = start().await;
    let message_id = post_with_buttons(&fake).await;
    let press = fake.button_press(GUILD, TEXT, MEMBER, message_id, "deny:1");
    let token = press["token"].as_str().unwrap().to_owned();
    // Delivered over HTTP: the endpoint's answer reaches the fake this way.
    assert!(fake.accept_interaction_response(&token, json!({ "type": 6 })));
    assert_eq!(fake.channel_messages(TEXT)[0].content, "Allow guild?");

    let client = http(&fake);
    client
        .interaction(Id::new(fake.config().application_id))
        .update_response(&token)
        .content(Some("Denied"))
        .components(Some(&[]))
        .await
        .unwrap();
    let message = fake.wait_for_message(|message| message.content == "Denied", WAIT).await.unwrap();
    assert_eq!(message.id, message_id);
    assert_eq!(message.body["components"], json!([]));
}

#[tokio::test]
async fn update_message_is_refused_for_a_slash_command() {
    let fake = start().await;
    let command = fake.slash_command(GUILD, TEXT, MEMBER, "play", json!([]));
    let interaction: Interaction = serde_json::from_value(command).unwrap();
    let update = response(json!({ "type": 7, "data": { "content": "x" } }));
    let error = http(&fake)
        .interaction(Id::new(fake.config().application_id))
        .create_response(interaction.id, &interaction.token, &update)
        .await
        .unwrap_err();
    assert_eq!(discord_code(&error), (400, 50035));
}

/// Identify without the default in-memory queue's 5 s between shards.
#[derive(Debug, Clone, Copy)]
struct NoWaitQueue;

impl Queue for NoWaitQueue {
    fn enqueue(&self, _shard: u32) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        _ = tx.send(());
        rx
    }
}

async fn next_event<T>(shard: &mut Shard<NoWaitQueue>, mut select: impl FnMut(Event) -> Option<T>) -> T {
    let wait = async {
        loop {
            match shard.next_event(EventTypeFlags::all()).await {
                Some(Ok(event)) => {
                    if let Some(found) = select(event) {
                        return found;
                    }
                }
                Some(Err(error)) => eprintln!("shard error (continuing): {error}"),
                None => panic!("shard closed"),
            }
        }
    };
    tokio::time::timeout(WAIT, wait).await.expect("event in time")
}

fn shard(fake: &FakeDiscord) -> Shard<NoWaitQueue> {
    let config = ConfigBuilder::new("test-token".into(), Intents::GUILDS)
        .proxy_url(fake.gateway_url())
        .queue(NoWaitQueue)
        .build();
    Shard::with_config(ShardId::ONE, config)
}

#[tokio::test]
async fn leaving_a_guild_sends_guild_delete_and_forgets_the_guild() {
    let fake = start().await;
    let mut first = shard(&fake);
    next_event(&mut first, |event| matches!(event, Event::GuildCreate(_)).then_some(())).await;

    let client = http(&fake);
    client.leave_guild(Id::new(GUILD)).await.unwrap();
    assert_eq!(fake.left_guilds(), vec![GUILD]);
    let deleted = next_event(&mut first, |event| match event {
        Event::GuildDelete(deleted) => Some(deleted),
        _ => None,
    })
    .await;
    assert_eq!(deleted.id.get(), GUILD);
    assert_eq!(deleted.unavailable, None, "no `unavailable`: the bot was removed");

    // Gone for REST and for a new session.
    assert_eq!(discord_code(&client.leave_guild(Id::new(GUILD)).await.unwrap_err()), (404, 10004));
    assert_eq!(discord_code(&client.guild(Id::new(GUILD)).await.unwrap_err()), (404, 10004));
    assert_eq!(discord_code(&client.create_message(Id::new(TEXT)).content("x").await.unwrap_err()), (403, 50001));
    let mut second = shard(&fake);
    let ready = next_event(&mut second, |event| match event {
        Event::Ready(ready) => Some(ready),
        _ => None,
    })
    .await;
    assert!(ready.guilds.is_empty());
}

#[tokio::test]
async fn follow_ups_keep_their_flags_and_the_original_keeps_rows_and_mentions() {
    let fake = start().await;
    let command: Interaction =
        serde_json::from_value(fake.slash_command(GUILD, TEXT, MEMBER, "queue", json!([]))).unwrap();
    let token = command.token.clone();
    let client = http(&fake);
    let interactions = client.interaction(Id::new(fake.config().application_id));
    let deferred = response(json!({ "type": 5, "data": { "flags": 64 } }));
    interactions.create_response(command.id, &token, &deferred).await.unwrap();
    assert_eq!(fake.original_body(&token), Some(json!({ "flags": 64 })));

    let rows: Vec<Component> = serde_json::from_value(button_rows(5, 3)).unwrap();
    let mentions: AllowedMentions =
        serde_json::from_value(json!({ "parse": [], "users": [MEMBER.to_string()] })).unwrap();
    let edited = interactions
        .update_response(&token)
        .content(Some("Queue, page 1"))
        .components(Some(&rows))
        .allowed_mentions(Some(&mentions))
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(edited.components.len(), 5, "every row comes back");
    assert_eq!(edited.flags, Some(MessageFlags::EPHEMERAL), "the edit ends thinking, stays ephemeral");
    let body = fake.original_body(&token).unwrap();
    assert_eq!(body["components"], button_rows(5, 3));
    assert_eq!(body["allowed_mentions"], json!({ "parse": [], "users": [MEMBER.to_string()] }));
    assert_eq!(body["flags"], 64, "the deferred response's fields stay merged in");

    let secret = interactions.create_followup(&token).content("only you").flags(MessageFlags::EPHEMERAL).await.unwrap();
    let secret = secret.model().await.unwrap();
    interactions.create_followup(&token).content("everyone").await.unwrap();
    let followups = fake.followups(&token);
    let seen: Vec<(&str, u64)> = followups.iter().map(|m| (m.content.as_str(), m.flags)).collect();
    assert_eq!(seen, [("only you", 64), ("everyone", 0)]);
    assert_eq!(followups[0].body["flags"], 64);
    assert_eq!(followups[0].id, secret.id.get());
    assert_eq!((followups[0].channel_id, followups[0].guild_id), (TEXT, Some(GUILD)));
    assert_eq!(fake.followup_messages(&token), ["only you", "everyone"]);

    assert!(!fake.original_deleted(&token));
    interactions.delete_followup(&token, secret.id).await.unwrap();
    interactions.delete_response(&token).await.unwrap();
    assert!(fake.original_deleted(&token));
    assert_eq!(fake.original_body(&token), None);
    assert_eq!(fake.original_message(&token), None);
    assert_eq!(fake.followup_messages(&token), ["everyone"]);
    assert_eq!(fake.deleted_messages(), [secret.id.get(), edited.id.get()]);
}

#[tokio::test]
async fn deleted_channel_messages_are_gone_and_recorded() {
    let fake = start().await;
    let client = http(&fake);
    let first = post_with_buttons(&fake).await;
    let second = client.create_message(Id::new(TEXT)).content("stays").await.unwrap().model().await.unwrap().id;

    client.delete_message(Id::new(TEXT), Id::new(first)).await.unwrap();
    let left: Vec<u64> = fake.channel_messages(TEXT).iter().map(|m| m.id).collect();
    assert_eq!(left, [second.get()]);
    assert_eq!(fake.messages_sent().len(), 1);
    assert_eq!(fake.deleted_messages(), [first]);

    let again = client.delete_message(Id::new(TEXT), Id::new(first)).await.unwrap_err();
    assert_eq!(discord_code(&again), (404, 10008));
    let elsewhere = client.delete_message(Id::new(TEXT + 1), second).await.unwrap_err();
    assert_eq!(discord_code(&elsewhere), (404, 10008), "a message is deleted in its own channel");
    let anonymous = Client::builder().proxy(fake.rest_addr(), true).ratelimiter(None).build();
    let error = anonymous.delete_message(Id::new(TEXT), second).await.unwrap_err();
    assert!(matches!(error.kind(), ErrorType::Response { status, .. } if status.get() == 401), "{error:?}");
    assert_eq!(fake.channel_messages(TEXT).len(), 1);
}

#[tokio::test]
async fn message_limits_are_refused_like_discord() {
    let fake = start().await;
    let app = fake.config().application_id;
    let refused = |result: Result<(), (u16, Value)>| -> Value {
        let (status, body) = result.expect_err("refused");
        assert_eq!((status, body["code"].as_u64()), (400, Some(50035)), "{body}");
        body["errors"].clone()
    };
    let create = || Route::CreateMessage { channel_id: TEXT };

    // The largest message Discord takes goes through.
    let largest = json!({ "content": "x".repeat(2000), "components": button_rows(5, 5) });
    raw(&fake, create(), &largest).await.unwrap();

    let errors = refused(raw(&fake, create(), &json!({ "content": "x".repeat(2001) })).await);
    assert_eq!(errors["content"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");
    let errors = refused(raw(&fake, create(), &json!({ "components": button_rows(6, 1) })).await);
    assert!(errors["components"]["_errors"].is_array(), "{errors}");
    refused(raw(&fake, create(), &json!({ "components": button_rows(1, 6) })).await);
    let message_id = fake.messages_sent()[0].id;
    let edit = Route::UpdateMessage { channel_id: TEXT, message_id };
    let mut long_id = button_rows(1, 1);
    long_id[0]["components"][0]["custom_id"] = json!("c".repeat(101));
    let errors = refused(raw(&fake, edit, &json!({ "components": long_id })).await);
    assert!(errors["components"]["0"]["components"]["0"]["custom_id"].is_object(), "{errors}");
    assert_eq!(fake.messages_sent().len(), 1, "nothing refused was stored");

    // Interaction replies: callback types 4 and 7, `@original` edits, follow-ups.
    let mut long_label = button_rows(1, 1);
    long_label[0]["components"][0]["label"] = json!("l".repeat(81));
    let command = fake.slash_command(GUILD, TEXT, MEMBER, "play", json!([]));
    let (id, token) = (command["id"].as_str().unwrap().parse().unwrap(), command["token"].as_str().unwrap());
    let callback = || Route::InteractionCallback { interaction_id: id, interaction_token: token, with_response: false };
    let reply = json!({ "type": 4, "data": { "content": "hi", "components": long_label } });
    let errors = refused(raw(&fake, callback(), &reply).await);
    assert!(errors["components"]["0"]["components"]["0"]["label"].is_object(), "{errors}");
    raw(&fake, callback(), &json!({ "type": 4, "data": { "content": "hi" } })).await.unwrap();
    let original = Route::UpdateInteractionOriginal { application_id: app, interaction_token: token };
    refused(raw(&fake, original, &json!({ "components": button_rows(6, 1) })).await);
    let followup =
        || Route::ExecuteWebhook { thread_id: None, token, wait: None, with_components: None, webhook_id: app };
    refused(raw(&fake, followup(), &json!({ "content": "x".repeat(2001) })).await);
    raw(&fake, followup(), &json!({ "content": "ok", "components": button_rows(5, 5) })).await.unwrap();
    assert_eq!(fake.followup_messages(token), ["ok"]);

    let press = fake.button_press(GUILD, TEXT, MEMBER, message_id, "b:0:0");
    let (id, token) = (press["id"].as_str().unwrap().parse().unwrap(), press["token"].as_str().unwrap());
    let update = json!({ "type": 7, "data": { "components": button_rows(1, 6) } });
    let route = Route::InteractionCallback { interaction_id: id, interaction_token: token, with_response: false };
    refused(raw(&fake, route, &update).await);
    assert_eq!(fake.interaction_response(token), None, "a refused answer acknowledges nothing");
}
