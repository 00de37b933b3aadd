//! `process = "trace"`: arrivals (and optionally service times and keys) replayed from a
//! CSV file, read by [`crate::scenario::trace`] into a [`Trace`].

use std::path::Path;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::{Arrivals, Process, Shape, Written, positive};
use crate::scenario::schema::RawArrivals;
use crate::scenario::{Scenario, ScenarioError, trace};
use crate::workload::arrival_gen::ArrivalGen;
use crate::workload::trace_rows::Trace;

/// A trace replay: the loaded trace, shared by every run. Serialized as the trace (its
/// file, size and columns, not its rows).
#[derive(Debug, Clone, PartialEq)]
pub struct Replay(pub Arc<Trace>);

impl Serialize for Replay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_ref().serialize(s)
    }
}

impl Written for Replay {
    const KEYS: &'static [&'static str] = &["file", "time_unit", "speed"];

    fn read(a: &RawArrivals, dir: &Path) -> Result<Arrivals, ScenarioError> {
        let file = a
            .file
            .as_deref()
            .ok_or_else(|| ScenarioError::at("arrivals", "process = \"trace\" needs `file = \"path/to/trace.csv\"`"))?;
        let unit = match a.time_unit.as_deref().unwrap_or("s") {
            "s" => 1.0,
            "ms" => 1e-3,
            "us" => 1e-6,
            other => {
                return Err(ScenarioError::at(
                    "arrivals.time_unit",
                    format!("unknown time unit `{other}`; allowed: s, ms, us"),
                ));
            }
        };
        let speed = positive("arrivals.speed", a.speed.unwrap_or(1.0), "2.0 replays twice as fast")?;
        let path = dir.join(file);
        Ok(Replay(Arc::new(trace::load(&path, unit, speed)?)).into())
    }
}

impl Process for Replay {
    fn shape(&self) -> Shape<'_> {
        Shape::Replay(&self.0)
    }

    fn describe(&self) -> String {
        let t = &self.0;
        format!("trace {} ({} rows, speed ×{})", t.file.display(), t.len(), t.speed)
    }

    /// Its rows over their span.
    fn mean_rate(&self, sc: &Scenario) -> f64 {
        let n = sc.requests as f64;
        let span = self.0.time_of(sc.requests);
        if span > 0.0 { (n - 1.0).max(1.0) / span } else { f64::INFINITY }
    }

    fn horizon(&self, requests: u64) -> Option<f64> {
        Some(self.0.time_of(requests))
    }

    /// Replayed `factor` times faster: every gap divided by it, as `speed` divides them.
    fn scaled(&self, factor: f64) -> Option<Arrivals> {
        let t = &self.0;
        let times = t.times.iter().map(|x| x / factor).collect();
        Some(Replay(Arc::new(Trace { times, speed: t.speed * factor, ..Trace::clone(t) })).into())
    }

    fn busiest_span(&self, end: f64) -> Option<f64> {
        Some((end / 10.0).min(3600.0))
    }

    fn rate_key(&self) -> &'static str {
        "arrivals.speed"
    }

    /// Its replayed rows must span some time (its rate is their number over that span).
    fn peak_limit(&self, sc: &Scenario, requests_key: &str) -> Result<Option<(f64, &'static str)>, ScenarioError> {
        let t = &self.0;
        // `speed` is the key when it made the rows' times collapse or the rate explode.
        let key = if t.speed == 1.0 { "arrivals.file" } else { "arrivals.speed" };
        let whole = t.time_of(t.len() as u64);
        if whole <= 0.0 {
            return Err(ScenarioError::at(
                key,
                format!(
                    "the trace's {} row(s) all arrive at one instant{}: a replay must span some time (its arrival \
                     rate is its rows over their span)",
                    t.len(),
                    if t.speed == 1.0 { String::new() } else { format!(" once replayed {}× faster", t.speed) }
                ),
            )
            .with_help("a trace needs rows at two different times at least"));
        }
        if t.time_of(sc.requests) <= 0.0 {
            return Err(ScenarioError::at(
                requests_key,
                format!(
                    "the trace's first {} row(s) all arrive at one instant: a replay must span some time",
                    sc.requests
                ),
            )
            .with_help("replay more rows of the trace"));
        }
        Ok(Some((sc.arrival_rate(), key)))
    }

    /// 8 bytes per row per column, and its distinct keys.
    fn memory(&self) -> u64 {
        let t = &self.0;
        let cols = 1 + u64::from(t.service.is_some()) + u64::from(t.keys.is_some());
        t.len() as u64 * 8 * cols + t.distinct_keys * 64
    }

    /// The rows give the times.
    fn generator(&self) -> ArrivalGen {
        ArrivalGen::External
    }
}
