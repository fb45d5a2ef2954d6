//! Every text the player shows members: command replies, errors, the
//! now-playing controller, the queue and history views. Titles come from
//! third parties, so they are always escaped; mentions in these texts never
//! ping (every message is sent with no allowed mentions).

use super::{DjAction, EventOutcome, LoopMode, Outcome, PlayerError, PlayerState, Track, TrackId};
use crate::{Button, ButtonStyle, OutgoingMessage, RoleId, escape_markdown};

/// Tracks shown on one page of `/queue`.
pub const QUEUE_PAGE_SIZE: usize = 10;

/// Custom ids of the controller's buttons.
pub mod controls {
    /// Pause or resume.
    pub const PAUSE: &str = "player:pause";
    /// Skip.
    pub const SKIP: &str = "player:skip";
    /// Stop and leave.
    pub const STOP: &str = "player:stop";
    /// Step the loop mode.
    pub const LOOP: &str = "player:loop";
    /// Shuffle the queue.
    pub const SHUFFLE: &str = "player:shuffle";
    /// Every controller button.
    pub const ALL: [&str; 5] = [PAUSE, SKIP, STOP, LOOP, SHUFFLE];
}

/// Prefix of the `/queue` page buttons: `queue:page:<n>`.
pub const QUEUE_PAGE_PREFIX: &str = "queue:page:";
/// Prefix of the `/history` buttons: `history:requeue:<track id>`.
pub const REQUEUE_PREFIX: &str = "history:requeue:";
/// Prefix of a button that queues what follows it (a `/search` result, a
/// `/library` file): `search:play:<what /play would be given>`.
pub const PLAY_BUTTON_PREFIX: &str = "search:play:";
/// Prefix of the `/library` page buttons: `library:page:<page>:<query>`.
pub const LIBRARY_PAGE_PREFIX: &str = "library:page:";
/// The most characters a button's custom id may have (Discord's limit).
pub const MAX_CUSTOM_ID_CHARS: usize = 100;

/// The custom id of a `/library` button showing `page` (from 1) of the
/// files matching `query`; `None` when it would not fit Discord's 100
/// characters (a query that long has no page buttons).
pub fn library_page_id(page: usize, query: Option<&str>) -> Option<String> {
    let id = format!("{LIBRARY_PAGE_PREFIX}{page}:{}", query.unwrap_or(""));
    (id.chars().count() <= MAX_CUSTOM_ID_CHARS).then_some(id)
}

/// The page (from 1) and query of a `/library` page button.
pub fn parse_library_page(custom_id: &str) -> Option<(usize, Option<String>)> {
    let (page, query) = custom_id.strip_prefix(LIBRARY_PAGE_PREFIX)?.split_once(':')?;
    let page: usize = page.parse().ok().filter(|p| *p >= 1)?;
    let query = query.trim();
    Some((page, (!query.is_empty()).then(|| query.to_owned())))
}

