//! `imbalance.png`: how unevenly each strategy loads the servers, over time and in the long
//! run, strategies ranked.
//!
//! Three panels, one row per strategy, ranked by the first (best on top, each name with its
//! rank, shared (`=1.`) by rows no paired 95% comparison tells apart, the table's rule:
//! `columns::ranks`; unstable ones last, unranked, marked UNSTABLE in red):
//! - **N spread**: the time-average of max − min number in system across servers (scaled to
//!   a server of mean capacity when capacities differ) — the dynamic imbalance that explains
//!   the queueing differences between strategies on a homogeneous pool;
//! - **idle while waiting**: the share of time in which some worker idled while a request
//!   waited at another server (capacity the routing left unused; 0 for a central queue);
//! - **max / mean of ρ**: the capacity-normalised long-run load of the busiest server over
//!   the mean (1 = a split in proportion to capacity).
//!
//! Dots in the strategy's colour and marker ([`super::strategy_marks`]), each labelled with
//! its figure of summary.csv with the table's decimals or 3 significant digits, whichever
//! shows more ([`style::figure_at`]: max/mean `1.005`, not `1`), with the 95% confidence interval when
//! there are replications (clipped at the quantity's physical bounds and at its even value,
//! below which it cannot be: an open end where it was); the even value (0 or 1) dashed. An unstable strategy's values
//! can dwarf the others': each axis covers the stable strategies (and unstable values up to
//! three times as far), and a value beyond is drawn as an arrow at the edge with its number.
//! An axis is logarithmic when the values on it span more than [`axis::LOG_SPAN`]; the
//! max/mean axis reaches at least [`MAX_MEAN_TOP`], so a difference of a few tenths of a
//! percent, which no planner would act on, does not fill the panel.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::super::columns;
use super::{Report, RunChart, averaged, framed, interval_source, strategy_colours, strategy_marks};
use crate::report::charts::canvas::Canvas;
use crate::report::charts::marks::Mark;
use crate::report::charts::style::{self, ALERT, AXIS_PX, GUIDE, INK, LEGEND_PX, TICK_PX};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, axis, fit, inspect, key_row, marks, text};
use crate::report::metric::{IDLE_WHILE_WAITING, LOAD_MAX_OVER_MEAN, Metric, QUEUE_SPREAD};
use crate::stats::{Estimate, StrategySummary};

/// The chart.
pub static CHART: RunChart = RunChart::new("imbalance.png", draw);

/// The least upper end of the max/mean axis: a busiest server 10% above the mean.
pub const MAX_MEAN_TOP: f64 = 1.1;

struct Measure {
    title: &'static str,
    axis: &'static str,
    /// The figure (an estimate of the summary).
    metric: &'static Metric,
    even: f64,
    /// The axis reaches at least this far.
    min_top: f64,
    /// Shown × this (100 for percentages).
    scale: f64,
}

impl Measure {
    /// The figure as the chart tests name it: its summary.csv column, `_percent` when shown
    /// × 100.
    fn column(&self) -> String {
        if self.scale == 100.0 { format!("{}_percent", self.metric.name) } else { self.metric.name.to_string() }
    }

    /// The decimals the table prints the figure with (at least these on the chart).
    fn decimals(&self) -> usize {
        self.metric.shown.as_ref().map_or(0, |s| s.digits)
    }

    /// Strategy `s`'s figure as shown (× [`Self::scale`]): 0 below half the table's last
    /// digit, so a value the table and summary.csv print as 0 (idle while waiting 0.0000605%
    /// under least-work-left) neither drives a log axis over six decades nor prints digits
    /// no CSV has.
    fn shown(&self, s: &StrategySummary) -> Estimate {
        let mut e = self.value(s).scaled(self.scale);
        if e.value.is_finite() && e.value.abs() < 0.5 * 10f64.powi(-(self.decimals() as i32)) {
            e.value = 0.0;
        }
        e
    }

    /// Strategy `s`'s figure.
    fn value(&self, s: &StrategySummary) -> Estimate {
        self.metric.estimate(s).expect("the imbalance measures are estimates")
    }
}

