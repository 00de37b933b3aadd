//! The metrics of `[balancers] subset` (empty cells without subsets): the subsets and the
//! clients (balancer instances) each backend has, a fact of the scenario the same for
//! every strategy, and how often a client's whole subset was out.

use super::{BASE, Format, Get, Metric, Value};
use crate::scenario::Scenario;
use crate::workload::subsets::clients_per_server;

/// The clients of each backend (`None` without subsets).
pub fn clients(sc: &Scenario) -> Option<Vec<u32>> {
    sc.subsets().map(|subsets| clients_per_server(&subsets, sc.servers.len()))
}

/// min, mean and max of the clients per backend.
pub fn clients_min_mean_max(sc: &Scenario) -> Option<(u32, f64, u32)> {
    let c = clients(sc)?;
    let mean = c.iter().map(|&x| f64::from(x)).sum::<f64>() / c.len() as f64;
    Some((*c.iter().min()?, mean, *c.iter().max()?))
}

/// Servers per balancer instance's subset.
pub const SUBSET_SIZE: Metric = Metric {
    name: "subset_size",
    get: Get::Scenario(|sc| sc.balancers.subset.map_or(Value::Missing, |s| Value::Count(u64::from(s.size)))),
    ..BASE
};
/// How the subsets are chosen.
pub const SUBSET_KIND: Metric = Metric {
    name: "subset_kind",
    format: Format::Text,
    get: Get::Scenario(|sc| sc.balancers.subset.map_or(Value::Missing, |s| Value::Text(s.kind.name().to_string()))),
    ..BASE
};
/// The fewest clients (instances whose subset holds it) of any backend.
pub const CLIENTS_MIN: Metric = Metric {
    name: "clients_per_backend_min",
    get: Get::Scenario(|sc| clients_min_mean_max(sc).map_or(Value::Missing, |(m, _, _)| Value::Count(u64::from(m)))),
    ..BASE
};
/// The mean clients per backend (instances × subset size ÷ servers).
pub const CLIENTS_MEAN: Metric = Metric {
    name: "clients_per_backend_mean",
    format: Format::Fixed(3),
    get: Get::Scenario(|sc| clients_min_mean_max(sc).map_or(Value::Missing, |(_, m, _)| Value::Number(m))),
    ..BASE
};
/// The most clients of any backend.
pub const CLIENTS_MAX: Metric = Metric {
    name: "clients_per_backend_max",
    get: Get::Scenario(|sc| clients_min_mean_max(sc).map_or(Value::Missing, |(_, _, m)| Value::Count(u64::from(m)))),
    ..BASE
};
/// Times (over all replications) a client's whole subset was ineligible and it used every
/// eligible server instead.
pub const SUBSET_WIDENED: Metric = Metric {
    name: "subset_widened",
    get: Get::Summary(|s| s.subset_widened.map_or(Value::Missing, Value::Count)),
    ..BASE
};
