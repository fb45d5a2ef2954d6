//! The DynamoDB player layout seen from below the port, on DynamoDB Local
//! through the raw SDK: item sizes, how many items each common change
//! rewrites, the documented keys, and items of other schema versions.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use timmybot_aws::{DynamoStore, DynamoTables, create_tables};
use timmybot_core::player::{LegacyTrack, PlayerState};
use timmybot_core::{GuildId, PlayerStore, SettingsStore, StoreErrorKind, UserId};
use timmybot_test_support::contract::player_store::{
    LONG_QUEUE, advance, full_state, largest_track, maximum_state, track,
};
use timmybot_test_support::contract::{random_guild, random_user, settings_store};
use timmybot_test_support::emulators::{Emulators, unique_name};

type Item = HashMap<String, AttributeValue>;

/// DynamoDB's item limit is 400 KB; stay well clear of it.
const ITEM_BUDGET: usize = 350_000;

async fn store() -> (DynamoStore, Client) {
    let client = Client::new(&Emulators::from_env().sdk_config());
    let tables = DynamoTables::with_prefix(&format!("{}-", unique_name("layout")));
    create_tables(&client, &tables).await.expect("tables created on DynamoDB Local");
    (DynamoStore::new(client.clone(), tables), client)
}

/// Every item of `partition`, by sort key.
async fn partition(store: &DynamoStore, client: &Client, partition: &str) -> HashMap<String, Item> {
    let mut items = HashMap::new();
    let mut start = None;
    loop {
        let output = client
            .query()
            .table_name(&store.tables().guild_queues)
            .key_condition_expression("guild_id = :g")
            .expression_attribute_values(":g", AttributeValue::S(partition.to_owned()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in output.items.unwrap_or_default() {
            let Some(AttributeValue::S(pos)) = item.get("pos") else { panic!("item without pos") };
            items.insert(pos.clone(), item);
        }
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return items,
        }
    }
}

/// An item's size as DynamoDB counts it (attribute names and values in
/// bytes, numbers by their digits, lists and maps with their overhead),
/// rounded up where the documentation leaves room.
fn item_size(item: &Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len() / 2 + 2,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => 3 + map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| n.len() / 2 + 2).sum(),
        other => panic!("unexpected attribute {other:?}"),
    }
}

/// How the partition changed: items added, removed, and rewritten.
#[derive(Debug, Default)]
struct Changes {
    head_changed: bool,
    pages_added: usize,
    pages_removed: usize,
    pages_rewritten: usize,
}

impl Changes {
    fn pages(&self) -> usize {
        self.pages_added + self.pages_removed + self.pages_rewritten
    }
}

fn changes(before: &HashMap<String, Item>, after: &HashMap<String, Item>) -> Changes {
    let mut changes = Changes { head_changed: before.get("head") != after.get("head"), ..Changes::default() };
    for (pos, item) in after {
        if pos == "head" {
            continue;
        }
        match before.get(pos) {
            None => changes.pages_added += 1,
            Some(old) if old != item => changes.pages_rewritten += 1,
            Some(_) => {}
        }
    }
    changes.pages_removed = before.keys().filter(|pos| *pos != "head" && !after.contains_key(*pos)).count();
    changes
}

/// Saves `state` as changed by `edit` and returns the changes to the
/// partition; the stored state must load back as saved.
async fn edit(
    store: &DynamoStore,
    client: &Client,
    state: &mut PlayerState,
    what: &str,
    edit: impl FnOnce(&mut PlayerState),
) -> Changes {
    let guild = state.guild_id.to_string();
    let before = partition(store, client, &guild).await;
    edit(state);
    state.version = store.save(state).await.expect("save succeeds");
    let after = partition(store, client, &guild).await;
    assert!(store.load(state.guild_id).await.unwrap().as_ref() == Some(&*state), "{what}: round trip");
    let changes = changes(&before, &after);
    println!("{what}: {changes:?}");
    changes
}

