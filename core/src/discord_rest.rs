//! The Discord REST port: messages, DMs, guild lookups and leaving a guild,
//! for workflows (the allowlist) that talk to people outside an
//! interaction's reply.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{ChannelId, GuildId, UserId};

/// A message id (a snowflake, kept as its decimal string).
pub type MessageId = u64;

/// Where a message is: enough to edit it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    /// Its channel.
    pub channel_id: ChannelId,
    /// The message.
    #[serde(with = "string_u64")]
    pub message_id: MessageId,
}

/// A button's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    /// Blurple (1).
    Primary,
    /// Grey (2).
    Secondary,
    /// Green (3).
    Success,
    /// Red (4).
    Danger,
    /// A link (5): opens the address held in the button's `custom_id` and
    /// sends the bot no interaction.
    Link,
}

impl ButtonStyle {
    /// Discord's code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Primary => 1,
            Self::Secondary => 2,
            Self::Success => 3,
            Self::Danger => 4,
            Self::Link => 5,
        }
    }
}

/// A button that sends an interaction with `custom_id` when pressed (or,
/// [`ButtonStyle::Link`], opens the address in `custom_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// Sent back in the component interaction (at most 100 characters); a
    /// link button's address (at most 512).
    pub custom_id: String,
    /// The text on it.
    pub label: String,
    /// Its colour.
    pub style: ButtonStyle,
}

/// A message to send: text and optional buttons. Mentions in it never ping
/// anyone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutgoingMessage {
    /// The text (at most 2000 characters).
    pub content: String,
    /// Buttons, laid out five to a row, at most [`MAX_BUTTONS`]; empty
    /// removes any the message had.
    pub buttons: Vec<Button>,
}

/// The most buttons a message holds: five rows of five.
pub const MAX_BUTTONS: usize = 25;

/// Discord's `components` for `buttons`: action rows of at most five
/// buttons, at most five rows (extra buttons are left out); an empty array
/// for none, which removes the buttons a message had.
pub fn components_json(buttons: &[Button]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = buttons
        .chunks(5)
        .take(MAX_BUTTONS / 5)
        .map(|row| {
            let row: Vec<serde_json::Value> = row
                .iter()
                .map(|b| match b.style {
                    ButtonStyle::Link => {
                        serde_json::json!({"type": 2, "style": b.style.code(), "label": b.label, "url": b.custom_id})
                    }
                    _ => {
                        serde_json::json!({"type": 2, "style": b.style.code(), "label": b.label, "custom_id": b.custom_id})
                    }
                })
                .collect();
            serde_json::json!({"type": 1, "components": row})
        })
        .collect();
    serde_json::Value::Array(rows)
}

impl OutgoingMessage {
    /// A plain text message.
    pub fn text(content: impl Into<String>) -> Self {
        Self { content: content.into(), buttons: Vec::new() }
    }
}

/// What a guild lookup returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildInfo {
    /// The guild's name.
    pub name: String,
    /// Its approximate member count.
    pub approximate_member_count: Option<u64>,
}

/// Why a Discord call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscordErrorKind {
    /// The channel, message, guild or user does not exist (or the bot
    /// cannot see it).
    NotFound,
    /// The bot lacks a permission.
    Forbidden,
    /// The user does not accept DMs from the bot (Discord code 50007).
    CannotMessageUser,
    /// Discord asked us to slow down beyond what the client waits for.
    RateLimited,
    /// Discord could not be reached or answered with a server error.
    Unavailable,
    /// Discord refused the request as malformed.
    Rejected,
}

/// A Discord call failed.
#[derive(Debug, thiserror::Error)]
#[error("discord {kind}: {message}")]
pub struct DiscordError {
    /// What kind of failure.
    pub kind: DiscordErrorKind,
    /// Details without tokens.
    pub message: String,
}

impl DiscordError {
    /// An error of `kind`.
    pub fn new(kind: DiscordErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

impl fmt::Display for DiscordErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "not found",
            Self::Forbidden => "forbidden",
            Self::CannotMessageUser => "cannot message user",
            Self::RateLimited => "rate limited",
            Self::Unavailable => "unavailable",
            Self::Rejected => "rejected",
        })
    }
}

/// Discord's REST API, as the bot user.
#[async_trait]
pub trait DiscordRest: Send + Sync + 'static {
    /// The guild's name and approximate member count.
    async fn guild_info(&self, guild: GuildId) -> Result<GuildInfo, DiscordError>;

    /// Posts `message` in `channel`.
    async fn create_message(&self, channel: ChannelId, message: &OutgoingMessage) -> Result<MessageRef, DiscordError>;

    /// Replaces the content and buttons of a message the bot sent.
    async fn edit_message(&self, at: MessageRef, message: &OutgoingMessage) -> Result<(), DiscordError>;

    /// Sends `message` to `user` in a DM.
    ///
    /// # Errors
    /// [`DiscordErrorKind::CannotMessageUser`] when their DMs are closed.
    async fn send_dm(&self, user: UserId, message: &OutgoingMessage) -> Result<MessageRef, DiscordError>;

    /// Makes the bot leave `guild`.
    async fn leave_guild(&self, guild: GuildId) -> Result<(), DiscordError>;
}

/// An operator's webhook: receives JSON events (allowlist requests).
#[async_trait]
pub trait Webhook: Send + Sync + 'static {
    /// POSTs `event` as JSON.
    async fn post(&self, event: &serde_json::Value) -> Result<(), WebhookError>;
}

/// A webhook delivery failed.
#[derive(Debug, thiserror::Error)]
#[error("webhook delivery failed: {0}")]
pub struct WebhookError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_are_laid_out_five_to_a_row_in_at_most_five_rows() {
        let button =
            |n: usize| Button { custom_id: format!("b{n}"), label: n.to_string(), style: ButtonStyle::Secondary };
        assert_eq!(components_json(&[]), serde_json::json!([]));
        let seven: Vec<Button> = (0..7).map(button).collect();
        let rows = components_json(&seven);
        assert_eq!(rows.as_array().unwrap().len(), 2);
        assert_eq!(rows[0]["components"].as_array().unwrap().len(), 5);
        assert_eq!(rows[1]["components"][1]["custom_id"], "b6");
        assert_eq!(
            rows[0]["components"][0],
            serde_json::json!({"type": 2, "style": 2, "label": "0", "custom_id": "b0"})
        );
        let thirty: Vec<Button> = (0..30).map(button).collect();
        assert_eq!(components_json(&thirty).as_array().unwrap().len(), 5);
    }

    #[test]
    fn a_link_button_carries_its_address_as_url_not_custom_id() {
        let link = Button { custom_id: "https://example.com/a".into(), label: "Open".into(), style: ButtonStyle::Link };
        assert_eq!(
            components_json(&[link])[0]["components"][0],
            serde_json::json!({"type": 2, "style": 5, "label": "Open", "url": "https://example.com/a"})
        );
    }
}

mod string_u64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}
