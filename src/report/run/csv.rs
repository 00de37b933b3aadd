//! `summary.csv` and `servers.csv`. Their leading columns are a contract with users'
//! scripts: new columns are only ever appended.

use super::Report;
use crate::report::Exporter;
use crate::report::format::{ci_ms, fixed, ms};
use crate::scenario::Scenario;
use crate::stats::{Estimate, ServerSummary, StrategySummary};
use crate::{Error, Result};

/// Leading columns of summary.csv (the contract).
pub const SUMMARY_COLUMNS: &[&str] = &[
    "strategy",
    "requests",
    "completed",
    "dropped",
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "mean_wait_ms",
    "throughput_rps",
    "utilization",
    "load_max_over_mean",
    "load_cv",
    "jain_index",
];

/// Columns appended after the contract in summary.csv.
pub const SUMMARY_EXTRA: &[&str] = &[
    "in_flight",
    "replications",
    "mean_ms_ci95",
    "p99_ms_ci95",
    "mean_in_system",
    "offered_load",
    "busiest_server_share",
    "hottest_key_share",
    "failed",
    "timed_out",
    "retried",
    "availability",
    "retry_amplification",
    "open_model_rate_rps",
    "open_model_mean_ms",
    "open_model_p99_ms",
    "balancers",
    "view",
    "view_age_ms",
    "network_ms",
    "requests_max_over_mean",
    "rho_max",
    "queue_spread",
    "queue_spread_ci95",
    "idle_while_waiting",
    "idle_while_waiting_ci95",
    "unstable",
    "p50_ms_ci95",
    "p90_ms_ci95",
    "p999_ms_ci95",
    "mean_wait_ms_ci95",
    "throughput_rps_ci95",
    "utilization_ci95",
    "rho_max_ci95",
    "load_max_over_mean_ci95",
    "load_cv_ci95",
    "jain_index_ci95",
    "busiest_server_share_ci95",
    "requests_max_over_mean_ci95",
    "hottest_key_share_ci95",
    "availability_ci95",
    "retry_amplification_ci95",
    "ci_batches",
];

/// Columns of servers.csv (the contract).
pub const SERVERS_COLUMNS: &[&str] =
    &["strategy", "server", "requests", "utilization", "mean_in_system", "max_in_system", "mean_ms", "p99_ms"];

/// Columns appended after the contract in servers.csv.
pub const SERVERS_EXTRA: &[&str] = &[
    "dropped",
    "throughput_rps",
    "failed",
    "timed_out",
    "capacity_rps",
    "offered_rps",
    "rho",
    "saturated",
    "load_rank",
    "rho_at_rank",
];

/// Columns appended to servers.csv when the strategy chooses per connection
/// (`[clients] balance = "connection"`).
pub const SERVERS_CONNECTIONS: &[&str] = &["connections_mean", "connections_max", "requests_per_connection"];

/// Columns of faults.csv (written when the scenario has `[[faults]]`).
pub const FAULTS_COLUMNS: &[&str] = &[
    "strategy",
    "replication",
    "fault",
    "server",
    "kind",
    "slowdown",
    "start_s",
    "end_s",
    "detected_s",
    "detection_delay_s",
    "detected_by",
    "refused_before_detection",
];

/// One row per strategy.
#[derive(Debug)]
pub struct SummaryCsv;
/// One row per strategy × server.
#[derive(Debug)]
pub struct ServersCsv;
/// One row per strategy × replication × fault window: when it was detected.
#[derive(Debug)]
pub struct FaultsCsv;

/// Encodes a header and rows as CSV (RFC 4180 quoting where needed).
pub fn to_bytes(header: Vec<&str>, rows: Vec<Vec<String>>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Other(format!("CSV encoding failed: {e}"));
    w.write_record(&header).map_err(err)?;
    for r in rows {
        w.write_record(&r).map_err(err)?;
    }
    w.into_inner().map_err(|e| Error::Other(format!("CSV encoding failed: {e}")))
}

