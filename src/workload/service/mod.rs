//! Service-time (and think-time) distributions.
//!
//! Each family is one type ([`Exponential`], [`Gamma`], …, a file each under `families/`)
//! implementing [`Family`]: its name and the parameters it takes as written in a scenario,
//! its construction (range checks, then every derived parameter computed once), `sample`,
//! `mean`, `cv` and an optional warning. [`DISTRIBUTIONS`] lists the families; the
//! scenario's validation, its error messages (the allowed names and parameters) and the
//! editor's key list are derived from it. Adding a distribution is one type and one name
//! in the `distributions!` list below.
//!
//! [`ServiceDist`] is the validated distribution: a small `Copy` enum over the families,
//! so drawing a sample is a single `match` plus the family's own work (no allocation, no
//! dynamic dispatch).
//!
//! All times are in seconds (`f64`).

mod families;
mod special;
#[cfg(test)]
mod tests;

use rand::Rng;
use serde::ser::{Serialize, SerializeMap, Serializer};

pub use families::{
    CV_MAX, CV_MIN, Deterministic, Exponential, Gamma, HyperExponential, LogNormal, Pareto, Uniform, Weibull,
};
pub use special::{WEIBULL_CV_MAX, WEIBULL_CV_MIN};

/// What a parameter's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A duration written with a unit (`"10ms"`); seconds.
    Duration,
    /// A plain number.
    Number,
}

/// A parameter of a distribution table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Its key.
    pub name: &'static str,
    /// Another key accepted for it.
    pub alias: Option<&'static str>,
    /// Its type.
    pub kind: ParamKind,
    /// Whether it must be positive, whatever the family (checked before the family's own
    /// checks).
    pub positive: bool,
}

/// `mean`: the mean, s.
pub const MEAN: Param = Param { name: "mean", alias: None, kind: ParamKind::Duration, positive: true };
/// `cv`: the coefficient of variation (standard deviation / mean).
pub const CV: Param = Param { name: "cv", alias: None, kind: ParamKind::Number, positive: false };
/// `min`: the lower bound, s.
pub const MIN: Param = Param { name: "min", alias: None, kind: ParamKind::Duration, positive: false };
/// `max`: the upper bound, s.
pub const MAX: Param = Param { name: "max", alias: None, kind: ParamKind::Duration, positive: false };
/// `alpha` (or `shape`): a tail index.
pub const ALPHA: Param = Param { name: "alpha", alias: Some("shape"), kind: ParamKind::Number, positive: false };

/// Every parameter a distribution table may have, in the order they are checked and
/// listed. A family takes some of them ([`Family::PARAMS`]).
pub const PARAMS: &[Param] = &[MEAN, CV, MIN, MAX, ALPHA];

/// An invalid parameter value: which parameter, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter's key.
    pub param: &'static str,
    /// What is wrong and what is allowed, e.g. `cv must be > 1 for hyperexponential (got 0.5)`.
    pub message: String,
}

impl ParamError {
    /// An error about `param`.
    pub fn new(param: &'static str, message: String) -> Self {
        ParamError { param, message }
    }
}

/// A distribution family: how it is written in a scenario, how it is built and how it
/// samples.
pub trait Family: Copy + Into<ServiceDist> {
    /// Its name in `distribution = "..."`.
    const NAME: &'static str;
    /// The parameters it takes (each one of [`PARAMS`]), in the order
    /// [`from_values`](Family::from_values) reads them.
    const PARAMS: &'static [Param];
    /// For parameters it does not take, why, when there is more to say than that
    /// (`(parameter, reason)`).
    const NOT_TAKEN: &'static [(&'static str, &'static str)] = &[];

    /// Builds it from the values of its [`PARAMS`](Family::PARAMS) (durations in seconds):
    /// checks their ranges, then computes everything the sampler needs. Rejects NaN,
    /// infinities and values <= 0 wherever a positive value is needed.
    fn from_values(values: &[f64]) -> Result<Self, ParamError>;
    /// The values of its [`PARAMS`](Family::PARAMS).
    fn values(&self) -> Vec<f64>;
    /// Draws one sample, seconds (always >= 0).
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64;
    /// Mean, s.
    fn mean(&self) -> f64;
    /// Coefficient of variation (standard deviation / mean; infinite when the variance is).
    fn cv(&self) -> f64;
    /// A note about parameters that are valid but statistically awkward (e.g. a gamma so
    /// skewed that samples round to 0).
    fn warning(&self) -> Option<String> {
        None
    }
    /// The order of its moments that exist: `E[S^k]` is finite for every `k` below it (α for
    /// Pareto; infinite for the families with every moment).
    fn moments(&self) -> f64 {
        f64::INFINITY
    }
}

