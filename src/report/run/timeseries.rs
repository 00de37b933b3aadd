//! `timeseries.csv`: number in system over simulated time, from the engine's sampler
//! ([`crate::stats::Timeline`]), first replication.
//!
//! Columns: `strategy,time_s,server,in_system,completed`, then appended
//! `mean_in_system,mean_in_system_min,mean_in_system_max`. `in_system` is the number of
//! requests at the server (waiting and in service) at the instant `time_s`; `completed`
//! counts the requests that finished there during the sampling interval ending at `time_s`
//! (so `completed / interval` is its throughput); `mean_in_system` is the exact time-average
//! of the number in system over that interval (what the chart draws: it cannot alias with a
//! periodic workload and misses no burst).
//!
//! Pools of up to [`DETAIL_MAX_SERVERS`] servers get one row per server and sample (and
//! `mean_in_system_min = mean_in_system_max = mean_in_system`). Larger pools get one row per
//! sample with `server = all`: `in_system`, `completed` and `mean_in_system` are pool totals,
//! and `mean_in_system_min` / `mean_in_system_max` the least and most loaded server's
//! interval average.
//!
//! With a pod group (`[autoscaler]` or a rolling deploy) two columns are appended: `pods`
//! and `ready_pods`, the group's pods (created and not gone) and ready pods (ready and not
//! terminating) at the instant `time_s`: pods.csv's step functions of the same replication.

use super::Report;
use super::summary_csv::to_bytes;
use crate::Result;
use crate::report::Exporter;
use crate::report::format::fixed;
pub use crate::stats::timeline::DETAIL_MAX_SERVERS;

/// Columns of timeseries.csv (the first five are the contract; later ones are appended).
pub const COLUMNS: &[&str] = &[
    "strategy",
    "time_s",
    "server",
    "in_system",
    "completed",
    "mean_in_system",
    "mean_in_system_min",
    "mean_in_system_max",
];

/// The `server` value of a whole-pool row.
pub const ALL_SERVERS: &str = "all";

/// One row per strategy × sample × server (or × sample for large pools).
#[derive(Debug)]
pub struct TimeseriesCsv;

/// Simulated time for the file: rounded to the nanosecond, shortest decimal form.
pub fn time_text(t: f64) -> String {
    format!("{}", (t * 1e9).round() / 1e9)
}

impl Exporter for TimeseriesCsv {
    fn file_name(&self) -> &'static str {
        "timeseries.csv"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        // Rows are made as they are written (a pool of 100 servers sampled 1,000 times for 5
        // strategies is 500,000 rows: collected first, they held 240 MB; issue 29).
        let names: Vec<&str> = report.scenario.servers.iter().map(|s| s.name.as_str()).collect();
        let names = &names;
        let with_pods = report.scenario.pod_group.is_some();
        let rows = report.strategies.iter().flat_map(move |s| {
            let t = &s.timeline;
            let steps = s.pods.first().map_or(&[][..], |p| p.timeline.as_slice());
            (0..t.len()).flat_map(move |k| {
                let time = time_text(t.time(k));
                // The pod step in force at the instant: the last change at or before it.
                let pods = with_pods.then(|| {
                    let at = steps.partition_point(|c| c.time <= t.time(k));
                    let (pods, ready) = at.checked_sub(1).map_or((0, 0), |i| (steps[i].pods, steps[i].ready));
                    [pods.to_string(), ready.to_string()]
                });
                let detail = if t.has_detail() { names.len() } else { 0 };
                let pool = (!t.has_detail()).then(|| {
                    let p = t.pool(k);
                    vec![
                        s.label.clone(),
                        time.clone(),
                        ALL_SERVERS.to_string(),
                        p.in_system.to_string(),
                        p.completed.to_string(),
                        fixed(p.mean * t.servers() as f64, 4),
                        fixed(p.min, 4),
                        fixed(p.max, 4),
                    ]
                });
                (0..detail)
                    .map(move |i| {
                        let v = t.server(k, i).expect("per-server detail");
                        let mean = fixed(v.mean, 4);
                        vec![
                            s.label.clone(),
                            time.clone(),
                            names[i].to_string(),
                            v.in_system.to_string(),
                            v.completed.to_string(),
                            mean.clone(),
                            mean.clone(),
                            mean,
                        ]
                    })
                    .chain(pool)
                    .map(move |mut row| {
                        row.extend(pods.iter().flatten().cloned());
                        row
                    })
            })
        });
        let mut columns = COLUMNS.to_vec();
        if with_pods {
            columns.extend(["pods", "ready_pods"]);
        }
        to_bytes(columns, rows)
    }
}
