//! `queue_timeline.png`: requests in system per server over simulated time, one panel per
//! strategy.
//!
//! From the engine's sampled time series (first replication), each point the exact
//! time-average over one sampling interval: a translucent band from the least to the most
//! loaded server, and a line for the mean per server. The band's width is the imbalance a
//! reader wants to see: queues that build up on one server while others idle. Pools of any
//! size are drawn the same way (never one line per server). The warm-up, excluded from every
//! statistic, is shaded, and so are fault windows and flash crowds (`[[arrivals.spike]]`).
//!
//! Every panel shares both axes. The y axis is linear, or — when the highest peak is more
//! than [`axis::LOG_SPAN`] times the lowest panel's mean, as when one strategy's queues run
//! away or a hash ring concentrates a spike — log₁₀(1 + n) ([`axis::symlog`]), which keeps
//! zero and shows a queue of one next to a queue of thousands. Nothing is ever cut off.
//!
//! Each panel's title gives the strategy and two figures of every replication (not only
//! the one drawn): the time-averaged number in system per server over the measured window
//! (summary.csv's `mean_in_system` ÷ servers) and the most requests at one server at any
//! instant (the largest `max_in_system` of servers.csv), which the interval averages drawn
//! never quite reach.

use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::time_axes::SPIKE_SHADE;
use super::{Report, RunChart, framed, strategy_colours};
use crate::report::charts::canvas::Canvas;
use crate::report::charts::style::{self, INK, LEGEND_PX, MUTED, SHADE, TICK_PX};
use crate::report::charts::{
    Area, DrawResult, LegendEntry, Multiples, Swatch, axis, fit, inspect, key_row, shared_y_title, text,
};
use crate::scenario::faults::{FAULT_TYPES, FaultWindow};
use crate::workload::rate::Spike;

/// The chart.
pub static CHART: RunChart = RunChart::new("queue_timeline.png", draw);

/// The strip marking a faulted server out of rotation.
const OUT_OF_ROTATION: RGBColor = RGBColor(120, 40, 40);

/// The shared y axis of the panels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// Linear from 0 to the value.
    Linear(f64),
    /// log₁₀(1 + n) from 0 to the value (in requests).
    SymLog(f64),
}

impl Scale {
    /// Where `v` requests sit on the axis.
    fn y(self, v: f64) -> f64 {
        match self {
            Scale::Linear(top) => v.clamp(0.0, top),
            Scale::SymLog(top) => axis::symlog(v.clamp(0.0, top)),
        }
    }

    /// The axis' top, in axis units.
    fn top(self) -> f64 {
        match self {
            Scale::Linear(top) => top,
            Scale::SymLog(top) => axis::symlog(top),
        }
    }
}

/// The shared scale for panels whose highest interval-average peaks are `peaks` and whose
/// time-averaged means per server are `levels`: linear up to the highest peak, or
/// [`Scale::SymLog`] when it is more than [`axis::LOG_SPAN`] times the lowest positive level
/// (the quietest panel would otherwise be a line at zero).
pub fn shared_scale(peaks: &[f64], levels: &[f64]) -> Scale {
    let top = peaks.iter().copied().filter(|p| p.is_finite()).fold(0.0, f64::max);
    let (lowest, _) = axis::positive_extent(levels.iter().copied());
    if lowest > 0.0 && top / lowest > axis::LOG_SPAN {
        Scale::SymLog(axis::log_ceil(top * 1.05))
    } else {
        Scale::Linear((top * 1.08).max(1.0))
    }
}

/// The spikes of the arrival rate, if any.
fn spikes(report: &Report) -> &[Spike] {
    report.scenario.arrivals.spikes()
}

