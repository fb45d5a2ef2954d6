//! CloudWatch Embedded Metric Format (EMF): metrics as one JSON log line.
//!
//! A [`MetricRecord`] renders to one line CloudWatch Logs turns into metrics
//! (spec: "Specification: Embedded metric format" in the CloudWatch user
//! guide):
//!
//! ```json
//! {"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"Timmybot",
//!   "Dimensions":[["Service"]],"Metrics":[{"Name":"Interactions","Unit":"Count"}]}]},
//!  "Service":"interactions","Interactions":1,"InteractionKind":"ping"}
//! ```
//!
//! Every record has exactly one dimension, [`SERVICE_DIMENSION`]; anything
//! else worth searching for goes in as a plain property, which costs nothing
//! per value (a dimension value is a new metric, billed). Metric and property
//! names are `&'static str`, so a name can never come from a request.
//!
//! [`EmfEmitter`] stamps a record with the [`Clock`] and hands the line to a
//! [`MetricsSink`]: [`StdoutSink`] in production (the Lambda and the ECS task
//! ship stdout to CloudWatch Logs), [`MemorySink`] in tests.

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::{Clock, SystemClock};

/// The CloudWatch namespace of every timmybot metric.
pub const NAMESPACE: &str = "Timmybot";
/// The one dimension of every record: which service emitted it.
pub const SERVICE_DIMENSION: &str = "Service";

/// `Service` of the interactions Lambda.
pub const INTERACTIONS_SERVICE: &str = "interactions";
/// Handler time of one invocation (Milliseconds).
pub const INTERACTION_LATENCY: &str = "InteractionLatency";
/// 1 when the invocation answered 5xx or failed, else 0 (Count).
pub const INTERACTION_ERRORS: &str = "InteractionErrors";
/// 1 per invocation (Count).
pub const INTERACTIONS: &str = "Interactions";
/// Property (not a dimension): which kind of interaction, a fixed label.
pub const INTERACTION_KIND: &str = "InteractionKind";
/// Property (not a dimension): the HTTP status the invocation answered.
pub const STATUS_CODE: &str = "StatusCode";

/// `Service` of the gateway service.
pub const GATEWAY_SERVICE: &str = "gateway";
/// Players with a current track when the record was taken (Count).
pub const ACTIVE_PLAYERS: &str = "ActivePlayers";
/// 20 ms audio frames the playing tracks fell behind wall-clock time during
/// the interval, summed over players (Count).
pub const FRAME_DEFICIT: &str = "FrameDeficit";
/// Commands the gateway service ran during the interval (Count).
pub const COMMANDS_PROCESSED: &str = "CommandsProcessed";
/// Commands that failed on our side during the interval (Count).
pub const COMMAND_ERRORS: &str = "CommandErrors";

/// At most this many metrics in one record (EMF: 100 per directive).
pub const MAX_METRICS: usize = 100;
/// Metric and property names are 1 to 255 characters (EMF).
pub const MAX_NAME_LEN: usize = 255;

/// The member of the root object EMF reserves for its metadata.
const AWS_MEMBER: &str = "_aws";

/// A metric's unit, as CloudWatch spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unit {
    /// `Milliseconds`.
    Milliseconds,
    /// `Count`.
    Count,
}

impl Unit {
    /// The unit's CloudWatch name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Milliseconds => "Milliseconds",
            Self::Count => "Count",
        }
    }
}

