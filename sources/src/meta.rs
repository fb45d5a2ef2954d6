//! What a lookup knows about a track.

use serde::{Deserialize, Serialize};

/// Which service or kind of link a track was found through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A direct http(s) link to audio.
    Link,
    /// A file of the media folder (self-host).
    File,
    /// A file uploaded to Discord.
    Attachment,
    /// A station of the Radio Browser directory.
    RadioBrowser,
    /// The Audius catalog.
    Audius,
    /// Spotify: metadata only, matched to a playable source.
    Spotify,
    /// Apple Music: metadata only, matched to a playable source.
    AppleMusic,
    /// Deezer: metadata only, matched to a playable source.
    Deezer,
    /// YouTube: metadata through oEmbed; audio only through yt-dlp when the
    /// self-hoster turned it on.
    YouTube,
    /// An entry of a member's imported playlist: metadata only, matched to a
    /// playable source.
    Imported,
}

impl Origin {
    /// The name shown to members ("via Audius").
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::File => "media folder",
            Self::Attachment => "attachment",
            Self::RadioBrowser => "Radio Browser",
            Self::Audius => "Audius",
            Self::Spotify => "Spotify",
            Self::AppleMusic => "Apple Music",
            Self::Deezer => "Deezer",
            Self::YouTube => "YouTube",
            Self::Imported => "imported playlist",
        }
    }
}

/// A track (or a live station) as a lookup found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackMeta {
    /// Where it was found.
    pub origin: Origin,
    /// Its id at that source (a station uuid, an Audius track id, a Spotify
    /// track id, or the link itself).
    pub id: String,
    /// Its title, as the source gives it (untrusted: escape before showing).
    pub title: String,
    /// Its artist (or the station's country and tags for a radio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// How long it lasts; `None` for live streams or when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Its ISRC, upper case, when the source knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isrc: Option<String>,
    /// A picture for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artwork_url: Option<String>,
    /// A live stream (a radio): no duration, no seeking.
    #[serde(default)]
    pub live: bool,
    /// What the player opens to play it: an http(s) link, a media path, or a
    /// source locator such as `audius:<id>`. `None` for metadata-only
    /// services (Spotify, Apple Music, Deezer), which are matched first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locator: Option<String>,
}

impl TrackMeta {
    /// A track of `origin` with only an id and a title known.
    pub fn new(origin: Origin, id: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            origin,
            id: id.into(),
            title: title.into(),
            artist: None,
            duration_ms: None,
            isrc: None,
            artwork_url: None,
            live: false,
            locator: None,
        }
    }

    /// "Artist – Title", or the title alone.
    pub fn display_title(&self) -> String {
        match self.artist.as_deref().filter(|a| !a.trim().is_empty()) {
            Some(artist) => format!("{artist} – {}", self.title),
            None => self.title.clone(),
        }
    }
}
