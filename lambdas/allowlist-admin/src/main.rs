//! Cold start: read config once, build clients once, then serve requests
//! (the shape every timmybot Lambda shares: [`timmybot_lambda_common::run`]).

use std::process::ExitCode;

use allowlist_admin_lambda::{Config, build_api, function_handler};

#[tokio::main]
async fn main() -> ExitCode {
    timmybot_lambda_common::run(Config::from_env, build_api, function_handler).await
}
