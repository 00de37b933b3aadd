//! `[slo]`: a service-level objective the run is judged on per window of time, e.g.
//! `objective = "p99<=100ms"` over `window = "60s"`: summary.csv's `slo_violated_s` and
//! `slo_violated_share` (computed by `stats::slo_windows`).
//!
//! The objective is written as `lbsim plan --slo` and `lbsim sweep --slo` write theirs
//! (`METRIC<=LIMIT`, read by the same parser; `lbsim run --slo` sets it from the command
//! line), but only a percentile of the response time can be judged per window
//! (`p50`, `p90`, `p99`, `p999`): a window's percentile has a plain meaning, a request
//! without an answer counting as slower than any limit.

use serde::Serialize;

use super::ScenarioError;
use super::schema::RawSlo;
use crate::duration::{format_duration, parse_duration};
use crate::suggest::did_you_mean;

/// The window when `window` is not given (the "SLO minutes" of an error budget), s.
pub const DEFAULT_WINDOW: f64 = 60.0;

/// A validated `[slo]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowSlo {
    /// The percentile's name (`p99`).
    pub metric: &'static str,
    /// The percentile as a fraction (0.99).
    #[serde(skip)]
    pub quantile: f64,
    /// Its limit, s.
    #[serde(rename = "limit_s")]
    pub limit: f64,
    /// Each window's length, s.
    #[serde(rename = "window_s")]
    pub window: f64,
}

impl std::fmt::Display for WindowSlo {
    /// `p99 ≤ 100ms per 60s window`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ≤ {} per {} window", self.metric, format_duration(self.limit), format_duration(self.window))
    }
}

/// What an objective's limit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    /// A duration.
    Time,
    /// A fraction from 0 to below 1 (`drop_rate`).
    Share,
    /// A fraction strictly between 0 and 1 (`utilization`).
    Open,
}

/// The metrics an objective may bound, as written, with their canonical names.
const METRICS: &[(&str, &str, Limit)] = &[
    ("mean", "mean", Limit::Time),
    ("p50", "p50", Limit::Time),
    ("median", "p50", Limit::Time),
    ("p90", "p90", Limit::Time),
    ("p99", "p99", Limit::Time),
    ("p999", "p999", Limit::Time),
    ("p99.9", "p999", Limit::Time),
    ("drop_rate", "drop_rate", Limit::Share),
    ("utilization", "utilization", Limit::Open),
    ("utilisation", "utilization", Limit::Open),
];

