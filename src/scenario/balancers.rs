//! `[balancers]` (how many balancer instances, how requests reach them, what load each
//! one sees) and `[network]` (transit times between balancer and servers), and their
//! validation.

use rand::Rng;
use serde::Serialize;

use super::ScenarioError;
use super::schema::{RawBalancers, RawNetwork, RawService};
use super::subset::{Subsetting, validate_subset};
use crate::duration::{format_duration, parse_duration};
use crate::workload::assign::{ASSIGN, Assign};
use crate::workload::service::{Deterministic, ServiceDist};

/// The most balancer instances a scenario may run.
pub const MAX_BALANCERS: u32 = 10_000;

/// Bound on instances × servers: each instance keeps per-server state (its strategy's, and
/// its own view of the counts).
pub const MAX_INSTANCE_SERVERS: u64 = 20_000_000;

/// What load a balancer instance's strategy reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum View {
    /// The true global state: every instance's requests not yet answered, current (one
    /// nginx with `zone`, one HAProxy process). The default.
    Shared,
    /// Only the requests this instance sent that are still outstanding (client-side
    /// balancers and sidecars, nginx workers without `zone`).
    Local,
    /// A global snapshot refreshed every `interval` (a bulletin board fed by polled
    /// metrics; Mitzenmacher 2000).
    Periodic {
        /// Time between refreshes, s (> 0).
        interval: f64,
        /// Whether the instance adds its own sends since the snapshot.
        count_own: bool,
    },
    /// The global state as it was `delay` ago.
    Delayed {
        /// How old the state is, s (≥ 0).
        delay: f64,
    },
}

/// The accepted values of `view`.
pub const VIEWS: &[&str] = &["shared", "local", "periodic", "delayed"];

impl View {
    /// The value as written in a scenario (`periodic+own` for a periodic view with
    /// `count_own`).
    pub fn name(self) -> &'static str {
        match self {
            View::Shared => "shared",
            View::Local => "local",
            View::Periodic { count_own: false, .. } => "periodic",
            View::Periodic { count_own: true, .. } => "periodic+own",
            View::Delayed { .. } => "delayed",
        }
    }

    /// The refresh interval of a periodic view, s.
    pub fn interval(self) -> Option<f64> {
        match self {
            View::Periodic { interval, .. } => Some(interval),
            _ => None,
        }
    }

    /// The delay of a delayed view, s.
    pub fn delay(self) -> Option<f64> {
        match self {
            View::Delayed { delay } => Some(delay),
            _ => None,
        }
    }
}

/// `[balancers]`: the balancer instances.
#[derive(Debug, Clone, PartialEq)]
pub struct Balancers {
    /// Independent instances, each with its own strategy state (≥ 1).
    pub count: u32,
    /// How requests reach them.
    pub assign: Assign,
    /// Each instance's share of the requests (summing to 1), when unequal (`shares`).
    pub shares: Option<Vec<f64>>,
    /// What load their strategies read.
    pub view: View,
    /// Which servers each instance may use (`None`: all of them).
    pub subset: Option<Subsetting>,
}

impl Default for Balancers {
    /// One balancer with the shared view: lbsim without `[balancers]`.
    fn default() -> Self {
        Balancers { count: 1, assign: Assign::Random, shares: None, view: View::Shared, subset: None }
    }
}

impl Balancers {
    /// Whether this is the default single balancer reading the current global state.
    pub fn is_default(&self) -> bool {
        self.count == 1 && self.view == View::Shared && self.subset.is_none()
    }

