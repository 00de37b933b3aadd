//! The options `lbsim run`, `sweep` and `plan` share that change a scenario as a whole
//! (`--requests`, `--seed`, `--replications`, `--strategies`).
//!
//! They are applied to the parsed [`Scenario`] by [`Overrides::apply`], through setters
//! that validate what they change, after any edit of the text (`--vary`, a plan's
//! candidate). Keys of the file are set in its text instead ([`super::edit`]).

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
}

impl Overrides {
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
        Ok(())
    }

    /// The scenario key an override sets, when `key` (canonical) is one of them.
    pub fn clashes_with(&self, key: &str) -> Option<&'static str> {
        match key {
            "requests" | "warmup_requests" if self.requests.is_some() => Some("--requests"),
            "seed" if self.seed.is_some() => Some("--seed"),
            "replications" if self.replications.is_some() => Some("--replications"),
            k if k.starts_with("strategies") && self.strategies.is_some() => Some("--strategies"),
            _ => None,
        }
    }
}
