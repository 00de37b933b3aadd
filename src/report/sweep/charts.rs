//! sweep_p99.png and sweep_mean.png: latency against the first varied key, one line per
//! strategy with its 95% confidence band, the capacity (ρ = 1) marked and the region
//! beyond it shaded — the classic hockey stick. With a second varied key, one panel per
//! value of it (small multiples).
//!
//! The y axis is scaled to the stable points (ρ < 1): beyond capacity latencies grow with
//! the run length, not the load, and would flatten everything else. It is logarithmic when
//! those values span more than [`axis::LOG_SPAN`], so load-aware strategies separate from
//! random's near capacity. Points beyond capacity are hollow, joined by thin dashes and
//! have no band; a value above the axis is an arrow at its top with the value written
//! (hollow beyond capacity; several at one x stacked), and no marker hides another
//! ([`points`]). Each strategy
//! has its colour and its line style and marker ([`marks`]); a note under the title says
//! what each point is (a replication's figure, or the mean over replications).

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::headroom::{self, Headroom, Verdict};
use super::{PointRow, SweepView, series_labels};
use crate::Result;
use crate::plan::slo::Metric;
use crate::report::Exporter;
use crate::report::charts::axis::{self, linear_top, tick_label};
use crate::report::charts::marks::{self, Mark};
use crate::report::charts::points::{self, Point};
use crate::report::charts::style::{self, FONT, INK, MUTED, SUBTITLE_PX};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, fit, inspect, render_png, text, with_legend};

/// The most panels drawn (a grid beyond this is unreadable).
pub const MAX_PANELS: usize = 12;

/// Which latency a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// 99th percentile.
    P99,
    /// Mean.
    Mean,
}

impl Latency {
    fn of(self, p: &PointRow, k: usize) -> Option<(f64, Option<f64>)> {
        let s = p.strategies.get(k)?;
        let v = match self {
            Latency::P99 => s.p99,
            Latency::Mean => s.mean,
        };
        v.0.is_finite().then_some(v)
    }

    fn name(self) -> &'static str {
        match self {
            Latency::P99 => "p99 response time",
            Latency::Mean => "mean response time",
        }
    }
}

/// A sweep chart exporter.
#[derive(Debug)]
pub struct SweepChart {
    file: &'static str,
    metric: Latency,
}

/// `sweep_p99.png`.
pub static P99_CHART: SweepChart = SweepChart { file: "sweep_p99.png", metric: Latency::P99 };
/// `sweep_mean.png`.
pub static MEAN_CHART: SweepChart = SweepChart { file: "sweep_mean.png", metric: Latency::Mean };

