//! JSON shapes the fake sends, written the way Discord writes them.
//!
//! Built with `serde_json::json!` rather than twilight structs so the wire
//! shape is visible in one place; the unit tests at the end parse every
//! builder's output with twilight-model, which is what a real client does.

use super::SentMessage;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};
use twilight_model::util::Timestamp;

/// Milliseconds between the Unix epoch and Discord's epoch (2015-01-01).
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// Synthetic owner of every fake guild; no test needs a real one.
pub(crate) const GUILD_OWNER_ID: u64 = 1;

/// Permissions of `@everyone` in a fake guild: what a music bot needs
/// (view, send, embed, history, connect, speak, voice activity, commands).
/// Also what an ordinary member's interactions carry.
pub(crate) const EVERYONE_PERMISSIONS: u64 =
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 20) | (1 << 21) | (1 << 25) | (1 << 31);

/// Hands out unique snowflakes whose timestamp part is the current time.
#[derive(Debug, Default)]
pub(crate) struct Snowflakes {
    counter: u64,
}

impl Snowflakes {
    /// The next id; never 0, which twilight refuses.
    pub(crate) fn next(&mut self) -> u64 {
        self.counter = (self.counter + 1) & 0x3f_ffff;
        let since_epoch = unix_millis().saturating_sub(DISCORD_EPOCH_MS);
        (since_epoch << 22) | self.counter.max(1)
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

/// The current time as Discord formats timestamps (ISO 8601, UTC).
pub(crate) fn now_iso8601() -> String {
    let secs = i64::try_from(unix_millis() / 1000).unwrap_or(0);
    Timestamp::from_secs(secs)
        .map_or_else(|_| "2025-01-01T00:00:00.000000+00:00".to_owned(), |ts| ts.iso_8601().to_string())
}

/// A random lowercase hex string of `bytes` random bytes.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut hex = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        hex.push_str(&format!("{:02x}", rand::random::<u8>()));
    }
    hex
}

/// A fresh interaction token.
pub(crate) fn interaction_token() -> String {
    format!("fake-interaction-token-{}", random_hex(16))
}

/// A gateway payload that is not a dispatch (no sequence, no event name).
pub(crate) fn gateway_frame(op: u8, d: &Value) -> String {
    json!({ "op": op, "d": d, "s": null, "t": null }).to_string()
}

/// A dispatch (op 0) with its sequence number and event name.
pub(crate) fn dispatch_frame(seq: u64, event: &str, d: &Value) -> String {
    json!({ "op": 0, "d": d, "s": seq, "t": event }).to_string()
}

/// Whose user object the fake writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Account {
    /// The fake's own bot (the bot under test).
    Me,
    /// Another bot in the guild ([`FakeDiscordConfig::bot_users`](super::FakeDiscordConfig::bot_users)).
    OtherBot,
    /// A person.
    Human,
}

/// A user object: the bot under test is `timmybot`, another bot `bot{id}`
/// (both with `bot: true`), a person `user{id}`.
pub(crate) fn user(id: u64, account: Account) -> Value {
    let (username, bot) = match account {
        Account::Me => ("timmybot".to_owned(), true),
        Account::OtherBot => (format!("bot{id}"), true),
        Account::Human => (format!("user{id}"), false),
    };
    json!({
        "id": id.to_string(),
        "username": username,
        "global_name": null,
        "discriminator": "0",
        "avatar": null,
        "avatar_decoration_data": null,
        "accent_color": null,
        "banner": null,
        "bot": bot,
        "public_flags": 0,
    })
}

/// The bot's own user as `/users/@me` and READY describe it.
pub(crate) fn current_user(id: u64) -> Value {
    let mut value = user(id, Account::Me);
    value["mfa_enabled"] = json!(false);
    value["verified"] = json!(true);
    value["flags"] = json!(0);
    value
}

/// A guild member (used inside voice states and GUILD_CREATE).
pub(crate) fn member(user_id: u64, account: Account) -> Value {
    json!({
        "user": user(user_id, account),
        "nick": null,
        "avatar": null,
        "roles": [],
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": null,
    })
}

/// The member who triggered an interaction, as its `member` field
/// describes them.
#[derive(Debug, Clone)]
pub(crate) struct Invoker {
    pub(crate) user_id: u64,
    /// Permission bits in the channel.
    pub(crate) permissions: u64,
    /// Role ids, in the order the config lists them.
    pub(crate) roles: Vec<u64>,
}