    /// The setup in a few words, e.g. `2 instances (runs of 13 requests), local view`.
    pub fn describe(&self) -> String {
        let instances = if self.count == 1 {
            "1 instance".to_string()
        } else {
            let mut how = match self.assign {
                Assign::Random => "each request to a random one".to_string(),
                Assign::RoundRobin => "requests in turn".to_string(),
                Assign::Runs { mean } => format!("runs of {mean} requests on average"),
            };
            if let Some(shares) = &self.shares {
                let pct: Vec<String> = shares.iter().map(|s| format!("{:.3}", s * 100.0)).collect();
                how.push_str(&format!(", drawn by shares {}%", trim_shares(&pct).join(" / ")));
            }
            format!("{} instances ({how})", self.count)
        };
        let view = match self.view {
            View::Shared => "shared view (the current global counts)".to_string(),
            View::Local => "local view (each instance's own outstanding requests)".to_string(),
            View::Periodic { interval, count_own } => format!(
                "periodic view (a snapshot every {}{})",
                format_duration(interval),
                if count_own { ", plus the instance's own sends since" } else { "" }
            ),
            View::Delayed { delay } => format!("delayed view (the counts as they were {} ago)", format_duration(delay)),
        };
        match &self.subset {
            Some(sub) => format!("{instances}, {view}, {}", sub.describe()),
            None => format!("{instances}, {view}"),
        }
    }
}

impl Balancers {
    /// The setup in the fewest words, for chart subtitles (`12 balancers, local view`,
    /// `1 balancer, view a snapshot every 5s`); `None` for the default single balancer.
    pub fn brief(&self) -> Option<String> {
        if self.is_default() {
            return None;
        }
        let view = match self.view {
            View::Shared => "shared view".to_string(),
            View::Local => "local view (own requests only)".to_string(),
            View::Periodic { interval, .. } => format!("view a snapshot every {}", format_duration(interval)),
            View::Delayed { delay } => format!("view {} old", format_duration(delay)),
        };
        let n = self.count;
        let subset = self.subset.as_ref().map_or(String::new(), |s| format!(", {}", s.describe()));
        Some(format!("{n} balancer{}, {view}{subset}", if n == 1 { "" } else { "s" }))
    }
}

impl Serialize for Balancers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("count", &self.count)?;
        m.serialize_entry("assign", self.assign.name())?;
        if let Assign::Runs { mean } = self.assign {
            m.serialize_entry("run_length", &mean)?;
        }
        if let Some(shares) = &self.shares {
            m.serialize_entry("shares", shares)?;
        }
        m.serialize_entry("view", self.view.name())?;
        if let Some(i) = self.view.interval() {
            m.serialize_entry("interval_s", &i)?;
        }
        if let Some(d) = self.view.delay() {
            m.serialize_entry("delay_s", &d)?;
        }
        if let Some(sub) = &self.subset {
            m.serialize_entry("subset", sub)?;
        }
        m.end()
    }
}

/// A transit time: a constant or a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Delay {
    /// Always this many seconds (> 0).
    Constant(f64),
    /// Drawn per attempt from this distribution.
    Random(ServiceDist),
}

impl Delay {
    /// Mean transit time, s.
    pub fn mean(&self) -> f64 {
        match self {
            Delay::Constant(x) => *x,
            Delay::Random(d) => d.mean(),
        }
    }

    /// One transit time, s (a constant draws nothing from `rng`).
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Delay::Constant(x) => *x,
            Delay::Random(d) => d.sample(rng),
        }
    }

    /// The delay in a few words.
    pub fn describe(&self) -> String {
        match self {
            Delay::Constant(x) => format_duration(*x),
            Delay::Random(d) => format!("{} mean {}, cv {:.3}", d.name(), format_duration(d.mean()), d.cv()),
        }
    }
}

/// `[network]`: transit times between the balancer and the servers.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Network {
    /// From the balancer's decision to the request reaching the server (`None`: none).
    pub to_server: Option<Delay>,
    /// From the server's reply to it reaching the balancer (`None`: none).
    pub from_server: Option<Delay>,
}

impl Network {
    /// Whether either leg takes time.
    pub fn is_some(&self) -> bool {
        self.to_server.is_some() || self.from_server.is_some()
    }
}

