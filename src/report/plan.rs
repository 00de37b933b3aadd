//! plan.csv (one row per strategy: the answer), plan_candidates.csv (every count the
//! search looked at) and the plan's terminal table.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Attribute, Cell, CellAlignment, ContentArrangement, Table};

use super::Exporter;
use super::csv::encode;
use super::format::{fixed, ms};
use crate::Result;
use crate::plan::{Candidate, PlanReport};
use crate::stats::Estimate;

/// Columns of plan.csv.
pub const PLAN_COLUMNS: &[&str] = &[
    "strategy",
    "group",
    "servers",
    "met",
    "total_servers",
    "cost",
    "arrival_rate_rps",
    "offered_load",
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
    "slo",
    "replications",
    "requests",
    "evaluations",
    "seed",
    "note",
];

/// Columns of plan_candidates.csv.
pub const CANDIDATE_COLUMNS: &[&str] = &[
    "strategy",
    "servers",
    "verdict",
    "offered_load",
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
    "seed",
    "note",
];

/// `plan.csv`.
pub struct PlanCsv;
/// `plan_candidates.csv`.
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

/// The metric cells shared by both files: utilisation, mean, p99, p99.9, drop rate.
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

fn slo_text(report: &PlanReport) -> String {
    report.slos.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" and ")
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
        encode(PLAN_COLUMNS, &rows)
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
                        crate::plan::Verdict::Invalid(w) => w.clone(),
                        _ => String::new(),
                    });
                    row
                })
            })
            .collect();
        encode(CANDIDATE_COLUMNS, &rows)
    }
}

/// The plan table: servers needed per strategy, the SLO metrics achieved there (± 95%
/// half-width), utilisation, cost; the fewest servers marked.
pub fn render(report: &PlanReport, color: bool) -> String {
    let sc = &report.scenario;
    let mut out = format!(
        "{}: smallest `{}` count meeting {} at {} req/s\n(each candidate judged on the 95% upper confidence bound \
         over {} replications × {} requests; ρ < 1 from {} servers)\n",
        sc.name,
        report.group,
        slo_text(report),
        report.rate,
        sc.replications,
        sc.requests,
        report.min_stable,
    );
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
    if !color {
        table.force_no_tty();
    }
    let mut header = vec![Cell::new("strategy"), Cell::new(format!("{} servers", report.group))];
    for s in &report.slos {
        header.push(Cell::new(if s.metric.is_time() {
            format!("{} ms", s.metric.name())
        } else {
            format!("{} %", s.metric.name())
        }));
    }
    header.push(Cell::new("util"));
    if report.cost.is_some() {
        header.push(Cell::new("cost"));
    }
    header.push(Cell::new("evaluated"));
    table.set_header(header);
    let fewest = report.strategies.iter().filter_map(|p| p.servers).min();
    for p in &report.strategies {
        let a = p.answer();
        let best = report.strategies.len() > 1 && p.servers.is_some() && p.servers == fewest;
        let mut servers = match p.servers {
            Some(s) => s.to_string(),
            None => "not met".into(),
        };
        if best {
            servers.push('*');
        }
        let mut cell = Cell::new(servers).set_alignment(CellAlignment::Right);
        if best && color {
            cell = cell.add_attribute(Attribute::Bold);
        }
        let mut row = vec![Cell::new(&p.label), cell];
        for (k, s) in report.slos.iter().enumerate() {
            let text = match a.and_then(|a| a.measures.get(k)) {
                Some(e) => {
                    let scale = if s.metric.is_time() { 1e3 } else { 100.0 };
                    let mut t = format!("{:.3}", e.value * scale);
                    if let Some(ci) = e.ci95 {
                        t.push_str(&format!(" ±{:.3}", ci * scale));
                    }
                    t
                }
                None => "–".into(),
            };
            row.push(Cell::new(text).set_alignment(CellAlignment::Right));
        }
        let util = a.and_then(|a| a.summary.as_ref()).map(|s| format!("{:.3}", s.utilization.value));
        row.push(Cell::new(util.unwrap_or_else(|| "–".into())).set_alignment(CellAlignment::Right));
        if let Some(c) = report.cost {
            let cost = p.servers.map(|s| format!("{:.2}", c * f64::from(s))).unwrap_or_else(|| "–".into());
            row.push(Cell::new(cost).set_alignment(CellAlignment::Right));
        }
        row.push(Cell::new(p.simulated()).set_alignment(CellAlignment::Right));
        table.add_row(row);
    }
    out.push_str(&table.to_string());
    out.push('\n');
    let mut notes = Vec::new();
    if report.strategies.len() > 1 {
        notes.push("* fewest servers".to_string());
    }
    notes.push("± = 95% confidence half-width; evaluated = candidate counts simulated".into());
    out.push_str(&notes.join("; "));
    out.push('\n');
    for p in &report.strategies {
        if let Some(r) = &p.reason {
            out.push_str(&format!("{}: {r}\n", p.label));
        }
    }
    for n in &report.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}
