//! Rendezvous (highest random weight) hashing, weighted (Thaler & Ravishankar 1998;
//! weighted by the logarithmic method of Schindelhauer & Schomaker, as in Ceph's straw2).
//!
//! Every (key, server) pair gets a pseudo-random number u ∈ (0, 1); the key goes to the
//! server with the largest `−w / ln u` (equal weights: simply the largest u). A server's
//! share of the keys is exactly proportional to its weight in expectation, and a pool
//! change moves only the keys whose winner changed: the removed server's keys, or the keys
//! the new server now wins — the ideal 1/S. The price is O(S) per lookup (every server is
//! scored); no table or ring to build.

use super::hashing::{KeyRouter, server_hash};
use super::registry::Split;
use super::{ServerInfo, StrategyInfo};
use crate::workload::seeds::mix64;

/// `rendezvous`.
pub(super) const RENDEZVOUS: StrategyInfo = StrategyInfo {
    name: "rendezvous",
    models: "rendezvous / highest-random-weight hashing, weighted (logarithmic method, as Ceph straw2)",
    summary: "each key to the server with the highest weighted hash score: minimal disruption, O(S) per request",
    params: &[],
    keyed: true,
    cooperative: false,
    oracle: false,
    split: |_| Split::Keyed,
    table_bytes: |_, _| 0,
    // Each pick hashes the key with every server.
    reads: |_, servers| servers,
    build: |_, servers| Ok(Box::new(Rendezvous::new(servers))),
};

struct Rendezvous {
    ids: Vec<u64>,
    /// 1 / weight, or empty when all weights are equal.
    inv_weight: Vec<f64>,
}

impl Rendezvous {
    fn new(servers: &[ServerInfo]) -> Self {
        let equal = servers.iter().all(|s| s.weight == servers[0].weight);
        Rendezvous {
            ids: servers.iter().map(|s| server_hash(&s.name)).collect(),
            inv_weight: if equal { Vec::new() } else { servers.iter().map(|s| 1.0 / f64::from(s.weight)).collect() },
        }
    }
}

impl KeyRouter for Rendezvous {
    #[inline]
    fn route(&self, hash: u64) -> usize {
        if self.inv_weight.is_empty() {
            let mut best = 0;
            let mut best_score = 0;
            for (i, &id) in self.ids.iter().enumerate() {
                let score = mix64(hash ^ id);
                if score > best_score || i == 0 {
                    best = i;
                    best_score = score;
                }
            }
            return best;
        }
        // Smallest −ln(u)/w ⟺ largest −w/ln(u).
        let mut best = 0;
        let mut best_score = f64::INFINITY;
        for (i, &id) in self.ids.iter().enumerate() {
            let u = ((mix64(hash ^ id) >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64);
            let score = -u.ln() * self.inv_weight[i];
            if score < best_score {
                best = i;
                best_score = score;
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
    fn weighted_shares_follow_weights() {
        let weights = [1u32, 2, 5];
        let mut s = (RENDEZVOUS.build)(&Params::default(), &servers(&weights)).unwrap();
        let n = 80_000u64;
        let hashes: Vec<u64> = (0..n).map(mix64).collect();
        let mut c = [0f64; 3];
        for k in s.assign_keys(&hashes).unwrap() {
            c[k as usize] += 1.0;
        }
        for (i, &w) in weights.iter().enumerate() {
            let p = f64::from(w) / 8.0;
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!((c[i] - n as f64 * p).abs() < 5.0 * sd, "{c:?}");
        }
    }
}
