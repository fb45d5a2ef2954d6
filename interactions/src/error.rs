//! Errors of the interactions handler, in the words of the request they stop.
//!
//! Three layers, each converted for the outside world in exactly one place:
//! - [`KeyError`]: the configured public key is unusable (startup only).
//! - [`RequestError`]: an HTTP request is refused before it becomes an
//!   interaction; [`crate::HttpReply::from_error`] turns it into a status code
//!   with a generic body.
//! - [`CommandError`]: a trusted interaction cannot run; it becomes an
//!   ephemeral message through [`CommandError::user_message`].
//!
//! No message here ever contains a header value, a body or a token.

use timmybot_allowlist::{AllowlistError, messages};
use timmybot_core::{AllowlistState, BusError, PlaylistNameError, SettingsError, StoreError};

/// The Discord public key given at startup is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The value is not hexadecimal.
    #[error("discord public key is not hex")]
    NotHex,
    /// The value decodes to the wrong number of bytes.
    #[error("discord public key must be 32 bytes (64 hex characters), got {0} bytes")]
    WrongLength(usize),
    /// The bytes are not a usable Ed25519 public key.
    #[error("discord public key is not a valid ed25519 public key")]
    Invalid,
}

/// Why a request's signature was not accepted; every case is a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A signature header is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A signature header is present but not in the expected format.
    #[error("malformed {0} header")]
    MalformedHeader(&'static str),
    /// The timestamp is too far from our clock (replay protection).
    #[error("request timestamp is outside the allowed window")]
    Stale,
    /// The signature does not match the key, timestamp and body.
    #[error("signature does not match")]
    BadSignature,
}

/// Why an HTTP request was refused before it reached a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The body is larger than we are willing to read.
    #[error("request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request is not signed by Discord.
    #[error("request not verified: {0}")]
    Unverified(#[from] VerifyError),
    /// The body is signed but is not an interaction we can read.
    #[error("request body is not a valid interaction")]
    Malformed(#[source] serde_json::Error),
}

impl RequestError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            Self::Unverified(_) => 401,
            Self::Malformed(_) => 400,
        }
    }
}

