//! The exponential distribution.

use rand::Rng;
use rand_distr::{Distribution, Exp};

use super::{cannot_build, check_positive};
use crate::workload::service::{Family, MEAN, Param, ParamError};

/// Exponential with the given mean (cv = 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exponential {
    mean: f64,
    dist: Exp<f64>,
}

impl Exponential {
    /// Exponential with mean `mean` seconds (> 0).
    pub fn new(mean: f64) -> Result<Self, ParamError> {
        check_positive("mean", mean, Self::NAME)?;
        let dist = Exp::new(1.0 / mean).map_err(|e| cannot_build(Self::NAME, "rate", e))?;
        Ok(Exponential { mean, dist })
    }
}

impl Family for Exponential {
    const NAME: &'static str = "exponential";
    const PARAMS: &'static [Param] = &[MEAN];
    const NOT_TAKEN: &'static [(&'static str, &'static str)] =
        &[("cv", "the exponential's cv is always 1; use gamma, lognormal, weibull or hyperexponential for another cv")];

    fn from_values(v: &[f64]) -> Result<Self, ParamError> {
        Self::new(v[0])
    }

    fn values(&self) -> Vec<f64> {
        vec![self.mean]
    }

    #[inline(always)]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.dist.sample(rng)
    }

    fn mean(&self) -> f64 {
        self.mean
    }

    fn cv(&self) -> f64 {
        1.0
    }
}
