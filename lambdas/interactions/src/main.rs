//! Cold start: read config once, build clients once, then serve requests.

use std::process::ExitCode;

use interactions_lambda::{Config, build_handler, function_handler};
use lambda_http::{run, service_fn};
use timmybot_emf::EmfEmitter;

#[tokio::main]
async fn main() -> ExitCode {
    // Honours AWS_LAMBDA_LOG_FORMAT / AWS_LAMBDA_LOG_LEVEL from the function's
    // logging config.
    lambda_http::tracing::init_default_subscriber();

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            // One line naming the variable; a panic would bury it in a trace.
            tracing::error!("configuration error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let handler = match build_handler(config).await {
        Ok(handler) => handler,
        Err(error) => {
            tracing::error!("startup failed: {error:#}");
            return ExitCode::FAILURE;
        }
    };

    // One EMF line per invocation on stdout, which Lambda ships to
    // CloudWatch Logs; CloudWatch extracts the metrics from it.
    let metrics = EmfEmitter::stdout();
    match run(service_fn(|request| function_handler(&handler, &metrics, request))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("lambda runtime stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
