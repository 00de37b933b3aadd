//! Warnings a reader must see next to the numbers: one enum, each variant's text written
//! once (its `Display`), computed once per report and shared by the terminal table, the JSON
//! summary, `manifest.json` and stderr.

use std::fmt;

use super::run::Report;
use crate::analysis::Preflight;
use crate::duration::format_duration;
use crate::report::charts::style::thousands;
use crate::scenario::Scenario;
use crate::scenario::arrivals::Shape;
use crate::stats::StrategySummary;
use crate::stats::saturation::{self, Evidence, Saturation};

/// Relative gap between L and λW beyond which a run is reported as not in steady state.
pub const LITTLE_TOLERANCE: f64 = 0.05;

/// Something that makes results unreliable or a scenario not what its author meant.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// Steady arrivals at offered load ρ ≥ 1: queues grow without bound.
    Unstable {
        /// The offered load.
        rho: f64,
    },
    /// The service distribution's own warning (e.g. a cv it cannot reach), as the scenario
    /// words it.
    Service(String),
    /// Hash-based strategies (their labels) listed although requests carry no repeating keys.
    Keyless(Vec<String>),
    /// A trace replay arriving faster on average than the servers serve.
    TraceTooFast {
        /// The offered load.
        rho: f64,
    },
    /// A time-varying rate whose peak exceeds the capacity (queues build up at the peak).
    PeakOverCapacity {
        /// Peak arrival rate, req/s.
        peak: f64,
        /// Capacity, req/s.
        capacity: f64,
    },
    /// A fault that starts after the run is expected to end.
    FaultAfterEnd {
        /// The fault's index in `[[faults]]`.
        fault: usize,
        /// When it starts, s.
        start: f64,
        /// When the run is expected to end, s.
        end: f64,
    },
    /// A strategy that completed no measured request.
    NoCompletions {
        /// Strategy label.
        strategy: String,
    },
    /// Little's law off by more than [`LITTLE_TOLERANCE`]: the run is too short for steady
    /// state.
    LittlesLaw {
        /// Strategy label.
        strategy: String,
        /// L / (λW) − 1.
        gap: f64,
        /// Mean number in system, L.
        in_system: f64,
        /// Throughput × mean response, λW.
        lambda_w: f64,
    },
    /// Sweep points at offered load ρ ≥ 1 (marked `!` in the sweep table).
    UnstablePoints,
    /// A strategy whose static split offers servers at least their capacity (known before
    /// the run, [`crate::stats::saturation`]).
    Saturated {
        /// Strategy label.
        strategy: String,
        /// The replication whose key hashes the split comes from (keyed splits, several
        /// replications).
        replication: Option<u32>,
        /// Per saturated server: name, offered req/s, capacity req/s, ρ.
        servers: Vec<(String, f64, f64, f64)>,
    },
    /// A strategy under which servers' (or the pool's) number in system still rises over
    /// the end of the run, without draining since.
    Growing {
        /// Strategy label.
        strategy: String,
        /// The replication it was seen in (with several).
        replication: Option<u32>,
        /// Per growing server (`None`: the pool): name, slope in requests/s, since when it
        /// has not drained (s), its number in system then and at the end.
        servers: Vec<GrowingServer>,
        /// The growing servers' loads ρ over the run (servers.csv's `rho`): lowest, highest
        /// (`None` for the pool).
        rho: Option<(f64, f64)>,
    },
    /// Sweep cells whose strategy was unstable at that point (marked `!` in the sweep
    /// table) although the point's offered load is below 1.
    UnstableCells,
    /// A sweep of a closed loop: it cannot be overloaded (its clients wait), so the sweep
    /// table reports the throughput they achieved instead of ρ.
    ClosedLoopSweep,
    /// Service times with infinite variance (Pareto α ≤ 2): a waiting request meets a
    /// residual service time of mean E\[S²\]/2E\[S\] = ∞, so the mean wait and mean response time
    /// do not exist; the reported means grow with the run.
    MeanDoesNotExist {
        /// Where the distribution is used: `[service]`, `group web`.
        source: String,
        /// Its tail index α.
        alpha: f64,
    },
    /// Service times with an infinite third moment (Pareto 2 < α ≤ 3): the mean response time
    /// exists but the wait has infinite variance, so its confidence interval is unreliable.
    MeanCiUnreliable {
        /// Where the distribution is used.
        source: String,
        /// Its tail index α.
        alpha: f64,
    },
    /// Confidence intervals that reached past a physical bound and are shown clipped to it:
    /// `strategy metric value ± half → [lower, upper]`, one text each.
    ClippedIntervals(Vec<String>),
    /// One replication whose batch means of the response time were still correlated at the
    /// coarsest batching: its intervals may be too narrow.
    BatchesCorrelated(Vec<String>),
    /// A stationary workload whose response times never settled for these strategies
    /// (MSER-5's truncation past half the run, not applied).
    NoSteadyState(Vec<String>),
    /// An explicit `warmup_requests` shorter than the transient MSER-5 finds.
    WarmupShort {
        /// The warm-up given, requests.
        warmup: u64,
        /// The longest truncation found, requests.
        detected: u64,
        /// The strategies whose transient outlasts the warm-up.
        strategies: Vec<String>,
    },
    /// Strategies not back to normal by the end of the run after a fault window or flash
    /// crowd (summary.csv `recovered` = 0; phases.csv says which).
    NotRecovered {
        /// Their labels.
        strategies: Vec<String>,
        /// Whether the client retries: then a metastable state (Bronson et al., HotOS 2021).
        metastable: bool,
    },
    /// Measured requests dropped at full queues (issue 26: near-saturation's random dropped
    /// 97 with no word): they are in no response-time figure.
    Dropped {
        /// Per strategy that dropped any: label, dropped, measured requests generated.
        strategies: Vec<(String, u64, u64)>,
        /// The servers' waiting room when all bounded ones share it (`None`: it differs).
        capacity: Option<u32>,
        /// Per strategy (aligned): the servers that dropped, by name, most drops first.
        servers: Vec<Vec<String>>,
    },
    /// A run whose estimated work exceeds [`crate::budget::SLOW_WORK`] events.
    Slow {
        /// Work of the whole run, in events.
        work: f64,
        /// Simulations (strategies × replications).
        simulations: u64,
    },
}