/// The percentiles an `[slo]` can judge per window, with their fractions.
const PERCENTILES: &[(&str, f64)] = &[("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)];

/// Parses an objective, `METRIC<=LIMIT` (also `≤`, and `<` read as `<=`): the one parser of
/// `lbsim plan --slo`, `lbsim sweep --slo`, `lbsim run --slo` and `[slo] objective`.
/// Returns the metric's canonical name (`mean`, `p50`, `p90`, `p99`, `p999`, `drop_rate`,
/// `utilization`) and the limit: seconds for a time, a fraction otherwise. Errors name
/// `--slo`.
pub fn parse_objective(text: &str) -> Result<(&'static str, f64), ScenarioError> {
    let err = |why: String| ScenarioError::at("--slo", format!("`{text}`: {why}"));
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if t.contains(">") || t.contains('≥') {
        return Err(err("an SLO is an upper bound, METRIC<=LIMIT (e.g. p99<=200ms)".into()));
    }
    let (name, limit) = t
        .split_once("<=")
        .or_else(|| t.split_once('≤'))
        .or_else(|| t.split_once('<'))
        .ok_or_else(|| err("expected METRIC<=LIMIT, e.g. p99<=200ms, mean<=50ms or drop_rate<=0.1%".into()))?;
    let lower = name.to_ascii_lowercase();
    let Some(&(_, metric, kind)) = METRICS.iter().find(|(n, _, _)| *n == lower) else {
        let mut e = err(format!("unknown metric `{name}`; allowed: mean, p50, p90, p99, p999, drop_rate, utilization"));
        if let Some(s) = did_you_mean(&lower, METRICS.iter().map(|(n, _, _)| *n)) {
            e = e.with_help(format!("did you mean `{s}`?"));
        }
        return Err(e);
    };
    let limit = if kind == Limit::Time {
        let secs = parse_duration(limit).map_err(|m| err(format!("{metric} needs a duration: {m}")))?;
        if secs <= 0.0 {
            return Err(err("the limit must be above zero".into()));
        }
        secs
    } else {
        let (num, scale) = match limit.strip_suffix('%') {
            Some(n) => (n, 0.01),
            None => (limit, 1.0),
        };
        let x = num
            .parse::<f64>()
            .map_err(|_| err(format!("{metric} takes a fraction or a percentage, e.g. 0.01 or 1%")))?
            * scale;
        let ok = match kind {
            Limit::Open => x > 0.0 && x < 1.0,
            _ => (0.0..1.0).contains(&x),
        };
        if !ok {
            return Err(err(format!(
                "{metric} must be {} (got {x})",
                if kind == Limit::Open { "between 0 and 1 (0% and 100%), exclusive" } else { "from 0 to below 1" }
            )));
        }
        x
    };
    Ok((metric, limit))
}

impl WindowSlo {
    /// The objective `text` (`p99<=100ms`) judged per `window` (s): read by
    /// [`parse_objective`], the parser of `plan --slo` and `sweep --slo`, then checked to
    /// bound a percentile of the response time. `key` names where the text came from in
    /// errors (`slo.objective`, `--slo`).
    pub fn parse(text: &str, window: f64, key: &str) -> Result<WindowSlo, ScenarioError> {
        let (metric, limit) = parse_objective(text).map_err(|e| ScenarioError { key: Some(key.to_string()), ..e })?;
        let Some(&(metric, quantile)) = PERCENTILES.iter().find(|(n, _)| *n == metric) else {
            return Err(ScenarioError::at(
                key,
                format!(
                    "`{text}`: `{metric}` cannot be judged per window; allowed: p50, p90, p99, p999 (a percentile of \
                     the response time)"
                ),
            )
            .with_help("e.g. p99<=100ms"));
        };
        if window <= 0.0 || !window.is_finite() {
            return Err(ScenarioError::at("slo.window", "must be above zero").with_help("e.g. window = \"60s\""));
        }
        Ok(WindowSlo { metric, quantile, limit, window })
    }
}

/// Validates `[slo]`.
pub(crate) fn validate_slo(raw: &RawSlo) -> Result<WindowSlo, ScenarioError> {
    WindowSlo::parse(&raw.objective, raw.window.map_or(DEFAULT_WINDOW, |w| w.secs()), "slo.objective")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Duration;

    fn slo(objective: &str, window: Option<f64>) -> Result<WindowSlo, ScenarioError> {
        validate_slo(&RawSlo { objective: objective.to_string(), window: window.map(Duration) })
    }

    #[test]
    fn reads_a_percentile_objective() {
        let s = slo("p99 <= 100ms", None).unwrap();
        assert_eq!(s, WindowSlo { metric: "p99", quantile: 0.99, limit: 0.1, window: 60.0 });
        assert_eq!(s.to_string(), "p99 ≤ 100ms per 60s window");
        assert_eq!(slo("p99.9≤1s", Some(10.0)).unwrap().metric, "p999");
        assert_eq!(slo("median<=5ms", None).unwrap().metric, "p50");
    }

    #[test]
    fn explains_what_it_refuses() {
        for (o, w, what) in [
            ("mean<=50ms", None, "cannot be judged per window"),
            ("utilization<=50%", None, "allowed: p50, p90, p99, p999"),
            ("p98<=50ms", None, "unknown metric"),
            ("p99=50ms", None, "METRIC<=LIMIT"),
            ("p99<=50", None, "needs a duration"),
            ("p99<=0ms", None, "above zero"),
            ("p99<=50ms", Some(0.0), "above zero"),
        ] {
            let e = slo(o, w).unwrap_err();
            assert!(e.to_string().contains(what), "{o}: {e}");
        }
        assert_eq!(slo("p99<=50ms", Some(0.0)).unwrap_err().key.as_deref(), Some("slo.window"));
    }
}
