//! `response_time_cdf.png`: the response-time distribution of every strategy.
//!
//! x is the response time on a log scale; y is the fraction of requests at or below it on a
//! "nines" scale (−log₁₀(1 − fraction): 0%, 90%, 99%, 99.9%, … equally spaced), so the tail,
//! where strategies differ most, gets as much room as the body. Dashed guides and dots mark
//! p50, p99 and p99.9. The axis stops at the highest percentile every strategy has at least
//! ten measured requests beyond (99.99% for a million requests).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Report, RunChart, frame, strategy_colours};
use crate::report::charts::style::{self, AXIS_PX, GUIDE, INK, TICK_PX};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, axis, text, with_legend};
use crate::stats::LatencyHistogram;

/// The chart.
pub static CHART: RunChart = RunChart::new("response_time_cdf.png", draw);

/// y units per nine (y is an integer axis in thousandths of a nine).
const UNIT: f64 = 1000.0;

/// The percentiles marked on every curve: (fraction, label).
const MARKS: [(f64, &str); 3] = [(0.5, "p50"), (0.99, "p99"), (0.999, "p99.9")];

fn nines(q: f64) -> f64 {
    -(1.0 - q).log10()
}

/// The empirical CDF as (response ms, fraction at or below) at each distinct recorded value.
pub fn cdf_points(h: &LatencyHistogram) -> Vec<(f64, f64)> {
    let n = h.count() as f64;
    let mut cum = 0u64;
    h.inner()
        .iter_recorded()
        .map(|v| {
            cum += v.count_at_value();
            (v.value_iterated_to() as f64 * 1e-6, cum as f64 / n)
        })
        .collect()
}

/// The curve, resampled every [`STEP`] thousandths of a nine up to `y_top` (a smooth line
/// whatever the number of distinct recorded values; finer at the very bottom), with values
/// below `lo` ms drawn at `lo` (they are all within the first percent).
fn curve(h: &LatencyHistogram, lo: f64, y_top: i32) -> Vec<(f64, i32)> {
    let cdf = cdf_points(h);
    let Some(&(last, _)) = cdf.last() else { return Vec::new() };
    let n = h.count() as f64;
    let mut out = Vec::new();
    let ys = [0, 1, 2, 4, 8].into_iter().chain((STEP as i32..=y_top).step_by(STEP));
    for y in ys {
        let q = 1.0 - 10f64.powf(-f64::from(y) / UNIT);
        if q > 1.0 - 1.0 / n {
            break;
        }
        // The smallest recorded value with at least a fraction q at or below it.
        let i = cdf.partition_point(|&(_, f)| f < q);
        let x = cdf.get(i).map_or(last, |p| p.0);
        out.push((x.max(lo), y));
    }
    out
}

/// Resampling step of the curves, thousandths of a nine.
const STEP: usize = 16;

fn percent_label(nines_k: f64) -> String {
    // 0 → 0%, 0.301 → 50%, 1 → 90%, 2 → 99%, 3 → 99.9%, …
    let pct = 100.0 * (1.0 - 10f64.powf(-nines_k));
    let digits = if nines_k < 1.5 { 0 } else { (nines_k.round() as usize).saturating_sub(2) };
    format!("{pct:.digits$}%")
}

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let body = frame(root, report, "response-time distribution")?;
    let colours = strategy_colours(report);
    let with_data: Vec<usize> =
        (0..report.strategies.len()).filter(|&i| report.strategies[i].response.count() > 0).collect();
    let entries: Vec<LegendEntry> = report
        .strategies
        .iter()
        .zip(&colours)
        .map(|(s, &c)| {
            let p99 = s.response.quantile(0.99) * 1e3;
            let text = if p99.is_finite() {
                format!("{}  (p99 {})", s.label, style::ms_label(p99))
            } else {
                format!("{}  (no data)", s.label)
            };
            LegendEntry::new(text, c, Swatch::Line)
        })
        .collect();
    let (plot, _) = with_legend(&body, "strategy", &entries)?;
    if with_data.is_empty() {
        plot.draw_text("no measured request completed", &text(AXIS_PX, &INK), (40, 40))?;
        return Ok(());
    }
    let n_min = with_data.iter().map(|&i| report.strategies[i].response.count()).min().unwrap_or(1);
    let top = ((n_min as f64).log10().floor() - 1.0).clamp(1.0, 5.0);
    let q_top = 1.0 - 10f64.powf(-top);
    let lo =
        with_data.iter().map(|&i| report.strategies[i].response.quantile(0.01) * 1e3).fold(f64::INFINITY, f64::min);
    let hi = with_data.iter().map(|&i| report.strategies[i].response.quantile(q_top) * 1e3).fold(0.0, f64::max);
    let lo = axis::log_floor((lo * 0.7).max(1e-6));
    let hi = axis::log_ceil((hi * 1.15).max(lo * 10.0));
    let y_top = (top * UNIT) as i32;
    let mut keys: Vec<i32> = vec![0, (nines(0.5) * UNIT).round() as i32];
    keys.extend((1..=top as i32).map(|k| k * UNIT as i32));
    let mut chart = ChartBuilder::on(&plot)
        .margin_top(8)
        .margin_right(28)
        .x_label_area_size(56)
        .y_label_area_size(84)
        .build_cartesian_2d((lo..hi).log_scale(), (0..y_top).with_key_points(keys))?;
    chart
        .configure_mesh()
        .x_desc("response time (ms, log scale)")
        .y_desc("requests at or below (tail stretched: each step 10× rarer)")
        .x_label_formatter(&|x| style::short(*x))
        .y_label_formatter(&|y| percent_label(f64::from(*y) / UNIT))
        .axis_desc_style(text(AXIS_PX, &INK))
        .label_style(text(TICK_PX, &INK))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;
    // Percentile guides.
    for (q, name) in MARKS {
        let y = (nines(q) * UNIT).round() as i32;
        if y > y_top {
            continue;
        }
        chart.draw_series(DashedLineSeries::new(vec![(lo, y), (hi, y)], 6, 5, GUIDE.stroke_width(1)))?;
        // Labelled at the left, where the curves have not risen yet.
        let (px, py) = chart.backend_coord(&(lo, y));
        root.draw_text(name, &text(TICK_PX, &GUIDE).pos(Pos::new(HPos::Left, VPos::Bottom)), (px + 8, py - 3))?;
    }
    for &i in &with_data {
        let s = &report.strategies[i];
        let c = colours[i];
        let pts = curve(&s.response, lo, y_top);
        chart.draw_series(LineSeries::new(pts, c.stroke_width(3)))?;
        for (q, _) in MARKS {
            let y = (nines(q) * UNIT).round() as i32;
            let x = s.response.quantile(q) * 1e3;
            if y <= y_top && x >= lo {
                chart.draw_series(std::iter::once(Circle::new((x, y), 5, c.filled())))?;
                chart.draw_series(std::iter::once(Circle::new((x, y), 5, WHITE.stroke_width(1))))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_labels() {
        assert_eq!(percent_label(0.0), "0%");
        assert_eq!(percent_label(nines(0.5)), "50%");
        assert_eq!(percent_label(1.0), "90%");
        assert_eq!(percent_label(2.0), "99%");
        assert_eq!(percent_label(3.0), "99.9%");
        assert_eq!(percent_label(4.0), "99.99%");
    }
}
