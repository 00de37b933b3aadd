//! `pods_timeline.png`: the autoscaled group's pods over simulated time, one pair of step
//! lines per strategy, beside the queue timeline. Written only for a scenario with
//! `[autoscaler]` (when the pool changes size).
//!
//! The thick line is the *ready* pods (in the balancers' endpoints: what serves), the thin
//! one the *pods* (created and not gone: pending, starting, ready, terminating — what is
//! paid for); both are pods.csv's step functions of the first replication, exactly. The
//! warm-up, fault windows and flash crowds are shaded as in queue_timeline.png.

use plotters::prelude::*;

use super::time_axes;
use super::{Report, framed, strategy_colours, strategy_marks};
use crate::Result;
use crate::report::Exporter;
use crate::report::charts::style::{AXIS_PX, INK};
use crate::report::charts::{Area, DrawResult, HEIGHT, LegendEntry, Swatch, WIDTH, axis, inspect, marks, render_png};
use crate::report::charts::{text, with_legend};
use crate::stats::pod_counts::PodCount;

/// The chart (an [`Exporter`] of its own: it is wanted only when the pool changes size).
#[derive(Debug)]
pub struct PodsTimeline;

/// The chart, for the exporters' list.
pub static CHART: PodsTimeline = PodsTimeline;

impl Exporter for PodsTimeline {
    fn file_name(&self) -> &'static str {
        "pods_timeline.png"
    }

    fn wanted(&self, report: &Report) -> bool {
        report.scenario.pod_group.is_some()
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        render_png(WIDTH, HEIGHT, |root| draw(root, report))
    }

    fn is_chart(&self) -> bool {
        true
    }
}

/// A step function as points: (time, count) at each change, held until the next and to
/// `end`.
fn steps(timeline: &[PodCount], end: f64, count: impl Fn(&PodCount) -> u32) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(timeline.len() * 2 + 1);
    for (k, c) in timeline.iter().enumerate() {
        let v = f64::from(count(c));
        if k > 0 {
            out.push((c.time, f64::from(count(&timeline[k - 1]))));
        }
        out.push((c.time, v));
    }
    if let Some(last) = timeline.last() {
        out.push((end.max(last.time), f64::from(count(last))));
    }
    out
}

fn note(report: &Report) -> String {
    let reps = report.scenario.replications;
    format!(
        "Thick: ready pods (EndpointSlice `ready`: not terminating); thin: pods created and not gone (pending, starting, ready, \
         terminating: the cost). Step functions of pods.csv{}; pod-seconds per strategy in pods.csv \
         (run_pod_seconds) and the table.",
        if reps > 1 { format!(", replication 1 of {reps}") } else { String::new() },
    )
}

fn draw(root: &Area<'_>, report: &Report) -> DrawResult {
    let body = framed(root, report, "pods over time", &note(report))?;
    if report.scenario.pod_group.is_none() {
        body.draw_text("the pool has fixed servers (no [autoscaler], no deploy)", &text(AXIS_PX, &INK), (40, 40))?;
        return Ok(());
    };
    let colours = strategy_colours(report);
    let marks_ = strategy_marks(report);
    let t_end = report.strategies.iter().map(|s| s.timeline.end).fold(0.0, f64::max).max(1e-9);
    let runs: Vec<Option<&[PodCount]>> =
        report.strategies.iter().map(|s| s.pods.first().map(|p| p.timeline.as_slice())).collect();
    let mut key: Vec<LegendEntry> = report
        .strategies
        .iter()
        .enumerate()
        .map(|(i, s)| LegendEntry::new(s.label.clone(), colours[i], Swatch::Line))
        .collect();
    key.extend(time_axes::shading_key(report));
    let (plot, _) = with_legend(&body, "strategy (thick: ready, thin: pods)", &key)?;
    let counts = runs.iter().flatten().flat_map(|t| t.iter().flat_map(|c| [f64::from(c.pods), f64::from(c.ready)]));
    let top = counts.clone().fold(1.0, f64::max);
    let y_hi = axis::linear_top(top * 1.05);
    inspect::axis("pods_timeline y", (0.0, y_hi), false, counts);
    let mut chart = ChartBuilder::on(&plot)
        .margin_top(8)
        .margin_right(28)
        .x_label_area_size(56)
        .y_label_area_size(84)
        .build_cartesian_2d(0f64..t_end, 0f64..y_hi)?;
    let ticks = axis::linear_ticks(y_hi, 8, true);
    time_axes::mesh(root, &mut chart, ("simulated time (s)", "pods"), &ticks, |v| v, t_end)?;
    time_axes::shade(&mut chart, report, t_end, (0.0, y_hi))?;
    for (i, run) in runs.iter().enumerate() {
        let Some(run) = run else { continue };
        for (count, width) in [(&(|c: &PodCount| c.pods) as &dyn Fn(&PodCount) -> u32, 1), (&|c: &PodCount| c.ready, 3)]
        {
            let px: Vec<(i32, i32)> =
                steps(run, t_end, count).into_iter().map(|(t, v)| chart.backend_coord(&(t.min(t_end), v))).collect();
            marks::draw_line(root, &px, colours[i], width, marks_[i].dash)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_function_holds_each_count_until_the_next_change() {
        let t = [PodCount { time: 0.0, pods: 3, ready: 3 }, PodCount { time: 10.0, pods: 5, ready: 3 }];
        assert_eq!(steps(&t, 20.0, |c| c.pods), vec![(0.0, 3.0), (10.0, 3.0), (10.0, 5.0), (20.0, 5.0)]);
    }
}
