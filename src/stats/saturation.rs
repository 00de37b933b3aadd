//! Saturation: a server offered at least as much work as it can do has no steady state —
//! its queue grows for as long as the run lasts, and every figure of the run describes a
//! transient that depends on the run's length, not on the strategy.
//!
//! Two kinds of evidence, for open workloads whose rate does not end (Poisson,
//! deterministic, time-varying, MMPP; a closed loop's clients wait, so it cannot grow
//! without bound, and a trace ends):
//!
//! - **offered load, before the run**, for strategies whose long-run split does not depend
//!   on the pool's state (a static split): server i gets a share p_i of the requests (1/S,
//!   its weight's share, or the probability of the keys hashed to it), so its offered load
//!   is ρ_i = λ · p_i / c_i with c_i = workers_i / mean service time. ρ_i ≥ 1 saturates it.
//!   That needs the scenario, so it is computed a layer up, in `analysis::offered`, which
//!   also gathers both kinds into a strategy's [`Saturation`];
//! - **growth, from the run**, for every strategy (including static ones whose servers a
//!   slowdown fault overloads): the number in system still rising at the end of the
//!   measured window, in a queue that has not drained since (a request waiting at every
//!   sampled instant of the stretch tested: a stable queue empties again and again). The
//!   stretch is the second half of the window after the last sample that was not
//!   backlogged, when it still covers half of that half (a queue that drained during an
//!   outage and has grown ever since is caught, not only one that never drained). The exact
//!   interval averages of the sampled timeline are grouped into [`GROWTH_BATCHES`] batch
//!   means; their least-squares slope is tested one-sided against its standard error,
//!   inflated for the residuals' lag-1 autocorrelation (AR(1)), with Student's t at
//!   [`GROWTH_LEVEL`] shared (Bonferroni) by every server and replication tested. Not done
//!   for time-varying rates, whose queues rise and fall with the rate.
//!
//! This module holds the verdict's types and the growth test, which read only a run.
//!
//! Only servers with an unbounded waiting room can grow without bound (a bounded one drops
//! instead). When the pool as a whole is offered ρ ≥ 1, every strategy saturates.

use super::RunStats;
use super::ci::t_quantile;

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
    /// Its number in system still rises over the end of the window, never draining.
    Growing {
        /// Least-squares slope of its number in system, requests per second.
        slope: f64,
        /// The slope over its (autocorrelation-corrected) standard error.
        t: f64,
        /// Since when it has not drained (the tested stretch starts), s.
        since: f64,
        /// Its number in system then (the first sample of the stretch).
        from: f64,
        /// Its number in system at the end of the window (the last sample).
        to: f64,
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
    /// The replication whose key hashes the offered-load evidence comes from (keyed splits,
    /// several replications).
    pub split_replication: Option<u32>,
    /// The replication the growth evidence comes from (several replications).
    pub growth_replication: Option<u32>,
    /// The saturated servers, in server order (offered-load evidence first).
    pub servers: Vec<SaturatedServer>,
}

impl Saturation {
    /// Whether the verdict rests on offered load (the pool's, or a server's under a static
    /// split): known before the run, whatever its length — not on the growth test alone.
    pub fn by_offered_load(&self) -> bool {
        self.pool || self.servers.iter().any(|s| matches!(s.evidence, Evidence::Offered { .. }))
    }

    /// Whether server `i` is among the saturated ones.
    pub fn has(&self, i: usize) -> bool {
        self.servers.iter().any(|s| s.server == Some(i))
    }
}

/// Whether an offered load ρ saturates a server (ρ ≥ 1, up to rounding).
pub fn is_saturated(rho: f64) -> bool {
    rho >= 1.0 - RHO_SLACK
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
    // The stretch tested: the samples after the last one that was not backlogged (a queue
    // that drained then, before it started to grow: an outage, a retry storm), when it
    // still covers at least half of the second half — a quarter of the window. A stable
    // queue empties again and again, far more often than that.
    let stretch = |backlogged: &dyn Fn(usize) -> bool| -> Option<&[usize]> {
        let first = ks.iter().rposition(|&k| !backlogged(k)).map_or(0, |p| p + 1);
        let rest = &ks[first..];
        (rest.len() >= MIN_SAMPLES.max(ks.len().div_ceil(2))).then_some(rest)
    };
    let test = |server: Option<usize>, rest: &[usize], value: &dyn Fn(usize) -> f64| {
        let times: Vec<f64> = rest.iter().map(|&k| t.time(k) - dt / 2.0).collect();
        let values: Vec<f64> = rest.iter().map(|&k| value(k)).collect();
        let critical = t_quantile(1.0 - GROWTH_LEVEL / tests.max(1) as f64, (batches(rest.len()) - 2) as f64);
        let (since, from, to) = (t.time(rest[0]) - dt, values[0], values[values.len() - 1]);
        trend(&times, &values).filter(|&(_, tstat)| tstat > critical).map(|(slope, tstat)| SaturatedServer {
            server,
            evidence: Evidence::Growing { slope, t: tstat, since, from, to },
        })
    };
    let mut out: Vec<SaturatedServer> = Vec::new();
    if t.has_detail() {
        for (i, _) in unbounded.iter().enumerate().filter(|(_, u)| **u) {
            let backlogged = |k: usize| t.server(k, i).is_some_and(|s| s.in_system > workers[i]);
            if let Some(rest) = stretch(&backlogged) {
                out.extend(test(Some(i), rest, &|k| t.server(k, i).map_or(0.0, |s| s.mean)));
            }
        }
    } else {
        // Without per-server samples: the pool's total, while its most loaded server never
        // averaged less than a full set of workers.
        let most = f64::from(workers.iter().copied().max().unwrap_or(1));
        if let Some(rest) = stretch(&|k| t.pool(k).max > most) {
            let n = t.servers() as f64;
            out.extend(test(None, rest, &|k| t.pool(k).mean * n));
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
