//! The slash commands this bot offers: the one place they are defined.
//!
//! The registration body ([`bulk_overwrite_body`]), the `/help` text and the
//! handler's validation all read the same [`COMMANDS`] table, so a command
//! cannot be registered with one shape and parsed with another. Discord
//! checks option types, lengths and ranges in its client; requests that do
//! not come through the client (the gateway route, a hand-made request) are
//! checked again here with the same numbers.

use serde_json::{Value, json};
use timmybot_core::player::{LoopMode, MAX_QUEUE_LEN, MAX_VOLUME, Placement, SeekTarget};
use timmybot_core::{MAX_PLAYLIST_NAME_CHARS, PlaylistName, Provider, VoiceCommand};

use crate::CommandError;
use crate::model::InteractionData;

/// Discord's permission bits the handler checks ("Manage Server" and
/// Administrator, which implies it).
pub use timmybot_core::{ADMINISTRATOR, MANAGE_GUILD};

/// `/play`: join the member's voice channel and play something.
pub const PLAY: &str = "play";
/// `/stop`: stop playback, clear the queue and leave.
pub const STOP: &str = "stop";
/// `/help`: list the commands.
pub const HELP: &str = "help";
/// `/request-access`: ask the maintainers to approve this server.
pub const REQUEST_ACCESS: &str = "request-access";
/// `/queue`: the waiting tracks, paged.
pub const QUEUE: &str = "queue";
/// `/nowplaying`: the current track and its position.
pub const NOW_PLAYING: &str = "nowplaying";
/// `/history`: the last tracks played.
pub const HISTORY: &str = "history";
/// `/settings`: the server's player settings.
pub const SETTINGS: &str = "settings";
/// `/playlist`: the member's own playlists (subcommands save, load, show,
/// delete, list).
pub const PLAYLIST: &str = "playlist";
/// `/likes`: play the member's liked songs (their imported "Liked songs").
pub const LIKES: &str = "likes";
/// `/myplaylists`: the member's playlists, as `/playlist list`.
pub const MY_PLAYLISTS: &str = "myplaylists";
/// `/play`'s option naming one of the member's playlists.
pub const PLAYLIST_OPTION: &str = "playlist";
/// `/link`: link an account (Spotify, YouTube, Plex).
pub const LINK: &str = "link";
/// `/links`: the member's linked accounts.
pub const LINKS: &str = "links";
/// `/unlink`: remove a link and what it imported (or everything).
pub const UNLINK: &str = "unlink";
/// `/link` and `/unlink`'s option naming the provider.
pub const PROVIDER_OPTION: &str = "provider";
/// `/unlink provider:everything`: every link and every playlist.
pub const EVERYTHING: &str = "everything";
/// `/playlist`'s subcommands' option naming a playlist.
pub const NAME_OPTION: &str = "name";
/// `/request-access`'s one option.
pub const REASON_OPTION: &str = "reason";
/// `/play`'s query option.
pub const QUERY_OPTION: &str = "query";
/// `/play`'s uploaded-file option.
pub const FILE_OPTION: &str = "file";
/// `/radio`: play a station of the directory.
pub const RADIO: &str = "radio";
/// `/radio`'s option.
pub const STATION_OPTION: &str = "station";
/// `/search`: results with buttons to queue one.
pub const SEARCH: &str = "search";
/// `/library`: the media folder's files, paged and searched.
pub const LIBRARY: &str = "library";
/// The longest `/library` query, in characters: short enough that a page
/// button's custom id (`library:page:<page>:<query>`) fits Discord's 100.
pub const MAX_LIBRARY_QUERY_LEN: usize = 80;
/// The highest `/library` page asked for (20,000 files, ten a page).
pub const MAX_LIBRARY_PAGE: i64 = 2000;
/// The largest upload `/play` accepts, in bytes (Discord's own limit for
/// most members; the player's size limit applies as well).
pub const MAX_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;
/// The longest `/play` query, in characters.
///
/// Long enough for any real URL; also sent to Discord as the option's
/// `max_length`, so the client stops longer input before it reaches us.
pub const MAX_QUERY_LEN: usize = 512;
/// The highest queue position an option accepts.
const MAX_POSITION: i64 = MAX_QUEUE_LEN as i64;

/// Discord's type for an application command option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionKind {
    /// A subcommand (1), with its own options.
    SubCommand,
    /// A string (3).
    String,
    /// An integer (4).
    Integer,
    /// A boolean (5).
    Boolean,
    /// A channel (7).
    Channel,
    /// A role (8).
    Role,
    /// An uploaded file (11).
    Attachment,
}

impl OptionKind {
    /// Discord's numeric code.
    pub const fn code(self) -> u8 {
        match self {
            Self::SubCommand => 1,
            Self::String => 3,
            Self::Integer => 4,
            Self::Boolean => 5,
            Self::Channel => 7,
            Self::Role => 8,
            Self::Attachment => 11,
        }
    }
}

/// One option of a slash command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionDef {
    /// The option's name (lowercase, as typed).
    pub name: &'static str,
    /// Shown under the option in the client.
    pub description: &'static str,
    /// The value's type.
    pub kind: OptionKind,
    /// Whether the member must fill it in.
    pub required: bool,
    /// The longest string accepted, in characters.
    pub max_length: Option<usize>,
    /// The smallest integer accepted.
    pub min_value: Option<i64>,
    /// The largest integer accepted.
    pub max_value: Option<i64>,
    /// Whether the client asks the bot for suggestions as the member types.
    pub autocomplete: bool,
    /// The only values accepted, shown as a list (names equal values).
    pub choices: &'static [&'static str],
    /// A subcommand's own options.
    pub options: &'static [OptionDef],
}

impl OptionDef {
    const fn new(name: &'static str, description: &'static str, kind: OptionKind) -> Self {
        Self {
            name,
            description,
            kind,
            required: false,
            max_length: None,
            min_value: None,
            max_value: None,
            autocomplete: false,
            choices: &[],
            options: &[],
        }
    }

    const fn subcommand(name: &'static str, description: &'static str, options: &'static [OptionDef]) -> Self {
        let mut option = Self::new(name, description, OptionKind::SubCommand);
        option.options = options;
        option
    }

    const fn string(name: &'static str, description: &'static str, max_length: usize) -> Self {
        let mut option = Self::new(name, description, OptionKind::String);
        option.max_length = Some(max_length);
        option
    }

    const fn integer(name: &'static str, description: &'static str, min: i64, max: i64) -> Self {
        let mut option = Self::new(name, description, OptionKind::Integer);
        option.min_value = Some(min);
        option.max_value = Some(max);
        option
    }

    const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self::new(name, description, OptionKind::Boolean)
    }

    const fn position(name: &'static str, description: &'static str) -> Self {
        let mut option = Self::integer(name, description, 1, MAX_POSITION);
        option.required = true;
        option.autocomplete = true;
        option
    }

    const fn autocompleted(mut self) -> Self {
        self.autocomplete = true;
        self
    }

    const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    const fn choices(mut self, choices: &'static [&'static str]) -> Self {
        self.choices = choices;
        self
    }
}

