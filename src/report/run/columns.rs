//! The columns of the terminal table: what each shows (its summary.csv name, title, value
//! and interval), which way it improves, when it applies, and how long it stays when the
//! table must fit 120 columns.

use super::Report;
use crate::stats::{Estimate, StrategySummary};

/// Which way a column improves.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Better {
    Lower,
    Higher,
    Neither,
}

/// When a column applies to a scenario.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum When {
    Always,
    /// With `[keys]` (or a trace's keys).
    Keyed,
    /// When requests can fail (faults, timeouts, retries).
    Failures,
    /// When the client retries.
    Retries,
}

pub(super) struct Column {
    /// Its summary.csv name (what `--columns` takes).
    pub(super) key: &'static str,
    pub(super) title: &'static str,
    pub(super) better: Better,
    pub(super) value: fn(&StrategySummary) -> (f64, Option<Ci>),
    pub(super) digits: usize,
    pub(super) when: When,
    /// In the default table: 0 = no; otherwise the higher, the longer it stays when the
    /// table is too wide.
    pub(super) keep: u8,
    /// In the default table only where this holds (e.g. drops only when queues are bounded).
    pub(super) relevant: fn(&Report) -> bool,
}

/// A confidence interval as shown: its half-width, and the interval clipped to the physical
/// range when it reaches past it.
#[derive(Clone, Copy)]
pub(super) struct Ci {
    pub(super) half: f64,
    pub(super) clipped: Option<(f64, f64)>,
}

/// `e` scaled by `scale` (1e3: seconds to ms), with its interval.
pub(super) fn shown(e: Estimate, scale: f64) -> (f64, Option<Ci>) {
    let ci = e.ci95.map(|h| Ci {
        half: h * scale,
        clipped: e.is_clipped().then(|| e.interval()).flatten().map(|(lo, hi)| (lo * scale, hi * scale)),
    });
    (e.value * scale, ci)
}

pub(super) fn ms(e: Estimate) -> (f64, Option<Ci>) {
    shown(e, 1e3)
}

pub(super) fn pct(e: Estimate) -> (f64, Option<Ci>) {
    shown(e, 1e2)
}

pub(super) fn plain(e: Estimate) -> (f64, Option<Ci>) {
    shown(e, 1.0)
}

pub(super) fn always(_: &Report) -> bool {
    true
}

/// Drops are possible (a bounded waiting room) or happened.
pub(super) fn drops(r: &Report) -> bool {
    r.scenario.servers.iter().any(|s| s.queue_capacity > 0) || r.strategies.iter().any(|s| s.measured.dropped > 0)
}

pub(super) fn closed(r: &Report) -> bool {
    r.scenario.is_closed()
}

