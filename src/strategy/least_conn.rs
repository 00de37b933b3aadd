//! nginx `least_conn`: fewest active connections relative to weight.

use super::{Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// `least-connections`.
pub const LEAST_CONNECTIONS: StrategyInfo = StrategyInfo {
    name: "least-connections",
    models: "nginx `least_conn` (weighted; ties by smooth weighted round robin)",
    summary: "fewest in-flight requests relative to weight (conns×weight products), ties round-robin",
    params: &[],
    build: |_, servers| Ok(Box::new(LeastConn::new(servers))),
};

/// nginx `ngx_http_upstream_get_least_conn_peer`: the peer minimising conns/weight,
/// compared as `conns_a * weight_b < conns_b * weight_a`; when several share the minimum,
/// smooth weighted round robin among them (their current weights persist across picks).
struct LeastConn {
    current: Vec<i64>,
    weight: Vec<i64>,
    tied: Vec<usize>,
}

impl LeastConn {
    fn new(servers: &[ServerInfo]) -> Self {
        LeastConn {
            current: vec![0; servers.len()],
            weight: servers.iter().map(|s| i64::from(s.weight)).collect(),
            tied: Vec::with_capacity(servers.len()),
        }
    }
}

impl Strategy for LeastConn {
    fn pick(&mut self, _: &RequestView, pool: &Pool, _: &mut StrategyRng) -> usize {
        let conns = pool.in_flight_all();
        let mut best = 0;
        let mut many = false;
        for i in 1..conns.len() {
            let lhs = i64::from(conns[i]) * self.weight[best];
            let rhs = i64::from(conns[best]) * self.weight[i];
            if lhs < rhs {
                best = i;
                many = false;
            } else if lhs == rhs {
                many = true;
            }
        }
        if !many {
            return best;
        }
        // Smooth WRR among the tied peers, starting from the first of them.
        self.tied.clear();
        let (cb, wb) = (i64::from(conns[best]), self.weight[best]);
        for (i, &c) in conns.iter().enumerate().skip(best) {
            if i64::from(c) * wb == cb * self.weight[i] {
                self.tied.push(i);
            }
        }
        let mut total = 0;
        let mut choice = self.tied[0];
        for &i in &self.tied {
            self.current[i] += self.weight[i];
            total += self.weight[i];
            if self.current[i] > self.current[choice] {
                choice = i;
            }
        }
        self.current[choice] -= total;
        choice
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    #[test]
    fn picks_fewest_relative_to_weight() {
        let servers = servers(&[1, 2, 1]);
        let mut pool = Pool::new(&servers);
        pool.in_flight = vec![2, 3, 2];
        let mut s = (LEAST_CONNECTIONS.build)(&Params::default(), &servers).unwrap();
        // 3/2 < 2/1: the weight-2 server wins with more connections.
        assert_eq!(s.pick(&req(0), &pool, &mut rng()), 1);
    }

    #[test]
    fn ties_go_round_robin() {
        let servers = servers(&[1, 1, 1, 1]);
        let mut pool = Pool::new(&servers);
        pool.in_flight = vec![1, 0, 0, 0];
        let mut s = (LEAST_CONNECTIONS.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        let picks: Vec<usize> = (0..6).map(|i| s.pick(&req(i), &pool, &mut rng)).collect();
        assert_eq!(picks, vec![1, 2, 3, 1, 2, 3]);
    }
}
