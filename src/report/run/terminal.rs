//! The side-by-side table printed by `lbsim run`, with its notes and warnings.

use comfy_table::{Attribute, Cell, CellAlignment};

use super::Report;
use crate::duration::format_duration;
use crate::report::table;
use crate::scenario::{FaultKind, Scenario};
use crate::stats::{Estimate, StrategySummary};
use crate::workload::arrivals::Arrivals;

/// Which way a column improves.
#[derive(Clone, Copy, PartialEq)]
enum Better {
    Lower,
    Higher,
    Neither,
}

struct Column {
    title: &'static str,
    better: Better,
    value: fn(&StrategySummary) -> (f64, Option<Ci>),
    digits: usize,
    /// Shown only when the scenario has `[keys]`.
    keyed: bool,
}

/// A confidence interval as shown: its half-width, and the interval clipped to the physical
/// range when it reaches past it.
#[derive(Clone, Copy)]
struct Ci {
    half: f64,
    clipped: Option<(f64, f64)>,
}

/// `e` scaled by `scale` (1e3: seconds to ms), with its interval.
fn shown(e: Estimate, scale: f64) -> (f64, Option<Ci>) {
    let ci = e.ci95.map(|h| Ci {
        half: h * scale,
        clipped: e.is_clipped().then(|| e.interval()).flatten().map(|(lo, hi)| (lo * scale, hi * scale)),
    });
    (e.value * scale, ci)
}

fn ms(e: Estimate) -> (f64, Option<Ci>) {
    shown(e, 1e3)
}

const COLUMNS: &[Column] = &[
    Column { title: "mean ms", better: Better::Lower, value: |s| ms(s.mean), digits: 3, keyed: false },
    Column { title: "p50 ms", better: Better::Lower, value: |s| ms(s.p50), digits: 3, keyed: false },
    Column { title: "p90 ms", better: Better::Lower, value: |s| ms(s.p90), digits: 3, keyed: false },
    Column { title: "p99 ms", better: Better::Lower, value: |s| ms(s.p99), digits: 3, keyed: false },
    Column { title: "p99.9 ms", better: Better::Lower, value: |s| ms(s.p999), digits: 3, keyed: false },
    Column { title: "max ms", better: Better::Lower, value: |s| (s.max * 1e3, None), digits: 3, keyed: false },
    Column { title: "wait ms", better: Better::Lower, value: |s| ms(s.mean_wait), digits: 3, keyed: false },
    Column { title: "util", better: Better::Neither, value: |s| shown(s.utilization, 1.0), digits: 3, keyed: false },
    Column {
        title: "max/mean",
        better: Better::Lower,
        value: |s| shown(s.load_max_over_mean, 1.0),
        digits: 3,
        keyed: false,
    },
    Column { title: "CV", better: Better::Lower, value: |s| shown(s.load_cv, 1.0), digits: 3, keyed: false },
    Column { title: "Jain", better: Better::Higher, value: |s| shown(s.jain, 1.0), digits: 4, keyed: false },
    Column {
        title: "busiest %",
        better: Better::Lower,
        value: |s| pct(s.busiest_server_share),
        digits: 2,
        keyed: false,
    },
    Column { title: "hot key %", better: Better::Neither, value: |s| pct(s.hottest_key_share), digits: 2, keyed: true },
    Column {
        title: "dropped",
        better: Better::Lower,
        value: |s| (s.measured.dropped as f64, None),
        digits: 0,
        keyed: false,
    },
];

fn pct(e: Estimate) -> (f64, Option<Ci>) {
    shown(e, 1e2)
}

/// Shown when requests can fail (faults, timeouts or retries in the scenario).
const FAILURE_COLUMNS: &[Column] = &[
    Column {
        title: "failed",
        better: Better::Lower,
        value: |s| (s.measured.failed as f64, None),
        digits: 0,
        keyed: false,
    },
    Column {
        title: "timed out",
        better: Better::Lower,
        value: |s| (s.measured.timed_out as f64, None),
        digits: 0,
        keyed: false,
    },
    Column { title: "avail %", better: Better::Higher, value: |s| pct(s.availability), digits: 3, keyed: false },
];

