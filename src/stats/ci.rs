//! Confidence intervals over independent replications (Student t), kept within the range
//! the quantity can physically take.
//!
//! A Student-t interval `mean ± t·s/√n` is symmetric, so with few replications of a skewed
//! quantity (a p99.9 over three runs) it can reach below zero. The true value lies in its
//! physical range ([`Bounds`]: response times ≥ 0, fractions in [0, 1]), so intersecting the
//! interval with that range never lowers its coverage: [`interval`] clips it there and says
//! whether it did, and the report says so next to the figure.

/// The range a quantity can physically take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Smallest possible value.
    pub lower: f64,
    /// Largest possible value.
    pub upper: f64,
}

impl Bounds {
    /// Times, rates, counts and ratios: at least 0.
    pub const NON_NEGATIVE: Bounds = Bounds { lower: 0.0, upper: f64::INFINITY };
    /// Fractions and shares: from 0 to 1.
    pub const FRACTION: Bounds = Bounds { lower: 0.0, upper: 1.0 };
    /// Ratios of a quantity to a smaller one (attempts per request): at least 1.
    pub const AT_LEAST_ONE: Bounds = Bounds { lower: 1.0, upper: f64::INFINITY };
}

/// The interval `mean ± half` clipped to `bounds`: `(lower, upper, clipped)` (NaN ends,
/// not clipped, when either is NaN).
pub fn interval(mean: f64, half: f64, bounds: Bounds) -> (f64, f64, bool) {
    let (lo, hi) = (mean - half, mean + half);
    if lo.is_nan() || hi.is_nan() {
        return (f64::NAN, f64::NAN, false);
    }
    // Past the bound by more than rounding (a mean of ones is not always exactly 1).
    let tol = 1e-12 * (1.0 + mean.abs());
    let clipped = lo < bounds.lower - tol || hi > bounds.upper + tol;
    (lo.max(bounds.lower), hi.min(bounds.upper), clipped)
}

/// Mean and confidence half-width of `samples` at two-sided level `level` (e.g. 0.95).
/// The half-width is `None` with fewer than two samples.
pub fn mean_ci(samples: &[f64], level: f64) -> (f64, Option<f64>) {
    let n = samples.len();
    let mean = samples.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, None);
    }
    let var = samples.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let t = t_quantile(0.5 + level / 2.0, (n - 1) as f64);
    (mean, Some(t * (var / n as f64).sqrt()))
}

/// Quantile `p` (0.5 < p < 1) of Student's t distribution with `df` degrees of freedom.
///
/// Hill's algorithm (Comm. ACM 13(10), 1970, algorithm 396), exact for df = 1 and 2 and
/// accurate to about 1e-6 relative beyond, which is far below what a confidence
/// interval needs.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    assert!(p > 0.5 && p < 1.0 && df >= 1.0, "t_quantile({p}, {df})");
    let two_sided = 2.0 * (1.0 - p);
    if df == 1.0 {
        return (std::f64::consts::FRAC_PI_2 * (1.0 - two_sided)).tan();
    }
    if df == 2.0 {
        return (2.0 / (two_sided * (2.0 - two_sided)) - 2.0).sqrt();
    }
    let a = 1.0 / (df - 0.5);
    let b = 48.0 / (a * a);
    let mut c = ((20700.0 * a / b - 98.0) * a - 16.0) * a + 96.36;
    let d = ((94.5 / (b + c) - 3.0) / b + 1.0) * (a * std::f64::consts::PI / 2.0).sqrt() * df;
    let mut x = d * two_sided;
    let mut y = x.powf(2.0 / df);
    if y > 0.05 + a {
        x = normal_quantile(two_sided * 0.5);
        y = x * x;
        if df < 5.0 {
            c += 0.3 * (df - 4.5) * (x + 0.6);
        }
        c += (((0.05 * d * x - 5.0) * x - 7.0) * x - 2.0) * x + b;
        y = (((((0.4 * y + 6.3) * y + 36.0) * y + 94.5) / c - y - 3.0) / b + 1.0) * x;
        y = a * y * y;
        y = if y > 0.002 { y.exp() - 1.0 } else { 0.5 * y * y + y };
    } else {
        y = ((1.0 / (((df + 6.0) / (df * y) - 0.089 * d - 0.822) * (df + 2.0) * 3.0) + 0.5 / (df + 4.0)) * y - 1.0)
            * (df + 1.0)
            / (df + 2.0)
            + 1.0 / y;
    }
    (df * y).sqrt()
}

/// Lower-tail quantile of the standard normal (Acklam's rational approximation with one
/// Halley refinement step; |error| < 1e-12).
#[allow(clippy::excessive_precision)] // published coefficients, kept digit for digit
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let x = if p < 0.02425 {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - 0.02425 {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // Halley step against erfc.
    let e = 0.5 * erfc(-x / std::f64::consts::SQRT_2) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Complementary error function (Numerical Recipes' erfcc, relative error < 1.2e-7),
/// used only to polish [`normal_quantile`].
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807
                                + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_table_values() {
        // Standard t table, two-sided 95% and 99.9%.
        for (df, t) in [(1.0, 12.706), (2.0, 4.303), (4.0, 2.776), (9.0, 2.262), (29.0, 2.045), (1000.0, 1.962)] {
            assert!((t_quantile(0.975, df) - t).abs() < 2e-3, "df {df}: {}", t_quantile(0.975, df));
        }
        for (df, t) in [(9.0, 4.781), (19.0, 3.883)] {
            assert!((t_quantile(0.9995, df) - t).abs() < 5e-3, "df {df}: {}", t_quantile(0.9995, df));
        }
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-5);
    }

    #[test]
    fn intervals_stay_within_physical_bounds() {
        // The cache-tier p99.9 of issue 10: 194.751 ± 351.544 ms over three replications.
        let (lo, hi, clipped) = interval(0.194751, 0.351544, Bounds::NON_NEGATIVE);
        assert!(clipped && lo == 0.0 && (hi - 0.546295).abs() < 1e-12);
        assert_eq!(interval(0.97, 0.05, Bounds::FRACTION), (0.9199999999999999, 1.0, true));
        assert_eq!(interval(2.0, 0.5, Bounds::NON_NEGATIVE), (1.5, 2.5, false));
        assert_eq!(interval(1.0, 0.0, Bounds::AT_LEAST_ONE), (1.0, 1.0, false));
        // Rounding is not clipping.
        assert!(!interval(1.0 + f64::EPSILON, 1e-17, Bounds::FRACTION).2);
    }

    #[test]
    fn ci_of_constant_is_zero() {
        let (m, h) = mean_ci(&[2.0, 2.0, 2.0], 0.95);
        assert_eq!(m, 2.0);
        assert_eq!(h, Some(0.0));
        assert_eq!(mean_ci(&[1.0], 0.95).1, None);
    }
}
