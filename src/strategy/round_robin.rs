//! Round robin, plain and nginx's smooth weighted round robin.

use rand::RngExt;

use super::caddy::CaddyWeighted;
use super::fwrr::Fwrr;
use super::registry::Split;
use super::{
    ParamError, ParamInfo, ParamType, Params, Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng,
};

/// `round-robin`: servers in turn, ignoring weights.
pub(super) const ROUND_ROBIN: StrategyInfo = StrategyInfo {
    name: "round-robin",
    models: "HAProxy `balance roundrobin` with equal weights; nginx upstream default with equal weights; \
             Caddy 2.6 `lb_policy round_robin` with variant = \"caddy\"",
    summary: "each server in turn, ignoring weights and load",
    params: &[RR_VARIANT, OFFSET],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Even,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |params, servers| {
        let n = servers.len();
        let next = match params.choice_of(&RR_VARIANT)? {
            "caddy" => 1 % n,
            _ => 0,
        };
        skip(Box::new(RoundRobin { next, n }), params, servers)
    },
};

/// `weighted-round-robin`: nginx's smooth weighted round robin, HAProxy's or Caddy's order.
pub(super) const WEIGHTED_ROUND_ROBIN: StrategyInfo = StrategyInfo {
    name: "weighted-round-robin",
    models: "nginx upstream default (smooth weighted round robin, `weight=`); HAProxy `balance roundrobin` \
             (lb_fwrr.c, 2.6) with variant = \"haproxy\"; Caddy 2.7+ `lb_policy weighted_round_robin` with \
             variant = \"caddy\"",
    summary: "weighted round robin: weights 5,1,1 give a a b a c a a (nginx), a a a a b c a (Caddy); \
              2,2,1,1 give a b c a b d (HAProxy)",
    params: &[WRR_VARIANT, OFFSET],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Weighted,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |params, servers| {
        let s: Box<dyn Strategy> = match params.choice_of(&WRR_VARIANT)? {
            "haproxy" => Box::new(Fwrr::new(servers)),
            "caddy" => Box::new(CaddyWeighted::new(servers)),
            _ => Box::new(SmoothWeighted::new(servers)),
        };
        skip(s, params, servers)
    },
};

/// `offset`: picks the balancer made before the run (a rotation's starting point).
const OFFSET: ParamInfo = ParamInfo {
    name: "offset",
    help: "picks the balancer made before the first request, 0..=10⁶: where the rotation starts (`lbsim load` \
           sends its calibration requests, 500 by default, through the balancer first)",
    ty: ParamType::Int { default: 0, min: 0, max: 1_000_000 },
};

/// `variant` of `round-robin`.
const RR_VARIANT: ParamInfo = ParamInfo {
    name: "variant",
    help: "\"first\": from the first server; \"caddy\": from the second, as Caddy increments its counter \
           before reading it (RoundRobinSelection.Select)",
    ty: ParamType::Choice { default: "first", allowed: &["first", "caddy"] },
};

/// `variant` of `weighted-round-robin`.
const WRR_VARIANT: ParamInfo = ParamInfo {
    name: "variant",
    help: "\"nginx\": smooth weighted round robin; \"haproxy\": HAProxy's fast weighted round robin \
           (lb_fwrr.c); \"caddy\": Caddy's walk over cumulative weights, starting one slot in",
    ty: ParamType::Choice { default: "nginx", allowed: &["nginx", "haproxy", "caddy"] },
};

/// Advances a freshly built rotation over `servers` by the `offset` parameter's picks.
fn skip(mut s: Box<dyn Strategy>, params: &Params, servers: &[ServerInfo]) -> Result<Box<dyn Strategy>, ParamError> {
    let k = params.int_of(&OFFSET)?;
    // Rotations read neither the pool's load nor the request nor the RNG.
    let pool = Pool::new(servers);
    let mut rng = <StrategyRng as rand::SeedableRng>::seed_from_u64(0);
    for i in 0..k {
        s.pick(&RequestView { id: i, arrival: 0.0, key: 0, hash: 0, balancer: 0 }, &pool, &mut rng);
    }
    Ok(s)
}

struct RoundRobin {
    next: usize,
    n: usize,
}

impl Strategy for RoundRobin {
    #[inline]
    fn pick(&mut self, _: &RequestView, _: &Pool, _: &mut StrategyRng) -> usize {
        let i = self.next;
        self.next += 1;
        if self.next == self.n {
            self.next = 0;
        }
        i
    }

    fn stagger(&mut self, rng: &mut StrategyRng) {
        self.next = rng.random_range(0..self.n);
    }
}

