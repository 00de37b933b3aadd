//! Caddy's `reverse_proxy` selection policies, as variants of lbsim's strategies.
//!
//! Read from `modules/caddyhttp/reverseproxy/selectionpolicies.go` of Caddy v2.6.2 (commit
//! 6bad878a, the release Debian 12 ships), and of Caddy's master at commit b2be5482 for the
//! fixed `random_choose` and v2.7.0 for `weighted_round_robin` (which 2.6 does not have).
//! Caddy counts a host's active requests (`NumRequests`): lbsim's in-flight count.
//!
//! | Caddy policy | lbsim |
//! |---|---|
//! | `random` (the default) | `random` |
//! | `round_robin` | `round-robin`, `variant = "caddy"` (starts at the second upstream) |
//! | `least_conn` | `least-connections`, `variant = "caddy"` ([`CaddyLeastConn`]) |
//! | `random_choose k`, 2.6 | `p2c`, `variant = "caddy-2.6"`, `choices = k` ([`CaddyRandomChoose`]) |
//! | `random_choose k`, master | `p2c`, `variant = "caddy"` |
//! | `weighted_round_robin` (2.7+) | `weighted-round-robin`, `variant = "caddy"` ([`CaddyWeighted`]) |
//! | `ip_hash`, `uri_hash`, `header` | `rendezvous` is the same idea (HRW), with lbsim's hash, not FNV-1a |
//!
//! None of Caddy's 2.6 policies reads weights. The engine rebuilds a strategy over the
//! eligible servers; Caddy instead skips unavailable upstreams inside each pick, which for
//! these policies is the same choice, except that `weighted_round_robin` keeps the weights
//! of its configured list and maps them onto the available upstreams by position.

use rand::RngExt;

use super::{Pool, RequestView, ServerInfo, Strategy, StrategyRng};

/// Caddy 2.6 `LeastConnSelection.Select`: the host with the fewest active requests,
/// weights ignored; among hosts sharing the minimum, a reservoir sample (each counted
/// host replaces the choice with probability 1/count): a uniform tie-break.
pub(super) struct CaddyLeastConn;

impl Strategy for CaddyLeastConn {
    fn pick(&mut self, _: &RequestView, pool: &Pool, rng: &mut StrategyRng) -> usize {
        let mut best = 0;
        let mut least = u32::MAX;
        let mut count = 0u64;
        for (i, &n) in pool.in_flight_all().iter().enumerate() {
            if n < least {
                least = n;
                count = 0;
            }
            if n == least {
                count += 1;
                if rng.random_range(0..count) == 0 {
                    best = i;
                }
            }
        }
        best
    }
}

/// Caddy `RandomChoiceSelection.Select` (`random_choose k`) followed by `leastRequests`.
///
/// Sampling, 2.6 (`fixed` off): a slot array of `k`; host `i` (from 0) draws
/// `j = Intn(i + 1)` and takes slot `j` if `j < k`, so slots are overwritten and may stay
/// empty: with 4 hosts and k = 2 only one candidate is drawn a quarter of the time, and the
/// first host is a candidate half as often as the others. Fixed (master, b2be5482): the
/// first `k` hosts fill the slots, then host number `a` (from 1) replaces slot `Intn(a)` if
/// below `k` (Algorithm R: `k` distinct hosts, uniformly).
///
/// Comparison (`leastRequests`, both forms): the first idle candidate in slot order wins;
/// otherwise each candidate at most as loaded as the least so far is *appended* to a list
/// that is never reset, and the pick is uniform over that list, so a strictly less loaded
/// second candidate wins only half the time.
pub(super) struct CaddyRandomChoose {
    k: usize,
    fixed: bool,
    slots: Vec<Option<usize>>,
    best: Vec<usize>,
}

impl CaddyRandomChoose {
    /// `random_choose k` over `servers` (`k ≥ 2`, cut to the pool as Caddy does).
    pub(super) fn new(k: usize, fixed: bool, servers: &[ServerInfo]) -> Self {
        let k = k.min(servers.len());
        CaddyRandomChoose { k, fixed, slots: Vec::with_capacity(k), best: Vec::with_capacity(k) }
    }

