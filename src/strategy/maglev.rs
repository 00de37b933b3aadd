//! Maglev hashing (Eisenbud et al., NSDI 2016), as Envoy's `MAGLEV` load balancer builds it.
//!
//! A lookup table of prime size M (default 65537, the paper's recommendation and Envoy's
//! default) is filled by letting the servers take turns: each walks its own permutation of
//! the table — `offset + j × skip (mod M)`, offset and skip hashed from its name — and
//! claims the next free entry. A key goes to `table[hash mod M]`: O(1). With equal weights
//! every server gets ⌊M/S⌋ or ⌈M/S⌉ entries; a pool change moves the keys of the removed
//! server and a few more (the paper trades a little disruption for perfect balance).
//!
//! Weights follow Envoy: servers are visited in a stable order (sorted by name), and in
//! round r a server of weight w takes a turn only if `r × w ≥ its target`, the target
//! growing by the largest weight at each turn — so a server takes turns in proportion to
//! its weight. lbsim computes this with exact integer weights.

use super::hashing::{KeyRouter, server_hash};
use super::registry::Split;
use super::{ParamError, ParamInfo, ParamType, ServerInfo, StrategyInfo};

/// `maglev`.
pub(super) const MAGLEV: StrategyInfo = StrategyInfo {
    name: "maglev",
    models: "Maglev (Eisenbud et al. 2016); Envoy `MAGLEV` (weighted table build)",
    summary: "prime-sized lookup table filled by server permutations: O(1), even, ~1/S moved on change",
    params: &[TABLE_SIZE],
    keyed: true,
    cooperative: false,
    oracle: false,
    split: |_| Split::Keyed,
    // The table (1, 2 or 4 bytes an entry: [`Table`]), and while filling it a bit per entry
    // and each server's permutation state.
    table_bytes: |params, servers| {
        let ParamType::Int { default, .. } = TABLE_SIZE.ty else { return 0 };
        let m = params.int_of(&TABLE_SIZE).unwrap_or(default);
        m * Table::entry_bytes(servers.len()) + m / 8 + servers.len() as u64 * 48
    },
    reads: |_, _| 1,
    build: |params, servers| {
        let m = params.int_of(&TABLE_SIZE)?;
        if !is_prime(m) {
            return Err(ParamError {
                param: TABLE_SIZE.name.into(),
                message: format!("must be a prime number (got {m}; the next prime is {})", next_prime(m)),
            });
        }
        if (m as usize) < servers.len() {
            return Err(ParamError {
                param: TABLE_SIZE.name.into(),
                message: format!("must be at least the number of servers ({}), got {m}", servers.len()),
            });
        }
        Ok(Box::new(Maglev { table: Table::build(servers, m) }))
    },
};

/// `table_size` of `maglev`.
const TABLE_SIZE: ParamInfo = ParamInfo {
    name: "table_size",
    help: "lookup table size M, a prime ≥ S (the paper suggests M > 100 × S), at most 16777259",
    ty: ParamType::Int { default: 65537, min: 2, max: 16_777_259 },
};

/// Whether `n` is prime (trial division; `n` ≤ 2^24 here).
pub(super) fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| !n.is_multiple_of(d))
}

fn next_prime(n: u64) -> u64 {
    (n + 1..).find(|&k| is_prime(k)).expect("primes are infinite")
}

/// Envoy `OriginalMaglevTable::constructImplementationInternals`, with integer weights:
/// `r × w_i < target_i` ⟺ Envoy's `iteration × w_i/W < target/W`. Calls `set(entry,
/// server)` once for each of the `m` entries; which entries are taken is kept as a bit each.
fn fill(servers: &[ServerInfo], m: u64, mut set: impl FnMut(usize, u32)) {
    struct Entry {
        server: u32,
        offset: u64,
        skip: u64,
        weight: u64,
        target: u64,
        next: u64,
    }
    let mut order: Vec<usize> = (0..servers.len()).collect();
    order.sort_by(|&a, &b| servers[a].name.cmp(&servers[b].name));
    let mut entries: Vec<Entry> = order
        .iter()
        .map(|&i| {
            let h = server_hash(&servers[i].name);
            Entry {
                server: i as u32,
                offset: crate::workload::seeds::mix64(h ^ 0x6d61_676c_6576_0001) % m,
                skip: crate::workload::seeds::mix64(h ^ 0x6d61_676c_6576_0002) % (m - 1) + 1,
                weight: u64::from(servers[i].weight),
                target: 0,
                next: 0,
            }
        })
        .collect();
    let max_weight = entries.iter().map(|e| e.weight).max().expect("servers");
    let mut taken = vec![0u64; (m as usize).div_ceil(64)];
    let is_taken = |taken: &[u64], c: u64| taken[(c / 64) as usize] >> (c % 64) & 1 == 1;
    let mut filled = 0;
    let mut round = 1u64;
    while filled < m {
        for e in entries.iter_mut() {
            if filled == m {
                break;
            }
            if round * e.weight < e.target {
                continue;
            }
            e.target += max_weight;
            let mut c = (e.offset + e.skip * e.next) % m;
            while is_taken(&taken, c) {
                e.next += 1;
                c = (e.offset + e.skip * e.next) % m;
            }
            taken[(c / 64) as usize] |= 1 << (c % 64);
            set(c as usize, e.server);
            e.next += 1;
            filled += 1;
        }
        round += 1;
    }
}

