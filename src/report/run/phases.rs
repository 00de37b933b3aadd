//! Latency over time and the figures of each phase of a run: `latency_timeseries.csv` and
//! `phases.csv`, from the first replication's [`WindowLatency`] windows.
//!
//! **Windows** are those of timeseries.csv: the row at `time_s` covers
//! (time_s − interval, time_s]. A request counts in the window in which its outcome was
//! settled — a response when it reached the client (by completion, not by arrival), a
//! failure when it failed, was dropped or timed out — warm-up included, so the series
//! covers the whole run. Windowed percentiles come from compact log buckets (within
//! [`RELATIVE_ERROR`] of the exact order statistic); means, counts and maxima are exact.
//!
//! **Phases** ([`phases`]): each fault window of the first replication, each flash crowd
//! (`[[arrivals.spike]]`), and for a time-varying rate (schedule, diurnal cycle, trace,
//! MMPP) its busiest span: the hour with the most arrivals, or a shorter span when the run
//! or the cycle is short ([`peak_span`]). A phase's figures pool the windows whose middle
//! lies inside it (`from_s`–`to_s` say which), so they move to window boundaries.
//!
//! **Recovery** (after a fault or a flash crowd): the *before* level is the windows of the
//! same length just before the phase (after the warm-up). A window is back to normal when
//! both its p99 and its goodput are back within their bands (and its failures too):
//!
//! - p99: at most [`RECOVERY_P99_FACTOR`] × the before p99;
//! - goodput (responses completed in the window): a lower-only band scaled to the window's
//!   own offered load. With `g` the before level's successes per arrival and `A` the
//!   requests that arrived in the window, the window is expected to complete `E = g·A`
//!   (a time-varying rate, a flash crowd or a closed loop's arrivals are accounted for by
//!   `A`, not by a constant), and falls short when it completes fewer than
//!   `E − z·√E` with z = [`RECOVERY_GOODPUT_Z`] (a Poisson allowance; z = 4 keeps the
//!   chance of a false alarm in any of the timeline's ≤ 1,025 windows near 3%). More
//!   than expected (a backlog draining) is back to normal;
//! - failed share: at most the before share + [`RECOVERY_FAILED_MARGIN`].
//!
//! `recovery_s` is the time from the phase's end to the end of the last window after it
//! that is not back to normal (0 when none); when the run's last window is still not back
//! to normal the phase did not recover (`recovered = 0`, `recovery_s` empty): queues or a
//! goodput deficit that stay long after the cause is gone, the signature of a metastable
//! failure.

use super::Report;
use super::summary_csv::to_bytes;
use super::timeseries::time_text;
use crate::Result;
use crate::duration::format_duration;
use crate::report::Exporter;
use crate::report::format::{fixed, ms};
use crate::report::metric::{COMPLETED, FAILED, MAX, MEAN, P50, P90, P99, STRATEGY};
use crate::stats::Timeline;
use crate::stats::window_latency::{RELATIVE_ERROR, WindowLatency};

/// A window is back to normal when its p99 is at most this many times the before p99.
pub const RECOVERY_P99_FACTOR: f64 = 2.0;

/// … and its failed share at most the before share plus this.
pub const RECOVERY_FAILED_MARGIN: f64 = 0.01;

/// … and its completed requests at least `E − z·√E` with this z, E the window's expected
/// successes (its arrivals × the before level's successes per arrival): a one-sided
/// Poisson allowance, P(Z < −4) = 3.2·10⁻⁵ per window.
pub const RECOVERY_GOODPUT_Z: f64 = 4.0;

/// A span of the run worth its own figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// `fault`, `flash_crowd` or `peak`.
    pub kind: &'static str,
    /// What it is, for people (`web-5 slowdown x5`).
    pub name: String,
    /// Start, s.
    pub start: f64,
    /// End, s (the run's end for a fault that lasts to the end).
    pub end: f64,
}

