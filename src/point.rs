//! A point: a scenario with some keys set to values on top of its text (a point of a sweep,
//! a candidate count of a plan), seeded by those values.
//!
//! The seed of a point is `seeds::point_seed(seed, "key=value;...")`: the scenario's seed
//! mixed with the canonical text of the values ([`canonical`]), not their position, so a
//! point's results are the same whichever other points run with it, and a plan's candidate
//! `servers[G].count = S` is the sweep point `--vary servers[G].count=S`.

use crate::scenario::Overrides;
use crate::scenario::edit::{KeyPath, KeyValue, ScenarioText};
use crate::scenario::{Scenario, ScenarioError};
use crate::workload::seeds::point_seed;

/// `key=value;key=value` with canonical keys and values (durations in seconds): the text a
/// point's seed derives from.
pub fn canonical<'a>(pairs: impl Iterator<Item = (&'a str, KeyValue)>) -> String {
    pairs
        .map(|(k, v)| match v {
            KeyValue::Integer(i) => format!("{k}={i}"),
            KeyValue::Float(x) => format!("{k}={x}"),
            KeyValue::Duration(s) => format!("{k}={s}s"),
            KeyValue::Text(t) => format!("{k}={t}"),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// The scenario of `text` with `sets` set in its text, then `overrides`, seeded by the
/// values of `seeded_by` (the varied keys: all of `sets` for a sweep, the count for a plan).
pub fn build(
    text: &ScenarioText,
    sets: &[(&KeyPath, KeyValue)],
    overrides: &Overrides,
    seeded_by: &[(&KeyPath, KeyValue)],
) -> Result<Scenario, ScenarioError> {
    let mut sc = text.with(sets)?;
    overrides.apply(&mut sc)?;
    sc.seed = point_seed(sc.seed, &canonical(seeded_by.iter().map(|(k, v)| (k.canonical.as_str(), *v))));
    Ok(sc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_names_keys_and_values() {
        let pairs = [("arrivals.rate", KeyValue::Float(250.5)), ("servers[0].count", KeyValue::Integer(4))];
        assert_eq!(canonical(pairs.into_iter()), "arrivals.rate=250.5;servers[0].count=4");
        assert_eq!(canonical(std::iter::once(("service.mean", KeyValue::Duration(0.01)))), "service.mean=0.01s");
    }
}
