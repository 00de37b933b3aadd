//! plan.png: servers needed per strategy (left, each bar naming the objective that set it)
//! and, one panel per SLO of the plan, the metric at every count the search simulated with
//! its 95% interval against the limit (right). The binding objective — the one a strategy
//! failed at the count just below its answer, so the one that decided it — is named on the
//! bars and marked in its panel's title; a strategy whose answer is the smallest stable
//! count is bound by stability (ρ < 1) instead. Points sit at the counts simulated, markers
//! never hidden under one another, and a value above the axis is an arrow at its top with
//! the value written, without an interval ([`points`]).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Result;
use crate::plan::slo::Slo;
use crate::plan::{PlanReport, StrategyPlan, Verdict};
use crate::report::Exporter;
use crate::report::charts::axis::{linear_top, tick_label};
use crate::report::charts::marks::{self, Mark};
use crate::report::charts::points::{self, Point};
use crate::report::charts::style::{self, AXIS_PX, INK, MUTED, SUBTITLE_PX, TICK_PX, colours};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, fit, inspect, render_png, text, with_legend};

/// `plan.png`.
#[derive(Debug)]
pub struct PlanChart;

const SLOT: i32 = 100;
pub(super) const WIDTH: u32 = 1400;

/// What set a strategy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The SLOs (indices into the plan's) failed at the largest simulated count below the
    /// answer.
    Slos(Vec<usize>),
    /// The answer is the smallest count with ρ < 1 (or nothing below it was simulated).
    Stability,
}

/// Which of `slos` decided `p`'s answer (None without an answer).
pub fn binding(slos: &[Slo], p: &StrategyPlan) -> Option<Binding> {
    let s = p.servers?;
    let below = p
        .candidates
        .iter()
        .filter(|c| c.servers < s && matches!(c.verdict, Verdict::Fail | Verdict::Uncertain))
        .max_by_key(|c| c.servers);
    Some(match below {
        Some(c) => {
            let failed: Vec<usize> = slos
                .iter()
                .enumerate()
                .filter(|(k, slo)| c.measures.get(*k).is_some_and(|e| !slo.met_by(*e)))
                .map(|(k, _)| k)
                .collect();
            if failed.is_empty() { Binding::Stability } else { Binding::Slos(failed) }
        }
        None => Binding::Stability,
    })
}

impl Exporter<PlanReport> for PlanChart {
    fn file_name(&self) -> &'static str {
        "plan.png"
    }

    fn render(&self, report: &PlanReport) -> Result<Vec<u8>> {
        let title = format!(
            "{}: servers needed in group {} for {} at {} req/s",
            report.scenario.name,
            report.group,
            report.slos.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" and "),
            report.rate
        );
        let reps = report.scenario.replications;
        let note = format!(
            "A count meets an SLO when the upper end of the metric's 95% CI is within it ({}, {} requests each). \
             Binding SLO: the one failed at the count just below the answer.",
            if reps == 1 { "1 replication".to_string() } else { format!("mean of {reps} replications") },
            style::thousands(report.scenario.requests)
        );
        let n_slo = report.slos.len().max(1);
        let height = 700 + 260 * (n_slo as u32 - 1).min(2);
        render_png(WIDTH, height, |root| {
            let body = heading(root, &title, &note)?;
            let (left, right) = body.split_horizontally(560);
            draw_bars(&left, report)?;
            draw_searches(&right, report)?;
            Ok(())
        })
    }
}

/// The name of a binding, for a bar's label.
fn binding_text(report: &PlanReport, b: &Binding) -> String {
    match b {
        Binding::Stability => "ρ < 1".to_string(),
        Binding::Slos(k) => k.iter().map(|&k| report.slos[k].metric.name()).collect::<Vec<_>>().join(", "),
    }
}

