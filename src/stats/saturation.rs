//! Saturation: a server offered at least as much work as it can do has no steady state —
//! its queue grows for as long as the run lasts, and every figure of the run describes a
//! transient that depends on the run's length, not on the strategy.
//!
//! Two kinds of evidence, for open workloads whose rate does not end (Poisson,
//! deterministic, time-varying, MMPP; a closed loop's clients wait, so it cannot grow
//! without bound, and a trace ends):
//!
//! - **offered load, before the run**, for strategies whose long-run split does not depend
//!   on the pool's state ([`Split`]): server i gets a share p_i of the requests (1/S, its
//!   weight's share, or the probability of the keys hashed to it), so its offered load is
//!   ρ_i = λ · p_i / c_i with c_i = workers_i / mean service time. ρ_i ≥ 1 saturates it;
//! - **growth, from the run**, for every strategy (including static ones whose servers a
//!   slowdown fault overloads): the number in system still rising over the second half of
//!   the measured window, in a queue that never drained then (a request waiting at every
//!   sampled instant of that half: a stable queue empties again and again). The exact
//!   interval averages of the sampled timeline are grouped into [`GROWTH_BATCHES`] batch
//!   means; their least-squares slope is tested one-sided against its standard error,
//!   inflated for the residuals' lag-1 autocorrelation (AR(1)), with Student's t at
//!   [`GROWTH_LEVEL`] shared (Bonferroni) by every server and replication tested. Not done
//!   for time-varying rates, whose queues rise and fall with the rate.
//!
//! Only servers with an unbounded waiting room can grow without bound (a bounded one drops
//! instead). When the pool as a whole is offered ρ ≥ 1, every strategy saturates.

use super::RunStats;
use super::ci::t_quantile;
use crate::scenario::{Scenario, StrategySpec};
use crate::strategy::registry::{Split, split};
use crate::strategy::{self, Params, ServerInfo};
use crate::workload::keys::{KeyPopularity, KeySpace, key_hash};
use crate::workload::seeds::Seeds;

/// Offered loads at or above 1 − this count as saturated (ρ = 1 exactly, a critically loaded
/// queue, has no steady state either; the slack absorbs rounding in λ·p/c).
const RHO_SLACK: f64 = 1e-9;

/// Family-wise significance level of the growth test: the probability that a stable
/// strategy is reported as growing, over all its servers and replications.
pub const GROWTH_LEVEL: f64 = 0.001;

/// Batches the second half of the window is cut into for the growth test.
pub const GROWTH_BATCHES: usize = 10;

/// Fewest timeline samples in the second half of the window for the growth test.
const MIN_SAMPLES: usize = 8;

/// Key hashes assigned to compute a keyed split: at most this many (the most popular keys),
/// and at most [`KEY_WORK`] / S (a rendezvous assignment costs O(S) per key).
const MAX_KEYS: u64 = 1 << 17;
/// Bound on keys × servers for a keyed split.
const KEY_WORK: u64 = 1 << 24;
/// Keys never assigned for a keyed split, however large the pool.
const MIN_KEYS: u64 = 1 << 12;

/// Why a server is saturated.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// The strategy's static split offers it at least its capacity.
    Offered {
        /// Requests per second sent to it.
        offered_rps: f64,
        /// Requests per second it can serve.
        capacity_rps: f64,
        /// Offered load, offered / capacity.
        rho: f64,
    },
    /// Its number in system still rises over the second half of the window.
    Growing {
        /// Least-squares slope of its number in system, requests per second.
        slope: f64,
        /// The slope over its (autocorrelation-corrected) standard error.
        t: f64,
    },
}

/// A saturated server (or the pool, when servers are not sampled one by one).
#[derive(Debug, Clone, PartialEq)]
pub struct SaturatedServer {
    /// Index of the server; `None`: the pool's total (pools of more than
    /// [`crate::stats::timeline::DETAIL_MAX_SERVERS`] servers).
    pub server: Option<usize>,
    /// What shows it.
    pub evidence: Evidence,
}

