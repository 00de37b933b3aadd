//! `aperture`: the pick of Finagle's aperture load balancers (`Balancers.aperture`,
//! `ApertureLeastLoaded`), a weighted power of two choices by least load.
//!
//! Finagle (github.com/twitter/finagle, finagle-core, `loadbalancer/aperture/`) composes
//! aperture as a window of the backends — the *aperture*, chosen by the distributor
//! (`RandomAperture`, or `WeightedAperture` for deterministic aperture: lbsim's
//! `[balancers] subset` kinds `random` and `aperture`) — in which every pick is
//! `WeightedP2CPick.pick`: draw one node in proportion to its weight in the aperture
//! (`ProbabilityDistribution.pickOne`: `Alias` for deterministic aperture, a cumulative
//! search for random aperture), draw a second the same way up to 5 times until it differs
//! (`tryPickSecond`, `maxIter = 5`: it may stay the same node), and keep the less loaded
//! per unit of weight — the first drawn on ties; when the two weights are within 0.0001
//! (`approxEqual`) the loads are compared without weights. The load is `LeastLoaded`'s:
//! requests outstanding at the node, as the instance's view shows them. Over a whole pool
//! of equal weights (no subset) this is Finagle's aperture without a process coordinate
//! and with its aperture open to every node (`BaseDist.mkP2C`).
//!
//! Differences: a node's `status` (Open/Busy/Closed, compared before the load) is
//! lbsim's eligibility, so every node drawn is Open; the weights compared with
//! `approxEqual` are normalized over the instance's servers (Finagle's over the whole
//! ring, the same when the aperture is the whole ring).

use rand::RngExt;

use super::registry::Split;
use super::{Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// `aperture`.
pub(super) const APERTURE: StrategyInfo = StrategyInfo {
    name: "aperture",
    models: "Finagle `Balancers.aperture` (`ApertureLeastLoaded`): `WeightedP2CPick` within the aperture; \
             with `[balancers] subset` kind \"random\" (random aperture) or \"aperture\" (deterministic aperture)",
    summary: "two servers drawn in proportion to weight (the second redrawn up to 5 times to differ); \
              fewer in-flight per weight wins, the first on ties",
    params: &[],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    reads: |_, _| 2,
    build: |_, servers| Ok(Box::new(WeightedP2c::new(servers))),
};

/// `ProbabilityDistribution.tryPickSecond`'s `maxIter`.
const MAX_ITER: u32 = 5;

/// `WeightedP2CPick.approxEqual`'s tolerance.
const APPROX_EQUAL: f64 = 0.0001;

struct WeightedP2c {
    /// Cumulative integer weights (the draw is exact in proportion to weight).
    cumulative: Vec<u64>,
    /// Each server's weight normalized over the servers.
    normalized: Vec<f64>,
}

impl WeightedP2c {
    fn new(servers: &[ServerInfo]) -> Self {
        let total: u64 = servers.iter().map(|s| u64::from(s.weight)).sum();
        let cumulative = servers
            .iter()
            .scan(0u64, |acc, s| {
                *acc += u64::from(s.weight);
                Some(*acc)
            })
            .collect();
        let normalized = servers.iter().map(|s| s.weight as f64 / total.max(1) as f64).collect();
        WeightedP2c { cumulative, normalized }
    }

    /// One node drawn in proportion to its weight.
    #[inline]
    fn draw(&self, rng: &mut StrategyRng) -> usize {
        let total = *self.cumulative.last().expect("servers");
        let x = rng.random_range(0..total);
        self.cumulative.partition_point(|&c| c <= x)
    }
}

impl Strategy for WeightedP2c {
    fn pick(&mut self, _: &RequestView, pool: &Pool, rng: &mut StrategyRng) -> usize {
        if self.cumulative.len() == 1 {
            return 0;
        }
        let a = self.draw(rng);
        let mut b = a;
        let mut i = 0;
        while a == b && i < MAX_ITER {
            b = self.draw(rng);
            i += 1;
        }
        let (la, lb) = (f64::from(pool.in_flight[a]), f64::from(pool.in_flight[b]));
        let (wa, wb) = (self.normalized[a], self.normalized[b]);
        let first = if (wa - wb).abs() < APPROX_EQUAL { la <= lb } else { la / wa <= lb / wb };
        if first { a } else { b }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    #[test]
    fn the_busier_of_two_equal_nodes_only_when_drawn_six_times() {
        // Two nodes, node 0 busier: it wins only when every draw (the first and the 5
        // redraws of the second) is node 0: probability 2^-6.
        let servers = servers(&[1, 1]);
        let mut pool = Pool::new(&servers);
        pool.in_flight = vec![5, 1];
        let mut s = (APERTURE.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        let n = 200_000;
        let busier = (0..n).filter(|&i| s.pick(&req(i), &pool, &mut rng) == 0).count() as f64;
        let p = 1.0 / 64.0;
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        assert!((busier - n as f64 * p).abs() < 5.0 * sd, "{busier} vs {}", n as f64 * p);
    }

    #[test]
    fn idle_nodes_are_picked_in_proportion_to_weight_and_load_is_per_weight() {
        // Idle: ties go to the first drawn, so picks follow the weights 1 : 3.
        let servers = servers(&[1, 3]);
        let mut pool = Pool::new(&servers);
        let mut s = (APERTURE.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        let n = 100_000;
        let to1 = (0..n).filter(|&i| s.pick(&req(i), &pool, &mut rng) == 1).count() as f64;
        let sd = (n as f64 * 0.75 * 0.25).sqrt();
        assert!((to1 - 0.75 * n as f64).abs() < 5.0 * sd, "{to1}");
        // 2 outstanding at weight 3 is less per weight than 1 at weight 1: two distinct
        // draws always pick node 1; node 0 only when all six draws are node 0.
        pool.in_flight = vec![1, 2];
        let to0 = (0..n).filter(|&i| s.pick(&req(i), &pool, &mut rng) == 0).count() as f64;
        let p = 0.25f64.powi(6);
        let sd = (n as f64 * p).sqrt();
        assert!((to0 - n as f64 * p).abs() < 5.0 * sd + 1.0, "{to0}");
    }
}
