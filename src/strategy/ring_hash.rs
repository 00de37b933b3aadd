//! Ketama consistent hashing: nginx `hash $key consistent`, Envoy `RING_HASH`.
//!
//! Every server is placed on a 64-bit ring at `vnodes × weight` pseudo-random points
//! derived from its name (nginx: 160 points per unit of weight, as Cache::Memcached's
//! ketama); a key goes to the first point at or after its hash, wrapping around. Removing a
//! server moves only the keys it held; adding one moves only keys to it — about 1/S of them
//! either way. With V points per server a server's share of the keys has a relative
//! standard deviation of about 1/√V, which is the price of consistency.
//!
//! Lookup is a binary search over the sorted points: O(log(V·S)). Points are 64-bit (nginx
//! uses 32-bit CRC32 points; the wider ring only removes collisions).

use super::hashing::{KeyRouter, server_hash};
use super::registry::Split;
use super::{ParamError, ParamInfo, ParamType, Params, ServerInfo, StrategyInfo};

/// `ring-hash`.
pub(super) const RING_HASH: StrategyInfo = StrategyInfo {
    name: "ring-hash",
    models: "nginx `hash $key consistent` (ketama, 160 points per weight); Envoy `RING_HASH`",
    summary: "consistent hashing on a ring of virtual nodes: a pool change moves ~1/S of the keys",
    params: &[VNODES],
    keyed: true,
    cooperative: false,
    oracle: false,
    split: |_| Split::Keyed,
    table_bytes: |params, servers| ring_bytes(params, &VNODES, servers),
    reads: |_, _| 1,
    build: |params, servers| {
        let v = params.int_of(&VNODES)?;
        Ok(Box::new(RingHash { ring: Ring::new(servers, v, VNODES.name)? }))
    },
};

/// `vnodes` of `ring-hash`.
const VNODES: ParamInfo = ParamInfo {
    name: "vnodes",
    help: "ring points per unit of weight, 1..=10000 (the ring holds at most 4194304 points)",
    ty: ParamType::Int { default: 160, min: 1, max: 10_000 },
};

/// Bytes of the ring of `vnodes` points per unit of weight over `servers` at its peak: the
/// sorted (point, owner) pairs while building, then the points and owners, 28 bytes a point.
pub(super) fn ring_bytes(params: &Params, vnodes: &ParamInfo, servers: &[ServerInfo]) -> u64 {
    let ParamType::Int { default, .. } = vnodes.ty else { return 0 };
    let weight: u64 = servers.iter().map(|s| u64::from(s.weight)).sum();
    let per = params.int_of(vnodes).unwrap_or(default);
    (per * weight).min(MAX_RING_POINTS) * 28
}

/// Largest ring built (4 Mi points: 48 MiB).
pub(super) const MAX_RING_POINTS: u64 = 1 << 22;

/// A sorted ring of server points.
#[derive(Debug, Clone)]
pub(crate) struct Ring {
    points: Vec<u64>,
    owners: Vec<u32>,
}

