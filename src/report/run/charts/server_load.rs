//! `server_load.png`: each server's load against its capacity, one panel per strategy.
//!
//! A bar is a server's load ρ, the work routed to it over what it can serve in the window
//! (left axis; the dashed line ρ = 1 is its capacity). Unlike utilisation, which stops at
//! 1, ρ goes beyond it for an overloaded server; a saturated server's bar is hatched and
//! framed (its queue grows without bound, [`crate::stats::saturation`]) — hatched rather
//! than red, since red is also a strategy's colour. The dark line is the server's time-averaged number in system (right
//! axis, logarithmic, so a runaway queue and a healthy one show on one scale). Every panel
//! shares both scales, so strategies compare at a glance; a split in proportion to
//! capacity gives bars of equal height whatever the servers' speeds.
//!
//! Pools of up to [`BARS_MAX`] servers get one bar per server in scenario order, server
//! groups separated and named, so a reader sees which machines a strategy overloads.
//! Larger pools get the load profile instead: servers ranked from most to least loaded.
//!
//! Both are means over replications ([`super::averaged`]), as in servers.csv; each panel's
//! title prints the strategy's `rho_max` of summary.csv. The ρ axis is linear from zero
//! unless the loads span more than [`axis::LOG_SPAN`] (a strategy that leaves servers
//! nearly idle), then logarithmic like the right axis.

use plotters::prelude::*;

use super::{Report, RunChart, averaged, framed, strategy_colours};
use crate::report::charts::style::{self, ALERT, AXIS_PX, GUIDE, INK, MUTED, TICK_PX};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, axis, fit, grid, inspect, key_row, text};
use crate::report::metric::RHO_MAX;

/// Largest pool drawn as one bar per server.
pub const BARS_MAX: usize = 60;

/// The chart.
pub static CHART: RunChart = RunChart::new("server_load.png", draw);

