//! Service-time (and think-time) distributions for the simulator.
//!
//! [`ServiceDist`] is the user-facing description, written the way a person
//! thinks about a workload (a mean plus a coefficient of variation, a shape, or
//! a range). [`ServiceDist::sampler`] validates it and turns it into a
//! [`Sampler`]: a small `Copy` enum over `rand_distr` distributions with every
//! derived parameter precomputed, so drawing a sample is a single `match` plus
//! the underlying distribution's own work (no allocation, no dynamic dispatch).
//!
//! All times are in seconds (`f64`).
//!
//! Parameterisations (mean `m`, coefficient of variation `cv`):
//! - Lognormal: `σ² = ln(1 + cv²)`, `μ_ln = ln m − σ²/2`.
//! - Gamma: shape `k = 1/cv²`, scale `θ = m·cv²`.
//! - Weibull: shape `k` solves `cv² = Γ(1+2/k)/Γ(1+1/k)² − 1` (bisection on
//!   `ln k`), scale `λ = m/Γ(1 + 1/k)`.
//! - Pareto (shape `α > 1`): scale `x_m = m(α − 1)/α`.
//! - Hyperexponential, two phases with balanced means (`cv > 1`):
//!   `p = ½(1 + √((cv² − 1)/(cv² + 1)))`, rate `2p/m` with probability `p`
//!   and rate `2(1−p)/m` with probability `1 − p`.
//!
//! This module depends only on `rand` and `rand_distr`; it has no other ties
//! to the crate it lives in.

use rand::distr::StandardUniform;
use rand_distr::{Distribution, Exp, Exp1, Gamma, LogNormal};

/// Smallest coefficient of variation accepted for [`ServiceDist::Weibull`].
pub const WEIBULL_CV_MIN: f64 = 0.01;
/// Largest coefficient of variation accepted for [`ServiceDist::Weibull`].
pub const WEIBULL_CV_MAX: f64 = 50.0;
/// Largest coefficient of variation accepted for the lognormal, gamma and
/// hyperexponential distributions (beyond this the distributions degenerate
/// numerically: gamma shape underflows, hyperexponential branch probability
/// becomes vanishingly small).
pub const CV_MAX: f64 = 1000.0;

/// Bracket for the Weibull shape solver: `cv(WEIBULL_K_LO) ≈ 3.2e14`, far
/// above [`WEIBULL_CV_MAX`]; `cv(WEIBULL_K_HI) ≈ 1.3e-3`, far below
/// [`WEIBULL_CV_MIN`].
const WEIBULL_K_LO: f64 = 0.02;
const WEIBULL_K_HI: f64 = 1000.0;

/// A service-time (or think-time) distribution, parameterised as a user writes
/// it. All times in seconds (f64).
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceDist {
    /// Exponential with the given mean (cv = 1).
    Exponential {
        /// Mean, seconds; must be > 0.
        mean: f64,
    },
    /// Always exactly `value` (cv = 0).
    Deterministic {
        /// The constant time, seconds; must be > 0.
        value: f64,
    },
    /// Uniform on `[min, max)`.
    Uniform {
        /// Lower bound, seconds; must be >= 0.
        min: f64,
        /// Upper bound, seconds; must be > `min`.
        max: f64,
    },
    /// Lognormal with the given mean and coefficient of variation.
    LogNormal {
        /// Mean, seconds; must be > 0.
        mean: f64,
        /// Coefficient of variation; must be in (0, [`CV_MAX`]].
        cv: f64,
    },
    /// Gamma with the given mean and coefficient of variation.
    Gamma {
        /// Mean, seconds; must be > 0.
        mean: f64,
        /// Coefficient of variation; must be in (0, [`CV_MAX`]].
        cv: f64,
    },
    /// Weibull with the given mean and coefficient of variation.
    Weibull {
        /// Mean, seconds; must be > 0.
        mean: f64,
        /// Coefficient of variation; must be in
        /// [[`WEIBULL_CV_MIN`], [`WEIBULL_CV_MAX`]].
        cv: f64,
    },
    /// Pareto (type I) with the given mean and tail index.
    Pareto {
        /// Mean, seconds; must be > 0.
        mean: f64,
        /// Shape (tail index); must be > 1 so the mean is finite. The
        /// variance is infinite for `alpha <= 2`.
        alpha: f64,
    },
    /// Two-phase hyperexponential with balanced means.
    HyperExponential {
        /// Mean, seconds; must be > 0.
        mean: f64,
        /// Coefficient of variation; must be in (1, [`CV_MAX`]].
        cv: f64,
    },
}

/// Error unless `v` is finite and > 0.
fn check_positive(what: &str, v: f64, dist: &str) -> Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{what} must be a finite number > 0 for {dist} (got {v})"))
    }
}

/// Error unless `v` is finite and in `(0, CV_MAX]`.
fn check_cv(v: f64, dist: &str) -> Result<(), String> {
    if v.is_finite() && v > 0.0 && v <= CV_MAX {
        Ok(())
    } else {
        Err(format!("cv must be a finite number in (0, {CV_MAX}] for {dist} (got {v})"))
    }
}