/// A member as interactions carry it: `permissions`, the member's
/// permission bits in the channel as a decimal string, and `roles` as
/// decimal id strings.
pub(crate) fn interaction_member(invoker: &Invoker) -> Value {
    let mut value = member(invoker.user_id, Account::Human);
    value["permissions"] = json!(invoker.permissions.to_string());
    value["roles"] = invoker.roles.iter().map(|role| json!(role.to_string())).collect();
    value
}

/// A voice state; `channel_id: None` means the user left voice.
pub(crate) fn voice_state(
    guild_id: u64,
    user_id: u64,
    channel_id: Option<u64>,
    session_id: &str,
    account: Account,
) -> Value {
    json!({
        "guild_id": guild_id.to_string(),
        "channel_id": channel_id.map(|id| id.to_string()),
        "user_id": user_id.to_string(),
        "member": member(user_id, account),
        "session_id": session_id,
        "deaf": false,
        "mute": false,
        "self_deaf": false,
        "self_mute": false,
        "self_stream": false,
        "self_video": false,
        "suppress": false,
        "request_to_speak_timestamp": null,
    })
}

/// Session id the fake gives a member's (not the bot's) voice state.
pub(crate) fn member_voice_session(user_id: u64) -> String {
    format!("member-voice-{user_id}")
}

/// A guild channel: type 0 (text) or 2 (voice).
fn guild_channel(guild_id: u64, id: u64, voice: bool, position: usize) -> Value {
    let mut channel = json!({
        "id": id.to_string(),
        "guild_id": guild_id.to_string(),
        "type": if voice { 2 } else { 0 },
        "name": if voice { format!("voice-{id}") } else { format!("text-{id}") },
        "position": position,
        "permission_overwrites": [],
        "parent_id": null,
        "nsfw": false,
        "rate_limit_per_user": 0,
        "flags": 0,
    });
    if voice {
        channel["bitrate"] = json!(64_000);
        channel["user_limit"] = json!(0);
        channel["rtc_region"] = json!(null);
    } else {
        channel["topic"] = json!(null);
        channel["last_message_id"] = json!(null);
    }
    channel
}

/// Every channel of a guild, text channels first; a channel's `position` is
/// its place in that list, which a deletion does not change.
fn guild_channels<'a>(guild_id: u64, text: &'a [u64], voice: &'a [u64]) -> impl Iterator<Item = Value> + 'a {
    text.iter()
        .map(|&id| (id, false))
        .chain(voice.iter().map(|&id| (id, true)))
        .enumerate()
        .map(move |(position, (id, voice))| guild_channel(guild_id, id, voice, position))
}

/// The channel object of `channel_id` as GUILD_CREATE describes it (what
/// CHANNEL_DELETE carries), if it is one of the guild's channels.
pub(crate) fn channel_object(guild_id: u64, text: &[u64], voice: &[u64], channel_id: u64) -> Option<Value> {
    let id = channel_id.to_string();
    guild_channels(guild_id, text, voice).find(|channel| channel.get("id").and_then(Value::as_str) == Some(&id))
}

/// What GUILD_CREATE needs to describe one guild.
pub(crate) struct GuildSnapshot<'a> {
    pub(crate) id: u64,
    pub(crate) name: &'a str,
    pub(crate) member_count: u64,
    pub(crate) voice_channels: &'a [u64],
    pub(crate) text_channels: &'a [u64],
    /// Channels deleted since the start, left out of `channels`.
    pub(crate) deleted_channels: &'a [u64],
    /// `(user_id, channel_id, session_id)` of everyone in voice.
    pub(crate) voice_states: Vec<(u64, u64, String)>,
    pub(crate) bot_user_id: u64,
    /// Other bots: their voice states and members say `bot: true`.
    pub(crate) other_bots: &'a [u64],
    /// False when the shard lacks the GUILD_VOICE_STATES intent.
    pub(crate) include_voice_states: bool,
}

impl GuildSnapshot<'_> {
    fn account(&self, user_id: u64) -> Account {
        if user_id == self.bot_user_id {
            Account::Me
        } else if self.other_bots.contains(&user_id) {
            Account::OtherBot
        } else {
            Account::Human
        }
    }
}

