//! The report of a sweep: the terminal table and the charts ([`charts`]), rendered from
//! the typed points a sweep hands over ([`SweepView`]). Reading and writing `sweep.csv` is
//! the sweep's storage ([`crate::sweep::sweep_csv`]).

pub mod charts;
pub mod headroom;
pub mod headroom_csv;
pub mod html;

use comfy_table::{Cell, CellAlignment};

use super::format::TABLE_WIDTH;
use super::{Warning, format, table};
use crate::plan::slo::Slo;

/// A finished sweep, as its table and charts show it.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepView {
    /// Scenario name.
    pub scenario: String,
    /// The varied keys, outermost first (the first is the charts' x axis).
    pub axes: Vec<Axis>,
    /// The points, in point order.
    pub points: Vec<PointRow>,
    /// Whether the scenario is a closed loop (its clients wait: it cannot be overloaded,
    /// so the table shows the throughput they achieved instead of ρ).
    pub closed: bool,
    /// The command that runs the sweep again (report.html shows it).
    pub command: String,
    /// The objective whose headroom is reported (`--slo`), if any: p99 or mean
    /// ([`headroom::supported`]).
    pub slo: Option<Slo>,
}

/// A varied key.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Its column in sweep.csv (durations as `KEY_ms`).
    pub column: String,
    /// Whether its values are log-spaced (charts use a log axis).
    pub log: bool,
    /// Its values when they are names (`balancers.subset.kind`), in the order given: the
    /// charts draw them at 1, 2, …; `None` for numbers.
    pub names: Option<Vec<String>>,
}

/// One strategy at one point, as charts and tables use it (times in ms).
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyCells {
    /// Label.
    pub label: String,
    /// Mean response, ms, and its 95% half-width.
    pub mean: (f64, Option<f64>),
    /// p99 response, ms, and its 95% half-width.
    pub p99: (f64, Option<f64>),
    /// Completions per second (NaN when the CSV predates the column).
    pub throughput: f64,
    /// Whether its queues grow without bound at this point (`unstable` column).
    pub unstable: bool,
}

/// One point of a sweep table.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRow {
    /// Point index.
    pub point: usize,
    /// Cells of the varied keys, as in the CSV.
    pub values: Vec<String>,
    /// Offered load.
    pub rho: f64,
    /// Arrival rate, req/s.
    pub rate: f64,
    /// Capacity, req/s.
    pub capacity: f64,
    /// Replications behind each estimate.
    pub replications: u32,
    /// Per strategy, in the scenario's order.
    pub strategies: Vec<StrategyCells>,
}

/// The legend label of each strategy position: its label, or `name(…)` when a varied
/// parameter changes the label from point to point.
pub fn series_labels(points: &[PointRow]) -> Vec<String> {
    let n = points.iter().map(|p| p.strategies.len()).max().unwrap_or(0);
    (0..n)
        .map(|k| {
            let mut labels = points.iter().filter_map(|p| p.strategies.get(k)).map(|s| s.label.as_str());
            let first = labels.next().unwrap_or("");
            if labels.all(|l| l == first) {
                first.to_string()
            } else {
                format!("{}(…)", first.split('(').next().unwrap_or(first))
            }
        })
        .collect()
}

/// The sweep table's cells: the point's column titles, the strategies' labels, per point
/// its cells (varied values and ρ or the throughput achieved) and one cell per strategy
/// (p99 ms ± half-width, `*` best of the point, ` !` unstable below capacity), whether some
/// point is at or beyond capacity and whether some cell is unstable below it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableCells {
    /// The point's column titles.
    pub lead_header: Vec<String>,
    /// The strategies' labels ([`series_labels`]).
    pub labels: Vec<String>,
    /// Per point: its own cells, then one per strategy.
    pub rows: Vec<(Vec<String>, Vec<String>)>,
    /// Whether some point is at or beyond capacity.
    pub unstable: bool,
    /// Whether some strategy is unstable at a point below capacity.
    pub unstable_cells: bool,
}

