//! `/seek` targets: `1:23` (a time), `+30` (forward), `-10` (back).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where `/seek` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "ms", rename_all = "snake_case")]
pub enum SeekTarget {
    /// To this many milliseconds into the track.
    To(u64),
    /// This many milliseconds forward.
    Forward(u64),
    /// This many milliseconds back (stops at the start).
    Back(u64),
}

impl SeekTarget {
    /// The position this target lands on from `position_ms` (not checked
    /// against the track's length).
    pub fn from_position(self, position_ms: u64) -> u64 {
        match self {
            Self::To(ms) => ms,
            Self::Forward(ms) => position_ms.saturating_add(ms),
            Self::Back(ms) => position_ms.saturating_sub(ms),
        }
    }
}

/// A `/seek` value that is not a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a seek target (expected 1:23, 83, +30 or -10)")]
pub struct SeekParseError;

/// The longest time a seek may name: 24 hours, far beyond any track.
const MAX_SEEK_SECS: u64 = 24 * 60 * 60;

impl FromStr for SeekTarget {
    type Err = SeekParseError;

    /// Parses `[+|-]` followed by seconds (`83`), `m:ss` or `h:mm:ss`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (Some(true), &text[1..]),
            Some(b'-') => (Some(false), &text[1..]),
            _ => (None, text),
        };
        let secs = parse_clock(rest.trim()).ok_or(SeekParseError)?;
        let ms = secs * 1000;
        Ok(match sign {
            None => Self::To(ms),
            Some(true) => Self::Forward(ms),
            Some(false) => Self::Back(ms),
        })
    }
}

/// `ss`, `m:ss` or `h:mm:ss` as seconds; later fields below 60.
fn parse_clock(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 12 {
        return None;
    }
    let fields: Vec<&str> = text.split(':').collect();
    if fields.len() > 3 || fields.iter().any(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut secs: u64 = 0;
    for (i, field) in fields.iter().enumerate() {
        let value: u64 = field.parse().ok()?;
        if i > 0 && value >= 60 {
            return None;
        }
        secs = secs.checked_mul(60)?.checked_add(value)?;
    }
    (secs <= MAX_SEEK_SECS).then_some(secs)
}

impl fmt::Display for SeekTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::To(ms) => write!(f, "{}", super::messages::duration(*ms)),
            Self::Forward(ms) => write!(f, "+{}", ms / 1000),
            Self::Back(ms) => write!(f, "-{}", ms / 1000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_offsets_and_plain_seconds_parse() {
        assert_eq!("1:23".parse(), Ok(SeekTarget::To(83_000)));
        assert_eq!("83".parse(), Ok(SeekTarget::To(83_000)));
        assert_eq!("1:02:03".parse(), Ok(SeekTarget::To(3_723_000)));
        assert_eq!("+30".parse(), Ok(SeekTarget::Forward(30_000)));
        assert_eq!(" -10 ".parse(), Ok(SeekTarget::Back(10_000)));
        assert_eq!("+1:00".parse(), Ok(SeekTarget::Forward(60_000)));
        assert_eq!("0".parse(), Ok(SeekTarget::To(0)));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "+", "-", "1:60", "1::2", "a", "1:2:3:4", "1.5", "+-3", "99999999999999", "25:00:00", "1 :2"] {
            assert_eq!(bad.parse::<SeekTarget>(), Err(SeekParseError), "{bad:?}");
        }
    }

    #[test]
    fn targets_land_relative_to_the_position_and_stop_at_the_start() {
        assert_eq!(SeekTarget::Forward(30_000).from_position(5_000), 35_000);
        assert_eq!(SeekTarget::Back(10_000).from_position(5_000), 0);
        assert_eq!(SeekTarget::To(1_000).from_position(5_000), 1_000);
    }
}