/// A full (available) guild, as the GUILD_CREATE dispatch carries it.
pub(crate) fn guild_create(guild: &GuildSnapshot<'_>) -> Value {
    let channels: Vec<Value> = guild_channels(guild.id, guild.text_channels, guild.voice_channels)
        .filter(|channel| {
            let id = channel.get("id").and_then(Value::as_str).and_then(|id| id.parse::<u64>().ok());
            !id.is_some_and(|id| guild.deleted_channels.contains(&id))
        })
        .collect();
    let voice_states: Vec<Value> = if guild.include_voice_states {
        guild
            .voice_states
            .iter()
            .map(|(user_id, channel_id, session)| {
                voice_state(guild.id, *user_id, Some(*channel_id), session, guild.account(*user_id))
            })
            .collect()
    } else {
        Vec::new()
    };
    // Discord includes the bot and everyone in voice in `members`.
    let mut member_ids = vec![guild.bot_user_id];
    for (user_id, _, _) in &guild.voice_states {
        if !member_ids.contains(user_id) {
            member_ids.push(*user_id);
        }
    }
    let members: Vec<Value> = member_ids.iter().map(|&id| member(id, guild.account(id))).collect();
    let everyone = json!({
        "id": guild.id.to_string(),
        "name": "@everyone",
        "color": 0,
        "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": 0,
        "permissions": EVERYONE_PERMISSIONS.to_string(),
        "managed": false,
        "mentionable": false,
        "flags": 0,
    });
    json!({
        "id": guild.id.to_string(),
        "name": guild.name,
        "icon": null,
        "splash": null,
        "discovery_splash": null,
        "banner": null,
        "description": null,
        "owner_id": GUILD_OWNER_ID.to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "application_id": null,
        "widget_enabled": false,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "features": [],
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_progress_bar_enabled": false,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "rules_channel_id": null,
        "safety_alerts_channel_id": null,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "vanity_url_code": null,
        "roles": [everyone],
        "emojis": [],
        "stickers": [],
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "large": false,
        "unavailable": false,
        "member_count": guild.member_count,
        "members": members,
        "channels": channels,
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "voice_states": voice_states,
    })
}

/// The guild object of `GET /guilds/{id}`: GUILD_CREATE's guild without
/// the gateway-only fields, with `approximate_*_count` when `with_counts`.
pub(crate) fn rest_guild(guild: &GuildSnapshot<'_>, with_counts: bool) -> Value {
    let mut value = guild_create(guild);
    if let Some(object) = value.as_object_mut() {
        for key in [
            "joined_at",
            "large",
            "unavailable",
            "member_count",
            "members",
            "channels",
            "threads",
            "presences",
            "stage_instances",
            "guild_scheduled_events",
            "voice_states",
        ] {
            object.remove(key);
        }
        if with_counts {
            object.insert("approximate_member_count".into(), json!(guild.member_count));
            // Nobody is "online" in the fake.
            object.insert("approximate_presence_count".into(), json!(0));
        }
    }
    value
}

/// The READY dispatch for a new session.
pub(crate) fn ready(
    application_id: u64,
    bot_user_id: u64,
    session_id: &str,
    resume_gateway_url: &str,
    shard: [u32; 2],
    guild_ids: &[u64],
) -> Value {
    let guilds: Vec<Value> = guild_ids.iter().map(|id| json!({ "id": id.to_string(), "unavailable": true })).collect();
    json!({
        "v": 10,
        "user": current_user(bot_user_id),
        "guilds": guilds,
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "shard": shard,
        "application": { "id": application_id.to_string(), "flags": 0 },
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "guild_join_requests": [],
        "user_settings": {},
        "geo_ordered_rtc_regions": ["fake"],
    })
}

/// The VOICE_SERVER_UPDATE dispatch sent after the bot joins a channel.
/// A fresh voice token naming the call's channel, `<hex>.<channel id>`:
/// the fake voice server reads the channel (DAVE's MLS group id) from it,
/// as a real voice server knows it from Discord's own records.
pub(crate) fn voice_token(channel_id: u64) -> String {
    format!("{}.{channel_id}", random_hex(8))
}

