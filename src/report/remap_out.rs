//! The output of `lbsim remap`: the terminal table and `remap.csv`.

use super::Exporter;
use super::charts::style::thousands;
use super::format::{TABLE_WIDTH, fixed, wrap};
use crate::remap::RemapReport;
use crate::{Error, Result};

/// The report as a table within [`TABLE_WIDTH`] columns: what it measures above it, and
/// under it how to read "moved ÷ ideal" (below 1 on adding is not better than ideal: the
/// new server takes less than its share).
pub fn render(report: &RemapReport) -> String {
    use comfy_table::{Cell, CellAlignment};
    let pct = |x: f64| if x.is_finite() { format!("{:.2}%", 100.0 * x) } else { "–".into() };
    let ratio = |a: f64, b: f64| if a.is_finite() && b > 0.0 { format!("{:.2}×", a / b) } else { "–".into() };
    let mut t = super::table::new(false);
    t.set_header(vec![
        "strategy",
        "1 removed:\nkeys moved",
        "\nideal",
        "moved\n÷ ideal",
        "worst\nremoval",
        "1 added:\nkeys moved",
        "\nideal",
        "moved\n÷ ideal",
    ]);
    for r in &report.rows {
        let mut row = vec![Cell::new(&r.label)];
        for text in [
            pct(r.removal_moved),
            pct(r.removal_ideal),
            ratio(r.removal_moved, r.removal_ideal),
            pct(r.removal_worst),
            pct(r.addition_moved),
            pct(r.addition_ideal),
            ratio(r.addition_moved, r.addition_ideal),
        ] {
            row.push(Cell::new(text).set_alignment(CellAlignment::Right));
        }
        t.add_row(row);
    }
    let head = format!(
        "{}: {} servers, {} keys; the share of keys that change server when one server is removed (mean of {} \
         removals) or `{}` is added",
        report.scenario,
        report.servers,
        thousands(report.keys),
        report.removals,
        report.added
    );
    let notes = "ideal: the least any strategy moves (the removed server's keys; the new server's fair share). \
                 moved ÷ ideal: 1.00× is ideal; above it keys move needlessly (cache misses); on adding, below \
                 1.00× the new server takes less than its fair share of the keys (an imbalance, not a saving).";
    format!("{}{t}\n{}", wrap(&head, TABLE_WIDTH), wrap(notes, TABLE_WIDTH))
}

/// `remap.csv`: one row per hash-based strategy.
#[derive(Debug)]
pub struct RemapCsv;

impl Exporter<RemapReport> for RemapCsv {
    fn file_name(&self) -> &'static str {
        "remap.csv"
    }

    fn render(&self, report: &RemapReport) -> Result<Vec<u8>> {
        to_csv(report)
    }
}

fn to_csv(report: &RemapReport) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Other(format!("CSV encoding failed: {e}"));
    w.write_record([
        "strategy",
        "servers",
        "keys",
        "removal_moved",
        "removal_ideal",
        "removal_worst",
        "addition_moved",
        "addition_ideal",
    ])
    .map_err(err)?;
    for r in &report.rows {
        w.write_record([
            r.label.clone(),
            report.servers.to_string(),
            report.keys.to_string(),
            fixed(r.removal_moved, 6),
            fixed(r.removal_ideal, 6),
            fixed(r.removal_worst, 6),
            fixed(r.addition_moved, 6),
            fixed(r.addition_ideal, 6),
        ])
        .map_err(err)?;
    }
    w.into_inner().map_err(|e| Error::Other(format!("CSV encoding failed: {e}")))
}