/// nginx `ngx_http_upstream_get_peer`: every pick adds each peer's weight to its current
/// weight, takes the peer with the largest current weight (the first on ties) and
/// subtracts the total weight from it.
///
/// With equal weights the sequence is plain round robin from the first server (each cycle
/// takes every server once, in order, and leaves every current weight at zero), so it is
/// produced by a cursor instead of a pass over every server.
pub(crate) struct SmoothWeighted {
    current: Vec<i64>,
    weight: Vec<i64>,
    total: i64,
    /// Equal weights: the next server in turn.
    cursor: Option<usize>,
}

impl SmoothWeighted {
    /// Smooth WRR over the servers' weights.
    pub(crate) fn new(servers: &[ServerInfo]) -> Self {
        let weight: Vec<i64> = servers.iter().map(|s| i64::from(s.weight)).collect();
        let cursor = weight.iter().all(|&w| w == weight[0]).then_some(0);
        SmoothWeighted { current: vec![0; weight.len()], total: weight.iter().sum(), weight, cursor }
    }
}

/// The number of picks [`stagger_smooth`] moves by, drawn from `rng`.
fn stagger_offset(weight: &[i64], rng: &mut StrategyRng) -> i64 {
    let total: i64 = weight.iter().sum();
    let cap = (1_000_000 / weight.len().max(1)).max(1) as i64;
    rng.random_range(0..total.clamp(1, cap))
}

