//! Axis bounds, scales and tick labels shared by the charts, and the rules they follow:
//!
//! - values spanning more than [`LOG_SPAN`] (a factor of 30, a decade and a half) get a
//!   logarithmic axis ([`wants_log`]), so an 80 ms p99 is not a sliver next to a 5 s one;
//! - a linear axis that does not start at zero spans at least [`MIN_REL_SPAN`] of its
//!   largest magnitude ([`free_range`]), so a negligible difference never fills the chart;
//! - confidence intervals are drawn within physical bounds ([`interval`], the one place
//!   that clips them).

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

/// Values whose largest is more than this many times their smallest (a decade and a half)
/// are drawn on a logarithmic axis: on a linear one the smallest would be under 3% of it.
pub const LOG_SPAN: f64 = 30.0;

/// The smallest span of a linear axis that does not start at zero, as a fraction of the
/// largest magnitude on it: 1%, so two values 0.001% apart sit on one spot instead of at
/// opposite ends.
pub const MIN_REL_SPAN: f64 = 0.01;

/// Whether `values` (their positive, finite members) span more than [`LOG_SPAN`].
pub fn wants_log(values: impl IntoIterator<Item = f64>) -> bool {
    let (lo, hi) = positive_extent(values);
    lo > 0.0 && hi / lo > LOG_SPAN
}

/// The smallest and largest positive finite value (NaN, NaN when none).
pub fn positive_extent(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    values
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::NAN, f64::NAN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// A linear range over `lo..hi` that spans at least [`MIN_REL_SPAN`] of its largest
/// magnitude, widened evenly about the centre when the data span less.
pub fn free_range(lo: f64, hi: f64) -> (f64, f64) {
    let min_span = MIN_REL_SPAN * lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE);
    if hi - lo >= min_span {
        (lo, hi)
    } else {
        let mid = (lo + hi) / 2.0;
        (mid - min_span / 2.0, mid + min_span / 2.0)
    }
}

/// A log range with round ends around `lo..hi` (both positive), at least a decade wide.
pub fn log_range(lo: f64, hi: f64) -> (f64, f64) {
    let lo = log_floor(lo);
    let hi = log_ceil(hi.max(lo * 10.0));
    (lo, hi)
}

/// The ticks of a log axis `lo..hi`: 1, 2, 5 × 10ᵏ when it spans at most 2.5 decades,
/// every decade up to eight, else every other decade.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    // Not a log range (a zero or negative end): no ticks, rather than 2³² decades.
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let decades = (hi / lo).log10();
    let steps: &[f64] = if decades <= 2.5 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    let every = if decades > 8.5 { 2 } else { 1 };
    let mut out = Vec::new();
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    for k in first..=last {
        if (k - first) % every != 0 {
            continue;
        }
        for &m in steps {
            let v = m * 10f64.powi(k);
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                out.push(v);
            }
        }
    }
    out
}

/// The ticks of a log axis from `lo` to `hi` (1, 2, 5 × 10ᵏ, see [`log_ticks`]); when more
/// than `room`, the decades alone, thinned to every other (third, …) one until they fit.
pub fn log_ticks_within(lo: f64, hi: f64, room: usize) -> Vec<f64> {
    let all = log_ticks(lo, hi);
    if all.len() <= room {
        return all;
    }
    let decades: Vec<f64> = all.into_iter().filter(|v| (v.log10() - v.log10().round()).abs() < 1e-9).collect();
    let every = decades.len().div_ceil(room).max(1);
    decades.into_iter().step_by(every).collect()
}

/// The ticks of a log axis `lo..hi` drawn `width` px wide whose labels (`label`, at `px`)
/// stay at least 10 px apart and within `overhang` px of the axis' ends: [`log_ticks`],
/// thinned to every second, third, … decade until they do.
pub fn log_ticks_fitting(
    lo: f64,
    hi: f64,
    width: f64,
    overhang: f64,
    label: impl Fn(f64) -> String,
    px: f64,
) -> Vec<f64> {
    let pos = |v: f64| (v / lo).ln() / (hi / lo).ln() * width;
    let half = |v: f64| f64::from(super::fit::width(&label(v), px)) / 2.0;
    let inside = |v: &f64| pos(*v) - half(*v) >= -overhang && pos(*v) + half(*v) <= width + overhang;
    let apart = |t: &[f64]| t.windows(2).all(|w| pos(w[1]) - pos(w[0]) >= half(w[0]) + half(w[1]) + 10.0);
    let all: Vec<f64> = log_ticks(lo, hi).into_iter().filter(inside).collect();
    if apart(&all) {
        return all;
    }
    let decades: Vec<f64> = all.iter().copied().filter(|v| (v.log10() - v.log10().round()).abs() < 1e-9).collect();
    for every in 1..=decades.len().max(1) {
        for offset in 0..every {
            let picked: Vec<f64> = decades.iter().copied().skip(offset).step_by(every).collect();
            if picked.len() >= 2 && apart(&picked) {
                return picked;
            }
        }
    }
    decades.into_iter().take(1).collect()
}

