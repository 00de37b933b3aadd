//! nginx `least_time`: the least average response time and the fewest active connections.
//!
//! The nginx documentation: "a request is passed to the server with the least average
//! response time and least number of active connections, taking into account weights of
//! servers. If there are several such servers, they are tried in turn using a weighted
//! round-robin balancing method." nginx Plus's code is closed; lbsim follows the open
//! implementations of the same directive (Angie and its ports): each server's estimated
//! time is `average × (active + 1)`, compared per unit of weight (`eta_a × w_b < eta_b × w_a`),
//! ties shared by smooth weighted round robin, the average an exponential moving average of
//! response times (previous average weighted `smoothing`, default 0.95; the first sample
//! sets it). A server without a sample yet counts as infinitesimally fast: it is tried
//! first, the fewest connections first among such servers (the open implementations get
//! the same order from their 20 ms floor).
//!
//! Deliberate simplifications: lbsim compares exact times (the open implementations round
//! times up to 20 ms buckets so that close servers tie, and cap them at 5 s), measures the
//! full response (`last_byte`; there is no header time in lbsim) and does not model the
//! `inflight` option.

use super::least_conn::{least_per_weight, smooth_wrr_among};
use super::{ParamInfo, Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// `least-response-time`.
pub(super) const LEAST_RESPONSE_TIME: StrategyInfo = StrategyInfo {
    name: "least-response-time",
    models: "nginx Plus `least_time last_byte` (as in the open Angie implementation)",
    summary: "the lowest average response time × (in-flight + 1) per weight; ties by weighted round robin",
    params: &[ParamInfo {
        name: "smoothing",
        help: "weight of the previous average in the moving average of response times, 0 ≤ x < 1",
        default: "0.95",
    }],
    keyed: false,
    cooperative: false,
    oracle: false,
    build: |params, servers| {
        let smoothing = params.float("smoothing", 0.95, 0.0, 0.999_999)?;
        Ok(Box::new(LeastTime::new(servers, smoothing)))
    },
};

struct LeastTime {
    avg: Vec<f64>,
    weight: Vec<f64>,
    current: Vec<i64>,
    iweight: Vec<i64>,
    smoothing: f64,
}

impl LeastTime {
    fn new(servers: &[ServerInfo], smoothing: f64) -> Self {
        LeastTime {
            avg: vec![0.0; servers.len()],
            weight: servers.iter().map(|s| f64::from(s.weight)).collect(),
            current: vec![0; servers.len()],
            iweight: servers.iter().map(|s| i64::from(s.weight)).collect(),
            smoothing,
        }
    }
}

impl Strategy for LeastTime {
    fn pick(&mut self, _: &RequestView, pool: &Pool, _: &mut StrategyRng) -> usize {
        let conns = pool.in_flight_all();
        // An unseen server (average 0) counts as infinitesimally fast: tried before any
        // measured one, and among unseen ones the fewest connections per weight wins.
        let avg = &self.avg;
        let eta = |i: usize| avg[i].max(f64::MIN_POSITIVE) * (f64::from(conns[i]) + 1.0);
        let (best, best_eta, many) = least_per_weight(&self.weight, eta);
        if !many {
            return best;
        }
        let (weight, wb) = (&self.weight, self.weight[best]);
        smooth_wrr_among(&mut self.current, &self.iweight, best, |i| eta(i) * wb == best_eta * weight[i])
    }

    fn on_complete(&mut self, server: usize, response: f64, _: f64) {
        let a = &mut self.avg[server];
        *a = if *a == 0.0 { response } else { self.smoothing * *a + (1.0 - self.smoothing) * response };
    }

    fn stagger(&mut self, rng: &mut StrategyRng) {
        super::round_robin::stagger_smooth(&mut self.current, &self.iweight, rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    #[test]
    fn fast_servers_take_more_and_unseen_ones_are_tried_first() {
        let servers = servers(&[1, 1, 1]);
        let mut pool = Pool::new(&servers);
        let mut s = (LEAST_RESPONSE_TIME.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        // No samples: all tie, round robin; but connections count even before samples.
        let seq: Vec<usize> = (0..3).map(|i| s.pick(&req(i), &pool, &mut rng)).collect();
        assert_eq!(seq, vec![0, 1, 2]);
        pool.in_flight = vec![1, 0, 1];
        assert_eq!(s.pick(&req(9), &pool, &mut rng), 1);
        pool.in_flight = vec![0, 0, 0];
        s.on_complete(0, 0.010, 0.0);
        s.on_complete(1, 0.030, 0.0);
        // Server 2 has no sample yet: it is tried first.
        assert_eq!(s.pick(&req(3), &pool, &mut rng), 2);
        s.on_complete(2, 0.020, 0.0);
        // 10 ms × 3 = 30 ms ties with 30 ms × 1 ... but 20 ms × 1 is lower.
        pool.in_flight = vec![2, 0, 0];
        assert_eq!(s.pick(&req(4), &pool, &mut rng), 2);
        pool.in_flight = vec![0, 0, 1];
        assert_eq!(s.pick(&req(5), &pool, &mut rng), 0);
    }

    #[test]
    fn moving_average() {
        let mut s = LeastTime::new(&servers(&[1]), 0.95);
        s.on_complete(0, 1.0, 0.0);
        s.on_complete(0, 3.0, 0.0);
        assert!((s.avg[0] - (0.95 + 0.05 * 3.0)).abs() < 1e-12);
    }
}
