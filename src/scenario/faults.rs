//! `[[faults]]`: crashes and gray failures of servers, and their validation.
//!
//! Each kind of fault is one type in a file of its own under `faults/` ([`Down`], [`Slow`],
//! [`Deploy`])
//! implementing `Written` (its keys, messages and construction) and [`Kind`] (its
//! [`Effect`] on the server and how reports name it). The `fault_kinds!` list declares
//! [`FaultKind`] over them and `FAULT_TYPES`: the keys of a `[[faults]]` table, which of
//! them go together, the messages that explain a mistake and how a fault is built are
//! derived from it. Adding a kind of fault is one file and one line in that list (and, for
//! an effect the engine does not know yet, an arm in the engine's `fault`).

mod deploy;
mod down;
mod slow;

use serde::Serialize;

use super::schema::RawFault;
use super::schema::Value;
use super::{Group, Scenario, ScenarioError};
use crate::strategy::ServerInfo;
use crate::workload::fault_targets::pick_servers;
use crate::workload::seeds::Seeds;

pub use deploy::{Deploy, Size};
pub use down::Down;
pub use slow::Slow;

/// What a fault does to its server, as the engine applies it: the few effects the engine
/// knows. A fault kind names one ([`Kind::effect`]); a new effect is a new arm in the
/// engine's `fault` (`engine/detection.rs`), the one place that matches on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// The server crashes: requests queued or in service fail at once, and it refuses new
    /// connections (they fail immediately) until it comes back, empty.
    Crash,
    /// The server keeps serving, this many times slower (requests already in service are
    /// stretched from that instant).
    Slowdown(f64),
    /// The group's pods are replaced by a rolling update (the engine's `rollout`).
    Deploy(Deploy),
}

/// A kind of fault as written in `[[faults]]`: its keys and how it is built from them.
pub(crate) trait Written: Sized {
    /// What it is, in messages ("a crash").
    const NOUN: &'static str;
    /// How to write one, in messages.
    const EXAMPLE: &'static str;
    /// The key of its start, a duration; giving it says which kind of fault it is.
    const START: &'static str;
    /// The key of its end, a duration (optional: without it the fault lasts to the end);
    /// `None` for a kind that ends by itself.
    const END: Option<&'static str>;
    /// Its other keys, numbers.
    const PARAMS: &'static [&'static str];
    /// Its keys that are a number of pods or a percentage ([`Size`]).
    const SIZES: &'static [&'static str] = &[];
    /// Whether it acts on a group as a whole (`group` without `count`).
    const WHOLE_GROUP: bool = false;
    /// The fault from the values of [`PARAMS`](Written::PARAMS) and
    /// [`SIZES`](Written::SIZES) (`None`: not given).
    fn build(values: &[Option<f64>], sizes: &[Option<Size>]) -> Result<FaultKind, FaultError>;
}

/// What lbsim asks of a kind of fault.
pub trait Kind: std::fmt::Debug {
    /// What it does to the server, as the engine applies it.
    fn effect(&self) -> Effect;
    /// What it does, in a few words (the table's fault notes): `down`, `5× slower`.
    fn describe(&self) -> String;
    /// Its name in `phases.csv`: `down`, `slowdown x5`.
    fn phase(&self) -> String;
    /// What happened to its servers, in a chart legend: `down`, `slowed`.
    fn legend(&self) -> &'static str;
}

impl FaultKind {
    /// The service-time multiplier it applies, if it slows its server.
    pub fn slowdown(&self) -> Option<f64> {
        match self.effect() {
            Effect::Slowdown(factor) => Some(factor),
            Effect::Crash | Effect::Deploy(_) => None,
        }
    }

    /// Whether it crashes its server (which then refuses connections).
    pub fn crashes(&self) -> bool {
        self.effect() == Effect::Crash
    }

    /// The rolling deploy it is, if it is one.
    pub fn deploy(&self) -> Option<Deploy> {
        match self.effect() {
            Effect::Deploy(d) => Some(d),
            _ => None,
        }
    }
}

/// Which servers a fault hits.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultTarget {
    /// One named server (its index).
    Server(usize),
    /// `count` servers of a group, chosen at random per replication from a seeded stream
    /// (the same ones for every strategy).
    Group {
        /// Index into [`Scenario::groups`].
        group: usize,
        /// How many of its servers.
        count: usize,
    },
}

/// A `[[faults]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Which servers.
    pub target: FaultTarget,
    /// Crash or slowdown.
    pub kind: FaultKind,
    /// When it starts, s.
    pub start: f64,
    /// When it ends (`up_at` / `slow_until`), s; `None` = never.
    pub end: Option<f64>,
}

