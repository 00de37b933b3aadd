//! Response-time histograms (HDR layout), recorded in nanoseconds, reported in seconds.
//!
//! [`LatencyHistogram`] keeps the bucket layout of an HDR histogram (the `hdrhistogram`
//! crate's, lowest discernible value 1 ns) — the same buckets, so the same quantiles, the
//! same merged counts and the same iteration — with a cheaper store (issue 13):
//! - **record** is an index computation and one increment (two HDR records cost ~180
//!   instructions per request, a fifth of a simulation's time);
//! - **counts** are `u32` (widened to `u64` before any could overflow), held only for the
//!   range of buckets that was used, so the array of a 3-digit histogram of response times
//!   between 10 µs and 1 s fits in L2;
//! - **few values** (a server of a large pool sees few requests) are kept as a list of
//!   bucket indices, turned into counts past [`SPARSE_MAX`] values: memory grows with the
//!   values seen up to that point, then with their range only, never with their number.
//!
//! The `hdrhistogram` crate stays the reference: the unit tests compare every quantile,
//! count and bucket with it, and [`LatencyHistogram::inner`] builds one for exporters.

use hdrhistogram::Histogram;

/// Values kept as a list of bucket indices before the histogram switches to counts.
const SPARSE_MAX: usize = 128;

impl LatencyHistogram {
    /// Values a histogram keeps as a list (4 bytes each) before it switches to counts.
    pub const LISTED_MAX: u64 = SPARSE_MAX as u64;
}

/// An HDR histogram of durations: relative precision fixed by the significant figures,
/// memory bounded by the range of values seen (not by how many).
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    sigfig: u8,
    /// log2 of half the sub-buckets per bucket (HDR's `sub_bucket_half_count_magnitude`).
    half_mag: u32,
    /// HDR's `sub_bucket_mask` (unit magnitude 0).
    mask: u64,
    /// Values recorded.
    total: u64,
    store: Store,
    /// Exact largest value (s): HDR reports a bucket's upper edge, which can exceed it.
    max: f64,
}

/// Where the counts live.
#[derive(Debug, Clone)]
enum Store {
    /// The bucket index of each value recorded so far (at most [`SPARSE_MAX`]), unordered.
    Sparse(Vec<u32>),
    /// `counts[i]` counts bucket `lo + i`.
    Narrow { lo: usize, counts: Vec<u32> },
    /// The same with `u64` counts, once the total could overflow a `u32`.
    Wide { lo: usize, counts: Vec<u64> },
}

/// Largest total kept with `u32` counts (no count can exceed the total; the margin covers
/// values added before the total is updated, during a merge).
const NARROW_TOTAL: u64 = u32::MAX as u64 - (1 << 16);

impl LatencyHistogram {
    /// A histogram with `sigfig` significant decimal digits (1..=5).
    pub fn new(sigfig: u8) -> Self {
        assert!((1..=5).contains(&sigfig), "sigfig 1..=5");
        // As HDR: single-unit resolution up to 2 × 10^sigfig, rounded up to a power of two.
        let largest = 2 * 10u64.pow(u32::from(sigfig));
        let count_mag = 64 - (largest - 1).leading_zeros(); // ceil(log2(largest))
        let half_mag = count_mag.max(1) - 1;
        let mask = (1u64 << (half_mag + 1)) - 1;
        LatencyHistogram { sigfig, half_mag, mask, total: 0, store: Store::Sparse(Vec::new()), max: f64::NAN }
    }

    /// HDR's bucket of `ns`: powers of two above the first bucket's range.
    #[inline(always)]
    fn bucket_of(&self, ns: u64) -> u32 {
        (63 - self.half_mag) - (ns | self.mask).leading_zeros()
    }

    /// HDR's counts index of `ns`.
    #[inline(always)]
    fn index(&self, ns: u64) -> usize {
        let b = self.bucket_of(ns);
        ((b as usize) << self.half_mag) + (ns >> b) as usize
    }

    /// The lowest value (ns) of counts index `i` (HDR's `value_for`).
    fn lowest(&self, i: usize) -> u64 {
        let half = 1usize << self.half_mag;
        let b = (i >> self.half_mag) as i64 - 1;
        let sub = ((i & (half - 1)) + half) as u64;
        if b < 0 { sub - half as u64 } else { sub << b }
    }

    /// The highest value (ns) of counts index `i` (HDR's `highest_equivalent`).
    fn highest(&self, i: usize) -> u64 {
        let v = self.lowest(i);
        v.saturating_add((1u64 << self.bucket_of(v)) - 1)
    }

