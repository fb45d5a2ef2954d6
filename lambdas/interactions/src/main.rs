//! Cold start: read config once, build clients once, then serve requests
//! (the shape every timmybot Lambda shares: [`timmybot_lambda_common::run`]).

use std::process::ExitCode;

use interactions_lambda::{Config, InteractionsLambda, build_lambda, function_handler};

#[tokio::main]
async fn main() -> ExitCode {
    timmybot_lambda_common::run(Config::from_env, build_lambda, |lambda: &'static InteractionsLambda, request| {
        function_handler(&lambda.handler, &lambda.metrics, request)
    })
    .await
}