fn note(report: &Report, scale: Scale) -> String {
    let reps = report.scenario.replications;
    let mut note = if reps > 1 { format!("Replication 1 of {reps} drawn. ") } else { String::new() };
    note.push_str(&format!(
        "Titles{}: mean per server over the measured window; max = most requests at one server at any instant.",
        if reps > 1 { format!(", over all {reps} replications") } else { String::new() }
    ));
    if matches!(scale, Scale::SymLog(_)) {
        note.push_str(" Log scale (0 kept): the highest peak is over 30× the quietest panel's mean.");
    }
    note
}

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let servers = report.scenario.server_count().max(1) as f64;
    let peaks: Vec<f64> = report.strategies.iter().map(|s| s.timeline.peak()).collect();
    let levels: Vec<f64> = report.strategies.iter().map(|s| s.mean_in_system.value / servers).collect();
    let scale = shared_scale(&peaks, &levels);
    let body = framed(root, report, "requests in system over time", &note(report, scale))?;
    // The timeline is replication 0's; its fault windows are the same for every strategy.
    let faults: Vec<&FaultWindow> = report.fault_windows_of(0).collect();
    let spikes = spikes(report);
    let rotation = report.strategies.iter().any(|s| !out_of_rotation(s, f64::INFINITY).is_empty());
    let body = key_row(&body, &legend(&faults, spikes, rotation))?;
    let colours = strategy_colours(report);
    let t_end = report.strategies.iter().map(|s| s.timeline.end).fold(0.0, f64::max).max(1e-9);
    let grid = Multiples::of(report.strategies.len());
    let body = shared_y_title(&body, "requests in system per server")?;
    let panels = body.split_evenly((grid.rows, grid.cols));
    inspect::axis(
        "queue_timeline y",
        (0.0, scale.top()),
        matches!(scale, Scale::SymLog(_)),
        peaks.iter().copied().chain(levels.iter().copied()),
    );
    // Titles: the label, then its figures (on the same line when it fits).
    let panel_w = panels.first().map_or(0, |p| p.dim_in_pixel().0.saturating_sub(12));
    let captions: Vec<Caption> =
        report.strategies.iter().zip(&levels).map(|(s, &level)| caption(s, level, panel_w)).collect();
    let caption_h = captions.iter().map(Caption::height).max().unwrap_or(0);
    // Ticks at least 1.6 lines apart on the panels' plots (the bottom row's, whose x axis
    // takes the most room).
    let x_area = if grid.small() { 40 } else { 48 };
    let plot_h = panels.first().map_or(100, |p| p.dim_in_pixel().1 as i32 - caption_h - 6 - 8 - x_area);
    let min_gap = f64::from(plot_h.max(1)) / (grid.tick_px() * 1.6);
    let axes = Axes { scale, y_ticks: y_ticks(scale, min_gap), t_end, x_area, grid };
    for (i, (s, panel)) in report.strategies.iter().zip(&panels).enumerate() {
        let (head, plot) = panel.split_vertically(caption_h + 6);
        captions[i].draw(&head, if s.is_unstable() { style::ALERT } else { colours[i] })?;
        let mut chart = axes.draw(&plot, i)?;
        let y_top = axes.y_top();
        if let Some(w) = s.timeline.warmup_end.filter(|&w| w > 0.0) {
            chart.draw_series(std::iter::once(Rectangle::new([(0.0, 0), (w.min(t_end), y_top)], SHADE.filled())))?;
        }
        chart.draw_series(
            spikes.iter().filter(|sp| sp.at < t_end).map(|sp| {
                Rectangle::new([(sp.at, 0), ((sp.at + sp.duration).min(t_end), y_top)], SPIKE_SHADE.filled())
            }),
        )?;
        chart.draw_series(faults.iter().filter(|f| f.start < t_end).map(|f| {
            let end = f.end.unwrap_or(t_end).min(t_end);
            Rectangle::new([(f.start, 0), (end, y_top)], style::FAULT_SHADE.filled())
        }))?;
        // Every stretch the faulted server spent out of rotation: a strip along the top.
        let strip = (y_top / 30).max(1);
        chart.draw_series(
            out_of_rotation(s, t_end)
                .into_iter()
                .map(|(a, b)| Rectangle::new([(a, y_top - strip), (b, y_top)], OUT_OF_ROTATION.filled())),
        )?;
        let c = colours[i];
        let samples: Vec<_> = s.timeline.pool_samples().collect();
        if samples.is_empty() {
            continue;
        }
        let yk = |v: f64| axes.yk(v);
        let mut band: Vec<(f64, i32)> = samples.iter().map(|p| (p.time, yk(p.max))).collect();
        band.extend(samples.iter().rev().map(|p| (p.time, yk(p.min))));
        chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.28).filled())))?;
        chart.draw_series(LineSeries::new(samples.iter().map(|p| (p.time, yk(p.mean))), c.stroke_width(2)))?;
    }
    Ok(())
}