/// `m:ss`, or `h:mm:ss` from an hour on.
pub fn duration(ms: u64) -> String {
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// A bar of `width` cells with a knob at `position_ms` of `length_ms`.
pub fn progress_bar(position_ms: u64, length_ms: u64, width: usize) -> String {
    let width = width.max(2);
    let filled = if length_ms == 0 {
        0
    } else {
        ((position_ms.min(length_ms) as u128 * (width as u128 - 1)) / length_ms as u128) as usize
    };
    let mut bar = String::with_capacity(width * 3);
    for cell in 0..width {
        bar.push(match cell.cmp(&filled) {
            std::cmp::Ordering::Less => '━',
            std::cmp::Ordering::Equal => '●',
            std::cmp::Ordering::Greater => '─',
        });
    }
    bar
}

/// `**Title**`, escaped.
pub fn title(track: &Track) -> String {
    format!("**{}**", escape_markdown(&track.title))
}

/// A track's length, or `live`.
pub fn length(track: &Track) -> String {
    track.duration_ms.map_or_else(|| "live".to_owned(), duration)
}

/// `**Title** (3:21) · <@user>`.
fn track_line(track: &Track) -> String {
    format!("{} ({}) · <@{}>", title(track), length(track), track.requested_by)
}

/// The reply to a command that worked.
pub fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Enqueued { first, count, position, dropped_full, dropped_long, resumed } => {
            let mut text = match (position, count) {
                (None, 1) => format!("Now playing {}", track_line(first)),
                (None, n) => format!("Now playing {} and queued {} more", track_line(first), n - 1),
                (Some(p), 1) => format!("Queued {} at #{p}", track_line(first)),
                (Some(p), n) => format!("Queued {n} tracks from #{p}, starting with {}", title(first)),
            };
            if let Some(kept) = resumed {
                text.push_str(&format!("\nBack in the channel: resuming {}", title(kept)));
            }
            if *dropped_full > 0 {
                text.push_str(&format!("\n{dropped_full} did not fit: the queue is full."));
            }
            if *dropped_long > 0 {
                text.push_str(&format!("\n{dropped_long} left out for being too long."));
            }
            text
        }
        Outcome::Paused(track) => format!("Paused {}", title(track)),
        Outcome::Resumed { track, rejoined: false } => format!("Resumed {}", title(track)),
        Outcome::Resumed { track, rejoined: true } => format!("Back in the channel: resuming {}", title(track)),
        Outcome::Skipped { skipped, next } => with_next(format!("Skipped {}", title(skipped)), next.as_ref()),
        Outcome::SkippedTo { next, passed } => {
            format!("Skipped {passed} track{} ahead to {}", plural(*passed), track_line(next))
        }
        Outcome::WentBack(track) => format!("Back to {}", track_line(track)),
        Outcome::Stopped { .. } => "Stopped, cleared the queue and left the voice channel.".to_owned(),
        Outcome::Left { kept: 0 } => "Left the voice channel.".to_owned(),
        Outcome::Left { kept } => {
            format!("Left the voice channel; {kept} track{} kept. `/play` or `/resume` brings me back.", plural(*kept))
        }
        Outcome::Removed { track, position } => format!("Removed #{position} {}", title(track)),
        Outcome::Moved { track, from, to } => format!("Moved {} from #{from} to #{to}", title(track)),
        Outcome::Swapped { first, second } => format!("Swapped {} and {}", title(first), title(second)),
        Outcome::Shuffled { count } => format!("Shuffled {count} track{}.", plural(*count)),
        Outcome::Cleared { count } => format!("Cleared {count} track{} from the queue.", plural(*count)),
        Outcome::LoopSet(LoopMode::Off) => "Loop is off.".to_owned(),
        Outcome::LoopSet(LoopMode::Track) => "Looping the current track.".to_owned(),
        Outcome::LoopSet(LoopMode::Queue) => "Looping the whole queue.".to_owned(),
        Outcome::Seeked { track, to_ms } => format!("Jumped to {} in {}", duration(*to_ms), title(track)),
        Outcome::VolumeSet { to, .. } => format!("Volume set to {to}%."),
        Outcome::Voted { votes, needed } => format!("Vote counted: {votes}/{needed} to skip."),
        Outcome::VoteSkipped { skipped, next, votes } => {
            with_next(format!("{votes} vote{} skipped {}", plural(*votes), title(skipped)), next.as_ref())
        }
        Outcome::Requeued { track, position: None } => format!("Now playing {}", track_line(track)),
        Outcome::Requeued { track, position: Some(p) } => format!("Queued {} again at #{p}", title(track)),
    }
}