/// Validates `[balancers]`; `servers` is the pool size (for the memory bound).
pub(super) fn validate_balancers(b: &RawBalancers, servers: usize) -> Result<Balancers, ScenarioError> {
    let count = b.count.unwrap_or(1);
    if count == 0 || count > MAX_BALANCERS {
        return Err(ScenarioError::at(
            "balancers.count",
            format!("must be from 1 to {MAX_BALANCERS} balancer instances, got {count}"),
        ));
    }
    if u64::from(count) * servers as u64 > MAX_INSTANCE_SERVERS {
        return Err(ScenarioError::at(
            "balancers.count",
            format!(
                "{count} instances × {servers} servers is more than {MAX_INSTANCE_SERVERS}: every instance keeps \
                 per-server state; use fewer instances"
            ),
        ));
    }
    let assign = match b.assign.as_deref().unwrap_or("random") {
        "random" => Assign::Random,
        "round-robin" => Assign::RoundRobin,
        "runs" => {
            let Some(mean) = b.run_length else {
                return Err(ScenarioError::at(
                    "balancers",
                    "assign = \"runs\" needs `run_length`, the mean number of consecutive requests an instance \
                     takes (nginx workers: about 13)",
                ));
            };
            if !(mean.is_finite() && mean >= 1.0) {
                return Err(ScenarioError::at("balancers.run_length", format!("must be a number ≥ 1, got {mean}")));
            }
            Assign::Runs { mean }
        }
        other => {
            return Err(ScenarioError::at(
                "balancers.assign",
                format!("unknown assignment `{other}`; allowed: {}", ASSIGN.join(", ")),
            )
            .suggest(other, ASSIGN.iter().copied()));
        }
    };
    if b.run_length.is_some() && !matches!(assign, Assign::Runs { .. }) {
        return Err(ScenarioError::at("balancers.run_length", "`run_length` applies only to assign = \"runs\""));
    }
    let shares = b.shares.as_deref().map(|s| validate_shares(s, count, assign)).transpose()?;
    let name = b.view.as_deref().unwrap_or("shared");
    let only = |key: &str, view: &str| {
        ScenarioError::at(format!("balancers.{key}"), format!("`{key}` applies only to view = \"{view}\""))
    };
    if b.interval.is_some() && name != "periodic" {
        return Err(only("interval", "periodic"));
    }
    if b.count_own.is_some() && name != "periodic" {
        return Err(only("count_own", "periodic"));
    }
    if b.delay.is_some() && name != "delayed" {
        return Err(only("delay", "delayed"));
    }
    let view = match name {
        "shared" => View::Shared,
        "local" => View::Local,
        "periodic" => {
            let Some(interval) = b.interval else {
                return Err(ScenarioError::at(
                    "balancers",
                    "view = \"periodic\" needs `interval`, the time between two refreshes of the snapshot, e.g. \
                     \"100ms\"",
                ));
            };
            if interval.secs() <= 0.0 {
                return Err(ScenarioError::at("balancers.interval", "must be a positive duration, e.g. \"100ms\""));
            }
            View::Periodic { interval: interval.secs(), count_own: b.count_own.unwrap_or(false) }
        }
        "delayed" => {
            let Some(delay) = b.delay else {
                return Err(ScenarioError::at(
                    "balancers",
                    "view = \"delayed\" needs `delay`, how old the counts are, e.g. \"5ms\"",
                ));
            };
            View::Delayed { delay: delay.secs() }
        }
        other => {
            return Err(ScenarioError::at(
                "balancers.view",
                format!("unknown view `{other}`; allowed: {}", VIEWS.join(", ")),
            )
            .suggest(other, VIEWS.iter().copied()));
        }
    };
    let subset = b.subset.as_ref().map(|s| validate_subset(s, servers)).transpose()?;
    Ok(Balancers { count, assign, shares, view, subset })
}

