//! `report.html` of `lbsim run`: the scenario, the command that reproduces the run, the
//! warnings, the table with its notes (the terminal's default columns and figures), what
//! the intervals mean, and every chart of the run embedded (see [`crate::report::html`]).

use super::terminal::{self, Layout};
use super::{EXPORTERS, Report};
use crate::Result;
use crate::report::Exporter;
use crate::report::html::{self, Cell, CellKind, Page};
use crate::report::manifest::sha256_hex;

/// The run's `report.html`.
#[derive(Debug)]
pub struct ReportHtml;

/// The command that reproduces the run: the scenario file with the seed, request count and
/// replications it ran with, and the strategy list when it is plain names (a `--strategies`
/// override can only give plain names, so a list with parameters is the file's own).
pub fn command(report: &Report) -> String {
    let sc = &report.scenario;
    let file = sc.file.as_ref().map_or_else(|| "SCENARIO.toml".to_string(), |f| f.display().to_string());
    let mut words = vec!["lbsim".to_string(), "run".to_string(), html::shell_word(&file)];
    words.extend(["--seed".to_string(), sc.seed.to_string()]);
    words.extend(["--requests".to_string(), sc.requests.to_string()]);
    words.extend(["--replications".to_string(), sc.replications.to_string()]);
    if sc.strategies.iter().all(|s| s.label == s.name) {
        let names: Vec<&str> = sc.strategies.iter().map(|s| s.name).collect();
        words.extend(["--strategies".to_string(), html::shell_word(&names.join(","))]);
    }
    words.join(" ")
}

/// The page, with the charts `charts` (file name, PNG) embedded in that order.
fn page(report: &Report, charts: &[(&str, &[u8])]) -> Vec<u8> {
    let sc = &report.scenario;
    let view = terminal::view(report, &Layout::Fit);
    let mut page = Page::new(&format!("{} — lbsim run", sc.name), &format!("{} {}", view.heading[0], view.heading[1]));

    page.section("Scenario");
    let groups: Vec<String> = sc.groups.iter().map(|g| format!("{} × {}", g.name, g.count)).collect();
    let labels: Vec<&str> = report.strategies.iter().map(|s| s.label.as_str()).collect();
    let mut facts = vec![
        ("facts", super::charts::facts(report)),
        ("servers", groups.join(", ")),
        ("strategies", labels.join(", ")),
        ("warm-up", format!("first {} requests of each replication not measured", sc.warmup)),
    ];
    if let Some(f) = &sc.file {
        facts.push(("file", f.display().to_string()));
    }
    if let Some(text) = &sc.source {
        facts.push(("SHA-256", sha256_hex(text.as_bytes())));
    }
    page.facts(&facts);

    page.section("Reproduce");
    page.code(&command(report));
    page.paragraph(&format!(
        "lbsim {}; every file but manifest.json is byte-identical for the same scenario and seed, whatever the \
         thread count.",
        env!("CARGO_PKG_VERSION")
    ));
    if let Some(text) = &sc.source {
        page.details("scenario file as run", text);
    }

    if !report.warnings.is_empty() {
        page.section("Warnings");
        let warnings: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
        page.list(&warnings, true);
    }

    page.section("Results");
    let rows: Vec<Vec<Cell>> = view
        .rows
        .iter()
        .map(|((label, unstable), cells)| {
            let mut row = vec![Cell::of(label, if *unstable { CellKind::Bad } else { CellKind::Text })];
            row.extend(
                cells.iter().map(|(t, best)| Cell::of(t, if *best { CellKind::Best } else { CellKind::Number })),
            );
            row
        })
        .collect();
    page.table(&view.header, &rows);
    page.list(&view.notes, false);
    page.paragraph(
        "Every column of every strategy is in summary.csv (the table shows the terminal's default columns); \
         per-server figures are in servers.csv, latency over time in latency_timeseries.csv.",
    );
    super::headroom::section(report, &mut page);

    page.section("Charts");
    if charts.is_empty() {
        page.paragraph("No charts: the run was told --no-charts.");
    } else {
        page.paragraph(&format!(
            "Response-time figures: {}; intervals are 95% confidence intervals{}.",
            super::charts::averaged(report),
            super::charts::interval_source(report).map(|s| format!(" {s}")).unwrap_or_default()
        ));
    }
    for (name, png) in charts {
        page.figure(name, png);
    }
    page.finish()
}

/// The run's chart exporters that `report` wants, in [`EXPORTERS`]' order.
fn chart_exporters(report: &Report) -> impl Iterator<Item = &'static dyn Exporter> + '_ {
    EXPORTERS.iter().copied().filter(|e| e.is_chart() && e.wanted(report))
}

impl Exporter for ReportHtml {
    fn file_name(&self) -> &'static str {
        html::FILE
    }

    /// Draws the charts itself; [`write_outputs`](crate::report::write_outputs) composes
    /// the page from the charts it drew instead.
    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let charts: Vec<(&str, Vec<u8>)> =
            chart_exporters(report).map(|e| Ok((e.file_name(), e.render(report)?))).collect::<Result<_>>()?;
        let charts: Vec<(&str, &[u8])> = charts.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        Ok(page(report, &charts))
    }

    fn composes(&self) -> bool {
        true
    }

    fn compose(&self, report: &Report, files: &[(&str, Vec<u8>)]) -> Result<Vec<u8>> {
        let charts: Vec<(&str, &[u8])> = chart_exporters(report)
            .filter_map(|e| files.iter().find(|(n, _)| *n == e.file_name()).map(|(n, b)| (*n, b.as_slice())))
            .collect();
        Ok(page(report, &charts))
    }
}
