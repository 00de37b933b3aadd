//! `percentiles.png`: p50, p90, p99 and p99.9 of the response time per strategy, one panel
//! per percentile, one horizontal bar per strategy.
//!
//! Strategies are ranked by p99 (best first) on every panel, their names once on the left
//! in their colours, so the order itself is the ranking; neighbouring rows that no paired
//! 95% comparison of p99 tells apart share a rank (`=1.`, see [`ranks`]). UNSTABLE
//! strategies (queues grow without bound: their percentiles describe a transient) come
//! last, unranked, marked UNSTABLE after their names. Every bar
//! carries its value — the figure of summary.csv and percentiles.csv (the mean over replications of each
//! replication's percentile) — and, with replications, its 95% confidence interval (an open
//! end where the interval reaches below the axis). Each panel has its own axis: linear from
//! zero, or logarithmic when the panel's values span more than two decades (see
//! [`axis::wants_log`]), so a 40 ms value is not invisible next to a 40 s one; on a log axis
//! each value is a dot, not a bar (a bar's length from an arbitrary decade means nothing).
//!
//! The figures cover completed requests; a strategy whose requests did not all complete says
//! under its name what share is left out. For a closed loop a fifth panel, next to p99 and
//! on its axis, shows the p99 an open workload at the same rate would see (summary.csv's
//! `open_model_p99_ms`): the point of a closed-loop scenario.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::super::columns;
use super::{Report, RunChart, averaged, framed, interval_source, not_completed, strategy_colours};
use crate::report::charts::style::{self, AXIS_PX, INK, LEGEND_PX, TICK_PX};
use crate::report::charts::{Area, DrawResult, axis, fit, inspect, text};
use crate::report::metric::{Metric, OPEN_MODEL_P99, P50, P90, P99, P999};
use crate::stats::{Estimate, StrategySummary};

/// The chart.
pub static CHART: RunChart = RunChart::new("percentiles.png", draw);

/// A panel: its title, its figure, and which panels share one axis (the same `scale`).
struct Panel {
    title: &'static str,
    metric: &'static Metric,
    scale: usize,
}

impl Panel {
    /// Strategy `s`'s figure (None when it has none).
    fn pick(&self, s: &StrategySummary) -> Option<Estimate> {
        self.metric.estimate(s)
    }
}

const PANELS: [Panel; 4] = [
    Panel { title: "p50", metric: &P50, scale: 0 },
    Panel { title: "p90", metric: &P90, scale: 1 },
    Panel { title: "p99", metric: &P99, scale: 2 },
    Panel { title: "p99.9", metric: &P999, scale: 3 },
];

/// A closed loop's open model, on the p99 panel's axis so the two compare at a glance.
const OPEN: Panel = Panel { title: "p99, open workload", metric: &OPEN_MODEL_P99, scale: 2 };

/// Strategy indices, best p99 first (strategies without data last, in scenario order); an
/// UNSTABLE strategy's p99 describes a transient, not a steady state, so those come after
/// every stable one and take no rank ([`ranks`]).
pub fn ranking(report: &Report) -> Vec<usize> {
    let mut order: Vec<usize> = (0..report.strategies.len()).collect();
    let key = |i: usize| {
        let s = &report.strategies[i];
        let v = s.p99.value;
        (s.is_unstable(), if v.is_finite() { v } else { f64::INFINITY })
    };
    order.sort_by(|&a, &b| key(a).0.cmp(&key(b).0).then(key(a).1.total_cmp(&key(b).1)).then(a.cmp(&b)));
    order
}

/// The rank shown beside each row of `order` (best p99 first), and whether it is shared:
/// the table's rule (`columns::ranks`): a row's rank is one more than the number of rows
/// above it whose paired 95% difference in p99 excludes 0 in their favour, so rows not told
/// apart share a rank (`=1.`, `=1.`, `3.`), as the table's `≈` marks leaders not told apart. UNSTABLE
/// rows get rank 0 (none).
pub fn ranks(report: &Report, order: &[usize]) -> Vec<(usize, bool)> {
    columns::ranks(report, &P99, order, columns::rankable)
}

/// Space between a bar (or its interval) and its value, px.
const LABEL_GAP: i32 = 6;
/// Left and right margins of a panel's plot, px.
const PANEL_MARGIN: u32 = 12;

/// A panel's x axis: `(lo, hi, log)`, chosen so that every value label fits to the right of
/// its bar in a plot `width` px wide.
fn panel_axis(rows: &[(f64, f64, String)], width: f64, label_px: f64) -> (f64, f64, bool) {
    let values: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let room = |label: &str| {
        let free = width - f64::from(LABEL_GAP) - f64::from(fit::width(label, label_px)) - 2.0;
        (free / width).clamp(0.3, 1.0)
    };
    if axis::wants_log(values.iter().copied()) {
        let (vmin, _) = axis::positive_extent(values.iter().copied());
        let lo = axis::log_floor(vmin / 2.0);
        // log(reach / lo) must be at most the label's share of log(hi / lo).
        let hi =
            rows.iter().map(|(_, reach, label)| lo * (reach / lo).powf(1.0 / room(label))).fold(lo * 10.0, f64::max);
        (lo, axis::log_ceil(hi), true)
    } else {
        let hi = rows.iter().map(|(_, reach, label)| reach / room(label)).fold(0.0, f64::max);
        (0.0, axis::linear_top(if hi > 0.0 { hi } else { 1.0 }), false)
    }
}

