//! `lbsim sweep` and `lbsim merge`: a scenario run over a grid of key values.
//!
//! A [`Sweep`] is a scenario text, the shared [`Overrides`] and one or more [`Vary`]s; its
//! points are the cartesian product of the values (the first `--vary` varies slowest). A
//! point is the scenario with its values set in the text and a seed derived from the
//! scenario seed and the point's values ([`crate::point`]), so a point's results are the
//! same whichever other points run with it, and `lbsim run --seed S` with the same values
//! reproduces them.
//!
//! [`execute`] runs the points of one shard (`--shard K/N`: points K, K+N, K+2N, ...),
//! writing each point's rows atomically to `points/NNNNNN.csv` as it finishes, so an
//! interrupted sweep keeps its finished points and `--resume` runs only the others
//! ([`store`]). When every point of the shard is there, `sweep.csv` is assembled from them
//! in point order ([`sweep_csv`]) and, unsharded, the charts drawn from it. [`merge`] does the
//! same from the point files of several shard directories: the result is byte for byte the
//! unsharded output.

pub mod spec;
pub mod store;
pub mod sweep_csv;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::plan::slo::Slo;
use crate::report::sweep::SweepView;
use crate::report::sweep::charts::{MEAN_CHART, P99_CHART};
use crate::report::sweep::headroom_csv::{self, HeadroomCsv};
use crate::report::sweep::html::SweepHtml;
use crate::report::{self, Exporter};
use crate::runner::progress::PointsBar;
use crate::runner::{self, Completion, RunnerOptions, ScenarioResults};
use crate::scenario::Overrides;
use crate::scenario::edit::{KeyValue, ScenarioText};
use crate::scenario::{Scenario, ScenarioError};
use crate::{Error, Result, point};
pub use spec::Vary;
pub use store::{Shard, SweepManifest};
use sweep_csv::SweepTable;

/// The most points a sweep may have.
pub const MAX_POINTS: usize = 100_000;

/// A scenario, shared overrides, and the keys varied.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The scenario text.
    pub text: ScenarioText,
    /// `--requests`, `--seed`, `--replications`, `--strategies`.
    pub overrides: Overrides,
    /// The keys varied, outermost first.
    pub vary: Vec<Vary>,
    scenarios: Vec<Scenario>,
}

impl Sweep {
    /// Checks every `--vary` and builds (so validates) every point up front: a value that
    /// makes an invalid scenario is reported before anything runs.
    pub fn new(text: ScenarioText, overrides: Overrides, vary_args: &[String]) -> Result<Sweep, ScenarioError> {
        if vary_args.is_empty() {
            return Err(ScenarioError::at(
                "--vary",
                "give at least one --vary KEY=VALUES, e.g. arrivals.rate=100:1000:10",
            ));
        }
        let mut vary: Vec<Vary> = Vec::new();
        for a in vary_args {
            let v = Vary::parse(&text, a)?;
            if let Some(prev) = vary.iter().find(|p| p.key.canonical == v.key.canonical) {
                return Err(ScenarioError::at(
                    v.key.written.clone(),
                    format!("varied twice (--vary {}={} and --vary {a})", prev.key.written, prev.spec),
                ));
            }
            if let Some(opt) = overrides.clashes_with(&v.key.canonical) {
                return Err(ScenarioError::at(
                    v.key.written.clone(),
                    format!("both varied and set by {opt}; keep one of the two"),
                ));
            }
            vary.push(v);
        }
        let points = vary.iter().try_fold(1usize, |n, v| n.checked_mul(v.values.len())).unwrap_or(usize::MAX);
        if points > MAX_POINTS {
            return Err(ScenarioError::at("--vary", format!("{points} points; a sweep has at most {MAX_POINTS}")));
        }
        let mut sweep = Sweep { text, overrides, vary, scenarios: Vec::with_capacity(points) };
        let (limit, mut held) = (crate::memory::memory_limit(), 0u64);
        for i in 0..points {
            let sc = sweep.build(i)?;
            // Every point is held: stop building before they outgrow the memory limit.
            held = held.saturating_add(crate::budget::scenario_bytes(&sc));
            if held > limit {
                return Err(ScenarioError::at(
                    "--vary",
                    format!(
                        "the first {} of {points} points already hold {} of memory, more than the limit of {}",
                        i + 1,
                        crate::memory::format_bytes(held),
                        crate::memory::format_bytes(limit)
                    ),
                ));
            }
            sweep.scenarios.push(sc);
        }
        Ok(sweep)
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.scenarios.len()
    }

