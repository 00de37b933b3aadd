//! Scenario files: schema, parsing, validation, and errors that point at a line.
//!
//! A scenario is parsed in two steps: serde turns the TOML into the raw schema (`schema`;
//! syntax, types and unknown keys), then validation (`validate`, with [`arrivals`],
//! [`faults`] and [`policies`] for their sections) checks ranges and cross-field rules and
//! builds the [`Scenario`]: the validated types of this module and of [`crate::workload`].
//! Either step reports a [`ScenarioError`] located at the file, line and key ([`Locator`]).
//!
//! A parsed scenario changes only through [`Overrides`] (the options shared by `run`, `sweep`
//! and `plan`); keys of the file are set in its text ([`edit`]) and parsed again.

pub mod arrivals;
pub mod autoscaler;
pub mod balancers;
pub mod clients;
pub mod cold_start;
pub mod edit;
mod error;
pub mod faults;
pub mod limits;
mod locate;
pub mod name;
mod overrides;
pub mod policies;
pub mod precision;
mod read;
mod schema;
mod serialize;
pub mod slo;
pub mod slow_start;
pub mod subset;
pub mod trace;
mod validate;

use std::path::{Path, PathBuf};

pub use arrivals::{Arrivals, PROCESSES};
pub use balancers::{Balancers, Delay, Network, View};
pub use clients::{Balance, ClientRates, Clients, Protocol};
pub use error::ScenarioError;
pub use faults::{FaultKind, FaultSpec, FaultTarget, FaultWindow, Size};
pub use locate::Locator;
pub use overrides::Overrides;
pub use policies::{BalancerQueue, ClientPolicy, HealthCheck, Hedge, HedgeAfter, OutlierDetection, RetryOn};
pub use precision::Precision;
pub use read::{MAX_SCENARIO_BYTES, read_capped, text_from_bytes};
pub use schema::ValueKind;
pub use subset::{SubsetKind, Subsetting};

use crate::strategy::{self, Params, ServerInfo};
use crate::workload::Workload;
use crate::workload::keys::KeySpace;
use crate::workload::service::ServiceDist;
use schema::RawScenario;
use validate::{from_toml_error, validate};

/// The largest pool lbsim accepts (a guard against typos such as `count = 1000000000`).
pub const MAX_SERVERS: usize = 1_000_000;

/// A validated scenario: everything a run needs.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Scenario name (the file stem unless `name` is given).
    pub name: String,
    /// The file it came from, if any.
    pub file: Option<PathBuf>,
    /// The scenario text as parsed (hashed and kept in the run manifest).
    pub source: Option<String>,
    /// Base seed; every stream is derived from it.
    pub seed: u64,
    /// Requests generated per replication (R).
    pub requests: u64,
    /// The first `warmup` requests are excluded from statistics.
    pub warmup: u64,
    /// Whether `warmup_requests` was given. Otherwise (`warmup = "auto"`) it is
    /// `requests / 10`, and a run of a stationary workload ([`Scenario::is_stationary`])
    /// measures after the transient MSER-5 finds when that is longer (see `runner`).
    pub warmup_explicit: bool,
    /// `precision` / `--precision`: run until these figures are this precise (None: run
    /// `requests`).
    pub precision: Option<Precision>,
    /// Independent replications (different derived seeds).
    pub replications: u32,
    /// The strategies to compare, in order.
    pub strategies: Vec<StrategySpec>,
    /// The arrival process.
    pub arrivals: Arrivals,
    /// Service demand at speed 1.
    pub service: ServiceDist,
    /// The key space (`[keys]`); `None`: every request has a key of its own.
    pub keys: Option<KeySpace>,
    /// The servers, groups expanded.
    pub servers: Vec<ServerInfo>,
    /// The groups as written, with the range of server indices each expanded to.
    pub groups: Vec<Group>,
    /// `[[faults]]`: crashes and slowdowns.
    pub faults: Vec<FaultSpec>,
    /// `[health_check]`: active checks (none: a dead server is never detected by probes).
    pub health_check: Option<HealthCheck>,
    /// `[outlier_detection]`: passive ejection on consecutive errors.
    pub outlier_detection: Option<OutlierDetection>,
    /// `[client]`: per-attempt timeout and retries.
    pub client: Option<ClientPolicy>,
    /// `[balancers]`: balancer instances and what load they see (default: one, shared view).
    pub balancers: Balancers,
    /// `[network]`: transit times between balancer and servers (default: none).
    pub network: Network,
    /// `[autoscaler]` (with `[pods]`): a Kubernetes HPA sizing one group (default: none).
    pub autoscaler: Option<autoscaler::Autoscaler>,
    /// `[clients]`: clients and their connections (`None`: every request on its own).
    pub clients: Option<Clients>,
    /// `[balancer_queue]`: requests wait at the balancer for a server below its
    /// `max_connections` (default: none; `max_connections` is then read by `first` only).
    pub balancer_queue: Option<BalancerQueue>,
    /// The group whose servers hold pods (`[autoscaler]`, a rolling deploy), with `[pods]`.
    pub pod_group: Option<autoscaler::PodGroup>,
    /// `[slo]`: the objective each window of the run is judged on (default: none).
    pub slo: Option<slo::WindowSlo>,
}

