//! `histogram.csv`: `strategy,bucket_low_ms,bucket_high_ms,count` — response times in
//! log-spaced buckets, [`BUCKETS_PER_DECADE`] per power of ten, with edges at
//! 10^(k / BUCKETS_PER_DECADE) ms.
//!
//! Every strategy gets the same buckets (from the lowest to the highest bucket any strategy
//! uses, empty ones included), so the file pivots into a rectangular table. A bucket holds
//! `low ≤ t < high`; counts come from the HDR histogram (0.1% precision, far finer than a
//! bucket) and add up to the measured completions.

use super::Report;
use super::summary_csv::to_bytes;
use crate::Result;
use crate::report::Exporter;
use crate::stats::LatencyHistogram;

/// Columns of histogram.csv.
pub const COLUMNS: &[&str] = &["strategy", "bucket_low_ms", "bucket_high_ms", "count"];

/// Buckets per factor of ten (each bucket is 10^(1/10) ≈ 1.26 × wider than the last).
pub const BUCKETS_PER_DECADE: i32 = 10;

/// One row per strategy × bucket.
#[derive(Debug)]
pub struct HistogramCsv;

/// Lower edge of bucket `k`, ms.
pub fn edge_ms(k: i32) -> f64 {
    10f64.powf(f64::from(k) / f64::from(BUCKETS_PER_DECADE))
}

/// The bucket holding `value_ms` (> 0).
pub fn bucket_of(value_ms: f64) -> i32 {
    let mut k = (value_ms.log10() * f64::from(BUCKETS_PER_DECADE)).floor() as i32;
    // Guard against rounding at the edges.
    while value_ms < edge_ms(k) {
        k -= 1;
    }
    while value_ms >= edge_ms(k + 1) {
        k += 1;
    }
    k
}

/// Counts per bucket: `(bucket, count)` in increasing bucket order, non-empty buckets only.
pub fn buckets(h: &LatencyHistogram) -> Vec<(i32, u64)> {
    let mut out: Vec<(i32, u64)> = Vec::new();
    for v in h.inner().iter_recorded() {
        let k = bucket_of(v.value_iterated_to() as f64 * 1e-6);
        match out.last_mut() {
            Some((last, c)) if *last == k => *c += v.count_at_value(),
            _ => out.push((k, v.count_at_value())),
        }
    }
    out
}

/// A bucket edge for the file: 6 significant digits, plain decimal notation.
fn edge_text(k: i32) -> String {
    let x = edge_ms(k);
    let digits = 5 - x.log10().floor() as i32;
    let scale = 10f64.powi(digits);
    format!("{}", (x * scale).round() / scale)
}

impl Exporter for HistogramCsv {
    fn file_name(&self) -> &'static str {
        "histogram.csv"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let per: Vec<Vec<(i32, u64)>> = report.strategies.iter().map(|s| buckets(&s.response)).collect();
        let lo = per.iter().filter_map(|b| b.first()).map(|b| b.0).min();
        let hi = per.iter().filter_map(|b| b.last()).map(|b| b.0).max();
        let mut rows = Vec::new();
        if let (Some(lo), Some(hi)) = (lo, hi) {
            for (s, b) in report.strategies.iter().zip(&per) {
                let mut it = b.iter().peekable();
                for k in lo..=hi {
                    let count = match it.peek() {
                        Some(&&(bk, c)) if bk == k => {
                            it.next();
                            c
                        }
                        _ => 0,
                    };
                    rows.push(vec![s.label.clone(), edge_text(k), edge_text(k + 1), count.to_string()]);
                }
            }
        }
        to_bytes(COLUMNS.to_vec(), rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_log_spaced_and_count_everything() {
        assert_eq!(bucket_of(1.0), 0);
        assert_eq!(bucket_of(0.999_999), -1);
        assert_eq!(bucket_of(10.0), BUCKETS_PER_DECADE);
        assert_eq!(bucket_of(0.01), -2 * BUCKETS_PER_DECADE);
        assert_eq!(edge_text(0), "1");
        assert_eq!(edge_text(1), "1.25893");
        assert_eq!(edge_text(-30), "0.001");
        assert_eq!(edge_text(-29), "0.00125893");
        let mut h = LatencyHistogram::new(3);
        for i in 1..=10_000 {
            h.record(f64::from(i) * 1e-5); // 0.01 .. 100 ms
        }
        let b = buckets(&h);
        assert_eq!(b.iter().map(|x| x.1).sum::<u64>(), 10_000);
        assert!(b.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(b.first().unwrap().0, -20);
    }
}
