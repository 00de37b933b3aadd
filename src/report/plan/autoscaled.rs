//! What `lbsim plan` adds when the group it sizes has an `[autoscaler]`
//! ([`crate::plan::autoscaled`]): the fixed pool's pod-seconds (and SLO-violated time, with
//! `[slo]`) in the plan table, a table of the autoscaled pool under it, its notes, and the
//! columns of plan.csv.

use super::{measure_cell, measure_header};
use crate::plan::autoscaled::{self, AutoscaledRun};
use crate::plan::{PlanReport, StrategyPlan};
use crate::report::format::fixed;
use crate::report::plan::plan_csv::METRICS;
use crate::stats::Estimate;

/// A count of seconds with its 95% half-width: `46707 ±120`.
fn seconds(e: Estimate) -> String {
    match e.ci95 {
        Some(h) => format!("{:.0} ±{h:.0}", e.value),
        None => format!("{:.0}", e.value),
    }
}

/// The fixed pool's pod-seconds at strategy `p`'s answer.
fn fixed_cost(p: &StrategyPlan) -> Option<f64> {
    let a = p.answer()?;
    Some(autoscaled::fixed_pod_seconds(a.servers, a.summary.as_ref()?))
}

/// The plan table's extra columns (none without an autoscaler): the answer's pod-seconds,
/// and its time with the `[slo]` violated.
pub fn fixed_header(report: &PlanReport) -> Vec<String> {
    if report.autoscaled.is_none() {
        return Vec::new();
    }
    let mut h = vec!["pod-s".to_string()];
    if report.scenario.slo.is_some() {
        h.push("violated s".to_string());
    }
    h
}

/// The cells of [`fixed_header`] for strategy `p`.
pub fn fixed_cells(report: &PlanReport, p: &StrategyPlan) -> Vec<String> {
    if report.autoscaled.is_none() {
        return Vec::new();
    }
    let mut row = vec![fixed_cost(p).map_or_else(|| "–".into(), |c| format!("{c:.0}"))];
    if report.scenario.slo.is_some() {
        let v = p.answer().and_then(|a| a.summary.as_ref()).and_then(|s| s.slo_violated_s);
        row.push(v.map_or_else(|| "–".into(), seconds));
    }
    row
}

/// The autoscaled pool's table: its title, header and rows (`None` without one, or when
/// the plan was interrupted before it ran).
pub fn cells(report: &PlanReport) -> Option<(String, Vec<String>, Vec<Vec<String>>)> {
    let auto = report.autoscaled.as_ref()?;
    if auto.strategies.is_empty() {
        return None;
    }
    let title = format!("The autoscaled pool as written, {}:", auto.describe());
    let mut header = vec!["strategy".to_string(), "pod-s".to_string(), "vs fixed".to_string()];
    header.extend(report.slos.iter().filter(|s| autoscaled::judges(s)).map(measure_header));
    header.push("SLO".to_string());
    if report.scenario.slo.is_some() {
        header.push("violated s".to_string());
    }
    let rows = report
        .strategies
        .iter()
        .zip(&auto.strategies)
        .map(|(p, a)| {
            let cost = a.summary.pod_seconds;
            let vs = match (cost, fixed_cost(p)) {
                (Some(c), Some(f)) if f > 0.0 => format!("{:+.1}%", 100.0 * (c.value / f - 1.0)),
                _ => "–".into(),
            };
            let mut row = vec![p.label.clone(), cost.map_or_else(|| "–".into(), seconds), vs];
            for (k, s) in report.slos.iter().enumerate().filter(|(_, s)| autoscaled::judges(s)) {
                row.push(measure_cell(s, a.measures.get(k)));
            }
            row.push(if a.met { "met" } else { "not met" }.into());
            if report.scenario.slo.is_some() {
                row.push(a.summary.slo_violated_s.map_or_else(|| "–".into(), seconds));
            }
            row
        })
        .collect();
    Some((title, header, rows))
}

/// The notes on the comparison (none without an autoscaler).
pub fn notes(report: &PlanReport) -> Vec<String> {
    let Some(auto) = &report.autoscaled else { return Vec::new() };
    let mut notes = vec![format!(
        "pod-s = pod-seconds, ∫ pods dt over the whole run, mean over replications (the cost): a fixed pool's servers \
         × the run's length, the autoscaled pool's summary.csv `pod_seconds`; vs fixed = the autoscaled pool's cost \
         against the fixed pool's at its answer; SLO = the autoscaled pool judged as a candidate is (seed {})",
        auto.seed
    )];
    if report.scenario.slo.is_some() {
        notes.push("violated s = time with the scenario's [slo] violated, summary.csv `slo_violated_s`".into());
    }
    if report.slos.iter().any(|s| !autoscaled::judges(s)) {
        notes.push(
            "the utilization objective judges the fixed pools only (the autoscaled pool's is over all its places; \
             its pods' is the HPA's target)"
                .into(),
        );
    }
    notes
}

/// plan.csv's columns after its own (none without an autoscaler): the fixed answer's
/// `pod_seconds` and `slo_violated_s`, then the autoscaled pool's.
pub fn csv_columns(report: &PlanReport) -> Vec<String> {
    if report.autoscaled.is_none() {
        return Vec::new();
    }
    let mut c: Vec<String> = ["pod_seconds", "slo_violated_s", "autoscaled_met", "autoscaled_pod_seconds"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    c.push("autoscaled_pod_seconds_ci95".into());
    c.extend(METRICS.iter().flat_map(|m| m.names()).map(|n| format!("autoscaled_{n}")));
    c.extend(["autoscaled_slo_violated_s".to_string(), "autoscaled_seed".to_string()]);
    c
}

/// The cells of [`csv_columns`] for strategy `i`.
pub fn csv_cells(report: &PlanReport, i: usize) -> Vec<String> {
    let Some(auto) = &report.autoscaled else { return Vec::new() };
    let p = &report.strategies[i];
    let violated = |s: Option<Estimate>| s.map(|e| fixed(e.value, 3)).unwrap_or_default();
    let mut row = vec![
        fixed_cost(p).map(|c| fixed(c, 3)).unwrap_or_default(),
        violated(p.answer().and_then(|a| a.summary.as_ref()).and_then(|s| s.slo_violated_s)),
    ];
    let run: Option<&AutoscaledRun> = auto.strategies.get(i);
    row.push(run.map(|a| a.met.to_string()).unwrap_or_default());
    let cost = run.and_then(|a| a.summary.pod_seconds);
    row.push(cost.map(|c| fixed(c.value, 3)).unwrap_or_default());
    row.push(cost.and_then(|c| c.ci95).map(|h| fixed(h, 3)).unwrap_or_default());
    for m in METRICS {
        let e = match run {
            Some(a) if m.name == crate::report::metric::DROP_RATE.name => Some(a.drop_rate),
            Some(a) => m.estimate(&a.summary),
            None => None,
        };
        row.extend(m.cells(e));
    }
    row.push(violated(run.and_then(|a| a.summary.slo_violated_s)));
    row.push(if run.is_some() { auto.seed.to_string() } else { String::new() });
    row
}
