//! Mutations of scenario text: structured ones (a key set to a value chosen to hurt, a key
//! removed, a table or an entry added or duplicated, the strategy list rewritten), made on
//! the parsed document with `toml_edit`, and raw ones on the bytes (lines deleted,
//! duplicated, swapped or cut, numbers replaced, bytes inserted, flipped or cut, invalid
//! UTF-8). An input is a seed of the corpus with one to five of them applied.

use lbsim::strategy::registry::REGISTRY;
use rand::{Rng, RngExt};
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

/// Numbers that break things: zero, negatives, NaN, infinities, the smallest subnormal,
/// the largest floats, the edges of u32, i64 and u64.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "3",
    "0.5",
    "-0.0",
    "nan",
    "inf",
    "-inf",
    "5e-324",
    "1e-300",
    "1e-9",
    "1e308",
    "1.7976931348623157e308",
    "0.999999",
    "1.000001",
    "100",
    "1000000",
    "1e9",
    "1e12",
    "1e15",
    "4294967295",
    "4294967296",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
];

/// Durations that break things.
const DURATIONS: &[&str] = &[
    "1ns",
    "0s",
    "0ms",
    "1e308s",
    "1e9s",
    "1.1e9s",
    "1e-300s",
    "5e-324s",
    "-1s",
    "10",
    "10 parsecs",
    "1us",
    "10ms",
    "1s",
    "24h",
    "1d",
    "1e6s",
    "nans",
    "infs",
    "1e400ms",
];

/// Other text values.
const TEXTS: &[&str] = &[
    "",
    "x",
    "exponential",
    "deterministic",
    "uniform",
    "lognormal",
    "gamma",
    "weibull",
    "pareto",
    "hyperexponential",
    "zipf",
    "poisson",
    "mmpp",
    "closed",
    "trace",
    "s",
    "ms",
    "us",
    "failed",
    "timeout",
    "dropped",
    "web",
    "web-1",
    "traces/api-burst.csv",
    "/dev/zero",
    "/nonexistent.csv",
    "../",
    "a/b",
    "\u{0}",
    "é",
];

/// Keys lbsim knows, by table, to insert with a hurtful value.
const KEYS: &[(&str, &[&str])] = &[
    ("", &["requests", "warmup_requests", "replications", "seed", "name"]),
    ("arrivals", &["process", "rate", "rates", "mean_sojourn", "clients", "think_time", "file", "time_unit", "speed"]),
    ("arrivals.diurnal", &["base", "amplitude", "period", "peak_at"]),
    ("service", &["distribution", "mean", "cv", "min", "max", "alpha"]),
    ("keys", &["count", "distribution", "exponent"]),
    ("health_check", &["interval", "timeout", "fall", "rise"]),
    (
        "outlier_detection",
        &["consecutive_errors", "interval", "base_ejection_time", "max_ejection_time", "max_ejection_percent"],
    ),
    (
        "client",
        &["timeout", "max_retries", "backoff", "max_backoff", "retry_budget", "min_retry_concurrency", "retry_on"],
    ),
];

/// Keys of the entries of arrays of tables.
const ENTRY_KEYS: &[(&str, &[&str])] = &[
    ("servers", &["name", "count", "speed", "workers", "queue_capacity", "weight", "max_connections", "slow_start"]),
    ("faults", &["server", "group", "count", "down_at", "up_at", "slow_at", "slow_until", "slowdown"]),
    ("arrivals.spike", &["at", "duration", "multiplier"]),
    ("arrivals.schedule", &["at", "rate"]),
];

/// Keys whose value is a duration.
const DURATION_KEYS: &[&str] = &[
    "mean",
    "min",
    "max",
    "period",
    "peak_at",
    "interval",
    "timeout",
    "backoff",
    "max_backoff",
    "base_ejection_time",
    "max_ejection_time",
    "slow_start",
    "down_at",
    "up_at",
    "slow_at",
    "slow_until",
    "at",
    "duration",
    "think_time",
];