/// A phase's figures for one strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseFigures {
    /// Start of the first window pooled, s.
    pub from: f64,
    /// End of the last window pooled, s.
    pub to: f64,
    /// Requests that arrived, completed and ended otherwise in those windows.
    pub arrived: u64,
    /// Completed requests.
    pub completed: u64,
    /// Failed, dropped or timed out.
    pub failed: u64,
    /// Mean, p50, p90, p99 and largest response time, s (NaN when none completed).
    pub mean: f64,
    /// Median response time, s.
    pub p50: f64,
    /// 90th percentile, s.
    pub p90: f64,
    /// 99th percentile, s.
    pub p99: f64,
    /// Largest response time, s.
    pub max: f64,
    /// p99 of the windows just before the phase, s (NaN without any).
    pub before_p99: f64,
    /// Seconds from the phase's end until back to normal; `None` when it did not recover,
    /// `Some(NaN)` when not assessed (a peak, or no before level).
    pub recovery: Option<f64>,
}

impl PhaseFigures {
    /// Completions per second over the pooled windows.
    pub fn completed_rate(&self) -> f64 {
        self.completed as f64 / (self.to - self.from)
    }

    /// Failures per second over the pooled windows.
    pub fn failed_rate(&self) -> f64 {
        self.failed as f64 / (self.to - self.from)
    }
}

/// The phases of `report`'s run, in order of start.
pub fn phases(report: &Report) -> Vec<Phase> {
    let sc = &report.scenario;
    let end = report.strategies.iter().map(|s| s.timeline.end).fold(0.0, f64::max);
    let mut out = Vec::new();
    // Windows alike but for their server (the pods a scale-out adds, a group's crash) are
    // one phase: their figures, pooled over the same windows, would be the same.
    let mut faults: Vec<(String, f64, f64, Vec<&str>)> = Vec::new();
    for w in report.fault_windows_of(0) {
        let (what, stop) = (w.kind.phase(), w.end.unwrap_or(end).min(end));
        match faults.iter_mut().find(|f| (f.0.as_str(), f.1, f.2) == (what.as_str(), w.start, stop)) {
            Some(f) => f.3.push(&w.server_name),
            None => faults.push((what, w.start, stop, vec![&w.server_name])),
        }
    }
    for (what, start, stop, names) in faults {
        out.push(Phase { kind: "fault", name: format!("{} {what}", server_list(&names)), start, end: stop });
    }
    for s in sc.arrivals.spikes() {
        out.push(Phase {
            kind: "flash_crowd",
            name: format!("flash crowd x{}", s.multiplier),
            start: s.at,
            end: (s.at + s.duration).min(end),
        });
    }
    if let (Some(span), Some(first)) = (peak_span(report, end), report.strategies.first())
        && let Some((start, stop)) = busiest(&first.timeline, span)
    {
        let name = if span >= 3600.0 { "busiest hour".to_string() } else { format!("busiest {}", span_text(span)) };
        out.push(Phase { kind: "peak", name, start, end: stop });
    }
    out.retain(|p| p.start < end && p.end > p.start);
    out.sort_by(|a, b| a.start.total_cmp(&b.start));
    out
}

/// Server names for a phase's or a note's name: all of them up to three, else the first
/// and last and how many (`new-1 to new-5 (5 servers)`).
pub fn server_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [a] => a.to_string(),
        [a, b] => format!("{a} and {b}"),
        [a, b, c] => format!("{a}, {b} and {c}"),
        [a, .., z] => format!("{a} to {z} ({} servers)", names.len()),
    }
}

/// "50 s", "1.5 s", "250 ms".
fn span_text(s: f64) -> String {
    if s >= 1.0 { format!("{} s", trim(s)) } else { format!("{} ms", trim(s * 1e3)) }
}