impl ServiceDist {
    /// Short lower-case name of the distribution family, as used in messages
    /// (e.g. `"hyperexponential"`).
    pub fn name(&self) -> &'static str {
        match self {
            ServiceDist::Exponential { .. } => "exponential",
            ServiceDist::Deterministic { .. } => "deterministic",
            ServiceDist::Uniform { .. } => "uniform",
            ServiceDist::LogNormal { .. } => "lognormal",
            ServiceDist::Gamma { .. } => "gamma",
            ServiceDist::Weibull { .. } => "weibull",
            ServiceDist::Pareto { .. } => "pareto",
            ServiceDist::HyperExponential { .. } => "hyperexponential",
        }
    }

    /// Mean of the distribution, seconds. Meaningful only when
    /// [`validate`](Self::validate) succeeds.
    pub fn mean(&self) -> f64 {
        match *self {
            ServiceDist::Exponential { mean }
            | ServiceDist::LogNormal { mean, .. }
            | ServiceDist::Gamma { mean, .. }
            | ServiceDist::Weibull { mean, .. }
            | ServiceDist::Pareto { mean, .. }
            | ServiceDist::HyperExponential { mean, .. } => mean,
            ServiceDist::Deterministic { value } => value,
            ServiceDist::Uniform { min, max } => 0.5 * (min + max),
        }
    }

    /// Coefficient of variation (standard deviation / mean);
    /// `f64::INFINITY` for Pareto with `alpha <= 2`. Meaningful only when
    /// [`validate`](Self::validate) succeeds.
    pub fn cv(&self) -> f64 {
        match *self {
            ServiceDist::Exponential { .. } => 1.0,
            ServiceDist::Deterministic { .. } => 0.0,
            ServiceDist::Uniform { min, max } => (max - min) / (3f64.sqrt() * (max + min)),
            ServiceDist::LogNormal { cv, .. }
            | ServiceDist::Gamma { cv, .. }
            | ServiceDist::Weibull { cv, .. }
            | ServiceDist::HyperExponential { cv, .. } => cv,
            ServiceDist::Pareto { alpha, .. } => {
                if alpha > 2.0 {
                    1.0 / (alpha * (alpha - 2.0)).sqrt()
                } else {
                    f64::INFINITY
                }
            }
        }
    }

    /// Checks parameter ranges. The error message says what is allowed and
    /// what was given, e.g. `"cv must be > 1 for hyperexponential (got 0.5)"`.
    /// Never panics; rejects NaN, infinities, and values <= 0 wherever a
    /// positive value is needed.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name();
        match *self {
            ServiceDist::Exponential { mean } => check_positive("mean", mean, name),
            ServiceDist::Deterministic { value } => check_positive("value", value, name),
            ServiceDist::Uniform { min, max } => {
                if !(min.is_finite() && min >= 0.0) {
                    return Err(format!("min must be a finite number >= 0 for {name} (got {min})"));
                }
                if !(max.is_finite() && max > min) {
                    return Err(format!("max must be a finite number > min for {name} (got min {min}, max {max})"));
                }
                Ok(())
            }
            ServiceDist::LogNormal { mean, cv } | ServiceDist::Gamma { mean, cv } => {
                check_positive("mean", mean, name)?;
                check_cv(cv, name)
            }
            ServiceDist::Weibull { mean, cv } => {
                check_positive("mean", mean, name)?;
                check_weibull_cv(cv)
            }
            ServiceDist::Pareto { mean, alpha } => {
                check_positive("mean", mean, name)?;
                if !alpha.is_finite() {
                    Err(format!("alpha must be a finite number > 1 for {name} (got {alpha})"))
                } else if alpha <= 1.0 {
                    Err(format!("alpha must be > 1 for {name} (got {alpha}); alpha <= 1 has an infinite mean"))
                } else {
                    Ok(())
                }
            }
            ServiceDist::HyperExponential { mean, cv } => {
                check_positive("mean", mean, name)?;
                if !cv.is_finite() {
                    Err(format!("cv must be a finite number in (1, {CV_MAX}] for {name} (got {cv})"))
                } else if cv <= 1.0 {
                    Err(format!("cv must be > 1 for {name} (got {cv}); use exponential for cv = 1"))
                } else if cv > CV_MAX {
                    Err(format!("cv must be <= {CV_MAX} for {name} (got {cv})"))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Builds the sampler (calls [`validate`](Self::validate) first). All
    /// derived parameters (lognormal μ/σ, Weibull shape, branch
    /// probabilities, ...) are computed here, once.
    pub fn sampler(&self) -> Result<Sampler, String> {
        self.validate()?;
        let name = self.name();
        let bad = |what: &str, e: &dyn std::fmt::Display| format!("cannot build {name} sampler ({what}): {e}");
        let kind = match *self {
            ServiceDist::Exponential { mean } => Kind::Exponential(Exp::new(1.0 / mean).map_err(|e| bad("rate", &e))?),
            ServiceDist::Deterministic { value } => Kind::Deterministic(value),
            ServiceDist::Uniform { min, max } => Kind::Uniform { min, width: max - min },
            ServiceDist::LogNormal { mean, cv } => {
                let sigma2 = cv.mul_add(cv, 1.0).ln();
                let mu = mean.ln() - 0.5 * sigma2;
                Kind::LogNormal(LogNormal::new(mu, sigma2.sqrt()).map_err(|e| bad("mu, sigma", &e))?)
            }
            ServiceDist::Gamma { mean, cv } => {
                let cv2 = cv * cv;
                Kind::Gamma(Gamma::new(1.0 / cv2, mean * cv2).map_err(|e| bad("shape, scale", &e))?)
            }
            ServiceDist::Weibull { mean, cv } => {
                let k = weibull_shape_from_cv(cv)?;
                Kind::Weibull { scale: mean / gamma(1.0 + 1.0 / k), inv_shape: 1.0 / k }
            }
            ServiceDist::Pareto { mean, alpha } => {
                Kind::Pareto { scale: mean * (alpha - 1.0) / alpha, inv_alpha: 1.0 / alpha }
            }
            ServiceDist::HyperExponential { mean, cv } => {
                let cv2 = cv * cv;
                let r = (cv2 - 1.0) / (cv2 + 1.0);
                // 1 − p computed without cancellation: ½(1 − √r) = (1 − r) / (2(1 + √r)).
                let q = 1.0 / ((cv2 + 1.0) * (1.0 + r.sqrt()));
                let p = 1.0 - q;
                Kind::HyperExponential { p, scale_fast: mean / (2.0 * p), scale_slow: mean / (2.0 * q) }
            }
        };
        let sampler = Sampler { kind, mean: self.mean() };
        if sampler.params_finite() {
            Ok(sampler)
        } else {
            Err(format!("cannot build {name} sampler: derived parameters overflow ({self:?})"))
        }
    }

    /// Optional human note about parameters that are valid but statistically
    /// awkward, e.g. Pareto with `alpha <= 2` (infinite variance). `None` if
    /// there is nothing to say or the parameters are invalid (see
    /// [`validate`](Self::validate) for those).
    pub fn warning(&self) -> Option<String> {
        if self.validate().is_err() {
            return None;
        }
        match *self {
            ServiceDist::Pareto { alpha, .. } if alpha <= 2.0 => Some(format!(
                "Pareto with alpha <= 2 (got {alpha}) has infinite variance: \
                 sample means and percentiles converge slowly"
            )),
            ServiceDist::Gamma { cv, .. } if cv > 10.0 => Some(format!(
                "gamma with cv > 10 (got {cv}) has shape < 0.01: most samples are \
                 extremely close to 0 and may round to 0.0"
            )),
            ServiceDist::LogNormal { cv, .. } | ServiceDist::Weibull { cv, .. } if cv > 10.0 => Some(format!(
                "{} with cv > 10 (got {cv}) is very heavy-tailed: sample means and \
                     high percentiles converge slowly",
                self.name()
            )),
            ServiceDist::HyperExponential { cv, .. } if cv > 10.0 => Some(format!(
                "hyperexponential with cv > 10 (got {cv}): the long-job phase is rare \
                 (probability {:.2e}), so long runs are needed to see it",
                1.0 / ((cv * cv + 1.0) * (1.0 + ((cv * cv - 1.0) / (cv * cv + 1.0)).sqrt()))
            )),
            _ => None,
        }
    }
}

/// Internal representation of a ready-to-use sampler.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Exponential(Exp<f64>),
    Deterministic(f64),
    Uniform {
        min: f64,
        width: f64,
    },
    LogNormal(LogNormal<f64>),
    Gamma(Gamma<f64>),
    /// Weibull(λ, k) sampled as `λ·E^(1/k)` with `E ~ Exp(1)`.
    Weibull {
        /// λ.
        scale: f64,
        /// 1/k.
        inv_shape: f64,
    },
    /// Pareto(x_m, α) sampled as `x_m·exp(E/α)` with `E ~ Exp(1)`.
    Pareto {
        /// x_m.
        scale: f64,
        /// 1/α.
        inv_alpha: f64,
    },
    HyperExponential {
        /// Probability of the fast (short) phase.
        p: f64,
        /// Mean of the fast phase, `m / (2p)`.
        scale_fast: f64,
        /// Mean of the slow phase, `m / (2(1 − p))`.
        scale_slow: f64,
    },
}

/// Fast sampler built by [`ServiceDist::sampler`]: an enum over `rand_distr`
/// distributions (no `Box<dyn>`), `Copy + Send + Sync`, with all parameters
/// precomputed.
///
/// Exponential, lognormal and gamma use `rand_distr`'s `Exp`, `LogNormal`
/// and `Gamma`. Weibull, Pareto and hyperexponential are exact transforms of
/// one `rand_distr::Exp1` (ziggurat) draw: `λ·E^(1/k)`, `x_m·exp(E/α)` and a
/// phase-scaled `E`. Measured, that is 2–4× faster than `rand_distr::Weibull`
/// / `Pareto` (which call `powf` on a uniform and, without `rand_distr`'s
/// `std_math` feature, use the pure-Rust `libm`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampler {
    kind: Kind,
    mean: f64,
}

