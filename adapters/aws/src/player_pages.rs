//! How a player's upcoming tracks are cut into page items.
//!
//! The cut points are content-defined, so a local edit changes only the
//! page it falls in and the next save rewrites that page alone:
//!
//! 1. A track is a *candidate* when the hash of its id says so, about one
//!    track in [`CUT_EVERY`]. The id is fixed for the track's life, so the
//!    decision moves with the track.
//! 2. A page ends after a candidate unless another candidate is among the
//!    [`MIN_PAGE_TRACKS`]` - 1` tracks before it. That look-back makes every
//!    page between two such cuts at least [`MIN_PAGE_TRACKS`] long, and it
//!    is local: it never depends on where the page started. It looks back
//!    through the current track and the history too, so advancing (the
//!    first waiting track becomes current, the current one history) leaves
//!    every cut where it was.
//! 3. A run between two cuts longer than [`MAX_PAGE_TRACKS`] or
//!    [`MAX_PAGE_BYTES`] is split into full pieces. A run that ends in a
//!    cut is split from its end, so removing or inserting at its front
//!    changes only its first piece; the last run (open at the end of the
//!    queue) is split from its start, so appending changes only its last
//!    piece.
//!
//! So advancing replaces one page (or drops or adds one), and so do
//! appending, play-next and removing the first track without advancing,
//! except in rare shapes (measured by the tests: about one append in a
//! thousand, one play-next or first-track removal in forty, then at most
//! four page items): an appended candidate closing a last run of several
//! pieces (it is split again from its end); play-next or a removal at the
//! front changing the look-back of the first three tracks; and, for
//! advancing too, a queue with no cut at all that spans several pieces
//! (they all shift).
//!
//! The hashes are SHA-256 over fixed byte layouts, so they are the same in
//! every build; changing a layout only makes the next save rewrite pages.

use std::ops::Range;

use sha2::{Digest, Sha256};
use timmybot_core::player::{Track, TrackId};

/// About one track in this many is a cut candidate: pages average this many
/// tracks.
pub(crate) const CUT_EVERY: u64 = 16;

/// The fewest tracks between two content-defined cuts.
pub(crate) const MIN_PAGE_TRACKS: usize = 4;

/// The most tracks a page holds. At the largest track the engine allows
/// (under 3 KiB stored) a full page stays under 200 KB.
pub(crate) const MAX_PAGE_TRACKS: usize = 64;

/// The most bytes a page's tracks may take, by [`track_size`]. Well under
/// DynamoDB's 400 KB item limit, and above what [`MAX_PAGE_TRACKS`] of the
/// largest tracks take, so it only binds if the track caps ever grow.
pub(crate) const MAX_PAGE_BYTES: usize = 256 * 1024;

/// An upper bound of a stored track's size as DynamoDB counts it: its
/// strings in UTF-8, plus attribute names, two numbers of at most 21 bytes,
/// the requester's id and the map's own overhead.
pub(crate) fn track_size(track: &Track) -> usize {
    const OVERHEAD: usize = 128;
    OVERHEAD + track.source.len() + track.title.len()
}

/// Whether the track with `id` is a cut candidate.
fn is_candidate(id: TrackId) -> bool {
    let digest = Sha256::new().chain_update(b"timmybot player page cut\0").chain_update(id.0.to_le_bytes()).finalize();
    let head = u64::from_le_bytes(digest[..8].try_into().expect("a SHA-256 digest has 32 bytes"));
    head.is_multiple_of(CUT_EVERY)
}