/// Every column of the table, in the order shown.
pub(super) const COLUMNS: &[Column] = &[
    Column {
        key: "mean_ms",
        title: "mean ms",
        better: Better::Lower,
        value: |s| ms(s.mean),
        digits: 3,
        when: When::Always,
        keep: 14,
        relevant: always,
    },
    Column {
        key: "p50_ms",
        title: "p50 ms",
        better: Better::Lower,
        value: |s| ms(s.p50),
        digits: 3,
        when: When::Always,
        keep: 3,
        relevant: always,
    },
    Column {
        key: "p90_ms",
        title: "p90 ms",
        better: Better::Lower,
        value: |s| ms(s.p90),
        digits: 3,
        when: When::Always,
        keep: 0,
        relevant: always,
    },
    Column {
        key: "p99_ms",
        title: "p99 ms",
        better: Better::Lower,
        value: |s| ms(s.p99),
        digits: 3,
        when: When::Always,
        keep: 15,
        relevant: always,
    },
    Column {
        key: "p999_ms",
        title: "p99.9 ms",
        better: Better::Lower,
        value: |s| ms(s.p999),
        digits: 3,
        when: When::Always,
        keep: 4,
        relevant: always,
    },
    Column {
        key: "max_ms",
        title: "max ms",
        better: Better::Lower,
        value: |s| (s.max * 1e3, None),
        digits: 3,
        when: When::Always,
        keep: 0,
        relevant: always,
    },
    Column {
        key: "mean_wait_ms",
        title: "wait ms",
        better: Better::Lower,
        value: |s| ms(s.mean_wait),
        digits: 3,
        when: When::Always,
        keep: 0,
        relevant: always,
    },
    Column {
        key: "throughput_rps",
        title: "req/s",
        better: Better::Neither,
        value: |s| plain(s.throughput),
        digits: 1,
        when: When::Always,
        keep: 12,
        relevant: closed,
    },
    Column {
        key: "utilization",
        title: "util",
        better: Better::Neither,
        value: |s| plain(s.utilization),
        digits: 3,
        when: When::Always,
        keep: 0,
        relevant: always,
    },
    Column {
        key: "rho_max",
        title: "ρ max",
        better: Better::Lower,
        value: |s| plain(s.rho_max),
        digits: 3,
        when: When::Always,
        keep: 11,
        relevant: always,
    },
    Column {
        key: "load_max_over_mean",
        title: "max/mean",
        better: Better::Lower,
        value: |s| plain(s.load_max_over_mean),
        digits: 3,
        when: When::Always,
        keep: 5,
        relevant: always,
    },
    Column {
        key: "load_cv",
        title: "CV",
        better: Better::Lower,
        value: |s| plain(s.load_cv),
        digits: 3,
        when: When::Always,
        keep: 0,
        relevant: always,
    },
    Column {
        key: "jain_index",
        title: "Jain",
        better: Better::Higher,
        value: |s| plain(s.jain),
        digits: 4,
        when: When::Always,
        keep: 0,
        relevant: always,
    },
    Column {
        key: "busiest_server_share",
        title: "busiest %",
        better: Better::Lower,
        value: |s| pct(s.busiest_server_share),
        digits: 2,
        when: When::Always,
        keep: 0,
        relevant: always,
    },
    Column {
        key: "requests_max_over_mean",
        title: "req max/mean",
        better: Better::Neither,
        value: |s| plain(s.requests_max_over_mean),
        digits: 3,
        when: When::Always,
        keep: 0,
        relevant: always,
    },
    Column {
        key: "queue_spread",
        title: "N spread",
        better: Better::Lower,
        value: |s| plain(s.queue_spread),
        digits: 2,
        when: When::Always,
        keep: 8,
        relevant: always,
    },
    Column {
        key: "idle_while_waiting",
        title: "idle∧wait %",
        better: Better::Lower,
        value: |s| pct(s.idle_while_waiting),
        digits: 1,
        when: When::Always,
        keep: 10,
        relevant: always,
    },
    Column {
        key: "hottest_key_share",
        title: "hot key %",
        better: Better::Neither,
        value: |s| pct(s.hottest_key_share),
        digits: 2,
        when: When::Keyed,
        keep: 6,
        relevant: always,
    },
    Column {
        key: "dropped",
        title: "dropped",
        better: Better::Lower,
        value: |s| (s.measured.dropped as f64, None),
        digits: 0,
        when: When::Always,
        keep: 9,
        relevant: drops,
    },
    Column {
        key: "failed",
        title: "failed",
        better: Better::Lower,
        value: |s| (s.measured.failed as f64, None),
        digits: 0,
        when: When::Failures,
        keep: 2,
        relevant: always,
    },
    Column {
        key: "timed_out",
        title: "timed out",
        better: Better::Lower,
        value: |s| (s.measured.timed_out as f64, None),
        digits: 0,
        when: When::Failures,
        keep: 1,
        relevant: always,
    },
    Column {
        key: "availability",
        title: "avail %",
        better: Better::Higher,
        value: |s| pct(s.availability),
        digits: 3,
        when: When::Failures,
        keep: 13,
        relevant: always,
    },
    Column {
        key: "retry_amplification",
        title: "sent/offered",
        better: Better::Lower,
        value: |s| plain(s.retry_amplification),
        digits: 3,
        when: When::Retries,
        keep: 7,
        relevant: always,
    },
];

/// Whether column `c` applies to the report's scenario.
pub(super) fn applies(c: &Column, report: &Report) -> bool {
    let sc = &report.scenario;
    match c.when {
        When::Always => true,
        When::Keyed => sc.has_keys(),
        When::Failures => sc.has_failures(),
        When::Retries => sc.client.is_some_and(|c| c.max_retries > 0),
    }
}
