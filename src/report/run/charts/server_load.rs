//! `server_load.png`: measured requests per server, one panel per strategy.
//!
//! Each bar is a server's requests as a difference from the mean across servers (the
//! dashed zero line), in percent: a perfectly even split is flat, and an imbalance of a
//! fraction of a percent is still visible. The panel title gives the mean (absolute
//! requests per server) and the max/mean ratio. Every panel shares the y scale (at least
//! ±1%, so noise is not blown up), so strategies compare at a glance.
//!
//! Pools of up to [`BARS_MAX`] servers get one bar per server in scenario order (group
//! boundaries of a mixed pool marked), so a reader sees which server got too much. Larger
//! pools get the load profile instead: servers ranked from most to least loaded.

use plotters::prelude::*;

use super::{Report, RunChart, frame, strategy_colours};
use crate::report::charts::style::{self, AXIS_PX, GUIDE, MUTED, TICK_PX};
use crate::report::charts::{
    Area, DrawResult, LegendEntry, Swatch, axis, first_fit, grid, key_row, shared_y_title, text,
};

/// Largest pool drawn as one bar per server.
pub const BARS_MAX: usize = 60;

/// The chart.
pub static CHART: RunChart = RunChart::new("server_load.png", draw);

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let body = frame(root, report, "requests per server")?;
    let s_count = report.scenario.server_count();
    let bars = s_count <= BARS_MAX;
    let reps = f64::from(report.scenario.replications.max(1));
    let colours = strategy_colours(report);
    let loads: Vec<Vec<f64>> =
        report.strategies.iter().map(|s| s.servers.iter().map(|v| v.requests as f64 / reps).collect()).collect();
    let means: Vec<f64> = loads.iter().map(|l| l.iter().sum::<f64>() / l.len().max(1) as f64).collect();
    let devs: Vec<Vec<f64>> = loads
        .iter()
        .zip(&means)
        .map(|(l, &m)| l.iter().map(|&v| if m > 0.0 { (v / m - 1.0) * 100.0 } else { 0.0 }).collect())
        .collect();
    let top = devs.iter().flatten().fold(0.0f64, |a, &d| a.max(d.abs())).max(1.0 / 1.15) * 1.15;
    let mean_all = means.iter().copied().filter(|m| m.is_finite()).fold(0.0, f64::max);
    let body = key_row(
        &body,
        &[
            LegendEntry::new(
                if bars {
                    "a server's requests, % above or below the mean"
                } else {
                    "servers ranked by requests, % vs the mean"
                },
                MUTED,
                if bars { Swatch::Block } else { Swatch::Band },
            ),
            LegendEntry::new(
                format!(
                    "0% = the mean, {} requests per server{}",
                    style::thousands(mean_all.round() as u64),
                    if reps > 1.0 { " per replication" } else { "" }
                ),
                GUIDE,
                Swatch::Dashed,
            ),
        ],
    )?;
    let n = report.strategies.len();
    let (rows, cols) = grid(n);
    let small = rows > 2;
    let body = shared_y_title(&body, "requests vs the mean (%)")?;
    let panels = body.split_evenly((rows, cols));
    for (i, (s, panel)) in report.strategies.iter().zip(&panels).enumerate() {
        let row = i / cols;
        // Only the bottom row carries the axis title, so every row has the same height.
        let last_row = row == rows - 1;
        let mm = s.load_max_over_mean.value;
        let mm = if mm.is_finite() { format!("{mm:.3}") } else { "–".into() };
        let captions = [format!("{}  ·  max/mean {mm}", s.label), format!("{} · {mm}", s.label), s.label.clone()];
        let caption = first_fit(panel, &captions, panel.dim_in_pixel().0.saturating_sub(24), style::LEGEND_PX)?;
        let tick_px = if small { TICK_PX - 2.0 } else { TICK_PX };
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, text(style::LEGEND_PX, &colours[i]))
            .margin(6)
            .margin_right(14)
            .x_label_area_size(if last_row { if small { 40 } else { 48 } } else { 22 })
            .y_label_area_size(if small { 50 } else { 58 })
            .build_cartesian_2d(0.5f64..s_count as f64 + 0.5, -top..top)?;
        let x_desc = if bars { "server (in scenario order)" } else { "servers, most to least loaded" };
        let x_fmt = |x: &f64| if bars { format!("{}", x.round() as i64) } else { style::count(x.round()) };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(if bars { s_count.min(if small { 6 } else { 10 }) } else { 5 })
            .y_labels(if small { 4 } else { 6 })
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|y| percent(*y, top))
            .x_desc(if last_row { x_desc } else { "" })
            .axis_desc_style(text(if small { AXIS_PX - 3.0 } else { AXIS_PX }, &style::INK))
            .label_style(text(tick_px, &style::INK))
            .bold_line_style(RGBColor(230, 230, 230))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let c = colours[i];
        if bars {
            let w = if s_count > 30 { 0.5 } else { 0.36 };
            chart.draw_series(
                devs[i]
                    .iter()
                    .enumerate()
                    .map(|(k, &v)| Rectangle::new([(k as f64 + 1.0 - w, 0.0), (k as f64 + 1.0 + w, v)], c.filled())),
            )?;
            // Group boundaries of a mixed pool.
            if report.scenario.groups.len() > 1 {
                for g in report.scenario.groups.iter().skip(1) {
                    let x = g.first as f64 + 0.5;
                    chart.draw_series(DashedLineSeries::new(vec![(x, -top), (x, top)], 4, 4, MUTED.stroke_width(1)))?;
                }
                for g in &report.scenario.groups {
                    let (px, py) = chart.backend_coord(&(g.first as f64 + 0.6, top));
                    root.draw_text(&g.name, &text(tick_px, &MUTED), (px + 3, py + 2))?;
                }
            }
        } else {
            let mut ranked = devs[i].clone();
            ranked.sort_by(|a, b| b.total_cmp(a));
            let pts: Vec<(f64, f64)> = ranked.iter().enumerate().map(|(k, &v)| (k as f64 + 1.0, v)).collect();
            let mut outline = vec![(1.0, 0.0)];
            outline.extend(pts.iter().copied());
            outline.push((s_count as f64, 0.0));
            chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.3).filled())))?;
            chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
        }
        chart.draw_series(DashedLineSeries::new(
            vec![(0.5, 0.0), (s_count as f64 + 0.5, 0.0)],
            8,
            5,
            GUIDE.stroke_width(2),
        ))?;
    }
    Ok(())
}

/// A percentage difference for the axis: "+0.5%", "0%", "−1%".
fn percent(v: f64, top: f64) -> String {
    let t = axis::span_tick(v.abs(), 0.0, top);
    if v.abs() < top * 1e-9 {
        "0%".to_string()
    } else if v > 0.0 {
        format!("+{t}%")
    } else {
        format!("−{t}%")
    }
}
