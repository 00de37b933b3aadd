//! The scenario file as written (serde), before validation. Unknown keys are errors.

use serde::Deserialize;

use super::duration::Duration;

/// Top level of a scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<String>,
    pub seed: Option<u64>,
    pub requests: u64,
    pub warmup_requests: Option<u64>,
    pub replications: Option<u32>,
    pub strategies: Vec<toml::Value>,
    pub arrivals: RawArrivals,
    pub service: RawService,
    pub keys: Option<RawKeys>,
    pub servers: Vec<RawServerGroup>,
}

/// `[keys]`: the key space requests are drawn from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeys {
    pub count: u64,
    pub distribution: Option<String>,
    pub exponent: Option<f64>,
}

/// `[arrivals]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArrivals {
    pub process: String,
    pub rate: f64,
}

/// `[service]`: a distribution and its parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub distribution: String,
    pub mean: Option<Duration>,
    pub cv: Option<f64>,
    pub min: Option<Duration>,
    pub max: Option<Duration>,
    #[serde(alias = "shape")]
    pub alpha: Option<f64>,
}

/// `[[servers]]`: a group of identical servers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServerGroup {
    pub name: String,
    pub count: Option<u32>,
    pub speed: Option<f64>,
    pub workers: Option<u32>,
    pub queue_capacity: Option<u32>,
    pub weight: Option<u32>,
    pub max_connections: Option<u32>,
}
