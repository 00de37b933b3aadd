//! `[slo]`: a service-level objective the run is judged on per window of time, e.g.
//! `objective = "p99<=100ms"` over `window = "60s"`: summary.csv's `slo_violated_s` and
//! `slo_violated_share` (computed by `stats::slo_windows`).
//!
//! The objective is written as `lbsim plan --slo` and `lbsim sweep --slo` write theirs
//! (`METRIC<=LIMIT`), but only a percentile of the response time can be judged per window
//! (`p50`, `p90`, `p99`, `p999`): a window's percentile has a plain meaning, a request
//! without an answer counting as slower than any limit.

use serde::Serialize;

use super::ScenarioError;
use super::schema::RawSlo;
use crate::duration::{format_duration, parse_duration};
use crate::suggest::did_you_mean;

/// The percentiles an `[slo]` objective may bound, with their fractions.
const PERCENTILES: &[(&str, f64)] =
    &[("p50", 0.5), ("median", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999), ("p99.9", 0.999)];

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

/// Validates `[slo]`.
pub(crate) fn validate_slo(raw: &RawSlo) -> Result<WindowSlo, ScenarioError> {
    let key = "slo.objective";
    let text: String = raw.objective.chars().filter(|c| !c.is_whitespace()).collect();
    let err = |why: String| ScenarioError::at(key, format!("`{}`: {why}", raw.objective));
    let (name, limit) = text
        .split_once("<=")
        .or_else(|| text.split_once('≤'))
        .ok_or_else(|| err("expected PERCENTILE<=LIMIT".into()).with_help("e.g. objective = \"p99<=100ms\""))?;
    let lower = name.to_ascii_lowercase();
    let Some(&(_, quantile)) = PERCENTILES.iter().find(|(n, _)| *n == lower) else {
        let mut e = err(format!(
            "`{name}` cannot be judged per window; allowed: p50, p90, p99, p999 (a percentile of the response time)"
        ));
        if let Some(s) = did_you_mean(&lower, PERCENTILES.iter().map(|(n, _)| *n)) {
            e = e.with_help(format!("did you mean `{s}`?"));
        }
        return Err(e);
    };
    let metric = PERCENTILES.iter().find(|(_, q)| *q == quantile).map_or("p99", |(n, _)| n);
    let limit = parse_duration(limit).map_err(|m| err(format!("the limit needs a duration: {m}")))?;
    if limit <= 0.0 || !limit.is_finite() {
        return Err(err("the limit must be above zero".into()));
    }
    let window = raw.window.map_or(DEFAULT_WINDOW, |w| w.secs());
    if window <= 0.0 || !window.is_finite() {
        return Err(ScenarioError::at("slo.window", "must be above zero").with_help("e.g. window = \"60s\""));
    }
    Ok(WindowSlo { metric, quantile, limit, window })
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
            ("p98<=50ms", None, "allowed: p50, p90, p99, p999"),
            ("p99=50ms", None, "PERCENTILE<=LIMIT"),
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
