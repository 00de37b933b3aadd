//! Arrival processes.

use rand::Rng;
use rand_distr::{Distribution, Exp};

use crate::scenario::Arrivals;

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
}

impl ArrivalGen {
    /// A generator for `arrivals`, starting at time 0.
    pub fn new(arrivals: &Arrivals) -> Self {
        match *arrivals {
            Arrivals::Poisson { rate } => ArrivalGen::Poisson { gap: Exp::new(rate).expect("rate > 0"), t: 0.0 },
            Arrivals::Deterministic { rate } => ArrivalGen::Deterministic { interval: 1.0 / rate, n: 0 },
        }
    }

    /// The next arrival time.
    #[inline]
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
        }
    }
}