pub(crate) fn voice_server_update(guild_id: u64, token: &str, endpoint: &str) -> Value {
    json!({
        "guild_id": guild_id.to_string(),
        "token": token,
        "endpoint": endpoint,
    })
}

/// A DM channel between the bot and `recipient_id`.
pub(crate) fn dm_channel(channel_id: u64, recipient_id: u64) -> Value {
    json!({
        "id": channel_id.to_string(),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [user(recipient_id, Account::Human)],
    })
}

/// Everything needed to render a stored message.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    pub(crate) id: u64,
    pub(crate) channel_id: u64,
    pub(crate) guild_id: Option<u64>,
    pub(crate) content: String,
    pub(crate) embeds: Value,
    pub(crate) components: Value,
    pub(crate) flags: u64,
    /// Set for interaction responses: the webhook is the application.
    pub(crate) webhook_id: Option<u64>,
    pub(crate) timestamp: String,
    pub(crate) edited_timestamp: Option<String>,
    /// The create body with every edit's fields merged over it, so tests
    /// see what the bot last sent (`allowed_mentions`, `components`, ...).
    pub(crate) body: Value,
}

impl StoredMessage {
    /// Apply the fields of a create or edit body (content, embeds,
    /// components, flags); absent fields keep their value, like Discord.
    /// A body that is not an object (a type 5 callback without `data`)
    /// changes nothing.
    pub(crate) fn apply(&mut self, body: &Value) {
        let Some(fields) = body.as_object() else {
            return;
        };
        if let Some(content) = body.get("content") {
            self.content = content.as_str().unwrap_or_default().to_owned();
        }
        if let Some(embeds) = body.get("embeds") {
            self.embeds = if embeds.is_null() { json!([]) } else { embeds.clone() };
        }
        if let Some(components) = body.get("components") {
            self.components = if components.is_null() { json!([]) } else { components.clone() };
        }
        if let Some(flags) = body.get("flags").and_then(Value::as_u64) {
            self.flags = flags;
        }
        if let Some(merged) = self.body.as_object_mut() {
            merged.extend(fields.iter().map(|(key, value)| (key.clone(), value.clone())));
        } else {
            self.body = body.clone();
        }
    }

    /// The public view of the message; `recipient_id` for a DM.
    pub(crate) fn sent(&self, recipient_id: Option<u64>) -> SentMessage {
        SentMessage {
            id: self.id,
            channel_id: self.channel_id,
            guild_id: self.guild_id,
            recipient_id,
            content: self.content.clone(),
            flags: self.flags,
            body: self.body.clone(),
        }
    }

    /// The message object twilight parses as `Message`.
    pub(crate) fn to_json(&self, author_id: u64, application_id: u64) -> Value {
        let mut message = json!({
            "id": self.id.to_string(),
            "channel_id": self.channel_id.to_string(),
            "author": user(author_id, Account::Me),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": false,
            "type": 0,
            "flags": self.flags,
        });
        if let Some(guild_id) = self.guild_id {
            message["guild_id"] = json!(guild_id.to_string());
        }
        if let Some(webhook_id) = self.webhook_id {
            message["webhook_id"] = json!(webhook_id.to_string());
            message["application_id"] = json!(application_id.to_string());
        }
        message
    }
}

/// Interaction type of a slash command (APPLICATION_COMMAND).
pub(crate) const APPLICATION_COMMAND: u64 = 2;
/// Interaction type of a button press (MESSAGE_COMPONENT).
pub(crate) const MESSAGE_COMPONENT: u64 = 3;
/// Interaction type of APPLICATION_COMMAND_AUTOCOMPLETE.
pub(crate) const AUTOCOMPLETE: u64 = 4;

/// A command invocation, for [`application_command`].
pub(crate) struct CommandInvocation<'a> {
    /// [`APPLICATION_COMMAND`] or [`AUTOCOMPLETE`].
    pub(crate) kind: u64,
    pub(crate) interaction_id: u64,
    pub(crate) token: &'a str,
    pub(crate) application_id: u64,
    pub(crate) guild_id: u64,
    pub(crate) channel_id: u64,
    pub(crate) invoker: &'a Invoker,
    pub(crate) command_id: u64,
    pub(crate) name: &'a str,
    /// Discord's `data.options` array; for autocomplete one option in it
    /// carries `"focused": true`.
    pub(crate) options: &'a Value,
}

