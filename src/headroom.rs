//! The headroom of a run at its SLO: for each strategy, how much more load it can take before
//! the objective breaks (`lbsim run` with `[slo]` or `--slo`).
//!
//! The load is scaled by a factor: every arrival rate of the scenario is multiplied by it
//! ([`Process::scaled`](crate::scenario::arrivals::Process::scaled): a constant rate, a schedule's
//! rates, a diurnal cycle's base and amplitude, an MMPP's rates; a trace is replayed that
//! many times faster). Nothing else changes: faults keep their times, flash crowds their
//! times and multipliers (so a spike scales with the level it multiplies), servers, service
//! and strategies are those of the run. So that the run still spans the same time (the
//! faults and flash crowds at fixed times stay inside it), a factor's run generates the
//! run's requests × the factor (its warm-up too); a trace keeps its rows and ends sooner.
//! Every factor runs on the run's seed: the same random numbers draw the arrivals, service
//! demands and keys at every factor (common random numbers, as between strategies), so the
//! curve of the metric against the factor is not roughened by a new sample at each point.
//! ×1.00 is the run itself.
//!
//! Each strategy is searched on its own (simulated alone, as `lbsim plan` simulates its
//! candidates; its results do not depend on the others'): from ×1.00 the factor gallops up
//! (×1.25, ×1.5, ×2, ×3, capped at [`MAX_FACTOR`]) while the objective is met, or halves
//! down (×0.5, ×0.25, ... to [`MIN_FACTOR`]) while it is not, then bisects the bracket
//! [`BISECTIONS`] times; when the factors missing it miss it only by their interval (the
//! estimate still within the limit), it steps up ×1.25 at a time ([`PROBES`] at most) so that
//! the estimate's crossing is bracketed too. A factor whose offered load ρ reaches 1 is unstable and is not
//! simulated. Each factor is judged as a sweep point is
//! ([`crate::report::sweep::headroom`], the one judge): it meets the objective when the
//! upper end of the metric's 95% interval is within the limit and the strategy is stable
//! there; the answer is the highest factor before the first that does not, and the
//! crossing is interpolated there on the log of the metric, with its interval. At most
//! [`MAX_RUNS`] runs per strategy.

use crate::Result;
use crate::plan::slo::{Metric, Slo};
use crate::report::metric::{self, Metric as Column};
pub use crate::report::run::headroom::{FactorPoint, RunHeadroom, StrategyHeadroom};
use crate::report::sweep::headroom::headroom;
use crate::report::sweep::{Axis, PointRow, StrategyCells, SweepView};
use crate::runner::{self, RunnerOptions, ScenarioResults};
use crate::scenario::Scenario;
use crate::stats::StrategySummary;

/// The highest factor searched.
pub const MAX_FACTOR: f64 = 4.0;
/// The lowest factor searched.
pub const MIN_FACTOR: f64 = 1.0 / 16.0;
/// Bisections of the bracket once found.
pub const BISECTIONS: usize = 2;
/// Steps further up when every factor missing the objective misses it by its interval
/// only (the estimate itself within the limit): each ×1.25 above the highest factor so far,
/// so that the estimate's crossing is bracketed too.
pub const PROBES: usize = 2;
/// The most runs a strategy's search simulates: the gallop up (×1.25, ×1.5, ×2, ×3, ×4) or
/// down (×0.5 to ×1/16), the bisections, the probes.
pub const MAX_RUNS: usize = 5 + BISECTIONS + PROBES;

/// `sc` with its load scaled by `factor` (see the module's documentation); `None` for a
/// closed loop.
pub fn scaled(sc: &Scenario, factor: f64) -> Option<Scenario> {
    let arrivals = sc.arrivals.scaled(factor)?;
    let mut out = sc.clone();
    out.arrivals = arrivals;
    if sc.arrivals.trace().is_none() {
        out.requests = ((sc.requests as f64 * factor).round() as u64).max(1);
        out.warmup = ((sc.warmup as f64 * factor).round() as u64).min(out.requests - 1);
    }
    Some(out)
}

