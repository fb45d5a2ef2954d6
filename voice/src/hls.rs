//! HLS streams played through the outbound client: the master playlist's
//! variant is chosen, its media playlist read, and its segments fetched in
//! order (each checked and counted like any link), their bytes handed to
//! songbird as one continuous stream.
//!
//! That works for segment formats whose pieces concatenate into one
//! readable stream: ADTS AAC, MP3, Ogg, and WAV pieces (a streaming header
//! on the first). Fragmented MP4 (`#EXT-X-MAP`) and MPEG-TS segments are
//! refused as unplayable: symphonia 0.5 demuxes neither as a stream of
//! pieces. Encrypted streams are refused with [`SourceError::Encrypted`].
//!
//! On demand (`#EXT-X-ENDLIST`), every segment plays and the track's length
//! is the sum of theirs. Live, playback starts near the live edge (the last
//! [`LIVE_EDGE`] segments) and the media playlist is fetched again about
//! every target duration; segments are told apart by their media sequence
//! number, so none plays twice and none is fetched before its turn.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use songbird::input::{Input, LiveInput};
use timmybot_outbound::SafeHttpClient;
use timmybot_sources::playlist::{HlsMedia, HlsPlaylist, PlaylistError, choose_variant, parse_hls};
use tokio::sync::mpsc;
use tokio_util::io::StreamReader;
use url::Url;

use crate::SourceError;
use crate::http_source::{LimitedStream, TooLarge};
use crate::playlist_links::{fetch_error, send_error};
use crate::source::{Length, LinkOpener, ResolvedSource};

/// Segments of a live playlist played before the newest: close to live,
/// with a little to buffer.
pub(crate) const LIVE_EDGE: usize = 3;

/// Chunks fetched ahead of the decoder (the adapter buffers more).
const AHEAD: usize = 8;

/// Fetches of a live playlist in a row that bring nothing new before the
/// stream is taken as over.
const MAX_IDLE_POLLS: u32 = 8;

/// Shortest wait between two fetches of a live playlist, whatever its
/// target duration says.
const MIN_POLL: Duration = Duration::from_millis(500);

/// Longest wait between two fetches of a live playlist.
const MAX_POLL: Duration = Duration::from_secs(30);

/// Opens the HLS playlist `body`, fetched from `base`. `source` is what
/// the queue stores (the link the member gave).
pub(crate) async fn open(
    links: &LinkOpener,
    body: &[u8],
    base: &Url,
    fallback_title: String,
    known_title: Option<String>,
    source: String,
) -> Result<ResolvedSource, SourceError> {
    let http = links.http();
    let (media, media_url) = match parse_hls(body, base)? {
        HlsPlaylist::Media(media) => (media, base.clone()),
        HlsPlaylist::Master(variants) => {
            let variant = choose_variant(&variants).ok_or(SourceError::Playlist(PlaylistError::Empty))?;
            let url = variant.uri.clone();
            let body = http.get_limited(&url).await.map_err(fetch_error)?;
            match parse_hls(&body, &url)? {
                HlsPlaylist::Media(media) => (media, url),
                HlsPlaylist::Master(_) => return Err(PlaylistError::NotAPlaylist("HLS media").into()),
            }
        }
    };
    media.ensure_playable()?;
    if media.init_uri.is_some() {
        return Err(SourceError::Unplayable("fragmented MP4 HLS segments cannot be played".into()));
    }
    let live = !media.ended;
    let duration = (!live).then(|| Duration::from_millis(media.segments.iter().map(|s| s.duration_ms).sum()));
    if duration.is_some_and(|length| length > http.policy().max_track_length) {
        return Err(SourceError::TooLong);
    }
    let start = if live { media.segments.len().saturating_sub(LIVE_EDGE) } else { 0 };
    let pending = segments_from(&media, start, 0);
    // IP literals of internal networks are refused before anything plays.
    for (_, uri) in &pending {
        http.check_url(uri)?;
    }
    let max_bytes = if live { http.policy().max_live_bytes } else { http.policy().max_track_bytes };
    // The first segment is fetched here, so a refusal or a dead link is
    // reported to the member, and its first bytes say what it is.
    let first = match pending.front() {
        Some((_, uri)) => {
            let mut response = get_segment(http, uri, max_bytes).await?;
            let start = response.chunk().await.map_err(send_error)?.unwrap_or_default();
            if is_mpeg_ts(&start) {
                return Err(SourceError::Unplayable("MPEG-TS HLS segments cannot be played".into()));
            }
            Some((response, start))
        }
        None => None,
    };
    let next_sequence = pending.front().map_or(media.sequence_of(start), |(sequence, _)| *sequence);
    let (tx, rx) = mpsc::channel(AHEAD);
    let feeder = Feeder {
        http: http.clone(),
        media_url,
        pending,
        next_sequence,
        ended: media.ended,
        target: poll_interval(media.target_duration_ms),
        max_bytes,
        sent: 0,
        tx,
    };
    tokio::spawn(feeder.run(first));
    let body = LimitedStream::counted(Box::new(StreamReader::new(Received(rx))), max_bytes);
    let input = Input::Live(LiveInput::Raw(body.into_audio_stream()), None);
    links.probe(input, fallback_title, source, known_title, Length::Known(duration)).await
}