/// Who may use a command, for `/help` and docs/commands.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone (in the bot's voice channel for commands that change playback).
    Everyone,
    /// Members with the DJ role (anyone when none is set); others only for
    /// their own tracks.
    Dj,
    /// Members with Manage Server.
    Managers,
}

/// How a command is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Goes over the bus to the player (a deferred, ephemeral reply).
    Player,
    /// Answered at once from the store.
    View,
    /// Answered at once by the handler.
    Direct,
}

/// One slash command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandDef {
    /// The command's name (lowercase, without the slash).
    pub name: &'static str,
    /// `/` + the name: the fixed label logs and metrics use.
    pub route: &'static str,
    /// Shown next to the command in the client and in `/help`.
    pub description: &'static str,
    /// Its options, in the order the client shows them.
    pub options: &'static [OptionDef],
    /// Permission bits a member needs for the client to offer the command
    /// (`default_member_permissions`); `None` = everyone. Advisory only:
    /// server admins can change it, so the handler checks again.
    pub default_member_permissions: Option<u64>,
    /// Who may use it.
    pub audience: Audience,
    /// How it is answered.
    pub handling: Handling,
}

const fn player(
    name: &'static str,
    route: &'static str,
    description: &'static str,
    options: &'static [OptionDef],
    audience: Audience,
) -> CommandDef {
    CommandDef {
        name,
        route,
        description,
        options,
        default_member_permissions: None,
        audience,
        handling: Handling::Player,
    }
}

const fn view(
    name: &'static str,
    route: &'static str,
    description: &'static str,
    options: &'static [OptionDef],
) -> CommandDef {
    CommandDef {
        name,
        route,
        description,
        options,
        default_member_permissions: None,
        audience: Audience::Everyone,
        handling: Handling::View,
    }
}

/// Every slash command the bot registers.
pub const COMMANDS: &[CommandDef] = &[
    player(
        PLAY,
        "/play",
        "Play a link, a search, a radio station or a file (joins your voice channel)",
        &[
            OptionDef::string(QUERY_OPTION, "A link, a playlist, or words to search for", MAX_QUERY_LEN)
                .autocompleted(),
            OptionDef::new(FILE_OPTION, "An audio file to upload and play", OptionKind::Attachment),
            OptionDef::string(PLAYLIST_OPTION, "One of your playlists", MAX_PLAYLIST_NAME_CHARS).autocompleted(),
            OptionDef::boolean("next", "Put it first in the queue"),
            OptionDef::boolean("now", "Play it at once, skipping the current track"),
        ],
        Audience::Everyone,
    ),
    player(
        RADIO,
        "/radio",
        "Play an internet radio station (Radio Browser)",
        &[OptionDef::string(STATION_OPTION, "A station's name, a genre or a country", MAX_QUERY_LEN)
            .autocompleted()
            .required()],
        Audience::Everyone,
    ),
    CommandDef {
        name: SEARCH,
        route: "/search",
        description: "Search for tracks and pick one to queue",
        options: &[OptionDef::string(QUERY_OPTION, "What to search for", MAX_QUERY_LEN).required()],
        default_member_permissions: None,
        audience: Audience::Everyone,
        handling: Handling::Direct,
    },
    player(
        LIBRARY,
        "/library",
        "Browse and search the media folder, and queue files",
        &[
            OptionDef::string(QUERY_OPTION, "Words in the title, artist, album or path", MAX_LIBRARY_QUERY_LEN),
            OptionDef::integer("page", "Which page", 1, MAX_LIBRARY_PAGE),
        ],
        Audience::Everyone,
    ),
    player("pause", "/pause", "Pause playback", &[], Audience::Everyone),
    player("resume", "/resume", "Resume playback (rejoins if I left)", &[], Audience::Everyone),
    player("skip", "/skip", "Skip the current track", &[], Audience::Dj),
    player(
        "skipto",
        "/skipto",
        "Skip ahead to a track in the queue",
        &[OptionDef::position("position", "The track's place in the queue")],
        Audience::Dj,
    ),
    player("previous", "/previous", "Play the previous track again", &[], Audience::Everyone),
    player(STOP, "/stop", "Stop playback, clear the queue and leave the voice channel", &[], Audience::Dj),
    player("leave", "/leave", "Leave the voice channel, keeping the queue", &[], Audience::Everyone),
    view(
        QUEUE,
        "/queue",
        "Show the queue, with total and remaining time",
        &[OptionDef::integer("page", "Which page", 1, 100)],
    ),
    view(NOW_PLAYING, "/nowplaying", "Show what is playing and where", &[]),
    player(
        "remove",
        "/remove",
        "Remove a track from the queue",
        &[OptionDef::position("position", "The track's place in the queue")],
        Audience::Dj,
    ),
    player(
        "move",
        "/move",
        "Move a track to another place in the queue",
        &[
            OptionDef::position("from", "The track's place now"),
            OptionDef::integer("to", "Its new place", 1, MAX_POSITION).required(),
        ],
        Audience::Dj,
    ),
    player(
        "swap",
        "/swap",
        "Swap two tracks in the queue",
        &[OptionDef::position("first", "One track's place"), OptionDef::position("second", "The other's")],
        Audience::Dj,
    ),
    player("shuffle", "/shuffle", "Shuffle the queue", &[], Audience::Everyone),
    player("clear", "/clear", "Remove every waiting track", &[], Audience::Dj),
    player(
        "loop",
        "/loop",
        "Loop nothing, the current track, or the whole queue",
        &[OptionDef::new("mode", "off, track or queue", OptionKind::String)
            .required()
            .choices(&["off", "track", "queue"])],
        Audience::Everyone,
    ),
    player(
        "seek",
        "/seek",
        "Jump within the track: 1:23, +30 or -10",
        &[OptionDef::string("position", "A time (1:23) or seconds forward (+30) or back (-10)", 12).required()],
        Audience::Everyone,
    ),
    player(
        "volume",
        "/volume",
        "Set the volume (0–200 %)",
        &[OptionDef::integer("percent", "0 to 200", 0, MAX_VOLUME as i64).required()],
        Audience::Everyone,
    ),
    player("voteskip", "/voteskip", "Vote to skip the current track", &[], Audience::Everyone),
    view(HISTORY, "/history", "The last tracks played, to queue again", &[]),
    CommandDef {
        name: PLAYLIST,
        route: "/playlist",
        description: "Your own playlists: save the queue, play, show, delete, list, import",
        options: &[
            OptionDef::subcommand(
                "save",
                "Save this server's queue as one of your playlists",
                &[OptionDef::string(NAME_OPTION, "Its name (an existing one is replaced)", MAX_PLAYLIST_NAME_CHARS)
                    .autocompleted()
                    .required()],
            ),
            OptionDef::subcommand(
                "load",
                "Queue one of your playlists (joins your voice channel)",
                &[
                    OptionDef::string(NAME_OPTION, "Which playlist", MAX_PLAYLIST_NAME_CHARS)
                        .autocompleted()
                        .required(),
                    OptionDef::boolean("next", "Put it first in the queue"),
                    OptionDef::boolean("now", "Play it at once, skipping the current track"),
                ],
            ),
            OptionDef::subcommand(
                "show",
                "Show the tracks of one of your playlists",
                &[OptionDef::string(NAME_OPTION, "Which playlist", MAX_PLAYLIST_NAME_CHARS).autocompleted().required()],
            ),
            OptionDef::subcommand(
                "delete",
                "Delete one of your playlists",
                &[OptionDef::string(NAME_OPTION, "Which playlist", MAX_PLAYLIST_NAME_CHARS).autocompleted().required()],
            ),
            OptionDef::subcommand("list", "List your playlists", &[]),
            OptionDef::subcommand(
                "import",
                "Import a playlist file: Spotify's data export (.json), Exportify (.csv), M3U, PLS or XSPF",
                &[
                    OptionDef::new(FILE_OPTION, "The file", OptionKind::Attachment).required(),
                    OptionDef::string(
                        NAME_OPTION,
                        "Save it under this name (default: the file's)",
                        MAX_PLAYLIST_NAME_CHARS,
                    ),
                ],
            ),
        ],
        default_member_permissions: None,
        audience: Audience::Everyone,
        handling: Handling::Direct,
    },
    player(
        LIKES,
        "/likes",
        "Play your liked songs (from /link or an imported export)",
        &[
            OptionDef::boolean("next", "Put them first in the queue"),
            OptionDef::boolean("now", "Play them at once, skipping the current track"),
        ],
        Audience::Everyone,
    ),
    CommandDef {
        name: MY_PLAYLISTS,
        route: "/myplaylists",
        description: "List your playlists (as /playlist list)",
        options: &[],
        default_member_permissions: None,
        audience: Audience::Everyone,
        handling: Handling::Direct,
    },
    CommandDef {
        name: LINK,
        route: "/link",
        description: "Link Spotify: its playlists and likes become yours here",
        options: &[OptionDef::string(PROVIDER_OPTION, "Which account", 16)
            .choices(&["spotify", "google", "plex"])
            .required()],
        default_member_permissions: None,
        audience: Audience::Everyone,
        handling: Handling::Direct,
    },
    CommandDef {
        name: LINKS,
        route: "/links",
        description: "Show your linked accounts",
        options: &[],
        default_member_permissions: None,
        audience: Audience::Everyone,
        handling: Handling::Direct,
    },
    CommandDef {
        name: UNLINK,
        route: "/unlink",
        description: "Remove a link and its imports (or everything of yours)",
        options: &[OptionDef::string(PROVIDER_OPTION, "Which account, or everything", 16)
            .choices(&["spotify", "google", "plex", EVERYTHING])
            .required()],
        default_member_permissions: None,
        audience: Audience::Everyone,
        handling: Handling::Direct,
    },
    CommandDef {
        name: SETTINGS,
        route: "/settings",
        description: "Show or change this server's player settings (needs Manage Server)",
        options: &[
            OptionDef::new(
                "dj_role",
                "Members with this role may skip, stop, clear, move and remove",
                OptionKind::Role,
            ),
            OptionDef::boolean("clear_dj_role", "Let everyone do what a DJ may"),
            OptionDef::integer("default_volume", "Volume a new player starts at (0–200 %)", 0, MAX_VOLUME as i64),
            OptionDef::integer("max_queue", "The most tracks that may wait", 1, MAX_POSITION),
            OptionDef::integer("max_track_minutes", "The longest track accepted, in minutes", 1, 1440),
            OptionDef::new("announce_channel", "Where the now-playing message goes", OptionKind::Channel),
            OptionDef::boolean("clear_announce_channel", "Post the now-playing message where /play was used"),
            OptionDef::integer("idle_minutes", "Leave after this long with nothing playing (0 = never)", 0, 1440),
            OptionDef::integer("alone_minutes", "Leave after this long with nobody listening (0 = never)", 0, 1440),
            OptionDef::boolean("always_on", "24/7: stay in the voice channel"),
            OptionDef::integer("vote_skip_percent", "Share of listeners whose votes skip a track", 1, 100),
            OptionDef::boolean("fair_queue", "Take turns between members' tracks"),
        ],
        default_member_permissions: Some(MANAGE_GUILD),
        audience: Audience::Managers,
        handling: Handling::Direct,
    },
    CommandDef {
        name: HELP,
        route: "/help",
        description: "Show what this bot can do",
        options: &[],
        default_member_permissions: None,
        audience: Audience::Everyone,
        handling: Handling::Direct,
    },
    CommandDef {
        name: REQUEST_ACCESS,
        route: "/request-access",
        description: "Ask the maintainers to approve this server (needs Manage Server)",
        options: &[OptionDef::string(
            REASON_OPTION,
            "Why this server wants the bot (shown to the maintainers)",
            timmybot_allowlist::rules::MAX_REASON_CHARS,
        )],
        default_member_permissions: Some(MANAGE_GUILD),
        audience: Audience::Managers,
        handling: Handling::Direct,
    },
];

