//! The gamma distribution.

use rand::Rng;
use rand_distr::Distribution;

use super::{cannot_build, check_cv, check_positive};
use crate::workload::service::{CV, Family, MEAN, Param, ParamError};

/// Gamma with the given mean and coefficient of variation: shape `k = 1/cv²`, scale
/// `θ = m·cv²`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gamma {
    mean: f64,
    cv: f64,
    dist: rand_distr::Gamma<f64>,
}

impl Gamma {
    /// Gamma with mean `mean` seconds (> 0) and coefficient of variation `cv` in
    /// (0, [`CV_MAX`](crate::workload::service::CV_MAX)].
    pub fn new(mean: f64, cv: f64) -> Result<Self, ParamError> {
        check_positive("mean", mean, Self::NAME)?;
        check_cv(cv, Self::NAME)?;
        let cv2 = cv * cv;
        let dist =
            rand_distr::Gamma::new(1.0 / cv2, mean * cv2).map_err(|e| cannot_build(Self::NAME, "shape, scale", e))?;
        Ok(Gamma { mean, cv, dist })
    }
}

impl Family for Gamma {
    const NAME: &'static str = "gamma";
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
        (self.cv > 10.0).then(|| {
            format!(
                "gamma with cv > 10 (got {}) has shape < 0.01: most samples are \
                 extremely close to 0 and may round to 0.0",
                self.cv
            )
        })
    }
}