#[tokio::test]
async fn no_item_of_the_largest_player_comes_near_the_item_limit() {
    let (store, client) = store().await;
    let mut state = maximum_state(random_guild());
    // The save itself proves each item is under 400 KB: DynamoDB Local
    // refuses larger ones.
    state.version = store.save(&state).await.expect("the largest player is stored");
    let items = partition(&store, &client, &state.guild_id.to_string()).await;
    let (largest_pos, largest) =
        items.iter().map(|(pos, item)| (pos.clone(), item_size(item))).max_by_key(|(_, size)| *size).unwrap();
    let head = item_size(&items["head"]);
    println!(
        "largest player: {} items, largest {largest_pos} at {:.1} KB, head {:.1} KB, total {:.1} KB",
        items.len(),
        largest as f64 / 1000.0,
        head as f64 / 1000.0,
        items.values().map(item_size).sum::<usize>() as f64 / 1000.0
    );
    assert!(largest < ITEM_BUDGET, "{largest_pos} is {largest} bytes");
    assert!(items.len() > 2, "the queue is split into pages");
    assert!(store.load(state.guild_id).await.unwrap().as_ref() == Some(&state));

    // The common changes on it stay as small.
    let advanced = edit(&store, &client, &mut state, "largest player advanced", advance).await;
    assert!(advanced.head_changed && advanced.pages() <= 2, "{advanced:?}");
    let appended = edit(&store, &client, &mut state, "largest player appended", |s| {
        s.upcoming.push(largest_track(u64::MAX - 77));
    })
    .await;
    assert!(appended.head_changed && appended.pages() <= 2, "{appended:?}");
}

#[tokio::test]
async fn advancing_appending_and_volume_rewrite_the_head_and_at_most_two_pages() {
    let (store, client) = store().await;
    let guild = random_guild();
    let user = random_user();
    let mut state = full_state(guild, LONG_QUEUE);
    state.version = store.save(&state).await.unwrap();
    let pages = partition(&store, &client, &guild.to_string()).await.len() - 1;
    assert!(pages > 8, "{LONG_QUEUE} tracks make many pages, not {pages}");

    for round in 0..5 {
        let advanced = edit(&store, &client, &mut state, &format!("advance {round}"), advance).await;
        assert!(advanced.head_changed && advanced.pages() <= 2, "advance {round}: {advanced:?}");
        assert_eq!(advanced.pages_rewritten, 0, "pages are never rewritten in place");

        let appended = edit(&store, &client, &mut state, &format!("append {round}"), |s| {
            s.upcoming.push(track(s.next_track_id, user));
            s.next_track_id += 1;
        })
        .await;
        assert!(appended.head_changed && appended.pages() <= 2, "append {round}: {appended:?}");
    }
    let volume = edit(&store, &client, &mut state, "volume", |s| s.volume = 33).await;
    assert!(volume.head_changed && volume.pages() == 0, "{volume:?}");
    let paused = edit(&store, &client, &mut state, "pause", |s| s.paused = !s.paused).await;
    assert!(paused.head_changed && paused.pages() == 0, "{paused:?}");
    let next = edit(&store, &client, &mut state, "play next", |s| {
        s.upcoming.insert(0, track(s.next_track_id, user));
        s.next_track_id += 1;
    })
    .await;
    assert!(next.head_changed && next.pages() <= 2, "{next:?}");
    let removed = edit(&store, &client, &mut state, "first removed", |s| {
        s.upcoming.remove(0);
    })
    .await;
    assert!(removed.head_changed && removed.pages() <= 3, "{removed:?}");
}