/// The definition of `name`.
pub fn find(name: &str) -> Option<&'static CommandDef> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// Discord's application command type for slash commands (CHAT_INPUT).
const CHAT_INPUT: u8 = 1;
/// Interaction context type GUILD: the commands are only offered in servers.
const CONTEXT_GUILD: u8 = 0;
/// Integration type GUILD_INSTALL: the bot is added to servers, not users.
const GUILD_INSTALL: u8 = 0;
/// Channel types an announce channel may be: text (0) and announcement (5).
const ANNOUNCE_CHANNEL_TYPES: [u8; 2] = [0, 5];

/// The body for Discord's bulk overwrite of global application commands
/// (`PUT /applications/{application.id}/commands`).
///
/// Each command is guild-only through `contexts: [0]`; the deprecated
/// `dm_permission: false` says the same for clients that predate `contexts`
/// (Discord ignores it when `contexts` is present).
pub fn bulk_overwrite_body() -> Value {
    Value::Array(COMMANDS.iter().map(command_json).collect())
}

fn command_json(command: &CommandDef) -> Value {
    let mut value = json!({
        "type": CHAT_INPUT,
        "name": command.name,
        "description": command.description,
        "contexts": [CONTEXT_GUILD],
        "integration_types": [GUILD_INSTALL],
        "dm_permission": false,
    });
    if !command.options.is_empty() {
        value["options"] = command.options.iter().map(option_json).collect();
    }
    if let Some(bits) = command.default_member_permissions {
        // Discord takes the bit set as a decimal string.
        value["default_member_permissions"] = json!(bits.to_string());
    }
    value
}

fn option_json(option: &OptionDef) -> Value {
    if option.kind == OptionKind::SubCommand {
        let mut value = json!({"type": option.kind.code(), "name": option.name, "description": option.description});
        if !option.options.is_empty() {
            value["options"] = option.options.iter().map(option_json).collect();
        }
        return value;
    }
    let mut value = json!({
        "type": option.kind.code(),
        "name": option.name,
        "description": option.description,
        "required": option.required,
    });
    if let Some(max) = option.max_length {
        value["max_length"] = json!(max);
    }
    if let Some(min) = option.min_value {
        value["min_value"] = json!(min);
    }
    if let Some(max) = option.max_value {
        value["max_value"] = json!(max);
    }
    if option.autocomplete {
        value["autocomplete"] = json!(true);
    }
    if !option.choices.is_empty() {
        value["choices"] = option.choices.iter().map(|c| json!({"name": c, "value": c})).collect();
    }
    if option.kind == OptionKind::Channel {
        value["channel_types"] = json!(ANNOUNCE_CHANNEL_TYPES);
    }
    value
}