/// `shares`: one non-negative number per instance, not all 0, scaled to sum to 1
/// (`[47, 45, 5, 3]` and `[0.47, 0.45, 0.05, 0.03]` are the same).
fn validate_shares(shares: &[f64], count: u32, assign: Assign) -> Result<Vec<f64>, ScenarioError> {
    if matches!(assign, Assign::RoundRobin) {
        return Err(ScenarioError::at(
            "balancers.shares",
            "`shares` applies to assign = \"random\" (each request drawn by shares) or \"runs\" (each run drawn by \
             shares), not to \"round-robin\" (equal turns)",
        ));
    }
    if shares.len() != count as usize {
        return Err(ScenarioError::at(
            "balancers.shares",
            format!("needs one share per instance: count = {count}, got {} shares", shares.len()),
        ));
    }
    if let Some(bad) = shares.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
        return Err(ScenarioError::at("balancers.shares", format!("each share must be a number ≥ 0, got {bad}")));
    }
    let total: f64 = shares.iter().sum();
    if total <= 0.0 {
        return Err(ScenarioError::at("balancers.shares", "at least one share must be positive"));
    }
    Ok(shares.iter().map(|s| s / total).collect())
}

/// Percentages written without trailing zeros (`47.000` → `47`, `4.500` → `4.5`).
fn trim_shares(pct: &[String]) -> Vec<String> {
    pct.iter().map(|p| p.trim_end_matches('0').trim_end_matches('.').to_string()).collect()
}

/// Validates `[network]`.
pub(super) fn validate_network(n: &RawNetwork) -> Result<Network, ScenarioError> {
    Ok(Network {
        to_server: n.to_server.as_ref().map(|v| delay(v, "network.to_server")).transpose()?.flatten(),
        from_server: n.from_server.as_ref().map(|v| delay(v, "network.from_server")).transpose()?.flatten(),
    })
}

