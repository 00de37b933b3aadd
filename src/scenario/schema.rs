//! The scenario file as written (serde), before validation. Unknown keys are errors.

use serde::Deserialize;

use crate::duration::Duration;
use crate::workload::service::Param;

/// Top level of a scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<String>,
    pub seed: Option<u64>,
    /// Required except for trace replay (which defaults to the trace's length).
    pub requests: Option<u64>,
    pub warmup_requests: Option<u64>,
    pub replications: Option<u32>,
    pub strategies: Vec<toml::Value>,
    pub arrivals: RawArrivals,
    pub service: RawService,
    pub keys: Option<RawKeys>,
    pub servers: Vec<RawServerGroup>,
    #[serde(default)]
    pub faults: Vec<RawFault>,
    pub health_check: Option<RawHealthCheck>,
    pub outlier_detection: Option<RawOutlierDetection>,
    pub client: Option<RawClient>,
}

/// `[keys]`: the key space requests are drawn from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeys {
    pub count: u64,
    pub distribution: Option<String>,
    pub exponent: Option<f64>,
}

/// `[arrivals]`: the process and the keys of every process (checked per process later).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArrivals {
    pub process: String,
    pub rate: Option<f64>,
    /// `[[arrivals.schedule]]`: piecewise-constant rate changes.
    #[serde(default)]
    pub schedule: Vec<RawScheduleEntry>,
    /// `[arrivals.diurnal]`: a sinusoidal daily cycle.
    pub diurnal: Option<RawDiurnal>,
    /// `[[arrivals.spike]]`: flash crowds multiplying the rate for a while.
    #[serde(default)]
    pub spike: Vec<RawSpike>,
    /// MMPP: the rate in each of the two states.
    pub rates: Option<Vec<f64>>,
    /// MMPP: mean time spent in each state.
    pub mean_sojourn: Option<Vec<Duration>>,
    /// Closed loop: number of clients.
    pub clients: Option<u32>,
    /// Closed loop: a duration (exponential mean) or a distribution table.
    pub think_time: Option<toml::Value>,
    /// Trace: CSV file, relative to the scenario file.
    pub file: Option<String>,
    /// Trace: unit of the timestamp and service_time columns.
    pub time_unit: Option<String>,
    /// Trace: replay speed factor.
    pub speed: Option<f64>,
}

/// `[[arrivals.schedule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScheduleEntry {
    pub at: Duration,
    pub rate: f64,
}

/// `[arrivals.diurnal]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiurnal {
    pub base: f64,
    pub amplitude: f64,
    pub period: Duration,
    pub peak_at: Option<Duration>,
}

/// `[[arrivals.spike]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpike {
    pub at: Duration,
    pub duration: Duration,
    pub multiplier: f64,
}

/// `[service]`: a distribution and its parameters.
#[derive(Debug, Clone, Deserialize)]
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

impl RawService {
    /// The value given for `param` (durations in seconds).
    pub fn value(&self, param: &Param) -> Option<f64> {
        match param.name {
            "mean" => self.mean.map(Duration::secs),
            "cv" => self.cv,
            "min" => self.min.map(Duration::secs),
            "max" => self.max.map(Duration::secs),
            "alpha" => self.alpha,
            _ => None,
        }
    }
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
    /// Per-group service-time distribution replacing `[service]` on these servers.
    pub service: Option<RawService>,
    /// Weight ramp after the server comes back (nginx `slow_start`, HAProxy `slowstart`).
    pub slow_start: Option<Duration>,
}

/// `[[faults]]`: a crash or a gray failure of one named server or of random ones in a group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub server: Option<String>,
    pub group: Option<String>,
    pub count: Option<u32>,
    pub down_at: Option<Duration>,
    pub up_at: Option<Duration>,
    pub slow_at: Option<Duration>,
    pub slow_until: Option<Duration>,
    pub slowdown: Option<f64>,
}

/// `[health_check]`: HAProxy-style active checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    pub interval: Duration,
    pub timeout: Option<Duration>,
    pub fall: Option<u32>,
    pub rise: Option<u32>,
}

/// `[outlier_detection]`: Envoy-style passive ejection.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutlierDetection {
    pub consecutive_errors: Option<u32>,
    pub interval: Option<Duration>,
    pub base_ejection_time: Option<Duration>,
    pub max_ejection_time: Option<Duration>,
    pub max_ejection_percent: Option<f64>,
}

/// `[client]`: timeout and retry policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    pub timeout: Option<Duration>,
    pub max_retries: Option<u32>,
    pub backoff: Option<Duration>,
    pub max_backoff: Option<Duration>,
    pub retry_budget: Option<f64>,
    pub min_retry_concurrency: Option<u32>,
    pub retry_on: Option<Vec<String>>,
}
