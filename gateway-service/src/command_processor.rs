//! What the gateway service does with one command from the bus: find where
//! the member and the bot are, turn the command into the queue engine's,
//! run it in the guild's player, and edit the member's (ephemeral) reply.

use std::sync::Arc;

use timmybot_core::player::MAX_QUEUE_LEN;
use timmybot_core::player::{Caller, Command, NewTrack, PlayerError, messages};
use timmybot_core::{
    BusMessage, ChannelId, DiscordReplies, GuildSettings, OutgoingMessage, PlaylistStore, SettingsStore, UserId,
    VoiceCommand, escape_markdown,
};
use timmybot_voice::{GuildPlayers, PlayError, PlayerRequest, ResolveNotes};
use tracing::{info, warn};

use crate::VoiceStateCache;
use crate::consumer::{CommandHandler, Effect};
use crate::metrics::CommandCounters;
use crate::playlist_import::PlaylistImporter;

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
    settings: Arc<dyn SettingsStore>,
    playlists: Option<Arc<dyn PlaylistStore>>,
    importer: Option<PlaylistImporter>,
    bot_user: UserId,
    counters: CommandCounters,
}

impl CommandProcessor {
    /// A processor playing through `players`, finding members (and the bot,
    /// `bot_user`) in `voice_states`, reading guild settings from
    /// `settings` and answering through `replies`.
    pub fn new(
        players: GuildPlayers,
        voice_states: VoiceStateCache,
        replies: Arc<dyn DiscordReplies>,
        settings: Arc<dyn SettingsStore>,
        bot_user: UserId,
    ) -> Self {
        Self {
            players,
            voice_states,
            replies,
            settings,
            playlists: None,
            importer: None,
            bot_user,
            counters: CommandCounters::new(),
        }
    }

    /// Imports uploaded playlist files (`/playlist import`) with
    /// `importer`; without it they are refused as unavailable.
    #[must_use]
    pub fn with_importer(mut self, importer: PlaylistImporter) -> Self {
        self.importer = Some(importer);
        self
    }

    /// Plays members' own playlists (`/playlist load`, `/play playlist:`)
    /// from `playlists`; without it they are refused as unavailable.
    #[must_use]
    pub fn with_playlists(mut self, playlists: Arc<dyn PlaylistStore>) -> Self {
        self.playlists = Some(playlists);
        self
    }

    /// The commands run and failed so far, for the metrics; clones share them.
    pub fn counters(&self) -> CommandCounters {
        self.counters.clone()
    }

    /// Runs `message` and edits its deferred reply with the outcome; tells
    /// `effect` once the player accepted the command (before the reply).
    ///
    /// Counts the command in [`Self::counters`], as failed when it failed on
    /// our side (joining the channel, the store) or its reply could not be
    /// edited; a member's mistake (no channel, a bad link, a full queue) is
    /// not a failure.
    pub async fn process(&self, message: &BusMessage, effect: &Effect) {
        if let VoiceCommand::Library { query, page } = &message.command {
            let replied = self.reply(message, &self.library_page(query.as_deref(), *page)).await;
            self.counters.record(!replied);
            return;
        }
        if let VoiceCommand::ImportPlaylist { url, filename, name } = &message.command {
            let (text, failed) = match &self.importer {
                Some(importer) => importer.import(message.user_id, url, filename, name.as_ref()).await,
                None => (PlayError::Unavailable.user_message(None), true),
            };
            let replied = self.reply(message, &OutgoingMessage::text(text)).await;
            self.counters.record(failed || !replied);
            return;
        }
        let (content, failed) = match self.load_settings(message).await {
            Ok(settings) => match self.run(message, &settings, effect).await {
                Ok((outcome, notes)) => {
                    let mut text = messages::outcome(&outcome);
                    if let VoiceCommand::PlayPlaylist { name, .. } = &message.command {
                        text = format!("Your playlist **{}**: {text}", escape_markdown(name.as_str()));
                    }
                    if let Some(note) = notes.message() {
                        text.push('\n');
                        text.push_str(&note);
                    }
                    (text, false)
                }
                Err(e) => {
                    info!(guild_id = %message.guild_id, command = message.command.label(), error = %e, "command refused");
                    (e.user_message(settings.dj_role), e.is_internal())
                }
            },
            Err(e) => (e.user_message(None), true),
        };
        let replied = self.reply(message, &OutgoingMessage::text(content)).await;
        self.counters.record(failed || !replied);
    }

    /// `/library`: a page of the media folder's files (from the index as it
    /// is now: a scan never holds the reply up), or why there is none.
    fn library_page(&self, query: Option<&str>, page: usize) -> OutgoingMessage {
        match self.players.resolver().library() {
            Some(library) => library.page(query, page).message(),
            None => OutgoingMessage::text(timmybot_voice::FILES_DISABLED_MESSAGE),
        }
    }

    async fn load_settings(&self, message: &BusMessage) -> Result<GuildSettings, PlayError> {
        let guild = message.guild_id;
        match self.settings.load_settings(guild).await {
            Ok(settings) => Ok(settings.unwrap_or_else(|| GuildSettings::defaults(guild))),
            Err(e) => {
                warn!(guild_id = %guild, error = %e, "reading the guild's settings failed");
                Err(PlayError::Store(e))
            }
        }
    }

