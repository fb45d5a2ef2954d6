//! The limits every user-directed fetch runs under.

use std::time::Duration;

use crate::AllowList;

/// Where user-directed fetches may go and how much they may take.
///
/// Build one with `OutboundPolicy::default()` and override fields:
/// `OutboundPolicy { read_timeout: Duration::from_secs(5), ..OutboundPolicy::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Internal destinations opted in to (default: empty, every internal
    /// address denied).
    pub allow: AllowList,
    /// How long connecting may take, DNS included (default 5 s).
    pub connect_timeout: Duration,
    /// How long the source may stay silent: before the response head and
    /// between body reads (default 15 s). There is no total timeout, so a
    /// live stream can play for hours.
    pub read_timeout: Duration,
    /// Redirects followed before giving up (default 5).
    pub max_redirects: usize,
    /// Largest metadata body read by [`crate::SafeHttpClient::get_limited`]
    /// (default 1 MiB).
    pub max_body_bytes: u64,
    /// Largest track a source may announce (default 200 MiB).
    pub max_track_bytes: u64,
    /// Most bytes read from one live stream (a radio answering with ICY
    /// headers and no size), which has no end of its own: the player also
    /// ends a live track after its longest session (default 1 GiB, about
    /// 7 hours at 320 kbit/s).
    pub max_live_bytes: u64,
    /// Longest track (by its own duration) that may be played. Default
    /// [`Self::DEFAULT_MAX_TRACK_LENGTH`] (3 hours). Live streams announce no
    /// duration and are not limited by this.
    pub max_track_length: Duration,
}

impl OutboundPolicy {
    /// Default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default read timeout.
    pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(15);
    /// Default redirect limit.
    pub const DEFAULT_MAX_REDIRECTS: usize = 5;
    /// Default metadata body limit, 1 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;
    /// Default track size limit, 200 MiB.
    pub const DEFAULT_MAX_TRACK_BYTES: u64 = 200 * 1024 * 1024;
    /// Default [`Self::max_live_bytes`], 1 GiB.
    pub const DEFAULT_MAX_LIVE_BYTES: u64 = 1024 * 1024 * 1024;
    /// Default [`Self::max_track_length`]: 3 hours.
    pub const DEFAULT_MAX_TRACK_LENGTH: Duration = Duration::from_secs(3 * 60 * 60);
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            allow: AllowList::default(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            read_timeout: Self::DEFAULT_READ_TIMEOUT,
            max_redirects: Self::DEFAULT_MAX_REDIRECTS,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_track_bytes: Self::DEFAULT_MAX_TRACK_BYTES,
            max_live_bytes: Self::DEFAULT_MAX_LIVE_BYTES,
            max_track_length: Self::DEFAULT_MAX_TRACK_LENGTH,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_denies_internal_addresses_and_has_the_documented_limits() {
        let policy = OutboundPolicy::default();
        assert!(policy.allow.is_empty());
        assert_eq!(policy.connect_timeout, Duration::from_secs(5));
        assert_eq!(policy.read_timeout, Duration::from_secs(15));
        assert_eq!(policy.max_redirects, 5);
        assert_eq!(policy.max_body_bytes, 1 << 20);
        assert_eq!(policy.max_track_bytes, 200 << 20);
        assert_eq!(policy.max_live_bytes, 1 << 30);
        assert_eq!(policy.max_track_length, Duration::from_secs(10_800));
    }
}
