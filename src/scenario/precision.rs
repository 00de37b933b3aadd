//! `precision` (the scenario key) and `--precision`: run until every requested figure's
//! 95% confidence half-width is within a relative target, or `max_requests` (issue 22).
//!
//! The text is a relative half-width for the headline figures (`"2%"`: `mean_ms` and
//! `p99_ms`), or per figure by its summary.csv name (`"p99_ms=5%,mean_ms=2%"`). The runner
//! extends the run — the same streams, longer, as `--requests` cuts them — until every
//! requested figure of every strategy reaches its target (see `runner`).

use super::ScenarioError;

/// The figures a precision can be asked of: summary.csv's names of the figures that have
/// an interval (in the order of `stats::batch::Figure::ALL`).
pub const MEASURES: [&str; 18] = [
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "p999_ms",
    "mean_wait_ms",
    "throughput_rps",
    "utilization",
    "rho_max",
    "load_max_over_mean",
    "load_cv",
    "jain_index",
    "busiest_server_share",
    "requests_max_over_mean",
    "queue_spread",
    "idle_while_waiting",
    "availability",
    "retry_amplification",
];

/// The figures a bare `"2%"` asks of.
pub const HEADLINE: [&str; 2] = ["mean_ms", "p99_ms"];

/// By default the run may grow to this many times its `requests`.
pub const DEFAULT_GROWTH: u64 = 16;

/// Run until precise.
#[derive(Debug, Clone, PartialEq)]
pub struct Precision {
    /// Each figure (a [`MEASURES`] name) with its target: the largest 95% half-width
    /// relative to the figure's value (0.02 for 2%).
    pub targets: Vec<(&'static str, f64)>,
    /// `max_requests`: the most requests per replication the run may grow to (None:
    /// [`DEFAULT_GROWTH`] times `requests`).
    pub max_requests: Option<u64>,
}

impl Precision {
    /// The most requests per replication a run of `requests` may grow to.
    pub fn cap(&self, requests: u64) -> u64 {
        self.max_requests.unwrap_or(requests.saturating_mul(DEFAULT_GROWTH)).max(requests)
    }

    /// The targets of `text` (see the module's documentation); errors name `key`.
    pub fn parse_targets(text: &str, key: &str) -> Result<Vec<(&'static str, f64)>, ScenarioError> {
        let text = text.trim();
        if !text.contains('=') {
            let t = percent(text, key)?;
            return Ok(HEADLINE.iter().map(|&m| (m, t)).collect());
        }
        let mut out: Vec<(&'static str, f64)> = Vec::new();
        for item in text.split(',') {
            let (name, value) = item.split_once('=').ok_or_else(|| {
                ScenarioError::at(key, format!("`{}` is not figure=percent", item.trim()))
                    .with_help("e.g. `p99_ms=5%,mean_ms=2%`, or `2%` for mean_ms and p99_ms")
            })?;
            let name = name.trim();
            let Some(&m) = MEASURES.iter().find(|&&m| m == name) else {
                return Err(ScenarioError::at(key, format!("`{name}` is not a figure with an interval"))
                    .with_help(format!("one of: {}", MEASURES.join(", "))));
            };
            if out.iter().any(|o| o.0 == m) {
                return Err(ScenarioError::at(key, format!("`{m}` is given twice")));
            }
            out.push((m, percent(value.trim(), key)?));
        }
        Ok(out)
    }
}

/// `"2%"` as 0.02: above 0, below 100%.
fn percent(text: &str, key: &str) -> Result<f64, ScenarioError> {
    let bad = || {
        ScenarioError::at(key, format!("`{text}` is not a percentage"))
            .with_help("a relative 95% half-width between 0% and 100%, e.g. `2%` (per figure: `p99_ms=5%,mean_ms=2%`)")
    };
    let number = text.strip_suffix('%').ok_or_else(bad)?.trim();
    let v: f64 = number.parse().map_err(|_| bad())?;
    if !(v > 0.0 && v < 100.0) {
        return Err(bad());
    }
    Ok(v / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_say_what_is_allowed() {
        assert_eq!(Precision::parse_targets("2%", "precision").unwrap(), vec![("mean_ms", 0.02), ("p99_ms", 0.02)]);
        assert_eq!(
            Precision::parse_targets(" p99_ms=5%, mean_ms = 2.5% ", "precision").unwrap(),
            vec![("p99_ms", 0.05), ("mean_ms", 0.025)]
        );
        for bad in ["2", "0%", "100%", "p99=5%", "p99_ms=5%,p99_ms=4%", "mean_ms=x%", "p99_ms"] {
            let e = Precision::parse_targets(bad, "--precision").unwrap_err();
            assert_eq!(e.key.as_deref(), Some("--precision"), "{bad}");
        }
    }
}
