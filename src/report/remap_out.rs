//! The output of `lbsim remap`: the terminal table and `remap.csv`.

use super::Exporter;
use super::format::fixed;
use crate::remap::RemapReport;
use crate::{Error, Result};

/// The report as a table, with one line of explanation.
pub fn render(report: &RemapReport) -> String {
    use comfy_table::{Cell, CellAlignment};
    let pct = |x: f64| if x.is_finite() { format!("{:.2}%", 100.0 * x) } else { "–".into() };
    let ratio = |a: f64, b: f64| if a.is_finite() && b > 0.0 { format!("{:.2}×", a / b) } else { "–".into() };
    let mut t = super::table::new(false);
    t.set_header(vec![
        "strategy",
        "moved: 1 removed",
        "ideal",
        "× ideal",
        "worst removal",
        "moved: 1 added",
        "ideal",
        "× ideal",
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
    format!(
        "{}: {} servers, {} keys; fraction of keys that change server when one server is removed (mean of {} \
         removals) or `{}` is added\n{t}\n",
        report.scenario, report.servers, report.keys, report.removals, report.added
    )
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
