//! `measurement.json`: what only a measurement has — how late the generator sent, how late
//! the backends woke, the zero-demand calibration, whether the run is valid — written by
//! `lbsim load` beside the files `lbsim run` writes, and read back by `lbsim compare`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::record::{Durations, InstanceCounts, Recorder};
use crate::stats::RunStats;
use crate::{Error, Result};

/// File name in the output directory.
pub const FILE_NAME: &str = "measurement.json";

/// A distribution of durations, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DurationSummary {
    /// Values recorded.
    pub count: u64,
    /// Exact mean, ms.
    pub mean_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
}

impl DurationSummary {
    /// Summary of `d`; `None` when it is empty.
    pub fn of(d: &Durations) -> Option<Self> {
        (d.count() > 0).then(|| DurationSummary {
            count: d.count(),
            mean_ms: d.mean() * 1e3,
            p50_ms: d.hist.quantile(0.5) * 1e3,
            p90_ms: d.hist.quantile(0.9) * 1e3,
            p99_ms: d.hist.quantile(0.99) * 1e3,
            max_ms: d.hist.max() * 1e3,
        })
    }

    /// `mean m, p99 x, max y ms` for the terminal.
    pub fn brief(&self) -> String {
        format!(
            "mean {:.3} ms, p99 {:.3} ms, max {:.3} ms (n = {})",
            self.mean_ms, self.p99_ms, self.max_ms, self.count
        )
    }
}

/// The zero-demand calibration pass: the fixed overhead of generator, network, balancer and
/// backend, measured against the same target before the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Response times of the zero-demand requests (completed ones).
    pub response: DurationSummary,
    /// Requests of the pass that did not complete.
    pub failed: u64,
    /// The overhead's distribution: its quantiles at (i + ½) / [`CALIBRATION_QUANTILES`],
    /// ms, what `lbsim compare` convolves with the simulated response times (absent in
    /// older files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quantiles_ms: Vec<f64>,
}

/// Quantiles of the calibration's response times kept in measurement.json.
pub const CALIBRATION_QUANTILES: usize = 200;

impl Calibration {
    /// The calibration pass's completed response times `d` and its failures.
    pub fn of(d: &Durations, failed: u64) -> Option<Self> {
        let quantiles_ms = (0..CALIBRATION_QUANTILES)
            .map(|i| d.hist.quantile((i as f64 + 0.5) / CALIBRATION_QUANTILES as f64) * 1e3)
            .collect();
        DurationSummary::of(d).map(|response| Calibration { response, failed, quantiles_ms })
    }
}