/// Up to three decimals, no trailing zeros.
fn trim(x: f64) -> String {
    let t = format!("{x:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The length of a time-varying rate's busiest span: an hour, or a 24th of the diurnal
/// period (a "day" compressed), or a tenth of a run shorter than ten hours — at least one
/// sampling interval. `None` for a constant rate or a closed loop.
pub fn peak_span(report: &Report, end: f64) -> Option<f64> {
    let interval = report.strategies.first()?.timeline.interval();
    let span = report.scenario.arrivals.busiest_span(end)?;
    Some(span.max(interval))
}

/// The span of `len` seconds, aligned to windows, with the most arrivals (the earliest of
/// equals): (start, end).
fn busiest(t: &Timeline, len: f64) -> Option<(f64, f64)> {
    if !t.has_latency() || t.len() < 2 {
        return None;
    }
    let dt = t.interval();
    let k = ((len / dt).round() as usize).clamp(1, t.len() - 1);
    let arrived: Vec<u64> = (1..t.len()).map(|i| t.latency(i).map_or(0, |w| w.arrived)).collect();
    let mut sum: u64 = arrived[..k].iter().sum();
    let (mut best, mut at) = (sum, 0);
    for i in k..arrived.len() {
        sum = sum + arrived[i] - arrived[i - k];
        if sum > best {
            (best, at) = (sum, i + 1 - k);
        }
    }
    // Window i + 1 of the timeline covers (i·dt, (i + 1)·dt].
    Some((at as f64 * dt, (at + k) as f64 * dt))
}

/// The windows (sample indices ≥ 1) whose middle lies in [a, b).
fn windows_in(t: &Timeline, a: f64, b: f64) -> std::ops::Range<usize> {
    let dt = t.interval();
    let mid = |k: usize| t.time(k) - dt / 2.0;
    let first = (1..t.len()).find(|&k| mid(k) >= a).unwrap_or(t.len());
    let last = (first..t.len()).take_while(|&k| mid(k) < b).last().map_or(first, |k| k + 1);
    first..last
}

/// Failed share of a window's settled requests (0 when none).
fn failed_share(w: &WindowLatency) -> f64 {
    let n = w.completed + w.failed;
    if n == 0 { 0.0 } else { w.failed as f64 / n as f64 }
}

/// The goodput band of recovery: the before level's successes per arrival (see the
/// module documentation).
#[derive(Debug, Clone, Copy)]
struct GoodputBand {
    /// Requests completed per request that arrived in the before windows (`None` when none
    /// arrived: no band).
    per_arrival: Option<f64>,
}

impl GoodputBand {
    /// The band of the before windows `before`.
    fn of(before: &[&WindowLatency]) -> GoodputBand {
        let arrived: u64 = before.iter().map(|w| w.arrived).sum();
        let completed: u64 = before.iter().map(|w| w.completed).sum();
        GoodputBand { per_arrival: (arrived > 0).then(|| completed as f64 / arrived as f64) }
    }

    /// Whether window `w` completed at least its expected successes less the allowance.
    fn holds(self, w: &WindowLatency) -> bool {
        let Some(g) = self.per_arrival else { return true };
        let expected = g * w.arrived as f64;
        w.completed as f64 >= expected - RECOVERY_GOODPUT_Z * expected.sqrt()
    }
}

/// `phase`'s figures on timeline `t` (`None` without latency windows or inside none).
pub fn figures(t: &Timeline, phase: &Phase, warmup_end: f64) -> Option<PhaseFigures> {
    if !t.has_latency() {
        return None;
    }
    let range = windows_in(t, phase.start, phase.end);
    if range.is_empty() {
        return None;
    }
    let dt = t.interval();
    let ws: Vec<&WindowLatency> = range.clone().filter_map(|k| t.latency(k)).collect();
    let completed: u64 = ws.iter().map(|w| w.completed).sum();
    let q = |p: f64| WindowLatency::quantile_of(&ws, p);
    let before_range = windows_in(t, warmup_end.max(phase.start - (phase.end - phase.start)), phase.start);
    let before: Vec<&WindowLatency> = before_range.filter_map(|k| t.latency(k)).collect();
    let before_p99 = WindowLatency::quantile_of(&before, 0.99);
    let recovery = if phase.kind == "peak" || !before_p99.is_finite() {
        Some(f64::NAN)
    } else {
        let before_failed = before.iter().map(|w| w.failed).sum::<u64>() as f64
            / before.iter().map(|w| w.completed + w.failed).sum::<u64>().max(1) as f64;
        let goodput = GoodputBand::of(&before);
        let normal = |w: &WindowLatency| {
            (w.completed == 0 && w.failed == 0 && w.arrived == 0
                || w.quantile(0.99) <= RECOVERY_P99_FACTOR * before_p99)
                && failed_share(w) <= before_failed + RECOVERY_FAILED_MARGIN
                && goodput.holds(w)
        };
        let after = range.end..t.len();
        match after.clone().rev().find(|&k| t.latency(k).is_some_and(|w| !normal(w))) {
            Some(k) if k + 1 == t.len() => None,
            Some(k) => Some((t.time(k) - phase.end).max(0.0)),
            None => Some(0.0),
        }
    };
    Some(PhaseFigures {
        from: t.time(range.start) - dt,
        to: t.time(range.end - 1),
        arrived: ws.iter().map(|w| w.arrived).sum(),
        completed,
        failed: ws.iter().map(|w| w.failed).sum(),
        mean: ws.iter().map(|w| w.sum).sum::<f64>() / completed as f64,
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        max: if completed == 0 { f64::NAN } else { ws.iter().map(|w| w.max).fold(0.0, f64::max) },
        before_p99,
        recovery,
    })
}

/// Columns of latency_timeseries.csv.
pub const LATENCY_COLUMNS: &[&str] = &[
    STRATEGY.name,
    "time_s",
    "arrived",
    COMPLETED.name,
    FAILED.name,
    "arrived_per_s",
    "completed_per_s",
    "failed_per_s",
    MEAN.name,
    P50.name,
    P90.name,
    P99.name,
    MAX.name,
];

/// `latency_timeseries.csv`: per strategy and window of timeseries.csv, the requests that
/// arrived, completed and failed, and the response times of those completed (first
/// replication).
#[derive(Debug)]
pub struct LatencyCsv;

impl Exporter for LatencyCsv {
    fn file_name(&self) -> &'static str {
        "latency_timeseries.csv"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let mut rows = Vec::new();
        for s in &report.strategies {
            let t = &s.timeline;
            let dt = t.interval();
            for k in 1..t.len() {
                let Some(w) = t.latency(k) else { continue };
                let per_s = |n: u64| fixed(n as f64 / dt, 3);
                rows.push(vec![
                    s.label.clone(),
                    time_text(t.time(k)),
                    w.arrived.to_string(),
                    w.completed.to_string(),
                    w.failed.to_string(),
                    per_s(w.arrived),
                    per_s(w.completed),
                    per_s(w.failed),
                    ms(w.mean()),
                    ms(w.quantile(0.5)),
                    ms(w.quantile(0.9)),
                    ms(w.quantile(0.99)),
                    if w.completed == 0 { String::new() } else { ms(w.max) },
                ]);
            }
        }
        to_bytes(LATENCY_COLUMNS.to_vec(), rows)
    }
}

/// Columns of phases.csv.
pub const PHASES_COLUMNS: &[&str] = &[
    STRATEGY.name,
    "phase",
    "kind",
    "start_s",
    "end_s",
    "from_s",
    "to_s",
    "arrived",
    COMPLETED.name,
    FAILED.name,
    "completed_per_s",
    "failed_per_s",
    MEAN.name,
    P50.name,
    P90.name,
    P99.name,
    MAX.name,
    "before_p99_ms",
    "recovery_s",
    "recovered",
];

/// `phases.csv`: per strategy and [`Phase`], its [`PhaseFigures`] (written when the run
/// has a phase: faults, flash crowds or a time-varying rate).
#[derive(Debug)]
pub struct PhasesCsv;

/// Every strategy's figures of every phase, in the order of phases.csv: (strategy index,
/// phase, figures).
pub fn all_figures(report: &Report) -> Vec<(usize, Phase, PhaseFigures)> {
    let phases = phases(report);
    let mut out = Vec::new();
    for (i, s) in report.strategies.iter().enumerate() {
        let warmup_end = s.timeline.warmup_end.unwrap_or(0.0);
        for p in &phases {
            if let Some(f) = figures(&s.timeline, p, warmup_end) {
                out.push((i, p.clone(), f));
            }
        }
    }
    out
}

impl Exporter for PhasesCsv {
    fn file_name(&self) -> &'static str {
        "phases.csv"
    }

    fn wanted(&self, report: &Report) -> bool {
        !phases(report).is_empty()
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let secs = |x: f64| fixed(x, 6);
        let rows: Vec<Vec<String>> = all_figures(report)
            .into_iter()
            .map(|(i, p, f)| {
                vec![
                    report.strategies[i].label.clone(),
                    p.name.clone(),
                    p.kind.to_string(),
                    secs(p.start),
                    secs(p.end),
                    secs(f.from),
                    secs(f.to),
                    f.arrived.to_string(),
                    f.completed.to_string(),
                    f.failed.to_string(),
                    fixed(f.completed_rate(), 3),
                    fixed(f.failed_rate(), 3),
                    ms(f.mean),
                    ms(f.p50),
                    ms(f.p90),
                    ms(f.p99),
                    ms(f.max),
                    ms(f.before_p99),
                    f.recovery.map_or(String::new(), secs),
                    match f.recovery {
                        None => "0".to_string(),
                        Some(r) if r.is_nan() => String::new(),
                        Some(_) => "1".to_string(),
                    },
                ]
            })
            .collect();
        to_bytes(PHASES_COLUMNS.to_vec(), rows)
    }
}