/// A record that would not be valid EMF; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmfError {
    /// A record must carry at least one metric.
    #[error("metric record has no metrics")]
    NoMetrics,
    /// More than [`MAX_METRICS`] metrics.
    #[error("metric record has {0} metrics, more than {MAX_METRICS}")]
    TooManyMetrics(usize),
    /// A name is empty or longer than [`MAX_NAME_LEN`].
    #[error("metric or property name {0:?} is empty or too long")]
    BadName(&'static str),
    /// A name is used twice, or collides with `_aws` or the dimension.
    #[error("name {0:?} is used twice in one record")]
    DuplicateName(&'static str),
    /// JSON cannot carry NaN or infinity.
    #[error("metric {0:?} is not a finite number")]
    NotFinite(&'static str),
}

/// One EMF record: a service, its metrics and plain properties.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRecord {
    service: &'static str,
    metrics: Vec<(&'static str, Unit, f64)>,
    properties: Vec<(&'static str, String)>,
}

impl MetricRecord {
    /// An empty record for `service` (the [`SERVICE_DIMENSION`] value).
    pub fn new(service: &'static str) -> Self {
        Self { service, metrics: Vec::new(), properties: Vec::new() }
    }

    /// Adds a metric.
    #[must_use]
    pub fn metric(mut self, name: &'static str, unit: Unit, value: f64) -> Self {
        self.metrics.push((name, unit, value));
        self
    }

    /// Adds a plain property: searchable in Logs Insights, not a dimension.
    /// Never pass a token, a user id, a URL or a body.
    #[must_use]
    pub fn property(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.properties.push((name, value.into()));
        self
    }

    /// The value of metric `name`, if the record has it.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find(|(n, _, _)| *n == name).map(|(_, _, v)| *v)
    }

    /// Renders the record as one line of JSON (no newline) stamped with
    /// `timestamp_ms` (Unix milliseconds).
    ///
    /// # Errors
    /// [`EmfError`] when the record would not be valid EMF.
    pub fn render(&self, timestamp_ms: u64) -> Result<String, EmfError> {
        self.validate()?;
        let definitions: Vec<Value> =
            self.metrics.iter().map(|(name, unit, _)| json!({ "Name": name, "Unit": unit.as_str() })).collect();
        let mut root = Map::new();
        root.insert(
            AWS_MEMBER.to_owned(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [[SERVICE_DIMENSION]],
                    "Metrics": definitions,
                }],
            }),
        );
        root.insert(SERVICE_DIMENSION.to_owned(), Value::from(self.service));
        for (name, _, value) in &self.metrics {
            // Whole numbers render as integers ("Interactions":1).
            let number = if value.fract() == 0.0 && value.abs() < 9.0e15 {
                Value::from(*value as i64)
            } else {
                Value::from(*value)
            };
            root.insert((*name).to_owned(), number);
        }
        for (name, value) in &self.properties {
            root.insert((*name).to_owned(), Value::from(value.as_str()));
        }
        Ok(Value::Object(root).to_string())
    }

    fn validate(&self) -> Result<(), EmfError> {
        if self.metrics.is_empty() {
            return Err(EmfError::NoMetrics);
        }
        if self.metrics.len() > MAX_METRICS {
            return Err(EmfError::TooManyMetrics(self.metrics.len()));
        }
        if self.service.is_empty() {
            return Err(EmfError::BadName(SERVICE_DIMENSION));
        }
        let mut seen: Vec<&'static str> = vec![AWS_MEMBER, SERVICE_DIMENSION];
        let names = self.metrics.iter().map(|(n, _, _)| *n).chain(self.properties.iter().map(|(n, _)| *n));
        for name in names {
            if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
                return Err(EmfError::BadName(name));
            }
            if seen.contains(&name) {
                return Err(EmfError::DuplicateName(name));
            }
            seen.push(name);
        }
        if let Some((name, _, _)) = self.metrics.iter().find(|(_, _, v)| !v.is_finite()) {
            return Err(EmfError::NotFinite(name));
        }
        Ok(())
    }
}

/// Where rendered records go: one call per record, one whole line.
pub trait MetricsSink: Send + Sync + 'static {
    /// Writes `line` (one JSON object, no newline) as one log line.
    fn write_line(&self, line: &str);
}

/// Writes each record to stdout with one write under the stdout lock, so a
/// record is never interleaved with other output of this process.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutSink;

impl MetricsSink for StdoutSink {
    fn write_line(&self, line: &str) {
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        let mut out = std::io::stdout().lock();
        // Nowhere to report a failed stdout write; metrics are best effort.
        let _ = out.write_all(buf.as_bytes()).and_then(|()| out.flush());
    }
}

/// Keeps lines in memory, for tests. Clones share the lines.
#[derive(Debug, Clone, Default)]
pub struct MemorySink(Arc<Mutex<Vec<String>>>);

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every line written so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().expect("memory sink lock poisoned").clone()
    }

    /// Every line written so far, parsed.
    ///
    /// # Panics
    /// A line is not JSON (the sink only ever holds rendered records).
    pub fn records(&self) -> Vec<Value> {
        self.lines().iter().map(|l| serde_json::from_str(l).expect("rendered records are JSON")).collect()
    }
}

impl MetricsSink for MemorySink {
    fn write_line(&self, line: &str) {
        self.0.lock().expect("memory sink lock poisoned").push(line.to_owned());
    }
}

/// Stamps records with the clock and writes them to a sink. Cheap to clone.
#[derive(Clone)]
pub struct EmfEmitter {
    sink: Arc<dyn MetricsSink>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for EmfEmitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmfEmitter").finish_non_exhaustive()
    }
}

impl EmfEmitter {
    /// Writes to `sink`, stamped with `clock` (second resolution).
    pub fn new(sink: Arc<dyn MetricsSink>, clock: Arc<dyn Clock>) -> Self {
        Self { sink, clock }
    }

