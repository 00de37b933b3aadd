//! Service-level objectives: `p99<=200ms`, `mean<=50ms`, `drop_rate<=0.1%`, `utilization<=70%`.
//!
//! An objective is an upper bound on a metric estimated over replications. A candidate
//! meets it when the upper end of the metric's 95% confidence interval is within the
//! bound, so a lucky seed cannot pass a configuration whose true value is above it.

use crate::duration::format_duration;
use crate::runner::ScenarioResults;
use crate::scenario::ScenarioError;
use crate::stats::batch::Figure;
use crate::stats::{Estimate, StrategySummary};

/// A metric an SLO bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Mean response time.
    Mean,
    /// Median response time.
    P50,
    /// 90th percentile.
    P90,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// Fraction of requests dropped.
    DropRate,
    /// Mean busy fraction of the workers.
    Utilization,
}

/// Metric names accepted, with aliases.
const NAMES: &[(&str, Metric)] = &[
    ("mean", Metric::Mean),
    ("p50", Metric::P50),
    ("median", Metric::P50),
    ("p90", Metric::P90),
    ("p99", Metric::P99),
    ("p999", Metric::P999),
    ("p99.9", Metric::P999),
    ("drop_rate", Metric::DropRate),
    ("utilization", Metric::Utilization),
    ("utilisation", Metric::Utilization),
];

impl Metric {
    /// Canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Mean => "mean",
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P99 => "p99",
            Metric::P999 => "p999",
            Metric::DropRate => "drop_rate",
            Metric::Utilization => "utilization",
        }
    }

    /// Whether it is a time (seconds).
    pub fn is_time(self) -> bool {
        !matches!(self, Metric::DropRate | Metric::Utilization)
    }

    /// The summary figure it reads (None for the drop rate, counted over the runs).
    pub fn figure(self) -> Option<Figure> {
        match self {
            Metric::Mean => Some(Figure::Mean),
            Metric::P50 => Some(Figure::P50),
            Metric::P90 => Some(Figure::P90),
            Metric::P99 => Some(Figure::P99),
            Metric::P999 => Some(Figure::P999),
            Metric::Utilization => Some(Figure::Utilization),
            Metric::DropRate => None,
        }
    }

    /// The estimate of this metric for one strategy's results.
    pub fn estimate(self, s: &StrategySummary, drop_rate: Estimate) -> Estimate {
        self.figure().map_or(drop_rate, |f| s.estimate(f))
    }

    /// A value for people: a duration for times, a percentage otherwise.
    pub fn show(self, x: f64) -> String {
        if !x.is_finite() {
            "–".into()
        } else if self.is_time() {
            format_duration(x)
        } else {
            let s = format!("{:.3}", x * 100.0);
            format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
        }
    }
}

/// `METRIC<=LIMIT`.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// What is bounded.
    pub metric: Metric,
    /// The bound: seconds for times, a fraction for rates.
    pub limit: f64,
}

impl Slo {
    /// Parses `p99<=200ms` (also `≤`, and `<` read as `<=`): the one parser of objectives,
    /// [`parse_objective`](crate::scenario::slo::parse_objective), which `[slo]` and
    /// `run --slo` use too.
    pub fn parse(text: &str) -> Result<Slo, ScenarioError> {
        let (name, limit) = crate::scenario::slo::parse_objective(text)?;
        let metric = NAMES.iter().find(|(n, _)| *n == name).map(|(_, m)| *m).expect("a canonical name of NAMES");
        Ok(Slo { metric, limit })
    }

    /// The metric's estimate in `result` for strategy `k`.
    pub fn measure(&self, result: &ScenarioResults, k: usize) -> Estimate {
        self.metric.estimate(&result.strategies[k], result.drop_rate[k])
    }

    /// Whether an estimate meets the objective: its 95% upper confidence bound is within
    /// the limit (the value itself when there is no interval).
    pub fn met_by(&self, e: Estimate) -> bool {
        let upper = e.interval().map_or(e.value, |(_, hi)| hi);
        upper.is_finite() && upper <= self.limit
    }
}

impl Slo {
    /// The objective of an `[slo]` (`run --slo`), judged over a whole run as `plan` and
    /// `sweep --slo` judge theirs.
    pub fn of_window(w: &crate::scenario::slo::WindowSlo) -> Slo {
        let metric = NAMES.iter().find(|(n, _)| *n == w.metric).map_or(Metric::P99, |(_, m)| *m);
        Slo { metric, limit: w.limit }
    }
}

impl std::fmt::Display for Slo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ≤ {}", self.metric.name(), self.metric.show(self.limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::ci::Bounds;

    #[test]
    fn parses_objectives() {
        assert_eq!(Slo::parse("p99<=200ms").unwrap(), Slo { metric: Metric::P99, limit: 0.2 });
        assert_eq!(Slo::parse(" mean ≤ 1.5s").unwrap(), Slo { metric: Metric::Mean, limit: 1.5 });
        assert_eq!(Slo::parse("drop_rate<=0.1%").unwrap().limit, 0.001);
        assert_eq!(Slo::parse("utilization<0.7").unwrap(), Slo { metric: Metric::Utilization, limit: 0.7 });
        assert_eq!(Slo::parse("p99.9<=1s").unwrap().metric, Metric::P999);
        assert_eq!(Slo::parse("p99<=200ms").unwrap().to_string(), "p99 ≤ 200ms");
    }

    #[test]
    fn explains_bad_objectives() {
        for (t, what) in [
            ("p99>=200ms", "upper bound"),
            ("p99=200ms", "METRIC<=LIMIT"),
            ("p98<=200ms", "unknown metric"),
            ("p99<=200", "needs a duration"),
            ("utilization<=120%", "between 0 and 1"),
            ("drop_rate<=x", "fraction or a percentage"),
        ] {
            let e = Slo::parse(t).unwrap_err();
            assert!(e.message.contains(what), "{t}: {e}");
        }
        assert_eq!(Slo::parse("p9<=1s").unwrap_err().help.as_deref(), Some("did you mean `p99`?"));
    }

    #[test]
    fn judged_on_the_upper_confidence_bound() {
        let slo = Slo::parse("p99<=200ms").unwrap();
        assert!(slo.met_by(Estimate { value: 0.19, ci95: Some(0.005), bounds: Bounds::NON_NEGATIVE }));
        assert!(!slo.met_by(Estimate { value: 0.19, ci95: Some(0.02), bounds: Bounds::NON_NEGATIVE }));
        assert!(!slo.met_by(Estimate { value: f64::NAN, ci95: None, bounds: Bounds::NON_NEGATIVE }));
    }
}