/// Whether a strategy's run has a steady state, and if not, why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Saturation {
    /// Queues grow without bound: the figures describe a transient.
    pub unstable: bool,
    /// The pool as a whole is offered ρ ≥ 1 (so every strategy is unstable).
    pub pool: bool,
    /// The replication the evidence comes from, when it depends on it (keyed splits,
    /// growth) and there are several.
    pub replication: Option<u32>,
    /// The saturated servers, in server order (offered-load evidence first).
    pub servers: Vec<SaturatedServer>,
}

impl Saturation {
    /// Whether server `i` is among the saturated ones.
    pub fn has(&self, i: usize) -> bool {
        self.servers.iter().any(|s| s.server == Some(i))
    }
}

/// Whether an offered load ρ saturates a server (ρ ≥ 1, up to rounding).
pub fn is_saturated(rho: f64) -> bool {
    rho >= 1.0 - RHO_SLACK
}

/// Whether the scenario's arrivals keep coming at a rate that does not depend on the
/// system: the only workloads whose queues can grow without bound.
pub fn open_ended(sc: &Scenario) -> bool {
    sc.arrivals.open_ended()
}

/// The long-run share of the requests each server gets under `spec`, when it does not
/// depend on the pool's state; `None` for dynamic strategies (or one that cannot be built).
/// Keyed splits use the key hashes of `replication`.
pub fn static_shares(sc: &Scenario, spec: &StrategySpec, replication: u32) -> Option<Vec<f64>> {
    let s = sc.servers.len();
    match split(spec.name, &spec.params) {
        Split::Even => Some(vec![1.0 / s as f64; s]),
        Split::Weighted => {
            let total: f64 = sc.servers.iter().map(|v| f64::from(v.weight)).sum();
            Some(sc.servers.iter().map(|v| f64::from(v.weight) / total).collect())
        }
        Split::Ring => Some(strategy::haproxy_random_shares(&sc.servers)).filter(|v| v.len() == s),
        Split::Keyed => keyed_shares(sc, spec, replication),
        Split::Dynamic => None,
    }
}

/// Each server's offered load ρ_i = λ · p_i / c_i under a static split (see
/// [`static_shares`]), for replication `replication`.
pub fn static_rho(sc: &Scenario, spec: &StrategySpec, replication: u32) -> Option<Vec<f64>> {
    let shares = static_shares(sc, spec, replication)?;
    let rate = sc.arrival_rate();
    Some(shares.iter().enumerate().map(|(i, p)| rate * p / sc.capacity_of(i)).collect())
}

/// The probability mass of the keys each server owns, for a hash-based strategy.
///
/// With `[keys]`: the most popular keys (ids from 0, at most [`MAX_KEYS`] and
/// [`KEY_WORK`] / S) are assigned exactly, each weighted by its probability; the rest of
/// the key space (each key rarer than any of those) is spread like the assigned keys
/// counted once each. Without keys every request has a key of its own, so a server's share
/// is the fraction of distinct keys it owns, estimated from as many keys.
fn keyed_shares(sc: &Scenario, spec: &StrategySpec, replication: u32) -> Option<Vec<f64>> {
    let info = strategy::lookup(spec.name)?;
    let servers: &[ServerInfo] = &sc.servers;
    let params: &Params = &spec.params;
    let mut st = (info.build)(params, servers).ok()?;
    let cap = (KEY_WORK / servers.len().max(1) as u64).clamp(MIN_KEYS, MAX_KEYS);
    let space = sc.keys.unwrap_or(KeySpace { count: u64::MAX, popularity: KeyPopularity::Uniform });
    let n = space.count.min(cap);
    let salt = Seeds::new(sc.seed, replication).key_hash();
    let hashes: Vec<u64> = (0..n).map(|k| key_hash(k, salt)).collect();
    let owner = st.assign_keys(&hashes)?;
    let (head, total) = head_probabilities(&space, n);
    let head_mass: f64 = head.iter().sum::<f64>() / total;
    let mut share = vec![0.0; servers.len()];
    let mut keys = vec![0.0; servers.len()];
    for (&o, p) in owner.iter().zip(&head) {
        share[o as usize] += p / total;
        keys[o as usize] += 1.0;
    }
    for (s, k) in share.iter_mut().zip(&keys) {
        *s += (1.0 - head_mass).max(0.0) * k / n as f64;
    }
    Some(share)
}