/// One fault on one server in one replication: what the queue-timeline chart shades.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultWindow {
    /// Replication it belongs to.
    pub replication: u32,
    /// Index of the `[[faults]]` entry.
    pub fault: usize,
    /// Server index.
    pub server: usize,
    /// Server name.
    pub server_name: String,
    /// Crash or slowdown.
    pub kind: FaultKind,
    /// Start, s.
    pub start: f64,
    /// End, s (`None` = lasts to the end of the run).
    pub end: Option<f64>,
}

/// A kind of fault as listed in [`FAULT_TYPES`].
#[derive(Debug)]
pub(crate) struct FaultType {
    /// Its name (`kind` in outputs).
    pub name: &'static str,
    /// What it is, in messages ("a crash").
    pub noun: &'static str,
    /// How to write one, in messages.
    pub example: &'static str,
    /// The key of its start, a duration; giving it says which kind of fault it is.
    pub start: &'static str,
    /// The key of its end, a duration (optional: without it the fault lasts to the end).
    pub end: Option<&'static str>,
    /// Its other keys, numbers.
    pub params: &'static [&'static str],
    /// Its keys that are a number of pods or a percentage.
    pub sizes: &'static [&'static str],
    /// Whether it acts on a group as a whole.
    pub whole_group: bool,
    /// The fault from the values of `params` and `sizes` (`None`: not given).
    pub build: Build,
}

impl FaultType {
    const fn of<K: Written>(name: &'static str) -> FaultType {
        FaultType {
            name,
            noun: K::NOUN,
            example: K::EXAMPLE,
            start: K::START,
            end: K::END,
            params: K::PARAMS,
            sizes: K::SIZES,
            whole_group: K::WHOLE_GROUP,
            build: K::build,
        }
    }
}

/// How a kind of fault is built from its numbers and sizes.
pub(crate) type Build = fn(&[Option<f64>], &[Option<Size>]) -> Result<FaultKind, FaultError>;

/// An invalid fault: the key at fault (`None`: the fault as a whole) and what is wrong.
pub(crate) type FaultError = (Option<&'static str>, String);

/// Declares [`FaultKind`] (one variant per kind), its dispatch and `FAULT_TYPES`.
macro_rules! fault_kinds {
    ($($name:literal => $kind:ident),* $(,)?) => {
        /// What a fault does to its server: an enum over the kinds of fault, each holding its
        /// parameters. Serialized as `kind` (its name) and its parameters.
        #[derive(Debug, Clone, Copy, PartialEq, Serialize)]
        #[serde(tag = "kind")]
        pub enum FaultKind {
            $(
                #[doc = concat!("`", $name, "`: [`", stringify!($kind), "`].")]
                #[serde(rename = $name)]
                $kind($kind),
            )*
        }

        impl FaultKind {
            /// Its name: `down`, `slow`.
            pub fn name(&self) -> &'static str {
                match self {
                    $(FaultKind::$kind(_) => $name,)*
                }
            }
        }

        /// Asks the kind itself.
        impl std::ops::Deref for FaultKind {
            type Target = dyn Kind;
            fn deref(&self) -> &(dyn Kind + 'static) {
                match self {
                    $(FaultKind::$kind(k) => k,)*
                }
            }
        }

        /// Every kind of fault, in the order they are listed to the user.
        pub(crate) const FAULT_TYPES: &[FaultType] = &[$(FaultType::of::<$kind>($name),)*];
    };
}

fault_kinds!(
    "down" => Down,
    "slow" => Slow,
    "deploy" => Deploy,
);

/// A [`Size`] key of fault `i`: a whole number of pods or a percentage (`"25%"`); at most
/// 100% for `max_unavailable` (Kubernetes' `IsNotMoreThan100Percent`).
fn size(f: &RawFault, i: usize, k: &str) -> Result<Option<Size>, ScenarioError> {
    let bad = |got: String| {
        ScenarioError::at(format!("faults[{i}].{k}"), format!("must be a number of pods or a percentage, got {got}"))
            .with_help(format!("e.g. {k} = 1 or {k} = \"25%\""))
    };
    let size = match f.get(k) {
        None => return Ok(None),
        Some(Value::Integer(n)) => Size::Pods(*n),
        Some(Value::Text(t)) => {
            let p = t.strip_suffix('%').and_then(|p| p.trim().parse::<u32>().ok());
            match p {
                Some(p) => Size::Percent(p),
                None => return Err(bad(format!("\"{t}\""))),
            }
        }
        Some(other) => return Err(bad(format!("{other:?}"))),
    };
    if k == "max_unavailable" && matches!(size, Size::Percent(p) if p > 100) {
        return Err(ScenarioError::at(format!("faults[{i}].{k}"), "must be at most 100%"));
    }
    Ok(Some(size))
}

