//! Percentiles and the per-row summary of what the sink heard.

use serde::{Deserialize, Serialize};

/// Packets per second below which a stream counts as starving: Discord
/// expects 50 (one 20 ms Opus frame each), and 49 leaves room for the
/// rounding of a window that starts or ends between two packets.
pub const STARVING_PPS: f64 = 49.0;

/// The value at percentile `p` (0–100) of `values`, by nearest rank (the
/// smallest value with at least `p`% of the values at or below it); `None`
/// for no values. NaNs sort last.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// What the sink heard from one stream (one guild) over the measurement
/// window; sent by `voice-bench sink` as JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamStats {
    /// The guild (one stream per guild).
    pub guild: u64,
    /// Packets that arrived since the last reset.
    pub packets: u64,
    /// Milliseconds from the last reset to this stream's first packet.
    pub first_packet_ms: Option<f64>,
    /// Median gap between consecutive packets, in milliseconds.
    pub gap_p50_ms: Option<f64>,
    /// 99th percentile gap, in milliseconds.
    pub gap_p99_ms: Option<f64>,
    /// Longest gap, in milliseconds.
    pub gap_max_ms: Option<f64>,
}

/// The sink's answer to `stats`: every stream, and how long ago the last
/// reset was.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SinkReport {
    /// Seconds since the last reset.
    pub window_secs: f64,
    /// One entry per guild asked for, heard or not.
    pub streams: Vec<StreamStats>,
}

/// One row's figures over all its streams.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamSummary {
    /// Streams asked for.
    pub streams: usize,
    /// Mean packets per second per stream (silent streams count as 0).
    pub pps_mean: f64,
    /// Share (0–1) of streams below [`STARVING_PPS`].
    pub starving_share: f64,
    /// Median over streams of each stream's median gap, in ms.
    pub gap_p50_ms: Option<f64>,
    /// Median over streams of each stream's 99th percentile gap, in ms.
    pub gap_p99_ms: Option<f64>,
    /// 99th percentile over streams of each stream's 99th percentile gap:
    /// how bad the worst streams are.
    pub gap_p99_worst_ms: Option<f64>,
    /// The longest gap of any stream, in ms.
    pub gap_max_ms: Option<f64>,
}

impl StreamSummary {
    /// Summarises `report`; a stream's rate is its packets over the window.
    pub fn of(report: &SinkReport) -> Self {
        let streams = report.streams.len();
        if streams == 0 {
            return Self::default();
        }
        let window = report.window_secs.max(f64::MIN_POSITIVE);
        let rates: Vec<f64> = report.streams.iter().map(|s| s.packets as f64 / window).collect();
        let starving = rates.iter().filter(|&&r| r < STARVING_PPS).count();
        let p50s: Vec<f64> = report.streams.iter().filter_map(|s| s.gap_p50_ms).collect();
        let p99s: Vec<f64> = report.streams.iter().filter_map(|s| s.gap_p99_ms).collect();
        let maxes: Vec<f64> = report.streams.iter().filter_map(|s| s.gap_max_ms).collect();
        Self {
            streams,
            pps_mean: rates.iter().sum::<f64>() / streams as f64,
            starving_share: starving as f64 / streams as f64,
            gap_p50_ms: percentile(&p50s, 50.0),
            gap_p99_ms: percentile(&p99s, 50.0),
            gap_p99_worst_ms: percentile(&p99s, 99.0),
            gap_max_ms: maxes.into_iter().reduce(f64::max),
        }
    }
}

/// p50, p99 and the count of streams that never sent, for the times from
/// the start signal to each stream's first packet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FirstPacket {
    /// Median, in ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, in ms.
    pub p99_ms: Option<f64>,
    /// Streams without any packet.
    pub missing: usize,
}

impl FirstPacket {
    /// Summarises the first-packet times of `report`.
    pub fn of(report: &SinkReport) -> Self {
        let times: Vec<f64> = report.streams.iter().filter_map(|s| s.first_packet_ms).collect();
        Self::of_times(&times, report.streams.len() - times.len())
    }

    /// Summarises `times` (ms), with `missing` streams that never sent.
    pub fn of_times(times: &[f64], missing: usize) -> Self {
        Self { p50_ms: percentile(times, 50.0), p99_ms: percentile(times, 99.0), missing }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let values: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&values, 100.0), Some(100.0));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
        assert_eq!(percentile(&[7.0, 3.0], 50.0), Some(3.0));
        assert_eq!(percentile(&[7.0, 3.0], 51.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    fn stream(guild: u64, packets: u64, p99: f64) -> StreamStats {
        StreamStats {
            guild,
            packets,
            first_packet_ms: (packets > 0).then_some(guild as f64 * 10.0),
            gap_p50_ms: (packets > 1).then_some(20.0),
            gap_p99_ms: (packets > 1).then_some(p99),
            gap_max_ms: (packets > 1).then_some(p99 * 2.0),
        }
    }

    #[test]
    fn summary_counts_silent_and_slow_streams_as_starving() {
        let report = SinkReport {
            window_secs: 10.0,
            streams: vec![stream(1, 500, 21.0), stream(2, 500, 23.0), stream(3, 480, 60.0), stream(4, 0, 0.0)],
        };
        let summary = StreamSummary::of(&report);
        assert_eq!(summary.streams, 4);
        assert!((summary.pps_mean - 37.0).abs() < 1e-9, "{}", summary.pps_mean);
        assert!((summary.starving_share - 0.5).abs() < 1e-9);
        assert_eq!(summary.gap_p50_ms, Some(20.0));
        assert_eq!(summary.gap_p99_ms, Some(23.0));
        assert_eq!(summary.gap_p99_worst_ms, Some(60.0));
        assert_eq!(summary.gap_max_ms, Some(120.0));

        let first = FirstPacket::of(&report);
        assert_eq!(first, FirstPacket { p50_ms: Some(20.0), p99_ms: Some(30.0), missing: 1 });
    }

    #[test]
    fn summary_of_nothing_is_empty() {
        assert_eq!(StreamSummary::of(&SinkReport::default()), StreamSummary::default());
    }

    #[test]
    fn sink_report_round_trips_as_json() {
        let report = SinkReport { window_secs: 2.5, streams: vec![stream(9, 125, 22.5)] };
        let line = serde_json::to_string(&report).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<SinkReport>(&line).unwrap(), report);
    }
}
