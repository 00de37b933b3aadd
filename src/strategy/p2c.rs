//! The power-of-choices family: Envoy `LEAST_REQUEST` and nginx `random two least_conn`.
//!
//! - `p2c` is Envoy's least-request balancer. With equal weights it samples `choices`
//!   hosts uniformly **with replacement** and keeps the one with the fewest active requests
//!   (a later sample replaces the candidate only when strictly less loaded), as
//!   `unweightedHostPickNChoices` does. When the weights differ, or when
//!   `active_request_bias` is given explicitly, Envoy switches to its earliest-deadline-first
//!   weighted round robin in which a host, each time it is picked, is re-inserted with the
//!   dynamic weight `weight / (active + 1)^active_request_bias` (bias 0: plain weighted
//!   round robin). As in Envoy the schedule starts after a random number (below the host
//!   count) of pre-picks, so that balancers do not start in lock-step.
//! - `p2c` with `variant = "haproxy"` is HAProxy's `balance random(N)` (`random` alone means
//!   2 draws): `choices` draws on HAProxy's consistent-hash ring (see `random`), each
//!   new draw kept unless the best so far serves strictly fewer requests per unit of weight
//!   (`get_server_rnd`: `curr->served × prev->eweight > prev->served × curr->eweight`
//!   keeps the previous one). The ring's uneven arcs bias the draws, and so the choice.
//! - `random-two-least-conn` is nginx `random two least_conn`: two *distinct* servers drawn
//!   with probability proportional to weight (a repeat draw is retried), the one with fewer
//!   connections per weight wins, the second drawn on ties; after 20 failed draws nginx falls
//!   back to its weighted round robin.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::RngExt;

