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
//! title prints the strategy's `rho_max` of summary.csv. With replications the busiest server
//! may differ from one replication to the next and a per-server mean averages the hot spot
//! away, so each bar also carries a tick at the rank profile (servers.csv's `rho_at_rank`:
//! the k-th busiest server's ρ in each replication, averaged, on the bar ranked k-th), whose
//! top is the title's ρ max; the ranked view of a large pool is that rank profile. The ρ axis is linear from zero
//! unless the loads span more than [`axis::LOG_SPAN`] (a strategy that leaves servers
//! nearly idle), then logarithmic like the right axis.

use plotters::chart::DualCoordChartContext;
use plotters::coord::combinators::LogCoord;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{Report, RunChart, averaged, framed, strategy_colours};
use crate::report::charts::canvas::Canvas;
use crate::report::charts::marks::{Marker, draw_marker};
use crate::report::charts::style::{self, ALERT, GUIDE, INK, MUTED};
use crate::report::charts::{
    Area, DrawResult, LegendEntry, Multiples, Swatch, axis, fit, inspect, key_row, text, titled,
};
use crate::report::metric::RHO_MAX;
use crate::stats::StrategySummary;

/// Largest pool drawn as one bar per server.
pub const BARS_MAX: usize = 60;

/// The chart.
pub static CHART: RunChart = RunChart::new("server_load.png", draw);

/// Colour of the number-in-system line.
const N_LINE: RGBColor = RGBColor(40, 40, 40);

/// The scales every panel shares: ρ from 0 to a round bound above 1 and every bar (log when
/// the loads span decades, drawn as log₁₀ ρ on a linear axis); N on a log axis.
struct Scales {
    rho_lo: f64,
    rho_top: f64,
    log: bool,
    n_lo: f64,
    n_hi: f64,
}

impl Scales {
    fn of(rho: &[Vec<f64>], in_system: &[Vec<f64>]) -> Scales {
        let rho_max = rho.iter().flatten().copied().filter(|v| v.is_finite()).fold(1.05, f64::max);
        let mut rho_top = axis::linear_top(rho_max * 1.08);
        let positive = || in_system.iter().flatten().copied().filter(|v| v.is_finite() && *v > 0.0);
        let n_lo = axis::log_floor(positive().fold(f64::INFINITY, f64::min).clamp(1e-3, 1.0));
        let n_hi = axis::log_ceil(positive().fold(1.0, f64::max) * 1.5);
        let log = axis::wants_log(rho.iter().flatten().copied());
        let rho_lo = if log { axis::log_floor(axis::positive_extent(rho.iter().flatten().copied()).0) } else { 0.0 };
        if log {
            // Room above ρ = 1 on a log axis too.
            rho_top = axis::log_ceil(rho_max * 1.5);
        }
        inspect::axis("server_load rho y", (rho_lo, rho_top), log, rho.iter().flatten().copied());
        inspect::axis("server_load mean in system y (right)", (n_lo, n_hi), true, in_system.iter().flatten().copied());
        Scales { rho_lo, rho_top, log, n_lo, n_hi }
    }

    /// ρ on the left axis.
    fn t(&self, v: f64) -> f64 {
        if self.log { v.max(self.rho_lo).log10() } else { v }
    }
}

/// What is drawn, for every panel.
struct Panels<'r> {
    report: &'r Report,
    /// Each strategy's servers' loads ρ and mean numbers in system.
    rho: Vec<Vec<f64>>,
    /// Each strategy's fault windows' loads, by server, over every replication.
    windows: Vec<Vec<(usize, f64)>>,
    in_system: Vec<Vec<f64>>,
    scales: Scales,
    /// One bar per server (else the ranked profile).
    bars: bool,
    grid: Multiples,
    /// The right axis' ticks.
    n_ticks: Vec<f64>,
}

/// One strategy's panel: both axes.
type LoadChart<'a, 'b> = DualCoordChartContext<
    'a,
    Canvas<'b>,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
    Cartesian2d<RangedCoordf64, WithKeyPoints<LogCoord<f64>>>,