const MEASURES: [Measure; 3] = [
    Measure {
        title: "N spread (dynamic)",
        axis: "mean of max − min requests at a server",
        metric: &QUEUE_SPREAD,
        even: 0.0,
        min_top: 0.0,
        scale: 1.0,
    },
    Measure {
        title: "idle while waiting (dynamic)",
        axis: "% of time a worker idles while a request waits",
        metric: &IDLE_WHILE_WAITING,
        even: 0.0,
        min_top: 0.0,
        scale: 100.0,
    },
    Measure {
        title: "max / mean of ρ (long run)",
        axis: "busiest server's load ÷ mean load",
        metric: &LOAD_MAX_OVER_MEAN,
        even: 1.0,
        min_top: MAX_MEAN_TOP,
        scale: 1.0,
    },
];

/// A panel's x axis, in data units; a log axis is drawn as a linear one over log₁₀ of the
/// values ([`Scale::t`]).
#[derive(Debug, Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
    /// Values beyond this are drawn as an arrow here.
    edge: f64,
}

impl Scale {
    /// Position of `v` on the drawn (linear) axis.
    fn t(&self, v: f64) -> f64 {
        if self.log { v.max(self.lo).log10() } else { v }
    }
}

/// The x axis of a panel: the even value (on a linear axis) and every stable dot with its
/// interval, and the unstable dots within three times that span (others become arrows at
/// the edge); room on the right for the value labels; logarithmic when those values span
/// more than [`axis::LOG_SPAN`].
fn scale_of(values: &[(Estimate, bool)], m: &Measure) -> Scale {
    let finite = || values.iter().filter(|(e, _)| e.value.is_finite());
    let stable: Vec<&(Estimate, bool)> =
        if finite().any(|(_, u)| !*u) { finite().filter(|(_, u)| !*u).collect() } else { finite().collect() };
    let ends = |e: &Estimate| bounded(e, m.even).map_or((e.value, e.value), |(a, b, _)| (a, b));
    let log = axis::wants_log(stable.iter().map(|(e, _)| e.value));
    let (slo, shi) = stable.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (e, _)| {
        let (a, b) = ends(e);
        (lo.min(if log && a <= 0.0 { e.value } else { a }), hi.max(b))
    });
    let cap = if !slo.is_finite() {
        (f64::NEG_INFINITY, f64::INFINITY)
    } else if log {
        let (p, _) = axis::positive_extent(stable.iter().map(|(e, _)| e.value));
        let r = shi / p;
        (0.0, shi * r * r)
    } else {
        let span = (shi.max(m.even) - slo.min(m.even)).max(1e-9);
        (slo - 2.0 * span, shi + 2.0 * span)
    };
    let shown: Vec<&(Estimate, bool)> =
        finite().filter(|(e, u)| !*u || stable.len() == values.len() || e.value <= cap.1).collect();
    let (mut lo, mut hi) = shown.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (e, _)| {
        let (a, b) = ends(e);
        (lo.min(a), hi.max(b.min(cap.1)))
    });
    if !lo.is_finite() {
        (lo, hi) = (m.even, m.even + 1.0);
    }
    // Room for the labels on the right, but not past the quantity's upper bound (100% of
    // the time): a label that does not fit goes left of its dot.
    let upper = values.first().map_or(f64::INFINITY, |(e, _)| e.bounds.upper);
    let mut sc = if log {
        let (p, _) = axis::positive_extent(shown.iter().map(|(e, _)| e.value));
        let lo = axis::log_floor(p / 2.0);
        let (tl, th) = (lo.log10(), hi.log10());
        let span = (th - tl).max(1.0);
        let top = 10f64.powf(th + 0.34 * span);
        Scale { lo, hi: top, log: true, edge: 10f64.powf(th + 0.03 * span) }
    } else {
        let (lo, hi) = (lo.min(m.even), hi.max(m.even).max(m.min_top));
        let span = (hi - lo).max(1e-9);
        let (a, b) = axis::free_range(lo - span * 0.06, hi + span * 0.34);
        Scale { lo: a, hi: b, log: false, edge: hi + span * 0.03 }
    };
    if upper >= hi {
        sc.hi = sc.hi.min(upper);
        sc.edge = sc.edge.min(upper);
    }
    sc
}

/// `e`'s 95% confidence interval within its physical bounds and above `floor` (no measure
/// is below its even value: a spread or a share is at least 0, max/mean at least 1);
/// whether its lower end was raised.
fn bounded(e: &Estimate, floor: f64) -> Option<(f64, f64, bool)> {
    let ci = e.ci95.filter(|c| c.is_finite())?;
    let (a, b, open) = axis::interval(e.value, ci, floor.max(e.bounds.lower));
    Some((a, b.min(e.bounds.upper), open))
}

