//! The slash commands this bot offers: the one place they are defined.
//!
//! The registration body ([`bulk_overwrite_body`]), the `/help` text and the
//! handler's validation all read the same [`COMMANDS`] table, so a command
//! cannot be registered with one shape and parsed with another.

use serde_json::{Value, json};
use timmybot_core::VoiceCommand;

use crate::CommandError;
use crate::model::InteractionData;

/// `/play`: join the member's voice channel and play something.
pub const PLAY: &str = "play";
/// `/stop`: stop playback and leave.
pub const STOP: &str = "stop";
/// `/help`: list the commands.
pub const HELP: &str = "help";
/// `/request-access`: ask the maintainers to approve this server.
pub const REQUEST_ACCESS: &str = "request-access";
/// `/request-access`'s one option.
pub const REASON_OPTION: &str = "reason";
/// Discord's MANAGE_GUILD permission bit ("Manage Server").
pub const MANAGE_GUILD: u64 = 1 << 5;
/// Discord's ADMINISTRATOR permission bit, which implies every other.
pub const ADMINISTRATOR: u64 = 1 << 3;
/// `/play`'s one option.
pub const QUERY_OPTION: &str = "query";
/// The longest `/play` query, in characters.
///
/// Long enough for any real URL; also sent to Discord as the option's
/// `max_length`, so the client stops longer input before it reaches us.
pub const MAX_QUERY_LEN: usize = 512;

/// Discord's type for an application command option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionKind {
    /// A string (3).
    String,
    /// An integer (4).
    Integer,
}

impl OptionKind {
    /// Discord's numeric code.
    pub const fn code(self) -> u8 {
        match self {
            Self::String => 3,
            Self::Integer => 4,
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
}

/// One slash command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandDef {
    /// The command's name (lowercase, without the slash).
    pub name: &'static str,
    /// Shown next to the command in the client and in `/help`.
    pub description: &'static str,
    /// Its options, in the order the client shows them.
    pub options: &'static [OptionDef],
    /// Permission bits a member needs for the client to offer the command
    /// (`default_member_permissions`); `None` = everyone. Advisory only:
    /// server admins can change it, so the handler checks again.
    pub default_member_permissions: Option<u64>,
}

/// Every slash command the bot registers.
pub const COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: PLAY,
        description: "Play a link or a file",
        options: &[OptionDef {
            name: QUERY_OPTION,
            description: "A link (http/https) or a file to play",
            kind: OptionKind::String,
            required: true,
            max_length: Some(MAX_QUERY_LEN),
        }],
        default_member_permissions: None,
    },
    CommandDef {
        name: STOP,
        description: "Stop playback, clear the queue and leave the voice channel",
        options: &[],
        default_member_permissions: None,
    },
    CommandDef { name: HELP, description: "Show what this bot can do", options: &[], default_member_permissions: None },
    CommandDef {
        name: REQUEST_ACCESS,
        description: "Ask the bot's maintainers to approve this server (needs Manage Server)",
        options: &[OptionDef {
            name: REASON_OPTION,
            description: "Why this server wants the bot (shown to the maintainers)",
            kind: OptionKind::String,
            required: false,
            max_length: Some(timmybot_allowlist::rules::MAX_REASON_CHARS),
        }],
        default_member_permissions: Some(MANAGE_GUILD),
    },
];

/// Discord's application command type for slash commands (CHAT_INPUT).
const CHAT_INPUT: u8 = 1;
/// Interaction context type GUILD: the commands are only offered in servers.
const CONTEXT_GUILD: u8 = 0;
/// Integration type GUILD_INSTALL: the bot is added to servers, not users.
const GUILD_INSTALL: u8 = 0;

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

/// The `/request-access` reason, if the member gave one.
///
/// # Errors
/// [`CommandError::InvalidOption`] when it is not a string.
pub fn request_reason(data: &InteractionData) -> Result<Option<String>, CommandError> {
    let Some(value) = data.option(REASON_OPTION).and_then(|o| o.value.as_ref()) else { return Ok(None) };
    value.as_str().map(|s| Some(s.to_owned())).ok_or(CommandError::InvalidOption(REASON_OPTION))
}

fn option_json(option: &OptionDef) -> Value {
    let mut value = json!({
        "type": option.kind.code(),
        "name": option.name,
        "description": option.description,
        "required": option.required,
    });
    if let Some(max) = option.max_length {
        value["max_length"] = json!(max);
    }
    value
}

/// The `/help` text, listing every command and its options.
pub fn help_text() -> String {
    let mut text = String::from("Here is what I can do:\n");
    for command in COMMANDS {
        text.push_str("• `/");
        text.push_str(command.name);
        for option in command.options {
            text.push(' ');
            text.push_str(option.name);
            text.push(':');
        }
        text.push_str("` ");
        text.push_str(command.description);
        text.push('\n');
    }
    text
}

