//! Tests of the distributions: moments and CDFs against the reference formulas, range
//! checks, warnings.

use super::special::{gamma, weibull_shape_from_cv};
use super::*;
use crate::stats::ci::normal_quantile;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Samples per check.
const N: usize = 200_000;
/// Probability that correct distributions fail any statistical check of this file, for any
/// choice of the seeds.
const FALSE_ALARM: f64 = 1e-4;
/// At least the number of statistical checks in this file (sample means, sample cvs and
/// empirical CDF points: 57 today).
const CHECKS: f64 = 64.0;

/// Standard errors an estimate may stray from its exact value: two-sided, Bonferroni over
/// the checks, `Φ⁻¹(1 − FALSE_ALARM / (2·CHECKS))` ≈ 4.8. Each estimate is asymptotically
/// normal with the standard error used: σ/√n for a mean, the binomial one for a CDF point,
/// the delta method's for a cv (which needs a finite 4th moment; the cv is not checked
/// otherwise).
fn z() -> f64 {
    normal_quantile(1.0 - FALSE_ALARM / (2.0 * CHECKS))
}

/// The distribution `name` with parameter values `values`.
fn d(name: &str, values: &[f64]) -> ServiceDist {
    family(name).unwrap().build(values).unwrap_or_else(|e| panic!("{name} {values:?}: {}", e.message))
}

/// The error of the distribution `name` with parameter values `values`.
fn bad(name: &str, values: &[f64]) -> ParamError {
    family(name).unwrap().build(values).unwrap_err()
}

fn draw(s: &ServiceDist, seed: u64) -> Vec<f64> {
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
    let v = d.values();
    match d.name() {
        "exponential" => pw(&|j| gamma(f64::from(j) + 1.0) * v[0].powi(j)),
        "deterministic" => pw(&|j| v[0].powi(j)),
        "uniform" => {
            let (min, max) = (v[0], v[1]);
            pw(&|j| (max.powi(j + 1) - min.powi(j + 1)) / (f64::from(j + 1) * (max - min)))
        }
        "lognormal" => {
            let (mean, cv) = (v[0], v[1]);
            let s2 = (1.0 + cv * cv).ln();
            let mu = mean.ln() - s2 / 2.0;
            pw(&|j| {
                let j = f64::from(j);
                (j * mu + j * j * s2 / 2.0).exp()
            })
        }
        "gamma" => {
            let (mean, cv) = (v[0], v[1]);
            let k = 1.0 / (cv * cv);
            let th = mean * cv * cv;
            pw(&|j| (0..j).map(|i| k + f64::from(i)).product::<f64>() * th.powi(j))
        }
        "weibull" => {
            let (mean, cv) = (v[0], v[1]);
            let k = weibull_shape_from_cv(cv).unwrap();
            let lam = mean / gamma(1.0 + 1.0 / k);
            pw(&|j| lam.powi(j) * gamma(1.0 + f64::from(j) / k))
        }
        "pareto" => {
            let (mean, alpha) = (v[0], v[1]);
            if alpha <= 4.0 {
                return None;
            }
            let xm = mean * (alpha - 1.0) / alpha;
            pw(&|j| alpha * xm.powi(j) / (alpha - f64::from(j)))
        }
        "hyperexponential" => {
            let (mean, cv) = (v[0], v[1]);
            let c2 = cv * cv;
            let p = 0.5 * (1.0 + ((c2 - 1.0) / (c2 + 1.0)).sqrt());
            let (r1, r2) = (2.0 * p / mean, 2.0 * (1.0 - p) / mean);
            pw(&|j| {
                let f = gamma(f64::from(j) + 1.0);
                p * f / r1.powi(j) + (1.0 - p) * f / r2.powi(j)
            })
        }
        other => panic!("no reference moments for {other}"),
    }
}

/// Checks the sample mean (always) and the sample cv (when the 4th moment
/// is finite) against the distribution's parameters.
///
/// Mean: |x̄ − m| ≤ z·σ/√n (needs finite variance).
/// cv: by the delta method on (x̄, s²),
/// Var(ĉv) ≈ (cv²/n)·(cv² − γ₁·cv + (β₂ − 1)/4), with γ₁ the skewness and
/// β₂ the kurtosis; |ĉv − cv| ≤ z·SE. (See [`z`].)
fn check_moments(d: &ServiceDist, seed: u64) {
    let xs = draw(d, seed);
    assert!(xs.iter().all(|x| x.is_finite() && *x >= 0.0), "{d:?}");
    let (m_hat, sd_hat) = mean_sd(&xs);
    let cv_hat = sd_hat / m_hat;
    let (m, cv) = (d.mean(), d.cv());
    let sigma = m * cv;
    let n = N as f64;
    let se_mean = sigma / n.sqrt();
    assert!((m_hat - m).abs() <= z() * se_mean, "{d:?}: mean {m_hat} vs {m} (se {se_mean})");
    if let Some([e1, e2, e3, e4]) = raw_moments(d) {
        // The moments from the reference formulas reproduce mean and cv.
        let var = e2 - e1 * e1;
        assert!((e1 - m).abs() <= 1e-9 * m, "{d:?}: E[X] {e1} vs {m}");
        assert!((var.sqrt() / e1 - cv).abs() <= 1e-9 * cv.max(1e-300), "{d:?}: moment cv {} vs {cv}", var.sqrt() / e1);
        let mu3 = e3 - 3.0 * e1 * e2 + 2.0 * e1.powi(3);
        let mu4 = e4 - 4.0 * e1 * e3 + 6.0 * e1 * e1 * e2 - 3.0 * e1.powi(4);
        let skew = mu3 / var.powf(1.5);
        let kurt = mu4 / (var * var);
        let var_cv = cv * cv / n * (cv * cv - skew * cv + (kurt - 1.0) / 4.0);
        let se_cv = var_cv.sqrt();
        assert!((cv_hat - cv).abs() <= z() * se_cv, "{d:?}: cv {cv_hat} vs {cv} (se {se_cv})");
    }
}