fn with_next(mut text: String, next: Option<&Track>) -> String {
    match next {
        Some(next) => text.push_str(&format!("; now playing {}", track_line(next))),
        None => text.push_str("; the queue is finished."),
    }
    text
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The reply to a command that changed nothing. `dj_role` is the guild's
/// DJ role, named in refusals.
pub fn error(error: &PlayerError, dj_role: Option<RoleId>) -> String {
    match error {
        PlayerError::NotInVoice => "Join a voice channel first.".to_owned(),
        PlayerError::NotInBotChannel { bot_channel } => {
            format!("I'm playing in <#{bot_channel}>: join it to control the music.")
        }
        PlayerError::NothingPlaying => "Nothing is playing.".to_owned(),
        PlayerError::QueueEmpty => "The queue is empty.".to_owned(),
        PlayerError::PositionOutOfRange { len: 0, .. } => "The queue is empty.".to_owned(),
        PlayerError::PositionOutOfRange { position, len } => {
            format!("There is no #{position}: the queue has {len} track{} (#1 to #{len}).", plural(*len))
        }
        PlayerError::QueueFull { max } => format!("The queue is full ({max} tracks); wait for some to play."),
        PlayerError::TrackTooLong { max_ms } => {
            format!("That track is too long: this server allows up to {}.", duration(*max_ms))
        }
        PlayerError::SourceTooLong => "That link is too long.".to_owned(),
        PlayerError::SeekPastEnd { length_ms } => {
            format!("That is past the end: the track is {} long.", duration(*length_ms))
        }
        PlayerError::NotSeekable => "This is a live stream: there is nothing to seek.".to_owned(),
        PlayerError::AlreadyPaused => "Already paused; `/resume` to continue.".to_owned(),
        PlayerError::NotPaused => "Not paused.".to_owned(),
        PlayerError::NoPrevious => "Nothing was played before this.".to_owned(),
        PlayerError::VolumeOutOfRange { .. } => {
            format!("Volume goes from 0 to {}%.", super::MAX_VOLUME)
        }
        PlayerError::NeedsDj(action) => {
            let role = dj_role.map_or_else(|| "the DJ role".to_owned(), |role| format!("the <@&{role}> role"));
            let hint = if *action == DjAction::Skip { " Use `/voteskip` to ask the others." } else { "" };
            format!("Only members with {role} (or Manage Server) can {}.{hint}", action.verb())
        }
        PlayerError::AlreadyVoted { votes, needed } => format!("You already voted: {votes}/{needed} to skip."),
        PlayerError::UnknownTrack => "That track is no longer in the history.".to_owned(),
    }
}

/// The credit a source asks for, shown under the now-playing title.
///
/// Audius's API terms ask apps to say the audio comes from Audius; Radio
/// Browser's stations are listed by its volunteers.
pub fn attribution(track: &Track) -> Option<&'static str> {
    let scheme = track.source.split_once(':').map(|(scheme, _)| scheme)?;
    match scheme {
        "audius" => Some("Streamed from Audius"),
        "radio" => Some("Station from the Radio Browser directory"),
        _ => None,
    }
}

/// What to post in the text channel after a playback event, if anything
/// (the controller shows the rest).
pub fn event_notice(outcome: &EventOutcome) -> Option<String> {
    match outcome {
        EventOutcome::Advanced { finished, failed: true, .. } => {
            Some(format!("Could not play {}; moving on.", title(finished)))
        }
        _ => None,
    }
}

/// The now-playing text: title, requester, position and length with a
/// progress bar, loop, volume and what comes next.
pub fn now_playing(state: &PlayerState, now_ms: u64) -> String {
    let Some(current) = &state.current else {
        return "Nothing is playing.".to_owned();
    };
    let track = &current.track;
    let position = current.clock.position_at(now_ms);
    // A radio shows what it plays now, with the station under it.
    let mut text = match &current.stream_title {
        Some(playing) => format!(
            "{} **{}**\n📻 {} · Requested by <@{}>\n",
            status(state),
            escape_markdown(playing),
            title(track),
            track.requested_by
        ),
        None => format!("{} {}\nRequested by <@{}>\n", status(state), title(track), track.requested_by),
    };
    if let Some(credit) = attribution(track) {
        text.push_str(credit);
        text.push('\n');
    }
    match track.duration_ms {
        Some(length) => {
            text.push_str(&format!(
                "{} `{} / {}`",
                progress_bar(position, length, 16),
                duration(position),
                duration(length)
            ));
        }
        None => text.push_str(&format!("live · `{}`", duration(position))),
    }
    text.push_str(&format!("\nLoop: {} · Volume: {}%", state.loop_mode.as_str(), state.volume));
    match state.upcoming.first() {
        Some(next) => text.push_str(&format!(" · Next: {} ({} waiting)", title(next), state.upcoming.len())),
        None => text.push_str(" · Nothing waiting"),
    }
    text
}

fn status(state: &PlayerState) -> &'static str {
    match (&state.current, state.paused, state.voice_channel) {
        (None, _, _) => "⏹",
        (Some(_), _, None) => "⏏ Left the channel with",
        (Some(_), true, _) => "⏸ Paused:",
        (Some(_), false, _) => "▶ Now playing",
    }
}

