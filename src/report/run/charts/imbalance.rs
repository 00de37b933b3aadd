//! `imbalance.png`: how evenly each strategy spread the requests, three measures side by side.
//!
//! Max/mean requests per server (1 = even), their coefficient of variation (0 = even) and
//! Jain's fairness index (1 = even), one row per strategy in every panel, as dots with the
//! 95% confidence interval when there are replications, and the even-split value marked.
//! Dots rather than bars: the interesting range (say 1.000 to 1.007) is far from zero.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Report, RunChart, frame, strategy_colours};
use crate::report::charts::style::{AXIS_PX, GUIDE, INK, LEGEND_PX, TICK_PX};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, canvas, fit, key_row, text};
use crate::stats::{Estimate, StrategySummary};

/// The chart.
pub static CHART: RunChart = RunChart::new("imbalance.png", draw);

struct Measure {
    title: &'static str,
    axis: &'static str,
    even: f64,
    value: fn(&StrategySummary) -> Estimate,
}

const MEASURES: [Measure; 3] = [
    Measure {
        title: "max / mean",
        axis: "busiest server's requests ÷ mean (1 = even)",
        even: 1.0,
        value: |s| s.load_max_over_mean,
    },
    Measure {
        title: "coefficient of variation",
        axis: "std-dev ÷ mean of requests per server (0 = even)",
        even: 0.0,
        value: |s| s.load_cv,
    },
    Measure { title: "Jain's fairness index", axis: "(Σx)² ÷ (n·Σx²)  (1 = even)", even: 1.0, value: |s| s.jain },
];

/// The x range of a panel: the even value, every dot and interval, with room for the value
/// labels on the side away from the even value (left of the dots when even is the largest
/// possible value, as for Jain's index), and the number of decimals that tells values apart.
fn range(values: &[Estimate], even: f64, labels_left: bool) -> (f64, f64, usize) {
    let mut lo = even;
    let mut hi = even;
    for e in values.iter().filter(|e| e.value.is_finite()) {
        let ci = e.ci95.unwrap_or(0.0);
        lo = lo.min(e.value - ci);
        hi = hi.max(e.value + ci);
    }
    let span = (hi - lo).max(1e-9);
    let decimals = ((-span.log10()).ceil() as i64 + 2).clamp(3, 8) as usize;
    let span = span.max(1e-4 * even.abs().max(1.0) / 10f64.powi(decimals as i32 - 4));
    if labels_left {
        (lo - span * 0.30, hi + span * 0.06, decimals)
    } else {
        (lo - span * 0.06, hi + span * 0.30, decimals)
    }
}

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let body = frame(root, report, "load imbalance across servers")?;
    let reps = report.scenario.replications;
    let mut key = vec![LegendEntry::new("an even split", GUIDE, Swatch::Dashed)];
    if reps > 1 {
        key.push(LegendEntry::new("95% confidence interval over replications", INK, Swatch::Line));
    }
    let body = key_row(&body, &key)?;
    let colours = strategy_colours(report);
    let n = report.strategies.len();
    // A label column for the strategy names, then three equal panels.
    let label_w =
        report.strategies.iter().map(|s| canvas::text_size(&s.label, LEGEND_PX).0).max().unwrap_or(0).clamp(60, 260)
            + 16;
    let (labels, panels) = body.split_horizontally(label_w);
    let panels = panels.split_evenly((1, 3));
    let row_px = if n > 12 { TICK_PX - 1.0 } else { LEGEND_PX };
    let mut row_centres: Vec<i32> = Vec::new();
    for (m, panel) in MEASURES.iter().zip(&panels) {
        let values: Vec<Estimate> = report.strategies.iter().map(|s| (m.value)(s)).collect();
        // Labels go left when the even value is the best possible one on the right (Jain).
        let labels_left = m.even != 0.0 && values.iter().all(|e| e.value.is_nan() || e.value <= m.even);
        let (lo, hi, decimals) = range(&values, m.even, labels_left);
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
        for (k, e) in values.iter().enumerate() {
            let y = (n - 1 - k) as f64;
            row_centres.push(chart.backend_coord(&(lo, y)).1);
            let c = colours[k];
            if !e.value.is_finite() {
                continue;
            }
            if let Some(ci) = e.ci95 {
                chart.draw_series(LineSeries::new(vec![(e.value - ci, y), (e.value + ci, y)], c.stroke_width(2)))?;
            }
            chart.draw_series(std::iter::once(Circle::new((e.value, y), if n > 12 { 5 } else { 7 }, c.filled())))?;
            let ci = e.ci95.unwrap_or(0.0);
            let label = format!("{:.*}", decimals, e.value);
            let style = text(row_px - 1.0, &INK);
            if labels_left {
                let (px, py) = chart.backend_coord(&(e.value - ci, y));
                root.draw_text(&label, &style.pos(Pos::new(HPos::Right, VPos::Center)), (px - 10, py))?;
            } else {
                let (px, py) = chart.backend_coord(&(e.value + ci, y));
                root.draw_text(&label, &style.pos(Pos::new(HPos::Left, VPos::Center)), (px + 10, py))?;
            }
        }
    }
    // Strategy names, right-aligned against the first panel, in their colours.
    let (lx, ly) = labels.get_base_pixel();
    for (k, s) in report.strategies.iter().enumerate() {
        let name = fit(&labels, &s.label, label_w - 12, row_px)?;
        root.draw_text(
            &name,
            &text(row_px, &colours[k]).pos(Pos::new(HPos::Right, VPos::Center)),
            (lx + label_w as i32 - 6, row_centres.get(k).copied().unwrap_or(ly)),
        )?;
    }
    Ok(())
}