fn pick<'a, T: ?Sized>(rng: &mut impl Rng, xs: &'a [&'a T]) -> &'a T {
    xs[rng.random_range(0..xs.len())]
}

/// A value meant to hurt, of the kind `key` takes most of the time, of another kind sometimes.
fn value_for(rng: &mut impl Rng, key: &str) -> Value {
    let kind = rng.random_range(0..10);
    if kind < 7 {
        if DURATION_KEYS.contains(&key) {
            return Value::from(pick(rng, DURATIONS));
        }
        match key {
            "distribution" | "process" | "time_unit" | "name" | "server" | "group" | "file" => {
                return Value::from(pick(rng, TEXTS));
            }
            "rates" => return array_of(rng, 2, false),
            "mean_sojourn" => return array_of(rng, 2, true),
            "retry_on" => {
                let mut a = Array::new();
                a.push(pick(rng, &["failed", "timeout", "dropped", "x"]));
                return Value::Array(a);
            }
            _ => {}
        }
    }
    any_value(rng)
}

/// A number, duration, text, array or table, at random.
fn any_value(rng: &mut impl Rng) -> Value {
    match rng.random_range(0..10) {
        0..=4 => number(rng),
        5 | 6 => Value::from(pick(rng, DURATIONS)),
        7 => Value::from(pick(rng, TEXTS)),
        8 => {
            let (n, durations) = (rng.random_range(0..4), rng.random_bool(0.5));
            array_of(rng, n, durations)
        }
        _ => {
            let mut t = InlineTable::new();
            t.insert("distribution", Value::from(pick(rng, TEXTS)));
            t.insert("mean", Value::from(pick(rng, DURATIONS)));
            Value::InlineTable(t)
        }
    }
}

/// One of [`NUMBERS`] as a TOML value (the big integers, which TOML refuses, as their text
/// through a float; raw mutations put them in as written).
fn number(rng: &mut impl Rng) -> Value {
    let text = pick(rng, NUMBERS);
    match text.parse::<i64>() {
        Ok(i) => Value::from(i),
        Err(_) => Value::from(text.parse::<f64>().unwrap_or(f64::NAN)),
    }
}

fn array_of(rng: &mut impl Rng, n: usize, durations: bool) -> Value {
    let mut a = Array::new();
    for _ in 0..n {
        if durations {
            a.push(pick(rng, DURATIONS));
        } else {
            a.push(number(rng));
        }
    }
    Value::Array(a)
}

/// The table at dotted `path`, created (as a table) where missing; `None` when something
/// else is in the way.
fn table_at<'a>(doc: &'a mut DocumentMut, path: &str) -> Option<&'a mut Table> {
    let mut t = doc.as_table_mut();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        if !t.contains_key(part) {
            t.insert(part, Item::Table(Table::new()));
        }
        t = t.get_mut(part)?.as_table_mut()?;
    }
    Some(t)
}

