//! What we answer an interaction with.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};
use timmybot_core::Button;

/// Message flag that shows a reply only to the member who ran the command.
pub const EPHEMERAL: u64 = 1 << 6;

/// An interaction response (Discord's "interaction callback").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InteractionResponse {
    /// Answer to a PING (callback type 1).
    Pong,
    /// "Thinking…": the gateway service edits the reply later (type 5);
    /// player commands defer ephemerally, so only the member sees the outcome.
    DeferredMessage {
        /// Whether only the member who ran the command sees it.
        ephemeral: bool,
    },
    /// A message right away (type 4).
    Message {
        /// The text.
        content: String,
        /// Whether only the member who ran the command sees it.
        ephemeral: bool,
        /// Buttons under it (five to a row).
        buttons: Vec<Button>,
    },
    /// Suggestions for the option a member is typing (type 8).
    Autocomplete {
        /// `(shown name, value)`, at most 25.
        choices: Vec<(String, serde_json::Value)>,
    },
    /// "Thinking…" on a pressed button: the gateway service edits the
    /// message the button is on later (type 6; a `/library` page).
    DeferredUpdate,
    /// Replace the message a pressed button is on (type 7).
    UpdateMessage {
        /// The new text.
        content: String,
        /// The new row of buttons; empty removes them.
        buttons: Vec<Button>,
    },
}

impl InteractionResponse {
    /// A message only the member who ran the command sees.
    pub fn ephemeral(content: impl Into<String>) -> Self {
        Self::Message { content: content.into(), ephemeral: true, buttons: Vec::new() }
    }

    /// A message everyone in the channel sees.
    pub fn public(message: timmybot_core::OutgoingMessage) -> Self {
        Self::Message { content: message.content, ephemeral: false, buttons: message.buttons }
    }

    /// Discord's callback type code.
    pub const fn callback_type(&self) -> u8 {
        match self {
            Self::Pong => 1,
            Self::Message { .. } => 4,
            Self::DeferredMessage { .. } => 5,
            Self::DeferredUpdate => 6,
            Self::UpdateMessage { .. } => 7,
            Self::Autocomplete { .. } => 8,
        }
    }

    /// Whether this is an ephemeral message.
    pub const fn is_ephemeral(&self) -> bool {
        matches!(self, Self::Message { ephemeral: true, .. })
    }

    /// The JSON Discord expects.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("interaction responses serialise")
    }
}

impl Serialize for InteractionResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", &self.callback_type())?;
        if let Self::Message { content, ephemeral, buttons } = self {
            let mut data = json!({
                "content": content,
                // Our messages may echo what a member typed; never let that
                // ping @everyone, roles or users.
                "allowed_mentions": { "parse": [] },
            });
            if *ephemeral {
                data["flags"] = json!(EPHEMERAL);
            }
            if !buttons.is_empty() {
                data["components"] = components(buttons);
            }
            map.serialize_entry("data", &data)?;
        }
        if let Self::DeferredMessage { ephemeral: true } = self {
            map.serialize_entry("data", &json!({ "flags": EPHEMERAL }))?;
        }
        if let Self::Autocomplete { choices } = self {
            let choices: Vec<Value> =
                choices.iter().map(|(name, value)| json!({"name": name, "value": value})).collect();
            map.serialize_entry("data", &json!({ "choices": choices }))?;
        }
        if let Self::UpdateMessage { content, buttons } = self {
            let data = json!({
                "content": content,
                "allowed_mentions": { "parse": [] },
                "components": components(buttons),
            });
            map.serialize_entry("data", &data)?;
        }
        map.end()
    }
}

/// Action rows holding `buttons` (five to a row), or no rows (which
/// removes buttons).
pub fn components(buttons: &[Button]) -> Value {
    timmybot_core::components_json(buttons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pong_and_deferred_are_bare_types() {
        assert_eq!(InteractionResponse::Pong.to_json(), json!({"type": 1}));
        assert_eq!(InteractionResponse::DeferredMessage { ephemeral: false }.to_json(), json!({"type": 5}));
        assert_eq!(
            InteractionResponse::DeferredMessage { ephemeral: true }.to_json(),
            json!({"type": 5, "data": {"flags": 64}})
        );
    }

    #[test]
    fn ephemeral_message_carries_flag_64_and_no_mentions() {
        assert_eq!(
            InteractionResponse::ephemeral("nope").to_json(),
            json!({"type": 4, "data": {"content": "nope", "flags": 64, "allowed_mentions": {"parse": []}}})
        );
        let public = InteractionResponse::public(timmybot_core::OutgoingMessage::text("hi")).to_json();
        assert!(public["data"].get("flags").is_none());
        assert!(public["data"].get("components").is_none());
    }

    #[test]
    fn autocomplete_answers_are_type_8_choices() {
        let answer = InteractionResponse::Autocomplete { choices: vec![("#1 a".into(), json!(1))] }.to_json();
        assert_eq!(answer, json!({"type": 8, "data": {"choices": [{"name": "#1 a", "value": 1}]}}));
    }

    #[test]
    fn update_message_is_type_7_and_clears_buttons_when_none() {
        let update = InteractionResponse::UpdateMessage { content: "done".into(), buttons: vec![] }.to_json();
        assert_eq!(
            update,
            json!({"type": 7, "data": {"content": "done", "allowed_mentions": {"parse": []}, "components": []}})
        );
        let button = Button {
            custom_id: "allowlist:approve:1".into(),
            label: "Approve".into(),
            style: timmybot_core::ButtonStyle::Success,
        };
        let update = InteractionResponse::UpdateMessage { content: "x".into(), buttons: vec![button] }.to_json();
        assert_eq!(
            update["data"]["components"],
            json!([{"type": 1, "components": [{"type": 2, "style": 3, "label": "Approve", "custom_id": "allowlist:approve:1"}]}])
        );
    }
}
