//! Strategy parameters, as written in the scenario (`{ name = "p2c", choices = 3 }`).

use std::collections::BTreeMap;

/// What a strategy parameter's value is: its type, default and range, declared once and
/// read by the strategy's constructor ([`Params::int_of`] and the like), `lbsim strategies`,
/// the scenario's validation and the memory budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamType {
    /// An integer in `min..=max`.
    Int {
        /// Its value when not given.
        default: u64,
        /// Least allowed.
        min: u64,
        /// Most allowed.
        max: u64,
    },
    /// A finite number in `min..=max`.
    Number {
        /// Its value when not given.
        default: f64,
        /// Least allowed.
        min: f64,
        /// Most allowed.
        max: f64,
    },
    /// A duration, s, in `min..=max`, written with a unit (`"10s"`) or as seconds.
    Duration {
        /// Its value when not given, s.
        default: f64,
        /// Least allowed, s.
        min: f64,
        /// Most allowed, s.
        max: f64,
    },
    /// One of a list of names.
    Choice {
        /// Its value when not given.
        default: &'static str,
        /// The names allowed.
        allowed: &'static [&'static str],
    },
}

/// A parameter a strategy accepts: for `lbsim strategies`, validation, the constructor and
/// the budget.
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    /// Key in the inline table.
    pub name: &'static str,
    /// What it means and what is allowed.
    pub help: &'static str,
    /// Its type, default and range.
    pub ty: ParamType,
}

impl ParamInfo {
    /// Its default as written in a scenario: `160`, `0.95`, `"10s"`, `"nginx"`.
    pub fn default_text(&self) -> String {
        match self.ty {
            ParamType::Int { default, .. } => default.to_string(),
            ParamType::Number { default, .. } => format!("{default:?}"),
            ParamType::Duration { default, .. } => format!("\"{}\"", crate::duration::format_duration(default)),
            ParamType::Choice { default, .. } => format!("\"{default}\""),
        }
    }

    /// Whether its values are integers.
    pub fn is_integer(&self) -> bool {
        matches!(self.ty, ParamType::Int { .. })
    }
}

/// A strategy parameter that is out of range or of the wrong type.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    /// The parameter's key.
    pub param: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// The parameters given to one strategy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<String, toml::Value>,
}

impl Params {
    /// Parameters from key/value pairs.
    pub fn new(values: BTreeMap<String, toml::Value>) -> Self {
        Params { values }
    }

    /// Whether no parameter was given.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The keys given.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The given values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &toml::Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The integer parameter `p` (its declared default when absent).
    ///
    /// # Panics
    /// If `p` is not an integer parameter (a strategy's own declaration).
    pub fn int_of(&self, p: &ParamInfo) -> Result<u64, ParamError> {
        let ParamType::Int { min, max, .. } = p.ty else { panic!("{} is not an integer parameter", p.name) };
        self.int_between(p, min, max)
    }

    /// The integer parameter `p` within `min..=max`, a range narrower than its declared one
    /// that depends on the servers or another parameter (its declared default when absent).
    ///
    /// # Panics
    /// If `p` is not an integer parameter (a strategy's own declaration).
    pub fn int_between(&self, p: &ParamInfo, min: u64, max: u64) -> Result<u64, ParamError> {
        let ParamType::Int { default, .. } = p.ty else { panic!("{} is not an integer parameter", p.name) };
        self.int(p.name, default, min, max)
    }

    /// The number parameter `p` (its declared default when absent).
    ///
    /// # Panics
    /// If `p` is not a number parameter (a strategy's own declaration).
    pub fn number_of(&self, p: &ParamInfo) -> Result<f64, ParamError> {
        let ParamType::Number { default, min, max } = p.ty else { panic!("{} is not a number parameter", p.name) };
        self.float(p.name, default, min, max)
    }

    /// The duration parameter `p`, s (its declared default when absent).
    ///
    /// # Panics
    /// If `p` is not a duration parameter (a strategy's own declaration).
    pub fn duration_of(&self, p: &ParamInfo) -> Result<f64, ParamError> {
        let ParamType::Duration { default, min, max } = p.ty else { panic!("{} is not a duration parameter", p.name) };
        self.duration(p.name, default, min, max)
    }

