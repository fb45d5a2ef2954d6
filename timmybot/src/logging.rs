//! The process's log setup, shared by the binary and the tests that check
//! what reaches the logs.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Directives appended after `RUST_LOG`, so no log level can undo them.
///
/// twilight-http 0.17 opens an info-level `req` span whose `url` field is the
/// full request path, and interaction webhook paths contain the interaction
/// token: with that span enabled every log line under it (hyper's, ours)
/// would carry a token. Keeping twilight-http at warn turns the span off.
const FORCED_DIRECTIVES: &[&str] = &["twilight_http=warn"];

/// The filter: `RUST_LOG` (or `default_level` when unset or invalid), then
/// the forced directives.
pub fn filter(rust_log: Option<&str>, default_level: &str) -> EnvFilter {
    let mut filter = rust_log.and_then(|v| EnvFilter::try_new(v).ok()).unwrap_or_else(|| EnvFilter::new(default_level));
    for directive in FORCED_DIRECTIVES {
        filter = filter.add_directive(directive.parse().expect("forced directives parse"));
    }
    filter
}

/// Installs the global subscriber writing to `writer`.
pub fn init<W>(rust_log: Option<&str>, default_level: &str, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter(rust_log, default_level))
        .with_ansi(false)
        .with_writer(writer)
        .init();
}