impl Exporter<SweepView> for SweepChart {
    fn file_name(&self) -> &'static str {
        self.file
    }

    fn render(&self, view: &SweepView) -> Result<Vec<u8>> {
        let cols: Vec<&str> = view.axes.iter().map(|a| a.column.as_str()).collect();
        let points = &view.points;
        let labels = series_labels(points);
        let mut panels: Vec<(String, Vec<&PointRow>)> = Vec::new();
        for p in points {
            let key: Vec<String> = cols[1..].iter().zip(&p.values[1..]).map(|(c, v)| format!("{c} = {v}")).collect();
            let key = key.join(", ");
            match panels.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(p),
                None => panels.push((key, vec![p])),
            }
        }
        let total = panels.len();
        panels.truncate(MAX_PANELS);
        let n = panels.len();
        let ncols = (n as f64).sqrt().ceil() as usize;
        let nrows = n.div_ceil(ncols);
        let (w, h) = if n == 1 { (1280, 800) } else { ((640 * ncols).max(1280) as u32, (440 * nrows + 70) as u32) };
        let reps = points.iter().map(|p| p.replications).max().unwrap_or(1);
        let mut title = format!("{}: {} vs {}", view.scenario, self.metric.name(), cols[0]);
        if total > n {
            title.push_str(&format!(" (first {n} of {total} panels)"));
        }
        let metric = self.metric;
        let mut y = y_axis(points, labels.len(), metric);
        // The objective (`--slo`) on the chart of its metric: its limit in view, and where
        // each strategy crosses it.
        let slo = view
            .slo
            .as_ref()
            .filter(|s| matches!((s.metric, metric), (Metric::P99, Latency::P99) | (Metric::Mean, Latency::Mean)));
        let found: Vec<Headroom> = slo.map(|s| headroom::headroom(view, s)).unwrap_or_default();
        let limit = slo.map(|s| s.limit * 1e3);
        if let Some(l) = limit {
            if l > y.hi {
                y.hi = if y.log { axis::log_range(y.lo, l * 1.1).1 } else { linear_top(l * 1.05) };
            }
            if y.log && l < y.lo {
                y.lo = axis::log_range(l * 0.9, y.hi).0;
            }
        }
        let mut note = match (reps, metric) {
            (1, Latency::P99) => "Each point: the p99 of one replication.".to_string(),
            (r, Latency::P99) => {
                format!("Each point: the mean over {r} replications of each replication's p99; band: 95% CI.")
            }
            (1, Latency::Mean) => "Each point: the mean response time of one replication.".to_string(),
            (r, Latency::Mean) => format!("Each point: the mean over {r} replications; band: 95% CI."),
        };
        note.push_str(" Completed requests only. Scaled to the stable points (ρ < 1); beyond capacity hollow; above the axis: an arrow with the value.");
        if y.log {
            note.push_str(&format!(" Log scale: the values span more than {}×.", axis::LOG_SPAN));
        }
        if let Some(s) = slo {
            note.push_str(&format!(
                " Dashed: the objective {s}; on it, where each strategy crosses it (marker) and where its 95% band \
                 does (bar); headroom.csv."
            ));
        }
        let colours = style::colours(&labels);
        let marks = marks::marks(&colours);
        // With one panel, each strategy's legend line says how far it meets the objective.
        let legend_text = |k: usize, l: &str| -> String {
            let h = found.iter().filter(|h| h.series == k).collect::<Vec<_>>();
            match (h.as_slice(), panels.len()) {
                ([h], 1) => match &h.verdict {
                    Verdict::UpTo { crossing: (Some(x), ..), .. } => {
                        format!("{l} · crosses at ≈ {}", headroom::show_x(*x))
                    }
                    Verdict::UpTo { .. } => format!("{l} · crosses beyond the sweep"),
                    Verdict::Everywhere { .. } => format!("{l} · meets it throughout"),
                    Verdict::NeverMet { .. } => format!("{l} · never meets it"),
                },
                _ => l.to_string(),
            }
        };
        let entries: Vec<LegendEntry> = labels
            .iter()
            .enumerate()
            .zip(colours.iter().zip(&marks))
            .map(|((k, l), (&c, &m))| LegendEntry::new(legend_text(k, l), c, Swatch::Mark(m)))
            .collect();
        let log_x = view.axes[0].log;
        let names = view.axes[0].names.as_deref();
        render_png(w, h, |root| {
            root.draw_text(&title, &text(if n == 1 { 28.0 } else { 26.0 }, &INK), (28, 14))?;
            let mut top = 56;
            for line in fit::wrap(&note, w - 56, SUBTITLE_PX) {
                root.draw_text(&line, &text(SUBTITLE_PX, &MUTED), (28, top))?;
                top += (SUBTITLE_PX * 1.35).round() as i32;
            }
            let body = root.margin((top + 6) as u32, 8, 8, 8);
            let (plot, _) = with_legend(&body, "strategy", &entries)?;
            let areas = plot.split_evenly((nrows, ncols));
            for (i, (key, pts)) in panels.iter().enumerate() {
                let crossings: Vec<(usize, Option<f64>, f64, Option<f64>)> = found
                    .iter()
                    .filter(|h| h.panel.join(", ") == *key)
                    .filter_map(|h| match h.verdict {
                        Verdict::UpTo { crossing, .. } => Some((h.series, crossing.0, crossing.1, crossing.2)),
                        _ => None,
                    })
                    .collect();
                let panel = Panel {
                    slo: limit.map(|l| (l, slo.map(ToString::to_string).unwrap_or_default(), crossings)),
                    caption: key,
                    points: pts,
                    labels: &labels,
                    colours: &colours,
                    marks: &marks,
                    metric,
                    x_desc: cols[0],
                    names,
                    y,
                };
                let xs: Vec<f64> = pts.iter().map(|p| x_of(names, p)).collect();
                let (lo, hi) = match names {
                    Some(n) => (0.5, n.len() as f64 + 0.5),
                    None => x_range(&xs),
                };
                let (ylo, yhi) = (y.lo, y.hi);
                let ys = if y.log { axis::log_ticks(ylo, yhi) } else { Vec::new() };
                match (log_x && lo > 0.0, y.log) {
                    (true, true) => panel.draw(
                        &areas[i],
                        (lo..hi).log_scale(),
                        (ylo..yhi).log_scale().with_key_points(ys),
                        lo,
                        hi,
                    )?,
                    (true, false) => panel.draw(&areas[i], (lo..hi).log_scale(), ylo..yhi, lo, hi)?,
                    (false, true) => {
                        panel.draw(&areas[i], lo..hi, (ylo..yhi).log_scale().with_key_points(ys), lo, hi)?
                    }
                    (false, false) => panel.draw(&areas[i], lo..hi, ylo..yhi, lo, hi)?,
                }
            }
            Ok(())
        })
    }
}