    /// Whether there is no point (never, for a valid sweep).
    pub fn is_empty(&self) -> bool {
        self.scenarios.is_empty()
    }

    /// The values of point `index`, one per varied key.
    pub fn values(&self, index: usize) -> Vec<KeyValue> {
        let mut rest = index;
        let mut out = vec![KeyValue::Integer(0); self.vary.len()];
        for (k, v) in self.vary.iter().enumerate().rev() {
            out[k] = v.values[rest % v.values.len()];
            rest /= v.values.len();
        }
        out
    }

    /// The scenario of point `index` (overrides applied, point seed set).
    pub fn scenario(&self, index: usize) -> &Scenario {
        &self.scenarios[index]
    }

    fn build(&self, index: usize) -> Result<Scenario, ScenarioError> {
        let values = self.values(index);
        let sets: Vec<_> = self.vary.iter().map(|v| &v.key).zip(values.iter().copied()).collect();
        point::build(&self.text, &sets, &self.overrides, &sets)
    }

    /// The manifest of this sweep (or of one shard of it).
    pub fn manifest(&self, shard: Option<Shard>) -> SweepManifest {
        SweepManifest::new(self, shard)
    }
}

/// How to run a sweep.
#[derive(Debug, Clone, Copy, Default)]
pub struct SweepOptions<'a> {
    /// Worker threads; `None` = one per core.
    pub threads: Option<usize>,
    /// Show a progress bar (only on a terminal).
    pub progress: bool,
    /// Ctrl-C: finish the points started, start no others.
    pub stop: Option<&'a AtomicBool>,
    /// Run only this shard's points.
    pub shard: Option<Shard>,
    /// Keep the points already in the output directory.
    pub resume: bool,
    /// Do not write report.html (an unsharded sweep writes it beside its charts).
    pub no_html: bool,
    /// `--slo`: report each strategy's headroom at this objective (p99 or mean): in the
    /// table's notes, `headroom.csv`, the chart of its metric and report.html.
    pub slo: Option<&'a Slo>,
}

/// What [`execute`] did.
#[derive(Debug)]
pub struct SweepOutcome {
    /// Points of this shard.
    pub points: usize,
    /// Points simulated now.
    pub ran: usize,
    /// Points found finished in the output directory (`--resume`).
    pub resumed: usize,
    /// Whether every point of the shard is done (false after Ctrl-C).
    pub complete: bool,
    /// Files written (when complete).
    pub written: Vec<PathBuf>,
    /// The assembled results (when complete).
    pub data: Option<SweepData>,
    /// Wall-clock time, s.
    pub wall_time: f64,
}

