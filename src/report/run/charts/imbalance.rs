//! `imbalance.png`: how unevenly each strategy loads the servers, over time and in the long
//! run, strategies ranked.
//!
//! Three panels, one row per strategy, ranked by the first (best on top; unstable ones
//! last, marked UNSTABLE in red):
//! - **N spread**: the time-average of max − min number in system across servers (scaled to
//!   a server of mean capacity when capacities differ) — the dynamic imbalance that explains
//!   the queueing differences between strategies on a homogeneous pool;
//! - **idle while waiting**: the share of time in which some worker idled while a request
//!   waited at another server (capacity the routing left unused; 0 for a central queue);
//! - **max / mean of ρ**: the capacity-normalised long-run load of the busiest server over
//!   the mean (1 = a split in proportion to capacity).
//!
//! Dots, with the 95% confidence interval when there are replications; the even value
//! (0 or 1) dashed. An unstable strategy's values can dwarf the others': each axis covers
//! the stable strategies (and unstable values up to three times as far), and a value beyond is
//! drawn as an arrow at the edge with its number.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Report, RunChart, frame, strategy_colours};
use crate::report::charts::style::{ALERT, AXIS_PX, GUIDE, INK, LEGEND_PX, TICK_PX};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, canvas, fit, key_row, text};
use crate::stats::{Estimate, StrategySummary};

/// The chart.
pub static CHART: RunChart = RunChart::new("imbalance.png", draw);

struct Measure {
    title: &'static str,
    axis: &'static str,
    even: f64,
    /// Shown × this (100 for percentages).
    scale: f64,
    value: fn(&StrategySummary) -> Estimate,
}

const MEASURES: [Measure; 3] = [
    Measure {
        title: "N spread (dynamic)",
        axis: "mean of max − min requests at a server (0 = even)",
        even: 0.0,
        scale: 1.0,
        value: |s| s.queue_spread,
    },
    Measure {
        title: "idle while waiting (dynamic)",
        axis: "% of time a worker idles while a request waits",
        even: 0.0,
        scale: 100.0,
        value: |s| s.idle_while_waiting,
    },
    Measure {
        title: "max / mean of ρ (long run)",
        axis: "busiest server's load ÷ mean load (1 = even)",
        even: 1.0,
        scale: 1.0,
        value: |s| s.load_max_over_mean,
    },
];

/// The x range of a panel and the decimals of its labels: the even value and every stable
/// dot with its interval, and the unstable dots that lie within three times that span (the
/// others are drawn as arrows at the edge); room on the right for the value labels.
fn range(values: &[(Estimate, bool)], even: f64) -> (f64, f64, usize) {
    let ext = |cap: Option<(f64, f64)>| {
        let (clo, chi) = cap.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
        values
            .iter()
            .filter(|(e, u)| e.value.is_finite() && (cap.is_none() || !*u || (clo..=chi).contains(&e.value)))
            .fold((even, even), |(lo, hi), (e, _)| {
                let ci = e.ci95.unwrap_or(0.0);
                (lo.min((e.value - ci).max(clo)), hi.max((e.value + ci).min(chi)))
            })
    };
    let (lo, hi) = if values.iter().any(|(_, u)| !*u) {
        let stable: Vec<(Estimate, bool)> = values.iter().filter(|(_, u)| !*u).cloned().collect();
        let (slo, shi) = range_of(&stable, even);
        let span = (shi - slo).max(1e-9);
        ext(Some((slo - 2.0 * span, shi + 2.0 * span)))
    } else {
        ext(None)
    };
    let span = (hi - lo).max(1e-9);
    let decimals = ((-span.log10()).ceil() as i64 + 2).clamp(1, 6) as usize;
    (lo - span * 0.06, hi + span * 0.34, decimals)
}