/// Shown when the client retries.
const RETRY_COLUMNS: &[Column] = &[Column {
    title: "sent/offered",
    better: Better::Lower,
    value: |s| shown(s.retry_amplification, 1.0),
    digits: 3,
    keyed: false,
}];

fn columns(report: &Report) -> Vec<&'static Column> {
    let sc = &report.scenario;
    let mut cols: Vec<&Column> = COLUMNS.iter().filter(|c| !c.keyed || sc.has_keys()).collect();
    if sc.has_failures() {
        cols.extend(FAILURE_COLUMNS);
    }
    if sc.client.is_some_and(|c| c.max_retries > 0) {
        cols.extend(RETRY_COLUMNS);
    }
    cols
}

/// The header's description of the arrivals.
fn arrivals_line(sc: &Scenario) -> String {
    match &sc.arrivals {
        Arrivals::Closed(c) => {
            let think = match &c.think {
                None => "no think time".to_string(),
                Some(d) => format!("think {} {}", d.name(), format_duration(d.mean())),
            };
            format!("closed loop of {} clients ({think}), at most {:.1} req/s", c.clients, sc.arrival_rate())
        }
        Arrivals::Trace(t) => format!(
            "trace {} ({} of {} rows, speed ×{}), {:.1} req/s mean",
            t.file.display(),
            sc.requests,
            t.len(),
            t.speed,
            sc.arrival_rate()
        ),
        Arrivals::Varying(_) | Arrivals::Mmpp(_) => {
            format!("{:.1} req/s mean (peak {:.1})", sc.arrival_rate(), sc.peak_rate())
        }
        Arrivals::Poisson { .. } | Arrivals::Deterministic { .. } => format!("{:.1} req/s offered", sc.arrival_rate()),
    }
}

