//! A Lambda's `main`: read the configuration once, build the clients once,
//! then hand every request to the Lambda's `function_handler`.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::process::ExitCode;

use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::{Body, Request, Response, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ConfigError;

/// Why a cold start stopped before serving: the one line `run` logs.
///
/// A panic would bury the cause in a backtrace; one line naming the
/// variable, the secret entry or the client is what the deployer reads in
/// the function's log. Built only from messages that never hold values
/// ([`ConfigError`], and the build's error chain, whose adapters name
/// secrets but never print them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupFailure {
    line: String,
}

impl StartupFailure {
    /// The line logged: `configuration error: …` or `startup failed: …`,
    /// with the error's causes after colons.
    pub fn line(&self) -> &str {
        &self.line
    }
}

impl fmt::Display for StartupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

/// `error` and each of its sources, separated by `: `, on one line.
fn one_line(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // anyhow's context and thiserror's `{0}` wrappers may repeat their
        // source's message: say it once.
        if !line.ends_with(&cause_text) {
            line.push_str(": ");
            line.push_str(&cause_text);
        }
        source = cause.source();
    }
    line.replace('\n', " ")
}

/// The first half of a cold start: `read_config`, then `build` with the
/// configuration it read; `build` is not called when the configuration is
/// wrong.
///
/// # Errors
/// [`StartupFailure`] with the line to log.
pub async fn start<C, S, E, B, BF>(
    read_config: impl FnOnce() -> Result<C, ConfigError>,
    build: B,
) -> Result<S, StartupFailure>
where
    B: FnOnce(C) -> BF,
    BF: Future<Output = Result<S, E>>,
    E: Into<Box<dyn Error + Send + Sync>>,
{
    let config = read_config().map_err(|e| StartupFailure { line: format!("configuration error: {e}") })?;
    build(config).await.map_err(|e| {
        let e: Box<dyn Error + Send + Sync> = e.into();
        StartupFailure { line: format!("startup failed: {}", one_line(e.as_ref())) }
    })
}

/// A Lambda's whole `main` behind a Function URL: chooses rustls' crypto
/// provider, starts the logs (honouring the function's
/// `AWS_LAMBDA_LOG_FORMAT` and `AWS_LAMBDA_LOG_LEVEL`), runs [`start`],
/// then serves every request with `handler` over what `build` returned,
/// until the runtime stops.
///
/// A failed start logs its one line and exits with failure, so Lambda
/// reports an init error and retries the cold start on the next request.
/// What `build` returned lives for the rest of the process: it is shared by
/// every invocation, as a cold start's clients are.
pub async fn run<C, S, E, B, BF, H, HF>(
    read_config: impl FnOnce() -> Result<C, ConfigError>,
    build: B,
    handler: H,
) -> ExitCode
where
    B: FnOnce(C) -> BF,
    BF: Future<Output = Result<S, E>>,
    E: Into<Box<dyn Error + Send + Sync>>,
    S: Sync + 'static,
    H: Fn(&'static S, Request) -> HF,
    HF: Future<Output = Result<Response<Body>, lambda_http::Error>> + Send + 'static,
{
    let state = match prepare(read_config, build).await {
        Ok(state) => state,
        Err(code) => return code,
    };
    finish(lambda_http::run(service_fn(|request| handler(state, request))).await)
}

/// [`run`] for a Lambda invoked by events (an SQS queue, a schedule):
/// `handler` gets each event's payload, deserialized as `Ev`.
pub async fn run_events<C, S, E, B, BF, H, HF, Ev, R>(
    read_config: impl FnOnce() -> Result<C, ConfigError>,
    build: B,
    handler: H,
) -> ExitCode
where
    B: FnOnce(C) -> BF,
    BF: Future<Output = Result<S, E>>,
    E: Into<Box<dyn Error + Send + Sync>>,
    S: Sync + 'static,
    H: Fn(&'static S, LambdaEvent<Ev>) -> HF,
    HF: Future<Output = Result<R, lambda_http::Error>> + Send + 'static,
    Ev: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
{
    let state = match prepare(read_config, build).await {
        Ok(state) => state,
        Err(code) => return code,
    };
    finish(lambda_runtime::run(service_fn(|event| handler(state, event))).await)
}

/// The crypto provider, the logs, and [`start`]; what it built, kept for
/// the rest of the process (a `'static` borrow lets each invocation's
/// future hold it without reference counting).
async fn prepare<C, S, E, B, BF>(
    read_config: impl FnOnce() -> Result<C, ConfigError>,
    build: B,
) -> Result<&'static S, ExitCode>
where
    S: 'static,
    B: FnOnce(C) -> BF,
    BF: Future<Output = Result<S, E>>,
    E: Into<Box<dyn Error + Send + Sync>>,
{
    install_crypto_provider();
    lambda_http::tracing::init_default_subscriber();
    match start(read_config, build).await {
        Ok(state) => Ok(Box::leak(Box::new(state))),
        Err(failure) => {
            tracing::error!("{failure}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// The exit code once the runtime stopped.
fn finish(ran: Result<(), lambda_http::Error>) -> ExitCode {
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("lambda runtime stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Chooses rustls' crypto backend for the whole process.
///
/// Both backends are compiled in (the AWS SDK brings aws-lc-rs, the Discord
/// client ring) and rustls then refuses to guess; [`run`] calls this first.
/// Calling it twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("could not build the Discord client")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("secret discord-token could not be read")]
    struct Inner;

    #[tokio::test]
    async fn a_configuration_error_is_one_line_naming_the_variable_and_nothing_is_built() {
        let built = Cell::new(false);
        let failure = start(
            || Err::<(), _>(ConfigError::Missing("TIMMYBOT_TABLE_GUILDS")),
            |()| async {
                built.set(true);
                Ok::<_, Inner>(())
            },
        )
        .await
        .unwrap_err();
        assert_eq!(failure.line(), "configuration error: TIMMYBOT_TABLE_GUILDS is not set");
        assert!(!built.get(), "no client is built from a wrong configuration");
    }

    #[tokio::test]
    async fn a_build_error_is_one_line_with_its_causes() {
        let failure = start(|| Ok(7), |_| async { Err::<(), _>(Outer(Inner)) }).await.unwrap_err();
        assert_eq!(
            failure.to_string(),
            "startup failed: could not build the Discord client: secret discord-token could not be read"
        );
        assert!(!failure.line().contains('\n'));
    }

    #[tokio::test]
    async fn the_configuration_read_is_what_build_gets() {
        let state = start(|| Ok(21), |n: u32| async move { Ok::<_, Inner>(n * 2) }).await.unwrap();
        assert_eq!(state, 42);
    }
}