/// The x axis title: the key, with its unit when known.
fn axis_name(column: &str) -> String {
    match column {
        "arrivals.rate" => "arrivals.rate (req/s)".into(),
        c if c.ends_with("_ms") => format!("{} (ms)", c.trim_end_matches("_ms")),
        c => c.to_string(),
    }
}

/// A point's x: its value of the first varied key, or, for a key of names
/// (`balancers.subset.kind`), the name's position among `names` from 1.
fn x_of(names: Option<&[String]>, p: &PointRow) -> f64 {
    match names {
        Some(n) => n.iter().position(|v| *v == p.values[0]).map_or(f64::NAN, |i| (i + 1) as f64),
        None => p.values[0].parse().unwrap_or(f64::NAN),
    }
}

fn x_range(xs: &[f64]) -> (f64, f64) {
    let lo = xs.iter().copied().filter(|x| x.is_finite()).fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().filter(|x| x.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if lo == hi {
        if lo > 0.0 { (lo * 0.5, lo * 1.5) } else { (lo - 1.0, lo + 1.0) }
    } else {
        (lo, hi)
    }
}

/// Where ρ crosses 1 between the points, and which side is beyond capacity.
/// `rate − capacity` is linear in the arrival rate and in a group's server count, so
/// linear interpolation between neighbouring points is exact for those sweeps.
fn capacity_region(points: &[&PointRow], lo: f64, hi: f64) -> Option<(f64, f64, Option<f64>)> {
    let mut pts: Vec<(f64, f64)> = points.iter().map(|p| (x_of(None, p), p.rate - p.capacity)).collect();
    pts.retain(|(x, g)| x.is_finite() && g.is_finite());
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let unstable: Vec<bool> = pts.iter().map(|&(_, g)| g >= 0.0).collect();
    if unstable.iter().all(|&u| !u) {
        return None;
    }
    if unstable.iter().all(|&u| u) {
        return Some((lo, hi, None));
    }
    let flips: Vec<usize> = (1..pts.len()).filter(|&i| unstable[i] != unstable[i - 1]).collect();
    if flips.len() != 1 {
        return None;
    }
    let i = flips[0];
    let ((x0, g0), (x1, g1)) = (pts[i - 1], pts[i]);
    let xc = if g1 == g0 { x1 } else { x0 + (x1 - x0) * (-g0) / (g1 - g0) };
    Some(if unstable[i] { (xc, hi, Some(xc)) } else { (lo, xc, Some(xc)) })
}

/// The objective on a panel: its limit (ms), its text, and each strategy's crossing
/// (series, x, the band's low and high x; `None` beyond the sweep).
type SloMarks = (f64, String, Vec<(usize, Option<f64>, f64, Option<f64>)>);

struct Panel<'a> {
    slo: Option<SloMarks>,
    caption: &'a str,
    points: &'a [&'a PointRow],
    labels: &'a [String],
    colours: &'a [RGBColor],
    marks: &'a [Mark],
    metric: Latency,
    x_desc: &'a str,
    /// The names of a first varied key of names (drawn at 1, 2, …), `None` for numbers.
    names: Option<&'a [String]>,
    y: YAxis,
}