/// What the saturation warnings end with.
/// A growing server of [`Warning::Growing`] (`None`: the pool): name, slope in requests/s,
/// since when it has not drained (s), its number in system then and at the end.
pub type GrowingServer = (Option<String>, f64, f64, f64, f64);

const TRANSIENT: &str = "these figures describe a transient, not a steady state";

/// Server names for a sentence: all of them up to three, else the first and last and
/// how many (the phases' form, `web-1 to web-9 (9 servers)`).
fn name_list(names: &[&str]) -> String {
    super::run::phases::server_list(names)
}

/// The saturated servers grouped by equal (offered, capacity) as shown (0.1 req/s), in
/// order of first appearance.
fn offered_groups(servers: &[(String, f64, f64, f64)]) -> Vec<(Vec<&str>, f64, f64, f64)> {
    let mut groups: Vec<(Vec<&str>, f64, f64, f64)> = Vec::new();
    for (name, offered, capacity, rho) in servers {
        let key = (format!("{offered:.1}"), format!("{capacity:.1}"));
        match groups.iter_mut().find(|g| (format!("{:.1}", g.1), format!("{:.1}", g.2)) == key) {
            Some(g) => g.0.push(name),
            None => groups.push((vec![name.as_str()], *offered, *capacity, *rho)),
        }
    }
    // The most overloaded first.
    groups.sort_by(|a, b| b.3.total_cmp(&a.3));
    groups
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Unstable { rho } => write!(
                f,
                "UNSTABLE: offered load ρ = {rho:.3} ≥ 1 — the servers cannot keep up, queues grow without bound and \
                 response times depend on the run length, not on the strategy's steady state"
            ),
            Warning::Service(msg) => f.write_str(msg),
            Warning::Keyless(labels) => write!(
                f,
                "{} route by request key, but the scenario has no [keys] section: every request has a key of its \
                 own, so they spread requests like random routing (add e.g. [keys] count = 100000, distribution = \
                 \"zipf\", exponent = 1.1)",
                labels.join(", ")
            ),
            Warning::TraceTooFast { rho } => write!(
                f,
                "the trace arrives faster on average than the servers serve (ρ = {rho:.3}): queues grow over the replay"
            ),
            Warning::PeakOverCapacity { peak, capacity } => write!(
                f,
                "the peak rate ({peak:.1} req/s) exceeds the capacity ({capacity:.1} req/s): queues build up during \
                 the peak"
            ),
            Warning::FaultAfterEnd { fault, start, end } => write!(
                f,
                "fault {fault} starts at {} but the run is expected to end near {}: raise `requests` to see it",
                format_duration(*start),
                format_duration(*end)
            ),
            Warning::NoCompletions { strategy } => write!(f, "{strategy}: no measured request completed"),
            Warning::LittlesLaw { strategy, gap, in_system, lambda_w } => write!(
                f,
                "{strategy}: Little's law is off by {:.1}% (L = {in_system:.3} vs λW = {lambda_w:.3}): the run is too \
                 short to reach steady state; raise `requests` or `warmup_requests`",
                100.0 * gap
            ),
            Warning::UnstablePoints => f.write_str(
                "points marked ! have offered load ρ ≥ 1: queues grow without bound there and their latencies depend \
                 on the run length",
            ),
            Warning::Saturated { strategy, replication, servers } => {
                let rep = replication.map_or(String::new(), |r| format!(" (key hashes of replication {r})"));
                let parts: Vec<String> = offered_groups(servers)
                    .iter()
                    .map(|(names, offered, capacity, rho)| {
                        let each = if names.len() > 1 { "each of " } else { "" };
                        format!(
                            "{offered:.1} req/s to {each}{}, capacity {capacity:.1} req/s (ρ = {rho:.2})",
                            name_list(names)
                        )
                    })
                    .collect();
                let whose = if servers.len() == 1 { "its queue grows" } else { "their queues grow" };
                write!(f, "{strategy}{rep} sends {}: {whose} without bound; {TRANSIENT}", parts.join(", and "))
            }
            Warning::Growing { strategy, replication, servers, rho } => {
                let rep = replication.map_or(String::new(), |r| format!(" (replication {r})"));
                // What a planner acts on: which servers, how far their queues have run away
                // and since when, and how much more work they got than they could do.
                let n = |v: f64| thousands(v.max(0.0).round() as u64);
                let parts: Vec<String> = if servers.len() <= 3 {
                    servers
                        .iter()
                        .map(|(name, slope, since, from, to)| {
                            let at = name.as_ref().map_or("the pool".to_string(), |n| n.clone());
                            format!("{at} {} → {} since {since:.0} s (+{slope:.1}/s)", n(*from), n(*to))
                        })
                        .collect()
                } else {
                    // Many servers: their names and the ranges, in one phrase.
                    let range = |f: &dyn Fn(&GrowingServer) -> f64| {
                        let lo = servers.iter().map(f).fold(f64::INFINITY, f64::min);
                        let hi = servers.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
                        (lo, hi)
                    };
                    let names: Vec<&str> = servers.iter().filter_map(|s| s.0.as_deref()).collect();
                    // "a–b", or "a" when both ends read the same.
                    let span = |(lo, hi): (f64, f64), f: &dyn Fn(f64) -> String| {
                        let (a, b) = (f(lo), f(hi));
                        if a == b { a } else { format!("{a}–{b}") }
                    };
                    vec![format!(
                        "{} from {} since {} s to {} (+{}/s each)",
                        names.join(", "),
                        span(range(&|s| s.3), &n),
                        span(range(&|s| s.2), &|v| format!("{v:.0}")),
                        span(range(&|s| s.4), &n),
                        span(range(&|s| s.1), &|v| format!("{v:.1}")),
                    )]
                };
                let (whose, them) =
                    if servers.len() == 1 { ("its queue grows", "it needs") } else { ("their queues grow", "they need") };
                let load = match rho {
                    Some((lo, hi)) if (hi - lo).abs() < 5e-4 => format!("; ρ over the run {hi:.3}"),
                    Some((lo, hi)) => format!("; ρ over the run {lo:.3}–{hi:.3}"),
                    None => String::new(),
                };
                write!(
                    f,
                    "{strategy}{rep}: requests in system still rising at the end of the run, without draining, at {} \
                     server(s): {} (requests in system, interval averages){load}: {whose} without bound — {them} \
                     more capacity or less of the traffic; {TRANSIENT}",
                    servers.len(),
                    parts.join(", ")
                )
            }
            Warning::UnstableCells => f.write_str(
                "cells marked ! are strategies whose queues grow without bound at that point although the pool could \
                 keep up (some servers are offered more than they can serve): their latencies depend on the run length",
            ),
            Warning::ClosedLoopSweep => f.write_str(
                "closed loop: the clients wait for their responses, so queues cannot grow without bound at any point; \
                 `req/s achieved` is the throughput the clients achieved (the range over strategies), shown instead of ρ",
            ),
            Warning::MeanDoesNotExist { source, alpha } => write!(
                f,
                "MEAN DOES NOT EXIST: {source} is Pareto with alpha = {alpha} ≤ 2, whose variance is infinite; a \
                 request that waits meets a residual service time of infinite mean, so the mean wait and mean response \
                 time are infinite: the means reported are finite-run values that grow with the run and their \
                 intervals mean nothing — compare percentiles (which exist)"
            ),
            Warning::MeanCiUnreliable { source, alpha } => write!(
                f,
                "{source} is Pareto with alpha = {alpha} ≤ 3: its third moment is infinite, so the wait has infinite \
                 variance; the mean response time exists but converges slowly and its confidence interval is \
                 unreliable — prefer percentiles"
            ),
            Warning::ClippedIntervals(items) => write!(
                f,
                "95% confidence intervals that reach past a physical bound, shown clipped to it (more replications \
                 narrow them): {}",
                items.join("; ")
            ),
            Warning::BatchesCorrelated(labels) => write!(
                f,
                "batch means still correlated at 32 batches for {}: the ± from this one run may be too narrow — run \
                 longer (`requests`) or ask for `replications`",
                labels.join(", ")
            ),
            Warning::NoSteadyState(labels) => write!(
                f,
                "no steady state reached: run longer — the response times of {} were still settling past half the \
                 run (MSER-5), so no warm-up can be trusted; raise `requests`",
                labels.join(", ")
            ),
            Warning::NotRecovered { strategies, metastable } => write!(
                f,
                "{}: {} (phases.csv: the event and how long its p99 stayed high)",
                strategies.join(", "),
                if *metastable {
                    "did not recover by the end of the run: a metastable state (retries/timeouts keep it overloaded)"
                } else {
                    "did not recover by the end of the run"
                }
            ),
            Warning::WarmupShort { warmup, detected, strategies } => write!(
                f,
                "warmup_requests = {warmup} is shorter than the transient MSER-5 finds ({detected} requests, {}): \
                 raise it, or leave it out to have it found (auto)",
                strategies.join(", ")
            ),
            Warning::Dropped { strategies, capacity, servers } => {
                let parts: Vec<String> = strategies
                    .iter()
                    .zip(servers)
                    .map(|((label, dropped, generated), at)| {
                        let share = *dropped as f64 / (*generated).max(1) as f64;
                        // The servers that dropped most, and how many more.
                        let names: Vec<&str> = at.iter().take(3).map(String::as_str).collect();
                        let more = match at.len().saturating_sub(3) {
                            0 => String::new(),
                            1 => " and 1 more server".to_string(),
                            n => format!(" and {n} more servers"),
                        };
                        let names = if more.is_empty() { name_list(&names) } else { format!("{}{more}", names.join(", ")) };
                        let share = crate::report::run::charts::share_text(share);
                        format!("{label} {} ({share}, at {names})", thousands(*dropped))
                    })
                    .collect();
                let room = capacity.map_or("their queue_capacity".to_string(), |c| format!("queue_capacity = {c}"));
                write!(
                    f,
                    "requests dropped at full queues ({room}): {}; a dropped request is in no response-time figure \
                     (summary.csv `dropped`, servers.csv per server)",
                    parts.join(", ")
                )
            }
            Warning::Slow { work, simulations } => write!(
                f,
                "slow run: about {work:.1e} events to simulate over {simulations} simulation(s) (a few million per \
                 second per thread); lower `requests`, `replications` or the strategies for a quick look"
            ),
        }
    }
}