/// The stretches (start, end) the server of each of strategy `s`'s fault windows spent out
/// of rotation in the replication drawn (faults.csv's `rotation`), cut at `t_end`.
fn out_of_rotation(s: &crate::stats::StrategySummary, t_end: f64) -> Vec<(f64, f64)> {
    let mut spans = Vec::new();
    for o in s.faults.first().into_iter().flatten() {
        let mut since = None;
        for c in &o.rotation {
            match (c.out, since) {
                (true, None) => since = Some(c.at),
                (false, Some(a)) => {
                    spans.push((a, c.at.min(t_end)));
                    since = None;
                }
                _ => {}
            }
        }
        spans.extend(since.map(|a| (a, t_end)));
    }
    spans.retain(|&(a, b)| a < b);
    spans
}

/// The key above the panels: the band, the line, the warm-up, and the fault windows and
/// flash crowds when there are any.
fn legend(faults: &[&FaultWindow], spikes: &[Spike], rotation: bool) -> Vec<LegendEntry> {
    let mut key = vec![
        LegendEntry::new("least to most loaded server", MUTED, Swatch::Band),
        LegendEntry::new("mean per server (each point: average over one sampling interval)", INK, Swatch::Line),
        LegendEntry::new("warm-up (not measured)", SHADE, Swatch::Block),
    ];
    if !faults.is_empty() {
        key.push(LegendEntry::new(fault_legend(faults), style::FAULT_SHADE, Swatch::Block));
    }
    if rotation {
        key.push(LegendEntry::new("top strip: faulted server out of rotation", OUT_OF_ROTATION, Swatch::Block));
    }
    if !spikes.is_empty() {
        key.push(LegendEntry::new(spike_legend(spikes), SPIKE_SHADE, Swatch::Block));
    }
    key
}

/// The y ticks on `scale`, at least `min_gap` apart in axis units per axis height.
fn y_ticks(scale: Scale, min_gap: f64) -> Vec<f64> {
    let apart = |a: f64, b: f64| (scale.y(b) - scale.y(a)) / scale.top() * min_gap >= 1.0;
    match scale {
        Scale::Linear(top) => axis::linear_ticks(top, (min_gap as usize).clamp(2, 6), true),
        Scale::SymLog(top) => {
            // 0, 1, 2, 5, 10, … when they are far enough apart; else 0 and the decades,
            // each kept only when far enough above the last one kept.
            let all = symlog_ticks(top);
            if all.windows(2).all(|w| apart(w[0], w[1])) {
                all
            } else {
                let decade = |v: &f64| *v == 0.0 || (v.log10() - v.log10().round()).abs() < 1e-9;
                let mut kept: Vec<f64> = Vec::new();
                for v in all.into_iter().filter(decade) {
                    if kept.last().is_none_or(|&last| apart(last, v)) {
                        kept.push(v);
                    }
                }
                kept
            }
        }
    }
}

/// The axes every panel shares.
struct Axes {
    scale: Scale,
    y_ticks: Vec<f64>,
    /// The time axis' end, s.
    t_end: f64,
    /// Height of the bottom row's x-axis area, px.
    x_area: i32,
    grid: Multiples,
}

/// A panel's chart: time along x, thousandths of an axis unit up y.
type TimelineChart<'a, 'b> = ChartContext<'a, Canvas<'b>, Cartesian2d<RangedCoordf64, WithKeyPoints<RangedCoordi32>>>;

impl Axes {
    /// `v` requests in thousandths of an axis unit (plotters has no tick formatter for
    /// chosen f64 ticks).
    fn yk(&self, v: f64) -> i32 {
        (self.scale.y(v) * 1000.0).round() as i32
    }

    /// The axis' top in thousandths.
    fn y_top(&self) -> i32 {
        (self.scale.top() * 1000.0).round() as i32
    }