/// The y axis shared by all panels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YAxis {
    /// Lower end, ms (0 on a linear axis).
    pub lo: f64,
    /// Upper end, ms.
    pub hi: f64,
    /// Logarithmic.
    pub log: bool,
}

/// The y axis shared by all panels: scaled to the stable points (ρ < 1) with their
/// intervals, or to all points when none is stable; logarithmic when those values span
/// more than [`axis::LOG_SPAN`] (random's p99 near capacity next to least-work-left's).
pub fn y_axis(points: &[PointRow], series: usize, metric: Latency) -> YAxis {
    let values = |stable_only: bool| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter(|p| !stable_only || p.rho < 1.0)
            .flat_map(|p| (0..series).filter_map(move |k| metric.of(p, k)))
            .map(|(v, ci)| (v, v + ci.unwrap_or(0.0)))
            .collect()
    };
    let mut vals = values(true);
    if vals.iter().all(|v| v.1 <= 0.0) {
        vals = values(false);
    }
    let top = vals.iter().map(|v| v.1).fold(0.0f64, f64::max);
    let y = if axis::wants_log(vals.iter().map(|v| v.0)) {
        let (lo, _) = axis::positive_extent(vals.iter().map(|v| v.0));
        let (lo, hi) = axis::log_range(lo * 0.9, top * 1.1);
        YAxis { lo, hi, log: true }
    } else {
        YAxis { lo: 0.0, hi: linear_top(if top > 0.0 { top * 1.05 } else { 1.0 }), log: false }
    };
    inspect::axis(format!("{} y", metric.name()), (y.lo, y.hi), y.log, vals.iter().map(|v| v.0));
    y
}