/// What a factor scales, for notes.
fn scaled_words(sc: &Scenario) -> &'static str {
    if sc.arrivals.trace().is_some() {
        "the trace replayed that many times faster (its rows kept: the run ends sooner); faults' times unchanged"
    } else if sc.arrivals.stationary() {
        "the arrival rate, and the requests with it (the same span of time); faults' times unchanged"
    } else {
        "every arrival rate (the cycle or schedule, with flash crowds' multipliers and times kept), and the requests \
         with it (the same span of time); faults' times unchanged"
    }
}

/// The summary.csv record of the objective's metric.
fn column(metric: Metric) -> &'static Column {
    match metric {
        Metric::Mean => &metric::MEAN,
        Metric::P50 => &metric::P50,
        Metric::P90 => &metric::P90,
        Metric::P999 => &metric::P999,
        _ => &metric::P99,
    }
}

/// The point of a simulated factor: the metric as summary.csv writes it, read back, so
/// every figure shown equals the CSV's.
fn point(factor: f64, rho: f64, s: &StrategySummary, metric: Metric) -> FactorPoint {
    let c = column(metric);
    let [v, ci] = c.cells(c.estimate(s));
    FactorPoint {
        factor,
        rho,
        value: (v.parse().unwrap_or(f64::NAN), ci.parse().ok()),
        unstable: s.is_unstable(),
        simulated: true,
    }
}

/// Where a strategy's search stands.
#[derive(Debug, Clone)]
struct Search {
    points: Vec<FactorPoint>,
    /// Steps of the gallop taken.
    steps: u32,
    bisections: usize,
    probes: usize,
    limit_ms: f64,
}

impl Search {
    fn meets(&self, p: &FactorPoint) -> bool {
        !p.unstable && p.value.0.is_finite() && p.value.0 + p.value.1.unwrap_or(0.0) <= self.limit_ms
    }

    /// The highest factor meeting the objective below the lowest that does not.
    fn bracket(&self) -> (Option<f64>, Option<f64>) {
        let mut sorted = self.points.clone();
        sorted.sort_by(|a, b| a.factor.total_cmp(&b.factor));
        let fail = sorted.iter().position(|p| !self.meets(p));
        let lo = sorted[..fail.unwrap_or(sorted.len())].last().map(|p| p.factor);
        (lo, fail.map(|i| sorted[i].factor))
    }

    /// The next factor to look at, or `None` when done. `rho1` is ρ at ×1.00.
    fn next(&mut self, rho1: f64) -> Option<f64> {
        match self.bracket() {
            (Some(lo), None) => {
                if lo >= MAX_FACTOR {
                    return None;
                }
                let f = (1.0 + 0.25 * f64::from(1u32 << self.steps)).min(MAX_FACTOR);
                self.steps += 1;
                // ρ reaches 1 at 1/ρ₁: no factor beyond it can meet the objective.
                Some(if rho1 > 0.0 && f * rho1 >= 1.0 { 1.0 / rho1 } else { f })
            }
            (None, Some(hi)) => {
                if hi <= MIN_FACTOR {
                    return None;
                }
                self.steps += 1;
                Some((hi / 2.0).max(MIN_FACTOR))
            }
            (Some(lo), Some(hi)) if self.bisections < BISECTIONS => {
                self.bisections += 1;
                Some((lo + hi) / 2.0)
            }
            _ => {
                // The estimate has not crossed the limit yet: one step above the highest
                // factor, unless it is the last searched or beyond capacity.
                let crossed = self.points.iter().any(|p| p.unstable || p.value.0.is_nan() || p.value.0 > self.limit_ms);
                let top = self.points.iter().map(|p| p.factor).fold(0.0, f64::max);
                if crossed || self.probes >= PROBES || top >= MAX_FACTOR {
                    return None;
                }
                self.probes += 1;
                let f = (top * 1.25).min(MAX_FACTOR);
                Some(if rho1 > 0.0 && f * rho1 >= 1.0 { 1.0 / rho1 } else { f })
            }
        }
    }
}

/// The judge's view of one strategy's points (a one-strategy sweep over the factor). The
/// view's `p99` slot carries the objective's metric, which the judge reads for a p99
/// objective.
fn view(label: &str, points: &[FactorPoint]) -> SweepView {
    let mut points = points.to_vec();
    points.sort_by(|a, b| a.factor.total_cmp(&b.factor));
    let rows = points
        .iter()
        .enumerate()
        .map(|(i, p)| PointRow {
            point: i,
            values: vec![p.factor.to_string()],
            rho: p.rho,
            rate: f64::NAN,
            capacity: f64::NAN,
            replications: 1,
            strategies: vec![StrategyCells {
                label: label.to_string(),
                mean: (f64::NAN, None),
                p99: p.value,
                throughput: f64::NAN,
                unstable: p.unstable,
            }],
        })
        .collect();
    SweepView {
        scenario: String::new(),
        axes: vec![Axis { column: "factor".into(), log: false, names: None }],
        points: rows,
        closed: false,
        command: String::new(),
        slo: None,
    }
}

