//! `response_time_cdf.png`: the response-time distribution of every strategy.
//!
//! x is the response time on a log scale; y is the fraction of completed requests at or
//! below it on a "nines" scale (−log₁₀(1 − fraction): 0%, 90%, 99%, 99.9%, … equally
//! spaced), so the tail, where strategies differ most, gets as much room as the body. The
//! axis stops at the highest percentile every strategy has at least ten measured requests
//! beyond (99.99% for a million requests).
//!
//! What each part is, as the chart's note says:
//! - the curves: the histogram of completed measured requests, all replications pooled;
//! - the markers on the 50%, 99% and 99.9% guides and the legend's p99: the figures of
//!   summary.csv (each the mean over replications of the replication's percentile), so a
//!   marker can sit a little off its pooled curve (their intervals are in percentiles.png:
//!   bars on one guide would hide each other here);
//! - requests that did not complete (timed out, failed, dropped, still in flight) are in no
//!   curve: the legend gives their share per strategy, and a client timeout is drawn;
//! - for a closed loop, hollow markers: the p99 of an open workload at the rate the clients
//!   achieved, the latency the closed loop hides.
//!
//! Each strategy has its colour and its line style and marker ([`super::strategy_marks`]).

use plotters::coord::combinators::{LogCoord, WithKeyPoints};
use plotters::coord::types::RangedCoordi32;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Report, RunChart, averaged, framed, not_completed, strategy_colours, strategy_marks};
use crate::duration::format_duration;
use crate::report::charts::canvas::Canvas;
use crate::report::charts::marks::Mark;
use crate::report::charts::style::{self, AXIS_PX, GUIDE, INK, MUTED, TICK_PX};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, axis, fit, inspect, marks, text, with_legend};
use crate::stats::{LatencyHistogram, StrategySummary};

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

/// The chart's note: what the curves, markers and legend figures are.
fn note(report: &Report) -> String {
    let reps = report.scenario.replications;
    let mut note = if reps > 1 {
        format!(
            "Curves: completed requests, all {reps} replications pooled. Markers and legend: p50, p99, p99.9 as in \
             summary.csv ({}; intervals in percentiles.png), so a marker can sit a little off its curve.",
            averaged(report)
        )
    } else {
        "Curves: completed requests. Markers and legend: p50, p99, p99.9 as in summary.csv.".to_string()
    };
    if report.strategies.iter().any(|s| not_completed(s).is_some()) {
        note.push_str(" Requests that did not complete are in no curve: the legend gives their share.");
    }
    if report.strategies.iter().any(|s| s.open_model.is_some()) {
        note.push_str(
            " Hollow: p99 of an open workload at the rate the clients achieved (what the closed loop hides).",
        );
    }
    note
}

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let body = framed(root, report, "response-time distribution", &note(report))?;
    let colours = strategy_colours(report);
    let marks = strategy_marks(report);
    let with_data: Vec<usize> =
        (0..report.strategies.len()).filter(|&i| report.strategies[i].response.count() > 0).collect();
    let title = format!("strategy · p99 ({})", averaged(report));
    let (plot, _) = with_legend(&body, &title, &entries(report, &colours, &marks))?;
    if with_data.is_empty() {
        plot.draw_text("no measured request completed", &text(AXIS_PX, &INK), (40, 40))?;
        return Ok(());
    }
    let strategies: Vec<&StrategySummary> = with_data.iter().map(|&i| &report.strategies[i]).collect();
    let timeout = report.scenario.client.and_then(|c| c.timeout).map(|t| t * 1e3);
    let range = Reach::of(&strategies, timeout);
    let (lo, hi, y_top) = (range.lo, range.hi, range.y_top());
    let mut chart = axes(&plot, &range)?;
    // Percentile guides, labelled at the left, where the curves have not risen yet.
    for (q, name) in MARKS {
        let y = (nines(q) * UNIT).round() as i32;
        if y > y_top {
            continue;
        }
        chart.draw_series(DashedLineSeries::new(vec![(lo, y), (hi, y)], 6, 5, GUIDE.stroke_width(1)))?;
        let (px, py) = chart.backend_coord(&(lo, y));
        root.draw_text(name, &text(TICK_PX, &GUIDE).pos(Pos::new(HPos::Left, VPos::Bottom)), (px + 8, py - 3))?;
    }
    if let Some(t) = timeout.filter(|&t| t > lo && t < hi) {
        chart.draw_series(DashedLineSeries::new(vec![(t, 0), (t, y_top)], 3, 4, MUTED.stroke_width(2)))?;
    }
    let px_of = |x: f64, y: i32| chart.backend_coord(&(x, y));
    for &i in &with_data {
        let pts: Vec<(i32, i32)> =
            curve(&report.strategies[i].response, lo, y_top).into_iter().map(|(x, y)| px_of(x, y)).collect();
        marks::draw_line(root, &pts, colours[i], 3, marks[i].dash)?;
    }
    // Markers on top of every curve: the summary's percentiles.
    for &i in &with_data {
        percentile_marks(root, &px_of, &report.strategies[i], &range, colours[i], marks[i])?;
    }
    // The timeout's label last, on white, at the foot of its line (where the curves have
    // long risen), on the side with room for it.
    if let Some(t) = timeout.filter(|&t| t > lo && t < hi) {
        timeout_label(root, &px_of, t, hi)?;
    }
    Ok(())
}

