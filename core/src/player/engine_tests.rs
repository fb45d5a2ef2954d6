//! The engine's transitions, one command at a time, then property tests
//! over random command sequences.

use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use crate::{ChannelId, GuildId, UserId};

const VOICE: u64 = 500;
const NOW: u64 = 1_000_000;

fn user(n: u64) -> UserId {
    UserId::new(n).unwrap()
}

fn new_track(n: u64, by: u64) -> NewTrack {
    NewTrack { source: format!("s{n}"), title: format!("t{n}"), duration_ms: Some(60_000), requested_by: user(by) }
}

fn caller(by: u64, dj: bool) -> Caller {
    Caller { user: user(by), dj, voice_channel: ChannelId::new(VOICE), text_channel: ChannelId::new(7) }
}

fn ctx(by: u64, dj: bool) -> Context {
    Context { now_ms: NOW, limits: Limits::default(), caller: caller(by, dj) }
}

fn dj() -> Context {
    ctx(1, true)
}

fn state() -> PlayerState {
    PlayerState::new(GuildId::new(9).unwrap(), 100)
}

/// A state playing t0 with t1..=t`waiting` queued, all by user 1.
fn playing(waiting: u64) -> PlayerState {
    let mut s = state();
    for n in 0..=waiting {
        s.apply(Command::Enqueue { tracks: vec![new_track(n, 1)], placement: Placement::End }, &dj()).unwrap();
    }
    s
}

fn titles(s: &PlayerState) -> Vec<String> {
    s.upcoming.iter().map(|t| t.title.clone()).collect()
}

fn current_title(s: &PlayerState) -> Option<String> {
    s.current.as_ref().map(|c| c.track.title.clone())
}

fn end_current(s: &mut PlayerState) -> EventOutcome {
    let c = s.current.as_ref().expect("something plays");
    let (track, epoch) = (c.track.id, c.epoch);
    s.on_event(Event::Ended { track, epoch }, NOW)
}

#[test]
fn the_first_track_plays_at_once_and_joins_the_members_channel() {
    let mut s = state();
    let outcome = s.apply(Command::Enqueue { tracks: vec![new_track(0, 1)], placement: Placement::End }, &dj());
    let Ok(Outcome::Enqueued { first, position: None, count: 1, resumed: None, .. }) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(first.title, "t0");
    assert_eq!(s.voice_channel, ChannelId::new(VOICE));
    assert_eq!(s.text_channel, ChannelId::new(7));
    assert!(s.is_active());
}

#[test]
fn later_tracks_queue_in_order_next_goes_first_and_now_replaces_the_current() {
    let mut s = playing(2);
    assert_eq!(titles(&s), ["t1", "t2"]);
    let next = s.apply(Command::Enqueue { tracks: vec![new_track(9, 1)], placement: Placement::Next }, &dj());
    assert!(matches!(next, Ok(Outcome::Enqueued { position: Some(1), .. })));
    assert_eq!(titles(&s), ["t9", "t1", "t2"]);
    s.apply(Command::Enqueue { tracks: vec![new_track(8, 1)], placement: Placement::Now }, &dj()).unwrap();
    assert_eq!(current_title(&s).as_deref(), Some("t8"));
    assert_eq!(s.history.last().unwrap().title, "t0", "the interrupted track counts as played");
    assert_eq!(titles(&s), ["t9", "t1", "t2"]);
}

#[test]
fn a_track_ending_plays_the_next_and_the_last_one_finishes_the_queue() {
    let mut s = playing(1);
    let EventOutcome::Advanced { finished, next: Some(next), failed: false } = end_current(&mut s) else { panic!() };
    assert_eq!((finished.title.as_str(), next.title.as_str()), ("t0", "t1"));
    assert!(matches!(end_current(&mut s), EventOutcome::Advanced { next: None, .. }));
    assert!(s.current.is_none());
    assert_eq!(s.history.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(), ["t0", "t1"]);
    assert_eq!(s.voice_channel, ChannelId::new(VOICE), "the bot stays until idle leave");
}

