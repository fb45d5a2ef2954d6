//! `/playlist save|show|delete|list` and `/myplaylists`: answered at once
//! from the stores, so they work while the gateway is scaled to zero.
//! (`/playlist load` and `/play playlist:` go over the bus: the gateway
//! plays them.) Replies are ephemeral: a member's playlists are their own.

use timmybot_core::player::{PlayerState, messages::duration};
use timmybot_core::{
    MAX_PLAYLISTS_PER_MEMBER, MemberPlaylist, PlaylistEntry, PlaylistName, PlaylistOrigin, PlaylistStore,
    PlaylistSummary, StoreErrorKind, UserId, escape_markdown,
};

use crate::CommandError;

/// How many playlists `/playlist list` names before "and N more".
const LISTED: usize = 25;
/// How many tracks `/playlist show` lists.
const SHOWN: usize = 20;

/// The guild's queue as playlist entries: the current track, then the
/// waiting ones, each playable as it is.
pub fn entries_of(state: &PlayerState) -> Vec<PlaylistEntry> {
    state
        .current
        .iter()
        .map(|now| &now.track)
        .chain(&state.upcoming)
        .map(|track| PlaylistEntry {
            title: track.title.clone(),
            artist: None,
            duration_ms: track.duration_ms,
            isrc: None,
            source: Some(track.source.clone()),
        })
        .collect()
}

/// `/playlist save`: stores the queue `state` as `owner`'s playlist `name`.
///
/// # Errors
/// [`CommandError::Store`] when the store fails.
pub async fn save(
    store: &dyn PlaylistStore,
    owner: UserId,
    name: PlaylistName,
    state: &PlayerState,
    now_ms: u64,
) -> Result<String, CommandError> {
    let entries = entries_of(state);
    if entries.is_empty() {
        return Ok("The queue is empty: there is nothing to save. Queue something with `/play` first.".into());
    }
    let replaced =
        store.playlists(owner).await.map_err(CommandError::Store)?.iter().any(|p| p.name.key() == name.key());
    let count = entries.len();
    let playlist =
        MemberPlaylist { owner, name: name.clone(), origin: PlaylistOrigin::Saved, entries, updated_at_ms: now_ms };
    match store.save_playlist(&playlist).await {
        Ok(()) => {}
        Err(e) if e.kind() == StoreErrorKind::LimitReached => {
            return Ok(format!(
                "You have {MAX_PLAYLISTS_PER_MEMBER} playlists, the most one member keeps: delete one with \
                 `/playlist delete` first."
            ));
        }
        Err(e) => return Err(CommandError::Store(e)),
    }
    let verb = if replaced { "Replaced" } else { "Saved" };
    Ok(format!(
        "{verb} your playlist **{}** ({}). Play it in any server with `/play playlist:`.",
        escape_markdown(name.as_str()),
        tracks(count)
    ))
}

/// `/playlist list`, `/myplaylists`.
pub fn list(playlists: &[PlaylistSummary]) -> String {
    if playlists.is_empty() {
        return "You have no playlists yet. Save this server's queue with `/playlist save`.".into();
    }
    let mut text = format!("Your playlists ({} of {MAX_PLAYLISTS_PER_MEMBER}):\n", playlists.len());
    for playlist in playlists.iter().take(LISTED) {
        text.push_str(&format!(
            "• **{}** · {} · {}\n",
            escape_markdown(playlist.name.as_str()),
            tracks(playlist.tracks),
            playlist.origin.label()
        ));
    }
    if playlists.len() > LISTED {
        text.push_str(&format!("…and {} more.\n", playlists.len() - LISTED));
    }
    text.push_str("Play one with `/play playlist:` or `/playlist load`.");
    text
}

