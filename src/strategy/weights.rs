//! Weight slots: the servers' weights laid end to end on `0..Σw`, so that slot `x` belongs
//! to the server whose cumulative range holds it. The weighted strategies that map a number
//! to a server share it: a key hash modulo Σw (nginx `hash`, `ip_hash`), a uniform draw
//! (nginx `random`, `random two`). nginx walks its peer list subtracting weights and HAProxy
//! builds a map of Σw entries; lbsim binary-searches the cumulative weights: the same
//! answer, in O(log S).

use rand::RngExt;

use super::{ServerInfo, StrategyRng};

/// The cumulative weights of a list of servers.
#[derive(Debug, Clone)]
pub(super) struct WeightSlots {
    cumulative: Vec<u64>,
}

impl WeightSlots {
    /// Slots for `servers`, in order.
    pub(super) fn new(servers: &[ServerInfo]) -> Self {
        let mut acc = 0;
        WeightSlots {
            cumulative: servers
                .iter()
                .map(|s| {
                    acc += u64::from(s.weight);
                    acc
                })
                .collect(),
        }
    }

    /// Σw.
    #[inline]
    pub(super) fn total(&self) -> u64 {
        *self.cumulative.last().expect("at least one server")
    }

    /// The server owning slot `x < total()`.
    #[inline]
    pub(super) fn owner(&self, x: u64) -> usize {
        self.cumulative.partition_point(|&c| c <= x)
    }

    /// A server drawn with probability proportional to its weight: the owner of a uniform
    /// slot (nginx `ngx_http_upstream_peek_random_peer`).
    #[inline]
    pub(super) fn draw(&self, rng: &mut StrategyRng) -> usize {
        self.owner(rng.random_range(0..self.total()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testutil::{rng, servers};

    #[test]
    fn slots_belong_to_cumulative_ranges() {
        let s = WeightSlots::new(&servers(&[2, 1, 3]));
        assert_eq!(s.total(), 6);
        let owners: Vec<usize> = (0..6).map(|x| s.owner(x)).collect();
        assert_eq!(owners, vec![0, 0, 1, 2, 2, 2]);
        let mut rng = rng();
        assert!((0..1000).all(|_| s.draw(&mut rng) < 3));
    }
}
