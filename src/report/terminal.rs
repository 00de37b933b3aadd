//! The side-by-side table printed by `lbsim run`.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Attribute, Cell, CellAlignment, ContentArrangement, Table};

use crate::run::Report;
use crate::scenario::duration::format_duration;
use crate::stats::{Estimate, StrategySummary};

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
    value: fn(&StrategySummary) -> (f64, Option<f64>),
    digits: usize,
    /// Shown only when the scenario has `[keys]`.
    keyed: bool,
}

fn ms(e: Estimate) -> (f64, Option<f64>) {
    (e.value * 1e3, e.ci95.map(|c| c * 1e3))
}

const COLUMNS: &[Column] = &[
    Column { title: "mean ms", better: Better::Lower, value: |s| ms(s.mean), digits: 3, keyed: false },
    Column { title: "p50 ms", better: Better::Lower, value: |s| ms(s.p50), digits: 3, keyed: false },
    Column { title: "p90 ms", better: Better::Lower, value: |s| ms(s.p90), digits: 3, keyed: false },
    Column { title: "p99 ms", better: Better::Lower, value: |s| ms(s.p99), digits: 3, keyed: false },
    Column { title: "p99.9 ms", better: Better::Lower, value: |s| ms(s.p999), digits: 3, keyed: false },
    Column { title: "max ms", better: Better::Lower, value: |s| (s.max * 1e3, None), digits: 3, keyed: false },
    Column { title: "wait ms", better: Better::Lower, value: |s| ms(s.mean_wait), digits: 3, keyed: false },
    Column {
        title: "util",
        better: Better::Neither,
        value: |s| (s.utilization.value, s.utilization.ci95),
        digits: 3,
        keyed: false,
    },
    Column {
        title: "max/mean",
        better: Better::Lower,
        value: |s| (s.load_max_over_mean.value, s.load_max_over_mean.ci95),
        digits: 3,
        keyed: false,
    },
    Column {
        title: "CV",
        better: Better::Lower,
        value: |s| (s.load_cv.value, s.load_cv.ci95),
        digits: 3,
        keyed: false,
    },
    Column { title: "Jain", better: Better::Higher, value: |s| (s.jain.value, s.jain.ci95), digits: 4, keyed: false },
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

fn pct(e: Estimate) -> (f64, Option<f64>) {
    (e.value * 1e2, e.ci95.map(|c| c * 1e2))
}

/// Renders the report as a table (strategies as rows, best value per column marked with
/// `*`), preceded by a header line and followed by notes and warnings.
pub fn render(report: &Report, color: bool) -> String {
    let sc = &report.scenario;
    let mut out = String::new();
    out.push_str(&format!(
        "{}: {} servers, {:.1} req/s offered, capacity {:.1} req/s, ρ = {:.3}, mean service {}, {} requests × {} replication{} (warm-up {})\n",
        sc.name,
        sc.server_count(),
        sc.arrivals.rate(),
        sc.capacity(),
        report.offered_load(),
        format_duration(sc.service.mean()),
        sc.requests,
        sc.replications,
        if sc.replications == 1 { "" } else { "s" },
        sc.warmup,
    ));
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
    if !color {
        table.force_no_tty();
    }
    let columns: Vec<&Column> = COLUMNS.iter().filter(|c| !c.keyed || sc.keys.is_some()).collect();
    let mut header = vec![Cell::new("strategy")];
    header.extend(columns.iter().map(|c| Cell::new(c.title)));
    table.set_header(header);
    let best: Vec<Option<f64>> = columns
        .iter()
        .map(|c| {
            let vals = report.strategies.iter().map(|s| (c.value)(s).0).filter(|v| v.is_finite());
            match c.better {
                Better::Lower => vals.reduce(f64::min),
                Better::Higher => vals.reduce(f64::max),
                Better::Neither => None,
            }
        })
        .collect();
    let several = report.strategies.len() > 1;
    for s in &report.strategies {
        let mut row = vec![Cell::new(&s.label)];
        for (c, b) in columns.iter().zip(&best) {
            let (v, ci) = (c.value)(s);
            let mut text = if v.is_finite() { format!("{v:.*}", c.digits) } else { "–".to_string() };
            if let Some(ci) = ci {
                text.push_str(&format!(" ±{ci:.*}", c.digits));
            }
            let is_best = several && b.is_some_and(|b| v == b);
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
    if !notes.is_empty() {
        out.push_str(&notes.join("; "));
        out.push('\n');
    }
    for w in warnings(report) {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

/// Relative gap between L and λW beyond which a run is reported as not in steady state.
pub const LITTLE_TOLERANCE: f64 = 0.05;

/// Warnings a reader must see next to the numbers.
pub fn warnings(report: &Report) -> Vec<String> {
    let mut w = Vec::new();
    let rho = report.offered_load();
    if rho >= 1.0 {
        w.push(format!(
            "UNSTABLE: offered load ρ = {rho:.3} ≥ 1 — the servers cannot keep up, queues grow without bound and \
             response times depend on the run length, not on the strategy's steady state"
        ));
    }
    if let Some(msg) = report.scenario.service.warning() {
        w.push(msg);
    }
    if let Some(msg) = report.scenario.keyless_warning() {
        w.push(msg);
    }
    for s in &report.strategies {
        if s.measured.completed == 0 {
            w.push(format!("{}: no measured request completed", s.label));
            continue;
        }
        // Little's law, L = λW, holds in steady state; a large gap means the window is too
        // short for the queues to settle (or that they never do).
        let ratio = s.little_ratio();
        if rho < 1.0 && (ratio - 1.0).abs() > LITTLE_TOLERANCE {
            w.push(format!(
                "{}: Little's law is off by {:.1}% (L = {:.3} vs λW = {:.3}): the run is too short to reach steady state; \
                 raise `requests` or `warmup_requests`",
                s.label,
                100.0 * (ratio - 1.0),
                s.mean_in_system.value,
                s.throughput.value * s.mean.value
            ));
        }
    }
    w
}
