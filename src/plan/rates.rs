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
use crate::scenario::ScenarioError;
use crate::scenario::ValueKind;
use crate::scenario::edit::{KeyValue, ScenarioText};
use crate::sweep::spec::parse_values;
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

/// `--rate`: one rate (REQ/S), or several: a range `a:b:n`, `log:a:b:n` or a list `a,b,c`
/// (the syntax of `sweep --vary`), returned ascending; every rate of several must be positive.
pub fn parse_rates(spec: &str) -> std::result::Result<Vec<f64>, ScenarioError> {
    let spec = spec.trim();
    let err = |why: String| {
        ScenarioError::at("--rate", format!("`{spec}`: {why}")).with_help(
            "give requests per second (2000), a range A:B:N (N rates from A to B), log:A:B:N or a list a,b,c",
        )
    };
    let mut rates: Vec<f64> = if spec.contains(':') || spec.contains(',') {
        let (values, _) = parse_values(spec, ValueKind::Float).map_err(err)?;
        values
            .into_iter()
            .map(|v| match v {
                KeyValue::Float(x) => x,
                KeyValue::Integer(i) => i as f64,
                KeyValue::Duration(s) => s,
            })
            .collect()
    } else {
        // One rate: its range is checked where a single plan checks it.
        return Ok(vec![
            spec.replace('_', "").parse::<f64>().map_err(|_| err("not a number of requests per second".into()))?,
        ]);
    };
    if let Some(bad) = rates.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
        return Err(err(format!("every rate must be a positive number of requests per second, got {bad}")));
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_one_number_a_range_or_a_list() {
        assert_eq!(parse_rates("2000").unwrap(), vec![2000.0]);
        assert_eq!(parse_rates("-3").unwrap(), vec![-3.0], "refused by the plan, as before");
        assert_eq!(parse_rates("500:2000:4").unwrap(), vec![500.0, 1000.0, 1500.0, 2000.0]);
        assert_eq!(parse_rates("900,300,600").unwrap(), vec![300.0, 600.0, 900.0]);
        assert_eq!(parse_rates("log:100:10000:3").unwrap(), vec![100.0, 1000.0, 10000.0]);
        for (bad, why) in [
            ("fast", "not a number"),
            ("-5:10:3", "positive"),
            ("100:200", "a range is"),
            ("100:200:1", "n ≥ 2"),
            ("100,100", "twice"),
        ] {
            let e = parse_rates(bad).unwrap_err();
            assert_eq!(e.key.as_deref(), Some("--rate"), "{bad}");
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
    }
}