/// The cells of the sweep table (see [`render`]).
pub fn cells(view: &SweepView) -> TableCells {
    let points = &view.points;
    let labels = series_labels(points);
    let mut lead_header: Vec<String> = view.axes.iter().map(|a| a.column.clone()).collect();
    lead_header.push(if view.closed { "req/s achieved" } else { "ρ" }.to_string());
    let mut unstable = false;
    let mut unstable_cells = false;
    // Per point: the point's cells, then one cell per strategy.
    let mut rows: Vec<(Vec<String>, Vec<String>)> = Vec::with_capacity(points.len());
    for p in points {
        let mut lead = p.values.clone();
        let over = !view.closed && p.rho >= 1.0;
        let load = if view.closed {
            let rates = p.strategies.iter().map(|s| s.throughput).filter(|v| v.is_finite());
            let (lo, hi) = rates.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
            if lo > hi {
                "–".to_string()
            } else if format!("{lo:.1}") == format!("{hi:.1}") {
                format!("{lo:.1}")
            } else {
                format!("{lo:.1}–{hi:.1}")
            }
        } else {
            format!("{:.3}{}", p.rho, if over { " !" } else { "" })
        };
        unstable |= over;
        lead.push(load);
        let best =
            p.strategies.iter().filter(|s| !s.unstable).map(|s| s.p99.0).filter(|v| v.is_finite()).reduce(f64::min);
        let mut cells = Vec::with_capacity(p.strategies.len());
        for s in &p.strategies {
            let (v, ci) = s.p99;
            let mut text = if v.is_finite() { format!("{v:.3}") } else { "–".into() };
            if let Some(ci) = ci {
                text.push_str(&format!(" ±{ci:.3}"));
            }
            if labels.len() > 1 && !s.unstable && Some(v) == best {
                text.push('*');
            }
            if s.unstable && !over {
                text.push_str(" !");
                unstable_cells = true;
            }
            cells.push(text);
        }
        rows.push((lead, cells));
    }
    TableCells { lead_header, labels, rows, unstable, unstable_cells }
}

/// The terminal summary: p99 (ms, ± 95% half-width) per point and strategy, best per row
/// marked (never an unstable cell), points at or beyond capacity flagged, and cells of
/// strategies unstable at a point below capacity flagged. A closed loop cannot be
/// overloaded: its table shows the throughput its clients achieved instead of ρ. When the
/// strategies do not fit a [`TABLE_WIDTH`]-column terminal, they are shown in several
/// tables, one under the other, each repeating the point's columns.
pub fn render(view: &SweepView, color: bool) -> String {
    let points = &view.points;
    let TableCells { lead_header, labels, rows, unstable, unstable_cells } = cells(view);
    // The table of strategies `from..to`.
    let block = |from: usize, to: usize, color: bool| -> String {
        let mut table = table::new(color);
        let mut header: Vec<Cell> = lead_header.iter().map(Cell::new).collect();
        header.extend(labels[from..to].iter().map(Cell::new));
        table.set_header(header);
        for (lead, cells) in &rows {
            let mut row: Vec<Cell> = lead.iter().map(|v| Cell::new(v).set_alignment(CellAlignment::Right)).collect();
            row.extend(cells.iter().take(to).skip(from).map(|v| Cell::new(v).set_alignment(CellAlignment::Right)));
            table.add_row(row);
        }
        table.to_string()
    };
    let fits = |from: usize, to: usize| format::width(&block(from, to, false)) <= TABLE_WIDTH;
    // As many strategies per table as fit (at least one), then the same number of tables
    // with the strategies spread evenly, if those fit too.
    let n = labels.len();
    let mut cuts = vec![0];
    while cuts.last().copied().unwrap_or(0) < n {
        let from = cuts.last().copied().unwrap_or(0);
        let mut to = from + 1;
        while to < n && fits(from, to + 1) {
            to += 1;
        }
        cuts.push(to);
    }
    let k = cuts.len().saturating_sub(1).max(1);
    let even: Vec<usize> = (0..=k).map(|j| j * n / k).collect();
    if even.windows(2).all(|w| fits(w[0], w[1])) {
        cuts = even;
    }
    let tables: Vec<String> = cuts.windows(2).map(|w| block(w[0], w[1], color)).collect();
    let tables = if tables.is_empty() { vec![block(0, 0, color)] } else { tables };
    let mut out = format!(
        "{}: sweep of {} point(s) × {} strateg{} — p99 response time (ms)\n",
        view.scenario,
        points.len(),
        labels.len(),
        if labels.len() == 1 { "y" } else { "ies" }
    );
    out.push_str(&tables.join("\n"));
    out.push('\n');
    let (notes, warnings) = notes(view, unstable, unstable_cells);
    out.push_str(&format::to_width(&notes.join("; ")));
    if let Some(slo) = &view.slo {
        out.push_str(&format::to_width(&format!("headroom at {slo} ({}):", headroom::METHOD)));
        let found = headroom::headroom(view, slo);
        let width = found.iter().map(|h| h.label.chars().count()).max().unwrap_or(0);
        for h in &found {
            let mut lead = format!("  {:width$}  ", h.label);
            if !h.panel.is_empty() {
                lead = format!("  {} {:width$}  ", h.panel.join(", "), h.label);
            }
            let text = headroom::describe(h, &view.axes[0].column);
            let indent = lead.chars().count();
            if indent <= TABLE_WIDTH / 2 {
                out.push_str(&format::hanging(&lead, &text, indent));
            } else {
                out.push_str(&format::terminal_line(lead.trim_end()));
                out.push_str(&format::hanging("    ", &text, 4));
            }
        }
    }
    for (label, text) in warnings {
        out.push_str(&format::labelled(label, &text));
    }
    out
}