>;

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let bars = report.scenario.server_count() <= BARS_MAX;
    let rho: Vec<Vec<f64>> = report.strategies.iter().map(|s| s.servers.iter().map(|v| v.rho).collect()).collect();
    let in_system: Vec<Vec<f64>> =
        report.strategies.iter().map(|s| s.servers.iter().map(|v| v.mean_in_system).collect()).collect();
    // Each fault window's load, at its server (faults.csv's rho_in_window): a slowed server
    // a health check keeps taking out can look idle over the run and be overloaded while
    // slowed.
    let windows: Vec<Vec<(usize, f64)>> = report.strategies.iter().map(|s| window_loads(report, s)).collect();
    let mut scaled = rho.clone();
    scaled.extend(windows.iter().map(|w| w.iter().map(|&(_, r)| r).collect::<Vec<f64>>()));
    // The rank profile (the ticks, the ranked view): as many values again, the same ones
    // with one replication.
    scaled.extend(report.strategies.iter().map(|s| s.servers.iter().map(|v| v.rho_at_rank).collect::<Vec<f64>>()));
    let scales = Scales::of(&scaled, &in_system);
    let note = format!(
        "Bars and line: each server's figures of servers.csv (rho, mean_in_system), {}, over the measured \
         window{}; panel titles: summary.csv's rho_max.{}",
        averaged(report),
        if report.scenario.replications > 1 { "; ticks: servers.csv's rho_at_rank" } else { "" },
        if scales.log { " Log ρ axis: the loads span more than 30×." } else { "" }
    );
    let body = framed(root, report, "load per server against its capacity", &note)?;
    let with_windows = bars && windows.iter().any(|w| !w.is_empty());
    let body = key_row(&body, &legend(bars, with_windows, report.scenario.replications > 1))?;
    let grid = Multiples::of(report.strategies.len());
    // The right axis' ticks: 1, 2, 5 × 10ᵏ or decades, thinned to every other (third, …)
    // decade beyond what a panel's height holds.
    let n_ticks = axis::log_ticks_within(scales.n_lo, scales.n_hi, if grid.small() { 4 } else { 8 });
    let panels = body.split_evenly((grid.rows, grid.cols));
    // Titles: the full label and its ρ max, wrapped (never cut); every panel reserves the
    // tallest title's height, so the plots line up.
    let title_w = panels.first().map_or(100, |p| p.dim_in_pixel().0.saturating_sub(16));
    let titles: Vec<fit::Block> = report.strategies.iter().map(|s| title(s, title_w)).collect();
    let title_h = titles.iter().map(|b| b.height(1.25)).max().unwrap_or(0) + 8;
    let all = Panels { report, rho, windows, in_system, scales, bars, grid, n_ticks };
    let colours = strategy_colours(report);
    for (i, (s, panel)) in report.strategies.iter().zip(&panels).enumerate() {
        let caption_colour = if s.is_unstable() { ALERT } else { colours[i] };
        let plot_area = titled(panel, &titles[i], title_h, &caption_colour)?;
        let mut chart = all.axes(&plot_area, i)?;
        let c = colours[i];
        if bars {
            all.bars(root, &mut chart, i, c)?;
        } else {
            all.profile(&mut chart, i, c)?;
        }
        let t = |v: f64| all.scales.t(v);
        let s_count = report.scenario.server_count();
        chart.draw_series(DashedLineSeries::new(
            vec![(0.5, t(1.0)), (s_count as f64 + 0.5, t(1.0))],
            8,
            5,
            GUIDE.stroke_width(2),
        ))?;
    }
    Ok(())
}

/// Strategy `s`'s fault windows with a load (not crashes), as (server, ρ during the
/// window), every replication's.
fn window_loads(report: &Report, s: &StrategySummary) -> Vec<(usize, f64)> {
    let mut out = Vec::new();
    for (rep, outcomes) in s.faults.iter().enumerate() {
        for (w, o) in report.fault_windows_of(rep as u32).zip(outcomes) {
            out.extend(o.rho.filter(|r| r.is_finite()).map(|r| (w.server, r)));
        }
    }
    out
}

/// The key above the panels (`windows`: with the fault windows' loads; `ranked`: bars
/// averaged over replications, with the rank profile's ticks).
fn legend(bars: bool, windows: bool, ranked: bool) -> Vec<LegendEntry> {
    let mut key = vec![
        LegendEntry::new(
            match (bars, ranked) {
                (true, false) => "ρ = work routed ÷ capacity (hatched: saturated, its queue grows without bound)",
                (true, true) => {
                    "each server's ρ = work routed ÷ capacity, mean of the replications (hatched: saturated)"
                }
                (false, false) => "servers ranked by ρ (work ÷ capacity)",
                (false, true) => "k-th busiest server's ρ in each replication, averaged (rank 1: ρ max)",
            },
            MUTED,
            if bars { Swatch::Block } else { Swatch::Band },
        ),
        LegendEntry::new("ρ = 1: the server's capacity", GUIDE, Swatch::Dashed),
        LegendEntry::new("mean number in system (right axis, log)", N_LINE, Swatch::Line),
    ];
    if bars && ranked {
        key.push(LegendEntry::new(
            "tick: the k-th busiest server's ρ per replication, averaged, on the bar k-th by its mean \
             (top tick = the title's ρ max)",
            INK,
            Swatch::Line,
        ));
    }
    if windows {
        key.push(LegendEntry::new(
            "ρ during its fault window (capacity it had then)",
            INK,
            Swatch::Hollow(Marker::Diamond),
        ));
    }
    key
}

