//! `plan.csv` (one row per strategy: the answer) and `plan_candidates.csv` (every count
//! the search looked at).

use super::slo_text;
use crate::Result;
use crate::plan::{Candidate, PlanReport, Verdict};
use crate::report::Exporter;
use crate::report::format::fixed;
use crate::report::metric::{DROP_RATE, MEAN, Metric, OFFERED_LOAD, P99, P999, REPLICATIONS, STRATEGY, UTILIZATION};
use crate::report::run::summary_csv::encode;

/// The metrics both files have, after their own leading columns: utilisation, mean, p99,
/// p99.9 and drop rate, each with its 95% confidence half-width.
pub const METRICS: [&Metric; 5] = [&UTILIZATION, &MEAN, &P99, &P999, &DROP_RATE];

/// The columns of [`METRICS`].
pub fn metric_columns() -> Vec<String> {
    METRICS.iter().flat_map(|m| m.names()).collect()
}

/// Columns of plan.csv before the metrics.
const PLAN_LEAD: &[&str] =
    &[STRATEGY.name, "group", "servers", "met", "total_servers", "cost", "arrival_rate_rps", OFFERED_LOAD.name];
/// Columns of plan.csv after the metrics.
const PLAN_TAIL: &[&str] = &["slo", REPLICATIONS.name, "requests", "evaluations", "seed", "note"];
/// Columns of plan_candidates.csv before the metrics.
const CANDIDATE_LEAD: &[&str] = &[STRATEGY.name, "servers", "verdict", OFFERED_LOAD.name];
/// Columns of plan_candidates.csv after the metrics.
const CANDIDATE_TAIL: &[&str] = &["seed", "note"];

/// Columns of plan.csv.
pub fn plan_columns() -> Vec<String> {
    columns(PLAN_LEAD, PLAN_TAIL)
}

/// Columns of plan_candidates.csv.
pub fn candidate_columns() -> Vec<String> {
    columns(CANDIDATE_LEAD, CANDIDATE_TAIL)
}

/// Columns of plan_candidates.csv for `report`: with a precision, each candidate's
/// `requests` (per replication, as judged) appended.
pub fn candidate_columns_for(report: &PlanReport) -> Vec<String> {
    let mut c = candidate_columns();
    if report.precision.is_some() {
        c.push("requests".to_string());
    }
    c
}

/// `lead`, the metric columns, then `tail`.
fn columns(lead: &[&str], tail: &[&str]) -> Vec<String> {
    let text = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    [text(lead), metric_columns(), text(tail)].concat()
}

/// `plan.csv`.
#[derive(Debug)]
pub struct PlanCsv;
/// `plan_candidates.csv`.
#[derive(Debug)]
pub struct CandidatesCsv;

/// The cells of [`METRICS`].
fn metrics(c: Option<&Candidate>) -> Vec<String> {
    let s = c.and_then(|c| c.summary.as_ref());
    let mut out = Vec::new();
    for m in METRICS {
        // The drop rate is the candidate's; the others are figures of its summary.
        let e = if m.name == DROP_RATE.name { c.and_then(|c| c.drop_rate) } else { s.and_then(|s| m.estimate(s)) };
        out.extend(m.cells(e));
    }
    out
}

impl Exporter<PlanReport> for PlanCsv {
    fn file_name(&self) -> &'static str {
        "plan.csv"
    }

    fn render(&self, report: &PlanReport) -> Result<Vec<u8>> {
        let mut columns = plan_columns();
        columns.extend(super::autoscaled::csv_columns(report));
        encode(&columns, &plan_rows(report))
    }
}

/// The rows of plan.csv for `report`: one per strategy (with an autoscaler, its columns
/// appended: [`super::autoscaled::csv_columns`]).
pub fn plan_rows(report: &PlanReport) -> Vec<Vec<String>> {
    let others = report.scenario.server_count() - report.scenario.groups[report.group_index].count;
    let sc = &report.scenario;
    report
        .strategies
        .iter()
        .enumerate()
        .map(|(i, p)| {
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
                match (&report.precision, a) {
                    (Some(_), Some(a)) => a.requests,
                    _ => sc.requests,
                }
                .to_string(),
                p.simulated().to_string(),
                a.map(|a| a.seed.to_string()).unwrap_or_default(),
                p.reason.clone().unwrap_or_default(),
            ]);
            row.extend(super::autoscaled::csv_cells(report, i));
            row
        })
        .collect()
}

impl Exporter<PlanReport> for CandidatesCsv {
    fn file_name(&self) -> &'static str {
        "plan_candidates.csv"
    }

    fn render(&self, report: &PlanReport) -> Result<Vec<u8>> {
        encode(&candidate_columns_for(report), &candidate_rows(report))
    }
}

/// The rows of plan_candidates.csv for `report`: one per strategy and count looked at.
pub fn candidate_rows(report: &PlanReport) -> Vec<Vec<String>> {
    report
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
                    _ => c.uncertain.clone().unwrap_or_default(),
                });
                if report.precision.is_some() {
                    row.push(if c.summary.is_some() { c.requests.to_string() } else { String::new() });
                }
                row
            })
        })
        .collect()
}
