//! `--vary KEY=VALUES`: a scenario key and the values it takes.
//!
//! VALUES is a range `a:b:n` (n values from a to b inclusive, evenly spaced), a
//! logarithmic range `log:a:b:n` (evenly spaced in log scale), or a list `a,b,c`. Numbers
//! are given in the key's type: integers for counts, durations with a unit for times
//! (`5ms:50ms:10`).

use crate::duration::parse_duration;
use crate::scenario::ScenarioError;
use crate::scenario::ValueKind as Kind;
use crate::scenario::edit::{KeyPath, KeyValue, ScenarioText};

/// The most values one `--vary` may give (a guard against typos such as `1:1000:100000`).
pub const MAX_VALUES: usize = 10_000;

/// One `--vary`: a resolved key and its values, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Vary {
    /// The key.
    pub key: KeyPath,
    /// VALUES as written.
    pub spec: String,
    /// The values.
    pub values: Vec<KeyValue>,
    /// Whether the values were given as a logarithmic range (charts use a log axis).
    pub log: bool,
}

impl Vary {
    /// Parses `KEY=VALUES` against a scenario.
    pub fn parse(text: &ScenarioText, arg: &str) -> Result<Vary, ScenarioError> {
        let Some((key, spec)) = arg.split_once('=') else {
            return Err(ScenarioError::at(
                "--vary",
                format!("`{arg}` is not KEY=VALUES; e.g. arrivals.rate=100:1000:10 or servers.web.count=4,8,16"),
            ));
        };
        let (key, spec) = (key.trim(), spec.trim());
        let key = text.resolve(key)?;
        let err = |why: String| ScenarioError::at(key.written.clone(), format!("`{spec}`: {why}"));
        let (values, log) = parse_values(spec, key.kind).map_err(err)?;
        Ok(Vary { key, spec: spec.to_string(), values, log })
    }

    /// The CSV column holding this key's value (durations in milliseconds: `service.mean_ms`).
    pub fn column(&self) -> String {
        match self.key.kind {
            Kind::Duration => format!("{}_ms", self.key.written),
            _ => self.key.written.clone(),
        }
    }

    /// The CSV cell of a value (durations in milliseconds).
    pub fn cell(&self, v: KeyValue) -> String {
        match v {
            KeyValue::Integer(i) => i.to_string(),
            KeyValue::Float(x) => x.to_string(),
            KeyValue::Duration(s) => round_sig(s * 1e3).to_string(),
            KeyValue::Text(t) => t.to_string(),
        }
    }
}

/// Parses VALUES for a key of type `kind`; returns the values and whether they are a log range.
pub fn parse_values(spec: &str, kind: Kind) -> Result<(Vec<KeyValue>, bool), String> {
    if spec.is_empty() {
        return Err("no values: give a range a:b:n, log:a:b:n, or a list a,b,c".into());
    }
    if let Kind::Choice(names) = kind {
        return choices(spec, names);
    }
    let (log, body) = match spec.strip_prefix("log:") {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let values = if body.contains(':') {
        let parts: Vec<&str> = body.split(':').map(str::trim).collect();
        let [a, b, n] = parts.as_slice() else {
            return Err(format!(
                "a range is {}a:b:n (n values from a to b), got `{spec}`",
                if log { "log:" } else { "" }
            ));
        };
        let a_text = *a;
        let a = number(a, kind)?;
        let b = number(b, kind)?;
        let n: usize = n.replace('_', "").parse().map_err(|_| format!("n must be a whole number, got `{n}`"))?;
        if n < 2 {
            // The single value as the user wrote it (with its unit: `5ms`, not `0.005`).
            return Err(format!("a range needs n ≥ 2 values, got {n}; for a single value write just `{a_text}`"));
        }
        range(a, b, n, log, kind)?
    } else if log {
        return Err("log: takes a range, log:a:b:n".into());
    } else {
        body.split(',')
            .map(|t| {
                let x = number(t.trim(), kind)?;
                typed(x, kind).ok_or_else(|| format!("this key takes integers, got {x}"))
            })
            .collect::<Result<Vec<_>, String>>()?
    };
    if values.len() > MAX_VALUES {
        return Err(format!("{} values; at most {MAX_VALUES}", values.len()));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(format!("the value {v} is given twice"));
        }
    }
    Ok((values, log))
}