/// Each strategy's recovery from the run's fault windows and flash crowds, from the same
/// figures as phases.csv (`None` for a strategy with no such phase assessed).
pub fn recoveries(report: &Report) -> Vec<Option<crate::stats::Recovery>> {
    let all = all_figures(report);
    (0..report.strategies.len())
        .map(|i| {
            let assessed: Vec<(&Phase, Option<f64>)> = all
                .iter()
                .filter(|(j, _, f)| *j == i && !f.recovery.is_some_and(f64::is_nan))
                .map(|(_, p, f)| (p, f.recovery))
                .collect();
            if assessed.is_empty() {
                return None;
            }
            let all = assessed.iter().all(|(_, r)| r.is_some());
            let longest = assessed.iter().filter_map(|(_, r)| *r).fold(f64::NAN, f64::max);
            let at = all.then(|| assessed.iter().map(|(p, r)| p.end + r.unwrap_or(0.0)).fold(0.0, f64::max));
            Some(crate::stats::Recovery { longest, all, at })
        })
        .collect()
}

/// How a phase that did not recover is named: a metastable state when the client retries
/// (Bronson et al., HotOS 2021), else only that.
pub fn not_recovered(report: &Report) -> &'static str {
    if report.scenario.client.is_some_and(|c| c.max_retries > 0) {
        "did not recover by the end of the run: a metastable state (retries/timeouts keep it overloaded)"
    } else {
        "did not recover"
    }
}

