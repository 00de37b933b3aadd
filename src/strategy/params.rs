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
}
