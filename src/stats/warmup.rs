//! Where the initial transient ends: MSER-5 (MSER: White, "An effective truncation
//! heuristic for bias reduction in simulation output", Simulation 69(6), 1997; on means of
//! batches of 5: Spratt 1998, compared in White, Cobb & Spratt, Winter Simulation
//! Conference 2000) on one run's response times (issue 22).
//!
//! The engine hands [`Series`] every completed request's response time with the request's
//! arrival index (warm-up included). They are averaged in batches of consecutive arrivals:
//! batch `i` holds requests `i·w … (i+1)·w − 1`, `w = 5·2^s`. The buffer holds at most
//! [`SERIES_BATCHES`] batches; when a request falls beyond it, adjacent batches are merged
//! in pairs and `s` grows by one (a bounded, coarsening buffer: memory is fixed, whatever
//! the run's length). A run of up to 5 × 1024 requests is thus seen in batches of exactly 5
//! (MSER-5 as published); a longer one in 512 to 1024 batches of 5·2^s (MSER-5 applied to
//! batch means of batch means, which only smooths the series further).
//!
//! MSER picks the truncation `d` (in batches) minimising
//! `MSER(d) = Σ_{i>d} (Y_i − Ȳ_d)² / (n − d)²` over the batch means `Y_1 … Y_n`: the
//! squared standard error of the mean of what is kept, which falls while dropping biased early
//! values and rises once dropping only loses data. `d` is searched while at least
//! [`MIN_KEPT`] batches remain; a minimum in the second half of the run means the series
//! never settled: [`Transient::steady`] is false ("no steady state reached: run longer")
//! and the truncation is not applied.

/// Most batches the buffer holds.
pub const SERIES_BATCHES: usize = 1024;
/// Requests per batch before any coarsening: MSER-**5**.
pub const MSER_BATCH: u64 = 5;
/// Fewest batches MSER keeps when searching (a minimum over the last few batch means is
/// noise, not a steady state).
pub const MIN_KEPT: usize = 10;

/// The response times of one run, in batch means of consecutive arrivals.
#[derive(Debug, Clone)]
pub struct Series {
    /// log2 of the batch width over [`MSER_BATCH`].
    shift: u32,
    sum: Vec<f64>,
    count: Vec<u64>,
}

impl Default for Series {
    fn default() -> Self {
        Self::new()
    }
}

impl Series {
    /// An empty series.
    pub fn new() -> Self {
        Series { shift: 0, sum: vec![0.0; SERIES_BATCHES], count: vec![0; SERIES_BATCHES] }
    }

    /// Requests per batch now.
    pub fn width(&self) -> u64 {
        MSER_BATCH << self.shift
    }

    /// Request `id` completed after `response` s.
    #[inline(always)]
    pub fn record(&mut self, id: u64, response: f64) {
        let mut i = ((id >> self.shift) / MSER_BATCH) as usize;
        if i >= SERIES_BATCHES {
            i = self.coarsen(id);
        }
        self.sum[i] += response;
        self.count[i] += 1;
    }

    /// Merges batches in pairs until request `id` falls in the buffer; its batch.
    #[cold]
    #[inline(never)]
    fn coarsen(&mut self, id: u64) -> usize {
        loop {
            for j in 0..SERIES_BATCHES / 2 {
                self.sum[j] = self.sum[2 * j] + self.sum[2 * j + 1];
                self.count[j] = self.count[2 * j] + self.count[2 * j + 1];
            }
            self.sum[SERIES_BATCHES / 2..].fill(0.0);
            self.count[SERIES_BATCHES / 2..].fill(0);
            self.shift += 1;
            let i = ((id >> self.shift) / MSER_BATCH) as usize;
            if i < SERIES_BATCHES {
                return i;
            }
        }
    }

    /// The batch means, in arrival order, up to the last batch holding a response (a batch
    /// without one — every request of it dropped or failed — is skipped), each with the
    /// index of its first request.
    pub fn means(&self) -> Vec<(u64, f64)> {
        let w = self.width();
        (0..SERIES_BATCHES)
            .filter(|&i| self.count[i] > 0)
            .map(|i| (i as u64 * w, self.sum[i] / self.count[i] as f64))
            .collect()
    }

    /// The transient MSER finds: where it ends, in requests.
    pub fn transient(&self) -> Transient {
        let means = self.means();
        let y: Vec<f64> = means.iter().map(|m| m.1).collect();
        match mser(&y) {
            None => Transient { truncation: 0, steady: true },
            Some(d) => Transient { truncation: means[d].0, steady: 2 * d <= y.len() },
        }
    }
}