/// Moves smooth weighted round-robin state (`current` weights for `weight`) a random number
/// of picks into its cycle of Σw picks, as if that many requests had been sent: independent
/// balancer instances are then not in step. The offset is drawn below Σw, and below
/// 10⁶ / S for very large weights (so that it costs at most about 10⁶ steps).
///
/// Equal weights (from all-zero current weights, as a fresh state has them) are set in one
/// pass: each cycle of S picks takes every server once, in order, and returns every current
/// weight to zero, so k picks in, the first k mod S servers were picked once (w·r − S·w) and
/// the others not yet (w·r), r = k mod S — the state the loop below reaches, without its
/// O(k·S) steps (10,000 balancer instances over 1,000 servers took 5 s, issue 29).
pub(super) fn stagger_smooth(current: &mut [i64], weight: &[i64], rng: &mut StrategyRng) {
    let k = stagger_offset(weight, rng);
    let total: i64 = weight.iter().sum();
    if let Some(&w) = weight.first()
        && weight.iter().all(|&x| x == w)
        && current.iter().all(|&c| c == 0)
    {
        let r = k % weight.len() as i64;
        for (i, c) in current.iter_mut().enumerate() {
            *c = w * r - if (i as i64) < r { total } else { 0 };
        }
        return;
    }
    for _ in 0..k {
        let mut best = 0;
        for i in 0..current.len() {
            current[i] += weight[i];
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total;
    }
}

impl Strategy for SmoothWeighted {
    fn pick(&mut self, _: &RequestView, _: &Pool, _: &mut StrategyRng) -> usize {
        if let Some(next) = &mut self.cursor {
            let i = *next;
            *next = if i + 1 == self.weight.len() { 0 } else { i + 1 };
            return i;
        }
        let mut best = 0;
        for i in 0..self.current.len() {
            self.current[i] += self.weight[i];
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= self.total;
        best
    }

    fn stagger(&mut self, rng: &mut StrategyRng) {
        if let Some(next) = &mut self.cursor {
            // Equal weights: k picks into the cycle is server k mod S.
            *next = stagger_offset(&self.weight, rng) as usize % self.weight.len();
            return;
        }
        stagger_smooth(&mut self.current, &self.weight, rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    #[test]
    fn equal_weights_take_turns_exactly_as_the_pass() {
        for (n, w) in [(1usize, 1u32), (2, 1), (3, 7), (16, 1), (50, 3)] {
            let servers = servers(&vec![w; n]);
            let pool = Pool::new(&servers);
            let mut fast = SmoothWeighted::new(&servers);
            let mut pass = SmoothWeighted::new(&servers);
            pass.cursor = None;
            let mut rng = rng();
            for i in 0..(5 * n as u64 + 3) {
                assert_eq!(fast.pick(&req(i), &pool, &mut rng), pass.pick(&req(i), &pool, &mut rng), "{n} × {w}");
            }
        }
    }

    fn sequence(info: &StrategyInfo, weights: &[u32], n: u64) -> String {
        let servers = servers(weights);
        let pool = Pool::new(&servers);
        let mut s = (info.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        (0..n).map(|i| (b'a' + s.pick(&req(i), &pool, &mut rng) as u8) as char).collect()
    }

    #[test]
    fn nginx_smooth_sequence() {
        // The sequence nginx documents for weights 5, 1, 1.
        assert_eq!(sequence(&WEIGHTED_ROUND_ROBIN, &[5, 1, 1], 14), "aabacaaaabacaa");
    }

    #[test]
    fn equal_weights_cycle() {
        assert_eq!(sequence(&WEIGHTED_ROUND_ROBIN, &[1, 1, 1], 6), "abcabc");
        assert_eq!(sequence(&ROUND_ROBIN, &[5, 1, 1], 6), "abcabc");
    }

    fn with(info: &StrategyInfo, params: &[(&str, toml::Value)], weights: &[u32], n: u64) -> String {
        let servers = servers(weights);
        let pool = Pool::new(&servers);
        let p = Params::new(params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect());
        let mut s = (info.build)(&p, &servers).unwrap();
        let mut rng = rng();
        (0..n).map(|i| (b'a' + s.pick(&req(i), &pool, &mut rng) as u8) as char).collect()
    }

    fn text(v: &str) -> toml::Value {
        toml::Value::String(v.into())
    }

    /// The variants by name: HAProxy's order, Caddy's walk and its round robin starting at
    /// the second server; `offset` moves the start as that many earlier picks would.
    #[test]
    fn variants_and_offset() {
        let haproxy = [("variant", text("haproxy"))];
        assert_eq!(with(&WEIGHTED_ROUND_ROBIN, &haproxy, &[2, 2, 1, 1], 6), "abcabd");
        let after_calibration = [("variant", text("haproxy")), ("offset", toml::Value::Integer(500))];
        assert_eq!(with(&WEIGHTED_ROUND_ROBIN, &after_calibration, &[2, 2, 1, 1], 6), "cabdab");
        assert_eq!(with(&WEIGHTED_ROUND_ROBIN, &[("variant", text("caddy"))], &[5, 1, 1], 7), "aaaabca");
        assert_eq!(with(&ROUND_ROBIN, &[("variant", text("caddy"))], &[1, 1, 1], 4), "bcab");
        assert_eq!(with(&ROUND_ROBIN, &[("offset", toml::Value::Integer(5))], &[1, 1, 1], 4), "cabc");
        assert_eq!(
            with(&WEIGHTED_ROUND_ROBIN, &[("offset", toml::Value::Integer(2))], &[5, 1, 1], 5),
            &with(&WEIGHTED_ROUND_ROBIN, &[], &[5, 1, 1], 7)[2..]
        );
        let bad = Params::new([("variant".to_string(), text("haprxy"))].into_iter().collect());
        let err = (WEIGHTED_ROUND_ROBIN.build)(&bad, &servers(&[1, 2])).err().unwrap();
        assert!(err.message.contains("did you mean \"haproxy\""), "{}", err.message);
    }

    #[test]
    fn staggered_instances_start_at_random_places_in_the_cycle() {
        let servers = servers(&[1, 1, 1, 1]);
        let pool = Pool::new(&servers);
        let mut r = rng();
        let mut firsts = [0u32; 4];
        for info in [&ROUND_ROBIN, &WEIGHTED_ROUND_ROBIN] {
            for _ in 0..400 {
                let mut s = (info.build)(&Params::default(), &servers).unwrap();
                s.stagger(&mut r);
                let seq: Vec<usize> = (0..8).map(|i| s.pick(&req(i), &pool, &mut r)).collect();
                // Still a rotation, from wherever it starts.
                assert!(seq.windows(2).all(|w| w[1] == (w[0] + 1) % 4), "{} {seq:?}", info.name);
                firsts[seq[0]] += 1;
            }
        }
        assert!(firsts.iter().all(|&c| c > 100), "{firsts:?}");
    }

    #[test]
    fn equal_weights_are_staggered_in_one_pass_to_the_state_the_picks_reach() {
        // The closed form against k picks of the loop, from the same draw of k.
        for (n, w) in [(1usize, 1i64), (4, 1), (7, 3), (1000, 1)] {
            let weight = vec![w; n];
            let (mut a, mut b) = (rng(), rng());
            for _ in 0..20 {
                let mut fast = vec![0i64; n];
                stagger_smooth(&mut fast, &weight, &mut a);
                let k = stagger_offset(&weight, &mut b);
                let mut slow = vec![0i64; n];
                for _ in 0..k {
                    let best = (0..n).fold(0, |best, i| {
                        slow[i] += w;
                        if slow[i] > slow[best] { i } else { best }
                    });
                    slow[best] -= w * n as i64;
                }
                assert_eq!(fast, slow, "{n} servers of weight {w}, {k} picks");
            }
        }
    }

    #[test]
    fn weights_are_honoured_exactly_per_cycle() {
        let seq = sequence(&WEIGHTED_ROUND_ROBIN, &[3, 2, 7], 12);
        assert_eq!(seq.matches('a').count(), 3);
        assert_eq!(seq.matches('b').count(), 2);
        assert_eq!(seq.matches('c').count(), 7);
    }
}
