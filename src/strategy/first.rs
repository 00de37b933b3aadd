//! HAProxy `balance first`: fill servers in order, each up to its `maxconn`.
//!
//! HAProxy's documentation: "The first server with available connection slots receives the
//! connection. The servers are chosen from the lowest numeric identifier to the highest …
//! Once a server reaches its maxconn value, the next server is used." Weights are ignored.
//! The point is to keep as few servers busy as possible (the others can be powered down).
//!
//! lbsim models it with the `max_connections` key of `[[servers]]` (HAProxy `maxconn`);
//! a server without one has as many slots as it has `workers`. Deliberate simplification:
//! when every server is full, HAProxy parks the request in its backend queue and hands it
//! to the first server that frees a slot; lbsim has no balancer-side queue, so it sends the
//! request to the server with the fewest in-flight requests per slot (the lowest-numbered
//! on ties), whose own FIFO queue then holds it — the server most likely to free a slot
//! soonest when service times are alike.

use super::registry::Split;
use super::{Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// `first`.
pub(super) const FIRST: StrategyInfo = StrategyInfo {
    name: "first",
    models: "HAProxy `balance first` (servers' `maxconn` = lbsim `max_connections`, default: workers)",
    summary: "the lowest-numbered server below its max_connections; when all are full, the least loaded per slot",
    params: &[],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |_, servers| Ok(Box::new(First::new(servers))),
};

struct First {
    slots: Vec<u32>,
}

impl First {
    fn new(servers: &[ServerInfo]) -> Self {
        First { slots: servers.iter().map(|s| s.max_connections.unwrap_or(s.workers)).collect() }
    }
}

impl Strategy for First {
    fn pick(&mut self, _: &RequestView, pool: &Pool, _: &mut StrategyRng) -> usize {
        let n = pool.in_flight_all();
        if let Some(i) = n.iter().zip(&self.slots).position(|(&c, &m)| c < m) {
            return i;
        }
        // All full: fewest in flight per slot, n_i/m_i < n_b/m_b compared exactly.
        let mut best = 0;
        for i in 1..n.len() {
            if u64::from(n[i]) * u64::from(self.slots[best]) < u64::from(n[best]) * u64::from(self.slots[i]) {
                best = i;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    #[test]
    fn fills_servers_in_order() {
        let mut servers = servers(&[1, 5, 1]);
        servers[0].max_connections = Some(2);
        servers[1].max_connections = Some(3);
        servers[2].max_connections = Some(1);
        let mut pool = Pool::new(&servers);
        let mut s = (FIRST.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        let mut seq = Vec::new();
        for i in 0..9 {
            let k = s.pick(&req(i), &pool, &mut rng);
            pool.in_flight[k] += 1;
            seq.push(k);
        }
        // 2 + 3 + 1 slots in order (weights ignored); then, all full, the fewest in flight
        // per slot: 2/2 = 3/3 = 1/1 → the first; then 3/2 > 3/3 = 1/1 → server 1; then
        // 3/2 > 4/3 > 1/1 → server 2.
        assert_eq!(&seq[..6], &[0, 0, 1, 1, 1, 2]);
        assert_eq!(&seq[6..], &[0, 1, 2]);
        // A freed slot on the first server takes the next request.
        pool.in_flight = vec![1, 3, 1];
        assert_eq!(s.pick(&req(9), &pool, &mut rng), 0);
    }

    #[test]
    fn default_slots_are_the_workers() {
        let mut servers = servers(&[1, 1]);
        servers[0].workers = 4;
        let mut pool = Pool::new(&servers);
        pool.in_flight = vec![3, 0];
        let mut s = (FIRST.build)(&Params::default(), &servers).unwrap();
        assert_eq!(s.pick(&req(0), &pool, &mut rng()), 0);
        pool.in_flight = vec![4, 0];
        assert_eq!(s.pick(&req(0), &pool, &mut rng()), 1);
    }
}
