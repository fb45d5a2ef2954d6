//! The interactions handler: verifies, parses and dispatches interactions.
//!
//! Voice commands are not run here: they are validated, put on the command
//! bus for the gateway service (which owns voice) and answered with a
//! deferred reply that the gateway service edits once it has acted.

use std::error::Error as StdError;
use std::sync::Arc;

use http::HeaderMap;
use timmybot_allowlist::{Access, AccessRequest, Allowlist, AllowlistMode, ButtonOutcome, messages};
use timmybot_core::player::{PlayerState, messages as player_messages};
use timmybot_core::{
    ApplicationId, BusMessage, Clock, CommandBus, CommandOrigin, GuildId, GuildSettings, PlayerStore, PlaylistStore,
    SettingsStore, StoreErrorKind, UserId, VoiceCommand,
};
use timmybot_sources::{SourceSearch, TrackMeta};
use tracing::Instrument;
use tracing::field::{Empty, display};

use crate::commands::{
    self, ADMINISTRATOR, HELP, HISTORY, Handling, LINK, LINKS, MANAGE_GUILD, MY_PLAYLISTS, NOW_PLAYING, PLAYLIST,
    PlaylistAction, QUEUE, REQUEST_ACCESS, SEARCH, SETTINGS, UNLINK,
};
use crate::model::{Interaction, InteractionData, InteractionType, check_body_size};
use crate::scale_to_zero::{ScaleToZero, Waiting};
use crate::verify::{PublicKey, verify_request};
use crate::{CommandError, HttpReply, InteractionResponse, RequestError};
use crate::{link_command, playlist_command, settings_command};

/// Handles Discord interactions, from HTTP or from the gateway.
///
/// Cheap to share: build it once at startup and pass `&handler` to each
/// request.
pub struct InteractionHandler {
    bus: Arc<dyn CommandBus>,
    clock: Arc<dyn Clock>,
    key: PublicKey,
    application_id: ApplicationId,
    allowlist: Option<Arc<Allowlist>>,
    players: Option<Arc<dyn PlayerStore>>,
    settings: Option<Arc<dyn SettingsStore>>,
    playlists: Option<Arc<dyn PlaylistStore>>,
    links: Option<Arc<timmybot_linking::AccountLinks>>,
    search: Option<SourceSearch>,
    scale_to_zero: Option<ScaleToZero>,
}

impl std::fmt::Debug for InteractionHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InteractionHandler")
            .field("key", &self.key)
            .field("application_id", &self.application_id)
            .finish_non_exhaustive()
    }
}

impl InteractionHandler {
    /// A handler that publishes voice commands on `bus`, checks signature
    /// timestamps against `clock` and signatures against `key`, and accepts
    /// commands only for `application_id`.
    pub fn new(bus: Arc<dyn CommandBus>, clock: Arc<dyn Clock>, key: PublicKey, application_id: ApplicationId) -> Self {
        Self {
            bus,
            clock,
            key,
            application_id,
            allowlist: None,
            players: None,
            settings: None,
            playlists: None,
            links: None,
            search: None,
            scale_to_zero: None,
        }
    }

    /// Starts the gateway service when a voice command arrives while its
    /// heartbeat is missing or stale: the command goes on the bus first,
    /// then the one command that claims the starting marker asks for the
    /// service to run and sets the start check, and the member is told the
    /// player is starting ([`crate::scale_to_zero`]). Without it (`timmybot
    /// serve`, a gateway always up) a command is only published.
    #[must_use]
    pub fn with_scale_to_zero(mut self, scale: ScaleToZero) -> Self {
        self.scale_to_zero = Some(scale);
        self
    }

    /// Suggests tracks and stations as members type in `/play` and
    /// `/radio`, and serves `/search`, with `search`.
    #[must_use]
    pub fn with_search(mut self, search: SourceSearch) -> Self {
        self.search = Some(search);
        self
    }

    /// Answers `/queue`, `/nowplaying`, `/history`, the queue's page buttons
    /// and position autocomplete from `players`, without a bus round trip.
    #[must_use]
    pub fn with_player_store(mut self, players: Arc<dyn PlayerStore>) -> Self {
        self.players = Some(players);
        self
    }

