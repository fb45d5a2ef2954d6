//! The parts of a Discord interaction this bot reads, as our own serde types.
//!
//! Only the fields we use are declared; serde ignores the rest, so Discord
//! adding fields never breaks parsing. Twilight's model is not used here so
//! the handler stays free of Discord libraries (see style.md).

use serde::{Deserialize, Deserializer};
use timmybot_core::{ApplicationId, ChannelId, GuildId, InteractionId, RoleId, Secret, UserId};

use crate::RequestError;

/// The largest request body we read: 64 KiB.
///
/// Discord interactions are a few KiB at most; anything larger is refused
/// before verification or parsing so it costs us nothing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What kind of interaction Discord sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(from = "u8")]
pub enum InteractionType {
    /// Discord checking the endpoint is alive (1).
    Ping,
    /// A slash command (2).
    ApplicationCommand,
    /// A button or select menu (3).
    MessageComponent,
    /// Autocomplete of a command option (4).
    ApplicationCommandAutocomplete,
    /// A submitted modal (5).
    ModalSubmit,
    /// A type this version does not know.
    Other(u8),
}

impl From<u8> for InteractionType {
    fn from(value: u8) -> Self {
        match value {
            1 => Self::Ping,
            2 => Self::ApplicationCommand,
            3 => Self::MessageComponent,
            4 => Self::ApplicationCommandAutocomplete,
            5 => Self::ModalSubmit,
            other => Self::Other(other),
        }
    }
}

impl From<InteractionType> for u8 {
    fn from(value: InteractionType) -> Self {
        match value {
            InteractionType::Ping => 1,
            InteractionType::ApplicationCommand => 2,
            InteractionType::MessageComponent => 3,
            InteractionType::ApplicationCommandAutocomplete => 4,
            InteractionType::ModalSubmit => 5,
            InteractionType::Other(other) => other,
        }
    }
}

/// An interaction, as received over HTTP or the gateway's INTERACTION_CREATE.
///
/// `Debug` is safe to print: the token is a [`Secret`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Interaction {
    /// What kind of interaction this is.
    #[serde(rename = "type")]
    pub kind: InteractionType,
    /// The interaction's id.
    pub id: InteractionId,
    /// The application it was sent to.
    pub application_id: ApplicationId,
    /// The token for responding later (valid 15 minutes).
    #[serde(deserialize_with = "secret")]
    pub token: Secret,
    /// The guild it was run in; absent in DMs.
    #[serde(default)]
    pub guild_id: Option<GuildId>,
    /// The channel it was run in.
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
    /// The channel it was run in (newer payloads send the object too).
    #[serde(default)]
    pub channel: Option<PartialChannel>,
    /// The member who ran it, in a guild.
    #[serde(default)]
    pub member: Option<Member>,
    /// The user who ran it, in a DM.
    #[serde(default)]
    pub user: Option<User>,
    /// The command or component data; absent for PING.
    #[serde(default)]
    pub data: Option<InteractionData>,
}

impl Interaction {
    /// Parses a request body, refusing bodies over [`MAX_BODY_BYTES`] before
    /// looking at them.
    ///
    /// # Errors
    /// [`RequestError::TooLarge`] or [`RequestError::Malformed`].
    pub fn from_body(body: &[u8]) -> Result<Self, RequestError> {
        check_body_size(body)?;
        serde_json::from_slice(body).map_err(RequestError::Malformed)
    }

    /// Who ran the interaction: the member's user in a guild, else the user.
    pub fn invoker(&self) -> Option<UserId> {
        self.member.as_ref().and_then(|m| m.user.as_ref()).or(self.user.as_ref()).map(|u| u.id)
    }

    /// The channel it was run in, from whichever field Discord sent.
    pub fn channel(&self) -> Option<ChannelId> {
        self.channel_id.or_else(|| self.channel.as_ref().map(|c| c.id))
    }
}

/// Refuses a body over [`MAX_BODY_BYTES`].
///
/// # Errors
/// [`RequestError::TooLarge`].
pub fn check_body_size(body: &[u8]) -> Result<(), RequestError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge { limit: MAX_BODY_BYTES });
    }
    Ok(())
}

/// The channel an interaction came from (only its id).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PartialChannel {
    /// The channel's id.
    pub id: ChannelId,
}