/// A panel's title: the strategy's full label and its ρ max (summary.csv's), `width` px
/// wide at most.
fn title(s: &StrategySummary, width: u32) -> fit::Block {
    // As the table prints ρ: 3 decimals (0.900, not 0.9).
    let mm = style::rho(s.rho_max.value);
    inspect::figure(&s.label, RHO_MAX.name, s.rho_max.value, &mm);
    let unstable = if s.is_unstable() { "  UNSTABLE" } else { "" };
    fit::block(&format!("{}  ·  ρ max {mm}{unstable}", s.label), width, 2, style::LEGEND_PX, 12.0)
}

impl Panels<'_> {
    /// Panel `i`'s axes on `area`, drawn: ρ on the left, N on the right (log), servers
    /// along x. Only the bottom row carries the x-axis title, so every row has the same
    /// height.
    fn axes<'a, 'b>(&self, area: &Area<'b>, i: usize) -> DrawResult<LoadChart<'a, 'b>> {
        let (small, log) = (self.grid.small(), self.scales.log);
        let last_row = self.grid.last_row(i);
        let s_count = self.report.scenario.server_count();
        let Scales { rho_lo, rho_top, n_lo, n_hi, .. } = self.scales;
        let x_range = 0.5f64..s_count as f64 + 0.5;
        let mut chart = ChartBuilder::on(area)
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
            .build_cartesian_2d(x_range.clone(), self.scales.t(rho_lo)..self.scales.t(rho_top))?
            .set_secondary_coord(x_range, (n_lo..n_hi).log_scale().with_key_points(self.n_ticks.clone()));
        let bars = self.bars;
        let x_desc = if bars { "server (in scenario order)" } else { "servers, most to least loaded" };
        let x_fmt = |x: &f64| if bars { format!("{}", x.round() as i64) } else { style::count(x.round()) };
        let tick_px = self.grid.tick_px();
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
            .y_desc(if self.grid.first_col(i) { "ρ" } else { "" })
            .axis_desc_style(text(self.grid.axis_px(), &INK))
            .label_style(text(tick_px, &INK))
            .bold_line_style(RGBColor(230, 230, 230))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_labels(self.n_ticks.len())
            .y_label_formatter(&|y| style::tick(*y))
            .label_style(text(tick_px - 1.0, &N_LINE))
            .draw()?;
        Ok(chart)
    }

    /// The right axis' value of `v` (clamped to it).
    fn clamp_n(&self, v: f64) -> f64 {
        if v.is_finite() { v.clamp(self.scales.n_lo, self.scales.n_hi) } else { self.scales.n_lo }
    }

    /// Panel `i` with one bar per server in colour `c` (saturated ones hatched), the server
    /// groups of a mixed pool, and the number in system.
    fn bars(&self, root: &Area<'_>, chart: &mut LoadChart<'_, '_>, i: usize, c: RGBColor) -> DrawResult {
        let sc = &self.report.scenario;
        let s_count = sc.server_count();
        let Scales { rho_lo, rho_top, .. } = self.scales;
        let t = |v: f64| self.scales.t(v);
        let w = if s_count > 30 { 0.5 } else { 0.36 };
        let corners = |k: usize| {
            let v = self.rho[i][k];
            let v = if v.is_finite() { v.min(rho_top) } else { rho_lo };
            [(k as f64 + 1.0 - w, t(rho_lo)), (k as f64 + 1.0 + w, t(v))]
        };
        chart.draw_series((0..s_count).map(|k| Rectangle::new(corners(k), c.filled())))?;
        let strategy = &self.report.strategies[i];
        for k in 0..s_count {
            inspect::level(&strategy.label, "rho", self.rho[i][k]);
        }
        // With replications the busiest server may differ from one to the next, and the
        // per-server means (the bars) average the hot spot away: a tick on each bar gives
        // the rank profile (servers.csv's rho_at_rank), the k-th busiest server's ρ in each
        // replication averaged, on the bar ranked k-th by its mean; the top tick is the
        // title's ρ max.
        if self.report.scenario.replications > 1 {
            for (k, v) in strategy.servers.iter().enumerate() {
                let r = v.rho_at_rank;
                if !r.is_finite() {
                    continue;
                }
                inspect::level(&strategy.label, "rho_at_rank", r);
                let y = t(r.min(rho_top));
                let (a, py) = chart.backend_coord(&(k as f64 + 1.0 - w - 0.12, y));
                let (b, _) = chart.backend_coord(&(k as f64 + 1.0 + w + 0.12, y));
                root.draw(&PathElement::new(vec![(a, py), (b, py)], INK.stroke_width(3)))?;
            }
        }
        // Saturated servers: the bar hatched and framed.
        for k in (0..s_count).filter(|&k| self.report.strategies[i].servers[k].saturated) {
            let [a, b] = corners(k);
            let (left, bottom) = chart.backend_coord(&a);
            let (right, top) = chart.backend_coord(&b);
            hatch(root, (left, top), (right, bottom))?;
        }
        // Group boundaries of a mixed pool, and the groups' names.
        if sc.groups.len() > 1 {
            for g in sc.groups.iter().skip(1) {
                let x = g.first as f64 + 0.5;
                chart.draw_series(DashedLineSeries::new(
                    vec![(x, t(rho_lo)), (x, t(rho_top))],
                    4,
                    4,
                    MUTED.stroke_width(1),
                ))?;
            }
            for g in &sc.groups {
                let (px, py) = chart.backend_coord(&(g.first as f64 + 0.6, t(rho_top)));
                root.draw_text(&g.name, &text(self.grid.tick_px(), &MUTED), (px + 3, py + 2))?;
            }
        }
        let pts: Vec<(f64, f64)> =
            self.in_system[i].iter().enumerate().map(|(k, &v)| (k as f64 + 1.0, self.clamp_n(v))).collect();
        chart.draw_secondary_series(LineSeries::new(pts.clone(), N_LINE.stroke_width(2)))?;
        chart.draw_secondary_series(pts.into_iter().map(|p| Circle::new(p, 3, N_LINE.filled())))?;
        // The fault windows' loads, on their servers' bars, with the value.
        for &(k, r) in &self.windows[i] {
            let (px, py) = chart.backend_coord(&(k as f64 + 1.0, t(r.min(rho_top))));
            draw_marker(root, (px, py), Marker::Diamond, 5, INK, false)?;
            // ρ as the table prints it: 3 decimals (1.000 is not 1).
            let label = style::rho(r);
            inspect::figure(&self.report.strategies[i].label, "rho_in_window", r, &label);
            root.draw_text(&label, &text(self.grid.tick_px(), &INK), (px + 8, py - 6))?;
        }
        Ok(())
    }

    /// Panel `i` as the load profile in colour `c`: servers ranked from most to least
    /// loaded, and their numbers in system.
    fn profile(&self, chart: &mut LoadChart<'_, '_>, i: usize, c: RGBColor) -> DrawResult {
        let s_count = self.report.scenario.server_count();
        let Scales { rho_lo, rho_top, .. } = self.scales;
        let t = |v: f64| self.scales.t(v);
        // The rank profile (servers.csv's rho_at_rank): in each replication the servers
        // ranked by load, the k-th busiest's ρ averaged, so rank 1 is ρ max even when the
        // hot spot moves between replications.
        let servers = &self.report.strategies[i].servers;
        let mut order: Vec<usize> = (0..s_count).collect();
        order.sort_by_key(|&j| servers[j].load_rank);
        for &j in &order {
            inspect::level(&self.report.strategies[i].label, "rho_at_rank", servers[j].rho_at_rank);
        }
        let pts: Vec<(f64, f64)> =
            order.iter().enumerate().map(|(k, &j)| (k as f64 + 1.0, t(servers[j].rho_at_rank.min(rho_top)))).collect();
        let mut outline = vec![(1.0, t(rho_lo))];
        outline.extend(pts.iter().copied());
        outline.push((s_count as f64, t(rho_lo)));
        chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.3).filled())))?;
        chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
        let n_pts: Vec<(f64, f64)> =
            order.iter().enumerate().map(|(k, &j)| (k as f64 + 1.0, self.clamp_n(self.in_system[i][j]))).collect();
        chart.draw_secondary_series(LineSeries::new(n_pts, N_LINE.stroke_width(1)))?;
        Ok(())
    }
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