impl Sampler {
    /// Draws one sample, seconds (always >= 0).
    #[inline(always)]
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match &self.kind {
            Kind::Exponential(d) => d.sample(rng),
            Kind::Deterministic(v) => *v,
            Kind::Uniform { min, width } => {
                let u: f64 = StandardUniform.sample(rng);
                width.mul_add(u, *min)
            }
            Kind::LogNormal(d) => d.sample(rng),
            Kind::Gamma(d) => d.sample(rng),
            Kind::Weibull { scale, inv_shape } => {
                let e: f64 = Exp1.sample(rng);
                scale * e.powf(*inv_shape)
            }
            Kind::Pareto { scale, inv_alpha } => {
                let e: f64 = Exp1.sample(rng);
                scale * (e * inv_alpha).exp()
            }
            Kind::HyperExponential { p, scale_fast, scale_slow } => {
                let u: f64 = StandardUniform.sample(rng);
                let scale = if u < *p { *scale_fast } else { *scale_slow };
                let e: f64 = Exp1.sample(rng);
                e * scale
            }
        }
    }

    /// Mean of the distribution this sampler draws from, seconds.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// True if every precomputed parameter that we hold directly is finite.
    fn params_finite(&self) -> bool {
        let ok = match self.kind {
            Kind::Uniform { min, width } => min.is_finite() && width.is_finite(),
            Kind::Weibull { scale, inv_shape } => scale.is_finite() && scale > 0.0 && inv_shape.is_finite(),
            Kind::Pareto { scale, inv_alpha } => scale.is_finite() && scale > 0.0 && inv_alpha.is_finite(),
            Kind::HyperExponential { p, scale_fast, scale_slow } => {
                p.is_finite() && scale_fast.is_finite() && scale_slow.is_finite()
            }
            _ => true,
        };
        ok && self.mean.is_finite()
    }
}