impl Warning {
    /// The warnings of a run, in the order they are shown; `preflight` is what was known of
    /// its scenario before it ran.
    pub fn of_run(report: &Report, preflight: &Preflight) -> Vec<Warning> {
        let sc = &report.scenario;
        let rho = report.offered_load();
        let mut w = Warning::scenario(sc, preflight, false);
        let clipped: Vec<String> = report.strategies.iter().flat_map(clipped_intervals).collect();
        if !clipped.is_empty() {
            w.push(Warning::ClippedIntervals(clipped));
        }
        let correlated: Vec<String> = report
            .strategies
            .iter()
            .filter(|s| s.batches_correlated && !s.is_unstable())
            .map(|s| s.label.clone())
            .collect();
        if !correlated.is_empty() {
            w.push(Warning::BatchesCorrelated(correlated));
        }
        w.extend(Warning::of_transients(report));
        let stuck: Vec<String> =
            report.strategies.iter().filter(|s| s.recovery.is_some_and(|r| !r.all)).map(|s| s.label.clone()).collect();
        if !stuck.is_empty() {
            let metastable = sc.client.is_some_and(|c| c.max_retries > 0);
            w.push(Warning::NotRecovered { strategies: stuck, metastable });
        }
        w.extend(Warning::of_drops(report));
        for s in &report.strategies {
            // Saturation (when the pool as a whole is not the cause, which the UNSTABLE
            // warning above already says).
            if !s.saturation.pool {
                let rho: Vec<f64> = s.servers.iter().map(|v| v.rho).collect();
                w.extend(Warning::of_saturation(sc, &s.label, &s.saturation, &rho));
            }
            if s.measured.completed == 0 {
                w.push(Warning::NoCompletions { strategy: s.label.clone() });
                continue;
            }
            // Little's law, L = λW, holds in steady state; a large gap means the window is too
            // short for the queues to settle — unless they never settle, which saturation
            // explains (and more requests cannot help). Not checked when requests can fail or
            // time out (abandoned work stays in the servers but completes nothing) nor for a
            // finite trace replay.
            let gap = s.little_ratio() - 1.0;
            let comparable = !sc.has_failures() && sc.arrivals.trace().is_none();
            if rho < 1.0 && comparable && !s.is_unstable() && gap.abs() > LITTLE_TOLERANCE {
                w.push(Warning::LittlesLaw {
                    strategy: s.label.clone(),
                    gap,
                    in_system: s.held(),
                    lambda_w: s.throughput.value * s.mean.value,
                });
            }
        }
        w
    }

