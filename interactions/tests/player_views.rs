//! What the handler answers from the stores itself (the queue views, page
//! buttons, position autocomplete, `/settings`), and what it puts on the
//! bus (player commands and controller buttons), against a real SQLite
//! store and signed HTTP bytes.

mod common;

use std::sync::Arc;

use serde_json::{Value, json};
use timmybot_core::player::{Caller, Command, Context, Limits, NewTrack, Placement, PlayerState, messages::controls};
use timmybot_core::{
    ChannelId, CommandOrigin, GuildId, GuildSettings, PlayerStore, RoleId, SettingsStore, UserId, VoiceCommand,
};
use timmybot_embedded::SqliteStore;
use timmybot_test_support::signer::{SlashCommand, slash_command};

use common::{Harness, NOW, json_of};

/// The guild every sample interaction is in.
fn guild() -> GuildId {
    SlashCommand::default().guild_id.unwrap()
}

fn member() -> UserId {
    SlashCommand::default().user_id
}

struct Views {
    harness: Harness,
    store: SqliteStore,
}

fn views() -> Views {
    let store = SqliteStore::in_memory().unwrap();
    let mut harness = Harness::new();
    harness.handler =
        harness.handler.with_player_store(Arc::new(store.clone())).with_settings_store(Arc::new(store.clone()));
    Views { harness, store }
}

/// Stores a player in the sample guild playing "now" with `waiting` tracks
/// queued ("t1".."tN", one minute each).
async fn store_player(store: &SqliteStore, waiting: usize) -> PlayerState {
    let mut state = PlayerState::new(guild(), 100);
    let ctx = Context {
        now_ms: NOW * 1000,
        limits: Limits::default(),
        caller: Caller { user: member(), dj: true, voice_channel: ChannelId::new(77), text_channel: None },
    };
    let track = |title: String| NewTrack {
        source: format!("{title}.wav"),
        title,
        duration_ms: Some(60_000),
        requested_by: member(),
    };
    let mut tracks = vec![track("now".into())];
    tracks.extend((1..=waiting).map(|n| track(format!("t{n}"))));
    state.apply(Command::Enqueue { tracks, placement: Placement::End }, &ctx).unwrap();
    let version = store.save(&state).await.unwrap();
    state.version = version;
    state
}

fn with_permissions(mut interaction: Value, bits: u64) -> Value {
    interaction["member"]["permissions"] = json!(bits.to_string());
    interaction
}

fn command(name: &str, options: Vec<(&str, Value)>) -> Value {
    slash_command(SlashCommand {
        name: name.into(),
        options: options.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        ..SlashCommand::default()
    })
}

/// A button press (type 3) in the sample guild.
fn button(custom_id: &str) -> Value {
    let mut interaction = command("unused", vec![]);
    interaction["type"] = json!(3);
    interaction["data"] = json!({"custom_id": custom_id, "component_type": 2});
    interaction["message"] = json!({"id": "1700000000000000001", "channel_id": "1400000000000000001"});
    interaction
}

/// An autocomplete (type 4) of `option` on `/name`, typed so far `typed`.
fn autocomplete(name: &str, option: &str, typed: &str) -> Value {
    let mut interaction = command(name, vec![]);
    interaction["type"] = json!(4);
    interaction["data"]["options"] = json!([{"name": option, "type": 4, "value": typed, "focused": true}]);
    interaction
}

fn content(body: &Value) -> &str {
    body["data"]["content"].as_str().unwrap_or_else(|| panic!("no content in {body}"))
}

#[tokio::test]
async fn the_queue_is_answered_from_the_store_for_everyone_and_pages_with_buttons() {
    let v = views();
    store_player(&v.store, 25).await;
    let reply = json_of(&v.harness.post(&command("queue", vec![])).await);
    assert_eq!(reply["type"], 4);
    assert!(reply["data"].get("flags").is_none(), "public: {reply}");
    let text = content(&reply);
    assert!(text.contains("`#1` **t1** (1:00)") && text.contains("`#10` **t10**") && !text.contains("`#11`"), "{text}");
    assert!(text.contains("25 tracks waiting · total 25:00") && text.contains("page 1/3"), "{text}");
    assert_eq!(reply["data"]["allowed_mentions"], json!({"parse": []}));
    let next = reply["data"]["components"][0]["components"][0]["custom_id"].as_str().unwrap().to_owned();
    assert!(v.harness.published().is_empty(), "no bus round trip");

    let page = json_of(&v.harness.post(&button(&next)).await);
    assert_eq!(page["type"], 7, "the page button edits the message it is on");
    assert!(content(&page).contains("`#11` **t11**") && content(&page).contains("page 2/3"));

    let third = json_of(&v.harness.post(&command("queue", vec![("page", json!(3))])).await);
    assert!(content(&third).contains("`#25` **t25**") && content(&third).contains("page 3/3"));
}