    /// The candidates' slots for one pick.
    fn sample(&mut self, n: usize, rng: &mut StrategyRng) {
        self.slots.clear();
        if self.fixed {
            for i in 0..n {
                if self.slots.len() < self.k {
                    self.slots.push(Some(i));
                    continue;
                }
                let j = rng.random_range(0..i + 1);
                if j < self.k {
                    self.slots[j] = Some(i);
                }
            }
        } else {
            self.slots.resize(self.k, None);
            for i in 0..n {
                let j = rng.random_range(0..i + 1);
                if j < self.k {
                    self.slots[j] = Some(i);
                }
            }
        }
    }
}

impl Strategy for CaddyRandomChoose {
    fn pick(&mut self, _: &RequestView, pool: &Pool, rng: &mut StrategyRng) -> usize {
        self.sample(pool.len(), rng);
        self.best.clear();
        let mut least: Option<u32> = None;
        for &c in self.slots.iter().flatten() {
            let n = pool.in_flight(c);
            if n == 0 {
                return c;
            }
            if least.is_none_or(|l| n <= l) {
                least = Some(n);
                self.best.push(c);
            }
        }
        match self.best.len() {
            1 => self.best[0],
            len => self.best[rng.random_range(0..len)],
        }
    }
}

/// Caddy 2.7+ `WeightedRoundRobinSelection.Select`: a counter incremented *before* use,
/// taken modulo Σw, walks the cumulative weights: 5, 1, 1 give the cycle a a a a a b c,
/// entered one slot in (a a a a b c a …).
pub(super) struct CaddyWeighted {
    cumulative: Vec<u64>,
    index: u64,
}

impl CaddyWeighted {
    /// Over `servers`' weights, counter at 0.
    pub(super) fn new(servers: &[ServerInfo]) -> Self {
        let mut acc = 0;
        let cumulative = servers
            .iter()
            .map(|s| {
                acc += u64::from(s.weight);
                acc
            })
            .collect();
        CaddyWeighted { cumulative, index: 0 }
    }
}

impl Strategy for CaddyWeighted {
    fn pick(&mut self, _: &RequestView, _: &Pool, _: &mut StrategyRng) -> usize {
        if self.cumulative.len() < 2 {
            return 0;
        }
        let total = *self.cumulative.last().expect("servers");
        self.index += 1;
        let slot = self.index % total;
        self.cumulative.partition_point(|&c| c <= slot)
    }

