//! Scenario files: schema, parsing, validation, and errors that point at a line.
//!
//! A scenario is parsed in two steps: serde turns the TOML into the raw schema
//! (`schema`; syntax, types and unknown keys), then [`validate`](Scenario::parse) checks
//! ranges and cross-field rules. Either step reports a [`ScenarioError`] located at the
//! file, line and key.

pub mod arrivals;
pub mod duration;
pub mod edit;
mod error;
pub mod faults;
mod locate;
mod schema;
pub mod trace;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

pub use arrivals::{Arrivals, ClosedLoop, Mmpp, PROCESSES};
pub use error::{ScenarioError, did_you_mean};
pub use faults::{
    ClientPolicy, FaultKind, FaultSpec, FaultTarget, FaultWindow, HealthCheck, OutlierDetection, RetryOn,
};
pub use locate::Locator;

use crate::strategy::{self, Params, ServerInfo};
use crate::workload::keys::{KEY_DISTRIBUTIONS, KeyPopularity, KeySpace};
use crate::workload::service::ServiceDist;
use schema::{RawKeys, RawScenario, RawServerGroup, RawService};

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
    /// Whether `warmup_requests` was given (otherwise it is `requests / 10`).
    pub warmup_explicit: bool,
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
    /// Weight ramp-up window after a server of the group comes back, s.
    pub slow_start: Option<f64>,
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

