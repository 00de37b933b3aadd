//! The Weibull distribution.

use rand::Rng;
use rand_distr::{Distribution, Exp1};

use super::{check_derived, check_positive, heavy_tail_warning};
use crate::workload::service::special::{check_weibull_cv, gamma, weibull_shape_from_cv};
use crate::workload::service::{CV, Family, MEAN, Param, ParamError};

/// Weibull with the given mean and coefficient of variation: shape `k` solves
/// `cv² = Γ(1+2/k)/Γ(1+1/k)² − 1` (bisection on `ln k`), scale `λ = m/Γ(1 + 1/k)`.
/// Sampled as `λ·E^(1/k)` with `E ~ Exp(1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weibull {
    mean: f64,
    cv: f64,
    /// λ.
    scale: f64,
    /// 1/k.
    inv_shape: f64,
}

impl Weibull {
    /// Weibull with mean `mean` seconds (> 0) and coefficient of variation `cv` in
    /// [[`WEIBULL_CV_MIN`](crate::workload::service::WEIBULL_CV_MIN), [`WEIBULL_CV_MAX`](crate::workload::service::WEIBULL_CV_MAX)].
    pub fn new(mean: f64, cv: f64) -> Result<Self, ParamError> {
        check_positive("mean", mean, Self::NAME)?;
        check_weibull_cv(cv).map_err(|m| ParamError::new("cv", m))?;
        let k = weibull_shape_from_cv(cv).map_err(|m| ParamError::new("cv", m))?;
        let (scale, inv_shape) = (mean / gamma(1.0 + 1.0 / k), 1.0 / k);
        check_derived(Self::NAME, scale.is_finite() && scale > 0.0 && inv_shape.is_finite(), || {
            format!("mean {mean} s, cv {cv}")
        })?;
        Ok(Weibull { mean, cv, scale, inv_shape })
    }
}

impl Family for Weibull {
    const NAME: &'static str = "weibull";
    const PARAMS: &'static [Param] = &[MEAN, CV];

    fn from_values(v: &[f64]) -> Result<Self, ParamError> {
        Self::new(v[0], v[1])
    }

    fn values(&self) -> Vec<f64> {
        vec![self.mean, self.cv]
    }

    #[inline(always)]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let e: f64 = Exp1.sample(rng);
        self.scale * e.powf(self.inv_shape)
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
