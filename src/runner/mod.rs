//! The one runner behind `lbsim run`, `sweep` and `plan`: simulates every strategy ×
//! replication of one or many scenarios over one pool of worker threads and aggregates each
//! scenario's results.
//!
//! # Tasks and their order
//! Every scenario × strategy × replication is one task, numbered scenario by scenario, then
//! strategy by strategy, then replication. The workers of a rayon pool take the tasks in that
//! order from a shared counter, so the scenarios finish roughly in order and only about one
//! per worker is in progress at any time (bounded memory, little work lost on interruption).
//! When a scenario's last task finishes, its runs are aggregated in a fixed order and handed
//! to a callback. Each simulation is deterministic and single-threaded, so the results do not
//! depend on the number of threads nor on which tasks ran together.
//!
//! # Closed loops
//! The task of a closed-loop scenario also reruns its strategy and replication under open
//! Poisson arrivals at the rate its clients achieved — the latency a load test with an
//! arrival-rate executor (wrk2, k6 `constant-arrival-rate`) would report — so every summary
//! of a closed loop carries its [`OpenModel`], whichever command asked for it.
//!
//! # Warm-up (`warmup = "auto"`)
//! Without an explicit `warmup_requests`, each task measures after a tenth of the requests
//! and MSER-5 ([`crate::stats::warmup`]) looks, in its response times, for where the initial
//! transient ends. When a scenario's tasks are all done, the largest truncation found (over
//! every strategy and replication whose run settled) is its warm-up, shared by all, so that
//! paired comparisons — per replication, or per batch of the same requests — compare the
//! same requests. When it is longer than the tenth, every task of the scenario is run again
//! measuring after it (the same streams: only what is measured changes); otherwise the
//! tenth stands (a longer truncation than MSER's is still unbiased, and one run suffices).
//! A truncation past half the run is never applied: the run never settled (a warning says
//! "no steady state reached: run longer"). A workload that changes over the run (fault
//! windows, an autoscaler, a varying rate, a trace: [`Scenario::is_stationary`]) has no
//! one steady state: there the tenth stands and the truncation found is only reported.
//!
//! # Run until precise (`precision`)
//! When the scenario asks for a precision, the aggregated results are checked: every
//! requested figure of every strategy (those that saturate aside: running longer cannot
//! settle them — by their offered load, or by the growth test at two successive lengths) must have a 95% half-width within γ/(1 + γ) of its value for a target γ,
//! so that the value is within γ of the truth ([`Reached::threshold`]). Until
//! then, every task is run again, longer — the same streams, as `--requests` cuts them, so
//! the result is exactly that of a run of the final length — growing by the factor the
//! worst figure asks for ((half-width / threshold)², half-widths shrinking as 1/√requests,
//! times 1.25, between 2 and 16; at least 4 while a figure's batches are not shown
//! independent, [`crate::stats::batch`]) up to `max_requests`. A target counts as met
//! only on independent batches. Each figure's outcome is kept in the summaries
//! ([`Reached`]).
//!
//! # Stopping
//! A stop flag (set on Ctrl-C) stops the workers from starting new scenarios; the scenarios
//! already started are finished, so nothing completed is lost.

pub mod progress;

use std::borrow::Cow;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::analysis;
use crate::engine;
use crate::scenario::Scenario;
use crate::scenario::arrivals::Poisson;
use crate::stats::batch::Figure;
use crate::stats::{Estimate, OpenModel, Reached, RunStats, StrategySummary};
use crate::{Error, Result};

/// How to run.
#[derive(Default, Clone, Copy)]
pub struct RunnerOptions<'a> {
    /// Worker threads; `None` = rayon's default (one per core).
    pub threads: Option<usize>,
    /// When set, no further scenario is started (those started are finished).
    pub stop: Option<&'a AtomicBool>,
    /// Told, from the worker threads, how many requests each simulation has generated since
    /// its last call.
    pub progress: Option<&'a (dyn Fn(Tick) + Sync)>,
    /// For a closed loop, also simulate each strategy × replication under open arrivals at the
    /// rate its clients achieved (the summaries' `open_model`): what `run` and `sweep` report.
    /// `plan` does not show it and leaves it off, which halves its work on a closed loop.
    pub open_models: bool,
}

