//! A request trace loaded for replay (read and checked when the scenario is loaded):
//! arrival times, and optionally service demands and keys, one row per request.

use std::path::PathBuf;

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// A loaded trace. Serialized as its file, size and columns, without its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The file it was read from.
    pub file: PathBuf,
    /// The file's size, bytes.
    pub bytes: u64,
    /// Arrival times, s from the first row, already divided by the speed factor.
    pub times: Vec<f64>,
    /// Service demands at speed 1, s; NaN where the row left the cell empty. `None`
    /// without a `service_time` column.
    pub service: Option<Vec<f64>>,
    /// Key ids (distinct texts numbered in order of first appearance), when the trace
    /// has a `key` column.
    pub keys: Option<Vec<u64>>,
    /// Number of distinct keys (0 without a `key` column).
    pub distinct_keys: u64,
    /// The replay speed factor applied.
    pub speed: f64,
    /// Rows that give a service time, and the sum of those times (s), computed once at load
    /// (the mean demand is asked for per server).
    pub given_service: (u64, f64),
}

impl Trace {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether the trace has no row (never, once loaded).
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Time of the `n`-th arrival (1-based), s.
    pub fn time_of(&self, n: u64) -> f64 {
        self.times[(n as usize).clamp(1, self.times.len()) - 1]
    }

    /// Mean of the service times given in the trace, if it gives any.
    pub fn mean_service(&self) -> Option<f64> {
        let (n, sum) = self.given_service;
        (n > 0).then(|| sum / n as f64)
    }

    /// The busiest `window` seconds among the first `rows` rows: (arrivals in it ÷ window,
    /// its start, s). The window starts at a row's time; `None` for a window ≤ 0.
    pub fn busiest(&self, rows: usize, window: f64) -> Option<(f64, f64)> {
        let times = &self.times[..rows.min(self.times.len())];
        if window.is_nan() || window <= 0.0 || times.is_empty() {
            return None;
        }
        let (mut best, mut at, mut end) = (0usize, times[0], 0usize);
        for (i, &t) in times.iter().enumerate() {
            while end < times.len() && times[end] < t + window {
                end += 1;
            }
            if end - i > best {
                (best, at) = (end - i, t);
            }
        }
        Some((best as f64 / window, at))
    }

    /// [`Trace::given_service`] of service times as loaded (NaN: not given).
    pub fn given_of(service: &[f64]) -> (u64, f64) {
        let given = service.iter().filter(|x| !x.is_nan());
        (given.clone().count() as u64, given.sum())
    }
}

impl Serialize for Trace {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let columns: Vec<&str> =
            [("timestamp", true), ("service_time", self.service.is_some()), ("key", self.keys.is_some())]
                .into_iter()
                .filter_map(|(c, present)| present.then_some(c))
                .collect();
        let mut t = s.serialize_struct("Trace", 6)?;
        t.serialize_field("file", &self.file.display().to_string())?;
        t.serialize_field("bytes", &self.bytes)?;
        t.serialize_field("rows", &self.len())?;
        t.serialize_field("columns", &columns)?;
        t.serialize_field("distinct_keys", &self.keys.as_ref().map(|_| self.distinct_keys))?;
        t.serialize_field("speed", &self.speed)?;
        t.end()
    }
}
