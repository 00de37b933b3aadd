//! A bounded time series of the number in system, sampled at a fixed simulated-time interval.
//!
//! Sample `k` is taken at `k × interval` seconds of simulated time (sample 0 at t = 0, the
//! empty system). For each server it records:
//! - `in_system`: the requests present (waiting and in service) at that instant, after every
//!   event at or before it;
//! - `mean`: the time-average of that number over the interval ending there (exact, from the
//!   engine's integral; 0 for sample 0). Unlike the instantaneous value it cannot alias with
//!   a periodic workload (deterministic arrivals sampled in step with them would always catch
//!   the same phase), and it misses no burst between two instants;
//! - `completed`: requests that completed during the interval ending there.
//!
//! Memory is bounded whatever the run length: the buffer holds at most [`MAX_SAMPLES`]
//! samples. When it fills, [`Timeline::decimate`] keeps every other instant and doubles the
//! interval: instantaneous values are those of the kept instants, completions of the two
//! merged intervals are added and their means averaged, so a run of any length ends with
//! between `MAX_SAMPLES / 2` and `MAX_SAMPLES` samples once it has filled the buffer.
//!
//! Per-server values are kept only for pools of at most [`DETAIL_MAX_SERVERS`] servers;
//! every pool keeps the aggregate across servers (total in system, mean per server, least
//! and most loaded server's interval mean, total completions), which is what the charts
//! draw. Without per-server values, the least/most loaded after a decimation are the
//! extremes over the two merged intervals (an envelope) rather than recomputed.
//!
//! The first replication also keeps, per interval, the responses that came back in it and
//! the requests that failed ([`WindowLatency`]): latency over time. Decimation merges them
//! like the completions, so their memory is bounded by the same [`MAX_SAMPLES`].

use super::window_latency::WindowLatency;

/// Largest number of samples held (odd, so that decimation keeps the last one).
pub const MAX_SAMPLES: usize = 1025;

/// Pools with at most this many servers keep a per-server series; larger pools keep only
/// the aggregate across servers.
pub const DETAIL_MAX_SERVERS: usize = 100;

/// The sampled number-in-system series of one simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    interval: f64,
    servers: usize,
    detail: bool,
    total: Vec<u64>,
    completed: Vec<u64>,
    mean_total: Vec<f64>,
    mean_min: Vec<f64>,
    mean_max: Vec<f64>,
    /// Per-server values, `samples × servers`, row-major (empty without detail).
    in_system: Vec<u32>,
    server_completed: Vec<u32>,
    server_mean: Vec<f64>,
    /// Per-interval responses and failures, one per sample (empty when not recorded).
    latency: Vec<WindowLatency>,
    /// Simulated time the run ended (the last arrival), s.
    pub end: f64,
    /// Start of the measured window (end of warm-up), s; `None` without warm-up.
    pub warmup_end: Option<f64>,
}

/// One sample's aggregate across all servers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolSample {
    /// Simulated time, s.
    pub time: f64,
    /// Requests in the whole pool at that instant.
    pub in_system: u64,
    /// Completions in the whole pool during the interval ending at `time`.
    pub completed: u64,
    /// Time-averaged number in system per server over the interval (pool average).
    pub mean: f64,
    /// The least loaded server's time-averaged number in system over the interval.
    pub min: f64,
    /// The most loaded server's time-averaged number in system over the interval.
    pub max: f64,
}

/// One server's sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerSample {
    /// Requests at the server at the sampling instant.
    pub in_system: u32,
    /// Completions there during the interval ending at the instant.
    pub completed: u32,
    /// Time-averaged number in system over that interval.
    pub mean: f64,
}

impl Timeline {
    /// An empty series for `servers` servers, sampled every `interval` seconds.
    pub fn new(servers: usize, interval: f64) -> Self {
        assert!(interval > 0.0 && interval.is_finite(), "sampling interval {interval}");
        Timeline {
            interval,
            servers,
            detail: servers <= DETAIL_MAX_SERVERS,
            total: Vec::new(),
            completed: Vec::new(),
            mean_total: Vec::new(),
            mean_min: Vec::new(),
            mean_max: Vec::new(),
            in_system: Vec::new(),
            server_completed: Vec::new(),
            server_mean: Vec::new(),
            latency: Vec::new(),
            end: 0.0,
            warmup_end: None,
        }
    }

    /// Seconds between samples (after any decimation).
    pub fn interval(&self) -> f64 {
        self.interval
    }

    /// Number of servers sampled.
    pub fn servers(&self) -> usize {
        self.servers
    }

    /// Whether per-server values are kept (pools of at most [`DETAIL_MAX_SERVERS`] servers).
    pub fn has_detail(&self) -> bool {
        self.detail
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.total.len()
    }

    /// Whether no sample was taken.
    pub fn is_empty(&self) -> bool {
        self.total.is_empty()
    }

    /// Simulated time of sample `k`, s.
    pub fn time(&self, k: usize) -> f64 {
        k as f64 * self.interval
    }

    /// Simulated time of the next sample, s.
    pub fn next_time(&self) -> f64 {
        self.time(self.len())
    }

