//! Response-time histograms (HDR), recorded in nanoseconds, reported in seconds.

use hdrhistogram::Histogram;

/// An HDR histogram of durations: relative precision fixed by the significant figures,
/// memory bounded by the range of values seen (not by how many).
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    h: Histogram<u64>,
    /// Exact largest value (s): HDR reports a bucket's upper edge, which can exceed it.
    max: f64,
}

impl LatencyHistogram {
    /// A histogram with `sigfig` significant decimal digits (1..=5).
    pub fn new(sigfig: u8) -> Self {
        let mut h = Histogram::new(sigfig).expect("valid sigfig");
        h.auto(true);
        LatencyHistogram { h, max: f64::NAN }
    }

    /// Records a duration in seconds (clamped to at least 1 ns).
    #[inline]
    pub fn record(&mut self, secs: f64) {
        // Nearest nanosecond. `+ 0.5` then truncation equals `round()` for the non-negative
        // durations recorded here and avoids a libm call on the hot path (x86-64 has no
        // rounding instruction before SSE4.1). `as` saturates: NaN or negative → 0 → 1 ns,
        // +∞ → u64::MAX (clamped below by the histogram).
        let ns = ((secs * 1e9 + 0.5) as u64).max(1);
        if self.h.record(ns).is_err() {
            self.h.saturating_record(ns);
        }
        if secs > self.max || self.max.is_nan() {
            self.max = secs;
        }
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.h.len()
    }

    /// The q-quantile (0 ≤ q ≤ 1) in seconds, never above the exact maximum; NaN when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.h.is_empty() {
            return f64::NAN;
        }
        (self.h.value_at_quantile(q) as f64 * 1e-9).min(self.max)
    }

    /// Largest value recorded (exact), s; NaN when empty.
    pub fn max(&self) -> f64 {
        self.max
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.h.add(&other.h).expect("auto-resizing histograms merge");
        if other.max > self.max || self.max.is_nan() {
            self.max = other.max;
        }
    }

    /// The underlying HDR histogram (nanoseconds), for exporters.
    pub fn inner(&self) -> &Histogram<u64> {
        &self.h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_within_precision() {
        let mut h = LatencyHistogram::new(3);
        for i in 1..=1000 {
            h.record(i as f64 * 1e-3);
        }
        assert!((h.quantile(0.5) - 0.5).abs() / 0.5 < 1e-3);
        assert!((h.quantile(0.99) - 0.99).abs() / 0.99 < 1e-3);
        assert_eq!(h.count(), 1000);
        assert_eq!(h.max(), 1.0);
        assert_eq!(h.quantile(1.0), 1.0);
    }
}