/// A family as listed in [`DISTRIBUTIONS`].
#[derive(Debug, Clone, Copy)]
pub struct DistInfo {
    /// [`Family::NAME`].
    pub name: &'static str,
    /// [`Family::PARAMS`].
    pub params: &'static [Param],
    /// [`Family::NOT_TAKEN`].
    pub not_taken: &'static [(&'static str, &'static str)],
    build: fn(&[f64]) -> Result<ServiceDist, ParamError>,
}

impl DistInfo {
    const fn of<F: Family>() -> DistInfo {
        DistInfo { name: F::NAME, params: F::PARAMS, not_taken: F::NOT_TAKEN, build: build::<F> }
    }

    /// Builds the distribution from the values of its parameters (in the order of
    /// [`params`](DistInfo::params); durations in seconds).
    pub fn build(&self, values: &[f64]) -> Result<ServiceDist, ParamError> {
        (self.build)(values)
    }

    /// Why `param`, which it does not take, does not apply, if there is more to say.
    pub fn not_taken(&self, param: &str) -> Option<&'static str> {
        self.not_taken.iter().find(|(p, _)| *p == param).map(|(_, why)| *why)
    }
}

fn build<F: Family>(values: &[f64]) -> Result<ServiceDist, ParamError> {
    F::from_values(values).map(Into::into)
}

/// Written as its family's name and parameters as given (durations in seconds, their key
/// ending in `_s`), then its mean and cv when they are not among them:
/// `{"distribution": "gamma", "mean_s": 0.01, "cv": 2.0}`.
impl Serialize for ServiceDist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("distribution", self.name())?;
        let mut written = Vec::new();
        for (p, v) in self.params().iter().zip(self.values()) {
            let key = match p.kind {
                ParamKind::Duration => format!("{}_s", p.name),
                ParamKind::Number => p.name.to_string(),
            };
            map.serialize_entry(&key, &v)?;
            written.push(key);
        }
        for (key, v) in [("mean_s", self.mean()), ("cv", self.cv())] {
            if !written.iter().any(|w| w == key) {
                map.serialize_entry(key, &v)?;
            }
        }
        map.end()
    }
}

/// The family named `name`.
pub fn family(name: &str) -> Option<&'static DistInfo> {
    DISTRIBUTIONS.iter().find(|d| d.name == name)
}

/// Declares [`ServiceDist`] (one variant per family), its dispatch and [`DISTRIBUTIONS`].
macro_rules! distributions {
    ($($family:ident),* $(,)?) => {
        /// A validated service-time (or think-time) distribution, ready to sample: a `Copy`
        /// enum over the families, each holding its parameters as written and everything
        /// derived from them.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub enum ServiceDist {
            $(
                #[doc = concat!("[`", stringify!($family), "`].")]
                $family($family),
            )*
        }

        $(
            impl From<$family> for ServiceDist {
                fn from(d: $family) -> Self {
                    ServiceDist::$family(d)
                }
            }
        )*

        impl ServiceDist {
            /// Name of the family, as written in `distribution = "..."`.
            pub fn name(&self) -> &'static str {
                match self {
                    $(ServiceDist::$family(_) => $family::NAME,)*
                }
            }

            /// The parameters of its family.
            pub fn params(&self) -> &'static [Param] {
                match self {
                    $(ServiceDist::$family(_) => $family::PARAMS,)*
                }
            }

            /// The values of [`params`](ServiceDist::params) (durations in seconds).
            pub fn values(&self) -> Vec<f64> {
                match self {
                    $(ServiceDist::$family(d) => d.values(),)*
                }
            }

            /// Draws one sample, seconds (always >= 0).
            #[inline(always)]
            pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
                match self {
                    $(ServiceDist::$family(d) => d.sample(rng),)*
                }
            }

            /// Mean, s.
            pub fn mean(&self) -> f64 {
                match self {
                    $(ServiceDist::$family(d) => d.mean(),)*
                }
            }

            /// Coefficient of variation (standard deviation / mean); `f64::INFINITY` for
            /// Pareto with `alpha <= 2`.
            pub fn cv(&self) -> f64 {
                match self {
                    $(ServiceDist::$family(d) => d.cv(),)*
                }
            }

            /// A note about parameters that are valid but statistically awkward, e.g. a gamma
            /// so skewed that samples round to 0.
            pub fn warning(&self) -> Option<String> {
                match self {
                    $(ServiceDist::$family(d) => d.warning(),)*
                }
            }

            /// The order of its moments that exist ([`Family::moments`]): `E[S^k]` is finite
            /// for every `k` below it.
            pub fn moments(&self) -> f64 {
                match self {
                    $(ServiceDist::$family(d) => d.moments(),)*
                }
            }
        }

        /// Every family, in the order they are listed to the user.
        pub const DISTRIBUTIONS: &[DistInfo] = &[$(DistInfo::of::<$family>(),)*];
    };
}

distributions!(Exponential, Deterministic, Uniform, LogNormal, Gamma, Weibull, Pareto, HyperExponential);
