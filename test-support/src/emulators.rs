//! Reaching the local AWS emulators from tests.
//!
//! `scripts/emulators.sh start` (run by `./scripts/test`) starts DynamoDB
//! Local and moto and writes their endpoints to `.tools/emulators.env`; the
//! test command exports them. [`Emulators::from_env`] reads them and builds
//! one [`SdkConfig`] whose per-service endpoints point at the right emulator,
//! with static test credentials, so the real SDK clients are used unchanged
//! and nothing from the developer's own AWS setup (profiles, instance
//! metadata, real keys) can leak in.
//!
//! A test that needs the emulators fails when they are not configured; it is
//! never skipped, because a skipped contract suite looks like a passing one.

use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The variable holding DynamoDB Local's endpoint URL.
pub const DYNAMODB_ENDPOINT_VAR: &str = "TIMMYBOT_TEST_DYNAMODB_ENDPOINT";
/// The variable holding moto's endpoint URL (Secrets Manager, SQS, ECS).
pub const MOTO_ENDPOINT_VAR: &str = "TIMMYBOT_TEST_MOTO_ENDPOINT";

/// The region every emulator call uses.
pub const REGION: &str = "us-east-1";

/// Where the local emulators listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emulators {
    /// DynamoDB Local, e.g. `http://127.0.0.1:8000`.
    pub dynamodb_endpoint: String,
    /// moto, serving Secrets Manager, SQS and ECS.
    pub moto_endpoint: String,
}

impl Emulators {
    /// Reads the endpoints from [`DYNAMODB_ENDPOINT_VAR`] and
    /// [`MOTO_ENDPOINT_VAR`].
    ///
    /// # Panics
    /// When either is unset or empty, with a message saying how to run the
    /// tests: the test fails rather than silently skipping.
    pub fn from_env() -> Self {
        Self { dynamodb_endpoint: required(DYNAMODB_ENDPOINT_VAR), moto_endpoint: required(MOTO_ENDPOINT_VAR) }
    }

    /// An SDK config for the emulators: static test credentials, region
    /// [`REGION`], and each service's endpoint overridden (DynamoDB to
    /// DynamoDB Local; Secrets Manager, SQS and ECS to moto).
    ///
    /// Build clients from it as usual: `aws_sdk_sqs::Client::new(&config)`.
    pub fn sdk_config(&self) -> SdkConfig {
        // Fixed, obviously fake keys: the emulators accept any, and a real
        // key must never be picked up from the environment by a test.
        let credentials = Credentials::new("AKIDTIMMYBOTTEST", "timmybot-test-secret", None, None, "timmybot-test");
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .service_config(Endpoints(self.clone()))
            .build()
    }

    /// Points the default credential chain, the way a deployed component
    /// builds its clients, at the emulators: the standard
    /// `AWS_ENDPOINT_URL_<SERVICE>` variables (DynamoDB to DynamoDB Local;
    /// Secrets Manager, SQS and ECS to moto), the same fake keys as
    /// [`Emulators::sdk_config`], region [`REGION`], and no instance
    /// metadata. A test may override one endpoint afterwards.
    ///
    /// # Safety
    /// Sets process-wide variables: call it before any other thread exists
    /// (first thing in a `#[test]`; nextest runs each test in its own
    /// process).
    pub unsafe fn export_for_default_chain(&self) {
        let vars = [
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb_endpoint.as_str()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", self.moto_endpoint.as_str()),
            ("AWS_ENDPOINT_URL_SQS", self.moto_endpoint.as_str()),
            ("AWS_ENDPOINT_URL_ECS", self.moto_endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "AKIDTIMMYBOTTEST"),
            ("AWS_SECRET_ACCESS_KEY", "timmybot-test-secret"),
            ("AWS_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        for (name, value) in vars {
            // SAFETY: the caller guarantees no other thread reads the
            // environment meanwhile.
            unsafe { std::env::set_var(name, value) };
        }
    }
}

/// Answers the SDK's per-service endpoint lookup, as
/// `AWS_ENDPOINT_URL_<SERVICE>` does in production-style configuration.
#[derive(Debug, Clone)]
struct Endpoints(Emulators);

impl LoadServiceConfig for Endpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.profile() != "endpoint_url" {
            return None;
        }
        match key.service_id() {
            "DynamoDB" => Some(self.0.dynamodb_endpoint.clone()),
            "Secrets Manager" | "SQS" | "ECS" => Some(self.0.moto_endpoint.clone()),
            // Anything else must not reach real AWS from a test: point it
            // at an address that refuses connections.
            _ => Some("http://127.0.0.1:9".to_owned()),
        }
    }
}

fn required(var: &str) -> String {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => value,
        _ => panic!(
            "{var} is not set: these tests need the local AWS emulators. Run them with ./scripts/test, \
             or start the emulators with `scripts/emulators.sh start` and export what \
             `scripts/emulators.sh env` prints"
        ),
    }
}

/// A short name unique to this test run and call, for tables and queues, so
/// tests sharing one emulator never see each other's resources.
///
/// `label` is cut to 16 characters and anything outside `[A-Za-z0-9-]` is
/// replaced, so the result (at most 40 characters) is valid as a DynamoDB
/// table name prefix and as an SQS queue name (which allows 80, `.fifo`
/// included).
pub fn unique_name(label: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let label: String =
        label.chars().take(16).map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{label}-{:x}-{n}-{:06x}", std::process::id(), rand::random::<u32>() & 0xff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ_and_fit_sqs_limits() {
        let a = unique_name("a very long label with spaces/and slashes");
        let b = unique_name("a very long label with spaces/and slashes");
        assert_ne!(a, b);
        assert!(a.len() + ".fifo".len() <= 80 && a.len() <= 40, "{a}");
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{a}");
    }

    #[test]
    fn from_env_without_endpoints_fails_pointing_at_scripts_test() {
        const CHILD: &str = "TIMMYBOT_EMULATORS_UNSET_CHILD";
        if std::env::var_os(CHILD).is_some() {
            Emulators::from_env();
            return;
        }
        // Run this same test in a child process with the variables removed,
        // so this process's environment (read by other tests) never changes.
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "--nocapture",
                "emulators::tests::from_env_without_endpoints_fails_pointing_at_scripts_test",
            ])
            .env_remove(DYNAMODB_ENDPOINT_VAR)
            .env_remove(MOTO_ENDPOINT_VAR)
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "the child must fail");
        assert!(stderr.contains("./scripts/test") && stderr.contains(DYNAMODB_ENDPOINT_VAR), "{stderr}");
    }

    #[test]
    fn endpoints_route_each_service_to_its_emulator() {
        let endpoints = Endpoints(Emulators {
            dynamodb_endpoint: "http://127.0.0.1:1".into(),
            moto_endpoint: "http://127.0.0.1:2".into(),
        });
        let key = |service| {
            ServiceConfigKey::builder()
                .service_id(service)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .unwrap()
        };
        assert_eq!(endpoints.load_config(key("DynamoDB")).as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(endpoints.load_config(key("SQS")).as_deref(), Some("http://127.0.0.1:2"));
        assert_eq!(endpoints.load_config(key("Secrets Manager")).as_deref(), Some("http://127.0.0.1:2"));
        assert_eq!(endpoints.load_config(key("STS")).as_deref(), Some("http://127.0.0.1:9"));
    }
}