impl Panel<'_> {
    fn draw<X, Y>(&self, area: &Area<'_>, x_spec: X, y_spec: Y, lo: f64, hi: f64) -> DrawResult
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let (ylo, ymax) = (self.y.lo, self.y.hi);
        // Image pixels (what the chart maps to) → pixels of `area` (what it draws at).
        let (bx, by) = area.get_base_pixel();
        let local = |(x, y): (i32, i32)| (x - bx, y - by);
        let mut builder = ChartBuilder::on(area);
        builder.margin(12).margin_right(30).x_label_area_size(48).y_label_area_size(70);
        if !self.caption.is_empty() {
            builder.caption(self.caption, (FONT, 20));
        }
        let mut chart = builder.build_cartesian_2d(x_spec, y_spec)?;
        let y_desc = format!("{} (ms{})", self.metric.name(), if self.y.log { ", log scale" } else { "" });
        chart
            .configure_mesh()
            .x_desc(axis_name(self.x_desc))
            .y_desc(y_desc)
            .x_label_formatter(&|x| match self.names {
                Some(n) => {
                    let i = x.round();
                    let at = (i >= 1.0 && (x - i).abs() < 1e-6).then(|| n.get(i as usize - 1)).flatten();
                    at.cloned().unwrap_or_default()
                }
                None => tick_label(*x),
            })
            .y_label_formatter(&|y| style::tick(*y))
            .axis_desc_style(text(17.0, &INK))
            .label_style(text(14.0, &INK))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        if let Some((a, b, line)) = capacity_region(self.points, lo, hi) {
            let shade = RGBColor(214, 39, 40).mix(0.10);
            chart.draw_series(std::iter::once(Rectangle::new([(a, ylo), (b, ymax)], shade.filled())))?;
            let ink = RGBColor(60, 60, 60);
            if let Some(x) = line {
                chart.draw_series(DashedLineSeries::new([(x, ylo), (x, ymax)], 8, 5, ink.stroke_width(2)))?;
                let (px, py) = local(chart.backend_coord(&(x, ymax)));
                let style = text(14.0, &ink).pos(Pos::new(HPos::Right, VPos::Top));
                area.draw_text("capacity (ρ = 1); shaded: beyond it", &style, (px - 6, py + 4))?;
            }
        }
        let clamp = |v: f64| v.clamp(ylo, ymax);
        let mut points: Vec<Point> = Vec::new();
        // Values above the axis: (x, strategy, value, stable).
        let mut above: Vec<(f64, usize, f64, bool)> = Vec::new();
        for (k, _) in self.labels.iter().enumerate() {
            let c = self.colours[k];
            // (x, value, half-width, stable)
            let pts: Vec<(f64, f64, Option<f64>, bool)> = self
                .points
                .iter()
                .filter_map(|p| self.metric.of(p, k).map(|(v, ci)| (x_of(self.names, p), v, ci, p.rho < 1.0)))
                .filter(|(x, ..)| x.is_finite())
                .collect();
            let stable: Vec<(f64, f64, Option<f64>)> =
                pts.iter().filter(|p| p.3).map(|&(x, v, ci, _)| (x, v, ci)).collect();
            if stable.iter().any(|p| p.2.is_some()) && stable.len() > 1 {
                let mut band: Vec<(f64, f64)> =
                    stable.iter().map(|&(x, v, ci)| (x, clamp(v + ci.unwrap_or(0.0)))).collect();
                band.extend(stable.iter().rev().map(|&(x, v, ci)| (x, clamp(v - ci.unwrap_or(0.0)))));
                chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled())))?;
            }
            let line: Vec<(i32, i32)> =
                stable.iter().map(|&(x, v, _)| local(chart.backend_coord(&(x, clamp(v))))).collect();
            let at: Vec<(i32, i32)> =
                pts.iter().map(|&(x, v, ..)| local(chart.backend_coord(&(x, clamp(v))))).collect();
            marks::draw_line(area, &line, c, 2, self.marks[k].dash)?;
            // Beyond capacity: a thin dashed continuation, hollow markers, no band.
            for w in pts.windows(2).filter(|w| !(w[0].3 && w[1].3)) {
                let seg = [(w[0].0, clamp(w[0].1)), (w[1].0, clamp(w[1].1))];
                chart.draw_series(DashedLineSeries::new(seg, 5, 4, c.stroke_width(1)))?;
            }
            for (&(x, v, _, ok), &p) in pts.iter().zip(&at) {
                if v > ymax {
                    above.push((x, k, v, ok));
                } else {
                    let owner = self.labels[k].clone();
                    points.push(Point { owner, at: p, marker: self.marks[k].marker, colour: c, filled: ok });
                }
            }
        }
        // Markers where they are, none hidden under another; a value above the axis is an
        // arrow at its top with the value (hollow beyond capacity), stacked per x.
        points::draw_apart(area, &points, 5)?;
        let (_, top) = local(chart.backend_coord(&(lo, ymax)));
        for (i, &(x, k, v, ok)) in above.iter().enumerate() {
            let slot = above[..i].iter().filter(|a| a.0 == x).count();
            let (px, _) = local(chart.backend_coord(&(x, ymax)));
            let label = style::figure(v);
            inspect::figure(&self.labels[k], self.metric.name(), v, &label);
            points::draw_above(area, (px, top), slot, self.colours[k], ok, &label)?;
        }
        if let Some((limit, text_, crossings)) = &self.slo
            && (ylo..=ymax).contains(limit)
        {
            let ink = RGBColor(40, 40, 40);
            chart.draw_series(DashedLineSeries::new([(lo, *limit), (hi, *limit)], 10, 6, ink.stroke_width(2)))?;
            let (px, py) = local(chart.backend_coord(&(lo, *limit)));
            let style = text(14.0, &ink).pos(Pos::new(HPos::Left, VPos::Bottom));
            area.draw_text(text_, &style, (px + 6, py - 4))?;
            // Each strategy's crossing: its band as a bar, its estimate as its marker, on the
            // line, stacked 4 pixels apart (in the legend's order, top down) so bars that
            // overlap in x stay apart.
            for (i, &(k, x, a, b)) in crossings.iter().enumerate() {
                let c = self.colours[k];
                let dy = 4 * i as i32 - 4 * (crossings.len() as i32 - 1) / 2;
                let (xa, y0) = local(chart.backend_coord(&(a.clamp(lo, hi), *limit)));
                let (xb, _) = local(chart.backend_coord(&(b.unwrap_or(hi).clamp(lo, hi), *limit)));
                area.draw(&Rectangle::new([(xa, y0 + dy - 1), (xb.max(xa + 1), y0 + dy + 1)], c.filled()))?;
                if let Some(x) = x {
                    let (xm, _) = local(chart.backend_coord(&(x.clamp(lo, hi), *limit)));
                    marks::draw_marker(area, (xm, y0 + dy), self.marks[k].marker, 5, c, true)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sweep::StrategyCells;

    fn row(x: f64, rate: f64, capacity: f64) -> PointRow {
        PointRow {
            point: 0,
            values: vec![x.to_string()],
            rho: rate / capacity,
            rate,
            capacity,
            replications: 1,
            strategies: vec![],
        }
    }

    #[test]
    fn p99_spanning_decades_gets_a_log_axis() {
        let cells = |label: &str, p99: f64| StrategyCells {
            label: label.into(),
            mean: (p99 / 4.0, None),
            p99: (p99, None),
            throughput: f64::NAN,
            unstable: false,
        };
        let point = |rate: f64, random: f64| PointRow {
            strategies: vec![cells("random", random), cells("least-work-left", 45.0)],
            ..row(rate, rate, 1000.0)
        };
        // Random's 4,320 ms near capacity next to least-work-left's 45: log.
        let rows = [point(500.0, 90.0), point(990.0, 4320.0)];
        let y = y_axis(&rows, 2, Latency::P99);
        assert!(y.log && y.lo <= 45.0 && y.hi >= 4320.0, "{y:?}");
        // 45 to 459: linear from zero.
        let rows = [point(500.0, 90.0), point(900.0, 459.0)];
        let y = y_axis(&rows, 2, Latency::P99);
        assert!(!y.log && y.lo == 0.0 && y.hi >= 459.0, "{y:?}");
        // Points beyond capacity do not set the scale.
        let rows = [point(500.0, 90.0), point(1100.0, 40_000.0)];
        assert!(!y_axis(&rows, 2, Latency::P99).log);
    }

    #[test]
    fn capacity_crossing_is_interpolated() {
        // rate sweep 600..1200 against capacity 1000: ρ = 1 at 1000.
        let rows: Vec<PointRow> = [600.0, 900.0, 1200.0].iter().map(|&r| row(r, r, 1000.0)).collect();
        let refs: Vec<&PointRow> = rows.iter().collect();
        assert_eq!(capacity_region(&refs, 600.0, 1200.0), Some((1000.0, 1200.0, Some(1000.0))));
        // server-count sweep: 100 req/s per server at 900 req/s, unstable below 9 servers.
        let rows: Vec<PointRow> = [6.0, 8.0, 10.0, 12.0].iter().map(|&s| row(s, 900.0, 100.0 * s)).collect();
        let refs: Vec<&PointRow> = rows.iter().collect();
        assert_eq!(capacity_region(&refs, 6.0, 12.0), Some((6.0, 9.0, Some(9.0))));
        let rows = [row(1.0, 1.0, 10.0)];
        assert_eq!(capacity_region(&[&rows[0]], 0.5, 1.5), None);
    }
}
