//! The allowlist workflow over its ports: the store for state, Discord and
//! an optional webhook for telling people. Every entry point (slash
//! command, maintainers' button, admin API, CLI through the API) goes
//! through [`Allowlist`], so the rules and the notifications are the same
//! whichever way a decision arrives.

use std::sync::Arc;

use serde_json::json;
use timmybot_core::{
    Actor, AllowlistEvent, AllowlistPage, AllowlistRecord, AllowlistState, AllowlistStore, Clock, DiscordErrorKind,
    DiscordRest, GuildId, MessageRef, SlotEffect, SlotUsage, StoreErrorKind, UserId, Webhook,
};
use tracing::{info, warn};

use crate::messages::{self, ButtonAction};
use crate::rules::{self, AccessRequest, Decision};
use crate::{AllowlistError, AllowlistMode, AllowlistSettings};

/// The most history events a `show` returns.
pub const MAX_HISTORY: usize = 100;

/// Whether a guild may use the bot right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// It may.
    Allowed,
    /// It may not; the state says why (`None`: never asked).
    NotApproved(Option<AllowlistState>),
}

/// What a maintainers' button press comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonOutcome {
    /// Replace the notice the button was on with this (decided, no buttons).
    UpdateNotice(timmybot_core::OutgoingMessage),
    /// Tell only the presser this; nothing changed.
    Refused(String),
}

/// The allowlist workflow. Build once per process; cheap to share.
pub struct Allowlist {
    store: Arc<dyn AllowlistStore>,
    clock: Arc<dyn Clock>,
    settings: AllowlistSettings,
    discord: Option<Arc<dyn DiscordRest>>,
    webhook: Option<Arc<dyn Webhook>>,
}

