//! Request keys: the client address or URL a hash-based balancer routes by.
//!
//! A scenario's `[keys]` section describes a key space of `count` keys and how often each
//! is requested: `uniform`, or `zipf` with an `exponent` (key rank r is requested with
//! probability ∝ 1/r^exponent; rank 1 is key id 0, the hottest). Key ids come from their
//! own seeded stream ([`Seeds::keys`](super::seeds::Seeds::keys)), so every strategy sees
//! the same keys in the same order (common random numbers), and adding keys to a scenario
//! changes neither its arrivals nor its service demands.
//!
//! Without `[keys]` every request carries a key of its own (key id = request id): no two
//! requests share a key, so hash-based strategies behave like random routing.
//!
//! A key id is mapped to its 64-bit hash — what a balancer would compute from the address
//! or URL — by a bijective mix salted per replication ([`Seeds::key_hash`](super::seeds::Seeds::key_hash)):
//! within a replication every strategy sees the same hash for the same key, and across
//! replications the hot keys land on different servers, as different sets of URLs would.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Zipf};
use serde::Serialize;

use super::seeds::mix64;

/// The largest key space accepted (the Zipf sampler works in f64, exact far beyond this).
pub const MAX_KEYS: u64 = 1_000_000_000_000;

/// Key distributions accepted in `[keys] distribution`.
pub const KEY_DISTRIBUTIONS: &[&str] = &["uniform", "zipf"];

/// How often each key is requested.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "distribution", rename_all = "lowercase")]
pub enum KeyPopularity {
    /// Every key equally often.
    Uniform,
    /// Key of rank r (1-based; key id r − 1) with probability ∝ 1/r^exponent.
    Zipf {
        /// The exponent s > 0 (web caches typically see 0.6–1.2).
        exponent: f64,
    },
}

/// A scenario's key space (`[keys]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KeySpace {
    /// Number of distinct keys (key ids are `0..count`).
    pub count: u64,
    /// How often each key is requested.
    #[serde(flatten)]
    pub popularity: KeyPopularity,
}

impl KeySpace {
    /// Checks the ranges; the message says what is allowed.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.count == 0 || self.count > MAX_KEYS {
            return Err(("count", format!("must be from 1 to {MAX_KEYS}, got {}", self.count)));
        }
        if let KeyPopularity::Zipf { exponent } = self.popularity
            && !(exponent.is_finite() && exponent > 0.0 && exponent <= 10.0)
        {
            return Err(("exponent", format!("must be a number in (0, 10], got {exponent}")));
        }
        Ok(())
    }

    /// Probability that a request carries key id `k` (exact; O(count) for Zipf, so only
    /// for small key spaces and tests).
    pub fn probability(&self, k: u64) -> f64 {
        match self.popularity {
            KeyPopularity::Uniform => 1.0 / self.count as f64,
            KeyPopularity::Zipf { exponent } => {
                let norm: f64 = (1..=self.count).map(|r| (r as f64).powf(-exponent)).sum();
                ((k + 1) as f64).powf(-exponent) / norm
            }
        }
    }
}

/// Draws key ids.
#[derive(Debug, Clone, Copy)]
pub enum KeySampler {
    /// Uniform over `0..count`.
    Uniform {
        /// Number of keys.
        count: u64,
    },
    /// Zipf by rejection-inversion (`rand_distr::Zipf`: exact, O(1) expected, no table).
    Zipf {
        /// The distribution over ranks `1..=count`.
        dist: Zipf<f64>,
        /// Number of keys (guards the cast).
        count: u64,
    },
}

impl KeySampler {
    /// A sampler for `space` (already validated).
    pub fn new(space: &KeySpace) -> Self {
        match space.popularity {
            KeyPopularity::Uniform => KeySampler::Uniform { count: space.count },
            KeyPopularity::Zipf { exponent } => KeySampler::Zipf {
                dist: Zipf::new(space.count as f64, exponent).expect("validated key space"),
                count: space.count,
            },
        }
    }

    /// The next key id.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match *self {
            KeySampler::Uniform { count } => rng.random_range(0..count),
            KeySampler::Zipf { dist, count } => (dist.sample(rng) as u64).clamp(1, count) - 1,
        }
    }
}

/// The 64-bit hash of key id `key` under `salt` (a bijection of the id for a fixed salt,
/// so distinct keys never collide).
#[inline]
pub fn key_hash(key: u64, salt: u64) -> u64 {
    mix64(key ^ salt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn zipf_frequencies_follow_the_law() {
        let space = KeySpace { count: 50, popularity: KeyPopularity::Zipf { exponent: 1.1 } };
        let s = KeySampler::new(&space);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let n = 200_000;
        let mut counts = [0u32; 50];
        for _ in 0..n {
            counts[s.sample(&mut rng) as usize] += 1;
        }
        for k in [0u64, 1, 4, 49] {
            let p = space.probability(k);
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            let got = f64::from(counts[k as usize]);
            assert!((got - n as f64 * p).abs() < 5.0 * sd, "key {k}: {got} vs {}", n as f64 * p);
        }
    }

    #[test]
    fn uniform_stays_in_range() {
        let s = KeySampler::new(&KeySpace { count: 7, popularity: KeyPopularity::Uniform });
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        assert!((0..10_000).all(|_| s.sample(&mut rng) < 7));
    }

    #[test]
    fn validation() {
        let ok = KeySpace { count: 10, popularity: KeyPopularity::Zipf { exponent: 1.0 } };
        assert!(ok.validate().is_ok());
        assert_eq!(KeySpace { count: 0, ..ok }.validate().unwrap_err().0, "count");
        let bad = KeySpace { count: 10, popularity: KeyPopularity::Zipf { exponent: -1.0 } };
        assert_eq!(bad.validate().unwrap_err().0, "exponent");
    }
}
