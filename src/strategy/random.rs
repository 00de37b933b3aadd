//! Random choice, uniform and weighted.

use rand::RngExt;

use super::weights::WeightSlots;
use super::{Pool, RequestView, Strategy, StrategyInfo, StrategyRng};

/// `random`: uniform over servers.
pub(super) const RANDOM: StrategyInfo = StrategyInfo {
    name: "random",
    models: "HAProxy `balance random(1)` with equal weights; nginx `random` with equal weights",
    summary: "a uniformly random server: with Poisson arrivals each server is an independent M/G/1",
    params: &[],
    keyed: false,
    build: |_, servers| Ok(Box::new(Random { n: servers.len() as u32 })),
};

/// `weighted-random`: probability proportional to weight.
pub(super) const WEIGHTED_RANDOM: StrategyInfo = StrategyInfo {
    name: "weighted-random",
    models: "nginx `random` (weighted); HAProxy `balance random(1)`",
    summary: "a random server with probability proportional to its weight",
    params: &[],
    keyed: false,
    build: |_, servers| Ok(Box::new(WeightedRandom { slots: WeightSlots::new(servers) })),
};

struct Random {
    n: u32,
}

impl Strategy for Random {
    #[inline]
    fn pick(&mut self, _: &RequestView, _: &Pool, rng: &mut StrategyRng) -> usize {
        rng.random_range(0..self.n) as usize
    }
}

/// A weighted draw of a server, as nginx's `ngx_http_upstream_peek_random_peer`.
struct WeightedRandom {
    slots: WeightSlots,
}

impl Strategy for WeightedRandom {
    #[inline]
    fn pick(&mut self, _: &RequestView, _: &Pool, rng: &mut StrategyRng) -> usize {
        self.slots.draw(rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    #[test]
    fn weighted_frequencies_follow_weights() {
        let servers = servers(&[1, 3, 6]);
        let pool = Pool::new(&servers);
        let mut s = (WEIGHTED_RANDOM.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        let n = 100_000;
        let mut counts = [0u32; 3];
        for i in 0..n {
            counts[s.pick(&req(i), &pool, &mut rng)] += 1;
        }
        for (c, p) in counts.iter().zip([0.1, 0.3, 0.6]) {
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!((f64::from(*c) - n as f64 * p).abs() < 5.0 * sd, "{counts:?}");
        }
    }
}