/// Why a trusted interaction was answered with an error message instead of
/// running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The interaction type is one this bot does not handle.
    #[error("unsupported interaction type {0}")]
    UnsupportedInteraction(u8),
    /// An application command without its `data`.
    #[error("application command without data")]
    MissingData,
    /// The interaction names an application other than ours.
    #[error("interaction is for another application")]
    WrongApplication,
    /// No command of that name is defined.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// A voice command was used outside a guild (for example in a DM).
    #[error("voice command outside a guild")]
    NotInGuild,
    /// The interaction carries no user id.
    #[error("interaction without a user")]
    UnknownUser,
    /// A required option is absent.
    #[error("missing option {0}")]
    MissingOption(&'static str),
    /// An option has the wrong type.
    #[error("option {0} has the wrong type")]
    InvalidOption(&'static str),
    /// The query is empty once trimmed.
    #[error("empty query")]
    EmptyQuery,
    /// The uploaded file is not audio (by the type Discord detected).
    #[error("attachment is not audio")]
    AttachmentNotAudio,
    /// The uploaded file is larger than the bot plays.
    #[error("attachment too large")]
    AttachmentTooLarge {
        /// The limit in bytes.
        max: u64,
    },
    /// The query is longer than allowed.
    #[error("query longer than {max} characters")]
    QueryTooLong {
        /// The limit in characters.
        max: usize,
    },
    /// The command bus refused the command.
    #[error("command bus publish failed")]
    BusUnavailable(#[source] BusError),
    /// The guild is not approved to use the bot.
    #[error("guild not approved ({})", state.map_or("never asked", |s| s.as_str()))]
    NotApproved {
        /// Where it stands.
        state: Option<AllowlistState>,
    },
    /// The member lacks a permission the command needs.
    #[error("member lacks the {0} permission")]
    MissingPermission(&'static str),
    /// An allowlist operation refused or failed.
    #[error("allowlist")]
    Allowlist(#[source] AllowlistError),
    /// A button this bot does not know (or no longer handles).
    #[error("unknown component")]
    UnknownComponent,
    /// A queue position below 1 or above the largest queue.
    #[error("position out of range")]
    PositionOutOfRange,
    /// A volume outside 0–200.
    #[error("volume out of range")]
    VolumeOutOfRange,
    /// A `/seek` value that is not a time.
    #[error("invalid seek target")]
    InvalidSeek,
    /// A `/loop` mode other than off, track or queue.
    #[error("invalid loop mode")]
    InvalidLoopMode,
    /// An integer option outside the range it was registered with.
    #[error("option {name} out of range")]
    OptionOutOfRange {
        /// The option.
        name: &'static str,
        /// Its smallest value.
        min: i64,
        /// Its largest.
        max: i64,
    },
    /// A `/settings` value out of bounds.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The player or settings store could not be read or written.
    #[error("store")]
    Store(#[source] StoreError),
    /// The player store is not wired in (a deployment without it).
    #[error("player views unavailable")]
    ViewsUnavailable,
    /// `/link`, `/links` or `/unlink` on a deployment that links nothing.
    #[error("linking unavailable")]
    LinkingUnavailable,
    /// `/play` was given more than one of a query, a file and a playlist.
    #[error("more than one thing to play")]
    OneThingToPlay,
    /// A playlist name that will not do.
    #[error("invalid playlist name")]
    InvalidPlaylistName(#[source] PlaylistNameError),
    /// `/playlist import` was given a file of another kind.
    #[error("not a playlist file")]
    NotAPlaylistFile,
    /// `/playlist import` was given a file over the import's limit.
    #[error("playlist file too large")]
    PlaylistFileTooLarge {
        /// The limit in bytes.
        max: u64,
    },
}

impl CommandError {
    /// What to tell the member, in plain words.
    pub fn user_message(&self) -> String {
        match self {
            Self::UnsupportedInteraction(_) => "Sorry, I can't handle that kind of interaction.".into(),
            Self::MissingData | Self::UnknownUser | Self::InvalidOption(_) => {
                "Sorry, that command arrived incomplete. Please try again.".into()
            }
            Self::WrongApplication => "This command was meant for a different bot.".into(),
            Self::UnknownCommand(name) => {
                // Discord caps command names at 32 characters; a longer one is
                // not echoed whole, so the reply stays far inside 2000.
                let shown: String = name.chars().take(MAX_ECHOED_NAME).collect();
                let more = if name.chars().count() > MAX_ECHOED_NAME { "…" } else { "" };
                format!("I don't know the command /{shown}{more}. Try /help.")
            }
            Self::NotInGuild => "This command only works in a server, not in direct messages.".into(),
            Self::MissingOption(name) => format!("That command needs a {name}. Try /help."),
            Self::EmptyQuery => "Tell me what to play: a link, a song to search for, or an uploaded file.".into(),
            Self::AttachmentNotAudio => {
                "That file is not audio: upload an MP3, Ogg, Opus, FLAC, WAV or M4A file.".into()
            }
            Self::AttachmentTooLarge { max } => {
                format!("That file is too large: I play uploads of up to {} MB.", max / (1024 * 1024))
            }
            Self::QueryTooLong { max } => {
                format!("That is too long: keep it to {max} characters or fewer.")
            }
            Self::BusUnavailable(_) => "The player is unavailable right now, try again in a moment.".into(),
            Self::NotApproved { state } => messages::how_to_request(*state),
            Self::MissingPermission(name) => format!("Only members with the {name} permission can do that."),
            Self::Allowlist(e) => allowlist_message(e),
            Self::UnknownComponent => "That button no longer does anything.".into(),
            Self::PositionOutOfRange => "Positions start at 1, as `/queue` shows them.".into(),
            Self::VolumeOutOfRange => "Volume goes from 0 to 200%.".into(),
            Self::InvalidSeek => {
                "Give a time like `1:23`, or seconds to jump from here: `+30` forward, `-10` back.".into()
            }
            Self::InvalidLoopMode => "Loop can be `off`, `track` or `queue`.".into(),
            Self::OptionOutOfRange { name, min, max } => {
                format!("`{name}` must be between {min} and {max}. Nothing was changed.")
            }
            Self::Settings(SettingsError::OutOfRange { field, min, max }) => {
                format!("`{field}` must be between {min} and {max}. Nothing was changed.")
            }
            Self::Settings(_) => "That setting is not valid. Nothing was changed.".into(),
            Self::Store(_) | Self::ViewsUnavailable => {
                "The player's data is unavailable right now, try again in a moment.".into()
            }
            Self::LinkingUnavailable => {
                "Linking accounts is not set up on this bot. `/playlist import` reads an exported playlist file \
                 instead."
                    .into()
            }
            Self::OneThingToPlay => "Give me one thing to play: a query, a file or one of your playlists.".into(),
            Self::InvalidPlaylistName(e) => format!("That name will not do: {e}."),
            Self::NotAPlaylistFile => "I import Spotify's data export (the `.json` files of \u{201c}Download your \
                data\u{201d}), an Exportify `.csv` file, or an `.m3u`, `.pls` or `.xspf` list of links."
                .into(),
            Self::PlaylistFileTooLarge { max } => {
                format!("That file is too large: I import files of up to {} MB.", max / (1024 * 1024))
            }
        }
    }

    /// Whether the fault is ours rather than the member's (worth a warning).
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::BusUnavailable(_) | Self::WrongApplication | Self::Store(_) | Self::ViewsUnavailable)
            || matches!(self, Self::Allowlist(e) if e.is_internal())
    }
}

/// What a member is told when `/request-access` is refused.
fn allowlist_message(error: &AllowlistError) -> String {
    match error {
        AllowlistError::AlreadyPending { since } => {
            format!("This server already asked for access <t:{since}:R>; the maintainers have not decided yet.")
        }
        AllowlistError::AlreadyApproved => "This server is already approved. Try `/play`!".into(),
        AllowlistError::CoolingDown { until } => {
            format!("This server's last request was declined. You may ask again <t:{until}:R>.")
        }
        AllowlistError::RevokedByMaintainers => {
            "This server's access was revoked by the bot's maintainers; contact them to restore it.".into()
        }
        AllowlistError::ConcurrentChange => "Someone else changed this server's access just now; try again.".into(),
        _ => "The access list is unavailable right now, try again in a moment.".into(),
    }
}

/// The longest command name repeated back to a member (Discord's own limit).
const MAX_ECHOED_NAME: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_core::BusErrorKind;

    #[test]
    fn request_errors_map_to_their_status_codes() {
        assert_eq!(RequestError::TooLarge { limit: 1 }.status(), 413);
        assert_eq!(RequestError::from(VerifyError::Stale).status(), 401);
        let json = serde_json::from_slice::<serde_json::Value>(b"{").unwrap_err();
        assert_eq!(RequestError::Malformed(json).status(), 400);
    }

    #[test]
    fn bus_failure_tells_the_member_to_try_again() {
        let err = CommandError::BusUnavailable(BusError::new(BusErrorKind::Unavailable));
        assert!(err.user_message().contains("unavailable"));
        assert!(err.user_message().contains("try again"));
        assert!(err.is_internal());
    }

    #[test]
    fn error_messages_are_lowercase_without_trailing_period() {
        let messages = [
            KeyError::NotHex.to_string(),
            VerifyError::MissingHeader("x").to_string(),
            RequestError::TooLarge { limit: 1 }.to_string(),
            CommandError::EmptyQuery.to_string(),
            CommandError::UnknownCommand("x".into()).to_string(),
        ];
        for m in messages {
            assert!(m.starts_with(|c: char| c.is_lowercase()), "{m}");
            assert!(!m.ends_with('.'), "{m}");
        }
    }

    #[test]
    fn an_overlong_unknown_command_name_is_not_echoed_whole() {
        let message = CommandError::UnknownCommand("x".repeat(10_000)).user_message();
        assert!(message.chars().count() < 100, "{} chars", message.chars().count());
        assert!(message.starts_with(&format!("I don't know the command /{}…", "x".repeat(32))));
        assert_eq!(
            CommandError::UnknownCommand("jump".into()).user_message(),
            "I don't know the command /jump. Try /help."
        );
    }
}
