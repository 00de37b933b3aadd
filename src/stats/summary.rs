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
//!
//! Load and imbalance are capacity-normalised: a server's load is ρ_i, the work routed to
//! it (the service times of the requests sent there) over what its workers could do in the
//! window with the capacity they had — a crash takes all of it away for its duration, a
//! 5× slowdown four fifths — so a split in proportion to capacity is even and an
//! overloaded server has ρ_i > 1 (its utilisation stops at 1).

use super::batch::{Batches, Figure, Test, Units, half_width, half_width_about};
use super::ci::{Bounds, interval, mean_ci};
use super::evenness;
use super::saturation::Saturation;
use super::{Counts, FaultOutcome, LatencyHistogram, RunStats, Timeline};
use crate::strategy::ServerInfo;

/// What aggregating a strategy's runs needs to know of the pool they ran on (built from the
/// scenario a layer up, by `analysis::summarize`).
#[derive(Debug, Clone)]
pub struct PoolFacts<'a> {
    /// The servers, in order.
    pub servers: &'a [ServerInfo],
    /// Each server's capacity, requests per second.
    pub capacity_rps: Vec<f64>,
    /// Whether the balancer queues requests (`[balancer_queue]`).
    pub balancer_queue: bool,
}

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
        0.0 => Estimate::from_samples(&[runs.iter().map(|r| r.response.quantile(0.0)).fold(f64::NAN, f64::min)]),
        1.0 => Estimate::from_samples(&[runs.iter().map(|r| r.response.quantile(1.0)).fold(f64::NAN, f64::max)]),
        _ => Estimate::from_samples(&runs.iter().map(|r| r.response.quantile(q)).collect::<Vec<_>>()),
    }
}

/// `servers` with their load ranks and the rank profile of `loads` (each replication's
/// ρ_i, in server order).
fn rank_profile(mut servers: Vec<ServerSummary>, loads: impl Iterator<Item = Vec<f64>>) -> Vec<ServerSummary> {
    let mut profile = vec![0.0; servers.len()];
    let mut n = 0.0;
    for mut l in loads {
        l.sort_by(|a, b| b.total_cmp(a));
        for (p, x) in profile.iter_mut().zip(l) {
            *p += x;
        }
        n += 1.0;
    }
    let mut order: Vec<usize> = (0..servers.len()).collect();
    order.sort_by(|&a, &b| servers[b].rho.total_cmp(&servers[a].rho).then(a.cmp(&b)));
    for (rank, i) in order.into_iter().enumerate() {
        servers[i].load_rank = rank + 1;
        servers[i].rho_at_rank = profile[rank] / n;
    }
    servers
}

/// The load ρ of a server with `workers` workers and statistics `st` over a window of
/// `window` seconds: its work over the capacity it had ([`evenness::load`]).
fn server_load(st: &super::ServerStats, workers: u32, window: f64) -> f64 {
    evenness::load(st.work, f64::from(workers), window - st.lost_capacity)
}

/// The index of percentile `name` in [`QUANTILES`].
fn quantile_index(name: &str) -> usize {
    QUANTILES.iter().position(|q| q.0 == name).expect("a percentile of QUANTILES")
}

/// A point estimate with an optional 95% confidence half-width, and the range the quantity
/// can physically take, to which its interval is clipped ([`Estimate::interval`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Mean over replications.
    pub value: f64,
    /// Half-width of the 95% Student-t interval (None with one replication).
    pub ci95: Option<f64>,
    /// The quantity's physical range.
    pub bounds: Bounds,
}

impl Estimate {
    /// Estimate of a non-negative quantity (a time, a rate, a count) from per-replication
    /// values.
    pub fn from_samples(samples: &[f64]) -> Self {
        Estimate::within(samples, Bounds::NON_NEGATIVE)
    }

    /// Estimate of a fraction or share (in [0, 1]) from per-replication values.
    pub fn fraction(samples: &[f64]) -> Self {
        Estimate::within(samples, Bounds::FRACTION)
    }

    /// Estimate of a quantity within `bounds` from per-replication values.
    pub fn within(samples: &[f64], bounds: Bounds) -> Self {
        let (value, ci95) = mean_ci(samples, CI_LEVEL);
        Estimate { value, ci95, bounds }
    }