/// The even value and every finite dot with its interval.
fn range_of(values: &[(Estimate, bool)], even: f64) -> (f64, f64) {
    values.iter().filter(|(e, _)| e.value.is_finite()).fold((even, even), |(lo, hi), (e, _)| {
        let ci = e.ci95.unwrap_or(0.0);
        (lo.min(e.value - ci), hi.max(e.value + ci))
    })
}

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let body = frame(root, report, "imbalance across servers, strategies ranked by N spread")?;
    let reps = report.scenario.replications;
    let mut key = vec![LegendEntry::new("even (0, or 1 for max/mean)", GUIDE, Swatch::Dashed)];
    if reps > 1 {
        key.push(LegendEntry::new("95% confidence interval over replications", INK, Swatch::Line));
    }
    if report.strategies.iter().any(StrategySummary::is_unstable) {
        key.push(LegendEntry::new(
            "UNSTABLE: queues grow without bound (an arrow: value off the axis)",
            ALERT,
            Swatch::Block,
        ));
    }
    let body = key_row(&body, &key)?;
    let colours = strategy_colours(report);
    // Ranked: stable strategies by N spread, then the unstable ones, each best first.
    let mut order: Vec<usize> = (0..report.strategies.len()).collect();
    let key_of = |i: usize| {
        let s = &report.strategies[i];
        let v = s.queue_spread.value;
        (s.is_unstable(), if v.is_finite() { v } else { f64::INFINITY })
    };
    order.sort_by(|&a, &b| {
        let (ua, va) = key_of(a);
        let (ub, vb) = key_of(b);
        ua.cmp(&ub).then(va.total_cmp(&vb)).then(a.cmp(&b))
    });
    let n = order.len();
    let label_of = |i: usize| {
        let s = &report.strategies[i];
        if s.is_unstable() { format!("{}  UNSTABLE", s.label) } else { s.label.clone() }
    };
    let label_w =
        order.iter().map(|&i| canvas::text_size(&label_of(i), LEGEND_PX).0).max().unwrap_or(0).clamp(60, 280) + 16;
    let (labels, panels) = body.split_horizontally(label_w);
    let panels = panels.split_evenly((1, 3));
    let row_px = if n > 12 { TICK_PX - 1.0 } else { LEGEND_PX };
    let mut row_centres: Vec<i32> = Vec::new();
    for (m, panel) in MEASURES.iter().zip(&panels) {
        let values: Vec<(Estimate, bool)> = order
            .iter()
            .map(|&i| {
                let s = &report.strategies[i];
                let e = (m.value)(s);
                (e.scaled(m.scale), s.is_unstable())
            })
            .collect();
        let (lo, hi, decimals) = range(&values, m.even);
        let mut chart = ChartBuilder::on(panel)
            .caption(m.title, text(AXIS_PX + 1.0, &INK))
            .margin(8)
            .margin_right(16)
            .x_label_area_size(54)
            .y_label_area_size(6)
            .build_cartesian_2d(lo..hi, -0.5f64..n as f64 - 0.5)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(5)
            .x_label_formatter(&|x| format!("{x:.*}", decimals.saturating_sub(1)))
            .x_desc(m.axis)
            .axis_desc_style(text(TICK_PX + 1.0, &INK))
            .label_style(text(TICK_PX, &INK))
            .bold_line_style(RGBColor(230, 230, 230))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        // Row guides, the even value, then the dots.
        for k in 0..n {
            let y = (n - 1 - k) as f64;
            chart.draw_series(LineSeries::new(vec![(lo, y), (hi, y)], RGBColor(242, 242, 242).stroke_width(1)))?;
        }
        chart.draw_series(DashedLineSeries::new(
            vec![(m.even, -0.5), (m.even, n as f64 - 0.5)],
            6,
            5,
            GUIDE.stroke_width(2),
        ))?;
        row_centres.clear();
        let edge = hi - (hi - lo) * 0.3 / 1.34;
        for (k, (e, unstable)) in values.iter().enumerate() {
            let y = (n - 1 - k) as f64;
            row_centres.push(chart.backend_coord(&(lo, y)).1);
            let c = colours[order[k]];
            if !e.value.is_finite() {
                continue;
            }
            let label = format!("{:.*}", decimals, e.value);
            let style = text(row_px - 1.0, if *unstable { &ALERT } else { &INK });
            if e.value > edge {
                // Off the axis: an arrow at the edge and the value.
                let (px, py) = chart.backend_coord(&(edge, y));
                root.draw(&Polygon::new(vec![(px - 6, py - 7), (px + 6, py), (px - 6, py + 7)], ALERT.filled()))?;
                root.draw_text(&label, &style.pos(Pos::new(HPos::Left, VPos::Center)), (px + 10, py))?;
                continue;
            }
            // The interval clipped at the quantity's physical bounds.
            if let Some((a, b)) = e.interval() {
                let (a, b) = (a.max(lo), b.min(edge));
                chart.draw_series(LineSeries::new(vec![(a, y), (b, y)], c.stroke_width(2)))?;
            }
            let dot = if n > 12 { 5 } else { 7 };
            chart.draw_series(std::iter::once(Circle::new((e.value, y), dot, c.filled())))?;
            if *unstable {
                chart.draw_series(std::iter::once(Circle::new((e.value, y), dot + 3, ALERT.stroke_width(2))))?;
            }
            let ci = e.ci95.unwrap_or(0.0);
            let (px, py) = chart.backend_coord(&((e.value + ci).min(edge), y));
            // Clear of the dot (and of the red ring around an unstable one).
            let gap = if *unstable { dot + 8 } else { 10 };
            root.draw_text(&label, &style.pos(Pos::new(HPos::Left, VPos::Center)), (px + gap, py))?;
        }
    }
    // Strategy names, right-aligned against the first panel, in their colours (UNSTABLE in red).
    let (lx, ly) = labels.get_base_pixel();
    for (k, &i) in order.iter().enumerate() {
        let s = &report.strategies[i];
        let y = row_centres.get(k).copied().unwrap_or(ly);
        let right = lx + label_w as i32 - 6;
        let name = fit(&labels, &s.label, label_w - 12, row_px)?;
        if s.is_unstable() {
            let tag = "  UNSTABLE";
            let tag_w = canvas::text_size(tag, row_px).0 as i32;
            root.draw_text(tag, &text(row_px, &ALERT).pos(Pos::new(HPos::Right, VPos::Center)), (right, y))?;
            root.draw_text(
                &name,
                &text(row_px, &colours[i]).pos(Pos::new(HPos::Right, VPos::Center)),
                (right - tag_w, y),
            )?;
        } else {
            root.draw_text(&name, &text(row_px, &colours[i]).pos(Pos::new(HPos::Right, VPos::Center)), (right, y))?;
        }
    }
    Ok(())
}
