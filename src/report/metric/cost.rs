//! The cost of a pool whose pods change (`[autoscaler]`, a rolling deploy) and the time
//! with the scenario's `[slo]` objective violated, side by side (empty cells without them).

use super::{BASE, Better, Format, Get, Metric, Value};

/// Pod-seconds over the whole run (∫ pods dt, warm-up included: pods.csv's
/// `run_pod_seconds`), mean over replications.
pub const POD_SECONDS: Metric = Metric {
    name: "pod_seconds",
    format: Format::Fixed(3),
    get: Get::Summary(|s| s.pod_seconds.map_or(Value::Missing, Value::Estimate)),
    ci: true,
    better: Better::Lower,
    ..BASE
};
/// The objective the windows are judged on (`p99 ≤ 100ms per 60s window`).
pub const SLO: Metric = Metric {
    name: "slo",
    format: Format::Text,
    get: Get::Scenario(|sc| sc.slo.map_or(Value::Missing, |o| Value::Text(o.to_string()))),
    ..BASE
};
/// Time with the objective violated: whole windows that violated it × the window, s, mean
/// over replications.
pub const SLO_VIOLATED_S: Metric = Metric {
    name: "slo_violated_s",
    format: Format::Fixed(3),
    get: Get::Summary(|s| s.slo_violated_s.map_or(Value::Missing, Value::Estimate)),
    ci: true,
    better: Better::Lower,
    ..BASE
};
/// The share of the run's whole windows that violated the objective, mean over
/// replications.
pub const SLO_VIOLATED_SHARE: Metric = Metric {
    name: "slo_violated_share",
    format: Format::Fixed(6),
    get: Get::Summary(|s| s.slo_violated_share.map_or(Value::Missing, Value::Estimate)),
    ci: true,
    better: Better::Lower,
    ..BASE
};