#[tokio::test]
async fn pages_are_the_only_other_items_and_only_an_active_head_is_indexed() {
    let (store, client) = store().await;
    let mut state = full_state(random_guild(), LONG_QUEUE);
    state.version = store.save(&state).await.unwrap();
    let items = partition(&store, &client, &state.guild_id.to_string()).await;
    let head = &items["head"];
    assert_eq!(head.get(timmybot_aws::ACTIVE_ATTRIBUTE), Some(&AttributeValue::S("active".into())));
    assert_eq!(head.get("schema_version"), Some(&AttributeValue::N("2".into())));
    assert_eq!(head.get("version"), Some(&AttributeValue::N("1".into())));
    assert!(!head.contains_key("upcoming"), "the upcoming tracks live in pages");
    let Some(AttributeValue::L(listed)) = head.get("pages") else { panic!("the head lists its pages") };
    assert_eq!(listed.len(), items.len() - 1, "every other item is a listed page");
    for (pos, item) in &items {
        if pos != "head" {
            assert!(pos.starts_with("page#"), "{pos}");
            assert!(!item.contains_key(timmybot_aws::ACTIVE_ATTRIBUTE), "pages stay out of the index");
        }
    }

    state.voice_channel = None;
    state.version = store.save(&state).await.unwrap();
    let items = partition(&store, &client, &state.guild_id.to_string()).await;
    assert!(!items["head"].contains_key(timmybot_aws::ACTIVE_ATTRIBUTE), "an inactive head leaves the index");
}

#[tokio::test]
async fn lost_saves_and_deletes_leave_no_page_behind() {
    let (store, client) = store().await;
    let store = std::sync::Arc::new(store);
    let guild = random_guild();
    let mut state = full_state(guild, LONG_QUEUE);
    state.version = store.save(&state).await.unwrap();
    for round in 0..5u64 {
        let writers: Vec<_> = (0..2u64)
            .map(|n| {
                let (store, mut state) = (std::sync::Arc::clone(&store), state.clone());
                tokio::spawn(async move {
                    state.upcoming.insert(0, track(10_000 + round * 10 + n, UserId::new(5).unwrap()));
                    store.save(&state).await
                })
            })
            .collect();
        for writer in writers {
            match writer.await.unwrap() {
                Ok(_) => {}
                Err(e) => assert_eq!(e.kind(), StoreErrorKind::Conflict),
            }
        }
        state = store.load(guild).await.unwrap().unwrap();
        let items = partition(&store, &client, &guild.to_string()).await;
        let Some(AttributeValue::L(listed)) = items["head"].get("pages") else { panic!("pages listed") };
        assert_eq!(listed.len(), items.len() - 1, "round {round}: only listed pages remain");
    }
    store.delete(guild).await.unwrap();
    assert!(partition(&store, &client, &guild.to_string()).await.is_empty(), "delete removes every item");
}

/// A page no head lists is garbage once old (a writer stopped between its
/// pages and its head); a young one may be a save about to land.
#[tokio::test]
async fn delete_sweeps_old_unlisted_pages_and_keeps_young_ones() {
    let (store, client) = store().await;
    let guild = random_guild();
    let page = |pos: &str| {
        HashMap::from([
            ("guild_id".to_owned(), AttributeValue::S(guild.to_string())),
            ("pos".to_owned(), AttributeValue::S(pos.to_owned())),
            ("schema_version".to_owned(), AttributeValue::N("2".into())),
            ("tracks".to_owned(), AttributeValue::L(Vec::new())),
        ])
    };
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let old = "page#001700000000000-00000000000000aa#0000".to_owned();
    let young = format!("page#{now_ms:015}-00000000000000bb#0000");
    for pos in [&old, &young] {
        client.put_item().table_name(&store.tables().guild_queues).set_item(Some(page(pos))).send().await.unwrap();
    }
    let mut state = full_state(guild, 3);
    state.version = store.save(&state).await.unwrap();
    assert!(store.load(guild).await.unwrap().as_ref() == Some(&state), "unlisted pages are ignored");
    store.delete(guild).await.unwrap();
    let left: Vec<String> = partition(&store, &client, &guild.to_string()).await.into_keys().collect();
    assert_eq!(left, [young]);
}