/// Cuts `upcoming` into pages: consecutive, non-empty ranges covering it,
/// in order. `before` are the ids of the tracks played before it (the
/// history, oldest first, then the current track), which only the
/// look-back of rule 2 reads.
pub(crate) fn split(before: &[TrackId], upcoming: &[Track]) -> Vec<Range<usize>> {
    // Rule 2: the natural cuts, as the index of the last track of each run.
    // Positions count from the first of the look-back's tracks before the
    // queue; only the last candidate seen matters.
    let look_back = &before[before.len().saturating_sub(MIN_PAGE_TRACKS - 1)..];
    let mut last_candidate = look_back.iter().rposition(|&id| is_candidate(id));
    let offset = look_back.len();
    let mut runs = Vec::new();
    let mut start = 0;
    for (i, track) in upcoming.iter().enumerate() {
        let here = offset + i;
        if is_candidate(track.id) {
            if last_candidate.is_none_or(|c| here - c >= MIN_PAGE_TRACKS) {
                runs.push((start..i + 1, true));
                start = i + 1;
            }
            last_candidate = Some(here);
        }
    }
    if start < upcoming.len() {
        runs.push((start..upcoming.len(), false));
    }

    // Rule 3: runs too large for one page.
    let mut pages = Vec::new();
    for (run, closed) in runs {
        let tracks = &upcoming[run.clone()];
        if fits(tracks) {
            pages.push(run);
        } else if closed {
            let mut pieces = pieces(tracks.iter().rev());
            pieces.reverse();
            let mut at = run.start;
            for len in pieces {
                pages.push(at..at + len);
                at += len;
            }
        } else {
            let mut at = run.start;
            for len in pieces(tracks.iter()) {
                pages.push(at..at + len);
                at += len;
            }
        }
    }
    pages
}

/// Whether `tracks` fit one page.
fn fits(tracks: &[Track]) -> bool {
    tracks.len() <= MAX_PAGE_TRACKS && tracks.iter().map(track_size).sum::<usize>() <= MAX_PAGE_BYTES
}

/// Lengths of full pieces, packed greedily in the order `tracks` come.
fn pieces<'a>(tracks: impl Iterator<Item = &'a Track>) -> Vec<usize> {
    let mut lengths = Vec::new();
    let (mut len, mut bytes) = (0, 0);
    for track in tracks {
        let size = track_size(track);
        if len > 0 && (len == MAX_PAGE_TRACKS || bytes + size > MAX_PAGE_BYTES) {
            lengths.push(len);
            (len, bytes) = (0, 0);
        }
        len += 1;
        bytes += size;
    }
    if len > 0 {
        lengths.push(len);
    }
    lengths
}

