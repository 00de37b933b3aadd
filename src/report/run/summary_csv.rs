//! `summary.csv` and `servers.csv`. Their leading columns are a contract with users'
//! scripts: new columns are only ever appended.

use super::Report;
use crate::report::Exporter;
use crate::report::format::{fixed, ms};
use crate::report::metric::{
    self, DROPPED, FAILED, MEAN, MEAN_IN_SYSTEM, P99, REQUESTS, STRATEGY, THROUGHPUT, TIMED_OUT, UTILIZATION,
};
use crate::stats::ServerSummary;
use crate::{Error, Result};

/// Columns of servers.csv (the contract).
pub const SERVERS_COLUMNS: &[&str] = &[
    STRATEGY.name,
    "server",
    REQUESTS.name,
    UTILIZATION.name,
    MEAN_IN_SYSTEM.name,
    "max_in_system",
    MEAN.name,
    P99.name,
];

/// Columns appended after the contract in servers.csv.
pub const SERVERS_EXTRA: &[&str] = &[
    DROPPED.name,
    THROUGHPUT.name,
    FAILED.name,
    TIMED_OUT.name,
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

/// Column appended to servers.csv (after any connection columns) with `[balancers] subset`.
pub const SERVERS_SUBSET: &[&str] = &["subset_clients"];

/// Column appended to servers.csv (last) with `[network] to_server`.
pub const SERVERS_TRANSIT: &[&str] = &["in_transit"];

/// What servers.csv carries beyond its fixed columns.
#[derive(Debug, Clone, Default)]
pub struct ServerExtras {
    /// The connection columns (`[clients] balance = "connection"`).
    pub per_connection: bool,
    /// `[balancers] subset`: the number of balancer instances whose subset holds each
    /// server (its clients).
    pub clients: Option<Vec<u32>>,
    /// The in-transit column (`[network] to_server`).
    pub in_transit: bool,
}

/// Columns of faults.csv (written when the scenario has `[[faults]]`).
pub const FAULTS_COLUMNS: &[&str] = &[
    STRATEGY.name,
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
    "times_out",
    "rotation",
    "rho_in_window",
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
pub fn to_bytes<R, C>(header: Vec<&str>, rows: R) -> Result<Vec<u8>>
where
    R: IntoIterator<Item = Vec<C>>,
    C: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Other(format!("CSV encoding failed: {e}"));
    w.write_record(&header).map_err(err)?;
    for r in rows {
        w.write_record(&r).map_err(err)?;
    }
    w.into_inner().map_err(|e| Error::Other(format!("CSV encoding failed: {e}")))
}

/// Encodes a header and rows as CSV.
pub fn encode<S: AsRef<str>>(header: &[S], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    to_bytes(header.iter().map(AsRef::as_ref).collect(), rows.to_vec())
}

/// The header and rows of summary.csv (also the source of the JSON summary).
pub fn summary_table(report: &Report) -> (Vec<String>, Vec<Vec<String>>) {
    (metric::header(), report.strategies.iter().map(|s| metric::row(s, &report.scenario)).collect())
}

/// The header and rows of servers.csv.
pub fn servers_table(report: &Report) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let extras = server_extras(report);
    let rows = report
        .strategies
        .iter()
        .flat_map(|s| s.servers.iter().enumerate().map(|(i, v)| server_row(&s.label, i, v, &extras)))
        .collect();
    (servers_header(&extras), rows)
}

/// What servers.csv carries beyond its fixed columns in `report`.
pub fn server_extras(report: &Report) -> ServerExtras {
    let sc = &report.scenario;
    ServerExtras {
        per_connection: per_connection(report),
        clients: sc.subsets().map(|subsets| crate::workload::subsets::clients_per_server(&subsets, sc.servers.len())),
        in_transit: sc.network.to_server.is_some(),
    }
}

/// Whether servers.csv carries the connection columns (`[clients] balance = "connection"`).
pub fn per_connection(report: &Report) -> bool {
    report.scenario.clients.as_ref().is_some_and(|c| c.per_connection())
}

/// The header of servers.csv (with the connection, subset and transit columns when `extras`
/// has them).
pub fn servers_header(extras: &ServerExtras) -> Vec<&'static str> {
    let extra: &[&str] = if extras.per_connection { SERVERS_CONNECTIONS } else { &[] };
    let subset: &[&str] = if extras.clients.is_some() { SERVERS_SUBSET } else { &[] };
    let transit: &[&str] = if extras.in_transit { SERVERS_TRANSIT } else { &[] };
    SERVERS_COLUMNS.iter().chain(SERVERS_EXTRA).chain(extra).chain(subset).chain(transit).copied().collect()
}

/// The row of servers.csv of server `v` (number `index`) under the strategy labelled `label`.
pub fn server_row(label: &str, index: usize, v: &ServerSummary, extras: &ServerExtras) -> Vec<String> {
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
    if extras.per_connection {
        row.push(fixed(v.connections_mean, 6));
        row.push(v.connections_max.to_string());
        row.push(if v.requests_per_connection.is_finite() {
            fixed(v.requests_per_connection, 3)
        } else {
            String::new()
        });
    }
    if let Some(clients) = &extras.clients {
        row.push(clients[index].to_string());
    }
    if extras.in_transit {
        row.push(v.in_transit.to_string());
    }
    row
}

impl Exporter for SummaryCsv {
    fn file_name(&self) -> &'static str {
        "summary.csv"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let (header, rows) = summary_table(report);
        encode(&header, &rows)
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
                        o.removals().to_string(),
                        o.rotation
                            .iter()
                            .map(|c| format!("{} {} {}", if c.out { "out" } else { "in" }, secs(c.at), c.by))
                            .collect::<Vec<_>>()
                            .join("; "),
                        o.rho.map_or(String::new(), |r| fixed(r, 6)),
                    ]);
                }
            }
        }
        to_bytes(FAULTS_COLUMNS.to_vec(), rows)
    }
}
