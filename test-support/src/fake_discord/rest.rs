//! The REST API under `/api/v10/`, as twilight-http sends it through a
//! proxy (`http://{proxy}/api/v10/{route}`).
//!
//! Every request passes through [`record_call`], which records it after the
//! handler ran: when a test sees a call, the state change it caused is
//! already visible.

use super::RecordedCall;
use super::gateway::snowflake;
use super::limits::{self, FieldError};
use super::payloads::{self, APPLICATION_COMMAND, AUTOCOMPLETE, GuildSnapshot, StoredMessage};
use super::state::{ChannelMessage, INTENT_GUILDS, Shared, State};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Query, Request, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// Largest request body the fake reads (Discord's own upload limit order).
const BODY_LIMIT: usize = 25 * 1024 * 1024;

type SharedState = AxumState<Arc<Shared>>;

/// The router of the fake REST API.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v10/gateway", get(gateway_get))
        .route("/api/v10/gateway/bot", get(gateway_bot_get))
        .route("/api/v10/users/@me", get(current_user_get))
        .route("/api/v10/users/@me/channels", post(dm_channel_create))
        .route("/api/v10/users/@me/guilds/{guild_id}", delete(guild_leave))
        .route("/api/v10/guilds/{guild_id}", get(guild_get))
        .route("/api/v10/applications/@me", get(application_get))
        .route("/api/v10/applications/{application_id}/commands", put(global_commands_set).get(global_commands_get))
        .route(
            "/api/v10/applications/{application_id}/guilds/{guild_id}/commands",
            put(guild_commands_set).get(guild_commands_get),
        )
        .route("/api/v10/interactions/{interaction_id}/{token}/callback", post(interaction_callback_create))
        .route("/api/v10/webhooks/{application_id}/{token}", post(followup_create))
        .route(
            "/api/v10/webhooks/{application_id}/{token}/messages/{message_id}",
            get(webhook_message_get).patch(webhook_message_update).delete(webhook_message_delete),
        )
        .route("/api/v10/channels/{channel_id}/messages", post(channel_message_create))
        .route(
            "/api/v10/channels/{channel_id}/messages/{message_id}",
            get(channel_message_get).patch(channel_message_update).delete(channel_message_delete),
        )
        .fallback(route_missing)
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), record_call))
        .with_state(shared)
}

/// An error in Discord's JSON shape (`{"message", "code"}`), which
/// twilight-http parses into `ErrorType::Response`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: u64,
    message: &'static str,
    /// Discord's per-field `errors` object of a 50035, if known.
    errors: Option<Value>,
}

impl ApiError {
    const fn new(status: StatusCode, code: u64, message: &'static str) -> Self {
        Self { status, code, message, errors: None }
    }

    fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
    }

    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, 0, "404: Not Found")
    }

    fn unknown_guild() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10004, "Unknown Guild")
    }

    fn unknown_channel() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10003, "Unknown Channel")
    }

    fn unknown_message() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10008, "Unknown Message")
    }

    fn unknown_webhook() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10015, "Unknown Webhook")
    }

    fn unknown_interaction() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10062, "Unknown interaction")
    }

    fn missing_access() -> Self {
        Self::new(StatusCode::FORBIDDEN, 50001, "Missing Access")
    }

    fn cannot_message_user() -> Self {
        Self::new(StatusCode::FORBIDDEN, 50007, "Cannot send messages to this user")
    }

    fn empty_message() -> Self {
        Self::new(StatusCode::BAD_REQUEST, 50006, "Cannot send an empty message")
    }

    fn invalid_form_body() -> Self {
        Self::new(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body")
    }

    fn invalid_json() -> Self {
        Self::new(StatusCode::BAD_REQUEST, 50109, "The request body contains invalid JSON.")
    }

    fn already_acknowledged() -> Self {
        Self::new(StatusCode::BAD_REQUEST, 40060, "Interaction has already been acknowledged.")
    }
}

/// A field Discord would refuse: 400, code 50035, with the field named in
/// `errors` the way Discord does.
impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        tracing::info!(field = %error.path.join("."), code = error.code, "invalid form body");
        Self { errors: Some(error.to_errors()), ..Self::invalid_form_body() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "message": self.message, "code": self.code });
        if let Some(errors) = self.errors {
            body["errors"] = errors;
        }
        (self.status, axum::Json(body)).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn json_response(value: Value) -> ApiResult {
    Ok(axum::Json(value).into_response())
}

fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Record the call (never the Authorization value) after the handler ran.
async fn record_call(AxumState(shared): SharedState, request: Request, next: Next) -> Response {
    let at = Instant::now();
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return ApiError::invalid_form_body().into_response();
    };
    let route = parts.extensions.get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let body_json = serde_json::from_slice::<Value>(&bytes).ok();
    let authorized = parts.headers.contains_key(AUTHORIZATION);
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let status = response.status().as_u16();
    tracing::debug!(route = %route, %method, status, "rest call");
    shared.update(|state| {
        state.calls.push(RecordedCall { method, path, query, body: body_json, status, authorized, at });
    });
    response
}

/// Bot-authenticated routes need `Authorization: Bot <token>`.
fn require_bot(headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bot "))
        .map(str::trim)
        .unwrap_or_default();
    if token.is_empty() { Err(ApiError::unauthorized()) } else { Ok(()) }
}

fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::invalid_json())
}

fn parse_object(body: &Bytes) -> Result<Value, ApiError> {
    let value = parse_json(body)?;
    if value.is_object() { Ok(value) } else { Err(ApiError::invalid_form_body()) }
}

fn parse_id(text: &str) -> Option<u64> {
    text.parse().ok().filter(|id| *id != 0)
}

/// Webhook routes: the id must be our application's.
fn check_application(shared: &Shared, application_id: &str) -> Result<(), ApiError> {
    if parse_id(application_id) == Some(shared.config.application_id) {
        Ok(())
    } else {
        Err(ApiError::unknown_webhook())
    }
}

/// A message body must carry content, embeds or components.
fn check_not_empty(body: &Value) -> Result<(), ApiError> {
    let has = |key: &str| match body.get(key) {
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        _ => false,
    };
    if has("content") || has("embeds") || has("components") || has("attachments") {
        Ok(())
    } else {
        Err(ApiError::empty_message())
    }
}

async fn route_missing() -> ApiError {
    ApiError::not_found()
}

async fn gateway_get(AxumState(shared): SharedState) -> ApiResult {
    json_response(json!({ "url": shared.gateway_url() }))
}

async fn gateway_bot_get(AxumState(shared): SharedState, headers: HeaderMap) -> ApiResult {
    require_bot(&headers)?;
    json_response(json!({
        "url": shared.gateway_url(),
        "shards": shared.config.shards,
        "session_start_limit": shared.read(|state| {
            let limit = state.session_start_limit;
            json!({
                "total": limit.total,
                "remaining": limit.remaining,
                "reset_after": limit.reset_after_ms,
                "max_concurrency": limit.max_concurrency,
            })
        }),
    }))
}

async fn current_user_get(AxumState(shared): SharedState, headers: HeaderMap) -> ApiResult {
    require_bot(&headers)?;
    json_response(payloads::current_user(shared.config.bot_user_id))
}

async fn application_get(AxumState(shared): SharedState, headers: HeaderMap) -> ApiResult {
    require_bot(&headers)?;
    json_response(payloads::application(shared.config.application_id, shared.config.bot_user_id))
}

/// Give each command of a bulk overwrite its ids, keeping the id of a
/// command that already existed under the same name and type (as Discord
/// does, so permissions set on it survive).
fn assign_command_ids(
    state: &mut State,
    application_id: u64,
    guild_id: Option<u64>,
    previous: &[Value],
    commands: Vec<Value>,
) -> Result<Vec<Value>, ApiError> {
    let kind_of = |command: &Value| command.get("type").and_then(Value::as_u64).unwrap_or(1);
    commands
        .into_iter()
        .map(|mut command| {
            let Some(name) = command.get("name").and_then(Value::as_str).map(str::to_owned) else {
                return Err(ApiError::invalid_form_body());
            };
            let kind = kind_of(&command);
            let id = previous
                .iter()
                .find(|old| old.get("name").and_then(Value::as_str) == Some(&name) && kind_of(old) == kind)
                .and_then(|old| old.get("id").cloned())
                .unwrap_or_else(|| json!(state.ids.next().to_string()));
            let object = command.as_object_mut().ok_or_else(ApiError::invalid_form_body)?;
            object.insert("id".into(), id);
            object.insert("application_id".into(), json!(application_id.to_string()));
            object.insert("version".into(), json!(state.ids.next().to_string()));
            object.insert("type".into(), json!(kind));
            object.entry("description").or_insert_with(|| json!(""));
            object.entry("default_member_permissions").or_insert(Value::Null);
            object.entry("nsfw").or_insert(json!(false));
            if let Some(guild_id) = guild_id {
                object.insert("guild_id".into(), json!(guild_id.to_string()));
            }
            Ok(command)
        })
        .collect()
}

