//! The columns of the terminal table, read from the metrics' records
//! ([`crate::report::metric::TABLE`]): the value and interval each shows in its unit, when
//! it applies, and which row is best.

use super::Report;
use crate::report::metric::{Better, Format, Metric, Relevant, Shown, TABLE, Value, When};
use crate::scenario::Scenario;
use crate::stats::batch::Figure;
use crate::stats::{Estimate, StrategySummary};

/// A table column: a metric with [`Metric::shown`] (its key is the metric's name).
pub(super) type Column = Metric;

/// Every column of the table, in the order shown.
pub(super) fn columns() -> impl Iterator<Item = &'static Column> {
    TABLE.iter().copied()
}

/// How column `c` is shown.
pub(super) fn shown(c: &Column) -> &Shown {
    c.shown.as_ref().expect("a table column is shown")
}

/// What column `c` shows for strategy `s` in scenario `sc`: the value in its unit (ms,
/// percent) and its interval.
pub(super) fn value(c: &Column, s: &StrategySummary, sc: &Scenario) -> (f64, Option<Ci>) {
    let scale = match c.format {
        Format::Ms => 1e3,
        _ if shown(c).percent => 1e2,
        _ => 1.0,
    };
    match c.value(s, sc) {
        Value::Estimate(e) => scaled(e, scale),
        Value::Number(x) => (x * scale, None),
        Value::Count(n) => (n as f64 * scale, None),
        Value::Text(_) | Value::Flag(_) | Value::Missing => (f64::NAN, None),
    }
}

/// A confidence interval as shown: its half-width, and the interval clipped to the physical
/// range when it reaches past it.
#[derive(Clone, Copy)]
pub(super) struct Ci {
    pub(super) half: f64,
    pub(super) clipped: Option<(f64, f64)>,
}

/// `e` scaled by `scale` (1e3: seconds to ms), with its interval.
fn scaled(e: Estimate, scale: f64) -> (f64, Option<Ci>) {
    let ci = e.ci95.map(|h| Ci {
        half: h * scale,
        clipped: e.is_clipped().then(|| e.interval()).flatten().map(|(lo, hi)| (lo * scale, hi * scale)),
    });
    (e.value * scale, ci)
}

/// Whether column `c` is relevant to the report (in the default table).
pub(super) fn relevant(c: &Column, r: &Report) -> bool {
    match shown(c).relevant {
        Relevant::Always => true,
        // Drops are possible (a bounded waiting room) or happened.
        Relevant::Drops => {
            r.scenario.servers.iter().any(|s| s.queue_capacity > 0)
                || r.strategies.iter().any(|s| s.measured.dropped > 0)
        }
        Relevant::Closed => r.scenario.is_closed(),
    }
}

/// Whether column `c` applies to the report's scenario.
pub(super) fn applies(c: &Column, report: &Report) -> bool {
    let sc = &report.scenario;
    match shown(c).when {
        When::Always => true,
        When::Keyed => sc.has_keys(),
        When::Failures => sc.has_failures(),
        When::Retries => sc.client.is_some_and(|c| c.max_retries > 0),
    }
}

/// How a row's figure ranks in its column.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Mark {
    /// Best, and its paired difference with every other row excludes 0 at 95%: `*`.
    Best,
    /// Among the leaders no paired comparison tells apart: `≈`.
    Tied,
}

/// Whether a strategy's row may carry best marks or a rank: it completed something and its
/// queues do not grow without bound.
pub(crate) fn rankable(s: &StrategySummary) -> bool {
    s.measured.completed > 0 && !s.is_unstable()
}

/// Whether row `a` is better than row `b` in column `c` at 95%: the paired 95% interval of
/// their difference (per replication, or per batch of one run: [`crate::stats::batch::Units`])
/// excludes 0 in `a`'s favour. Equal figures, or units that do not pair, are never told
/// apart. The one rule behind the table's `*` and `≈` and every chart that ranks
/// (percentiles.png, imbalance.png: [`ranks`]).
pub(crate) fn better_at_95(report: &Report, c: &Column, a: usize, b: usize) -> bool {
    let Some(f) = c.figure else { return false };
    let units = |i: usize| report.strategies[i].paired.get(f as usize);
    match (units(a), units(b)) {
        (Some(ua), Some(ub)) => {
            ua.paired(ub).is_some_and(|(d, h)| if c.better == Better::Lower { d + h < 0.0 } else { d - h > 0.0 })
        }
        _ => false,
    }
}

/// The rank of each row of `order` (strategy indices, best first by column `c`), and whether
/// it is shared: a row's rank is one more than the number of rows above it that are better
/// at 95% ([`better_at_95`]), so rows no paired comparison tells apart share a rank (`=1.`,
/// `=1.`, `3.`), as the table marks leaders not told apart `≈`. Rows `rankable` rejects
/// (an UNSTABLE strategy, one without a figure) get rank 0: no rank.
pub(crate) fn ranks(
    report: &Report,
    c: &Column,
    order: &[usize],
    rankable: impl Fn(&StrategySummary) -> bool,
) -> Vec<(usize, bool)> {
    let value = |i: usize| value(c, &report.strategies[i], &report.scenario).0;
    let ok = |i: usize| rankable(&report.strategies[i]) && value(i).is_finite();
    let rank: Vec<usize> = (0..order.len())
        .map(|r| {
            if !ok(order[r]) {
                return 0;
            }
            1 + order[..r].iter().filter(|&&a| ok(a) && better_at_95(report, c, a, order[r])).count()
        })
        .collect();
    (0..order.len())
        .map(|r| {
            let shared = rank[r] > 0 && rank.iter().enumerate().any(|(q, &k)| q != r && k == rank[r]);
            (rank[r], shared)
        })
        .collect()
}

/// The marks of column `c`, one per strategy of the report. The leader (best value among
/// rankable rows) is starred only when its paired 95% interval of the difference with every
/// other rankable row excludes 0 in its favour; otherwise it and every row it is not
/// told apart from are marked tied. Columns without units to pair (counts, the maximum),
/// and ρ max in a closed loop (where less offered load would look best), get no mark.
pub(super) fn marks(report: &Report, c: &Column, rankable: impl Fn(&StrategySummary) -> bool) -> Vec<Option<Mark>> {
    let n = report.strategies.len();
    let none = vec![None; n];
    let Some(f) = c.figure else { return none };
    if c.better == Better::Neither || (report.scenario.is_closed() && f == Figure::RhoMax) {
        return none;
    }
    let value = |i: usize| value(c, &report.strategies[i], &report.scenario).0;
    let ranked: Vec<usize> = (0..n).filter(|&i| rankable(&report.strategies[i]) && value(i).is_finite()).collect();
    if ranked.len() < 2 {
        return none;
    }
    let better = |a: f64, b: f64| if c.better == Better::Lower { a < b } else { a > b };
    let leader = ranked.iter().copied().reduce(|a, b| if better(value(b), value(a)) { b } else { a }).expect("two");
    // Whether the leader is better than row `i` at 95%, pairing their units.
    let apart = |i: usize| better_at_95(report, c, leader, i);
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