/// Runs the points of `options.shard` (all, by default) of `sweep` into `out`.
pub fn execute(sweep: &Sweep, out: &Path, options: &SweepOptions) -> Result<SweepOutcome> {
    let started = Instant::now();
    let manifest = sweep.manifest(options.shard);
    let mine: Vec<usize> = (0..sweep.len()).filter(|&i| options.shard.is_none_or(|s| s.owns(i))).collect();
    let points: Vec<&Scenario> = mine.iter().map(|&i| sweep.scenario(i)).collect();
    let threads = crate::budget::threads_or_cores(options.threads);
    crate::budget::check_batch(&points, threads, crate::memory::memory_limit(), |j| {
        format!("sweep point {}", mine[j])
    })?;
    let done = store::prepare(out, &manifest, options.resume)?;
    let todo: Vec<usize> = mine.iter().copied().filter(|i| !done.contains(i)).collect();
    let jobs: Vec<Scenario> = todo.iter().map(|&i| sweep.scenario(i).clone()).collect();
    let header = sweep_csv::header(&sweep.vary);
    let bar = PointsBar::new(&jobs, mine.len() - todo.len(), mine.len(), options.progress);
    let finished = Mutex::new(mine.len() - todo.len());
    let on_done = |j: usize, result: ScenarioResults| -> Result<()> {
        let index = todo[j];
        let bytes = sweep_csv::point_csv(&header, sweep, index, &result)?;
        store::write_point(out, index, &bytes)?;
        let mut n = finished.lock().expect("no panic while held");
        *n += 1;
        bar.points_done(*n);
        Ok(())
    };
    let tick = |t| bar.tick(t);
    let runner =
        RunnerOptions { threads: options.threads, stop: options.stop, progress: Some(&tick), open_models: true };
    let end = runner::run_scenarios(&jobs, &runner, &on_done);
    bar.finish();
    let end = end?;
    let mut result = SweepOutcome {
        points: mine.len(),
        ran: finished.into_inner().expect("no panic while held") - done.len(),
        resumed: done.len(),
        complete: end == Completion::Complete,
        written: Vec::new(),
        data: None,
        wall_time: 0.0,
    };
    if result.complete {
        let mut points = store::read_points(out, &mine)?;
        if points.is_empty() {
            // More shards than points: this shard's file is the header alone.
            points.insert(0, sweep_csv::header_csv(&header)?);
        }
        let charts = options.shard.is_none();
        let outputs = Finish { charts, html: charts && !options.no_html, slo: options.slo };
        let (written, data) = finish(out, &manifest, &points, &outputs)?;
        result.written = written;
        result.data = Some(data);
    }
    result.wall_time = started.elapsed().as_secs_f64();
    Ok(result)
}

/// A finished sweep's results.
#[derive(Debug, Clone)]
pub struct SweepData {
    /// The sweep's manifest.
    pub manifest: SweepManifest,
    /// sweep.csv as read back.
    pub table: SweepTable,
    /// What the report shows.
    pub view: SweepView,
}

/// What a finished sweep writes beside sweep.csv.
#[derive(Debug)]
struct Finish<'a> {
    /// The charts.
    charts: bool,
    /// report.html (else one an earlier sweep left is removed).
    html: bool,
    /// The objective whose headroom is reported (headroom.csv; else one an earlier sweep
    /// left is removed).
    slo: Option<&'a Slo>,
}

/// Assembles sweep.csv from the point files (in point order), writes what `outputs` asks
/// for, and marks the manifest complete.
fn finish(
    out: &Path,
    manifest: &SweepManifest,
    points: &BTreeMap<usize, Vec<u8>>,
    outputs: &Finish<'_>,
) -> Result<(Vec<PathBuf>, SweepData)> {
    let csv = sweep_csv::assemble(points.values().map(Vec::as_slice))?;
    let table = SweepTable::parse(&csv)?;
    let mut view = table.view(manifest)?;
    view.slo = outputs.slo.cloned();
    let mut written = vec![report::write_atomic(&out.join(sweep_csv::SWEEP_CSV), &csv)?];
    let mut exporters: Vec<&dyn Exporter<SweepView>> = Vec::new();
    if outputs.slo.is_some() {
        exporters.push(&HeadroomCsv);
    } else {
        report::remove_file(&out.join(headroom_csv::FILE))?;
    }
    if outputs.charts {
        exporters.extend([&P99_CHART as &dyn Exporter<SweepView>, &MEAN_CHART]);
    }
    if outputs.html {
        exporters.push(&SweepHtml);
    } else {
        report::remove_file(&out.join(report::html::FILE))?;
    }
    if !exporters.is_empty() {
        written.extend(report::write_outputs(&view, out, &exporters)?);
    }
    let manifest = SweepManifest { complete: true, ..manifest.clone() };
    store::write_manifest(out, &manifest)?;
    Ok((written, SweepData { manifest, table, view }))
}

