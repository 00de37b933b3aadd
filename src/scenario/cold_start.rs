//! A group's cold start (`[[servers]] cold_start`, `cold_start_slowdown`): a server that
//! has just (re)started serves slower, the slowdown decaying linearly to none over the
//! period. The engine applies it (`engine/cold_start.rs`).

use super::ScenarioError;
use super::schema::RawServerGroup;

/// A group's cold start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColdStart {
    /// How long a (re)started server takes to warm up, s.
    pub period: f64,
    /// Service-time multiplier right after the start (decaying linearly to 1 over the
    /// period).
    pub slowdown: f64,
}

impl ColdStart {
    /// The service-time multiplier `t` seconds after the start:
    /// 1 + (slowdown − 1) × (1 − t ÷ period), 1 from the period on.
    pub fn multiplier(&self, t: f64) -> f64 {
        1.0 + (self.slowdown - 1.0) * (1.0 - t / self.period).max(0.0)
    }
}

/// Reads a group's cold-start keys; `key` names a key of the group. `cold_start = "0s"` is
/// none (so that a sweep can turn it off).
pub(super) fn validate(g: &RawServerGroup, key: &dyn Fn(&str) -> String) -> Result<Option<ColdStart>, ScenarioError> {
    let Some(period) = g.cold_start else {
        if g.cold_start_slowdown.is_some() {
            return Err(ScenarioError::at(
                key("cold_start_slowdown"),
                "needs `cold_start` (the warm-up period), e.g. cold_start = \"60s\"",
            ));
        }
        return Ok(None);
    };
    let period = period.secs();
    let Some(slowdown) = g.cold_start_slowdown else {
        return Err(ScenarioError::at(key("cold_start"), "needs `cold_start_slowdown`, e.g. 3.0")
            .with_help("the service-time multiplier right after a (re)start, decaying to 1 over the period"));
    };
    if !(slowdown.is_finite() && (1.0..=1000.0).contains(&slowdown)) {
        return Err(ScenarioError::at(key("cold_start_slowdown"), format!("must be from 1 to 1000, got {slowdown}"))
            .with_help("the service-time multiplier right after a (re)start (3.0: three times slower)"));
    }
    Ok((period > 0.0).then_some(ColdStart { period, slowdown }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowdown_decays_linearly_over_the_period() {
        let c = ColdStart { period: 60.0, slowdown: 3.0 };
        assert_eq!(c.multiplier(0.0), 3.0);
        assert_eq!(c.multiplier(30.0), 2.0);
        assert_eq!(c.multiplier(60.0), 1.0);
        assert_eq!(c.multiplier(600.0), 1.0);
    }
}