/// A guild member (its user and permissions).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Member {
    /// The member's user.
    #[serde(default)]
    pub user: Option<User>,
    /// The member's permissions in the channel, as Discord's decimal string.
    #[serde(default)]
    pub permissions: Option<String>,
    /// The member's roles.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub roles: Vec<RoleId>,
}

impl Member {
    /// The permission bits; `None` when absent or unreadable.
    pub fn permission_bits(&self) -> Option<u64> {
        self.permissions.as_deref()?.parse().ok()
    }
}

/// A user (only its id).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
}

/// The command (or component) an interaction invokes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InteractionData {
    /// The command's name, for application commands.
    #[serde(default)]
    pub name: Option<String>,
    /// The options the member filled in.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub options: Vec<CommandOption>,
    /// The component's developer-defined id, for buttons and menus.
    #[serde(default)]
    pub custom_id: Option<String>,
    /// The objects options refer to by id (attachments).
    #[serde(default)]
    pub resolved: Option<ResolvedData>,
}

/// The objects an interaction's options refer to by id.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ResolvedData {
    /// Uploaded files, by attachment id.
    #[serde(default)]
    pub attachments: std::collections::HashMap<String, Attachment>,
}

/// A file a member uploaded with a command (an attachment option).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Attachment {
    /// The file's name as uploaded.
    pub filename: String,
    /// Where Discord's CDN serves it (a signed link that expires).
    pub url: String,
    /// Its media type, as Discord detected it.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Its size in bytes.
    #[serde(default)]
    pub size: u64,
}

impl InteractionData {
    /// The data of command `name` with `options` filled in (tests build
    /// interactions with it).
    pub fn with_options(name: &str, options: Vec<(&str, OptionValue)>) -> Self {
        Self {
            name: Some(name.into()),
            options: options
                .into_iter()
                .map(|(n, v)| CommandOption {
                    name: n.into(),
                    kind: 0,
                    value: Some(v),
                    options: vec![],
                    focused: false,
                })
                .collect(),
            custom_id: None,
            resolved: None,
        }
    }

    /// The data of command `name`'s subcommand `sub` with `options` filled
    /// in (tests build interactions with it).
    pub fn with_subcommand(name: &str, sub: &str, options: Vec<(&str, OptionValue)>) -> Self {
        let inner = Self::with_options(sub, options);
        Self {
            name: Some(name.into()),
            options: vec![CommandOption {
                name: sub.into(),
                kind: SUB_COMMAND,
                value: None,
                options: inner.options,
                focused: false,
            }],
            custom_id: None,
            resolved: None,
        }
    }

    /// The subcommand the member chose, as data of its own: its name and
    /// options (the resolved objects come along).
    pub fn subcommand(&self) -> Option<Self> {
        let sub = self.options.iter().find(|o| o.kind == SUB_COMMAND)?;
        Some(Self {
            name: Some(sub.name.clone()),
            options: sub.options.clone(),
            custom_id: None,
            resolved: self.resolved.clone(),
        })
    }

    /// The top-level option called `name`.
    pub fn option(&self, name: &str) -> Option<&CommandOption> {
        self.options.iter().find(|o| o.name == name)
    }

    /// The attachment the option `name` refers to.
    pub fn attachment(&self, name: &str) -> Option<&Attachment> {
        let id = match self.option(name)?.value.as_ref()? {
            OptionValue::String(id) => id.clone(),
            OptionValue::Integer(id) => id.to_string(),
            _ => return None,
        };
        self.resolved.as_ref()?.attachments.get(&id)
    }

    /// In an autocomplete interaction: the option being typed (at the top
    /// level or in the subcommand).
    pub fn focused(&self) -> Option<&CommandOption> {
        self.options.iter().find(|o| o.focused).or_else(|| {
            self.options.iter().filter(|o| o.kind == SUB_COMMAND).flat_map(|o| &o.options).find(|o| o.focused)
        })
    }
}

/// Discord's option type of a subcommand.
const SUB_COMMAND: u8 = 1;

/// One option the member filled in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CommandOption {
    /// The option's name.
    pub name: String,
    /// Discord's option type (3 = string, 4 = integer, …).
    #[serde(rename = "type", default)]
    pub kind: u8,
    /// The value, for non-subcommand options.
    #[serde(default)]
    pub value: Option<OptionValue>,
    /// Nested options, for subcommands.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub options: Vec<CommandOption>,
    /// In an autocomplete interaction: the option being typed.
    #[serde(default)]
    pub focused: bool,
}

