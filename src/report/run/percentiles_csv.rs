//! `percentiles.csv`: `strategy,percentile,response_ms`, one row per strategy × percentile of
//! [`PERCENTILES`]: the figures of [`StrategySummary::percentiles`], so the `50`, `90`, `99`
//! and `99.9` rows are exactly summary.csv's `p50_ms` … `p999_ms` — each the mean over
//! replications of the replication's percentile — and `0`/`100` the smallest and largest
//! response time of any replication; `response_ms_ci95` is its 95% half-width (over
//! replications, or from batch means within one run; empty for `0` and `100`).
//!
//! [`StrategySummary::percentiles`]: crate::stats::StrategySummary::percentiles

use super::Report;
use super::summary_csv::to_bytes;
use crate::Result;
use crate::report::Exporter;
use crate::report::format::{ci_ms, ms};

/// Columns of percentiles.csv.
pub const COLUMNS: &[&str] = &["strategy", "percentile", "response_ms", "response_ms_ci95"];

/// The percentiles written, as printed in the file and as a fraction (the summary's list).
pub const PERCENTILES: &[(&str, f64)] = crate::stats::summary::QUANTILES;

/// One row per strategy × percentile.
#[derive(Debug)]
pub struct PercentilesCsv;

impl Exporter for PercentilesCsv {
    fn file_name(&self) -> &'static str {
        "percentiles.csv"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let rows: Vec<Vec<String>> = report
            .strategies
            .iter()
            .flat_map(|s| {
                PERCENTILES
                    .iter()
                    .zip(&s.percentiles)
                    .map(|(&(name, _), e)| vec![s.label.clone(), name.to_string(), ms(e.value), ci_ms(e.ci95)])
            })
            .collect();
        to_bytes(COLUMNS.to_vec(), rows)
    }
}