/// VALUES of a text key: a list of its names (`random,deterministic`), each once.
fn choices(spec: &str, names: &'static [&'static str]) -> Result<(Vec<KeyValue>, bool), String> {
    let mut out = Vec::new();
    for t in spec.split(',').map(str::trim) {
        let Some(&name) = names.iter().find(|n| **n == t) else {
            let mut why = if t.is_empty() {
                "an empty value".to_string()
            } else {
                format!("`{t}` is not one of {}", names.join(", "))
            };
            if let Some(s) = crate::suggest::did_you_mean(t, names.iter().copied()) {
                why.push_str(&format!(" (did you mean `{s}`?)"));
            }
            return Err(format!("{why}; this key takes a list of names, e.g. {}", names.join(",")));
        };
        if out.contains(&KeyValue::Text(name)) {
            return Err(format!("the value {name} is given twice"));
        }
        out.push(KeyValue::Text(name));
    }
    Ok((out, false))
}

/// One number of VALUES, in the key's unit (durations in seconds).
fn number(t: &str, kind: Kind) -> Result<f64, String> {
    if t.is_empty() {
        return Err("an empty value".into());
    }
    let x = match kind {
        Kind::Duration => parse_duration(t)?,
        _ => t.replace('_', "").parse::<f64>().map_err(|_| format!("`{t}` is not {}", kind.describe()))?,
    };
    if !x.is_finite() {
        return Err(format!("`{t}` is not a finite number"));
    }
    Ok(x)
}

/// The value of `x` in the key's type, if it has one (integers must be whole).
fn typed(x: f64, kind: Kind) -> Option<KeyValue> {
    match kind {
        Kind::Integer => {
            let r = x.round();
            ((x - r).abs() <= 1e-9 * r.abs().max(1.0) && r.abs() < 9e15).then_some(KeyValue::Integer(r as i64))
        }
        Kind::Float => Some(KeyValue::Float(x)),
        Kind::Duration => Some(KeyValue::Duration(x)),
        Kind::Choice(_) => None,
    }
}

/// Rounds to 12 significant digits, so that `0.1:0.9:9` gives 0.3 and not 0.30000000000000004.
pub fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() { x } else { format!("{x:.11e}").parse().expect("formatted float") }
}