#[test]
fn an_event_about_older_audio_is_ignored() {
    let mut s = playing(1);
    let c = s.current.clone().unwrap();
    s.apply(Command::Seek(SeekTarget::To(5_000)), &dj()).unwrap();
    assert_eq!(s.on_event(Event::Ended { track: c.track.id, epoch: c.epoch }, NOW), EventOutcome::Ignored);
    assert_eq!(current_title(&s).as_deref(), Some("t0"));
}

#[test]
fn loop_track_replays_and_loop_queue_puts_each_track_at_the_back() {
    let mut s = playing(1);
    s.apply(Command::SetLoop(LoopMode::Track), &dj()).unwrap();
    let epoch = s.current.as_ref().unwrap().epoch;
    assert!(matches!(end_current(&mut s), EventOutcome::Replayed(_)));
    assert_eq!(current_title(&s).as_deref(), Some("t0"));
    assert_ne!(s.current.as_ref().unwrap().epoch, epoch);

    s.apply(Command::SetLoop(LoopMode::Queue), &dj()).unwrap();
    end_current(&mut s);
    assert_eq!(current_title(&s).as_deref(), Some("t1"));
    assert_eq!(titles(&s), ["t0"]);
    end_current(&mut s);
    assert_eq!(current_title(&s).as_deref(), Some("t0"));
    assert_eq!(titles(&s), ["t1"], "a loop of two cycles");
}

#[test]
fn a_failed_track_is_dropped_even_when_looping() {
    let mut s = playing(1);
    s.apply(Command::SetLoop(LoopMode::Queue), &dj()).unwrap();
    let c = s.current.clone().unwrap();
    let outcome = s.on_event(Event::Failed { track: c.track.id, epoch: c.epoch }, NOW);
    assert!(matches!(outcome, EventOutcome::Advanced { failed: true, .. }));
    assert_eq!(current_title(&s).as_deref(), Some("t1"));
    assert!(s.upcoming.is_empty() && s.history.is_empty());
}

#[test]
fn skip_skipto_and_previous_walk_the_queue() {
    let mut s = playing(4);
    let Ok(Outcome::Skipped { skipped, next: Some(next) }) = s.apply(Command::Skip, &dj()) else { panic!() };
    assert_eq!((skipped.title.as_str(), next.title.as_str()), ("t0", "t1"));
    let Ok(Outcome::SkippedTo { next, passed: 2 }) = s.apply(Command::SkipTo { position: 3 }, &dj()) else { panic!() };
    assert_eq!(next.title, "t4");
    let Ok(Outcome::WentBack(back)) = s.apply(Command::Previous, &dj()) else { panic!() };
    assert_eq!(back.title, "t3");
    assert_eq!(titles(&s), ["t4"], "the track left comes next");
    s.apply(Command::Previous, &dj()).unwrap();
    s.apply(Command::Previous, &dj()).unwrap();
    assert_eq!(current_title(&s).as_deref(), Some("t1"));
    assert_eq!(titles(&s), ["t2", "t3", "t4"]);
}

#[test]
fn previous_in_loop_queue_moves_the_track_instead_of_duplicating_it() {
    let mut s = playing(2);
    s.apply(Command::SetLoop(LoopMode::Queue), &dj()).unwrap();
    end_current(&mut s); // t0 to the back: t1 | t2 t0
    s.apply(Command::Previous, &dj()).unwrap();
    assert_eq!(current_title(&s).as_deref(), Some("t0"));
    assert_eq!(titles(&s), ["t1", "t2"]);
}

#[test]
fn positions_out_of_range_change_nothing_and_say_how_long_the_queue_is() {
    let mut s = playing(3);
    let before = s.clone();
    for command in [
        Command::SkipTo { position: 4 },
        Command::Remove { position: 0 },
        Command::Move { from: 1, to: 9 },
        Command::Swap { first: 7, second: 1 },
    ] {
        let error = s.apply(command.clone(), &dj()).unwrap_err();
        assert!(matches!(error, PlayerError::PositionOutOfRange { len: 3, .. }), "{command:?}: {error:?}");
        assert_eq!(s, before, "{command:?}");
    }
}