/// The `/help` text: every command, its options, and who may use it.
pub fn help_text() -> String {
    let mut text = String::from("Here is what I can do:\n");
    for command in COMMANDS {
        text.push_str("• `/");
        text.push_str(command.name);
        let subcommands: Vec<&str> =
            command.options.iter().filter(|o| o.kind == OptionKind::SubCommand).map(|o| o.name).collect();
        if !subcommands.is_empty() {
            text.push(' ');
            text.push_str(&subcommands.join("|"));
        }
        for option in command.options.iter().filter(|o| o.required) {
            text.push(' ');
            text.push_str(option.name);
            text.push(':');
        }
        text.push_str("` ");
        text.push_str(command.description);
        match command.audience {
            Audience::Dj => text.push_str(" (DJ)"),
            Audience::Managers if command.name != SETTINGS && command.name != REQUEST_ACCESS => {
                text.push_str(" (Manage Server)");
            }
            _ => {}
        }
        text.push('\n');
    }
    text.push_str("(DJ): the DJ role (anyone when none is set); others only for their own tracks.");
    text
}

/// The `/request-access` reason, if the member gave one.
///
/// # Errors
/// [`CommandError::InvalidOption`] when it is not a string.
pub fn request_reason(data: &InteractionData) -> Result<Option<String>, CommandError> {
    optional_string(data, REASON_OPTION)
}

/// Validates a `/play` query: trimmed, non-empty, at most
/// [`MAX_QUERY_LEN`] characters.
///
/// # Errors
/// [`CommandError::EmptyQuery`] or [`CommandError::QueryTooLong`].
pub fn validate_query(raw: &str) -> Result<String, CommandError> {
    let query = raw.trim();
    if query.is_empty() {
        return Err(CommandError::EmptyQuery);
    }
    if query.chars().count() > MAX_QUERY_LEN {
        return Err(CommandError::QueryTooLong { max: MAX_QUERY_LEN });
    }
    Ok(query.to_owned())
}

/// The link `/play` plays for an uploaded file: Discord's CDN link, once
/// the file's detected type says audio and its size fits.
///
/// # Errors
/// [`CommandError::AttachmentNotAudio`], [`CommandError::AttachmentTooLarge`].
pub fn attachment_query(file: &crate::model::Attachment) -> Result<String, CommandError> {
    let kind = file.content_type.as_deref().unwrap_or("").to_ascii_lowercase();
    // Ogg and WebM uploads are often typed video/ or application/.
    let audio = kind.starts_with("audio/")
        || matches!(kind.split(';').next().unwrap_or("").trim(), "video/ogg" | "video/webm" | "application/ogg");
    if !audio {
        return Err(CommandError::AttachmentNotAudio);
    }
    if file.size > MAX_ATTACHMENT_BYTES {
        return Err(CommandError::AttachmentTooLarge { max: MAX_ATTACHMENT_BYTES });
    }
    let url = url::Url::parse(&file.url).map_err(|_| CommandError::MissingData)?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(CommandError::MissingData);
    }
    validate_query(url.as_str())
}

/// What `/radio` plays: a station chosen from the suggestions
/// (`radio:<uuid>`) as it is, or the words typed (`radio:<words>`, the best
/// match of the directory).
///
/// # Errors
/// [`CommandError::EmptyQuery`] or [`CommandError::QueryTooLong`].
pub fn radio_query(raw: &str) -> Result<String, CommandError> {
    let typed = validate_query(raw)?;
    let words = typed.strip_prefix("radio:").map_or(typed.as_str(), str::trim);
    validate_query(&format!("radio:{}", validate_query(words)?))
}

/// Reads a player command from its data.
///
/// Returns `Ok(None)` for a name that is not a player command.
///
/// # Errors
/// [`CommandError`] when an option is missing, of the wrong type or out of range.
pub fn voice_command(name: &str, data: &InteractionData) -> Result<Option<VoiceCommand>, CommandError> {
    let command = match name {
        PLAY => {
            let placement = placement(data)?;
            if let Some(name) = optional_string(data, PLAYLIST_OPTION)? {
                if data.option(FILE_OPTION).is_some() || data.option(QUERY_OPTION).is_some() {
                    return Err(CommandError::OneThingToPlay);
                }
                return Ok(Some(VoiceCommand::PlayPlaylist { name: playlist_name(&name)?, placement }));
            }
            let raw = match data.attachment(FILE_OPTION) {
                Some(file) => attachment_query(file)?,
                None if data.option(FILE_OPTION).is_some() => return Err(CommandError::MissingData),
                None => optional_string(data, QUERY_OPTION)?.unwrap_or_default(),
            };
            VoiceCommand::Play { query: validate_query(&raw)?, placement }
        }
        RADIO => VoiceCommand::Play {
            query: radio_query(&required_string(data, STATION_OPTION)?)?,
            placement: Placement::End,
        },
        LIBRARY => library_command(data)?,
        LIKES => VoiceCommand::PlayPlaylist {
            name: PlaylistName::parse(timmybot_core::LIKED_SONGS_PLAYLIST).expect("a valid name"),
            placement: placement(data)?,
        },
        "pause" => VoiceCommand::Pause,
        "resume" => VoiceCommand::Resume,
        "skip" => VoiceCommand::Skip,
        "skipto" => VoiceCommand::SkipTo { position: position(data, "position")? },
        "previous" => VoiceCommand::Previous,
        STOP => VoiceCommand::Stop,
        "leave" => VoiceCommand::Leave,
        "remove" => VoiceCommand::Remove { position: position(data, "position")? },
        "move" => VoiceCommand::Move { from: position(data, "from")?, to: position(data, "to")? },
        "swap" => VoiceCommand::Swap { first: position(data, "first")?, second: position(data, "second")? },
        "shuffle" => VoiceCommand::Shuffle,
        "clear" => VoiceCommand::Clear,
        "loop" => {
            let word = required_string(data, "mode")?;
            let mode = LoopMode::parse(word.trim()).ok_or(CommandError::InvalidLoopMode)?;
            VoiceCommand::Loop { mode }
        }
        "seek" => {
            let text = required_string(data, "position")?;
            let target: SeekTarget = text.parse().map_err(|_| CommandError::InvalidSeek)?;
            VoiceCommand::Seek { target }
        }
        "volume" => {
            let percent = required_integer(data, "percent")?;
            if !(0..=i64::from(MAX_VOLUME)).contains(&percent) {
                return Err(CommandError::VolumeOutOfRange);
            }
            VoiceCommand::Volume { percent: percent as u16 }
        }
        "voteskip" => VoiceCommand::VoteSkip,
        _ => return Ok(None),
    };
    Ok(Some(command))
}