/// The legend: per strategy its p99 (and its open model's), and what is not drawn.
fn entries(report: &Report, colours: &[RGBColor], marks: &[Mark]) -> Vec<LegendEntry> {
    let mut entries: Vec<LegendEntry> = Vec::new();
    for (i, s) in report.strategies.iter().enumerate() {
        let p99 = s.p99.value * 1e3;
        let mut t = if p99.is_finite() {
            let shown = style::figure(p99);
            inspect::figure(&s.label, "p99", p99, &shown);
            format!("{}  p99\u{a0}{shown}\u{a0}ms", s.label)
        } else {
            format!("{}  (no request completed)", s.label)
        };
        if let Some(o) = s.open_model.filter(|o| o.p99.value.is_finite()) {
            let open = style::figure(o.p99.value * 1e3);
            inspect::figure(&s.label, "open_model_p99", o.p99.value * 1e3, &open);
            t.push_str(&format!(", open\u{a0}{open}\u{a0}ms"));
        }
        if let Some(missing) = not_completed(s) {
            t.push_str(&format!(" · not drawn: {missing}"));
        }
        if s.is_unstable() {
            t.push_str(" · UNSTABLE: queues grow, a transient");
        }
        entries.push(LegendEntry::new(t, colours[i], Swatch::Mark(marks[i])));
    }
    entries
}

/// The axes' reach.
struct Reach {
    /// The response-time axis, ms.
    lo: f64,
    hi: f64,
    /// Nines up the y axis: the tail drawn reaches 1 − 10^−top.
    top: f64,
}

impl Reach {
    /// The range for the strategies with data: from their 1st percentile to the farthest
    /// of their drawn tails, marked percentiles, open models and the client's `timeout` (ms).
    fn of(strategies: &[&StrategySummary], timeout: Option<f64>) -> Reach {
        let n_min = strategies.iter().map(|s| s.response.count()).min().unwrap_or(1);
        let top = ((n_min as f64).log10().floor() - 1.0).clamp(1.0, 5.0);
        let q_top = 1.0 - 10f64.powf(-top);
        let lo = strategies.iter().map(|s| s.response.quantile(0.01) * 1e3).fold(f64::INFINITY, f64::min);
        let open = strategies.iter().filter_map(|s| s.open_model.map(|o| o.p99.value * 1e3));
        let marked = strategies.iter().flat_map(|s| [s.p50, s.p99, s.p999]).map(|e| e.value * 1e3);
        let hi = strategies
            .iter()
            .map(|s| s.response.quantile(q_top) * 1e3)
            .chain(open)
            .chain(marked)
            .chain(timeout)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let (lo, hi) = axis::log_range((lo * 0.7).max(1e-6), hi * 1.15);
        inspect::axis(
            "response_time_cdf x",
            (lo, hi),
            true,
            strategies.iter().flat_map(|s| [s.response.quantile(0.01) * 1e3, s.response.quantile(q_top) * 1e3]),
        );
        Reach { lo, hi, top }
    }