fn range(a: f64, b: f64, n: usize, log: bool, kind: Kind) -> Result<Vec<KeyValue>, String> {
    if n < 2 {
        return Err(format!("a range needs n ≥ 2 values, got {n}; for a single value write just `{a}`"));
    }
    if n > MAX_VALUES {
        return Err(format!("n = {n} values; at most {MAX_VALUES}"));
    }
    if a == b {
        return Err("a range needs a ≠ b".into());
    }
    if log && (a <= 0.0 || b <= 0.0) {
        return Err("a log range needs a > 0 and b > 0".into());
    }
    let at = |i: usize| {
        let f = i as f64 / (n - 1) as f64;
        if i == n - 1 {
            b
        } else if log {
            round_sig(a * (b / a).powf(f))
        } else {
            round_sig(a + (b - a) * f)
        }
    };
    let xs: Vec<f64> = (0..n).map(at).collect();
    if kind != Kind::Integer {
        return Ok(xs.into_iter().map(|x| typed(x, kind).expect("not integer")).collect());
    }
    if typed(a, kind).is_none() || typed(b, kind).is_none() {
        return Err("this key takes integers: a and b must be whole numbers".into());
    }
    if log {
        // Log-spaced integers are rounded to the nearest whole number (1, 2, 5, 10, 22, ...).
        let vals: Vec<KeyValue> = xs.iter().map(|x| KeyValue::Integer(x.round() as i64)).collect();
        if vals.windows(2).any(|w| w[0] == w[1]) {
            return Err(format!(
                "log:{a}:{b}:{n} repeats integers once rounded; use fewer values (n ≤ {})",
                (b - a).abs() as usize + 1
            ));
        }
        return Ok(vals);
    }
    if let Some(bad) = xs.iter().find(|&&x| typed(x, kind).is_none()) {
        let span = (b - a).abs() as u64;
        // n values step by a whole number when n − 1 divides b − a: the nearest such n
        // below and above the one given.
        let ok = |m: &u64| span.is_multiple_of(m - 1);
        let below = (2..n as u64).rev().find(ok);
        let above = (n as u64 + 1..=MAX_VALUES as u64).find(ok);
        let fits: Vec<u64> = below.into_iter().chain(above).collect();
        let fits: Vec<String> = fits.iter().map(|m| format!("{a}:{b}:{m}")).collect();
        return Err(format!(
            "this key takes integers, but {a}:{b}:{n} steps by {} (gives {bad}); the step (b−a)/(n−1) must be whole{}",
            round_sig((b - a) / (n - 1) as f64),
            if fits.is_empty() { String::new() } else { format!(": e.g. {}", fits.join(", ")) }
        ));
    }
    Ok(xs.into_iter().map(|x| typed(x, kind).expect("checked")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(spec: &str) -> Vec<f64> {
        parse_values(spec, Kind::Float).unwrap().0.iter().map(|v| v.as_f64()).collect()
    }

    #[test]
    fn ranges_and_lists() {
        assert_eq!(f("100:1000:10"), vec![100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0]);
        assert_eq!(f("0.1:0.9:9")[2], 0.3);
        assert_eq!(f("1,2.5,10"), vec![1.0, 2.5, 10.0]);
        assert_eq!(f("log:1:1000:4"), vec![1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(f("1000:100:2"), vec![1000.0, 100.0]);
        assert_eq!(f("7"), vec![7.0]);
    }

    #[test]
    fn integers_must_be_whole() {
        let (v, _) = parse_values("2:10:5", Kind::Integer).unwrap();
        assert_eq!(v, [2, 4, 6, 8, 10].map(KeyValue::Integer));
        let e = parse_values("1:10:5", Kind::Integer).unwrap_err();
        assert!(e.contains("steps by 2.25") && e.contains("1:10:4") && e.contains("1:10:10"), "{e}");
        assert!(parse_values("1.5,2", Kind::Integer).is_err());
        let (v, _) = parse_values("log:1:100:5", Kind::Integer).unwrap();
        assert_eq!(v, [1, 3, 10, 32, 100].map(KeyValue::Integer));
        assert!(parse_values("log:1:4:10", Kind::Integer).unwrap_err().contains("repeats"));
    }

    #[test]
    fn durations_need_units() {
        let (v, _) = parse_values("5ms:20ms:4", Kind::Duration).unwrap();
        assert_eq!(v.iter().map(|v| v.as_f64()).collect::<Vec<_>>(), vec![0.005, 0.01, 0.015, 0.02]);
        assert!(parse_values("5:20:4", Kind::Duration).unwrap_err().contains("unit"));
    }

    #[test]
    fn bad_specs_explain() {
        for (spec, what) in [
            ("1:2", "a:b:n"),
            ("1:2:1", "n ≥ 2"),
            ("1:1:3", "a ≠ b"),
            ("log:0:10:3", "a > 0"),
            ("1,1", "twice"),
            ("x,2", "not a number"),
            ("1:2:x", "whole number"),
            ("", "no values"),
            ("1:2:100000", "at most"),
        ] {
            let e = parse_values(spec, Kind::Float).unwrap_err();
            assert!(e.contains(what), "{spec}: {e}");
        }
    }

    #[test]
    fn a_key_of_names_takes_a_list_of_them() {
        let kinds = Kind::Choice(&["random", "deterministic", "aperture"]);
        let (v, log) = parse_values("random, deterministic", kinds).unwrap();
        assert_eq!((v, log), (vec![KeyValue::Text("random"), KeyValue::Text("deterministic")], false));
        for (bad, words) in [
            ("random,determinstic", "did you mean `deterministic`?"),
            ("random:aperture:2", "is not one of random, deterministic, aperture"),
            ("random,random", "given twice"),
            ("random,", "an empty value"),
            ("", "no values"),
        ] {
            let e = parse_values(bad, kinds).unwrap_err();
            assert!(e.contains(words), "{bad}: {e}");
        }
    }
}
