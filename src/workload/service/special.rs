//! Special functions the distributions need: the gamma function (Lanczos approximation)
//! and the Weibull shape that gives a coefficient of variation.

/// Smallest coefficient of variation accepted for a Weibull distribution.
pub const WEIBULL_CV_MIN: f64 = 0.01;
/// Largest coefficient of variation accepted for a Weibull distribution.
pub const WEIBULL_CV_MAX: f64 = 50.0;

/// Bracket for the Weibull shape solver: `cv(WEIBULL_K_LO) ≈ 3.2e14`, far
/// above [`WEIBULL_CV_MAX`]; `cv(WEIBULL_K_HI) ≈ 1.3e-3`, far below
/// [`WEIBULL_CV_MIN`].
const WEIBULL_K_LO: f64 = 0.02;
const WEIBULL_K_HI: f64 = 1000.0;

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
/// [`LANCZOS_COEF`]). Uses the reflection formula
/// `Γ(x)Γ(1−x) = π / sin(πx)` for `x < 0.5`. Returns NaN for `x <= 0` or NaN
/// and `+inf` for `x = +inf`.
pub(crate) fn ln_gamma(x: f64) -> f64 {
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
/// relative error ~1e-15 for moderate `x`, see [`LANCZOS_COEF`]). Defined
/// for all real `x` except the poles `0, −1, −2, …` (NaN there); negative
/// arguments use the reflection formula. Overflows to `+inf` for
/// `x > ~171.6`.
pub(crate) fn gamma(x: f64) -> f64 {
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

/// Error unless `cv` is finite and in `[WEIBULL_CV_MIN, WEIBULL_CV_MAX]`.
pub(crate) fn check_weibull_cv(cv: f64) -> Result<(), String> {
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
#[cfg(test)]
pub(crate) fn weibull_cv(k: f64) -> f64 {
    weibull_ln_cv(k).exp()
}

/// Solves for the Weibull shape `k` whose coefficient of variation is `cv`,
/// by bisection on `ln k` (cv is strictly decreasing in `k`) run to the
/// resolution of `f64`, over the bracket `k ∈ [0.02, 1000]`. Supports `cv` in
/// [[`WEIBULL_CV_MIN`], [`WEIBULL_CV_MAX`]] (k from about 0.148 to about 127.5);
/// returns an error outside that range.
pub(crate) fn weibull_shape_from_cv(cv: f64) -> Result<f64, String> {
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
}
