//! The charts of `lbsim run` (1280×800 PNGs), one file per chart, each a [`RunChart`].
//!
//! Every chart has the scenario's name in its title, a subtitle with the scenario's facts
//! ([`frame`]), labelled axes with units, a legend (or strategy-coloured panel titles), and
//! each strategy's colour from [`style::colours`], the same in every chart.

pub mod imbalance;
pub mod percentiles;
pub mod queue_timeline;
pub mod response_time_cdf;
pub mod server_load;

use plotters::prelude::*;

use super::Report;
use crate::Result;
use crate::duration::format_duration;
use crate::report::Exporter;
use crate::report::charts::style::{self, INK, MUTED, SUBTITLE_PX, TITLE_PX};
use crate::report::charts::{Area, DrawResult, HEIGHT, WIDTH, render_png, text};

/// A chart of a run: its file name and the function that draws it.
#[derive(Debug)]
pub struct RunChart {
    file: &'static str,
    draw: fn(&Area<'_>, &Report) -> DrawResult,
}

impl RunChart {
    /// The chart `file`, drawn by `draw` on a [`WIDTH`] × [`HEIGHT`] canvas.
    pub const fn new(file: &'static str, draw: fn(&Area<'_>, &Report) -> DrawResult) -> RunChart {
        RunChart { file, draw }
    }
}

impl Exporter for RunChart {
    fn file_name(&self) -> &'static str {
        self.file
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        render_png(WIDTH, HEIGHT, |root| (self.draw)(root, report))
    }

    fn is_chart(&self) -> bool {
        true
    }
}

/// The scenario in one line: pool, load, service, run size, seed.
pub fn facts(report: &Report) -> String {
    let sc = &report.scenario;
    let reps = sc.replications;
    format!(
        "{} server{} · {} req/s offered, ρ = {:.2} · {} service, mean {} · {} request{} × {} replication{} · seed {}",
        style::thousands(sc.server_count() as u64),
        if sc.server_count() == 1 { "" } else { "s" },
        rate(sc.arrival_rate()),
        report.offered_load(),
        sc.service.name(),
        format_duration(sc.mean_demand()),
        style::thousands(sc.requests),
        if sc.requests == 1 { "" } else { "s" },
        reps,
        if reps == 1 { "" } else { "s" },
        sc.seed,
    )
}

/// A rate for text: thousands separators when whole, 3 significant digits otherwise.
fn rate(r: f64) -> String {
    if r >= 1000.0 && r.fract() == 0.0 && r < 1e15 { style::thousands(r as u64) } else { style::short(r) }
}

/// Draws the title (`<scenario> — <what>`) and the facts line, and returns the area below.
pub fn frame<'a>(root: &Area<'a>, report: &Report, what: &str) -> DrawResult<Area<'a>> {
    root.draw_text(&format!("{} — {what}", report.scenario.name), &text(TITLE_PX, &INK), (28, 16))?;
    let facts = facts(report);
    root.draw_text(&facts, &text(SUBTITLE_PX, &MUTED), (28, 58))?;
    if report.is_unstable() {
        let (w, _) = root.estimate_text_size(&facts, &text(SUBTITLE_PX, &MUTED))?;
        let note = "  UNSTABLE: ρ ≥ 1, queues grow without bound";
        root.draw_text(note, &text(SUBTITLE_PX, &style::ALERT), (28 + w as i32, 58))?;
    }
    Ok(root.margin(92, 16, 20, 24))
}

/// The strategies' colours, aligned with `report.strategies`.
pub fn strategy_colours(report: &Report) -> Vec<RGBColor> {
    let labels: Vec<&str> = report.strategies.iter().map(|s| s.label.as_str()).collect();
    style::colours(&labels)
}