/// Draws a plan chart's title (`title`, up to two lines) and its note under it, and returns
/// the area below them (plan.png and plan_rates.png, both [`WIDTH`] wide).
pub(super) fn heading<'a>(root: &Area<'a>, title: &str, note: &str) -> DrawResult<Area<'a>> {
    let t = fit::block(title, WIDTH - 56, 2, 26.0, 18.0);
    let mut y = 14;
    for l in &t.lines {
        root.draw_text(l, &text(t.px, &INK), (28, y))?;
        y += (t.px * 1.3).round() as i32;
    }
    y += 4;
    for l in fit::wrap(note, WIDTH - 56, SUBTITLE_PX) {
        root.draw_text(&l, &text(SUBTITLE_PX, &MUTED), (28, y))?;
        y += (SUBTITLE_PX * 1.35).round() as i32;
    }
    Ok(root.margin((y + 8) as u32, 8, 8, 8))
}

fn draw_bars(area: &Area<'_>, report: &PlanReport) -> DrawResult {
    let n = report.strategies.len() as i32;
    let slot = |k: usize| (n - 1 - k as i32) * SLOT;
    let labels: Vec<String> = report.strategies.iter().map(|p| p.label.clone()).collect();
    let texts: Vec<String> = report
        .strategies
        .iter()
        .map(|p| match (p.servers, binding(&report.slos, p)) {
            (Some(s), Some(b)) => format!("{s} ({})", binding_text(report, &b)),
            (Some(s), None) => s.to_string(),
            (None, _) => "not met".to_string(),
        })
        .collect();
    // Room for the widest label right of the longest bar.
    let most = report.strategies.iter().filter_map(|p| p.servers).max().unwrap_or(1) as f64;
    let label_w = texts.iter().map(|t| fit::width(t, TICK_PX)).max().unwrap_or(0) as f64 + 12.0;
    let name_w = labels.iter().map(|l| fit::width(l, TICK_PX - 1.0)).max().unwrap_or(0).clamp(60, 220);
    let plot_w = f64::from(area.dim_in_pixel().0.saturating_sub(name_w + 24 + 30)).max(100.0);
    let xmax = linear_top(most / (1.0 - (label_w / plot_w).min(0.6)));
    let ticks: Vec<i32> = (0..n as usize).map(slot).collect();
    let colours = colours(&labels);
    let mut chart = ChartBuilder::on(area)
        .caption("servers needed (fewest is best), binding SLO", text(AXIS_PX + 1.0, &INK))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(name_w + 12)
        .build_cartesian_2d(0f64..xmax, (-SLOT / 2..n * SLOT - SLOT / 2).with_key_points(ticks))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(format!("servers in group {}", report.group))
        .x_label_formatter(&|x| tick_label(*x))
        .y_label_formatter(&|y| {
            let k = (n - 1) - y.div_euclid(SLOT);
            labels.get(k as usize).cloned().unwrap_or_default()
        })
        .axis_desc_style(text(TICK_PX + 1.0, &INK))
        .label_style(text(TICK_PX - 1.0, &INK))
        .bold_line_style(RGBColor(228, 228, 228))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (k, p) in report.strategies.iter().enumerate() {
        let y = slot(k);
        let end = p.servers.map_or(0.0, f64::from);
        if let Some(s) = p.servers {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y - SLOT * 3 / 10), (f64::from(s), y + SLOT * 3 / 10)],
                colours[k].filled(),
            )))?;
            inspect::figure(&p.label, "servers", f64::from(s), &s.to_string());
        }
        let (px, py) = chart.backend_coord(&(end, y));
        let (bx, by) = area.get_base_pixel();
        let style = text(TICK_PX, &INK).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw_text(&texts[k], &style, (px - bx + 6, py - by))?;
    }
    Ok(())
}