fn legacy_head(guild: GuildId, schema_version: u32) -> Item {
    let track = |source: &str, title: &str, by: &str| {
        AttributeValue::M(HashMap::from([
            ("source".to_owned(), AttributeValue::S(source.to_owned())),
            ("title".to_owned(), AttributeValue::S(title.to_owned())),
            ("requested_by".to_owned(), AttributeValue::S(by.to_owned())),
        ]))
    };
    HashMap::from([
        ("guild_id".to_owned(), AttributeValue::S(guild.to_string())),
        ("pos".to_owned(), AttributeValue::S("head".to_owned())),
        ("version".to_owned(), AttributeValue::N("6".to_owned())),
        ("schema_version".to_owned(), AttributeValue::N(schema_version.to_string())),
        ("now_playing".to_owned(), track("https://a.example/1.mp3", "One «1» 🎵", "7")),
        (
            "upcoming".to_owned(),
            AttributeValue::L(vec![track("/media/2.ogg", "  Two\n", "8"), track("https://b.example/3", "Three", "7")]),
        ),
    ])
}

/// A head exactly as the queue store wrote it before the queue engine.
#[tokio::test]
async fn schema_one_head_loads_as_from_legacy_makes_it_and_saves_over() {
    let (store, client) = store().await;
    let guild = random_guild();
    let table = &store.tables().guild_queues;
    client.put_item().table_name(table).set_item(Some(legacy_head(guild, 1))).send().await.unwrap();
    let user = |id| UserId::new(id).unwrap();
    let legacy = |source: &str, title: &str, by| LegacyTrack {
        source: source.into(),
        title: title.into(),
        requested_by: user(by),
    };
    let expected = PlayerState::from_legacy(
        guild,
        6,
        vec![
            legacy("https://a.example/1.mp3", "One «1» 🎵", 7),
            legacy("/media/2.ogg", "  Two\n", 8),
            legacy("https://b.example/3", "Three", 7),
        ],
    );
    let loaded = store.load(guild).await.unwrap().expect("the legacy queue is a player");
    assert_eq!(loaded, expected);

    // A writer that read the legacy head saves over it; one that read it
    // and lost to that save gets a conflict.
    let mut next = loaded.clone();
    next.volume = 80;
    assert_eq!(store.save(&next).await.unwrap(), 7);
    assert_eq!(store.save(&loaded).await.unwrap_err().kind(), StoreErrorKind::Conflict);
    let head = &partition(&store, &client, &guild.to_string()).await["head"];
    assert_eq!(head.get("schema_version"), Some(&AttributeValue::N("2".into())));
    assert!(!head.contains_key("upcoming") && !head.contains_key("now_playing"));
    assert_eq!(store.load(guild).await.unwrap(), Some(PlayerState { version: 7, ..next }));
}

#[tokio::test]
async fn head_or_page_from_a_newer_schema_is_corrupt_not_misread() {
    let (store, client) = store().await;
    let table = &store.tables().guild_queues;
    let guild = random_guild();
    client.put_item().table_name(table).set_item(Some(legacy_head(guild, 3))).send().await.unwrap();
    assert_eq!(store.load(guild).await.unwrap_err().kind(), StoreErrorKind::Corrupt);
    let state = PlayerState { version: 6, ..full_state(guild, 1) };
    assert_eq!(store.save(&state).await.unwrap_err().kind(), StoreErrorKind::Corrupt, "never written over");

    let guild = random_guild();
    let mut state = full_state(guild, 40);
    state.version = store.save(&state).await.unwrap();
    let items = partition(&store, &client, &guild.to_string()).await;
    let (_, mut page) = items.into_iter().find(|(pos, _)| pos.starts_with("page#")).unwrap();
    page.insert("schema_version".to_owned(), AttributeValue::N("3".into()));
    client.put_item().table_name(table).set_item(Some(page)).send().await.unwrap();
    assert_eq!(store.load(guild).await.unwrap_err().kind(), StoreErrorKind::Corrupt);
}