impl fmt::Debug for RunnerOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunnerOptions")
            .field("threads", &self.threads)
            .field("stop", &self.stop)
            .field("progress", &self.progress.map(|_| "callback"))
            .field("open_models", &self.open_models)
            .finish()
    }
}

/// Progress of one simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Index of the scenario in the list given to [`run_scenarios`].
    pub scenario: usize,
    /// Index of the strategy in that scenario.
    pub strategy: usize,
    /// Requests generated since the last tick of the same simulation.
    pub requests: u64,
}

/// One scenario's results.
#[derive(Debug, Clone)]
pub struct ScenarioResults {
    /// One summary per strategy, in the scenario's order (with its open model for a closed
    /// loop).
    pub strategies: Vec<StrategySummary>,
    /// Per strategy: measured requests dropped as a fraction of measured requests, mean over
    /// replications with its 95% confidence half-width.
    pub drop_rate: Vec<Estimate>,
    /// Requests of each replication left out as warm-up: the scenario's, or the one
    /// `warmup = "auto"` settled on (see the module's documentation).
    pub warmup: u64,
    /// Requests generated per replication: the scenario's, or as many as `precision`
    /// needed (see the module's documentation).
    pub requests: u64,
}

/// How a call to [`run_scenarios`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Every scenario was run.
    Complete,
    /// The stop flag was raised; the scenarios not reported were not run.
    Stopped,
}

/// A closed loop's replication rerun as an open Poisson stream.
#[derive(Debug, Clone, Copy)]
struct OpenSample {
    /// The arrival rate: what the clients achieved, req/s.
    rate: f64,
    /// Mean response time, s.
    mean: f64,
    /// 99th percentile, s.
    p99: f64,
}

/// What one task produced.
#[derive(Debug)]
struct Replication {
    stats: RunStats,
    /// For a closed loop, its open model (`None` when the clients sent nothing measurable).
    open: Option<OpenSample>,
}

/// The finished tasks of one scenario.
#[derive(Debug)]
struct Slot {
    runs: Vec<Option<Replication>>,
    left: usize,
}

