//! Finagle / Linkerd `PeakEwma`: power of two choices on a latency-aware load.
//!
//! Each server keeps a "peak EWMA" of its response times: a new sample above the current
//! cost replaces it at once (hypersensitive to spikes), a lower one is blended in with
//! weight `1 − e^(−Δt/τ)`, Δt the time since the previous update, τ the decay time
//! (Finagle's `decayTime`, default 10 s; Linkerd uses 10 s as well). Reading the cost first
//! decays it towards zero over the time since the last update (`observe(0)`), exactly as
//! Finagle's `Metric.get` does, which is why reads change the state.
//!
//! The load of a server is `cost × (outstanding + 1)`; a server with no latency history
//! but outstanding requests gets a huge penalty (Finagle: `Long.MaxValue >> 16` ns), so a
//! new server is probed with one request before more are sent. Selection is Finagle's
//! `P2CPick`: two *distinct* servers drawn uniformly, the less loaded wins, the first drawn
//! on ties. Outstanding requests are the balancer's own in-flight count. Weights are not
//! used (Finagle's P2C balancers do not take weights).

use rand::RngExt;

use super::registry::Split;
use super::{ParamInfo, ParamType, Pool, RequestView, Strategy, StrategyInfo, StrategyRng};

/// `peak-ewma`.
pub(super) const PEAK_EWMA: StrategyInfo = StrategyInfo {
    name: "peak-ewma",
    models: "Finagle `Balancers.p2cPeakEwma` / Linkerd (peak EWMA of latency × (outstanding + 1), P2C)",
    summary: "two distinct random servers; the lower peak-EWMA latency × (in-flight + 1) wins",
    params: &[DECAY],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |params, servers| {
        let tau = params.duration_of(&DECAY)?;
        Ok(Box::new(PeakEwma { tau, cost: vec![0.0; servers.len()], stamp: vec![0.0; servers.len()] }))
    },
};

/// `decay` of `peak-ewma`.
const DECAY: ParamInfo = ParamInfo {
    name: "decay",
    help: "decay time τ of the latency average, a duration such as \"10s\" (1ms..1h)",
    ty: ParamType::Duration { default: 10.0, min: 1e-3, max: 3600.0 },
};

/// Finagle's penalty for a server with outstanding requests and no latency sample yet:
/// `Long.MaxValue >> 16` nanoseconds, in seconds.
const PENALTY: f64 = (i64::MAX >> 16) as f64 * 1e-9;

struct PeakEwma {
    tau: f64,
    cost: Vec<f64>,
    stamp: Vec<f64>,
}

impl PeakEwma {
    /// Finagle `Metric.observe`.
    #[inline]
    fn observe(&mut self, i: usize, rtt: f64, now: f64) {
        let td = (now - self.stamp[i]).max(0.0);
        if rtt > self.cost[i] {
            self.cost[i] = rtt;
        } else {
            let w = (-td / self.tau).exp();
            self.cost[i] = self.cost[i] * w + rtt * (1.0 - w);
        }
        self.stamp[i] = now;
    }

    /// Finagle `Metric.get`.
    #[inline]
    fn load(&mut self, i: usize, pending: u32, now: f64) -> f64 {
        self.observe(i, 0.0, now);
        if self.cost[i] == 0.0 && pending != 0 {
            PENALTY + f64::from(pending)
        } else {
            self.cost[i] * (f64::from(pending) + 1.0)
        }
    }
}

impl Strategy for PeakEwma {
    fn pick(&mut self, req: &RequestView, pool: &Pool, rng: &mut StrategyRng) -> usize {
        let n = pool.len();
        if n == 1 {
            return 0;
        }
        let a = rng.random_range(0..n);
        let mut b = rng.random_range(0..n - 1);
        if b >= a {
            b += 1;
        }
        let la = self.load(a, pool.in_flight(a), req.arrival);
        let lb = self.load(b, pool.in_flight(b), req.arrival);
        if la <= lb { a } else { b }
    }

    fn on_complete(&mut self, server: usize, response: f64, now: f64) {
        self.observe(server, response, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    fn build(n: usize) -> PeakEwma {
        PeakEwma { tau: 10.0, cost: vec![0.0; n], stamp: vec![0.0; n] }
    }

    #[test]
    fn peaks_jump_and_decay_slowly() {
        let mut m = build(1);
        m.observe(0, 0.010, 1.0);
        assert_eq!(m.cost[0], 0.010);
        m.observe(0, 0.100, 2.0); // a spike is taken at once
        assert_eq!(m.cost[0], 0.100);
        m.observe(0, 0.010, 12.0); // 10 s = τ later: weight e^-1 on the old cost
        let want = 0.100 * (-1f64).exp() + 0.010 * (1.0 - (-1f64).exp());
        assert!((m.cost[0] - want).abs() < 1e-12);
        // Reading decays towards zero over idle time.
        let before = m.cost[0];
        let l = m.load(0, 0, 22.0);
        assert!((l - before * (-1f64).exp()).abs() < 1e-12);
    }

    #[test]
    fn unknown_busy_server_is_penalised_and_load_scales_with_outstanding() {
        let mut m = build(2);
        assert!(m.load(0, 1, 0.0) > 1e5);
        assert_eq!(m.load(1, 0, 0.0), 0.0);
        m.observe(0, 0.02, 1.0);
        assert!((m.load(0, 3, 1.0) - 0.08).abs() < 1e-12);
    }

    #[test]
    fn picks_the_faster_of_two_distinct_servers() {
        let servers = servers(&[1, 1]);
        let pool = Pool::new(&servers);
        let mut s = (PEAK_EWMA.build)(&Params::default(), &servers).unwrap();
        s.on_complete(0, 0.050, 0.0);
        s.on_complete(1, 0.010, 0.0);
        let mut rng = rng();
        // Two servers, two distinct draws: the faster one every time.
        assert!((0..100).all(|i| s.pick(&RequestView { arrival: 0.001, ..req(i) }, &pool, &mut rng) == 1));
    }
}
