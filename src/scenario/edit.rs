//! Setting scenario keys from the command line (`lbsim sweep --vary`, `lbsim plan`).
//!
//! Overrides are applied to the scenario *text* with `toml_edit`, which is then parsed and
//! validated exactly like a file: range checks and error messages live in one place
//! ([`Scenario::parse`]), and an edited scenario is indistinguishable from one written by hand.
//!
//! A key is a dotted path: `arrivals.rate`, `service.mean`, `servers[0].count` or
//! `servers.web.count` (a group by name), `strategies[3].choices` or `strategies.p2c.choices`.
//! [`ScenarioText::resolve`] checks it against the scenario and lbsim's schema, finds its
//! type ([`Kind`]) and its canonical form (indices, not names), and explains a bad key with
//! the keys allowed at that level and a "did you mean".

use std::fmt;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, InlineTable, Item, TableLike, Value};

use super::{Scenario, ScenarioError};
use crate::duration::{format_duration, parse_duration};
use crate::strategy;
use crate::suggest::did_you_mean;

/// The type of a numeric key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A TOML integer (server counts, queue capacities, strategy choices...).
    Integer,
    /// A number.
    Float,
    /// A duration written with a unit (`"10ms"`).
    Duration,
}

impl Kind {
    /// How values of this kind are written on the command line.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Integer => "an integer",
            Kind::Float => "a number",
            Kind::Duration => "a duration with a unit, e.g. 10ms",
        }
    }
}

/// A value given to a key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyValue {
    /// An integer.
    Integer(i64),
    /// A number.
    Float(f64),
    /// A duration, in seconds.
    Duration(f64),
}

impl KeyValue {
    /// The value as a number (durations in seconds).
    pub fn as_f64(self) -> f64 {
        match self {
            KeyValue::Integer(i) => i as f64,
            KeyValue::Float(x) | KeyValue::Duration(x) => x,
        }
    }

    /// The TOML value written into the scenario.
    fn to_toml(self) -> Value {
        match self {
            KeyValue::Integer(i) => Value::from(i),
            KeyValue::Float(x) => Value::from(x),
            // Rust's `Display` for f64 is the shortest text that reads back to the same
            // number, never in exponent form: the scenario gets exactly this duration.
            KeyValue::Duration(s) => Value::from(format!("{s}s")),
        }
    }
}

impl fmt::Display for KeyValue {
    /// Canonical text: integers as such, numbers in shortest round-trip form, durations
    /// with a readable unit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyValue::Integer(i) => write!(f, "{i}"),
            KeyValue::Float(x) => write!(f, "{x}"),
            KeyValue::Duration(s) => write!(f, "{}", format_duration(*s)),
        }
    }
}

/// One step of a resolved key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A key checked against a scenario: where it is, what type it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    /// The key as the user wrote it.
    pub written: String,
    /// Canonical form, with indices instead of names (`servers[0].count`).
    pub canonical: String,
    /// Its type.
    pub kind: Kind,
    steps: Vec<Step>,
}

/// A scenario's text, parsed for editing.
#[derive(Debug, Clone)]
pub struct ScenarioText {
    text: String,
    file: Option<PathBuf>,
    doc: DocumentMut,
}