    /// The 95% confidence interval `(lower, upper)`, clipped to the physical range (None with
    /// one replication). This is the interval to show or draw.
    pub fn interval(&self) -> Option<(f64, f64)> {
        self.ci95.map(|h| {
            let (lo, hi, _) = interval(self.value, h, self.bounds);
            (lo, hi)
        })
    }

    /// The estimate in other units (`k` > 0 per unit: 1e3 for seconds to ms, 1e2 for
    /// percent), its interval and physical range scaled alike.
    pub fn scaled(self, k: f64) -> Estimate {
        let bounds = Bounds { lower: self.bounds.lower * k, upper: self.bounds.upper * k };
        Estimate { value: self.value * k, ci95: self.ci95.map(|c| c * k), bounds }
    }

    /// Whether `value ± ci95` reaches past the physical range (so [`Estimate::interval`] is
    /// clipped).
    pub fn is_clipped(&self) -> bool {
        self.ci95.is_some_and(|h| interval(self.value, h, self.bounds).2)
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
    /// Requests per second it can serve: workers / mean service time (speed × workers /
    /// mean demand of its group's service).
    pub capacity_rps: f64,
    /// Measured requests routed to it per second (dropped ones included).
    pub offered_rps: f64,
    /// Its load: work routed to it ÷ the capacity it had, workers × (window − the capacity
    /// crashes and slowdowns took away, [`super::ServerStats::lost_capacity`]): the time its
    /// workers would need at full speed over the time they had at full speed (mean over
    /// replications). Above 1 when overloaded.
    pub rho: f64,
    /// Whether it is saturated (see [`StrategySummary::saturation`]).
    pub saturated: bool,
    /// Its place when the servers are ranked by [`Self::rho`], 1 = the busiest.
    pub load_rank: usize,
    /// The rank profile at that place: in each replication the servers ranked by load, the
    /// `load_rank`-th busiest one's ρ, averaged over replications. Rank 1 is
    /// [`StrategySummary::rho_max`]; with replications the hot spot, which may be a
    /// different server in each, is not averaged away as in [`Self::rho`].
    pub rho_at_rank: f64,
    /// `[clients]` per connection: time-averaged connections held over the window (mean
    /// over replications).
    pub connections_mean: f64,
    /// Most connections held at once in the window of any replication.
    pub connections_max: u32,
    /// Requests sent on its connections per connection opened to it, whole runs pooled
    /// over replications (NaN: no connection).
    pub requests_per_connection: f64,
    /// `[network] to_server`: measured attempts on the network toward it when the run ended
    /// (sum over replications): with [`Self::requests`], every attempt sent to it.
    pub in_transit: u64,
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
    /// Max/mean of the servers' loads ρ_i (capacity-normalised; 1 = even).
    pub load_max_over_mean: Estimate,
    /// Coefficient of variation of the servers' loads ρ_i.
    pub load_cv: Estimate,
    /// Jain's fairness index of the servers' loads ρ_i.
    pub jain: Estimate,
    /// The busiest server's share of the pool's load, max ρ_i / Σ ρ_i (1/S when even).
    pub busiest_server_share: Estimate,
    /// Max/mean of the measured requests per server (not normalised by capacity).
    pub requests_max_over_mean: Estimate,
    /// The busiest server's load, max ρ_i (≥ 1: saturated).
    pub rho_max: Estimate,
    /// Time average of max_i N_i − min_i N_i over the window (N_i scaled by mean capacity /
    /// capacity_i when capacities differ): the dynamic imbalance.
    pub queue_spread: Estimate,
    /// Fraction of the window in which some worker idled while a request waited at another
    /// server.
    pub idle_while_waiting: Estimate,
    /// Whether queues grow without bound, and which.
    pub saturation: Saturation,
    /// Share of measured requests carrying the most requested key: a property of the
    /// workload (the same for every strategy), and, on a pool of equal servers, a floor
    /// under the busiest server's share for any strategy that keeps each key on one server.
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
    /// Per figure (indexed by [`Figure`]), the values its interval rests on: per
    /// replication, or per batch of the single run; paired with another strategy's for
    /// comparisons ([`Units::paired`]).
    pub paired: Vec<Units>,
    /// With one replication: how many batches the response time's interval rests on (None:
    /// intervals over replications, or a run too short to batch).
    pub batch_count: Option<usize>,
    /// With one replication: whether the batch means were still correlated at the coarsest
    /// level (the intervals may be too narrow: run longer).
    pub batches_correlated: bool,
    /// `[autoscaler]`: each replication's pods (empty without an autoscaler).
    pub pods: Vec<super::pod_counts::PodsRun>,
    /// `[autoscaler]`: pod-seconds over the whole run (the cost), over replications.
    pub pod_seconds: Option<Estimate>,
    /// The balancer queue's figures (`None` without `[balancer_queue]`).
    pub policies: Option<Box<super::PolicySummary>>,
    /// Time-averaged requests in progress wherever they are, Little's L (mean over
    /// replications; `None` when the engine does not follow requests, see
    /// [`super::RunStats::calls_area`]).
    pub mean_in_progress: Option<f64>,
    /// Requests of each replication left out as warm-up (filled by `analysis::summarize`).
    pub warmup: u64,
    /// `precision`: each requested figure's target and how close the run came (empty
    /// without one; filled by the runner).
    pub precision: Vec<Reached>,
    /// Where MSER-5 finds the transient ends: the largest truncation over the
    /// replications, steady only if every one is (None for a real load test).
    pub transient: Option<super::warmup::Transient>,
    /// `[clients]` with `balance = "connection"`: the longest time, over replications, a
    /// server that joined the endpoints took to carry its fair share of the connections
    /// (see [`super::RunStats::fair_share`]); infinite when one never did.
    pub fair_share: Option<f64>,
    /// `[client] hedge_after`: the hedge copies, pooled over replications (`None` without
    /// hedging).
    pub hedges: Option<super::HedgeCounts>,
    /// Recovery from the first replication's fault windows and flash crowds (`None`
    /// without any; filled by `report::run::Report::new` from the phases).
    pub recovery: Option<super::Recovery>,
    /// `[balancers] subset`: times (over all replications) an instance's whole subset was
    /// ineligible and it used every eligible server instead (`None` without subsets).
    pub subset_widened: Option<u64>,
    /// `[slo]`: time with the objective violated (whole windows that broke it × the
    /// window), s, mean over replications (`None` without an objective).
    pub slo_violated_s: Option<Estimate>,
    /// `[slo]`: the share of the whole windows that broke the objective, mean over
    /// replications.
    pub slo_violated_share: Option<Estimate>,
    /// The end of the run, s (`RunStats::end`), over replications: a fixed pool of S servers
    /// consumes S × this many server-seconds (what `pod_seconds` counts for a pool that
    /// changes size).
    pub end: Estimate,
}

/// One figure's precision target (`precision`) and how close a strategy's run came.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reached {
    /// The figure's summary.csv name.
    pub measure: &'static str,
    /// The target: largest error relative to the true value (0.02 for 2%).
    pub target: f64,
    /// The half-width relative to the value (None: no interval, or a value of 0).
    pub relative: Option<f64>,
    /// Whether the values its interval rests on are independent (replications, or batches
    /// that passed the independence test of [`super::batch`]).
    pub independent: bool,
}

