//! The key-path language of `--vary` and `lbsim plan`: a dotted path (`arrivals.rate`,
//! `servers[0].count` or `servers.web.count`, `strategies[3].choices` or
//! `strategies.p2c.choices`) resolved against a scenario's text and lbsim's schema to its
//! canonical form (indices, not names) and the kind of number it holds.
//!
//! The keys lbsim knows (which can be set even when the file leaves them out) are the
//! numeric keys of the schema's tables ([`TableKeys`]) and the distributions' parameters;
//! any other numeric key present in the file is reachable too, typed by its value.

use std::fmt;

use toml_edit::{DocumentMut, Item, TableLike, Value};

use super::super::schema::{
    Keys, RawArrivals, RawAutoscaler, RawBalancers, RawClients, RawKeys, RawPods, RawScenario, RawServerGroup,
    ServiceKeys, TableKeys, ValueKind,
};
use super::super::{ScenarioError, arrivals};
use crate::duration::{format_duration, parse_duration};
use crate::strategy;
use crate::suggest::did_you_mean;

/// A value given to a key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyValue {
    /// An integer.
    Integer(i64),
    /// A number.
    Float(f64),
    /// A duration, in seconds.
    Duration(f64),
    /// A name, of a key that takes one of a few ([`ValueKind::Choice`]).
    Text(&'static str),
}

impl KeyValue {
    /// The value as a number (durations in seconds; NaN for a name).
    pub fn as_f64(self) -> f64 {
        match self {
            KeyValue::Integer(i) => i as f64,
            KeyValue::Float(x) | KeyValue::Duration(x) => x,
            KeyValue::Text(_) => f64::NAN,
        }
    }

    /// The TOML value written into the scenario.
    pub(super) fn to_toml(self) -> Value {
        match self {
            KeyValue::Integer(i) => Value::from(i),
            KeyValue::Float(x) => Value::from(x),
            // Rust's `Display` for f64 is the shortest text that reads back to the same
            // number, never in exponent form: the scenario gets exactly this duration.
            KeyValue::Duration(s) => Value::from(format!("{s}s")),
            KeyValue::Text(t) => Value::from(t),
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
            KeyValue::Text(t) => f.write_str(t),
        }
    }
}

/// One step of a resolved key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
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
    pub kind: ValueKind,
    pub(super) steps: Vec<Step>,
}

