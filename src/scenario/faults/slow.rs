//! `slow_at` (… `slow_until`) with `slowdown`: a gray failure.

use serde::Serialize;

use super::{Effect, FaultError, FaultKind, Kind, Written};

/// A gray failure: the server keeps serving, `factor` times slower (requests already in
/// service are stretched from that instant).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Slow {
    /// Service-time multiplier (5.0 = five times slower).
    #[serde(rename = "slowdown")]
    pub factor: f64,
}

impl Written for Slow {
    const NOUN: &'static str = "a slowdown";
    const EXAMPLE: &'static str = "`slow_at = \"20s\"` with `slowdown` (a gray failure)";
    const START: &'static str = "slow_at";
    const END: Option<&'static str> = Some("slow_until");
    const PARAMS: &'static [&'static str] = &["slowdown"];

    fn build(values: &[Option<f64>], _sizes: &[Option<super::Size>]) -> Result<FaultKind, FaultError> {
        match values[0] {
            None => Err((None, "a slowdown needs `slowdown = 5.0` (service takes that many times longer)".into())),
            Some(factor) if !(factor.is_finite() && factor > 0.0) => {
                Err((Some("slowdown"), format!("must be a positive number, got {factor}")))
            }
            Some(factor) => Ok(FaultKind::Slow(Slow { factor })),
        }
    }
}

impl Kind for Slow {
    fn effect(&self) -> Effect {
        Effect::Slowdown(self.factor)
    }

    fn describe(&self) -> String {
        format!("{}× slower", self.factor)
    }

    fn phase(&self) -> String {
        format!("slowdown x{}", format!("{:.3}", self.factor).trim_end_matches('0').trim_end_matches('.'))
    }

    fn legend(&self) -> &'static str {
        "slowed"
    }
}