    /// Records a duration in seconds (clamped to at least 1 ns).
    #[inline]
    pub fn record(&mut self, secs: f64) {
        // Nearest nanosecond. `+ 0.5` then truncation equals `round()` for the non-negative
        // durations recorded here and avoids a libm call on the hot path (x86-64 has no
        // rounding instruction before SSE4.1). `as` saturates: NaN or negative → 0 → 1 ns,
        // +∞ → u64::MAX.
        let ns = ((secs * 1e9 + 0.5) as u64).max(1);
        let i = self.index(ns);
        match &mut self.store {
            Store::Narrow { lo, counts } if self.total < NARROW_TOTAL => match counts.get_mut(i.wrapping_sub(*lo)) {
                Some(c) => *c += 1,
                None => self.record_slow(i),
            },
            _ => self.record_slow(i),
        }
        self.total += 1;
        if secs > self.max || self.max.is_nan() {
            self.max = secs;
        }
    }

    /// Records index `i` when it is outside the counted range, the store is sparse, or the
    /// counts must widen first.
    #[cold]
    #[inline(never)]
    fn record_slow(&mut self, i: usize) {
        if let Store::Sparse(list) = &mut self.store {
            if list.len() < SPARSE_MAX {
                list.push(i as u32);
                return;
            }
            self.densify();
        }
        self.add_counts(i, i + 1, |_| 1);
    }

    /// Turns the sparse list into counts.
    fn densify(&mut self) {
        let Store::Sparse(list) = &mut self.store else { return };
        let list = std::mem::take(list);
        self.store = Store::Narrow { lo: 0, counts: Vec::new() };
        if let (Some(&lo), Some(&hi)) = (list.iter().min(), list.iter().max()) {
            self.cover(lo as usize, hi as usize + 1);
            let Store::Narrow { lo, counts } = &mut self.store else { unreachable!() };
            for &i in &list {
                counts[i as usize - *lo] += 1;
            }
        }
    }

    /// Makes the counts cover indices `from..to` (whole buckets), widening them to `u64` if
    /// the total could exceed a `u32` after `extra` more values.
    fn cover(&mut self, from: usize, to: usize) {
        let half = 1usize << self.half_mag;
        let round_down = |i: usize| i & !(half - 1);
        let round_up = |i: usize| (i + half - 1) & !(half - 1);
        fn regrow<T: Copy + Default>(lo: &mut usize, counts: &mut Vec<T>, from: usize, to: usize) {
            if counts.is_empty() {
                *lo = from;
                *counts = vec![T::default(); to - from];
                return;
            }
            let (new_lo, new_hi) = (from.min(*lo), to.max(*lo + counts.len()));
            if new_lo == *lo && new_hi == *lo + counts.len() {
                return;
            }
            let mut grown = vec![T::default(); new_hi - new_lo];
            grown[*lo - new_lo..*lo - new_lo + counts.len()].copy_from_slice(counts);
            *lo = new_lo;
            *counts = grown;
        }
        let (from, to) = (round_down(from), round_up(to));
        match &mut self.store {
            Store::Sparse(_) => unreachable!("densified first"),
            Store::Narrow { lo, counts } => regrow(lo, counts, from, to),
            Store::Wide { lo, counts } => regrow(lo, counts, from, to),
        }
    }