/// Every key path of the document with a value (for replacing or removing one).
fn value_paths(doc: &DocumentMut) -> Vec<Vec<String>> {
    fn walk(t: &Table, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for (k, item) in t.iter() {
            let mut p = prefix.to_vec();
            p.push(k.to_string());
            match item {
                Item::Table(sub) => walk(sub, &p, out),
                Item::ArrayOfTables(a) => {
                    for (i, sub) in a.iter().enumerate() {
                        let mut q = p.clone();
                        q.push(format!("#{i}"));
                        walk(sub, &q, out);
                    }
                }
                Item::Value(_) => out.push(p),
                Item::None => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(doc.as_table(), &[], &mut out);
    out
}

/// Follows `path` through arrays of tables: the table holding its last key.
fn holder<'a>(doc: &'a mut DocumentMut, path: &[String]) -> Option<&'a mut Table> {
    let mut t = doc.as_table_mut();
    let mut i = 0;
    while i + 1 < path.len() {
        let item = t.get_mut(&path[i])?;
        t = match item {
            Item::Table(sub) => sub,
            Item::ArrayOfTables(a) => {
                i += 1;
                let idx: usize = path[i].strip_prefix('#')?.parse().ok()?;
                a.get_mut(idx)?
            }
            _ => return None,
        };
        i += 1;
    }
    Some(t)
}

/// A strategy list of registry names, some with hurtful parameters.
fn strategies(rng: &mut impl Rng) -> Value {
    let mut list = Array::new();
    for _ in 0..rng.random_range(0..5) {
        let info = &REGISTRY[rng.random_range(0..REGISTRY.len())];
        if info.params.is_empty() || rng.random_bool(0.5) {
            list.push(if rng.random_bool(0.05) { "no-such-strategy" } else { info.name });
        } else {
            let mut t = InlineTable::new();
            t.insert("name", Value::from(info.name));
            let p = info.params[rng.random_range(0..info.params.len())];
            t.insert(p.name, any_value(rng));
            list.push(Value::InlineTable(t));
        }
    }
    Value::Array(list)
}

/// One structured mutation of `doc`.
fn structured(rng: &mut impl Rng, doc: &mut DocumentMut) {
    match rng.random_range(0..10) {
        // Replace a value.
        0..=3 => {
            let paths = value_paths(doc);
            if paths.is_empty() {
                return;
            }
            let path = &paths[rng.random_range(0..paths.len())];
            let key = path.last().cloned().unwrap_or_default();
            let v = if key == "strategies" { strategies(rng) } else { value_for(rng, &key) };
            if let Some(t) = holder(doc, path) {
                t.insert(&key, Item::Value(v));
            }
        }
        // Remove a key (or a whole table).
        4 => {
            let paths = value_paths(doc);
            if paths.is_empty() {
                return;
            }
            let path = &paths[rng.random_range(0..paths.len())];
            let cut = rng.random_range(1..=path.len());
            let path = &path[..cut];
            if path.last().is_some_and(|s| s.starts_with('#')) {
                return;
            }
            if let Some(t) = holder(doc, path) {
                t.remove(path.last().expect("non-empty"));
            }
        }
        // Set a known key of a table (creating the table).
        5 | 6 => {
            let (table, keys) = KEYS[rng.random_range(0..KEYS.len())];
            let key = pick(rng, keys);
            let v = value_for(rng, key);
            if let Some(t) = table_at(doc, table) {
                t.insert(key, Item::Value(v));
            }
        }
        // Add or duplicate an entry of an array of tables.
        7 | 8 => {
            let (path, keys) = ENTRY_KEYS[rng.random_range(0..ENTRY_KEYS.len())];
            let (parent_path, name) = path.rsplit_once('.').unwrap_or(("", path));
            let Some(t) = table_at(doc, parent_path) else { return };
            if !t.contains_key(name) {
                t.insert(name, Item::ArrayOfTables(ArrayOfTables::new()));
            }
            let Some(a) = t.get_mut(name).and_then(Item::as_array_of_tables_mut) else { return };
            let mut entry = match a.iter().next() {
                Some(first) if rng.random_bool(0.5) => first.clone(),
                _ => Table::new(),
            };
            for _ in 0..rng.random_range(1..4) {
                let key = pick(rng, keys);
                entry.insert(key, Item::Value(value_for(rng, key)));
            }
            a.push(entry);
        }
        // Rewrite the strategy list.
        _ => {
            doc.insert("strategies", Item::Value(strategies(rng)));
        }
    }
}

/// One raw mutation of `bytes`.
fn raw(rng: &mut impl Rng, bytes: &mut Vec<u8>) {
    let lines = |b: &[u8]| -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, &c) in b.iter().enumerate() {
            if c == b'\n' {
                out.push((start, i + 1));
                start = i + 1;
            }
        }
        if start < b.len() {
            out.push((start, b.len()));
        }
        out
    };
    let ls = lines(bytes);
    match rng.random_range(0..11) {
        // Delete a line.
        0 if !ls.is_empty() => {
            let (a, b) = ls[rng.random_range(0..ls.len())];
            bytes.drain(a..b);
        }
        // Duplicate a line.
        1 if !ls.is_empty() => {
            let (a, b) = ls[rng.random_range(0..ls.len())];
            let line = bytes[a..b].to_vec();
            bytes.splice(b..b, line);
        }
        // Swap two lines.
        2 if ls.len() >= 2 => {
            let i = rng.random_range(0..ls.len());
            let j = rng.random_range(0..ls.len());
            let (i, j) = (i.min(j), i.max(j));
            if i != j {
                let (a, b) = ls[i];
                let (c, d) = ls[j];
                let mut out = bytes[..a].to_vec();
                out.extend_from_slice(&bytes[c..d]);
                out.extend_from_slice(&bytes[b..c]);
                out.extend_from_slice(&bytes[a..b]);
                out.extend_from_slice(&bytes[d..]);
                *bytes = out;
            }
        }
        // Truncate (at a random byte, or mid-line).
        3 if !bytes.is_empty() => {
            let at = rng.random_range(0..bytes.len());
            bytes.truncate(at);
        }
        // Replace a number in the text by one of NUMBERS, as written.
        4..=6 => {
            let starts: Vec<usize> = (0..bytes.len())
                .filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()))
                .collect();
            if starts.is_empty() {
                return;
            }
            let a = starts[rng.random_range(0..starts.len())];
            let b = (a..bytes.len())
                .find(|&i| !(bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_'))
                .unwrap_or(bytes.len());
            let with = if rng.random_bool(0.3) { pick(rng, DURATIONS) } else { pick(rng, NUMBERS) };
            bytes.splice(a..b, with.bytes());
        }
        // Insert bytes: invalid UTF-8, NUL, TOML punctuation.
        7 => {
            const JUNK: &[&[u8]] =
                &[b"\xff", b"\xc3", b"\xe2\x82", b"\0", b"\"", b"[", b"]]", b"=", b"\n", b"{", b"#", b"'''", b"\\u"];
            let at = rng.random_range(0..=bytes.len());
            let junk = JUNK[rng.random_range(0..JUNK.len())];
            bytes.splice(at..at, junk.iter().copied());
        }
        // Flip a byte.
        8 if !bytes.is_empty() => {
            let at = rng.random_range(0..bytes.len());
            bytes[at] ^= 1 << rng.random_range(0..8);
        }
        // Repeat a line many times.
        9 if !ls.is_empty() => {
            let (a, b) = ls[rng.random_range(0..ls.len())];
            let line = bytes[a..b].to_vec();
            let n = rng.random_range(2..200);
            let more: Vec<u8> = line.iter().copied().cycle().take(line.len() * n).collect();
            bytes.splice(b..b, more);
        }
        _ => {
            if !bytes.is_empty() {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
        }
    }
}

/// A mutant of `seed`: one to five mutations (one half the time), structured (on the parsed
/// document, when it parses) or raw.
pub(crate) fn mutate(rng: &mut impl Rng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    // One mutation half the time, two a quarter, ... at most five: mostly near-valid inputs.
    let n = 1 + (rng.random::<u32>().trailing_zeros() as usize).min(4);
    for _ in 0..n {
        let parsed = std::str::from_utf8(&bytes).ok().and_then(|t| t.parse::<DocumentMut>().ok());
        match parsed {
            Some(mut doc) if rng.random_bool(0.6) => {
                structured(rng, &mut doc);
                bytes = doc.to_string().into_bytes();
            }
            _ => raw(rng, &mut bytes),
        }
    }
    bytes
}

/// A raw mutant of `seed` (a trace, a CSV or JSON file lbsim reads back): one to five raw
/// mutations.
pub(crate) fn mutate_raw(rng: &mut impl Rng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    let n = 1 + (rng.random::<u32>().trailing_zeros() as usize).min(4);
    for _ in 0..n {
        raw(rng, &mut bytes);
    }
    bytes
}
