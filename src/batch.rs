//! Runs the simulations of many scenarios (the points of a sweep, the candidates of a plan)
//! over one set of worker threads.
//!
//! Every scenario × strategy × replication is one task. Workers take tasks in order from a
//! shared counter, so the scenarios finish roughly in order and at most about one per
//! worker is in progress at any time (bounded memory, little work lost on interruption).
//! When a scenario's last task finishes, its runs are aggregated exactly as [`crate::run`]
//! does and handed to a callback. Each simulation is deterministic and the aggregation
//! takes the runs in a fixed order, so results do not depend on the thread count nor on
//! which tasks ran together.
//!
//! A stop flag (set on Ctrl-C) stops workers from starting new scenarios; scenarios already
//! started are finished, so nothing completed is lost.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::engine;
use crate::scenario::Scenario;
use crate::stats::{Estimate, RunStats, StrategySummary};
use crate::{Error, Result};

/// How to run a batch.
#[derive(Default, Clone, Copy)]
pub struct BatchOptions<'a> {
    /// Worker threads; `None` = one per core.
    pub threads: Option<usize>,
    /// When set, no further scenario is started (those started are finished).
    pub stop: Option<&'a AtomicBool>,
    /// Told the number of requests simulated since its last call.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

/// One scenario's results.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// One summary per strategy, in the scenario's order.
    pub strategies: Vec<StrategySummary>,
    /// Per strategy: measured requests dropped as a fraction of measured requests, mean
    /// over replications with its 95% confidence half-width.
    pub drop_rate: Vec<Estimate>,
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every scenario was run.
    Complete,
    /// The stop flag was raised; the scenarios not reported were not run.
    Stopped,
}

struct Slot {
    runs: Vec<Option<RunStats>>,
    left: usize,
}

/// Runs every strategy × replication of every scenario of `jobs`, calling `on_done(index,
/// result)` (from a worker thread) as each scenario completes. An error from `on_done`
/// stops the batch and is returned.
pub fn run_jobs(
    jobs: &[Scenario],
    options: &BatchOptions,
    on_done: &(dyn Fn(usize, JobResult) -> Result<()> + Sync),
) -> Result<Outcome> {
    let sizes: Vec<usize> = jobs.iter().map(|j| j.strategies.len() * j.replications as usize).collect();
    let mut first = Vec::with_capacity(jobs.len() + 1);
    first.push(0);
    for s in &sizes {
        first.push(first.last().unwrap() + s);
    }
    let total = *first.last().unwrap();
    let slots: Vec<Mutex<Slot>> =
        sizes.iter().map(|&n| Mutex::new(Slot { runs: (0..n).map(|_| None).collect(), left: n })).collect();
    let next = Mutex::new(0usize);
    let failed = AtomicBool::new(false);
    let error: Mutex<Option<Error>> = Mutex::new(None);
    let done = AtomicUsize::new(0);
    let stop = options.stop;
    let no_progress = |_| {};
    let progress: &(dyn Fn(u64) + Sync) = options.progress.unwrap_or(&no_progress);

    let take = || -> Option<usize> {
        let mut n = next.lock().expect("no panic while held");
        let t = *n;
        if t >= total {
            return None;
        }
        let starts_job = first.binary_search(&t).is_ok();
        if failed.load(Ordering::SeqCst) || (starts_job && stop.is_some_and(|s| s.load(Ordering::SeqCst))) {
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
            let sc = &jobs[j];
            let reps = sc.replications as usize;
            let stats = engine::simulate(sc, &sc.strategies[k / reps], (k % reps) as u32, &|n| progress(n));
            let finished = {
                let mut slot = slots[j].lock().expect("no panic while held");
                slot.runs[k] = Some(stats);
                slot.left -= 1;
                (slot.left == 0).then(|| std::mem::take(&mut slot.runs))
            };
            if let Some(runs) = finished {
                let runs: Vec<RunStats> = runs.into_iter().map(|r| r.expect("all tasks done")).collect();
                let result = JobResult {
                    strategies: crate::run::summarize(sc, &runs),
                    drop_rate: runs
                        .chunks(reps)
                        .map(|c| {
                            let rates: Vec<f64> = c
                                .iter()
                                .map(|r| r.measured.dropped as f64 / r.measured.generated.max(1) as f64)
                                .collect();
                            Estimate::from_samples(&rates)
                        })
                        .collect(),
                };
                match on_done(j, result) {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        error.lock().expect("no panic while held").get_or_insert(e);
                        failed.store(true, Ordering::SeqCst);
                    }
                }
            }
        }
    };
    let threads = options
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        .clamp(1, total.max(1));
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(work);
        }
        work();
    });
    if let Some(e) = error.into_inner().expect("no panic while held") {
        return Err(e);
    }
    Ok(if done.load(Ordering::SeqCst) == jobs.len() { Outcome::Complete } else { Outcome::Stopped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{self, RunOptions};

    fn scenario(rate: f64, seed: u64) -> Scenario {
        let text = format!(
            "seed = {seed}\nrequests = 4000\nreplications = 2\nstrategies = [\"random\", \"p2c\"]\n\
             [arrivals]\nprocess = \"poisson\"\nrate = {rate:?}\n\
             [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
             [[servers]]\nname = \"s\"\ncount = 3\n"
        );
        Scenario::parse(&text, None).unwrap()
    }

    #[test]
    fn results_equal_single_runs_whatever_the_threads() {
        let jobs: Vec<Scenario> = (1..=3).map(|i| scenario(50.0 * i as f64, i)).collect();
        for threads in [1, 2, 5] {
            let got = Mutex::new(vec![None; jobs.len()]);
            let opts = BatchOptions { threads: Some(threads), ..Default::default() };
            let out = run_jobs(&jobs, &opts, &|j, r| {
                got.lock().unwrap()[j] = Some(r);
                Ok(())
            })
            .unwrap();
            assert_eq!(out, Outcome::Complete);
            for (j, r) in got.into_inner().unwrap().into_iter().enumerate() {
                let r = r.unwrap();
                let single = run::run(&jobs[j], &RunOptions::default()).unwrap();
                for (a, b) in r.strategies.iter().zip(&single.strategies) {
                    assert_eq!(a.label, b.label);
                    assert_eq!(a.p99, b.p99);
                    assert_eq!(a.mean, b.mean);
                    assert_eq!(a.measured, b.measured);
                }
                assert_eq!(r.drop_rate.len(), 2);
            }
        }
    }

    #[test]
    fn stop_flag_finishes_started_jobs_only() {
        let jobs: Vec<Scenario> = (1..=4).map(|i| scenario(100.0, i)).collect();
        let stop = AtomicBool::new(false);
        let seen = Mutex::new(Vec::new());
        let opts = BatchOptions { threads: Some(1), stop: Some(&stop), ..Default::default() };
        let out = run_jobs(&jobs, &opts, &|j, _| {
            seen.lock().unwrap().push(j);
            stop.store(true, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert_eq!(out, Outcome::Stopped);
        assert_eq!(*seen.lock().unwrap(), vec![0]);
    }

    #[test]
    fn callback_error_is_returned() {
        let jobs = vec![scenario(100.0, 1), scenario(100.0, 2)];
        let e = run_jobs(&jobs, &BatchOptions::default(), &|_, _| Err(Error::Other("disk full".into()))).unwrap_err();
        assert_eq!(e.to_string(), "disk full");
    }
}
