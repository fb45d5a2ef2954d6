//! Metrics as a port: a [`MetricRecord`] of named values, and a
//! [`MetricsRecorder`] that takes it.
//!
//! Nothing here knows a metrics backend: an adapter renders records for one
//! (the `timmybot-emf` crate prints them as one log line each, which the
//! AWS deployment turns into metrics). A record belongs to one service
//! ([`INTERACTIONS_SERVICE`], [`GATEWAY_SERVICE`]), carries metrics (a name,
//! a [`Unit`] and a number) and plain properties (a name and a short text
//! worth searching for, never an aggregate). Names are `&'static str`, so a
//! name can never come from a request.

/// `Service` of the interactions Lambda.
pub const INTERACTIONS_SERVICE: &str = "interactions";
/// Handler time of one invocation (Milliseconds).
pub const INTERACTION_LATENCY: &str = "InteractionLatency";
/// 1 when the invocation answered 5xx or failed, else 0 (Count).
pub const INTERACTION_ERRORS: &str = "InteractionErrors";
/// 1 per invocation (Count).
pub const INTERACTIONS: &str = "Interactions";
/// Property: which kind of interaction, a fixed label.
pub const INTERACTION_KIND: &str = "InteractionKind";
/// Property: the HTTP status the invocation answered.
pub const STATUS_CODE: &str = "StatusCode";

/// `Service` of the gateway service.
pub const GATEWAY_SERVICE: &str = "gateway";
/// Players with a current track when the record was taken (Count).
pub const ACTIVE_PLAYERS: &str = "ActivePlayers";
/// 20 ms audio frames songbird mixed from the players' tracks during the
/// interval, summed over players (Count).
pub const FRAMES_SENT: &str = "FramesSent";
/// 20 ms frames during the interval in which a track was meant to play but
/// its audio was not ready yet (opening, seeking): the call got silence or
/// nothing. Summed over players (Count).
pub const FRAMES_NULLED: &str = "FramesNulled";
/// 20 ms frames the playing tracks fell behind wall-clock time during the
/// interval, neither sent nor nulled, summed over players (Count).
pub const FRAME_DEFICIT: &str = "FrameDeficit";
/// Commands the gateway service ran during the interval (Count).
pub const COMMANDS_PROCESSED: &str = "CommandsProcessed";
/// Commands that failed on our side during the interval (Count).
pub const COMMAND_ERRORS: &str = "CommandErrors";

/// A metric's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unit {
    /// A duration in milliseconds.
    Milliseconds,
    /// A count of things.
    Count,
}

/// One record: a service, its metrics and plain properties, in the order
/// they were added.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRecord {
    service: &'static str,
    metrics: Vec<(&'static str, Unit, f64)>,
    properties: Vec<(&'static str, String)>,
}

impl MetricRecord {
    /// An empty record for `service`.
    pub fn new(service: &'static str) -> Self {
        Self { service, metrics: Vec::new(), properties: Vec::new() }
    }

    /// Adds a metric.
    #[must_use]
    pub fn metric(mut self, name: &'static str, unit: Unit, value: f64) -> Self {
        self.metrics.push((name, unit, value));
        self
    }

    /// Adds a plain property: searchable, not aggregated.
    /// Never pass a token, a user id, a URL or a body.
    #[must_use]
    pub fn property(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.properties.push((name, value.into()));
        self
    }

    /// The service the record belongs to.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The metrics: name, unit, value.
    pub fn metrics(&self) -> &[(&'static str, Unit, f64)] {
        &self.metrics
    }

    /// The properties: name, value.
    pub fn properties(&self) -> &[(&'static str, String)] {
        &self.properties
    }

    /// The value of metric `name`, if the record has it.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find(|(n, _, _)| *n == name).map(|(_, _, v)| *v)
    }
}

/// Where records go. Best effort: a record the backend cannot take (or a
/// backend that is down) is logged by the adapter and dropped, never an
/// error for the caller, whose work must not fail over a metric.
pub trait MetricsRecorder: Send + Sync + 'static {
    /// Takes one record.
    fn record(&self, record: &MetricRecord);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_keeps_its_metrics_and_properties_in_order() {
        let record = MetricRecord::new(GATEWAY_SERVICE)
            .metric(ACTIVE_PLAYERS, Unit::Count, 2.0)
            .metric(FRAMES_SENT, Unit::Count, 2990.0)
            .property(STATUS_CODE, "200");
        assert_eq!(record.service(), "gateway");
        assert_eq!(
            record.metrics(),
            [(ACTIVE_PLAYERS, Unit::Count, 2.0), (FRAMES_SENT, Unit::Count, 2990.0)].as_slice()
        );
        assert_eq!(record.properties(), [(STATUS_CODE, "200".to_owned())].as_slice());
        assert_eq!(record.value(FRAMES_SENT), Some(2990.0));
        assert_eq!(record.value(FRAME_DEFICIT), None);
    }
}
