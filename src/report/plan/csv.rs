//! `plan.csv` (one row per strategy: the answer) and `plan_candidates.csv` (every count
//! the search looked at).

use super::slo_text;
use crate::Result;
use crate::plan::{Candidate, PlanReport, Verdict};
use crate::report::Exporter;
use crate::report::format::{fixed, ms};
use crate::report::run::csv::encode;
use crate::stats::Estimate;

/// The metric columns both files have, after their own leading columns: utilisation, mean,
/// p99, p99.9 and drop rate, each with its 95% confidence half-width.
pub const METRIC_COLUMNS: &[&str] = &[
    "utilization",
    "utilization_ci95",
    "mean_ms",
    "mean_ms_ci95",
    "p99_ms",
    "p99_ms_ci95",
    "p999_ms",
    "p999_ms_ci95",
    "drop_rate",
    "drop_rate_ci95",
];

/// Columns of plan.csv before the metrics.
const PLAN_LEAD: &[&str] =
    &["strategy", "group", "servers", "met", "total_servers", "cost", "arrival_rate_rps", "offered_load"];
/// Columns of plan.csv after the metrics.
const PLAN_TAIL: &[&str] = &["slo", "replications", "requests", "evaluations", "seed", "note"];
/// Columns of plan_candidates.csv before the metrics.
const CANDIDATE_LEAD: &[&str] = &["strategy", "servers", "verdict", "offered_load"];
/// Columns of plan_candidates.csv after the metrics.
const CANDIDATE_TAIL: &[&str] = &["seed", "note"];

/// Columns of plan.csv.
pub fn plan_columns() -> Vec<&'static str> {
    [PLAN_LEAD, METRIC_COLUMNS, PLAN_TAIL].concat()
}

/// Columns of plan_candidates.csv.
pub fn candidate_columns() -> Vec<&'static str> {
    [CANDIDATE_LEAD, METRIC_COLUMNS, CANDIDATE_TAIL].concat()
}

/// `plan.csv`.
#[derive(Debug)]
pub struct PlanCsv;
/// `plan_candidates.csv`.
#[derive(Debug)]
pub struct CandidatesCsv;

fn est_ms(e: Option<Estimate>) -> [String; 2] {
    match e {
        Some(e) => [ms(e.value), e.ci95.map(ms).unwrap_or_default()],
        None => [String::new(), String::new()],
    }
}

fn est(e: Option<Estimate>, digits: usize) -> [String; 2] {
    match e {
        Some(e) => [fixed(e.value, digits), e.ci95.map(|c| fixed(c, digits)).unwrap_or_default()],
        None => [String::new(), String::new()],
    }
}

/// The cells of [`METRIC_COLUMNS`].
fn metrics(c: Option<&Candidate>) -> Vec<String> {
    let s = c.and_then(|c| c.summary.as_ref());
    let mut out = Vec::new();
    out.extend(est(s.map(|s| s.utilization), 6));
    out.extend(est_ms(s.map(|s| s.mean)));
    out.extend(est_ms(s.map(|s| s.p99)));
    out.extend(est_ms(s.map(|s| s.p999)));
    out.extend(est(c.and_then(|c| c.drop_rate), 8));
    out
}

impl Exporter<PlanReport> for PlanCsv {
    fn file_name(&self) -> &'static str {
        "plan.csv"
    }

    fn render(&self, report: &PlanReport) -> Result<Vec<u8>> {
        let others = report.scenario.server_count() - report.scenario.groups[report.group_index].count;
        let sc = &report.scenario;
        let rows: Vec<Vec<String>> = report
            .strategies
            .iter()
            .map(|p| {
                let a = p.answer();
                let mut row = vec![
                    p.label.clone(),
                    report.group.clone(),
                    p.servers.map(|s| s.to_string()).unwrap_or_default(),
                    p.servers.is_some().to_string(),
                    p.servers.map(|s| (others + s as usize).to_string()).unwrap_or_default(),
                    match (report.cost, p.servers) {
                        (Some(c), Some(s)) => fixed(c * f64::from(s), 2),
                        _ => String::new(),
                    },
                    fixed(report.rate, 3),
                    a.map(|a| fixed(a.rho, 6)).unwrap_or_default(),
                ];
                row.extend(metrics(a));
                row.extend([
                    slo_text(report),
                    sc.replications.to_string(),
                    sc.requests.to_string(),
                    p.simulated().to_string(),
                    a.map(|a| a.seed.to_string()).unwrap_or_default(),
                    p.reason.clone().unwrap_or_default(),
                ]);
                row
            })
            .collect();
        encode(&plan_columns(), &rows)
    }
}

impl Exporter<PlanReport> for CandidatesCsv {
    fn file_name(&self) -> &'static str {
        "plan_candidates.csv"
    }

    fn render(&self, report: &PlanReport) -> Result<Vec<u8>> {
        let rows: Vec<Vec<String>> = report
            .strategies
            .iter()
            .flat_map(|p| {
                p.candidates.iter().map(move |c| {
                    let mut row = vec![p.label.clone(), c.servers.to_string(), c.verdict.as_str().to_string()];
                    row.push(fixed(c.rho, 6));
                    row.extend(metrics(Some(c)));
                    row.push(if c.summary.is_some() { c.seed.to_string() } else { String::new() });
                    row.push(match &c.verdict {
                        Verdict::Invalid(w) => w.clone(),
                        _ => String::new(),
                    });
                    row
                })
            })
            .collect();
        encode(&candidate_columns(), &rows)
    }
}
