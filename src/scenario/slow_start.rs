//! A group's slow start: its window and the balancer whose ramp it follows
//! (`[[servers]] slow_start`, `slow_start_model`, `slow_start_aggression`,
//! `slow_start_min_weight_percent`). The engine computes the ramp (`engine/slow_start.rs`).

use super::ScenarioError;
use super::schema::RawServerGroup;
use crate::suggest::did_you_mean;

/// Whose slow start a group follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SlowStartModel {
    /// lbsim's generic ramp (nginx Plus `slow_start` as documented): the weight from 1/20
    /// to full in 20 equal steps over the window; not for `hash`, `ip-hash`, `random` and
    /// `weighted-random`, as nginx Plus refuses it with those methods.
    Steps,
    /// HAProxy `slowstart` (`server_recalc_eweight`, src/server.c): the effective weight
    /// `uweight × ⌊(16 × elapsed + S) ÷ S⌋` (whole seconds; S the window rounded up to a
    /// second), recomputed every second.
    Haproxy,
    /// Envoy `slow_start_config` (`EdfLoadBalancerBase::applySlowStartFactor`):
    /// `weight × max(min_weight, (t ÷ window)^(1 ÷ aggression))`.
    Envoy {
        /// `aggression` (> 0; 1 = linear).
        aggression: f64,
        /// `min_weight_percent` ÷ 100.
        min_weight: f64,
    },
    /// AWS Application Load Balancer `slow_start.duration_seconds`: the share grows
    /// linearly over the window.
    Alb,
}

/// The model names, as written in `slow_start_model`.
pub const SLOW_START_MODELS: [&str; 4] = ["steps", "haproxy", "envoy", "alb"];

impl SlowStartModel {
    /// The name written in `slow_start_model`.
    pub fn name(&self) -> &'static str {
        match self {
            SlowStartModel::Steps => "steps",
            SlowStartModel::Haproxy => "haproxy",
            SlowStartModel::Envoy { .. } => "envoy",
            SlowStartModel::Alb => "alb",
        }
    }
}

/// A group's slow start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowStart {
    /// The window, s (HAProxy's rounded up to whole seconds, as it stores it).
    pub window: f64,
    /// Whose ramp.
    pub model: SlowStartModel,
}