    /// Panel `i`'s axes on `plot`, drawn. Only the bottom row carries the axis title, so
    /// every row has the same height.
    fn draw<'a, 'b>(&self, plot: &Area<'b>, i: usize) -> DrawResult<TimelineChart<'a, 'b>> {
        let (small, last_row) = (self.grid.small(), self.grid.last_row(i));
        let keys: Vec<i32> = self.y_ticks.iter().map(|&v| self.yk(v)).collect();
        let mut chart = ChartBuilder::on(plot)
            .margin(6)
            .margin_top(2)
            .margin_right(16)
            .x_label_area_size(if last_row { self.x_area as u32 } else { 22 })
            .y_label_area_size(if small { 44 } else { 52 })
            .build_cartesian_2d(0f64..self.t_end, (0..self.y_top()).with_key_points(keys))?;
        chart
            .configure_mesh()
            .x_labels(if small { 4 } else { 6 })
            .x_label_formatter(&|x| style::short(*x))
            .y_label_formatter(&|y| {
                // The tick this key point came from (labels in requests, not axis units).
                let v = self.y_ticks.iter().copied().find(|&v| self.yk(v) == *y).unwrap_or(f64::from(*y) / 1000.0);
                style::count(v)
            })
            .x_desc(if last_row { "simulated time (s)" } else { "" })
            .axis_desc_style(text(self.grid.axis_px(), &INK))
            .label_style(text(self.grid.tick_px(), &INK))
            .bold_line_style(RGBColor(230, 230, 230))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        Ok(chart)
    }
}

/// The ticks of the log axis up to `top` requests: 0, 1, 2, 5, 10, … up to two decades,
/// else 0 and the decades.
fn symlog_ticks(top: f64) -> Vec<f64> {
    let all = axis::symlog_ticks(top);
    if top > 200.0 {
        all.into_iter().filter(|&v| v == 0.0 || (v.log10() - v.log10().round()).abs() < 1e-9).collect()
    } else {
        all
    }
}

/// A panel's title: the strategy's label in its colour and its figures, muted, on the same
/// line when they fit, else below it.
struct Caption {
    label: fit::Block,
    figures: fit::Block,
    inline: bool,
}

/// Between the label and the figures of a one-line title.
const SEPARATOR: &str = "  ·  ";

impl Caption {
    fn line_h(px: f64) -> i32 {
        (px * 1.3).round() as i32
    }

    fn height(&self) -> i32 {
        let label = self.label.lines.len() as i32 * Self::line_h(self.label.px);
        if self.inline { label } else { label + self.figures.lines.len() as i32 * Self::line_h(self.figures.px) }
    }

    fn draw(&self, area: &Area<'_>, colour: RGBColor) -> DrawResult {
        let mid = area.dim_in_pixel().0 as i32 / 2;
        let mut y = 4;
        if self.inline {
            let (label, figures) = (&self.label.lines[0], format!("{SEPARATOR}{}", self.figures.lines[0]));
            let w = fit::width(label, self.label.px) as i32 + fit::width(&figures, self.label.px) as i32;
            let x = mid - w / 2;
            area.draw_text(label, &text(self.label.px, &colour), (x, y))?;
            let x = x + fit::width(label, self.label.px) as i32;
            area.draw_text(&figures, &text(self.label.px, &MUTED), (x, y))?;
            return Ok(());
        }
        for l in &self.label.lines {
            area.draw_text(l, &text(self.label.px, &colour).pos(Pos::new(HPos::Center, VPos::Top)), (mid, y))?;
            y += Self::line_h(self.label.px);
        }
        for l in &self.figures.lines {
            area.draw_text(l, &text(self.figures.px, &MUTED).pos(Pos::new(HPos::Center, VPos::Top)), (mid, y))?;
            y += Self::line_h(self.figures.px);
        }
        Ok(())
    }
}