use super::caddy::CaddyRandomChoose;
use super::random::HaproxyRing;
use super::registry::Split;
use super::round_robin::SmoothWeighted;
use super::weights::WeightSlots;
use super::{ParamError, ParamInfo, ParamType, Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// `p2c`.
pub(super) const P2C: StrategyInfo = StrategyInfo {
    name: "p2c",
    models: "Envoy `LEAST_REQUEST` (`choice_count`; weighted mode with `active_request_bias`); \
             Mitzenmacher's power of d choices; HAProxy `balance random(N)` with variant = \"haproxy\"; Caddy 2.6 \
             `lb_policy random_choose N` with variant = \"caddy-2.6\" (its fixed sampling: \"caddy\")",
    summary: "sample d servers with replacement, take the one with fewest in-flight (first sampled on ties); \
              unequal weights: Envoy's dynamic-weight EDF round robin",
    params: &[CHOICES, ACTIVE_REQUEST_BIAS, VARIANT],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    // Each pick reads `choices` servers.
    reads: |params, _| {
        let ParamType::Int { default, .. } = CHOICES.ty else { return 1 };
        params.int_between(&CHOICES, 1, u64::MAX).unwrap_or(default)
    },
    build: |params, servers| {
        let variant = params.choice_of(&VARIANT)?;
        if variant.starts_with("caddy") {
            if params.has("active_request_bias") {
                return Err(ParamError {
                    param: "active_request_bias".into(),
                    message: "is Envoy's; Caddy's random_choose has no bias (remove it or variant)".into(),
                });
            }
            let k = params.int_between(&CHOICES, 2, 1_000_000)? as usize;
            return Ok(Box::new(CaddyRandomChoose::new(k, variant == "caddy", servers)));
        }
        let d = params.int_between(&CHOICES, 1, servers.len() as u64)?;
        if variant == "haproxy" {
            if params.has("active_request_bias") {
                return Err(ParamError {
                    param: "active_request_bias".into(),
                    message: "is Envoy's; HAProxy's random(N) has no bias (remove it or variant)".into(),
                });
            }
            return Ok(Box::new(HaproxyRandomN { ring: HaproxyRing::new(servers, "variant")?, draws: d as u32 }));
        }
        let bias = params.number_of(&ACTIVE_REQUEST_BIAS)?;
        let equal = servers.iter().all(|s| s.weight == servers[0].weight);
        if equal && !params.has("active_request_bias") {
            Ok(Box::new(P2c { choices: d as u32, n: servers.len() as u32 }))
        } else {
            Ok(Box::new(WeightedLeastRequest::new(servers, bias)))
        }
    },
};

/// `choices` of `p2c` (1..=S, or 2..=10⁶ for Caddy's variants).
const CHOICES: ParamInfo = ParamInfo {
    name: "choices",
    help: "servers sampled per request, 1..=S (equal weights)",
    ty: ParamType::Int { default: 2, min: 1, max: 1_000_000 },
};

/// `active_request_bias` of `p2c`.
const ACTIVE_REQUEST_BIAS: ParamInfo = ParamInfo {
    name: "active_request_bias",
    help: "≥ 0; used in the weighted mode (unequal weights): effective weight = weight / (in-flight + \
           1)^bias. Setting it forces the weighted mode even with equal weights, as Envoy does",
    ty: ParamType::Number { default: 1.0, min: 0.0, max: 100.0 },
};

/// `variant` of `p2c`.
const VARIANT: ParamInfo = ParamInfo {
    name: "variant",
    help: "\"envoy\": as above; \"haproxy\": HAProxy `balance random(choices)`, the draws taken on its \
           consistent-hash ring and compared by in-flight per weight; \"caddy-2.6\": Caddy 2.6 `random_choose \
           choices` with its two defects (overwriting samples, a best list never reset); \"caddy\": the same \
           with Caddy master's fixed sampling (choices ≥ 2, cut to the pool as Caddy does)",
    ty: ParamType::Choice { default: "envoy", allowed: &["envoy", "haproxy", "caddy-2.6", "caddy"] },
};

/// `random-two-least-conn`.
pub(super) const RANDOM_TWO_LEAST_CONN: StrategyInfo = StrategyInfo {
    name: "random-two-least-conn",
    models: "nginx `random two least_conn`",
    summary: "two distinct servers drawn in proportion to weight; the one with fewer in-flight per weight",
    params: &[],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |_, servers| Ok(Box::new(RandomTwo::new(servers))),
};

/// Envoy `LeastRequestLoadBalancer::unweightedHostPickNChoices`: `choice_count` draws with
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

/// HAProxy `get_server_rnd` with `draws` draws on the ring: a new draw replaces the best so
/// far unless that one serves strictly fewer requests per unit of weight (so ties go to the
/// newer draw; drawing the same server twice keeps it).
struct HaproxyRandomN {
    ring: HaproxyRing,
    draws: u32,
}

impl Strategy for HaproxyRandomN {
    #[inline]
    fn pick(&mut self, _: &RequestView, pool: &Pool, rng: &mut StrategyRng) -> usize {
        let mut curr = self.ring.lookup(rng.random::<u32>());
        for _ in 1..self.draws {
            let prev = curr;
            curr = self.ring.lookup(rng.random::<u32>());
            let (sc, sp) = (u64::from(pool.in_flight(curr)), u64::from(pool.in_flight(prev)));
            if prev != curr && sc * self.ring.eweight(prev) > sp * self.ring.eweight(curr) {
                curr = prev;
            }
        }
        curr
    }
}

/// An entry of Envoy's `EdfScheduler`: earliest deadline first, FIFO among equal deadlines.
#[derive(Clone, Copy)]
struct Entry {
    deadline: f64,
    order: u64,
    host: u32,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    /// Reversed: `BinaryHeap` pops the earliest deadline, then the earliest inserted.
    fn cmp(&self, o: &Self) -> Ordering {
        o.deadline.total_cmp(&self.deadline).then_with(|| o.order.cmp(&self.order))
    }
}

/// Envoy's weighted least request: `EdfScheduler::pickAndAdd` with
/// `LeastRequestLoadBalancer::hostWeight`. The picked host is re-inserted at
/// `deadline + 1 / weight`, its weight computed at the pick from its active requests
/// (before the new one is counted); other hosts keep the weight they were inserted with.
struct WeightedLeastRequest {
    heap: BinaryHeap<Entry>,
    weight: Vec<f64>,
    bias: f64,
    now: f64,
    order: u64,
    started: bool,
}

impl WeightedLeastRequest {
    fn new(servers: &[ServerInfo], bias: f64) -> Self {
        let mut s = WeightedLeastRequest {
            heap: BinaryHeap::with_capacity(servers.len()),
            weight: servers.iter().map(|s| f64::from(s.weight)).collect(),
            bias,
            now: 0.0,
            order: 0,
            started: false,
        };
        for h in 0..servers.len() {
            let w = s.weight[h];
            s.add(h, w);
        }
        s
    }

    fn add(&mut self, host: usize, weight: f64) {
        self.heap.push(Entry { deadline: self.now + 1.0 / weight, order: self.order, host: host as u32 });
        self.order += 1;
    }

    /// `weight / (active + 1)^bias`, with Envoy's shortcuts for bias 0 and 1.
    #[inline]
    fn host_weight(&self, h: usize, active: u32) -> f64 {
        let a = f64::from(active) + 1.0;
        if self.bias == 0.0 {
            self.weight[h]
        } else if self.bias == 1.0 {
            self.weight[h] / a
        } else {
            self.weight[h] / a.powf(self.bias)
        }
    }

    fn pick_and_add(&mut self, pool: &Pool) -> usize {
        let e = self.heap.pop().expect("one entry per host");
        self.now = e.deadline;
        let h = e.host as usize;
        let w = self.host_weight(h, pool.in_flight(h));
        self.add(h, w);
        h
    }
}

impl Strategy for WeightedLeastRequest {
    fn pick(&mut self, _: &RequestView, pool: &Pool, rng: &mut StrategyRng) -> usize {
        if !self.started {
            // EdfScheduler::createWithPicks: a random number of pre-picks below the host count.
            self.started = true;
            for _ in 0..rng.random_range(0..self.weight.len()) {
                self.pick_and_add(pool);
            }
        }
        self.pick_and_add(pool)
    }
}

/// nginx `ngx_http_upstream_get_random2_peer`.
struct RandomTwo {
    slots: WeightSlots,
    weight: Vec<u64>,
    fallback: SmoothWeighted,
}

/// nginx gives up drawing after this many tries and uses round robin.
const NGINX_TRIES: u32 = 20;

impl RandomTwo {
    fn new(servers: &[ServerInfo]) -> Self {
        RandomTwo {
            slots: WeightSlots::new(servers),
            weight: servers.iter().map(|s| u64::from(s.weight)).collect(),
            fallback: SmoothWeighted::new(servers),
        }
    }
}

impl Strategy for RandomTwo {
    fn pick(&mut self, req: &RequestView, pool: &Pool, rng: &mut StrategyRng) -> usize {
        if self.weight.len() < 2 {
            return self.fallback.pick(req, pool, rng);
        }
        let mut prev: Option<usize> = None;
        let mut tries = 0;
        loop {
            let i = self.slots.draw(rng);
            if prev != Some(i) {
                if let Some(p) = prev {
                    let (ci, cp) = (u64::from(pool.in_flight(i)), u64::from(pool.in_flight(p)));
                    return if ci * self.weight[p] > cp * self.weight[i] { p } else { i };
                }
                prev = Some(i);
            }
            tries += 1;
            if tries > NGINX_TRIES {
                return self.fallback.pick(req, pool, rng);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    fn params(k: &str, v: toml::Value) -> Params {
        Params::new([(k.to_string(), v)].into_iter().collect())
    }

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
        assert!((P2C.build)(&params("choices", toml::Value::Integer(3)), &servers).is_err());
    }

    #[test]
    fn edf_with_bias_zero_is_weighted_round_robin() {
        // Bias 0: static weights; every window of Σw = 6 picks holds each host w times.
        let servers = servers(&[1, 2, 3]);
        let pool = Pool::new(&servers);
        let mut s = (P2C.build)(&params("active_request_bias", toml::Value::Float(0.0)), &servers).unwrap();
        let mut rng = rng();
        let seq: Vec<usize> = (0..600).map(|i| s.pick(&req(i), &pool, &mut rng)).collect();
        for w in seq.chunks(6).skip(1) {
            let mut c = [0; 3];
            w.iter().for_each(|&k| c[k] += 1);
            assert_eq!(c, [1, 2, 3], "{w:?}");
        }
    }

    #[test]
    fn explicit_bias_zero_with_equal_weights_is_round_robin() {
        // Setting the bias forces the EDF mode (as in Envoy); equal weights and bias 0 make
        // every deadline tie broken by insertion order: a rotation of 0, 1, …, S−1.
        let servers = servers(&[1; 5]);
        let pool = Pool::new(&servers);
        let mut s = (P2C.build)(&params("active_request_bias", toml::Value::Float(0.0)), &servers).unwrap();
        let mut rng = rng();
        let seq: Vec<usize> = (0..50).map(|i| s.pick(&req(i), &pool, &mut rng)).collect();
        assert!(seq.windows(2).all(|w| w[1] == (w[0] + 1) % 5), "{seq:?}");
    }

    #[test]
    fn edf_bias_steers_away_from_busy_hosts() {
        // Unequal weights switch to the weighted mode. Host 1 (weight 2) is busy with 9
        // requests: bias 1 gives it 2/10 against 1/1, so host 0 gets ~5/6 of the picks.
        let servers = servers(&[1, 2]);
        let mut pool = Pool::new(&servers);
        pool.in_flight = vec![0, 9];
        let mut s = (P2C.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        let n = 6000;
        let to0 = (0..n).filter(|&i| s.pick(&req(i), &pool, &mut rng) == 0).count();
        assert!((to0 as f64 / n as f64 - 5.0 / 6.0).abs() < 0.01, "{to0}");
    }

    #[test]
    fn haproxy_random_n_keeps_the_less_loaded_and_ties_go_to_the_newer_draw() {
        let servers = servers(&[1, 1, 1, 1]);
        let mut pool = Pool::new(&servers);
        let params =
            Params::new([("variant".to_string(), toml::Value::String("haproxy".into()))].into_iter().collect());
        let mut s = (P2C.build)(&params, &servers).unwrap();
        let ring = HaproxyRing::new(&servers, "variant").unwrap();
        let shares = ring.shares();
        let mut rng = rng();
        // Server 1 busy, the others idle: it is chosen only when both draws hit it.
        pool.in_flight = vec![0, 5, 0, 0];
        let n = 200_000;
        let to1 = (0..n).filter(|&i| s.pick(&req(i), &pool, &mut rng) == 1).count() as f64;
        let p = shares[1] * shares[1];
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        assert!((to1 - n as f64 * p).abs() < 5.0 * sd, "{to1} vs {}", n as f64 * p);
        // Equal loads: every draw is kept, so the picks follow the ring's shares.
        pool.in_flight = vec![2, 2, 2, 2];
        let mut counts = [0u32; 4];
        for i in 0..n {
            counts[s.pick(&req(i), &pool, &mut rng)] += 1;
        }
        for (c, q) in counts.iter().zip(&shares) {
            let sd = (n as f64 * q * (1.0 - q)).sqrt();
            assert!((f64::from(*c) - n as f64 * q).abs() < 5.0 * sd, "{counts:?} vs {shares:?}");
        }
    }

    #[test]
    fn random_two_never_takes_the_busier_of_two() {
        // Two distinct draws out of two servers: the less loaded always wins; on a tie the
        // second drawn, i.e. each half the time.
        let servers = servers(&[1, 1]);
        let mut pool = Pool::new(&servers);
        pool.in_flight = vec![5, 1];
        let mut s = (RANDOM_TWO_LEAST_CONN.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        assert!((0..1000).all(|i| s.pick(&req(i), &pool, &mut rng) == 1));
        pool.in_flight = vec![2, 2];
        let n = 40_000;
        let to0 = (0..n).filter(|&i| s.pick(&req(i), &pool, &mut rng) == 0).count() as f64;
        let sd = (n as f64 * 0.25).sqrt();
        assert!((to0 - n as f64 / 2.0).abs() < 5.0 * sd, "{to0}");
    }

    #[test]
    fn random_two_compares_per_weight() {
        // 3 conns at weight 4 (0.75 per weight) beat 3 at weight 3 (1 per weight). (nginx
        // falls back to round robin after 21 draws of one server: probability
        // (3/7)^21 + (4/7)^21 < 1e-5 per request, negligible here.)
        let servers = servers(&[3, 4]);
        let mut pool = Pool::new(&servers);
        pool.in_flight = vec![3, 3];
        let mut s = (RANDOM_TWO_LEAST_CONN.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        assert!((0..1000).all(|i| s.pick(&req(i), &pool, &mut rng) == 1));
    }
}
