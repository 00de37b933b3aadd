//! Consistent hashing with bounded loads (Mirrokni, Thorup & Zadimoghaddam, SODA 2018), as
//! HAProxy implements it: `hash-type consistent` with `hash-balance-factor`.
//!
//! Servers sit on a ring of `vnodes × weight` points (HAProxy: 16 per unit of weight). A key
//! goes to the point closest to its hash (on either side, HAProxy's choice), and if that
//! server is full, to the next point clockwise whose server is not, and so on. "Full" is
//! HAProxy's `chash_server_is_eligible`: with m requests in flight in the pool, the new one
//! included there are `⌈(m + 1) × factor / 100⌉` slots, shared out in proportion to weight
//! (server i gets `⌊t·(C_i + w_i)/W⌋ − ⌊t·C_i/W⌋`, C_i the weight before it, never 0); a
//! server may take the request only while its in-flight count is below its slots. With equal
//! weights no server ever holds more than `⌈factor/100 × (m + 1)/S⌉` — 1.25× the average for
//! factor 125 — while keys still stick to their server whenever it has room.
//!
//! For `lbsim remap` the assignment is the paper's static one: keys placed in order, each
//! server holding at most its share of `⌈K × factor/100⌉` slots.

use super::registry::Split;
use super::ring_hash::{Ring, ring_bytes};
use super::{ParamInfo, ParamType, Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// `bounded-load-hash`.
pub(super) const BOUNDED_LOAD_HASH: StrategyInfo = StrategyInfo {
    name: "bounded-load-hash",
    models: "HAProxy `hash-type consistent` + `hash-balance-factor` (Mirrokni–Thorup–Zadimoghaddam): its rule and \
             16 points per weight, the points placed by lbsim's hash of the server name",
    summary: "consistent hashing, but a server above balance_factor% of the average load passes the key on",
    params: &[BALANCE_FACTOR, VNODES],
    keyed: true,
    cooperative: false,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |params, servers| ring_bytes(params, &VNODES, servers),
    reads: |_, _| 1,
    build: |params, servers| {
        let factor = params.int_of(&BALANCE_FACTOR)?;
        let v = params.int_of(&VNODES)?;
        Ok(Box::new(BoundedLoad::new(servers, Ring::new(servers, v, VNODES.name)?, factor)))
    },
};

/// `balance_factor` of `bounded-load-hash`.
const BALANCE_FACTOR: ParamInfo = ParamInfo {
    name: "balance_factor",
    help: "HAProxy hash-balance-factor: no server above factor/100 × the average in-flight, 100..=10000",
    ty: ParamType::Int { default: 125, min: 100, max: 10_000 },
};

/// `vnodes` of `bounded-load-hash`.
const VNODES: ParamInfo = ParamInfo {
    name: "vnodes",
    help: "ring points per unit of weight, 1..=10000 (HAProxy uses 16)",
    ty: ParamType::Int { default: 16, min: 1, max: 10_000 },
};

struct BoundedLoad {
    ring: Ring,
    weight: Vec<u128>,
    /// Σ of the weights of the servers before each one (HAProxy `cumulative_weight`).
    before: Vec<u128>,
    total_weight: u128,
    factor: u128,
}

impl BoundedLoad {
    fn new(servers: &[ServerInfo], ring: Ring, factor: u64) -> Self {
        let weight: Vec<u128> = servers.iter().map(|s| u128::from(s.weight)).collect();
        let mut acc = 0;
        let before = weight
            .iter()
            .map(|w| {
                let b = acc;
                acc += w;
                b
            })
            .collect();
        BoundedLoad { ring, weight, before, total_weight: acc, factor: u128::from(factor) }
    }

    /// Total slots for `m` requests in flight plus the one being placed.
    #[inline]
    fn total_slots(&self, m: u64) -> u128 {
        (u128::from(m) + 1).saturating_mul(self.factor).div_ceil(100)
    }

    /// Server `s`'s share of `tot` slots (HAProxy's weighted split, at least 1).
    #[inline]
    fn slots(&self, s: usize, tot: u128) -> u128 {
        let w = self.total_weight;
        let (c, cw) = (self.before[s], self.before[s] + self.weight[s]);
        // 64-bit arithmetic when it cannot overflow (always, in practice): much faster.
        let x = match (u64::try_from(tot * cw), u64::try_from(w)) {
            (Ok(hi), Ok(w64)) => u128::from(hi / w64 - (tot * c) as u64 / w64),
            _ => tot * cw / w - tot * c / w,
        };
        x.max(1)
    }

    /// From the point closest to `hash`, the first server clockwise with `load < slots`.
    #[inline]
    fn place(&self, hash: u64, tot: u128, load: impl Fn(usize) -> u64) -> usize {
        let start = self.ring.closest(hash);
        let mut i = start;
        for _ in 0..self.ring.len() {
            let s = self.ring.owner(i);
            if u128::from(load(s)) < self.slots(s, tot) {
                return s;
            }
            i += 1;
            if i == self.ring.len() {
                i = 0;
            }
        }
        // Unreachable: Σ slots ≥ m + 1 > Σ loads, so some server has room.
        self.ring.owner(start)
    }
}

impl Strategy for BoundedLoad {
    fn pick(&mut self, req: &RequestView, pool: &Pool, _: &mut StrategyRng) -> usize {
        let n = pool.in_flight_all();
        let served: u64 = n.iter().map(|&c| u64::from(c)).sum();
        self.place(req.hash, self.total_slots(served), |s| u64::from(n[s]))
    }

    fn assign_keys(&mut self, hashes: &[u64]) -> Option<Vec<u32>> {
        let tot = (hashes.len() as u128 * self.factor).div_ceil(100);
        let mut count = vec![0u64; self.weight.len()];
        Some(
            hashes
                .iter()
                .map(|&h| {
                    let s = self.place(h, tot, |s| count[s]);
                    count[s] += 1;
                    s as u32
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;
    use rand::RngExt;

    #[test]
    fn never_exceeds_the_bound_even_on_one_hot_key() {
        // Random arrivals and completions; 90% of requests carry the same key. After every
        // placement the chosen server holds at most ⌈factor/100 × m/S⌉, m the pool's
        // in-flight count including the new request.
        for factor in [100i64, 125, 200] {
            let n = 10;
            let servers = servers(&vec![1; n]);
            let mut pool = Pool::new(&servers);
            let p = Params::new([("balance_factor".to_string(), toml::Value::Integer(factor))].into_iter().collect());
            let mut s = (BOUNDED_LOAD_HASH.build)(&p, &servers).unwrap();
            let mut rng = rng();
            let mut max_seen = 0;
            for i in 0..200_000u64 {
                if rng.random_bool(0.52) {
                    let h = if rng.random_bool(0.9) { 42 } else { rng.random() };
                    let k = s.pick(&keyed(i, h), &pool, &mut rng);
                    pool.in_flight[k] += 1;
                    let m: u64 = pool.in_flight.iter().map(|&c| u64::from(c)).sum();
                    let bound = (m * factor as u64).div_ceil(100 * n as u64);
                    assert!(u64::from(pool.in_flight[k]) <= bound, "factor {factor}: {} > {bound}", pool.in_flight[k]);
                    max_seen = max_seen.max(pool.in_flight[k]);
                } else {
                    let busy: Vec<usize> = (0..n).filter(|&j| pool.in_flight[j] > 0).collect();
                    if !busy.is_empty() {
                        pool.in_flight[busy[rng.random_range(0..busy.len())]] -= 1;
                    }
                }
            }
            assert!(max_seen > 5, "the load built up ({max_seen})");
        }
    }

    #[test]
    fn keys_stay_home_while_there_is_room() {
        let servers = servers(&[1; 4]);
        let mut pool = Pool::new(&servers);
        let mut s = (BOUNDED_LOAD_HASH.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        let home = s.pick(&keyed(0, 7), &pool, &mut rng);
        pool.in_flight = vec![3; 4];
        // m + 1 = 13, ⌈13 × 1.25⌉ = 17 slots → 4 or 5 per server: room at 3.
        assert_eq!(s.pick(&keyed(1, 7), &pool, &mut rng), home);
        pool.in_flight[home] = 6;
        assert_ne!(s.pick(&keyed(2, 7), &pool, &mut rng), home);
    }

    #[test]
    fn static_assignment_respects_capacities() {
        let mut s = (BOUNDED_LOAD_HASH.build)(&Params::default(), &servers(&[1, 1, 2])).unwrap();
        let hashes: Vec<u64> = vec![5; 1000]; // one key, many copies: spread to capacity
        let a = s.assign_keys(&hashes).unwrap();
        let mut c = [0u32; 3];
        a.iter().for_each(|&k| c[k as usize] += 1);
        // 1250 slots: 312, 313, 625 (HAProxy's split).
        assert!(c[0] <= 313 && c[1] <= 313 && c[2] <= 625, "{c:?}");
    }
}