/// Where `next` and `now` put what is queued (`now` wins; default the end).
fn placement(data: &InteractionData) -> Result<Placement, CommandError> {
    Ok(if optional_bool(data, "now")? == Some(true) {
        Placement::Now
    } else if optional_bool(data, "next")? == Some(true) {
        Placement::Next
    } else {
        Placement::End
    })
}

/// A playlist name as typed.
///
/// # Errors
/// [`CommandError::InvalidPlaylistName`] saying what is wrong with it.
pub fn playlist_name(raw: &str) -> Result<PlaylistName, CommandError> {
    PlaylistName::parse(raw).map_err(CommandError::InvalidPlaylistName)
}

/// What a `/playlist` subcommand asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaylistAction {
    /// Save the guild's queue under this name.
    Save(PlaylistName),
    /// Queue the playlist: goes over the bus as this command.
    Load(VoiceCommand),
    /// Import an uploaded file: goes over the bus as this command.
    Import(VoiceCommand),
    /// Show its tracks.
    Show(PlaylistName),
    /// Delete it.
    Delete(PlaylistName),
    /// List the member's playlists (`/playlist list`, `/myplaylists`).
    List,
}

/// Reads `/playlist`'s subcommand (or `/myplaylists`) from its data.
///
/// # Errors
/// [`CommandError::MissingData`] without a known subcommand; an option's
/// error otherwise.
pub fn playlist_action(name: &str, data: &InteractionData) -> Result<PlaylistAction, CommandError> {
    if name == MY_PLAYLISTS {
        return Ok(PlaylistAction::List);
    }
    let sub = data.subcommand().ok_or(CommandError::MissingData)?;
    let named = || playlist_name(&required_string(&sub, NAME_OPTION)?);
    Ok(match sub.name.as_deref().unwrap_or_default() {
        "save" => PlaylistAction::Save(named()?),
        "load" => PlaylistAction::Load(VoiceCommand::PlayPlaylist { name: named()?, placement: placement(&sub)? }),
        "show" => PlaylistAction::Show(named()?),
        "delete" => PlaylistAction::Delete(named()?),
        "list" => PlaylistAction::List,
        "import" => PlaylistAction::Import(import_command(&sub)?),
        _ => return Err(CommandError::MissingData),
    })
}

/// What `/link`, `/links` or `/unlink` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    /// Link this provider.
    Link(Provider),
    /// Show the member's links.
    Show,
    /// Remove this link and its imports.
    Unlink(Provider),
    /// Remove every link and every playlist of the member.
    Forget,
}

/// Reads `/link`, `/links` or `/unlink`.
///
/// # Errors
/// [`CommandError::MissingOption`] without a provider; an unknown one
/// (the client offers only the choices) is [`CommandError::MissingData`].
pub fn link_action(name: &str, data: &InteractionData) -> Result<LinkAction, CommandError> {
    if name == LINKS {
        return Ok(LinkAction::Show);
    }
    let provider = required_string(data, PROVIDER_OPTION)?;
    if name == UNLINK && provider == EVERYTHING {
        return Ok(LinkAction::Forget);
    }
    let provider: Provider = provider.parse().map_err(|_| CommandError::MissingData)?;
    Ok(if name == LINK { LinkAction::Link(provider) } else { LinkAction::Unlink(provider) })
}

/// The largest playlist file `/playlist import` takes: 5 MiB (the
/// import's own limit, `timmybot_accounts::MAX_IMPORT_BYTES`).
pub const MAX_IMPORT_FILE_BYTES: u64 = 5 * 1024 * 1024;

/// `/playlist import file: [name:]`: the upload's link and name once its
/// name says a format the import reads and its size fits.
fn import_command(sub: &InteractionData) -> Result<VoiceCommand, CommandError> {
    let file = match sub.attachment(FILE_OPTION) {
        Some(file) => file,
        None if sub.option(FILE_OPTION).is_some() => return Err(CommandError::MissingData),
        None => return Err(CommandError::MissingOption(FILE_OPTION)),
    };
    let extension = file.filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    if !matches!(extension.as_deref(), Some("json" | "csv" | "m3u" | "m3u8" | "pls" | "xspf")) {
        return Err(CommandError::NotAPlaylistFile);
    }
    if file.size > MAX_IMPORT_FILE_BYTES {
        return Err(CommandError::PlaylistFileTooLarge { max: MAX_IMPORT_FILE_BYTES });
    }
    let url = url::Url::parse(&file.url).map_err(|_| CommandError::MissingData)?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(CommandError::MissingData);
    }
    let name =
        optional_string(sub, NAME_OPTION)?.filter(|n| !n.trim().is_empty()).map(|n| playlist_name(&n)).transpose()?;
    Ok(VoiceCommand::ImportPlaylist { url: url.to_string(), filename: file.filename.clone(), name })
}

/// `/library [query] [page]`: the words trimmed (none when blank), at most
/// [`MAX_LIBRARY_QUERY_LEN`] characters; the page from 1.
fn library_command(data: &InteractionData) -> Result<VoiceCommand, CommandError> {
    let query = optional_string(data, QUERY_OPTION)?.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    if query.as_ref().is_some_and(|q| q.chars().count() > MAX_LIBRARY_QUERY_LEN) {
        return Err(CommandError::QueryTooLong { max: MAX_LIBRARY_QUERY_LEN });
    }
    let page = optional_integer(data, "page")?.unwrap_or(1);
    if !(1..=MAX_LIBRARY_PAGE).contains(&page) {
        return Err(CommandError::InvalidOption("page"));
    }
    Ok(VoiceCommand::Library { query, page: page as usize })
}

/// A 1-based queue position option.
fn position(data: &InteractionData, name: &'static str) -> Result<usize, CommandError> {
    let value = required_integer(data, name)?;
    if !(1..=MAX_POSITION).contains(&value) {
        return Err(CommandError::PositionOutOfRange);
    }
    Ok(value as usize)
}

/// The value of option `name`, if given.
fn value<'a>(data: &'a InteractionData, name: &str) -> Option<&'a crate::model::OptionValue> {
    data.option(name).and_then(|o| o.value.as_ref())
}

/// A string option that must be there.
///
/// # Errors
/// [`CommandError::MissingOption`] or [`CommandError::InvalidOption`].
pub fn required_string(data: &InteractionData, name: &'static str) -> Result<String, CommandError> {
    optional_string(data, name)?.ok_or(CommandError::MissingOption(name))
}

/// A string option; `None` when absent.
///
/// # Errors
/// [`CommandError::InvalidOption`] when it is not a string.
pub fn optional_string(data: &InteractionData, name: &'static str) -> Result<Option<String>, CommandError> {
    match value(data, name) {
        None => Ok(None),
        Some(v) => v.as_str().map(|s| Some(s.to_owned())).ok_or(CommandError::InvalidOption(name)),
    }
}

fn required_integer(data: &InteractionData, name: &'static str) -> Result<i64, CommandError> {
    optional_integer(data, name)?.ok_or(CommandError::MissingOption(name))
}

/// An integer option; `None` when absent.
///
/// # Errors
/// [`CommandError::InvalidOption`] when it is not an integer.
pub fn optional_integer(data: &InteractionData, name: &'static str) -> Result<Option<i64>, CommandError> {
    match value(data, name) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or(CommandError::InvalidOption(name)),
    }
}