    /// The measured requests each strategy dropped at full queues, and where.
    fn of_drops(report: &Report) -> Option<Warning> {
        let mut strategies = Vec::new();
        let mut servers = Vec::new();
        for s in report.strategies.iter().filter(|s| s.measured.dropped > 0) {
            strategies.push((s.label.clone(), s.measured.dropped, s.measured.generated));
            let mut at: Vec<&crate::stats::ServerSummary> = s.servers.iter().filter(|v| v.dropped > 0).collect();
            at.sort_by(|a, b| b.dropped.cmp(&a.dropped).then(a.name.cmp(&b.name)));
            servers.push(at.into_iter().map(|v| v.name.clone()).collect());
        }
        if strategies.is_empty() {
            return None;
        }
        let mut bounded = report.scenario.servers.iter().map(|v| v.queue_capacity).filter(|&c| c > 0);
        let first = bounded.next();
        let capacity = first.filter(|&c| bounded.all(|d| d == c));
        Some(Warning::Dropped { strategies, capacity, servers })
    }

    /// What MSER-5 found of a stationary workload's transients (see `stats::warmup`):
    /// strategies that never settled (saturated ones aside: their warnings say why), and an
    /// explicit warm-up shorter than a transient.
    fn of_transients(report: &Report) -> Vec<Warning> {
        let sc = &report.scenario;
        if !sc.is_stationary() || report.offered_load() >= 1.0 {
            return Vec::new();
        }
        let stable = || report.strategies.iter().filter(|s| !s.is_unstable() && s.measured.completed > 0);
        let mut w = Vec::new();
        let unsettled: Vec<String> =
            stable().filter(|s| s.transient.is_some_and(|t| !t.steady)).map(|s| s.label.clone()).collect();
        if !unsettled.is_empty() {
            w.push(Warning::NoSteadyState(unsettled));
        }
        let short: Vec<(String, u64)> = stable()
            .filter_map(|s| {
                s.transient.filter(|t| t.steady && t.truncation > sc.warmup).map(|t| (s.label.clone(), t.truncation))
            })
            .collect();
        if sc.warmup_explicit && !short.is_empty() {
            w.push(Warning::WarmupShort {
                warmup: sc.warmup,
                detected: short.iter().map(|s| s.1).max().unwrap_or(0),
                strategies: short.into_iter().map(|s| s.0).collect(),
            });
        }
        w
    }