    /// Appends a sample: for each server `i`, `in_system[i]` requests now, `completed[i]`
    /// completions and a time-averaged `mean[i]` in system since the previous sample.
    /// Decimates when the buffer is full.
    pub fn push(&mut self, in_system: &[u32], completed: &[u32], mean: &[f64]) {
        self.push_with(in_system, completed, mean, None);
    }

    /// [`Timeline::push`] with the interval's responses and failures (`None` when latency
    /// over time is not recorded: then no sample has it).
    pub fn push_with(&mut self, in_system: &[u32], completed: &[u32], mean: &[f64], latency: Option<WindowLatency>) {
        debug_assert!(
            if latency.is_some() { self.latency.len() == self.len() } else { self.latency.is_empty() },
            "latency for every sample or none"
        );
        if let Some(l) = latency {
            self.latency.push(l);
        }
        debug_assert!(in_system.len() == self.servers && completed.len() == self.servers);
        debug_assert_eq!(mean.len(), self.servers);
        self.total.push(in_system.iter().map(|&n| u64::from(n)).sum());
        self.completed.push(completed.iter().map(|&c| u64::from(c)).sum());
        self.mean_total.push(mean.iter().sum());
        self.mean_min.push(mean.iter().copied().fold(f64::INFINITY, f64::min).min(f64::MAX));
        self.mean_max.push(mean.iter().copied().fold(0.0, f64::max));
        if self.detail {
            self.in_system.extend_from_slice(in_system);
            self.server_completed.extend_from_slice(completed);
            self.server_mean.extend_from_slice(mean);
        }
        if self.len() == MAX_SAMPLES {
            self.decimate();
        }
    }

    /// Keeps every other sampling instant (even indices) and doubles the interval: point
    /// values are those of the kept instants; completions of the two merged intervals are
    /// added and their means averaged.
    pub fn decimate(&mut self) {
        /// Merges `v` (rows of `width`) pairwise: row j of the result from old rows 2j−1
        /// and 2j (row 0 from old row 0 alone).
        fn merge<T: Copy>(v: &mut Vec<T>, width: usize, f: impl Fn(T, T) -> T) {
            let keep = (v.len() / width.max(1)).div_ceil(2);
            for j in 0..keep {
                for i in 0..width {
                    let cur = v[2 * j * width + i];
                    v[j * width + i] = if j == 0 { cur } else { f(v[(2 * j - 1) * width + i], cur) };
                }
            }
            v.truncate(keep * width);
        }
        debug_assert!(self.len() % 2 == 1, "decimation needs an odd number of samples");
        let w = self.servers;
        merge(&mut self.total, 1, |_, b| b);
        merge(&mut self.completed, 1, |a, b| a + b);
        merge(&mut self.mean_total, 1, |a, b| (a + b) / 2.0);
        merge(&mut self.mean_min, 1, f64::min);
        merge(&mut self.mean_max, 1, f64::max);
        if !self.latency.is_empty() {
            let keep = self.latency.len().div_ceil(2);
            for j in 1..keep {
                let mut w = std::mem::take(&mut self.latency[2 * j - 1]);
                w.merge(&self.latency[2 * j]);
                self.latency[j] = w;
            }
            self.latency.truncate(keep);
        }
        if self.detail {
            merge(&mut self.in_system, w, |_, b| b);
            merge(&mut self.server_completed, w, |a, b| a + b);
            merge(&mut self.server_mean, w, |a, b| (a + b) / 2.0);
            // With per-server values the extremes are recomputed exactly.
            for k in 0..self.len() {
                let row = &self.server_mean[k * w..(k + 1) * w];
                self.mean_min[k] = row.iter().copied().fold(f64::INFINITY, f64::min).min(f64::MAX);
                self.mean_max[k] = row.iter().copied().fold(0.0, f64::max);
            }
        }
        self.interval *= 2.0;
    }

    /// The aggregate across servers of sample `k`.
    pub fn pool(&self, k: usize) -> PoolSample {
        PoolSample {
            time: self.time(k),
            in_system: self.total[k],
            completed: self.completed[k],
            mean: self.mean_total[k] / self.servers.max(1) as f64,
            min: if self.servers == 0 { 0.0 } else { self.mean_min[k] },
            max: self.mean_max[k],
        }
    }

    /// Every sample's aggregate across servers.
    pub fn pool_samples(&self) -> impl Iterator<Item = PoolSample> + '_ {
        (0..self.len()).map(|k| self.pool(k))
    }

    /// Server `i`'s sample `k` (`None` without per-server detail).
    pub fn server(&self, k: usize, i: usize) -> Option<ServerSample> {
        self.detail.then(|| {
            let j = k * self.servers + i;
            ServerSample {
                in_system: self.in_system[j],
                completed: self.server_completed[j],
                mean: self.server_mean[j],
            }
        })
    }

    /// The responses and failures of the interval ending at sample `k` (`None` when latency
    /// over time was not recorded: replications after the first).
    pub fn latency(&self, k: usize) -> Option<&WindowLatency> {
        self.latency.get(k)
    }

    /// Whether latency over time was recorded.
    pub fn has_latency(&self) -> bool {
        !self.latency.is_empty()
    }

    /// Largest interval mean of any server in any sample (0 when empty).
    pub fn peak(&self) -> f64 {
        self.mean_max.iter().copied().fold(0.0, f64::max)
    }
}