    fn stagger(&mut self, rng: &mut StrategyRng) {
        self.index = rng.random_range(0..*self.cumulative.last().expect("servers"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testutil::*;

    #[test]
    fn weighted_walks_cumulative_weights_from_one_slot_in() {
        let servers = servers(&[5, 1, 1]);
        let pool = Pool::new(&servers);
        let mut s = CaddyWeighted::new(&servers);
        let mut r = rng();
        let seq: String = (0..14).map(|i| (b'a' + s.pick(&req(i), &pool, &mut r) as u8) as char).collect();
        assert_eq!(seq, "aaaabcaaaaabca");
    }

    /// The 2.6 sampling's candidate sets with 4 hosts and k = 2, counted exactly over every
    /// draw sequence (Intn(1), Intn(2), Intn(3), Intn(4): 24 equally likely), against the
    /// sampler fed by a generator: one candidate a quarter of the time; host 1 a candidate
    /// in 1/4 of the picks, the others in 1/2.
    #[test]
    fn caddy_2_6_sampling_has_holes_and_bias() {
        let mut single = 0;
        let mut member = [0u32; 4];
        for j1 in 0..2 {
            for j2 in 0..3 {
                for j3 in 0..4 {
                    let mut slots = [Some(0usize), None];
                    for (i, j) in [(1, j1), (2, j2), (3, j3)] {
                        if j < 2 {
                            slots[j] = Some(i);
                        }
                    }
                    if slots[1].is_none() {
                        single += 1;
                    }
                    for s in slots.iter().flatten() {
                        member[*s] += 1;
                    }
                }
            }
        }
        assert_eq!(single, 6, "6 of 24: a quarter");
        assert_eq!(member, [6, 12, 12, 12]);
        // The implementation draws the same distribution.
        let servers = servers(&[1; 4]);
        let n = 200_000;
        let mut s = CaddyRandomChoose::new(2, false, &servers);
        let mut r = rng();
        let (mut one, mut mem) = (0u32, [0u32; 4]);
        for _ in 0..n {
            s.sample(4, &mut r);
            if s.slots.iter().flatten().count() == 1 {
                one += 1;
            }
            for c in s.slots.iter().flatten() {
                mem[*c] += 1;
            }
        }
        let close = |x: u32, p: f64| {
            let se = (p * (1.0 - p) / f64::from(n)).sqrt();
            (f64::from(x) / f64::from(n) - p).abs() < 5.0 * se
        };
        assert!(close(one, 0.25), "{one}");
        assert!(close(mem[0], 0.25) && (1..4).all(|i| close(mem[i], 0.5)), "{mem:?}");
        // Fixed sampling: two distinct candidates, each host in half of the picks.
        let mut s = CaddyRandomChoose::new(2, true, &servers);
        let mut mem = [0u32; 4];
        for _ in 0..n {
            s.sample(4, &mut r);
            let c: Vec<usize> = s.slots.iter().flatten().copied().collect();
            assert!(c.len() == 2 && c[0] != c[1]);
            for x in c {
                mem[x] += 1;
            }
        }
        assert!((0..4).all(|i| close(mem[i], 0.5)), "{mem:?}");
    }

    /// `leastRequests`: an idle candidate wins at once; a less loaded second candidate wins
    /// only half the time (the list of best candidates is never reset); a busier second
    /// candidate never wins.
    #[test]
    fn caddy_comparison_keeps_earlier_candidates() {
        let servers = servers(&[1, 1]);
        let mut pool = Pool::new(&servers);
        let mut s = CaddyRandomChoose::new(2, true, &servers);
        let mut r = rng();
        // Fixed sampling over two hosts: slots [0, 1] always.
        pool.in_flight = vec![3, 1];
        let n = 40_000;
        let wins = (0..n).filter(|&i| s.pick(&req(i), &pool, &mut r) == 1).count() as f64 / n as f64;
        assert!((wins - 0.5).abs() < 5.0 * (0.25 / n as f64).sqrt(), "{wins}");
        pool.in_flight = vec![1, 3];
        assert!((0..1000).all(|i| s.pick(&req(i), &pool, &mut r) == 0));
        pool.in_flight = vec![2, 0];
        assert!((0..1000).all(|i| s.pick(&req(i), &pool, &mut r) == 1));
    }

    #[test]
    fn least_conn_breaks_ties_uniformly() {
        let servers = servers(&[1, 5, 1, 1]);
        let mut pool = Pool::new(&servers);
        pool.in_flight = vec![2, 1, 1, 1];
        let mut r = rng();
        let mut count = [0u32; 4];
        let n = 60_000;
        for i in 0..n {
            count[CaddyLeastConn.pick(&req(i), &pool, &mut r)] += 1;
        }
        assert_eq!(count[0], 0);
        let se = (f64::from(n as u32) * (2.0 / 9.0)).sqrt();
        assert!((1..4).all(|i| (f64::from(count[i]) - n as f64 / 3.0).abs() < 5.0 * se), "{count:?}");
    }

    /// The registry builds the variants by name; Caddy's `choose` must be at least 2 and is
    /// cut to the pool.
    #[test]
    fn variants_build_by_name() {
        use crate::strategy::{Params, lookup};
        let p = |pairs: &[(&str, toml::Value)]| {
            Params::new(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
        };
        let v = |s: &str| toml::Value::String(s.into());
        let servers = servers(&[1, 1, 1]);
        let p2c = lookup("p2c").unwrap();
        for variant in ["caddy-2.6", "caddy"] {
            assert!(
                (p2c.build)(&p(&[("variant", v(variant)), ("choices", toml::Value::Integer(9))]), &servers).is_ok()
            );
            let err = (p2c.build)(&p(&[("variant", v(variant)), ("choices", toml::Value::Integer(1))]), &servers);
            assert_eq!(err.err().unwrap().param, "choices");
        }
        assert!((lookup("least-connections").unwrap().build)(&p(&[("variant", v("caddy"))]), &servers).is_ok());
    }
}