/// Service distributions accepted in `[service] distribution`.
pub const DISTRIBUTIONS: &[&str] =
    &["exponential", "deterministic", "uniform", "lognormal", "gamma", "weibull", "pareto", "hyperexponential"];

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: Some(path.to_path_buf()),
            ..ScenarioError::general(format!("cannot read the scenario: {e}"))
        })?;
        Scenario::parse(&text, Some(path))
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
                }
            }
            e
        };
        let raw: RawScenario = toml::from_str(text).map_err(|e| place(from_toml_error(&e, &locator)))?;
        let stem = file.and_then(|f| f.file_stem()).map(|s| s.to_string_lossy().into_owned());
        let dir = file.and_then(Path::parent).unwrap_or(Path::new(""));
        let mut sc = validate(raw, stem, dir).map_err(place)?;
        sc.file = file.map(Path::to_path_buf);
        sc.source = Some(text.to_string());
        Ok(sc)
    }

    /// Number of servers (S).
    pub fn server_count(&self) -> usize {
        self.servers.len()
    }

    /// Mean service demand at speed 1 of a request under `[service]`, or under the trace's
    /// service times where the trace gives them.
    pub fn mean_demand(&self) -> f64 {
        if let Arrivals::Trace(t) = &self.arrivals
            && let Some(s) = &t.service
        {
            let given = s.iter().filter(|x| !x.is_nan()).count() as f64;
            let sum: f64 = s.iter().filter(|x| !x.is_nan()).sum();
            return (sum + (s.len() as f64 - given) * self.service.mean()) / s.len() as f64;
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

    /// Total service capacity in requests per second: Σ workers / mean service time.
    pub fn capacity(&self) -> f64 {
        (0..self.servers.len()).map(|i| f64::from(self.servers[i].workers) / self.mean_service_of(i)).sum()
    }

    /// Mean arrival rate over the run, req/s. For a time-varying rate, the average over
    /// the time the `requests` arrivals are expected to take; for a trace, its rows over
    /// its span; for a closed loop, the most the clients can send (N / (think + service)),
    /// at most the capacity.
    pub fn arrival_rate(&self) -> f64 {
        let n = self.requests as f64;
        match &self.arrivals {
            Arrivals::Poisson { rate } | Arrivals::Deterministic { rate } => *rate,
            Arrivals::Varying(p) => n / p.horizon(n),
            Arrivals::Mmpp(m) => m.mean_rate(),
            Arrivals::Trace(t) => {
                let span = t.time_of(self.requests);
                if span > 0.0 { (n - 1.0).max(1.0) / span } else { f64::INFINITY }
            }
            Arrivals::Closed(c) => {
                let workers: f64 = self.servers.iter().map(|s| f64::from(s.workers)).sum();
                let service = workers / self.capacity();
                (f64::from(c.clients) / (c.mean_think() + service)).min(self.capacity())
            }
        }
    }

    /// The highest arrival rate during the run, req/s (the mean for a trace or a closed loop).
    pub fn peak_rate(&self) -> f64 {
        match &self.arrivals {
            Arrivals::Varying(p) => p.peak(self.expected_duration()),
            Arrivals::Mmpp(m) => m.rates[0].max(m.rates[1]),
            _ => self.arrival_rate(),
        }
    }

    /// How long the run is expected to last in simulated time (to the last arrival), s.
    pub fn expected_duration(&self) -> f64 {
        match &self.arrivals {
            Arrivals::Varying(p) => p.horizon(self.requests as f64),
            Arrivals::Trace(t) => t.time_of(self.requests),
            _ => self.requests as f64 / self.arrival_rate(),
        }
    }

    /// Offered load ρ = mean arrival rate / capacity; an open system is unstable at ρ ≥ 1.
    pub fn offered_load(&self) -> f64 {
        self.arrival_rate() / self.capacity()
    }

    /// Whether requests carry keys that repeat: `[keys]`, or a trace with a `key` column.
    pub fn has_keys(&self) -> bool {
        self.keys.is_some() || matches!(&self.arrivals, Arrivals::Trace(t) if t.keys.is_some())
    }

    /// Where request keys come from, in a few words (for `lbsim validate`).
    pub fn keys_summary(&self) -> String {
        match (&self.keys, &self.arrivals) {
            (Some(k), _) => k.describe(),
            (None, Arrivals::Trace(t)) if t.keys.is_some() => {
                format!("the trace's key column ({} distinct)", t.distinct_keys)
            }
            (None, _) => "one per request (no [keys] section)".to_string(),
        }
    }

    /// Whether the clients form a closed loop (which can never be overloaded).
    pub fn is_closed(&self) -> bool {
        matches!(self.arrivals, Arrivals::Closed(_))
    }

    /// Sets the number of requests (the `--requests` option). A default warm-up follows it
    /// (`requests / 10`); an explicit one is kept while it fits, otherwise it is scaled to
    /// the same fraction of the new request count.
    pub fn set_requests(&mut self, requests: u64) -> Result<(), ScenarioError> {
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

    /// A warning when hash-based strategies are listed but the scenario has no `[keys]`.
    pub fn keyless_warning(&self) -> Option<String> {
        if self.has_keys() {
            return None;
        }
        let keyed: Vec<&str> = self
            .strategies
            .iter()
            .filter(|s| strategy::lookup(s.name).is_some_and(|i| i.keyed))
            .map(|s| s.label.as_str())
            .collect();
        (!keyed.is_empty()).then(|| {
            format!(
                "{} route by request key, but the scenario has no [keys] section: every request has a key of its \
                 own, so they spread requests like random routing (add e.g. [keys] count = 100000, distribution = \
                 \"zipf\", exponent = 1.1)",
                keyed.join(", ")
            )
        })
    }

    /// Replaces the strategy list with `names` (the `--strategies` option), validating each.
    pub fn set_strategies(&mut self, names: &[String]) -> Result<(), ScenarioError> {
        let values: Vec<toml::Value> = names.iter().map(|n| toml::Value::String(n.clone())).collect();
        self.strategies = parse_strategies(&values, &self.servers, "--strategies")?;
        Ok(())
    }
}

/// Turns a serde/TOML error into a located error, with a suggestion for unknown keys.
fn from_toml_error(e: &toml::de::Error, locator: &Locator) -> ScenarioError {
    let msg = e.message().trim().to_string();
    let mut err = ScenarioError::general(msg.clone());
    if let Some(span) = e.span() {
        let (l, c) = locator.line_col(span.start);
        err.line = Some(l);
        err.column = Some(c);
        err.key = locator.path_at(span.start).map(str::to_string);
    }
    // "unknown field `raet`, expected `process` or `rate`"
    if let Some((given, expected)) = msg.strip_prefix("unknown field `").and_then(|r| r.split_once('`')) {
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        err.message = format!("unknown key `{given}`; allowed here: {}", allowed.join(", "));
        err = err.suggest(given, allowed.iter().copied());
    }
    if msg.starts_with("missing field") {
        err.message = msg.replace("missing field", "missing required key");
    }
    for (rust, human) in [
        ("expected f64", "expected a number"),
        ("expected u64", "expected a whole number ≥ 0"),
        ("expected u32", "expected a whole number ≥ 0"),
        ("expected a sequence", "expected a list [ ... ]"),
        ("invalid type: ", "wrong type: "),
        ("invalid value: ", "wrong value: "),
    ] {
        err.message = err.message.replace(rust, human);
    }
    err
}

fn positive(key: &str, x: f64, what: &str) -> Result<f64, ScenarioError> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(ScenarioError::at(key, format!("must be a positive number ({what}), got {x}")))
    }
}

