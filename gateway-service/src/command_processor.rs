//! What the gateway service does with one command from the bus.

use std::sync::Arc;

use timmybot_core::{BusMessage, DiscordReplies, VoiceCommand};
use timmybot_voice::{GuildPlayers, PlayError, PlayOutcome, StopOutcome};
use tracing::{info, warn};

use crate::VoiceStateCache;
use crate::metrics::CommandCounters;

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
    counters: CommandCounters,
}

impl CommandProcessor {
    /// A processor playing through `players`, finding members in
    /// `voice_states` and answering through `replies`.
    pub fn new(players: GuildPlayers, voice_states: VoiceStateCache, replies: Arc<dyn DiscordReplies>) -> Self {
        Self { players, voice_states, replies, counters: CommandCounters::new() }
    }

    /// The commands run and failed so far, for the metrics; clones share them.
    pub fn counters(&self) -> CommandCounters {
        self.counters.clone()
    }

    /// Runs `message` and edits its deferred reply with the outcome.
    ///
    /// Counts the command in [`Self::counters`], as failed when it failed on
    /// our side (joining the channel, the queue store) or its reply could not
    /// be edited; a member's mistake (no channel, a bad link, a full queue)
    /// is not a failure.
    pub async fn process(&self, message: &BusMessage) {
        let (content, failed) = self.run(message).await;
        let replied = self.reply(message, &content).await;
        self.counters.record(failed || !replied);
    }

    /// Edits the deferred reply; false when it could not be.
    async fn reply(&self, message: &BusMessage, content: &str) -> bool {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.replies.edit_original(message.application_id, &message.interaction_token, content).await {
                Ok(()) => return true,
                Err(e) if e.unknown_interaction && attempt < REPLY_ATTEMPTS => {
                    tokio::time::sleep(REPLY_RETRY_DELAY * attempt).await;
                }
                Err(e) => {
                    // The command took effect; only the reply was lost.
                    warn!(guild_id = %message.guild_id, interaction_id = %message.interaction_id, error = %e, "editing the reply failed");
                    return false;
                }
            }
        }
    }

    /// The reply text, and whether the command failed on our side.
    async fn run(&self, message: &BusMessage) -> (String, bool) {
        let guild = message.guild_id;
        match &message.command {
            VoiceCommand::Play { query } => {
                self.voice_states.wait_for_guild(guild, GUILD_ARRIVAL_WAIT).await;
                let Some(channel) = self.voice_states.channel_of(guild, message.user_id) else {
                    return ("Join a voice channel first, then use /play again.".to_owned(), false);
                };
                match self.players.play(guild, channel, message.user_id, query).await {
                    Ok(PlayOutcome::NowPlaying { title }) => (format!("Now playing {title}"), false),
                    Ok(PlayOutcome::Queued { title, position }) => {
                        (format!("Queued {title} (#{position} in the queue)"), false)
                    }
                    Err(e) => {
                        info!(guild_id = %guild, interaction_id = %message.interaction_id, error = %e, "play refused");
                        (e.user_message(), is_our_failure(&e))
                    }
                }
            }
            VoiceCommand::Stop => match self.players.stop(guild).await {
                Ok(StopOutcome::Stopped) => ("Stopped and left the voice channel.".to_owned(), false),
                Ok(StopOutcome::NothingPlaying) => ("Nothing is playing.".to_owned(), false),
                Err(e) => {
                    warn!(guild_id = %guild, error = %e, "stop failed");
                    (e.user_message(), true)
                }
            },
            _ => ("That command is not supported by this player yet.".to_owned(), false),
        }
    }
}

/// Whether a refused `/play` is our failure rather than the member's:
/// joining the channel or the queue store failed.
fn is_our_failure(error: &PlayError) -> bool {
    matches!(error, PlayError::Join(_) | PlayError::Store(_))
}
