//! The uniform distribution.

use rand::Rng;
use rand::distr::StandardUniform;
use rand_distr::Distribution;

use crate::workload::service::{Family, MAX, MIN, Param, ParamError};

/// Uniform on `[min, max)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uniform {
    min: f64,
    max: f64,
    width: f64,
}

impl Uniform {
    /// Uniform on `[min, max)` seconds, `0 <= min < max`.
    pub fn new(min: f64, max: f64) -> Result<Self, ParamError> {
        if !(min.is_finite() && min >= 0.0) {
            return Err(ParamError::new("min", format!("min must be a finite number >= 0 for uniform (got {min})")));
        }
        if !(max.is_finite() && max > min) {
            return Err(ParamError::new(
                "max",
                format!("max must be a finite number > min for uniform (got min {min}, max {max})"),
            ));
        }
        Ok(Uniform { min, max, width: max - min })
    }
}

impl Family for Uniform {
    const NAME: &'static str = "uniform";
    const PARAMS: &'static [Param] = &[MIN, MAX];

    fn from_values(v: &[f64]) -> Result<Self, ParamError> {
        Self::new(v[0], v[1])
    }

    fn values(&self) -> Vec<f64> {
        vec![self.min, self.max]
    }

    #[inline(always)]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u: f64 = StandardUniform.sample(rng);
        self.width.mul_add(u, self.min)
    }

    fn mean(&self) -> f64 {
        0.5 * (self.min + self.max)
    }

    fn cv(&self) -> f64 {
        (self.max - self.min) / (3f64.sqrt() * (self.max + self.min))
    }
}