    /// Edits the deferred reply; false when it could not be.
    async fn reply(&self, message: &BusMessage, content: &OutgoingMessage) -> bool {
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

    /// Runs the command in the guild's player.
    async fn run(
        &self,
        message: &BusMessage,
        settings: &GuildSettings,
        effect: &Effect,
    ) -> Result<(timmybot_core::player::Outcome, ResolveNotes), PlayError> {
        let guild = message.guild_id;
        let user = message.user_id;
        self.voice_states.wait_for_guild(guild, GUILD_ARRIVAL_WAIT).await;
        let member_channel = self.voice_states.channel_of(guild, user);
        let bot_channel = self.voice_states.channel_of(guild, self.bot_user);
        let listeners = bot_channel.map(|c| self.voice_states.listeners(guild, c, self.bot_user)).unwrap_or_default();
        // Alone with the bot, a member may do anything: nobody to overrule.
        let alone = listeners.len() == 1 && listeners[0] == user;
        let caller = Caller {
            user,
            dj: alone || settings.is_dj(&message.member_roles, message.member_permissions),
            voice_channel: member_channel,
            text_channel: message.channel_id,
        };
        let mut prepared = None;
        let mut notes = ResolveNotes::default();
        let command = match &message.command {
            VoiceCommand::Play { query, placement } => {
                // Refuse where-you-are mistakes before opening anything.
                check_channels(bot_channel, member_channel)?;
                let mut resolved = self.players.resolver().resolve(query).await?;
                let first = NewTrack {
                    source: resolved.source.clone(),
                    title: resolved.title.clone(),
                    duration_ms: resolved.duration.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                    requested_by: user,
                };
                // A playlist's other entries are opened when they play.
                let more = std::mem::take(&mut resolved.more).into_iter().filter_map(|meta| {
                    let title = meta.display_title();
                    meta.locator.map(|source| NewTrack {
                        source,
                        title,
                        duration_ms: meta.duration_ms,
                        requested_by: user,
                    })
                });
                let tracks = std::iter::once(first).chain(more).collect();
                notes = std::mem::take(&mut resolved.notes);
                prepared = Some(resolved);
                Command::Enqueue { tracks, placement: *placement }
            }
            VoiceCommand::PlayPlaylist { name, placement } => {
                let store = self.playlists.as_ref().ok_or(PlayError::Unavailable)?;
                // The sender's own playlist: the name is all the bus carries.
                // A name they do not have is said before where they are.
                let playlist = store
                    .load_playlist(user, name)
                    .await?
                    .ok_or_else(|| PlayError::NoSuchPlaylist { name: name.to_string() })?;
                check_channels(bot_channel, member_channel)?;
                let opened = self.players.resolver().open_playlist(&playlist, user, MAX_QUEUE_LEN).await?;
                notes = opened.notes;
                prepared = Some(opened.first);
                Command::Enqueue { tracks: opened.tracks, placement: *placement }
            }
            VoiceCommand::Pause => Command::Pause,
            VoiceCommand::Resume => Command::Resume,
            VoiceCommand::TogglePause => Command::TogglePause,
            VoiceCommand::Skip => Command::Skip,
            VoiceCommand::SkipTo { position } => Command::SkipTo { position: *position },
            VoiceCommand::Previous => Command::Previous,
            VoiceCommand::Stop => Command::Stop,
            VoiceCommand::Leave => Command::Leave,
            VoiceCommand::Remove { position } => Command::Remove { position: *position },
            VoiceCommand::Move { from, to } => Command::Move { from: *from, to: *to },
            VoiceCommand::Swap { first, second } => Command::Swap { first: *first, second: *second },
            VoiceCommand::Shuffle => Command::Shuffle { seed: self.players.shuffle_seed() },
            VoiceCommand::Clear => Command::Clear,
            VoiceCommand::Loop { mode } => Command::SetLoop(*mode),
            VoiceCommand::CycleLoop => Command::CycleLoop,
            VoiceCommand::Seek { target } => Command::Seek(*target),
            VoiceCommand::Volume { percent } => Command::SetVolume(*percent),
            VoiceCommand::VoteSkip => Command::VoteSkip { listeners },
            VoiceCommand::Requeue { track } => Command::Requeue { track: *track },
            _ => return Err(PlayError::Unavailable),
        };
        let request = PlayerRequest { command, caller, settings: settings.clone(), prepared };
        let outcome = self.players.command(guild, request).await?;
        // The player accepted it (and saved it): from here a redelivery
        // must not run it again, whatever becomes of the reply.
        effect.took_effect().await;
        Ok((outcome, notes))
    }
}

/// Refuses queueing from outside a voice channel, or from another channel
/// than the bot's.
fn check_channels(bot_channel: Option<ChannelId>, member_channel: Option<ChannelId>) -> Result<(), PlayError> {
    match (bot_channel, member_channel) {
        (_, None) => Err(PlayerError::NotInVoice.into()),
        (Some(bot), Some(member)) if bot != member => Err(PlayerError::NotInBotChannel { bot_channel: bot }.into()),
        _ => Ok(()),
    }
}

#[async_trait::async_trait]
impl CommandHandler for CommandProcessor {
    async fn handle(&self, message: &BusMessage, effect: &Effect) {
        self.process(message, effect).await;
    }
}
