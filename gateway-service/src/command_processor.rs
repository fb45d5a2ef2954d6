//! What the gateway service does with one command from the bus.

use std::sync::Arc;

use timmybot_core::{BusMessage, DiscordReplies, VoiceCommand};
use timmybot_voice::{GuildPlayers, PlayOutcome, StopOutcome};
use tracing::{info, warn};

use crate::VoiceStateCache;

/// How long a command waits for its guild's GUILD_CREATE after a (re)connect.
const GUILD_ARRIVAL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How often an edit is tried while Discord does not know the interaction yet.
const REPLY_ATTEMPTS: u32 = 5;
/// Base delay between those tries (grows linearly: 0.2 s, 0.4 s, …).
const REPLY_RETRY_DELAY: std::time::Duration = std::time::Duration::from_millis(200);

/// Runs bus commands against the players and answers the member.
#[derive(Clone)]
pub struct CommandProcessor {
    players: GuildPlayers,
    voice_states: VoiceStateCache,
    replies: Arc<dyn DiscordReplies>,
}

impl CommandProcessor {
    /// A processor playing through `players`, finding members in
    /// `voice_states` and answering through `replies`.
    pub fn new(players: GuildPlayers, voice_states: VoiceStateCache, replies: Arc<dyn DiscordReplies>) -> Self {
        Self { players, voice_states, replies }
    }

    /// Runs `message` and edits its deferred reply with the outcome.
    pub async fn process(&self, message: &BusMessage) {
        let content = self.run(message).await;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.replies.edit_original(message.application_id, &message.interaction_token, &content).await {
                Ok(()) => return,
                Err(e) if e.unknown_interaction && attempt < REPLY_ATTEMPTS => {
                    tokio::time::sleep(REPLY_RETRY_DELAY * attempt).await;
                }
                Err(e) => {
                    // The command took effect; only the reply was lost.
                    warn!(guild_id = %message.guild_id, interaction_id = %message.interaction_id, error = %e, "editing the reply failed");
                    return;
                }
            }
        }
    }

    async fn run(&self, message: &BusMessage) -> String {
        let guild = message.guild_id;
        match &message.command {
            VoiceCommand::Play { query } => {
                self.voice_states.wait_for_guild(guild, GUILD_ARRIVAL_WAIT).await;
                let Some(channel) = self.voice_states.channel_of(guild, message.user_id) else {
                    return "Join a voice channel first, then use /play again.".to_owned();
                };
                match self.players.play(guild, channel, message.user_id, query).await {
                    Ok(PlayOutcome::NowPlaying { title }) => format!("Now playing {title}"),
                    Ok(PlayOutcome::Queued { title, position }) => format!("Queued {title} (#{position} in the queue)"),
                    Err(e) => {
                        info!(guild_id = %guild, interaction_id = %message.interaction_id, error = %e, "play refused");
                        e.user_message()
                    }
                }
            }
            VoiceCommand::Stop => match self.players.stop(guild).await {
                Ok(StopOutcome::Stopped) => "Stopped and left the voice channel.".to_owned(),
                Ok(StopOutcome::NothingPlaying) => "Nothing is playing.".to_owned(),
                Err(e) => {
                    warn!(guild_id = %guild, error = %e, "stop failed");
                    e.user_message()
                }
            },
            _ => "That command is not supported by this player yet.".to_owned(),
        }
    }
}
