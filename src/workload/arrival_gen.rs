//! The generators of the open processes' arrival times ([`ArrivalGen`]), and the MMPP
//! ([`Mmpp`]). The processes themselves, as a scenario's `[arrivals]` describes them, are
//! [`crate::scenario::arrivals`]; each gives its generator, built once per replication.

use rand::Rng;
use rand_distr::{Distribution, Exp, Exp1, StandardUniform};
use serde::Serialize;

use super::rate::Thinning;

/// A two-state MMPP: Poisson at `rates[i]` while in state `i`; the time in a state is
/// exponential with mean `mean_sojourn[i]`, then the source switches to the other state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Mmpp {
    /// Arrival rate in each state, req/s.
    #[serde(rename = "rates_rps")]
    pub rates: [f64; 2],
    /// Mean time spent in each state, s.
    #[serde(rename = "mean_sojourn_s")]
    pub mean_sojourn: [f64; 2],
}

impl Mmpp {
    /// Long-run mean rate: the rates weighted by the share of time in each state.
    pub fn mean_rate(&self) -> f64 {
        let [r0, r1] = self.rates;
        let [m0, m1] = self.mean_sojourn;
        (r0 * m0 + r1 * m1) / (m0 + m1)
    }
}

/// Generates successive arrival times.
#[derive(Debug, Clone)]
pub enum ArrivalGen {
    /// Poisson: exponential gaps.
    Poisson {
        /// Gap distribution.
        gap: Exp<f64>,
        /// Time of the previous arrival.
        t: f64,
    },
    /// Evenly spaced: the n-th arrival (1-based) at n × interval (no accumulated rounding).
    Deterministic {
        /// Gap between arrivals.
        interval: f64,
        /// Arrivals so far.
        n: u64,
    },
    /// Non-homogeneous Poisson by thinning.
    Varying(Box<Thinning>),
    /// Two-state Markov-modulated Poisson.
    Mmpp(MmppGen),
    /// Times come from elsewhere (a trace, or the clients of a closed loop).
    External,
}

/// State of an MMPP source.
#[derive(Debug, Clone)]
pub struct MmppGen {
    spec: Mmpp,
    t: f64,
    state: usize,
    state_end: f64,
    started: bool,
}

impl MmppGen {
    /// A source at time 0; its first state is drawn from the stationary distribution on
    /// the first call.
    pub fn new(spec: Mmpp) -> Self {
        MmppGen { spec, t: 0.0, state: 0, state_end: 0.0, started: false }
    }

    /// The next arrival time: within a state, exponential gaps at that state's rate; a
    /// gap that would cross the state's end is discarded and the clock restarts there in
    /// the other state (exact, by memorylessness).
    #[inline]
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> f64 {
        if !self.started {
            self.started = true;
            let [m0, m1] = self.spec.mean_sojourn;
            let u: f64 = StandardUniform.sample(rng);
            self.state = usize::from(u * (m0 + m1) >= m0);
            // The residual of an exponential sojourn is exponential with the same mean.
            let e: f64 = Exp1.sample(rng);
            self.state_end = e * self.spec.mean_sojourn[self.state];
        }
        loop {
            let r = self.spec.rates[self.state];
            if r > 0.0 {
                let e: f64 = Exp1.sample(rng);
                let cand = self.t + e / r;
                if cand < self.state_end {
                    self.t = cand;
                    return cand;
                }
            }
            self.t = self.state_end;
            self.state ^= 1;
            let e: f64 = Exp1.sample(rng);
            self.state_end = self.t + e * self.spec.mean_sojourn[self.state];
        }
    }
}

impl ArrivalGen {
    /// The next arrival time.
    #[inline(always)]
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> f64 {
        match self {
            ArrivalGen::Poisson { gap, t } => {
                *t += gap.sample(rng);
                *t
            }
            ArrivalGen::Deterministic { interval, n } => {
                *n += 1;
                *n as f64 * *interval
            }
            ArrivalGen::Varying(g) => g.next(rng),
            ArrivalGen::Mmpp(g) => g.next(rng),
            ArrivalGen::External => unreachable!("external arrival times are not generated"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn mmpp_long_run_rate_matches_the_state_weighted_mean() {
        // 20 independent sources; their rates over T scatter around the mean with a
        // spread the replications themselves estimate (Student t, 19 df, 0.9995 → 3.88).
        let spec = Mmpp { rates: [4000.0, 500.0], mean_sojourn: [0.5, 2.0] };
        let t_end = 200.0;
        let rates: Vec<f64> = (0..20)
            .map(|seed| {
                let mut g = MmppGen::new(spec);
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
                let mut n = 0.0;
                while g.next(&mut rng) < t_end {
                    n += 1.0;
                }
                n / t_end
            })
            .collect();
        let k = rates.len() as f64;
        let mean = rates.iter().sum::<f64>() / k;
        let sd = (rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
        let expect = spec.mean_rate();
        assert!((expect - 1200.0).abs() < 1e-9);
        assert!((mean - expect).abs() < 3.88 * sd / k.sqrt(), "mean {mean} vs {expect} (sd {sd})");
        // Burstier than Poisson: the spread across sources far exceeds √(λT)/T.
        assert!(sd > 3.0 * (expect * t_end).sqrt() / t_end, "sd {sd}");
    }
}
