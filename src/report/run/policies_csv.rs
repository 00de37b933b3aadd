//! `policies.csv`: what the balancer did besides picking — its queue (`[balancer_queue]`):
//! one row per strategy, written only when the scenario has one.

use super::Report;
use super::summary_csv::to_bytes;
use crate::Result;
use crate::report::Exporter;
use crate::report::format::{fixed, ms};

/// Columns of policies.csv.
pub const POLICIES_COLUMNS: &[&str] = &[
    "strategy",
    "queued_share",
    "mean_queue_wait_ms",
    "queue_timeouts",
    "mean_queue_length",
    "mean_queue_length_ci95",
    "max_queue_length",
];

/// `policies.csv`.
#[derive(Debug)]
pub struct PoliciesCsv;

impl Exporter for PoliciesCsv {
    fn file_name(&self) -> &'static str {
        "policies.csv"
    }

    fn wanted(&self, report: &Report) -> bool {
        report.scenario.balancer_queue.is_some()
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let rows: Vec<Vec<String>> = report
            .strategies
            .iter()
            .filter_map(|s| s.policies.as_deref().map(|p| (s, p)))
            .map(|(s, p)| {
                vec![
                    s.label.clone(),
                    fixed(p.queued_share, 6),
                    ms(p.mean_queue_wait),
                    p.queue_timeouts.to_string(),
                    fixed(p.mean_queue_length.value, 6),
                    p.mean_queue_length.ci95.map_or(String::new(), |h| fixed(h, 6)),
                    p.max_queue_length.to_string(),
                ]
            })
            .collect();
        to_bytes(POLICIES_COLUMNS.to_vec(), rows)
    }
}
