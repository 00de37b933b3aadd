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
/// marked, points at or beyond capacity flagged.
pub fn render(view: &SweepView, color: bool) -> String {
    let points = &view.points;
    let labels = series_labels(points);
    let mut table = table::new(color);
    let mut header: Vec<Cell> = view.axes.iter().map(|a| Cell::new(&a.column)).collect();
    header.push(Cell::new("ρ"));
    header.extend(labels.iter().map(Cell::new));
    table.set_header(header);
    let mut unstable = false;
    for p in points {
        let mut row: Vec<Cell> = p.values.iter().map(|v| Cell::new(v).set_alignment(CellAlignment::Right)).collect();
        let flag = if p.rho >= 1.0 {
            unstable = true;
            " !"
        } else {
            ""
        };
        row.push(Cell::new(format!("{:.3}{flag}", p.rho)).set_alignment(CellAlignment::Right));
        let best = p.strategies.iter().map(|s| s.p99.0).filter(|v| v.is_finite()).reduce(f64::min);
        for s in &p.strategies {
            let (v, ci) = s.p99;
            let mut text = if v.is_finite() { format!("{v:.3}") } else { "–".into() };
            if let Some(ci) = ci {
                text.push_str(&format!(" ±{ci:.3}"));
            }
            if labels.len() > 1 && Some(v) == best {
                text.push('*');
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
                .map(|(l, p)| StrategyCells { label: l.to_string(), mean: p, p99: p })
                .collect(),
        }
    }

    #[test]
    fn table_marks_the_best_p99_and_the_unstable_points() {
        let view = SweepView {
            scenario: "web".into(),
            axes: vec![Axis { column: "arrivals.rate".into(), log: false }],
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
