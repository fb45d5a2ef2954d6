//! Members' playlists through the handler, against a real SQLite store and
//! signed HTTP bytes: `/playlist save|show|delete|list` and `/myplaylists`
//! answered from the stores (ephemerally, nothing on the bus), loading one
//! published as its own command, and playlist names autocompleted from the
//! member's own playlists only.

mod common;

use std::sync::Arc;

use serde_json::{Value, json};
use timmybot_core::player::{Caller, Command, Context, Limits, NewTrack, Placement, PlayerState};
use timmybot_core::{
    ChannelId, GuildId, MAX_PLAYLISTS_PER_MEMBER, MemberPlaylist, PlayerStore, PlaylistEntry, PlaylistName,
    PlaylistOrigin, PlaylistStore, UserId, VoiceCommand,
};
use timmybot_embedded::SqliteStore;
use timmybot_test_support::signer::{SlashCommand, slash_command};

use common::{Harness, NOW, json_of};

fn guild() -> GuildId {
    SlashCommand::default().guild_id.unwrap()
}

fn member() -> UserId {
    SlashCommand::default().user_id
}

fn harness(store: &SqliteStore) -> Harness {
    let mut harness = Harness::new();
    harness.handler =
        harness.handler.with_player_store(Arc::new(store.clone())).with_playlist_store(Arc::new(store.clone()));
    harness
}

/// Stores the sample guild's player: "now" playing, then `titles` waiting.
async fn store_queue(store: &SqliteStore, titles: &[&str]) {
    let mut state = PlayerState::new(guild(), 100);
    let ctx = Context {
        now_ms: NOW * 1000,
        limits: Limits::default(),
        caller: Caller { user: member(), dj: true, voice_channel: ChannelId::new(77), text_channel: None },
    };
    let tracks = std::iter::once("now")
        .chain(titles.iter().copied())
        .map(|title| NewTrack {
            source: format!("https://media.example/{title}.ogg"),
            title: title.to_owned(),
            duration_ms: Some(90_000),
            requested_by: member(),
        })
        .collect();
    state.apply(Command::Enqueue { tracks, placement: Placement::End }, &ctx).unwrap();
    // Replace whatever queue is stored.
    state.version = store.load(guild()).await.unwrap().map_or(0, |stored| stored.version);
    store.save(&state).await.unwrap();
}

/// `/playlist <sub>` with `options` in the sample guild.
fn playlist(sub: &str, options: Value) -> Value {
    let mut interaction = slash_command(SlashCommand { name: "playlist".into(), ..SlashCommand::default() });
    interaction["data"]["options"] = json!([{"name": sub, "type": 1, "options": options}]);
    interaction
}

fn named(sub: &str, name: &str) -> Value {
    playlist(sub, json!([{"name": "name", "type": 3, "value": name}]))
}

fn as_member(mut interaction: Value, user: u64) -> Value {
    interaction["member"]["user"]["id"] = json!(user.to_string());
    interaction
}