/// A slash command (type 2) or autocomplete (type 4) interaction as Discord
/// delivers it in INTERACTION_CREATE: both have the same shape.
pub(crate) fn application_command(invocation: &CommandInvocation<'_>) -> Value {
    let guild_id = invocation.guild_id.to_string();
    let channel_id = invocation.channel_id.to_string();
    json!({
        "id": invocation.interaction_id.to_string(),
        "application_id": invocation.application_id.to_string(),
        "type": invocation.kind,
        "token": invocation.token,
        "version": 1,
        "guild_id": guild_id,
        "channel_id": channel_id,
        "channel": { "id": channel_id, "type": 0, "guild_id": guild_id },
        "member": interaction_member(invocation.invoker),
        "app_permissions": EVERYONE_PERMISSIONS.to_string(),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": { "0": guild_id },
        "context": 0,
        "data": {
            "id": invocation.command_id.to_string(),
            "name": invocation.name,
            "type": 1,
            "guild_id": guild_id,
            "options": invocation.options,
        },
    })
}

/// Who pressed which button on which message, for [`button_press`].
pub(crate) struct ButtonPress<'a> {
    pub(crate) interaction_id: u64,
    pub(crate) token: &'a str,
    pub(crate) application_id: u64,
    pub(crate) guild_id: u64,
    pub(crate) channel_id: u64,
    pub(crate) invoker: &'a Invoker,
    pub(crate) custom_id: &'a str,
    /// The full message object the button is on.
    pub(crate) message: Value,
}

/// A button press (MESSAGE_COMPONENT interaction, type 3) as Discord
/// delivers it: `data` names the button, `message` is the message it is on.
pub(crate) fn button_press(press: &ButtonPress<'_>) -> Value {
    json!({
        "id": press.interaction_id.to_string(),
        "application_id": press.application_id.to_string(),
        "type": MESSAGE_COMPONENT,
        "token": press.token,
        "version": 1,
        "guild_id": press.guild_id.to_string(),
        "channel_id": press.channel_id.to_string(),
        "channel": { "id": press.channel_id.to_string(), "type": 0, "guild_id": press.guild_id.to_string() },
        "member": interaction_member(press.invoker),
        "app_permissions": EVERYONE_PERMISSIONS.to_string(),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": { "0": press.guild_id.to_string() },
        "context": 0,
        "message": press.message,
        "data": { "custom_id": press.custom_id, "component_type": 2 },
    })
}

