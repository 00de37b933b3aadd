//! The columns of the terminal table: what each shows (its summary.csv name, title, value
//! and interval), which way it improves, when it applies, and how long it stays when the
//! table must fit 120 columns.

use super::Report;
use crate::stats::batch::Figure;
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

/// The figure a column shows, when its interval and paired comparisons rest on
/// replications or batches (counts and the maximum have none).
pub(super) fn figure(key: &str) -> Option<Figure> {
    Some(match key {
        "mean_ms" => Figure::Mean,
        "p50_ms" => Figure::P50,
        "p90_ms" => Figure::P90,
        "p99_ms" => Figure::P99,
        "p999_ms" => Figure::P999,
        "mean_wait_ms" => Figure::Wait,
        "throughput_rps" => Figure::Throughput,
        "utilization" => Figure::Utilization,
        "rho_max" => Figure::RhoMax,
        "load_max_over_mean" => Figure::LoadMaxOverMean,
        "load_cv" => Figure::LoadCv,
        "jain_index" => Figure::Jain,
        "busiest_server_share" => Figure::BusiestShare,
        "requests_max_over_mean" => Figure::RequestsMaxOverMean,
        "queue_spread" => Figure::QueueSpread,
        "idle_while_waiting" => Figure::IdleWhileWaiting,
        "availability" => Figure::Availability,
        "retry_amplification" => Figure::RetryAmplification,
        _ => return None,
    })
}

/// How a row's figure ranks in its column.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Mark {
    /// Best, and its paired difference with every other row excludes 0 at 95%: `*`.
    Best,
    /// Among the leaders no paired comparison tells apart: `≈`.
    Tied,
}

/// The marks of column `c`, one per strategy of the report. The leader (best value among
/// rankable rows) is starred only when its paired 95% interval of the difference with every
/// other rankable row excludes 0 in its favour; otherwise it and every row it is not
/// told apart from are marked tied. Columns without units to pair (counts, the maximum),
/// and ρ max in a closed loop (where less offered load would look best), get no mark.
pub(super) fn marks(report: &Report, c: &Column, rankable: impl Fn(&StrategySummary) -> bool) -> Vec<Option<Mark>> {
    let n = report.strategies.len();
    let none = vec![None; n];
    let Some(f) = figure(c.key) else { return none };
    if c.better == Better::Neither || (report.scenario.is_closed() && f == Figure::RhoMax) {
        return none;
    }
    let ranked: Vec<usize> =
        (0..n).filter(|&i| rankable(&report.strategies[i]) && (c.value)(&report.strategies[i]).0.is_finite()).collect();
    if ranked.len() < 2 {
        return none;
    }
    let value = |i: usize| (c.value)(&report.strategies[i]).0;
    let better = |a: f64, b: f64| if c.better == Better::Lower { a < b } else { a > b };
    let leader = ranked.iter().copied().reduce(|a, b| if better(value(b), value(a)) { b } else { a }).expect("two");
    let units = |i: usize| &report.strategies[i].paired[f as usize];
    // Whether the leader is better than row `i` at 95%, pairing their units.
    let apart = |i: usize| {
        units(leader)
            .paired(units(i))
            .is_some_and(|(d, h)| if c.better == Better::Lower { d + h < 0.0 } else { d - h > 0.0 })
    };
    let tied: Vec<usize> = ranked.iter().copied().filter(|&i| i != leader && !apart(i)).collect();
    let mut marks = none;
    if tied.is_empty() {
        marks[leader] = Some(Mark::Best);
    } else {
        marks[leader] = Some(Mark::Tied);
        for i in tied {
            marks[i] = Some(Mark::Tied);
        }
    }
    marks
}