/// The title of strategy `s`'s panel, `level` its mean per server, `width` px wide.
fn caption(s: &crate::stats::StrategySummary, level: f64, width: u32) -> Caption {
    let max = s.servers.iter().map(|v| v.max_in_system).max().unwrap_or(0);
    let mean = style::figure(level);
    let max_text = style::thousands(u64::from(max));
    inspect::figure(&s.label, "mean_in_system_per_server", level, &mean);
    inspect::figure(&s.label, "max_in_system", f64::from(max), &max_text);
    let figures = format!("mean {mean} · max {max_text}");
    // An UNSTABLE strategy says so in its title (in red, as on server_load.png).
    let label = if s.is_unstable() { format!("{}  UNSTABLE", s.label) } else { s.label.clone() };
    if fit::width(&format!("{label}{SEPARATOR}{figures}"), LEGEND_PX) <= width {
        let one = |t: &str| fit::Block { lines: vec![t.to_string()], px: LEGEND_PX };
        return Caption { label: one(&label), figures: one(&figures), inline: true };
    }
    Caption {
        label: fit::block(&label, width, 2, LEGEND_PX, 12.0),
        figures: fit::block(&figures, width, 2, TICK_PX, 11.0),
        inline: false,
    }
}

/// Legend text for the fault windows: which servers, and what happened to them.
fn fault_legend(faults: &[&FaultWindow]) -> String {
    let mut names: Vec<&str> = faults.iter().map(|f| f.server_name.as_str()).collect();
    names.dedup();
    // What happened, in the order the kinds are listed: "down", "down or slowed".
    let mut what: Vec<&str> = FAULT_TYPES
        .iter()
        .filter_map(|t| faults.iter().find(|f| f.kind.name() == t.name).map(|f| f.kind.legend()))
        .collect();
    what.dedup();
    let what = what.join(" or ");
    let servers = if names.len() <= 3 { names.join(", ") } else { format!("{} servers", names.len()) };
    format!("fault: {servers} {what}")
}

/// Legend text for the flash crowds: the rate's multipliers.
fn spike_legend(spikes: &[Spike]) -> String {
    let mut factors: Vec<String> = spikes.iter().map(|s| format!("×{}", style::short(s.multiplier))).collect();
    factors.dedup();
    format!("flash crowd (arrival rate {})", factors.join(", "))
}

#[cfg(test)]
mod tests {
    use crate::scenario::faults::{Down, FaultKind, FaultWindow, Slow};

    fn window(server: &str, kind: FaultKind) -> FaultWindow {
        FaultWindow { replication: 0, fault: 0, server: 0, server_name: server.into(), kind, start: 1.0, end: None }
    }

    #[test]
    fn fault_legend_names_servers_and_what_happened() {
        let down = window("web-3", FaultKind::Down(Down));
        assert_eq!(super::fault_legend(&[&down]), "fault: web-3 down");
        let slow = window("web-4", FaultKind::Slow(Slow { factor: 5.0 }));
        assert_eq!(super::fault_legend(&[&down, &slow]), "fault: web-3, web-4 down or slowed");
        let many: Vec<FaultWindow> = (0..5).map(|i| window(&format!("s-{i}"), FaultKind::Down(Down))).collect();
        assert_eq!(super::fault_legend(&many.iter().collect::<Vec<_>>()), "fault: 5 servers down");
    }

    use super::*;

    #[test]
    fn a_scale_that_shows_the_quietest_panel() {
        // Peaks within 30× of the quietest mean: linear, to the highest peak.
        assert_eq!(shared_scale(&[52.0, 49.0, 3.0], &[5.0, 8.9, 1.8]), Scale::Linear(52.0 * 1.08));
        // A runaway queue (or a hash spike) next to a mean below one: log, nothing cut.
        assert_eq!(shared_scale(&[33_725.0, 9.0, 18.0], &[3030.0, 1.06, 0.9]), Scale::SymLog(50_000.0));
        assert_eq!(shared_scale(&[128.0, 3.0], &[2.5, 0.74]), Scale::SymLog(200.0));
        assert_eq!(shared_scale(&[0.0, 0.0], &[0.0, 0.0]), Scale::Linear(1.0));
        assert_eq!(symlog_ticks(200.0), [0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]);
        assert_eq!(symlog_ticks(50_000.0), [0.0, 1.0, 10.0, 100.0, 1000.0, 10000.0]);
        assert_eq!(
            spike_legend(&[Spike { at: 900.0, duration: 60.0, multiplier: 1.8 }]),
            "flash crowd (arrival rate ×1.8)"
        );
    }
}