fn validate(raw: RawScenario, stem: Option<String>, dir: &Path) -> Result<Scenario, ScenarioError> {
    let arrivals = arrivals::validate(&raw.arrivals, dir)?;
    let requests = match (raw.requests, &arrivals) {
        (Some(r), Arrivals::Trace(t)) if r > t.len() as u64 => {
            return Err(ScenarioError::at(
                "requests",
                format!("the trace has only {} rows; leave `requests` out to replay them all", t.len()),
            ));
        }
        (Some(r), _) => r,
        (None, Arrivals::Trace(t)) => t.len() as u64,
        (None, _) => return Err(ScenarioError::general("missing required key `requests`")),
    };
    if requests == 0 {
        return Err(ScenarioError::at("requests", "must be at least 1"));
    }
    let warmup = raw.warmup_requests.unwrap_or(requests / 10);
    if warmup >= requests {
        return Err(ScenarioError::at(
            "warmup_requests",
            format!("must be smaller than requests ({requests}), got {warmup}"),
        ));
    }
    let replications = raw.replications.unwrap_or(1);
    if replications == 0 {
        return Err(ScenarioError::at("replications", "must be at least 1"));
    }
    let service = validate_service(&raw.service, "service")?;
    let keys = raw.keys.as_ref().map(validate_keys).transpose()?;
    if let (Some(_), Arrivals::Trace(t)) = (&keys, &arrivals)
        && t.keys.is_some()
    {
        return Err(ScenarioError::at(
            "keys",
            "the trace's `key` column already gives every request its key; remove [keys] (or the column)",
        ));
    }
    let (servers, groups) = validate_servers(&raw.servers)?;
    if raw.strategies.is_empty() {
        return Err(ScenarioError::at("strategies", "list at least one strategy")
            .with_help(format!("known strategies: {}", strategy::names().collect::<Vec<_>>().join(", "))));
    }
    let strategies = parse_strategies(&raw.strategies, &servers, "strategies")?;
    let name = raw.name.or(stem).unwrap_or_else(|| "scenario".to_string());
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err(ScenarioError::at("name", "must be non-empty and contain no path separator"));
    }
    let faults = faults::validate_faults(&raw.faults, &servers, &groups)?;
    let health_check = raw.health_check.as_ref().map(faults::validate_health).transpose()?;
    let outlier_detection = raw.outlier_detection.as_ref().map(faults::validate_outlier).transpose()?;
    let client = raw.client.as_ref().map(faults::validate_client).transpose()?;
    Ok(Scenario {
        name,
        file: None,
        source: None,
        seed: raw.seed.unwrap_or(1),
        requests,
        warmup,
        warmup_explicit: raw.warmup_requests.is_some(),
        replications,
        strategies,
        arrivals,
        service,
        keys,
        servers,
        groups,
        faults,
        health_check,
        outlier_detection,
        client,
    })
}

fn validate_keys(k: &RawKeys) -> Result<KeySpace, ScenarioError> {
    let dist = k.distribution.as_deref().unwrap_or("uniform");
    let popularity = match dist {
        "uniform" => {
            if k.exponent.is_some() {
                return Err(ScenarioError::at(
                    "keys.exponent",
                    "`exponent` applies only to distribution = \"zipf\" (uniform keys have none)",
                ));
            }
            KeyPopularity::Uniform
        }
        "zipf" => KeyPopularity::Zipf { exponent: k.exponent.unwrap_or(1.0) },
        other => {
            return Err(ScenarioError::at(
                "keys.distribution",
                format!("unknown key distribution `{other}`; allowed: {}", KEY_DISTRIBUTIONS.join(", ")),
            )
            .suggest(other, KEY_DISTRIBUTIONS.iter().copied()));
        }
    };
    let space = KeySpace { count: k.count, popularity };
    space.validate().map_err(|(key, msg)| ScenarioError::at(format!("keys.{key}"), msg))?;
    Ok(space)
}