/// The content hash of a page: 128 bits of SHA-256, in hex, over every
/// field of every track in a fixed layout (lengths before strings, so no
/// two different pages encode alike).
pub(crate) fn page_hash(tracks: &[Track]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"timmybot player page v1\0");
    hasher.update((tracks.len() as u64).to_le_bytes());
    for track in tracks {
        hasher.update(track.id.0.to_le_bytes());
        hasher.update((track.source.len() as u64).to_le_bytes());
        hasher.update(track.source.as_bytes());
        hasher.update((track.title.len() as u64).to_le_bytes());
        hasher.update(track.title.as_bytes());
        match track.duration_ms {
            Some(ms) => {
                hasher.update([1]);
                hasher.update(ms.to_le_bytes());
            }
            None => hasher.update([0]),
        }
        hasher.update(track.requested_by.get().to_le_bytes());
    }
    hasher.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_core::UserId;

    fn track(id: u64, source_len: usize) -> Track {
        Track {
            id: TrackId(id),
            source: "s".repeat(source_len),
            title: format!("t{id}"),
            duration_ms: Some(id),
            requested_by: UserId::new(3).unwrap(),
        }
    }

    fn tracks(ids: Range<u64>) -> Vec<Track> {
        ids.map(|id| track(id, 40)).collect()
    }

    fn ids(ids: Range<u64>) -> Vec<TrackId> {
        ids.map(TrackId).collect()
    }

    /// The pages as lists of ids, to compare cuts across edits.
    fn pages(before: &[TrackId], upcoming: &[Track]) -> Vec<Vec<u64>> {
        split(before, upcoming).into_iter().map(|r| upcoming[r].iter().map(|t| t.id.0).collect()).collect()
    }

    fn changed(old: &[Vec<u64>], new: &[Vec<u64>]) -> usize {
        old.iter().filter(|p| !new.contains(p)).count() + new.iter().filter(|p| !old.contains(p)).count()
    }

    #[test]
    fn pages_cover_the_queue_in_order_within_the_bounds() {
        for n in [0, 1, 5, 63, 64, 65, 300, 1020] {
            let upcoming = tracks(1..n + 1);
            let ranges = split(&[], &upcoming);
            let mut at = 0;
            for range in &ranges {
                assert_eq!(range.start, at);
                assert!(!range.is_empty() && fits(&upcoming[range.clone()]));
                at = range.end;
            }
            assert_eq!(at, upcoming.len());
        }
    }

    #[test]
    fn natural_cuts_are_at_least_the_minimum_apart_and_average_the_target() {
        let upcoming = tracks(1..20_001);
        let ranges = split(&[], &upcoming);
        let natural: Vec<_> = ranges.iter().filter(|r| is_candidate(upcoming[r.end - 1].id)).collect();
        for pair in natural.windows(2) {
            assert!(pair[1].end - pair[0].end >= MIN_PAGE_TRACKS, "{pair:?}");
        }
        let average = upcoming.len() / ranges.len();
        assert!((12..=24).contains(&average), "average page of {average} tracks");
    }

    #[test]
    fn the_largest_tracks_fill_pages_by_count_not_bytes() {
        let largest = Track {
            id: TrackId(1),
            source: "a".repeat(timmybot_core::player::MAX_SOURCE_BYTES),
            title: "🎶".repeat(timmybot_core::player::MAX_TITLE_CHARS),
            duration_ms: Some(u64::MAX),
            requested_by: UserId::new(u64::MAX).unwrap(),
        };
        assert!(track_size(&largest) * MAX_PAGE_TRACKS <= MAX_PAGE_BYTES);
        assert!(track_size(&largest) * MAX_PAGE_TRACKS < 200_000);
    }

    #[test]
    fn oversized_tracks_are_split_by_bytes() {
        let upcoming: Vec<_> = (1..200).map(|id| track(id, 20_000)).collect();
        for range in split(&[], &upcoming) {
            let bytes: usize = upcoming[range].iter().map(track_size).sum();
            assert!(bytes <= MAX_PAGE_BYTES);
        }
    }

    #[test]
    fn advancing_changes_one_page_at_most_two_items() {
        let upcoming = tracks(100..400);
        let before = ids(1..100);
        let old = pages(&before, &upcoming);
        let mut advanced_before = before.clone();
        advanced_before.push(upcoming[0].id);
        let new = pages(&advanced_before, &upcoming[1..]);
        assert!(changed(&old, &new) <= 2, "{old:?}\n{new:?}");
    }

    #[test]
    fn every_advance_through_a_long_queue_changes_at_most_two_items() {
        let all = tracks(1..600);
        for at in 20..500 {
            let old = pages(&ids(1..at as u64), &all[at - 1..]);
            let new = pages(&ids(1..at as u64 + 1), &all[at..]);
            assert!(changed(&old, &new) <= 2, "advance at {at}");
        }
    }

    #[test]
    fn every_append_changes_at_most_two_items() {
        let all = tracks(1..600);
        let before = ids(1000..1003);
        let mut worse = 0;
        for n in 1..all.len() {
            let c = changed(&pages(&before, &all[..n - 1]), &pages(&before, &all[..n]));
            if c > 2 {
                worse += 1;
            }
        }
        // Only an appended candidate closing a last run of several pieces
        // rewrites more; with runs averaging 16 tracks that is rare.
        assert!(worse <= 3, "{worse} appends changed more than two items");
    }

    #[test]
    fn removing_or_inserting_at_the_front_keeps_the_other_pages() {
        let upcoming = tracks(100..400);
        let before = ids(1..100);
        let old = pages(&before, &upcoming);
        let removed = pages(&before, &upcoming[1..]);
        assert!(changed(&old, &removed) <= 3, "removal: the look-back may move one cut");
        let mut inserted = vec![track(5000, 40)];
        inserted.extend(upcoming.iter().cloned());
        let new = pages(&before, &inserted);
        assert!(changed(&old, &new) <= 3, "{old:?}\n{new:?}");
    }

    #[test]
    fn a_change_in_the_middle_changes_only_its_page() {
        let upcoming = tracks(1..400);
        let old = pages(&[], &upcoming);
        let mut edited = upcoming.clone();
        edited[200].title = "changed".into();
        let new = split(&[], &edited);
        assert_eq!(new.len(), old.len());
        let differing = new.iter().filter(|r| page_hash(&upcoming[(*r).clone()]) != page_hash(&edited[(*r).clone()]));
        assert_eq!(differing.count(), 1);
    }

    #[test]
    fn page_hashes_see_every_field_and_are_stable() {
        let base = vec![track(1, 3), track(2, 3)];
        let hash = page_hash(&base);
        assert_eq!(hash.len(), 32);
        // Pinned (and checked by hand against Python's hashlib): a change
        // here makes every save after an upgrade rewrite all its pages once.
        assert_eq!(hash, "3f7175b0881ccd22b8e5e954cb59f651");
        let candidates: Vec<u64> = (1..60).filter(|&id| is_candidate(TrackId(id))).collect();
        assert_eq!(candidates, [11, 24, 28, 36, 46, 49, 56]);
        let mut variants = Vec::new();
        let mut v = base.clone();
        v[0].id = TrackId(9);
        variants.push(v);
        let mut v = base.clone();
        v[0].source.push('x');
        variants.push(v);
        let mut v = base.clone();
        v[1].title = "other".into();
        variants.push(v);
        let mut v = base.clone();
        v[1].duration_ms = None;
        variants.push(v);
        let mut v = base.clone();
        v[1].requested_by = UserId::new(4).unwrap();
        variants.push(v);
        variants.push(vec![base[1].clone(), base[0].clone()]);
        variants.push(vec![base[0].clone()]);
        for variant in variants {
            assert_ne!(page_hash(&variant), hash, "{variant:?}");
        }
    }

    /// Over 1,000 positions of a 500-track queue: advancing always changes
    /// at most two page items; appending, removing the first track without
    /// advancing, and play-next rarely change more (the shapes the module
    /// documentation names), and never more than four.
    #[test]
    fn the_common_changes_rarely_change_more_than_two_items() {
        let all = tracks(1..3000);
        let ids: Vec<TrackId> = all.iter().map(|t| t.id).collect();
        let mut worse = [0usize; 4];
        let mut worst = 0;
        let positions = 20..1020;
        for at in positions.clone() {
            let queue = &all[at..at + 500];
            let before = &ids[..at];
            let old = pages(before, queue);
            let counts = [
                changed(&old, &pages(&ids[..=at], &queue[1..])),
                changed(&pages(before, &queue[..499]), &old),
                changed(&old, &pages(before, &queue[1..])),
                changed(&old, &pages(before, &[&[track(100_000 + at as u64, 40)], queue].concat())),
            ];
            for (kind, count) in counts.into_iter().enumerate() {
                worse[kind] += usize::from(count > 2);
                worst = worst.max(count);
            }
        }
        assert_eq!(worse[0], 0, "advancing");
        for (kind, name) in [(1, "append"), (2, "removing the first"), (3, "play-next")] {
            assert!(worse[kind] * 20 < positions.len(), "{name}: {} of {} positions", worse[kind], positions.len());
        }
        assert!(worst <= 4, "{worst}");
    }
}
