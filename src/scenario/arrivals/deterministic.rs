//! `process = "deterministic"`: evenly spaced arrivals at a constant rate.

use std::path::Path;

use serde::Serialize;

use super::{Arrivals, Process, Shape, Written, positive};
use crate::scenario::schema::RawArrivals;
use crate::scenario::{Scenario, ScenarioError};
use crate::workload::arrival_gen::ArrivalGen;

/// Evenly spaced arrivals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Deterministic {
    /// Requests per second.
    #[serde(rename = "rate_rps")]
    pub rate: f64,
}

impl Written for Deterministic {
    const KEYS: &'static [&'static str] = &["rate"];

    fn read(a: &RawArrivals, _dir: &Path) -> Result<Arrivals, ScenarioError> {
        let rate = a.rate.ok_or_else(|| ScenarioError::at("arrivals", "process = \"deterministic\" needs `rate`"))?;
        Ok(Deterministic { rate: positive("arrivals.rate", rate, "requests per second")? }.into())
    }
}

impl Process for Deterministic {
    fn shape(&self) -> Shape<'_> {
        Shape::Constant
    }

    fn describe(&self) -> String {
        format!("deterministic, {} req/s", self.rate)
    }

    fn mean_rate(&self, _sc: &Scenario) -> f64 {
        self.rate
    }

    fn rate_key(&self) -> &'static str {
        "arrivals.rate"
    }

    fn peak_limit(&self, _sc: &Scenario, _requests_key: &str) -> Result<Option<(f64, &'static str)>, ScenarioError> {
        Ok(Some((self.rate, "arrivals.rate")))
    }

    fn with_rate(&self, rate: f64) -> Option<Arrivals> {
        Some(Deterministic { rate }.into())
    }

    fn scaled(&self, factor: f64) -> Option<Arrivals> {
        Some(Deterministic { rate: self.rate * factor }.into())
    }

    /// The n-th arrival (1-based) at n × interval (no accumulated rounding).
    fn generator(&self) -> ArrivalGen {
        ArrivalGen::Deterministic { interval: 1.0 / self.rate, n: 0 }
    }
}