/// The unnormalised probabilities of key ids `0..n` and the normalising total over the
/// whole key space (for Zipf, the head summed exactly and the tail beyond `n` by the
/// integral of x^−s from n + ½ to count + ½).
fn head_probabilities(space: &KeySpace, n: u64) -> (Vec<f64>, f64) {
    match space.popularity {
        KeyPopularity::Uniform => (vec![1.0; n as usize], space.count as f64),
        KeyPopularity::Zipf { exponent: s } => {
            let head: Vec<f64> = (1..=n).map(|r| (r as f64).powf(-s)).collect();
            let (a, b) = (n as f64 + 0.5, space.count as f64 + 0.5);
            let tail = if space.count <= n {
                0.0
            } else if (s - 1.0).abs() < 1e-12 {
                (b / a).ln()
            } else {
                (b.powf(1.0 - s) - a.powf(1.0 - s)) / (1.0 - s)
            };
            let total = head.iter().sum::<f64>() + tail;
            (head, total)
        }
    }
}

/// The saturation of one strategy (`spec`; `None` for a real balancer, whose split is
/// unknown) from its replications `runs` of `sc`.
pub fn assess(sc: &Scenario, spec: Option<&StrategySpec>, runs: &[RunStats]) -> Saturation {
    let unbounded: Vec<bool> = sc.servers.iter().map(|s| s.queue_capacity == 0).collect();
    if !open_ended(sc) || !unbounded.iter().any(|&u| u) {
        return Saturation::default();
    }
    let mut out = Saturation { pool: is_saturated(sc.offered_load()), ..Saturation::default() };
    let several = runs.len() > 1;
    let keyed = spec.is_some_and(|s| split(s.name, &s.params) == Split::Keyed);
    // Offered load of a static split: the replication whose busiest server is the busiest.
    if let Some(spec) = spec {
        let reps: Vec<u32> = if keyed { runs.iter().map(|r| r.replication).collect() } else { vec![0] };
        let worst = reps
            .iter()
            .filter_map(|&r| static_rho(sc, spec, r).map(|rho| (r, rho)))
            .max_by(|a, b| max_where(&a.1, &unbounded).total_cmp(&max_where(&b.1, &unbounded)));
        if let Some((r, rho)) = worst {
            for (i, &x) in rho.iter().enumerate() {
                if unbounded[i] && is_saturated(x) {
                    let capacity_rps = sc.capacity_of(i);
                    out.servers.push(SaturatedServer {
                        server: Some(i),
                        evidence: Evidence::Offered { offered_rps: x * capacity_rps, capacity_rps, rho: x },
                    });
                }
            }
            if keyed && several && !out.servers.is_empty() {
                out.replication = Some(r);
            }
        }
    }
    // Growth, for stationary arrivals.
    if sc.arrivals.stationary() {
        let tests = runs.len() * sc.servers.len();
        let workers: Vec<u32> = sc.servers.iter().map(|s| s.workers).collect();
        for r in runs {
            let grown = growth(r, &workers, &unbounded, tests);
            let fresh: Vec<SaturatedServer> =
                grown.into_iter().filter(|g| g.server.is_none_or(|i| !out.has(i))).collect();
            if !fresh.is_empty() {
                if several && out.replication.is_none() {
                    out.replication = Some(r.replication);
                }
                out.servers.extend(fresh);
                break;
            }
        }
    }
    out.unstable = out.pool || !out.servers.is_empty();
    out
}

/// The largest of `x` over the servers marked in `mask`.
fn max_where(x: &[f64], mask: &[bool]) -> f64 {
    x.iter().zip(mask).filter(|(_, m)| **m).map(|(v, _)| *v).fold(f64::NEG_INFINITY, f64::max)
}

