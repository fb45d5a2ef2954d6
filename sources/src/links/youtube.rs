//! YouTube links read through oEmbed (no key): a video's title and channel
//! as metadata, matched to a playable catalog like the other services.

use serde::Deserialize;
use url::Url;

use super::{MAX_TEXT_CHARS, ServiceLink, bounded, endpoint};
use crate::api::{check_status, parse_json};
use crate::{ApiClient, LookupError, Origin, TrackMeta};

/// What a member is told for a YouTube playlist link without a video.
pub(super) const PLAYLIST_UNSUPPORTED: &str =
    "YouTube playlists cannot be read here (only their title is public); paste a video link.";

/// Reads a YouTube link on `host`.
pub(super) fn parse_link(host: &str, segments: &[&str], url: &Url) -> Option<ServiceLink> {
    let query = |key: &str| url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned());
    let video = if host == "youtu.be" {
        segments.first().map(|s| (*s).to_owned())
    } else {
        match segments {
            ["watch"] => query("v"),
            ["shorts" | "embed" | "live" | "v", id, ..] => Some((*id).to_owned()),
            _ => None,
        }
    };
    let playlist = match segments {
        ["watch"] | ["playlist"] => query("list"),
        _ if host == "youtu.be" => query("list"),
        _ => None,
    };
    let video = video.filter(|v| is_video_id(v));
    let playlist = playlist.filter(|p| is_playlist_id(p));
    (video.is_some() || playlist.is_some()).then_some(ServiceLink::YouTube { video, playlist })
}

fn is_id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Video ids are 11 characters of base64url.
fn is_video_id(s: &str) -> bool {
    s.len() == 11 && s.bytes().all(is_id_char)
}

/// Playlist ids (`PL…`, `OLAK5uy_…`, `RD…`) are base64url, a few dozen long.
fn is_playlist_id(s: &str) -> bool {
    (2..=64).contains(&s.len()) && s.bytes().all(is_id_char)
}

/// YouTube's oEmbed endpoint: a video's title, channel and thumbnail.
#[derive(Debug, Clone)]
pub struct YouTubeOembed {
    api: ApiClient,
    base: Url,
}

impl YouTubeOembed {
    /// YouTube's site, which serves `/oembed`.
    pub const BASE: &'static str = "https://www.youtube.com";

    /// A client of the public address.
    pub fn new(api: ApiClient) -> Self {
        Self { api, base: Url::parse(Self::BASE).expect("valid constant") }
    }

    /// Talks to `base` instead (a fake, in tests).
    #[must_use]
    pub fn with_base_url(mut self, base: Url) -> Self {
        self.base = base;
        self
    }

    /// The video of `id` as a metadata-only track (no duration: oEmbed has
    /// none). "Artist - Title" video titles are split; otherwise the channel
    /// (without " - Topic" or "VEVO") is the artist.
    ///
    /// # Errors
    /// [`LookupError::Private`] for a private or non-embeddable video (401,
    /// 403), [`LookupError::NotFound`] for a missing one (404, or a malformed
    /// id).
    pub async fn video(&self, id: &str) -> Result<TrackMeta, LookupError> {
        if !is_video_id(id) {
            return Err(LookupError::NotFound);
        }
        let mut url = endpoint(&self.base, &["oembed"]);
        url.query_pairs_mut()
            .append_pair("url", &format!("https://www.youtube.com/watch?v={id}"))
            .append_pair("format", "json");
        let fetched = self.api.send(self.api.get(url)).await?;
        match fetched.status {
            401 | 403 => return Err(LookupError::Private),
            400 => return Err(LookupError::NotFound),
            _ => check_status(&fetched)?,
        }
        let answer: Oembed = parse_json(&fetched.body)?;
        let raw_title =
            answer.title.as_deref().map(str::trim).filter(|t| !t.is_empty()).ok_or(LookupError::NotFound)?;
        let channel = answer.author_name.as_deref().map(clean_channel).filter(|c| !c.is_empty());
        let (artist, title) = match split_artist_title(raw_title) {
            Some((artist, title)) => (Some(artist), title),
            None => (channel, raw_title.to_owned()),
        };
        let mut meta = TrackMeta::new(Origin::YouTube, id, bounded(&title, MAX_TEXT_CHARS));
        meta.artist = artist.map(|a| bounded(&a, MAX_TEXT_CHARS));
        meta.artwork_url = answer.thumbnail_url.map(|u| bounded(&u, 2048));
        Ok(meta)
    }
}

#[derive(Debug, Deserialize)]
struct Oembed {
    title: Option<String>,
    author_name: Option<String>,
    thumbnail_url: Option<String>,
}

/// A channel name as an artist: auto-generated "Artist - Topic" channels
/// and "ArtistVEVO" channels name the artist with a suffix.
fn clean_channel(channel: &str) -> String {
    let channel = channel.trim();
    let channel = channel.strip_suffix(" - Topic").unwrap_or(channel);
    let channel = channel.strip_suffix("VEVO").unwrap_or(channel);
    channel.trim().to_owned()
}

/// "Artist - Title" (with a hyphen, en or em dash between spaces) split in
/// two, when both sides have text.
fn split_artist_title(title: &str) -> Option<(String, String)> {
    [" - ", " – ", " — "].iter().find_map(|sep| {
        let (artist, rest) = title.split_once(sep)?;
        let (artist, rest) = (artist.trim(), rest.trim());
        (!artist.is_empty() && !rest.is_empty()).then(|| (artist.to_owned(), rest.to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_and_titles_are_read_as_artist_and_title() {
        assert_eq!(clean_channel("Daft Punk - Topic"), "Daft Punk");
        assert_eq!(clean_channel("RickAstleyVEVO"), "RickAstley");
        assert_eq!(clean_channel("Adele"), "Adele");
        assert_eq!(
            split_artist_title("Rick Astley - Never Gonna Give You Up (Official Music Video)"),
            Some(("Rick Astley".to_owned(), "Never Gonna Give You Up (Official Music Video)".to_owned()))
        );
        assert_eq!(split_artist_title("Hello"), None);
        assert_eq!(split_artist_title(" - Hello"), None);
    }
}