/// The lookup table: the server of each entry.
#[cfg(test)]
pub(crate) fn build_table(servers: &[ServerInfo], m: u64) -> Vec<u32> {
    let mut table = vec![0u32; m as usize];
    fill(servers, m, |c, s| table[c] = s);
    table
}

/// The lookup table, its entries as narrow as the pool allows (a byte each up to 256
/// servers, as a `[balancers] subset` gives every instance a table of its own: 300
/// instances' tables of 65537 entries hold 19 MiB instead of 75 MiB).
enum Table {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Table {
    /// Bytes of an entry over `servers` servers.
    fn entry_bytes(servers: usize) -> u64 {
        match servers {
            0..=256 => 1,
            257..=65536 => 2,
            _ => 4,
        }
    }

    fn build(servers: &[ServerInfo], m: u64) -> Table {
        let m_us = m as usize;
        match Self::entry_bytes(servers.len()) {
            1 => {
                let mut t = vec![0u8; m_us];
                fill(servers, m, |c, s| t[c] = s as u8);
                Table::U8(t)
            }
            2 => {
                let mut t = vec![0u16; m_us];
                fill(servers, m, |c, s| t[c] = s as u16);
                Table::U16(t)
            }
            _ => {
                let mut t = vec![0u32; m_us];
                fill(servers, m, |c, s| t[c] = s);
                Table::U32(t)
            }
        }
    }
}

struct Maglev {
    table: Table,
}

impl KeyRouter for Maglev {
    #[inline]
    fn route(&self, hash: u64) -> usize {
        match &self.table {
            Table::U8(t) => t[(hash % t.len() as u64) as usize] as usize,
            Table::U16(t) => t[(hash % t.len() as u64) as usize] as usize,
            Table::U32(t) => t[(hash % t.len() as u64) as usize] as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    fn counts(weights: &[u32], m: u64) -> Vec<u64> {
        let mut c = vec![0; weights.len()];
        for s in build_table(&servers(weights), m) {
            c[s as usize] += 1;
        }
        c
    }

    #[test]
    fn equal_weights_give_floor_or_ceil_of_m_over_s() {
        for (s, m) in [(7usize, 65537u64), (100, 65537), (3, 13), (1000, 65537)] {
            let c = counts(&vec![1; s], m);
            assert_eq!(c.iter().sum::<u64>(), m);
            let (lo, hi) = (m / s as u64, m.div_ceil(s as u64));
            assert!(c.iter().all(|&k| k == lo || k == hi), "S = {s}: {:?}", (c.iter().min(), c.iter().max()));
        }
    }

    #[test]
    fn weights_are_honoured() {
        // Server i takes its t-th turn in the first round r with r·w_i ≥ (t−1)·max_w, so
        // after R full rounds and a partial one it has R·w_i/max_w + δ_i turns with
        // 0 < δ_i ≤ 1 + w_i/max_w ≤ 2. Σ turns = M then gives
        // count_i − M·w_i/W = δ_i − (w_i/W)·Σδ_j ∈ (−2·S·w_i/W, 2].
        for weights in [vec![1u32, 2, 3], vec![5, 1, 1, 1, 2], vec![1, 100]] {
            let m = 65537;
            let c = counts(&weights, m);
            let w: u32 = weights.iter().sum();
            for (i, &k) in c.iter().enumerate() {
                let want = m as f64 * f64::from(weights[i]) / f64::from(w);
                let bound = 2.0 * (f64::from(weights[i]) / f64::from(w) * weights.len() as f64).max(1.0);
                assert!((k as f64 - want).abs() <= bound, "{weights:?}: server {i} has {k}, want {want:.1}");
            }
        }
    }

    #[test]
    fn narrow_tables_route_as_the_full_width_one() {
        // Each width (a byte to 256 servers, two to 65536, four beyond) holds the same entries.
        for (s, m) in [(3usize, 13u64), (256, 65537), (257, 65537), (65537, next_prime(65537))] {
            let pool = servers(&vec![1; s]);
            let full = build_table(&pool, m);
            let narrow = Maglev { table: Table::build(&pool, m) };
            assert!(full.iter().all(|&x| (x as usize) < s));
            for (c, &x) in full.iter().enumerate() {
                assert_eq!(narrow.route(c as u64), x as usize, "S = {s}, entry {c}");
            }
        }
    }

    #[test]
    fn table_size_must_be_prime_and_large_enough() {
        let p = |m: i64| Params::new([("table_size".to_string(), toml::Value::Integer(m))].into_iter().collect());
        let e = (MAGLEV.build)(&p(65536), &servers(&[1, 1])).err().unwrap();
        assert!(e.message.contains("next prime is 65537"), "{}", e.message);
        assert!((MAGLEV.build)(&p(3), &servers(&[1; 5])).is_err());
        assert!((MAGLEV.build)(&p(5), &servers(&[1; 5])).is_ok());
        assert!(is_prime(65537) && !is_prime(1) && !is_prime(65535));
    }
}