/// The servers (or the pool) of one run whose number in system still rises over the second
/// half of the measured window: a significant upward trend (at [`GROWTH_LEVEL`] / `tests`)
/// in a queue that never drained (a request waiting at every sampled instant of that half;
/// a stable queue empties again and again). `workers` and `unbounded` are per server.
pub fn growth(run: &RunStats, workers: &[u32], unbounded: &[bool], tests: usize) -> Vec<SaturatedServer> {
    let t = &run.timeline;
    let dt = t.interval();
    let mid = (run.window_start + run.end) / 2.0;
    // Samples whose interval ((k − 1)·dt, k·dt] lies in [mid, end].
    let ks: Vec<usize> = (1..t.len()).filter(|&k| t.time(k) - dt >= mid && t.time(k) <= run.end).collect();
    if ks.len() < MIN_SAMPLES {
        return Vec::new();
    }
    let critical = t_quantile(1.0 - GROWTH_LEVEL / tests.max(1) as f64, (batches(ks.len()) - 2) as f64);
    let times: Vec<f64> = ks.iter().map(|&k| t.time(k) - dt / 2.0).collect();
    let test = |server: Option<usize>, values: Vec<f64>| {
        trend(&times, &values)
            .filter(|&(_, tstat)| tstat > critical)
            .map(|(slope, tstat)| SaturatedServer { server, evidence: Evidence::Growing { slope, t: tstat } })
    };
    let mut out: Vec<SaturatedServer> = Vec::new();
    if t.has_detail() {
        for (i, _) in unbounded.iter().enumerate().filter(|(_, u)| **u) {
            let backlogged = ks.iter().all(|&k| t.server(k, i).is_some_and(|s| s.in_system > workers[i]));
            if backlogged {
                out.extend(test(Some(i), ks.iter().map(|&k| t.server(k, i).map_or(0.0, |s| s.mean)).collect()));
            }
        }
    } else {
        // Without per-server samples: the pool's total, while its most loaded server never
        // averaged less than a full set of workers.
        let most = f64::from(workers.iter().copied().max().unwrap_or(1));
        if ks.iter().all(|&k| t.pool(k).max > most) {
            let n = t.servers() as f64;
            out.extend(test(None, ks.iter().map(|&k| t.pool(k).mean * n).collect()));
        }
    }
    out
}

/// Batches for `n` samples.
fn batches(n: usize) -> usize {
    GROWTH_BATCHES.min(n)
}