fn note(report: &Report) -> String {
    let ci = interval_source(report).map_or(String::new(), |from| format!("; whisker: 95% confidence interval {from}"));
    format!(
        "Each dot: the strategy's figure of summary.csv (queue_spread, idle_while_waiting, load_max_over_mean), \
         a time average over the measured window, {}{ci}. Ranked by N spread, best first (=: not told apart \
         from another row, paired 95%, the rule of the table's ≈), unstable strategies last, unranked. Log axis where a panel's values span more than 30×; the max/mean axis reaches at least {MAX_MEAN_TOP}.",
        averaged(report)
    )
}

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let body = framed(root, report, "imbalance across servers, strategies ranked by N spread", &note(report))?;
    let legend = interval_source(report).map(|from| format!("95% confidence interval {from}"));
    let body = key_row(&body, &key(report, legend.as_deref()))?;
    let order = ranking(report);
    let n = order.len();
    // Each row's name with its rank by N spread: rows no paired 95% comparison tells apart
    // share one (the table's rule, `columns::ranks`).
    let names: Vec<String> = order
        .iter()
        .zip(columns::ranks(report, &QUEUE_SPREAD, &order, columns::rankable))
        .map(|(&i, (rank, shared))| {
            let label = &report.strategies[i].label;
            if rank == 0 { label.clone() } else { format!("{}{rank}. {label}", if shared { "=" } else { "" }) }
        })
        .collect();
    let (body_w, body_h) = body.dim_in_pixel();
    let row_h = f64::from(body_h.saturating_sub(90)) / n.max(1) as f64;
    let row_px = if row_h >= 36.0 { LEGEND_PX } else { (row_h * 0.42).clamp(12.0, LEGEND_PX) };
    let widest = names.iter().map(|l| fit::width(l, row_px)).max().unwrap_or(0);
    // Name, a gap, the marker.
    let label_w = (widest + 40).clamp(90, body_w * 24 / 100);
    let (labels, panels) = body.split_horizontally(label_w);
    let panels = panels.split_evenly((1, 3));
    let rows = Rows {
        report,
        order,
        names,
        colours: strategy_colours(report),
        marks: strategy_marks(report),
        value_px: if row_h >= 30.0 { TICK_PX - 1.0 } else { 12.0 },
        dot: if n > 12 { 5 } else { 7 },
    };
    let mut row_centres: Vec<i32> = Vec::new();
    for (m, panel) in MEASURES.iter().zip(&panels) {
        row_centres = rows.measure(root, panel, m)?;
    }
    rows.names(root, &labels, label_w, row_px, &row_centres)
}

/// The key above the panels: the even value, the intervals (`interval`: what they rest
/// on), and UNSTABLE when a strategy is.
fn key(report: &Report, interval: Option<&str>) -> Vec<LegendEntry> {
    let mut key = vec![LegendEntry::new("even (0, or 1 for max/mean)", GUIDE, Swatch::Dashed)];
    if let Some(text) = interval {
        key.push(LegendEntry::new(text, INK, Swatch::Line));
    }
    if report.strategies.iter().any(StrategySummary::is_unstable) {
        key.push(LegendEntry::new(
            "UNSTABLE: queues grow without bound (an arrow: value off the axis)",
            ALERT,
            Swatch::Block,
        ));
    }
    key
}

/// Strategy indices ranked: stable strategies by N spread, then the unstable ones, each
/// best first.
fn ranking(report: &Report) -> Vec<usize> {
    let mut order: Vec<usize> = (0..report.strategies.len()).collect();
    let key_of = |i: usize| {
        let s = &report.strategies[i];
        let v = s.queue_spread.value;
        (s.is_unstable(), if v.is_finite() { v } else { f64::INFINITY })
    };
    order.sort_by(|&a, &b| {
        let (ua, va) = key_of(a);
        let (ub, vb) = key_of(b);
        ua.cmp(&ub).then(va.total_cmp(&vb)).then(a.cmp(&b))
    });
    order
}

/// The strategies' rows, as every panel draws them.
struct Rows<'r> {
    report: &'r Report,
    /// Strategy indices, top row first.
    order: Vec<usize>,
    /// Their names as shown, with their ranks.
    names: Vec<String>,
    colours: Vec<RGBColor>,
    marks: Vec<Mark>,
    /// Size of the printed values, px.
    value_px: f64,
    /// Marker size, px.
    dot: i32,
}