fn note(report: &Report) -> String {
    let what = if let Some(from) = interval_source(report) {
        format!(
            "Each bar: the percentile of completed requests as in summary.csv ({}), whisker: 95% CI {from}.",
            averaged(report)
        )
    } else {
        "Each bar: the percentile of completed requests as in summary.csv.".to_string()
    };
    let mut note = format!(
        "{what} Ranked by p99, best first (=: not told apart from another row, paired 95%, the table's rule); log axes (dots, not bars) where a panel's values span more than 30×."
    );
    if report.strategies.iter().any(StrategySummary::is_unstable) {
        note.push_str(" UNSTABLE (queues grow without bound): a transient, not ranked, last.");
    }
    if report.strategies.iter().any(|s| s.open_model.is_some()) {
        note.push_str(" \"p99, open workload\": the p99 of an open workload at the rate the clients achieved, what the closed loop hides (on the p99 panel's axis).");
    }
    note
}

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let body = framed(root, report, "response-time percentiles", &note(report))?;
    let colours = strategy_colours(report);
    let order = ranking(report);
    let n = order.len();
    let mut panels: Vec<&Panel> = PANELS.iter().collect();
    if report.strategies.iter().any(|s| s.open_model.is_some()) {
        panels.insert(3, &OPEN);
    }
    let (body_w, body_h) = body.dim_in_pixel();
    // Row sizes: names and values shrink a little when rows are tight.
    let row_h = f64::from(body_h.saturating_sub(110)) / n.max(1) as f64;
    let name_px = if row_h >= 30.0 { LEGEND_PX } else { (row_h * 0.5).clamp(12.0, LEGEND_PX) };
    let value_px = if row_h >= 24.0 { TICK_PX } else { 12.0 };
    // The name column: ranked names, each with what its figures leave out.
    let names: Vec<String> = order
        .iter()
        .zip(ranks(report, &order))
        .map(|(&i, (rank, shared))| {
            let s = &report.strategies[i];
            if s.is_unstable() {
                format!("{}  UNSTABLE", s.label)
            } else if rank == 0 {
                s.label.clone()
            } else {
                format!("{}{rank}. {}", if shared { "=" } else { "" }, s.label)
            }
        })
        .collect();
    let widest = names.iter().map(|t| fit::width(t, name_px)).max().unwrap_or(0);
    let name_w = (widest + 24).clamp(120, body_w * 32 / 100);
    let (labels, rest) = body.split_horizontally(name_w);
    let cells = rest.split_evenly((1, panels.len()));
    let mut row_centres: Vec<i32> = vec![0; n];
    // (value, farthest reach of bar or interval, label) of every bar, ms, per panel.
    let rows_of = |panel: &Panel| -> Vec<(f64, f64, String)> {
        order
            .iter()
            .filter_map(|&i| panel.pick(&report.strategies[i]))
            .filter(|e| e.value.is_finite())
            .map(|e| {
                let v = e.value * 1e3;
                (v, v + e.ci95.unwrap_or(0.0) * 1e3, style::figure(v))
            })
            .collect()
    };
    for (panel, area) in panels.iter().zip(&cells) {
        let est: Vec<Option<Estimate>> = order.iter().map(|&i| panel.pick(&report.strategies[i])).collect();
        let rows: Vec<(f64, f64, String)> =
            panels.iter().filter(|p| p.scale == panel.scale).flat_map(|p| rows_of(p)).collect();
        let plot_w = f64::from(area.dim_in_pixel().0.saturating_sub(2 * PANEL_MARGIN));
        let (lo, hi, log) = panel_axis(&rows, plot_w, value_px);
        inspect::axis(format!("percentiles {} x", panel.title), (lo, hi), log, rows.iter().map(|r| r.0));
        let caption = fit::block(panel.title, area.dim_in_pixel().0 - 8, 1, AXIS_PX + 1.0, 12.0);
        let mut builder = ChartBuilder::on(area);
        builder
            .caption(&caption.lines[0], text(caption.px, &INK))
            .margin(PANEL_MARGIN)
            .margin_top(4)
            .x_label_area_size(50)
            .y_label_area_size(0);
        let desc = if log { "ms, log scale" } else { "ms" };
        let y_range = -0.5f64..n as f64 - 0.5;
        let tick_px = TICK_PX - 1.0;
        let overhang = f64::from(PANEL_MARGIN) - 2.0;
        let x_keys =
            if log { axis::log_ticks_fitting(lo, hi, plot_w, overhang, style::tick, tick_px) } else { Vec::new() };
        if log {
            let mut chart = builder.build_cartesian_2d((lo..hi).log_scale().with_key_points(x_keys), y_range)?;
            mesh(&mut chart, desc)?;
            bars(root, &chart, report, &order, &est, (lo, hi, true), value_px, panel, &colours, &mut row_centres)?;
        } else {
            let mut chart = builder.build_cartesian_2d(lo..hi, y_range)?;
            mesh(&mut chart, desc)?;
            bars(root, &chart, report, &order, &est, (lo, hi, false), value_px, panel, &colours, &mut row_centres)?;
        }
    }
    // Ranked names, right-aligned against the first panel, in their colours, and under a
    // name what its figures leave out.
    let (lx, _) = labels.get_base_pixel();
    for (r, &i) in order.iter().enumerate() {
        let s = &report.strategies[i];
        let room = name_w - 16;
        let name = fit::block(&names[r], room, 2, name_px, 11.0);
        let missing = not_completed(s).map(|m| fit::block(&format!("not included: {m}"), room, 3, 12.0, 10.0));
        let extra = missing.as_ref().map_or(0, |m| m.height(1.25));
        let total = name.height(1.25) + extra;
        let mut y = row_centres[r] - total / 2;
        let x = lx + name_w as i32 - 8;
        for l in &name.lines {
            let style = text(name.px, &colours[i]).pos(Pos::new(HPos::Right, VPos::Top));
            root.draw_text(l, &style, (x, y))?;
            y += (name.px * 1.25).round() as i32;
        }
        if let Some(m) = missing {
            for l in &m.lines {
                root.draw_text(l, &text(m.px, &style::ALERT).pos(Pos::new(HPos::Right, VPos::Top)), (x, y))?;
                y += (m.px * 1.25).round() as i32;
            }
        }
    }
    Ok(())
}

