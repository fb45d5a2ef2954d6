//! Commands that travel on the bus from the interactions handler to the
//! gateway service, which owns voice.

use serde::{Deserialize, Serialize};

use crate::player::{LoopMode, Placement, SeekTarget, TrackId};
use crate::{ApplicationId, ChannelId, GuildId, InteractionId, PlaylistName, RoleId, Secret, UserId};

/// What the member asked the player to do. Positions are 1-based places in
/// the queue, as `/queue` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum VoiceCommand {
    /// Join the member's voice channel and play `query` (a URL or a file).
    Play {
        /// What the member typed.
        query: String,
        /// Where the track goes (`next`, `now`; default the end).
        #[serde(default)]
        placement: Placement,
    },
    /// Pause.
    Pause,
    /// Resume (rejoining if the bot left).
    Resume,
    /// Pause or resume (the controller's button).
    TogglePause,
    /// Skip the current track.
    Skip,
    /// Skip to a queue position.
    SkipTo {
        /// The position.
        position: usize,
    },
    /// Play the previous track again.
    Previous,
    /// Stop playback, clear the queue and leave the voice channel.
    Stop,
    /// Leave the voice channel, keeping the queue.
    Leave,
    /// Remove a waiting track.
    Remove {
        /// Its position.
        position: usize,
    },
    /// Move a waiting track.
    Move {
        /// Where it is.
        from: usize,
        /// Where it goes.
        to: usize,
    },
    /// Swap two waiting tracks.
    Swap {
        /// One position.
        first: usize,
        /// The other.
        second: usize,
    },
    /// Shuffle the queue.
    Shuffle,
    /// Remove every waiting track.
    Clear,
    /// Set the loop mode.
    Loop {
        /// The mode.
        mode: LoopMode,
    },
    /// Step the loop mode (the controller's button).
    CycleLoop,
    /// Move within the current track.
    Seek {
        /// Where to.
        target: SeekTarget,
    },
    /// Set the volume.
    Volume {
        /// Percent, 0–200.
        percent: u16,
    },
    /// Vote to skip the current track.
    VoteSkip,
    /// Queue a history entry again (the `/history` buttons).
    Requeue {
        /// The entry.
        track: TrackId,
    },
    /// Browse or search the media folder (`/library`, its page buttons):
    /// answered by the gateway, which has the folder, with a page of files
    /// and a button to queue each. Changes no player.
    Library {
        /// Words to look for in titles, artists, albums and paths; `None`
        /// lists every file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<String>,
        /// The page, from 1.
        #[serde(default = "first_page")]
        page: usize,
    },
    /// Queue the sender's own playlist `name` (`/playlist load`, `/play
    /// playlist:`). Only the name travels: the gateway loads the playlist of
    /// the member who sent the command, so no one plays another's.
    PlayPlaylist {
        /// The playlist's name (compared by key).
        name: PlaylistName,
        /// Where its tracks go (`next`, `now`; default the end).
        #[serde(default)]
        placement: Placement,
    },
    /// Save the playlists of an uploaded file (`/playlist import`) as the
    /// sender's: answered by the gateway, which downloads it through the
    /// outbound client. Changes no player.
    ImportPlaylist {
        /// Discord's link to the upload.
        url: String,
        /// The file's name as uploaded (its extension says the format).
        filename: String,
        /// The name to save it under; `None`: the file's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<PlaylistName>,
    },
}

fn first_page() -> usize {
    1
}

impl VoiceCommand {
    /// A fixed label for logs and metrics (never the member's input).
    pub fn label(&self) -> &'static str {
        match self {
            Self::Play { .. } => "play",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::TogglePause => "toggle_pause",
            Self::Skip => "skip",
            Self::SkipTo { .. } => "skipto",
            Self::Previous => "previous",
            Self::Stop => "stop",
            Self::Leave => "leave",
            Self::Remove { .. } => "remove",
            Self::Move { .. } => "move",
            Self::Swap { .. } => "swap",
            Self::Shuffle => "shuffle",
            Self::Clear => "clear",
            Self::Loop { .. } => "loop",
            Self::CycleLoop => "cycle_loop",
            Self::Seek { .. } => "seek",
            Self::Volume { .. } => "volume",
            Self::VoteSkip => "voteskip",
            Self::Requeue { .. } => "requeue",
            Self::Library { .. } => "library",
            Self::PlayPlaylist { .. } => "play_playlist",
            Self::ImportPlaylist { .. } => "import_playlist",
        }
    }
}

