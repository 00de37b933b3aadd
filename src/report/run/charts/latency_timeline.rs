//! `latency_timeline.png`: p99 of the response times over simulated time, one line per
//! strategy, beside the queue timeline.
//!
//! Each point is the p99 of the responses that came back in one sampling interval of
//! timeseries.csv (by completion time, first replication, warm-up included), exactly
//! latency_timeseries.csv's `p99_ms`; an interval in which nothing completed leaves a gap.
//! The y axis is logarithmic when the values span more than [`axis::LOG_SPAN`], as they do
//! when a queue runs away during a fault. The warm-up, fault windows and flash crowds are
//! shaded as in queue_timeline.png, the busiest span of a time-varying rate is outlined, and
//! each phase's end is marked, with, per strategy, a tick where its p99 and goodput were
//! back to normal (phases.csv's `recovery_s`). The legend gives each strategy's highest
//! windowed p99 and its p99 in each phase, as in phases.csv. When any request failed, was dropped or timed
//! out, a panel below draws those per second (latency_timeseries.csv's `failed_per_s`):
//! the intervals in which nothing completed are gaps above and failures below.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::time_axes;
use super::{Report, RunChart, framed, strategy_colours, strategy_marks};
use crate::duration::format_duration;
use crate::report::charts::style::{self, AXIS_PX, INK, TICK_PX};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, axis, inspect, marks, text, with_legend};
use crate::report::run::phases;
use crate::stats::window_latency::RELATIVE_ERROR;

/// The chart.
pub static CHART: RunChart = RunChart::new("latency_timeline.png", draw);

/// Outline of the busiest span of a time-varying rate.
const PEAK_LINE: RGBColor = RGBColor(120, 120, 120);

/// Each strategy's points: (time s, p99 ms) per interval with completions; `None` for a gap.
fn points(s: &crate::stats::StrategySummary) -> Vec<Option<(f64, f64)>> {
    let t = &s.timeline;
    (1..t.len())
        .map(|k| t.latency(k).filter(|w| w.completed > 0).map(|w| (t.time(k), w.quantile(0.99) * 1e3)))
        .collect()
}