/// Every column of summary.csv: the contract, then the appended columns.
pub fn summary_header() -> Vec<&'static str> {
    SUMMARY_COLUMNS.iter().chain(SUMMARY_EXTRA).copied().collect()
}

/// One strategy's row of summary.csv (also the summary part of a sweep.csv row) in scenario
/// `sc`; `rho` is the scenario's offered load.
pub fn summary_row(s: &StrategySummary, rho: f64, sc: &Scenario) -> Vec<String> {
    let b = &sc.balancers;
    let network = &sc.network;
    vec![
        s.label.clone(),
        s.measured.generated.to_string(),
        s.measured.completed.to_string(),
        s.measured.dropped.to_string(),
        ms(s.mean.value),
        ms(s.p50.value),
        ms(s.p90.value),
        ms(s.p99.value),
        ms(s.p999.value),
        ms(s.max),
        ms(s.mean_wait.value),
        fixed(s.throughput.value, 3),
        fixed(s.utilization.value, 6),
        fixed(s.load_max_over_mean.value, 6),
        fixed(s.load_cv.value, 6),
        fixed(s.jain.value, 6),
        s.measured.in_flight.to_string(),
        s.replications.to_string(),
        ci_ms(s.mean.ci95),
        ci_ms(s.p99.ci95),
        fixed(s.mean_in_system.value, 6),
        fixed(rho, 6),
        fixed(s.busiest_server_share.value, 6),
        fixed(s.hottest_key_share.value, 8),
        s.measured.failed.to_string(),
        s.measured.timed_out.to_string(),
        s.measured.retried.to_string(),
        fixed(s.availability.value, 6),
        fixed(s.retry_amplification.value, 6),
        s.open_model.map_or(String::new(), |o| fixed(o.rate.value, 3)),
        s.open_model.map_or(String::new(), |o| ms(o.mean.value)),
        s.open_model.map_or(String::new(), |o| ms(o.p99.value)),
        b.count.to_string(),
        b.view.name().to_string(),
        b.view.interval().or(b.view.delay()).map_or(String::new(), ms),
        if network.is_some() {
            ms(network.to_server.map_or(0.0, |d| d.mean()) + network.from_server.map_or(0.0, |d| d.mean()))
        } else {
            String::new()
        },
        fixed(s.requests_max_over_mean.value, 6),
        fixed(s.rho_max.value, 6),
        fixed(s.queue_spread.value, 6),
        s.queue_spread.ci95.map(|c| fixed(c, 6)).unwrap_or_default(),
        fixed(s.idle_while_waiting.value, 6),
        s.idle_while_waiting.ci95.map(|c| fixed(c, 6)).unwrap_or_default(),
        u8::from(s.is_unstable()).to_string(),
        ci_ms(s.p50.ci95),
        ci_ms(s.p90.ci95),
        ci_ms(s.p999.ci95),
        ci_ms(s.mean_wait.ci95),
        ci(s.throughput, 3),
        ci(s.utilization, 6),
        ci(s.rho_max, 6),
        ci(s.load_max_over_mean, 6),
        ci(s.load_cv, 6),
        ci(s.jain, 6),
        ci(s.busiest_server_share, 6),
        ci(s.requests_max_over_mean, 6),
        ci(s.hottest_key_share, 8),
        ci(s.availability, 6),
        ci(s.retry_amplification, 6),
        s.batch_count.map(|k| k.to_string()).unwrap_or_default(),
    ]
}

/// An estimate's 95% half-width with `digits` decimals (empty without one).
fn ci(e: Estimate, digits: usize) -> String {
    e.ci95.map(|c| fixed(c, digits)).unwrap_or_default()
}

/// Encodes a header and rows as CSV.
pub fn encode<S: AsRef<str>>(header: &[S], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    to_bytes(header.iter().map(AsRef::as_ref).collect(), rows.to_vec())
}

