//! `lbsim run`: every strategy × replication of one scenario on the one runner
//! ([`crate::runner`]), with a progress bar per strategy, gathered into a [`Report`].
//!
//! The results (and every file written from them) are identical whatever the thread count.

use std::time::Instant;

use crate::Result;
use crate::runner::progress::StrategyBars;
use crate::runner::{self, RunnerOptions};
use crate::scenario::{Arrivals, FaultWindow, Scenario};
use crate::stats::StrategySummary;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads; `None` = one per core.
    pub threads: Option<usize>,
    /// Show progress bars (only on a terminal, and only for long runs).
    pub progress: bool,
}

/// The outcome of `lbsim run`.
#[derive(Debug, Clone)]
pub struct Report {
    /// The scenario as run (with command-line overrides applied).
    pub scenario: Scenario,
    /// One summary per strategy, in the scenario's order.
    pub strategies: Vec<StrategySummary>,
    /// Wall-clock time of the simulations, s.
    pub wall_time: f64,
    /// Every fault of every replication (server, kind, start, end), replication by
    /// replication: what the queue-timeline chart shades.
    pub fault_windows: Vec<FaultWindow>,
}

impl Report {
    /// Offered load ρ of the scenario.
    pub fn offered_load(&self) -> f64 {
        self.scenario.offered_load()
    }

    /// Whether the offered load makes the queues grow without bound (never for a closed
    /// loop, whose clients wait).
    pub fn is_unstable(&self) -> bool {
        let steady = !matches!(self.scenario.arrivals, Arrivals::Closed(_) | Arrivals::Trace(_));
        steady && self.offered_load() >= 1.0
    }

    /// The fault windows of replication `replication`.
    pub fn fault_windows_of(&self, replication: u32) -> impl Iterator<Item = &FaultWindow> {
        self.fault_windows.iter().filter(move |w| w.replication == replication)
    }
}

/// Simulates every strategy and replication of `scenario` (see [`crate::runner`]).
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<Report> {
    let started = Instant::now();
    let bars = StrategyBars::new(scenario, options.progress);
    let tick = |t| bars.tick(t);
    let runner = RunnerOptions { threads: options.threads, stop: None, progress: Some(&tick) };
    let results = runner::run_scenario(scenario, &runner);
    bars.finish();
    let strategies = results?.strategies;
    let wall_time = started.elapsed().as_secs_f64();
    let fault_windows = (0..scenario.replications).flat_map(|r| scenario.fault_windows(r)).collect();
    Ok(Report { scenario: scenario.clone(), strategies, wall_time, fault_windows })
}