/// `/playlist show`: the first tracks of `playlist`.
pub fn show(playlist: &MemberPlaylist) -> String {
    let total: u64 = playlist.entries.iter().filter_map(|e| e.duration_ms).sum();
    let mut text = format!(
        "**{}** · {} · {} · {}\n",
        escape_markdown(playlist.name.as_str()),
        tracks(playlist.entries.len()),
        duration(total),
        playlist.origin.label()
    );
    for (n, entry) in playlist.entries.iter().take(SHOWN).enumerate() {
        let title = match &entry.artist {
            Some(artist) => format!("{artist} – {}", entry.title),
            None => entry.title.clone(),
        };
        let length = entry.duration_ms.map_or_else(|| "?".to_owned(), duration);
        text.push_str(&format!("`{}` {} · {length}\n", n + 1, escape_markdown(&title)));
    }
    if playlist.entries.len() > SHOWN {
        text.push_str(&format!("…and {} more.", playlist.entries.len() - SHOWN));
    }
    text
}

/// What the member is told when they have no playlist called `name`.
pub fn missing(name: &PlaylistName) -> String {
    format!("You have no playlist called **{}**. `/playlist list` shows yours.", escape_markdown(name.as_str()))
}

/// `/playlist delete`.
///
/// # Errors
/// [`CommandError::Store`] when the store fails.
pub async fn delete(store: &dyn PlaylistStore, owner: UserId, name: &PlaylistName) -> Result<String, CommandError> {
    Ok(if store.delete_playlist(owner, name).await.map_err(CommandError::Store)? {
        format!("Deleted your playlist **{}**.", escape_markdown(name.as_str()))
    } else {
        missing(name)
    })
}

/// The member's playlists whose name holds what they typed, as
/// autocomplete choices (label and value the name).
pub fn choices(playlists: &[PlaylistSummary], typed: &str, limit: usize) -> Vec<String> {
    let typed = typed.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    playlists.iter().filter(|p| p.name.key().contains(&typed)).take(limit).map(|p| p.name.to_string()).collect()
}

fn tracks(count: usize) -> String {
    if count == 1 { "1 track".into() } else { format!("{count} tracks") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str, tracks: usize) -> PlaylistSummary {
        PlaylistSummary {
            name: PlaylistName::parse(name).unwrap(),
            origin: PlaylistOrigin::Saved,
            tracks,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn the_list_escapes_names_and_stops_at_its_length() {
        let many: Vec<PlaylistSummary> = (0..30).map(|i| summary(&format!("**list** {i}"), i)).collect();
        let text = list(&many);
        assert!(text.starts_with("Your playlists (30 of 200):"), "{text}");
        assert!(text.contains("• **\\*\\*list\\*\\* 0** · 0 tracks · saved from a queue"), "{text}");
        assert!(text.contains("1 track ·"), "{text}");
        assert!(text.contains("…and 5 more."), "{text}");
        assert!(!text.contains("list** 25"), "{text}");
        assert!(text.chars().count() < 2000);
        assert!(list(&[]).starts_with("You have no playlists yet"));
    }

    #[test]
    fn show_lists_the_first_tracks_with_their_artists_and_the_total() {
        let entry = |i: u64| PlaylistEntry {
            title: format!("Song {i}"),
            artist: i.is_multiple_of(2).then(|| "Band".to_owned()),
            duration_ms: Some(60_000),
            isrc: None,
            source: None,
        };
        let playlist = MemberPlaylist {
            owner: UserId::new(1).unwrap(),
            name: PlaylistName::parse("Mix").unwrap(),
            origin: PlaylistOrigin::File,
            entries: (0..25).map(entry).collect(),
            updated_at_ms: 0,
        };
        let text = show(&playlist);
        assert!(text.starts_with("**Mix** · 25 tracks · 25:00 · imported from a file\n"), "{text}");
        assert!(text.contains("`1` Band – Song 0 · 1:00\n`2` Song 1 · 1:00"), "{text}");
        assert!(text.contains("`20` Song 19"), "{text}");
        assert!(!text.contains("`21`"), "{text}");
        assert!(text.ends_with("…and 5 more."), "{text}");
    }

    #[test]
    fn choices_match_by_key_in_order() {
        let mine = [summary("Road Trip", 1), summary("Chill", 2), summary("road  works", 3)];
        assert_eq!(choices(&mine, "ROAD ", 25), ["Road Trip", "road  works"]);
        assert_eq!(choices(&mine, "", 2), ["Road Trip", "Chill"]);
        assert!(choices(&mine, "jazz", 25).is_empty());
    }
}