/// Validates a `/play` query: trimmed, non-empty, at most
/// [`MAX_QUERY_LEN`] characters.
///
/// The client enforces `max_length` too, but gateway-delivered and hand-made
/// requests do not go through the client, so the rule is checked here.
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

/// Reads a voice command (`/play`, `/stop`) from its data.
///
/// Returns `Ok(None)` for a name that is not a voice command.
///
/// # Errors
/// [`CommandError`] when an option is missing, of the wrong type or invalid.
pub fn voice_command(name: &str, data: &InteractionData) -> Result<Option<VoiceCommand>, CommandError> {
    match name {
        PLAY => {
            let option = data.option(QUERY_OPTION).ok_or(CommandError::MissingOption(QUERY_OPTION))?;
            let value = option.value.as_ref().ok_or(CommandError::MissingOption(QUERY_OPTION))?;
            let raw = value.as_str().ok_or(CommandError::InvalidOption(QUERY_OPTION))?;
            Ok(Some(VoiceCommand::Play { query: validate_query(raw)? }))
        }
        STOP => Ok(Some(VoiceCommand::Stop)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CommandOption, OptionValue};

    fn data(options: Vec<CommandOption>) -> InteractionData {
        InteractionData { name: Some(PLAY.into()), options, custom_id: None }
    }

    fn query(value: OptionValue) -> CommandOption {
        CommandOption { name: QUERY_OPTION.into(), kind: 3, value: Some(value), options: vec![] }
    }

    #[test]
    fn bulk_overwrite_body_defines_play_stop_and_help_for_guilds_only() {
        let body = bulk_overwrite_body();
        let names: Vec<&str> = body.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["play", "stop", "help", "request-access"]);
        assert_eq!(body[3]["default_member_permissions"], "32", "only Manage Server sees /request-access");
        assert_eq!(body[3]["options"][0]["required"], false);
        assert!(body[0].get("default_member_permissions").is_none());
        for command in body.as_array().unwrap() {
            assert_eq!(command["type"], 1);
            assert_eq!(command["contexts"], json!([0]));
            assert_eq!(command["dm_permission"], false);
        }
        assert_eq!(
            body[0]["options"],
            json!([{
                "type": 3, "name": "query", "description": "A link (http/https) or a file to play",
                "required": true, "max_length": 512
            }])
        );
        assert_eq!(body[0]["description"], "Play a link or a file");
        assert!(body[1].get("options").is_none());
    }

    #[test]
    fn command_definitions_fit_discord_limits() {
        for command in COMMANDS {
            assert!((1..=32).contains(&command.name.len()), "{}", command.name);
            assert!(command.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_'));
            assert!((1..=100).contains(&command.description.chars().count()), "{}", command.name);
            for option in command.options {
                assert!(option.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_'));
                assert!((1..=100).contains(&option.description.chars().count()));
                assert!(option.max_length.is_none_or(|m| (1..=6000).contains(&m)));
            }
        }
    }

    #[test]
    fn help_lists_every_command() {
        let help = help_text();
        for command in COMMANDS {
            assert!(help.contains(&format!("/{}", command.name)), "{help}");
        }
        assert!(help.contains("/play query:"));
    }

    #[test]
    fn play_query_is_trimmed() {
        let cmd = voice_command(PLAY, &data(vec![query(OptionValue::String("  https://x/a.mp3 \n".into()))]));
        assert_eq!(cmd.unwrap(), Some(VoiceCommand::Play { query: "https://x/a.mp3".into() }));
    }

    #[test]
    fn play_query_must_be_present_non_empty_and_at_most_512_characters() {
        let too_long = "é".repeat(MAX_QUERY_LEN + 1);
        let cases = [
            (data(vec![]), "missing"),
            (data(vec![CommandOption { name: QUERY_OPTION.into(), kind: 3, value: None, options: vec![] }]), "missing"),
            (data(vec![query(OptionValue::Integer(5))]), "invalid"),
            (data(vec![query(OptionValue::String("   ".into()))]), "empty"),
            (data(vec![query(OptionValue::String(too_long))]), "long"),
        ];
        for (data, want) in cases {
            let got = voice_command(PLAY, &data).unwrap_err();
            let ok = match want {
                "missing" => matches!(got, CommandError::MissingOption(QUERY_OPTION)),
                "invalid" => matches!(got, CommandError::InvalidOption(QUERY_OPTION)),
                "empty" => matches!(got, CommandError::EmptyQuery),
                _ => matches!(got, CommandError::QueryTooLong { max: MAX_QUERY_LEN }),
            };
            assert!(ok, "{want}: {got:?}");
        }
        let exactly_max = "é".repeat(MAX_QUERY_LEN);
        assert!(validate_query(&exactly_max).is_ok());
    }

    #[test]
    fn stop_needs_no_options_and_other_names_are_not_voice_commands() {
        assert_eq!(voice_command(STOP, &data(vec![])).unwrap(), Some(VoiceCommand::Stop));
        assert_eq!(voice_command(HELP, &data(vec![])).unwrap(), None);
    }
}
