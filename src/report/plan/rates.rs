//! The report of `lbsim plan --rate A:B:N`: the terminal table of servers needed per rate
//! and strategy, `plan.csv` and `plan_candidates.csv` (every rate's rows, the latter with
//! the rate appended), `plan_rates.png` ([`super::rates_chart`]) and `report.html`.

use comfy_table::{Attribute, Cell, CellAlignment};

use super::plan_csv::{candidate_columns_for, candidate_rows, plan_columns, plan_rows};
use super::rates_chart::RatesChart;
use super::slo_text;
use crate::Result;
use crate::plan::rates::RatesReport;
use crate::report::format::fixed;
use crate::report::html::{self, CellKind, Page};
use crate::report::run::summary_csv::encode;
use crate::report::{Exporter, table};

/// A rate for people: `1500`, `1234.5` (at most 3 decimals).
pub fn rate_text(rate: f64) -> String {
    let t = format!("{rate:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The two lines above the table: what was planned, and how candidates were judged.
pub fn heading(report: &RatesReport) -> String {
    let Some(first) = report.plans.first() else { return String::new() };
    let sc = &first.scenario;
    let rates: Vec<f64> = report.plans.iter().map(|p| p.rate).collect();
    format!(
        "{}: smallest `{}` count meeting {} at {} rates from {} to {} req/s (--rate {})\n(each candidate judged on \
         the 95% upper confidence bound over {} replications × {} requests; each rate planned as `lbsim plan --rate \
         R` plans it)\n",
        sc.name,
        first.group,
        slo_text(first),
        rates.len(),
        rate_text(rates[0]),
        rate_text(rates[rates.len() - 1]),
        report.spec,
        sc.replications,
        sc.requests,
    )
}

/// The table's header and rows: per rate, the smallest stable count, each strategy's
/// answer (and whether it is the fewest at that rate) and the candidates simulated.
pub fn cells(report: &RatesReport) -> (Vec<String>, Vec<Vec<(String, bool)>>) {
    let Some(first) = report.plans.first() else { return (Vec::new(), Vec::new()) };
    let mut header = vec!["rate req/s".to_string(), "ρ<1 from".to_string()];
    header.extend(first.strategies.iter().map(|p| p.label.clone()));
    header.push("evaluated".to_string());
    let several = first.strategies.len() > 1;
    let rows = report
        .plans
        .iter()
        .map(|plan| {
            let fewest = plan.strategies.iter().filter_map(|p| p.servers).min();
            let mut row = vec![(rate_text(plan.rate), false), (plan.min_stable.to_string(), false)];
            for p in &plan.strategies {
                let best = several && p.servers.is_some() && p.servers == fewest;
                let text = match p.servers {
                    Some(s) if best => format!("{s}*"),
                    Some(s) => s.to_string(),
                    None => "not met".to_string(),
                };
                row.push((text, best));
            }
            row.push((plan.strategies.iter().map(|p| p.simulated()).sum::<usize>().to_string(), false));
            row
        })
        .collect();
    (header, rows)
}

/// The notes under the table (one paragraph), then the strategies' reasons for having no
/// answer (each reason once, with the rates it holds at) and the plans' notes, as (label,
/// text).
pub fn notes(report: &RatesReport) -> (String, Vec<(String, String)>) {
    let mut notes = Vec::new();
    if report.plans.first().is_some_and(|p| p.strategies.len() > 1) {
        notes.push("* fewest servers at that rate".to_string());
    }
    notes.push(
        "ρ<1 from = the fewest servers with offered load below 1; evaluated = candidate counts simulated at that \
         rate (every strategy); the metrics at each answer are in plan.csv"
            .to_string(),
    );
    let mut reasons: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut plan_notes: Vec<String> = Vec::new();
    for plan in &report.plans {
        for p in &plan.strategies {
            let Some(r) = &p.reason else { continue };
            match reasons.iter_mut().find(|(l, why, _)| *l == p.label && why == r) {
                Some(x) => x.2.push(rate_text(plan.rate)),
                None => reasons.push((p.label.clone(), r.clone(), vec![rate_text(plan.rate)])),
            }
        }
        for n in &plan.notes {
            if !plan_notes.contains(n) {
                plan_notes.push(n.clone());
            }
        }
    }
    let mut labelled: Vec<(String, String)> =
        reasons.into_iter().map(|(l, why, at)| (l, format!("at {} req/s: {why}", at.join(", ")))).collect();
    labelled.extend(plan_notes.into_iter().map(|n| ("note".to_string(), n)));
    (notes.join("; "), labelled)
}

/// The terminal's report of a range: heading, table, notes.
pub fn render(report: &RatesReport, color: bool) -> String {
    let mut out: String = heading(report).lines().map(crate::report::format::to_width).collect();
    let (header, rows) = cells(report);
    let mut t = table::new(color);
    t.set_header(header.iter().map(Cell::new).collect::<Vec<_>>());
    for row in rows {
        let cells: Vec<Cell> = row
            .into_iter()
            .map(|(text, best)| {
                let mut cell = Cell::new(text).set_alignment(CellAlignment::Right);
                if best && color {
                    cell = cell.add_attribute(Attribute::Bold);
                }
                cell
            })
            .collect();
        t.add_row(cells);
    }
    out.push_str(&t.to_string());
    out.push('\n');
    let (notes, labelled) = notes(report);
    out.push_str(&crate::report::format::to_width(&notes));
    for (label, text) in labelled {
        out.push_str(&crate::report::format::labelled(&label, &text));
    }
    out
}

/// `plan.csv` of a range: plan.csv's rows of every rate, rate by rate.
#[derive(Debug)]
pub struct RatesPlanCsv;

impl Exporter<RatesReport> for RatesPlanCsv {
    fn file_name(&self) -> &'static str {
        "plan.csv"
    }

    fn render(&self, report: &RatesReport) -> Result<Vec<u8>> {
        let mut columns = plan_columns();
        columns.extend(report.plans.first().map(super::autoscaled::csv_columns).unwrap_or_default());
        encode(&columns, &report.plans.iter().flat_map(plan_rows).collect::<Vec<_>>())
    }
}

/// `plan_candidates.csv` of a range: plan_candidates.csv's rows of every rate, with the
/// rate appended (`arrival_rate_rps`).
#[derive(Debug)]
pub struct RatesCandidatesCsv;

impl Exporter<RatesReport> for RatesCandidatesCsv {
    fn file_name(&self) -> &'static str {
        "plan_candidates.csv"
    }

    fn render(&self, report: &RatesReport) -> Result<Vec<u8>> {
        let Some(first) = report.plans.first() else { return encode(&plan_columns(), &[]) };
        let mut columns = candidate_columns_for(first);
        columns.push("arrival_rate_rps".to_string());
        let rows: Vec<Vec<String>> = report
            .plans
            .iter()
            .flat_map(|p| {
                candidate_rows(p).into_iter().map(move |mut row| {
                    row.push(fixed(p.rate, 3));
                    row
                })
            })
            .collect();
        encode(&columns, &rows)
    }
}