#[test]
fn move_swap_remove_clear_and_shuffle_rearrange_the_waiting_tracks() {
    let mut s = playing(5);
    s.apply(Command::Move { from: 5, to: 1 }, &dj()).unwrap();
    assert_eq!(titles(&s), ["t5", "t1", "t2", "t3", "t4"]);
    s.apply(Command::Swap { first: 1, second: 2 }, &dj()).unwrap();
    assert_eq!(titles(&s), ["t1", "t5", "t2", "t3", "t4"]);
    let Ok(Outcome::Removed { track, position: 2 }) = s.apply(Command::Remove { position: 2 }, &dj()) else { panic!() };
    assert_eq!(track.title, "t5");
    let mut shuffled = s.clone();
    shuffled.apply(Command::Shuffle { seed: 3 }, &dj()).unwrap();
    let mut expected = s.upcoming.clone();
    shuffle_seeded(&mut expected, 3);
    assert_eq!(shuffled.upcoming, expected, "the seed decides the order");
    assert!(matches!(s.apply(Command::Clear, &dj()), Ok(Outcome::Cleared { count: 4 })));
    assert_eq!(s.apply(Command::Clear, &dj()), Err(PlayerError::QueueEmpty));
    assert_eq!(current_title(&s).as_deref(), Some("t0"), "clear keeps the current track");
}

#[test]
fn pause_resume_and_seek_move_the_clock_anchor() {
    let mut s = playing(0);
    let c = s.current.clone().unwrap();
    s.on_event(Event::Started { track: c.track.id, epoch: c.epoch }, NOW);
    let later = Context { now_ms: NOW + 10_000, ..dj() };
    s.apply(Command::Pause, &later).unwrap();
    assert_eq!(s.apply(Command::Pause, &later), Err(PlayerError::AlreadyPaused));
    assert_eq!(s.position_at(NOW + 99_000), 10_000, "paused: the position holds");
    let resume = Context { now_ms: NOW + 50_000, ..dj() };
    s.apply(Command::Resume, &resume).unwrap();
    assert_eq!(s.position_at(NOW + 52_000), 12_000);
    assert_eq!(s.apply(Command::Resume, &resume), Err(PlayerError::NotPaused));

    let at = Context { now_ms: NOW + 52_000, ..dj() };
    let Ok(Outcome::Seeked { to_ms: 42_000, .. }) = s.apply(Command::Seek(SeekTarget::Forward(30_000)), &at) else {
        panic!()
    };
    assert_eq!(s.position_at(NOW + 60_000), 42_000, "waits for the audio after a seek");
    assert_eq!(
        s.apply(Command::Seek(SeekTarget::To(60_000)), &at),
        Err(PlayerError::SeekPastEnd { length_ms: 60_000 })
    );
    s.apply(Command::Seek(SeekTarget::Back(99_000)), &at).unwrap();
    assert_eq!(s.position_at(NOW), 0);
}

#[test]
fn live_tracks_cannot_seek() {
    let mut s = state();
    let live = NewTrack { duration_ms: None, ..new_track(1, 1) };
    s.apply(Command::Enqueue { tracks: vec![live], placement: Placement::End }, &dj()).unwrap();
    assert_eq!(s.apply(Command::Seek(SeekTarget::To(1)), &dj()), Err(PlayerError::NotSeekable));
}

#[test]
fn volume_is_bounded_to_200() {
    let mut s = playing(0);
    assert_eq!(s.apply(Command::SetVolume(999), &dj()), Err(PlayerError::VolumeOutOfRange { given: 999 }));
    assert_eq!(s.volume, 100);
    assert!(matches!(s.apply(Command::SetVolume(200), &dj()), Ok(Outcome::VolumeSet { from: 100, to: 200 })));
}