/// Validates a distribution table; `prefix` is its key path (`service`,
/// `servers[1].service`, `arrivals.think_time`).
pub(crate) fn validate_service(s: &RawService, prefix: &str) -> Result<ServiceDist, ScenarioError> {
    let d = s.distribution.as_str();
    let given: [(&str, bool); 5] = [
        ("mean", s.mean.is_some()),
        ("cv", s.cv.is_some()),
        ("min", s.min.is_some()),
        ("max", s.max.is_some()),
        ("alpha", s.alpha.is_some()),
    ];
    let takes: &[&str] = match d {
        "exponential" | "deterministic" => &["mean"],
        "uniform" => &["min", "max"],
        "lognormal" | "gamma" | "weibull" | "hyperexponential" => &["mean", "cv"],
        "pareto" => &["mean", "alpha"],
        other => {
            return Err(ScenarioError::at(
                format!("{prefix}.distribution"),
                format!("unknown distribution `{other}`; allowed: {}", DISTRIBUTIONS.join(", ")),
            )
            .suggest(other, DISTRIBUTIONS.iter().copied()));
        }
    };
    for (key, present) in given {
        if present && !takes.contains(&key) {
            let why = match (d, key) {
                ("exponential", "cv") => {
                    " (the exponential's cv is always 1; use gamma, lognormal, weibull or hyperexponential for another cv)"
                }
                ("deterministic", "cv") => " (a deterministic time has cv 0)",
                _ => "",
            };
            return Err(ScenarioError::at(
                format!("{prefix}.{key}"),
                format!("`{key}` does not apply to the {d} distribution{why}; it takes: {}", takes.join(", ")),
            ));
        }
        if !present && takes.contains(&key) {
            return Err(ScenarioError::at(
                prefix,
                format!("the {d} distribution needs `{key}` (it takes: {})", takes.join(", ")),
            ));
        }
    }
    let mean = s.mean.map(|m| m.secs()).unwrap_or(0.0);
    if takes.contains(&"mean") && mean <= 0.0 {
        return Err(ScenarioError::at(format!("{prefix}.mean"), "must be a positive duration, e.g. \"10ms\""));
    }
    let cv = s.cv.unwrap_or(f64::NAN);
    let dist = match d {
        "exponential" => ServiceDist::Exponential { mean },
        "deterministic" => ServiceDist::Deterministic { value: mean },
        "uniform" => ServiceDist::Uniform { min: s.min.unwrap().secs(), max: s.max.unwrap().secs() },
        "lognormal" => ServiceDist::LogNormal { mean, cv },
        "gamma" => ServiceDist::Gamma { mean, cv },
        "weibull" => ServiceDist::Weibull { mean, cv },
        "hyperexponential" => ServiceDist::HyperExponential { mean, cv },
        "pareto" => ServiceDist::Pareto { mean, alpha: s.alpha.unwrap() },
        _ => unreachable!("checked above"),
    };
    dist.validate().map_err(|m| {
        let key = match d {
            "uniform" => "max",
            "pareto" => "alpha",
            _ if s.cv.is_some() && !(cv.is_finite() && cv > 0.0) || m.contains("cv") => "cv",
            _ => "mean",
        };
        ScenarioError::at(format!("{prefix}.{key}"), m)
    })?;
    Ok(dist)
}