/// The command that plans the range again: the first rate's command with the range as
/// `--rate`.
pub fn command(report: &RatesReport) -> String {
    let Some(first) = report.plans.first() else { return String::new() };
    super::html::command(first).replacen(
        &format!("--rate {}", first.rate),
        &format!("--rate {}", html::shell_word(&report.spec)),
        1,
    )
}

/// `report.html` of a range.
#[derive(Debug)]
pub struct RatesHtml;

fn page(report: &RatesReport, chart: Option<&[u8]>) -> Vec<u8> {
    let head = heading(report);
    let mut lines = head.lines();
    let name = report.plans.first().map_or("", |p| p.scenario.name.as_str());
    let mut page = Page::new(&format!("{name} — lbsim plan"), lines.next().unwrap_or_default().trim());
    page.paragraph(lines.collect::<Vec<_>>().join(" ").trim());
    page.section("Reproduce");
    page.code(&command(report));
    page.paragraph(&format!("lbsim {}; the same command gives the same answers.", env!("CARGO_PKG_VERSION")));
    if let Some(text) = report.plans.first().and_then(|p| p.scenario.source.as_ref()) {
        page.details("scenario file as planned (before the rate and count are set)", text);
    }
    page.section("Servers needed");
    let (header, rows) = cells(report);
    let rows: Vec<Vec<html::Cell>> = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|(text, best)| {
                    let kind = if best {
                        CellKind::Best
                    } else if text == "not met" {
                        CellKind::Bad
                    } else {
                        CellKind::Number
                    };
                    html::Cell::of(text, kind)
                })
                .collect()
        })
        .collect();
    page.table(&header, &rows);
    let (notes, labelled) = notes(report);
    let mut items = vec![notes];
    items.extend(labelled.into_iter().map(|(l, t)| format!("{l}: {t}")));
    page.list(&items, false);
    page.paragraph(
        "Each answer with its figures is in plan.csv (one row per rate and strategy); every candidate count \
         simulated in plan_candidates.csv.",
    );
    if let Some(png) = chart {
        page.section("Chart");
        page.figure(RatesChart.file_name(), png);
    }
    page.finish()
}

impl Exporter<RatesReport> for RatesHtml {
    fn file_name(&self) -> &'static str {
        html::FILE
    }

    fn render(&self, report: &RatesReport) -> Result<Vec<u8>> {
        let chart = if RatesChart.wanted(report) { Some(RatesChart.render(report)?) } else { None };
        Ok(page(report, chart.as_deref()))
    }

    fn composes(&self) -> bool {
        true
    }

    fn compose(&self, report: &RatesReport, files: &[(&str, Vec<u8>)]) -> Result<Vec<u8>> {
        let chart = files.iter().find(|(n, _)| *n == RatesChart.file_name()).map(|(_, b)| b.as_slice());
        Ok(page(report, chart))
    }
}
