//! Response times and outcomes of one sampling interval of the timeline: latency over time
//! in bounded memory.
//!
//! Each interval of the [`crate::stats::Timeline`] keeps a [`WindowLatency`]: how many
//! requests arrived in it, how many completed and how many ended otherwise (failed, dropped, timed out), the
//! exact sum and largest of the completed requests' response times, and a compact
//! histogram of them. A request belongs to the interval in which its outcome was settled
//! (**by completion**, not by arrival): the window ending at `t` holds the responses that
//! came back in (t − interval, t], which is what a dashboard of a live system shows.
//!
//! The histogram's buckets are the top bits of the IEEE-754 representation of the response
//! time in seconds: the exponent and the first [`MANTISSA_BITS`] bits of the mantissa, i.e.
//! 2^MANTISSA_BITS = 32 linear sub-buckets per power of two. A bucket spans at most 1/32
//! of its lower edge, and a quantile is reported as its bucket's midpoint (clamped to the
//! window's exact largest value), so it is within 1.6% of the true order statistic (times
//! below [`FLOOR_SECONDS`], 1 µs, share its bucket). Counts
//! are kept only for the range of buckets a window used (a few octaves), so a window costs
//! tens to hundreds of bytes, and the timeline's ≤ 1,025 windows bound the memory whatever
//! the number of requests. Merging two windows (decimation) adds their counts: nothing is
//! lost.

/// Mantissa bits kept in a bucket index: 32 sub-buckets per power of two.
pub const MANTISSA_BITS: u32 = 5;

/// Largest relative error of a windowed quantile (half a bucket's relative width).
pub const RELATIVE_ERROR: f64 = 1.0 / (2u32 << MANTISSA_BITS) as f64;

/// Shift from an `f64`'s bits to its bucket index.
const SHIFT: u32 = 52 - MANTISSA_BITS;

/// The responses and other outcomes of one sampling interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowLatency {
    /// Requests that arrived in the interval (the offered load over time).
    pub arrived: u64,
    /// Requests completed in the interval.
    pub completed: u64,
    /// Requests whose outcome was settled otherwise in the interval: failed (refused or
    /// reset by a crashed server), dropped at a full queue, or timed out at the client.
    pub failed: u64,
    /// Sum of the completed requests' response times, s.
    pub sum: f64,
    /// Largest response time, s (0 when none completed).
    pub max: f64,
    /// Bucket index of `counts[0]`.
    lo: u32,
    /// Completions per bucket, from `lo`.
    counts: Vec<u32>,
}

/// Response times below this share its bucket, s (1 µs, the table's last digit of a
/// millisecond). Without a floor one response of 10⁻³⁰ s (a gamma service of cv 2 draws such
/// values) stretched a window's counts over a thousand octaves: haproxy-maxconn held 130 MB
/// of counts (issue 29).
pub const FLOOR_SECONDS: f64 = 1e-6;

/// Bucket index of a response time in seconds (non-negative and finite).
#[inline(always)]
fn bucket(secs: f64) -> u32 {
    // A positive f64's bits order as its values do.
    (secs.max(FLOOR_SECONDS).to_bits() >> SHIFT) as u32
}

/// The lowest value of bucket `b`, s.
fn lower_edge(b: u32) -> f64 {
    f64::from_bits(u64::from(b) << SHIFT)
}

impl WindowLatency {
    /// Records a completed request's response time, s.
    #[inline]
    pub fn record(&mut self, secs: f64) {
        let b = bucket(secs);
        self.completed += 1;
        self.sum += secs;
        if secs > self.max {
            self.max = secs;
        }
        match self.counts.get_mut(b.wrapping_sub(self.lo) as usize) {
            Some(c) if b >= self.lo => *c += 1,
            _ => self.widen(b, 1),
        }
    }

    /// Records a request that ended without completing.
    #[inline]
    pub fn fail(&mut self) {
        self.failed += 1;
    }

    /// Adds `n` to bucket `b`, widening the counted range to hold it.
    #[cold]
    fn widen(&mut self, b: u32, n: u32) {
        if self.counts.is_empty() {
            self.lo = b;
            self.counts.push(n);
            return;
        }
        if b < self.lo {
            let grow = (self.lo - b) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.lo = b;
        }
        let i = (b - self.lo) as usize;
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += n;
    }