/// Empirical CDF at each point vs the exact CDF, within [`z`] binomial
/// standard errors.
fn check_cdf(d: &ServiceDist, seed: u64, cdf: impl Fn(f64) -> f64, points: &[f64]) {
    let xs = draw(d, seed);
    let n = N as f64;
    for &x in points {
        let f = cdf(x);
        let emp = xs.iter().filter(|&&s| s <= x).count() as f64 / n;
        let se = (f * (1.0 - f) / n).sqrt();
        // (+1e-12: where F is 0 or 1 the standard error is 0 and only rounding is left.)
        assert!((emp - f).abs() <= z() * se + 1e-12, "{d:?}: F({x}) empirical {emp} vs {f} (se {se})");
    }
}

#[test]
fn exponential_moments_and_cdf() {
    let d = d("exponential", &[0.01]);
    check_moments(&d, 1);
    check_cdf(&d, 2, |x| 1.0 - (-x / 0.01).exp(), &[0.001, 0.005, 0.01, 0.03]);
}

#[test]
fn deterministic_is_constant() {
    let d = d("deterministic", &[0.005]);
    let xs = draw(&d, 3);
    assert!(xs.iter().all(|&x| x == 0.005));
    assert_eq!(d.cv(), 0.0);
    assert_eq!(d.mean(), 0.005);
}

#[test]
fn uniform_moments_and_cdf() {
    let d = d("uniform", &[0.001, 0.003]);
    check_moments(&d, 4);
    check_cdf(&d, 5, |x| ((x - 0.001) / 0.002).clamp(0.0, 1.0), &[0.0012, 0.002, 0.0029]);
    let xs = draw(&d, 6);
    assert!(xs.iter().all(|&x| (0.001..=0.003).contains(&x)));
}

#[test]
fn lognormal_moments() {
    check_moments(&d("lognormal", &[0.02, 0.5]), 7);
    check_moments(&d("lognormal", &[0.02, 2.0]), 8);
}

#[test]
fn gamma_moments() {
    check_moments(&d("gamma", &[0.02, 0.5]), 9);
    // shape 0.25: exercises rand_distr's small-shape path.
    check_moments(&d("gamma", &[0.02, 2.0]), 10);
}

#[test]
fn weibull_moments_and_cdf() {
    for (i, cv) in [0.3, 1.0, 2.0].into_iter().enumerate() {
        let d = d("weibull", &[0.02, cv]);
        check_moments(&d, 11 + i as u64);
        let k = weibull_shape_from_cv(cv).unwrap();
        let lam = 0.02 / gamma(1.0 + 1.0 / k);
        check_cdf(&d, 21 + i as u64, |x| 1.0 - (-(x / lam).powf(k)).exp(), &[0.002, 0.01, 0.02, 0.05]);
    }
}

#[test]
fn pareto_finite_kurtosis_moments() {
    check_moments(&d("pareto", &[0.02, 5.0]), 31);
}

#[test]
fn pareto_finite_variance_mean_only() {
    // alpha = 3: variance finite (mean check valid), 4th moment infinite
    // (cv check skipped by raw_moments returning None).
    let d = d("pareto", &[0.02, 3.0]);
    assert!((d.cv() - 1.0 / 3f64.sqrt()).abs() < 1e-15);
    check_moments(&d, 32);
}

#[test]
fn pareto_infinite_variance_cdf() {
    // alpha = 1.5: variance infinite, so no moment check; check the CDF.
    let d = d("pareto", &[0.02, 1.5]);
    assert_eq!(d.cv(), f64::INFINITY);
    assert_eq!(d.moments(), 1.5);
    assert_eq!(super::family("exponential").unwrap().build(&[1.0]).unwrap().moments(), f64::INFINITY);
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
        let d = d("hyperexponential", &[0.02, cv]);
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
    let h = HyperExponential::new(1.0, CV_MAX).unwrap();
    let (p, scale_fast, scale_slow) = h.phases();
    let q = 1.0 - p;
    assert!(q > 0.0);
    // Balanced means: each phase contributes m/2.
    assert!((p * scale_fast - 0.5).abs() < 1e-12);
    assert!((q * scale_slow - 0.5).abs() < 1e-6);
    // Second moment 2(p·s1² + q·s2²) = m²(cv² + 1).
    let e2 = 2.0 * (p * scale_fast * scale_fast + q * scale_slow * scale_slow);
    assert!((e2 / (CV_MAX * CV_MAX + 1.0) - 1.0).abs() < 1e-6);
}

