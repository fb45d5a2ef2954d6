//! Cold start: read config once, build clients once, then run one check
//! per delivered message (the shape every timmybot Lambda shares:
//! [`timmybot_lambda_common::run_events`]).

use std::process::ExitCode;

use start_check_lambda::{Config, build_check, function_handler};
use timmybot_interactions::StartCheck;

#[tokio::main]
async fn main() -> ExitCode {
    timmybot_lambda_common::run_events(Config::from_env, build_check, |check: &'static StartCheck, event| {
        function_handler(check, event)
    })
    .await
}