/// One panel per SLO, stacked, with the strategies' legend on the right.
fn draw_searches(area: &Area<'_>, report: &PlanReport) -> DrawResult {
    let labels: Vec<&str> = report.strategies.iter().map(|p| p.label.as_str()).collect();
    let colours = colours(&labels);
    let marks = marks::marks(&colours);
    let mut entries: Vec<LegendEntry> = labels
        .iter()
        .zip(colours.iter().zip(&marks))
        .map(|(l, (&c, &m))| LegendEntry::new(l.to_string(), c, Swatch::Mark(m)))
        .collect();
    let ink = RGBColor(60, 60, 60);
    entries.push(LegendEntry::new("SLO limit", ink, Swatch::Dashed));
    entries.push(LegendEntry::new("the answer (ringed)", ink, Swatch::Hollow(marks::Marker::Circle)));
    let (plots, _) = with_legend(area, "strategy", &entries)?;
    let bindings: Vec<Option<Binding>> = report.strategies.iter().map(|p| binding(&report.slos, p)).collect();
    let panels = plots.split_evenly((report.slos.len().max(1), 1));
    for (j, panel) in panels.iter().enumerate().take(report.slos.len()) {
        let bound = bindings.iter().filter(|b| matches!(b, Some(Binding::Slos(k)) if k.contains(&j))).count();
        draw_search(panel, report, j, bound, &colours, &marks)?;
    }
    Ok(())
}