/// The header and rows of summary.csv (also the source of the JSON summary).
pub fn summary_table(report: &Report) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let rho = report.offered_load();
    (summary_header(), report.strategies.iter().map(|s| summary_row(s, rho, &report.scenario)).collect())
}

/// The header and rows of servers.csv.
pub fn servers_table(report: &Report) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let per_connection = per_connection(report);
    let rows = report
        .strategies
        .iter()
        .flat_map(|s| s.servers.iter().map(move |v| server_row(&s.label, v, per_connection)))
        .collect();
    (servers_header(per_connection), rows)
}

/// Whether servers.csv carries the connection columns (`[clients] balance = "connection"`).
pub fn per_connection(report: &Report) -> bool {
    report.scenario.clients.is_some_and(|c| c.per_connection())
}

/// The header of servers.csv (with the connection columns when `per_connection`).
pub fn servers_header(per_connection: bool) -> Vec<&'static str> {
    let extra: &[&str] = if per_connection { SERVERS_CONNECTIONS } else { &[] };
    SERVERS_COLUMNS.iter().chain(SERVERS_EXTRA).chain(extra).copied().collect()
}

/// The row of servers.csv of server `v` under the strategy labelled `label`.
pub fn server_row(label: &str, v: &ServerSummary, per_connection: bool) -> Vec<String> {
    let mut row = vec![
        label.to_string(),
        v.name.clone(),
        v.requests.to_string(),
        fixed(v.utilization, 6),
        fixed(v.mean_in_system, 6),
        v.max_in_system.to_string(),
        ms(v.mean_response),
        ms(v.p99_response),
        v.dropped.to_string(),
        fixed(v.throughput, 3),
        v.failed.to_string(),
        v.timed_out.to_string(),
        fixed(v.capacity_rps, 3),
        fixed(v.offered_rps, 3),
        fixed(v.rho, 6),
        u8::from(v.saturated).to_string(),
        v.load_rank.to_string(),
        fixed(v.rho_at_rank, 6),
    ];
    if per_connection {
        row.push(fixed(v.connections_mean, 6));
        row.push(v.connections_max.to_string());
        row.push(if v.requests_per_connection.is_finite() {
            fixed(v.requests_per_connection, 3)
        } else {
            String::new()
        });
    }
    row
}

impl Exporter for SummaryCsv {
    fn file_name(&self) -> &'static str {
        "summary.csv"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let (header, rows) = summary_table(report);
        to_bytes(header, rows)
    }
}

impl Exporter for ServersCsv {
    fn file_name(&self) -> &'static str {
        "servers.csv"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let (header, rows) = servers_table(report);
        to_bytes(header, rows)
    }
}

impl Exporter for FaultsCsv {
    fn file_name(&self) -> &'static str {
        "faults.csv"
    }

    fn wanted(&self, report: &Report) -> bool {
        !report.fault_windows.is_empty()
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let secs = |x: f64| fixed(x, 6);
        let mut rows = Vec::new();
        for s in &report.strategies {
            for (rep, outcomes) in s.faults.iter().enumerate() {
                for (w, o) in report.fault_windows_of(rep as u32).zip(outcomes) {
                    let slowdown = w.kind.slowdown().map_or_else(String::new, |f| fixed(f, 3));
                    rows.push(vec![
                        s.label.clone(),
                        rep.to_string(),
                        w.fault.to_string(),
                        w.server_name.clone(),
                        w.kind.name().to_string(),
                        slowdown,
                        secs(w.start),
                        w.end.map_or(String::new(), secs),
                        o.detected_at.map_or(String::new(), secs),
                        o.detected_at.map_or(String::new(), |d| secs(d - w.start)),
                        o.detected_by.unwrap_or("").to_string(),
                        o.refused_before_detection.to_string(),
                    ]);
                }
            }
        }
        to_bytes(FAULTS_COLUMNS.to_vec(), rows)
    }
}
