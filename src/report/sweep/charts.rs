//! sweep_p99.png and sweep_mean.png: latency against the first varied key, one line per
//! strategy with its 95% confidence band, the capacity (ρ = 1) marked and the region
//! beyond it shaded — the classic hockey stick. With a second varied key, one panel per
//! value of it (small multiples).
//!
//! The y axis is scaled to the stable points (ρ < 1): beyond capacity latencies grow with
//! the run length, not the load, and would flatten everything else. Points beyond capacity
//! are hollow, joined by thin dashes and have no band; values above the axis are drawn at
//! its top with a triangle.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::{PointRow, SweepView, series_labels};
use crate::Result;
use crate::report::Exporter;
use crate::report::charts::axis::{linear_top, tick_label};
use crate::report::charts::style::{self, FONT};
use crate::report::charts::{Area, DrawResult, render_png};

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
        if reps > 1 {
            title.push_str(&format!(" — bands: 95% CI over {reps} replications"));
        }
        if total > n {
            title.push_str(&format!(" (first {n} of {total} panels)"));
        }
        let log = view.axes[0].log;
        let metric = self.metric;
        let ymax = y_top(points, labels.len(), metric);
        render_png(w, h, |root| {
            let root = root.titled(&title, (FONT, if n == 1 { 30 } else { 26 }))?;
            let areas = root.split_evenly((nrows, ncols));
            for (i, (key, pts)) in panels.iter().enumerate() {
                let panel =
                    Panel { caption: key, points: pts, labels: &labels, metric, legend: i == 0, x_desc: cols[0], ymax };
                let xs: Vec<f64> = pts.iter().map(|p| x_of(p)).collect();
                let (lo, hi) = x_range(&xs);
                if log && lo > 0.0 {
                    panel.draw(&areas[i], (lo..hi).log_scale(), lo, hi)?;
                } else {
                    panel.draw(&areas[i], lo..hi, lo, hi)?;
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

fn x_of(p: &PointRow) -> f64 {
    p.values[0].parse().unwrap_or(f64::NAN)
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
    let mut pts: Vec<(f64, f64)> = points.iter().map(|p| (x_of(p), p.rate - p.capacity)).collect();
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

struct Panel<'a> {
    caption: &'a str,
    points: &'a [&'a PointRow],
    labels: &'a [String],
    metric: Latency,
    legend: bool,
    x_desc: &'a str,
    ymax: f64,
}

/// The y axis top shared by all panels: scaled to the stable points (ρ < 1) with their
/// intervals, or to all points when none is stable.
fn y_top(points: &[PointRow], series: usize, metric: Latency) -> f64 {
    let top = |stable_only: bool| {
        points
            .iter()
            .filter(|p| !stable_only || p.rho < 1.0)
            .flat_map(|p| (0..series).filter_map(move |k| metric.of(p, k)))
            .map(|(v, ci)| v + ci.unwrap_or(0.0))
            .fold(0.0f64, f64::max)
    };
    let t = top(true);
    linear_top(if t > 0.0 { t } else { top(false) } * 1.05)
}

impl Panel<'_> {
    fn draw<X>(&self, area: &Area<'_>, x_spec: X, lo: f64, hi: f64) -> DrawResult
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
    {
        let ymax = self.ymax;
        let mut builder = ChartBuilder::on(area);
        builder.margin(12).margin_right(30).x_label_area_size(48).y_label_area_size(70);
        if !self.caption.is_empty() {
            builder.caption(self.caption, (FONT, 20));
        }
        let mut chart = builder.build_cartesian_2d(x_spec, 0f64..ymax)?;
        chart
            .configure_mesh()
            .x_desc(axis_name(self.x_desc))
            .y_desc(format!("{} (ms)", self.metric.name()))
            .x_label_formatter(&|x| tick_label(*x))
            .y_label_formatter(&|y| tick_label(*y))
            .axis_desc_style((FONT, 17))
            .label_style((FONT, 14))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        if let Some((a, b, line)) = capacity_region(self.points, lo, hi) {
            let shade = RGBColor(214, 39, 40).mix(0.10);
            chart.draw_series(std::iter::once(Rectangle::new([(a, 0.0), (b, ymax)], shade.filled())))?;
            let ink = RGBColor(60, 60, 60);
            if let Some(x) = line {
                chart
                    .draw_series(DashedLineSeries::new([(x, 0.0), (x, ymax)], 8, 5, ink.stroke_width(2)))?
                    .label("capacity (ρ = 1); shaded: beyond it")
                    .legend(move |(px, py)| PathElement::new(vec![(px, py), (px + 24, py)], ink.stroke_width(2)));
            }
        }
        let colours = style::colours(self.labels);
        for (k, label) in self.labels.iter().enumerate() {
            let c = colours[k];
            // (x, value, half-width, stable)
            let pts: Vec<(f64, f64, Option<f64>, bool)> = self
                .points
                .iter()
                .filter_map(|p| self.metric.of(p, k).map(|(v, ci)| (x_of(p), v, ci, p.rho < 1.0)))
                .filter(|(x, ..)| x.is_finite())
                .collect();
            let stable: Vec<(f64, f64, Option<f64>)> =
                pts.iter().filter(|p| p.3).map(|&(x, v, ci, _)| (x, v, ci)).collect();
            if stable.iter().any(|p| p.2.is_some()) && stable.len() > 1 {
                let mut band: Vec<(f64, f64)> =
                    stable.iter().map(|&(x, v, ci)| (x, (v + ci.unwrap_or(0.0)).min(ymax))).collect();
                band.extend(stable.iter().rev().map(|&(x, v, ci)| (x, (v - ci.unwrap_or(0.0)).clamp(0.0, ymax))));
                chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled())))?;
            }
            let line: Vec<(f64, f64)> = stable.iter().map(|&(x, v, _)| (x, v.min(ymax))).collect();
            chart
                .draw_series(LineSeries::new(line, c.stroke_width(2)))?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
            // Beyond capacity: a thin dashed continuation, hollow markers, no band.
            for w in pts.windows(2).filter(|w| !(w[0].3 && w[1].3)) {
                let seg = [(w[0].0, w[0].1.min(ymax)), (w[1].0, w[1].1.min(ymax))];
                chart.draw_series(DashedLineSeries::new(seg, 5, 4, c.stroke_width(1)))?;
            }
            for &(x, v, _, ok) in &pts {
                if v > ymax {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((x, ymax)) + TriangleMarker::new((0, 6), 6, c.filled()),
                    ))?;
                } else if ok {
                    chart.draw_series(std::iter::once(Circle::new((x, v), 3, c.filled())))?;
                } else {
                    chart.draw_series(std::iter::once(Circle::new((x, v), 4, c.stroke_width(1))))?;
                }
            }
        }
        if self.legend {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font((FONT, 15))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
