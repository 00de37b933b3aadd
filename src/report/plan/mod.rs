//! The report of `lbsim plan`: the terminal table, `plan.csv` and `plan_candidates.csv`
//! ([`csv`]) and `plan.png` ([`chart`]).

pub mod chart;
pub mod plan_csv;

use comfy_table::{Attribute, Cell, CellAlignment};

use super::table;
use crate::plan::PlanReport;

/// The objectives as one phrase: `p99 ≤ 200ms and utilization ≤ 70%`.
fn slo_text(report: &PlanReport) -> String {
    report.slos.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" and ")
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
    let mut table = table::new(color);
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
    out.push_str(&super::format::to_width(&notes.join("; ")));
    for p in &report.strategies {
        if let Some(r) = &p.reason {
            out.push_str(&super::format::labelled(&p.label, r));
        }
    }
    for n in &report.notes {
        out.push_str(&super::format::labelled("note", n));
    }
    out
}