/// Runs every strategy × replication of every scenario of `scenarios`, calling
/// `on_done(index, results)` (from a worker thread) as each scenario completes. An error from
/// `on_done` stops the runner and is returned.
pub fn run_scenarios(
    scenarios: &[Scenario],
    options: &RunnerOptions,
    on_done: &(dyn Fn(usize, ScenarioResults) -> Result<()> + Sync),
) -> Result<Completion> {
    let sizes: Vec<usize> = scenarios.iter().map(|s| s.strategies.len() * s.replications as usize).collect();
    // first[j]: the number of scenario j's first task; first[len]: the number of tasks.
    let mut first = Vec::with_capacity(scenarios.len() + 1);
    first.push(0);
    for s in &sizes {
        first.push(first.last().copied().unwrap_or(0) + s);
    }
    let total = first.last().copied().unwrap_or(0);
    let slots: Vec<Mutex<Slot>> =
        sizes.iter().map(|&n| Mutex::new(Slot { runs: (0..n).map(|_| None).collect(), left: n })).collect();
    let next = Mutex::new(0usize);
    let failed = AtomicBool::new(false);
    let error: Mutex<Option<Error>> = Mutex::new(None);
    let done = AtomicUsize::new(0);
    let no_progress = |_| {};
    let progress: &(dyn Fn(Tick) + Sync) = options.progress.unwrap_or(&no_progress);

    // The next task, unless the runner is stopping (checked when a scenario would start).
    let take = || -> Option<usize> {
        let mut n = next.lock().expect("no panic while held");
        let t = *n;
        if t >= total {
            return None;
        }
        let starts_scenario = first.binary_search(&t).is_ok();
        if failed.load(Ordering::SeqCst) || (starts_scenario && options.stop.is_some_and(|s| s.load(Ordering::SeqCst)))
        {
            *n = total;
            return None;
        }
        *n += 1;
        Some(t)
    };
    let work = || {
        while let Some(t) = take() {
            let j = first.partition_point(|&f| f <= t) - 1;
            let k = t - first[j];
            let sc = &scenarios[j];
            let reps = sc.replications as usize;
            let strategy = k / reps;
            let tick = |requests| progress(Tick { scenario: j, strategy, requests });
            let run = replicate(sc, strategy, (k % reps) as u32, options.open_models, &tick);
            let finished = {
                let mut slot = slots[j].lock().expect("no panic while held");
                slot.runs[k] = Some(run);
                slot.left -= 1;
                (slot.left == 0).then(|| std::mem::take(&mut slot.runs))
            };
            let Some(runs) = finished else { continue };
            let runs = runs.into_iter().map(|r| r.expect("every task of the scenario is done")).collect();
            let (sc, runs) = settle_warmup(sc, runs, options.open_models);
            match on_done(j, until_precise(sc, runs, options.open_models)) {
                Ok(()) => {
                    done.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => {
                    error.lock().expect("no panic while held").get_or_insert(e);
                    failed.store(true, Ordering::SeqCst);
                }
            }
        }
    };
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = options.threads {
        pool = pool.num_threads(n.clamp(1, total.max(1)));
    }
    let pool = pool.build().map_err(|e| Error::Other(format!("cannot start worker threads: {e}")))?;
    pool.broadcast(|_| work());
    if let Some(e) = error.into_inner().expect("no panic while held") {
        return Err(e);
    }
    Ok(if done.load(Ordering::SeqCst) == scenarios.len() { Completion::Complete } else { Completion::Stopped })
}

/// Runs one scenario (no stop flag: it always completes).
pub fn run_scenario(scenario: &Scenario, options: &RunnerOptions) -> Result<ScenarioResults> {
    let results = Mutex::new(None);
    let options = RunnerOptions { stop: None, ..*options };
    run_scenarios(std::slice::from_ref(scenario), &options, &|_, r| {
        *results.lock().expect("no panic while held") = Some(r);
        Ok(())
    })?;
    Ok(results.into_inner().expect("no panic while held").expect("without a stop flag every scenario runs"))
}

/// One task: strategy `strategy` of `sc` on replication `replication`, and for a closed loop
/// (when `open_models`) the same under open arrivals at the rate its clients achieved.
fn replicate(
    sc: &Scenario,
    strategy: usize,
    replication: u32,
    open_models: bool,
    progress: &dyn Fn(u64),
) -> Replication {
    let spec = &sc.strategies[strategy];
    let stats = engine::simulate(sc, spec, replication, progress);
    let open = if open_models && sc.is_closed() {
        let rate = stats.measured.generated as f64 / stats.window();
        (rate.is_finite() && rate > 0.0).then(|| {
            let mut open = sc.clone();
            open.arrivals = Poisson::Constant { rate }.into();
            let r = engine::simulate(&open, spec, replication, &|_| {});
            OpenSample { rate, mean: r.mean_response(), p99: r.response.quantile(0.99) }
        })
    } else {
        None
    };
    Replication { stats, open }
}

/// `warmup = "auto"`: the scenario as measured and its runs — those given, or every task
/// run again measuring after the longest steady transient when that is longer than the
/// scenario's provisional warm-up (see the module's documentation).
fn settle_warmup(sc: &Scenario, runs: Vec<Replication>, open_models: bool) -> (Cow<'_, Scenario>, Vec<Replication>) {
    if sc.warmup_explicit || !sc.is_stationary() {
        return (Cow::Borrowed(sc), runs);
    }
    let longest =
        runs.iter().filter_map(|r| r.stats.transient).filter(|t| t.steady).map(|t| t.truncation).max().unwrap_or(0);
    if longest <= sc.warmup || longest >= sc.requests {
        return (Cow::Borrowed(sc), runs);
    }
    drop(runs);
    let mut settled = sc.clone();
    settled.warmup = longest;
    let runs = rerun(&settled, open_models);
    (Cow::Owned(settled), runs)
}

/// Every task of `sc` (strategy-major), with no progress reports.
fn rerun(sc: &Scenario, open_models: bool) -> Vec<Replication> {
    let reps = sc.replications as usize;
    (0..sc.strategies.len() * reps)
        .into_par_iter()
        .map(|k| replicate(sc, k / reps, (k % reps) as u32, open_models, &|_| {}))
        .collect()
}

/// The results of `sc`'s `runs`; with `precision`, of runs made longer until precise (see
/// the module's documentation).
fn until_precise(sc: Cow<'_, Scenario>, runs: Vec<Replication>, open_models: bool) -> ScenarioResults {
    let mut results = aggregate(&sc, runs);
    let Some(p) = sc.precision.clone() else { return results };
    let cap = p.cap(sc.requests).min(sc.trace_rows().unwrap_or(u64::MAX));
    let mut sc = sc;
    // Per strategy: whether the growth test found it saturated at the previous length.
    let mut growing: Vec<bool> = vec![false; results.strategies.len()];
    loop {
        let growth = assess(&p.targets, &mut results.strategies, &growing);
        growing = results.strategies.iter().map(StrategySummary::is_unstable).collect();
        if growth <= 1.0 || sc.requests >= cap {
            return results;
        }
        let next = ((sc.requests as f64 * (1.25 * growth).clamp(2.0, 16.0)).ceil() as u64).min(cap);
        let mut longer = sc.into_owned();
        longer.requests = next;
        if !longer.warmup_explicit {
            longer.warmup = next / 10;
        }
        let runs = rerun(&longer, open_models);
        let (settled, runs) = settle_warmup(&longer, runs, open_models);
        let settled = settled.into_owned();
        results = aggregate(&settled, runs);
        sc = Cow::Owned(settled);
    }
}

/// Fills each strategy's [`Reached`] for `targets`; the factor the run's length must grow
/// by for the worst figure of a strategy that does not saturate ((half-width / target)²;
/// at least 4 for a figure without an interval or whose batches are not shown independent:
/// batches 4 times longer; at most 1 when every one is reached). A strategy counts as
/// saturated when its offered load says so, or when the growth test found its queues
/// growing at this length and at the previous one (`growing_before`, per strategy): on a
/// short run near saturation a stable queue's excursion can pass for growth, and running
/// longer tells the two apart.
fn assess(targets: &[(&'static str, f64)], strategies: &mut [StrategySummary], growing_before: &[bool]) -> f64 {
    let mut growth: f64 = 0.0;
    for (k, s) in strategies.iter_mut().enumerate() {
        s.precision = targets
            .iter()
            .map(|&(measure, target)| {
                let f = Figure::ALL.into_iter().find(|f| f.column() == measure).expect("a figure's name");
                let e = s.estimate(f);
                let relative = e.ci95.filter(|_| e.value != 0.0 && e.value.is_finite()).map(|h| h / e.value.abs());
                let independent = s.paired.get(f as usize).is_none_or(|u| u.independent);
                Reached { measure, target, relative, independent }
            })
            .collect();
        if s.is_unstable() && (s.saturation.by_offered_load() || growing_before[k]) {
            continue;
        }
        for r in &s.precision {
            let needed = match r.relative {
                Some(x) if r.independent => (x / r.threshold()).powi(2),
                Some(x) => (x / r.threshold()).powi(2).max(4.0),
                None => 4.0,
            };
            growth = growth.max(needed);
        }
    }
    growth
}

/// Aggregates the runs of every strategy × replication of `sc` (strategy-major) into one
/// summary per strategy.
fn aggregate(sc: &Scenario, runs: Vec<Replication>) -> ScenarioResults {
    let (stats, open): (Vec<RunStats>, Vec<Option<OpenSample>>) = runs.into_iter().map(|r| (r.stats, r.open)).unzip();
    let reps = sc.replications as usize;
    let mut strategies = Vec::with_capacity(sc.strategies.len());
    let mut drop_rate = Vec::with_capacity(sc.strategies.len());
    for ((runs, open), spec) in stats.chunks(reps).zip(open.chunks(reps)).zip(&sc.strategies) {
        let mut summary = analysis::summarize(runs, sc, Some(spec));
        summary.open_model = open_model(open);
        strategies.push(summary);
        let dropped: Vec<f64> =
            runs.iter().map(|r| r.measured.dropped as f64 / r.measured.generated.max(1) as f64).collect();
        drop_rate.push(Estimate::fraction(&dropped));
    }
    ScenarioResults { strategies, drop_rate, warmup: sc.warmup, requests: sc.requests }
}

/// The open model of one strategy from its replications' samples (none unless every
/// replication has one).
fn open_model(samples: &[Option<OpenSample>]) -> Option<OpenModel> {
    let samples: Vec<OpenSample> = samples.iter().copied().collect::<Option<_>>()?;
    let col = |f: fn(&OpenSample) -> f64| Estimate::from_samples(&samples.iter().map(f).collect::<Vec<_>>());
    Some(OpenModel { rate: col(|s| s.rate), mean: col(|s| s.mean), p99: col(|s| s.p99) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(rate: f64, seed: u64) -> Scenario {
        let text = format!(
            "seed = {seed}\nrequests = 4000\nreplications = 2\nstrategies = [\"random\", \"p2c\"]\n\
             [arrivals]\nprocess = \"poisson\"\nrate = {rate:?}\n\
             [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
             [[servers]]\nname = \"s\"\ncount = 3\n"
        );
        Scenario::parse(&text, None).unwrap()
    }

    fn closed_loop() -> Scenario {
        let text = "seed = 4\nrequests = 3000\nreplications = 2\nstrategies = [\"random\", \"p2c\"]\n\
                    [arrivals]\nprocess = \"closed\"\nclients = 10\nthink_time = \"50ms\"\n\
                    [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
                    [[servers]]\nname = \"s\"\ncount = 3\n";
        Scenario::parse(text, None).unwrap()
    }

    /// Every scenario's results, in order, with `threads` workers.
    fn all(scenarios: &[Scenario], threads: usize) -> Vec<ScenarioResults> {
        let got = Mutex::new(vec![None; scenarios.len()]);
        let opts = RunnerOptions { threads: Some(threads), open_models: true, ..Default::default() };
        let end = run_scenarios(scenarios, &opts, &|j, r| {
            got.lock().unwrap()[j] = Some(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(end, Completion::Complete);
        got.into_inner().unwrap().into_iter().map(Option::unwrap).collect()
    }

    #[test]
    fn results_do_not_depend_on_threads_nor_on_company() {
        let scenarios: Vec<Scenario> = (1..=3).map(|i| scenario(50.0 * i as f64, i)).collect();
        let alone: Vec<ScenarioResults> =
            scenarios.iter().map(|s| run_scenario(s, &RunnerOptions::default()).unwrap()).collect();
        for threads in [1, 2, 5] {
            for (r, single) in all(&scenarios, threads).iter().zip(&alone) {
                for (a, b) in r.strategies.iter().zip(&single.strategies) {
                    assert_eq!(a.label, b.label);
                    assert_eq!(a.p99, b.p99);
                    assert_eq!(a.mean, b.mean);
                    assert_eq!(a.measured, b.measured);
                }
                assert_eq!(r.drop_rate, single.drop_rate);
                assert_eq!(r.drop_rate.len(), 2);
            }
        }
    }

    #[test]
    fn a_closed_loop_gets_its_open_model_in_company_too() {
        let scenarios = vec![scenario(100.0, 1), closed_loop()];
        let one = all(&scenarios, 1);
        let three = all(&scenarios, 3);
        assert!(one[0].strategies.iter().all(|s| s.open_model.is_none()));
        for (a, b) in one[1].strategies.iter().zip(&three[1].strategies) {
            let (oa, ob) = (a.open_model.expect("open model"), b.open_model.expect("open model"));
            assert_eq!((oa.rate, oa.mean, oa.p99), (ob.rate, ob.mean, ob.p99));
            // The open model runs at the rate the clients achieved, which is the closed
            // loop's throughput up to the requests in flight at the end.
            assert!((oa.rate.value / a.throughput.value - 1.0).abs() < 0.05, "{:?} vs {:?}", oa.rate, a.throughput);
        }
    }

    #[test]
    fn stop_flag_finishes_started_scenarios_only() {
        let scenarios: Vec<Scenario> = (1..=4).map(|i| scenario(100.0, i)).collect();
        let stop = AtomicBool::new(false);
        let seen = Mutex::new(Vec::new());
        let opts = RunnerOptions { threads: Some(1), stop: Some(&stop), ..Default::default() };
        let end = run_scenarios(&scenarios, &opts, &|j, _| {
            seen.lock().unwrap().push(j);
            stop.store(true, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert_eq!(end, Completion::Stopped);
        assert_eq!(*seen.lock().unwrap(), vec![0]);
    }

    #[test]
    fn precision_names_are_the_figures_columns() {
        let names: Vec<&str> = Figure::ALL.iter().map(|f| f.column()).collect();
        assert_eq!(names, crate::scenario::precision::MEASURES);
    }

    #[test]
    fn callback_error_is_returned() {
        let scenarios = vec![scenario(100.0, 1), scenario(100.0, 2)];
        let e = run_scenarios(&scenarios, &RunnerOptions::default(), &|_, _| Err(Error::Other("disk full".into())))
            .unwrap_err();
        assert_eq!(e.to_string(), "disk full");
    }
}