    /// The saturation warnings of strategy `label` (none when it is stable).
    /// `rho`: its servers' loads over the run (servers.csv's `rho`).
    pub fn of_saturation(sc: &Scenario, label: &str, sat: &Saturation, rho: &[f64]) -> Vec<Warning> {
        let name = |i: usize| sc.servers[i].name.clone();
        let mut offered = Vec::new();
        let mut growing = Vec::new();
        let mut loads: Option<(f64, f64)> = None;
        for s in &sat.servers {
            match s.evidence {
                Evidence::Offered { offered_rps, capacity_rps, rho } => {
                    offered.push((s.server.map_or_else(String::new, name), offered_rps, capacity_rps, rho));
                }
                Evidence::Growing { slope, since, from, to, .. } => {
                    growing.push((s.server.map(name), slope, since, from, to));
                    if let Some(i) = s.server {
                        let r = rho.get(i).copied().unwrap_or(f64::NAN);
                        loads = Some(loads.map_or((r, r), |(lo, hi): (f64, f64)| (lo.min(r), hi.max(r))));
                    }
                }
            }
        }
        let mut w = Vec::new();
        if !offered.is_empty() {
            w.push(Warning::Saturated {
                strategy: label.to_string(),
                replication: sat.split_replication,
                servers: offered,
            });
        }
        if !growing.is_empty() {
            w.push(Warning::Growing {
                strategy: label.to_string(),
                replication: sat.growth_replication,
                servers: growing,
                rho: loads,
            });
        }
        w
    }