/// The segments of `media` from index `start` whose sequence number is at
/// least `next`, with their numbers.
fn segments_from(media: &HlsMedia, start: usize, next: u64) -> VecDeque<(u64, Url)> {
    media
        .segments
        .iter()
        .enumerate()
        .skip(start)
        .map(|(index, segment)| (media.sequence_of(index), segment.uri.clone()))
        .filter(|(sequence, _)| *sequence >= next)
        .collect()
}

/// How long to wait before fetching a live playlist again.
fn poll_interval(target_duration_ms: u64) -> Duration {
    Duration::from_millis(target_duration_ms).clamp(MIN_POLL, MAX_POLL)
}

/// Whether `start` looks like an MPEG transport stream (sync bytes every
/// 188 bytes).
fn is_mpeg_ts(start: &[u8]) -> bool {
    start.first() == Some(&0x47) && start.get(188).is_none_or(|&byte| byte == 0x47)
}

/// One segment's GET through the outbound client, checked first.
async fn get_segment(http: &SafeHttpClient, uri: &Url, max_bytes: u64) -> Result<reqwest::Response, SourceError> {
    http.check_url(uri)?;
    let response = http.reqwest().get(uri.clone()).send().await.map_err(send_error)?;
    if !response.status().is_success() {
        let status = response.status();
        return Err(SourceError::Unplayable(format!("http status {status} for an HLS segment").into()));
    }
    if response.content_length().is_some_and(|len| len > max_bytes) {
        return Err(SourceError::TooLarge);
    }
    Ok(response)
}

/// Fetches the segments in turn into the channel the decoder reads; stops
/// when the decoder is gone (the track ended or was skipped).
struct Feeder {
    http: SafeHttpClient,
    media_url: Url,
    /// Segments known and not fetched yet, with their sequence numbers.
    pending: VecDeque<(u64, Url)>,
    /// The sequence number the next new segment must have at least.
    next_sequence: u64,
    ended: bool,
    target: Duration,
    max_bytes: u64,
    /// Bytes of segments sent so far: the feeder stops at the limit itself,
    /// so no segment past it is fetched (the decoder's count is the same).
    sent: u64,
    tx: mpsc::Sender<io::Result<Bytes>>,
}

/// Whether the feeder goes on.
enum Flow {
    Continue,
    /// The decoder is gone.
    Stop,
}

impl Feeder {
    async fn run(mut self, first: Option<(reqwest::Response, Bytes)>) {
        if let Err(e) = self.feed(first).await {
            tracing::debug!(error = %e, "an HLS stream stopped");
            let _ = self.tx.send(Err(e)).await;
        }
    }

