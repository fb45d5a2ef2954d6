//! The [`PlaylistStore`] contract: whole-playlist saves keyed by name
//! without case, the caps (tracks, entry sizes, playlists per member),
//! listing by key, and deletions (one playlist, or the whole member through
//! [`AccountStore::delete_member`]).

use std::sync::Arc;

use timmybot_core::{
    AccountStore, MAX_PLAYLIST_TRACKS, MAX_PLAYLISTS_PER_MEMBER, MemberPlaylist, PlaylistEntry, PlaylistName,
    PlaylistOrigin, PlaylistStore, Provider, StoreErrorKind, UserId,
};

use super::random_user;

fn name(text: &str) -> PlaylistName {
    PlaylistName::parse(text).unwrap()
}

/// A playable entry `i`, as `/playlist save` writes one.
fn playable(i: usize) -> PlaylistEntry {
    PlaylistEntry {
        title: format!("Track {i} — «unicode» 🎵"),
        artist: Some(format!("Artist {}", i % 7)),
        duration_ms: Some(180_000 + i as u64),
        isrc: None,
        source: Some(format!("https://media.example/{i}.ogg")),
    }
}

/// A metadata-only entry `i`, as an import writes one.
fn imported(i: usize) -> PlaylistEntry {
    PlaylistEntry::metadata(&format!("Imported {i}"), "Someone", Some(200_000), Some(&format!("USRC1{i:07}")))
}

fn playlist(owner: UserId, text: &str, entries: Vec<PlaylistEntry>) -> MemberPlaylist {
    MemberPlaylist { owner, name: name(text), origin: PlaylistOrigin::Saved, entries, updated_at_ms: 1_800_000_000_000 }
}

/// Nothing is there before; a saved playlist reads back whole, by any
/// spelling of its name that has the same key, and only for its owner.
pub async fn playlist_round_trips_by_key(store: &dyn PlaylistStore) {
    let (owner, other) = (random_user(), random_user());
    assert_eq!(store.load_playlist(owner, &name("Road Trip")).await.unwrap(), None);
    let mut saved = playlist(owner, "Road Trip", (0..3).map(playable).collect());
    saved.entries.push(imported(3));
    saved.origin = PlaylistOrigin::Linked(Provider::Spotify);
    store.save_playlist(&saved).await.unwrap();
    assert_eq!(store.load_playlist(owner, &name("road   TRIP")).await.unwrap(), Some(saved.clone()));
    assert_eq!(store.load_playlist(other, &name("Road Trip")).await.unwrap(), None, "another member's");
    assert_eq!(store.load_playlist(owner, &name("Road Trip 2")).await.unwrap(), None);
}

/// A save under a name of the same key replaces the playlist whole,
/// including the name as last typed; a shorter one leaves no old tracks.
pub async fn save_replaces_the_playlist_of_the_same_key(store: &dyn PlaylistStore) {
    let owner = random_user();
    store.save_playlist(&playlist(owner, "mix", (0..500).map(playable).collect())).await.unwrap();
    let replacement = MemberPlaylist {
        origin: PlaylistOrigin::File,
        updated_at_ms: 1_900_000_000_000,
        ..playlist(owner, "MIX", vec![imported(9)])
    };
    store.save_playlist(&replacement).await.unwrap();
    assert_eq!(store.load_playlist(owner, &name("Mix")).await.unwrap(), Some(replacement));
    let listed = store.playlists(owner).await.unwrap();
    assert_eq!(listed.len(), 1, "one playlist, not two: {listed:?}");
    assert_eq!((listed[0].name.as_str(), listed[0].tracks), ("MIX", 1));
}