/// Searches the headroom of every strategy of the run of `sc` (as given, before the run
/// settled its warm-up), whose summaries are `done` (the ×1.00 point, with `rho` the run's
/// offered load), at `slo`. `None` for a closed loop (its clients set the rate).
pub fn search(
    sc: &Scenario,
    done: &[StrategySummary],
    rho: f64,
    slo: &Slo,
    threads: Option<usize>,
) -> Result<Option<RunHeadroom>> {
    if sc.arrivals.closed().is_some() || scaled(sc, 1.0).is_none() {
        return Ok(None);
    }
    let limit_ms = slo.limit * 1e3;
    let mut searches: Vec<Search> = done
        .iter()
        .map(|s| Search { points: vec![point(1.0, rho, s, slo.metric)], steps: 0, bisections: 0, probes: 0, limit_ms })
        .collect();
    loop {
        // This round's factor for each strategy still searching.
        let mut jobs: Vec<(usize, f64, Scenario)> = Vec::new();
        for (k, search) in searches.iter_mut().enumerate() {
            while let Some(f) = search.next(rho) {
                let mut one = scaled(sc, f).expect("an open process scales");
                let r = one.offered_load();
                // ρ = 1 at 1/ρ₁ up to rounding (a time-varying rate's mean over a span).
                if r >= 1.0 - 1e-9 {
                    // Unstable: no simulation can meet the objective.
                    search.points.push(FactorPoint {
                        factor: f,
                        rho: r,
                        value: (f64::NAN, None),
                        unstable: true,
                        simulated: false,
                    });
                    continue;
                }
                one.strategies = vec![sc.strategies[k].clone()];
                jobs.push((k, f, one));
                break;
            }
        }
        if jobs.is_empty() {
            break;
        }
        let scenarios: Vec<Scenario> = jobs.iter().map(|(_, _, s)| s.clone()).collect();
        let refs: Vec<&Scenario> = scenarios.iter().collect();
        crate::budget::check_batch(
            &refs,
            crate::budget::threads_or_cores(threads),
            crate::memory::memory_limit(),
            |j| format!("the headroom run of {} at ×{}", sc.strategies[jobs[j].0].label, jobs[j].1),
        )?;
        let results: std::sync::Mutex<Vec<Option<ScenarioResults>>> = std::sync::Mutex::new(vec![None; jobs.len()]);
        let options = RunnerOptions { threads, stop: None, progress: None, open_models: false };
        runner::run_scenarios(&scenarios, &options, &|j, r| {
            results.lock().expect("no panic while held")[j] = Some(r);
            Ok(())
        })?;
        let results = results.into_inner().expect("no panic while held");
        for ((k, f, one), r) in jobs.iter().zip(results) {
            let r = r.expect("without a stop flag every scenario runs");
            searches[*k].points.push(point(*f, one.offered_load(), &r.strategies[0], slo.metric));
        }
    }
    // The judge reads the p99 slot: the objective's metric, whatever its percentile.
    let judge = Slo { metric: Metric::P99, limit: slo.limit };
    let strategies = done
        .iter()
        .zip(searches)
        .map(|(s, mut search)| {
            search.points.sort_by(|a, b| a.factor.total_cmp(&b.factor));
            let verdict = headroom(&view(&s.label, &search.points), &judge)
                .pop()
                .map(|h| h.verdict)
                .expect("one strategy, at least one point");
            StrategyHeadroom { label: s.label.clone(), points: search.points, verdict }
        })
        .collect();
    Ok(Some(RunHeadroom {
        slo: slo.clone(),
        rate: sc.arrival_rate(),
        peak: sc.arrivals.peak_rate(sc),
        rho,
        scaled: scaled_words(sc),
        searched: (MIN_FACTOR, MAX_FACTOR),
        strategies,
    }))
}
