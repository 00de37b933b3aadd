//! Axis bounds and tick labels shared by the charts.

/// A round upper bound for a linear axis: the first of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 ×
/// 10ᵏ at or above `x` (1 for anything not positive), so the data fills most of the axis.
pub fn linear_top(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&v| v >= x * (1.0 - 1e-12))
        .unwrap_or(10.0 * p)
}

/// A round lower bound for a log axis: the largest 1, 2 or 5 × 10ᵏ at or below `x`.
pub fn log_floor(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    [5.0, 2.0, 1.0].into_iter().map(|m| m * p).find(|&v| v <= x * (1.0 + 1e-12)).unwrap_or(p)
}

/// A round upper bound for a log axis: the smallest 1, 2 or 5 × 10ᵏ at or above `x`.
pub fn log_ceil(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|&v| v >= x * (1.0 - 1e-12)).unwrap_or(10.0 * p)
}

/// A tick label for a number: no trailing zeros, thousands without decimals ("2.5", "1500").
pub fn tick_label(x: f64) -> String {
    if x.abs() >= 1000.0 || x == x.round() {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A tick label for an axis spanning `lo..hi`: enough decimals to tell its ticks apart.
pub fn span_tick(v: f64, lo: f64, hi: f64) -> String {
    let span = (hi - lo).abs().max(1e-12);
    let decimals = (1 - span.log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_labels() {
        assert_eq!(linear_top(0.37), 0.4);
        assert_eq!(linear_top(542.0), 600.0);
        assert_eq!(linear_top(-1.0), 1.0);
        assert_eq!(log_floor(13.0), 10.0);
        assert_eq!(log_floor(0.3), 0.2);
        assert_eq!(log_ceil(130.0), 200.0);
        assert_eq!(log_ceil(600.0), 1000.0);
        assert_eq!(tick_label(2.50), "2.5");
        assert_eq!(tick_label(1500.0), "1500");
        assert_eq!(span_tick(0.25, 0.0, 0.5), "0.25");
        assert_eq!(span_tick(0.25, 0.0, 2.0), "0.2");
        assert_eq!(span_tick(12.0, 0.0, 50.0), "12");
    }
}
