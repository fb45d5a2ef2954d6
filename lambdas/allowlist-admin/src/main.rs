//! Cold start: read config once, build clients once, then serve requests.

use std::process::ExitCode;

use allowlist_admin_lambda::{Config, build_api, function_handler, install_crypto_provider};
use lambda_http::{run, service_fn};

#[tokio::main]
async fn main() -> ExitCode {
    install_crypto_provider();
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
    let api = match build_api(config).await {
        Ok(api) => api,
        Err(error) => {
            tracing::error!("startup failed: {error}");
            return ExitCode::FAILURE;
        }
    };

    match run(service_fn(|request| function_handler(&api, request))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("lambda runtime stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
