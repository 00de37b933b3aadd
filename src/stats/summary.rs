//! Per-strategy results aggregated over replications.
//!
//! Each scalar metric is estimated once per replication; the reported value is the mean of
//! those estimates and, with two or more replications, carries a 95% Student-t confidence
//! half-width (the replication/deletion method). That includes the response-time
//! percentiles ([`QUANTILES`]): each replication's percentile from its own histogram, then
//! their mean, so a p99 has one value (and one interval) in every output. Only what cannot
//! be averaged comes from the histograms merged over replications: the response-time
//! distribution itself (the CDF chart's curves, `histogram.csv`), the smallest and largest
//! response time, and the per-server p99.

use super::ci::mean_ci;
use super::imbalance;
use super::{Counts, FaultOutcome, LatencyHistogram, RunStats, Timeline};

/// Confidence level of the reported half-widths.
pub const CI_LEVEL: f64 = 0.95;

/// The response-time percentiles every strategy reports, as named in `percentiles.csv` and
/// as a fraction. Each is the mean over replications of the replication's percentile
/// ([`StrategySummary::percentiles`]), except the extremes: 0 is the smallest and 100 the
/// largest response time of any replication.
pub const QUANTILES: &[(&str, f64)] = &[
    ("0", 0.0),
    ("1", 0.01),
    ("5", 0.05),
    ("10", 0.10),
    ("25", 0.25),
    ("50", 0.50),
    ("75", 0.75),
    ("90", 0.90),
    ("95", 0.95),
    ("99", 0.99),
    ("99.5", 0.995),
    ("99.9", 0.999),
    ("99.99", 0.9999),
    ("100", 1.0),
];

/// The estimate of percentile `q` (0 ≤ q ≤ 1) from the replications' histograms: the
/// smallest (q = 0) or largest (q = 1) value of any replication, otherwise the mean of the
/// replications' q-quantiles with its confidence interval.
fn quantile_estimate(runs: &[RunStats], q: f64) -> Estimate {
    match q {
        0.0 => Estimate { value: runs.iter().map(|r| r.response.quantile(0.0)).fold(f64::NAN, f64::min), ci95: None },
        1.0 => Estimate { value: runs.iter().map(|r| r.response.quantile(1.0)).fold(f64::NAN, f64::max), ci95: None },
        _ => Estimate::from_samples(&runs.iter().map(|r| r.response.quantile(q)).collect::<Vec<_>>()),
    }
}

/// The index of percentile `name` in [`QUANTILES`].
fn quantile_index(name: &str) -> usize {
    QUANTILES.iter().position(|q| q.0 == name).expect("a percentile of QUANTILES")
}

/// A point estimate with an optional 95% confidence half-width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Mean over replications.
    pub value: f64,
    /// Half-width of the 95% confidence interval (None with one replication).
    pub ci95: Option<f64>,
}

impl Estimate {
    /// Estimate from per-replication values.
    pub fn from_samples(samples: &[f64]) -> Self {
        let (value, ci95) = mean_ci(samples, CI_LEVEL);
        Estimate { value, ci95 }
    }
}

/// One server's results for one strategy.
#[derive(Debug, Clone)]
pub struct ServerSummary {
    /// Server name.
    pub name: String,
    /// Measured requests routed to it (sum over replications).
    pub requests: u64,
    /// Measured requests dropped at it.
    pub dropped: u64,
    /// Busy fraction of its workers (mean over replications).
    pub utilization: f64,
    /// Time-averaged number in system.
    pub mean_in_system: f64,
    /// Largest number in system in any replication.
    pub max_in_system: u32,
    /// Mean response time of its completions, s.
    pub mean_response: f64,
    /// 99th percentile of its response times, s.
    pub p99_response: f64,
    /// Completions per second.
    pub throughput: f64,
    /// Measured attempts that failed at it (refused while crashed, or reset by the crash).
    pub failed: u64,
    /// Measured attempts at it that the client gave up on.
    pub timed_out: u64,
}

