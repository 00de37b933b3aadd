//! `queue_timeline.png`: requests in system per server over simulated time, one panel per
//! strategy.
//!
//! From the engine's sampled time series (first replication), each point the exact
//! time-average over one sampling interval: a translucent band from the least to the most
//! loaded server, and a line for the mean per server. The band's width is the imbalance a reader wants to see: queues that build up
//! on one server while others idle. Pools of any size are drawn the same way (never one
//! line per server). The warm-up, excluded from every statistic, is shaded. Every panel
//! shares both axes; a strategy whose queues run away (over [`RUNAWAY`] times the median
//! peak) is cut at the shared scale and marked "off scale", so the others stay readable. The panel title gives the largest number in system any server reached
//! in the measured window (exact, not sampled) and the time-averaged mean per server.

use plotters::prelude::*;

use super::{Report, RunChart, frame, strategy_colours};
use crate::report::charts::style::{self, AXIS_PX, INK, MUTED, SHADE, TICK_PX};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, first_fit, grid, key_row, shared_y_title, text};
use crate::scenario::faults::{FaultKind, FaultWindow};

/// The chart.
pub static CHART: RunChart = RunChart::new("queue_timeline.png", draw);

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let body = frame(root, report, "requests in system over time")?;
    // The timeline is replication 0's; its fault windows are the same for every strategy.
    let faults: Vec<&FaultWindow> = report.fault_windows_of(0).collect();
    let mut key = vec![
        LegendEntry::new("least to most loaded server", MUTED, Swatch::Band),
        LegendEntry::new("mean per server (each point: average over one sampling interval)", INK, Swatch::Line),
        LegendEntry::new("warm-up (not measured)", SHADE, Swatch::Block),
    ];
    if !faults.is_empty() {
        key.push(LegendEntry::new(fault_legend(&faults), style::FAULT_SHADE, Swatch::Block));
    }
    let body = key_row(&body, &key)?;
    let colours = strategy_colours(report);
    let t_end = report.strategies.iter().map(|s| s.timeline.end).fold(0.0, f64::max).max(1e-9);
    let peaks: Vec<f64> = report.strategies.iter().map(|s| s.timeline.peak()).collect();
    let y_top = shared_top(&peaks);
    // Small counts: whole-number ticks only.
    let (y_top, y_ticks) =
        if y_top < 6.0 { (y_top.ceil().max(2.0), y_top.ceil().max(2.0) as usize + 1) } else { (y_top, 6) };
    let n = report.strategies.len();
    let (rows, cols) = grid(n);
    let small = rows > 2;
    let tick_px = if small { TICK_PX - 2.0 } else { TICK_PX };
    let body = shared_y_title(&body, "requests in system per server")?;
    let panels = body.split_evenly((rows, cols));
    for (i, (s, panel)) in report.strategies.iter().zip(&panels).enumerate() {
        let row = i / cols;
        // Only the bottom row carries the axis title, so every row has the same height.
        let last_row = row == rows - 1;
        let t = &s.timeline;
        let mean_in_system = s.mean_in_system.value / report.scenario.server_count().max(1) as f64;
        let max_in_system = s.servers.iter().map(|v| v.max_in_system).max().unwrap_or(0);
        let mean = if mean_in_system.is_finite() { style::short(mean_in_system) } else { "–".into() };
        let captions = [
            format!("{}  ·  max {max_in_system}  ·  mean {mean}", s.label),
            format!("{} · max {max_in_system}", s.label),
            s.label.clone(),
        ];
        let caption = first_fit(panel, &captions, panel.dim_in_pixel().0.saturating_sub(24), style::LEGEND_PX)?;
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, text(style::LEGEND_PX, &colours[i]))
            .margin(6)
            .margin_right(16)
            .x_label_area_size(if last_row { if small { 40 } else { 48 } } else { 22 })
            .y_label_area_size(if small { 44 } else { 52 })
            .build_cartesian_2d(0f64..t_end, 0f64..y_top)?;
        chart
            .configure_mesh()
            .x_labels(if small { 4 } else { 6 })
            .y_labels(if small { y_ticks.min(5) } else { y_ticks })
            .x_label_formatter(&|x| style::short(*x))
            .y_label_formatter(&|y| style::count(*y))
            .x_desc(if last_row { "simulated time (s)" } else { "" })
            .axis_desc_style(text(if small { AXIS_PX - 3.0 } else { AXIS_PX }, &INK))
            .label_style(text(tick_px, &INK))
            .bold_line_style(RGBColor(230, 230, 230))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        if let Some(w) = t.warmup_end.filter(|&w| w > 0.0) {
            chart.draw_series(std::iter::once(Rectangle::new([(0.0, 0.0), (w.min(t_end), y_top)], SHADE.filled())))?;
        }
        chart.draw_series(faults.iter().filter(|f| f.start < t_end).map(|f| {
            let end = f.end.unwrap_or(t_end).min(t_end);
            Rectangle::new([(f.start, 0.0), (end, y_top)], style::FAULT_SHADE.filled())
        }))?;
        let c = colours[i];
        let samples: Vec<_> = t.pool_samples().collect();
        if samples.is_empty() {
            continue;
        }
        // Values above the shared scale are drawn at its top, and the panel says so.
        let clip = |v: f64| v.min(y_top);
        let mut band: Vec<(f64, f64)> = samples.iter().map(|p| (p.time, clip(p.max))).collect();
        band.extend(samples.iter().rev().map(|p| (p.time, clip(p.min))));
        chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.28).filled())))?;
        chart.draw_series(LineSeries::new(samples.iter().map(|p| (p.time, clip(p.mean))), c.stroke_width(2)))?;
        if peaks[i] > y_top {
            let (px, py) = chart.backend_coord(&(0.0, y_top));
            root.draw_text(
                &format!("▲ off scale, up to {}", style::count(peaks[i])),
                &text(tick_px, &style::ALERT),
                (px + 8, py + 4),
            )?;
        }
    }
    Ok(())
}

