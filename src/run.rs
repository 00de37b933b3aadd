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
use crate::scenario::{FaultWindow, Scenario};
use crate::stats::{Estimate, OpenModel, RunStats, StrategySummary};
use crate::workload::arrivals::Arrivals;
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
    let mut strategies = summarize(scenario, &runs);
    if scenario.is_closed() {
        pool.install(|| add_open_models(scenario, &runs, &mut strategies));
    }
    let fault_windows = (0..reps).flat_map(|r| scenario.fault_windows(r)).collect();
    Ok(Report { scenario: scenario.clone(), strategies, wall_time: started.elapsed().as_secs_f64(), fault_windows })
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

/// For a closed loop: reruns every strategy × replication (`runs`, strategy-major) under
/// open Poisson arrivals at the rate its clients actually sent — the latency a load test
/// with an arrival-rate executor (wrk2, k6 `constant-arrival-rate`) would report — and
/// attaches the result to each summary as its [`OpenModel`]. In parallel on the current
/// rayon pool.
pub fn add_open_models(scenario: &Scenario, runs: &[RunStats], strategies: &mut [StrategySummary]) {
    let reps = scenario.replications as usize;
    let open: Vec<Option<(f64, RunStats)>> = runs
        .par_iter()
        .enumerate()
        .map(|(i, closed)| {
            let rate = closed.measured.generated as f64 / closed.window();
            if !(rate.is_finite() && rate > 0.0) {
                return None;
            }
            let mut open = scenario.clone();
            open.arrivals = Arrivals::Poisson { rate };
            Some((rate, engine::simulate(&open, &scenario.strategies[i / reps], closed.replication, &|_| {})))
        })
        .collect();
    for (summary, chunk) in strategies.iter_mut().zip(open.chunks(reps)) {
        let Some(chunk) = chunk.iter().cloned().collect::<Option<Vec<_>>>() else { continue };
        let col =
            |f: &dyn Fn(&(f64, RunStats)) -> f64| Estimate::from_samples(&chunk.iter().map(f).collect::<Vec<_>>());
        summary.open_model = Some(OpenModel {
            rate: col(&|(rate, _)| *rate),
            mean: col(&|(_, r)| r.mean_response()),
            p99: col(&|(_, r)| r.response.quantile(0.99)),
        });
    }
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