/// The latency an open (arrival-rate) workload sees at the throughput a closed loop
/// achieved: what the closed model hides (coordinated omission).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenModel {
    /// The arrival rate used: the closed loop's measured request rate, req/s.
    pub rate: Estimate,
    /// Mean response time of the open model, s.
    pub mean: Estimate,
    /// 99th percentile of the open model, s.
    pub p99: Estimate,
}

/// One strategy's results.
#[derive(Debug, Clone)]
pub struct StrategySummary {
    /// Strategy label.
    pub label: String,
    /// Number of replications aggregated.
    pub replications: u32,
    /// Measured request outcomes, summed over replications.
    pub measured: Counts,
    /// All request outcomes (warm-up included), summed over replications.
    pub total: Counts,
    /// Mean response time, s.
    pub mean: Estimate,
    /// Median response time, s: the mean over replications of each one's median (the
    /// `50` entry of [`Self::percentiles`]).
    pub p50: Estimate,
    /// 90th percentile, s (mean over replications, as [`Self::p50`]).
    pub p90: Estimate,
    /// 99th percentile, s (mean over replications, as [`Self::p50`]).
    pub p99: Estimate,
    /// 99.9th percentile, s (mean over replications, as [`Self::p50`]).
    pub p999: Estimate,
    /// Every percentile of [`QUANTILES`], s, aligned with it (see there).
    pub percentiles: Vec<Estimate>,
    /// Largest response time over all replications, s.
    pub max: f64,
    /// Mean waiting time (queueing before service), s.
    pub mean_wait: Estimate,
    /// Completions per second.
    pub throughput: Estimate,
    /// Mean busy fraction over all workers.
    pub utilization: Estimate,
    /// Time-averaged number in system, whole pool.
    pub mean_in_system: Estimate,
    /// Max/mean of requests per server.
    pub load_max_over_mean: Estimate,
    /// Coefficient of variation of requests per server.
    pub load_cv: Estimate,
    /// Jain's fairness index of requests per server.
    pub jain: Estimate,
    /// Share of measured requests routed to the busiest server.
    pub busiest_server_share: Estimate,
    /// Share of measured requests carrying the most requested key: a property of the
    /// workload (the same for every strategy), and a floor under the busiest server's
    /// share for any strategy that keeps each key on one server.
    pub hottest_key_share: Estimate,
    /// Response times of all replications merged.
    pub response: LatencyHistogram,
    /// Per-server results.
    pub servers: Vec<ServerSummary>,
    /// Number in system over simulated time, of the first replication (a time series is
    /// one run's story; averaging runs would blur the bursts it is there to show).
    pub timeline: Timeline,
    /// Completed share of the measured requests whose outcome is known.
    pub availability: Estimate,
    /// Attempts sent per request offered (1 without retries).
    pub retry_amplification: Estimate,
    /// For a closed loop: the open model at the same throughput (filled by `run`).
    pub open_model: Option<OpenModel>,
    /// What happened in each fault window, per replication (outer index).
    pub faults: Vec<Vec<FaultOutcome>>,
    /// Times (over all replications) no server was eligible and the balancer used them all.
    pub panics: u64,
    /// Times the strategy could not be rebuilt over the eligible servers.
    pub fallbacks: u64,
}

