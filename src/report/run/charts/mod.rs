//! The charts of `lbsim run` (1280×800 PNGs), one file per chart, each a [`RunChart`].
//!
//! Every chart has the scenario's name in its title, a subtitle with the scenario's facts
//! ([`frame`]) and, where it matters, a note saying what its figures are ([`framed`]:
//! averaged or pooled over replications, which requests are left out), labelled axes with
//! units, a legend (or strategy-coloured panel titles), each strategy's colour from
//! [`style::colours`], the same in every chart, and its line style and marker from
//! [`strategy_marks`].

pub mod imbalance;
pub mod latency_timeline;
pub mod percentiles;
pub mod pods_timeline;
pub mod queue_timeline;
pub mod response_time_cdf;
pub mod server_load;
pub mod time_axes;

use plotters::prelude::*;

use super::Report;
use crate::Result;
use crate::duration::format_duration;
use crate::report::Exporter;
use crate::report::charts::marks::{self, Mark};
use crate::report::charts::style::{self, INK, MUTED, SUBTITLE_PX, TITLE_PX};
use crate::report::charts::{Area, DrawResult, HEIGHT, WIDTH, fit, render_png, text};
use crate::scenario::arrivals::Shape;
use crate::stats::StrategySummary;

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
    let (n, room) = (sc.server_count() - sc.deploy_room(), sc.deploy_room());
    format!(
        "{} server{}{} · {}{} · {} service, mean {} · {} request{} × {} replication{} · seed {}",
        style::thousands(n as u64),
        if n == 1 { "" } else { "s" },
        if room == 0 { String::new() } else { format!(" (+{room} places for deploys)") },
        load(report),
        balancers(sc),
        sc.service.name(),
        format_duration(sc.mean_demand()),
        style::thousands(sc.requests),
        if sc.requests == 1 { "" } else { "s" },
        reps,
        if reps == 1 { "" } else { "s" },
        sc.seed,
    )
}

/// The load, as what it is: a constant rate is offered; a time-varying one has a mean and
/// a peak; a closed loop offers at most what its clients can send, and achieves less.
fn load(report: &Report) -> String {
    let sc = &report.scenario;
    let rho = report.offered_load();
    let capacity = sc.capacity();
    match sc.arrivals.shape() {
        Shape::Constant => {
            format!("{} req/s offered, ρ = {rho:.2}", rate(sc.arrival_rate()))
        }
        Shape::Peaked => format!(
            "{} req/s mean, peak {} (ρ = {rho:.2}, peak {:.2})",
            rate(sc.arrival_rate()),
            rate(sc.peak_rate()),
            sc.peak_rate() / capacity
        ),
        Shape::Replay(t) => format!(
            "trace {}: {} req/s mean, ρ = {rho:.2}{}",
            t.file.file_name().map_or_else(|| t.file.display().to_string(), |f| f.to_string_lossy().into_owned()),
            rate(sc.arrival_rate()),
            trace_peak(sc).map_or(String::new(), |(r, w, _)| format!(
                ", peak {} req/s over {} (ρ {:.2})",
                rate(r),
                format_duration(w),
                r / capacity
            ))
        ),
        Shape::Closed(c) => {
            let achieved = report.strategies.iter().map(|s| s.throughput.value).filter(|v| v.is_finite());
            let (lo, hi) = achieved.fold((f64::INFINITY, 0f64), |(a, b), v| (a.min(v), b.max(v)));
            let got = if hi <= 0.0 {
                String::new()
            } else if rate(lo) == rate(hi) {
                format!(", achieved {} req/s", rate(hi))
            } else {
                format!(", achieved {}–{} req/s", rate(lo), rate(hi))
            };
            format!(
                "closed loop of {} clients: at most {} req/s (ρ ≤ {rho:.2}){got}",
                style::thousands(u64::from(c.clients)),
                rate(sc.arrival_rate())
            )
        }
    }
}

/// A trace's busiest span (a tenth of the replayed rows' span, at most an hour: the span
/// phases.csv looks at): (its rate, req/s; its length, s; its start, s). A burst the mean
/// rate hides is what decides a trace's queues.
pub fn trace_peak(sc: &crate::scenario::Scenario) -> Option<(f64, f64, f64)> {
    let Shape::Replay(t) = sc.arrivals.shape() else { return None };
    let rows = (sc.requests as usize).min(t.len());
    let window = sc.arrivals.busiest_span(t.time_of(rows as u64))?;
    let (r, at) = t.busiest(rows, window)?;
    Some((r, window, at))
}

/// The balancers, when not the default one, for a chart's facts line.
fn balancers(sc: &crate::scenario::Scenario) -> String {
    sc.balancers.brief().map_or(String::new(), |b| format!(" · {b}"))
}

