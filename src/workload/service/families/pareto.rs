//! The Pareto distribution.

use rand::Rng;
use rand_distr::{Distribution, Exp1};

use super::{check_derived, check_positive};
use crate::workload::service::{ALPHA, Family, MEAN, Param, ParamError};

/// Pareto (type I) with the given mean and tail index `α > 1`: scale
/// `x_m = m(α − 1)/α`. Sampled as `x_m·exp(E/α)` with `E ~ Exp(1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pareto {
    mean: f64,
    alpha: f64,
    /// x_m.
    scale: f64,
    /// 1/α.
    inv_alpha: f64,
}

impl Pareto {
    /// Pareto with mean `mean` seconds (> 0) and tail index `alpha` > 1 (so that the mean
    /// is finite; the variance is infinite for `alpha <= 2`).
    pub fn new(mean: f64, alpha: f64) -> Result<Self, ParamError> {
        check_positive("mean", mean, Self::NAME)?;
        if !alpha.is_finite() {
            return Err(ParamError::new(
                "alpha",
                format!("alpha must be a finite number > 1 for pareto (got {alpha})"),
            ));
        }
        if alpha <= 1.0 {
            return Err(ParamError::new(
                "alpha",
                format!("alpha must be > 1 for pareto (got {alpha}); alpha <= 1 has an infinite mean"),
            ));
        }
        let (scale, inv_alpha) = (mean * (alpha - 1.0) / alpha, 1.0 / alpha);
        check_derived(Self::NAME, scale.is_finite() && scale > 0.0 && inv_alpha.is_finite(), || {
            format!("mean {mean} s, alpha {alpha}")
        })?;
        Ok(Pareto { mean, alpha, scale, inv_alpha })
    }
}

impl Family for Pareto {
    const NAME: &'static str = "pareto";
    const PARAMS: &'static [Param] = &[MEAN, ALPHA];

    fn from_values(v: &[f64]) -> Result<Self, ParamError> {
        Self::new(v[0], v[1])
    }

    fn values(&self) -> Vec<f64> {
        vec![self.mean, self.alpha]
    }

    #[inline(always)]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let e: f64 = Exp1.sample(rng);
        self.scale * (e * self.inv_alpha).exp()
    }

    fn mean(&self) -> f64 {
        self.mean
    }

    /// `f64::INFINITY` for `alpha <= 2`.
    fn cv(&self) -> f64 {
        let alpha = self.alpha;
        if alpha > 2.0 { 1.0 / (alpha * (alpha - 2.0)).sqrt() } else { f64::INFINITY }
    }

    /// `E[S^k]` is finite exactly for `k < α`: with `α ≤ 2` the variance is infinite, with
    /// `α ≤ 3` the third moment (what the variance of a queue's wait depends on). The
    /// warnings this implies are the report's (`Warning::MeanDoesNotExist`,
    /// `Warning::MeanCiUnreliable`).
    fn moments(&self) -> f64 {
        self.alpha
    }
}