    /// Serves members' playlists from `playlists`: `/playlist save|show|
    /// delete|list`, `/myplaylists` and the autocomplete of playlist names.
    /// (Playing one goes over the bus whatever is wired here.)
    #[must_use]
    pub fn with_playlist_store(mut self, playlists: Arc<dyn PlaylistStore>) -> Self {
        self.playlists = Some(playlists);
        self
    }

    /// Serves `/link`, `/links` and `/unlink` through `links`. Without it
    /// they answer that linking is not set up.
    #[must_use]
    pub fn with_links(mut self, links: Arc<timmybot_linking::AccountLinks>) -> Self {
        self.links = Some(links);
        self
    }

    /// Serves `/settings` from `settings`.
    #[must_use]
    pub fn with_settings_store(mut self, settings: Arc<dyn SettingsStore>) -> Self {
        self.settings = Some(settings);
        self
    }

    /// Gates commands on `allowlist` and serves `/request-access` and the
    /// maintainers' buttons. Without it every guild may play (a private
    /// bot) and `/request-access` says no request is needed.
    #[must_use]
    pub fn with_allowlist(mut self, allowlist: Arc<Allowlist>) -> Self {
        self.allowlist = Some(allowlist);
        self
    }

    /// Handles an interaction POSTed by Discord: size check, signature
    /// check, parse, then [`Self::handle_interaction`].
    ///
    /// `body` must be the exact bytes received: the signature covers them.
    /// Never fails; a refused request becomes a 413, 401 or 400 reply.
    pub async fn handle_http(&self, headers: &HeaderMap, body: &[u8]) -> HttpReply {
        match self.accept(headers, body) {
            Ok(interaction) => {
                let route = route(&interaction);
                match self.answer(interaction).await {
                    (response, false) => HttpReply::ok(&response).with_route(route),
                    (response, true) => HttpReply::failed(&response).with_route(route),
                }
            }
            Err(error) => {
                log_refused(&error, body.len());
                HttpReply::from_error(&error)
            }
        }
    }

    /// Turns a request into a trusted interaction, in the order that costs
    /// an attacker's request the least: size, then signature, then parsing.
    fn accept(&self, headers: &HeaderMap, body: &[u8]) -> Result<Interaction, RequestError> {
        check_body_size(body)?;
        verify_request(&self.key, headers, body, self.clock.now_unix())?;
        Interaction::from_body(body)
    }

    /// Answers an interaction that is already trusted (verified over HTTP,
    /// or received on the gateway's INTERACTION_CREATE).
    pub async fn handle_interaction(&self, interaction: Interaction) -> InteractionResponse {
        self.answer(interaction).await.0
    }