impl Ring {
    /// `per_weight × weight` points per server; `param` names the parameter in errors.
    pub(crate) fn new(servers: &[ServerInfo], per_weight: u64, param: &str) -> Result<Self, ParamError> {
        let total: u64 = servers.iter().map(|s| per_weight * u64::from(s.weight)).sum();
        if total > MAX_RING_POINTS {
            return Err(ParamError {
                param: param.to_string(),
                message: format!(
                    "would put {total} points on the ring (Σ weight × {per_weight}); at most {MAX_RING_POINTS}: \
                     lower it or the weights"
                ),
            });
        }
        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(total as usize);
        for (i, s) in servers.iter().enumerate() {
            let base = server_hash(&s.name);
            for j in 0..per_weight * u64::from(s.weight) {
                // The SplitMix64 sequence seeded by the server's name.
                let p = crate::workload::seeds::mix64(base.wrapping_add(j.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
                pairs.push((p, i as u32));
            }
        }
        pairs.sort_unstable();
        Ok(Ring { points: pairs.iter().map(|p| p.0).collect(), owners: pairs.iter().map(|p| p.1).collect() })
    }

    /// Number of points.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.points.len()
    }

    /// Index of the first point at or after `hash`, wrapping (ketama).
    #[inline]
    pub(crate) fn successor(&self, hash: u64) -> usize {
        let i = self.points.partition_point(|&p| p < hash);
        if i == self.points.len() { 0 } else { i }
    }

    /// Index of the point closest to `hash` on either side, the earlier on a tie (HAProxy
    /// `chash_get_server_hash`).
    #[inline]
    pub(crate) fn closest(&self, hash: u64) -> usize {
        let next = self.successor(hash);
        let prev = if next == 0 { self.points.len() - 1 } else { next - 1 };
        let dn = self.points[next].wrapping_sub(hash);
        let dp = hash.wrapping_sub(self.points[prev]);
        if dp <= dn { prev } else { next }
    }

    /// Owner of point `i`.
    #[inline]
    pub(crate) fn owner(&self, i: usize) -> usize {
        self.owners[i] as usize
    }
}

struct RingHash {
    ring: Ring,
}

impl KeyRouter for RingHash {
    #[inline]
    fn route(&self, hash: u64) -> usize {
        self.ring.owner(self.ring.successor(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;
    use crate::workload::seeds::mix64;

    fn shares(vnodes: i64, n: usize, keys: u64) -> Vec<f64> {
        let servers = servers(&vec![1; n]);
        let p = Params::new([("vnodes".to_string(), toml::Value::Integer(vnodes))].into_iter().collect());
        let mut s = (RING_HASH.build)(&p, &servers).unwrap();
        let hashes: Vec<u64> = (0..keys).map(mix64).collect();
        let mut c = vec![0.0; n];
        for k in s.assign_keys(&hashes).unwrap() {
            c[k as usize] += 1.0 / keys as f64;
        }
        c
    }

    fn rel_sd(x: &[f64]) -> f64 {
        crate::stats::evenness::cv(x)
    }

    /// Standard errors allowed between a measured spread and its model. The run is
    /// deterministic (fixed key hashes and server names), so this is not a flakiness
    /// budget: it says how closely the model must describe this one draw — a two-sided
    /// 4σ band, which a correct model misses with probability 6 × 10⁻⁵ per check.
    const Z: f64 = 4.0;

    /// Excess kurtosis of a Beta(a, b) variable.
    fn beta_excess_kurtosis(a: f64, b: f64) -> f64 {
        let (s, p) = (a + b, a * b);
        6.0 * ((a - b).powi(2) * (s + 1.0) - p * (s + 2.0)) / (p * (s + 2.0) * (s + 3.0))
    }

    #[test]
    fn spread_shrinks_with_more_virtual_nodes() {
        // With S·V uniform points a server's share of the ring is Beta(V, (S−1)V): relative
        // variance (S−1)/(S·V+1) ≈ 1/V; counting `keys` keys adds (S−1)/keys (multinomial,
        // near normal). The CV over the S servers (their mean is exactly 1/S) estimates √
        // of the sum; by the delta method its relative standard error is √((κ−1)/(4S)),
        // κ the shares' kurtosis: 3 plus the Beta's excess kurtosis (≈ 6/V), diluted by
        // the counting noise.
        let (n, keys) = (64, 1_000_000);
        let s = n as f64;
        let cvs: Vec<f64> = [4, 40, 400].iter().map(|&v| rel_sd(&shares(v, n, keys))).collect();
        for (cv, v) in cvs.iter().zip([4.0f64, 40.0, 400.0]) {
            let ring = (s - 1.0) / (s * v + 1.0);
            let counting = (s - 1.0) / keys as f64;
            let expect = (ring + counting).sqrt();
            let excess = beta_excess_kurtosis(v, (s - 1.0) * v) * (ring / (ring + counting)).powi(2);
            let se = ((excess + 2.0) / (4.0 * s)).sqrt();
            let z = (cv / expect - 1.0) / se;
            assert!(z.abs() < Z, "V = {v}: cv {cv}, expected {expect} ± {}: z = {z:.2}", expect * se);
        }
        assert!(cvs[0] > cvs[1] && cvs[1] > cvs[2], "{cvs:?}");
    }

    #[test]
    fn closest_and_successor() {
        let r = Ring { points: vec![10, 20, 100], owners: vec![0, 1, 2] };
        assert_eq!(r.successor(15), 1);
        assert_eq!(r.successor(101), 0); // wraps
        assert_eq!(r.closest(14), 0);
        assert_eq!(r.closest(15), 0); // tie → the earlier
        assert_eq!(r.closest(16), 1);
        assert_eq!(r.closest(u64::MAX), 0); // 10 is closer across the wrap than 100
    }

    #[test]
    fn too_many_points_is_a_parameter_error() {
        let servers = servers(&[1_000; 8]);
        let p = Params::new([("vnodes".to_string(), toml::Value::Integer(1000))].into_iter().collect());
        let e = (RING_HASH.build)(&p, &servers).err().unwrap();
        assert_eq!(e.param, "vnodes");
    }
}