/// Samples aimed at in a run of the expected length (at most [`MAX_SAMPLES`]); the engine's
/// sampler and `lbsim load`'s recorder both size their interval from it.
pub const TARGET_SAMPLES: f64 = 400.0;

/// The smallest of 1, 2 or 5 × 10ⁿ that is ≥ `x`: a sampling interval that reads well in
/// timeseries.csv (1 when `x` is not a positive number).
pub fn ceil_1_2_5(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        // Tolerate rounding in powf: 0.3 / 0.1 must give 3, not 2.9999….
        if m * p >= x * (1.0 - 1e-12) {
            return m * p;
        }
    }
    10.0 * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_1_2_or_5_times_a_power_of_ten() {
        assert_eq!(ceil_1_2_5(0.003), 0.005);
        assert_eq!(ceil_1_2_5(1.0), 1.0);
        assert_eq!(ceil_1_2_5(1.1), 2.0);
        assert_eq!(ceil_1_2_5(4.0), 5.0);
        assert_eq!(ceil_1_2_5(6.0), 10.0);
        assert!((ceil_1_2_5(0.02) - 0.02).abs() < 1e-15);
        assert_eq!(ceil_1_2_5(0.0), 1.0);
    }

    #[test]
    fn aggregates_and_detail() {
        let mut t = Timeline::new(3, 0.5);
        t.push(&[0, 0, 0], &[0, 0, 0], &[0.0, 0.0, 0.0]);
        t.push(&[1, 4, 2], &[3, 0, 1], &[0.5, 3.0, 1.0]);
        assert_eq!(t.len(), 2);
        let p = t.pool(1);
        assert_eq!((p.time, p.in_system, p.completed, p.min, p.max), (0.5, 7, 4, 0.5, 3.0));
        assert!((p.mean - 1.5).abs() < 1e-12);
        assert_eq!(t.server(1, 1), Some(ServerSample { in_system: 4, completed: 0, mean: 3.0 }));
        assert_eq!(t.peak(), 3.0);
    }

    #[test]
    fn large_pools_keep_only_the_aggregate() {
        let n = DETAIL_MAX_SERVERS + 1;
        let mut t = Timeline::new(n, 1.0);
        t.push(&vec![2; n], &vec![1; n], &vec![1.5; n]);
        assert!(!t.has_detail());
        assert_eq!(t.server(0, 0), None);
        assert_eq!(t.pool(0).in_system, 2 * n as u64);
        assert_eq!(t.pool(0).completed, n as u64);
        assert_eq!((t.pool(0).min, t.pool(0).max), (1.5, 1.5));
    }

    #[test]
    fn decimation_bounds_memory_and_conserves_completions_and_averages() {
        // Emulates the engine's sampler: a clock ticking every second; server 0 completes
        // one request per tick and has `now` requests on average over the tick ending at
        // `now`, server 1 two and a constant 2.
        let mut t = Timeline::new(2, 1.0);
        let mut pending = [0u32; 2];
        let mut area = [0f64; 2];
        let mut last = 0.0;
        let mut done = 0u64;
        for now in 0..10_000u32 {
            if now > 0 {
                pending[0] += 1;
                pending[1] += 2;
                done += 3;
                area[0] += f64::from(now);
                area[1] += 2.0;
            }
            if f64::from(now) == t.next_time() {
                let dt = f64::from(now) - last;
                let mean = if dt > 0.0 { [area[0] / dt, area[1] / dt] } else { [0.0, 0.0] };
                t.push(&[now, now + 1], &pending, &mean);
                pending = [0; 2];
                area = [0.0; 2];
                last = f64::from(now);
                assert!(t.len() < MAX_SAMPLES);
            }
        }
        assert!(t.len() >= MAX_SAMPLES / 2);
        assert_eq!(t.interval().log2().fract(), 0.0, "interval doubled a whole number of times");
        // Completions are conserved up to the last sample (the rest are still pending).
        let last_time = t.time(t.len() - 1) as u64;
        let kept: u64 = t.pool_samples().map(|p| p.completed).sum();
        assert_eq!(kept, 3 * last_time);
        assert_eq!(done - kept, u64::from(pending[0] + pending[1]));
        for k in 1..t.len() {
            let (time, dt) = (t.time(k), t.interval());
            let s0 = t.server(k, 0).unwrap();
            // Point values are the states at the kept instants.
            assert_eq!(s0.in_system, time as u32);
            // Means are exact averages over the merged interval (time − dt, time].
            let exact = (time - dt + 1.0 + time) / 2.0;
            assert!((s0.mean - exact).abs() < 1e-9 * exact, "k {k}: {} vs {exact}", s0.mean);
            assert_eq!(t.server(k, 1).unwrap().mean, 2.0);
            assert_eq!((t.pool(k).min, t.pool(k).max), (2.0f64.min(s0.mean), s0.mean.max(2.0)));
        }
    }
}
