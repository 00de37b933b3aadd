//! The distribution families, one type (and one file) each: the parameters as written,
//! everything the sampler derives from them (computed once, in `new`), and how it samples.
//!
//! Exponential, lognormal and gamma use `rand_distr`'s `Exp`, `LogNormal` and `Gamma`.
//! Weibull, Pareto and hyperexponential are exact transforms of one `rand_distr::Exp1`
//! (ziggurat) draw: `λ·E^(1/k)`, `x_m·exp(E/α)` and a phase-scaled `E`. Measured, that is
//! 2–4× faster than `rand_distr::Weibull` / `Pareto` (which call `powf` on a uniform and,
//! without `rand_distr`'s `std_math` feature, use the pure-Rust `libm`).

mod deterministic;
mod exponential;
mod gamma;
mod hyperexponential;
mod lognormal;
mod pareto;
mod uniform;
mod weibull;

pub use deterministic::Deterministic;
pub use exponential::Exponential;
pub use gamma::Gamma;
pub use hyperexponential::HyperExponential;
pub use lognormal::LogNormal;
pub use pareto::Pareto;
pub use uniform::Uniform;
pub use weibull::Weibull;

use super::ParamError;

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
        Err(ParamError::new(
            param,
            format!("{param} must be a finite number > 0 for {dist} (got {})", crate::duration::format_number(v)),
        ))
    }
}

/// Smallest coefficient of variation accepted for the lognormal and gamma distributions
/// (below it gamma's shape 1/cv² overflows; such a distribution is deterministic anyway).
pub const CV_MIN: f64 = 1e-6;

/// Error unless `v` is finite and in `[CV_MIN, CV_MAX]`.
fn check_cv(v: f64, dist: &str) -> Result<(), ParamError> {
    if v.is_finite() && (CV_MIN..=CV_MAX).contains(&v) {
        Ok(())
    } else if v > 0.0 && v < CV_MIN {
        Err(ParamError::new(
            "cv",
            format!(
                "cv must be at least {CV_MIN:e} for {dist} (got {}); for service times that do not vary, use \
                 distribution = \"deterministic\"",
                crate::duration::format_number(v)
            ),
        ))
    } else {
        Err(ParamError::new(
            "cv",
            format!(
                "cv must be a finite number in (0, {CV_MAX}] for {dist} (got {})",
                crate::duration::format_number(v)
            ),
        ))
    }
}

/// A `rand_distr` constructor's error, as the error of the family's mean.
fn cannot_build(dist: &str, what: &str, e: impl std::fmt::Display) -> ParamError {
    ParamError::new("mean", format!("cannot build {dist} sampler ({what}): {e}"))
}

/// Error unless every derived parameter is finite (huge means can overflow them).
/// `given` names the parameters as given, e.g. `mean 1e308, cv 0.01`.
fn check_derived(dist: &str, finite: bool, given: impl FnOnce() -> String) -> Result<(), ParamError> {
    if finite {
        Ok(())
    } else {
        let given = given();
        Err(ParamError::new("mean", format!("cannot build {dist} sampler: derived parameters overflow ({given})")))
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