/// The least-squares slope of `values` over `times` from their batch means, and its
/// t statistic with the standard error inflated by √((1 + r₁)/(1 − r₁)) for a positive
/// lag-1 autocorrelation r₁ of the residuals. `None` when the data cannot tell (constant).
fn trend(times: &[f64], values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    let k = batches(n);
    let (mut x, mut y) = (Vec::with_capacity(k), Vec::with_capacity(k));
    for b in 0..k {
        let (lo, hi) = (b * n / k, (b + 1) * n / k);
        let m = (hi - lo) as f64;
        x.push(times[lo..hi].iter().sum::<f64>() / m);
        y.push(values[lo..hi].iter().sum::<f64>() / m);
    }
    let kf = k as f64;
    let (mx, my) = (x.iter().sum::<f64>() / kf, y.iter().sum::<f64>() / kf);
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let resid: Vec<f64> = x.iter().zip(&y).map(|(a, b)| b - my - slope * (a - mx)).collect();
    let sse: f64 = resid.iter().map(|r| r * r).sum();
    let se = (sse / (kf - 2.0) / sxx).sqrt();
    let r1 = if sse > 0.0 { resid.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / sse } else { 0.0 };
    let inflation = if r1 > 0.0 { ((1.0 + r1) / (1.0 - r1).max(1e-12)).sqrt() } else { 1.0 };
    if se == 0.0 {
        // A perfectly straight line: growth if it rises at all.
        return (slope > 0.0).then_some((slope, f64::INFINITY));
    }
    Some((slope, slope / (se * inflation)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        Scenario::parse(text, None).unwrap_or_else(|e| panic!("{e}"))
    }

    const HETERO: &str = "requests = 1000\nstrategies = [\"round-robin\", \"weighted-random\", \"p2c\"]\n\
        [arrivals]\nprocess = \"poisson\"\nrate = 600.0\n[service]\ndistribution = \"exponential\"\nmean = \"20ms\"\n\
        [[servers]]\nname = \"gen3\"\ncount = 4\nspeed = 2.0\nweight = 2\n\
        [[servers]]\nname = \"gen2\"\ncount = 6\n\
        [[servers]]\nname = \"gen1\"\ncount = 2\nspeed = 0.6\n";

    #[test]
    fn static_offered_loads() {
        let sc = scenario(HETERO);
        // Round robin: 50 req/s each; gen1 serves 30, gen2 50, gen3 100.
        let rho = static_rho(&sc, &sc.strategies[0], 0).unwrap();
        assert!((rho[0] - 0.5).abs() < 1e-12 && (rho[4] - 1.0).abs() < 1e-12 && (rho[11] - 50.0 / 30.0).abs() < 1e-12);
        // Weighted: 600 / 16 = 37.5 per unit of weight.
        let rho = static_rho(&sc, &sc.strategies[1], 0).unwrap();
        assert!((rho[0] - 0.75).abs() < 1e-12 && (rho[11] - 37.5 / 30.0).abs() < 1e-12);
        assert!(static_rho(&sc, &sc.strategies[2], 0).is_none());
    }

    /// A keyed split's shares add up to 1, and a Zipf head's hottest key lands whole on one
    /// server: with two keys of probabilities 2/3 and 1/3 (Zipf exponent 1), the shares are
    /// {1} or {2/3, 1/3}.
    #[test]
    fn keyed_shares_weigh_keys_by_popularity() {
        let text = "requests = 1000\nstrategies = [\"ring-hash\", \"maglev\", \"rendezvous\", \"hash\"]\n\
            [arrivals]\nprocess = \"poisson\"\nrate = 100.0\n[service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
            [keys]\ncount = 2\ndistribution = \"zipf\"\nexponent = 1.0\n[[servers]]\nname = \"s\"\ncount = 3\n";
        let sc = scenario(text);
        for spec in &sc.strategies {
            let mut p = static_shares(&sc, spec, 0).unwrap();
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{}: {p:?}", spec.label);
            p.sort_by(|a, b| b.total_cmp(a));
            let ok =
                (p[0] - 1.0).abs() < 1e-12 || ((p[0] - 2.0 / 3.0).abs() < 1e-12 && (p[1] - 1.0 / 3.0).abs() < 1e-12);
            assert!(ok, "{}: {p:?}", spec.label);
        }
        // A large key space: the tail is spread like the head; shares still add up to 1.
        let big = text.replace("count = 2\n", "count = 10000000\n");
        let sc = scenario(&big);
        let p = static_shares(&sc, &sc.strategies[0], 0).unwrap();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn zipf_normalisation_is_close_to_the_exact_sum() {
        let space = KeySpace { count: 1_000_000, popularity: KeyPopularity::Zipf { exponent: 0.8 } };
        let (_, approx) = head_probabilities(&space, 1000);
        let exact: f64 = (1..=1_000_000u64).map(|r| (r as f64).powf(-0.8)).sum();
        assert!((approx / exact - 1.0).abs() < 1e-6, "{approx} vs {exact}");
    }

    #[test]
    fn trend_sees_a_ramp_and_not_noise() {
        let times: Vec<f64> = (0..200).map(f64::from).collect();
        let ramp: Vec<f64> = times.iter().map(|t| 5.0 + 0.3 * t + (t * 1.7).sin()).collect();
        let (slope, t) = trend(&times, &ramp).unwrap();
        assert!((slope - 0.3).abs() < 0.01 && t > 50.0, "{slope} {t}");
        let flat: Vec<f64> = times.iter().map(|t| 5.0 + (t * 1.7).sin()).collect();
        let (_, t) = trend(&times, &flat).unwrap();
        assert!(t.abs() < 3.0, "{t}");
    }
}