#[tokio::test]
async fn nowplaying_and_history_come_from_the_store() {
    let v = views();
    let mut state = store_player(&v.store, 1).await;
    let now = json_of(&v.harness.post(&command("nowplaying", vec![])).await);
    assert!(content(&now).contains("**now**") && content(&now).contains("Next: **t1**"), "{now}");

    let empty = json_of(&v.harness.post(&command("history", vec![])).await);
    assert_eq!(content(&empty), "Nothing has been played yet.");
    state.history.push(state.upcoming[0].clone());
    let id = state.history[0].id;
    state.version = v.store.save(&state).await.unwrap();
    let history = json_of(&v.harness.post(&command("history", vec![])).await);
    assert!(content(&history).contains("`1` **t1**"), "{history}");
    let custom_id = history["data"]["components"][0]["components"][0]["custom_id"].as_str().unwrap();

    // Its button queues the track again through the player.
    let pressed = json_of(&v.harness.post(&button(custom_id)).await);
    assert_eq!(pressed, json!({"type": 5, "data": {"flags": 64}}));
    let published = v.harness.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].command, VoiceCommand::Requeue { track: id });
    assert_eq!(published[0].origin, CommandOrigin::Button);
}

#[tokio::test]
async fn position_autocomplete_lists_matching_tracks_within_discords_limits() {
    let v = views();
    store_player(&v.store, 40).await;
    let all = json_of(&v.harness.post(&autocomplete("skipto", "position", "")).await);
    assert_eq!(all["type"], 8);
    let choices = all["data"]["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 25, "at most 25 choices");
    assert_eq!(choices[0], json!({"name": "#1 t1 (1:00)", "value": 1}));
    let some = json_of(&v.harness.post(&autocomplete("remove", "position", "3")).await);
    let values: Vec<u64> =
        some["data"]["choices"].as_array().unwrap().iter().map(|c| c["value"].as_u64().unwrap()).collect();
    assert_eq!(values, vec![3, 13, 23, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39], "by number or by title");
    // Another option, or a guild without a player, gets no suggestions.
    let other = json_of(&v.harness.post(&autocomplete("volume", "percent", "")).await);
    assert_eq!(other, json!({"type": 8, "data": {"choices": []}}));
}

#[tokio::test]
async fn controller_buttons_and_player_commands_go_on_the_bus_with_the_members_roles() {
    let v = views();
    let mut press = button(controls::SKIP);
    press["member"]["roles"] = json!(["900", "901"]);
    let reply = json_of(&v.harness.post(&press).await);
    assert_eq!(reply, json!({"type": 5, "data": {"flags": 64}}), "only the presser sees the outcome");
    let volume =
        json_of(&v.harness.post(&with_permissions(command("volume", vec![("percent", json!(150))]), 32)).await);
    assert_eq!(volume, json!({"type": 5, "data": {"flags": 64}}));
    let published = v.harness.published();
    assert_eq!(published[0].command, VoiceCommand::Skip);
    assert_eq!(published[0].member_roles, vec![RoleId::new(900).unwrap(), RoleId::new(901).unwrap()]);
    assert_eq!(published[1].command, VoiceCommand::Volume { percent: 150 });
    assert_eq!(published[1].member_permissions, 32);
    assert_eq!(published[1].origin, CommandOrigin::SlashCommand);

    for (custom_id, expected) in [
        (controls::PAUSE, VoiceCommand::TogglePause),
        (controls::STOP, VoiceCommand::Stop),
        (controls::LOOP, VoiceCommand::CycleLoop),
        (controls::SHUFFLE, VoiceCommand::Shuffle),
    ] {
        v.harness.post(&button(custom_id)).await;
        assert_eq!(v.harness.published().last().unwrap().command, expected, "{custom_id}");
    }
    let unknown = json_of(&v.harness.post(&button("player:explode")).await);
    assert_eq!(content(&unknown), "That button no longer does anything.");
}

#[tokio::test]
async fn library_and_its_page_buttons_go_on_the_bus_and_a_page_button_edits_its_message() {
    let v = views();
    let listed = json_of(&v.harness.post(&command("library", vec![("query", json!(" night "))])).await);
    assert_eq!(listed, json!({"type": 5, "data": {"flags": 64}}), "only the member sees the list");
    let paged = json_of(&v.harness.post(&button("library:page:3:night drive")).await);
    assert_eq!(paged, json!({"type": 6}), "the gateway edits the page the button is on");
    let everything = json_of(&v.harness.post(&button("library:page:2:")).await);
    assert_eq!(everything, json!({"type": 6}));
    let queued = json_of(&v.harness.post(&button("search:play:lib:0123456789abcdef")).await);
    assert_eq!(queued, json!({"type": 5, "data": {"flags": 64}}));
    let published: Vec<VoiceCommand> = v.harness.published().into_iter().map(|m| m.command).collect();
    assert_eq!(
        published,
        [
            VoiceCommand::Library { query: Some("night".into()), page: 1 },
            VoiceCommand::Library { query: Some("night drive".into()), page: 3 },
            VoiceCommand::Library { query: None, page: 2 },
            VoiceCommand::Play { query: "lib:0123456789abcdef".into(), placement: Placement::End },
        ]
    );
    assert_eq!(v.harness.published()[1].origin, CommandOrigin::Button);
    let bad = json_of(&v.harness.post(&button("library:page:0:x")).await);
    assert_eq!(content(&bad), "That button no longer does anything.");
    assert_eq!(v.harness.published().len(), 4);
}

#[tokio::test]
async fn bad_options_are_refused_before_the_bus_with_their_own_message() {
    let v = views();
    let cases = [
        (command("volume", vec![("percent", json!(999))]), "Volume goes from 0 to 200%."),
        (command("skipto", vec![("position", json!(0))]), "Positions start at 1, as `/queue` shows them."),
        (
            command("seek", vec![("position", json!("later"))]),
            "Give a time like `1:23`, or seconds to jump from here: `+30` forward, `-10` back.",
        ),
        (command("loop", vec![("mode", json!("always"))]), "Loop can be `off`, `track` or `queue`."),
        (command("move", vec![("from", json!(2))]), "That command needs a to. Try /help."),
    ];
    for (interaction, expected) in cases {
        let reply = json_of(&v.harness.post(&interaction).await);
        assert_eq!(reply["data"]["flags"], 64, "{reply}");
        assert_eq!(content(&reply), expected);
    }
    assert!(v.harness.published().is_empty());
}

#[tokio::test]
async fn settings_need_manage_server_check_bounds_and_are_stored() {
    let v = views();
    let refused = json_of(&v.harness.post(&command("settings", vec![("fair_queue", json!(true))])).await);
    assert_eq!(content(&refused), "Only members with the Manage Server permission can do that.");
    assert_eq!(v.store.load_settings(guild()).await.unwrap(), None, "nothing stored");

    let shown = json_of(&v.harness.post(&with_permissions(command("settings", vec![]), 32)).await);
    assert!(content(&shown).contains("DJ role: none (everyone may)"), "{shown}");
    assert_eq!(shown["data"]["flags"], 64);

    let too_loud = with_permissions(command("settings", vec![("default_volume", json!(999))]), 32);
    assert_eq!(
        content(&json_of(&v.harness.post(&too_loud).await)),
        "`default_volume` must be between 0 and 200. Nothing was changed."
    );
    assert_eq!(v.store.load_settings(guild()).await.unwrap(), None);

    let change = with_permissions(
        command(
            "settings",
            vec![
                ("dj_role", json!("4242")),
                ("idle_minutes", json!(0)),
                ("alone_minutes", json!(10)),
                ("always_on", json!(true)),
                ("fair_queue", json!(true)),
                ("max_queue", json!(50)),
            ],
        ),
        8, // Administrator implies Manage Server
    );
    let saved = json_of(&v.harness.post(&change).await);
    assert!(content(&saved).starts_with("Settings saved.\n"), "{saved}");
    let stored = v.store.load_settings(guild()).await.unwrap().expect("stored");
    let expected = GuildSettings {
        dj_role: RoleId::new(4242),
        idle_leave_secs: 0,
        alone_leave_secs: 600,
        always_on: true,
        fair_queue: true,
        max_queue_len: 50,
        version: stored.version,
        ..GuildSettings::defaults(guild())
    };
    assert_eq!(stored, expected);
    let cleared = with_permissions(command("settings", vec![("clear_dj_role", json!(true))]), 32);
    v.harness.post(&cleared).await;
    assert_eq!(v.store.load_settings(guild()).await.unwrap().unwrap().dj_role, None);
    assert!(v.harness.published().is_empty(), "settings never go over the bus");
}