#[test]
fn members_outside_the_bots_channel_change_nothing() {
    let mut s = playing(1);
    let before = s.clone();
    let elsewhere = Context { caller: Caller { voice_channel: ChannelId::new(VOICE + 1), ..caller(2, true) }, ..dj() };
    assert_eq!(
        s.apply(Command::Pause, &elsewhere),
        Err(PlayerError::NotInBotChannel { bot_channel: ChannelId::new(VOICE).unwrap() })
    );
    let nowhere = Context { caller: Caller { voice_channel: None, ..caller(2, true) }, ..dj() };
    assert_eq!(s.apply(Command::Skip, &nowhere), Err(PlayerError::NotInVoice));
    let play = Command::Enqueue { tracks: vec![new_track(5, 2)], placement: Placement::End };
    assert_eq!(s.apply(play, &nowhere), Err(PlayerError::NotInVoice));
    assert_eq!(s, before);
}

#[test]
fn without_the_dj_role_members_handle_only_their_own_tracks() {
    let mut s = playing(2); // every track by user 1
    s.apply(Command::Enqueue { tracks: vec![new_track(7, 2)], placement: Placement::End }, &ctx(2, false)).unwrap();
    let member = ctx(2, false);
    for (command, action) in [
        (Command::Skip, DjAction::Skip),
        (Command::Stop, DjAction::Stop),
        (Command::Clear, DjAction::Clear),
        (Command::Remove { position: 1 }, DjAction::Remove),
        (Command::Move { from: 1, to: 2 }, DjAction::Move),
        (Command::SkipTo { position: 2 }, DjAction::Skip),
    ] {
        assert_eq!(s.clone().apply(command.clone(), &member), Err(PlayerError::NeedsDj(action)), "{command:?}");
    }
    // Their own track (#3) they may move and remove.
    s.apply(Command::Move { from: 3, to: 1 }, &member).unwrap();
    assert_eq!(titles(&s), ["t7", "t1", "t2"]);
    s.apply(Command::Remove { position: 1 }, &member).unwrap();
    assert_eq!(titles(&s), ["t1", "t2"]);
}

#[test]
fn a_majority_of_listeners_skips_by_vote_and_a_dj_skips_at_once() {
    assert_eq!(votes_needed(3, 50), 2);
    assert_eq!(votes_needed(4, 50), 3);
    assert_eq!(votes_needed(1, 50), 1);
    assert_eq!(votes_needed(5, 100), 5);
    assert_eq!(votes_needed(0, 50), 1);

    let mut s = playing(1);
    let listeners = vec![user(2), user(3), user(4)];
    let vote = || Command::VoteSkip { listeners: listeners.clone() };
    assert_eq!(s.apply(vote(), &ctx(2, false)), Ok(Outcome::Voted { votes: 1, needed: 2 }));
    assert_eq!(s.apply(vote(), &ctx(2, false)), Err(PlayerError::AlreadyVoted { votes: 1, needed: 2 }));
    let Ok(Outcome::VoteSkipped { skipped, votes: 2, .. }) = s.apply(vote(), &ctx(3, false)) else { panic!() };
    assert_eq!(skipped.title, "t0");
    assert!(s.current.as_ref().unwrap().votes.is_empty(), "votes are per track");
    assert!(matches!(s.apply(vote(), &ctx(5, true)), Ok(Outcome::VoteSkipped { votes: 0, .. })));
}

#[test]
fn a_full_queue_refuses_a_track_and_loses_nothing() {
    let mut s = playing(0);
    let limits = Limits { max_queue_len: 2, ..Limits::default() };
    let ctx = Context { limits, ..dj() };
    for n in 1..=2 {
        s.apply(Command::Enqueue { tracks: vec![new_track(n, 1)], placement: Placement::End }, &ctx).unwrap();
    }
    let before = s.clone();
    let full = s.apply(Command::Enqueue { tracks: vec![new_track(3, 1)], placement: Placement::End }, &ctx);
    assert_eq!(full, Err(PlayerError::QueueFull { max: 2 }));
    assert_eq!(s, before);
    // A playlist takes what fits and says how many did not.
    let mut roomy = playing(0);
    let tracks = (1..=4).map(|n| new_track(n, 1)).collect();
    let Ok(Outcome::Enqueued { count: 2, dropped_full: 2, .. }) =
        roomy.apply(Command::Enqueue { tracks, placement: Placement::End }, &ctx)
    else {
        panic!()
    };
}

