//! The report of `lbsim plan`: the terminal table, `plan.csv` and `plan_candidates.csv`
//! ([`csv`]) and `plan.png` ([`chart`]).

pub mod autoscaled;
pub mod chart;
pub mod html;
pub mod plan_csv;
pub mod rates;
pub mod rates_chart;

use comfy_table::{Attribute, Cell, CellAlignment};

use super::table;
use crate::plan::PlanReport;
use crate::plan::slo::Metric;

/// The objectives as one phrase: `p99 ≤ 200ms and utilization ≤ 70%`.
fn slo_text(report: &PlanReport) -> String {
    report.slos.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" and ")
}

/// The two lines above the plan table: what was planned, and how candidates were judged.
pub fn heading(report: &PlanReport) -> String {
    let text = judged(report);
    match &report.autoscaled {
        // The search sized a fixed pool, beside the autoscaled one.
        Some(_) => text.replacen(
            &format!("smallest `{}` count", report.group),
            &format!("smallest fixed `{}` pool", report.group),
            1,
        ),
        None => text,
    }
}

/// [`heading`] for any group.
fn judged(report: &PlanReport) -> String {
    let sc = &report.scenario;
    if let Some(p) = &report.precision {
        return format!(
            "{}: smallest `{}` count meeting {} at {} req/s\n(each candidate judged on the 95% confidence interval \
             over {} replications × {} requests, run longer — up to {} — while an interval straddles its limit, \
             until it is {}; ρ < 1 from {} servers)\n",
            sc.name,
            report.group,
            slo_text(report),
            report.rate,
            sc.replications,
            sc.requests,
            p.cap(sc.requests),
            precision_text(p),
            report.min_stable,
        );
    }
    format!(
        "{}: smallest `{}` count meeting {} at {} req/s\n(each candidate judged on the 95% upper confidence bound \
         over {} replications × {} requests; ρ < 1 from {} servers)\n",
        sc.name,
        report.group,
        slo_text(report),
        report.rate,
        sc.replications,
        sc.requests,
        report.min_stable,
    )
}

/// When an unclear verdict stops growing: its targets as asked.
fn precision_text(p: &crate::scenario::Precision) -> String {
    let targets: Vec<String> = p.targets.iter().map(|(m, t)| format!("{m} {}%", 100.0 * t)).collect();
    format!("clear or within {} of the value (then uncertain)", targets.join(", "))
}

/// The notes under the plan table (one paragraph), then each strategy's reason for having
/// no answer and the plan's notes, as (label, text).
pub fn notes(report: &PlanReport) -> (String, Vec<(String, String)>) {
    let mut notes = Vec::new();
    if report.strategies.len() > 1 {
        notes.push("* fewest servers".to_string());
    }
    notes.push("± = 95% confidence half-width; evaluated = candidate counts simulated".into());
    notes.extend(autoscaled::notes(report));
    let mut labelled: Vec<(String, String)> =
        report.strategies.iter().filter_map(|p| p.reason.as_ref().map(|r| (p.label.clone(), r.clone()))).collect();
    for p in &report.strategies {
        for c in p.candidates.iter().filter(|c| c.verdict == crate::plan::Verdict::Uncertain) {
            let why = c.uncertain.as_deref().unwrap_or_default();
            let text = format!(
                "verdict uncertain at {} servers after {} requests: {why}; counted as not met",
                c.servers, c.requests
            );
            labelled.push((p.label.clone(), text));
        }
    }
    labelled.extend(report.notes.iter().map(|n| ("note".to_string(), n.clone())));
    (notes.join("; "), labelled)
}

