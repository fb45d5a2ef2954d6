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
    /// "Thinking…": the gateway service edits the reply later (type 5).
    DeferredMessage,
    /// A message right away (type 4).
    Message {
        /// The text.
        content: String,
        /// Whether only the member who ran the command sees it.
        ephemeral: bool,
    },
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
        Self::Message { content: content.into(), ephemeral: true }
    }

    /// Discord's callback type code.
    pub const fn callback_type(&self) -> u8 {
        match self {
            Self::Pong => 1,
            Self::Message { .. } => 4,
            Self::DeferredMessage => 5,
            Self::UpdateMessage { .. } => 7,
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
        if let Self::Message { content, ephemeral } = self {
            let mut data = json!({
                "content": content,
                // Our messages may echo what a member typed; never let that
                // ping @everyone, roles or users.
                "allowed_mentions": { "parse": [] },
            });
            if *ephemeral {
                data["flags"] = json!(EPHEMERAL);
            }
            map.serialize_entry("data", &data)?;
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

/// One action row holding `buttons`, or no rows (which removes buttons).
pub fn components(buttons: &[Button]) -> Value {
    if buttons.is_empty() {
        return json!([]);
    }
    let row: Vec<Value> = buttons
        .iter()
        .map(|b| json!({"type": 2, "style": b.style.code(), "label": b.label, "custom_id": b.custom_id}))
        .collect();
    json!([{ "type": 1, "components": row }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pong_and_deferred_are_bare_types() {
        assert_eq!(InteractionResponse::Pong.to_json(), json!({"type": 1}));
        assert_eq!(InteractionResponse::DeferredMessage.to_json(), json!({"type": 5}));
    }

    #[test]
    fn ephemeral_message_carries_flag_64_and_no_mentions() {
        assert_eq!(
            InteractionResponse::ephemeral("nope").to_json(),
            json!({"type": 4, "data": {"content": "nope", "flags": 64, "allowed_mentions": {"parse": []}}})
        );
        let public = InteractionResponse::Message { content: "hi".into(), ephemeral: false }.to_json();
        assert!(public["data"].get("flags").is_none());
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
