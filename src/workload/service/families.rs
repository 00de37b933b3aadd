//! The distribution families, one type each: the parameters as written, everything the
//! sampler derives from them (computed once, in `new`), and how it samples.
//!
//! Exponential, lognormal and gamma use `rand_distr`'s `Exp`, `LogNormal` and `Gamma`.
//! Weibull, Pareto and hyperexponential are exact transforms of one `rand_distr::Exp1`
//! (ziggurat) draw: `λ·E^(1/k)`, `x_m·exp(E/α)` and a phase-scaled `E`. Measured, that is
//! 2–4× faster than `rand_distr::Weibull` / `Pareto` (which call `powf` on a uniform and,
//! without `rand_distr`'s `std_math` feature, use the pure-Rust `libm`).

use rand::Rng;
use rand::distr::StandardUniform;
use rand_distr::{Distribution, Exp, Exp1};

use super::special::{check_weibull_cv, gamma, weibull_shape_from_cv};
use super::{ALPHA, CV, Family, MAX, MEAN, MIN, Param, ParamError};

/// Largest coefficient of variation accepted for the lognormal, gamma and
/// hyperexponential distributions (beyond this the distributions degenerate
/// numerically: gamma shape underflows, hyperexponential branch probability
/// becomes vanishingly small).
pub const CV_MAX: f64 = 1000.0;

/// Error unless `v` is finite and > 0.
fn check_positive(param: &'static str, v: f64, dist: &str) -> Result<(), ParamError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ParamError::new(param, format!("{param} must be a finite number > 0 for {dist} (got {v})")))
    }
}

/// Error unless `v` is finite and in `(0, CV_MAX]`.
fn check_cv(v: f64, dist: &str) -> Result<(), ParamError> {
    if v.is_finite() && v > 0.0 && v <= CV_MAX {
        Ok(())
    } else {
        Err(ParamError::new("cv", format!("cv must be a finite number in (0, {CV_MAX}] for {dist} (got {v})")))
    }
}

/// A `rand_distr` constructor's error, as the error of the family's mean.
fn cannot_build(dist: &str, what: &str, e: impl std::fmt::Display) -> ParamError {
    ParamError::new("mean", format!("cannot build {dist} sampler ({what}): {e}"))
}

/// Error unless every derived parameter is finite (huge means can overflow them).
fn check_derived(dist: &str, finite: bool, params: &dyn std::fmt::Debug) -> Result<(), ParamError> {
    if finite {
        Ok(())
    } else {
        Err(ParamError::new("mean", format!("cannot build {dist} sampler: derived parameters overflow ({params:?})")))
    }
}

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
    /// (0, [`CV_MAX`]].
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

/// The warning of the lognormal and Weibull distributions with cv > 10.
fn heavy_tail_warning(name: &str, cv: f64) -> Option<String> {
    (cv > 10.0).then(|| {
        format!(
            "{name} with cv > 10 (got {cv}) is very heavy-tailed: sample means and \
                 high percentiles converge slowly"
        )
    })
}

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
    /// (0, [`CV_MAX`]].
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
    /// [[`WEIBULL_CV_MIN`](super::WEIBULL_CV_MIN), [`WEIBULL_CV_MAX`](super::WEIBULL_CV_MAX)].
    pub fn new(mean: f64, cv: f64) -> Result<Self, ParamError> {
        check_positive("mean", mean, Self::NAME)?;
        check_weibull_cv(cv).map_err(|m| ParamError::new("cv", m))?;
        let k = weibull_shape_from_cv(cv).map_err(|m| ParamError::new("cv", m))?;
        let (scale, inv_shape) = (mean / gamma(1.0 + 1.0 / k), 1.0 / k);
        check_derived(Self::NAME, scale.is_finite() && scale > 0.0 && inv_shape.is_finite(), &(mean, cv))?;
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
        check_derived(Self::NAME, scale.is_finite() && scale > 0.0 && inv_alpha.is_finite(), &(mean, alpha))?;
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

    fn warning(&self) -> Option<String> {
        (self.alpha <= 2.0).then(|| {
            format!(
                "Pareto with alpha <= 2 (got {}) has infinite variance: \
                 sample means and percentiles converge slowly",
                self.alpha
            )
        })
    }
}

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
        check_derived(Self::NAME, p.is_finite() && scale_fast.is_finite() && scale_slow.is_finite(), &(mean, cv))?;
        Ok(HyperExponential { mean, cv, p, scale_fast, scale_slow })
    }

    /// (p, mean of the fast phase, mean of the slow phase), for the tests.
    #[cfg(test)]
    pub(super) fn phases(&self) -> (f64, f64, f64) {
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
