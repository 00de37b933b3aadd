//! Arrival processes: what the scenario's `[arrivals]` describes ([`Arrivals`]), and the
//! generators of the open processes' arrival times ([`ArrivalGen`]).
//!
//! Open processes (Poisson — constant or time-varying —, deterministic, MMPP, trace replay)
//! generate arrival times independently of the system; the closed process has a fixed
//! population of clients that each wait for their response and think before sending again.

use std::sync::Arc;

use rand::Rng;
use rand_distr::{Distribution, Exp, Exp1, StandardUniform};
use serde::{Serialize, Serializer};

use super::rate::{RateProfile, Thinning};
use super::service::ServiceDist;
use super::trace::Trace;

/// The arrival process. Serialized with its `process` as written in the scenario
/// (a time-varying rate is `poisson` with its profile), rates in req/s, times in s.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "process", rename_all = "lowercase")]
pub enum Arrivals {
    /// Exponential interarrival times at a constant rate.
    Poisson {
        /// Requests per second.
        #[serde(rename = "rate_rps")]
        rate: f64,
    },
    /// Evenly spaced arrivals.
    Deterministic {
        /// Requests per second.
        #[serde(rename = "rate_rps")]
        rate: f64,
    },
    /// A non-homogeneous Poisson process (schedule, diurnal cycle, spikes), sampled exactly
    /// by thinning.
    #[serde(rename = "poisson")]
    Varying(RateProfile),
    /// A two-state Markov-modulated Poisson process (bursty; on-off when a rate is 0).
    Mmpp(Mmpp),
    /// A closed loop of clients (the wrk / k6-virtual-user model).
    Closed(ClosedLoop),
    /// Arrivals (and optionally service times and keys) replayed from a CSV file.
    #[serde(serialize_with = "trace")]
    Trace(Arc<Trace>),
}

/// A trace as its own serialization (not its rows).
fn trace<S: Serializer>(t: &Arc<Trace>, s: S) -> Result<S::Ok, S::Error> {
    t.as_ref().serialize(s)
}

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

/// A closed population of clients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosedLoop {
    /// Number of clients, each with at most one request outstanding.
    pub clients: u32,
    /// Think time between a response and the next request; `None` = zero.
    #[serde(rename = "think_time")]
    pub think: Option<ServiceDist>,
}

impl ClosedLoop {
    /// Mean think time, s.
    pub fn mean_think(&self) -> f64 {
        self.think.as_ref().map_or(0.0, ServiceDist::mean)
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
    /// A generator for `arrivals`, starting at time 0.
    pub fn new(arrivals: &Arrivals) -> Self {
        match arrivals {
            Arrivals::Poisson { rate } => ArrivalGen::Poisson { gap: Exp::new(*rate).expect("rate > 0"), t: 0.0 },
            Arrivals::Deterministic { rate } => ArrivalGen::Deterministic { interval: 1.0 / rate, n: 0 },
            Arrivals::Varying(p) => ArrivalGen::Varying(Box::new(Thinning::new(p.clone()))),
            Arrivals::Mmpp(m) => ArrivalGen::Mmpp(MmppGen::new(*m)),
            Arrivals::Trace(_) | Arrivals::Closed(_) => ArrivalGen::External,
        }
    }

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