/// Everything `measurement.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// lbsim version that measured.
    pub lbsim_version: String,
    /// Label of the measured row in summary.csv.
    pub label: String,
    /// The URL requests were sent to.
    pub target: String,
    /// Scenario name.
    pub scenario: String,
    /// SHA-256 of the scenario text (as manifest.json records it), when it came from a file.
    pub scenario_sha256: Option<String>,
    /// SHA-256 of the request stream replayed ([`stream_sha256`](crate::analysis::stream_sha256)),
    /// what `lbsim compare` matches; absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_sha256: Option<String>,
    /// Seed of the request stream (replication 0).
    pub seed: u64,
    /// Requests in the schedule.
    pub requests: u64,
    /// Warm-up requests (sent, not measured).
    pub warmup: u64,
    /// Requests actually sent (every measured pass).
    pub sent: u64,
    /// Send lateness (actual − scheduled send) of every request sent.
    pub lateness: Option<DurationSummary>,
    /// The validity threshold on the 99th percentile of lateness, ms.
    pub max_lateness_p99_ms: f64,
    /// Whether the run measured what it claims (see `problems` otherwise).
    pub valid: bool,
    /// Why it is not valid (empty when it is).
    pub problems: Vec<String>,
    /// The backends' wait overshoot (wake-up − scheduled end), from their headers; `None`
    /// when the target's responses carried none (not lbsim backends).
    pub backend_overshoot: Option<DurationSummary>,
    /// The zero-demand pass, when one ran.
    pub calibration: Option<Calibration>,
    /// Why the run stopped before the end of the schedule (`Ctrl-C`, `time limit`), if it did.
    pub stopped_by: Option<String>,
    /// Measured responses that named no server of the scenario.
    pub unattributed: u64,
    /// Responses with a 4xx status (counted as failed).
    pub status_4xx: u64,
    /// Responses with a 5xx status other than a backend's full-queue 503 (counted as failed).
    pub status_5xx: u64,
    /// Scheduling of the sending thread.
    pub sender_policy: String,
    /// Wall-clock time of the measured pass, s.
    pub wall_time_s: f64,
    /// What kept the sends late, when the lateness exceeded the threshold.
    #[serde(default)]
    pub limited_by: Option<String>,
    /// Failed and timed-out requests by cause (`connect_refused`, `reset`, `timeout`,
    /// `status_5xx`, `body_too_large`, …; causes with no request omitted).
    #[serde(default)]
    pub failures: BTreeMap<String, u64>,
    /// Sends later than the threshold by what delayed them: `sender` (CPU, preemption,
    /// wake-up), `waited_for_connection` (pool exhausted), `waited_for_connect` (a new
    /// connection being accepted).
    #[serde(default)]
    pub late_sends: BTreeMap<String, u64>,
    /// The sender threads.
    #[serde(default)]
    pub sender: Option<SenderStats>,
    /// The connections.
    #[serde(default)]
    pub connections: Option<Connections>,
    /// Each measured pass (`--replications`): replication `r` replayed the stream `lbsim
    /// run` simulates as its replication `r`. summary.csv holds their mean (and 95%
    /// interval); `lbsim compare` the interval of the difference from these. Absent in
    /// older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replications: Vec<Replication>,
    /// The balancer instances that carried the measured requests, from their `x-worker`
    /// header, when the balancer sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<Instances>,
}

/// One measured pass: the figures `lbsim compare` pairs with the simulated replication of
/// the same stream. Response times of the measured (post-warm-up) completed requests, ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replication {
    /// Replication index (its request stream is replication `replication` of `lbsim run`).
    pub replication: u32,
    /// Requests sent.
    pub sent: u64,
    /// Measured requests completed.
    pub completed: u64,
    /// Mean response, ms (this and the percentiles: NaN, written as `null`, when the pass
    /// completed no request).
    #[serde(deserialize_with = "nan_if_null")]
    pub mean_ms: f64,
    /// Median response, ms.
    #[serde(deserialize_with = "nan_if_null")]
    pub p50_ms: f64,
    /// 90th percentile, ms.
    #[serde(deserialize_with = "nan_if_null")]
    pub p90_ms: f64,
    /// 99th percentile, ms.
    #[serde(deserialize_with = "nan_if_null")]
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    #[serde(deserialize_with = "nan_if_null")]
    pub p999_ms: f64,
    /// Largest response, ms.
    #[serde(deserialize_with = "nan_if_null")]
    pub max_ms: f64,
    /// 99th percentile of the send lateness, ms.
    pub lateness_p99_ms: f64,
}

/// Reads `null` (how JSON writes a NaN) as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl Replication {
    /// The figures of pass `replication`, recorded by `rec` and finished as `run`.
    pub fn of(replication: u32, rec: &Recorder, run: &RunStats) -> Self {
        let d = rec.responses();
        let q = |p: f64| if d.count() > 0 { d.hist.quantile(p) * 1e3 } else { f64::NAN };
        Replication {
            replication,
            sent: run.total.generated,
            completed: run.measured.completed,
            mean_ms: if d.count() > 0 { d.mean() * 1e3 } else { f64::NAN },
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            max_ms: if d.count() > 0 { d.hist.max() * 1e3 } else { f64::NAN },
            lateness_p99_ms: if rec.lateness.count() > 0 { rec.lateness.hist.quantile(0.99) * 1e3 } else { 0.0 },
        }
    }

    /// The figure `name` (`mean`, `p50`, `p90`, `p99`, `p999`, `max`), if it is one.
    pub fn figure(&self, name: &str) -> Option<f64> {
        match name {
            "mean" => Some(self.mean_ms),
            "p50" => Some(self.p50_ms),
            "p90" => Some(self.p90_ms),
            "p99" => Some(self.p99_ms),
            "p999" => Some(self.p999_ms),
            "max" => Some(self.max_ms),
            _ => None,
        }
    }
}

