//! The interactions handler: verifies, parses and dispatches interactions.
//!
//! Voice commands are not run here: they are validated, put on the command
//! bus for the gateway service (which owns voice) and answered with a
//! deferred reply that the gateway service edits once it has acted.

use std::error::Error as StdError;
use std::sync::Arc;

use http::HeaderMap;
use timmybot_allowlist::{Access, AccessRequest, Allowlist, AllowlistMode, ButtonOutcome, messages};
use timmybot_core::{ApplicationId, BusMessage, Clock, CommandBus};
use tracing::Instrument;
use tracing::field::{Empty, display};

use crate::commands::{self, ADMINISTRATOR, HELP, MANAGE_GUILD, PLAY, REQUEST_ACCESS, STOP};
use crate::model::{Interaction, InteractionType, check_body_size};
use crate::verify::{PublicKey, verify_request};
use crate::{CommandError, HttpReply, InteractionResponse, RequestError};

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
        Self { bus, clock, key, application_id, allowlist: None }
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
            other => Err(CommandError::UnsupportedInteraction(other.into())),
        }
    }

    async fn run_command(&self, interaction: &Interaction) -> Result<InteractionResponse, CommandError> {
        if interaction.application_id != self.application_id {
            return Err(CommandError::WrongApplication);
        }
        let data = interaction.data.as_ref().ok_or(CommandError::MissingData)?;
        let name = data.name.as_deref().ok_or(CommandError::MissingData)?;
        if name == HELP {
            return Ok(InteractionResponse::ephemeral(commands::help_text()));
        }
        if name == REQUEST_ACCESS {
            return self.request_access(interaction, data).await;
        }
        if name != PLAY && name != STOP {
            return Err(CommandError::UnknownCommand(name.to_owned()));
        }
        // Where before what: a DM gets "servers only", not a query complaint.
        let guild_id = interaction.guild_id.ok_or(CommandError::NotInGuild)?;
        let user_id = interaction.invoker().ok_or(CommandError::UnknownUser)?;
        self.check_access(guild_id).await?;
        let command =
            commands::voice_command(name, data)?.ok_or_else(|| CommandError::UnknownCommand(name.to_owned()))?;

        let message = BusMessage {
            guild_id,
            channel_id: interaction.channel(),
            user_id,
            interaction_id: interaction.id,
            application_id: self.application_id,
            interaction_token: interaction.token.clone(),
            command,
        };
        self.bus.publish(&message).await.map_err(CommandError::BusUnavailable)?;
        tracing::info!(user_id = %user_id, "voice command published");
        Ok(InteractionResponse::DeferredMessage)
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
        let Some(allowlist) = self.allowlist.as_ref().filter(|_| messages::is_allowlist_button(custom_id)) else {
            return Err(CommandError::UnknownComponent);
        };
        Ok(match allowlist.press_button(custom_id, user_id).await {
            ButtonOutcome::UpdateNotice(notice) => {
                InteractionResponse::UpdateMessage { content: notice.content, buttons: notice.buttons }
            }
            ButtonOutcome::Refused(text) => InteractionResponse::ephemeral(text),
        })
    }
}

/// The route label for logs: a fixed set, so log queries can group by it.
fn route(interaction: &Interaction) -> &'static str {
    match interaction.kind {
        InteractionType::Ping => "ping",
        InteractionType::ApplicationCommand => match interaction.data.as_ref().and_then(|d| d.name.as_deref()) {
            Some(PLAY) => "/play",
            Some(STOP) => "/stop",
            Some(HELP) => "/help",
            Some(REQUEST_ACCESS) => "/request-access",
            _ => "unknown_command",
        },
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
fn error_chain(error: &dyn StdError) -> String {
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