impl Reached {
    /// The half-width ÷ value within which the target counts as reached: γ/(1 + γ) for a
    /// target γ, so that a value whose interval holds the truth is within γ of the truth
    /// (|x̄ − µ| ≤ h ≤ γ′|x̄| gives |x̄ − µ| ≤ γ′/(1 − γ′)·|µ| = γ|µ|: the relative-error
    /// sequential procedure of Law & Kelton, *Simulation Modeling and Analysis*).
    pub fn threshold(&self) -> f64 {
        self.target / (1.0 + self.target)
    }

    /// Whether the target was reached: an interval within [`Self::threshold`], resting on
    /// independent values (batches still correlated make an interval look narrower than it
    /// is, and stopping on it would favour the runs that understate their spread).
    pub fn met(&self) -> bool {
        self.independent && self.relative.is_some_and(|r| r <= self.threshold())
    }
}

impl StrategySummary {
    /// Aggregates the replications `runs` of one strategy on `pool`, whose saturation is
    /// `saturation` (see `analysis::summarize`, which gathers both from the scenario).
    pub fn from_runs(runs: &[RunStats], pool: &PoolFacts, saturation: Saturation) -> Self {
        assert!(!runs.is_empty());
        let est = |f: &dyn Fn(&RunStats) -> f64| Estimate::from_samples(&runs.iter().map(f).collect::<Vec<_>>());
        let workers: Vec<u32> = pool.servers.iter().map(|s| s.workers).collect();
        let within = |b, f: &dyn Fn(&RunStats) -> f64| Estimate::within(&runs.iter().map(f).collect::<Vec<_>>(), b);
        let mut measured = Counts::default();
        let mut total = Counts::default();
        let mut response = LatencyHistogram::new(3);
        for r in runs {
            measured.add(&r.measured);
            total.add(&r.total);
            response.merge(&r.response);
        }
        let total_workers: f64 = workers.iter().map(|&w| f64::from(w)).sum();
        let requests = |r: &RunStats| r.servers.iter().map(|s| s.requests as f64).collect::<Vec<f64>>();
        // ρ_i: work routed over what the workers could do in the window with the capacity
        // the server had (crashes and slowdowns take theirs away).
        let loads = |r: &RunStats| {
            r.servers.iter().zip(&workers).map(|(s, &w)| server_load(s, w, r.window())).collect::<Vec<f64>>()
        };
        let percentiles: Vec<Estimate> = QUANTILES.iter().map(|&(_, q)| quantile_estimate(runs, q)).collect();
        // Each figure with an interval: its estimate, and its values per replication kept
        // for paired comparisons.
        let mut units = vec![Units::default(); Figure::ALL.len()];
        let mut fig = |f: Figure, b: Bounds, g: &dyn Fn(&RunStats) -> f64| {
            let v: Vec<f64> = runs.iter().map(g).collect();
            let e = Estimate::within(&v, b);
            units[f as usize] = Units { values: v, level: None, independent: true };
            e
        };
        let servers = (0..pool.servers.len())
            .map(|i| {
                let mut h = LatencyHistogram::new(2);
                let mut s = ServerSummary {
                    name: pool.servers[i].name.clone(),
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
                    capacity_rps: pool.capacity_rps[i],
                    offered_rps: 0.0,
                    rho: 0.0,
                    saturated: saturation.has(i),
                    load_rank: 0,
                    rho_at_rank: 0.0,
                    connections_mean: 0.0,
                    connections_max: 0,
                    requests_per_connection: 0.0,
                    in_transit: 0,
                };
                let (mut opened, mut on_connections) = (0, 0);
                let mut completed = 0;
                let mut sum = 0.0;
                for r in runs {
                    let st = &r.servers[i];
                    s.requests += st.requests;
                    s.dropped += st.dropped;
                    s.in_transit += st.in_transit;
                    s.failed += st.failed;
                    s.timed_out += st.timed_out;
                    s.utilization += st.busy_area / (r.window() * f64::from(workers[i]));
                    s.mean_in_system += st.area_in_system / r.window();
                    s.max_in_system = s.max_in_system.max(st.max_in_system);
                    s.throughput += st.completed as f64 / r.window();
                    s.offered_rps += st.requests as f64 / r.window();
                    s.rho += server_load(st, workers[i], r.window());
                    completed += st.completed;
                    sum += st.response_sum;
                    s.connections_mean += st.connections_area / r.window();
                    s.connections_max = s.connections_max.max(st.connections_max);
                    opened += st.connections_opened;
                    on_connections += st.connection_requests;
                    h.merge(&st.response);
                }
                let n = runs.len() as f64;
                s.utilization /= n;
                s.mean_in_system /= n;
                s.throughput /= n;
                s.offered_rps /= n;
                s.rho /= n;
                s.connections_mean /= n;
                s.requests_per_connection = on_connections as f64 / opened as f64;
                s.mean_response = sum / completed as f64;
                s.p99_response = h.quantile(0.99);
                s
            })
            .collect();
        let servers = rank_profile(servers, runs.iter().map(loads));
        let mut summary = StrategySummary {
            label: runs[0].label.clone(),
            replications: runs.len() as u32,
            measured,
            total,
            mean: fig(Figure::Mean, Bounds::NON_NEGATIVE, &|r| r.mean_response()),
            p50: percentiles[quantile_index("50")],
            p90: percentiles[quantile_index("90")],
            p99: percentiles[quantile_index("99")],
            p999: percentiles[quantile_index("99.9")],
            percentiles,
            max: runs.iter().map(|r| r.response_max).fold(f64::NAN, f64::max),
            mean_wait: fig(Figure::Wait, Bounds::NON_NEGATIVE, &|r| r.wait_sum / r.measured.completed as f64),
            throughput: fig(Figure::Throughput, Bounds::NON_NEGATIVE, &|r| r.throughput()),
            utilization: fig(Figure::Utilization, Bounds::FRACTION, &|r| {
                r.servers.iter().map(|s| s.busy_area).sum::<f64>() / (r.window() * total_workers)
            }),
            mean_in_system: est(&|r| r.mean_in_system()),
            load_max_over_mean: fig(Figure::LoadMaxOverMean, Bounds::NON_NEGATIVE, &|r| {
                evenness::max_over_mean(&loads(r))
            }),
            load_cv: fig(Figure::LoadCv, Bounds::NON_NEGATIVE, &|r| evenness::cv(&loads(r))),
            jain: fig(Figure::Jain, Bounds::NON_NEGATIVE, &|r| evenness::jain(&loads(r))),
            busiest_server_share: fig(Figure::BusiestShare, Bounds::NON_NEGATIVE, &|r| evenness::max_share(&loads(r))),
            requests_max_over_mean: fig(Figure::RequestsMaxOverMean, Bounds::AT_LEAST_ONE, &|r| {
                evenness::max_over_mean(&requests(r))
            }),
            rho_max: fig(Figure::RhoMax, Bounds::NON_NEGATIVE, &|r| evenness::max(&loads(r))),
            queue_spread: fig(Figure::QueueSpread, Bounds::NON_NEGATIVE, &|r| r.queue_spread_area / r.window()),
            idle_while_waiting: fig(Figure::IdleWhileWaiting, Bounds::FRACTION, &|r| {
                r.idle_while_waiting_time / r.window()
            }),
            saturation,
            hottest_key_share: within(Bounds::FRACTION, &|r| r.hottest_key as f64 / r.measured.generated as f64),
            response,
            servers,
            timeline: runs[0].timeline.clone(),
            availability: fig(Figure::Availability, Bounds::FRACTION, &|r| r.measured.availability()),
            retry_amplification: fig(Figure::RetryAmplification, Bounds::AT_LEAST_ONE, &|r| {
                r.measured.retry_amplification()
            }),
            open_model: None,
            faults: runs.iter().map(|r| r.faults.clone()).collect(),
            panics: runs.iter().map(|r| r.panics).sum(),
            fallbacks: runs.iter().map(|r| r.fallbacks).sum(),
            pods: runs.iter().filter_map(|r| r.pods.clone()).collect(),
            pod_seconds: runs[0]
                .pods
                .is_some()
                .then(|| within(Bounds::NON_NEGATIVE, &|r| r.pods.as_ref().map_or(0.0, |p| p.pod_seconds))),
            policies: pool.balancer_queue.then(|| Box::new(super::PolicySummary::from_runs(runs))),
            mean_in_progress: runs
                .iter()
                .map(RunStats::mean_in_progress)
                .sum::<Option<f64>>()
                .map(|sum| sum / runs.len() as f64),
            fair_share: runs.iter().filter_map(|r| r.fair_share).reduce(f64::max),
            recovery: None,
            hedges: runs.iter().filter_map(|r| r.hedges).reduce(|mut a, b| {
                a.add(&b);
                a
            }),
            paired: Vec::new(),
            batch_count: None,
            batches_correlated: false,
            warmup: 0,
            precision: Vec::new(),
            transient: runs.iter().map(|r| r.transient).collect::<Option<Vec<_>>>().map(super::warmup::Transient::of),
            subset_widened: runs.iter().map(|r| r.subset_widened).sum(),
            slo_violated_s: runs[0]
                .slo
                .is_some()
                .then(|| within(Bounds::NON_NEGATIVE, &|r| r.slo.map_or(0.0, |w| w.violated_seconds()))),
            slo_violated_share: runs[0]
                .slo
                .is_some()
                .then(|| within(Bounds::FRACTION, &|r| r.slo.map_or(0.0, |w| w.violated_share()))),
            end: within(Bounds::NON_NEGATIVE, &|r| r.end),
        };
        for f in Figure::ALL {
            if let Some(q) = f.quantile() {
                units[f as usize] = Units {
                    values: runs.iter().map(|r| r.response.quantile(QUANTILES[q].1)).collect(),
                    level: None,
                    independent: true,
                };
            }
        }
        summary.paired = units;
        if let [run] = runs
            && !run.batches.is_empty()
        {
            summary.single_run_intervals(&run.batches);
        }
        summary.resolution_floor();
        summary
    }