/// A member's playlists list by key with their origin, size and time, no
/// one else's.
pub async fn playlists_list_one_member_by_key(store: &dyn PlaylistStore) {
    let (owner, other) = (random_user(), random_user());
    for (text, tracks) in [("zebra", 2), ("Apple", 5), ("mango", 0)] {
        store.save_playlist(&playlist(owner, text, (0..tracks).map(playable).collect())).await.unwrap();
    }
    store.save_playlist(&playlist(other, "banana", vec![playable(1)])).await.unwrap();
    let listed = store.playlists(owner).await.unwrap();
    let seen: Vec<(&str, usize)> = listed.iter().map(|p| (p.name.as_str(), p.tracks)).collect();
    assert_eq!(seen, [("Apple", 5), ("mango", 0), ("zebra", 2)]);
    assert!(listed.iter().all(|p| p.origin == PlaylistOrigin::Saved && p.updated_at_ms == 1_800_000_000_000));
    assert_eq!(store.playlists(random_user()).await.unwrap(), []);
}

/// Deleting removes that playlist only and says whether it was there.
pub async fn delete_playlist_removes_one(store: &dyn PlaylistStore) {
    let owner = random_user();
    store.save_playlist(&playlist(owner, "keep", vec![playable(1)])).await.unwrap();
    store.save_playlist(&playlist(owner, "drop", (0..300).map(playable).collect())).await.unwrap();
    assert!(store.delete_playlist(owner, &name("DROP")).await.unwrap());
    assert!(!store.delete_playlist(owner, &name("drop")).await.unwrap(), "already gone");
    assert_eq!(store.load_playlist(owner, &name("drop")).await.unwrap(), None);
    let names: Vec<String> = store.playlists(owner).await.unwrap().into_iter().map(|p| p.name.into()).collect();
    assert_eq!(names, ["keep"]);
    // Saving it again starts afresh.
    store.save_playlist(&playlist(owner, "drop", vec![playable(7)])).await.unwrap();
    assert_eq!(store.load_playlist(owner, &name("drop")).await.unwrap().unwrap().entries, [playable(7)]);
}

/// A playlist over the caps is refused as too large and the stored one is
/// left as it was.
pub async fn oversize_playlists_are_refused_and_change_nothing(store: &dyn PlaylistStore) {
    let owner = random_user();
    let stored = playlist(owner, "big", vec![playable(0)]);
    store.save_playlist(&stored).await.unwrap();
    let too_many = playlist(owner, "big", (0..=MAX_PLAYLIST_TRACKS).map(imported).collect());
    assert_eq!(store.save_playlist(&too_many).await.unwrap_err().kind(), StoreErrorKind::TooLarge);
    let long_source = PlaylistEntry { source: Some(format!("https://x.example/{}", "a".repeat(4096))), ..playable(1) };
    let too_long = playlist(owner, "big", vec![playable(2), long_source]);
    assert_eq!(store.save_playlist(&too_long).await.unwrap_err().kind(), StoreErrorKind::TooLarge);
    let new_too_long = playlist(owner, "new", vec![PlaylistEntry { title: "t".repeat(201), ..playable(3) }]);
    assert_eq!(store.save_playlist(&new_too_long).await.unwrap_err().kind(), StoreErrorKind::TooLarge);
    assert_eq!(store.load_playlist(owner, &name("big")).await.unwrap(), Some(stored));
    assert_eq!(store.load_playlist(owner, &name("new")).await.unwrap(), None);
}

/// The largest playlist allowed, of the largest entries a queue can hold
/// here and there among ordinary ones, reads back whole and in order.
pub async fn the_largest_playlist_round_trips(store: &dyn PlaylistStore) {
    let owner = random_user();
    let widest = |i: usize| PlaylistEntry {
        title: "題".repeat(200),
        artist: Some("名".repeat(200)),
        duration_ms: Some(u64::MAX),
        isrc: Some("GBAYE0000001".into()),
        source: Some(format!("https://x.example/{i}/{}", "s".repeat(2000))),
    };
    let entries: Vec<PlaylistEntry> =
        (0..MAX_PLAYLIST_TRACKS).map(|i| if i % 50 == 0 { widest(i) } else { imported(i) }).collect();
    let largest = playlist(owner, "everything", entries);
    store.save_playlist(&largest).await.unwrap();
    let loaded = store.load_playlist(owner, &name("everything")).await.unwrap().expect("stored");
    assert_eq!(loaded.entries.len(), MAX_PLAYLIST_TRACKS);
    assert!(loaded == largest, "the entries differ (first at {:?})", {
        loaded.entries.iter().zip(&largest.entries).position(|(a, b)| a != b)
    });
    assert_eq!(store.playlists(owner).await.unwrap()[0].tracks, MAX_PLAYLIST_TRACKS);
}