/// The controller message: the now-playing text with its buttons.
pub fn controller(state: &PlayerState, now_ms: u64) -> OutgoingMessage {
    if state.current.is_none() {
        return OutgoingMessage::text("⏹ The queue is finished. `/play` to add more.");
    }
    let pause_label = if state.paused { "▶ Resume" } else { "⏸ Pause" };
    let loop_label = match state.loop_mode {
        LoopMode::Off => "🔁 Loop: off",
        LoopMode::Track => "🔂 Loop: track",
        LoopMode::Queue => "🔁 Loop: queue",
    };
    let button = |id: &str, label: &str, style| Button { custom_id: id.to_owned(), label: label.to_owned(), style };
    OutgoingMessage {
        content: now_playing(state, now_ms),
        buttons: vec![
            button(controls::PAUSE, pause_label, ButtonStyle::Primary),
            button(controls::SKIP, "⏭ Skip", ButtonStyle::Secondary),
            button(controls::STOP, "⏹ Stop", ButtonStyle::Danger),
            button(controls::LOOP, loop_label, ButtonStyle::Secondary),
            button(controls::SHUFFLE, "🔀 Shuffle", ButtonStyle::Secondary),
        ],
    }
}

/// Page `page` (0-based, clamped) of `/queue`, with total and remaining
/// time, and previous/next buttons when there is more than one page.
pub fn queue_page(state: &PlayerState, page: usize, now_ms: u64) -> OutgoingMessage {
    let pages = state.upcoming.len().div_ceil(QUEUE_PAGE_SIZE).max(1);
    let page = page.min(pages - 1);
    let mut text = String::new();
    match &state.current {
        Some(current) => text.push_str(&format!(
            "{} {} `{} / {}`\n",
            status(state),
            track_line(&current.track),
            duration(current.clock.position_at(now_ms)),
            length(&current.track)
        )),
        None => text.push_str("Nothing is playing.\n"),
    }
    if state.upcoming.is_empty() {
        text.push_str("The queue is empty.");
        return OutgoingMessage::text(text);
    }
    let start = page * QUEUE_PAGE_SIZE;
    for (i, track) in state.upcoming.iter().enumerate().skip(start).take(QUEUE_PAGE_SIZE) {
        text.push_str(&format!("`#{}` {}\n", i + 1, track_line(track)));
    }
    let (total, unknown) = state.upcoming_duration();
    let (remaining, remaining_unknown) = state.remaining_at(now_ms);
    text.push_str(&format!(
        "{} track{} waiting · total {}{} · remaining {}{} · loop {} · page {}/{pages}",
        state.upcoming.len(),
        plural(state.upcoming.len()),
        duration(total),
        live_note(unknown),
        duration(remaining),
        live_note(remaining_unknown),
        state.loop_mode.as_str(),
        page + 1,
    ));
    let mut buttons = Vec::new();
    if pages > 1 {
        let nav = |label: &str, to: usize| Button {
            custom_id: format!("{QUEUE_PAGE_PREFIX}{to}"),
            label: label.to_owned(),
            style: ButtonStyle::Secondary,
        };
        if page > 0 {
            buttons.push(nav("◀ Previous", page - 1));
        }
        if page + 1 < pages {
            buttons.push(nav("Next ▶", page + 1));
        }
    }
    OutgoingMessage { content: text, buttons }
}

fn live_note(unknown: usize) -> String {
    if unknown == 0 { String::new() } else { format!(" + {unknown} live") }
}

/// `/history`: the last tracks played, newest first, each with a button
/// that queues it again.
pub fn history(state: &PlayerState) -> OutgoingMessage {
    if state.history.is_empty() {
        return OutgoingMessage::text("Nothing has been played yet.");
    }
    let mut text = String::from("Recently played (press a number to queue it again):\n");
    let mut buttons = Vec::new();
    for (n, track) in state.history.iter().rev().enumerate() {
        text.push_str(&format!("`{}` {}\n", n + 1, track_line(track)));
        buttons.push(Button {
            custom_id: format!("{REQUEUE_PREFIX}{}", track.id),
            label: (n + 1).to_string(),
            style: ButtonStyle::Secondary,
        });
    }
    OutgoingMessage { content: text.trim_end().to_owned(), buttons }
}

/// The page of a `/queue` page button.
pub fn parse_queue_page(custom_id: &str) -> Option<usize> {
    custom_id.strip_prefix(QUEUE_PAGE_PREFIX)?.parse().ok()
}