/// An option's value, as JSON gives it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OptionValue {
    /// A boolean option.
    Bool(bool),
    /// An integer option (or a user/channel id sent as a number).
    Integer(i64),
    /// A number option.
    Number(f64),
    /// A string option (also ids of users, channels and roles).
    String(String),
}

impl OptionValue {
    /// The string value, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer value, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Integer(n) => Some(*n),
            _ => None,
        }
    }
}

// `Secret` deliberately has no serde impls; the token is wrapped the moment
// it is read so no plain copy lingers in our types.
fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    String::deserialize(d).map(Secret::new)
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUILD_PLAY: &str = r#"{
        "type": 2, "id": "1001", "application_id": "2002", "token": "tok-123",
        "guild_id": "3003", "channel_id": "4004", "version": 1,
        "channel": {"id": "4004", "type": 0},
        "member": {"user": {"id": "5005", "username": "m"}, "roles": ["7007"]},
        "data": {"id": "6006", "name": "play", "type": 1,
                 "options": [{"name": "query", "type": 3, "value": "https://x/a.mp3"},
                             {"name": "volume", "type": 4, "value": 70}]}
    }"#;

    #[test]
    fn guild_slash_command_parses_the_fields_we_read() {
        let i = Interaction::from_body(GUILD_PLAY.as_bytes()).unwrap();
        assert_eq!(i.kind, InteractionType::ApplicationCommand);
        assert_eq!(i.id, InteractionId::new(1001).unwrap());
        assert_eq!(i.application_id, ApplicationId::new(2002).unwrap());
        assert_eq!(i.token.expose(), "tok-123");
        assert_eq!(i.guild_id, GuildId::new(3003));
        assert_eq!(i.channel(), ChannelId::new(4004));
        assert_eq!(i.invoker(), UserId::new(5005));
        assert_eq!(i.member.as_ref().unwrap().roles, vec![RoleId::new(7007).unwrap()]);
        let data = i.data.unwrap();
        assert_eq!(data.name.as_deref(), Some("play"));
        assert_eq!(data.option("query").and_then(|o| o.value.as_ref()?.as_str()), Some("https://x/a.mp3"));
        assert_eq!(data.option("volume").and_then(|o| o.value.as_ref()?.as_i64()), Some(70));
    }

    #[test]
    fn dm_interaction_takes_the_user_and_channel_object() {
        let body = r#"{"type": 2, "id": "1", "application_id": "2", "token": "t",
            "channel": {"id": "9"}, "user": {"id": "8"}, "data": {"name": "play", "options": null}}"#;
        let i = Interaction::from_body(body.as_bytes()).unwrap();
        assert_eq!(i.guild_id, None);
        assert_eq!(i.invoker(), UserId::new(8));
        assert_eq!(i.channel(), ChannelId::new(9));
        assert!(i.data.unwrap().options.is_empty());
    }

    #[test]
    fn unknown_interaction_types_are_kept_not_refused() {
        let body = r#"{"type": 42, "id": "1", "application_id": "2", "token": "t"}"#;
        assert_eq!(Interaction::from_body(body.as_bytes()).unwrap().kind, InteractionType::Other(42));
        assert_eq!(u8::from(InteractionType::Other(42)), 42);
    }

    #[test]
    fn malformed_json_and_missing_fields_are_malformed() {
        for body in ["{", "[]", r#"{"type": 1}"#, r#"{"type": 1, "id": "0", "application_id": "2", "token": "t"}"#] {
            assert!(matches!(Interaction::from_body(body.as_bytes()), Err(RequestError::Malformed(_))), "{body}");
        }
    }

    #[test]
    fn bodies_over_64_kib_are_refused_before_parsing() {
        // Not JSON at all: a size error proves we never tried to parse it.
        let body = vec![b'x'; MAX_BODY_BYTES + 1];
        assert!(matches!(Interaction::from_body(&body), Err(RequestError::TooLarge { limit: MAX_BODY_BYTES })));
        assert!(check_body_size(&body[..MAX_BODY_BYTES]).is_ok());
    }

    #[test]
    fn interaction_debug_hides_the_token() {
        let i = Interaction::from_body(GUILD_PLAY.as_bytes()).unwrap();
        assert!(!format!("{i:?}").contains("tok-123"));
    }
}