/// At the cap, a new playlist is refused (nothing written) while replacing
/// or deleting one still works.
pub async fn the_playlist_cap_refuses_only_new_ones(store: &dyn PlaylistStore) {
    let owner = random_user();
    for i in 0..MAX_PLAYLISTS_PER_MEMBER {
        store.save_playlist(&playlist(owner, &format!("list {i:03}"), vec![playable(i)])).await.unwrap();
    }
    let refused = store.save_playlist(&playlist(owner, "one more", vec![playable(0)])).await.unwrap_err();
    assert_eq!(refused.kind(), StoreErrorKind::LimitReached);
    assert_eq!(store.load_playlist(owner, &name("one more")).await.unwrap(), None);
    store.save_playlist(&playlist(owner, "LIST 007", vec![playable(70)])).await.unwrap();
    assert_eq!(store.load_playlist(owner, &name("list 007")).await.unwrap().unwrap().entries, [playable(70)]);
    assert!(store.delete_playlist(owner, &name("list 000")).await.unwrap());
    store.save_playlist(&playlist(owner, "one more", vec![playable(0)])).await.unwrap();
    assert_eq!(store.playlists(owner).await.unwrap().len(), MAX_PLAYLISTS_PER_MEMBER);
}

/// Deleting a member (what `/unlink all` and a data-deletion request do)
/// removes their playlists along with their links, and nobody else's.
pub async fn deleting_a_member_removes_their_playlists<S: AccountStore + PlaylistStore>(store: &S) {
    let (owner, other) = (random_user(), random_user());
    store.save_playlist(&playlist(owner, "a", (0..400).map(playable).collect())).await.unwrap();
    store.save_playlist(&playlist(owner, "b", vec![playable(1)])).await.unwrap();
    store.save_playlist(&playlist(other, "a", vec![playable(2)])).await.unwrap();
    assert!(store.delete_member(owner).await.unwrap() >= 2);
    assert_eq!(store.playlists(owner).await.unwrap(), []);
    assert_eq!(store.load_playlist(owner, &name("a")).await.unwrap(), None);
    assert_eq!(store.load_playlist(other, &name("a")).await.unwrap().unwrap().entries, [playable(2)]);
}

/// While one task keeps replacing a playlist with either of two versions
/// of different lengths, every read sees one version whole, never a mix.
pub async fn concurrent_replaces_are_never_read_half_done(store: Arc<dyn PlaylistStore>) {
    let owner = random_user();
    let version = |tag: &str, len: usize| {
        let entries = (0..len).map(|i| PlaylistEntry { title: format!("{tag} {i}"), ..playable(i) }).collect();
        playlist(owner, "flip", entries)
    };
    let (a, b) = (version("a", 2_000), version("b", 900));
    store.save_playlist(&a).await.unwrap();
    let writer = {
        let (store, a, b) = (Arc::clone(&store), a.clone(), b.clone());
        tokio::spawn(async move {
            for round in 0..8 {
                store.save_playlist(if round % 2 == 0 { &b } else { &a }).await.unwrap();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads < 4 {
        let read = store.load_playlist(owner, &name("flip")).await.unwrap().expect("always there");
        assert!(read == a || read == b, "a mixed read of {} entries", read.entries.len());
        reads += 1;
    }
    writer.await.unwrap();
    assert_eq!(store.load_playlist(owner, &name("flip")).await.unwrap(), Some(a), "the last write stands");
}
