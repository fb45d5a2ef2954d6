//! The runtime the end-to-end tests run on.

/// A multi-thread tokio runtime, with logs routed to the test writer (nextest
/// shows them when a test fails; `RUST_LOG` sets the level, `info` by
/// default).
///
/// # Panics
/// When the runtime cannot be built.
pub fn runtime_with_logs() -> tokio::runtime::Runtime {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_test_writer()
        .try_init();
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")
}