/// The numeric keys of a table, with their kind.
fn numeric(keys: &[(&'static str, Option<ValueKind>)]) -> Vec<(&'static str, ValueKind)> {
    keys.iter().filter_map(|&(k, kind)| Some((k, kind?))).collect()
}

/// The numeric keys of a distribution table: every parameter, by name and by alias.
fn service_keys() -> Vec<(&'static str, ValueKind)> {
    let mut out = Vec::new();
    for k in ServiceKeys::keys() {
        if let Some(kind) = k.kind {
            out.extend(std::iter::once(k.name).chain(k.alias).map(|n| (n, kind)));
        }
    }
    out
}

/// The text keys that can be set, by canonical path, and the names each takes.
const CHOICES: &[(&str, &[&str])] = &[("balancers.subset.kind", crate::workload::subsets::SUBSET_KINDS)];

/// Checks `key` against the scenario: it must lead to a numeric key (an integer, a
/// number or a duration) that exists or that lbsim knows, or to one of the [`CHOICES`].
pub(super) fn resolve(doc: &DocumentMut, key: &str) -> Result<KeyPath, ScenarioError> {
    let toks = tokenize(key)?;
    let err = |m: String| ScenarioError::at(key, m);
    let mut steps = Vec::new();
    let root = doc.as_table();
    let Tok::Name(first) = &toks[0] else {
        return Err(err("a key starts with a name, e.g. `arrivals.rate`".into()));
    };
    let kind = match first.as_str() {
        "servers" => resolve_group(doc, key, &toks[1..], &mut steps)?,
        "strategies" => resolve_strategy(doc, key, &toks[1..], &mut steps)?,
        "keys" => {
            let Some(table) = root.get("keys").and_then(Item::as_table_like) else {
                return Err(err("the scenario has no [keys] section to vary; add one first".into()));
            };
            steps.push(Step::Key("keys".into()));
            resolve_field(key, "[keys]", table, &toks[1..], &numeric(RawKeys::KEYS), &mut steps)?
        }
        "balancers" | "network" | "autoscaler" | "pods" | "clients" => {
            // Optional sections: a key can be set even when the file has no such table yet
            // (it is then created), e.g. `--vary balancers.count=1,2,4`.
            let known = match first.as_str() {
                "balancers" => numeric(RawBalancers::KEYS),
                "autoscaler" => numeric(RawAutoscaler::KEYS),
                "pods" => {
                    let mut k = numeric(RawPods::KEYS);
                    k.push(("provision", ValueKind::Duration));
                    k
                }
                "clients" => numeric(RawClients::KEYS),
                _ => vec![("to_server", ValueKind::Duration), ("from_server", ValueKind::Duration)],
            };
            let empty = toml_edit::Table::new();
            let table: &dyn TableLike = root.get(first).and_then(Item::as_table_like).unwrap_or(&empty);
            steps.push(Step::Key(first.clone()));
            resolve_field(key, &format!("[{first}]"), table, &toks[1..], &known, &mut steps)?
        }
        "arrivals" | "service" => {
            steps.push(Step::Key(first.clone()));
            let table = root.get(first).and_then(Item::as_table_like).expect("validated scenario");
            let known = if first == "arrivals" {
                // The numeric keys of the scenario's process.
                let process = table.get("process").and_then(Item::as_str).unwrap_or("");
                let mut known = numeric(RawArrivals::KEYS);
                known.retain(|(k, _)| arrivals::applies(k, process));
                known
            } else {
                service_keys()
            };
            resolve_field(key, &format!("[{first}]"), table, &toks[1..], &known, &mut steps)?
        }
        name => {
            let top = numeric(RawScenario::KEYS);
            if let Some((_, kind)) = top.iter().find(|(k, _)| *k == name) {
                if toks.len() > 1 {
                    return Err(err(format!("`{name}` is a number and has no sub-keys")));
                }
                steps.push(Step::Key(name.to_string()));
                *kind
            } else {
                resolve_field(key, "the top level", root, &toks, &top, &mut steps)?
            }
        }
    };
    Ok(KeyPath { written: key.to_string(), canonical: canonical(&steps), kind, steps })
}

/// `servers[i].field` or `servers.NAME.field`.
fn resolve_group(
    doc: &DocumentMut,
    key: &str,
    toks: &[Tok],
    steps: &mut Vec<Step>,
) -> Result<ValueKind, ScenarioError> {
    let groups = doc.get("servers").and_then(Item::as_array_of_tables).expect("validated scenario");
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
    resolve_field(key, &format!("group `{}`", names[index]), table, &toks[1..], &numeric(RawServerGroup::KEYS), steps)
}

/// `strategies[i].param` or `strategies.NAME.param`.
fn resolve_strategy(
    doc: &DocumentMut,
    key: &str,
    toks: &[Tok],
    steps: &mut Vec<Step>,
) -> Result<ValueKind, ScenarioError> {
    let list = doc.get("strategies").and_then(Item::as_array).expect("validated scenario");
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
    Ok(if p.is_integer() { ValueKind::Integer } else { ValueKind::Float })
}
/// Resolves the rest of a path inside `table`: a known key of `known`, or any numeric key
/// present in the file (sections lbsim's schema grows later are reachable that way).
fn resolve_field(
    key: &str,
    place: &str,
    table: &dyn TableLike,
    toks: &[Tok],
    known: &[(&str, ValueKind)],
    steps: &mut Vec<Step>,
) -> Result<ValueKind, ScenarioError> {
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
        Some(item) => {
            known_kind.or_else(|| kind_of(item)).or_else(|| choice(steps)).ok_or_else(|| not_numeric(key, item))
        }
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
) -> Result<ValueKind, ScenarioError> {
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

/// The names the text key at `steps` takes, when it is one of the [`CHOICES`].
fn choice(steps: &[Step]) -> Option<ValueKind> {
    let at = canonical(steps);
    CHOICES.iter().find(|(k, _)| *k == at).map(|(_, names)| ValueKind::Choice(names))
}

fn kind_of(item: &Item) -> Option<ValueKind> {
    item.as_value().and_then(kind_of_value)
}

fn kind_of_value(v: &Value) -> Option<ValueKind> {
    match v {
        Value::Integer(_) => Some(ValueKind::Integer),
        Value::Float(_) => Some(ValueKind::Float),
        Value::String(s) if parse_duration(s.value()).is_ok() => Some(ValueKind::Duration),
        _ => None,
    }
}

fn not_numeric(key: &str, item: &Item) -> ScenarioError {
    let shown = item.as_value().map(|v| v.to_string().trim().to_string()).unwrap_or_else(|| "a table".into());
    ScenarioError::at(
        key,
        format!(
            "is {shown}, not a number: only numeric keys (numbers, integers, durations) can be set, and of the text \
             keys {}",
            CHOICES.iter().map(|(k, _)| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ),
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
