//! Time-varying arrival rates: a piecewise schedule or a diurnal sine, times flash-crowd
//! spikes, and the exact non-homogeneous Poisson sampler for them (Lewis–Shedler thinning).
//!
//! The rate λ(t) is `base(t) × Π multiplier of the spikes active at t`. Time is cut into
//! pieces at every schedule change, every spike edge and (for the sine) every 1/64 of a
//! period; within a piece λ is either constant or bounded by the sine's exact maximum over
//! that piece. Thinning draws candidate points from a Poisson process at the piece's bound
//! λ* and keeps each with probability λ(t)/λ*; a candidate that crosses the piece's end is
//! discarded and the clock restarts at the boundary with the next piece's bound, which is
//! exact because exponential gaps are memoryless. Where λ is constant on the piece every
//! candidate is kept (no uniform is drawn), so a piecewise schedule costs one exponential
//! per arrival.

use std::f64::consts::TAU;

use rand::Rng;
use rand_distr::{Distribution, Exp1, StandardUniform};
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

/// Pieces per diurnal period: the bound over a piece is the sine's maximum on it, so
/// thinning keeps ≥ 99% of candidates on average.
pub const DIURNAL_PIECES: f64 = 64.0;

/// The base level of a time-varying rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RateBase {
    /// Piecewise constant: `(from, rate)` with `from` strictly increasing and the first at 0.
    #[serde(serialize_with = "steps")]
    Steps(Vec<(f64, f64)>),
    /// `base + amplitude × cos(2π (t − peak_at) / period)`, requests per second.
    Diurnal {
        /// Mean level, req/s.
        #[serde(rename = "base_rps")]
        base: f64,
        /// Swing above and below the mean, req/s (at most `base`).
        #[serde(rename = "amplitude_rps")]
        amplitude: f64,
        /// Length of a cycle, s.
        #[serde(rename = "period_s")]
        period: f64,
        /// Time of a peak, s.
        #[serde(rename = "peak_at_s")]
        peak_at: f64,
    },
}

/// A flash crowd: the rate is multiplied by `multiplier` during `[at, at + duration)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spike {
    /// Start, s.
    #[serde(rename = "at_s")]
    pub at: f64,
    /// Length, s.
    #[serde(rename = "duration_s")]
    pub duration: f64,
    /// Factor applied to the rate (overlapping spikes multiply).
    pub multiplier: f64,
}

/// Writes schedule steps as `{"from_s", "rate_rps"}` objects.
fn steps<S: Serializer>(steps: &[(f64, f64)], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Step {
        from_s: f64,
        rate_rps: f64,
    }
    let mut seq = s.serialize_seq(Some(steps.len()))?;
    for &(from_s, rate_rps) in steps {
        seq.serialize_element(&Step { from_s, rate_rps })?;
    }
    seq.end()
}

/// A time-varying arrival rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateProfile {
    /// The level before spikes.
    pub base: RateBase,
    /// Spikes, in any order.
    pub spikes: Vec<Spike>,
}

impl RateProfile {
    /// λ(t), requests per second.
    pub fn rate_at(&self, t: f64) -> f64 {
        self.base_at(t) * self.multiplier_at(t)
    }

    fn base_at(&self, t: f64) -> f64 {
        match &self.base {
            RateBase::Steps(steps) => {
                let i = steps.partition_point(|&(from, _)| from <= t);
                steps[i.saturating_sub(1)].1
            }
            RateBase::Diurnal { base, amplitude, period, peak_at } => {
                base + amplitude * (TAU * (t - peak_at) / period).cos()
            }
        }
    }

    fn multiplier_at(&self, t: f64) -> f64 {
        self.spikes.iter().filter(|s| s.at <= t && t < s.at + s.duration).map(|s| s.multiplier).product()
    }

