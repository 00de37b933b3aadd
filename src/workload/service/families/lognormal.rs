//! The lognormal distribution.

use rand::Rng;
use rand_distr::Distribution;

use super::{cannot_build, check_cv, check_positive, heavy_tail_warning};
use crate::workload::service::{CV, Family, MEAN, Param, ParamError};

/// Lognormal with the given mean and coefficient of variation: `σ² = ln(1 + cv²)`,
/// `μ_ln = ln m − σ²/2`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogNormal {
    mean: f64,
    cv: f64,
    dist: rand_distr::LogNormal<f64>,
}

impl LogNormal {
    /// Lognormal with mean `mean` seconds (> 0) and coefficient of variation `cv` in
    /// (0, [`CV_MAX`](crate::workload::service::CV_MAX)].
    pub fn new(mean: f64, cv: f64) -> Result<Self, ParamError> {
        check_positive("mean", mean, Self::NAME)?;
        check_cv(cv, Self::NAME)?;
        let sigma2 = cv.mul_add(cv, 1.0).ln();
        let mu = mean.ln() - 0.5 * sigma2;
        let dist =
            rand_distr::LogNormal::new(mu, sigma2.sqrt()).map_err(|e| cannot_build(Self::NAME, "mu, sigma", e))?;
        Ok(LogNormal { mean, cv, dist })
    }
}

impl Family for LogNormal {
    const NAME: &'static str = "lognormal";
    const PARAMS: &'static [Param] = &[MEAN, CV];

    fn from_values(v: &[f64]) -> Result<Self, ParamError> {
        Self::new(v[0], v[1])
    }

    fn values(&self) -> Vec<f64> {
        vec![self.mean, self.cv]
    }

    #[inline(always)]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.dist.sample(rng)
    }

    fn mean(&self) -> f64 {
        self.mean
    }

    fn cv(&self) -> f64 {
        self.cv
    }

    fn warning(&self) -> Option<String> {
        heavy_tail_warning(Self::NAME, self.cv)
    }
}