/// `value ± half_width` clipped to `[floor, ∞)` — a response time or a count is never below
/// zero. The lower end is raised to `floor` when the interval reaches below it (the `bool`
/// says so, and charts draw that end open).
///
/// This is the one place charts bound an interval: Student-t intervals over a few
/// replications of a skewed figure can reach below zero; once the statistics give bounded
/// intervals themselves this clipping never applies.
pub fn interval(value: f64, half_width: f64, floor: f64) -> (f64, f64, bool) {
    let lo = value - half_width;
    if lo < floor { (floor, value + half_width, true) } else { (lo, value + half_width, false) }
}

/// Round ticks from 0 to `top`: a step of 1, 2 or 5 × 10ᵏ giving at most `max` ticks after
/// zero (whole numbers only when `whole`).
pub fn linear_ticks(top: f64, max: usize, whole: bool) -> Vec<f64> {
    if !(top.is_finite() && top > 0.0) {
        return vec![0.0];
    }
    let raw = top / max.max(1) as f64;
    let p = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * p).find(|&s| s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * p);
    if whole {
        step = step.max(1.0).round();
    }
    (0..).map(|k| k as f64 * step).take_while(|&v| v <= top * (1.0 + 1e-9)).collect()
}

/// y = log₁₀(1 + v): a log scale that keeps zero (counts of requests in system).
pub fn symlog(v: f64) -> f64 {
    (1.0 + v.max(0.0)).log10()
}

/// The ticks of a [`symlog`] axis up to `top` (in data units): 0, then 1, 2, 5 × 10ᵏ or
/// every decade, as [`log_ticks`].
pub fn symlog_ticks(top: f64) -> Vec<f64> {
    let mut out = vec![0.0];
    out.extend(log_ticks(1.0, top.max(10.0)).into_iter().filter(|&v| v <= top));
    out
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

    #[test]
    fn scale_rules() {
        assert!(wants_log([40.0, 4320.0]));
        assert!(wants_log([80.5, 5046.0]));
        assert!(!wants_log([62.0, 459.0]));
        assert!(!wants_log([0.0, 5.0, f64::NAN]), "zero and NaN do not count");
        let (lo, hi) = free_range(0.99999, 1.0);
        assert!((hi - lo - 0.01).abs() < 1e-12 && (lo + hi - 1.99999).abs() < 1e-12, "{lo}..{hi}");
        assert_eq!(free_range(1.0, 1.2), (1.0, 1.2));
        assert_eq!(log_range(13.0, 4320.0), (10.0, 5000.0));
        assert_eq!(log_ticks(10.0, 500.0), [10.0, 20.0, 50.0, 100.0, 200.0, 500.0]);
        assert_eq!(log_ticks(1.0, 1e5), [1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0]);
        assert!(log_ticks(0.0, 500.0).is_empty() && log_ticks(5.0, f64::INFINITY).is_empty());
        assert_eq!(interval(91.2, 145.1, 0.0), (0.0, 91.2 + 145.1, true));
        assert_eq!(interval(10.0, 1.0, 0.0), (9.0, 11.0, false));
        assert_eq!(linear_ticks(52.0, 6, true), [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
        assert_eq!(linear_ticks(3.0, 6, true), [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(linear_ticks(0.9, 4, false), [0.0, 0.5]);
        assert_eq!(symlog(0.0), 0.0);
        assert_eq!(symlog(9.0), 1.0);
        assert_eq!(symlog_ticks(150.0), [0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]);
        // Six decades in 120 px with labels like "100k": every other decade, within the ends.
        let ticks = log_ticks_fitting(10.0, 1e7, 120.0, 10.0, crate::report::charts::style::tick, 14.0);
        assert_eq!(ticks, [10.0, 1000.0, 1e5]);
        let ticks = log_ticks_fitting(10.0, 1e3, 600.0, 10.0, crate::report::charts::style::tick, 14.0);
        assert_eq!(ticks, [10.0, 20.0, 50.0, 100.0, 200.0, 500.0], "\"1,000\" would stick out 13 px");
    }
}