/// What [`merge`] did.
#[derive(Debug)]
pub struct MergeOutcome {
    /// Files written.
    pub written: Vec<PathBuf>,
    /// The merged results.
    pub data: SweepData,
}

/// Merges the shard directories `dirs` of one sweep into `out`: checks that they are
/// shards of the same sweep and that every point is there, then writes the same files
/// an unsharded run writes (points/, sweep.json, sweep.csv, charts).
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<MergeOutcome> {
    if dirs.is_empty() {
        return Err(ScenarioError::general("give the shard directories to merge").into());
    }
    let mut manifests = Vec::new();
    for d in dirs {
        manifests.push(store::read_manifest(d)?.ok_or_else(|| {
            Error::from(ScenarioError::general(format!(
                "{} is not a sweep output: it has no {} (give the --out directories of `lbsim sweep`)",
                d.display(),
                store::MANIFEST
            )))
        })?);
    }
    let first = &manifests[0];
    for (d, m) in dirs.iter().zip(&manifests).skip(1) {
        let diff = first.differences(m);
        if !diff.is_empty() {
            return Err(ScenarioError::general(format!(
                "{} and {} are not shards of the same sweep: {}",
                dirs[0].display(),
                d.display(),
                diff.join("; ")
            ))
            .into());
        }
        if first.shard.map(|s| s.count) != m.shard.map(|s| s.count) {
            return Err(ScenarioError::general(format!(
                "{} is shard {} but {} is shard {}: merge the shards of one split",
                dirs[0].display(),
                Shard::describe(first.shard),
                d.display(),
                Shard::describe(m.shard)
            ))
            .into());
        }
    }
    let mut points: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    for d in dirs {
        for (i, bytes) in store::read_points(d, &store::list_points(d)?)? {
            if i >= first.points {
                return Err(ScenarioError::general(format!(
                    "{}: point {i} is beyond the sweep's {} points",
                    d.display(),
                    first.points
                ))
                .into());
            }
            if let Some(prev) = points.get(&i)
                && *prev != bytes
            {
                return Err(ScenarioError::general(format!(
                    "point {i} appears in two directories with different results (was a shard run twice with \
                     different builds of lbsim?); the second is in {}",
                    d.display()
                ))
                .into());
            }
            points.insert(i, bytes);
        }
    }
    let missing: Vec<usize> = (0..first.points).filter(|i| !points.contains_key(i)).collect();
    if !missing.is_empty() {
        let count = first.shard.map(|s| s.count).unwrap_or(1);
        let mut shards: Vec<usize> = missing.iter().map(|i| i % count).collect();
        shards.dedup();
        shards.sort_unstable();
        shards.dedup();
        let shown: Vec<String> = missing.iter().take(20).map(usize::to_string).collect();
        // A shard given but short of points is named by its directory.
        let given = |k: usize| dirs.iter().zip(&manifests).find(|(_, m)| m.shard.is_some_and(|s| s.index == k));
        let absent: Vec<String> =
            shards.iter().filter(|&&k| given(k).is_none()).map(|k| format!("{k}/{count}")).collect();
        let unfinished: Vec<String> = shards
            .iter()
            .filter_map(|&k| given(k).map(|(d, _)| format!("shard {k}/{count} in {} not finished", d.display())))
            .collect();
        let mut why = Vec::new();
        if !absent.is_empty() {
            why.push(format!("shard(s) {} not given", absent.join(", ")));
        }
        why.extend(unfinished);
        return Err(ScenarioError::general(format!(
            "{} of {} points are missing ({}{}): {} (finish one with `lbsim sweep ... --shard K/{count} --resume`)",
            missing.len(),
            first.points,
            shown.join(", "),
            if missing.len() > 20 { ", ..." } else { "" },
            why.join("; ")
        ))
        .into());
    }
    let manifest = SweepManifest { shard: None, complete: false, ..first.clone() };
    store::prepare(out, &manifest, false)?;
    for (i, bytes) in &points {
        store::write_point(out, *i, bytes)?;
    }
    let (written, data) = finish(out, &manifest, &points, &Finish { charts: true, html: true, slo: None })?;
    Ok(MergeOutcome { written, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "seed = 3\nrequests = 2000\nstrategies = [\"random\", \"p2c\"]\n\
        [arrivals]\nprocess = \"poisson\"\nrate = 100.0\n\
        [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
        [[servers]]\nname = \"web\"\ncount = 4\n";

    fn sweep(vary: &[&str]) -> Result<Sweep, ScenarioError> {
        let text = ScenarioText::new(TEXT.to_string(), None).unwrap();
        Sweep::new(text, Overrides::default(), &vary.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn grid_order_and_seeds() {
        let s = sweep(&["arrivals.rate=100,200,300", "servers.web.count=2,4"]).unwrap();
        assert_eq!(s.len(), 6);
        assert_eq!(s.values(0), vec![KeyValue::Float(100.0), KeyValue::Integer(2)]);
        assert_eq!(s.values(1), vec![KeyValue::Float(100.0), KeyValue::Integer(4)]);
        assert_eq!(s.values(5), vec![KeyValue::Float(300.0), KeyValue::Integer(4)]);
        assert_eq!(s.scenario(3).arrival_rate(), 200.0);
        assert_eq!(s.scenario(3).server_count(), 4);
        // A point's seed depends on its values only, not on the grid around it.
        let other = sweep(&["arrivals.rate=200,900", "servers[0].count=8,4"]).unwrap();
        assert_eq!(other.scenario(1).seed, s.scenario(3).seed);
        assert_ne!(s.scenario(0).seed, s.scenario(1).seed);
    }

    #[test]
    fn resume_checks_it_is_the_same_sweep_and_runs_only_missing_points() {
        let dir = tempfile::tempdir().unwrap();
        let s = sweep(&["arrivals.rate=100,150,200"]).unwrap();
        let first = execute(&s, dir.path(), &SweepOptions { threads: Some(2), ..Default::default() }).unwrap();
        assert_eq!((first.ran, first.resumed, first.complete), (3, 0, true));
        let csv = std::fs::read(dir.path().join("sweep.csv")).unwrap();
        // Lose a point, as if interrupted: resume runs it alone and gives the same file.
        std::fs::remove_file(store::point_path(dir.path(), 1)).unwrap();
        let resumed =
            execute(&s, dir.path(), &SweepOptions { threads: Some(1), resume: true, ..Default::default() }).unwrap();
        assert_eq!((resumed.ran, resumed.resumed), (1, 2));
        assert_eq!(std::fs::read(dir.path().join("sweep.csv")).unwrap(), csv);
        // Resuming with other values, or as a shard, is refused.
        let other = sweep(&["arrivals.rate=100,150,250"]).unwrap();
        let e = execute(&other, dir.path(), &SweepOptions { resume: true, ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("holds a different sweep") && e.to_string().contains("--vary"), "{e}");
        let shard = Some(Shard { index: 0, count: 2 });
        let e = execute(&s, dir.path(), &SweepOptions { resume: true, shard, ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("shard 0/1, not 0/2"), "{e}");
        // A finished sweep is simply replaced by a new one.
        let again = execute(&other, dir.path(), &SweepOptions::default()).unwrap();
        assert_eq!(again.ran, 3);
    }

    #[test]
    fn bad_vary_is_an_input_error_naming_the_key() {
        let e = sweep(&["arrivals.raet=1:2:3"]).unwrap_err();
        assert!(e.to_string().contains("did you mean `arrivals.rate`"), "{e}");
        let e = sweep(&["servers.web.count=0:4:5"]).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("servers[0].count"));
        assert!(e.to_string().contains("servers.web.count = 0"), "{e}");
        let e = sweep(&["arrivals.rate=1,2", "arrivals.rate=3"]).unwrap_err();
        assert!(e.message.contains("varied twice"), "{e}");
        assert!(sweep(&[]).is_err());
        assert!(sweep(&["arrivals.rate"]).unwrap_err().message.contains("KEY=VALUES"));
    }
}