/// The search for SLO `j`: its metric at each count simulated, per strategy; `bound` is how
/// many strategies it bound.
fn draw_search(
    area: &Area<'_>,
    report: &PlanReport,
    j: usize,
    bound: usize,
    colours: &[RGBColor],
    marks: &[Mark],
) -> DrawResult {
    let slo = &report.slos[j];
    let scale = if slo.metric.is_time() { 1e3 } else { 100.0 };
    let unit = if slo.metric.is_time() { "ms" } else { "%" };
    let limit = slo.limit * scale;
    let sims: Vec<(usize, u32, f64, f64)> = report
        .strategies
        .iter()
        .enumerate()
        .flat_map(|(k, p)| {
            p.candidates.iter().filter_map(move |c| {
                let e = c.measures.get(j)?;
                e.value.is_finite().then(|| (k, c.servers, e.value * scale, e.ci95.unwrap_or(0.0) * scale))
            })
        })
        .collect();
    let (lo, hi) = sims.iter().fold((u32::MAX, 0u32), |(a, b), s| (a.min(s.1), b.max(s.1)));
    let (lo, hi) = if sims.is_empty() { (0.0, 1.0) } else { (f64::from(lo) - 0.5, f64::from(hi) + 0.5) };
    let top = sims.iter().map(|s| s.2 + s.3).fold(limit, f64::max).min(4.0 * limit);
    let ymax = linear_top(top * 1.05);
    inspect::axis(format!("plan {} y", slo.metric.name()), (0.0, ymax), false, sims.iter().map(|s| s.2));
    let n = report.strategies.len();
    let mut caption = format!("{} at each count simulated (95% CI) · SLO {slo}", slo.metric.name());
    let binding = bound > 0;
    if binding {
        caption.push_str(&format!(" · BINDING for {bound} of {n}"));
    } else if report.slos.len() > 1 {
        caption.push_str(" · not binding");
    }
    let cap = fit::block(&caption, area.dim_in_pixel().0.saturating_sub(20), 1, AXIS_PX, 12.0);
    let cap_colour = if binding { style::ALERT } else { INK };
    let mut chart = ChartBuilder::on(area)
        .caption(&cap.lines[0], text(cap.px, &cap_colour))
        .margin(10)
        .margin_right(24)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(lo..hi, 0f64..ymax)?;
    chart
        .configure_mesh()
        .x_desc(format!("servers in group {}", report.group))
        .y_desc(format!("{} ({unit})", slo.metric.name()))
        .x_label_formatter(&|x| tick_label(*x))
        .y_label_formatter(&|y| tick_label(*y))
        .axis_desc_style(text(TICK_PX + 1.0, &INK))
        .label_style(text(TICK_PX - 1.0, &INK))
        .bold_line_style(RGBColor(228, 228, 228))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let ink = RGBColor(60, 60, 60);
    chart.draw_series(DashedLineSeries::new([(lo, limit), (hi, limit)], 8, 5, ink.stroke_width(2)))?;
    let (bx, by) = area.get_base_pixel();
    let local = |(x, y): (i32, i32)| (x - bx, y - by);
    let mut points: Vec<Point> = Vec::new();
    let mut rings: Vec<((i32, i32), RGBColor)> = Vec::new();
    // Values above the axis: (count, strategy, value).
    let mut above: Vec<(u32, usize, f64)> = Vec::new();
    for (k, p) in report.strategies.iter().enumerate() {
        let c = colours[k];
        let pts: Vec<(u32, f64, f64)> = sims.iter().filter(|s| s.0 == k).map(|s| (s.1, s.2, s.3)).collect();
        // At the counts simulated (integers: no dodge); an off-axis value's line goes to
        // the edge, where its arrow is.
        let line: Vec<(i32, i32)> =
            pts.iter().map(|&(x, v, _)| local(chart.backend_coord(&(f64::from(x), v.min(ymax))))).collect();
        marks::draw_line(area, &line, c, 2, marks[k].dash)?;
        for &(x, v, ci) in &pts {
            if v > ymax {
                above.push((x, k, v));
                continue;
            }
            // The interval, open where it leaves the axis (the value is on it).
            let (a, b) = ((v - ci).max(0.0), (v + ci).min(ymax));
            let x = f64::from(x);
            chart.draw_series(std::iter::once(PathElement::new(vec![(x, a), (x, b)], c.stroke_width(2))))?;
            inspect::level(&p.label, "interval", v);
            let at = local(chart.backend_coord(&(x, v)));
            points.push(Point { owner: p.label.clone(), at, marker: marks[k].marker, colour: c, filled: true });
            if p.servers.is_some_and(|s| f64::from(s) == x) {
                rings.push((at, c));
            }
        }
    }
    points::draw_apart(area, &points, 4)?;
    for (at, c) in rings {
        area.draw(&Circle::new(at, 11, c.stroke_width(2)))?;
    }
    // Above the axis: an arrow at the top with the value, stacked per count.
    let (_, top) = local(chart.backend_coord(&(lo, ymax)));
    for (i, &(x, k, v)) in above.iter().enumerate() {
        let slot = above[..i].iter().filter(|a| a.0 == x).count();
        let (px, _) = local(chart.backend_coord(&(f64::from(x), ymax)));
        let label = style::figure(v);
        inspect::figure(&report.strategies[k].label, slo.metric.name(), v, &label);
        points::draw_above(area, (px, top), slot, colours[k], true, &label)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Candidate;
    use crate::plan::slo::Slo;
    use crate::stats::Estimate;

    fn candidate(servers: u32, verdict: Verdict, measures: &[f64]) -> Candidate {
        Candidate {
            servers,
            verdict,
            rho: 0.5,
            seed: 0,
            summary: None,
            drop_rate: None,
            measures: measures
                .iter()
                .map(|&v| Estimate { value: v, ci95: None, bounds: crate::stats::ci::Bounds::NON_NEGATIVE })
                .collect(),
            requests: 1000,
            uncertain: None,
        }
    }

    #[test]
    fn the_binding_slo_is_the_one_failed_just_below_the_answer() {
        let slos = [Slo::parse("p99<=100ms").unwrap(), Slo::parse("utilization<=80%").unwrap()];
        let plan = |cands: Vec<Candidate>, servers| StrategyPlan {
            label: "x".into(),
            servers: Some(servers),
            reason: None,
            candidates: cands,
        };
        // Utilisation fails at 25 (p99 fine): utilisation binds.
        let p = plan(
            vec![
                candidate(21, Verdict::Fail, &[0.12, 0.95]),
                candidate(25, Verdict::Fail, &[0.06, 0.81]),
                candidate(26, Verdict::Pass, &[0.05, 0.78]),
            ],
            26,
        );
        assert_eq!(binding(&slos, &p), Some(Binding::Slos(vec![1])));
        // p99 fails just below: p99 binds.
        let p =
            plan(vec![candidate(37, Verdict::Fail, &[0.101, 0.6]), candidate(38, Verdict::Pass, &[0.097, 0.6])], 38);
        assert_eq!(binding(&slos, &p), Some(Binding::Slos(vec![0])));
        // Nothing simulated below: stability.
        let p = plan(vec![candidate(20, Verdict::Unstable, &[]), candidate(21, Verdict::Pass, &[0.05, 0.7])], 21);
        assert_eq!(binding(&slos, &p), Some(Binding::Stability));
    }
}
