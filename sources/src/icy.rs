//! Shoutcast/Icecast in-band metadata ("ICY"): the song a station plays.
//!
//! A client that sends `Icy-MetaData: 1` gets an `icy-metaint: N` response
//! header, and then every N bytes of audio one length byte L followed by
//! L × 16 bytes of metadata (`StreamTitle='Artist - Song';`, padded with
//! NULs); L = 0 means "no change". [`IcyDemuxer`] takes the stream in
//! chunks as they arrive (of any size, cut anywhere), hands back the audio
//! alone and reports the metadata. Sans-IO: the caller reads the socket.

use crate::text::{clean_text, clean_title, decode_lossy};

/// Largest `icy-metaint` accepted. Servers use 8 000 to 32 768; a larger
/// value is a broken or hostile server, and would delay the first title for
/// that many bytes.
pub const MAX_METAINT: usize = 1024 * 1024;

/// Longest `StreamUrl` kept, in characters.
pub const MAX_STREAM_URL_CHARS: usize = 2048;

/// The response's `icy-metaint` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcyError {
    /// Not a whole number from 1 to [`MAX_METAINT`]. (The value is not
    /// repeated: it comes from the server.)
    #[error("icy-metaint is not a number from 1 to {MAX_METAINT}")]
    BadMetaint,
}

/// What one metadata block said.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IcyMetadata {
    /// `StreamTitle`, usually "Artist - Song": cleaned of control
    /// characters, at most [`crate::MAX_TITLE_CHARS`], `None` when empty.
    /// Untrusted: escape before showing.
    pub stream_title: Option<String>,
    /// `StreamUrl`, when given (a station's site or cover art; not checked
    /// to be a URL), at most [`MAX_STREAM_URL_CHARS`].
    pub stream_url: Option<String>,
}

/// Splits an ICY stream into its audio and its metadata, chunk by chunk.
#[derive(Debug, Clone)]
pub struct IcyDemuxer {
    metaint: usize,
    state: State,
    /// The metadata block being gathered (at most 255 × 16 bytes).
    block: Vec<u8>,
    /// The metadata of the last complete block (what [`Self::current`] says).
    last: Option<IcyMetadata>,
    /// The metadata last returned by [`Self::feed`], to report only changes:
    /// a chunk holding blocks A, B and A again after A was reported reports
    /// nothing.
    reported: Option<IcyMetadata>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Audio, with this many bytes left before the next length byte.
    Audio { left: usize },
    /// The next byte is a metadata length.
    Length,
    /// Inside a metadata block, with this many bytes left.
    Metadata { left: usize },
}

impl IcyDemuxer {
    /// A demuxer for a stream with `icy-metaint: metaint`.
    ///
    /// # Errors
    /// [`IcyError::BadMetaint`] for 0 or more than [`MAX_METAINT`].
    pub fn new(metaint: usize) -> Result<Self, IcyError> {
        if metaint == 0 || metaint > MAX_METAINT {
            return Err(IcyError::BadMetaint);
        }
        Ok(Self { metaint, state: State::Audio { left: metaint }, block: Vec::new(), last: None, reported: None })
    }

    /// A demuxer for the `icy-metaint` header value `value`.
    ///
    /// # Errors
    /// [`IcyError::BadMetaint`] when it is not a number from 1 to
    /// [`MAX_METAINT`].
    pub fn from_header(value: &str) -> Result<Self, IcyError> {
        let metaint = value.trim().parse::<usize>().map_err(|_| IcyError::BadMetaint)?;
        Self::new(metaint)
    }

    /// The audio bytes between two metadata blocks.
    pub fn metaint(&self) -> usize {
        self.metaint
    }

    /// The metadata seen last, if any block carried some yet.
    pub fn current(&self) -> Option<&IcyMetadata> {
        self.last.as_ref()
    }

    /// Reads the next `input` bytes of the stream: appends the audio among
    /// them to `audio` and returns the newest metadata completed in them,
    /// when it differs from the last one returned (a station repeating its
    /// title, or sending empty blocks, reports nothing new).
    pub fn feed(&mut self, mut input: &[u8], audio: &mut Vec<u8>) -> Option<IcyMetadata> {
        let mut completed = false;
        while let Some((&first, rest)) = input.split_first() {
            match self.state {
                State::Audio { left } => {
                    let take = left.min(input.len());
                    audio.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    self.state = if take == left { State::Length } else { State::Audio { left: left - take } };
                }
                State::Length => {
                    input = rest;
                    let len = usize::from(first) * 16;
                    self.state = if len == 0 {
                        State::Audio { left: self.metaint }
                    } else {
                        self.block.clear();
                        State::Metadata { left: len }
                    };
                }
                State::Metadata { left } => {
                    let take = left.min(input.len());
                    self.block.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    if take < left {
                        self.state = State::Metadata { left: left - take };
                        continue;
                    }
                    self.state = State::Audio { left: self.metaint };
                    self.last = Some(parse_metadata(&self.block));
                    completed = true;
                }
            }
        }
        if completed && self.last != self.reported {
            self.reported.clone_from(&self.last);
            return self.last.clone();
        }
        None
    }
}

/// Reads one metadata block: `Key='value';` pairs, of which `StreamTitle`
/// and `StreamUrl` are kept (keys in any case).
///
/// Titles hold quotes (`StreamTitle='It's';`), so a quoted value ends only
/// at a `';` followed by another `Key=` or by the end of the block. NUL
/// padding is dropped; text that is not UTF-8 is read as Latin-1.
pub fn parse_metadata(block: &[u8]) -> IcyMetadata {
    let end = block.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let text = decode_lossy(&block[..end]);
    let mut metadata = IcyMetadata::default();
    let (mut seen_title, mut seen_url) = (false, false);
    let mut rest: &str = &text;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ';' || c.is_whitespace() || c == '\0');
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim();
        let after = &rest[eq + 1..];
        let value = if let Some(quoted) = after.strip_prefix('\'') {
            let end = quoted_value_end(quoted);
            rest = quoted.get(end + 1..).unwrap_or("");
            &quoted[..end]
        } else {
            let (value, remaining) = after.split_once(';').unwrap_or((after, ""));
            rest = remaining;
            value
        };
        if key.eq_ignore_ascii_case("StreamTitle") && !seen_title {
            seen_title = true;
            metadata.stream_title = clean_title(value);
        } else if key.eq_ignore_ascii_case("StreamUrl") && !seen_url {
            seen_url = true;
            metadata.stream_url = clean_text(value, MAX_STREAM_URL_CHARS);
        }
    }
    metadata
}

/// Where the quoted value starting `quoted` (just after its opening quote)
/// ends: the first `'` followed by `;` and then another key or the end, or
/// by nothing but the end. Without either, the value runs to the end.
fn quoted_value_end(quoted: &str) -> usize {
    for (i, _) in quoted.match_indices('\'') {
        let tail = &quoted[i + 1..];
        if tail.trim_matches(|c: char| c.is_whitespace() || c == '\0').is_empty() {
            return i;
        }
        if let Some(after) = tail.strip_prefix(';') {
            let after = after.trim_start_matches(|c: char| c == ';' || c.is_whitespace() || c == '\0');
            if after.is_empty() || starts_with_key(after) {
                return i;
            }
        }
    }
    quoted.len()
}

/// Whether `text` starts with `Key=`: a letter, then letters, digits or
/// underscores.
fn starts_with_key(text: &str) -> bool {
    let key_len = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    key_len > 0
        && key_len <= 64
        && text.as_bytes()[0].is_ascii_alphabetic()
        && text[key_len..].trim_start().starts_with('=')
}

#[cfg(test)]
mod tests;