/// A rate for text: thousands separators when whole, 3 significant digits otherwise.
fn rate(r: f64) -> String {
    if (1000.0..1e15).contains(&r) { style::thousands(r.round() as u64) } else { style::short(r) }
}

/// Width of the text column of a run chart's header, px.
const HEADER_W: u32 = WIDTH - 28 - 16;

/// Draws the title (`<scenario> — <what>`) and the facts line, and returns the area below.
pub fn frame<'a>(root: &Area<'a>, report: &Report, what: &str) -> DrawResult<Area<'a>> {
    framed(root, report, what, "")
}

/// [`frame`] with a note under the facts: what the chart's figures are (pooled or averaged
/// over replications, what is left out). The header grows by the lines the note needs.
pub fn framed<'a>(root: &Area<'a>, report: &Report, what: &str, note: &str) -> DrawResult<Area<'a>> {
    let title = fit::block(&format!("{} — {what}", report.scenario.name), HEADER_W, 2, TITLE_PX, 20.0);
    let mut y = 16;
    for line in &title.lines {
        root.draw_text(line, &text(title.px, &INK), (28, y))?;
        y += (title.px * 1.3).round() as i32;
    }
    y += 3;
    let mut facts = facts(report);
    if report.is_unstable() {
        facts.push_str(" · UNSTABLE: ρ ≥ 1, queues grow without bound");
    }
    let line_h = (SUBTITLE_PX * 1.35).round() as i32;
    for line in fit::wrap(&facts, HEADER_W, SUBTITLE_PX) {
        // The warning (always last) in the alert colour.
        match line.find("UNSTABLE") {
            Some(at) => {
                let (head, warn) = line.split_at(at);
                root.draw_text(head, &text(SUBTITLE_PX, &MUTED), (28, y))?;
                let x = 28 + fit::width(head, SUBTITLE_PX) as i32;
                root.draw_text(warn, &text(SUBTITLE_PX, &style::ALERT), (x, y))?;
            }
            None => root.draw_text(&line, &text(SUBTITLE_PX, &MUTED), (28, y))?,
        }
        y += line_h;
    }
    if !note.is_empty() {
        for line in fit::wrap(note, HEADER_W, SUBTITLE_PX) {
            root.draw_text(&line, &text(SUBTITLE_PX, &INK), (28, y))?;
            y += line_h;
        }
    }
    Ok(root.margin((y + 10) as u32, 16, 20, 24))
}

/// The strategies' colours, aligned with `report.strategies`.
pub fn strategy_colours(report: &Report) -> Vec<RGBColor> {
    let labels: Vec<&str> = report.strategies.iter().map(|s| s.label.as_str()).collect();
    style::colours(&labels)
}

/// The strategies' line styles and markers, aligned with `report.strategies`.
pub fn strategy_marks(report: &Report) -> Vec<Mark> {
    marks::marks(&strategy_colours(report))
}

/// "mean of 3 replications" or "1 replication": how a percentile or mean was obtained.
pub fn averaged(report: &Report) -> String {
    match report.scenario.replications {
        1 => "1 replication".to_string(),
        r => format!("mean of {r} replications"),
    }
}

/// Where the whiskers' 95% intervals come from: "over replications", "from batch means
/// within the run", or `None` when no figure has one.
pub fn interval_source(report: &Report) -> Option<&'static str> {
    if report.scenario.replications > 1 {
        Some("over replications")
    } else if report.strategies.iter().any(|s| s.batch_count.is_some()) {
        Some("from batch means within the run")
    } else {
        None
    }
}

/// What a strategy's response-time figures leave out: its measured requests that did not
/// complete ("47.5% timed out, 1.0% in flight"), or `None`. Timed-out, failed and dropped
/// requests are always named; requests still in flight when the run ended (a few at any
/// load) only from 0.1% of the requests.
pub fn not_completed(s: &StrategySummary) -> Option<String> {
    let n = s.measured.generated as f64;
    if n == 0.0 {
        return None;
    }
    let m = &s.measured;
    let mut parts = Vec::new();
    for (count, what, always) in [
        (m.timed_out, "timed out", true),
        (m.failed, "failed", true),
        (m.dropped, "dropped", true),
        (m.in_flight, "in flight at the end", false),
    ] {
        let share = count as f64 / n;
        if count > 0 && (always || share >= 0.001) {
            parts.push(format!("{} {what}", share_text(share)));
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A share of requests for text: "47.5%", "7.3%", "0.12%", "<0.01%".
pub fn share_text(share: f64) -> String {
    let pct = share * 100.0;
    if pct >= 10.0 {
        format!("{pct:.1}%")
    } else if pct >= 0.01 {
        // Two significant digits.
        let digits = (1 - pct.log10().floor() as i32).max(0) as usize;
        let text = format!("{pct:.digits$}");
        let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
        format!("{text}%")
    } else {
        "<0.01%".to_string()
    }
}
