//! The outputs of `lbsim run`: the [`Report`] they all render, the terminal table, the
//! CSV files, the JSON summary and the charts, one file per output.

pub mod charts;
mod columns;
pub mod headroom;
pub mod histogram_csv;
pub mod html;
pub mod json;
pub mod percentiles_csv;
pub mod phases;
pub mod pods_csv;
pub mod policies_csv;
pub mod slo;
pub mod subsets;
pub mod summary_csv;
pub mod terminal;
pub mod timeseries;

use std::fs;
use std::path::{Path, PathBuf};

use super::{Exporter, Warning, manifest};
use crate::analysis::Preflight;
use crate::scenario::{FaultWindow, Scenario};
use crate::stats::StrategySummary;
use crate::{Error, Result};

/// The outcome of `lbsim run`: what every one of its outputs renders.
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
    /// The warnings, computed once ([`Warning::of_run`]) for every output that shows them.
    pub warnings: Vec<Warning>,
    /// The digest of replication 0's request stream (`analysis::stream_sha256`), recorded
    /// in `manifest.json`.
    pub stream_sha256: Option<String>,
    /// Each strategy's headroom at the SLO (`[slo]` or `run --slo`), when searched.
    pub headroom: Option<headroom::RunHeadroom>,
}

impl Report {
    /// The report of `scenario`'s strategies' summaries (in the scenario's order), which
    /// took `wall_time` seconds to simulate; `preflight` is what was known of the scenario
    /// before (`Preflight::of`), `stream_sha256` its request stream's digest.
    pub fn new(
        scenario: Scenario,
        strategies: Vec<StrategySummary>,
        wall_time: f64,
        preflight: &Preflight,
        stream_sha256: Option<String>,
    ) -> Report {
        let mut report = Report::bare(scenario, strategies, wall_time, stream_sha256);
        report.warnings = Warning::of_run(&report, preflight);
        report
    }

    /// The report without its warnings: the fault windows and each strategy's recovery
    /// (what a sweep point's rows of sweep.csv need too).
    pub fn bare(
        scenario: Scenario,
        strategies: Vec<StrategySummary>,
        wall_time: f64,
        stream_sha256: Option<String>,
    ) -> Report {
        let mut fault_windows: Vec<FaultWindow> =
            (0..scenario.replications).flat_map(|r| scenario.fault_windows(r)).collect();
        deploy_ends(&mut fault_windows, &strategies);
        let mut report = Report {
            scenario,
            strategies,
            wall_time,
            fault_windows,
            warnings: Vec::new(),
            stream_sha256,
            headroom: None,
        };
        for (i, r) in phases::recoveries(&report).into_iter().enumerate() {
            report.strategies[i].recovery = r;
        }
        report
    }

    /// Offered load ρ of the scenario.
    pub fn offered_load(&self) -> f64 {
        self.scenario.offered_load()
    }

    /// Whether the offered load makes the queues grow without bound (never for a closed
    /// loop, whose clients wait).
    pub fn is_unstable(&self) -> bool {
        self.scenario.arrivals.open_ended() && self.offered_load() >= 1.0
    }

    /// The fault windows of replication `replication`.
    pub fn fault_windows_of(&self, replication: u32) -> impl Iterator<Item = &FaultWindow> {
        self.fault_windows.iter().filter(move |w| w.replication == replication)
    }
}

/// A rolling deploy's window ends when the deploy was complete: in each replication, the
/// latest end over the strategies (they are the same without an autoscaler: a deploy's
/// pods start and become ready whatever the strategy); none when one did not complete.
fn deploy_ends(windows: &mut [FaultWindow], strategies: &[StrategySummary]) {
    for w in windows.iter_mut().filter(|w| w.kind.deploy().is_some()) {
        let ends = strategies.iter().map(|s| {
            let run = s.pods.get(w.replication as usize)?;
            run.deploys.iter().find(|d| d.fault == w.fault)?.end
        });
        w.end = ends.collect::<Option<Vec<f64>>>().and_then(|e| e.into_iter().reduce(f64::max));
    }
}

/// The exporters `lbsim run` writes, in order.
pub static EXPORTERS: &[&dyn Exporter] = &[
    &summary_csv::SummaryCsv,
    &summary_csv::ServersCsv,
    &summary_csv::FaultsCsv,
    &pods_csv::PodsCsv,
    &pods_csv::ScaleEventsCsv,
    &pods_csv::DeploysCsv,
    &policies_csv::PoliciesCsv,
    &percentiles_csv::PercentilesCsv,
    &histogram_csv::HistogramCsv,
    &timeseries::TimeseriesCsv,
    &phases::LatencyCsv,
    &phases::PhasesCsv,
    &headroom::HeadroomCsv,
    &manifest::Manifest,
    &charts::response_time_cdf::CHART,
    &charts::server_load::CHART,
    &charts::imbalance::CHART,
    &charts::queue_timeline::CHART,
    &charts::pods_timeline::CHART,
    &charts::latency_timeline::CHART,
    &charts::percentiles::CHART,
    &html::ReportHtml,
];

/// The exporters to run: all of [`EXPORTERS`], or all but the charts.
pub fn exporters(charts: bool) -> Vec<&'static dyn Exporter> {
    selected(charts, true)
}

/// The exporters to run: [`EXPORTERS`], without the charts unless `charts`, without
/// `report.html` unless `html`.
pub fn selected(charts: bool, html: bool) -> Vec<&'static dyn Exporter> {
    EXPORTERS
        .iter()
        .copied()
        .filter(|e| (charts || !e.is_chart()) && (html || e.file_name() != super::html::FILE))
        .collect()
}

/// Removes from `dir` the files of [`EXPORTERS`] that are not in `written` (charts left by
/// an earlier run when this one was told `--no-charts`), so the directory never mixes
/// outputs of two runs. Only lbsim's own file names are touched. Returns the paths removed.
pub fn remove_stale(dir: &Path, exporters: &[&dyn Exporter]) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for e in EXPORTERS {
        if exporters.iter().any(|w| w.file_name() == e.file_name()) {
            continue;
        }
        let path = dir.join(e.file_name());
        match fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(Error::Io { action: "cannot remove", path, source: err }),
        }
    }
    Ok(removed)
}