/// The options `lbsim run`, `sweep` and `plan` share that change a scenario as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Overrides {
    /// `--requests`: requests per replication (the warm-up is cut to a tenth if it no longer fits).
    pub requests: Option<u64>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--replications`.
    pub replications: Option<u32>,
    /// `--strategies`: the strategy list, by name.
    pub strategies: Option<Vec<String>>,
}

impl Overrides {
    /// Applies the overrides to a parsed scenario.
    pub fn apply(&self, sc: &mut Scenario) -> Result<(), ScenarioError> {
        if let Some(r) = self.requests {
            sc.set_requests(r)?;
        }
        if let Some(n) = self.replications {
            if n == 0 {
                return Err(ScenarioError::at("--replications", "must be at least 1"));
            }
            sc.replications = n;
        }
        if let Some(s) = self.seed {
            sc.seed = s;
        }
        if let Some(names) = &self.strategies {
            sc.set_strategies(names)?;
        }
        Ok(())
    }

    /// The scenario key an override sets, when `key` (canonical) is one of them.
    pub fn clashes_with(&self, key: &str) -> Option<&'static str> {
        match key {
            "requests" | "warmup_requests" if self.requests.is_some() => Some("--requests"),
            "seed" if self.seed.is_some() => Some("--seed"),
            "replications" if self.replications.is_some() => Some("--replications"),
            k if k.starts_with("strategies") && self.strategies.is_some() => Some("--strategies"),
            _ => None,
        }
    }
}

/// Keys lbsim knows the type of, so they can be set even when the file leaves them out.
const TOP_KEYS: &[(&str, Kind)] = &[
    ("seed", Kind::Integer),
    ("requests", Kind::Integer),
    ("warmup_requests", Kind::Integer),
    ("replications", Kind::Integer),
];
const ARRIVAL_KEYS: &[(&str, Kind)] = &[("rate", Kind::Float)];
const SERVICE_KEYS: &[(&str, Kind)] = &[
    ("mean", Kind::Duration),
    ("min", Kind::Duration),
    ("max", Kind::Duration),
    ("cv", Kind::Float),
    ("alpha", Kind::Float),
    ("shape", Kind::Float),
];
const GROUP_KEYS: &[(&str, Kind)] = &[
    ("count", Kind::Integer),
    ("workers", Kind::Integer),
    ("queue_capacity", Kind::Integer),
    ("weight", Kind::Integer),
    ("speed", Kind::Float),
    ("max_connections", Kind::Integer),
];
const KEYS_KEYS: &[(&str, Kind)] = &[("count", Kind::Integer), ("exponent", Kind::Float)];

impl ScenarioText {
    /// Reads a scenario file and checks that it is a valid scenario as written.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: Some(path.to_path_buf()),
            ..ScenarioError::general(format!("cannot read the scenario: {e}"))
        })?;
        Self::new(text, Some(path))
    }

    /// Wraps scenario text, checking that it is a valid scenario as written (so that its
    /// own mistakes are reported as such, not as mistakes of an override).
    pub fn new(text: String, file: Option<&Path>) -> Result<Self, ScenarioError> {
        Scenario::parse(&text, file)?;
        let doc: DocumentMut = text.parse().map_err(|e| ScenarioError::general(format!("{e}")))?;
        Ok(ScenarioText { text, file: file.map(Path::to_path_buf), doc })
    }

    /// The text as read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file it came from.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The scenario as written.
    pub fn scenario(&self) -> Scenario {
        Scenario::parse(&self.text, self.file.as_deref()).expect("checked in new()")
    }

    /// The scenario with `sets` applied; errors are those of [`Scenario::parse`], with a
    /// help line naming the overrides.
    pub fn with(&self, sets: &[(&KeyPath, KeyValue)]) -> Result<Scenario, ScenarioError> {
        if sets.is_empty() {
            return Ok(self.scenario());
        }
        let mut doc = self.doc.clone();
        for (key, value) in sets {
            set_in_table(doc.as_table_mut(), &key.steps, value.to_toml());
        }
        Scenario::parse(&doc.to_string(), self.file.as_deref()).map_err(|mut e| {
            let what: Vec<String> = sets.iter().map(|(k, v)| format!("{} = {v}", k.written)).collect();
            let note = format!("with {} (from the command line)", what.join(", "));
            e.help = Some(match e.help.take() {
                Some(h) => format!("{h}; {note}"),
                None => note,
            });
            e
        })
    }

    /// The same text with only strategy `index` of its list (so that each strategy can be
    /// sized on its own: a parameter invalid for some server count then fails only it).
    /// Results are unchanged: every stream is seeded independently of the list.
    pub fn only_strategy(&self, index: usize) -> ScenarioText {
        let mut doc = self.doc.clone();
        let list = doc.get_mut("strategies").and_then(Item::as_array_mut).expect("validated scenario");
        let keep = list.get(index).expect("strategy index in range").clone();
        list.clear();
        list.push_formatted(keep);
        ScenarioText { text: doc.to_string(), file: self.file.clone(), doc }
    }

    /// The same text with the strategy list replaced by `names` (`--strategies`).
    pub fn with_strategy_names(&self, names: &[String]) -> Result<ScenarioText, ScenarioError> {
        let mut doc = self.doc.clone();
        let mut list = toml_edit::Array::new();
        for n in names {
            list.push(n.as_str());
        }
        doc["strategies"] = toml_edit::value(list);
        let text = doc.to_string();
        Scenario::parse(&text, self.file.as_deref()).map_err(|mut e| {
            if e.key.as_deref().is_some_and(|k| k.starts_with("strategies")) {
                e.key = Some("--strategies".into());
                e.line = None;
                e.column = None;
                e.file = None;
            }
            e
        })?;
        Ok(ScenarioText { text, file: self.file.clone(), doc })
    }

    /// Checks `key` against the scenario: it must lead to a numeric key (an integer, a
    /// number or a duration) that exists or that lbsim knows.
    pub fn resolve(&self, key: &str) -> Result<KeyPath, ScenarioError> {
        let toks = tokenize(key)?;
        let err = |m: String| ScenarioError::at(key, m);
        let mut steps = Vec::new();
        let root = self.doc.as_table();
        let Tok::Name(first) = &toks[0] else {
            return Err(err("a key starts with a name, e.g. `arrivals.rate`".into()));
        };
        let kind = match first.as_str() {
            "servers" => self.resolve_group(key, &toks[1..], &mut steps)?,
            "strategies" => self.resolve_strategy(key, &toks[1..], &mut steps)?,
            "keys" => {
                let Some(table) = root.get("keys").and_then(Item::as_table_like) else {
                    return Err(err("the scenario has no [keys] section to vary; add one first".into()));
                };
                steps.push(Step::Key("keys".into()));
                resolve_field(key, "[keys]", table, &toks[1..], KEYS_KEYS, &mut steps)?
            }
            "arrivals" | "service" => {
                let known = if first == "arrivals" { ARRIVAL_KEYS } else { SERVICE_KEYS };
                steps.push(Step::Key(first.clone()));
                let table = root.get(first).and_then(Item::as_table_like).expect("validated scenario");
                resolve_field(key, &format!("[{first}]"), table, &toks[1..], known, &mut steps)?
            }
            name => {
                if let Some((_, kind)) = TOP_KEYS.iter().find(|(k, _)| *k == name) {
                    if toks.len() > 1 {
                        return Err(err(format!("`{name}` is a number and has no sub-keys")));
                    }
                    steps.push(Step::Key(name.to_string()));
                    *kind
                } else {
                    resolve_field(key, "the top level", root, &toks, TOP_KEYS, &mut steps)?
                }
            }
        };
        Ok(KeyPath { written: key.to_string(), canonical: canonical(&steps), kind, steps })
    }

    /// `servers[i].field` or `servers.NAME.field`.
    fn resolve_group(&self, key: &str, toks: &[Tok], steps: &mut Vec<Step>) -> Result<Kind, ScenarioError> {
        let groups = self.doc.get("servers").and_then(Item::as_array_of_tables).expect("validated scenario");
        let names: Vec<&str> = groups.iter().map(|t| t.get("name").and_then(Item::as_str).unwrap_or("")).collect();
        let err = |m: String| ScenarioError::at(key, m);
        let listing = || names.iter().enumerate().map(|(i, n)| format!("[{i}] {n}")).collect::<Vec<_>>().join(", ");
        let index = match toks.first() {
            Some(Tok::Index(i)) if *i < names.len() => *i,
            Some(Tok::Index(i)) => {
                return Err(err(format!("there is no server group [{i}]; the groups are {}", listing())));
            }
            Some(Tok::Name(n)) => match names.iter().position(|g| g == n) {
                Some(i) => i,
                None => {
                    return Err(err(format!("no server group is named `{n}`; the groups are {}", listing()))
                        .suggest(n, names.iter().copied()));
                }
            },
            None => {
                return Err(err(format!(
                    "name a group and a key, e.g. `servers[0].count` or `servers.{}.count`",
                    names[0]
                )));
            }
        };
        steps.push(Step::Key("servers".into()));
        steps.push(Step::Index(index));
        let table = groups.get(index).expect("in range");
        resolve_field(key, &format!("group `{}`", names[index]), table, &toks[1..], GROUP_KEYS, steps)
    }

    /// `strategies[i].param` or `strategies.NAME.param`.
    fn resolve_strategy(&self, key: &str, toks: &[Tok], steps: &mut Vec<Step>) -> Result<Kind, ScenarioError> {
        let list = self.doc.get("strategies").and_then(Item::as_array).expect("validated scenario");
        let names: Vec<&str> = list
            .iter()
            .map(|v| match v {
                Value::String(s) => s.value().as_str(),
                Value::InlineTable(t) => t.get("name").and_then(Value::as_str).unwrap_or(""),
                _ => "",
            })
            .collect();
        let err = |m: String| ScenarioError::at(key, m);
        let listing = || names.iter().enumerate().map(|(i, n)| format!("[{i}] {n}")).collect::<Vec<_>>().join(", ");
        let index = match toks.first() {
            Some(Tok::Index(i)) if *i < names.len() => *i,
            Some(Tok::Index(i)) => {
                return Err(err(format!("there is no strategy [{i}]; the list is {}", listing())));
            }
            Some(Tok::Name(n)) => {
                let hits: Vec<usize> = (0..names.len()).filter(|&i| names[i] == n).collect();
                match hits.as_slice() {
                    [i] => *i,
                    [] => {
                        return Err(err(format!("no strategy in the list is `{n}`; the list is {}", listing()))
                            .suggest(n, names.iter().copied()));
                    }
                    _ => {
                        let alts: Vec<String> = hits.iter().map(|i| format!("`strategies[{i}]`")).collect();
                        return Err(err(format!(
                            "`{n}` is listed {} times; say which with an index: {}",
                            hits.len(),
                            alts.join(" or ")
                        )));
                    }
                }
            }
            None => return Err(err("name a strategy and a parameter, e.g. `strategies[3].choices`".into())),
        };
        let name = names[index];
        let info = strategy::lookup(name).expect("validated scenario");
        let allowed: Vec<&str> = info.params.iter().map(|p| p.name).collect();
        let param = match &toks[1..] {
            [Tok::Name(p)] => p,
            _ => {
                return Err(err(if allowed.is_empty() {
                    format!("`{name}` has no parameters to vary")
                } else {
                    format!("name one parameter of `{name}`: {}", allowed.join(", "))
                }));
            }
        };
        let Some(p) = info.params.iter().find(|p| p.name == param) else {
            let what =
                if allowed.is_empty() { "it has none".to_string() } else { format!("it has: {}", allowed.join(", ")) };
            return Err(err(format!("`{name}` has no parameter `{param}`; {what}")).suggest(param, allowed));
        };
        steps.push(Step::Key("strategies".into()));
        steps.push(Step::Index(index));
        steps.push(Step::Key(param.clone()));
        Ok(if p.default.parse::<i64>().is_ok() { Kind::Integer } else { Kind::Float })
    }
}

/// Resolves the rest of a path inside `table`: a known key of `known`, or any numeric key
/// present in the file (sections lbsim's schema grows later are reachable that way).
fn resolve_field(
    key: &str,
    place: &str,
    table: &dyn TableLike,
    toks: &[Tok],
    known: &[(&str, Kind)],
    steps: &mut Vec<Step>,
) -> Result<Kind, ScenarioError> {
    let err = |m: String| ScenarioError::at(key, m);
    let mut allowed: Vec<&str> = known.iter().map(|(k, _)| *k).collect();
    for (k, _) in table.iter() {
        if !allowed.contains(&k) {
            allowed.push(k);
        }
    }
    let Some(Tok::Name(name)) = toks.first() else {
        return Err(err(format!("name a key in {place}: {}", allowed.join(", "))));
    };
    let present = table.get(name);
    let known_kind = known.iter().find(|(k, _)| k == name).map(|(_, k)| *k);
    if present.is_none() && known_kind.is_none() {
        let prefix = canonical(steps);
        let full: Vec<String> =
            allowed.iter().map(|a| if prefix.is_empty() { a.to_string() } else { format!("{prefix}.{a}") }).collect();
        let mut e = err(format!("unknown key `{name}` in {place}; keys there: {}", allowed.join(", ")));
        if let Some(s) = did_you_mean(key, full.iter().map(String::as_str)) {
            e = e.with_help(format!("did you mean `{s}`?"));
        }
        return Err(e);
    }
    steps.push(Step::Key(name.clone()));
    let rest = &toks[1..];
    match present {
        Some(item) if !rest.is_empty() => resolve_nested(key, name, item, rest, steps),
        _ if !rest.is_empty() => Err(err(format!("`{name}` has no sub-keys"))),
        Some(item) => known_kind.or_else(|| kind_of(item)).ok_or_else(|| not_numeric(key, item)),
        None => Ok(known_kind.expect("checked")),
    }
}

/// Generic descent into tables and arrays present in the file.
fn resolve_nested(
    key: &str,
    name: &str,
    item: &Item,
    toks: &[Tok],
    steps: &mut Vec<Step>,
) -> Result<Kind, ScenarioError> {
    let err = |m: String| ScenarioError::at(key, m);
    match (&toks[0], item) {
        (Tok::Index(i), Item::ArrayOfTables(a)) => {
            let t = a.get(*i).ok_or_else(|| err(format!("`{name}` has {} entries (0..{})", a.len(), a.len())))?;
            steps.push(Step::Index(*i));
            resolve_field(key, &format!("`{name}[{i}]`"), t, &toks[1..], &[], steps)
        }
        (Tok::Index(i), Item::Value(Value::Array(a))) => {
            let v = a.get(*i).ok_or_else(|| err(format!("`{name}` has {} entries (0..{})", a.len(), a.len())))?;
            steps.push(Step::Index(*i));
            match (v, &toks[1..]) {
                (Value::InlineTable(t), rest) if !rest.is_empty() => {
                    resolve_field(key, &format!("`{name}[{i}]`"), t, rest, &[], steps)
                }
                (v, []) => kind_of_value(v).ok_or_else(|| err(format!("`{name}[{i}]` is not a number"))),
                _ => Err(err(format!("`{name}[{i}]` has no sub-keys"))),
            }
        }
        (Tok::Name(_), Item::Table(t)) => resolve_field(key, &format!("[{name}]"), t, toks, &[], steps),
        (Tok::Name(_), Item::Value(Value::InlineTable(t))) => {
            resolve_field(key, &format!("`{name}`"), t, toks, &[], steps)
        }
        (Tok::Index(_), _) => Err(err(format!("`{name}` is not a list"))),
        (Tok::Name(_), _) => Err(err(format!("`{name}` has no sub-keys"))),
    }
}

fn kind_of(item: &Item) -> Option<Kind> {
    item.as_value().and_then(kind_of_value)
}

fn kind_of_value(v: &Value) -> Option<Kind> {
    match v {
        Value::Integer(_) => Some(Kind::Integer),
        Value::Float(_) => Some(Kind::Float),
        Value::String(s) if parse_duration(s.value()).is_ok() => Some(Kind::Duration),
        _ => None,
    }
}

fn not_numeric(key: &str, item: &Item) -> ScenarioError {
    let shown = item.as_value().map(|v| v.to_string().trim().to_string()).unwrap_or_else(|| "a table".into());
    ScenarioError::at(
        key,
        format!("is {shown}, not a number: only numeric keys (numbers, integers, durations) can be set"),
    )
}

fn canonical(steps: &[Step]) -> String {
    let mut s = String::new();
    for st in steps {
        match st {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Index(usize),
}

/// `a.b[2].c` → [a, b, 2, c].
fn tokenize(key: &str) -> Result<Vec<Tok>, ScenarioError> {
    let bad = |why: &str| {
        ScenarioError::at(
            key,
            format!("{why}: a key is a dotted path like `arrivals.rate`, `servers[0].count` or `servers.web.count`"),
        )
    };
    let mut toks = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => part.split_at(i),
            None => (part, ""),
        };
        if name.is_empty() {
            return Err(bad("empty name"));
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(bad(&format!("`{name}` is not a key name")));
        }
        toks.push(Tok::Name(name.to_string()));
        while !rest.is_empty() {
            let Some(close) = rest.find(']') else { return Err(bad("unclosed `[`")) };
            let idx = rest[1..close].trim().parse::<usize>().map_err(|_| bad("an index is a whole number"))?;
            toks.push(Tok::Index(idx));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(bad("expected `.` after `]`"));
            }
        }
    }
    Ok(toks)
}

/// Sets the value at `steps` below `table`, keeping the old value's comments. A strategy
/// written as a bare name becomes an inline table when a parameter is set.
fn set_in_table(table: &mut dyn TableLike, steps: &[Step], v: Value) {
    let Step::Key(k) = &steps[0] else { unreachable!("paths step from a table by key") };
    if steps.len() == 1 {
        match table.get_mut(k).and_then(Item::as_value_mut) {
            Some(old) => replace(old, v),
            None => {
                table.insert(k, Item::Value(v));
            }
        }
        return;
    }
    let item = table.get_mut(k).expect("resolved path");
    match (&steps[1], item) {
        (Step::Index(i), Item::ArrayOfTables(a)) => set_in_table(a.get_mut(*i).expect("resolved"), &steps[2..], v),
        (Step::Index(i), Item::Value(Value::Array(a))) => {
            set_in_value(a.get_mut(*i).expect("resolved"), &steps[2..], v)
        }
        (Step::Key(_), item) => set_in_table(item.as_table_like_mut().expect("resolved"), &steps[1..], v),
        _ => unreachable!("resolved path"),
    }
}

fn set_in_value(target: &mut Value, steps: &[Step], v: Value) {
    if steps.is_empty() {
        replace(target, v);
        return;
    }
    if let Value::String(s) = target {
        let mut t = InlineTable::new();
        t.insert("name", Value::from(s.value().as_str()));
        let decor = s.decor().clone();
        *target = Value::InlineTable(t);
        *target.decor_mut() = decor;
    }
    match target {
        Value::InlineTable(t) => set_in_table(t, steps, v),
        _ => unreachable!("resolved path"),
    }
}

fn replace(old: &mut Value, mut v: Value) {
    *v.decor_mut() = old.decor().clone();
    *old = v;
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
seed = 7
requests = 1000
strategies = ["random", "p2c", { name = "p2c", choices = 3 }]
[arrivals]
process = "poisson"
rate = 900        # peak
[service]
distribution = "exponential"
mean = "10ms"
[[servers]]
name = "web"
count = 4
[[servers]]
name = "db"
speed = 2.0
"#;

    fn st() -> ScenarioText {
        ScenarioText::new(TEXT.to_string(), None).unwrap()
    }

    #[test]
    fn key_space_and_max_connections_can_vary() {
        let text = format!("{TEXT}[keys]\ncount = 100\ndistribution = \"zipf\"\n");
        let s = ScenarioText::new(text, None).unwrap();
        let exp = s.resolve("keys.exponent").unwrap();
        assert_eq!(exp.kind, Kind::Float);
        let sc = s.with(&[(&exp, KeyValue::Float(1.3))]).unwrap();
        assert_eq!(sc.keys.unwrap().popularity, crate::workload::keys::KeyPopularity::Zipf { exponent: 1.3 });
        assert_eq!(s.resolve("servers.web.max_connections").unwrap().kind, Kind::Integer);
        let e = st().resolve("keys.count").unwrap_err();
        assert!(e.message.contains("no [keys] section"), "{}", e.message);
    }

    #[test]
    fn resolves_and_sets_known_keys() {
        let s = st();
        let rate = s.resolve("arrivals.rate").unwrap();
        assert_eq!(rate.kind, Kind::Float); // written as an integer, but a rate is a number
        let count = s.resolve("servers.web.count").unwrap();
        assert_eq!(count.canonical, "servers[0].count");
        assert_eq!(s.resolve("servers[1].queue_capacity").unwrap().kind, Kind::Integer);
        let mean = s.resolve("service.mean").unwrap();
        assert_eq!(mean.kind, Kind::Duration);
        let sc = s
            .with(&[
                (&rate, KeyValue::Float(450.5)),
                (&count, KeyValue::Integer(6)),
                (&mean, KeyValue::Duration(0.0125)),
            ])
            .unwrap();
        assert_eq!(sc.arrival_rate(), 450.5);
        assert_eq!(sc.groups[0].count, 6);
        assert_eq!(sc.service.mean(), 0.0125);
        assert_eq!(sc.server_count(), 7);
    }

    #[test]
    fn strategy_parameters_by_index_and_name() {
        let s = st();
        let k = s.resolve("strategies[1].choices").unwrap();
        assert_eq!((k.kind, k.canonical.as_str()), (Kind::Integer, "strategies[1].choices"));
        // a bare name becomes an inline table
        let sc = s.with(&[(&k, KeyValue::Integer(4))]).unwrap();
        assert_eq!(sc.strategies[1].label, "p2c(choices=4)");
        let e = s.resolve("strategies.p2c.choices").unwrap_err();
        assert!(e.message.contains("listed 2 times"), "{e}");
        let e = s.resolve("strategies.random.choices").unwrap_err();
        assert!(e.message.contains("has no parameter"), "{e}");
    }

    #[test]
    fn bad_keys_name_the_alternatives() {
        let s = st();
        let e = s.resolve("arrivals.raet").unwrap_err();
        assert!(e.message.contains("keys there: rate, process"), "{e}");
        assert_eq!(e.help.as_deref(), Some("did you mean `arrivals.rate`?"));
        let e = s.resolve("servers.webs.count").unwrap_err();
        assert!(e.message.contains("[0] web, [1] db"), "{e}");
        assert_eq!(e.help.as_deref(), Some("did you mean `web`?"));
        let e = s.resolve("servers[5].count").unwrap_err();
        assert!(e.message.contains("no server group [5]"), "{e}");
        let e = s.resolve("arrivals.process").unwrap_err();
        assert!(e.message.contains("not a number"), "{e}");
        assert!(s.resolve("servers[0].cuont").unwrap_err().help.unwrap().contains("servers[0].count"));
        assert!(s.resolve("servers[x].count").is_err());
        assert!(s.resolve("").is_err());
    }

    #[test]
    fn invalid_values_are_reported_by_validation_with_the_override() {
        let s = st();
        let rate = s.resolve("arrivals.rate").unwrap();
        let e = s.with(&[(&rate, KeyValue::Float(-1.0))]).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("arrivals.rate"));
        assert!(e.help.unwrap().contains("arrivals.rate = -1"));
    }

    #[test]
    fn comments_survive_and_lines_do_not_move() {
        let s = st();
        let rate = s.resolve("arrivals.rate").unwrap();
        let mut doc = s.doc.clone();
        set_in_table(doc.as_table_mut(), &rate.steps, KeyValue::Float(12.5).to_toml());
        let out = doc.to_string();
        assert!(out.contains("rate = 12.5        # peak"), "{out}");
        assert_eq!(out.lines().count(), TEXT.lines().count());
    }

    #[test]
    fn strategy_subsets() {
        let s = st();
        let one = s.only_strategy(2);
        assert_eq!(one.scenario().strategies.len(), 1);
        assert_eq!(one.scenario().strategies[0].label, "p2c(choices=3)");
        let named = s.with_strategy_names(&["round-robin".to_string()]).unwrap();
        assert_eq!(named.scenario().strategies[0].label, "round-robin");
        let e = s.with_strategy_names(&["round-robbin".to_string()]).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("--strategies"));
    }
}