/// The table's notes: per phase, each strategy's p99 there (and before), throughput,
/// failures and recovery, as in phases.csv.
pub fn notes(report: &Report) -> Vec<String> {
    let all = all_figures(report);
    let width = report.strategies.iter().map(|s| s.label.len()).max().unwrap_or(0);
    let mut out = Vec::new();
    for p in phases(report) {
        let rows: Vec<_> = all.iter().filter(|(_, q, _)| *q == p).collect();
        let Some((_, _, first)) = rows.first() else { continue };
        let windows = if (first.from, first.to) == (p.start, p.end) {
            String::new()
        } else {
            format!("windows {}–{}; ", format_duration(first.from), format_duration(first.to))
        };
        out.push(format!(
            "phase: {} {}–{} ({windows}by completion time, replication 0, percentiles ±{:.1}%):",
            p.name,
            format_duration(p.start),
            format_duration(p.end),
            RELATIVE_ERROR * 100.0
        ));
        for (i, _, f) in rows {
            let recovery = match f.recovery {
                None => format!(", {}", not_recovered(report)),
                Some(r) if r.is_nan() => String::new(),
                Some(0.0) => ", recovered at its end".to_string(),
                Some(r) => format!(", recovered {} after", format_duration(r)),
            };
            // A phase from the start of the measured window has no before level.
            let before =
                if f.before_p99.is_finite() { format!(" (before {:.3})", f.before_p99 * 1e3) } else { String::new() };
            out.push(format!(
                "  {:width$}  p99 {:.3} ms{before}, {:.1} completed/s, {:.1} failed/s{recovery}",
                report.strategies[*i].label,
                f.p99 * 1e3,
                f.completed_rate(),
                f.failed_rate(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-server timeline of 1 s windows: `p99s[k]` is every response of window k + 1
    /// (100 per window), `failed[k]` its failures.
    fn timeline(p99s: &[f64], failed: &[u64]) -> Timeline {
        let mut t = Timeline::new(1, 1.0);
        t.push_with(&[0], &[0], &[0.0], Some(WindowLatency::default()));
        for (k, &v) in p99s.iter().enumerate() {
            let mut w = WindowLatency::default();
            for _ in 0..100 {
                w.record(v);
            }
            w.arrived = 100 + failed[k];
            for _ in 0..failed[k] {
                w.fail();
            }
            t.push_with(&[0], &[100], &[0.0], Some(w));
        }
        t
    }

    fn fault(start: f64, end: f64) -> Phase {
        Phase { kind: "fault", name: "s down".into(), start, end }
    }

    #[test]
    fn a_phase_pools_its_windows_and_measures_recovery() {
        // Windows (k−1, k]: 0.01 s before t = 4, 1 s during [4, 6), then 0.5 s (above 2× the
        // before level) until t = 9, then normal again.
        let mut p = vec![0.01; 4];
        p.extend([1.0, 1.0, 0.5, 0.5, 0.5]);
        p.extend([0.01; 5]);
        let t = timeline(&p, &[0; 14]);
        let f = figures(&t, &fault(4.0, 6.0), 0.0).unwrap();
        assert_eq!((f.from, f.to, f.completed, f.failed), (4.0, 6.0, 200, 0));
        assert!((f.p99 - 1.0).abs() <= RELATIVE_ERROR && (f.mean - 1.0).abs() < 1e-12);
        assert!((f.before_p99 - 0.01).abs() <= 0.01 * RELATIVE_ERROR);
        assert_eq!(f.recovery, Some(3.0), "last abnormal window ends at t = 9");
        assert_eq!(f.completed_rate(), 100.0);
    }

    #[test]
    fn a_phase_that_never_recovers_is_flagged_and_failures_count() {
        // Failures start with the fault and never stop: a metastable state.
        let p = vec![0.01; 10];
        let mut failed = vec![0; 4];
        failed.extend([50; 6]);
        let t = timeline(&p, &failed);
        let f = figures(&t, &fault(4.0, 6.0), 0.0).unwrap();
        assert_eq!(f.failed, 100);
        assert_eq!(f.failed_rate(), 50.0);
        assert_eq!(f.recovery, None);
    }

    /// A one-server timeline of 1 s windows: window k + 1 had `arrived[k]` arrivals and
    /// `completed[k]` responses of 10 ms each, no failures.
    fn goodput_timeline(arrived: &[u64], completed: &[u64]) -> Timeline {
        let mut t = Timeline::new(1, 1.0);
        t.push_with(&[0], &[0], &[0.0], Some(WindowLatency::default()));
        for (&a, &c) in arrived.iter().zip(completed) {
            let mut w = WindowLatency::default();
            for _ in 0..c {
                w.record(0.01);
            }
            w.arrived = a;
            t.push_with(&[0], &[c as u32], &[0.0], Some(w));
        }
        t
    }

    #[test]
    fn goodput_below_its_band_is_not_recovered_though_p99_is() {
        // Before the fault (t < 4) every arrival completes (g = 1). After it the p99 and the
        // failures are as before, but only 80 of 100 arrivals complete per window:
        // 80 ≥ E − 4·√E = 100 − 40 = 60, within the Poisson allowance: recovered.
        let arrived = [100; 12];
        let mut completed = vec![100; 6];
        completed.extend([80; 6]);
        let f = figures(&goodput_timeline(&arrived, &completed), &fault(4.0, 6.0), 0.0).unwrap();
        assert_eq!(f.recovery, Some(0.0));
        // 59 < 60: a goodput deficit the p99 does not show; to the end: did not recover.
        let mut completed = vec![100; 6];
        completed.extend([59; 6]);
        let f = figures(&goodput_timeline(&arrived, &completed), &fault(4.0, 6.0), 0.0).unwrap();
        assert_eq!(f.recovery, None);
        // Back at t = 9: the last window short of its band ends 3 s after the fault.
        let mut completed = vec![100; 6];
        completed.extend([59, 59, 59, 100, 100, 100]);
        let f = figures(&goodput_timeline(&arrived, &completed), &fault(4.0, 6.0), 0.0).unwrap();
        assert_eq!(f.recovery, Some(3.0));
        // A backlog draining (more completions than arrivals) is back to normal.
        let mut completed = vec![100; 6];
        completed.extend([300, 150, 100, 100, 100, 100]);
        let f = figures(&goodput_timeline(&arrived, &completed), &fault(4.0, 6.0), 0.0).unwrap();
        assert_eq!(f.recovery, Some(0.0));
    }

    #[test]
    fn the_goodput_band_follows_each_windows_offered_load() {
        // Half the arrivals complete before (g = 0.5: the rest fail elsewhere, or are still
        // queued). After the fault the offered rate falls to 40 per window: E = 20, band
        // 20 − 4·√20 = 2.1. Three completions are within it, although far below the before
        // goodput of 50 per window: the rate fell, not the goodput.
        let mut arrived = vec![100; 6];
        arrived.extend([40; 6]);
        let mut completed = vec![50; 6];
        completed.extend([3; 6]);
        let f = figures(&goodput_timeline(&arrived, &completed), &fault(4.0, 6.0), 0.0).unwrap();
        assert_eq!(f.recovery, Some(0.0));
        // Two are not; the offered rate rising to 400 needs 200 − 4·√200 = 143.4.
        completed[11] = 2;
        let f = figures(&goodput_timeline(&arrived, &completed), &fault(4.0, 6.0), 0.0).unwrap();
        assert_eq!(f.recovery, None);
        let mut arrived = vec![100; 6];
        arrived.extend([400; 6]);
        let mut completed = vec![50; 6];
        completed.extend([144, 143, 144, 144, 144, 144]);
        let f = figures(&goodput_timeline(&arrived, &completed), &fault(4.0, 6.0), 0.0).unwrap();
        assert_eq!(f.recovery, Some(2.0), "the window (7, 8] fell short");
    }

    #[test]
    fn the_busiest_span_has_the_most_arrivals() {
        let mut t = Timeline::new(1, 1.0);
        t.push_with(&[0], &[0], &[0.0], Some(WindowLatency::default()));
        for n in [5, 9, 1, 8, 8, 2] {
            let mut w = WindowLatency::default();
            w.arrived = n;
            t.push_with(&[0], &[0], &[0.0], Some(w));
        }
        // Windows (0,1]: 5, (1,2]: 9, (2,3]: 1, (3,4]: 8, (4,5]: 8: the best two are 3..5.
        assert_eq!(busiest(&t, 2.0), Some((3.0, 5.0)));
        assert_eq!(busiest(&t, 1.0), Some((1.0, 2.0)));
    }
}
