//! `timmybot register-commands`: bulk-overwrites the slash commands on Discord.

use anyhow::Context as _;
use timmybot_core::{ApplicationId, GuildId, Secret};
use timmybot_gateway::DiscordEndpoints;
use twilight_http::request::Request;
use twilight_http::routing::Route;
use twilight_model::application::command::Command;

/// Replaces the application's commands with the ones defined in
/// `timmybot_interactions::commands`, globally or in one guild (guild
/// commands update at once; global ones can take a while to show).
///
/// Returns the names Discord now has.
///
/// # Errors
/// Discord refused the request (bad token, wrong application).
pub async fn register_commands(
    token: &Secret,
    application_id: ApplicationId,
    guild: Option<GuildId>,
    endpoints: &DiscordEndpoints,
) -> anyhow::Result<Vec<String>> {
    let http = timmybot_gateway::discord_http(token, endpoints);
    let body = timmybot_interactions::commands::bulk_overwrite_body();
    let route = match guild {
        Some(guild) => Route::SetGuildCommands { application_id: application_id.get(), guild_id: guild.get() },
        None => Route::SetGlobalCommands { application_id: application_id.get() },
    };
    let request = Request::builder(&route).json(&body).build().context("could not build the request")?;
    let response = http
        .request::<twilight_http::response::marker::ListBody<Command>>(request)
        .await
        .map_err(|e| anyhow::anyhow!("Discord refused the commands: {}", describe(&e)))?;
    let commands = response.models().await.context("Discord's answer could not be read")?;
    Ok(commands.into_iter().map(|c| c.name).collect())
}

/// An HTTP error without the request path (which can hold ids, never the
/// token here, but we keep one rule for all twilight errors).
fn describe(error: &twilight_http::Error) -> String {
    match error.kind() {
        twilight_http::error::ErrorType::Response { status, .. } => format!("HTTP {status}"),
        twilight_http::error::ErrorType::Unauthorized => "the token was refused (401)".to_owned(),
        _ => "request failed".to_owned(),
    }
}
