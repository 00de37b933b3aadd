//! The deterministic time.

use rand::Rng;

use super::check_positive;
use crate::workload::service::{Family, MEAN, Param, ParamError};

/// Always exactly the same time (cv = 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deterministic {
    value: f64,
}

impl Deterministic {
    /// Always `value` seconds (> 0).
    pub fn new(value: f64) -> Result<Self, ParamError> {
        check_positive("mean", value, Self::NAME)?;
        Ok(Deterministic { value })
    }
}

impl Family for Deterministic {
    const NAME: &'static str = "deterministic";
    const PARAMS: &'static [Param] = &[MEAN];
    const NOT_TAKEN: &'static [(&'static str, &'static str)] = &[("cv", "a deterministic time has cv 0")];

    fn from_values(v: &[f64]) -> Result<Self, ParamError> {
        Self::new(v[0])
    }

    fn values(&self) -> Vec<f64> {
        vec![self.value]
    }

    #[inline(always)]
    fn sample<R: Rng + ?Sized>(&self, _rng: &mut R) -> f64 {
        self.value
    }

    fn mean(&self) -> f64 {
        self.value
    }

    fn cv(&self) -> f64 {
        0.0
    }
}