fn validate_servers(groups: &[RawServerGroup]) -> Result<(Vec<ServerInfo>, Vec<Group>), ScenarioError> {
    if groups.is_empty() {
        return Err(ScenarioError::at("servers", "define at least one [[servers]] group"));
    }
    let mut servers = Vec::new();
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (gi, g) in groups.iter().enumerate() {
        let key = |k: &str| format!("servers[{gi}].{k}");
        if g.name.trim().is_empty() {
            return Err(ScenarioError::at(key("name"), "must not be empty"));
        }
        let count = g.count.unwrap_or(1);
        if count == 0 {
            return Err(ScenarioError::at(key("count"), "must be at least 1"));
        }
        if servers.len() + count as usize > MAX_SERVERS {
            return Err(ScenarioError::at(key("count"), format!("at most {MAX_SERVERS} servers in all")));
        }
        let speed = positive(&key("speed"), g.speed.unwrap_or(1.0), "1.0 = nominal speed")?;
        let workers = g.workers.unwrap_or(1);
        if workers == 0 {
            return Err(ScenarioError::at(key("workers"), "must be at least 1"));
        }
        let weight = g.weight.unwrap_or(1);
        if weight == 0 || weight > 1_000_000 {
            return Err(ScenarioError::at(key("weight"), format!("must be from 1 to 1000000, got {weight}")));
        }
        let max_connections = match g.max_connections {
            Some(0) => {
                return Err(ScenarioError::at(
                    key("max_connections"),
                    "must be at least 1 (leave it out for no limit)",
                ));
            }
            m => m,
        };
        let service = g.service.as_ref().map(|s| validate_service(s, &key("service"))).transpose()?;
        let slow_start = match g.slow_start {
            Some(d) if d.secs() <= 0.0 => {
                return Err(ScenarioError::at(key("slow_start"), "must be a positive duration, e.g. \"30s\""));
            }
            d => d.map(|d| d.secs()),
        };
        let first = servers.len();
        for i in 0..count {
            let name = if count == 1 { g.name.clone() } else { format!("{}-{}", g.name, i + 1) };
            if !names.insert(name.clone()) {
                return Err(ScenarioError::at(key("name"), format!("server name `{name}` is used twice")));
            }
            servers.push(ServerInfo {
                name,
                speed,
                workers,
                queue_capacity: g.queue_capacity.unwrap_or(0),
                weight,
                max_connections,
            });
        }
        out.push(Group { name: g.name.clone(), first, count: count as usize, service, slow_start });
    }
    Ok((servers, out))
}

/// Parses the `strategies` list: names, or inline tables with `name` and parameters.
fn parse_strategies(
    values: &[toml::Value],
    servers: &[ServerInfo],
    key: &str,
) -> Result<Vec<StrategySpec>, ScenarioError> {
    let mut out: Vec<StrategySpec> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let at = format!("{key}[{i}]");
        let (name, params) = match v {
            toml::Value::String(s) => (s.clone(), BTreeMap::new()),
            toml::Value::Table(t) => {
                let Some(name) = t.get("name").and_then(|n| n.as_str()) else {
                    return Err(ScenarioError::at(at, "an inline strategy table needs `name = \"...\"`"));
                };
                let params = t.iter().filter(|(k, _)| *k != "name").map(|(k, v)| (k.clone(), v.clone())).collect();
                (name.to_string(), params)
            }
            other => {
                return Err(ScenarioError::at(
                    at,
                    format!(
                        "a strategy is a name or an inline table like {{ name = \"p2c\", choices = 3 }}, got {other}"
                    ),
                ));
            }
        };
        let Some(info) = strategy::lookup(&name) else {
            let known: Vec<&str> = strategy::names().collect();
            return Err(ScenarioError::at(
                if params.is_empty() { at } else { format!("{at}.name") },
                format!("unknown strategy `{name}`; run `lbsim strategies` for the list"),
            )
            .suggest(&name, known.iter().copied()));
        };
        for p in params.keys() {
            if !info.params.iter().any(|pi| pi.name == p) {
                let allowed: Vec<&str> = info.params.iter().map(|pi| pi.name).collect();
                let what = if allowed.is_empty() {
                    "it takes no parameters".to_string()
                } else {
                    format!("it takes: {}", allowed.join(", "))
                };
                return Err(ScenarioError::at(format!("{at}.{p}"), format!("`{name}` has no parameter `{p}`; {what}"))
                    .suggest(p, allowed.iter().copied()));
            }
        }
        let params = Params::new(params);
        (info.build)(&params, servers).map_err(|e| {
            ScenarioError::at(format!("{at}.{}", e.param), format!("{name}: `{}` {}", e.param, e.message))
        })?;
        let label = if params.is_empty() {
            info.name.to_string()
        } else {
            let ps: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{}({})", info.name, ps.join(";"))
        };
        if out.iter().any(|s| s.label == label) {
            return Err(ScenarioError::at(at, format!("strategy `{label}` is listed twice")));
        }
        out.push(StrategySpec { name: info.name, label, params });
    }
    Ok(out)
}