    /// The warnings about a scenario itself, known before it runs: what `lbsim validate`
    /// prints (with the static splits' saturation of `preflight`, from replication 0's key
    /// hashes), and the first warnings of a run.
    pub fn of_scenario(sc: &Scenario, preflight: &Preflight) -> Vec<Warning> {
        Warning::scenario(sc, preflight, true)
    }

    /// The scenario's warnings, with the static splits' saturation or without (a run
    /// reports it per strategy, from every replication).
    fn scenario(sc: &Scenario, preflight: &Preflight, static_splits: bool) -> Vec<Warning> {
        let rho = sc.offered_load();
        let steady = sc.arrivals.open_ended();
        let mut w = Vec::new();
        if steady && rho >= 1.0 {
            w.push(Warning::Unstable { rho });
        }
        w.extend(sc.service.warning().map(Warning::Service));
        for (alpha, source) in sc.heavy_tails() {
            w.push(if alpha <= 2.0 {
                Warning::MeanDoesNotExist { source, alpha }
            } else {
                Warning::MeanCiUnreliable { source, alpha }
            });
        }
        let keyed = sc.keyed_without_keys();
        if !keyed.is_empty() {
            w.push(Warning::Keyless(keyed.into_iter().map(str::to_string).collect()));
        }
        if sc.arrivals.trace().is_some() && rho >= 1.0 {
            w.push(Warning::TraceTooFast { rho });
        }
        if rho < 1.0 && matches!(sc.arrivals.shape(), Shape::Peaked) {
            let (peak, capacity) = (sc.peak_rate(), sc.capacity());
            if peak >= capacity {
                w.push(Warning::PeakOverCapacity { peak, capacity });
            }
        }
        let end = sc.expected_duration();
        for (fault, f) in sc.faults.iter().enumerate() {
            if f.start >= end {
                w.push(Warning::FaultAfterEnd { fault, start: f.start, end });
            }
        }
        if static_splits && (rho < 1.0 || rho.is_nan()) {
            for load in &preflight.static_loads {
                let servers: Vec<(String, f64, f64, f64)> = load
                    .rho
                    .iter()
                    .enumerate()
                    .filter(|&(i, &r)| saturation::is_saturated(r) && sc.servers[i].queue_capacity == 0)
                    .map(|(i, &r)| (sc.servers[i].name.clone(), r * sc.capacity_of(i), sc.capacity_of(i), r))
                    .collect();
                if !servers.is_empty() {
                    w.push(Warning::Saturated { strategy: load.label.clone(), replication: None, servers });
                }
            }
        }
        let usage = &preflight.usage;
        if usage.is_slow() {
            w.push(Warning::Slow { work: usage.work, simulations: usage.simulations });
        }
        w
    }
}

