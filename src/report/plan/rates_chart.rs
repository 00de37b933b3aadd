//! `plan_rates.png`: servers needed against the arrival rate, one line per strategy (the
//! plan at each rate of `lbsim plan --rate A:B:N`), with the fewest servers that carry the
//! rate at all (ρ < 1) dashed beneath. A strategy with no answer at a rate (not met within
//! `--max-servers`) is an arrow at the top of the axis marked "not met", never a point.
//! Markers at one count are drawn nested, never hidden ([`points`]).

use plotters::prelude::*;

use super::chart::heading;
use super::rates::rate_text;
use super::slo_text;
use crate::Result;
use crate::plan::rates::RatesReport;
use crate::report::Exporter;
use crate::report::charts::axis::{linear_top, tick_label};
use crate::report::charts::marks;
use crate::report::charts::points::{self, Point};
use crate::report::charts::style::{AXIS_PX, INK, TICK_PX, colours};
use crate::report::charts::{LegendEntry, Swatch, inspect, render_png, text, with_legend};

/// `plan_rates.png`.
#[derive(Debug)]
pub struct RatesChart;

/// As wide as plan.png, whose [`super::chart::heading`] it shares.
const WIDTH: u32 = super::chart::WIDTH;
const HEIGHT: u32 = 760;

impl Exporter<RatesReport> for RatesChart {
    fn file_name(&self) -> &'static str {
        "plan_rates.png"
    }

    fn is_chart(&self) -> bool {
        true
    }

    fn wanted(&self, report: &RatesReport) -> bool {
        !report.plans.is_empty()
    }

    fn render(&self, report: &RatesReport) -> Result<Vec<u8>> {
        let first = &report.plans[0];
        let title = format!(
            "{}: servers needed in group {} for {} against the arrival rate",
            first.scenario.name,
            first.group,
            slo_text(first)
        );
        let reps = first.scenario.replications;
        let note = format!(
            "Each point is the plan at that rate: the smallest count whose metrics' 95% upper confidence bounds meet \
             every SLO ({reps} replications × {} requests per candidate; {} candidates simulated in all). Dashed: the \
             fewest servers with ρ < 1. An arrow at the top: not met within {} servers.",
            crate::report::charts::style::thousands(first.scenario.requests),
            report.simulated(),
            first.max_servers
        );
        render_png(WIDTH, HEIGHT, |root| {
            let body = heading(root, &title, &note)?;
            draw(&body, report)
        })
    }
}