/// The track of a `/history` button.
pub fn parse_requeue(custom_id: &str) -> Option<TrackId> {
    custom_id.strip_prefix(REQUEUE_PREFIX)?.parse().ok().map(TrackId)
}

/// The autocomplete choices for a queue position: up to 25 waiting tracks
/// whose title or position matches what the member typed, as
/// `(label, position)`.
pub fn position_choices(state: &PlayerState, typed: &str) -> Vec<(String, usize)> {
    let typed = typed.trim().to_lowercase();
    state
        .upcoming
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            typed.is_empty() || t.title.to_lowercase().contains(&typed) || (i + 1).to_string().starts_with(&typed)
        })
        .take(25)
        .map(|(i, t)| {
            let label = format!("#{} {} ({})", i + 1, t.title, length(t));
            (label.chars().take(100).collect(), i + 1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::player::{NowPlaying, PlaybackClock};
    use crate::{GuildId, UserId};

    fn track(id: u64, title: &str, duration_ms: Option<u64>) -> Track {
        Track {
            id: TrackId(id),
            source: format!("s{id}"),
            title: title.into(),
            duration_ms,
            requested_by: UserId::new(42).unwrap(),
        }
    }

    fn playing(upcoming: usize) -> PlayerState {
        let mut state = PlayerState::new(GuildId::new(1).unwrap(), 100);
        state.current = Some(NowPlaying {
            track: track(1, "Song *one*", Some(200_000)),
            clock: PlaybackClock { offset_ms: 50_000, since_ms: Some(1_000), ready: true },
            epoch: 1,
            votes: vec![],
            stream_title: None,
        });
        state.voice_channel = crate::ChannelId::new(5);
        state.upcoming = (0..upcoming).map(|n| track(10 + n as u64, &format!("t{n}"), Some(60_000))).collect();
        state
    }

    #[test]
    fn durations_read_like_a_player_clock() {
        assert_eq!(duration(0), "0:00");
        assert_eq!(duration(83_999), "1:23");
        assert_eq!(duration(3_723_000), "1:02:03");
    }

    #[test]
    fn the_progress_bar_puts_its_knob_in_proportion() {
        assert_eq!(progress_bar(0, 100, 5), "●────");
        assert_eq!(progress_bar(50, 100, 5), "━━●──");
        assert_eq!(progress_bar(100, 100, 5), "━━━━●");
        assert_eq!(progress_bar(500, 100, 5), "━━━━●", "past the end stays at the end");
        assert_eq!(progress_bar(5, 0, 3), "●──");
    }

    #[test]
    fn titles_are_escaped_so_they_cannot_mention_or_restyle() {
        let evil = track(1, "@everyone <@123> **bold**", None);
        let line = title(&evil);
        assert!(line.contains("\\@everyone \\<\\@123\\>"), "{line}");
        assert!(!line.contains("<@123>"));
    }

    #[test]
    fn now_playing_shows_position_length_loop_volume_and_next() {
        let state = playing(2);
        let text = now_playing(&state, 11_000);
        assert!(text.contains("Song \\*one\\*"), "{text}");
        assert!(text.contains("`1:00 / 3:20`"), "{text}");
        assert!(text.contains("Requested by <@42>"));
        assert!(text.contains("Loop: off · Volume: 100%"));
        assert!(text.contains("Next: **t0** (2 waiting)"), "{text}");
    }

    #[test]
    fn a_radio_shows_its_stream_title_over_the_station_and_sources_get_their_credit() {
        let mut state = playing(0);
        let current = state.current.as_mut().unwrap();
        current.track.duration_ms = None;
        current.track.source = "radio:960e57c5-0601-11e8-ae97-52543be04c81".into();
        current.stream_title = Some("Band - *Hit*".into());
        let text = now_playing(&state, 11_000);
        assert!(text.contains("▶ Now playing **Band - \\*Hit\\***"), "{text}");
        assert!(text.contains("📻 **Song \\*one\\*** · Requested by <@42>"), "{text}");
        assert!(text.contains("Station from the Radio Browser directory"), "{text}");
        assert!(text.contains("live · `1:00`"), "{text}");
        let mut audius = track(2, "a", Some(1));
        audius.source = "audius:D7KyD".into();
        assert_eq!(attribution(&audius), Some("Streamed from Audius"));
        assert_eq!(attribution(&track(3, "b", Some(1))), None);
        let mut link = track(4, "c", Some(1));
        link.source = "https://example.com/a.mp3".into();
        assert_eq!(attribution(&link), None, "a link's scheme is no source");
    }

    #[test]
    fn library_page_buttons_carry_the_page_and_the_query_within_100_characters() {
        let id = library_page_id(2, Some("night: drive")).unwrap();
        assert_eq!(id, "library:page:2:night: drive");
        assert_eq!(parse_library_page(&id), Some((2, Some("night: drive".to_owned()))));
        assert_eq!(parse_library_page(&library_page_id(1, None).unwrap()), Some((1, None)));
        assert_eq!(parse_library_page("library:page:0:x"), None, "pages count from 1");
        assert_eq!(parse_library_page("library:page:x"), None);
        assert_eq!(parse_library_page("queue:page:1"), None);
        let long = "é".repeat(MAX_CUSTOM_ID_CHARS);
        assert_eq!(library_page_id(1, Some(&long)), None);
        let fits = "é".repeat(MAX_CUSTOM_ID_CHARS - "library:page:10:".len());
        assert_eq!(library_page_id(10, Some(&fits)).unwrap().chars().count(), MAX_CUSTOM_ID_CHARS);
    }

    #[test]
    fn the_queue_pages_by_ten_with_totals_and_buttons() {
        let state = playing(25);
        let first = queue_page(&state, 0, 1_000);
        assert!(first.content.contains("`#1` **t0**"));
        assert!(first.content.contains("`#10` **t9**"));
        assert!(!first.content.contains("`#11`"));
        assert!(first.content.contains("25 tracks waiting · total 25:00 · remaining 27:30"), "{}", first.content);
        assert!(first.content.contains("page 1/3"));
        assert_eq!(first.buttons.len(), 1);
        assert_eq!(parse_queue_page(&first.buttons[0].custom_id), Some(1));
        let last = queue_page(&state, 99, 1_000);
        assert!(last.content.contains("`#25`") && last.content.contains("page 3/3"));
        assert_eq!(parse_queue_page(&last.buttons[0].custom_id), Some(1));
        assert!(queue_page(&playing(3), 0, 0).buttons.is_empty());
    }

    #[test]
    fn history_lists_newest_first_with_a_requeue_button_each() {
        let mut state = playing(0);
        state.history = vec![track(3, "old", Some(1)), track(4, "new", Some(1))];
        let view = history(&state);
        assert!(view.content.find("**new**").unwrap() < view.content.find("**old**").unwrap());
        assert_eq!(view.buttons.len(), 2);
        assert_eq!(parse_requeue(&view.buttons[0].custom_id), Some(TrackId(4)));
        assert_eq!(view.buttons[0].label, "1");
    }

    #[test]
    fn the_controller_has_five_buttons_and_says_when_paused() {
        let mut state = playing(0);
        let message = controller(&state, 0);
        let ids: Vec<&str> = message.buttons.iter().map(|b| b.custom_id.as_str()).collect();
        assert_eq!(ids, controls::ALL);
        assert_eq!(message.buttons[0].label, "⏸ Pause");
        state.paused = true;
        let message = controller(&state, 0);
        assert_eq!(message.buttons[0].label, "▶ Resume");
        assert!(message.content.starts_with("⏸ Paused:"));
        state.current = None;
        assert!(controller(&state, 0).buttons.is_empty());
    }

    #[test]
    fn dj_refusals_name_the_role_and_suggest_a_vote_for_skips() {
        let role = RoleId::new(77);
        let text = error(&PlayerError::NeedsDj(DjAction::Skip), role);
        assert!(text.contains("<@&77>") && text.contains("/voteskip"), "{text}");
        let text = error(&PlayerError::NeedsDj(DjAction::Clear), None);
        assert!(text.contains("the DJ role") && !text.contains("voteskip"), "{text}");
    }

    #[test]
    fn position_choices_match_titles_and_numbers() {
        let state = playing(30);
        assert_eq!(position_choices(&state, "").len(), 25);
        let by_title = position_choices(&state, "T12");
        assert_eq!(by_title, vec![("#13 t12 (1:00)".to_owned(), 13)]);
        let by_number: Vec<usize> = position_choices(&state, "2").iter().map(|c| c.1).collect();
        assert!(by_number.contains(&2) && by_number.contains(&20));
    }
}