/// A measure's panel: the measure (possibly log) along x, rows up y.
type MeasureChart<'a, 'b> = ChartContext<'a, Canvas<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

impl Rows<'_> {
    /// Draws measure `m`'s panel on `panel`; returns the rows' centres, px, top first.
    fn measure(&self, root: &Area<'_>, panel: &Area<'_>, m: &Measure) -> DrawResult<Vec<i32>> {
        let n = self.order.len();
        let values: Vec<(Estimate, bool)> = self
            .order
            .iter()
            .map(|&i| {
                let s = &self.report.strategies[i];
                (m.shown(s), s.is_unstable())
            })
            .collect();
        let sc = scale_of(&values, m);
        let on_axis = values.iter().filter(|(e, _)| e.value.is_finite() && e.value <= sc.edge).map(|(e, _)| e.value);
        inspect::axis(format!("imbalance {} x", m.column()), (sc.lo, sc.hi), sc.log, on_axis);
        let mut chart = axes(panel, m, &sc, n)?;
        let (tlo, thi) = (sc.t(sc.lo), sc.t(sc.hi));
        // Row guides, the even value (on a linear axis), then the dots.
        for k in 0..n {
            let y = (n - 1 - k) as f64;
            chart.draw_series(LineSeries::new(vec![(tlo, y), (thi, y)], RGBColor(242, 242, 242).stroke_width(1)))?;
        }
        if !sc.log {
            chart.draw_series(DashedLineSeries::new(
                vec![(m.even, -0.5), (m.even, n as f64 - 0.5)],
                6,
                5,
                GUIDE.stroke_width(2),
            ))?;
        }
        let mut row_centres = Vec::with_capacity(n);
        for (k, (e, unstable)) in values.iter().enumerate() {
            let y = (n - 1 - k) as f64;
            row_centres.push(chart.backend_coord(&(tlo, y)).1);
            if e.value.is_finite() {
                self.value(root, &chart, m, &sc, k, e, *unstable)?;
            }
        }
        Ok(row_centres)
    }

    /// Draws row `k`'s value `e` of measure `m` on `chart`: its marker, interval and
    /// figure (an arrow when it is off the axis).
    #[allow(clippy::too_many_arguments)]
    fn value(
        &self,
        root: &Area<'_>,
        chart: &MeasureChart<'_, '_>,
        m: &Measure,
        sc: &Scale,
        k: usize,
        e: &Estimate,
        unstable: bool,
    ) -> DrawResult {
        let (n, dot, value_px) = (self.order.len(), self.dot, self.value_px);
        let y = (n - 1 - k) as f64;
        let i = self.order[k];
        let c = self.colours[i];
        let plot_right = chart.backend_coord(&(sc.t(sc.hi), 0.0)).0;
        let label = style::figure_at(e.value, m.decimals());
        inspect::figure(&self.report.strategies[i].label, &m.column(), e.value, &label);
        let style = text(value_px, if unstable { &ALERT } else { &INK }).pos(Pos::new(HPos::Left, VPos::Center));
        if e.value > sc.edge {
            // Off the axis: an arrow at the edge and the value.
            let (px, py) = chart.backend_coord(&(sc.t(sc.edge), y));
            root.draw(&Polygon::new(vec![(px - 6, py - 7), (px + 6, py), (px - 6, py + 7)], ALERT.filled()))?;
            root.draw_text(&label, &style, (px + 10, py))?;
            return Ok(());
        }
        // The interval, clipped at the quantity's physical bounds, then at the axis
        // (an open end where it leaves it).
        let mut reach = e.value;
        if let Some((a, b, raised)) = bounded(e, m.even) {
            let (pa, py) = chart.backend_coord(&(sc.t(a.max(sc.lo)), y));
            let (pb, _) = chart.backend_coord(&(sc.t(b.min(sc.edge)), y));
            root.draw(&PathElement::new(vec![(pa, py), (pb, py)], c.stroke_width(2)))?;
            for (p, open) in [(pa, raised || a < sc.lo), (pb, b > sc.edge)] {
                if !open {
                    root.draw(&PathElement::new(vec![(p, py - 4), (p, py + 4)], c.stroke_width(2)))?;
                }
            }
            reach = b.min(sc.edge);
        }
        let at = chart.backend_coord(&(sc.t(e.value), y));
        marks::draw_marker(root, at, self.marks[i].marker, dot, c, true)?;
        if unstable {
            root.draw(&Circle::new(at, dot + 4, ALERT.stroke_width(2)))?;
        }
        let (px, py) = chart.backend_coord(&(sc.t(reach), y));
        // Clear of the marker (and of the red ring around an unstable one); left of the
        // dot (and its interval) when the panel has no room on the right.
        let gap = if unstable { dot + 9 } else { dot + 5 };
        let x = px.max(at.0) + gap;
        if x + fit::width(&label, value_px) as i32 > plot_right + 12 {
            let left =
                bounded(e, m.even).map_or(at.0, |(a, _, _)| chart.backend_coord(&(sc.t(a.max(sc.lo)), y)).0.min(at.0));
            let style = text(value_px, if unstable { &ALERT } else { &INK }).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw_text(&label, &style, (left - gap, py))?;
        } else {
            root.draw_text(&label, &style, (x, py))?;
        }
        Ok(())
    }

    /// Strategy names in `labels` (`label_w` px wide), right-aligned against the first
    /// panel at `row_centres`, in their colours, wrapped (never cut) at `row_px`, each with
    /// its marker; UNSTABLE in red after the name.
    fn names(&self, root: &Area<'_>, labels: &Area<'_>, label_w: u32, row_px: f64, row_centres: &[i32]) -> DrawResult {
        let (lx, ly) = labels.get_base_pixel();
        let right = lx + label_w as i32 - 24;
        for (k, &i) in self.order.iter().enumerate() {
            let s = &self.report.strategies[i];
            let yc = row_centres.get(k).copied().unwrap_or(ly);
            let mut lines = fit::block(&self.names[k], label_w - 34, 2, row_px, 11.0);
            let line_h = (lines.px * 1.2).round() as i32;
            let tag = "UNSTABLE";
            let tag_on_own_line = s.is_unstable()
                && fit::width(&format!("{}  {tag}", lines.lines.last().map_or("", |l| l.as_str())), lines.px)
                    > label_w - 34;
            if tag_on_own_line {
                lines.lines.push(String::new());
            }
            let total = lines.lines.len() as i32 * line_h;
            let mut y = yc - total / 2 + line_h / 2;
            let count = lines.lines.len();
            for (j, l) in lines.lines.iter().enumerate() {
                let last = j + 1 == count;
                let mut x = right;
                if last && s.is_unstable() {
                    let tag_text = if l.is_empty() { tag.to_string() } else { format!("  {tag}") };
                    let style = text(lines.px, &ALERT).pos(Pos::new(HPos::Right, VPos::Center));
                    root.draw_text(&tag_text, &style, (x, y))?;
                    x -= fit::width(&tag_text, lines.px) as i32;
                }
                if !l.is_empty() {
                    let style = text(lines.px, &self.colours[i]).pos(Pos::new(HPos::Right, VPos::Center));
                    root.draw_text(l, &style, (x, y))?;
                }
                y += line_h;
            }
            marks::draw_marker(root, (right + 13, yc), self.marks[i].marker, 6, self.colours[i], true)?;
        }
        Ok(())
    }
}