fn note(report: &Report) -> String {
    let interval = report.strategies.first().map_or(0.0, |s| s.timeline.interval());
    let reps = report.scenario.replications;
    let stuck = report.strategies.iter().any(|s| s.recovery.is_some_and(|r| !r.all));
    format!(
        "Each point: p99 of the responses completed in one {} interval (latency_timeseries.csv; percentiles within \
         ±{:.1}%){}. Legend: highest windowed p99, and p99 in each phase (phases.csv). Ticks at the top: when each \
         strategy's p99 and goodput were back to normal after a phase (recovery_s){}.",
        format_duration(interval),
        RELATIVE_ERROR * 100.0,
        if reps > 1 { format!(", replication 1 of {reps}") } else { String::new() },
        if stuck { "; a cross at the right edge: not back to normal by the end (recovered = 0)" } else { "" },
    )
}

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let body = framed(root, report, "p99 response time over time", &note(report))?;
    let colours = strategy_colours(report);
    let marks_ = strategy_marks(report);
    let series: Vec<Vec<Option<(f64, f64)>>> = report.strategies.iter().map(points).collect();
    let figures = phases::all_figures(report);
    let mut entries = Vec::new();
    let metastable = report.scenario.client.is_some_and(|c| c.max_retries > 0);
    for (i, s) in report.strategies.iter().enumerate() {
        let top = series[i].iter().flatten().map(|p| p.1).fold(f64::NAN, f64::max);
        let mut t = if top.is_finite() {
            let shown = style::figure(top);
            inspect::figure(&s.label, "windowed_p99_max", top, &shown);
            format!("{}  max\u{a0}{shown}\u{a0}ms", s.label)
        } else {
            format!("{}  (no request completed)", s.label)
        };
        for (_, p, f) in figures.iter().filter(|(j, _, _)| *j == i) {
            if f.p99.is_finite() {
                let shown = style::figure(f.p99 * 1e3);
                inspect::figure(&s.label, &format!("phase p99 {}", p.name), f.p99 * 1e3, &shown);
                t.push_str(&format!("; {}: {shown}\u{a0}ms", p.name));
            }
        }
        if let Some(missing) = super::not_completed(s) {
            t.push_str(&format!(" · not drawn: {missing}"));
        }
        if s.is_unstable() {
            t.push_str(" · UNSTABLE: queues grow, a transient");
        }
        if s.recovery.is_some_and(|r| !r.all) {
            t.push_str(if metastable { " · metastable: did not recover" } else { " · did not recover" });
        }
        entries.push(LegendEntry::new(t, colours[i], Swatch::Line));
    }
    let mut key = entries;
    key.extend(time_axes::shading_key(report));
    let all_phases = phases::phases(report);
    let peak = all_phases.iter().find(|p| p.kind == "peak");
    if let Some(p) = peak {
        key.push(LegendEntry::new(p.name.clone(), PEAK_LINE, Swatch::Line));
    }
    let (plot, _) = with_legend(&body, "strategy · p99 (ms)", &key)?;
    // Failures per second in a panel below, when any request failed, was dropped or timed out.
    let failed: Vec<Vec<(f64, f64)>> = report.strategies.iter().map(failures).collect();
    let any_failed = failed.iter().flatten().any(|p| p.1 > 0.0);
    let (plot, lower) = if any_failed {
        let h = plot.dim_in_pixel().1;
        let (upper, lower) = plot.split_vertically(h * 68 / 100);
        (upper, Some(lower))
    } else {
        (plot, None)
    };
    let values: Vec<f64> = series.iter().flatten().flatten().map(|p| p.1).collect();
    let (lo, hi) = axis::positive_extent(values.iter().copied());
    if hi.is_nan() || hi <= 0.0 {
        plot.draw_text("no request completed", &text(AXIS_PX, &INK), (40, 40))?;
        return Ok(());
    }
    let t_end = report.strategies.iter().map(|s| s.timeline.end).fold(0.0, f64::max).max(1e-9);
    let log = axis::wants_log(values.iter().copied());
    let (y_lo, y_hi) = if log { axis::log_range(lo * 0.9, hi * 1.1) } else { (0.0, axis::linear_top(hi * 1.05)) };
    inspect::axis("latency_timeline y", (y_lo, y_hi), log, values.iter().copied());
    // y in axis units: log10 of ms on a log axis (plotters' log scale has no gaps API).
    let y = |v: f64| if log { v.max(y_lo).log10() } else { v };
    let (a, b) = (y(y_lo), y(y_hi));
    let ticks: Vec<f64> = if log { axis::log_ticks(y_lo, y_hi) } else { axis::linear_ticks(y_hi, 6, false) };
    let mut chart = ChartBuilder::on(&plot)
        .margin_top(8)
        .margin_right(28)
        .x_label_area_size(if lower.is_some() { 30 } else { 56 })
        .y_label_area_size(84)
        .build_cartesian_2d(0f64..t_end, a..b)?;
    let x_desc = if lower.is_some() { "" } else { "simulated time (s)" };
    let y_desc = if log { "p99 response time (ms, log scale)" } else { "p99 response time (ms)" };
    time_axes::mesh(root, &mut chart, (x_desc, y_desc), &ticks, y, t_end)?;
    time_axes::shade(&mut chart, report, t_end, (a, b))?;
    if let Some(p) = peak {
        chart.draw_series(std::iter::once(Rectangle::new([(p.start, a), (p.end, b)], PEAK_LINE.stroke_width(2))))?;
    }
    for (i, pts) in series.iter().enumerate() {
        // One polyline per run of intervals with completions.
        for run in pts.split(Option::is_none) {
            let px: Vec<(i32, i32)> = run.iter().flatten().map(|&(t, v)| chart.backend_coord(&(t, y(v)))).collect();
            if px.len() == 1 {
                root.draw(&Circle::new(px[0], 2, colours[i].filled()))?;
            }
            marks::draw_line(root, &px, colours[i], 2, marks_[i].dash)?;
        }
    }
    // Recovery: a tick on each strategy's line where it was back to normal after a phase.
    for (i, p, f) in &figures {
        if let Some(r) = f.recovery.filter(|r| r.is_finite()) {
            let at = (p.end + r).min(t_end);
            let (px, py) = chart.backend_coord(&(at, b));
            root.draw(&PathElement::new(vec![(px, py), (px, py + 14)], colours[*i].stroke_width(3)))?;
        }
    }
    // A strategy still not back to normal at the end: a cross at the right edge, labelled.
    let (edge, top) = chart.backend_coord(&(t_end, b));
    let stuck = report.strategies.iter().enumerate().filter(|(_, s)| s.recovery.is_some_and(|r| !r.all));
    for (k, (i, _)) in stuck.enumerate() {
        let y0 = top + 24 + 20 * k as i32;
        root.draw(&Cross::new((edge - 6, y0), 6, colours[i].stroke_width(3)))?;
        let label = text(TICK_PX, &colours[i]).pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new("not recovered".to_string(), (edge - 18, y0), label))?;
    }
    if let Some(lower) = lower {
        let top = failed.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
        let top = axis::linear_top(top * 1.05);
        inspect::axis("latency_timeline failed", (0.0, top), false, failed.iter().flatten().map(|p| p.1));
        let mut chart = ChartBuilder::on(&lower)
            .margin_top(8)
            .margin_right(28)
            .x_label_area_size(56)
            .y_label_area_size(84)
            .build_cartesian_2d(0f64..t_end, 0f64..top)?;
        chart
            .configure_mesh()
            .x_desc("simulated time (s)")
            .y_desc("failed/s")
            .x_labels(8)
            .y_labels(4)
            .x_label_formatter(&|x| style::short(*x))
            .y_label_formatter(&|v| style::short(*v))
            .axis_desc_style(text(AXIS_PX, &INK))
            .label_style(text(TICK_PX, &INK))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()?;
        chart.draw_series(report.fault_windows_of(0).filter(|f| f.start < t_end).map(|f| {
            Rectangle::new([(f.start, 0.0), (f.end.unwrap_or(t_end).min(t_end), top)], style::FAULT_SHADE.filled())
        }))?;
        for (i, pts) in failed.iter().enumerate() {
            let px: Vec<(i32, i32)> = pts.iter().map(|&p| chart.backend_coord(&p)).collect();
            marks::draw_line(root, &px, colours[i], 2, marks_[i].dash)?;
        }
    }
    Ok(())
}

/// Each strategy's requests failed, dropped or timed out per second, per interval.
fn failures(s: &crate::stats::StrategySummary) -> Vec<(f64, f64)> {
    let t = &s.timeline;
    (1..t.len()).filter_map(|k| t.latency(k).map(|w| (t.time(k), w.failed as f64 / t.interval()))).collect()
}
