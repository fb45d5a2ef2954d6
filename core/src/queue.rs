//! A guild's queue: what plays now and what comes next.
//!
//! This is the pure queue engine; the player in `voice/` drives it and a
//! [`crate::QueueStore`] persists it with optimistic concurrency.

use serde::{Deserialize, Serialize};

use crate::{GuildId, UserId};

/// The most tracks a guild may have waiting; more is refused, not dropped.
pub const MAX_QUEUE_LEN: usize = 500;

/// One track in a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedTrack {
    /// What the member asked for (URL or file path), as resolved.
    pub source: String,
    /// A title to show.
    pub title: String,
    /// Who asked for it.
    pub requested_by: UserId,
}

/// Why the queue refused a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The queue already holds [`MAX_QUEUE_LEN`] tracks.
    #[error("the queue is full ({max} tracks)")]
    Full {
        /// The limit.
        max: usize,
    },
}

/// A guild's queue as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildQueue {
    /// The guild that owns the queue (the partition key).
    pub guild_id: GuildId,
    /// Incremented on every save; a save names the version it read.
    pub version: u64,
    /// The track playing now.
    pub now_playing: Option<QueuedTrack>,
    /// Tracks waiting, in order.
    pub upcoming: Vec<QueuedTrack>,
}

impl GuildQueue {
    /// An empty queue that has never been saved (version 0).
    pub fn empty(guild_id: GuildId) -> Self {
        Self { guild_id, version: 0, now_playing: None, upcoming: Vec::new() }
    }

    /// Adds a track; it starts at once when nothing is playing.
    ///
    /// Returns `true` when the track became the one playing now.
    ///
    /// # Errors
    /// [`QueueError::Full`] when [`MAX_QUEUE_LEN`] tracks already wait.
    pub fn enqueue(&mut self, track: QueuedTrack) -> Result<bool, QueueError> {
        if self.now_playing.is_none() {
            self.now_playing = Some(track);
            return Ok(true);
        }
        if self.upcoming.len() >= MAX_QUEUE_LEN {
            return Err(QueueError::Full { max: MAX_QUEUE_LEN });
        }
        self.upcoming.push(track);
        Ok(false)
    }

    /// Replaces what plays now, keeping what waits (play-now semantics).
    pub fn play_now(&mut self, track: QueuedTrack) {
        self.now_playing = Some(track);
    }

    /// Moves to the next track; returns it.
    pub fn advance(&mut self) -> Option<&QueuedTrack> {
        self.now_playing = if self.upcoming.is_empty() { None } else { Some(self.upcoming.remove(0)) };
        self.now_playing.as_ref()
    }

    /// Empties the queue.
    pub fn clear(&mut self) {
        self.now_playing = None;
        self.upcoming.clear();
    }

    /// Whether nothing plays and nothing waits.
    pub fn is_empty(&self) -> bool {
        self.now_playing.is_none() && self.upcoming.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(n: u32) -> QueuedTrack {
        QueuedTrack { source: format!("s{n}"), title: format!("t{n}"), requested_by: UserId::new(1).unwrap() }
    }

    fn queue() -> GuildQueue {
        GuildQueue::empty(GuildId::new(9).unwrap())
    }

    #[test]
    fn enqueue_starts_first_track_and_queues_the_rest() {
        let mut q = queue();
        assert!(q.enqueue(track(1)).unwrap());
        assert!(!q.enqueue(track(2)).unwrap());
        assert_eq!(q.now_playing, Some(track(1)));
        assert_eq!(q.upcoming, vec![track(2)]);
        assert_eq!(q.advance(), Some(&track(2)));
        assert_eq!(q.advance(), None);
        assert!(q.is_empty());
    }

    #[test]
    fn enqueue_rejects_full_queue_and_keeps_what_it_had() {
        let mut q = queue();
        q.enqueue(track(0)).unwrap();
        for n in 0..MAX_QUEUE_LEN {
            q.enqueue(track(n as u32 + 1)).unwrap();
        }
        let before = q.clone();
        assert_eq!(q.enqueue(track(9999)), Err(QueueError::Full { max: MAX_QUEUE_LEN }));
        assert_eq!(q, before);
    }

    #[test]
    fn clear_empties_everything() {
        let mut q = queue();
        q.enqueue(track(1)).unwrap();
        q.enqueue(track(2)).unwrap();
        q.clear();
        assert!(q.is_empty());
    }
}