/// The content of an ephemeral message reply.
async fn ephemeral(harness: &Harness, interaction: &Value) -> String {
    let reply = json_of(&harness.post(interaction).await);
    assert_eq!(reply["type"], 4, "{reply}");
    assert_eq!(reply["data"]["flags"], 64, "only the member sees it: {reply}");
    assert_eq!(reply["data"]["allowed_mentions"], json!({"parse": []}));
    reply["data"]["content"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn save_show_list_and_delete_are_answered_from_the_stores() {
    let store = SqliteStore::in_memory().unwrap();
    let h = harness(&store);
    store_queue(&store, &["Intro", "*Bold* Song"]).await;

    let saved = ephemeral(&h, &named("save", " Road Trip ")).await;
    assert_eq!(saved, "Saved your playlist **Road Trip** (3 tracks). Play it in any server with `/play playlist:`.");
    let stored = store.load_playlist(member(), &PlaylistName::parse("road trip").unwrap()).await.unwrap().unwrap();
    let titles: Vec<&str> = stored.entries.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(titles, ["now", "Intro", "*Bold* Song"], "the current track, then the waiting ones");
    assert_eq!(stored.entries[1].source.as_deref(), Some("https://media.example/Intro.ogg"));
    assert_eq!(stored.origin, PlaylistOrigin::Saved);
    assert_eq!(stored.updated_at_ms, NOW * 1000);

    let shown = ephemeral(&h, &named("show", "ROAD TRIP")).await;
    assert!(shown.starts_with("**Road Trip** · 3 tracks · 4:30 · saved from a queue\n"), "{shown}");
    assert!(shown.contains("`3` \\*Bold\\* Song · 1:30"), "third-party titles are escaped: {shown}");

    store_queue(&store, &["Other"]).await;
    let replaced = ephemeral(&h, &named("save", "road trip")).await;
    assert!(replaced.starts_with("Replaced your playlist **road trip** (2 tracks)"), "{replaced}");

    let listed = ephemeral(&h, &playlist("list", json!([]))).await;
    assert!(
        listed.starts_with("Your playlists (1 of 200):\n• **road trip** · 2 tracks · saved from a queue"),
        "{listed}"
    );
    let mine =
        ephemeral(&h, &slash_command(SlashCommand { name: "myplaylists".into(), ..SlashCommand::default() })).await;
    assert_eq!(mine, listed, "/myplaylists is /playlist list");

    assert_eq!(ephemeral(&h, &named("delete", "Road Trip")).await, "Deleted your playlist **Road Trip**.");
    let again = ephemeral(&h, &named("delete", "Road Trip")).await;
    assert_eq!(again, "You have no playlist called **Road Trip**. `/playlist list` shows yours.");
    assert!(ephemeral(&h, &named("show", "Road Trip")).await.starts_with("You have no playlist called"));
    assert!(ephemeral(&h, &playlist("list", json!([]))).await.starts_with("You have no playlists yet"));
    assert!(h.published().is_empty(), "nothing went over the bus");
}

#[tokio::test]
async fn an_empty_queue_saves_nothing_and_bad_names_are_refused() {
    let store = SqliteStore::in_memory().unwrap();
    let h = harness(&store);
    let empty = ephemeral(&h, &named("save", "Nothing")).await;
    assert!(empty.starts_with("The queue is empty"), "{empty}");
    assert_eq!(store.playlists(member()).await.unwrap(), []);
    store_queue(&store, &[]).await;
    let blank = ephemeral(&h, &named("save", "   ")).await;
    assert_eq!(blank, "That name will not do: a playlist needs a name.");
    let long = ephemeral(&h, &named("save", &"n".repeat(101))).await;
    assert_eq!(long, "That name will not do: a playlist's name is at most 100 characters.");
    assert_eq!(store.playlists(member()).await.unwrap(), []);
}

#[tokio::test]
async fn a_member_at_the_cap_is_told_and_nothing_is_written() {
    let store = SqliteStore::in_memory().unwrap();
    let h = harness(&store);
    for i in 0..MAX_PLAYLISTS_PER_MEMBER {
        let playlist = MemberPlaylist {
            owner: member(),
            name: PlaylistName::parse(&format!("p{i}")).unwrap(),
            origin: PlaylistOrigin::File,
            entries: vec![PlaylistEntry::metadata("t", "a", None, None)],
            updated_at_ms: 0,
        };
        store.save_playlist(&playlist).await.unwrap();
    }
    store_queue(&store, &["x"]).await;
    let refused = ephemeral(&h, &named("save", "one more")).await;
    assert!(refused.starts_with("You have 200 playlists, the most one member keeps"), "{refused}");
    assert_eq!(store.playlists(member()).await.unwrap().len(), MAX_PLAYLISTS_PER_MEMBER);
    let replaced = ephemeral(&h, &named("save", "P7")).await;
    assert!(replaced.starts_with("Replaced your playlist **P7**"), "replacing still works: {replaced}");
}

#[tokio::test]
async fn loading_goes_over_the_bus_carrying_only_the_name() {
    let store = SqliteStore::in_memory().unwrap();
    let h = harness(&store);
    let mut load = named("load", " Road Trip ");
    load["data"]["options"][0]["options"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "now", "type": 5, "value": true}));
    let reply = json_of(&h.post(&load).await);
    assert_eq!(reply, json!({"type": 5, "data": {"flags": 64}}));
    let play = slash_command(SlashCommand {
        name: "play".into(),
        options: vec![("playlist".into(), json!("Chill"))],
        ..SlashCommand::default()
    });
    assert_eq!(json_of(&h.post(&play).await), json!({"type": 5, "data": {"flags": 64}}));
    let published = h.published();
    assert_eq!(
        published[0].command,
        VoiceCommand::PlayPlaylist { name: PlaylistName::parse("Road Trip").unwrap(), placement: Placement::Now }
    );
    assert_eq!(published[0].user_id, member(), "the gateway loads the sender's playlist");
    assert_eq!(
        published[1].command,
        VoiceCommand::PlayPlaylist { name: PlaylistName::parse("Chill").unwrap(), placement: Placement::End }
    );
    let both = slash_command(SlashCommand {
        name: "play".into(),
        options: vec![("playlist".into(), json!("Chill")), ("query".into(), json!("jazz"))],
        ..SlashCommand::default()
    });
    assert_eq!(ephemeral(&h, &both).await, "Give me one thing to play: a query, a file or one of your playlists.");
    assert_eq!(h.published().len(), 2);
}

#[tokio::test]
async fn playlist_names_are_suggested_from_the_members_own_playlists() {
    let store = SqliteStore::in_memory().unwrap();
    let h = harness(&store);
    let save = |owner: UserId, name: &str| {
        let store = store.clone();
        let name = name.to_owned();
        async move {
            let playlist = MemberPlaylist {
                owner,
                name: PlaylistName::parse(&name).unwrap(),
                origin: PlaylistOrigin::Saved,
                entries: vec![],
                updated_at_ms: 0,
            };
            store.save_playlist(&playlist).await.unwrap();
        }
    };
    save(member(), "Road Trip").await;
    save(member(), "Chill").await;
    let other = UserId::new(4242).unwrap();
    save(other, "Road Rage").await;

    let mut typed = named("load", "ro");
    typed["type"] = json!(4);
    typed["data"]["options"][0]["options"][0]["focused"] = json!(true);
    let reply = json_of(&h.post(&typed).await);
    assert_eq!(reply, json!({"type": 8, "data": {"choices": [{"name": "Road Trip", "value": "Road Trip"}]}}));
    let theirs = json_of(&h.post(&as_member(typed.clone(), 4242)).await);
    assert_eq!(theirs["data"]["choices"], json!([{"name": "Road Rage", "value": "Road Rage"}]));

    let mut on_play = slash_command(SlashCommand { name: "play".into(), ..SlashCommand::default() });
    on_play["type"] = json!(4);
    on_play["data"]["options"] = json!([{"name": "playlist", "type": 3, "value": "", "focused": true}]);
    let all = json_of(&h.post(&on_play).await);
    assert_eq!(all["data"]["choices"].as_array().unwrap().len(), 2, "{all}");
}

#[tokio::test]
async fn without_a_playlist_store_the_member_is_told_it_is_unavailable() {
    let h = Harness::new();
    let reply = ephemeral(&h, &playlist("list", json!([]))).await;
    assert_eq!(reply, "The player's data is unavailable right now, try again in a moment.");
}
