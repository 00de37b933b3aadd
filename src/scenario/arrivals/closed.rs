//! `process = "closed"`: a closed loop of clients (the wrk / k6-virtual-user model), each
//! with at most one request outstanding, thinking between a response and its next request.
//! The engine sends their requests (`ClientSend` events).

use std::path::Path;

use serde::Serialize;

use super::{Arrivals, Process, Shape, Written};
use crate::duration::parse_duration;
use crate::scenario::schema::{RawArrivals, RawService};
use crate::scenario::{Scenario, ScenarioError};
use crate::workload::arrival_gen::ArrivalGen;
use crate::workload::service::{Exponential, ServiceDist};

/// A closed population of clients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Closed {
    /// Number of clients, each with at most one request outstanding.
    pub clients: u32,
    /// Think time between a response and the next request; `None` = zero.
    #[serde(rename = "think_time")]
    pub think: Option<ServiceDist>,
}

impl Closed {
    /// Mean think time, s.
    pub fn mean_think(&self) -> f64 {
        self.think.as_ref().map_or(0.0, ServiceDist::mean)
    }
}

impl Written for Closed {
    const KEYS: &'static [&'static str] = &["clients", "think_time"];

    fn read(a: &RawArrivals, _dir: &Path) -> Result<Arrivals, ScenarioError> {
        let clients = a.clients.ok_or_else(|| {
            ScenarioError::at("arrivals", "process = \"closed\" needs `clients` (the number of users)")
        })?;
        if clients == 0 {
            return Err(ScenarioError::at("arrivals.clients", "must be at least 1"));
        }
        let think = match &a.think_time {
            None => {
                return Err(ScenarioError::at(
                    "arrivals",
                    "process = \"closed\" needs `think_time`: \"1s\" (exponential with that mean), \"0ms\" (none) or a \
                     distribution table like [service]'s",
                ));
            }
            Some(toml::Value::String(s)) => {
                let mean = parse_duration(s).map_err(|m| ScenarioError::at("arrivals.think_time", m))?;
                let exponential = |mean| Exponential::new(mean).map(ServiceDist::from);
                (mean > 0.0)
                    .then(|| exponential(mean))
                    .transpose()
                    .map_err(|e| ScenarioError::at("arrivals.think_time", e.message))?
            }
            Some(v @ toml::Value::Table(_)) => {
                let raw: RawService = v.clone().try_into().map_err(|e: toml::de::Error| {
                    ScenarioError::at(
                        "arrivals.think_time",
                        format!("{} (it takes the keys of [service])", e.message()),
                    )
                })?;
                Some(crate::scenario::validate::validate_service(&raw, "arrivals.think_time")?)
            }
            Some(other) => {
                return Err(ScenarioError::at(
                    "arrivals.think_time",
                    format!(
                        "must be a duration like \"1s\" or a table like {{ distribution = \"lognormal\", mean = \"1s\", cv = 2.0 }}, got {other}"
                    ),
                ));
            }
        };
        Ok(Closed { clients, think }.into())
    }
}

impl Process for Closed {
    fn shape(&self) -> Shape<'_> {
        Shape::Closed(self)
    }

    fn describe(&self) -> String {
        use crate::duration::format_duration as d;
        format!(
            "closed loop, {} clients, think {}",
            self.clients,
            self.think.as_ref().map_or("0".to_string(), |t| format!("{} mean {}", t.name(), d(t.mean())))
        )
    }

    /// The most the clients can send (N / (think + service)), at most the capacity.
    fn mean_rate(&self, sc: &Scenario) -> f64 {
        let workers: f64 = sc.servers.iter().map(|s| f64::from(s.workers)).sum();
        let service = workers / sc.capacity();
        (f64::from(self.clients) / (self.mean_think() + service)).min(sc.capacity())
    }

    fn rate_key(&self) -> &'static str {
        "arrivals.clients"
    }

    /// A closed loop sends no faster than its servers answer.
    fn peak_limit(&self, _sc: &Scenario, _requests_key: &str) -> Result<Option<(f64, &'static str)>, ScenarioError> {
        Ok(None)
    }

    /// The engine's clients send the requests.
    fn generator(&self) -> ArrivalGen {
        ArrivalGen::External
    }
}