/// Reads a group's slow-start keys; `key` names a key of the group.
pub(super) fn validate(g: &RawServerGroup, key: &dyn Fn(&str) -> String) -> Result<Option<SlowStart>, ScenarioError> {
    let Some(window) = g.slow_start else {
        for k in ["slow_start_model", "slow_start_aggression", "slow_start_min_weight_percent"] {
            let given = match k {
                "slow_start_model" => g.slow_start_model.is_some(),
                "slow_start_aggression" => g.slow_start_aggression.is_some(),
                _ => g.slow_start_min_weight_percent.is_some(),
            };
            if given {
                return Err(ScenarioError::at(key(k), "needs `slow_start` (the window), e.g. slow_start = \"60s\""));
            }
        }
        return Ok(None);
    };
    // "0s" is none, as in nginx, HAProxy and ALB (so that a sweep can turn it off).
    let mut window = window.secs();
    let off = window == 0.0;
    let name = g.slow_start_model.as_deref().unwrap_or("steps");
    let envoy_only = |k: &str, given: bool| -> Result<(), ScenarioError> {
        if given && name != "envoy" {
            return Err(ScenarioError::at(key(k), format!("is Envoy's; slow_start_model is `{name}`"))
                .with_help("set slow_start_model = \"envoy\" or remove the key"));
        }
        Ok(())
    };
    envoy_only("slow_start_aggression", g.slow_start_aggression.is_some())?;
    envoy_only("slow_start_min_weight_percent", g.slow_start_min_weight_percent.is_some())?;
    let model = match name {
        "steps" => SlowStartModel::Steps,
        "haproxy" => {
            // srv_parse_slowstart: `(ms + 999) / 1000`, whole seconds.
            let ms = (window * 1000.0).round();
            if !off && ms < 1.0 {
                // srv_parse_slowstart: PARSE_TIME_UNDER.
                return Err(ScenarioError::at(
                    key("slow_start"),
                    "is below 1ms, HAProxy's smallest non-null slowstart",
                )
                .with_help("HAProxy counts slowstart in whole seconds (rounded up): e.g. \"1s\""));
            }
            window = (ms / 1000.0).ceil();
            SlowStartModel::Haproxy
        }
        "envoy" => {
            let aggression = g.slow_start_aggression.unwrap_or(1.0);
            if !(aggression.is_finite() && aggression > 0.0 && aggression <= 1000.0) {
                return Err(ScenarioError::at(
                    key("slow_start_aggression"),
                    format!("must be above 0 (at most 1000), got {aggression}"),
                )
                .with_help("Envoy's `aggression`: 1 is linear, larger ramps faster at first"));
            }
            let percent = g.slow_start_min_weight_percent.unwrap_or(10.0);
            if !(0.0..=100.0).contains(&percent) {
                return Err(ScenarioError::at(
                    key("slow_start_min_weight_percent"),
                    format!("must be from 0 to 100, got {percent}"),
                )
                .with_help("Envoy's `min_weight_percent` (default 10)"));
            }
            SlowStartModel::Envoy { aggression, min_weight: percent / 100.0 }
        }
        "alb" => {
            if !off && !(30.0..=900.0).contains(&window) {
                return Err(ScenarioError::at(
                    key("slow_start"),
                    format!("must be from 30s to 900s for ALB, got {window}s"),
                )
                .with_help("AWS takes slow_start.duration_seconds from 30 to 900"));
            }
            SlowStartModel::Alb
        }
        other => {
            let e = ScenarioError::at(key("slow_start_model"), format!("unknown slow-start model `{other}`"));
            return Err(match did_you_mean(other, SLOW_START_MODELS) {
                Some(s) => e.with_help(format!("did you mean `{s}`?")),
                None => e.with_help(format!(
                    "one of: {} (steps: 20 equal steps; the others as those balancers compute it)",
                    SLOW_START_MODELS.join(", ")
                )),
            });
        }
    };
    Ok((!off).then_some(SlowStart { window, model }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn parse(keys: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(
            &format!(
                "requests = 100\nstrategies = [\"round-robin\"]\n[arrivals]\nprocess = \"poisson\"\nrate = 10.0\n\
                 [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"a\"\n{keys}"
            ),
            None,
        )
    }

    fn error(keys: &str) -> String {
        let e = parse(keys).unwrap_err();
        format!("{e}")
    }

    #[test]
    fn models_and_their_defaults() {
        let ss = |keys: &str| parse(keys).unwrap().groups[0].slow_start.unwrap();
        assert_eq!(ss("slow_start = \"30s\"").model, SlowStartModel::Steps);
        let e = ss("slow_start = \"30s\"\nslow_start_model = \"envoy\"");
        assert_eq!(e.model, SlowStartModel::Envoy { aggression: 1.0, min_weight: 0.1 });
        // HAProxy keeps whole seconds, rounded up.
        assert_eq!(ss("slow_start = \"2500ms\"\nslow_start_model = \"haproxy\"").window, 3.0);
        assert_eq!(ss("slow_start = \"1ms\"\nslow_start_model = \"haproxy\"").window, 1.0);
        assert!(error("slow_start = \"1us\"\nslow_start_model = \"haproxy\"").contains("below 1ms"));
        // "0s" is none, whatever the model.
        assert_eq!(parse("slow_start = \"0s\"\nslow_start_model = \"alb\"").unwrap().groups[0].slow_start, None);
    }

    #[test]
    fn bad_keys_are_refused_at_their_key() {
        assert!(error("slow_start_model = \"envoy\"").contains("needs `slow_start`"));
        assert!(error("slow_start = \"30s\"\nslow_start_model = \"envoi\"").contains("did you mean `envoy`"));
        assert!(error("slow_start = \"30s\"\nslow_start_aggression = 2.0").contains("is Envoy's"));
        let e = error("slow_start = \"30s\"\nslow_start_model = \"envoy\"\nslow_start_aggression = 0.0");
        assert!(e.contains("slow_start_aggression") && e.contains("above 0"), "{e}");
        assert!(error("slow_start = \"10s\"\nslow_start_model = \"alb\"").contains("30s to 900s"));
        let e = error(
            "slow_start = \"30s\"\nslow_start_model = \"envoy\"\n[[servers]]\nname = \"b\"\nslow_start = \"30s\"\n\
             slow_start_model = \"haproxy\"",
        );
        assert!(e.contains("another group's is `envoy`"), "{e}");
    }
}
