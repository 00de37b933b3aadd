//! `percentiles.csv`: `strategy,percentile,response_ms`, one row per strategy × percentile of
//! [`PERCENTILES`], from the response-time histogram merged over replications.

use super::Report;
use super::csv::to_bytes;
use crate::Result;
use crate::report::Exporter;
use crate::report::format::ms;

/// Columns of percentiles.csv.
pub const COLUMNS: &[&str] = &["strategy", "percentile", "response_ms"];

/// The percentiles written, as printed in the file and as a fraction. 0 is the smallest
/// response time, 100 the largest.
pub const PERCENTILES: &[(&str, f64)] = &[
    ("0", 0.0),
    ("1", 0.01),
    ("5", 0.05),
    ("10", 0.10),
    ("25", 0.25),
    ("50", 0.50),
    ("75", 0.75),
    ("90", 0.90),
    ("95", 0.95),
    ("99", 0.99),
    ("99.5", 0.995),
    ("99.9", 0.999),
    ("99.99", 0.9999),
    ("100", 1.0),
];

/// One row per strategy × percentile.
#[derive(Debug)]
pub struct PercentilesCsv;

impl Exporter for PercentilesCsv {
    fn file_name(&self) -> &'static str {
        "percentiles.csv"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let rows = report
            .strategies
            .iter()
            .flat_map(|s| {
                PERCENTILES.iter().map(|&(name, q)| vec![s.label.clone(), name.to_string(), ms(s.response.quantile(q))])
            })
            .collect();
        to_bytes(COLUMNS.to_vec(), rows)
    }
}