// ---------------------------------------------------------------------------
// Gamma function (Lanczos approximation)
// ---------------------------------------------------------------------------

/// Lanczos parameter `g` for [`LANCZOS_COEF`].
const LANCZOS_G: f64 = 7.0;

/// Lanczos coefficients for `g = 7`, `n = 9` (the widely published set, e.g.
/// Numerical Recipes / Wikipedia "Lanczos approximation"). With them the
/// series gives Γ(x) for `x >= 0.5` to a relative error of about 1e-15, and
/// ln Γ(x) to an absolute error of about 1e-15 near its zeros (x = 1, 2) and a
/// relative error of about 1e-15 elsewhere; the tests check 1e-13.
#[allow(clippy::excessive_precision)]
const LANCZOS_COEF: [f64; 9] = [
    0.999_999_999_999_809_93,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_13,
    -176.615_029_162_140_59,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_571_6e-6,
    1.505_632_735_149_311_6e-7,
];

/// Lanczos series `A_g(z)` for `z = x − 1`, `x >= 0.5`.
#[inline]
fn lanczos_sum(z: f64) -> f64 {
    let mut a = LANCZOS_COEF[0];
    for (i, &c) in LANCZOS_COEF.iter().enumerate().skip(1) {
        a += c / (z + i as f64);
    }
    a
}

/// Natural log of the gamma function, `ln Γ(x)`, for `x > 0`, by the Lanczos
/// approximation (g = 7, n = 9; accurate to ~1e-13 or better, see
/// `LANCZOS_COEF`). Uses the reflection formula
/// `Γ(x)Γ(1−x) = π / sin(πx)` for `x < 0.5`. Returns NaN for `x <= 0` or NaN
/// and `+inf` for `x = +inf`.
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    if x < 0.5 {
        // sin(πx) > 0 on (0, 0.5).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let z = x - 1.0;
    let t = z + LANCZOS_G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (z + 0.5) * t.ln() - t + lanczos_sum(z).ln()
}

/// The gamma function Γ(x) by the Lanczos approximation (g = 7, n = 9;
/// relative error ~1e-15 for moderate `x`, see `LANCZOS_COEF`). Defined
/// for all real `x` except the poles `0, −1, −2, …` (NaN there); negative
/// arguments use the reflection formula. Overflows to `+inf` for
/// `x > ~171.6`.
pub fn gamma(x: f64) -> f64 {
    if x.is_nan() || (x <= 0.0 && x == x.floor()) {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return f64::INFINITY;
    }
    if x < 0.5 {
        return std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x));
    }
    let z = x - 1.0;
    let t = z + LANCZOS_G + 0.5;
    // t^(z+0.5) split in two halves so that it does not overflow before e^-t
    // brings it back down.
    let half = t.powf(0.5 * (z + 0.5));
    (2.0 * std::f64::consts::PI).sqrt() * half * (half * (-t).exp()) * lanczos_sum(z)
}

// ---------------------------------------------------------------------------
// Weibull shape from cv
// ---------------------------------------------------------------------------

/// Error unless `cv` is finite and in `[WEIBULL_CV_MIN, WEIBULL_CV_MAX]`.
fn check_weibull_cv(cv: f64) -> Result<(), String> {
    if cv.is_finite() && (WEIBULL_CV_MIN..=WEIBULL_CV_MAX).contains(&cv) {
        Ok(())
    } else {
        Err(format!("cv must be a finite number in [{WEIBULL_CV_MIN}, {WEIBULL_CV_MAX}] for weibull (got {cv})"))
    }
}

/// `ln cv` of a Weibull distribution with shape `k`, computed in log space:
/// `cv² = exp(ln Γ(1+2/k) − 2 ln Γ(1+1/k)) − 1`.
fn weibull_ln_cv(k: f64) -> f64 {
    let d = ln_gamma(1.0 + 2.0 / k) - 2.0 * ln_gamma(1.0 + 1.0 / k);
    0.5 * d.exp_m1().ln()
}

/// Coefficient of variation of a Weibull distribution with shape `k > 0`
/// (independent of the scale): `√(Γ(1+2/k)/Γ(1+1/k)² − 1)`.
pub fn weibull_cv(k: f64) -> f64 {
    weibull_ln_cv(k).exp()
}