#[test]
fn tracks_over_the_length_limit_are_refused() {
    let mut s = state();
    let ctx = Context { limits: Limits { max_track_ms: 30_000, ..Limits::default() }, ..dj() };
    let error = s.apply(Command::Enqueue { tracks: vec![new_track(1, 1)], placement: Placement::End }, &ctx);
    assert_eq!(error, Err(PlayerError::TrackTooLong { max_ms: 30_000 }));
    assert!(s.is_empty() && s.voice_channel.is_none());
}

#[test]
fn the_fair_queue_gives_each_requester_one_track_per_round() {
    let mut s = playing(0);
    let ctx_fair = |by| Context { limits: Limits { fair_queue: true, ..Limits::default() }, ..ctx(by, false) };
    let add = |s: &mut PlayerState, n, by| {
        s.apply(Command::Enqueue { tracks: vec![new_track(n, by)], placement: Placement::End }, &ctx_fair(by)).unwrap()
    };
    add(&mut s, 1, 1);
    add(&mut s, 2, 1);
    add(&mut s, 3, 1);
    add(&mut s, 10, 2);
    add(&mut s, 20, 3);
    add(&mut s, 11, 2);
    assert_eq!(titles(&s), ["t1", "t10", "t20", "t2", "t11", "t3"]);
}

#[test]
fn stop_clears_everything_and_leave_keeps_the_queue_for_a_rejoin() {
    let mut s = playing(2);
    let c = s.current.clone().unwrap();
    s.on_event(Event::Started { track: c.track.id, epoch: c.epoch }, NOW);
    let leave = Context { now_ms: NOW + 7_000, ..dj() };
    assert_eq!(s.apply(Command::Leave, &leave), Ok(Outcome::Left { kept: 3 }));
    assert_eq!(s.voice_channel, None);
    assert_eq!(s.position_at(NOW + 60_000), 7_000, "the position is kept while away");
    // The next /play rejoins, resumes the kept track and queues the new one behind.
    let play = Command::Enqueue { tracks: vec![new_track(9, 1)], placement: Placement::End };
    let Ok(Outcome::Enqueued { resumed: Some(kept), position: Some(3), .. }) = s.apply(play, &dj()) else { panic!() };
    assert_eq!(kept.title, "t0");
    assert_eq!(current_title(&s).as_deref(), Some("t0"), "a /play never silently replaces the kept track");
    assert_ne!(s.current.as_ref().unwrap().epoch, c.epoch, "the audio is opened again");
    assert_eq!(s.position_at(NOW), 7_000);
    assert_eq!(s.apply(Command::Stop, &dj()), Ok(Outcome::Stopped { cleared: 4 }));
    assert!(s.is_empty() && s.voice_channel.is_none());
    assert_eq!(s.history.last().unwrap().title, "t0", "what was playing counts as played");
}

#[test]
fn a_disconnect_keeps_the_queue_and_a_move_is_followed() {
    let mut s = playing(1);
    let other = ChannelId::new(VOICE + 1).unwrap();
    assert_eq!(s.on_event(Event::Moved { channel: other }, NOW), EventOutcome::Followed(other));
    assert_eq!(s.voice_channel, Some(other));
    assert_eq!(s.on_event(Event::Disconnected, NOW), EventOutcome::Disconnected);
    assert_eq!(s.voice_channel, None);
    assert_eq!(current_title(&s).as_deref(), Some("t0"));
    assert_eq!(s.on_event(Event::Moved { channel: other }, NOW), EventOutcome::Ignored, "not in voice: no move");
}