    async fn feed(&mut self, mut first: Option<(reqwest::Response, Bytes)>) -> io::Result<()> {
        let mut idle_polls = 0;
        loop {
            while let Some((sequence, uri)) = self.pending.pop_front() {
                let (response, start) = match first.take() {
                    Some(first) => first,
                    None => {
                        (get_segment(&self.http, &uri, self.max_bytes).await.map_err(io::Error::other)?, Bytes::new())
                    }
                };
                if let Flow::Stop = self.copy(response, start).await? {
                    return Ok(());
                }
                self.next_sequence = sequence.saturating_add(1);
            }
            if self.ended {
                return Ok(());
            }
            // Unchanged, a live playlist is asked again sooner (RFC 8216, 6.3.4).
            let wait = if idle_polls == 0 { self.target } else { self.target / 2 };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.tx.closed() => return Ok(()),
            }
            if self.poll().await? {
                idle_polls = 0;
            } else {
                idle_polls += 1;
                if idle_polls >= MAX_IDLE_POLLS {
                    return Err(io::Error::other("the live HLS playlist stopped growing"));
                }
            }
        }
    }

    /// Sends `start` and the rest of `response`'s body to the decoder.
    async fn copy(&mut self, mut response: reqwest::Response, start: Bytes) -> io::Result<Flow> {
        let mut chunk = Some(start).filter(|start| !start.is_empty());
        loop {
            if let Some(bytes) = chunk.take() {
                // The decoder gets every byte up to the limit, however the
                // body was cut into chunks (one chunk may hold a whole
                // segment), then the error.
                let room = self.max_bytes.saturating_sub(self.sent);
                let over = bytes.len() as u64 > room;
                let bytes = if over { bytes.slice(..room as usize) } else { bytes };
                self.sent = self.sent.saturating_add(bytes.len() as u64);
                if !bytes.is_empty() && self.tx.send(Ok(bytes)).await.is_err() {
                    return Ok(Flow::Stop);
                }
                if over {
                    return Err(io::Error::other(TooLarge { limit: self.max_bytes }));
                }
            }
            match response.chunk().await.map_err(io::Error::other)? {
                Some(bytes) => chunk = Some(bytes),
                None => return Ok(Flow::Continue),
            }
        }
    }

    /// Fetches the live playlist again; whether it brought new segments.
    async fn poll(&mut self) -> io::Result<bool> {
        let body = self.http.get_limited(&self.media_url).await.map_err(io::Error::other)?;
        let media = match parse_hls(&body, &self.media_url).map_err(io::Error::other)? {
            HlsPlaylist::Media(media) => media,
            HlsPlaylist::Master(_) => return Err(io::Error::other(PlaylistError::NotAPlaylist("HLS media"))),
        };
        media.ensure_playable().map_err(io::Error::other)?;
        self.ended = media.ended;
        self.target = poll_interval(media.target_duration_ms);
        let new = segments_from(&media, 0, self.next_sequence);
        for (_, uri) in &new {
            self.http.check_url(uri).map_err(io::Error::other)?;
        }
        let grew = !new.is_empty();
        self.pending = new;
        if self.pending.len() > MAX_QUEUED {
            // Far behind the live edge: skip ahead rather than play old audio.
            let late = self.pending.len() - LIVE_EDGE;
            self.pending.drain(..late);
        }
        Ok(grew)
    }
}

/// Most new segments of a live playlist queued at once; beyond it the
/// player fell behind and jumps to the live edge.
const MAX_QUEUED: usize = 64;

/// The chunks the feeder sends, as a stream for [`StreamReader`].
struct Received(mpsc::Receiver<io::Result<Bytes>>);

impl futures_util::Stream for Received {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_streams_are_told_by_their_sync_bytes() {
        let mut ts = vec![0u8; 376];
        ts[0] = 0x47;
        ts[188] = 0x47;
        assert!(is_mpeg_ts(&ts));
        assert!(is_mpeg_ts(&[0x47, 0x40]));
        ts[188] = 0;
        assert!(!is_mpeg_ts(&ts));
        assert!(!is_mpeg_ts(b"RIFF"));
        assert!(!is_mpeg_ts(&[]));
    }

    #[test]
    fn live_playlists_are_polled_within_bounds() {
        assert_eq!(poll_interval(0), MIN_POLL);
        assert_eq!(poll_interval(6_000), Duration::from_secs(6));
        assert_eq!(poll_interval(u64::MAX), MAX_POLL);
    }
}