/// The application object of `GET /applications/@me`.
pub(crate) fn application(application_id: u64, bot_user_id: u64) -> Value {
    json!({
        "id": application_id.to_string(),
        "name": "timmybot",
        "icon": null,
        "description": "",
        "bot_public": false,
        "bot_require_code_grant": false,
        "bot": user(bot_user_id, Account::Me),
        "verify_key": "0".repeat(64),
        "flags": 0,
        "team": null,
        "rpc_origins": [],
        "tags": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilight_model::{
        application::{
            command::{Command, CommandOptionType},
            interaction::{Interaction, InteractionData, InteractionType, application_command::CommandOptionValue},
        },
        channel::message::component::ComponentType,
        channel::{Channel, Message},
        gateway::{
            event::{GatewayEvent, GatewayEventDeserializer},
            payload::incoming::{Ready, VoiceServerUpdate},
        },
        guild::{Guild, Permissions},
        oauth::Application,
        user::CurrentUser,
        voice::VoiceState,
    };

    fn snapshot() -> GuildSnapshot<'static> {
        GuildSnapshot {
            id: 81_384_788_765_712_384,
            name: "test guild",
            member_count: 3,
            voice_channels: &[200],
            text_channels: &[100],
            deleted_channels: &[],
            voice_states: vec![(7, 200, member_voice_session(7)), (11, 200, member_voice_session(11))],
            bot_user_id: 9,
            other_bots: &[11],
            include_voice_states: true,
        }
    }

    #[test]
    fn guild_create_parses_as_an_available_guild_with_voice_states() {
        // GuildCreate is an untagged enum: a malformed guild silently
        // becomes "unavailable", so parse `Guild` itself.
        let guild: Guild = serde_json::from_value(guild_create(&snapshot())).unwrap();
        assert_eq!(guild.member_count, Some(3));
        assert_eq!(guild.channels.len(), 2);
        assert_eq!(guild.voice_states.len(), 2);
        assert_eq!(guild.voice_states[0].user_id.get(), 7);
        assert_eq!(guild.voice_states[0].channel_id.unwrap().get(), 200);
        let bot = |index: usize| guild.voice_states[index].member.as_ref().unwrap().user.bot;
        assert!(!bot(0));
        assert!(bot(1), "another bot is a bot");
        let members: Vec<(u64, bool)> = guild.members.iter().map(|m| (m.user.id.get(), m.user.bot)).collect();
        assert_eq!(members, [(9, true), (7, false), (11, true)]);
    }

    #[test]
    fn deleted_channels_leave_guild_create_and_keep_the_others_positions() {
        let guild: Guild =
            serde_json::from_value(guild_create(&GuildSnapshot { deleted_channels: &[100], ..snapshot() })).unwrap();
        assert_eq!(guild.channels.len(), 1);
        assert_eq!((guild.channels[0].id.get(), guild.channels[0].position), (200, Some(1)));
        let deleted: Channel = serde_json::from_value(channel_object(10, &[100], &[200], 200).unwrap()).unwrap();
        assert_eq!(deleted.kind, twilight_model::channel::ChannelType::GuildVoice);
        assert_eq!(deleted.guild_id.map(|id| id.get()), Some(10));
        assert_eq!(channel_object(10, &[100], &[200], 300), None);
    }

    #[test]
    fn ready_parses_with_unavailable_guilds() {
        let value = ready(5, 9, "abc", "ws://127.0.0.1:1/resume", [0, 1], &[10, 11]);
        let ready: Ready = serde_json::from_value(value).unwrap();
        assert_eq!(ready.guilds.len(), 2);
        assert!(ready.guilds[0].unavailable);
        assert_eq!(ready.user.id.get(), 9);
        assert_eq!(ready.resume_gateway_url, "ws://127.0.0.1:1/resume");
    }

    #[test]
    fn dispatch_frame_parses_as_a_twilight_gateway_event() {
        let frame = dispatch_frame(3, "VOICE_STATE_UPDATE", &voice_state(10, 9, Some(200), "s", Account::Me));
        let deserializer = GatewayEventDeserializer::from_json(&frame).unwrap();
        assert_eq!(deserializer.sequence(), Some(3));
        let mut json = serde_json::Deserializer::from_str(&frame);
        let event = serde::de::DeserializeSeed::deserialize(deserializer, &mut json).unwrap();
        assert!(matches!(event, GatewayEvent::Dispatch(3, _)));
    }

    #[test]
    fn small_payloads_parse_with_twilight_model() {
        let _: CurrentUser = serde_json::from_value(current_user(9)).unwrap();
        let _: VoiceState = serde_json::from_value(voice_state(10, 9, None, "session", Account::Me)).unwrap();
        let _: VoiceServerUpdate = serde_json::from_value(voice_server_update(10, "tok", "127.0.0.1:1")).unwrap();
        let _: Channel = serde_json::from_value(dm_channel(30, 7)).unwrap();
        let _: Application = serde_json::from_value(application(5, 9)).unwrap();
    }

    fn invocation<'a>(invoker: &'a Invoker, options: &'a Value) -> CommandInvocation<'a> {
        CommandInvocation {
            kind: APPLICATION_COMMAND,
            interaction_id: 1,
            token: "tok",
            application_id: 5,
            guild_id: 10,
            channel_id: 100,
            invoker,
            command_id: 42,
            name: "play",
            options,
        }
    }

    #[test]
    fn slash_command_parses_as_an_interaction_with_roles() {
        let invoker = Invoker { user_id: 7, permissions: EVERYONE_PERMISSIONS | (1 << 5), roles: vec![300, 301] };
        let value = application_command(&invocation(&invoker, &json!([])));
        assert_eq!(value["member"]["roles"], json!(["300", "301"]));
        let interaction: Interaction = serde_json::from_value(value).unwrap();
        assert_eq!(interaction.token, "tok");
        assert_eq!(interaction.guild_id.unwrap().get(), 10);
        let member = interaction.member.unwrap();
        assert!(member.permissions.unwrap().contains(Permissions::MANAGE_GUILD | Permissions::CONNECT));
        assert_eq!(member.roles.iter().map(|role| role.get()).collect::<Vec<_>>(), [300, 301]);
    }

    #[test]
    fn autocomplete_parses_with_a_focused_string_value() {
        let invoker = Invoker { user_id: 7, permissions: EVERYONE_PERMISSIONS, roles: Vec::new() };
        // An integer option being typed still arrives as a string.
        let options = json!([{ "name": "position", "type": 4, "value": "1", "focused": true }]);
        let value = application_command(&CommandInvocation { kind: AUTOCOMPLETE, ..invocation(&invoker, &options) });
        let interaction: Interaction = serde_json::from_value(value).unwrap();
        assert_eq!(interaction.kind, InteractionType::ApplicationCommandAutocomplete);
        let Some(InteractionData::ApplicationCommand(data)) = interaction.data else {
            panic!("not command data");
        };
        assert_eq!(data.name, "play");
        assert_eq!(data.options[0].value, CommandOptionValue::Focused("1".into(), CommandOptionType::Integer));
    }

    #[test]
    fn button_press_parses_as_a_component_interaction() {
        let message = test_message().to_json(9, 5);
        let invoker = Invoker { user_id: 7, permissions: EVERYONE_PERMISSIONS, roles: vec![300] };
        let press = ButtonPress {
            interaction_id: 2,
            token: "tok",
            application_id: 5,
            guild_id: 10,
            channel_id: 100,
            invoker: &invoker,
            custom_id: "allow:1",
            message,
        };
        let interaction: Interaction = serde_json::from_value(button_press(&press)).unwrap();
        assert_eq!(interaction.kind, InteractionType::MessageComponent);
        assert_eq!(interaction.message.unwrap().id.get(), 1);
        let Some(InteractionData::MessageComponent(data)) = interaction.data else {
            panic!("not component data");
        };
        assert_eq!(data.custom_id, "allow:1");
        assert_eq!(data.component_type, ComponentType::Button);
        let member = interaction.member.unwrap();
        assert!(!member.permissions.unwrap().contains(Permissions::MANAGE_GUILD));
        assert_eq!(member.roles.len(), 1);
    }

    #[test]
    fn rest_guild_parses_as_a_guild_with_counts() {
        let guild: Guild = serde_json::from_value(rest_guild(&snapshot(), true)).unwrap();
        assert_eq!(guild.name, "test guild");
        assert_eq!(guild.approximate_member_count, Some(3));
        let without: Guild = serde_json::from_value(rest_guild(&snapshot(), false)).unwrap();
        assert_eq!(without.approximate_member_count, None);
    }

    fn test_message() -> StoredMessage {
        StoredMessage {
            id: 1,
            channel_id: 100,
            guild_id: Some(10),
            content: String::new(),
            embeds: json!([]),
            components: json!([]),
            flags: 128,
            webhook_id: Some(5),
            timestamp: now_iso8601(),
            edited_timestamp: None,
            body: json!({}),
        }
    }

    #[test]
    fn stored_message_parses_and_applies_edits() {
        let mut message = test_message();
        message.apply(&json!({ "content": "hello", "flags": 0, "allowed_mentions": { "parse": [] } }));
        let row = json!([{ "type": 1, "components": [{ "type": 2, "style": 1, "label": "Go", "custom_id": "go" }] }]);
        message.apply(&json!({ "components": row }));
        let parsed: Message = serde_json::from_value(message.to_json(9, 5)).unwrap();
        assert_eq!(parsed.content, "hello");
        assert_eq!(parsed.webhook_id.unwrap().get(), 5);
        assert_eq!(parsed.components.len(), 1);
        // Later edits merge over the earlier body instead of replacing it.
        assert_eq!(message.body["content"], "hello");
        assert_eq!(message.body["allowed_mentions"], json!({ "parse": [] }));
        assert_eq!(message.body["components"], row);
    }

    #[test]
    fn command_with_ids_parses_as_a_command() {
        let command = json!({
            "id": "1", "application_id": "5", "version": "1", "type": 1,
            "name": "play", "description": "play a song",
            "default_member_permissions": null,
        });
        let _: Command = serde_json::from_value(command).unwrap();
    }

    #[test]
    fn snowflakes_are_unique_and_non_zero() {
        let mut ids = Snowflakes::default();
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        assert_ne!(a, 0);
    }
}