/// The deploys of `[[faults]]`, read before the servers are (so that a deployed group gets
/// its places): (group name, max_surge) of each `deploy_at` fault, each `None` when
/// missing or invalid (validation says so later).
pub(super) fn deploy_surges(raw: &[RawFault]) -> Vec<(Option<&str>, Option<Size>)> {
    let start = FAULT_TYPES.iter().find(|t| t.whole_group).map(|t| t.start);
    raw.iter()
        .enumerate()
        .filter(|(_, f)| start.is_some_and(|s| f.has(s)))
        .map(|(i, f)| (f.text("group"), size(f, i, "max_surge").ok().flatten()))
        .collect()
}

/// Validates `[[faults]]` against the servers and groups.
pub(super) fn validate_faults(
    raw: &[RawFault],
    servers: &[ServerInfo],
    groups: &[Group],
) -> Result<Vec<FaultSpec>, ScenarioError> {
    let mut out = Vec::new();
    for (i, f) in raw.iter().enumerate() {
        let key = |k: &str| format!("faults[{i}].{k}");
        let target = match (f.text("server"), f.text("group")) {
            (Some(name), None) => {
                if f.has("count") {
                    return Err(ScenarioError::at(key("count"), "`count` goes with `group`, not with `server`"));
                }
                let Some(s) = servers.iter().position(|s| s.name == name) else {
                    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
                    let mut e = ScenarioError::at(key("server"), format!("no server is named `{name}`"));
                    e = e.suggest(name, names.iter().copied());
                    if e.help.is_none() && names.len() <= 20 {
                        e = e.with_help(format!("servers: {}", names.join(", ")));
                    }
                    return Err(e);
                };
                FaultTarget::Server(s)
            }
            (None, Some(name)) => {
                let Some(g) = groups.iter().position(|g| g.name == name) else {
                    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                    return Err(ScenarioError::at(
                        key("group"),
                        format!("no [[servers]] group is named `{name}`; groups: {}", names.join(", ")),
                    )
                    .suggest(name, names.iter().copied()));
                };
                let count = f.integer("count").unwrap_or(1) as usize;
                if count == 0 || count > groups[g].count {
                    return Err(ScenarioError::at(
                        key("count"),
                        format!("must be from 1 to the group's size ({}), got {count}", groups[g].count),
                    ));
                }
                FaultTarget::Group { group: g, count }
            }
            (Some(_), Some(_)) => {
                return Err(ScenarioError::at(key("group"), "give either `server` or `group`, not both"));
            }
            (None, None) => {
                return Err(ScenarioError::at(
                    format!("faults[{i}]"),
                    "a fault needs `server = \"name\"` or `group = \"name\"` (with `count`)",
                ));
            }
        };
        let given: Vec<&FaultType> = FAULT_TYPES.iter().filter(|t| f.has(t.start)).collect();
        let t = match given[..] {
            [t] => t,
            [] => {
                let ways: Vec<&str> = FAULT_TYPES.iter().map(|t| t.example).collect();
                return Err(ScenarioError::at(format!("faults[{i}]"), format!("a fault needs {}", ways.join(" or "))));
            }
            [_, second, ..] => {
                let kinds: Vec<String> = FAULT_TYPES.iter().map(|t| format!("{} (`{}`)", t.noun, t.start)).collect();
                return Err(ScenarioError::at(
                    key(second.start),
                    format!("one fault is either {}; write two [[faults]]", kinds.join(" or ")),
                ));
            }
        };
        // Keys of the other kinds (their start is absent).
        for other in FAULT_TYPES.iter().filter(|o| o.start != t.start) {
            if let Some(end) = other.end.filter(|e| f.has(e)) {
                let msg = match t.end {
                    Some(own) => format!("`{end}` goes with `{}`; use `{own}`", other.start),
                    None => format!("`{end}` goes with `{}`; {} ends by itself", other.start, t.noun),
                };
                return Err(ScenarioError::at(key(end), msg));
            }
            if let Some(k) = other.params.iter().chain(other.sizes).find(|k| f.has(k)) {
                return Err(ScenarioError::at(key(k), format!("`{k}` goes with `{}`, not `{}`", other.start, t.start)));
            }
        }
        if t.whole_group {
            match target {
                FaultTarget::Server(_) => {
                    return Err(ScenarioError::at(
                        key("server"),
                        format!("{} replaces the pods of a group: give `group = \"name\"`", t.noun),
                    ));
                }
                FaultTarget::Group { group, .. } if f.has("count") => {
                    return Err(ScenarioError::at(
                        key("count"),
                        format!("{} replaces every pod of its group ({})", t.noun, groups[group].count),
                    ));
                }
                FaultTarget::Group { .. } => {}
            }
        }
        let target = match target {
            FaultTarget::Group { group, .. } if t.whole_group => {
                FaultTarget::Group { group, count: groups[group].count }
            }
            other => other,
        };
        let values: Vec<Option<f64>> = t.params.iter().map(|k| f.number(k)).collect();
        let sizes: Vec<Option<Size>> = t.sizes.iter().map(|k| size(f, i, k)).collect::<Result<_, _>>()?;
        let kind = (t.build)(&values, &sizes).map_err(|(k, msg)| match k {
            Some(k) => ScenarioError::at(key(k), msg),
            None => ScenarioError::at(format!("faults[{i}]"), msg),
        })?;
        let start = f.number(t.start).expect("given");
        let end = t.end.and_then(|k| f.number(k));
        if let (Some(e), Some(k)) = (end, t.end)
            && e <= start
        {
            return Err(ScenarioError::at(key(k), format!("must be after the start ({start}s), got {e}s")));
        }
        out.push(FaultSpec { target, kind, start, end });
    }
    Ok(out)
}

