//! Durations written with units: `"250us"`, `"10ms"`, `"1.5s"`, `"2m"`, `"24h"`.
//!
//! Shared by every layer (scenario files, strategy parameters, command-line values,
//! reports), so it depends on nothing else in the crate.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A non-negative duration in seconds, parsed from a string with a unit.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Duration(pub f64);

impl Duration {
    /// Seconds.
    pub fn secs(self) -> f64 {
        self.0
    }
}

/// The units a duration may carry, with their length in seconds.
pub const UNITS: &[(&str, f64)] = &[
    ("ns", 1e-9),
    ("us", 1e-6),
    ("µs", 1e-6),
    ("ms", 1e-3),
    ("s", 1.0),
    ("min", 60.0),
    ("m", 60.0),
    ("h", 3600.0),
    ("d", 86400.0),
];

/// The longest duration accepted, s (10⁹ s, about 31.7 years): longer ones can only be
/// typos, and would overflow the times they are added to (`"1e308s"`).
pub const MAX_DURATION: f64 = 1e9;

/// Parses `"10ms"`-style durations into seconds.
///
/// The number may be fractional; the unit is required (a bare number is ambiguous). At most
/// [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_' || c == 'e' || c == 'E' || c == '+' || c == '-'))
        .unwrap_or(t.len());
    // `e` can also start no unit we know, but "1e3ms" style needs it in the number part.
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    if num.is_empty() {
        return Err(format!("`{text}` is not a duration: expected a number and a unit, e.g. \"10ms\""));
    }
    let value: f64 =
        num.replace('_', "").parse().map_err(|_| format!("`{text}` is not a duration: `{num}` is not a number"))?;
    if unit.is_empty() {
        return Err(format!("`{text}` has no unit: write e.g. \"{num}ms\" or \"{num}s\" (units: ns, us, ms, s, m, h)"));
    }
    let Some((_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!("`{text}`: unknown unit `{unit}` (allowed: ns, us, ms, s, m, h, d)"));
    };
    let secs = value * scale;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{text}`: a duration must be finite and not negative"));
    }
    if secs > MAX_DURATION {
        return Err(format!("`{text}`: a duration is at most 1e9s (about 31.7 years)"));
    }
    Ok(secs)
}

/// Formats seconds with a readable unit (`1.5ms`, `250us`, `2s`).
pub fn format_duration(secs: f64) -> String {
    let (v, u) = if secs >= 1.0 || secs == 0.0 {
        (secs, "s")
    } else if secs >= 1e-3 {
        (secs * 1e3, "ms")
    } else if secs >= 1e-6 {
        (secs * 1e6, "us")
    } else {
        (secs * 1e9, "ns")
    };
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{u}")
}

/// A number as a message shows it: plainly from 10⁻⁴ to 10⁹, in scientific notation
/// beyond (`5e-324`, not 324 decimals).
pub fn format_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() || (1e-4..1e9).contains(&x.abs()) { format!("{x}") } else { format!("{x:e}") }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string with a unit, e.g. \"10ms\", \"250us\", \"1.5s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map(Duration).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                Err(E::custom(format!("a duration needs a unit: write \"{v}ms\" or \"{v}s\", not a bare number")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                Err(E::custom(format!("a duration needs a unit: write \"{v}ms\" or \"{v}s\", not a bare number")))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("10ms").unwrap(), 0.01);
        assert!((parse_duration("250us").unwrap() - 250e-6).abs() < 1e-18);
        assert_eq!(parse_duration("1.5s").unwrap(), 1.5);
        assert_eq!(parse_duration("2m").unwrap(), 120.0);
        assert_eq!(parse_duration("24h").unwrap(), 86400.0);
        assert_eq!(parse_duration("0ms").unwrap(), 0.0);
        assert_eq!(parse_duration(" 1_000 us ").unwrap(), 1e-3);
    }

    #[test]
    fn rejects_bad() {
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("10 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("-5ms").is_err());
        assert!(parse_duration("1..2s").is_err());
        assert!(parse_duration("1e308s").unwrap_err().contains("at most 1e9s"));
        assert_eq!(parse_duration("1e9s").unwrap(), 1e9);
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(format_number(5e-324), "5e-324");
        assert_eq!(format_number(2.0), "2");
        assert_eq!(format_number(-1.0), "-1");
        assert_eq!(format_number(1e308), "1e308");
        assert_eq!(format_number(f64::NAN), "NaN");
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(0.01), "10ms");
        assert_eq!(format_duration(1.5), "1.5s");
        assert_eq!(format_duration(250e-6), "250us");
    }
}