    /// The end of the piece that starts at `t`: the first schedule change, spike edge or
    /// diurnal grid point strictly after `t` (+∞ when the rate never changes again).
    pub fn next_boundary(&self, t: f64) -> f64 {
        let mut b = f64::INFINITY;
        match &self.base {
            RateBase::Steps(steps) => {
                let i = steps.partition_point(|&(from, _)| from <= t);
                if let Some(&(from, _)) = steps.get(i) {
                    b = from;
                }
            }
            RateBase::Diurnal { period, .. } => {
                let step = period / DIURNAL_PIECES;
                let k = (t / step).floor() + 1.0;
                let mut g = k * step;
                if g <= t {
                    g = (k + 1.0) * step;
                }
                b = g;
            }
        }
        for s in &self.spikes {
            for edge in [s.at, s.at + s.duration] {
                if edge > t && edge < b {
                    b = edge;
                }
            }
        }
        b
    }

    /// An upper bound of λ over the piece `[t0, t1)` (no boundary inside), and whether λ
    /// is constant there (then the bound is λ itself).
    pub fn piece_bound(&self, t0: f64, t1: f64) -> (f64, bool) {
        let mid = if t1.is_finite() { 0.5 * (t0 + t1) } else { t0 };
        let m = self.multiplier_at(mid);
        match &self.base {
            RateBase::Steps(_) => (self.base_at(t0) * m, true),
            RateBase::Diurnal { base, amplitude, period, peak_at } => {
                let cos_max = max_cos(t0, t1, *period, *peak_at);
                // A hair of slack so rounding in `rate_at` never exceeds the bound.
                ((base + amplitude * cos_max) * m * (1.0 + 1e-12), false)
            }
        }
    }

    /// ∫ λ over the piece `[t0, t1)` (no boundary inside): the expected number of arrivals.
    pub fn piece_integral(&self, t0: f64, t1: f64) -> f64 {
        let m = self.multiplier_at(0.5 * (t0 + t1));
        match &self.base {
            RateBase::Steps(_) => self.base_at(t0) * m * (t1 - t0),
            RateBase::Diurnal { base, amplitude, period, peak_at } => {
                let w = TAU / period;
                let s = ((w * (t1 - peak_at)).sin() - (w * (t0 - peak_at)).sin()) / w;
                m * (base * (t1 - t0) + amplitude * s)
            }
        }
    }

    /// ∫₀ᵗ λ: the expected number of arrivals by time `t`.
    pub fn integral(&self, t: f64) -> f64 {
        let mut acc = 0.0;
        let mut a = 0.0;
        while a < t {
            let b = self.next_boundary(a).min(t);
            acc += self.piece_integral(a, b);
            a = b;
        }
        acc
    }

    /// The time by which `n` arrivals are expected (Λ(T) = n): the run's expected length.
    /// Its cost does not grow with the number of diurnal periods: whole periods without a
    /// spike edge are added at once. +∞ when the pieces get shorter than the clock resolves
    /// at that time (a nanosecond cycle late in a run) or more than [`MAX_HORIZON_PIECES`] are
    /// needed: such a run cannot be simulated either.
    pub fn horizon(&self, n: f64) -> f64 {
        let mut acc = 0.0;
        let mut a = 0.0;
        for _ in 0..MAX_HORIZON_PIECES {
            // Whole diurnal periods with no spike edge inside contribute base × period × the
            // spikes' multiplier there (1 past every spike) each.
            if let RateBase::Diurnal { base, period, .. } = &self.base {
                let edge = self.spikes.iter().flat_map(|s| [s.at, s.at + s.duration]).filter(|&e| e > a);
                let room = match edge.fold(f64::INFINITY, f64::min) {
                    e if e.is_finite() => ((e - a) / period).floor() - 1.0,
                    _ => f64::INFINITY,
                };
                let per = if room.is_finite() { base * period * self.multiplier_at(a) } else { base * period };
                let whole = (((n - acc) / per).floor() - 1.0).min(room);
                if whole > 0.0 {
                    acc += whole * per;
                    a += whole * period;
                }
            }
            let b = self.next_boundary(a);
            if b <= a {
                // The next piece ends where it starts: shorter than an f64 step at `a`.
                return f64::INFINITY;
            }
            let piece = self.piece_integral(a, b);
            if acc + piece >= n {
                return self.solve_in_piece(a, b, n - acc);
            }
            acc += piece;
            a = b;
        }
        f64::INFINITY
    }