impl std::fmt::Debug for Allowlist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Allowlist").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Allowlist {
    /// A workflow over `store` that tells nobody (see [`Self::with_discord`]
    /// and [`Self::with_webhook`]).
    pub fn new(store: Arc<dyn AllowlistStore>, clock: Arc<dyn Clock>, settings: AllowlistSettings) -> Self {
        Self { store, clock, settings, discord: None, webhook: None }
    }

    /// Announces requests in the maintainers' channel and tells requesters
    /// the decision, through `discord`.
    #[must_use]
    pub fn with_discord(mut self, discord: Arc<dyn DiscordRest>) -> Self {
        self.discord = Some(discord);
        self
    }

    /// Also POSTs each request and decision to an operator's webhook.
    #[must_use]
    pub fn with_webhook(mut self, webhook: Arc<dyn Webhook>) -> Self {
        self.webhook = Some(webhook);
        self
    }

    /// The settings in force.
    pub fn settings(&self) -> &AllowlistSettings {
        &self.settings
    }

    /// Whether `guild` may use the bot (always, in open mode).
    ///
    /// # Errors
    /// [`AllowlistError::Store`] when the record cannot be read; callers
    /// refuse the command then (fail closed).
    pub async fn access(&self, guild: GuildId) -> Result<Access, AllowlistError> {
        if self.settings.mode == AllowlistMode::Open {
            return Ok(Access::Allowed);
        }
        let state = self.store.get(guild).await?.map(|r| r.state);
        Ok(if state == Some(AllowlistState::Approved) { Access::Allowed } else { Access::NotApproved(state) })
    }

    /// Records a guild's request and tells the maintainers.
    ///
    /// The guild's name and member count are looked up on Discord when the
    /// request does not carry them; a failed lookup does not stop the
    /// request. Telling the maintainers is best effort too: the request is
    /// stored either way and shows up in `list`.
    ///
    /// # Errors
    /// The refusals of [`rules::request`], or a store failure.
    pub async fn request_access(&self, mut request: AccessRequest) -> Result<AllowlistRecord, AllowlistError> {
        if request.guild_name.is_none()
            && let Some(discord) = &self.discord
        {
            match discord.guild_info(request.guild_id).await {
                Ok(info) => {
                    request.guild_name = Some(info.name);
                    request.member_count = request.member_count.or(info.approximate_member_count);
                }
                Err(e) => warn!(guild_id = %request.guild_id, error = %e, "guild lookup for an access request failed"),
            }
        }
        let now = self.clock.now_unix();
        let existing = self.store.get(request.guild_id).await?;
        let change = rules::request(existing.as_ref(), &request, now, self.settings.cooldown)?;
        let record = self.store_change(change).await?;
        info!(guild_id = %record.guild_id, requested_by = %request.requested_by, "access requested");
        let record = self.announce_request(record).await;
        self.post_webhook("allowlist.requested", &record).await;
        Ok(record)
    }

    /// Applies a maintainer's decision, tells the requester, and updates
    /// the maintainers' notice.
    ///
    /// # Errors
    /// The refusals of [`rules::decide`], [`AllowlistError::SlotsFull`],
    /// [`AllowlistError::ConcurrentChange`] when another decision won, or a
    /// store failure.
    pub async fn decide(
        &self,
        guild: GuildId,
        decision: Decision,
        actor: Actor,
        reason: Option<&str>,
    ) -> Result<AllowlistRecord, AllowlistError> {
        let record = self.apply_decision(guild, decision, actor, reason).await?;
        self.announce_decision(&record, true).await;
        Ok(record)
    }

    /// Handles a press of a maintainers' button by `presser`.
    ///
    /// Only configured maintainers' presses count; anyone else is refused
    /// and nothing changes. `custom_id` must be an allowlist button (see
    /// [`messages::is_allowlist_button`]).
    pub async fn press_button(&self, custom_id: &str, presser: UserId) -> ButtonOutcome {
        if !self.settings.is_maintainer(presser) {
            info!(user_id = %presser, "allowlist button pressed by a non-maintainer");
            return ButtonOutcome::Refused(AllowlistError::NotAMaintainer.to_string());
        }
        let Some((action, guild)) = messages::parse_button_id(custom_id) else {
            return ButtonOutcome::Refused("That button is not one this bot knows.".to_owned());
        };
        let decision = match action {
            ButtonAction::Approve => Decision::Approve { force: false },
            ButtonAction::Deny => Decision::Deny,
        };
        match self.apply_decision(guild, decision, Actor::DiscordUser(presser), None).await {
            Ok(record) => {
                // The press's own response replaces the notice; no edit here.
                self.announce_decision(&record, false).await;
                ButtonOutcome::UpdateNotice(messages::decided_notice(&record))
            }
            Err(e) => {
                if e.is_internal() {
                    warn!(guild_id = %guild, error = %e, "button decision failed");
                    ButtonOutcome::Refused("The decision could not be saved; try again in a moment.".to_owned())
                } else {
                    ButtonOutcome::Refused(format!("Nothing changed: {e}."))
                }
            }
        }
    }

    /// The guild's record and its most recent `history_limit` events
    /// (newest first, at most [`MAX_HISTORY`]).
    ///
    /// # Errors
    /// [`AllowlistError::UnknownGuild`], or a store failure.
    pub async fn show(
        &self,
        guild: GuildId,
        history_limit: usize,
    ) -> Result<(AllowlistRecord, Vec<AllowlistEvent>), AllowlistError> {
        let record = self.store.get(guild).await?.ok_or(AllowlistError::UnknownGuild(guild))?;
        let history = self.store.history(guild, history_limit.clamp(1, MAX_HISTORY)).await?;
        Ok((record, history))
    }

    /// A page of guilds in `state`, most recently changed first.
    ///
    /// # Errors
    /// [`AllowlistError::InvalidInput`] for a bad cursor, or a store failure.
    pub async fn list(
        &self,
        state: AllowlistState,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<AllowlistPage, AllowlistError> {
        Ok(self.store.list(state, limit.clamp(1, 100), cursor).await?)
    }

    /// Approved guilds and the slot limit.
    ///
    /// # Errors
    /// A store failure.
    pub async fn slots(&self) -> Result<SlotUsage, AllowlistError> {
        Ok(self.store.slot_usage().await?)
    }

    /// Sets or removes the slot limit.
    ///
    /// # Errors
    /// A store failure.
    pub async fn set_slot_limit(&self, limit: Option<u64>, actor: &Actor) -> Result<SlotUsage, AllowlistError> {
        let usage = self.store.set_slot_limit(limit).await?;
        info!(actor = %actor, limit = ?limit, approved = usage.approved, "slot limit set");
        Ok(usage)
    }

    async fn apply_decision(
        &self,
        guild: GuildId,
        decision: Decision,
        actor: Actor,
        reason: Option<&str>,
    ) -> Result<AllowlistRecord, AllowlistError> {
        let now = self.clock.now_unix();
        let existing = self.store.get(guild).await?;
        let change = rules::decide(existing.as_ref(), guild, decision, actor.clone(), reason, now)?;
        let takes_slot = matches!(change.slot, SlotEffect::Take { .. });
        match self.store_change(change).await {
            Ok(record) => {
                info!(guild_id = %guild, actor = %actor, state = %record.state, "allowlist decision");
                Ok(record)
            }
            Err(AllowlistError::Store(e)) if takes_slot && e.kind() == StoreErrorKind::LimitReached => {
                let usage = self.store.slot_usage().await?;
                Err(AllowlistError::SlotsFull { approved: usage.approved, limit: usage.limit.unwrap_or(0) })
            }
            Err(e) => Err(e),
        }
    }

    async fn store_change(&self, change: timmybot_core::AllowlistChange) -> Result<AllowlistRecord, AllowlistError> {
        let version = self.store.apply(&change).await.map_err(|e| match e.kind() {
            // Kept as a store error so `apply_decision` can turn it into
            // SlotsFull with the current numbers.
            StoreErrorKind::LimitReached => AllowlistError::Store(e),
            _ => AllowlistError::from(e),
        })?;
        Ok(AllowlistRecord { version, ..change.record })
    }

    /// Posts the notice with buttons and remembers where it is, so a
    /// decision made through the API can update it.
    async fn announce_request(&self, record: AllowlistRecord) -> AllowlistRecord {
        let (Some(discord), Some(channel)) = (&self.discord, self.settings.maintainers_channel) else {
            return record;
        };
        let notice = match discord.create_message(channel, &messages::maintainer_notice(&record)).await {
            Ok(notice) => notice,
            Err(e) => {
                warn!(guild_id = %record.guild_id, error = %e, "announcing the request to maintainers failed");
                return record;
            }
        };
        self.remember_notice(record, notice).await
    }

    async fn remember_notice(&self, record: AllowlistRecord, notice: MessageRef) -> AllowlistRecord {
        let noted = AllowlistRecord { maintainer_notice: Some(notice), ..record.clone() };
        let change = timmybot_core::AllowlistChange { record: noted.clone(), event: None, slot: SlotEffect::Keep };
        match self.store.apply(&change).await {
            Ok(version) => AllowlistRecord { version, ..noted },
            Err(e) => {
                // A maintainer may already have decided (their write won);
                // the notice just will not be updated by API decisions.
                info!(guild_id = %record.guild_id, error = %e, "could not note the maintainers' notice");
                record
            }
        }
    }

    /// Tells the requester (DM, else the channel they asked from) and, when
    /// `update_notice`, turns the maintainers' notice into the outcome.
    async fn announce_decision(&self, record: &AllowlistRecord, update_notice: bool) {
        self.post_webhook("allowlist.decided", record).await;
        let Some(discord) = &self.discord else { return };
        if update_notice
            && let Some(notice) = record.maintainer_notice
            && let Err(e) = discord.edit_message(notice, &messages::decided_notice(record)).await
        {
            info!(guild_id = %record.guild_id, error = %e, "updating the maintainers' notice failed");
        }
        let Some(user) = record.requested_by else { return };
        let cooldown = self.settings.cooldown.as_secs();
        match discord.send_dm(user, &messages::requester_message(record, cooldown)).await {
            Ok(_) => info!(guild_id = %record.guild_id, user_id = %user, "requester told by DM"),
            Err(e) if e.kind == DiscordErrorKind::CannotMessageUser => {
                let Some(channel) = record.request_channel else { return };
                let message = messages::requester_channel_message(record, cooldown);
                match discord.create_message(channel, &message).await {
                    Ok(_) => info!(guild_id = %record.guild_id, user_id = %user, "requester told in channel"),
                    Err(e) => warn!(guild_id = %record.guild_id, error = %e, "telling the requester failed"),
                }
            }
            Err(e) => warn!(guild_id = %record.guild_id, error = %e, "telling the requester failed"),
        }
    }

    async fn post_webhook(&self, kind: &str, record: &AllowlistRecord) {
        let Some(webhook) = &self.webhook else { return };
        let event = json!({ "type": kind, "guild": record });
        if let Err(e) = webhook.post(&event).await {
            warn!(guild_id = %record.guild_id, error = %e, "allowlist webhook failed");
        }
    }
}
