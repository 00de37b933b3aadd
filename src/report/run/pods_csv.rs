//! Pod-group outputs: `pods.csv` (each run's pod counts over time, a step function: one row
//! per change; with `[autoscaler]` or a rolling deploy), `scale_events.csv` (each change of
//! the replica count the HPA decided, with why; with `[autoscaler]`) and `deploys.csv` (each
//! rolling deploy: when it ended, what it replaced, the fewest pods available and the most
//! pods during it; with a deploy).

use super::Report;
use super::summary_csv::to_bytes;
use crate::Result;
use crate::report::Exporter;
use crate::report::format::fixed;
use crate::stats::pod_counts::PodsRun;

/// `pods.csv`: strategy × replication × change of the pod counts.
#[derive(Debug)]
pub struct PodsCsv;

/// `scale_events.csv`: strategy × replication × scale event.
#[derive(Debug)]
pub struct ScaleEventsCsv;

/// `deploys.csv`: strategy × replication × rolling deploy.
#[derive(Debug)]
pub struct DeploysCsv;

impl Exporter for PodsCsv {
    fn file_name(&self) -> &'static str {
        "pods.csv"
    }

    fn wanted(&self, report: &Report) -> bool {
        report.scenario.pod_group.is_some()
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let rows = run_rows(report, |run| {
            run.timeline.iter().map(|c| {
                vec![
                    fixed(c.time, 6),
                    c.pods.to_string(),
                    c.ready.to_string(),
                    fixed(run.pod_seconds, 3),
                    fixed(run.ready_pod_seconds, 3),
                ]
            })
        });
        to_bytes(
            vec!["strategy", "replication", "time_s", "pods", "ready_pods", "run_pod_seconds", "run_ready_pod_seconds"],
            rows,
        )
    }
}

impl Exporter for ScaleEventsCsv {
    fn file_name(&self) -> &'static str {
        "scale_events.csv"
    }

    fn wanted(&self, report: &Report) -> bool {
        report.scenario.autoscaler.is_some()
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let rows = run_rows(report, |run| {
            run.events.iter().map(|e| {
                vec![
                    fixed(e.time, 6),
                    e.from.to_string(),
                    e.to.to_string(),
                    e.proposed.to_string(),
                    if e.metric.is_finite() { fixed(e.metric, 3) } else { String::new() },
                    e.reason.to_string(),
                    e.limited_by.to_string(),
                ]
            })
        });
        to_bytes(
            vec!["strategy", "replication", "time_s", "from", "to", "proposed", "metric", "reason", "limited_by"],
            rows,
        )
    }
}

impl Exporter for DeploysCsv {
    fn file_name(&self) -> &'static str {
        "deploys.csv"
    }

    fn wanted(&self, report: &Report) -> bool {
        report.scenario.faults.iter().any(|f| f.kind.deploy().is_some())
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let group = report.scenario.pod_group.as_ref().map_or("", |g| report.scenario.groups[g.group].name.as_str());
        let rows = run_rows(report, |run| {
            run.deploys.iter().map(|d| {
                vec![
                    d.fault.to_string(),
                    group.to_string(),
                    fixed(d.start, 6),
                    d.end.map_or(String::new(), |e| fixed(e, 6)),
                    d.end.map_or(String::new(), |e| fixed(e - d.start, 6)),
                    d.replicas.to_string(),
                    d.replaced.to_string(),
                    d.created.to_string(),
                    d.min_available.to_string(),
                    d.max_pods.to_string(),
                ]
            })
        });
        to_bytes(
            vec![
                "strategy",
                "replication",
                "fault",
                "group",
                "start_s",
                "end_s",
                "duration_s",
                "replicas",
                "replaced",
                "created",
                "min_available",
                "max_pods",
            ],
            rows,
        )
    }
}

/// One row per item of every strategy's every pod-group run: the strategy, the
/// replication, then the cells `items` gives for each item of the run.
fn run_rows<'a, I>(report: &'a Report, items: impl Fn(&'a PodsRun) -> I) -> Vec<Vec<String>>
where
    I: Iterator<Item = Vec<String>>,
{
    let mut rows = Vec::new();
    for s in &report.strategies {
        for (rep, run) in s.pods.iter().enumerate() {
            for cells in items(run) {
                let mut row = vec![s.label.clone(), rep.to_string()];
                row.extend(cells);
                rows.push(row);
            }
        }
    }
    rows
}