#[test]
fn history_keeps_the_last_twenty_and_can_queue_one_again() {
    let mut s = playing(0);
    for n in 1..=25 {
        s.apply(Command::Enqueue { tracks: vec![new_track(n, 1)], placement: Placement::End }, &dj()).unwrap();
        end_current(&mut s);
    }
    assert_eq!(s.history.len(), HISTORY_LEN);
    assert_eq!(s.history.last().unwrap().title, "t24");
    let old = s.history[0].clone();
    let Ok(Outcome::Requeued { track, position: Some(1) }) =
        s.apply(Command::Requeue { track: old.id }, &ctx(3, false))
    else {
        panic!()
    };
    assert_eq!(track.source, old.source);
    assert_ne!(track.id, old.id, "a copy gets its own id");
    assert_eq!(track.requested_by, user(3));
    assert_eq!(s.apply(Command::Requeue { track: TrackId(9999) }, &dj()), Err(PlayerError::UnknownTrack));
}

// ---------------------------------------------------------------- properties

/// A command the property tests pick; positions are drawn small so many
/// hit the queue and some miss it.
#[derive(Debug, Clone)]
enum Step {
    Add { by: u64, placement: Placement, count: usize },
    Skip,
    SkipTo(usize),
    Previous,
    Remove(usize),
    Move(usize, usize),
    Swap(usize, usize),
    Shuffle(u64),
    Clear,
    Loop(LoopMode),
    Pause,
    Resume,
    Seek(u64),
    End,
    Fail,
    Leave,
    Vote(u64),
}

fn step() -> impl Strategy<Value = Step> {
    let placement = prop_oneof![Just(Placement::End), Just(Placement::Next), Just(Placement::Now)];
    let mode = prop_oneof![Just(LoopMode::Off), Just(LoopMode::Track), Just(LoopMode::Queue)];
    prop_oneof![
        4 => (1u64..4, placement, 1usize..4).prop_map(|(by, placement, count)| Step::Add { by, placement, count }),
        2 => Just(Step::Skip),
        1 => (0usize..8).prop_map(Step::SkipTo),
        1 => Just(Step::Previous),
        1 => (0usize..8).prop_map(Step::Remove),
        1 => (0usize..8, 0usize..8).prop_map(|(a, b)| Step::Move(a, b)),
        1 => (0usize..8, 0usize..8).prop_map(|(a, b)| Step::Swap(a, b)),
        1 => any::<u64>().prop_map(Step::Shuffle),
        1 => Just(Step::Clear),
        1 => mode.prop_map(Step::Loop),
        1 => Just(Step::Pause),
        1 => Just(Step::Resume),
        1 => (0u64..70_000).prop_map(Step::Seek),
        3 => Just(Step::End),
        1 => Just(Step::Fail),
        1 => Just(Step::Leave),
        1 => (1u64..4).prop_map(Step::Vote),
    ]
}

/// Ids in play order; panics on a duplicate.
fn unique_ids(s: &PlayerState) -> HashSet<TrackId> {
    let ids = s.queued_ids();
    let set: HashSet<TrackId> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "a track is in the queue twice: {ids:?}");
    set
}

struct Runner {
    state: PlayerState,
    next_source: u64,
    limits: Limits,
}

impl Runner {
    fn ctx(&self, by: u64) -> Context {
        Context { now_ms: NOW, limits: self.limits, caller: caller(by, by == 1) }
    }