/// Legend text for the fault windows: which servers, and what happened to them.
fn fault_legend(faults: &[&FaultWindow]) -> String {
    let mut names: Vec<&str> = faults.iter().map(|f| f.server_name.as_str()).collect();
    names.dedup();
    let what = if faults.iter().all(|f| matches!(f.kind, FaultKind::Down)) {
        "down"
    } else if faults.iter().all(|f| matches!(f.kind, FaultKind::Slow { .. })) {
        "slowed"
    } else {
        "down or slowed"
    };
    let servers = if names.len() <= 3 { names.join(", ") } else { format!("{} servers", names.len()) };
    format!("fault: {servers} {what}")
}

/// The shared y scale: the largest peak, unless some strategies run away (peaks more than
/// [`RUNAWAY`] times the median peak, as an overloaded strategy's unbounded queues do), which
/// would flatten every other panel; then the largest of the other peaks (and of any runaway
/// peak within 1.5 times it), and the runaway panels are cut there and marked off scale.
pub fn shared_top(peaks: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = peaks.iter().copied().filter(|p| p.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let max = sorted.last().copied().unwrap_or(0.0);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let mut top = if median > 0.0 && max > RUNAWAY * median {
        sorted.iter().copied().filter(|&p| p <= RUNAWAY * median).fold(median, f64::max)
    } else {
        max
    };
    // Do not cut a panel that nearly fits: take in every peak within 1.5 × the scale.
    while let Some(&next) = sorted.iter().rev().find(|&&p| p > top && p <= 1.5 * top) {
        top = next;
    }
    (top * 1.08).max(1.0)
}

/// How many times the median peak makes a strategy's queues "run away" (cut off the scale).
pub const RUNAWAY: f64 = 20.0;

#[cfg(test)]
mod tests {
    use crate::scenario::faults::{FaultKind, FaultWindow};

    fn window(server: &str, kind: FaultKind) -> FaultWindow {
        FaultWindow { replication: 0, fault: 0, server: 0, server_name: server.into(), kind, start: 1.0, end: None }
    }

    #[test]
    fn fault_legend_names_servers_and_what_happened() {
        let down = window("web-3", FaultKind::Down);
        assert_eq!(super::fault_legend(&[&down]), "fault: web-3 down");
        let slow = window("web-4", FaultKind::Slow { factor: 5.0 });
        assert_eq!(super::fault_legend(&[&down, &slow]), "fault: web-3, web-4 down or slowed");
        let many: Vec<FaultWindow> = (0..5).map(|i| window(&format!("s-{i}"), FaultKind::Down)).collect();
        assert_eq!(super::fault_legend(&many.iter().collect::<Vec<_>>()), "fault: 5 servers down");
    }

    use super::*;

    #[test]
    fn runaway_queues_do_not_flatten_the_others() {
        assert_eq!(shared_top(&[52.0, 49.0, 3.0, 4.5, 3.5, 3.0]), 52.0 * 1.08);
        let top = shared_top(&[3000.0, 2990.0, 150.0, 157.0, 10.0, 11.0, 9.0, 12.0, 10.0]);
        assert_eq!(top, 157.0 * 1.08);
        // 145 is within 20 × the median (7.5), 157 is not but nearly fits: both shown.
        let top = shared_top(&[3000.0, 145.0, 157.0, 7.0, 7.5, 8.0, 6.0]);
        assert_eq!(top, 157.0 * 1.08);
        assert_eq!(shared_top(&[0.0, 0.0]), 1.0);
    }
}