/// The panel's grid and x axis.
fn mesh<X, Y>(
    chart: &mut ChartContext<'_, crate::report::charts::canvas::Canvas<'_>, Cartesian2d<X, Y>>,
    desc: &str,
) -> DrawResult
where
    X: plotters::coord::ranged1d::Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(5)
        .x_label_formatter(&|x| style::tick(*x))
        .x_desc(desc)
        .axis_desc_style(text(TICK_PX, &INK))
        .label_style(text(TICK_PX - 1.0, &INK))
        .bold_line_style(RGBColor(228, 228, 228))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    Ok(())
}

/// One panel's bars, intervals and values; records where each row's centre is. On a log
/// axis (`x`: its ends and whether log) a bar's length would mean nothing (its baseline is
/// an arbitrary decade), so each value is a dot.
#[allow(clippy::too_many_arguments)]
fn bars<X, Y>(
    root: &Area<'_>,
    chart: &ChartContext<'_, crate::report::charts::canvas::Canvas<'_>, Cartesian2d<X, Y>>,
    report: &Report,
    order: &[usize],
    est: &[Option<Estimate>],
    (lo, hi, log): (f64, f64, bool),
    value_px: f64,
    panel: &Panel,
    colours: &[RGBColor],
    row_centres: &mut [i32],
) -> DrawResult
where
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    let n = order.len();
    let px = |x: f64, y: f64| chart.backend_coord(&(x.clamp(lo, hi), y));
    let half = {
        let (_, a) = px(lo, 0.0);
        let (_, b) = px(lo, 1.0);
        (f64::from((a - b).abs()) * 0.31).clamp(2.0, 15.0) as i32
    };
    for (r, (&i, e)) in order.iter().zip(est).enumerate() {
        let y = (n - 1 - r) as f64;
        let (x0, yc) = px(lo, y);
        row_centres[r] = yc;
        let Some(e) = e.filter(|e| e.value.is_finite()) else { continue };
        let v = e.value * 1e3;
        let (x1, _) = px(v, y);
        let mut reach = x1;
        if log {
            let r = half.clamp(4, 8);
            root.draw(&Circle::new((x1, yc), r, colours[i].filled()))?;
            reach = x1 + r;
        } else {
            root.draw(&Rectangle::new([(x0, yc - half), (x1.max(x0 + 1), yc + half)], colours[i].filled()))?;
            inspect::level(&report.strategies[i].label, &format!("bar {}", panel.title), v);
        }
        if let Some(ci) = e.ci95 {
            let (a, b, open) = axis::interval(v, ci * 1e3, lo);
            let ((pa, _), (pb, _)) = (px(a, y), px(b, y));
            root.draw(&PathElement::new(vec![(pa, yc), (pb, yc)], INK.stroke_width(1)))?;
            let cap = (half / 2).max(3);
            let ends: &[i32] = if open { &[pb] } else { &[pa, pb] };
            for &p in ends {
                root.draw(&PathElement::new(vec![(p, yc - cap), (p, yc + cap)], INK.stroke_width(1)))?;
            }
            reach = reach.max(pb);
        }
        let label = style::figure(v);
        inspect::figure(&report.strategies[i].label, panel.metric.name, v, &label);
        let style = text(value_px, &INK).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw_text(&label, &style, (reach + LABEL_GAP, yc))?;
    }
    Ok(())
}