    /// The production emitter: stdout, the system clock.
    pub fn stdout() -> Self {
        Self::new(Arc::new(StdoutSink), Arc::new(SystemClock))
    }

    /// Renders `record` and writes it as one line.
    ///
    /// # Errors
    /// [`EmfError`] when the record is not valid EMF; nothing is written.
    pub fn emit(&self, record: &MetricRecord) -> Result<(), EmfError> {
        let line = record.render(self.clock.now_unix().saturating_mul(1000))?;
        self.sink.write_line(&line);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    fn interaction() -> MetricRecord {
        MetricRecord::new(INTERACTIONS_SERVICE)
            .metric(INTERACTION_LATENCY, Unit::Milliseconds, 12.5)
            .metric(INTERACTION_ERRORS, Unit::Count, 0.0)
            .metric(INTERACTIONS, Unit::Count, 1.0)
            .property(INTERACTION_KIND, "ping")
    }

    #[test]
    fn rendered_record_matches_the_emf_document_structure() {
        let line = interaction().render(1_767_225_600_000).unwrap();
        assert!(!line.contains('\n'));
        let record: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            record,
            json!({
                "_aws": {
                    "Timestamp": 1_767_225_600_000_u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Timmybot",
                        "Dimensions": [["Service"]],
                        "Metrics": [
                            {"Name": "InteractionLatency", "Unit": "Milliseconds"},
                            {"Name": "InteractionErrors", "Unit": "Count"},
                            {"Name": "Interactions", "Unit": "Count"},
                        ],
                    }],
                },
                "Service": "interactions",
                "InteractionLatency": 12.5,
                "InteractionErrors": 0,
                "Interactions": 1,
                "InteractionKind": "ping",
            })
        );
    }

    #[test]
    fn every_metric_and_dimension_the_directive_names_is_a_root_member() {
        let record: Value = serde_json::from_str(&interaction().render(0).unwrap()).unwrap();
        let directive = &record["_aws"]["CloudWatchMetrics"][0];
        for dimension in directive["Dimensions"][0].as_array().unwrap() {
            assert!(record[dimension.as_str().unwrap()].is_string(), "dimension values are strings");
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(record[metric["Name"].as_str().unwrap()].is_number(), "metric values are numbers");
        }
        assert!(record["_aws"]["Timestamp"].is_u64());
    }

    #[test]
    fn invalid_records_are_refused() {
        assert_eq!(MetricRecord::new(GATEWAY_SERVICE).render(0), Err(EmfError::NoMetrics));
        let mut many = MetricRecord::new(GATEWAY_SERVICE);
        let names: Vec<&'static str> = (0..=MAX_METRICS).map(|i| &*format!("m{i}").leak()).collect();
        for name in &names {
            many = many.metric(name, Unit::Count, 1.0);
        }
        assert_eq!(many.render(0), Err(EmfError::TooManyMetrics(MAX_METRICS + 1)));
        let empty = MetricRecord::new(GATEWAY_SERVICE).metric("", Unit::Count, 1.0);
        assert_eq!(empty.render(0), Err(EmfError::BadName("")));
        let twice =
            MetricRecord::new(GATEWAY_SERVICE).metric(ACTIVE_PLAYERS, Unit::Count, 1.0).property(ACTIVE_PLAYERS, "x");
        assert_eq!(twice.render(0), Err(EmfError::DuplicateName(ACTIVE_PLAYERS)));
        let reserved = MetricRecord::new(GATEWAY_SERVICE).metric(SERVICE_DIMENSION, Unit::Count, 1.0);
        assert_eq!(reserved.render(0), Err(EmfError::DuplicateName(SERVICE_DIMENSION)));
        let nan = MetricRecord::new(GATEWAY_SERVICE).metric(FRAME_DEFICIT, Unit::Count, f64::NAN);
        assert_eq!(nan.render(0), Err(EmfError::NotFinite(FRAME_DEFICIT)));
    }

    #[test]
    fn emitter_stamps_records_with_the_clock_in_milliseconds() {
        let sink = MemorySink::new();
        let emitter = EmfEmitter::new(Arc::new(sink.clone()), Arc::new(ManualClock::at(1_767_225_600)));
        emitter.emit(&interaction()).unwrap();
        assert_eq!(emitter.emit(&MetricRecord::new(GATEWAY_SERVICE)), Err(EmfError::NoMetrics));
        let records = sink.records();
        assert_eq!(records.len(), 1, "an invalid record writes nothing");
        assert_eq!(records[0]["_aws"]["Timestamp"], json!(1_767_225_600_000_u64));
    }
}