/// The plan table's header and rows (see [`render`]): each cell's text and whether it is
/// the fewest servers (bold on a terminal, in report.html).
pub fn cells(report: &PlanReport) -> (Vec<String>, Vec<Vec<(String, bool)>>) {
    let mut header = vec!["strategy".to_string(), format!("{} servers", report.group)];
    for s in &report.slos {
        header.push(measure_header(s));
    }
    // Utilisation once: as its objective's column (%) when one bounds it.
    let util_column = !report.slos.iter().any(|s| s.metric == Metric::Utilization);
    if util_column {
        header.push("util".to_string());
    }
    if report.cost.is_some() {
        header.push("cost".to_string());
    }
    header.extend(autoscaled::fixed_header(report));
    header.push("evaluated".to_string());
    let fewest = report.strategies.iter().filter_map(|p| p.servers).min();
    let mut rows = Vec::with_capacity(report.strategies.len());
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
        let mut row = vec![(p.label.clone(), false), (servers, best)];
        for (k, s) in report.slos.iter().enumerate() {
            row.push((measure_cell(s, a.and_then(|a| a.measures.get(k))), false));
        }
        let util = a.and_then(|a| a.summary.as_ref()).map(|s| format!("{:.3}", s.utilization.value));
        if util_column {
            row.push((util.unwrap_or_else(|| "–".into()), false));
        }
        if let Some(c) = report.cost {
            let cost = p.servers.map(|s| format!("{:.2}", c * f64::from(s))).unwrap_or_else(|| "–".into());
            row.push((cost, false));
        }
        row.extend(autoscaled::fixed_cells(report, p).into_iter().map(|c| (c, false)));
        row.push((p.simulated().to_string(), false));
        rows.push(row);
    }
    (header, rows)
}

/// A metric's cell: its value (ms for times, % otherwise) ± its 95% half-width.
fn measure_cell(s: &crate::plan::slo::Slo, e: Option<&crate::stats::Estimate>) -> String {
    match e {
        Some(e) => {
            let scale = if s.metric.is_time() { 1e3 } else { 100.0 };
            let mut t = format!("{:.3}", e.value * scale);
            if let Some(ci) = e.ci95 {
                t.push_str(&format!(" ±{:.3}", ci * scale));
            }
            t
        }
        None => "–".into(),
    }
}

/// The header of a metric's column: `p99 ms`, `drop_rate %`.
fn measure_header(s: &crate::plan::slo::Slo) -> String {
    if s.metric.is_time() { format!("{} ms", s.metric.name()) } else { format!("{} %", s.metric.name()) }
}

/// The plan table: servers needed per strategy, the SLO metrics achieved there (± 95%
/// half-width), utilisation (unless an objective bounds it: then its column shows it), cost;
/// the fewest servers marked.
pub fn render(report: &PlanReport, color: bool) -> String {
    let mut out = heading(report);
    if report.precision.is_some() {
        // Its longer second line, within the table's width.
        out = out.lines().map(super::format::to_width).collect();
    }
    let (header, rows) = cells(report);
    let mut table = table::new(color);
    table.set_header(header.iter().map(Cell::new).collect::<Vec<_>>());
    for row in rows {
        let mut cells = Vec::with_capacity(row.len());
        for (i, (text, best)) in row.into_iter().enumerate() {
            let mut cell = Cell::new(text);
            if i > 0 {
                cell = cell.set_alignment(CellAlignment::Right);
            }
            if best && color {
                cell = cell.add_attribute(Attribute::Bold);
            }
            cells.push(cell);
        }
        table.add_row(cells);
    }
    out.push_str(&table.to_string());
    out.push('\n');
    if let Some((title, header, rows)) = autoscaled::cells(report) {
        out.push_str(&super::format::to_width(&title));
        let mut table = table::new(color);
        table.set_header(header.iter().map(Cell::new).collect::<Vec<_>>());
        for row in rows {
            let cells: Vec<Cell> = row
                .into_iter()
                .enumerate()
                .map(|(i, t)| if i > 0 { Cell::new(t).set_alignment(CellAlignment::Right) } else { Cell::new(t) })
                .collect();
            table.add_row(cells);
        }
        out.push_str(&table.to_string());
        out.push('\n');
    }
    let (notes, labelled) = notes(report);
    out.push_str(&super::format::to_width(&notes));
    for (label, text) in labelled {
        out.push_str(&super::format::labelled(&label, &text));
    }
    out
}