/// Measure `m`'s axes on `panel` for `n` rows on scale `sc`, drawn.
fn axes<'a, 'b>(panel: &Area<'b>, m: &Measure, sc: &Scale, n: usize) -> DrawResult<MeasureChart<'a, 'b>> {
    let caption = fit::block(m.title, panel.dim_in_pixel().0.saturating_sub(16), 1, AXIS_PX + 1.0, 12.0);
    let desc = if sc.log { format!("{}, log scale", m.axis) } else { m.axis.to_string() };
    let desc = fit::block(&desc, panel.dim_in_pixel().0.saturating_sub(30), 1, TICK_PX, 11.0);
    let mut chart = ChartBuilder::on(panel)
        .caption(&caption.lines[0], text(caption.px, &INK))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(54)
        .y_label_area_size(6)
        .build_cartesian_2d(sc.t(sc.lo)..sc.t(sc.hi), -0.5f64..n as f64 - 0.5)?;
    let tick = |x: &f64| {
        if !sc.log {
            style::tick(*x)
        } else if (x - x.round()).abs() < 1e-6 {
            style::tick(10f64.powf(x.round()))
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(if sc.log { 8 } else { 5 })
        .x_label_formatter(&tick)
        .x_desc(desc.lines.join(" "))
        .axis_desc_style(text(desc.px, &INK))
        .label_style(text(TICK_PX - 1.0, &INK))
        .bold_line_style(RGBColor(230, 230, 230))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    Ok(chart)
}
