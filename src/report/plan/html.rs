//! `report.html` of `lbsim plan`: what was planned, the command that plans it again, the
//! table of servers needed per strategy (the terminal's cells), its notes, and plan.png
//! embedded (see [`crate::report::html`]).

use super::chart::PlanChart;
use super::{cells, heading, notes};
use crate::Result;
use crate::plan::PlanReport;
use crate::report::Exporter;
use crate::report::html::{self, Cell, CellKind, Page};

/// The plan's `report.html`.
#[derive(Debug)]
pub struct PlanHtml;

/// Largest count `lbsim plan` considers when not told (`--max-servers`' default).
const DEFAULT_MAX_SERVERS: u32 = 1000;

/// The command that plans again: the scenario file, each objective, the rate, the group,
/// the seed, request count and replications planned with, the strategy list when it is
/// plain names (as `lbsim run`'s report.html), the cost and the largest count when given.
pub fn command(report: &PlanReport) -> String {
    let sc = &report.scenario;
    let mut words = vec!["lbsim".to_string(), "plan".to_string()];
    words.push(sc.file.as_ref().map_or_else(|| "SCENARIO.toml".to_string(), |f| f.display().to_string()));
    for s in &report.slos {
        words.extend(["--slo".to_string(), format!("{}<={}", s.metric.name(), s.metric.show(s.limit))]);
    }
    words.extend(["--rate".to_string(), report.rate.to_string(), "--group".to_string(), report.group.clone()]);
    words.extend(["--seed".to_string(), sc.seed.to_string()]);
    words.extend(["--requests".to_string(), sc.requests.to_string()]);
    words.extend(["--replications".to_string(), sc.replications.to_string()]);
    if sc.strategies.iter().all(|s| s.label == s.name) {
        let names: Vec<&str> = sc.strategies.iter().map(|s| s.name).collect();
        words.extend(["--strategies".to_string(), names.join(",")]);
    }
    if report.max_servers != DEFAULT_MAX_SERVERS {
        words.extend(["--max-servers".to_string(), report.max_servers.to_string()]);
    }
    if let Some(c) = report.cost {
        words.extend(["--cost".to_string(), c.to_string()]);
    }
    words.iter().map(|w| html::shell_word(w)).collect::<Vec<_>>().join(" ")
}

/// The page, with plan.png (when drawn) embedded.
fn page(report: &PlanReport, chart: Option<&[u8]>) -> Vec<u8> {
    let head = heading(report);
    let mut lines = head.lines();
    let mut page =
        Page::new(&format!("{} — lbsim plan", report.scenario.name), lines.next().unwrap_or_default().trim());
    page.paragraph(lines.collect::<Vec<_>>().join(" ").trim());
    page.section("Reproduce");
    page.code(&command(report));
    page.paragraph(&format!("lbsim {}; the same command gives the same answer.", env!("CARGO_PKG_VERSION")));
    if let Some(text) = &report.scenario.source {
        page.details("scenario file as planned (before the rate and count are set)", text);
    }
    page.section("Servers needed");
    let (header, rows) = cells(report);
    page.table(&header, &html_rows(rows));
    if let Some((title, header, rows)) = super::autoscaled::cells(report) {
        page.paragraph(&title);
        let rows = rows.into_iter().map(|row| row.into_iter().map(|text| (text, false)).collect()).collect();
        page.table(&header, &html_rows(rows));
    }
    let (notes, labelled) = notes(report);
    let mut items = vec![notes];
    items.extend(labelled.into_iter().map(|(l, t)| format!("{l}: {t}")));
    page.list(&items, false);
    page.paragraph(
        "Every candidate count simulated, with its figures, is in plan_candidates.csv; the answers in plan.csv.",
    );
    if let Some(png) = chart {
        page.section("Chart");
        page.figure(PlanChart.file_name(), png);
    }
    page.finish()
}

impl Exporter<PlanReport> for PlanHtml {
    fn file_name(&self) -> &'static str {
        html::FILE
    }

    /// Draws plan.png itself; [`write_outputs`](crate::report::write_outputs) composes the
    /// page from the chart it drew instead.
    fn render(&self, report: &PlanReport) -> Result<Vec<u8>> {
        let chart = if PlanChart.wanted(report) { Some(PlanChart.render(report)?) } else { None };
        Ok(page(report, chart.as_deref()))
    }

    fn composes(&self) -> bool {
        true
    }

    fn compose(&self, report: &PlanReport, files: &[(&str, Vec<u8>)]) -> Result<Vec<u8>> {
        let chart = files.iter().find(|(n, _)| *n == PlanChart.file_name()).map(|(_, b)| b.as_slice());
        Ok(page(report, chart))
    }
}

/// A plan table's cells for the page: the first column text, a best cell marked, a "not
/// met" cell bad, the rest numbers.
fn html_rows(rows: Vec<Vec<(String, bool)>>) -> Vec<Vec<Cell>> {
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                .enumerate()
                .map(|(i, (text, best))| {
                    let kind = match (i, best) {
                        (0, _) => CellKind::Text,
                        (_, true) => CellKind::Best,
                        _ if text == "not met" => CellKind::Bad,
                        _ => CellKind::Number,
                    };
                    Cell::of(text, kind)
                })
                .collect()
        })
        .collect()
}
