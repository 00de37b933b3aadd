//! `report.html` of `lbsim sweep`: the command that runs the sweep again, its warnings, the
//! table of p99 per point and strategy (the terminal's cells), and the sweep's charts
//! embedded (see [`crate::report::html`]).

use super::charts::{MEAN_CHART, P99_CHART};
use super::{SweepView, TableCells, cells, headroom, notes};
use crate::Result;
use crate::report::Exporter;
use crate::report::html::{self, Cell, CellKind, Page};

/// The sweep's `report.html`.
#[derive(Debug)]
pub struct SweepHtml;

/// Strategies per table: more are split into several tables (as the terminal does), so
/// the page stays within 1280 px.
const PER_TABLE: usize = 6;

/// The charts the page embeds, in order.
const CHARTS: [&dyn Exporter<SweepView>; 2] = [&P99_CHART, &MEAN_CHART];

/// The page, with the charts `charts` (file name, PNG) embedded in that order.
fn page(view: &SweepView, charts: &[(&str, &[u8])]) -> Vec<u8> {
    let TableCells { lead_header, labels, rows, unstable, unstable_cells } = cells(view);
    let reps: Vec<u32> = view.points.iter().map(|p| p.replications).collect();
    let (lo, hi) = (reps.iter().min().copied().unwrap_or(0), reps.iter().max().copied().unwrap_or(0));
    let mut page = Page::new(
        &format!("{} — lbsim sweep", view.scenario),
        &format!(
            "{} point{} × {} strateg{}, varying {}; {} replication{} per point",
            view.points.len(),
            if view.points.len() == 1 { "" } else { "s" },
            labels.len(),
            if labels.len() == 1 { "y" } else { "ies" },
            view.axes.iter().map(|a| a.column.as_str()).collect::<Vec<_>>().join(" × "),
            if lo == hi { lo.to_string() } else { format!("{lo}–{hi}") },
            if hi == 1 { "" } else { "s" },
        ),
    );
    page.section("Reproduce");
    let mut command = view.command.clone();
    if let Some(slo) = &view.slo {
        command.push_str(&format!(
            " --slo {}",
            html::shell_word(&format!("{}<={}", slo.metric.name(), slo.metric.show(slo.limit)))
        ));
    }
    page.code(&command);
    page.paragraph(&format!(
        "lbsim {}; a point's seed derives from its values, so every point can be run again alone.",
        env!("CARGO_PKG_VERSION")
    ));
    let (notes, warnings) = notes(view, unstable, unstable_cells);
    if !warnings.is_empty() {
        page.section("Warnings");
        let items: Vec<String> = warnings.iter().map(|(l, t)| format!("{l}: {t}")).collect();
        page.list(&items, true);
    }
    page.section("p99 response time (ms) per point");
    let n = labels.len().max(1);
    let tables = n.div_ceil(PER_TABLE);
    for t in 0..tables {
        // The strategies spread evenly over the tables.
        let (from, to) = (t * labels.len() / tables, (t + 1) * labels.len() / tables);
        let mut header = lead_header.clone();
        header.extend(labels[from..to].iter().cloned());
        let body: Vec<Vec<Cell>> = rows
            .iter()
            .map(|(lead, cells)| {
                let mut row: Vec<Cell> = lead
                    .iter()
                    .map(|v| Cell::of(v, if v.ends_with(" !") { CellKind::Bad } else { CellKind::Number }))
                    .collect();
                row.extend(cells.iter().take(to).skip(from).map(|c| {
                    let kind = if c.ends_with('*') {
                        CellKind::Best
                    } else if c.ends_with(" !") {
                        CellKind::Bad
                    } else {
                        CellKind::Number
                    };
                    Cell::of(c, kind)
                }));
                row
            })
            .collect();
        page.table(&header, &body);
    }
    page.list(&notes, false);
    page.paragraph("Every figure of every point and strategy is in sweep.csv (summary.csv's columns).");
    if let Some(slo) = &view.slo {
        page.section(&format!("Headroom at {slo}"));
        let found = headroom::headroom(view, slo);
        let multi = found.iter().any(|h| !h.panel.is_empty());
        let mut header = vec!["strategy".to_string()];
        if multi {
            header.push("other keys".to_string());
        }
        header.push("headroom".to_string());
        let rows: Vec<Vec<Cell>> = found
            .iter()
            .map(|h| {
                let mut row = vec![Cell::text(&h.label)];
                if multi {
                    row.push(Cell::text(h.panel.join(", ")));
                }
                let kind = if matches!(h.verdict, headroom::Verdict::NeverMet { .. }) {
                    CellKind::Bad
                } else {
                    CellKind::Text
                };
                row.push(Cell::of(headroom::describe(h, &view.axes[0].column), kind));
                row
            })
            .collect();
        page.table(&header, &rows);
        page.paragraph(&format!("How: {}. The same figures are in headroom.csv.", headroom::METHOD));
    }
    page.section("Charts");
    if charts.is_empty() {
        page.paragraph("No charts.");
    }
    for (name, png) in charts {
        page.figure(name, png);
    }
    page.finish()
}

impl Exporter<SweepView> for SweepHtml {
    fn file_name(&self) -> &'static str {
        html::FILE
    }

    /// Draws the charts itself; [`write_outputs`](crate::report::write_outputs) composes
    /// the page from the charts it drew instead.
    fn render(&self, view: &SweepView) -> Result<Vec<u8>> {
        let charts: Vec<(&str, Vec<u8>)> = CHARTS
            .iter()
            .filter(|e| e.wanted(view))
            .map(|e| Ok((e.file_name(), e.render(view)?)))
            .collect::<Result<_>>()?;
        let charts: Vec<(&str, &[u8])> = charts.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        Ok(page(view, &charts))
    }

    fn composes(&self) -> bool {
        true
    }

    fn compose(&self, view: &SweepView, files: &[(&str, Vec<u8>)]) -> Result<Vec<u8>> {
        let charts: Vec<(&str, &[u8])> = CHARTS
            .iter()
            .filter_map(|e| files.iter().find(|(n, _)| *n == e.file_name()).map(|(n, b)| (*n, b.as_slice())))
            .collect();
        Ok(page(view, &charts))
    }
}
