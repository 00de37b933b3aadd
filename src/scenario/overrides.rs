//! The options `lbsim run`, `sweep` and `plan` share that change a scenario as a whole
//! (`--requests`, `--seed`, `--replications`, `--strategies`).
//!
//! The rule: options of the command line that change a scenario as a whole are applied to
//! the parsed [`Scenario`], only by [`Overrides::apply`] (through setters that validate what
//! they change, so their errors name the option), after any edit of the text; keys of the
//! file (`--vary`, a plan's server count and rate) are set in the text ([`super::edit`]) and
//! parsed again. One exception: a plan sizes each strategy on a one-strategy copy of the
//! text, so its `--strategies` picks the strategies of those copies in the text. Overrides
//! stay off the text because a seed is a u64 (TOML integers stop at i64), `--requests`
//! moves a default warm-up with it, and a trace need not be read twice.

use super::validate::{check_strategies_under, parse_strategies};
use super::{Scenario, ScenarioError};

/// The options `lbsim run`, `sweep` and `plan` share that change a scenario as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Overrides {
    /// `--requests`: requests per replication (the warm-up is cut to a tenth if it no longer fits).
    pub requests: Option<u64>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--replications`.
    pub replications: Option<u32>,
    /// `--strategies`: the strategy list, by name.
    pub strategies: Option<Vec<String>>,
    /// `--precision`: run until precise (`2%`, or `p99_ms=5%,mean_ms=2%`).
    #[serde(default)]
    pub precision: Option<String>,
    /// `--max-requests`: the most requests per replication `--precision` may grow to.
    #[serde(default)]
    pub max_requests: Option<u64>,
}

impl Overrides {
    /// The overrides as command-line arguments (`--requests N`, …; none when unset), in
    /// the order `--requests`, `--seed`, `--replications`, `--strategies`.
    pub fn arguments(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut add = |flag: &str, value: Option<String>| {
            if let Some(v) = value {
                out.extend([flag.to_string(), v]);
            }
        };
        add("--requests", self.requests.map(|r| r.to_string()));
        add("--seed", self.seed.map(|s| s.to_string()));
        add("--replications", self.replications.map(|r| r.to_string()));
        add("--strategies", self.strategies.as_ref().map(|s| s.join(",")));
        out
    }

    /// Applies the overrides to a parsed scenario.
    pub fn apply(&self, sc: &mut Scenario) -> Result<(), ScenarioError> {
        if let Some(r) = self.requests {
            sc.set_requests(r)?;
        }
        if let Some(n) = self.replications {
            if n == 0 {
                return Err(ScenarioError::at("--replications", "must be at least 1"));
            }
            sc.replications = n;
        }
        if let Some(s) = self.seed {
            sc.seed = s;
        }
        if let Some(names) = &self.strategies {
            sc.set_strategies(names)?;
        }
        if let Some(text) = &self.precision {
            let targets = super::Precision::parse_targets(text, "--precision")?;
            let max_requests = sc.precision.as_ref().and_then(|p| p.max_requests);
            sc.precision = Some(super::Precision { targets, max_requests });
        }
        if let Some(m) = self.max_requests {
            let Some(p) = &mut sc.precision else {
                return Err(ScenarioError::at("--max-requests", "applies only with a precision")
                    .with_help("add e.g. `--precision 2%`"));
            };
            if m < sc.requests {
                return Err(ScenarioError::at(
                    "--max-requests",
                    format!("must be at least the requests ({}), got {m}", sc.requests),
                ));
            }
            p.max_requests = Some(m);
        }
        if self.requests.is_some() {
            // The run's length changed: its limits again, located in the file when they name a key.
            sc.check_limits("--requests").map_err(|e| sc.locate(e))?;
        }
        Ok(())
    }

    /// The scenario key an override sets, when `key` (canonical) is one of them.
    pub fn clashes_with(&self, key: &str) -> Option<&'static str> {
        match key {
            "requests" | "warmup_requests" if self.requests.is_some() => Some("--requests"),
            "seed" if self.seed.is_some() => Some("--seed"),
            "precision" if self.precision.is_some() => Some("--precision"),
            "max_requests" if self.max_requests.is_some() => Some("--max-requests"),
            "replications" if self.replications.is_some() => Some("--replications"),
            k if k.starts_with("strategies") && self.strategies.is_some() => Some("--strategies"),
            _ => None,
        }
    }
}

impl Scenario {
    /// `e` located in the scenario's file when its key is one of the file's (errors found
    /// after parsing: an override's consequences, the resource budget).
    pub fn locate(&self, mut e: ScenarioError) -> ScenarioError {
        if let (Some(key), Some(text)) = (e.key.as_deref(), self.source.as_deref())
            && !key.starts_with("--")
        {
            let locator = super::Locator::new(text);
            let (l, c) = locator.find(key).unwrap_or_else(|| locator.top_level());
            (e.file, e.line, e.column) = (self.file.clone(), Some(l), Some(c));
        }
        e
    }

    /// Sets the number of requests (the `--requests` option). A default warm-up follows it
    /// (`requests / 10`); an explicit one is kept while it fits, otherwise it is scaled to
    /// the same fraction of the new request count.
    fn set_requests(&mut self, requests: u64) -> Result<(), ScenarioError> {
        if requests == 0 {
            return Err(ScenarioError::at("--requests", "must be at least 1"));
        }
        if let Some(rows) = self.trace_rows()
            && requests > rows
        {
            return Err(ScenarioError::at("--requests", format!("the trace has only {rows} rows")));
        }
        if !self.warmup_explicit {
            self.warmup = requests / 10;
        } else if self.warmup >= requests {
            let fraction = self.warmup as f64 / self.requests as f64;
            self.warmup = ((requests as f64 * fraction) as u64).min(requests - 1);
        }
        self.requests = requests;
        Ok(())
    }

    /// Replaces the strategy list with `names` (the `--strategies` option), validating each.
    fn set_strategies(&mut self, names: &[String]) -> Result<(), ScenarioError> {
        let values: Vec<toml::Value> = names.iter().map(|n| toml::Value::String(n.clone())).collect();
        let strategies = parse_strategies(&values, &self.servers, "--strategies")?;
        check_strategies_under(&strategies, &self.balancers, &self.servers)?;
        self.strategies = strategies;
        Ok(())
    }
}
