//! `percentiles.png`: p50, p90, p99 and p99.9 of the response time per strategy, as grouped
//! bars: one group per percentile, one bar per strategy in its colour.
//!
//! Strategies are ranked by p99 (best first) in every group and in the legend, so the
//! order itself is the ranking. Bars carry their value when there is room, and the 95%
//! confidence interval when there are replications.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Report, RunChart, frame, strategy_colours};
use crate::report::charts::style::{self, AXIS_PX, INK, TICK_PX};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, text, with_legend};
use crate::stats::{Estimate, StrategySummary};

/// The chart.
pub static CHART: RunChart = RunChart::new("percentiles.png", draw);

/// Reads one percentile estimate of a strategy.
type Pick = fn(&StrategySummary) -> Estimate;

const GROUPS: [(&str, Pick); 4] = [("p50", |s| s.p50), ("p90", |s| s.p90), ("p99", |s| s.p99), ("p99.9", |s| s.p999)];

/// Strategy indices, best p99 first (strategies without data last, in scenario order).
pub fn ranking(report: &Report) -> Vec<usize> {
    let mut order: Vec<usize> = (0..report.strategies.len()).collect();
    let key = |i: usize| {
        let v = report.strategies[i].p99.value;
        if v.is_finite() { v } else { f64::INFINITY }
    };
    order.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
    order
}

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let body = frame(root, report, "response-time percentiles")?;
    let colours = strategy_colours(report);
    let order = ranking(report);
    let entries: Vec<LegendEntry> = order
        .iter()
        .enumerate()
        .map(|(rank, &i)| {
            LegendEntry::new(format!("{}. {}", rank + 1, report.strategies[i].label), colours[i], Swatch::Block)
        })
        .collect();
    let (plot, _) = with_legend(&body, "ranked by p99", &entries)?;
    let n = order.len();
    let top = report
        .strategies
        .iter()
        .flat_map(|s| GROUPS.iter().map(move |g| (g.1)(s)))
        .map(|e| e.value + e.ci95.unwrap_or(0.0))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        * 1e3;
    let top = if top > 0.0 { top * 1.12 } else { 1.0 };
    let mut chart = ChartBuilder::on(&plot)
        .margin_top(12)
        .margin_right(20)
        .x_label_area_size(56)
        .y_label_area_size(76)
        .build_cartesian_2d(0f64..GROUPS.len() as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(8)
        .y_label_formatter(&|y| style::short(*y))
        .x_desc("percentile of response time")
        .y_desc("response time (ms)")
        .axis_desc_style(text(AXIS_PX, &INK))
        .label_style(text(TICK_PX, &INK))
        .bold_line_style(RGBColor(230, 230, 230))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    // Each group spans [g + 0.1, g + 0.9]; bars split it evenly.
    let slot = 0.8 / n.max(1) as f64;
    let bar_px = chart.backend_coord(&(slot, 0.0)).0 - chart.backend_coord(&(0.0, 0.0)).0;
    let labelled = bar_px >= 30;
    let value_px = if bar_px >= 44 { TICK_PX } else { TICK_PX - 2.0 };
    for (g, (name, value)) in GROUPS.iter().enumerate() {
        let (gx, gy) = chart.backend_coord(&(g as f64 + 0.5, 0.0));
        root.draw_text(name, &text(AXIS_PX, &INK).pos(Pos::new(HPos::Center, VPos::Top)), (gx, gy + 8))?;
        for (k, &i) in order.iter().enumerate() {
            let e = value(&report.strategies[i]);
            if !e.value.is_finite() {
                continue;
            }
            let v = e.value * 1e3;
            let x0 = g as f64 + 0.1 + k as f64 * slot;
            let gap = (slot * 0.12).min(0.01);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0 + gap, 0.0), (x0 + slot - gap, v)],
                colours[i].filled(),
            )))?;
            let mid = x0 + slot / 2.0;
            let mut label_at = v;
            if let Some(ci) = e.ci95 {
                let ci = ci * 1e3;
                let w = slot * 0.2;
                chart.draw_series(LineSeries::new(vec![(mid, v - ci), (mid, v + ci)], INK.stroke_width(1)))?;
                for y in [v - ci, v + ci] {
                    chart.draw_series(LineSeries::new(vec![(mid - w, y), (mid + w, y)], INK.stroke_width(1)))?;
                }
                label_at = v + ci;
            }
            if labelled {
                let (px, py) = chart.backend_coord(&(mid, label_at));
                root.draw_text(
                    &style::short(v),
                    &text(value_px, &INK).pos(Pos::new(HPos::Center, VPos::Bottom)),
                    (px, py - 3),
                )?;
            }
        }
    }
    Ok(())
}