    /// The t in `[a, b)` where ∫ₐᵗ λ = `need`.
    fn solve_in_piece(&self, a: f64, b: f64, need: f64) -> f64 {
        if let RateBase::Steps(_) = self.base {
            let r = self.piece_bound(a, b).0;
            return a + need / r;
        }
        let (mut lo, mut hi) = (a, b);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if self.piece_integral(a, mid) < need {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    /// The largest λ over `[0, t)`.
    pub fn peak(&self, t: f64) -> f64 {
        let mut best = 0.0f64;
        let mut a = 0.0;
        let mut pieces = 0u64;
        while a < t {
            let b = self.next_boundary(a).min(t);
            let (bound, exact) = self.piece_bound(a, b);
            best = best.max(if exact { bound } else { bound / (1.0 + 1e-12) });
            a = b;
            pieces += 1;
            if pieces > 1_000_000 {
                // A very long run of a short cycle: past the spikes it only repeats.
                if let RateBase::Diurnal { base, amplitude, .. } = &self.base {
                    best = best.max(base + amplitude);
                }
                break;
            }
        }
        best
    }
}

/// The most pieces [`RateProfile::horizon`] walks (whole diurnal periods between spike edges
/// count as one) before it gives up: a fraction of a second.
pub const MAX_HORIZON_PIECES: u64 = 2_000_000;

/// max of cos(2π (t − peak) / period) over `[t0, t1]`.
fn max_cos(t0: f64, t1: f64, period: f64, peak: f64) -> f64 {
    if !t1.is_finite() || t1 - t0 >= period {
        return 1.0;
    }
    let k = ((t0 - peak) / period).ceil();
    if peak + k * period <= t1 {
        return 1.0;
    }
    let c = |t: f64| (TAU * (t - peak) / period).cos();
    c(t0).max(c(t1))
}

/// Exact sampler of a non-homogeneous Poisson process with a [`RateProfile`].
#[derive(Debug, Clone)]
pub struct Thinning {
    profile: RateProfile,
    t: f64,
    piece_end: f64,
    bound: f64,
    constant: bool,
}

impl Thinning {
    /// A sampler starting at time 0.
    pub fn new(profile: RateProfile) -> Self {
        let mut s = Thinning { profile, t: 0.0, piece_end: 0.0, bound: 0.0, constant: true };
        s.enter_piece();
        s
    }

    fn enter_piece(&mut self) {
        self.piece_end = self.profile.next_boundary(self.t);
        let (bound, constant) = self.profile.piece_bound(self.t, self.piece_end);
        self.bound = bound;
        self.constant = constant;
    }

    /// The next arrival time. Validation guarantees λ > 0 eventually, so this returns.
    #[inline]
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> f64 {
        loop {
            if self.bound > 0.0 {
                let e: f64 = Exp1.sample(rng);
                let cand = self.t + e / self.bound;
                if cand < self.piece_end {
                    self.t = cand;
                    if self.constant {
                        return cand;
                    }
                    let u: f64 = StandardUniform.sample(rng);
                    if u * self.bound < self.profile.rate_at(cand) {
                        return cand;
                    }
                    continue;
                }
            }
            self.t = self.piece_end;
            self.enter_piece();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Counts of arrivals in `bins` consecutive intervals of width `w`.
    fn counts(profile: &RateProfile, bins: usize, w: f64, seed: u64) -> Vec<f64> {
        let mut sampler = Thinning::new(profile.clone());
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut c = vec![0.0; bins];
        loop {
            let t = sampler.next(&mut rng);
            let i = (t / w) as usize;
            if i >= bins {
                return c;
            }
            c[i] += 1.0;
        }
    }

    /// Each bin's count is Poisson with mean ∫λ over the bin: |N − Λ| ≤ 4.5 √Λ, and the
    /// bins together pass a χ² test (df = bins; the 0.999 quantile bounds it).
    fn check(profile: &RateProfile, bins: usize, w: f64, seed: u64) {
        let c = counts(profile, bins, w, seed);
        let mut chi2 = 0.0;
        let mut bins_used = 0.0f64;
        for (i, &n) in c.iter().enumerate() {
            let lam = profile.integral((i + 1) as f64 * w) - profile.integral(i as f64 * w);
            if lam == 0.0 {
                assert_eq!(n, 0.0, "bin {i}: arrivals while the rate is zero");
                continue;
            }
            bins_used += 1.0;
            let z = (n - lam) / lam.sqrt();
            assert!(z.abs() < 4.5, "bin {i}: {n} arrivals, expected {lam:.1} (z = {z:.2})");
            chi2 += z * z;
        }
        let df = bins_used;
        // Wilson–Hilferty 0.999 quantile of χ²(df).
        let q = df * (1.0 - 2.0 / (9.0 * df) + 3.09 * (2.0 / (9.0 * df)).sqrt()).powi(3);
        assert!(chi2 < q, "χ² = {chi2:.1} ≥ {q:.1} over {bins} bins");
    }

    #[test]
    fn schedule_with_jumps_and_spikes_reproduces_the_rate_per_interval() {
        let p = RateProfile {
            base: RateBase::Steps(vec![(0.0, 1000.0), (10.0, 3000.0), (20.0, 0.0), (25.0, 500.0)]),
            spikes: vec![
                Spike { at: 4.0, duration: 2.0, multiplier: 4.0 },
                Spike { at: 5.0, duration: 2.0, multiplier: 0.5 },
            ],
        };
        check(&p, 60, 0.5, 1);
        // No arrival while the rate is zero.
        let c = counts(&p, 60, 0.5, 2);
        assert!(c[40..50].iter().all(|&n| n == 0.0));
    }

    #[test]
    fn diurnal_reproduces_the_rate_per_interval() {
        let p = RateProfile {
            base: RateBase::Diurnal { base: 2000.0, amplitude: 1500.0, period: 20.0, peak_at: 5.0 },
            spikes: vec![Spike { at: 12.0, duration: 1.0, multiplier: 3.0 }],
        };
        check(&p, 80, 0.5, 3);
    }

    #[test]
    fn integral_and_horizon_agree() {
        let p = RateProfile {
            base: RateBase::Diurnal { base: 100.0, amplitude: 80.0, period: 3600.0, peak_at: 900.0 },
            spikes: vec![Spike { at: 100.0, duration: 50.0, multiplier: 2.0 }],
        };
        // A whole period holds base × period (+ the spike's extra).
        let extra = p.integral(150.0) - p.integral(100.0);
        assert!((p.integral(3600.0) - (360_000.0 + extra / 2.0)).abs() < 1e-6 * 360_000.0);
        for n in [10.0, 5000.0, 1e6, 1e8] {
            let t = p.horizon(n);
            assert!((p.integral(t) - n).abs() < 1e-6 * n, "n {n}: Λ({t}) = {}", p.integral(t));
        }
        let s = RateProfile { base: RateBase::Steps(vec![(0.0, 10.0), (5.0, 20.0)]), spikes: vec![] };
        assert!((s.horizon(100.0) - 7.5).abs() < 1e-12);
        assert_eq!(s.peak(4.0), 10.0);
        assert_eq!(s.peak(6.0), 20.0);
        // The spike (×2 while the sine rises towards its peak) beats the plain peak of 180.
        let spike_top = 2.0 * (100.0 + 80.0 * (TAU * (150.0 - 900.0) / 3600.0).cos());
        assert!((p.peak(10_000.0) - spike_top).abs() < 1e-6, "{}", p.peak(10_000.0));
        assert!((p.peak(90.0) - (100.0 + 80.0 * (TAU * (90.0 - 900.0) / 3600.0).cos())).abs() < 1e-6);
    }
}
