//! The gateway service a Lambda starts (scale to zero): its ECS cluster
//! and service, and the start-check queue. Read the same way by the
//! interactions Lambda (which starts the service) and the start-check
//! Lambda (which starts it again when it is late).

use crate::{ConfigError, Vars};

/// Environment variable naming the gateway service's ECS cluster.
pub const GATEWAY_CLUSTER_VAR: &str = "TIMMYBOT_GATEWAY_CLUSTER";
/// Environment variable naming the gateway's ECS service.
pub const GATEWAY_SERVICE_VAR: &str = "TIMMYBOT_GATEWAY_SERVICE";
/// Environment variable with the start-check queue's URL (a standard SQS
/// queue: a start sets a delayed message there, which invokes the
/// start-check Lambda at the start's deadline).
pub const START_CHECK_QUEUE_URL_VAR: &str = "TIMMYBOT_START_CHECK_QUEUE_URL";

/// The three variables, set together or not at all.
pub const GATEWAY_SERVICE_VARS: [&str; 3] = [GATEWAY_CLUSTER_VAR, GATEWAY_SERVICE_VAR, START_CHECK_QUEUE_URL_VAR];

/// Where the gateway runs and where its start checks go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayService {
    /// The ECS cluster (`TIMMYBOT_GATEWAY_CLUSTER`).
    pub cluster: String,
    /// The ECS service (`TIMMYBOT_GATEWAY_SERVICE`).
    pub service: String,
    /// The start-check queue's URL (`TIMMYBOT_START_CHECK_QUEUE_URL`).
    pub start_check_queue_url: String,
}

impl GatewayService {
    /// The gateway service from `vars`: `None` when none of
    /// [`GATEWAY_SERVICE_VARS`] is set.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] naming the first unset one when some are
    /// set; [`ConfigError::Invalid`] when the queue URL is not http(s).
    pub fn from_vars<L: Fn(&str) -> Option<String>>(vars: &Vars<L>) -> Result<Option<Self>, ConfigError> {
        let values = GATEWAY_SERVICE_VARS.map(|name| vars.optional(name));
        if values.iter().all(Option::is_none) {
            return Ok(None);
        }
        let [cluster, service, queue] = values;
        let missing = |value: Option<String>, name| value.ok_or(ConfigError::Missing(name));
        let start_check_queue_url = missing(queue, START_CHECK_QUEUE_URL_VAR)?;
        if !(start_check_queue_url.starts_with("https://") || start_check_queue_url.starts_with("http://")) {
            return Err(ConfigError::invalid(START_CHECK_QUEUE_URL_VAR, "expected an http(s) URL"));
        }
        Ok(Some(Self {
            cluster: missing(cluster, GATEWAY_CLUSTER_VAR)?,
            service: missing(service, GATEWAY_SERVICE_VAR)?,
            start_check_queue_url,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&'static str, &'static str)]) -> Result<Option<GatewayService>, ConfigError> {
        let pairs = pairs.to_vec();
        GatewayService::from_vars(&Vars::new(move |name: &str| {
            pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        }))
    }

    const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/1/start-check";

    #[test]
    fn all_three_or_none() {
        assert_eq!(read(&[]).unwrap(), None);
        let all = read(&[(GATEWAY_CLUSTER_VAR, "c"), (GATEWAY_SERVICE_VAR, "s"), (START_CHECK_QUEUE_URL_VAR, QUEUE)]);
        assert_eq!(
            all.unwrap(),
            Some(GatewayService { cluster: "c".into(), service: "s".into(), start_check_queue_url: QUEUE.into() })
        );
        let no_queue = read(&[(GATEWAY_CLUSTER_VAR, "c"), (GATEWAY_SERVICE_VAR, "s")]);
        assert_eq!(no_queue, Err(ConfigError::Missing(START_CHECK_QUEUE_URL_VAR)));
        let no_service = read(&[(GATEWAY_CLUSTER_VAR, "c"), (START_CHECK_QUEUE_URL_VAR, QUEUE)]);
        assert_eq!(no_service, Err(ConfigError::Missing(GATEWAY_SERVICE_VAR)));
        let no_cluster = read(&[(GATEWAY_SERVICE_VAR, "s"), (START_CHECK_QUEUE_URL_VAR, QUEUE)]);
        assert_eq!(no_cluster, Err(ConfigError::Missing(GATEWAY_CLUSTER_VAR)));
    }

    #[test]
    fn the_queue_must_be_a_url_and_is_not_quoted() {
        let error = read(&[(GATEWAY_CLUSTER_VAR, "c"), (GATEWAY_SERVICE_VAR, "s"), (START_CHECK_QUEUE_URL_VAR, "q-x")])
            .unwrap_err();
        assert!(error.to_string().contains(START_CHECK_QUEUE_URL_VAR));
        assert!(!error.to_string().contains("q-x"));
    }
}
