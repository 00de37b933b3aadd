//! `lbsim plan` on a group an `[autoscaler]` sizes: the fixed pool against the autoscaled
//! one, cost against the SLO.
//!
//! The search sizes the group as a **fixed pool**: the scenario without `[autoscaler]` (and
//! without `[pods]`, unless a rolling deploy uses it), its `count` set to each candidate, as
//! for any group. Beside it the **autoscaled pool** — the scenario as written, with the
//! plan's `--requests`, `--seed`, `--replications` and `--rate` — runs once per strategy
//! and is judged on the same objectives in the same way (the upper end of each metric's 95%
//! confidence interval within its limit), so `lbsim run` with those options reproduces its
//! figures. The cost of each is its pod-seconds: ∫ pods dt over the whole run, which for a
//! fixed pool of S servers is S × the run's length (`StrategySummary::end`), for the
//! autoscaled one summary.csv's `pod_seconds`.
//!
//! A `utilization` objective does not judge the autoscaled pool: its utilisation is over all
//! `max_replicas` places, and its pods' utilisation is the HPA's own target.

use crate::plan::Slo;
use crate::plan::slo::Metric;
use crate::scenario::Scenario;
use crate::scenario::autoscaler::Autoscaler;
use crate::stats::{Estimate, StrategySummary};

/// The autoscaled pool of a plan: the HPA as written and each strategy's run.
#[derive(Debug, Clone)]
pub struct Autoscaled {
    /// The `[autoscaler]` as written.
    pub hpa: Autoscaler,
    /// The seed it ran with (the scenario's, or `--seed`).
    pub seed: u64,
    /// One per strategy, in the scenario's order (empty when interrupted before it ran).
    pub strategies: Vec<AutoscaledRun>,
}

/// One strategy's autoscaled pool.
#[derive(Debug, Clone)]
pub struct AutoscaledRun {
    /// Its results.
    pub summary: StrategySummary,
    /// Its drop rate.
    pub drop_rate: Estimate,
    /// One estimate per objective (as the candidates').
    pub measures: Vec<Estimate>,
    /// Whether every objective that judges it is met.
    pub met: bool,
}

impl Autoscaled {
    /// The scenario as written with the plan's overrides, for the autoscaled runs.
    pub fn scenario(written: &Scenario) -> Scenario {
        let mut sc = written.clone();
        sc.precision = None;
        sc
    }

    /// Judges each strategy's results against `slos` (`utilization` left out).
    pub fn judge(hpa: Autoscaler, seed: u64, slos: &[Slo], results: crate::runner::ScenarioResults) -> Autoscaled {
        let strategies = results
            .strategies
            .into_iter()
            .zip(results.drop_rate)
            .map(|(summary, drop_rate)| {
                let measures: Vec<Estimate> = slos.iter().map(|s| s.metric.estimate(&summary, drop_rate)).collect();
                let met = slos.iter().zip(&measures).all(|(s, &e)| !judges(s) || s.met_by(e));
                AutoscaledRun { summary, drop_rate, measures, met }
            })
            .collect();
        Autoscaled { hpa, seed, strategies }
    }

    /// The HPA in a few words: `HPA on utilization at 60% (3 to 40 pods)`.
    pub fn describe(&self) -> String {
        let target = match self.hpa.metric_name() {
            "utilization" => format!("{}%", self.hpa.target),
            name => format!("{} {name} per pod", self.hpa.target),
        };
        format!(
            "HPA on {} at {target} ({} to {} pods, {} at the start)",
            self.hpa.metric_name(),
            self.hpa.min_replicas,
            self.hpa.max_replicas,
            self.hpa.initial
        )
    }
}

/// Whether objective `s` judges the autoscaled pool (not `utilization`: see the module).
pub fn judges(s: &Slo) -> bool {
    s.metric != Metric::Utilization
}

/// The pod-seconds of a fixed pool of `servers` over runs of `summary`'s length.
pub fn fixed_pod_seconds(servers: u32, summary: &StrategySummary) -> f64 {
    f64::from(servers) * summary.end.value
}