#[test]
fn bad_parameters_are_rejected_naming_the_parameter() {
    for b in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 0.0] {
        let cases = [
            ("exponential", [b, f64::NAN], "mean"),
            ("deterministic", [b, f64::NAN], "mean"),
            ("uniform", [0.0, b], "max"),
            ("lognormal", [b, 1.0], "mean"),
            ("lognormal", [1.0, b], "cv"),
            ("gamma", [b, 1.0], "mean"),
            ("gamma", [1.0, b], "cv"),
            ("weibull", [b, 1.0], "mean"),
            ("weibull", [1.0, b], "cv"),
            ("pareto", [b, 2.0], "mean"),
            ("pareto", [1.0, b], "alpha"),
            ("hyperexponential", [b, 2.0], "mean"),
            ("hyperexponential", [1.0, b], "cv"),
        ];
        for (name, values, param) in cases {
            let e = bad(name, &values);
            assert!(e.message.contains(name), "{name} {values:?}: {e:?}");
            assert_eq!(e.param, param, "{name} {values:?}: {e:?}");
        }
    }
    for min in [f64::NAN, -0.1, f64::INFINITY] {
        assert_eq!(bad("uniform", &[min, 1.0]).param, "min");
    }
    assert_eq!(bad("uniform", &[1.0, 1.0]).param, "max");
    assert_eq!(bad("uniform", &[2.0, 1.0]).param, "max");
    for cv in [0.5, 1.0] {
        let e = bad("hyperexponential", &[1.0, cv]).message;
        assert!(e.starts_with(&format!("cv must be > 1 for hyperexponential (got {cv})")), "{e}");
    }
    for alpha in [0.5, 1.0] {
        let e = bad("pareto", &[1.0, alpha]).message;
        assert!(e.contains("alpha must be > 1"), "{e}");
    }
    assert_eq!(bad("gamma", &[1.0, 2.0 * CV_MAX]).param, "cv");
    assert_eq!(bad("weibull", &[1.0, 60.0]).param, "cv");
}

#[test]
fn good_parameters_build_and_sample() {
    let good = [
        d("exponential", &[1e-6]),
        d("deterministic", &[3.0]),
        d("uniform", &[0.0, 1e-3]),
        d("lognormal", &[1.0, 1e-3]),
        d("gamma", &[1.0, 1e-3]),
        d("weibull", &[1.0, WEIBULL_CV_MIN]),
        d("weibull", &[1.0, WEIBULL_CV_MAX]),
        d("pareto", &[1.0, 1.0001]),
        d("hyperexponential", &[1.0, 1.0001]),
        d("hyperexponential", &[1.0, CV_MAX]),
    ];
    for s in good {
        assert_eq!(s.values().len(), s.params().len());
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(99);
        for _ in 0..1000 {
            let x = s.sample(&mut rng);
            assert!(x.is_finite() && x >= 0.0, "{s:?}: {x}");
        }
    }
}

#[test]
fn the_table_lists_each_family_once_with_parameters_of_the_vocabulary() {
    for (i, f) in DISTRIBUTIONS.iter().enumerate() {
        assert!(DISTRIBUTIONS[..i].iter().all(|g| g.name != f.name), "{} listed twice", f.name);
        assert!(f.params.iter().all(|p| PARAMS.contains(p)), "{}: a parameter missing from PARAMS", f.name);
        assert!(f.not_taken.iter().all(|(p, _)| !f.params.iter().any(|q| q.name == *p)), "{}", f.name);
        assert_eq!(family(f.name).map(|g| g.name), Some(f.name));
    }
}

#[test]
fn warnings() {
    assert!(d("pareto", &[1.0, 3.0]).warning().is_none());
    assert!(d("exponential", &[1.0]).warning().is_none());
    assert!(d("gamma", &[1.0, 20.0]).warning().is_some());
    assert!(d("lognormal", &[1.0, 20.0]).warning().is_some());
    assert!(d("hyperexponential", &[1.0, 20.0]).warning().is_some());
}

#[test]
fn sampler_is_copy_send_sync_and_reproducible() {
    fn assert_traits<T: Clone + Copy + Send + Sync + 'static>() {}
    assert_traits::<ServiceDist>();
    let s = d("lognormal", &[0.1, 1.0]);
    let mut a = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut b = Xoshiro256PlusPlus::seed_from_u64(7);
    for _ in 0..100 {
        assert_eq!(s.sample(&mut a), s.sample(&mut b));
    }
    // Works through a trait object too (R: ?Sized).
    let dynrng: &mut dyn rand::Rng = &mut a;
    assert!(s.sample(dynrng) > 0.0);
}