    /// The y axis' top, in axis units.
    fn y_top(&self) -> i32 {
        (self.top * UNIT) as i32
    }
}

/// The chart: response time (log) along x, nines up y.
type CdfChart<'a, 'b> =
    ChartContext<'a, Canvas<'b>, Cartesian2d<WithKeyPoints<LogCoord<f64>>, WithKeyPoints<RangedCoordi32>>>;

/// The axes on `plot`, drawn.
fn axes<'a, 'b>(plot: &Area<'b>, range: &Reach) -> DrawResult<CdfChart<'a, 'b>> {
    let (lo, hi) = (range.lo, range.hi);
    let mut keys: Vec<i32> = vec![0, (nines(0.5) * UNIT).round() as i32];
    keys.extend((1..=range.top as i32).map(|k| k * UNIT as i32));
    let plot_w = f64::from(plot.dim_in_pixel().0.saturating_sub(84 + 28));
    let x_keys = axis::log_ticks_fitting(lo, hi, plot_w, 20.0, style::tick, TICK_PX);
    let mut chart = ChartBuilder::on(plot)
        .margin_top(8)
        .margin_right(28)
        .x_label_area_size(56)
        .y_label_area_size(84)
        .build_cartesian_2d(
        (lo..hi).log_scale().with_key_points(x_keys),
        (0..range.y_top()).with_key_points(keys),
    )?;
    chart
        .configure_mesh()
        .x_desc("response time (ms, log scale)")
        .y_desc("completed requests at or below (tail stretched: each step 10× rarer)")
        .x_label_formatter(&|x| style::tick(*x))
        .y_label_formatter(&|y| percent_label(f64::from(*y) / UNIT))
        .axis_desc_style(text(AXIS_PX, &INK))
        .label_style(text(TICK_PX, &INK))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;
    Ok(chart)
}

/// Strategy `s`'s markers on its curve (`px_of`: the chart's pixel of a point): p50, p99
/// and p99.9 filled, its open model's p99 hollow.
fn percentile_marks(
    root: &Area<'_>,
    px_of: &dyn Fn(f64, i32) -> (i32, i32),
    s: &StrategySummary,
    range: &Reach,
    c: RGBColor,
    mark: Mark,
) -> DrawResult {
    let (lo, hi, y_top) = (range.lo, range.hi, range.y_top());
    for ((q, _), e) in MARKS.iter().zip([s.p50, s.p99, s.p999]) {
        // Without their intervals: bars on one guide would hide each other
        // (percentiles.png draws them).
        let y = (nines(*q) * UNIT).round() as i32;
        let x = e.value * 1e3;
        if y > y_top || !x.is_finite() {
            continue;
        }
        marks::draw_marker(root, px_of(x.max(lo), y), mark.marker, 6, c, true)?;
    }
    if let Some(o) = s.open_model.filter(|o| o.p99.value.is_finite()) {
        let y = (nines(0.99) * UNIT).round() as i32;
        marks::draw_marker(root, px_of((o.p99.value * 1e3).clamp(lo, hi), y), mark.marker, 6, c, false)?;
    }
    Ok(())
}

/// The client timeout `t` (ms)'s label, on white, at the foot of its line, on the side
/// with room for it before `hi`.
fn timeout_label(root: &Area<'_>, px_of: &dyn Fn(f64, i32) -> (i32, i32), t: f64, hi: f64) -> DrawResult {
    let label = format!("client timeout {} (per attempt)", format_duration(t / 1e3));
    let (px, py) = px_of(t, 0);
    let (right_end, _) = px_of(hi, 0);
    let w = fit::width(&label, TICK_PX) as i32;
    let x = if px + 8 + w <= right_end { px + 8 } else { px - 8 - w };
    let h = (TICK_PX * 1.3).round() as i32;
    let y = py - 10 - h;
    root.draw(&Rectangle::new([(x - 3, y - 2), (x + w + 3, y + h + 2)], WHITE.filled()))?;
    root.draw_text(&label, &text(TICK_PX, &MUTED).pos(Pos::new(HPos::Left, VPos::Top)), (x, y))?;
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