    /// Runs one step and checks what it may and may not have done to the set
    /// of queued tracks.
    fn run(&mut self, step: &Step) {
        let before = unique_ids(&self.state);
        let looping_queue = self.state.loop_mode == LoopMode::Queue;
        let mut added = HashSet::new();
        let mut may_remove = false;
        match step {
            Step::Add { by, placement, count } => {
                let tracks = (0..*count)
                    .map(|_| {
                        self.next_source += 1;
                        new_track(self.next_source, *by)
                    })
                    .collect();
                let first_id = self.state.next_track_id;
                if let Ok(Outcome::Enqueued { count, .. }) =
                    self.state.apply(Command::Enqueue { tracks, placement: *placement }, &self.ctx(*by))
                {
                    added = (first_id..first_id + count as u64).map(TrackId).collect();
                    may_remove = *placement == Placement::Now && !looping_queue;
                }
            }
            Step::Skip | Step::SkipTo(_) | Step::Vote(_) | Step::End => {
                let command = match step {
                    Step::Skip => Some(Command::Skip),
                    Step::SkipTo(p) => Some(Command::SkipTo { position: *p }),
                    Step::Vote(_) => Some(Command::VoteSkip { listeners: vec![user(1), user(2), user(3)] }),
                    _ => None,
                };
                match (command, step) {
                    (Some(command), Step::Vote(by)) => drop(self.state.apply(command, &self.ctx(*by))),
                    (Some(command), _) => drop(self.state.apply(command, &self.ctx(1))),
                    _ => {
                        if self.state.current.is_some() {
                            end_current(&mut self.state);
                        }
                    }
                }
                may_remove = !looping_queue;
            }
            Step::Fail => {
                if let Some(c) = self.state.current.clone() {
                    self.state.on_event(Event::Failed { track: c.track.id, epoch: c.epoch }, NOW);
                }
                may_remove = true;
            }
            Step::Remove(p) => {
                drop(self.state.apply(Command::Remove { position: *p }, &self.ctx(1)));
                may_remove = true;
            }
            Step::Clear => {
                drop(self.state.apply(Command::Clear, &self.ctx(1)));
                may_remove = true;
            }
            Step::Previous => {
                // Brings a played track back: it may add a history entry.
                let back = self.state.history.last().map(|t| t.id);
                if self.state.apply(Command::Previous, &self.ctx(1)).is_ok() {
                    added.extend(back);
                }
            }
            Step::Move(a, b) => drop(self.state.apply(Command::Move { from: *a, to: *b }, &self.ctx(1))),
            Step::Swap(a, b) => drop(self.state.apply(Command::Swap { first: *a, second: *b }, &self.ctx(1))),
            Step::Shuffle(seed) => drop(self.state.apply(Command::Shuffle { seed: *seed }, &self.ctx(1))),
            Step::Loop(mode) => drop(self.state.apply(Command::SetLoop(*mode), &self.ctx(1))),
            Step::Pause => drop(self.state.apply(Command::Pause, &self.ctx(1))),
            Step::Resume => drop(self.state.apply(Command::Resume, &self.ctx(1))),
            Step::Seek(ms) => drop(self.state.apply(Command::Seek(SeekTarget::To(*ms)), &self.ctx(1))),
            Step::Leave => drop(self.state.apply(Command::Leave, &self.ctx(1))),
        }
        let after = unique_ids(&self.state);
        let expected_at_least: HashSet<TrackId> =
            if may_remove { HashSet::new() } else { before.union(&added).copied().collect() };
        assert!(expected_at_least.is_subset(&after), "{step:?} lost {:?}", expected_at_least.difference(&after));
        let allowed: HashSet<TrackId> = before.union(&added).copied().collect();
        assert!(after.is_subset(&allowed), "{step:?} made up {:?}", after.difference(&allowed));
        // Only /previous may push the current track back into a full queue.
        assert!(self.state.upcoming.len() <= self.limits.max_queue_len + HISTORY_LEN, "queue over its limit");
        if !matches!(step, Step::Previous) && self.state.upcoming.len() > self.limits.max_queue_len {
            assert!(self.state.upcoming.len() <= before.len(), "{step:?} grew a queue over its limit");
        }
        assert!(self.state.history.len() <= HISTORY_LEN);
        assert!(self.state.volume <= MAX_VOLUME);
        if let Some(current) = &self.state.current
            && let Some(length) = current.track.duration_ms
        {
            assert!(current.clock.offset_ms < length, "position past the end");
        }
        assert!(self.state.next_track_id > after.iter().map(|t| t.0).max().unwrap_or(0), "ids are never reused");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn no_sequence_of_commands_loses_or_duplicates_a_track(steps in prop::collection::vec(step(), 1..60)) {
        let mut runner = Runner {
            state: state(),
            next_source: 0,
            limits: Limits { max_queue_len: 6, ..Limits::default() },
        };
        for step in &steps {
            runner.run(step);
        }
    }

    #[test]
    fn loop_queue_cycles_every_track_back_in_order(count in 1usize..8, rounds in 1usize..4) {
        let mut s = state();
        let tracks = (0..count as u64).map(|n| new_track(n, 1)).collect();
        s.apply(Command::Enqueue { tracks, placement: Placement::End }, &dj()).unwrap();
        s.apply(Command::SetLoop(LoopMode::Queue), &dj()).unwrap();
        let order = s.queued_ids();
        let mut heard = Vec::new();
        for _ in 0..count * rounds {
            heard.push(s.current.as_ref().unwrap().track.id);
            end_current(&mut s);
        }
        let expected: Vec<TrackId> = order.iter().copied().cycle().take(count * rounds).collect();
        prop_assert_eq!(heard, expected);
        prop_assert_eq!(s.queued_ids(), order);
    }

    #[test]
    fn a_refused_command_leaves_the_state_exactly_as_it_was(position in 0usize..20, waiting in 0u64..5) {
        let mut s = playing(waiting);
        let before = s.clone();
        if s.apply(Command::Remove { position }, &dj()).is_err() {
            prop_assert_eq!(&s, &before);
        }
        let mut t = before.clone();
        if t.apply(Command::Move { from: position, to: 1 }, &dj()).is_err() {
            prop_assert_eq!(&t, &before);
        }
    }

    #[test]
    fn the_fair_queue_never_puts_a_requester_twice_in_one_round(adds in prop::collection::vec(1u64..5, 1..30)) {
        let mut s = playing(0);
        let fair = |by| Context { limits: Limits { fair_queue: true, ..Limits::default() }, ..ctx(by, false) };
        for (n, by) in adds.iter().enumerate() {
            s.apply(Command::Enqueue { tracks: vec![new_track(100 + n as u64, *by)], placement: Placement::End }, &fair(*by)).unwrap();
        }
        // Each round (a requester's k-th track) comes wholly before the next.
        let mut seen = std::collections::HashMap::new();
        let rounds: Vec<usize> = s.upcoming.iter().map(|t| {
            let k = seen.entry(t.requested_by).or_insert(0usize);
            *k += 1;
            *k
        }).collect();
        prop_assert!(rounds.windows(2).all(|w| w[0] <= w[1]), "rounds out of order: {:?}", rounds);
    }
}

#[test]
fn a_stream_title_is_shown_for_the_current_audio_only_and_resets_with_the_next_track() {
    let mut s = playing(1);
    let c = s.current.clone().unwrap();
    let announce = |title: &str, epoch| Event::StreamTitle { track: c.track.id, epoch, title: title.into() };
    assert_eq!(s.on_event(announce("Artist - Song\n", c.epoch), NOW), EventOutcome::Retitled("Artist - Song".into()));
    assert_eq!(s.current.as_ref().unwrap().stream_title.as_deref(), Some("Artist - Song"));
    assert_eq!(current_title(&s).as_deref(), Some("t0"), "the station keeps its own title");
    assert_eq!(s.on_event(announce("Artist - Song", c.epoch), NOW), EventOutcome::Ignored, "no change");
    assert_eq!(s.on_event(announce("Late", c.epoch + 100), NOW), EventOutcome::Ignored, "older audio");
    assert_eq!(s.current.as_ref().unwrap().stream_title.as_deref(), Some("Artist - Song"));
    assert_eq!(s.on_event(announce("  ", c.epoch), NOW), EventOutcome::Retitled(String::new()));
    assert_eq!(s.current.as_ref().unwrap().stream_title, None, "an empty title clears it");
    let long = "x".repeat(500);
    s.on_event(announce(&long, c.epoch), NOW);
    assert_eq!(s.current.as_ref().unwrap().stream_title.as_ref().unwrap().chars().count(), super::MAX_TITLE_CHARS);
    end_current(&mut s);
    assert_eq!(s.current.as_ref().unwrap().stream_title, None, "the next track starts without one");
}