/// Colour of the number-in-system line.
const N_LINE: RGBColor = RGBColor(40, 40, 40);

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let s_count = report.scenario.server_count();
    let bars = s_count <= BARS_MAX;
    let colours = strategy_colours(report);
    let rho: Vec<Vec<f64>> = report.strategies.iter().map(|s| s.servers.iter().map(|v| v.rho).collect()).collect();
    let in_system: Vec<Vec<f64>> =
        report.strategies.iter().map(|s| s.servers.iter().map(|v| v.mean_in_system).collect()).collect();
    // Shared scales: ρ from 0 to a round bound above 1 and every bar; N on a log axis.
    let rho_max = rho.iter().flatten().copied().filter(|v| v.is_finite()).fold(1.05, f64::max);
    let mut rho_top = axis::linear_top(rho_max * 1.08);
    let positive = || in_system.iter().flatten().copied().filter(|v| v.is_finite() && *v > 0.0);
    let n_lo = axis::log_floor(positive().fold(f64::INFINITY, f64::min).clamp(1e-3, 1.0));
    let n_hi = axis::log_ceil(positive().fold(1.0, f64::max) * 1.5);
    // ρ on a log axis when the loads span decades (drawn as log₁₀ ρ on a linear axis).
    let log = axis::wants_log(rho.iter().flatten().copied());
    let rho_lo = if log { axis::log_floor(axis::positive_extent(rho.iter().flatten().copied()).0) } else { 0.0 };
    if log {
        // Room above ρ = 1 on a log axis too.
        rho_top = axis::log_ceil(rho_max * 1.5);
    }
    let rho_top = rho_top;
    let t = |v: f64| if log { v.max(rho_lo).log10() } else { v };
    inspect::axis("server_load rho y", (rho_lo, rho_top), log, rho.iter().flatten().copied());
    inspect::axis("server_load mean in system y (right)", (n_lo, n_hi), true, in_system.iter().flatten().copied());
    let note = format!(
        "Bars and line: each server's figures of servers.csv (rho, mean_in_system), {}, over the measured \
         window; panel titles: summary.csv's rho_max.{}",
        averaged(report),
        if log { " Log ρ axis: the loads span more than 30×." } else { "" }
    );
    let body = framed(root, report, "load per server against its capacity", &note)?;
    let body = key_row(
        &body,
        &[
            LegendEntry::new(
                if bars {
                    "ρ = work routed ÷ capacity (hatched: saturated, its queue grows without bound)"
                } else {
                    "servers ranked by ρ (work ÷ capacity)"
                },
                MUTED,
                if bars { Swatch::Block } else { Swatch::Band },
            ),
            LegendEntry::new("ρ = 1: the server's capacity", GUIDE, Swatch::Dashed),
            LegendEntry::new("mean number in system (right axis, log)", N_LINE, Swatch::Line),
        ],
    )?;
    let n = report.strategies.len();
    let (rows, cols) = grid(n);
    // The right axis' ticks: 1, 2, 5 × 10ᵏ or decades, thinned to every other (third, …)
    // decade beyond what a panel's height holds.
    let n_ticks = {
        let all = axis::log_ticks(n_lo, n_hi);
        let room = if rows > 2 { 4 } else { 8 };
        if all.len() <= room {
            all
        } else {
            let decades: Vec<f64> = all.into_iter().filter(|v| (v.log10() - v.log10().round()).abs() < 1e-9).collect();
            let every = decades.len().div_ceil(room).max(1);
            decades.into_iter().step_by(every).collect()
        }
    };
    let small = rows > 2;
    let tick_px = if small { TICK_PX - 2.0 } else { TICK_PX };
    let panels = body.split_evenly((rows, cols));
    // Titles: the full label and its ρ max, wrapped (never cut); every panel reserves the
    // tallest title's height, so the plots line up.
    let title_w = panels.first().map_or(100, |p| p.dim_in_pixel().0.saturating_sub(16));
    let titles: Vec<(fit::Block, String)> = report
        .strategies
        .iter()
        .map(|s| {
            let mm = style::figure(s.rho_max.value);
            inspect::figure(&s.label, RHO_MAX.name, s.rho_max.value, &mm);
            let unstable = if s.is_unstable() { "  UNSTABLE" } else { "" };
            (fit::block(&format!("{}  ·  ρ max {mm}{unstable}", s.label), title_w, 2, style::LEGEND_PX, 12.0), mm)
        })
        .collect();
    let title_h = titles.iter().map(|(b, _)| b.height(1.25)).max().unwrap_or(0) + 8;
    for (i, (s, panel)) in report.strategies.iter().zip(&panels).enumerate() {
        let row = i / cols;
        // Only the bottom row carries the x-axis title, so every row has the same height.
        let last_row = row == rows - 1;
        let caption_colour = if s.is_unstable() { ALERT } else { colours[i] };
        let (title, _) = &titles[i];
        let (pw, _) = panel.dim_in_pixel();
        for (k, line) in title.lines.iter().enumerate() {
            let style = text(title.px, &caption_colour).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ));
            // Bottom-aligned, just above the plot.
            let top = title_h - 4 - title.height(1.25);
            panel.draw_text(line, &style, (pw as i32 / 2, top + k as i32 * (title.px * 1.25).round() as i32))?;
        }
        let plot_area = panel.margin(title_h as u32, 0, 0, 0);
        let x_range = 0.5f64..s_count as f64 + 0.5;
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(6)
            .margin_top(10)
            .margin_right(4)
            .x_label_area_size(if last_row { if small { 40 } else { 48 } } else { 22 })
            .y_label_area_size(if log {
                if small { 56 } else { 64 }
            } else if small {
                40
            } else {
                46
            })
            .right_y_label_area_size(if small { 40 } else { 46 })
            .build_cartesian_2d(x_range.clone(), t(rho_lo)..t(rho_top))?
            .set_secondary_coord(x_range, (n_lo..n_hi).log_scale().with_key_points(n_ticks.clone()));
        let x_desc = if bars { "server (in scenario order)" } else { "servers, most to least loaded" };
        let x_fmt = |x: &f64| if bars { format!("{}", x.round() as i64) } else { style::count(x.round()) };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(if bars { s_count.min(if small { 6 } else { 10 }) } else { 5 })
            .y_labels(if small { 4 } else { 6 })
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|y| {
                if !log {
                    axis::tick_label(*y)
                } else if (y - y.round()).abs() < 1e-6 {
                    style::tick(10f64.powf(y.round()))
                } else {
                    String::new()
                }
            })
            .x_desc(if last_row { x_desc } else { "" })
            .y_desc(if i % cols == 0 { "ρ" } else { "" })
            .axis_desc_style(text(if small { AXIS_PX - 3.0 } else { AXIS_PX }, &INK))
            .label_style(text(tick_px, &INK))
            .bold_line_style(RGBColor(230, 230, 230))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_labels(n_ticks.len())
            .y_label_formatter(&|y| style::tick(*y))
            .label_style(text(tick_px - 1.0, &N_LINE))
            .draw()?;
        let c = colours[i];
        let clamp_n = |v: f64| if v.is_finite() { v.clamp(n_lo, n_hi) } else { n_lo };
        if bars {
            let w = if s_count > 30 { 0.5 } else { 0.36 };
            let corners = |k: usize| {
                let v = rho[i][k];
                let v = if v.is_finite() { v.min(rho_top) } else { rho_lo };
                [(k as f64 + 1.0 - w, t(rho_lo)), (k as f64 + 1.0 + w, t(v))]
            };
            chart.draw_series((0..s_count).map(|k| Rectangle::new(corners(k), c.filled())))?;
            // Saturated servers: the bar hatched and framed.
            for k in (0..s_count).filter(|&k| s.servers[k].saturated) {
                let [a, b] = corners(k);
                let (left, bottom) = chart.backend_coord(&a);
                let (right, top) = chart.backend_coord(&b);
                hatch(root, (left, top), (right, bottom))?;
            }
            // Group boundaries of a mixed pool, and the groups' names.
            if report.scenario.groups.len() > 1 {
                for g in report.scenario.groups.iter().skip(1) {
                    let x = g.first as f64 + 0.5;
                    chart.draw_series(DashedLineSeries::new(
                        vec![(x, t(rho_lo)), (x, t(rho_top))],
                        4,
                        4,
                        MUTED.stroke_width(1),
                    ))?;
                }
                for g in &report.scenario.groups {
                    let (px, py) = chart.backend_coord(&(g.first as f64 + 0.6, t(rho_top)));
                    root.draw_text(&g.name, &text(tick_px, &MUTED), (px + 3, py + 2))?;
                }
            }
            let pts: Vec<(f64, f64)> =
                in_system[i].iter().enumerate().map(|(k, &v)| (k as f64 + 1.0, clamp_n(v))).collect();
            chart.draw_secondary_series(LineSeries::new(pts.clone(), N_LINE.stroke_width(2)))?;
            chart.draw_secondary_series(pts.into_iter().map(|p| Circle::new(p, 3, N_LINE.filled())))?;
        } else {
            let mut order: Vec<usize> = (0..s_count).collect();
            order.sort_by(|&a, &b| rho[i][b].total_cmp(&rho[i][a]));
            let pts: Vec<(f64, f64)> =
                order.iter().enumerate().map(|(k, &j)| (k as f64 + 1.0, t(rho[i][j].min(rho_top)))).collect();
            let mut outline = vec![(1.0, t(rho_lo))];
            outline.extend(pts.iter().copied());
            outline.push((s_count as f64, t(rho_lo)));
            chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.3).filled())))?;
            chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
            let n_pts: Vec<(f64, f64)> =
                order.iter().enumerate().map(|(k, &j)| (k as f64 + 1.0, clamp_n(in_system[i][j]))).collect();
            chart.draw_secondary_series(LineSeries::new(n_pts, N_LINE.stroke_width(1)))?;
        }
        chart.draw_series(DashedLineSeries::new(
            vec![(0.5, t(1.0)), (s_count as f64 + 0.5, t(1.0))],
            8,
            5,
            GUIDE.stroke_width(2),
        ))?;
    }
    Ok(())
}

/// Diagonal hatching and a frame over the pixel rectangle from `top_left` to `bottom_right`.
fn hatch(root: &Area<'_>, top_left: (i32, i32), bottom_right: (i32, i32)) -> DrawResult {
    let ((left, top), (right, bottom)) = (top_left, bottom_right);
    let (w, h) = (right - left, bottom - top);
    let ink = INK.stroke_width(1);
    // Lines going up to the right, 45°, every 6 px, clipped to the rectangle: the point at
    // t along the line from (left + d, bottom) is (left + d + t, bottom − t).
    for d in (-h..w).step_by(6) {
        let (t0, t1) = ((-d).max(0), h.min(w - d));
        if t0 < t1 {
            root.draw(&PathElement::new(vec![(left + d + t0, bottom - t0), (left + d + t1, bottom - t1)], ink))?;
        }
    }
    root.draw(&Rectangle::new([(left, top), (right, bottom)], INK.stroke_width(2)))?;
    Ok(())
}