/// The end of a run's initial transient.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transient {
    /// Requests MSER-5 truncates (arrival index of the first one kept).
    pub truncation: u64,
    /// Whether the truncation lies in the first half of the run (otherwise the run never
    /// reached a steady state and the truncation is not applied).
    pub steady: bool,
}

impl Transient {
    /// Of several runs (replications): the largest truncation, steady only if all are.
    pub fn of(runs: impl IntoIterator<Item = Transient>) -> Transient {
        runs.into_iter().fold(Transient { truncation: 0, steady: true }, |a, t| Transient {
            truncation: a.truncation.max(t.truncation),
            steady: a.steady && t.steady,
        })
    }
}

/// The truncation `d` minimising MSER(d) over `y` (the first of equal minima), searched
/// while [`MIN_KEPT`] values remain; None when `y` is too short to search.
pub fn mser(y: &[f64]) -> Option<usize> {
    let n = y.len();
    if n < MIN_KEPT + 1 {
        return None;
    }
    // Centred on the overall mean, so the suffix sums do not cancel.
    let c = y.iter().sum::<f64>() / n as f64;
    let (mut s1, mut s2) = (0.0, 0.0);
    let mut best = (f64::INFINITY, 0);
    // From the end backwards: s1, s2 hold the sums over y[d..].
    for d in (0..n).rev() {
        let x = y[d] - c;
        s1 += x;
        s2 += x * x;
        let k = (n - d) as f64;
        if n - d < MIN_KEPT {
            continue;
        }
        let stat = (s2 - s1 * s1 / k).max(0.0) / (k * k);
        if stat <= best.0 {
            best = (stat, d);
        }
    }
    Some(best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MSER(d) computed directly from its definition.
    fn direct(y: &[f64], d: usize) -> f64 {
        let k = (y.len() - d) as f64;
        let m = y[d..].iter().sum::<f64>() / k;
        y[d..].iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (k * k)
    }

    #[test]
    fn mser_matches_its_definition() {
        let y: Vec<f64> =
            (0..200).map(|i| 10.0 * (-(i as f64) / 15.0).exp() + ((i * 7919) % 13) as f64 / 13.0).collect();
        let d = mser(&y).unwrap();
        let best = (0..=y.len() - MIN_KEPT).min_by(|&a, &b| direct(&y, a).total_cmp(&direct(&y, b))).unwrap();
        assert_eq!(d, best);
        // The transient 10·e^(−i/15) has fallen under the noise after some tens of values.
        assert!((20..100).contains(&d), "{d}");
        assert_eq!(mser(&[1.0; 5]), None);
    }

    #[test]
    fn a_steady_series_is_not_truncated_and_a_drifting_one_is_not_steady() {
        let noise: Vec<f64> = (0..300).map(|i| ((i * 7919) % 101) as f64).collect();
        let mut s = Series::new();
        for (i, v) in noise.iter().enumerate() {
            for j in 0..5 {
                s.record(5 * i as u64 + j, *v);
            }
        }
        assert!(s.transient().steady);
        assert!(s.transient().truncation < 5 * 150);
        // A queue that never settles: response times keep growing.
        let mut s = Series::new();
        for id in 0..3000 {
            s.record(id, id as f64);
        }
        let t = s.transient();
        assert!(!t.steady, "{t:?}");
    }

    #[test]
    fn the_buffer_coarsens_and_keeps_every_response() {
        let mut s = Series::new();
        let n = 5 * SERIES_BATCHES as u64 * 3 + 7;
        for id in 0..n {
            s.record(id, 1.0 + (id / 1000) as f64);
        }
        assert_eq!(s.width(), 20);
        let means = s.means();
        assert!(means.len() <= SERIES_BATCHES && means.len() > SERIES_BATCHES / 2);
        assert_eq!(s.count.iter().sum::<u64>(), n);
        let total: f64 = (0..n).map(|id| 1.0 + (id / 1000) as f64).sum();
        assert!((s.sum.iter().sum::<f64>() - total).abs() < 1e-6 * total);
        // Batch i starts at request 20·i.
        assert_eq!(means[3].0, 60);
        assert_eq!(
            Transient::of([Transient { truncation: 5, steady: true }, Transient { truncation: 9, steady: false }]),
            Transient { truncation: 9, steady: false }
        );
    }
}
