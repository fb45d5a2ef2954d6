//! Commands that travel on the bus from the interactions handler to the
//! gateway service, which owns voice.

use serde::{Deserialize, Serialize};

use crate::{ApplicationId, ChannelId, GuildId, InteractionId, Secret, UserId};

/// What the member asked the player to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum VoiceCommand {
    /// Join the member's voice channel and play `query` (a URL or a file).
    Play {
        /// What the member typed.
        query: String,
    },
    /// Stop playback, clear the queue and leave the voice channel.
    Stop,
}

/// One command on the bus, with what the consumer needs to answer it.
///
/// The interaction token lets the consumer edit the deferred reply for 15
/// minutes; it is a credential, so it is a [`Secret`] in memory and only the
/// bus adapters serialise it (see [`BusMessage::to_wire`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusMessage {
    /// The guild the command is for; the bus keeps per-guild order.
    pub guild_id: GuildId,
    /// The text channel the command was run in.
    pub channel_id: Option<ChannelId>,
    /// The member who ran it.
    pub user_id: UserId,
    /// The interaction; also the bus deduplication id.
    pub interaction_id: InteractionId,
    /// The application that owns the interaction webhook.
    pub application_id: ApplicationId,
    /// The interaction token for editing the deferred reply.
    pub interaction_token: Secret,
    /// What to do.
    pub command: VoiceCommand,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    v: u32,
    guild_id: GuildId,
    channel_id: Option<ChannelId>,
    user_id: UserId,
    interaction_id: InteractionId,
    application_id: ApplicationId,
    interaction_token: String,
    command: VoiceCommand,
}

impl BusMessage {
    /// Encodes the message for a bus body (JSON, versioned).
    pub fn to_wire(&self) -> String {
        let wire = Wire {
            v: crate::SCHEMA_VERSION,
            guild_id: self.guild_id,
            channel_id: self.channel_id,
            user_id: self.user_id,
            interaction_id: self.interaction_id,
            application_id: self.application_id,
            interaction_token: self.interaction_token.expose().to_owned(),
            command: self.command.clone(),
        };
        serde_json::to_string(&wire).expect("bus message serialises")
    }

    /// Decodes a bus body.
    ///
    /// # Errors
    /// Fails when the body is not a message this version understands.
    pub fn from_wire(body: &str) -> Result<Self, crate::BusError> {
        let wire: Wire =
            serde_json::from_str(body).map_err(|e| crate::BusError::with_source(crate::BusErrorKind::Malformed, e))?;
        Ok(Self {
            guild_id: wire.guild_id,
            channel_id: wire.channel_id,
            user_id: wire.user_id,
            interaction_id: wire.interaction_id,
            application_id: wire.application_id,
            interaction_token: Secret::new(wire.interaction_token),
            command: wire.command,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BusMessage {
        BusMessage {
            guild_id: GuildId::new(1).unwrap(),
            channel_id: ChannelId::new(2),
            user_id: UserId::new(3).unwrap(),
            interaction_id: InteractionId::new(4).unwrap(),
            application_id: ApplicationId::new(5).unwrap(),
            interaction_token: Secret::new("tok"),
            command: VoiceCommand::Play { query: "https://example.com/a.mp3".into() },
        }
    }

    #[test]
    fn bus_message_round_trips_through_wire_format() {
        let msg = sample();
        assert_eq!(BusMessage::from_wire(&msg.to_wire()).unwrap(), msg);
    }

    #[test]
    fn bus_message_debug_hides_the_interaction_token() {
        let mut msg = sample();
        msg.interaction_token = Secret::new("very-secret-token");
        assert!(!format!("{msg:?}").contains("very-secret-token"));
    }

    #[test]
    fn malformed_wire_body_is_a_malformed_error() {
        let err = BusMessage::from_wire("{\"v\":1}").unwrap_err();
        assert_eq!(err.kind(), crate::BusErrorKind::Malformed);
    }
}
