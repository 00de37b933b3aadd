//! Which client each request belongs to (`[clients]`): the draw the simulator makes and
//! `lbsim load` replays, one step of the stream `clients/request` per request, so every
//! strategy and the real traffic see the same clients.

use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Which client a request belongs to: every draw one step of the clients' own stream.
#[derive(Debug, Clone)]
pub enum ClientPick {
    /// Uniform over the clients.
    Uniform,
    /// By weight: the running sums of the weights (inverse transform, a binary search) and
    /// the last client of positive weight.
    Weighted(Vec<f64>, u32),
    /// Client of rank r (1-based) with probability ∝ 1/r^s (rejection-inversion: O(1)).
    Zipf(rand_distr::Zipf<f64>),
}

impl ClientPick {
    /// Uniform over the clients.
    pub fn uniform() -> Self {
        ClientPick::Uniform
    }

    /// Client i with probability `weights[i]` ÷ Σ weights (one weight per client, at least
    /// one positive).
    pub fn weighted(weights: &[f64]) -> Self {
        ClientPick::Weighted(
            weights
                .iter()
                .scan(0.0, |sum, x| {
                    *sum += x;
                    Some(*sum)
                })
                .collect(),
            weights.iter().rposition(|&x| x > 0.0).expect("a positive weight") as u32,
        )
    }

    /// Client of rank r among `count` with probability ∝ 1/r^`exponent`.
    pub fn zipf(count: u32, exponent: f64) -> Self {
        ClientPick::Zipf(rand_distr::Zipf::new(f64::from(count), exponent).expect("validated"))
    }

    /// The next request's client.
    #[inline]
    pub fn draw(&self, rng: &mut Xoshiro256PlusPlus, clients: u32) -> u32 {
        debug_assert!(clients > 0);
        match self {
            ClientPick::Uniform => rng.random_range(0..clients),
            ClientPick::Weighted(cum, last) => {
                let total = *cum.last().expect("one weight per client");
                let u = rng.random::<f64>() * total;
                // The first client whose running sum exceeds u (a zero weight is never
                // chosen, even where the product rounds up to the total).
                (cum.partition_point(|&c| c <= u) as u32).min(*last)
            }
            ClientPick::Zipf(z) => {
                let r: f64 = rand_distr::Distribution::sample(z, rng);
                (r as u32).clamp(1, clients) - 1
            }
        }
    }
}