/// The notes under the sweep table, and its warnings (label `warning` or `note`, text).
pub fn notes(view: &SweepView, unstable: bool, unstable_cells: bool) -> (Vec<String>, Vec<(&'static str, String)>) {
    let mut notes = vec!["* lowest p99 of the point".to_string()];
    if view.points.iter().any(|p| p.replications > 1) {
        notes.push("± = 95% confidence half-width over replications".into());
    }
    let mut warnings = Vec::new();
    if unstable {
        warnings.push(("warning", Warning::UnstablePoints.to_string()));
    }
    if unstable_cells {
        warnings.push(("warning", Warning::UnstableCells.to_string()));
    }
    if view.closed {
        warnings.push(("note", Warning::ClosedLoopSweep.to_string()));
    }
    (notes, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(point: usize, rate: f64, p99: [(f64, Option<f64>); 2]) -> PointRow {
        PointRow {
            point,
            values: vec![rate.to_string()],
            rho: rate / 1000.0,
            rate,
            capacity: 1000.0,
            replications: 2,
            strategies: ["random", "p2c"]
                .iter()
                .zip(p99)
                .map(|(l, p)| StrategyCells {
                    label: l.to_string(),
                    mean: p,
                    p99: p,
                    throughput: f64::NAN,
                    unstable: false,
                })
                .collect(),
        }
    }

    #[test]
    fn table_marks_the_best_p99_and_the_unstable_points() {
        let view = SweepView {
            scenario: "web".into(),
            axes: vec![Axis { column: "arrivals.rate".into(), log: false, names: None }],
            closed: false,
            command: String::new(),
            slo: None,
            points: vec![
                point(0, 600.0, [(30.0, Some(1.0)), (20.0, Some(0.5))]),
                point(1, 1200.0, [(900.0, None), (f64::NAN, None)]),
            ],
        };
        let text = render(&view, false);
        assert!(text.starts_with("web: sweep of 2 point(s) × 2 strategies — p99 response time (ms)\n"), "{text}");
        assert!(text.contains("20.000 ±0.500*"), "{text}");
        assert!(text.contains("1.200 !") && text.contains("900.000*") && text.contains("–"), "{text}");
        assert!(text.ends_with(&format::labelled("warning", &Warning::UnstablePoints.to_string())), "{text}");
    }

    /// Eleven long labels do not fit 120 columns: several tables, each within the width,
    /// each strategy in exactly one, the point's columns in every one, the best still marked.
    #[test]
    fn many_strategies_are_split_into_tables_that_fit() {
        let labels: Vec<String> = (0..11).map(|i| format!("weighted-least-connections-{i}")).collect();
        let row = |point: usize, rate: f64| PointRow {
            point,
            values: vec![rate.to_string()],
            rho: rate / 1000.0,
            rate,
            capacity: 1000.0,
            replications: 1,
            strategies: labels
                .iter()
                .enumerate()
                .map(|(i, l)| StrategyCells {
                    label: l.clone(),
                    mean: (10.0 + i as f64, None),
                    p99: (100.0 - i as f64, None),
                    throughput: f64::NAN,
                    unstable: false,
                })
                .collect(),
        };
        let view = SweepView {
            scenario: "web".into(),
            axes: vec![Axis { column: "arrivals.rate".into(), log: false, names: None }],
            closed: false,
            command: String::new(),
            slo: None,
            points: vec![row(0, 600.0), row(1, 900.0)],
        };
        let text = render(&view, false);
        assert!(text.lines().all(|l| l.chars().count() <= TABLE_WIDTH), "{text}");
        let tables = text.matches("arrivals.rate").count();
        assert!(tables > 1, "{text}");
        for l in &labels {
            assert_eq!(text.matches(&format!(" {l} ")).count(), 1, "{l}: {text}");
        }
        assert_eq!(text.matches("90.000*").count(), 2, "{text}");
    }
}