/// How the member gave the command (for logs; both are answered the same
/// way: an ephemeral "thinking…" that the outcome edits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandOrigin {
    /// A slash command.
    #[default]
    SlashCommand,
    /// A button (the controller, `/history`).
    Button,
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
    /// How it was given.
    pub origin: CommandOrigin,
    /// The member's roles (for the DJ role).
    pub member_roles: Vec<RoleId>,
    /// The member's permission bits in the channel (Manage Server counts as DJ).
    pub member_permissions: u64,
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
    // Added after the first layout: absent on messages from older builds.
    #[serde(default)]
    origin: CommandOrigin,
    #[serde(default)]
    member_roles: Vec<RoleId>,
    #[serde(default)]
    member_permissions: u64,
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
            origin: self.origin,
            member_roles: self.member_roles.clone(),
            member_permissions: self.member_permissions,
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
            origin: wire.origin,
            member_roles: wire.member_roles,
            member_permissions: wire.member_permissions,
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
            command: VoiceCommand::Play { query: "https://example.com/a.mp3".into(), placement: Placement::Next },
            origin: CommandOrigin::SlashCommand,
            member_roles: vec![RoleId::new(6).unwrap()],
            member_permissions: 32,
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
    fn every_command_round_trips() {
        let commands = [
            VoiceCommand::Seek { target: SeekTarget::Back(10_000) },
            VoiceCommand::Loop { mode: LoopMode::Queue },
            VoiceCommand::Move { from: 3, to: 1 },
            VoiceCommand::Requeue { track: TrackId(12) },
            VoiceCommand::VoteSkip,
            VoiceCommand::Library { query: Some("night drive".into()), page: 3 },
            VoiceCommand::Library { query: None, page: 1 },
            VoiceCommand::PlayPlaylist { name: PlaylistName::parse("Road Trip").unwrap(), placement: Placement::Now },
            VoiceCommand::ImportPlaylist {
                url: "https://cdn.discordapp.com/attachments/1/2/mix.csv".into(),
                filename: "mix.csv".into(),
                name: None,
            },
        ];
        for command in commands {
            let msg = BusMessage { command, origin: CommandOrigin::Button, ..sample() };
            assert_eq!(BusMessage::from_wire(&msg.to_wire()).unwrap(), msg);
        }
    }

    #[test]
    fn a_message_from_an_older_build_still_reads() {
        let old = r#"{"v":1,"guild_id":"1","channel_id":"2","user_id":"3","interaction_id":"4",
            "application_id":"5","interaction_token":"t","command":{"type":"play","query":"a.wav"}}"#;
        let msg = BusMessage::from_wire(old).unwrap();
        assert_eq!(msg.command, VoiceCommand::Play { query: "a.wav".into(), placement: Placement::End });
        assert_eq!(msg.origin, CommandOrigin::SlashCommand);
        assert!(msg.member_roles.is_empty());
    }

    #[test]
    fn a_library_command_without_its_fields_reads_as_the_first_page_of_everything() {
        let body = r#"{"v":1,"guild_id":"1","channel_id":"2","user_id":"3","interaction_id":"4",
            "application_id":"5","interaction_token":"t","command":{"type":"library"}}"#;
        let msg = BusMessage::from_wire(body).unwrap();
        assert_eq!(msg.command, VoiceCommand::Library { query: None, page: 1 });
        assert_eq!(msg.command.label(), "library");
    }

    #[test]
    fn a_playlist_command_with_an_invalid_name_is_malformed() {
        let body = r#"{"v":1,"guild_id":"1","channel_id":"2","user_id":"3","interaction_id":"4",
            "application_id":"5","interaction_token":"t","command":{"type":"play_playlist","name":"  "}}"#;
        assert_eq!(BusMessage::from_wire(body).unwrap_err().kind(), crate::BusErrorKind::Malformed);
        let ok = body.replace(r#""name":"  ""#, r#""name":"Chill""#);
        let msg = BusMessage::from_wire(&ok).unwrap();
        assert_eq!(
            msg.command,
            VoiceCommand::PlayPlaylist { name: PlaylistName::parse("Chill").unwrap(), placement: Placement::End }
        );
        assert_eq!(msg.command.label(), "play_playlist");
    }

    #[test]
    fn malformed_wire_body_is_a_malformed_error() {
        let err = BusMessage::from_wire("{\"v\":1}").unwrap_err();
        assert_eq!(err.kind(), crate::BusErrorKind::Malformed);
    }
}
