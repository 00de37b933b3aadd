//! Strategy parameters, as written in the scenario (`{ name = "p2c", choices = 3 }`).

use std::collections::BTreeMap;

/// A parameter a strategy accepts, for `lbsim strategies` and for validation.
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    /// Key in the inline table.
    pub name: &'static str,
    /// What it means and what is allowed.
    pub help: &'static str,
    /// Default value, as text.
    pub default: &'static str,
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

    /// An integer parameter in `min..=max`, or `default` when absent.
    pub fn int(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, ParamError> {
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
    pub fn float(&self, name: &str, default: f64, min: f64, max: f64) -> Result<f64, ParamError> {
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
    pub fn choice(
        &self,
        name: &str,
        default: &'static str,
        allowed: &[&'static str],
    ) -> Result<&'static str, ParamError> {
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
    pub fn duration(&self, name: &str, default: f64, min: f64, max: f64) -> Result<f64, ParamError> {
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