    /// One run: every figure's interval from its batch means (see [`super::batch`]), and
    /// the batches kept for paired comparisons.
    fn single_run_intervals(&mut self, b: &Batches) {
        let (level, test) = b.level();
        let independent = test == Test::Independent;
        for f in Figure::ALL {
            let l = b.level_of(f, level);
            let values = b.series(f, l);
            if f.quantile().is_none() {
                self.estimate_mut(f).ci95 = half_width(&values);
            }
            self.paired[f as usize] = Units { values, level: Some(l), independent };
        }
        let last = QUANTILES.len() - 1;
        for (q, e) in self.percentiles.iter_mut().enumerate().filter(|(q, _)| *q != 0 && *q != last) {
            e.ci95 = half_width_about(&b.quantile_series(q, b.quantile_level(q, level)), e.value);
        }
        self.batch_count = Some(b.len() >> level);
        self.batches_correlated = test == Test::Correlated;
    }

    /// No percentile's interval narrower than a bucket of the histogram at its value: the
    /// histogram does not know it more finely.
    fn resolution_floor(&mut self) {
        let last = QUANTILES.len() - 1;
        for (_, e) in self.percentiles.iter_mut().enumerate().filter(|(q, _)| *q != 0 && *q != last) {
            if e.value.is_finite() {
                e.ci95 = e.ci95.map(|h| h.max(self.response.resolution(e.value)));
            }
        }
        for f in [Figure::P50, Figure::P90, Figure::P99, Figure::P999] {
            let q = f.quantile().expect("a percentile");
            *self.estimate_mut(f) = self.percentiles[q];
        }
    }