    /// The response, and whether the command failed on our side.
    async fn answer(&self, interaction: Interaction) -> (InteractionResponse, bool) {
        let span = tracing::info_span!(
            "interaction",
            interaction_id = %interaction.id,
            guild_id = Empty,
            route = route(&interaction),
        );
        if let Some(guild) = interaction.guild_id {
            span.record("guild_id", display(guild));
        }
        async move {
            match self.dispatch(&interaction).await {
                Ok(response) => (response, false),
                Err(error) => {
                    log_command_error(&error);
                    (InteractionResponse::ephemeral(error.user_message()), error.is_internal())
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn dispatch(&self, interaction: &Interaction) -> Result<InteractionResponse, CommandError> {
        match interaction.kind {
            InteractionType::Ping => Ok(InteractionResponse::Pong),
            InteractionType::ApplicationCommand => self.run_command(interaction).await,
            InteractionType::MessageComponent => self.press_component(interaction).await,
            InteractionType::ApplicationCommandAutocomplete => self.autocomplete(interaction).await,
            other => Err(CommandError::UnsupportedInteraction(other.into())),
        }
    }

    async fn run_command(&self, interaction: &Interaction) -> Result<InteractionResponse, CommandError> {
        if interaction.application_id != self.application_id {
            return Err(CommandError::WrongApplication);
        }
        let data = interaction.data.as_ref().ok_or(CommandError::MissingData)?;
        let name = data.name.as_deref().ok_or(CommandError::MissingData)?;
        let def = commands::find(name).ok_or_else(|| CommandError::UnknownCommand(name.to_owned()))?;
        match name {
            HELP => return Ok(InteractionResponse::ephemeral(commands::help_text())),
            REQUEST_ACCESS => return self.request_access(interaction, data).await,
            _ => {}
        }
        // Where before what: a DM gets "servers only", not an option complaint.
        let guild_id = interaction.guild_id.ok_or(CommandError::NotInGuild)?;
        interaction.invoker().ok_or(CommandError::UnknownUser)?;
        self.check_access(guild_id).await?;
        match def.handling {
            Handling::Player => {
                let command = commands::voice_command(name, data)?
                    .ok_or_else(|| CommandError::UnknownCommand(name.to_owned()))?;
                self.publish(interaction, guild_id, command, CommandOrigin::SlashCommand).await
            }
            Handling::View => self.view(name, data, guild_id).await,
            Handling::Direct if name == SETTINGS => self.settings_command(interaction, data, guild_id).await,
            Handling::Direct if name == SEARCH => self.search_command(data).await,
            Handling::Direct if name == PLAYLIST || name == MY_PLAYLISTS => {
                self.playlist_command(interaction, name, data, guild_id).await
            }
            Handling::Direct if name == LINK || name == LINKS || name == UNLINK => {
                let user = interaction.invoker().ok_or(CommandError::UnknownUser)?;
                let action = commands::link_action(name, data)?;
                let links = self.links.as_deref().ok_or(CommandError::LinkingUnavailable)?;
                Ok(link_command::answer(links, user, action).await)
            }
            Handling::Direct => Err(CommandError::UnknownCommand(name.to_owned())),
        }
    }

    /// Puts a player command on the bus and defers the reply, ephemerally:
    /// the gateway service edits it with the outcome (or the refusal), which
    /// only the member sees; what everyone sees is the controller.
    async fn publish(
        &self,
        interaction: &Interaction,
        guild_id: GuildId,
        command: VoiceCommand,
        origin: CommandOrigin,
    ) -> Result<InteractionResponse, CommandError> {
        let user_id = interaction.invoker().ok_or(CommandError::UnknownUser)?;
        let member = interaction.member.as_ref();
        let label = command.label();
        let message = BusMessage {
            guild_id,
            channel_id: interaction.channel(),
            user_id,
            interaction_id: interaction.id,
            application_id: self.application_id,
            interaction_token: interaction.token.clone(),
            command,
            origin,
            member_roles: member.map(|m| m.roles.clone()).unwrap_or_default(),
            member_permissions: member.and_then(crate::model::Member::permission_bits).unwrap_or(0),
        };
        self.bus.publish(&message).await.map_err(CommandError::BusUnavailable)?;
        tracing::info!(user_id = %user_id, command = label, "voice command published");
        if let Some(scale) = &self.scale_to_zero {
            let waiting =
                Waiting { interaction: interaction.id, application: self.application_id, token: &interaction.token };
            if let Some(answer) = scale.start_if_stopped(self.clock.now_unix_millis(), waiting).await {
                return Ok(answer);
            }
        }
        Ok(InteractionResponse::DeferredMessage { ephemeral: true })
    }

    /// The guild's stored player (an empty one when it has none).
    async fn player(&self, guild: GuildId) -> Result<PlayerState, CommandError> {
        let store = self.players.as_ref().ok_or(CommandError::ViewsUnavailable)?;
        let stored = store.load(guild).await.map_err(CommandError::Store)?;
        Ok(stored.unwrap_or_else(|| PlayerState::new(guild, 100)))
    }

    /// `/queue`, `/nowplaying`, `/history`: read from the store, answered
    /// at once, for everyone in the channel.
    async fn view(
        &self,
        name: &str,
        data: &InteractionData,
        guild: GuildId,
    ) -> Result<InteractionResponse, CommandError> {
        let state = self.player(guild).await?;
        let now = self.clock.now_unix_millis();
        let message = match name {
            QUEUE => {
                let page = commands::optional_integer(data, "page")?.unwrap_or(1).clamp(1, 100) as usize;
                player_messages::queue_page(&state, page - 1, now)
            }
            NOW_PLAYING => timmybot_core::OutgoingMessage::text(player_messages::now_playing(&state, now)),
            HISTORY => player_messages::history(&state),
            other => return Err(CommandError::UnknownCommand(other.to_owned())),
        };
        Ok(InteractionResponse::public(message))
    }

    /// `/settings`: shows the guild's settings, or changes the options given
    /// (Manage Server only, checked here whatever the client allowed).
    async fn settings_command(
        &self,
        interaction: &Interaction,
        data: &InteractionData,
        guild: GuildId,
    ) -> Result<InteractionResponse, CommandError> {
        let bits = interaction.member.as_ref().and_then(crate::model::Member::permission_bits).unwrap_or(0);
        if bits & (MANAGE_GUILD | ADMINISTRATOR) == 0 {
            return Err(CommandError::MissingPermission("Manage Server"));
        }
        let store = self.settings.as_ref().ok_or(CommandError::ViewsUnavailable)?;
        let change = settings_command::change(data)?;
        // A maintainer editing at the same moment loses no change: re-read
        // and re-apply once on a conflict.
        for attempt in 0..2 {
            let mut settings = store
                .load_settings(guild)
                .await
                .map_err(CommandError::Store)?
                .unwrap_or_else(|| GuildSettings::defaults(guild));
            if change.is_empty() {
                return Ok(InteractionResponse::ephemeral(settings_command::describe(&settings)));
            }
            settings.apply(&change)?;
            match store.save_settings(&settings).await {
                Ok(_) => {
                    tracing::info!("guild settings changed");
                    return Ok(InteractionResponse::ephemeral(format!(
                        "Settings saved.\n{}",
                        settings_command::describe(&settings)
                    )));
                }
                Err(e) if e.kind() == StoreErrorKind::Conflict && attempt == 0 => {}
                Err(e) => return Err(CommandError::Store(e)),
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// `/playlist …`, `/myplaylists`: loading goes over the bus as any
    /// player command; the rest is answered from the stores, ephemerally.
    async fn playlist_command(
        &self,
        interaction: &Interaction,
        name: &str,
        data: &InteractionData,
        guild: GuildId,
    ) -> Result<InteractionResponse, CommandError> {
        let owner = interaction.invoker().ok_or(CommandError::UnknownUser)?;
        let action = commands::playlist_action(name, data)?;
        if let PlaylistAction::Load(command) | PlaylistAction::Import(command) = action {
            return self.publish(interaction, guild, command, CommandOrigin::SlashCommand).await;
        }
        let store = self.playlists.as_deref().ok_or(CommandError::ViewsUnavailable)?;
        let text = match action {
            PlaylistAction::Save(name) => {
                let state = self.player(guild).await?;
                let saved = playlist_command::save(store, owner, name, &state, self.clock.now_unix_millis()).await?;
                tracing::info!(user_id = %owner, "playlist saved from the queue");
                saved
            }
            PlaylistAction::Show(name) => match store.load_playlist(owner, &name).await.map_err(CommandError::Store)? {
                Some(playlist) => playlist_command::show(&playlist),
                None => playlist_command::missing(&name),
            },
            PlaylistAction::Delete(name) => playlist_command::delete(store, owner, &name).await?,
            PlaylistAction::List => playlist_command::list(&store.playlists(owner).await.map_err(CommandError::Store)?),
            PlaylistAction::Load(_) | PlaylistAction::Import(_) => unreachable!("published above"),
        };
        Ok(InteractionResponse::ephemeral(text))
    }

    /// The member's playlists matching what they typed; none on any failure
    /// (Discord shows no suggestions rather than an error).
    async fn playlist_choices(&self, owner: Option<UserId>, typed: &str) -> Vec<(String, serde_json::Value)> {
        let (Some(store), Some(owner)) = (&self.playlists, owner) else { return Vec::new() };
        match store.playlists(owner).await {
            Ok(mine) => playlist_command::choices(&mine, typed, SUGGESTIONS_MAX)
                .into_iter()
                .map(|name| (name.clone(), serde_json::json!(name)))
                .collect(),
            Err(e) => {
                tracing::info!(error = %e, "no playlist suggestions: the store failed");
                Vec::new()
            }
        }
    }

    /// Suggestions for a queue position: the waiting tracks that match what
    /// the member typed. A guild that may not use the bot gets none.
    async fn autocomplete(&self, interaction: &Interaction) -> Result<InteractionResponse, CommandError> {
        let empty = InteractionResponse::Autocomplete { choices: Vec::new() };
        let Some(guild) = interaction.guild_id else { return Ok(empty) };
        if self.check_access(guild).await.is_err() {
            return Ok(empty);
        }
        let data = interaction.data.as_ref().ok_or(CommandError::MissingData)?;
        let Some(focused) = data.focused() else { return Ok(empty) };
        let typed = match &focused.value {
            Some(crate::model::OptionValue::String(s)) => s.clone(),
            Some(crate::model::OptionValue::Integer(n)) => n.to_string(),
            _ => String::new(),
        };
        let command = data.name.as_deref().unwrap_or_default();
        match focused.name.as_str() {
            commands::PLAYLIST_OPTION | commands::NAME_OPTION
                if command == commands::PLAY || command == commands::PLAYLIST =>
            {
                let choices = self.playlist_choices(interaction.invoker(), &typed).await;
                return Ok(InteractionResponse::Autocomplete { choices });
            }
            commands::QUERY_OPTION | commands::STATION_OPTION => {
                let stations = focused.name == commands::STATION_OPTION;
                return Ok(InteractionResponse::Autocomplete { choices: self.suggest(&typed, stations).await });
            }
            "position" | "from" | "first" | "second" => {}
            _ => return Ok(empty),
        }
        let state = self.player(guild).await?;
        let choices = player_messages::position_choices(&state, &typed)
            .into_iter()
            .map(|(label, position)| (label, serde_json::json!(position)))
            .collect();
        Ok(InteractionResponse::Autocomplete { choices })
    }

    /// The top five matches of what the member typed, as choices whose
    /// values are locators. Links and short input get none (what was typed
    /// is played as it is), and so does a search that failed or ran late:
    /// Discord shows no suggestions rather than an error.
    async fn suggest(&self, typed: &str, stations: bool) -> Vec<(String, serde_json::Value)> {
        let typed = typed.trim();
        let Some(search) = &self.search else { return Vec::new() };
        if typed.chars().count() < 2 || typed.starts_with("http://") || typed.starts_with("https://") {
            return Vec::new();
        }
        let found =
            if stations { search.stations(typed, SUGGESTIONS).await } else { search.tracks(typed, SUGGESTIONS).await };
        match found {
            Ok(found) => found
                .iter()
                .filter_map(|meta| {
                    let value = meta.locator.clone().filter(|l| l.len() <= MAX_CHOICE_CHARS)?;
                    Some((choice_label(meta), serde_json::json!(value)))
                })
                .take(SUGGESTIONS)
                .collect(),
            Err(e) => {
                tracing::info!(error = %e, "no suggestions: the search failed");
                Vec::new()
            }
        }
    }

    /// `/search`: up to ten results, each with a button that queues it.
    async fn search_command(&self, data: &InteractionData) -> Result<InteractionResponse, CommandError> {
        let query = commands::validate_query(&commands::required_string(data, commands::QUERY_OPTION)?)?;
        let Some(search) = &self.search else {
            return Ok(InteractionResponse::ephemeral(
                timmybot_sources::LookupError::Disabled("Search").user_message(),
            ));
        };
        let found = match search.tracks(&query, SEARCH_RESULTS).await {
            Ok(found) => found,
            Err(e) => return Ok(InteractionResponse::ephemeral(e.user_message())),
        };
        let results: Vec<_> = found.iter().filter(|m| m.locator.as_ref().is_some_and(|l| l.len() <= 90)).collect();
        if results.is_empty() {
            return Ok(InteractionResponse::ephemeral(format!(
                "Nothing found for “{}”.",
                timmybot_core::escape_markdown(&query)
            )));
        }
        let mut content =
            format!("Results for “{}” — press a number to queue it:\n", timmybot_core::escape_markdown(&query));
        let mut buttons = Vec::new();
        for (n, meta) in results.iter().enumerate() {
            content.push_str(&format!(
                "`{}` **{}** · {}\n",
                n + 1,
                timmybot_core::escape_markdown(&meta.display_title()),
                meta.duration_ms.map_or_else(|| "live".to_owned(), player_messages::duration)
            ));
            let locator = meta.locator.as_deref().unwrap_or_default();
            buttons.push(timmybot_core::Button {
                custom_id: format!("{SEARCH_PLAY_PREFIX}{locator}"),
                label: (n + 1).to_string(),
                style: timmybot_core::ButtonStyle::Secondary,
            });
        }
        Ok(InteractionResponse::Message { content, ephemeral: true, buttons })
    }

    /// Refuses the command unless the guild may use the bot. A store
    /// failure refuses too: an allowlist that cannot be read fails closed.
    async fn check_access(&self, guild: timmybot_core::GuildId) -> Result<(), CommandError> {
        let Some(allowlist) = &self.allowlist else { return Ok(()) };
        match allowlist.access(guild).await.map_err(CommandError::Allowlist)? {
            Access::Allowed => Ok(()),
            Access::NotApproved(state) => Err(CommandError::NotApproved { state }),
        }
    }

    async fn request_access(
        &self,
        interaction: &Interaction,
        data: &crate::model::InteractionData,
    ) -> Result<InteractionResponse, CommandError> {
        let guild_id = interaction.guild_id.ok_or(CommandError::NotInGuild)?;
        let user_id = interaction.invoker().ok_or(CommandError::UnknownUser)?;
        let Some(allowlist) = self.allowlist.as_ref().filter(|a| a.settings().mode == AllowlistMode::Allowlist) else {
            return Ok(InteractionResponse::ephemeral(
                "This bot is open to every server: no need to ask. Try `/play`!",
            ));
        };
        // Discord hides the command from others by default, but server
        // admins can change who sees it, so check the member's bits too.
        let bits = interaction.member.as_ref().and_then(crate::model::Member::permission_bits).unwrap_or(0);
        if bits & (MANAGE_GUILD | ADMINISTRATOR) == 0 {
            return Err(CommandError::MissingPermission("Manage Server"));
        }
        let request = AccessRequest {
            guild_id,
            guild_name: None,
            member_count: None,
            requested_by: user_id,
            channel_id: interaction.channel(),
            reason: commands::request_reason(data)?,
        };
        allowlist.request_access(request).await.map_err(CommandError::Allowlist)?;
        Ok(InteractionResponse::ephemeral(
            "Request sent to the bot's maintainers. You will get a DM with their decision (or a message in this \
             channel if your DMs are closed).",
        ))
    }

    async fn press_component(&self, interaction: &Interaction) -> Result<InteractionResponse, CommandError> {
        if interaction.application_id != self.application_id {
            return Err(CommandError::WrongApplication);
        }
        let custom_id =
            interaction.data.as_ref().and_then(|d| d.custom_id.as_deref()).ok_or(CommandError::MissingData)?;
        let user_id = interaction.invoker().ok_or(CommandError::UnknownUser)?;
        if messages::is_allowlist_button(custom_id) {
            let allowlist = self.allowlist.as_ref().ok_or(CommandError::UnknownComponent)?;
            return Ok(match allowlist.press_button(custom_id, user_id).await {
                ButtonOutcome::UpdateNotice(notice) => {
                    InteractionResponse::UpdateMessage { content: notice.content, buttons: notice.buttons }
                }
                ButtonOutcome::Refused(text) => InteractionResponse::ephemeral(text),
            });
        }
        let guild = interaction.guild_id.ok_or(CommandError::NotInGuild)?;
        if let Some(page) = player_messages::parse_queue_page(custom_id) {
            self.check_access(guild).await?;
            let state = self.player(guild).await?;
            let message = player_messages::queue_page(&state, page, self.clock.now_unix_millis());
            return Ok(InteractionResponse::UpdateMessage { content: message.content, buttons: message.buttons });
        }
        if let Some((page, query)) = player_messages::parse_library_page(custom_id) {
            self.check_access(guild).await?;
            if query.as_ref().is_some_and(|q| q.chars().count() > commands::MAX_LIBRARY_QUERY_LEN) {
                return Err(CommandError::QueryTooLong { max: commands::MAX_LIBRARY_QUERY_LEN });
            }
            let command = VoiceCommand::Library { query, page };
            // The gateway edits the page the button is on (or, on a cold
            // start, the message saying the player starts).
            return match self.publish(interaction, guild, command, CommandOrigin::Button).await? {
                InteractionResponse::DeferredMessage { .. } => Ok(InteractionResponse::DeferredUpdate),
                starting => Ok(starting),
            };
        }
        if let Some(locator) = custom_id.strip_prefix(SEARCH_PLAY_PREFIX) {
            self.check_access(guild).await?;
            let query = commands::validate_query(locator)?;
            let command = VoiceCommand::Play { query, placement: timmybot_core::player::Placement::End };
            return self.publish(interaction, guild, command, CommandOrigin::Button).await;
        }
        let command = match custom_id {
            player_messages::controls::PAUSE => VoiceCommand::TogglePause,
            player_messages::controls::SKIP => VoiceCommand::Skip,
            player_messages::controls::STOP => VoiceCommand::Stop,
            player_messages::controls::LOOP => VoiceCommand::CycleLoop,
            player_messages::controls::SHUFFLE => VoiceCommand::Shuffle,
            other => match player_messages::parse_requeue(other) {
                Some(track) => VoiceCommand::Requeue { track },
                None => return Err(CommandError::UnknownComponent),
            },
        };
        self.check_access(guild).await?;
        self.publish(interaction, guild, command, CommandOrigin::Button).await
    }
}

/// How many suggestions autocomplete offers.
const SUGGESTIONS: usize = 5;
/// How many of a member's playlists autocomplete offers (Discord's most).
const SUGGESTIONS_MAX: usize = 25;
/// How many results `/search` shows.
const SEARCH_RESULTS: usize = 10;
/// Discord's limit for a choice's name and value, in characters.
const MAX_CHOICE_CHARS: usize = 100;
/// The custom id of a `/search` result's (or a `/library` file's) button,
/// before its locator.
pub const SEARCH_PLAY_PREFIX: &str = player_messages::PLAY_BUTTON_PREFIX;

/// "Artist – Title (3:21)", or "… · live", cut to Discord's 100 characters.
fn choice_label(meta: &TrackMeta) -> String {
    let length = meta.duration_ms.map_or_else(|| "live".to_owned(), player_messages::duration);
    let suffix = format!(" ({length})");
    let room = MAX_CHOICE_CHARS - suffix.chars().count();
    let title = meta.display_title();
    let mut label: String = title.chars().take(room).collect();
    if title.chars().count() > room {
        label.pop();
        label.push('…');
    }
    label.push_str(&suffix);
    label
}

/// The route label for logs: a fixed set, so log queries can group by it.
fn route(interaction: &Interaction) -> &'static str {
    match interaction.kind {
        InteractionType::Ping => "ping",
        InteractionType::ApplicationCommand => interaction
            .data
            .as_ref()
            .and_then(|d| d.name.as_deref())
            .and_then(commands::find)
            .map_or("unknown_command", |c| c.route),
        InteractionType::MessageComponent => "component",
        InteractionType::ApplicationCommandAutocomplete => "autocomplete",
        InteractionType::ModalSubmit => "modal",
        InteractionType::Other(_) => "unknown_type",
    }
}

fn log_refused(error: &RequestError, body_len: usize) {
    match error {
        RequestError::TooLarge { limit } => {
            tracing::warn!(body_len, limit, "interaction refused: body too large");
        }
        RequestError::Unverified(reason) => {
            tracing::warn!(reason = %reason, "interaction refused: not verified");
        }
        // Position and category only: serde's message can quote the input.
        RequestError::Malformed(json) => tracing::warn!(
            category = ?json.classify(),
            line = json.line(),
            column = json.column(),
            "interaction refused: malformed body"
        ),
    }
}

fn log_command_error(error: &CommandError) {
    if error.is_internal() {
        tracing::warn!(error = %error_chain(error), "command failed");
    } else {
        tracing::info!(reason = %error, "command refused");
    }
}

/// `error: cause: cause`, each level's Display (never Debug, which may carry
/// request details).
pub(crate) fn error_chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_core::{BusError, BusErrorKind};

    #[test]
    fn error_chain_joins_each_cause() {
        let error = CommandError::BusUnavailable(BusError::with_source(
            BusErrorKind::Unavailable,
            std::io::Error::other("connection refused"),
        ));
        assert_eq!(error_chain(&error), "command bus publish failed: command bus unavailable: connection refused");
    }

    #[test]
    fn routes_are_a_fixed_set_of_labels() {
        let body = br#"{"type": 2, "id": "1", "application_id": "2", "token": "t", "data": {"name": "whatever"}}"#;
        assert_eq!(route(&Interaction::from_body(body).unwrap()), "unknown_command");
        let body = br#"{"type": 1, "id": "1", "application_id": "2", "token": "t"}"#;
        assert_eq!(route(&Interaction::from_body(body).unwrap()), "ping");
    }
}