impl StrategySummary {
    /// Aggregates the replications of one strategy. `names` are the server names and
    /// `workers` their worker counts (for utilisation).
    pub fn from_runs(runs: &[RunStats], names: &[String], workers: &[u32]) -> Self {
        assert!(!runs.is_empty());
        let est = |f: &dyn Fn(&RunStats) -> f64| Estimate::from_samples(&runs.iter().map(f).collect::<Vec<_>>());
        let mut measured = Counts::default();
        let mut total = Counts::default();
        let mut response = LatencyHistogram::new(3);
        for r in runs {
            measured.add(&r.measured);
            total.add(&r.total);
            response.merge(&r.response);
        }
        let total_workers: f64 = workers.iter().map(|&w| f64::from(w)).sum();
        let loads = |r: &RunStats| r.servers.iter().map(|s| s.requests as f64).collect::<Vec<f64>>();
        let percentiles: Vec<Estimate> = QUANTILES.iter().map(|&(_, q)| quantile_estimate(runs, q)).collect();
        let servers = (0..names.len())
            .map(|i| {
                let mut h = LatencyHistogram::new(2);
                let mut s = ServerSummary {
                    name: names[i].clone(),
                    requests: 0,
                    dropped: 0,
                    utilization: 0.0,
                    mean_in_system: 0.0,
                    max_in_system: 0,
                    mean_response: 0.0,
                    p99_response: 0.0,
                    throughput: 0.0,
                    failed: 0,
                    timed_out: 0,
                };
                let mut completed = 0;
                let mut sum = 0.0;
                for r in runs {
                    let st = &r.servers[i];
                    s.requests += st.requests;
                    s.dropped += st.dropped;
                    s.failed += st.failed;
                    s.timed_out += st.timed_out;
                    s.utilization += st.busy_area / (r.window() * f64::from(workers[i]));
                    s.mean_in_system += st.area_in_system / r.window();
                    s.max_in_system = s.max_in_system.max(st.max_in_system);
                    s.throughput += st.completed as f64 / r.window();
                    completed += st.completed;
                    sum += st.response_sum;
                    h.merge(&st.response);
                }
                let n = runs.len() as f64;
                s.utilization /= n;
                s.mean_in_system /= n;
                s.throughput /= n;
                s.mean_response = sum / completed as f64;
                s.p99_response = h.quantile(0.99);
                s
            })
            .collect();
        StrategySummary {
            label: runs[0].label.clone(),
            replications: runs.len() as u32,
            measured,
            total,
            mean: est(&|r| r.mean_response()),
            p50: percentiles[quantile_index("50")],
            p90: percentiles[quantile_index("90")],
            p99: percentiles[quantile_index("99")],
            p999: percentiles[quantile_index("99.9")],
            percentiles,
            max: runs.iter().map(|r| r.response_max).fold(f64::NAN, f64::max),
            mean_wait: est(&|r| r.wait_sum / r.measured.completed as f64),
            throughput: est(&|r| r.throughput()),
            utilization: est(&|r| r.servers.iter().map(|s| s.busy_area).sum::<f64>() / (r.window() * total_workers)),
            mean_in_system: est(&|r| r.mean_in_system()),
            load_max_over_mean: est(&|r| imbalance::max_over_mean(&loads(r))),
            load_cv: est(&|r| imbalance::cv(&loads(r))),
            jain: est(&|r| imbalance::jain(&loads(r))),
            busiest_server_share: est(&|r| imbalance::max_share(&loads(r))),
            hottest_key_share: est(&|r| r.hottest_key as f64 / r.measured.generated as f64),
            response,
            servers,
            timeline: runs[0].timeline.clone(),
            availability: est(&|r| r.measured.availability()),
            retry_amplification: est(&|r| r.measured.retry_amplification()),
            open_model: None,
            faults: runs.iter().map(|r| r.faults.clone()).collect(),
            panics: runs.iter().map(|r| r.panics).sum(),
            fallbacks: runs.iter().map(|r| r.fallbacks).sum(),
        }
    }

    /// Little's law check: mean number in system / (throughput × mean response).
    /// Close to 1 in every run (edge effects of the window shrink as 1/R).
    pub fn little_ratio(&self) -> f64 {
        self.mean_in_system.value / (self.throughput.value * self.mean.value)
    }

    /// Measured requests dropped, as a fraction of measured requests.
    pub fn drop_rate(&self) -> f64 {
        self.measured.dropped as f64 / self.measured.generated as f64
    }
}