/// Solves for the Weibull shape `k` whose coefficient of variation is `cv`,
/// by bisection on `ln k` (cv is strictly decreasing in `k`) run to the
/// resolution of `f64`, over the bracket `k ∈ [0.02, 1000]`. Supports `cv` in
/// [[`WEIBULL_CV_MIN`], [`WEIBULL_CV_MAX`]] (k from about 0.148 to about 127.5);
/// returns an error outside that range.
pub fn weibull_shape_from_cv(cv: f64) -> Result<f64, String> {
    check_weibull_cv(cv)?;
    let target = cv.ln();
    let (mut lo, mut hi) = (WEIBULL_K_LO.ln(), WEIBULL_K_HI.ln());
    // f(ln k) = ln cv(k) − ln target is decreasing: f(lo) > 0 > f(hi).
    let f = |lnk: f64| weibull_ln_cv(lnk.exp()) - target;
    if !(f(lo) > 0.0 && f(hi) < 0.0) {
        return Err(format!("internal error: weibull shape solver bracket does not contain cv {cv}"));
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let fm = f(mid);
        if fm.is_nan() {
            return Err(format!("internal error: weibull cv is NaN at k = {}", mid.exp()));
        }
        if fm > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok((0.5 * (lo + hi)).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    const N: usize = 200_000;
    /// Number of standard errors allowed for the sample mean.
    const Z_MEAN: f64 = 5.0;
    /// Number of (delta-method) standard errors allowed for the sample cv.
    /// Looser than for the mean because the asymptotic normal approximation
    /// for a ratio of moments is less accurate for skewed, heavy-tailed
    /// distributions at finite n.
    const Z_CV: f64 = 6.0;

    fn draw(d: &ServiceDist, seed: u64) -> Vec<f64> {
        let s = d.sampler().unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..N).map(|_| s.sample(&mut rng)).collect()
    }

    fn mean_sd(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
        (m, v.sqrt())
    }

    /// Raw moments E[X^j], j = 1..=4, computed independently from the
    /// reference parameterisations; `None` where the 4th moment is infinite.
    fn raw_moments(d: &ServiceDist) -> Option<[f64; 4]> {
        let pw = |f: &dyn Fn(i32) -> f64| Some([f(1), f(2), f(3), f(4)]);
        match *d {
            ServiceDist::Exponential { mean } => pw(&|j| gamma(f64::from(j) + 1.0) * mean.powi(j)),
            ServiceDist::Deterministic { value } => pw(&|j| value.powi(j)),
            ServiceDist::Uniform { min, max } => {
                pw(&|j| (max.powi(j + 1) - min.powi(j + 1)) / (f64::from(j + 1) * (max - min)))
            }
            ServiceDist::LogNormal { mean, cv } => {
                let s2 = (1.0 + cv * cv).ln();
                let mu = mean.ln() - s2 / 2.0;
                pw(&|j| {
                    let j = f64::from(j);
                    (j * mu + j * j * s2 / 2.0).exp()
                })
            }
            ServiceDist::Gamma { mean, cv } => {
                let k = 1.0 / (cv * cv);
                let th = mean * cv * cv;
                pw(&|j| (0..j).map(|i| k + f64::from(i)).product::<f64>() * th.powi(j))
            }
            ServiceDist::Weibull { mean, cv } => {
                let k = weibull_shape_from_cv(cv).unwrap();
                let lam = mean / gamma(1.0 + 1.0 / k);
                pw(&|j| lam.powi(j) * gamma(1.0 + f64::from(j) / k))
            }
            ServiceDist::Pareto { mean, alpha } => {
                if alpha <= 4.0 {
                    return None;
                }
                let xm = mean * (alpha - 1.0) / alpha;
                pw(&|j| alpha * xm.powi(j) / (alpha - f64::from(j)))
            }
            ServiceDist::HyperExponential { mean, cv } => {
                let c2 = cv * cv;
                let p = 0.5 * (1.0 + ((c2 - 1.0) / (c2 + 1.0)).sqrt());
                let (r1, r2) = (2.0 * p / mean, 2.0 * (1.0 - p) / mean);
                pw(&|j| {
                    let f = gamma(f64::from(j) + 1.0);
                    p * f / r1.powi(j) + (1.0 - p) * f / r2.powi(j)
                })
            }
        }
    }

    /// Checks the sample mean (always) and the sample cv (when the 4th moment
    /// is finite) against the distribution's parameters.
    ///
    /// Mean: |x̄ − m| ≤ 5·σ/√n (needs finite variance).
    /// cv: by the delta method on (x̄, s²),
    /// Var(ĉv) ≈ (cv²/n)·(cv² − γ₁·cv + (β₂ − 1)/4), with γ₁ the skewness and
    /// β₂ the kurtosis; |ĉv − cv| ≤ 6·SE.
    fn check_moments(d: &ServiceDist, seed: u64) {
        let xs = draw(d, seed);
        assert!(xs.iter().all(|x| x.is_finite() && *x >= 0.0), "{d:?}");
        let (m_hat, sd_hat) = mean_sd(&xs);
        let cv_hat = sd_hat / m_hat;
        let (m, cv) = (d.mean(), d.cv());
        let sigma = m * cv;
        let n = N as f64;
        let se_mean = sigma / n.sqrt();
        assert!((m_hat - m).abs() <= Z_MEAN * se_mean, "{d:?}: mean {m_hat} vs {m} (se {se_mean})");
        if let Some([e1, e2, e3, e4]) = raw_moments(d) {
            // The moments from the reference formulas reproduce mean and cv.
            let var = e2 - e1 * e1;
            assert!((e1 - m).abs() <= 1e-9 * m, "{d:?}: E[X] {e1} vs {m}");
            assert!(
                (var.sqrt() / e1 - cv).abs() <= 1e-9 * cv.max(1e-300),
                "{d:?}: moment cv {} vs {cv}",
                var.sqrt() / e1
            );
            let mu3 = e3 - 3.0 * e1 * e2 + 2.0 * e1.powi(3);
            let mu4 = e4 - 4.0 * e1 * e3 + 6.0 * e1 * e1 * e2 - 3.0 * e1.powi(4);
            let skew = mu3 / var.powf(1.5);
            let kurt = mu4 / (var * var);
            let var_cv = cv * cv / n * (cv * cv - skew * cv + (kurt - 1.0) / 4.0);
            let se_cv = var_cv.sqrt();
            assert!((cv_hat - cv).abs() <= Z_CV * se_cv, "{d:?}: cv {cv_hat} vs {cv} (se {se_cv})");
        }
    }

    /// Empirical CDF at each point vs the exact CDF, within 5 binomial
    /// standard errors.
    fn check_cdf(d: &ServiceDist, seed: u64, cdf: impl Fn(f64) -> f64, points: &[f64]) {
        let xs = draw(d, seed);
        let n = N as f64;
        for &x in points {
            let f = cdf(x);
            let emp = xs.iter().filter(|&&s| s <= x).count() as f64 / n;
            let se = (f * (1.0 - f) / n).sqrt();
            assert!((emp - f).abs() <= Z_MEAN * se + 1e-12, "{d:?}: F({x}) empirical {emp} vs {f} (se {se})");
        }
    }

    #[test]
    fn exponential_moments_and_cdf() {
        let d = ServiceDist::Exponential { mean: 0.01 };
        check_moments(&d, 1);
        check_cdf(&d, 2, |x| 1.0 - (-x / 0.01).exp(), &[0.001, 0.005, 0.01, 0.03]);
    }

    #[test]
    fn deterministic_is_constant() {
        let d = ServiceDist::Deterministic { value: 0.005 };
        let xs = draw(&d, 3);
        assert!(xs.iter().all(|&x| x == 0.005));
        assert_eq!(d.cv(), 0.0);
        assert_eq!(d.sampler().unwrap().mean(), 0.005);
    }

    #[test]
    fn uniform_moments_and_cdf() {
        let d = ServiceDist::Uniform { min: 0.001, max: 0.003 };
        check_moments(&d, 4);
        check_cdf(&d, 5, |x| ((x - 0.001) / 0.002).clamp(0.0, 1.0), &[0.0012, 0.002, 0.0029]);
        let xs = draw(&d, 6);
        assert!(xs.iter().all(|&x| (0.001..=0.003).contains(&x)));
    }

    #[test]
    fn lognormal_moments() {
        check_moments(&ServiceDist::LogNormal { mean: 0.02, cv: 0.5 }, 7);
        check_moments(&ServiceDist::LogNormal { mean: 0.02, cv: 2.0 }, 8);
    }

    #[test]
    fn gamma_moments() {
        check_moments(&ServiceDist::Gamma { mean: 0.02, cv: 0.5 }, 9);
        // shape 0.25: exercises rand_distr's small-shape path.
        check_moments(&ServiceDist::Gamma { mean: 0.02, cv: 2.0 }, 10);
    }

    #[test]
    fn weibull_moments_and_cdf() {
        for (i, cv) in [0.3, 1.0, 2.0].into_iter().enumerate() {
            let d = ServiceDist::Weibull { mean: 0.02, cv };
            check_moments(&d, 11 + i as u64);
            let k = weibull_shape_from_cv(cv).unwrap();
            let lam = 0.02 / gamma(1.0 + 1.0 / k);
            check_cdf(&d, 21 + i as u64, |x| 1.0 - (-(x / lam).powf(k)).exp(), &[0.002, 0.01, 0.02, 0.05]);
        }
    }

    #[test]
    fn pareto_finite_kurtosis_moments() {
        check_moments(&ServiceDist::Pareto { mean: 0.02, alpha: 5.0 }, 31);
    }

    #[test]
    fn pareto_finite_variance_mean_only() {
        // alpha = 3: variance finite (mean check valid), 4th moment infinite
        // (cv check skipped by raw_moments returning None).
        let d = ServiceDist::Pareto { mean: 0.02, alpha: 3.0 };
        assert!((d.cv() - 1.0 / 3f64.sqrt()).abs() < 1e-15);
        check_moments(&d, 32);
    }

    #[test]
    fn pareto_infinite_variance_cdf() {
        // alpha = 1.5: variance infinite, so no moment check; check the CDF.
        let d = ServiceDist::Pareto { mean: 0.02, alpha: 1.5 };
        assert_eq!(d.cv(), f64::INFINITY);
        assert!(d.warning().unwrap().contains("infinite variance"));
        let xm = 0.02 * 0.5 / 1.5;
        let cdf = |x: f64| {
            if x < xm { 0.0 } else { 1.0 - (xm / x).powf(1.5) }
        };
        check_cdf(&d, 33, cdf, &[xm * 1.01, xm * 1.5874, 0.02, 0.1, 1.0]);
        assert!(draw(&d, 34).iter().all(|&x| x >= xm));
    }

    #[test]
    fn hyperexponential_moments_and_cdf() {
        for (i, cv) in [1.5, 4.0].into_iter().enumerate() {
            let d = ServiceDist::HyperExponential { mean: 0.02, cv };
            check_moments(&d, 41 + i as u64);
            let c2 = cv * cv;
            let p = 0.5 * (1.0 + ((c2 - 1.0) / (c2 + 1.0)).sqrt());
            let (r1, r2) = (2.0 * p / 0.02, 2.0 * (1.0 - p) / 0.02);
            check_cdf(
                &d,
                51 + i as u64,
                |x| 1.0 - p * (-r1 * x).exp() - (1.0 - p) * (-r2 * x).exp(),
                &[0.001, 0.01, 0.02, 0.1],
            );
        }
    }

    #[test]
    fn hyperexponential_stable_for_large_cv() {
        let s = ServiceDist::HyperExponential { mean: 1.0, cv: CV_MAX }.sampler().unwrap();
        match s.kind {
            Kind::HyperExponential { p, scale_fast, scale_slow } => {
                let q = 1.0 - p;
                assert!(q > 0.0);
                // Balanced means: each phase contributes m/2.
                assert!((p * scale_fast - 0.5).abs() < 1e-12);
                assert!((q * scale_slow - 0.5).abs() < 1e-6);
                // Second moment 2(p·s1² + q·s2²) = m²(cv² + 1).
                let e2 = 2.0 * (p * scale_fast * scale_fast + q * scale_slow * scale_slow);
                assert!((e2 / (CV_MAX * CV_MAX + 1.0) - 1.0).abs() < 1e-6);
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn weibull_solver_round_trips() {
        let mut cv = 0.05;
        while cv <= 10.0 {
            let k = weibull_shape_from_cv(cv).unwrap();
            let back = weibull_cv(k);
            assert!((back - cv).abs() <= 1e-9 && (back - cv).abs() <= 1e-9 * cv, "cv {cv}: k {k} gives {back}");
            cv *= 1.05;
        }
        // Supported range end points solve; outside them is a clear error.
        for cv in [WEIBULL_CV_MIN, WEIBULL_CV_MAX] {
            let k = weibull_shape_from_cv(cv).unwrap();
            assert!((weibull_cv(k) / cv - 1.0).abs() < 1e-9);
        }
        for cv in [0.009, 51.0, f64::NAN, 0.0, -1.0, f64::INFINITY] {
            let e = weibull_shape_from_cv(cv).unwrap_err();
            assert!(e.contains("weibull") && e.contains("cv"), "{e}");
        }
    }

    #[test]
    fn weibull_solver_known_shapes() {
        // k = 1 is exponential (cv 1); k = 0.5 gives cv² = Γ(5)/Γ(3)² − 1 = 5;
        // k = 2 (Rayleigh) gives cv² = 4/π − 1.
        let cases = [(1.0, 1.0), (5f64.sqrt(), 0.5), ((4.0 / std::f64::consts::PI - 1.0).sqrt(), 2.0)];
        for (cv, k) in cases {
            let got = weibull_shape_from_cv(cv).unwrap();
            assert!((got - k).abs() < 1e-10 * k, "cv {cv}: k {got} vs {k}");
        }
    }

    #[test]
    fn gamma_function_known_values() {
        let sqrt_pi = std::f64::consts::PI.sqrt();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-13 * b.abs();
        assert!(close(gamma(5.0), 24.0));
        assert!(close(gamma(0.5), sqrt_pi));
        assert!(close(gamma(1.5), sqrt_pi / 2.0));
        assert!(close(gamma(1.0), 1.0));
        assert!(close(gamma(2.0), 1.0));
        assert!(close(gamma(-0.5), -2.0 * sqrt_pi));
        assert!(close(gamma(1.0 / 3.0), 2.678_938_534_707_747_6));
        assert!(close(gamma(0.1), 9.513_507_698_668_732));
        let mut fact = 1.0_f64;
        for n in 1..=20 {
            fact *= f64::from(n);
            assert!(close(gamma(f64::from(n) + 1.0), fact), "Γ({})", n + 1);
            assert!((ln_gamma(f64::from(n) + 1.0) - fact.ln()).abs() <= 1e-13 * fact.ln().max(1.0), "lnΓ({})", n + 1);
        }
        assert!((ln_gamma(1.0)).abs() < 1e-14);
        assert!((ln_gamma(2.0)).abs() < 1e-14);
        assert!(close(ln_gamma(0.5), sqrt_pi.ln()));
        assert!(close(ln_gamma(100.0), 359.134_205_369_575_4));
        assert!(close(ln_gamma(1000.0), 5_905.220_423_209_181));
        assert!(gamma(0.0).is_nan() && gamma(-2.0).is_nan() && gamma(f64::NAN).is_nan());
        assert!(ln_gamma(0.0).is_nan() && ln_gamma(-1.0).is_nan());
    }

    #[test]
    fn validate_rejects_bad_parameters() {
        let bad_numbers = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 0.0];
        for &b in &bad_numbers {
            let cases = [
                ServiceDist::Exponential { mean: b },
                ServiceDist::Deterministic { value: b },
                ServiceDist::Uniform { min: 0.0, max: b },
                ServiceDist::LogNormal { mean: b, cv: 1.0 },
                ServiceDist::LogNormal { mean: 1.0, cv: b },
                ServiceDist::Gamma { mean: b, cv: 1.0 },
                ServiceDist::Gamma { mean: 1.0, cv: b },
                ServiceDist::Weibull { mean: b, cv: 1.0 },
                ServiceDist::Weibull { mean: 1.0, cv: b },
                ServiceDist::Pareto { mean: b, alpha: 2.0 },
                ServiceDist::Pareto { mean: 1.0, alpha: b },
                ServiceDist::HyperExponential { mean: b, cv: 2.0 },
                ServiceDist::HyperExponential { mean: 1.0, cv: b },
            ];
            for d in cases {
                let e = d.validate().unwrap_err();
                assert!(e.contains(d.name()), "{d:?}: {e}");
                assert!(d.sampler().is_err());
                assert!(d.warning().is_none());
            }
        }
        for min in [f64::NAN, -0.1, f64::INFINITY] {
            assert!(ServiceDist::Uniform { min, max: 1.0 }.validate().is_err());
        }
        assert!(ServiceDist::Uniform { min: 1.0, max: 1.0 }.validate().is_err());
        assert!(ServiceDist::Uniform { min: 2.0, max: 1.0 }.validate().is_err());
        for cv in [0.5, 1.0] {
            let e = ServiceDist::HyperExponential { mean: 1.0, cv }.validate().unwrap_err();
            assert!(e.starts_with(&format!("cv must be > 1 for hyperexponential (got {cv})")), "{e}");
        }
        for alpha in [0.5, 1.0] {
            let e = ServiceDist::Pareto { mean: 1.0, alpha }.validate().unwrap_err();
            assert!(e.contains("alpha must be > 1"), "{e}");
        }
        assert!(ServiceDist::Gamma { mean: 1.0, cv: 2.0 * CV_MAX }.validate().is_err());
        assert!(ServiceDist::Weibull { mean: 1.0, cv: 60.0 }.validate().is_err());
    }

    #[test]
    fn validate_accepts_good_parameters() {
        let good = [
            ServiceDist::Exponential { mean: 1e-6 },
            ServiceDist::Deterministic { value: 3.0 },
            ServiceDist::Uniform { min: 0.0, max: 1e-3 },
            ServiceDist::LogNormal { mean: 1.0, cv: 1e-3 },
            ServiceDist::Gamma { mean: 1.0, cv: 1e-3 },
            ServiceDist::Weibull { mean: 1.0, cv: WEIBULL_CV_MIN },
            ServiceDist::Weibull { mean: 1.0, cv: WEIBULL_CV_MAX },
            ServiceDist::Pareto { mean: 1.0, alpha: 1.0001 },
            ServiceDist::HyperExponential { mean: 1.0, cv: 1.0001 },
            ServiceDist::HyperExponential { mean: 1.0, cv: CV_MAX },
        ];
        for d in good {
            let s = d.sampler().unwrap_or_else(|e| panic!("{d:?}: {e}"));
            assert_eq!(s.mean(), d.mean());
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(99);
            for _ in 0..1000 {
                let x = s.sample(&mut rng);
                assert!(x.is_finite() && x >= 0.0, "{d:?}: {x}");
            }
        }
    }

    #[test]
    fn warnings() {
        assert!(ServiceDist::Pareto { mean: 1.0, alpha: 3.0 }.warning().is_none());
        assert!(ServiceDist::Exponential { mean: 1.0 }.warning().is_none());
        assert!(ServiceDist::Gamma { mean: 1.0, cv: 20.0 }.warning().is_some());
        assert!(ServiceDist::LogNormal { mean: 1.0, cv: 20.0 }.warning().is_some());
        assert!(ServiceDist::HyperExponential { mean: 1.0, cv: 20.0 }.warning().is_some());
    }

    #[test]
    fn sampler_is_copy_send_sync_and_reproducible() {
        fn assert_traits<T: Clone + Copy + Send + Sync + 'static>() {}
        assert_traits::<Sampler>();
        let s = ServiceDist::LogNormal { mean: 0.1, cv: 1.0 }.sampler().unwrap();
        let mut a = Xoshiro256PlusPlus::seed_from_u64(7);
        let mut b = Xoshiro256PlusPlus::seed_from_u64(7);
        for _ in 0..100 {
            assert_eq!(s.sample(&mut a), s.sample(&mut b));
        }
        // Works through a trait object too (R: ?Sized).
        let dynrng: &mut dyn rand::Rng = &mut a;
        assert!(s.sample(dynrng) > 0.0);
    }

    /// Throughput check: `cargo test --release -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn bench_sampling() {
        let dists = [
            ServiceDist::Exponential { mean: 1.0 },
            ServiceDist::Deterministic { value: 1.0 },
            ServiceDist::Uniform { min: 0.0, max: 2.0 },
            ServiceDist::LogNormal { mean: 1.0, cv: 1.0 },
            ServiceDist::Gamma { mean: 1.0, cv: 0.5 },
            ServiceDist::Gamma { mean: 1.0, cv: 2.0 },
            ServiceDist::Weibull { mean: 1.0, cv: 2.0 },
            ServiceDist::Pareto { mean: 1.0, alpha: 2.5 },
            ServiceDist::HyperExponential { mean: 1.0, cv: 3.0 },
        ];
        let n = 10_000_000;
        for d in dists {
            let s = d.sampler().unwrap();
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
            let t = std::time::Instant::now();
            let mut acc = 0.0;
            for _ in 0..n {
                acc += s.sample(&mut rng);
            }
            let ns = t.elapsed().as_nanos() as f64 / n as f64;
            println!("{:<18} {ns:6.2} ns/sample (mean {:.4})", d.name(), acc / n as f64);
        }
    }
}