/// A boolean option; `None` when absent.
///
/// # Errors
/// [`CommandError::InvalidOption`] when it is not a boolean.
pub fn optional_bool(data: &InteractionData, name: &'static str) -> Result<Option<bool>, CommandError> {
    match value(data, name) {
        None => Ok(None),
        Some(crate::model::OptionValue::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(CommandError::InvalidOption(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OptionValue;

    fn data(name: &str, options: Vec<(&str, OptionValue)>) -> InteractionData {
        InteractionData::with_options(name, options)
    }

    #[test]
    fn every_command_is_registered_guild_only_with_its_options() {
        let body = bulk_overwrite_body();
        let commands = body.as_array().unwrap();
        assert_eq!(commands.len(), COMMANDS.len());
        let names: Vec<&str> = commands.iter().map(|c| c["name"].as_str().unwrap()).collect();
        for expected in [
            "play",
            "radio",
            "search",
            "library",
            "pause",
            "resume",
            "skip",
            "skipto",
            "previous",
            "stop",
            "leave",
            "queue",
            "nowplaying",
            "remove",
            "move",
            "swap",
            "shuffle",
            "clear",
            "loop",
            "seek",
            "volume",
            "voteskip",
            "history",
            "playlist",
            "likes",
            "myplaylists",
            "settings",
            "help",
            "request-access",
        ] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        for command in commands {
            assert_eq!(command["type"], 1);
            assert_eq!(command["contexts"], json!([0]));
            assert_eq!(command["dm_permission"], false);
        }
        let by_name = |n: &str| commands.iter().find(|c| c["name"] == n).unwrap().clone();
        assert_eq!(by_name("settings")["default_member_permissions"], "32");
        assert_eq!(by_name("request-access")["default_member_permissions"], "32");
        assert!(by_name("play").get("default_member_permissions").is_none());
        assert_eq!(
            by_name("volume")["options"][0],
            json!({"type": 4, "name": "percent", "description": "0 to 200", "required": true, "min_value": 0, "max_value": 200})
        );
        assert_eq!(by_name("skipto")["options"][0]["autocomplete"], true);
        assert_eq!(by_name("loop")["options"][0]["choices"][2], json!({"name": "queue", "value": "queue"}));
        assert_eq!(by_name("settings")["options"][5]["channel_types"], json!([0, 5]));
        assert_eq!(by_name("play")["options"][0]["max_length"], 512);
        assert_eq!(by_name("play")["options"][0]["autocomplete"], true);
        assert_ne!(by_name("play")["options"][0]["required"], true, "a file may come instead");
        assert_eq!(by_name("play")["options"][1]["type"], 11, "an attachment option");
        assert_eq!(by_name("radio")["options"][0]["autocomplete"], true);
        assert_eq!(by_name("radio")["options"][0]["required"], true);
    }

    fn with_file(content_type: Option<&str>, size: u64) -> InteractionData {
        let mut data = data(PLAY, vec![(FILE_OPTION, OptionValue::String("1111".into()))]);
        let file = crate::model::Attachment {
            filename: "song.ogg".into(),
            url: "https://cdn.discordapp.com/attachments/1/1111/song.ogg?ex=1&is=2&hm=3".into(),
            content_type: content_type.map(str::to_owned),
            size,
        };
        data.resolved = Some(crate::model::ResolvedData { attachments: [("1111".to_owned(), file)].into() });
        data
    }

    #[test]
    fn an_uploaded_audio_file_plays_its_cdn_link_and_other_files_are_refused() {
        let Ok(Some(VoiceCommand::Play { query, .. })) = voice_command(PLAY, &with_file(Some("audio/ogg"), 1_000))
        else {
            panic!("an audio upload plays")
        };
        assert!(query.starts_with("https://cdn.discordapp.com/attachments/1/1111/song.ogg"), "{query}");
        assert!(voice_command(PLAY, &with_file(Some("video/webm"), 1_000)).is_ok(), "WebM audio is often typed video");
        assert!(matches!(
            voice_command(PLAY, &with_file(Some("image/png"), 1_000)),
            Err(CommandError::AttachmentNotAudio)
        ));
        assert!(matches!(voice_command(PLAY, &with_file(None, 1_000)), Err(CommandError::AttachmentNotAudio)));
        assert!(matches!(
            voice_command(PLAY, &with_file(Some("audio/flac"), MAX_ATTACHMENT_BYTES + 1)),
            Err(CommandError::AttachmentTooLarge { .. })
        ));
        // An attachment id Discord did not resolve is refused, not played as text.
        let mut unresolved = with_file(Some("audio/ogg"), 1);
        unresolved.resolved = None;
        assert!(matches!(voice_command(PLAY, &unresolved), Err(CommandError::MissingData)));
        assert_eq!(
            CommandError::AttachmentTooLarge { max: MAX_ATTACHMENT_BYTES }.user_message(),
            "That file is too large: I play uploads of up to 100 MB."
        );
    }

    #[test]
    fn radio_plays_a_chosen_station_or_the_best_match_of_the_words() {
        let radio = |v: &str| voice_command(RADIO, &data(RADIO, vec![(STATION_OPTION, OptionValue::String(v.into()))]));
        let uuid = "960e57c5-0601-11e8-ae97-52543be04c81";
        assert_eq!(
            radio(&format!("radio:{uuid}")).unwrap(),
            Some(VoiceCommand::Play { query: format!("radio:{uuid}"), placement: Placement::End })
        );
        assert_eq!(
            radio("  jazz fm ").unwrap(),
            Some(VoiceCommand::Play { query: "radio:jazz fm".into(), placement: Placement::End })
        );
        assert!(matches!(radio("radio:  "), Err(CommandError::EmptyQuery)));
        assert!(matches!(radio(" "), Err(CommandError::EmptyQuery)));
    }

    #[test]
    fn library_takes_optional_words_and_a_page() {
        let library = |options: Vec<(&str, OptionValue)>| voice_command(LIBRARY, &data(LIBRARY, options));
        assert_eq!(library(vec![]).unwrap(), Some(VoiceCommand::Library { query: None, page: 1 }));
        assert_eq!(
            library(vec![("query", OptionValue::String("  night drive ".into())), ("page", OptionValue::Integer(3))])
                .unwrap(),
            Some(VoiceCommand::Library { query: Some("night drive".into()), page: 3 })
        );
        assert_eq!(
            library(vec![("query", OptionValue::String("   ".into()))]).unwrap(),
            Some(VoiceCommand::Library { query: None, page: 1 })
        );
        assert!(matches!(
            library(vec![("query", OptionValue::String("x".repeat(MAX_LIBRARY_QUERY_LEN + 1)))]),
            Err(CommandError::QueryTooLong { max: MAX_LIBRARY_QUERY_LEN })
        ));
        assert!(matches!(library(vec![("page", OptionValue::Integer(0))]), Err(CommandError::InvalidOption("page"))));
        // The longest query still fits a page button.
        let longest = "é".repeat(MAX_LIBRARY_QUERY_LEN);
        let id = timmybot_core::player::messages::library_page_id(MAX_LIBRARY_PAGE as usize, Some(&longest));
        assert!(id.is_some());
        let body = bulk_overwrite_body();
        let registered = body.as_array().unwrap().iter().find(|c| c["name"] == LIBRARY).unwrap().clone();
        assert_eq!(registered["options"][0]["max_length"], 80);
    }

    #[test]
    fn command_definitions_fit_discord_limits() {
        assert!(COMMANDS.len() <= 100);
        for command in COMMANDS {
            assert!((1..=32).contains(&command.name.len()), "{}", command.name);
            assert!(command.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_'));
            assert!((1..=100).contains(&command.description.chars().count()), "{}", command.name);
            assert_eq!(command.route, format!("/{}", command.name));
            assert!(command.options.len() <= 25);
            let subcommands = command.options.iter().filter(|o| o.kind == OptionKind::SubCommand).count();
            // Discord: a command has subcommands or plain options, not both.
            assert!(subcommands == 0 || subcommands == command.options.len(), "{}", command.name);
            check_options(command.name, command.options);
            for sub in command.options.iter().filter(|o| o.kind == OptionKind::SubCommand) {
                assert!(sub.options.len() <= 25);
                assert!(sub.options.iter().all(|o| o.kind != OptionKind::SubCommand), "one level of subcommands");
                check_options(sub.name, sub.options);
            }
        }
        let help = help_text().chars().count();
        assert!(help < 2000, "help fits one message: {help} characters");
    }

    fn check_options(command: &str, options: &[OptionDef]) {
        let mut seen_optional = false;
        for option in options {
            assert!(option.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_'));
            assert!((1..=32).contains(&option.name.len()));
            assert!((1..=100).contains(&option.description.chars().count()), "{}", option.name);
            assert!(option.max_length.is_none_or(|m| (1..=6000).contains(&m)));
            // Discord wants required options before optional ones.
            assert!(!(seen_optional && option.required), "{command}: required after optional");
            seen_optional |= !option.required;
            assert!(option.choices.len() <= 25);
            assert!(!option.autocomplete || option.choices.is_empty(), "autocomplete or choices, not both");
        }
    }

    #[test]
    fn playlist_is_registered_with_subcommands_and_their_options() {
        let body = bulk_overwrite_body();
        let playlist = body.as_array().unwrap().iter().find(|c| c["name"] == PLAYLIST).unwrap().clone();
        let subs: Vec<&str> =
            playlist["options"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(subs, ["save", "load", "show", "delete", "list", "import"]);
        assert_eq!(playlist["options"][5]["options"][0]["type"], 11, "an attachment");
        assert_eq!(playlist["options"][5]["options"][0]["required"], true);
        let load = &playlist["options"][1];
        assert_eq!(load["type"], 1);
        assert!(load.get("required").is_none(), "a subcommand has no `required`");
        assert_eq!(
            load["options"][0],
            json!({"type": 3, "name": "name", "description": "Which playlist", "required": true,
                   "max_length": 100, "autocomplete": true})
        );
        assert!(playlist["options"][4].get("options").is_none(), "list takes no options");
        let play = body.as_array().unwrap().iter().find(|c| c["name"] == PLAY).unwrap().clone();
        assert_eq!(play["options"][2]["name"], "playlist");
        assert_eq!(play["options"][2]["autocomplete"], true);
    }

    #[test]
    fn playlist_subcommands_parse_with_their_names_checked() {
        let sub = |name: &str, options: Vec<(&str, OptionValue)>| {
            playlist_action(PLAYLIST, &InteractionData::with_subcommand(PLAYLIST, name, options))
        };
        let named = |text: &str| vec![(NAME_OPTION, OptionValue::String(text.into()))];
        let chill = PlaylistName::parse("Chill").unwrap();
        assert_eq!(sub("save", named("  Chill ")).unwrap(), PlaylistAction::Save(chill.clone()));
        assert_eq!(sub("show", named("Chill")).unwrap(), PlaylistAction::Show(chill.clone()));
        assert_eq!(sub("delete", named("Chill")).unwrap(), PlaylistAction::Delete(chill.clone()));
        assert_eq!(sub("list", vec![]).unwrap(), PlaylistAction::List);
        let mut load = named("Chill");
        load.push(("next", OptionValue::Bool(true)));
        assert_eq!(
            sub("load", load).unwrap(),
            PlaylistAction::Load(VoiceCommand::PlayPlaylist { name: chill, placement: Placement::Next })
        );
        assert!(matches!(sub("save", named("   ")), Err(CommandError::InvalidPlaylistName(_))));
        assert!(matches!(sub("save", named(&"x".repeat(101))), Err(CommandError::InvalidPlaylistName(_))));
        assert!(matches!(sub("save", vec![]), Err(CommandError::MissingOption(NAME_OPTION))));
        assert!(matches!(sub("rename", named("x")), Err(CommandError::MissingData)));
        assert!(matches!(playlist_action(PLAYLIST, &data(PLAYLIST, vec![])), Err(CommandError::MissingData)));
        assert_eq!(playlist_action(MY_PLAYLISTS, &data(MY_PLAYLISTS, vec![])).unwrap(), PlaylistAction::List);
        assert_eq!(
            CommandError::InvalidPlaylistName(timmybot_core::PlaylistNameError::Empty).user_message(),
            "That name will not do: a playlist needs a name."
        );
    }

    fn import_with(filename: &str, size: u64, name: Option<&str>) -> Result<PlaylistAction, CommandError> {
        let mut options = vec![(FILE_OPTION, OptionValue::String("77".into()))];
        if let Some(name) = name {
            options.push((NAME_OPTION, OptionValue::String(name.into())));
        }
        let mut data = InteractionData::with_subcommand(PLAYLIST, "import", options);
        let file = crate::model::Attachment {
            filename: filename.into(),
            url: format!("https://cdn.discordapp.com/attachments/1/77/{filename}?ex=1"),
            content_type: Some("text/csv".into()),
            size,
        };
        data.resolved = Some(crate::model::ResolvedData { attachments: [("77".to_owned(), file)].into() });
        playlist_action(PLAYLIST, &data)
    }

    #[test]
    fn import_takes_a_json_or_csv_file_within_the_limit() {
        let Ok(PlaylistAction::Import(VoiceCommand::ImportPlaylist { url, filename, name })) =
            import_with("Road Trip.CSV", 10, Some(" Trip "))
        else {
            panic!("a CSV imports")
        };
        assert!(url.starts_with("https://cdn.discordapp.com/attachments/1/77/"), "{url}");
        assert_eq!(filename, "Road Trip.CSV");
        assert_eq!(name, Some(PlaylistName::parse("Trip").unwrap()));
        assert!(matches!(
            import_with("Playlist1.json", MAX_IMPORT_FILE_BYTES, None),
            Ok(PlaylistAction::Import(VoiceCommand::ImportPlaylist { name: None, .. }))
        ));
        assert!(matches!(import_with("list.txt", 10, None), Err(CommandError::NotAPlaylistFile)));
        assert!(matches!(import_with("radio.M3U8", 10, None), Ok(PlaylistAction::Import(_))));
        assert!(matches!(
            import_with("big.json", MAX_IMPORT_FILE_BYTES + 1, None),
            Err(CommandError::PlaylistFileTooLarge { .. })
        ));
        assert!(matches!(import_with("x.csv", 1, Some(&"n".repeat(101))), Err(CommandError::InvalidPlaylistName(_))));
        let none = InteractionData::with_subcommand(PLAYLIST, "import", vec![]);
        assert!(matches!(playlist_action(PLAYLIST, &none), Err(CommandError::MissingOption(FILE_OPTION))));
        assert_eq!(
            CommandError::PlaylistFileTooLarge { max: MAX_IMPORT_FILE_BYTES }.user_message(),
            "That file is too large: I import files of up to 5 MB."
        );
    }

    #[test]
    fn likes_plays_the_liked_songs_playlist() {
        assert_eq!(
            voice_command(LIKES, &data(LIKES, vec![("next", OptionValue::Bool(true))])).unwrap(),
            Some(VoiceCommand::PlayPlaylist {
                name: PlaylistName::parse("Liked songs").unwrap(),
                placement: Placement::Next
            })
        );
    }

    #[test]
    fn play_takes_a_playlist_alone() {
        let playlist = |extra: Vec<(&str, OptionValue)>| {
            let mut options = vec![(PLAYLIST_OPTION, OptionValue::String("Road Trip".into()))];
            options.extend(extra);
            voice_command(PLAY, &data(PLAY, options))
        };
        assert_eq!(
            playlist(vec![("now", OptionValue::Bool(true))]).unwrap(),
            Some(VoiceCommand::PlayPlaylist {
                name: PlaylistName::parse("Road Trip").unwrap(),
                placement: Placement::Now
            })
        );
        assert!(matches!(
            playlist(vec![("query", OptionValue::String("x".into()))]),
            Err(CommandError::OneThingToPlay)
        ));
        assert!(matches!(
            voice_command(PLAY, &data(PLAY, vec![(PLAYLIST_OPTION, OptionValue::String(" ".into()))])),
            Err(CommandError::InvalidPlaylistName(_))
        ));
    }

    #[test]
    fn help_lists_every_command() {
        let help = help_text();
        for command in COMMANDS {
            assert!(help.contains(&format!("/{}", command.name)), "{help}");
        }
        assert!(help.contains("/radio station:"), "{help}");
        assert!(help.contains("/play` Play a link, a search"), "{help}");
        assert!(help.contains("/skip` Skip the current track (DJ)"), "{help}");
        assert!(help.contains("/playlist save|load|show|delete|list|import` Your own playlists"), "{help}");
    }

    #[test]
    fn play_takes_a_trimmed_query_and_a_placement() {
        let cmd = voice_command(PLAY, &data(PLAY, vec![("query", OptionValue::String("  https://x/a.mp3 \n".into()))]));
        assert_eq!(
            cmd.unwrap(),
            Some(VoiceCommand::Play { query: "https://x/a.mp3".into(), placement: Placement::End })
        );
        let next = data(PLAY, vec![("query", OptionValue::String("a".into())), ("next", OptionValue::Bool(true))]);
        assert!(matches!(voice_command(PLAY, &next), Ok(Some(VoiceCommand::Play { placement: Placement::Next, .. }))));
        let now = data(PLAY, vec![("query", OptionValue::String("a".into())), ("now", OptionValue::Bool(true))]);
        assert!(matches!(voice_command(PLAY, &now), Ok(Some(VoiceCommand::Play { placement: Placement::Now, .. }))));
    }

    #[test]
    fn play_query_must_be_present_non_empty_and_at_most_512_characters() {
        let too_long = "é".repeat(MAX_QUERY_LEN + 1);
        // Neither a query nor a file: nothing to play.
        assert!(matches!(voice_command(PLAY, &data(PLAY, vec![])), Err(CommandError::EmptyQuery)));
        assert!(matches!(
            voice_command(PLAY, &data(PLAY, vec![("query", OptionValue::Integer(5))])),
            Err(CommandError::InvalidOption("query"))
        ));
        assert!(matches!(
            voice_command(PLAY, &data(PLAY, vec![("query", OptionValue::String("   ".into()))])),
            Err(CommandError::EmptyQuery)
        ));
        assert!(matches!(
            voice_command(PLAY, &data(PLAY, vec![("query", OptionValue::String(too_long))])),
            Err(CommandError::QueryTooLong { max: MAX_QUERY_LEN })
        ));
        assert!(validate_query(&"é".repeat(MAX_QUERY_LEN)).is_ok());
    }

    #[test]
    fn positions_volumes_seeks_and_loop_modes_are_checked() {
        let int = |name: &'static str, command: &str, v: i64| data(command, vec![(name, OptionValue::Integer(v))]);
        assert_eq!(
            voice_command("skipto", &int("position", "skipto", 3)).unwrap(),
            Some(VoiceCommand::SkipTo { position: 3 })
        );
        assert!(matches!(
            voice_command("remove", &int("position", "remove", 0)),
            Err(CommandError::PositionOutOfRange)
        ));
        assert!(matches!(voice_command("volume", &int("percent", "volume", 999)), Err(CommandError::VolumeOutOfRange)));
        assert!(matches!(voice_command("volume", &int("percent", "volume", -1)), Err(CommandError::VolumeOutOfRange)));
        assert_eq!(
            voice_command("volume", &int("percent", "volume", 200)).unwrap(),
            Some(VoiceCommand::Volume { percent: 200 })
        );
        let seek = |text: &str| data("seek", vec![("position", OptionValue::String(text.into()))]);
        assert_eq!(
            voice_command("seek", &seek("1:23")).unwrap(),
            Some(VoiceCommand::Seek { target: SeekTarget::To(83_000) })
        );
        assert!(matches!(voice_command("seek", &seek("soon")), Err(CommandError::InvalidSeek)));
        let mode = |m: &str| data("loop", vec![("mode", OptionValue::String(m.into()))]);
        assert_eq!(voice_command("loop", &mode("queue")).unwrap(), Some(VoiceCommand::Loop { mode: LoopMode::Queue }));
        assert!(matches!(voice_command("loop", &mode("forever")), Err(CommandError::InvalidLoopMode)));
        assert!(matches!(voice_command("move", &int("from", "move", 2)), Err(CommandError::MissingOption("to"))));
    }

    #[test]
    fn commands_without_options_and_other_names() {
        assert_eq!(voice_command(STOP, &data(STOP, vec![])).unwrap(), Some(VoiceCommand::Stop));
        assert_eq!(voice_command("voteskip", &data("voteskip", vec![])).unwrap(), Some(VoiceCommand::VoteSkip));
        assert_eq!(voice_command(HELP, &data(HELP, vec![])).unwrap(), None);
        assert_eq!(voice_command(QUEUE, &data(QUEUE, vec![])).unwrap(), None);
    }

    #[test]
    fn every_player_command_parses_and_views_do_not() {
        for command in COMMANDS {
            let is_voice = !matches!(voice_command(command.name, &data(command.name, vec![])), Ok(None));
            assert_eq!(is_voice, command.handling == Handling::Player, "{}", command.name);
        }
    }
}