/// Renders the report as a table (strategies as rows, best value per column marked with
/// `*`), preceded by a header line and followed by notes and warnings.
pub fn render(report: &Report, color: bool) -> String {
    let sc = &report.scenario;
    let mut out = String::new();
    out.push_str(&format!(
        "{}: {} servers, {}, capacity {:.1} req/s, ρ = {:.3}, mean service {}, {} requests × {} replication{} (warm-up {})\n",
        sc.name,
        sc.server_count(),
        arrivals_line(sc),
        sc.capacity(),
        report.offered_load(),
        format_duration(sc.mean_demand())
            + if sc.groups.iter().any(|g| g.service.is_some()) { " (some groups their own)" } else { "" },
        sc.requests,
        sc.replications,
        if sc.replications == 1 { "" } else { "s" },
        sc.warmup,
    ));
    let mut table = table::new(color);
    let cols = columns(report);
    let mut header = vec![Cell::new("strategy")];
    header.extend(cols.iter().map(|c| Cell::new(c.title)));
    table.set_header(header);
    let best: Vec<Option<f64>> = cols
        .iter()
        .map(|c| {
            // A strategy that completed nothing is no candidate (its zeros are not results).
            let vals = report.strategies.iter().filter(|s| s.measured.completed > 0).map(|s| (c.value)(s).0);
            let vals = vals.filter(|v| v.is_finite());
            match c.better {
                Better::Lower => vals.reduce(f64::min),
                Better::Higher => vals.reduce(f64::max),
                Better::Neither => None,
            }
        })
        .collect();
    let several = report.strategies.len() > 1;
    let mut clipped = false;
    for s in &report.strategies {
        let mut row = vec![Cell::new(&s.label)];
        for (c, b) in cols.iter().zip(&best) {
            let (v, ci) = (c.value)(s);
            let mut text = if v.is_finite() { format!("{v:.*}", c.digits) } else { "–".to_string() };
            match ci {
                Some(Ci { clipped: Some((lo, hi)), .. }) => {
                    clipped = true;
                    text.push_str(&format!(" [{lo:.*}, {hi:.*}]", c.digits, c.digits));
                }
                Some(Ci { half, .. }) => text.push_str(&format!(" ±{half:.*}", c.digits)),
                None => {}
            }
            let is_best = several && s.measured.completed > 0 && b.is_some_and(|b| v == b);
            if is_best {
                text.push('*');
            }
            let mut cell = Cell::new(text).set_alignment(CellAlignment::Right);
            if is_best && color {
                cell = cell.add_attribute(Attribute::Bold);
            }
            row.push(cell);
        }
        table.add_row(row);
    }
    out.push_str(&table.to_string());
    out.push('\n');
    let mut notes = Vec::new();
    if several {
        notes.push("* best in column".to_string());
    }
    if sc.replications > 1 {
        notes.push("± = 95% confidence half-width over replications".to_string());
    }
    if clipped {
        notes.push("[a, b] = a 95% confidence interval clipped at a physical bound (see the warning)".to_string());
    }
    if !notes.is_empty() {
        out.push_str(&notes.join("; "));
        out.push('\n');
    }
    for line in fault_notes(report).into_iter().chain(closed_loop_notes(report)) {
        out.push_str(&line);
        out.push('\n');
    }
    for w in &report.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

/// Per fault of the first replication: when each strategy stopped using the server.
fn fault_notes(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let width = report.strategies.iter().map(|s| s.label.len()).max().unwrap_or(0);
    for (i, win) in report.fault_windows_of(0).enumerate() {
        let what = match win.kind {
            FaultKind::Down => "down".to_string(),
            FaultKind::Slow { factor } => format!("{factor}× slower"),
        };
        let until = win.end.map_or(String::new(), |e| format!(" until {}", format_duration(e)));
        out.push(format!(
            "fault: {} {what} at {}{until} (replication 0):",
            win.server_name,
            format_duration(win.start)
        ));
        for s in &report.strategies {
            let Some(o) = s.faults.first().and_then(|f| f.get(i)) else { continue };
            let detected = match (o.detected_at, o.detected_by) {
                (Some(t), Some(by)) => format!("out of rotation after {} ({by})", format_duration(t - win.start)),
                _ => "never taken out of rotation".to_string(),
            };
            let herd = if win.kind == FaultKind::Down {
                format!(", {} request(s) refused before", o.refused_before_detection)
            } else {
                String::new()
            };
            out.push(format!("  {:width$}  {detected}{herd}", s.label));
        }
    }
    for s in &report.strategies {
        let (panics, fallbacks) = (s.panics, s.fallbacks);
        if panics > 0 {
            out.push(format!("{}: no server was eligible {panics} time(s); the balancer then used them all", s.label));
        }
        if fallbacks > 0 {
            out.push(format!(
                "{}: could not be rebuilt over the eligible servers {fallbacks} time(s); picks of ineligible servers were redirected at random",
                s.label
            ));
        }
    }
    out
}

/// For a closed loop: what an open workload at the same throughput would see.
fn closed_loop_notes(report: &Report) -> Vec<String> {
    if !report.scenario.is_closed() {
        return Vec::new();
    }
    let mut out = vec![
        "closed loop: clients wait for each response, so they send less exactly when the system is slow and the \
         percentiles above omit the delays the missing requests would have seen (coordinated omission). An open \
         workload at the same throughput sees:"
            .to_string(),
    ];
    for s in &report.strategies {
        if let Some(o) = s.open_model {
            out.push(format!(
                "  {}: {:.1} req/s → mean {:.3} ms, p99 {:.3} ms (closed loop: mean {:.3} ms, p99 {:.3} ms)",
                s.label,
                o.rate.value,
                o.mean.value * 1e3,
                o.p99.value * 1e3,
                s.mean.value * 1e3,
                s.p99.value * 1e3
            ));
        }
    }
    out
}
