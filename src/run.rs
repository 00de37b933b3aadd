//! Runs every strategy × replication of a scenario in parallel and aggregates the results.
//!
//! Each simulation is single-threaded and deterministic; rayon spreads them over threads
//! and `collect` keeps their order, so the results (and every file written from them) are
//! identical whatever the thread count.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::engine;
use crate::scenario::Scenario;
use crate::stats::{RunStats, StrategySummary};
use crate::{Error, Result};

/// Runs shorter than this many requests in all get no progress bar.
pub const PROGRESS_MIN_REQUESTS: u64 = 2_000_000;

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
}

impl Report {
    /// Offered load ρ of the scenario.
    pub fn offered_load(&self) -> f64 {
        self.scenario.offered_load()
    }

    /// Whether the offered load makes the queues grow without bound.
    pub fn is_unstable(&self) -> bool {
        self.offered_load() >= 1.0
    }
}

/// Simulates every strategy and replication of `scenario`.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<Report> {
    let started = Instant::now();
    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(n) = options.threads {
            b = b.num_threads(n);
        }
        b.build().map_err(|e| Error::Other(format!("cannot start worker threads: {e}")))?
    };
    let reps = scenario.replications;
    let tasks: Vec<(usize, u32)> =
        (0..scenario.strategies.len()).flat_map(|s| (0..reps).map(move |r| (s, r))).collect();
    let bars = progress_bars(scenario, options);
    let runs: Vec<RunStats> = pool.install(|| {
        tasks
            .par_iter()
            .map(|&(s, r)| {
                let bar = &bars[s];
                engine::simulate(scenario, &scenario.strategies[s], r, &|n| bar.inc(n))
            })
            .collect()
    });
    for b in &bars {
        b.finish_and_clear();
    }
    let strategies = summarize(scenario, &runs);
    Ok(Report { scenario: scenario.clone(), strategies, wall_time: started.elapsed().as_secs_f64() })
}

/// Aggregates the runs of every strategy × replication of `scenario` (strategy-major, as
/// [`run`] and [`crate::batch`] produce them) into one summary per strategy.
pub fn summarize(scenario: &Scenario, runs: &[RunStats]) -> Vec<StrategySummary> {
    let names: Vec<String> = scenario.servers.iter().map(|s| s.name.clone()).collect();
    let workers: Vec<u32> = scenario.servers.iter().map(|s| s.workers).collect();
    runs.chunks(scenario.replications as usize)
        .map(|chunk| StrategySummary::from_runs(chunk, &names, &workers))
        .collect()
}

fn progress_bars(scenario: &Scenario, options: &RunOptions) -> Vec<ProgressBar> {
    let per_strategy = scenario.requests * u64::from(scenario.replications);
    let show = options.progress
        && std::io::stderr().is_terminal()
        && per_strategy * scenario.strategies.len() as u64 >= PROGRESS_MIN_REQUESTS;
    let multi =
        MultiProgress::with_draw_target(if show { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() });
    let width = scenario.strategies.iter().map(|s| s.label.len()).max().unwrap_or(0);
    let style = ProgressStyle::with_template(&format!(
        "{{prefix:<{width}}} [{{bar:40}}] {{percent:>3}}% {{human_pos}}/{{human_len}} eta {{eta}}"
    ))
    .expect("valid template")
    .progress_chars("=> ");
    scenario
        .strategies
        .iter()
        .map(|s| {
            let b = multi.add(ProgressBar::new(per_strategy));
            b.set_style(style.clone());
            b.set_prefix(s.label.clone());
            b
        })
        .collect()
}
