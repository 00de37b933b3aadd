//! What the charts over simulated time share: their mesh and labelled y grid, and the
//! shading of replication 0's warm-up, flash crowds and fault windows.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::Report;
use crate::report::charts::canvas::Canvas;
use crate::report::charts::style::{self, AXIS_PX, INK, SHADE, TICK_PX};
use crate::report::charts::{Area, DrawResult, LegendEntry, Swatch, text};

/// The blue of a flash crowd on the time charts.
pub const SPIKE_SHADE: RGBColor = RGBColor(214, 230, 250);

/// A chart of a value over simulated time.
pub type TimeChart<'a, 'b> = ChartContext<'a, Canvas<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws the mesh (`x_desc` under the time axis, `y_desc` beside the other) and, at each
/// value of `ticks` (placed at `y(v)`), a grey grid line labelled in `root`'s margin.
pub fn mesh(
    root: &Area<'_>,
    chart: &mut TimeChart<'_, '_>,
    (x_desc, y_desc): (&str, &str),
    ticks: &[f64],
    y: impl Fn(f64) -> f64,
    t_end: f64,
) -> DrawResult {
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(8)
        .x_label_formatter(&|x| style::short(*x))
        .y_labels(0)
        .axis_desc_style(text(AXIS_PX, &INK))
        .label_style(text(TICK_PX, &INK))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;
    for &v in ticks {
        let (px, py) = chart.backend_coord(&(0.0, y(v)));
        let label = style::tick(v);
        let w = crate::report::charts::fit::width(&label, TICK_PX) as i32;
        root.draw_text(&label, &text(TICK_PX, &INK), (px - w - 8, py - (TICK_PX / 2.0) as i32))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, y(v)), (t_end, y(v))],
            RGBColor(225, 225, 225).stroke_width(1),
        )))?;
    }
    Ok(())
}

/// The legend entries of what [`shade`] draws: the warm-up, then replication 0's faults and
/// the flash crowds when there are any.
pub fn shading_key(report: &Report) -> Vec<LegendEntry> {
    let mut key = vec![LegendEntry::new("warm-up (not measured)", SHADE, Swatch::Block)];
    // A rolling deploy is a fault kind; the key says which the shading is.
    let (deploys, faults) = report
        .fault_windows_of(0)
        .fold((0, 0), |(d, f), w| if w.kind.deploy().is_some() { (d + 1, f) } else { (d, f + 1) });
    let what = match (faults > 0, deploys > 0) {
        (true, true) => Some("fault or rolling deploy"),
        (true, false) => Some("fault"),
        (false, true) => Some("rolling deploy"),
        (false, false) => None,
    };
    if let Some(what) = what {
        key.push(LegendEntry::new(what, style::FAULT_SHADE, Swatch::Block));
    }
    if !report.scenario.arrivals.spikes().is_empty() {
        key.push(LegendEntry::new("flash crowd", SPIKE_SHADE, Swatch::Block));
    }
    key
}

/// Shades, over `a..b` of the y axis and up to `t_end`, the warm-up, the arrival rate's
/// flash crowds and replication 0's fault windows.
pub fn shade(chart: &mut TimeChart<'_, '_>, report: &Report, t_end: f64, (a, b): (f64, f64)) -> DrawResult {
    if let Some(w) = report.strategies.first().and_then(|s| s.timeline.warmup_end).filter(|&w| w > 0.0) {
        chart.draw_series(std::iter::once(Rectangle::new([(0.0, a), (w.min(t_end), b)], SHADE.filled())))?;
    }
    chart.draw_series(
        report
            .scenario
            .arrivals
            .spikes()
            .iter()
            .filter(|sp| sp.at < t_end)
            .map(|sp| Rectangle::new([(sp.at, a), ((sp.at + sp.duration).min(t_end), b)], SPIKE_SHADE.filled())),
    )?;
    chart.draw_series(report.fault_windows_of(0).filter(|f| f.start < t_end).map(|f| {
        Rectangle::new([(f.start, a), (f.end.unwrap_or(t_end).min(t_end), b)], style::FAULT_SHADE.filled())
    }))?;
    Ok(())
}
