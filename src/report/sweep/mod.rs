//! The report of a sweep: the terminal table and the charts ([`charts`]), rendered from
//! the typed points a sweep hands over ([`SweepView`]). Reading and writing `sweep.csv` is
//! the sweep's storage ([`crate::sweep::table`]).

pub mod charts;

use comfy_table::{Cell, CellAlignment};

use super::{Warning, table};

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
}

/// A varied key.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Its column in sweep.csv (durations as `KEY_ms`).
    pub column: String,
    /// Whether its values are log-spaced (charts use a log axis).
    pub log: bool,
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

/// The terminal summary: p99 (ms, ± 95% half-width) per point and strategy, best per row
/// marked (never an unstable cell), points at or beyond capacity flagged, and cells of
/// strategies unstable at a point below capacity flagged. A closed loop cannot be
/// overloaded: its table shows the throughput its clients achieved instead of ρ.
pub fn render(view: &SweepView, color: bool) -> String {
    let points = &view.points;
    let labels = series_labels(points);
    let mut table = table::new(color);
    let mut header: Vec<Cell> = view.axes.iter().map(|a| Cell::new(&a.column)).collect();
    header.push(Cell::new(if view.closed { "req/s achieved" } else { "ρ" }));
    header.extend(labels.iter().map(Cell::new));
    table.set_header(header);
    let mut unstable = false;
    let mut unstable_cells = false;
    for p in points {
        let mut row: Vec<Cell> = p.values.iter().map(|v| Cell::new(v).set_alignment(CellAlignment::Right)).collect();
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
        row.push(Cell::new(load).set_alignment(CellAlignment::Right));
        let best =
            p.strategies.iter().filter(|s| !s.unstable).map(|s| s.p99.0).filter(|v| v.is_finite()).reduce(f64::min);
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
            row.push(Cell::new(text).set_alignment(CellAlignment::Right));
        }
        table.add_row(row);
    }
    let mut out = format!(
        "{}: sweep of {} point(s) × {} strateg{} — p99 response time (ms)\n",
        view.scenario,
        points.len(),
        labels.len(),
        if labels.len() == 1 { "y" } else { "ies" }
    );
    out.push_str(&table.to_string());
    out.push('\n');
    let mut notes = vec!["* lowest p99 of the point".to_string()];
    if points.iter().any(|p| p.replications > 1) {
        notes.push("± = 95% confidence half-width over replications".into());
    }
    out.push_str(&notes.join("; "));
    out.push('\n');
    if unstable {
        out.push_str(&format!("warning: {}\n", Warning::UnstablePoints));
    }
    if unstable_cells {
        out.push_str(&format!("warning: {}\n", Warning::UnstableCells));
    }
    if view.closed {
        out.push_str(&format!("note: {}\n", Warning::ClosedLoopSweep));
    }
    out
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
            axes: vec![Axis { column: "arrivals.rate".into(), log: false }],
            closed: false,
            points: vec![
                point(0, 600.0, [(30.0, Some(1.0)), (20.0, Some(0.5))]),
                point(1, 1200.0, [(900.0, None), (f64::NAN, None)]),
            ],
        };
        let text = render(&view, false);
        assert!(text.starts_with("web: sweep of 2 point(s) × 2 strategies — p99 response time (ms)\n"), "{text}");
        assert!(text.contains("20.000 ±0.500*"), "{text}");
        assert!(text.contains("1.200 !") && text.contains("900.000*") && text.contains("–"), "{text}");
        assert!(text.ends_with(&format!("warning: {}\n", Warning::UnstablePoints)), "{text}");
    }
}