/// The lines, markers and arrows, with the legend on the right.
fn draw(area: &crate::report::charts::Area<'_>, report: &RatesReport) -> crate::report::charts::DrawResult {
    let first = &report.plans[0];
    let labels: Vec<&str> = first.strategies.iter().map(|p| p.label.as_str()).collect();
    let colours = colours(&labels);
    let marks = marks::marks(&colours);
    let grey = RGBColor(120, 120, 120);
    let mut entries: Vec<LegendEntry> = labels
        .iter()
        .zip(colours.iter().zip(&marks))
        .map(|(l, (&c, &m))| LegendEntry::new(l.to_string(), c, Swatch::Mark(m)))
        .collect();
    entries.push(LegendEntry::new("fewest with ρ < 1", grey, Swatch::Dashed));
    let (plot, _) = with_legend(area, "strategy", &entries)?;
    let rates: Vec<f64> = report.plans.iter().map(|p| p.rate).collect();
    let (lo, hi) = (rates[0], rates[rates.len() - 1]);
    let pad = if hi > lo { (hi - lo) * 0.04 } else { lo * 0.1 };
    let answers = report.plans.iter().flat_map(|p| p.strategies.iter().filter_map(|s| s.servers));
    let most = answers.chain(report.plans.iter().map(|p| p.min_stable)).max().unwrap_or(1);
    let ymax = linear_top(f64::from(most) * 1.12).max(2.0);
    let counts = report.plans.iter().flat_map(|p| p.strategies.iter().filter_map(|s| s.servers.map(f64::from)));
    inspect::axis("plan_rates servers y", (0.0, ymax), false, counts);
    let group = &first.group;
    let mut chart = ChartBuilder::on(&plot)
        .caption("servers needed at each rate (fewest is best)", text(AXIS_PX + 1.0, &INK))
        .margin(12)
        .margin_right(24)
        .x_label_area_size(45)
        .y_label_area_size(64)
        .build_cartesian_2d((lo - pad)..(hi + pad), 0f64..ymax)?;
    chart
        .configure_mesh()
        .x_desc("arrival rate (req/s)")
        .y_desc(format!("servers in group {group}"))
        .x_label_formatter(&|x| tick_label(*x))
        .y_label_formatter(&|y| tick_label(*y))
        .axis_desc_style(text(TICK_PX + 1.0, &INK))
        .label_style(text(TICK_PX - 1.0, &INK))
        .bold_line_style(RGBColor(228, 228, 228))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let (bx, by) = plot.get_base_pixel();
    let local = |(x, y): (i32, i32)| (x - bx, y - by);
    let stable: Vec<(f64, f64)> = report.plans.iter().map(|p| (p.rate, f64::from(p.min_stable))).collect();
    chart.draw_series(DashedLineSeries::new(stable, 8, 5, grey.stroke_width(2)))?;
    let mut pts: Vec<Point> = Vec::new();
    // Not met: (rate, strategy).
    let mut unmet: Vec<(f64, usize)> = Vec::new();
    for (k, label) in labels.iter().enumerate() {
        let mut line: Vec<(i32, i32)> = Vec::new();
        for plan in &report.plans {
            match plan.strategies.get(k).and_then(|p| p.servers) {
                Some(s) => {
                    let at = local(chart.backend_coord(&(plan.rate, f64::from(s))));
                    line.push(at);
                    pts.push(Point {
                        owner: label.to_string(),
                        at,
                        marker: marks[k].marker,
                        colour: colours[k],
                        filled: true,
                    });
                    inspect::level(label, &format!("servers at {}", rate_text(plan.rate)), f64::from(s));
                }
                None => {
                    // A gap in the line: no count met the SLOs here.
                    marks::draw_line(&plot, &line, colours[k], 2, marks[k].dash)?;
                    line.clear();
                    if plan.strategies.get(k).is_some_and(|p| p.reason.is_some()) {
                        unmet.push((plan.rate, k));
                    }
                }
            }
        }
        marks::draw_line(&plot, &line, colours[k], 2, marks[k].dash)?;
    }
    points::draw_apart(&plot, &pts, 5)?;
    let (_, top) = local(chart.backend_coord(&(lo, ymax)));
    for (i, &(rate, k)) in unmet.iter().enumerate() {
        let slot = unmet[..i].iter().filter(|u| u.0 == rate).count();
        let (px, _) = local(chart.backend_coord(&(rate, ymax)));
        points::draw_above(&plot, (px, top), slot, colours[k], false, "not met")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::slo::Slo;
    use crate::plan::{PlanReport, StrategyPlan};
    use crate::report::charts::inspect;

    fn plan(rate: f64, min_stable: u32, answers: &[Option<u32>]) -> PlanReport {
        let sc = crate::scenario::Scenario::parse(
            "name = \"r\"\nrequests = 1000\nstrategies = [\"random\", \"p2c\"]\n[arrivals]\nprocess = \"poisson\"\nrate = 100.0\n\
             [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"web\"\ncount = 4\n",
            None,
        )
        .unwrap();
        let strategies = ["random", "p2c"]
            .iter()
            .zip(answers)
            .map(|(l, &s)| StrategyPlan {
                label: l.to_string(),
                servers: s,
                reason: s.is_none().then(|| "not met with up to 30 servers; raise --max-servers".to_string()),
                candidates: Vec::new(),
            })
            .collect();
        PlanReport {
            scenario: sc,
            group: "web".into(),
            group_index: 0,
            slos: vec![Slo::parse("p99<=100ms").unwrap()],
            rate,
            max_servers: 30,
            cost: None,
            min_stable,
            strategies,
            notes: Vec::new(),
            complete: true,
            wall_time: 0.0,
            precision: None,
            autoscaled: None,
        }
    }

    #[test]
    fn every_answer_is_drawn_with_its_count_and_unmet_ones_are_arrows() {
        let report = RatesReport {
            spec: "1000:3000:3".into(),
            plans: vec![
                plan(1000.0, 11, &[Some(14), Some(12)]),
                plan(2000.0, 21, &[Some(26), Some(23)]),
                plan(3000.0, 31, &[None, Some(34)]),
            ],
            complete: true,
            wall_time: 0.0,
        };
        let (png, drawn) = inspect::capture(|| RatesChart.render(&report));
        assert!(png.unwrap().starts_with(b"\x89PNG"));
        let servers: Vec<(String, f64)> = drawn.levels.iter().map(|f| (f.owner.clone(), f.value)).collect();
        assert_eq!(servers.len(), 5, "five answers: {servers:?}");
        assert!(servers.contains(&("random".to_string(), 26.0)) && servers.contains(&("p2c".to_string(), 34.0)));
        assert_eq!(drawn.texts.iter().filter(|t| t.text == "not met").count(), 1, "random at 3000 is an arrow");
        assert!(drawn.markers.iter().all(|m| m.0 != "random" || m.1.1 > 0), "markers on the image");
    }
}
