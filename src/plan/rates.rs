//! `lbsim plan --rate A:B:N`: the server count each strategy needs at each of a range of
//! arrival rates — "servers needed vs rate".
//!
//! Each rate is planned on its own, exactly as `lbsim plan --rate R` plans it (the same
//! search, the same candidates seeded by their count alone), so a row of the range equals
//! the plan of that one rate. The cost is that of the single plans added up: about
//! 2·log₂(answer − smallest stable count) candidates per strategy and rate. The searches
//! do not borrow bounds from one another (monotonicity in the rate would save a few
//! candidates, at the price of answers that could differ from the single plan's where the
//! verdicts are noisy). Before anything runs, [`work_floor`] gives the work of the least a
//! range can cost — one candidate per strategy and rate, at the smallest stable count — for
//! the slow-run warning.

use std::time::Instant;

use super::{PlanOptions, PlanReport, PlanRequest, Setup, min_stable_count, plan};
use crate::scenario::edit::ScenarioText;
use crate::{Result, budget};

/// The plans of a range of rates.
#[derive(Debug, Clone)]
pub struct RatesReport {
    /// `--rate` as written (`500:2000:4`).
    pub spec: String,
    /// One plan per rate, ascending by rate (fewer when interrupted).
    pub plans: Vec<PlanReport>,
    /// Whether every rate was planned (false after Ctrl-C).
    pub complete: bool,
    /// Wall-clock time, s.
    pub wall_time: f64,
}

impl RatesReport {
    /// Candidates simulated over every rate and strategy.
    pub fn simulated(&self) -> usize {
        self.plans.iter().flat_map(|p| &p.strategies).map(|s| s.simulated()).sum()
    }
}

/// Plans `request` at each of `rates` (ascending), one after the other; stops after a rate
/// whose plan was interrupted.
pub fn plan_rates(
    text: &ScenarioText,
    request: &PlanRequest,
    rates: &[f64],
    spec: &str,
    options: &PlanOptions,
) -> Result<RatesReport> {
    let started = Instant::now();
    let mut plans = Vec::with_capacity(rates.len());
    let mut complete = true;
    for &rate in rates {
        let one = plan(text, &PlanRequest { rate: Some(rate), ..request.clone() }, options)?;
        let done = one.complete;
        plans.push(one);
        if !done {
            complete = false;
            break;
        }
    }
    Ok(RatesReport { spec: spec.to_string(), plans, complete, wall_time: started.elapsed().as_secs_f64() })
}

/// The least work a plan over `rates` does, in events, and the candidates it counts: one
/// candidate per strategy and rate, at the smallest count with ρ < 1 (where every search
/// starts), each estimated by [`budget::estimate`] on `threads` threads. A search simulates
/// a few more (gallop, then bisection), so the real work is a small multiple of this.
pub fn work_floor(text: &ScenarioText, request: &PlanRequest, rates: &[f64], threads: usize) -> Result<(f64, usize)> {
    let (mut work, mut candidates) = (0.0, 0);
    for &rate in rates {
        let setup = Setup::new(text, &PlanRequest { rate: Some(rate), ..request.clone() })?;
        let s = min_stable_count(&setup.base, setup.group_index, setup.rate);
        if s > request.max_servers {
            continue;
        }
        for i in 0..setup.texts.len() {
            if let Ok(sc) = setup.build(i, s) {
                work += budget::estimate(&sc, threads).work;
                candidates += 1;
            }
        }
    }
    Ok((work, candidates))
}
