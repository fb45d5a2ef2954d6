//! Errors of the voice crate, each with the sentence a member is shown.

use timmybot_core::player::{PlayerError, messages};
use timmybot_core::{RoleId, StoreError};
use timmybot_outbound::Refusal;
use timmybot_sources::LookupError;
use timmybot_sources::playlist::PlaylistError;

use crate::YtDlpError;

/// A source could not be resolved into playable audio.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The query is neither an http(s) link nor an allowed file.
    #[error("unsupported query")]
    Unsupported,
    /// A link with a scheme other than http or https.
    #[error("scheme not allowed")]
    SchemeNotAllowed,
    /// A file path outside the media folder, absolute, or escaping via links.
    #[error("path not allowed")]
    PathNotAllowed,
    /// Local files are not enabled on this deployment.
    #[error("local files disabled")]
    FilesDisabled,
    /// The file does not exist in the media folder.
    #[error("file not found")]
    FileNotFound,
    /// The outbound policy refused the link, one of its redirects or the
    /// address it resolves to.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The source announces more bytes than the outbound policy allows.
    #[error("track too large")]
    TooLarge,
    /// The track lasts longer than the outbound policy allows.
    #[error("track too long")]
    TooLong,
    /// The source was reached but is not audio we can decode, or is unreachable.
    #[error("source could not be opened")]
    Unplayable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A YouTube link, but the operator did not configure yt-dlp.
    #[error("youtube links are turned off")]
    YouTubeDisabled,
    /// A YouTube link that is not one playable video: a playlist, channel,
    /// or a live stream.
    #[error("youtube link is not a single video")]
    YouTubeUnsupported,
    /// yt-dlp could not turn the YouTube link into a stream.
    #[error("youtube lookup failed")]
    YouTube(#[source] YtDlpError),
    /// A SoundCloud link, but the operator did not turn SoundCloud on
    /// (`TIMMYBOT_SOUNDCLOUD=on` with yt-dlp).
    #[error("soundcloud links are turned off")]
    SoundCloudDisabled,
    /// A SoundCloud link that is not one public track: a profile, a set,
    /// a private or short link.
    #[error("soundcloud link is not a single public track")]
    SoundCloudUnsupported,
    /// yt-dlp could not turn the SoundCloud link into a stream.
    #[error("soundcloud lookup failed")]
    SoundCloud(#[source] YtDlpError),
    /// A search or lookup found nothing.
    #[error("nothing found")]
    NotFound,
    /// A music-service link was read, but none of its tracks matched a
    /// playable one in the enabled catalogs.
    #[error("no track of the link matched")]
    NotMatched {
        /// How many tracks were looked for.
        looked_for: usize,
        /// What the link names: "track", "album", "playlist" or "video".
        what: &'static str,
    },
    /// A source's lookup failed (not found, private, rate limited, …).
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// A link that looked like a playlist (M3U, PLS, XSPF, HLS) could not
    /// be read as one: not a playlist, empty, too large.
    #[error("playlist could not be read")]
    Playlist(#[source] PlaylistError),
    /// Every entry of a playlist was left out (other schemes, refused
    /// addresses), so nothing in it can be played.
    #[error("nothing playable in the playlist ({skipped} entries left out)")]
    NothingPlayable {
        /// How many entries were left out.
        skipped: usize,
    },
    /// An HLS stream whose segments are encrypted (`EXT-X-KEY`).
    #[error("hls stream is encrypted")]
    Encrypted,
}

impl From<PlaylistError> for SourceError {
    fn from(error: PlaylistError) -> Self {
        match error {
            PlaylistError::NothingPlayable { skipped } => Self::NothingPlayable { skipped },
            PlaylistError::Encrypted => Self::Encrypted,
            other => Self::Playlist(other),
        }
    }
}

impl SourceError {
    /// The sentence shown to the member; never contains internal details.
    pub fn user_message(&self) -> String {
        match self {
            Self::NotFound => "Nothing was found for that.".to_owned(),
            Self::Lookup(e) => e.user_message(),
            Self::NothingPlayable { skipped } => format!(
                "Nothing in that playlist can be played here: {skipped} {} left out \
                 (local files, other kinds of links or addresses that are not allowed).",
                if *skipped == 1 { "entry was" } else { "entries were" }
            ),
            Self::NotMatched { looked_for: 1, what: what @ ("track" | "video") } => {
                format!("That {what} was not found on the playable sources.")
            }
            Self::NotMatched { looked_for: 1, what } => {
                format!("The only track of that {what} was not found on the playable sources.")
            }
            Self::NotMatched { looked_for, what } => {
                format!("None of the {looked_for} tracks of that {what} were found on the playable sources.")
            }
            other => other.fixed_message().to_owned(),
        }
    }

    fn fixed_message(&self) -> &'static str {
        match self {
            Self::NotFound | Self::Lookup(_) | Self::NotMatched { .. } => "Nothing was found for that.",
            Self::NothingPlayable { .. } => "Nothing in that playlist can be played here.",
            Self::Playlist(PlaylistError::Empty) => "That playlist is empty.",
            Self::Playlist(PlaylistError::TooLarge { .. }) => "That playlist is too large.",
            Self::Playlist(_) => "That link is not a playlist I can read.",
            Self::Encrypted => "That HLS stream is encrypted, so it cannot be played.",
            Self::Unsupported => "I can only play http(s) links or files from the media folder.",
            Self::SchemeNotAllowed => "Only http and https links can be played.",
            Self::PathNotAllowed => "That file path is not allowed.",
            Self::FilesDisabled => "Local files are not enabled here; send an http(s) link.",
            Self::FileNotFound => "There is no such file in the media folder.",
            Self::Refused(refusal) => refusal.user_message(),
            Self::Unplayable(_) => "That source could not be opened as audio.",
            Self::TooLarge => "That file is too large.",
            Self::TooLong => "That track is too long.",
            Self::YouTubeDisabled => "YouTube is turned off on this bot.",
            Self::YouTubeUnsupported => {
                "I can only play single YouTube videos, not playlists, channels or live streams."
            }
            Self::YouTube(YtDlpError::Busy) => {
                "Too many YouTube links are being looked up right now; try again in a moment."
            }
            Self::YouTube(YtDlpError::Timeout) => "YouTube took too long to answer; try again later.",
            Self::YouTube(_) => "I could not get audio for that YouTube video (it may be private, removed or blocked).",
            Self::SoundCloudDisabled => "SoundCloud is turned off on this bot.",
            Self::SoundCloudUnsupported => {
                "I can only play single public SoundCloud tracks (a link like soundcloud.com/artist/track), \
                 not sets, profiles or private links."
            }
            Self::SoundCloud(YtDlpError::Busy) => {
                "Too many SoundCloud links are being looked up right now; try again in a moment."
            }
            Self::SoundCloud(YtDlpError::Timeout) => "SoundCloud took too long to answer; try again later.",
            Self::SoundCloud(_) => {
                "I could not get audio for that SoundCloud track (it may be private, removed or not streamable here)."
            }
        }
    }
}

/// A command to a player failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlayError {
    /// The queue engine refused the command (a member's mistake or a rule).
    #[error(transparent)]
    Player(#[from] PlayerError),
    /// The source could not be resolved.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Joining the voice channel failed.
    #[error("could not join the voice channel")]
    Join(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The player could not be read or written.
    #[error("player store failed")]
    Store(#[from] StoreError),
    /// The guild's player is gone (the process is shutting down).
    #[error("player unavailable")]
    Unavailable,
    /// The member has no playlist of that name.
    #[error("no such playlist")]
    NoSuchPlaylist {
        /// The name as the member gave it (untrusted: escaped when shown).
        name: String,
    },
}

impl PlayError {
    /// The sentence shown to the member; never contains internal details.
    /// `dj_role` is named in refusals that need it.
    pub fn user_message(&self, dj_role: Option<RoleId>) -> String {
        match self {
            Self::Player(e) => messages::error(e, dj_role),
            Self::Source(e) => e.user_message(),
            Self::Join(_) => "I could not join your voice channel; check my permissions and try again.".to_owned(),
            Self::Store(_) => "Something went wrong saving the queue; please try again.".to_owned(),
            Self::Unavailable => "The player is restarting; try again in a moment.".to_owned(),
            Self::NoSuchPlaylist { name } if name.eq_ignore_ascii_case(timmybot_core::LIKED_SONGS_PLAYLIST) => {
                "You have no liked songs here yet: import Spotify's data export (`YourLibrary.json`) with \
                 `/playlist import`."
                    .to_owned()
            }
            Self::NoSuchPlaylist { name } => format!(
                "You have no playlist called **{}**. `/playlist list` shows yours.",
                timmybot_core::escape_markdown(name)
            ),
        }
    }

    /// Whether the failure is ours rather than the member's.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Join(_) | Self::Store(_) | Self::Unavailable)
    }
}