    /// Adds `other`'s requests to this window's (two intervals merged into one).
    pub fn merge(&mut self, other: &WindowLatency) {
        self.arrived += other.arrived;
        self.completed += other.completed;
        self.failed += other.failed;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
        for (i, &n) in other.counts.iter().enumerate() {
            if n > 0 {
                self.widen(other.lo + i as u32, n);
            }
        }
    }

    /// Mean response time, s (NaN when none completed).
    pub fn mean(&self) -> f64 {
        if self.completed == 0 { f64::NAN } else { self.sum / self.completed as f64 }
    }

    /// The `q` quantile (0 < q ≤ 1) of the response times, s: the midpoint of the bucket
    /// holding the ⌈q·n⌉-th smallest, at most the largest value, which is exact (NaN when
    /// none completed).
    pub fn quantile(&self, q: f64) -> f64 {
        Self::quantile_of(&[self], q)
    }

    /// The `q` quantile of the response times of several windows pooled (a phase of the
    /// run), s; NaN when none completed.
    pub fn quantile_of(windows: &[&WindowLatency], q: f64) -> f64 {
        let n: u64 = windows.iter().map(|w| w.completed).sum();
        if n == 0 {
            return f64::NAN;
        }
        let max = windows.iter().map(|w| w.max).fold(0.0, f64::max);
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        if rank == n {
            return max; // the largest is kept exactly
        }
        let lo = windows.iter().filter(|w| !w.counts.is_empty()).map(|w| w.lo).min().unwrap_or(0);
        let hi = windows.iter().map(|w| w.lo + w.counts.len() as u32).max().unwrap_or(0);
        let mut seen = 0u64;
        for b in lo..hi {
            seen += windows
                .iter()
                .filter_map(|w| b.checked_sub(w.lo).and_then(|i| w.counts.get(i as usize)))
                .map(|&c| u64::from(c))
                .sum::<u64>();
            if seen >= rank {
                let mid = (lower_edge(b) + lower_edge(b + 1)) / 2.0;
                return mid.min(max);
            }
        }
        max
    }

    /// Bytes held by the counts (for the memory tests).
    pub fn heap_bytes(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact ⌈q·n⌉-th smallest of `v`.
    fn exact(v: &mut [f64], q: f64) -> f64 {
        v.sort_by(f64::total_cmp);
        v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
    }

    #[test]
    fn quantiles_are_within_the_stated_relative_error() {
        // Log-uniform values over six decades, from a fixed LCG.
        let mut x: u64 = 12345;
        let mut v = Vec::new();
        let mut w = WindowLatency::default();
        for _ in 0..20_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            let secs = 10f64.powf(-5.0 + 6.0 * u);
            v.push(secs);
            w.record(secs);
        }
        for q in [0.01, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let (got, want) = (w.quantile(q), exact(&mut v, q));
            assert!((got - want).abs() <= RELATIVE_ERROR * want * (1.0 + 1e-12), "q {q}: {got} vs {want}");
        }
        assert_eq!(w.quantile(1.0), w.max);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((w.mean() - mean).abs() < 1e-9 * mean);
        // Six decades at 32 buckets per octave: about 640 buckets of 4 bytes (the vector's
        // capacity at most doubles that).
        assert!(w.heap_bytes() <= 2 * 4 * 700, "{} bytes", w.heap_bytes());
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (WindowLatency::default(), WindowLatency::default(), WindowLatency::default());
        for (i, secs) in [0.5, 0.001, 0.02, 3.0, 0.0, 0.0007, 0.02].into_iter().enumerate() {
            if i % 2 == 0 {
                a.record(secs)
            } else {
                b.record(secs)
            }
            all.record(secs);
        }
        a.fail();
        all.fail();
        let pooled = WindowLatency::quantile_of(&[&a, &b], 0.5);
        a.merge(&b);
        assert_eq!((a.completed, a.failed, a.max), (all.completed, all.failed, all.max));
        for q in [0.1, 0.5, 0.9, 1.0] {
            assert_eq!(a.quantile(q), all.quantile(q));
        }
        assert_eq!(pooled, all.quantile(0.5));
        assert!(WindowLatency::default().quantile(0.5).is_nan());
        assert!(WindowLatency::default().mean().is_nan());
    }
}