impl Scenario {
    /// The faults of replication `replication`, one window per affected server, in
    /// `[[faults]]` order. Servers of a group fault are drawn per replication by
    /// [`pick_servers`]: the same for every strategy.
    pub fn fault_windows(&self, replication: u32) -> Vec<FaultWindow> {
        let seeds = Seeds::new(self.seed, replication);
        let mut out = Vec::new();
        for (i, f) in self.faults.iter().enumerate() {
            let targets: Vec<usize> = match f.target {
                // A deploy: one window for its group, named after it.
                FaultTarget::Group { group, .. } if f.kind.deploy().is_some() => {
                    let g = &self.groups[group];
                    out.push(FaultWindow {
                        replication,
                        fault: i,
                        server: g.first,
                        server_name: g.name.clone(),
                        kind: f.kind,
                        start: f.start,
                        end: f.end,
                    });
                    continue;
                }
                FaultTarget::Server(s) => vec![s],
                FaultTarget::Group { group, count } => {
                    let g = &self.groups[group];
                    pick_servers(&seeds, i, g.first..g.first + g.count, count)
                }
            };
            for s in targets {
                out.push(FaultWindow {
                    replication,
                    fault: i,
                    server: s,
                    server_name: self.servers[s].name.clone(),
                    kind: f.kind,
                    start: f.start,
                    end: f.end,
                });
            }
        }
        out
    }

    /// Whether anything can make a request fail or be retried (faults, timeouts, retries).
    pub fn has_failures(&self) -> bool {
        !self.faults.is_empty() || self.client.is_some() || self.autoscaler.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn the_kinds_of_fault_have_keys_of_their_own() {
        let mut keys: Vec<&str> = vec!["server", "group", "count"];
        for t in FAULT_TYPES {
            for k in std::iter::once(&t.start).chain(&t.end).chain(t.params).chain(t.sizes) {
                assert!(!keys.contains(k), "`{k}` is used twice");
                keys.push(k);
            }
        }
    }

    #[test]
    fn a_fault_is_built_from_its_kind_keys() {
        let base = "requests = 100\nstrategies = [\"random\"]\n[arrivals]\nprocess = \"poisson\"\nrate = 1.0\n\
                    [service]\ndistribution = \"exponential\"\nmean = \"1s\"\n[[servers]]\nname = \"s\"\ncount = 3\n";
        let faults = "[[faults]]\ngroup = \"s\"\ncount = 2\nslow_at = \"1s\"\nslowdown = 3.0\n\
                      [[faults]]\nserver = \"s-1\"\ndown_at = \"2s\"\nup_at = \"5s\"\n";
        let sc = Scenario::parse(&format!("{base}{faults}"), None).unwrap();
        assert_eq!(
            sc.faults,
            [
                FaultSpec {
                    target: FaultTarget::Group { group: 0, count: 2 },
                    kind: FaultKind::Slow(Slow { factor: 3.0 }),
                    start: 1.0,
                    end: None
                },
                FaultSpec { target: FaultTarget::Server(0), kind: FaultKind::Down(Down), start: 2.0, end: Some(5.0) },
            ]
        );
        let e = Scenario::parse(
            &format!("{base}[[faults]]\nserver = \"s-1\"\ndown_at = \"2s\"\nslow_until = \"5s\"\n"),
            None,
        )
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("faults[0].slow_until"));
        assert!(e.message.contains("use `up_at`"), "{e}");
    }
}