/// A duration (a constant; `"0ms"`: none) or a distribution table like `[service]`'s.
pub(super) fn delay(v: &toml::Value, key: &str) -> Result<Option<Delay>, ScenarioError> {
    match v {
        toml::Value::String(s) => {
            let secs = parse_duration(s).map_err(|m| ScenarioError::at(key, m))?;
            if secs == 0.0 {
                return Ok(None);
            }
            Deterministic::new(secs).map_err(|e| ScenarioError::at(key, e.message))?;
            Ok(Some(Delay::Constant(secs)))
        }
        toml::Value::Table(_) => {
            let raw: RawService = v.clone().try_into().map_err(|e: toml::de::Error| {
                ScenarioError::at(key, format!("{} (it takes the keys of [service])", e.message()))
            })?;
            Ok(Some(Delay::Random(super::validate::validate_service(&raw, key)?)))
        }
        other => Err(ScenarioError::at(
            key,
            format!(
                "must be a duration like \"1ms\" (a constant) or a table like {{ distribution = \"exponential\", \
                 mean = \"1ms\" }}, got {other}"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;

    const BASE: &str = "requests = 1000\nstrategies = [\"p2c\"]\n[arrivals]\nprocess = \"poisson\"\nrate = 100.0\n\
                        [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"s\"\n\
                        count = 4\n";

    fn parse(extra: &str) -> Result<Scenario, crate::scenario::ScenarioError> {
        Scenario::parse(&format!("{BASE}{extra}"), None)
    }

    #[test]
    fn defaults_and_every_view() {
        let sc = parse("").unwrap();
        assert!(sc.balancers.is_default() && !sc.network.is_some());
        let sc = parse("[balancers]\ncount = 2\nassign = \"runs\"\nrun_length = 13.0\nview = \"local\"\n").unwrap();
        assert_eq!(
            sc.balancers.describe(),
            "2 instances (runs of 13 requests on average), local view (each instance's own outstanding requests)"
        );
        let sc = parse("[balancers]\nview = \"periodic\"\ninterval = \"100ms\"\ncount_own = true\n").unwrap();
        assert_eq!(sc.balancers.view, super::View::Periodic { interval: 0.1, count_own: true });
        let sc = parse("[balancers]\nview = \"delayed\"\ndelay = \"0s\"\n").unwrap();
        assert_eq!(sc.balancers.view, super::View::Delayed { delay: 0.0 });
        let sc = parse(
            "[network]\nto_server = \"1.7ms\"\nfrom_server = { distribution = \"exponential\", mean = \"1ms\" }\n",
        )
        .unwrap();
        assert_eq!(sc.network.to_server, Some(super::Delay::Constant(0.0017)));
        assert!((sc.network.from_server.unwrap().mean() - 0.001).abs() < 1e-15);
        assert_eq!(parse("[network]\nto_server = \"0ms\"\n").unwrap().network.to_server, None);
        let sc =
            parse("[balancers]\ncount = 4\nassign = \"runs\"\nrun_length = 1.2\nshares = [47, 45, 5, 3]\n").unwrap();
        assert_eq!(sc.balancers.shares, Some(vec![0.47, 0.45, 0.05, 0.03]));
        assert!(sc.balancers.describe().contains("drawn by shares 47 / 45 / 5 / 3%"), "{}", sc.balancers.describe());
    }

    #[test]
    fn mistakes_are_located_and_explained() {
        for (extra, key, words) in [
            ("[balancers]\ncount = 0\n", "balancers.count", "from 1 to"),
            ("[balancers]\nassign = \"runs\"\n", "balancers", "needs `run_length`"),
            ("[balancers]\nrun_length = 3.0\n", "balancers.run_length", "only to assign = \"runs\""),
            ("[balancers]\nview = \"periodical\"\n", "balancers.view", "unknown view"),
            ("[balancers]\nview = \"periodic\"\n", "balancers", "needs `interval`"),
            ("[balancers]\ninterval = \"1s\"\n", "balancers.interval", "only to view = \"periodic\""),
            ("[balancers]\nview = \"periodic\"\ninterval = \"0s\"\n", "balancers.interval", "positive"),
            ("[balancers]\nview = \"local\"\ncount_own = true\n", "balancers.count_own", "only to view"),
            ("[balancers]\nview = \"delayed\"\n", "balancers", "needs `delay`"),
            ("[balancers]\ncount = 2\nshares = [1.0]\n", "balancers.shares", "one share per instance"),
            ("[balancers]\ncount = 2\nshares = [1.0, -1.0]\n", "balancers.shares", "≥ 0"),
            ("[balancers]\ncount = 2\nshares = [0, 0]\n", "balancers.shares", "positive"),
            ("[balancers]\ncount = 2\nassign = \"round-robin\"\nshares = [1, 2]\n", "balancers.shares", "not to"),
            (
                "[balancers]\ncount = 10000\n[[servers]]\nname = \"big\"\ncount = 5000\n",
                "balancers.count",
                "per-server",
            ),
            ("[network]\nto_server = 5\n", "network.to_server", "must be a duration"),
            ("[network]\nfrom_server = \"1 parsec\"\n", "network.from_server", "unknown unit"),
        ] {
            let e = parse(extra).unwrap_err();
            assert_eq!(e.key.as_deref(), Some(key), "{extra}: {e}");
            assert!(e.message.contains(words), "{extra}: {e}");
            assert!(e.line.is_some(), "{extra}: {e}");
        }
        let jiq = BASE.replace("\"p2c\"", "{ name = \"join-idle-queue\", dispatchers = 4 }");
        let e = Scenario::parse(&format!("{jiq}[balancers]\ncount = 4\n"), None).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("strategies[0].dispatchers"), "{e}");
        assert!(e.message.contains("the dispatchers are the balancer instances"), "{e}");
        assert!(Scenario::parse(&format!("{jiq}[balancers]\ncount = 1\n"), None).is_ok());
        let e = parse("[balancers]\nview = \"periodical\"\n").unwrap_err();
        assert!(e.help.as_deref().unwrap_or("").contains("periodic"), "{e:?}");
    }
}
