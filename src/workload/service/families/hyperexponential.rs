//! The two-phase hyperexponential distribution.

use rand::Rng;
use rand::distr::StandardUniform;
use rand_distr::{Distribution, Exp1};

use super::{CV_MAX, check_derived, check_positive};
use crate::workload::service::{CV, Family, MEAN, Param, ParamError};

/// Two-phase hyperexponential with balanced means (`cv > 1`):
/// `p = ½(1 + √((cv² − 1)/(cv² + 1)))`, rate `2p/m` with probability `p` and rate
/// `2(1−p)/m` with probability `1 − p`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HyperExponential {
    mean: f64,
    cv: f64,
    /// Probability of the fast (short) phase.
    p: f64,
    /// Mean of the fast phase, `m / (2p)`.
    scale_fast: f64,
    /// Mean of the slow phase, `m / (2(1 − p))`.
    scale_slow: f64,
}

impl HyperExponential {
    /// Hyperexponential with mean `mean` seconds (> 0) and coefficient of variation `cv` in
    /// (1, [`CV_MAX`]].
    pub fn new(mean: f64, cv: f64) -> Result<Self, ParamError> {
        check_positive("mean", mean, Self::NAME)?;
        let bad = |m: String| Err(ParamError::new("cv", m));
        if !cv.is_finite() {
            return bad(format!("cv must be a finite number in (1, {CV_MAX}] for hyperexponential (got {cv})"));
        } else if cv <= 1.0 {
            return bad(format!("cv must be > 1 for hyperexponential (got {cv}); use exponential for cv = 1"));
        } else if cv > CV_MAX {
            return bad(format!("cv must be <= {CV_MAX} for hyperexponential (got {cv})"));
        }
        let cv2 = cv * cv;
        let r = (cv2 - 1.0) / (cv2 + 1.0);
        // 1 − p computed without cancellation: ½(1 − √r) = (1 − r) / (2(1 + √r)).
        let q = 1.0 / ((cv2 + 1.0) * (1.0 + r.sqrt()));
        let p = 1.0 - q;
        let (scale_fast, scale_slow) = (mean / (2.0 * p), mean / (2.0 * q));
        check_derived(Self::NAME, p.is_finite() && scale_fast.is_finite() && scale_slow.is_finite(), || {
            format!("mean {mean} s, cv {cv}")
        })?;
        Ok(HyperExponential { mean, cv, p, scale_fast, scale_slow })
    }

    /// (p, mean of the fast phase, mean of the slow phase), for the tests.
    #[cfg(test)]
    pub(crate) fn phases(&self) -> (f64, f64, f64) {
        (self.p, self.scale_fast, self.scale_slow)
    }
}

impl Family for HyperExponential {
    const NAME: &'static str = "hyperexponential";
    const PARAMS: &'static [Param] = &[MEAN, CV];

    fn from_values(v: &[f64]) -> Result<Self, ParamError> {
        Self::new(v[0], v[1])
    }

    fn values(&self) -> Vec<f64> {
        vec![self.mean, self.cv]
    }

    #[inline(always)]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u: f64 = StandardUniform.sample(rng);
        let scale = if u < self.p { self.scale_fast } else { self.scale_slow };
        let e: f64 = Exp1.sample(rng);
        e * scale
    }

    fn mean(&self) -> f64 {
        self.mean
    }

    fn cv(&self) -> f64 {
        self.cv
    }

    fn warning(&self) -> Option<String> {
        let cv = self.cv;
        (cv > 10.0).then(|| {
            format!(
                "hyperexponential with cv > 10 (got {cv}): the long-job phase is rare \
                 (probability {:.2e}), so long runs are needed to see it",
                1.0 / ((cv * cv + 1.0) * (1.0 + ((cv * cv - 1.0) / (cv * cv + 1.0)).sqrt()))
            )
        })
    }
}