    /// The choice parameter `p` (its declared default when absent).
    ///
    /// # Panics
    /// If `p` is not a choice parameter (a strategy's own declaration).
    pub fn choice_of(&self, p: &ParamInfo) -> Result<&'static str, ParamError> {
        let ParamType::Choice { default, allowed } = p.ty else { panic!("{} is not a choice parameter", p.name) };
        self.choice(p.name, default, allowed)
    }

    /// An integer parameter in `min..=max`, or `default` when absent.
    fn int(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, ParamError> {
        let Some(v) = self.values.get(name) else {
            return Ok(default);
        };
        let err = |m: String| ParamError { param: name.to_string(), message: m };
        let Some(i) = v.as_integer() else {
            return Err(err(format!("must be an integer from {min} to {max}, got {v}")));
        };
        if i < 0 || (i as u64) < min || (i as u64) > max {
            return Err(err(format!("must be an integer from {min} to {max}, got {i}")));
        }
        Ok(i as u64)
    }

    /// A finite number parameter in `min..=max`, or `default` when absent.
    fn float(&self, name: &str, default: f64, min: f64, max: f64) -> Result<f64, ParamError> {
        let Some(v) = self.values.get(name) else {
            return Ok(default);
        };
        let err = |m: String| ParamError { param: name.to_string(), message: m };
        let x = match v {
            toml::Value::Float(f) => *f,
            toml::Value::Integer(i) => *i as f64,
            _ => return Err(err(format!("must be a number from {min} to {max}, got {v}"))),
        };
        if !x.is_finite() || x < min || x > max {
            return Err(err(format!("must be a number from {min} to {max}, got {x}")));
        }
        Ok(x)
    }

    /// Whether parameter `name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// A string parameter that must be one of `allowed`, or `default` when absent.
    fn choice(&self, name: &str, default: &'static str, allowed: &[&'static str]) -> Result<&'static str, ParamError> {
        let Some(v) = self.values.get(name) else {
            return Ok(default);
        };
        let err = |m: String| ParamError { param: name.to_string(), message: m };
        let list = allowed.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ");
        let Some(text) = v.as_str() else {
            return Err(err(format!("must be one of {list}, got {v}")));
        };
        allowed.iter().find(|a| **a == text).copied().ok_or_else(|| {
            let hint = crate::suggest::did_you_mean(text, allowed.iter().copied())
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            err(format!("must be one of {list}, got \"{text}\"{hint}"))
        })
    }

    /// A duration parameter in seconds, written with a unit (`"10s"`, `"250ms"`) or as a
    /// number of seconds; must lie in `min..=max`; `default` when absent.
    fn duration(&self, name: &str, default: f64, min: f64, max: f64) -> Result<f64, ParamError> {
        let Some(v) = self.values.get(name) else {
            return Ok(default);
        };
        let err = |m: String| ParamError { param: name.to_string(), message: m };
        let range = || {
            use crate::duration::format_duration;
            format!("from {} to {}", format_duration(min), format_duration(max))
        };
        let secs = match v {
            toml::Value::String(t) => crate::duration::parse_duration(t).map_err(err)?,
            toml::Value::Float(f) => *f,
            toml::Value::Integer(i) => *i as f64,
            _ => return Err(err(format!("must be a duration such as \"10s\", {}, got {v}", range()))),
        };
        if !secs.is_finite() || secs < min || secs > max {
            return Err(err(format!("must be a duration {}, got {v}", range())));
        }
        Ok(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(k: &str, v: toml::Value) -> Params {
        Params::new([(k.to_string(), v)].into_iter().collect())
    }

    #[test]
    fn choice_and_duration() {
        let p = one("variant", toml::Value::String("ipvs".into()));
        assert_eq!(p.choice("variant", "haproxy", &["haproxy", "ipvs"]).unwrap(), "ipvs");
        let bad = one("variant", toml::Value::String("ipv".into())).choice("variant", "haproxy", &["haproxy", "ipvs"]);
        assert!(bad.unwrap_err().message.contains("did you mean \"ipvs\""));
        let d = one("decay", toml::Value::String("250ms".into()));
        assert_eq!(d.duration("decay", 10.0, 1e-3, 3600.0).unwrap(), 0.25);
        assert_eq!(one("decay", toml::Value::Integer(3)).duration("decay", 1.0, 0.0, 10.0).unwrap(), 3.0);
        assert!(one("decay", toml::Value::String("0s".into())).duration("decay", 1.0, 1e-3, 10.0).is_err());
    }
}