#[tokio::test]
async fn a_page_that_does_not_match_its_hash_is_corrupt() {
    let (store, client) = store().await;
    let guild = random_guild();
    let mut state = full_state(guild, 40);
    state.version = store.save(&state).await.unwrap();
    let items = partition(&store, &client, &guild.to_string()).await;
    let (_, mut page) = items.into_iter().find(|(pos, _)| pos.starts_with("page#")).unwrap();
    let Some(AttributeValue::L(tracks)) = page.get_mut("tracks") else { panic!("a page holds tracks") };
    let Some(AttributeValue::M(first)) = tracks.first_mut() else { panic!("a track is a map") };
    first.insert("title".to_owned(), AttributeValue::S("tampered".into()));
    client.put_item().table_name(&store.tables().guild_queues).set_item(Some(page)).send().await.unwrap();
    assert_eq!(store.load(guild).await.unwrap_err().kind(), StoreErrorKind::Corrupt);
}

#[tokio::test]
async fn alive_mark_and_settings_sit_at_the_documented_keys() {
    let (store, client) = store().await;
    store.mark_alive(1_790_000_000_123).await.unwrap();
    let alive = &partition(&store, &client, "deployment").await["alive"];
    assert_eq!(alive.get("at_ms"), Some(&AttributeValue::N("1790000000123".into())));
    assert_eq!(alive.get("schema_version"), Some(&AttributeValue::N("2".into())));

    let guild = random_guild();
    store.save_settings(&settings_store::changed_settings(guild)).await.unwrap();
    let key = HashMap::from([
        ("guild_id".to_owned(), AttributeValue::S(guild.to_string())),
        ("kind".to_owned(), AttributeValue::S("settings".to_owned())),
    ]);
    let item = client.get_item().table_name(&store.tables().guilds).set_key(Some(key)).send().await.unwrap();
    let item = item.item.expect("settings item");
    assert_eq!(item.get("version"), Some(&AttributeValue::N("1".into())));
    assert_eq!(item.get("schema_version"), Some(&AttributeValue::N(timmybot_core::SCHEMA_VERSION.to_string())));
    assert!(!item.contains_key("allowlist_state"), "settings stay out of the allowlist index");
}

#[tokio::test]
async fn settings_from_a_newer_schema_are_corrupt() {
    let (store, client) = store().await;
    let guild = random_guild();
    let item = HashMap::from([
        ("guild_id".to_owned(), AttributeValue::S(guild.to_string())),
        ("kind".to_owned(), AttributeValue::S("settings".to_owned())),
        ("version".to_owned(), AttributeValue::N("1".to_owned())),
        ("schema_version".to_owned(), AttributeValue::N((timmybot_core::SCHEMA_VERSION + 1).to_string())),
    ]);
    client.put_item().table_name(&store.tables().guilds).set_item(Some(item)).send().await.unwrap();
    assert_eq!(store.load_settings(guild).await.unwrap_err().kind(), StoreErrorKind::Corrupt);
}

/// A page the head lists but that stays gone is not a state anyone saved:
/// the load reads again a few times, then reports the store unavailable,
/// and deletes nothing.
#[tokio::test]
async fn a_listed_page_that_stays_missing_makes_the_load_unavailable() {
    let (store, client) = store().await;
    let guild = random_guild();
    let mut state = full_state(guild, 40);
    state.version = store.save(&state).await.unwrap();
    let items = partition(&store, &client, &guild.to_string()).await;
    let page = items.keys().find(|pos| pos.starts_with("page#")).unwrap().clone();
    let key = HashMap::from([
        ("guild_id".to_owned(), AttributeValue::S(guild.to_string())),
        ("pos".to_owned(), AttributeValue::S(page)),
    ]);
    client.delete_item().table_name(&store.tables().guild_queues).set_key(Some(key)).send().await.unwrap();
    assert_eq!(store.load(guild).await.unwrap_err().kind(), StoreErrorKind::Unavailable);
    assert_eq!(partition(&store, &client, &guild.to_string()).await.len(), items.len() - 1, "a load deletes nothing");
}
