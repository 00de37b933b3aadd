//! Power of d choices: Envoy `LEAST_REQUEST` with `choice_count`.

use rand::RngExt;

use super::{ParamInfo, Pool, RequestView, Strategy, StrategyInfo, StrategyRng};

/// `p2c`.
pub const P2C: StrategyInfo = StrategyInfo {
    name: "p2c",
    models: "Envoy `LEAST_REQUEST` (`choice_count`, equal weights); Mitzenmacher's power of d choices",
    summary: "sample d servers with replacement, take the one with fewest in-flight (first sampled on ties)",
    params: &[ParamInfo { name: "choices", help: "servers sampled per request, 1..=S", default: "2" }],
    build: |params, servers| {
        let d = params.int("choices", 2, 1, servers.len() as u64)?;
        Ok(Box::new(P2c { choices: d as u32, n: servers.len() as u32 }))
    },
};

/// Envoy `LeastRequestLoadBalancer::unweightedHostPick`: `choice_count` draws with
/// replacement; a later draw replaces the candidate only with strictly fewer active
/// requests.
struct P2c {
    choices: u32,
    n: u32,
}

impl Strategy for P2c {
    #[inline]
    fn pick(&mut self, _: &RequestView, pool: &Pool, rng: &mut StrategyRng) -> usize {
        let mut best = rng.random_range(0..self.n) as usize;
        for _ in 1..self.choices {
            let c = rng.random_range(0..self.n) as usize;
            if pool.in_flight(c) < pool.in_flight(best) {
                best = c;
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
    fn two_equal_hosts_pick_busier_a_quarter_of_the_time() {
        // With replacement, both draws hit the busier host with probability 1/4.
        let servers = servers(&[1, 1]);
        let mut pool = Pool::new(&servers);
        pool.in_flight = vec![5, 1];
        let mut s = (P2C.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        let n = 100_000;
        let busier = (0..n).filter(|&i| s.pick(&req(i), &pool, &mut rng) == 0).count();
        let p = busier as f64 / n as f64;
        let sd = (0.25f64 * 0.75 / n as f64).sqrt();
        assert!((p - 0.25).abs() < 5.0 * sd, "p = {p}");
    }

    #[test]
    fn choices_above_server_count_rejected() {
        let servers = servers(&[1, 1]);
        let mut m = std::collections::BTreeMap::new();
        m.insert("choices".to_string(), toml::Value::Integer(3));
        assert!((P2C.build)(&Params::new(m), &servers).is_err());
    }
}