    /// The estimate of figure `f`.
    pub fn estimate(&self, f: Figure) -> Estimate {
        match f {
            Figure::Mean => self.mean,
            Figure::P50 => self.p50,
            Figure::P90 => self.p90,
            Figure::P99 => self.p99,
            Figure::P999 => self.p999,
            Figure::Wait => self.mean_wait,
            Figure::Throughput => self.throughput,
            Figure::Utilization => self.utilization,
            Figure::RhoMax => self.rho_max,
            Figure::LoadMaxOverMean => self.load_max_over_mean,
            Figure::LoadCv => self.load_cv,
            Figure::Jain => self.jain,
            Figure::BusiestShare => self.busiest_server_share,
            Figure::RequestsMaxOverMean => self.requests_max_over_mean,
            Figure::QueueSpread => self.queue_spread,
            Figure::IdleWhileWaiting => self.idle_while_waiting,
            Figure::Availability => self.availability,
            Figure::RetryAmplification => self.retry_amplification,
        }
    }

    fn estimate_mut(&mut self, f: Figure) -> &mut Estimate {
        match f {
            Figure::Mean => &mut self.mean,
            Figure::P50 => &mut self.p50,
            Figure::P90 => &mut self.p90,
            Figure::P99 => &mut self.p99,
            Figure::P999 => &mut self.p999,
            Figure::Wait => &mut self.mean_wait,
            Figure::Throughput => &mut self.throughput,
            Figure::Utilization => &mut self.utilization,
            Figure::RhoMax => &mut self.rho_max,
            Figure::LoadMaxOverMean => &mut self.load_max_over_mean,
            Figure::LoadCv => &mut self.load_cv,
            Figure::Jain => &mut self.jain,
            Figure::BusiestShare => &mut self.busiest_server_share,
            Figure::RequestsMaxOverMean => &mut self.requests_max_over_mean,
            Figure::QueueSpread => &mut self.queue_spread,
            Figure::IdleWhileWaiting => &mut self.idle_while_waiting,
            Figure::Availability => &mut self.availability,
            Figure::RetryAmplification => &mut self.retry_amplification,
        }
    }

    /// Whether queues grow without bound under this strategy (its figures describe a
    /// transient).
    pub fn is_unstable(&self) -> bool {
        self.saturation.unstable
    }

    /// Little's law check: mean number in system / (throughput × mean response).
    /// Close to 1 in every run (edge effects of the window shrink as 1/R).
    pub fn little_ratio(&self) -> f64 {
        self.held() / (self.throughput.value * self.mean.value)
    }

    /// Time-averaged number of requests held, Little's L: every request in progress when
    /// the engine follows them (at the servers, at the balancer, waiting for a client's
    /// connection, on the network, backing off), else those at the servers.
    pub fn held(&self) -> f64 {
        self.mean_in_progress.unwrap_or(self.mean_in_system.value)
    }

    /// Measured requests dropped, as a fraction of measured requests.
    pub fn drop_rate(&self) -> f64 {
        self.measured.dropped as f64 / self.measured.generated as f64
    }
}