/// The balancer instances (worker processes, threads) that carried the measured requests,
/// as the balancer named them in the `x-worker` response header, every pass together: what
/// `[balancers] shares` and `run_length` model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instances {
    /// The header read.
    pub header: String,
    /// Measured requests that named an instance.
    pub requests: u64,
    /// Each instance's requests and share of `requests`, largest first.
    pub shares: Vec<InstanceShare>,
    /// Mean length of a run, in request order: consecutive requests carried by one
    /// instance (requests placed ÷ runs, each pass counted on its own).
    pub mean_run: f64,
}

/// One balancer instance's part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceShare {
    /// Its name (the header's value: nginx's `$pid`).
    pub instance: String,
    /// Measured requests it carried.
    pub requests: u64,
    /// Its share of the requests that named an instance.
    pub share: f64,
}

impl Instances {
    /// The instances of every pass together (`None` when no pass saw one).
    pub fn of(passes: impl Iterator<Item = Option<InstanceCounts>>) -> Option<Self> {
        let mut by: Vec<(String, u64)> = Vec::new();
        let (mut placed, mut runs) = (0, 0);
        for c in passes.flatten() {
            placed += c.placed;
            runs += c.runs;
            for (name, n) in c.requests {
                match by.iter_mut().find(|(m, _)| *m == name) {
                    Some(e) => e.1 += n,
                    None => by.push((name, n)),
                }
            }
        }
        let requests: u64 = by.iter().map(|e| e.1).sum();
        if requests == 0 {
            return None;
        }
        by.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Some(Instances {
            header: super::headers::WORKER.into(),
            requests,
            shares: by
                .into_iter()
                .map(|(instance, n)| InstanceShare { instance, requests: n, share: n as f64 / requests as f64 })
                .collect(),
            mean_run: if runs > 0 { placed as f64 / runs as f64 } else { 0.0 },
        })
    }
}

/// The sender threads of a measured pass, together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SenderStats {
    /// Sender threads.
    pub threads: usize,
    /// Their scheduling.
    pub policy: String,
    /// CPU time ÷ wall-clock time, % (of one core per thread).
    pub cpu_percent: f64,
    /// The same without busy-waiting, %: the share of the time spent working.
    pub busy_percent: f64,
    /// Times they were preempted.
    pub involuntary_switches: u64,
    /// Requests sent ahead of their time: due within [`AHEAD_US`](crate::real::sender::AHEAD_US)
    /// µs of the send before them, they went out with it instead of after a wake-up of their
    /// own (their lateness counts as 0).
    #[serde(default)]
    pub sent_early: u64,
    /// The most any of them went early, µs.
    #[serde(default)]
    pub max_early_us: f64,
}

/// The connections of a measured pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connections {
    /// Connections were reused.
    pub keep_alive: bool,
    /// The cap (`None`: as the offered concurrency required).
    pub max: Option<usize>,
    /// Connections opened.
    pub opened: u64,
    /// Most held at once.
    pub peak: usize,
    /// Requests sent again on a fresh connection (the target had closed an idle one).
    pub resent: u64,
    /// Time to open one.
    pub connect: Option<DurationSummary>,
    /// The scenario's `[clients]` the connections were held as (absent: one pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<String>,
}

impl Measurement {
    /// The JSON text.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut v = serde_json::to_vec_pretty(self).map_err(|e| Error::Other(format!("cannot encode JSON: {e}")))?;
        v.push(b'\n');
        Ok(v)
    }

    /// Reads `dir/measurement.json`.
    pub fn read(dir: &Path) -> Result<Measurement> {
        let path = dir.join(FILE_NAME);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Io {
            action: "cannot read",
            path: path.clone(),
            source: e,
        })?;
        // A damaged file is bad input (exit 2), located like compare's other inputs.
        serde_json::from_str(&text).map_err(|e| {
            crate::scenario::ScenarioError {
                file: Some(path.clone()),
                line: Some(e.line()).filter(|&l| l > 0),
                column: Some(e.column()).filter(|&c| c > 0),
                ..crate::scenario::ScenarioError::general(format!("not a measurement lbsim wrote: {e}"))
            }
            .into()
        })
    }
}