fn parse_command_list(body: &Bytes) -> Result<Vec<Value>, ApiError> {
    match parse_json(body)? {
        Value::Array(commands) => Ok(commands),
        _ => Err(ApiError::invalid_form_body()),
    }
}

async fn global_commands_set(
    AxumState(shared): SharedState,
    Path(application_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    require_bot(&headers)?;
    let application_id = parse_id(&application_id)
        .filter(|id| *id == shared.config.application_id)
        .ok_or_else(ApiError::missing_access)?;
    let commands = parse_command_list(&body)?;
    let stored = shared.update(|state| {
        let previous = std::mem::take(&mut state.global_commands);
        match assign_command_ids(state, application_id, None, &previous, commands) {
            Ok(stored) => {
                state.global_commands.clone_from(&stored);
                Ok(stored)
            }
            Err(error) => {
                state.global_commands = previous;
                Err(error)
            }
        }
    })?;
    tracing::info!(count = stored.len(), "global commands set");
    json_response(Value::Array(stored))
}

async fn global_commands_get(
    AxumState(shared): SharedState,
    Path(application_id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    require_bot(&headers)?;
    if parse_id(&application_id) != Some(shared.config.application_id) {
        return Err(ApiError::missing_access());
    }
    json_response(Value::Array(shared.read(|state| state.global_commands.clone())))
}

/// The guild of a guild-commands route, if it is ours and the app is in it.
fn command_guild(shared: &Shared, application_id: &str, guild_id: &str) -> Result<(u64, u64), ApiError> {
    let application_id = parse_id(application_id)
        .filter(|id| *id == shared.config.application_id)
        .ok_or_else(ApiError::missing_access)?;
    let guild_id = parse_id(guild_id)
        .filter(|id| shared.config.guilds.iter().any(|guild| guild.id == *id))
        .ok_or_else(ApiError::missing_access)?;
    Ok((application_id, guild_id))
}

async fn guild_commands_set(
    AxumState(shared): SharedState,
    Path((application_id, guild_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    require_bot(&headers)?;
    let (application_id, guild_id) = command_guild(&shared, &application_id, &guild_id)?;
    let commands = parse_command_list(&body)?;
    let stored = shared.update(|state| {
        let previous = state.guild_commands.get(&guild_id).cloned().unwrap_or_default();
        let stored = assign_command_ids(state, application_id, Some(guild_id), &previous, commands)?;
        state.guild_commands.insert(guild_id, stored.clone());
        Ok::<_, ApiError>(stored)
    })?;
    tracing::info!(guild_id, count = stored.len(), "guild commands set");
    json_response(Value::Array(stored))
}

async fn guild_commands_get(
    AxumState(shared): SharedState,
    Path((application_id, guild_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    require_bot(&headers)?;
    let (_, guild_id) = command_guild(&shared, &application_id, &guild_id)?;
    let commands = shared.read(|state| state.guild_commands.get(&guild_id).cloned());
    json_response(Value::Array(commands.unwrap_or_default()))
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    with_response: bool,
}

async fn interaction_callback_create(
    AxumState(shared): SharedState,
    Path((interaction_id, token)): Path<(String, String)>,
    Query(query): Query<CallbackQuery>,
    body: Bytes,
) -> ApiResult {
    let response = parse_object(&body)?;
    let kind = response.get("type").and_then(Value::as_u64).ok_or_else(ApiError::invalid_form_body)?;
    // 4 message, 5 deferred message, 6 deferred update, 7 update message,
    // 8 autocomplete, 9 modal; 1 (PONG) is only an HTTP answer to a PING.
    if !matches!(kind, 4..=9) {
        return Err(ApiError::invalid_form_body());
    }
    let data = response.get("data").unwrap_or(&Value::Null);
    match kind {
        4 | 7 => limits::check_message(data)?,
        8 => limits::check_autocomplete(data)?,
        _ => {}
    }
    let interaction_id = parse_id(&interaction_id).ok_or_else(ApiError::unknown_interaction)?;
    let config = &shared.config;
    let (original, interaction_kind) = shared.update(|state| {
        let component_message = state.interactions.get(&token).and_then(|record| record.component_message);
        // Tokens the fake delivered itself must come back with their id.
        if let Some(record) = state.interactions.get(&token)
            && record.id.is_some_and(|id| id != interaction_id)
        {
            return Err(ApiError::unknown_interaction());
        }
        // Updating "the message" only exists for component interactions.
        if matches!(kind, 6 | 7) && component_message.is_none() {
            return Err(ApiError::invalid_form_body());
        }
        // An autocomplete interaction takes choices and nothing else, and
        // choices answer nothing else.
        let autocomplete = state.interactions.get(&token).and_then(|record| record.kind).map(|k| k == AUTOCOMPLETE);
        if autocomplete.is_some_and(|autocomplete| autocomplete != (kind == 8)) {
            return Err(ApiError::invalid_form_body());
        }
        if !state.respond_to_interaction(config, &token, response) {
            return Err(ApiError::already_acknowledged());
        }
        if let Some(record) = state.interactions.get_mut(&token) {
            record.id.get_or_insert(interaction_id);
        }
        let message = match component_message {
            Some(id) if matches!(kind, 6 | 7) => state.message_mut(id).map(|message| message.clone()),
            _ => state.interactions.get(&token).and_then(|record| record.original.clone()),
        };
        let fallback = if component_message.is_some() { payloads::MESSAGE_COMPONENT } else { APPLICATION_COMMAND };
        let interaction_kind = state.interactions.get(&token).and_then(|record| record.kind).unwrap_or(fallback);
        Ok((message, interaction_kind))
    })?;
    tracing::info!(interaction_id, kind, "interaction answered");
    if !query.with_response {
        return no_content();
    }
    // Discord's interaction callback response object.
    let message = original.map(|message| message.to_json(config.bot_user_id, config.application_id));
    json_response(json!({
        "interaction": {
            "id": interaction_id.to_string(),
            "type": interaction_kind,
            "response_message_id": message.as_ref().and_then(|m| m.get("id").cloned()),
            "response_message_loading": kind == 5,
            "response_message_ephemeral": message
                .as_ref()
                .and_then(|m| m.get("flags").and_then(Value::as_u64))
                .is_some_and(|flags| flags & 64 != 0),
        },
        "resource": { "type": kind, "message": message },
    }))
}

async fn followup_create(
    AxumState(shared): SharedState,
    Path((application_id, token)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    check_application(&shared, &application_id)?;
    let body = parse_object(&body)?;
    check_not_empty(&body)?;
    limits::check_message(&body)?;
    let config = &shared.config;
    let message = shared.update(|state| {
        let id = state.ids.next();
        // A follow-up needs an acknowledged interaction.
        let record = state
            .interactions
            .get_mut(&token)
            .filter(|record| record.response.is_some())
            .ok_or_else(ApiError::unknown_webhook)?;
        let mut message = StoredMessage {
            id,
            channel_id: record
                .original
                .as_ref()
                .map(|original| original.channel_id)
                .or(record.channel_id)
                .unwrap_or(id),
            guild_id: record.guild_id,
            content: String::new(),
            embeds: json!([]),
            components: json!([]),
            flags: 0,
            webhook_id: Some(config.application_id),
            timestamp: payloads::now_iso8601(),
            edited_timestamp: None,
            body: json!({}),
        };
        message.apply(&body);
        record.followups.push(message.clone());
        Ok::<_, ApiError>(message)
    })?;
    json_response(message.to_json(config.bot_user_id, config.application_id))
}

/// Find a webhook message of an interaction: `@original` or a follow-up id.
/// After callback type 6 or 7, `@original` is the message the pressed
/// button is on, like on Discord.
fn webhook_message<'a>(state: &'a mut State, token: &str, message_id: &str) -> Result<&'a mut StoredMessage, ApiError> {
    let record = state.interactions.get(token).ok_or_else(ApiError::unknown_webhook)?;
    if message_id == "@original"
        && record.original.is_none()
        && matches!(record.response_kind(), Some(6 | 7))
        && let Some(id) = record.component_message
    {
        return state.message_mut(id).ok_or_else(ApiError::unknown_message);
    }
    let record = state.interactions.get_mut(token).ok_or_else(ApiError::unknown_webhook)?;
    let message = if message_id == "@original" {
        record.original.as_mut()
    } else {
        let id = parse_id(message_id).ok_or_else(ApiError::unknown_message)?;
        record.followups.iter_mut().find(|message| message.id == id)
    };
    message.ok_or_else(ApiError::unknown_message)
}

async fn webhook_message_get(
    AxumState(shared): SharedState,
    Path((application_id, token, message_id)): Path<(String, String, String)>,
) -> ApiResult {
    check_application(&shared, &application_id)?;
    let config = &shared.config;
    let message = shared.update(|state| {
        webhook_message(state, &token, &message_id)
            .map(|message| message.to_json(config.bot_user_id, config.application_id))
    })?;
    json_response(message)
}

async fn webhook_message_update(
    AxumState(shared): SharedState,
    Path((application_id, token, message_id)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    check_application(&shared, &application_id)?;
    let body = parse_object(&body)?;
    limits::check_message(&body)?;
    let config = &shared.config;
    let message = shared.update(|state| {
        let message = webhook_message(state, &token, &message_id)?;
        message.apply(&body);
        // The first edit of a deferred reply ends its "thinking" state.
        message.flags &= !128;
        message.edited_timestamp = Some(payloads::now_iso8601());
        Ok::<_, ApiError>(message.to_json(config.bot_user_id, config.application_id))
    })?;
    json_response(message)
}

async fn webhook_message_delete(
    AxumState(shared): SharedState,
    Path((application_id, token, message_id)): Path<(String, String, String)>,
) -> ApiResult {
    check_application(&shared, &application_id)?;
    shared.update(|state| {
        let id = webhook_message(state, &token, &message_id)?.id;
        // After callback type 6 or 7 `@original` is the pressed message,
        // which goes too.
        state.delete_message(id);
        if message_id == "@original"
            && let Some(record) = state.interactions.get_mut(&token)
        {
            record.original_deleted = true;
        }
        Ok::<_, ApiError>(())
    })?;
    tracing::info!("webhook message deleted");
    no_content()
}

async fn dm_channel_create(AxumState(shared): SharedState, headers: HeaderMap, body: Bytes) -> ApiResult {
    require_bot(&headers)?;
    let body = parse_object(&body)?;
    let recipient_id = body.get("recipient_id").and_then(snowflake).ok_or_else(ApiError::invalid_form_body)?;
    let channel_id = shared.update(|state| {
        let fresh = state.ids.next();
        *state.dm_channels.entry(recipient_id).or_insert(fresh)
    });
    json_response(payloads::dm_channel(channel_id, recipient_id))
}

async fn channel_message_create(
    AxumState(shared): SharedState,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    require_bot(&headers)?;
    let channel_id = parse_id(&channel_id).ok_or_else(ApiError::unknown_channel)?;
    let body = parse_object(&body)?;
    check_not_empty(&body)?;
    limits::check_message(&body)?;
    let config = &shared.config;
    let guild_id = channel_guild(&shared, channel_id);
    let message = shared.update(|state| {
        let recipient_id = state.dm_channels.iter().find(|(_, channel)| **channel == channel_id).map(|(user, _)| *user);
        match (guild_id, recipient_id) {
            (None, None) => return Err(ApiError::unknown_channel()),
            _ if state.deleted_channels.contains(&channel_id) => return Err(ApiError::unknown_channel()),
            // A guild the bot left: its channels are out of reach.
            (Some(guild_id), _) if !state.in_guild(config, guild_id) => return Err(ApiError::missing_access()),
            // The channel opens fine; the message is what closed DMs refuse.
            (None, Some(user)) if config.dm_closed_users.contains(&user) => {
                return Err(ApiError::cannot_message_user());
            }
            _ => {}
        }
        let mut message = StoredMessage {
            id: state.ids.next(),
            channel_id,
            guild_id,
            content: String::new(),
            embeds: json!([]),
            components: json!([]),
            flags: 0,
            webhook_id: None,
            timestamp: payloads::now_iso8601(),
            edited_timestamp: None,
            body: json!({}),
        };
        message.apply(&body);
        state.channel_messages.push(ChannelMessage { message: message.clone(), recipient_id });
        Ok(message)
    })?;
    tracing::info!(channel_id, "message created");
    json_response(message.to_json(config.bot_user_id, config.application_id))
}

/// The guild whose text or voice channel `channel_id` is.
fn channel_guild(shared: &Shared, channel_id: u64) -> Option<u64> {
    shared
        .config
        .guilds
        .iter()
        .find(|guild| guild.text_channels.contains(&channel_id) || guild.voice_channels.contains(&channel_id))
        .map(|guild| guild.id)
}

/// A message the bot posted in `channel_id` (with `POST .../messages`).
fn channel_message<'a>(
    state: &'a mut State,
    channel_id: &str,
    message_id: &str,
) -> Result<&'a mut StoredMessage, ApiError> {
    let channel_id = parse_id(channel_id).ok_or_else(ApiError::unknown_channel)?;
    let message_id = parse_id(message_id).ok_or_else(ApiError::unknown_message)?;
    state
        .channel_messages
        .iter_mut()
        .map(|entry| &mut entry.message)
        .find(|message| message.channel_id == channel_id && message.id == message_id)
        .ok_or_else(ApiError::unknown_message)
}

async fn channel_message_get(
    AxumState(shared): SharedState,
    Path((channel_id, message_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    require_bot(&headers)?;
    let config = &shared.config;
    let message = shared.update(|state| {
        channel_message(state, &channel_id, &message_id)
            .map(|message| message.to_json(config.bot_user_id, config.application_id))
    })?;
    json_response(message)
}

async fn channel_message_update(
    AxumState(shared): SharedState,
    Path((channel_id, message_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    require_bot(&headers)?;
    let body = parse_object(&body)?;
    limits::check_message(&body)?;
    let config = &shared.config;
    let message = shared.update(|state| {
        let message = channel_message(state, &channel_id, &message_id)?;
        message.apply(&body);
        message.edited_timestamp = Some(payloads::now_iso8601());
        Ok::<_, ApiError>(message.to_json(config.bot_user_id, config.application_id))
    })?;
    tracing::info!(channel_id, message_id, "message edited");
    json_response(message)
}

async fn channel_message_delete(
    AxumState(shared): SharedState,
    Path((channel_id, message_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    require_bot(&headers)?;
    shared.update(|state| {
        let id = channel_message(state, &channel_id, &message_id)?.id;
        state.delete_message(id);
        Ok::<_, ApiError>(())
    })?;
    tracing::info!(channel_id, message_id, "message deleted");
    no_content()
}

#[derive(Debug, Deserialize)]
struct GuildQuery {
    #[serde(default)]
    with_counts: bool,
}

async fn guild_get(
    AxumState(shared): SharedState,
    Path(guild_id): Path<String>,
    Query(query): Query<GuildQuery>,
    headers: HeaderMap,
) -> ApiResult {
    require_bot(&headers)?;
    let config = &shared.config;
    let guild = parse_id(&guild_id)
        .and_then(|id| config.guilds.iter().find(|guild| guild.id == id))
        .filter(|guild| shared.read(|state| state.in_guild(config, guild.id)))
        .ok_or_else(ApiError::unknown_guild)?;
    let snapshot = GuildSnapshot {
        id: guild.id,
        name: &guild.name,
        member_count: guild.member_count,
        voice_channels: &guild.voice_channels,
        text_channels: &guild.text_channels,
        deleted_channels: &[],
        voice_states: Vec::new(),
        bot_user_id: config.bot_user_id,
        other_bots: &config.bot_users,
        include_voice_states: false,
    };
    json_response(payloads::rest_guild(&snapshot, query.with_counts))
}

/// Leave a guild: 204, then GUILD_DELETE (no `unavailable`: "removed") to
/// the owning shard, and the guild is gone from later READYs.
async fn guild_leave(AxumState(shared): SharedState, Path(guild_id): Path<String>, headers: HeaderMap) -> ApiResult {
    require_bot(&headers)?;
    let config = &shared.config;
    let guild_id = parse_id(&guild_id).ok_or_else(ApiError::unknown_guild)?;
    let shard = shared.shard_for_guild(guild_id);
    shared.update(|state| {
        if !state.in_guild(config, guild_id) {
            return Err(ApiError::unknown_guild());
        }
        state.left_guilds.push(guild_id);
        // Leaving a guild also ends the bot's voice connection there.
        if let Some(members) = state.voice.get_mut(&guild_id) {
            members.remove(&config.bot_user_id);
        }
        state.dispatch_to_shard(shard, INTENT_GUILDS, "GUILD_DELETE", &json!({ "id": guild_id.to_string() }));
        Ok(())
    })?;
    tracing::info!(guild_id, "left guild");
    no_content()
}
