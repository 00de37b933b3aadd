//! plan.png: servers needed per strategy (left) and, for the first SLO, the metric at every
//! count the search simulated with its 95% interval against the limit (right).

use plotters::prelude::*;

use crate::Result;
use crate::plan::PlanReport;
use crate::report::Exporter;
use crate::report::charts::axis::{linear_top, tick_label};
use crate::report::charts::style::{FONT, colours};
use crate::report::charts::{Area, DrawResult, render_png};

/// `plan.png`.
#[derive(Debug)]
pub struct PlanChart;

const SLOT: i32 = 100;

impl Exporter<PlanReport> for PlanChart {
    fn file_name(&self) -> &'static str {
        "plan.png"
    }

    fn render(&self, report: &PlanReport) -> Result<Vec<u8>> {
        let title = format!(
            "{}: servers needed in group {} for {} at {} req/s",
            report.scenario.name,
            report.group,
            report.slos.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" and "),
            report.rate
        );
        render_png(1400, 700, |root| {
            let root = root.titled(&title, (FONT, 28))?;
            let (left, right) = root.split_horizontally(600);
            draw_bars(&left, report)?;
            draw_search(&right, report)?;
            Ok(())
        })
    }
}

fn draw_bars(area: &Area<'_>, report: &PlanReport) -> DrawResult {
    let n = report.strategies.len() as i32;
    let slot = |k: usize| (n - 1 - k as i32) * SLOT;
    let xmax = linear_top(report.strategies.iter().filter_map(|p| p.servers).max().unwrap_or(1) as f64 * 1.15);
    let ticks: Vec<i32> = (0..n as usize).map(slot).collect();
    let labels: Vec<String> = report.strategies.iter().map(|p| p.label.clone()).collect();
    let colours = colours(&labels);
    let mut chart = ChartBuilder::on(area)
        .caption("servers needed (fewest is best)", (FONT, 20))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(160)
        .build_cartesian_2d(0f64..xmax, (-SLOT / 2..n * SLOT - SLOT / 2).with_key_points(ticks))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(format!("servers in group {}", report.group))
        .x_label_formatter(&|x| tick_label(*x))
        .y_label_formatter(&|y| {
            let k = (n - 1) - y.div_euclid(SLOT);
            labels.get(k as usize).cloned().unwrap_or_default()
        })
        .axis_desc_style((FONT, 16))
        .label_style((FONT, 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (k, p) in report.strategies.iter().enumerate() {
        let y = slot(k);
        match p.servers {
            Some(s) => {
                let c = colours[k];
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y - SLOT * 3 / 10), (f64::from(s), y + SLOT * 3 / 10)],
                    c.filled(),
                )))?;
                chart.draw_series(std::iter::once(Text::new(
                    s.to_string(),
                    (f64::from(s) + xmax * 0.01, y + SLOT / 8),
                    (FONT, 16),
                )))?;
            }
            None => {
                chart.draw_series(std::iter::once(Text::new("not met", (xmax * 0.01, y + SLOT / 8), (FONT, 16))))?;
            }
        }
    }
    Ok(())
}

fn draw_search(area: &Area<'_>, report: &PlanReport) -> DrawResult {
    let labels: Vec<&str> = report.strategies.iter().map(|p| p.label.as_str()).collect();
    let colours = colours(&labels);
    let slo = &report.slos[0];
    let scale = if slo.metric.is_time() { 1e3 } else { 100.0 };
    let unit = if slo.metric.is_time() { "ms" } else { "%" };
    let limit = slo.limit * scale;
    let sims: Vec<(usize, u32, f64, f64)> = report
        .strategies
        .iter()
        .enumerate()
        .flat_map(|(k, p)| {
            p.candidates.iter().filter_map(move |c| {
                let e = c.measures.first()?;
                e.value.is_finite().then(|| (k, c.servers, e.value * scale, e.ci95.unwrap_or(0.0) * scale))
            })
        })
        .collect();
    let (lo, hi) = sims.iter().fold((u32::MAX, 0u32), |(a, b), s| (a.min(s.1), b.max(s.1)));
    let (lo, hi) = if sims.is_empty() { (0.0, 1.0) } else { (f64::from(lo) - 0.5, f64::from(hi) + 0.5) };
    let top = sims.iter().map(|s| s.2 + s.3).fold(limit, f64::max).min(4.0 * limit);
    let ymax = linear_top(top * 1.05);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("the search: {} at each count simulated (95% CI)", slo.metric.name()), (FONT, 20))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(lo..hi, 0f64..ymax)?;
    chart
        .configure_mesh()
        .x_desc(format!("servers in group {}", report.group))
        .y_desc(format!("{} ({unit})", slo.metric.name()))
        .x_label_formatter(&|x| tick_label(*x))
        .y_label_formatter(&|y| tick_label(*y))
        .axis_desc_style((FONT, 16))
        .label_style((FONT, 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let ink = RGBColor(60, 60, 60);
    chart
        .draw_series(DashedLineSeries::new([(lo, limit), (hi, limit)], 8, 5, ink.stroke_width(2)))?
        .label(format!("SLO: {slo}"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], ink.stroke_width(2)));
    for (k, p) in report.strategies.iter().enumerate() {
        let c = colours[k];
        let pts: Vec<(f64, f64, f64)> =
            sims.iter().filter(|s| s.0 == k).map(|s| (f64::from(s.1), s.2.min(ymax), s.3)).collect();
        // A small offset per strategy keeps the intervals of equal counts apart.
        let dx = (k as f64 - (report.strategies.len() as f64 - 1.0) / 2.0) * 0.06;
        chart
            .draw_series(LineSeries::new(pts.iter().map(|&(x, v, _)| (x + dx, v)), c.stroke_width(2)))?
            .label(p.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
        for &(x, v, ci) in &pts {
            let (a, b) = ((v - ci).max(0.0), (v + ci).min(ymax));
            chart.draw_series(std::iter::once(PathElement::new(vec![(x + dx, a), (x + dx, b)], c.stroke_width(2))))?;
            chart.draw_series(std::iter::once(Circle::new((x + dx, v), 3, c.filled())))?;
        }
        if let Some(s) = p.servers
            && let Some(&(x, v, _)) = pts.iter().find(|pt| pt.0 == f64::from(s))
        {
            chart.draw_series(std::iter::once(Circle::new((x + dx, v), 8, c.stroke_width(2))))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
