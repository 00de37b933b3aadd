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
    /// All weights equal: compare connection counts directly (same order, no multiply).
    uniform: bool,
}

impl LeastConn {
    fn new(servers: &[ServerInfo]) -> Self {
        let weight: Vec<i64> = servers.iter().map(|s| i64::from(s.weight)).collect();
        LeastConn { current: vec![0; servers.len()], uniform: weight.iter().all(|&w| w == weight[0]), weight }
    }
}

/// Smooth WRR step among the peers from `first` on that `tied` accepts.
#[inline]
fn smooth_wrr_among(current: &mut [i64], weight: &[i64], first: usize, tied: impl Fn(usize) -> bool) -> usize {
    let mut total = 0;
    let mut choice = first;
    for i in first..current.len() {
        if tied(i) {
            current[i] += weight[i];
            total += weight[i];
            if current[i] > current[choice] {
                choice = i;
            }
        }
    }
    current[choice] -= total;
    choice
}

impl Strategy for LeastConn {
    fn pick(&mut self, _: &RequestView, pool: &Pool, _: &mut StrategyRng) -> usize {
        let conns = pool.in_flight_all();
        let mut best = 0;
        let mut many = false;
        if self.uniform {
            let mut min = conns[0];
            for (i, &c) in conns.iter().enumerate().skip(1) {
                if c < min {
                    min = c;
                    best = i;
                    many = false;
                } else if c == min {
                    many = true;
                }
            }
            if !many {
                return best;
            }
            return smooth_wrr_among(&mut self.current, &self.weight, best, |i| conns[i] == min);
        }
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
        let (cb, wb) = (i64::from(conns[best]), self.weight[best]);
        let weight = &self.weight;
        smooth_wrr_among(&mut self.current, weight, best, |i| i64::from(conns[i]) * wb == cb * weight[i])
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
    fn weighted_ties_follow_smooth_wrr() {
        // Equal conns/weight ratios (0/2 = 0/1): smooth WRR with weights 2,1 → a a b.
        let servers = servers(&[2, 1]);
        let pool = Pool::new(&servers);
        let mut s = (LEAST_CONNECTIONS.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        let picks: Vec<usize> = (0..6).map(|i| s.pick(&req(i), &pool, &mut rng)).collect();
        assert_eq!(picks, vec![0, 1, 0, 0, 1, 0]);
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