/// The estimates of `s` whose interval is clipped at a physical bound, each as
/// `label metric value ± half → [lower, upper] unit`.
fn clipped_intervals(s: &StrategySummary) -> Vec<String> {
    let times = [
        ("mean", &s.mean),
        ("p50", &s.p50),
        ("p90", &s.p90),
        ("p99", &s.p99),
        ("p99.9", &s.p999),
        ("mean wait", &s.mean_wait),
    ];
    let others = [
        ("throughput", &s.throughput, "req/s"),
        ("utilization", &s.utilization, ""),
        ("availability", &s.availability, ""),
        ("busiest server share", &s.busiest_server_share, ""),
        ("Jain index", &s.jain, ""),
    ];
    let times = times.into_iter().map(|(name, e)| (name, e, 1e3, " ms"));
    let others = others.into_iter().map(|(name, e, unit)| (name, e, 1.0, unit));
    times
        .chain(others)
        .filter(|(_, e, _, _)| e.is_clipped())
        .filter_map(|(name, e, scale, unit)| {
            let (lo, hi) = e.interval()?;
            let half = e.ci95? * scale;
            let (v, lo, hi) = (e.value * scale, lo * scale, hi * scale);
            // Three decimals, more when the half-width needs them to show two digits.
            let d = if half > 0.0 { (1 - half.log10().floor() as i64).clamp(3, 12) as usize } else { 3 };
            Some(format!("{} {name} {v:.d$} ± {half:.d$} → [{lo:.d$}, {hi:.d$}]{unit}", s.label))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::manifest::manifest;
    use crate::report::run::{json, terminal};

    #[test]
    fn computed_once_shown_by_the_table_the_json_and_the_manifest() {
        let text = "requests = 2000\nstrategies = [\"random\"]\n[arrivals]\nprocess = \"poisson\"\nrate = 500.0\n\
                    [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"s\"\ncount = 2\n";
        let report = crate::run::run(&Scenario::parse(text, None).unwrap(), &Default::default()).unwrap();
        assert_eq!(report.warnings.first(), Some(&Warning::Unstable { rho: 2.5 }));
        let shown = report.warnings[0].to_string();
        let wrapped = crate::report::format::labelled("warning", &shown);
        assert!(terminal::render(&report, false).contains(&format!("\n{wrapped}")));
        assert_eq!(json::summary(&report)["warnings"][0], shown.as_str());
        assert_eq!(manifest(&report)["warnings"][0], shown.as_str());
    }

    #[test]
    fn texts_are_the_published_ones() {
        let w = Warning::FaultAfterEnd { fault: 2, start: 90.0, end: 45.0 };
        assert_eq!(
            w.to_string(),
            "fault 2 starts at 90s but the run is expected to end near 45s: raise `requests` to see it"
        );
        let w = Warning::LittlesLaw { strategy: "p2c".into(), gap: 0.0712, in_system: 3.0, lambda_w: 2.8 };
        assert_eq!(
            w.to_string(),
            "p2c: Little's law is off by 7.1% (L = 3.000 vs λW = 2.800): the run is too short to reach steady state; \
             raise `requests` or `warmup_requests`"
        );
        assert!(Warning::Unstable { rho: 1.25 }.to_string().starts_with("UNSTABLE: offered load ρ = 1.250 ≥ 1 — "));
    }

    /// A static split that is not keyed (round robin over unequal servers) names no key
    /// hashes, and growth seen in replication 1 is said to be replication 1's.
    #[test]
    fn saturation_names_key_hashes_only_for_keyed_splits() {
        use crate::stats::saturation::{Evidence, SaturatedServer, Saturation};
        let text = "requests = 2000\nstrategies = [\"round-robin\"]\n[arrivals]\nprocess = \"poisson\"\nrate = 150.0\n\
                    [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"a\"\n\
                    speed = 0.5\n[[servers]]\nname = \"b\"\ncount = 2\n";
        let sc = Scenario::parse(text, None).unwrap();
        let offered = Evidence::Offered { offered_rps: 50.0, capacity_rps: 50.0, rho: 1.0 };
        let growing = Evidence::Growing { slope: 1.5, t: 9.0, since: 4.0, from: 3.0, to: 9.0 };
        let servers = vec![(0, offered), (1, growing)];
        let servers = servers.into_iter().map(|(i, evidence)| SaturatedServer { server: Some(i), evidence }).collect();
        let sat =
            Saturation { unstable: true, pool: false, split_replication: None, growth_replication: Some(1), servers };
        let w = Warning::of_saturation(&sc, "round-robin", &sat, &[1.0, 0.9, 0.5]);
        let (saturated, grows) = (w[0].to_string(), w[1].to_string());
        assert!(saturated.starts_with("round-robin sends 50.0 req/s to a, capacity 50.0"), "{saturated}");
        assert!(!saturated.contains("key hashes") && grows.starts_with("round-robin (replication 1)"), "{grows}");
        let keyed = Saturation { split_replication: Some(2), growth_replication: None, ..sat };
        let w = Warning::of_saturation(&sc, "ring-hash", &keyed, &[1.0, 0.9, 0.5]);
        assert!(w[0].to_string().starts_with("ring-hash (key hashes of replication 2) sends"), "{}", w[0]);
        assert!(!w[1].to_string().contains("replication"), "{}", w[1]);
    }
}