    /// Adds `count(k)` to indices `from + k` for `k` in `0..to - from`, covering them first
    /// and widening the counts if the total may pass a `u32`.
    fn add_counts(&mut self, from: usize, to: usize, count: impl Fn(usize) -> u64) {
        let added: u64 = (0..to - from).map(&count).sum();
        if let Store::Narrow { lo, counts } = &self.store
            && self.total + added >= NARROW_TOTAL
        {
            self.store = Store::Wide { lo: *lo, counts: counts.iter().map(|&c| u64::from(c)).collect() };
        }
        self.cover(from, to);
        match &mut self.store {
            Store::Sparse(_) => unreachable!("densified first"),
            Store::Narrow { lo, counts } => {
                for k in 0..to - from {
                    counts[from + k - *lo] += count(k) as u32;
                }
            }
            Store::Wide { lo, counts } => {
                for k in 0..to - from {
                    counts[from + k - *lo] += count(k);
                }
            }
        }
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Non-empty buckets in increasing order: (counts index, count).
    fn buckets(&self) -> Vec<(usize, u64)> {
        match &self.store {
            Store::Sparse(list) => {
                let mut sorted = list.clone();
                sorted.sort_unstable();
                let mut out: Vec<(usize, u64)> = Vec::new();
                for i in sorted {
                    match out.last_mut() {
                        Some((last, c)) if *last == i as usize => *c += 1,
                        _ => out.push((i as usize, 1)),
                    }
                }
                out
            }
            Store::Narrow { lo, counts } => {
                counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(k, &c)| (lo + k, u64::from(c))).collect()
            }
            Store::Wide { lo, counts } => {
                counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(k, &c)| (lo + k, c)).collect()
            }
        }
    }

    /// The q-quantile (0 ≤ q ≤ 1) in seconds, never above the exact maximum; NaN when empty.
    ///
    /// As HDR's `value_at_quantile`: the upper edge of the first bucket at which the
    /// cumulative count reaches ⌈q × count⌉ (at least 1); the lower edge for q = 0.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.total == 0 {
            return f64::NAN;
        }
        let q = q.min(1.0);
        let target = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        let mut at = None;
        let mut last = 0;
        let mut find = |i: usize, c: u64| {
            if c == 0 {
                return false;
            }
            last = i;
            seen += c;
            if seen >= target {
                at = Some(i);
                return true;
            }
            false
        };
        match &self.store {
            Store::Sparse(_) => {
                let _ = self.buckets().into_iter().any(|(i, c)| find(i, c));
            }
            Store::Narrow { lo, counts } => {
                let _ = counts.iter().enumerate().any(|(k, &c)| find(lo + k, u64::from(c)));
            }
            Store::Wide { lo, counts } => {
                let _ = counts.iter().enumerate().any(|(k, &c)| find(lo + k, c));
            }
        }
        let i = at.unwrap_or(last);
        let ns = if q == 0.0 { self.lowest(i) } else { self.highest(i) };
        (ns as f64 * 1e-9).min(self.max)
    }

    /// [`Self::quantile`] of each of `qs` (ascending), in one pass over the counts.
    pub fn quantiles(&self, qs: &[f64]) -> Vec<f64> {
        debug_assert!(qs.windows(2).all(|w| w[0] <= w[1]), "ascending");
        if self.total == 0 || matches!(self.store, Store::Sparse(_)) {
            return qs.iter().map(|&q| self.quantile(q)).collect();
        }
        let targets: Vec<u64> = qs.iter().map(|&q| ((q.min(1.0) * self.total as f64).ceil() as u64).max(1)).collect();
        let mut at = vec![None; qs.len()];
        let (mut seen, mut next, mut last) = (0u64, 0usize, 0usize);
        let mut walk = |i: usize, c: u64| {
            if c == 0 {
                return;
            }
            last = i;
            seen += c;
            while next < targets.len() && seen >= targets[next] {
                at[next] = Some(i);
                next += 1;
            }
        };
        match &self.store {
            Store::Sparse(_) => unreachable!("answered above"),
            Store::Narrow { lo, counts } => counts.iter().enumerate().for_each(|(k, &c)| walk(lo + k, u64::from(c))),
            Store::Wide { lo, counts } => counts.iter().enumerate().for_each(|(k, &c)| walk(lo + k, c)),
        }
        qs.iter()
            .zip(at)
            .map(|(&q, i)| {
                let i = i.unwrap_or(last);
                let ns = if q == 0.0 { self.lowest(i) } else { self.highest(i) };
                (ns as f64 * 1e-9).min(self.max)
            })
            .collect()
    }

    /// The width of the bucket holding `secs`, s: no figure read from the histogram is
    /// known more finely near that value.
    pub fn resolution(&self, secs: f64) -> f64 {
        let ns = ((secs * 1e9 + 0.5) as u64).max(1);
        let i = self.index(ns);
        (self.highest(i) - self.lowest(i) + 1) as f64 * 1e-9
    }

    /// Largest value recorded (exact), s; NaN when empty.
    pub fn max(&self) -> f64 {
        self.max
    }

    /// Adds every value of `other` (same significant figures).
    pub fn merge(&mut self, other: &LatencyHistogram) {
        assert_eq!(self.sigfig, other.sigfig, "merging histograms of different precision");
        if other.total == 0 {
            return;
        }
        match &other.store {
            Store::Sparse(list) if matches!(self.store, Store::Sparse(_)) || list.is_empty() => {
                for &i in list {
                    // Each value as if recorded: stays sparse while it fits.
                    self.record_slow(i as usize);
                }
            }
            _ => {
                self.densify();
                let b = other.buckets();
                let (from, to) = (b[0].0, b[b.len() - 1].0 + 1);
                let mut dense = vec![0u64; to - from];
                for (i, c) in b {
                    dense[i - from] = c;
                }
                self.add_counts(from, to, |k| dense[k]);
            }
        }
        self.total += other.total;
        if other.max > self.max || self.max.is_nan() {
            self.max = other.max;
        }
    }

    /// An HDR histogram (nanoseconds) holding the same counts, for exporters that iterate
    /// over buckets (`iter_recorded`: `value_iterated_to` is each bucket's upper edge).
    pub fn inner(&self) -> Histogram<u64> {
        let mut h = Histogram::new(self.sigfig).expect("valid sigfig");
        h.auto(true);
        for (i, c) in self.buckets() {
            h.record_n(self.lowest(i), c).expect("an auto-resizing histogram records any value");
        }
        h
    }

    /// Bytes held by the counts (for the memory figures of docs/performance.md).
    pub fn heap_bytes(&self) -> usize {
        match &self.store {
            Store::Sparse(list) => list.capacity() * 4,
            Store::Narrow { counts, .. } => counts.capacity() * 4,
            Store::Wide { counts, .. } => counts.capacity() * 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    /// The reference: what the former implementation (an auto-resizing `hdrhistogram`)
    /// reported for the same values.
    fn reference(sigfig: u8, secs: &[f64]) -> (Histogram<u64>, f64) {
        let mut h = Histogram::<u64>::new(sigfig).unwrap();
        h.auto(true);
        let mut max = f64::NAN;
        for &s in secs {
            h.record(((s * 1e9 + 0.5) as u64).max(1)).unwrap();
            if s > max || max.is_nan() {
                max = s;
            }
        }
        (h, max)
    }

    const QUANTILES: [f64; 9] = [0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0];

    fn same_as_hdr(ours: &LatencyHistogram, secs: &[f64]) {
        let (h, max) = reference(ours.sigfig, secs);
        assert_eq!(ours.count(), h.len());
        if secs.is_empty() {
            // No value, no quantile (hdrhistogram answers 0, which lbsim never reported).
            assert!(QUANTILES.iter().all(|&q| ours.quantile(q).is_nan()));
            return;
        }
        for q in QUANTILES {
            let want = (h.value_at_quantile(q) as f64 * 1e-9).min(max);
            assert_eq!(ours.quantile(q).to_bits(), want.to_bits(), "q = {q}, {} values", secs.len());
        }
        let one_pass: Vec<u64> = ours.quantiles(&QUANTILES).iter().map(|v| v.to_bits()).collect();
        assert_eq!(one_pass, QUANTILES.map(|q| ours.quantile(q).to_bits()).to_vec(), "quantiles() = quantile()");
        let got: Vec<(u64, u64)> =
            ours.inner().iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect();
        let want: Vec<(u64, u64)> = h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect();
        assert_eq!(got, want);
    }

    /// Response-time-like values: log-uniform from 1 ns to ~100 s, some repeated.
    fn values() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec((0.0f64..11.0, 0usize..3), 0..700)
            .prop_map(|v| v.into_iter().flat_map(|(e, k)| std::iter::repeat_n(10f64.powf(e - 9.0), k + 1)).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn quantiles_and_buckets_equal_hdrhistogram(secs in values(), sigfig in 2u8..=3) {
            let mut ours = LatencyHistogram::new(sigfig);
            for &s in &secs {
                ours.record(s);
            }
            same_as_hdr(&ours, &secs);
        }

        #[test]
        fn merges_equal_hdrhistogram(a in values(), b in values(), c in values()) {
            // Sparse into sparse, sparse into dense, dense into sparse, dense into dense.
            let mut all = LatencyHistogram::new(2);
            let mut seen = Vec::new();
            for part in [&a, &b, &c] {
                let mut h = LatencyHistogram::new(2);
                for &s in part.iter() {
                    h.record(s);
                }
                all.merge(&h);
                seen.extend_from_slice(part);
                same_as_hdr(&all, &seen);
            }
        }
    }

    #[test]
    fn counts_widen_before_overflowing() {
        let mut h = LatencyHistogram::new(2);
        for _ in 0..SPARSE_MAX + 1 {
            h.record(1e-3);
        }
        // Pretend almost 2^32 values were recorded in the same bucket.
        if let Store::Narrow { counts, .. } = &mut h.store {
            let c = counts.iter_mut().find(|c| **c > 0).unwrap();
            *c = (NARROW_TOTAL - 10) as u32;
        }
        h.total = NARROW_TOTAL - 10;
        for _ in 0..20 {
            h.record(1e-3);
        }
        assert!(matches!(h.store, Store::Wide { .. }));
        assert_eq!(h.inner().iter_recorded().map(|v| v.count_at_value()).sum::<u64>(), NARROW_TOTAL + 10);
        assert_eq!(h.count(), NARROW_TOTAL + 10);
    }

    #[test]
    fn memory_follows_the_range_not_the_count() {
        let mut h = LatencyHistogram::new(2);
        for i in 0..1_000_000u64 {
            h.record(1e-3 * (1.0 + (i % 1000) as f64 / 1000.0)); // 1 to 2 ms: one bucket
        }
        assert!(h.heap_bytes() <= 128 * 4 * 2, "{}", h.heap_bytes());
    }
}
