//! CloudWatch Embedded Metric Format (EMF): the core's metric records as
//! one JSON log line each.
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
//! Every record has exactly one dimension, [`SERVICE_DIMENSION`], whose value
//! is the record's service; anything else worth searching for goes in as a
//! plain property, which costs nothing per value (a dimension value is a new
//! metric, billed).
//!
//! [`EmfEmitter`] is the core's [`MetricsRecorder`]: it stamps a record with
//! the [`Clock`] and hands the line to a [`MetricsSink`]: [`StdoutSink`] in
//! production (the Lambda and the ECS task ship stdout to CloudWatch Logs),
//! [`MemorySink`] in tests.
#![warn(missing_docs)]

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};
use timmybot_core::metrics::{MetricRecord, MetricsRecorder, Unit};
use timmybot_core::{Clock, SystemClock};

/// The CloudWatch namespace of every timmybot metric.
pub const NAMESPACE: &str = "Timmybot";
/// The one dimension of every record: which service emitted it.
pub const SERVICE_DIMENSION: &str = "Service";

/// At most this many metrics in one record (EMF: 100 per directive).
pub const MAX_METRICS: usize = 100;
/// Metric and property names are 1 to 255 characters (EMF).
pub const MAX_NAME_LEN: usize = 255;

/// The member of the root object EMF reserves for its metadata.
const AWS_MEMBER: &str = "_aws";

/// A unit as CloudWatch spells it.
pub fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Milliseconds => "Milliseconds",
        // `Unit` is non-exhaustive: a unit added in core without a name here
        // still renders, as a plain count.
        _ => "Count",
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

/// Renders `record` as one line of EMF JSON (no newline) stamped with
/// `timestamp_ms` (Unix milliseconds).
///
/// # Errors
/// [`EmfError`] when the record would not be valid EMF.
pub fn render(record: &MetricRecord, timestamp_ms: u64) -> Result<String, EmfError> {
    validate(record)?;
    let definitions: Vec<Value> =
        record.metrics().iter().map(|(name, unit, _)| json!({ "Name": name, "Unit": unit_name(*unit) })).collect();
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
    root.insert(SERVICE_DIMENSION.to_owned(), Value::from(record.service()));
    for (name, _, value) in record.metrics() {
        // Whole numbers render as integers ("Interactions":1).
        let number =
            if value.fract() == 0.0 && value.abs() < 9.0e15 { Value::from(*value as i64) } else { Value::from(*value) };
        root.insert((*name).to_owned(), number);
    }
    for (name, value) in record.properties() {
        root.insert((*name).to_owned(), Value::from(value.as_str()));
    }
    Ok(Value::Object(root).to_string())
}

fn validate(record: &MetricRecord) -> Result<(), EmfError> {
    let metrics = record.metrics();
    if metrics.is_empty() {
        return Err(EmfError::NoMetrics);
    }
    if metrics.len() > MAX_METRICS {
        return Err(EmfError::TooManyMetrics(metrics.len()));
    }
    if record.service().is_empty() {
        return Err(EmfError::BadName(SERVICE_DIMENSION));
    }
    let mut seen: Vec<&'static str> = vec![AWS_MEMBER, SERVICE_DIMENSION];
    let names = metrics.iter().map(|(n, _, _)| *n).chain(record.properties().iter().map(|(n, _)| *n));
    for name in names {
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            return Err(EmfError::BadName(name));
        }
        if seen.contains(&name) {
            return Err(EmfError::DuplicateName(name));
        }
        seen.push(name);
    }
    if let Some((name, _, _)) = metrics.iter().find(|(_, _, v)| !v.is_finite()) {
        return Err(EmfError::NotFinite(name));
    }
    Ok(())
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

/// Stamps records with the clock and writes them to a sink as EMF lines.
/// Cheap to clone.
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
        let line = render(record, self.clock.now_unix().saturating_mul(1000))?;
        self.sink.write_line(&line);
        Ok(())
    }
}

impl MetricsRecorder for EmfEmitter {
    fn record(&self, record: &MetricRecord) {
        if let Err(error) = self.emit(record) {
            tracing::warn!(%error, service = record.service(), "metrics record not written");
        }
    }
}

#[cfg(test)]
mod tests {
    use timmybot_core::ManualClock;
    use timmybot_core::metrics::{
        ACTIVE_PLAYERS, FRAME_DEFICIT, GATEWAY_SERVICE, INTERACTION_ERRORS, INTERACTION_KIND, INTERACTION_LATENCY,
        INTERACTIONS, INTERACTIONS_SERVICE,
    };

    use super::*;

    fn interaction() -> MetricRecord {
        MetricRecord::new(INTERACTIONS_SERVICE)
            .metric(INTERACTION_LATENCY, Unit::Milliseconds, 12.5)
            .metric(INTERACTION_ERRORS, Unit::Count, 0.0)
            .metric(INTERACTIONS, Unit::Count, 1.0)
            .property(INTERACTION_KIND, "ping")
    }

    #[test]
    fn rendered_record_matches_the_emf_document_structure() {
        let line = render(&interaction(), 1_767_225_600_000).unwrap();
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
        let record: Value = serde_json::from_str(&render(&interaction(), 0).unwrap()).unwrap();
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
        assert_eq!(render(&MetricRecord::new(GATEWAY_SERVICE), 0), Err(EmfError::NoMetrics));
        let mut many = MetricRecord::new(GATEWAY_SERVICE);
        let names: Vec<&'static str> = (0..=MAX_METRICS).map(|i| &*format!("m{i}").leak()).collect();
        for name in &names {
            many = many.metric(name, Unit::Count, 1.0);
        }
        assert_eq!(render(&many, 0), Err(EmfError::TooManyMetrics(MAX_METRICS + 1)));
        let empty = MetricRecord::new(GATEWAY_SERVICE).metric("", Unit::Count, 1.0);
        assert_eq!(render(&empty, 0), Err(EmfError::BadName("")));
        let twice =
            MetricRecord::new(GATEWAY_SERVICE).metric(ACTIVE_PLAYERS, Unit::Count, 1.0).property(ACTIVE_PLAYERS, "x");
        assert_eq!(render(&twice, 0), Err(EmfError::DuplicateName(ACTIVE_PLAYERS)));
        let reserved = MetricRecord::new(GATEWAY_SERVICE).metric(SERVICE_DIMENSION, Unit::Count, 1.0);
        assert_eq!(render(&reserved, 0), Err(EmfError::DuplicateName(SERVICE_DIMENSION)));
        let nan = MetricRecord::new(GATEWAY_SERVICE).metric(FRAME_DEFICIT, Unit::Count, f64::NAN);
        assert_eq!(render(&nan, 0), Err(EmfError::NotFinite(FRAME_DEFICIT)));
    }

    #[test]
    fn emitter_stamps_records_with_the_clock_in_milliseconds() {
        let sink = MemorySink::new();
        let emitter = EmfEmitter::new(Arc::new(sink.clone()), Arc::new(ManualClock::at(1_767_225_600)));
        emitter.emit(&interaction()).unwrap();
        assert_eq!(emitter.emit(&MetricRecord::new(GATEWAY_SERVICE)), Err(EmfError::NoMetrics));
        // Through the port, an invalid record is dropped (and logged).
        let recorder: &dyn MetricsRecorder = &emitter;
        recorder.record(&MetricRecord::new(GATEWAY_SERVICE));
        recorder.record(&interaction());
        let records = sink.records();
        assert_eq!(records.len(), 2, "an invalid record writes nothing");
        assert_eq!(records[0]["_aws"]["Timestamp"], json!(1_767_225_600_000_u64));
    }
}
