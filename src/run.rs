//! `lbsim run`: every strategy × replication of one scenario on the one runner
//! ([`crate::runner`]), with a progress bar per strategy, gathered into a [`Report`].
//!
//! The results (and every file written from them) are identical whatever the thread count.

use std::time::Instant;

use crate::analysis::{self, Preflight};
use crate::report::Report;
use crate::runner::progress::StrategyBars;
use crate::runner::{self, RunnerOptions};
use crate::scenario::Scenario;
use crate::{Result, budget, memory};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads; `None` = one per core.
    pub threads: Option<usize>,
    /// Show progress bars (only on a terminal, and only for long runs).
    pub progress: bool,
}

/// Simulates every strategy and replication of `scenario` (see [`crate::runner`]).
///
/// Refused first (an input error) when the run's estimated memory exceeds the limit
/// ([`budget::check`]).
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<Report> {
    budget::check(scenario, budget::threads_or_cores(options.threads), memory::memory_limit(), "the run")?;
    let started = Instant::now();
    let bars = StrategyBars::new(scenario, options.progress);
    let tick = |t| bars.tick(t);
    let runner = RunnerOptions { threads: options.threads, stop: None, progress: Some(&tick), open_models: true };
    let results = runner::run_scenario(scenario, &runner);
    bars.finish();
    let results = results?;
    let wall_time = started.elapsed().as_secs_f64();
    // The scenario as measured: with the warm-up `warmup = "auto"` settled on.
    let mut measured = scenario.clone();
    measured.warmup = results.warmup;
    measured.requests = results.requests;
    let (preflight, stream) = (Preflight::of(&measured), analysis::stream_sha256(&measured));
    Ok(Report::new(measured, results.strategies, wall_time, &preflight, stream))
}