/// A `[[servers]]` group after expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Index of its first server.
    pub first: usize,
    /// Number of servers.
    pub count: usize,
    /// Service-time distribution on these servers instead of `[service]`, if given.
    pub service: Option<ServiceDist>,
    /// Weight ramp after a server of the group becomes an endpoint again.
    pub slow_start: Option<slow_start::SlowStart>,
    /// Service-time slowdown of a server of the group that has just (re)started.
    pub cold_start: Option<cold_start::ColdStart>,
}

/// A strategy as listed in the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySpec {
    /// Registry name.
    pub name: &'static str,
    /// Label in reports: the name, with parameters when any are given (`p2c(choices=3)`).
    pub label: String,
    /// Parameters from the inline-table form.
    pub params: Params,
}

impl Scenario {
    /// Reads and validates a scenario file (at most [`MAX_SCENARIO_BYTES`] of UTF-8 text).
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::parse(&read::read_scenario(path)?, Some(path))
    }

    /// Parses and validates scenario text; `file` is used for error locations, the
    /// default name and as the base of relative paths (a trace file).
    pub fn parse(text: &str, file: Option<&Path>) -> Result<Scenario, ScenarioError> {
        let locator = Locator::new(text);
        let place = |mut e: ScenarioError| {
            // Errors that already name a file (a trace's bad row) keep their place.
            if e.file.is_none() {
                e.file = file.map(Path::to_path_buf);
                if let Some((l, c)) = e.key.as_deref().and_then(|k| locator.find(k)) {
                    e.line = Some(l);
                    e.column = Some(c);
                } else if e.line.is_none() && e.key.is_some() {
                    // A top-level key that is not in the file: where the top-level keys are.
                    let (l, c) = locator.top_level();
                    (e.line, e.column) = (Some(l), Some(c));
                }
            }
            e
        };
        let raw: RawScenario = toml::from_str(text).map_err(|e| place(from_toml_error(&e, &locator, text)))?;
        let stem = file.and_then(|f| f.file_stem()).map(|s| s.to_string_lossy().into_owned());
        let dir = file.and_then(Path::parent).unwrap_or(Path::new(""));
        let mut sc = validate(raw, stem, dir).map_err(place)?;
        sc.check_limits("requests").map_err(place)?;
        sc.file = file.map(Path::to_path_buf);
        sc.source = Some(text.to_string());
        Ok(sc)
    }

    /// What the request stream of a replication is generated from.
    pub fn workload(&self) -> Workload<'_> {
        Workload {
            seed: self.seed,
            requests: self.requests,
            arrivals: self.arrivals.generator(),
            trace: self.arrivals.trace(),
            service: &self.service,
            keys: self.keys.as_ref(),
        }
    }

    /// Number of servers (S).
    pub fn server_count(&self) -> usize {
        self.servers.len()
    }

    /// Mean service demand at speed 1 of a request under `[service]`, or under the trace's
    /// service times where the trace gives them.
    pub fn mean_demand(&self) -> f64 {
        if let Some(t) = self.arrivals.trace()
            && let Some(s) = &t.service
        {
            let (given, sum) = t.given_service;
            return (sum + (s.len() as f64 - given as f64) * self.service.mean()) / s.len() as f64;
        }
        self.service.mean()
    }

    /// The group server `i` belongs to.
    pub fn group_of(&self, i: usize) -> &Group {
        let g = self.groups.partition_point(|g| g.first <= i) - 1;
        &self.groups[g]
    }

    /// Mean service time of server `i` (its group's distribution if it has one), s.
    pub fn mean_service_of(&self, i: usize) -> f64 {
        self.group_of(i).service.as_ref().map_or_else(|| self.mean_demand(), ServiceDist::mean) / self.servers[i].speed
    }

    /// Service capacity of server `i` in requests per second: workers / mean service time
    /// (speed × workers / mean demand of its group's service).
    pub fn capacity_of(&self, i: usize) -> f64 {
        f64::from(self.servers[i].workers) / self.mean_service_of(i)
    }

    /// The servers of a deployed group kept as room for its deploys (their surge and the
    /// old pods' places while they terminate; not in the capacity): 0 without a deploy.
    pub fn deploy_room(&self) -> usize {
        self.pod_group.as_ref().map_or(0, |g| (g.places - g.counted) as usize)
    }

    /// Total service capacity in requests per second: Σ workers / mean service time (a
    /// deployed group's room for its deploys left out: [`PodGroup::counted`](autoscaler::PodGroup)).
    pub fn capacity(&self) -> f64 {
        let room = self.pod_group.as_ref().map_or(0..0, |g| {
            let first = self.groups[g.group].first;
            first + g.counted as usize..first + g.places as usize
        });
        (0..self.servers.len()).filter(|i| !room.contains(i)).map(|i| self.capacity_of(i)).sum()
    }

    /// Mean arrival rate over the run, req/s. For a time-varying rate, the average over
    /// the time the `requests` arrivals are expected to take; for a trace, its rows over
    /// its span; for a closed loop, the most the clients can send (N / (think + service)),
    /// at most the capacity.
    pub fn arrival_rate(&self) -> f64 {
        self.arrivals.mean_rate(self)
    }

    /// The highest arrival rate during the run, req/s (the mean for a trace or a closed loop).
    pub fn peak_rate(&self) -> f64 {
        self.arrivals.peak_rate(self).unwrap_or_else(|| self.arrival_rate())
    }

    /// How long the run is expected to last in simulated time (to the last arrival), s.
    pub fn expected_duration(&self) -> f64 {
        self.arrivals.horizon(self.requests).unwrap_or_else(|| self.requests as f64 / self.arrival_rate())
    }

    /// Offered load ρ = mean arrival rate / capacity; an open system is unstable at ρ ≥ 1.
    pub fn offered_load(&self) -> f64 {
        self.arrival_rate() / self.capacity()
    }

    /// Whether requests carry keys that repeat: `[keys]`, or a trace with a `key` column.
    pub fn has_keys(&self) -> bool {
        self.keys.is_some() || self.arrivals.trace().is_some_and(|t| t.keys.is_some())
    }

    /// Whether the workload is the same at every time of the run, so that the run has one
    /// steady state to reach: a stationary arrival process (not a trace replay), no fault
    /// windows, no autoscaler. What `warmup = "auto"` truncates for.
    pub fn is_stationary(&self) -> bool {
        self.arrivals.stationary()
            && self.arrivals.trace().is_none()
            && self.faults.is_empty()
            && self.autoscaler.is_none()
    }

    /// Whether the clients form a closed loop (which can never be overloaded).
    pub fn is_closed(&self) -> bool {
        self.arrivals.closed().is_some()
    }

    /// The labels of the hash-based strategies listed although requests carry no repeating
    /// keys (no `[keys]`, no trace key column): each then spreads requests like random routing.
    pub fn keyed_without_keys(&self) -> Vec<&str> {
        if self.has_keys() {
            return Vec::new();
        }
        self.strategies
            .iter()
            .filter(|s| strategy::lookup(s.name).is_some_and(|i| i.keyed))
            .map(|s| s.label.as_str())
            .collect()
    }
}
