//! Random choice: uniform, weighted, and HAProxy's draw on its consistent-hash ring.
//!
//! HAProxy's `balance random` does not draw a server uniformly: it draws a 32-bit number
//! and takes the server whose point on the backend's consistent-hash ring is closest
//! (`get_server_rnd` → `chash_get_server_hash` in HAProxy 2.6). The ring
//! (`chash_init_server_tree`, lb_chash.c) holds 16 points per unit of weight
//! (`BE_WEIGHT_SCALE`) for each server, point `j` of the server with id `p` at
//! `full_hash(p × 4096 + j)` (4096 = `SRV_EWGHT_RANGE`, `full_hash` Bob Jenkins' 32-bit
//! integer hash followed by a multiplication by 3221225473). With so few points the arcs
//! are uneven: with 4 equal servers (ids 1–4) the shares are about 29/18/24/28%, not 25%
//! each. `variant = "haproxy"` reproduces that ring exactly, so the bias comes out as
//! HAProxy's does; `random` without it is uniform.

use rand::RngExt;

use super::kube_proxy::{IptablesChain, NftNumgen};
use super::registry::Split;
use super::weights::WeightSlots;
use super::{ParamError, ParamInfo, ParamType, Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// `random`: uniform over servers, or HAProxy's ring draw.
pub(super) const RANDOM: StrategyInfo = StrategyInfo {
    name: "random",
    models: "nginx `random` with equal weights; HAProxy `balance random(1)` with variant = \"haproxy\" \
             (its consistent-hash ring, 16 points per weight); Caddy 2.6 `lb_policy random` (its default); kube-proxy's \
             iptables (`statistic random` chain) and nftables (`numgen random`) modes with variant = \"iptables\" or \
             \"nftables\"",
    summary: "a uniformly random server (with Poisson arrivals each an independent M/G/1); variant \"haproxy\": \
              HAProxy's uneven ring draw",
    params: &[VARIANT],
    keyed: false,
    cooperative: false,
    oracle: false,
    // HAProxy's draw follows its ring (its shares: `haproxy_random_shares`).
    split: |params| if params.choice_of(&VARIANT) == Ok("haproxy") { Split::Ring } else { Split::Even },
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |params, servers| {
        Ok(match params.choice_of(&VARIANT)? {
            "haproxy" => Box::new(HaproxyRandom { ring: HaproxyRing::new(servers, "variant")? }),
            "iptables" => Box::new(IptablesChain::new(servers.len())),
            "nftables" => Box::new(NftNumgen { n: servers.len() as u32 }),
            _ => Box::new(Random { n: servers.len() as u32 }),
        })
    },
};

/// `variant` of `random`.
const VARIANT: ParamInfo = ParamInfo {
    name: "variant",
    help: "\"uniform\": every server equally likely, ignoring weights; \"haproxy\": HAProxy's draw, the \
           server closest to a random point of its consistent-hash ring (weighted, and uneven with few servers); \
           \"iptables\": kube-proxy's chain of rules matching with probability 1/n, 1/(n-1), ... (31-bit draws); \
           \"nftables\": kube-proxy's numgen random mod n",
    ty: ParamType::Choice { default: "uniform", allowed: &["uniform", "haproxy", "iptables", "nftables"] },
};

/// `weighted-random`: probability proportional to weight.
pub(super) const WEIGHTED_RANDOM: StrategyInfo = StrategyInfo {
    name: "weighted-random",
    models: "nginx `random` (weighted)",
    summary: "a random server with probability proportional to its weight",
    params: &[],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Weighted,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |_, servers| Ok(Box::new(WeightedRandom { slots: WeightSlots::new(servers) })),
};

struct Random {
    n: u32,
}

impl Strategy for Random {
    #[inline]
    fn pick(&mut self, _: &RequestView, _: &Pool, rng: &mut StrategyRng) -> usize {
        rng.random_range(0..self.n) as usize
    }
}

/// A weighted draw of a server, as nginx's `ngx_http_upstream_peek_random_peer`.
struct WeightedRandom {
    slots: WeightSlots,
}

impl Strategy for WeightedRandom {
    #[inline]
    fn pick(&mut self, _: &RequestView, _: &Pool, rng: &mut StrategyRng) -> usize {
        self.slots.draw(rng)
    }
}

/// Points per unit of weight on HAProxy's ring (`BE_WEIGHT_SCALE`).
const HAPROXY_POINTS_PER_WEIGHT: u64 = 16;

/// The key range of one server's points (`SRV_EWGHT_RANGE` = 256 × 16).
const HAPROXY_KEY_RANGE: u32 = 4096;

/// Largest HAProxy ring built (Σ 16 × weight points).
const HAPROXY_MAX_POINTS: u64 = 1 << 22;

/// HAProxy's 32-bit integer hash for ring points (`full_hash` in HAProxy's intops.h): Bob
/// Jenkins' six-step integer avalanche, then a multiplication by the prime 3221225473
/// (about ¾ of 2³²) to spread the results over the ring.
#[inline]
pub(super) fn haproxy_full_hash(a: u32) -> u32 {
    let a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    let a = (a ^ 0xc761_c23c) ^ (a >> 19);
    let a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    let a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    let a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    let a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    a.wrapping_mul(3_221_225_473)
}

/// HAProxy's consistent-hash tree of a backend, as `balance random` reads it.
#[derive(Debug, Clone)]
pub(super) struct HaproxyRing {
    /// The points, sorted (ties in insertion order: server order, then point order).
    keys: Vec<u32>,
    /// The server (position in the strategy's pool) of each point.
    owners: Vec<u32>,
    /// Each server's effective weight (HAProxy `cur_eweight`, 16 × weight).
    eweight: Vec<u64>,
}

impl HaproxyRing {
    /// The ring of `servers`: 16 × weight points each, hashed from the server's id
    /// ([`ServerInfo::id`], HAProxy's `puid`), so that a server keeps its points when the
    /// ring is rebuilt over a subset. `param` names the parameter in errors.
    pub(super) fn new(servers: &[ServerInfo], param: &str) -> Result<Self, ParamError> {
        let total: u64 = servers.iter().map(|s| HAPROXY_POINTS_PER_WEIGHT * u64::from(s.weight)).sum();
        if total > HAPROXY_MAX_POINTS {
            return Err(ParamError {
                param: param.to_string(),
                message: format!(
                    "HAProxy's ring would hold {total} points (16 per unit of weight); at most {HAPROXY_MAX_POINTS}: \
                     lower the weights (HAProxy's own maximum is 256)"
                ),
            });
        }
        let mut points: Vec<(u32, u32)> = Vec::with_capacity(total as usize);
        for (i, s) in servers.iter().enumerate() {
            let base = s.id.wrapping_mul(HAPROXY_KEY_RANGE);
            for j in 0..HAPROXY_POINTS_PER_WEIGHT * u64::from(s.weight) {
                points.push((haproxy_full_hash(base.wrapping_add(j as u32)), i as u32));
            }
        }
        // Stable: equal keys keep their insertion order, as in HAProxy's tree.
        points.sort_by_key(|p| p.0);
        Ok(HaproxyRing {
            keys: points.iter().map(|p| p.0).collect(),
            owners: points.iter().map(|p| p.1).collect(),
            eweight: servers.iter().map(|s| HAPROXY_POINTS_PER_WEIGHT * u64::from(s.weight)).collect(),
        })
    }

    /// The server whose point is closest to `hash`, on either side; the point before it on
    /// a tie (HAProxy `chash_get_server_hash`: `dp <= dn` takes the previous one).
    #[inline]
    pub(super) fn lookup(&self, hash: u32) -> usize {
        let n = self.keys.len();
        let mut next = self.keys.partition_point(|&k| k < hash);
        if next == n {
            next = 0;
        }
        let prev = if next == 0 { n - 1 } else { next - 1 };
        let dp = hash.wrapping_sub(self.keys[prev]);
        let dn = self.keys[next].wrapping_sub(hash);
        self.owners[if dp <= dn { prev } else { next }] as usize
    }

    /// Effective weight of server `s` (`cur_eweight`).
    #[inline]
    pub(super) fn eweight(&self, s: usize) -> u64 {
        self.eweight[s]
    }

    /// Each server's exact share of the 2³² draws, from the ring alone: for every arc
    /// between consecutive points, the hashes at most half-way (ties to the earlier point)
    /// go to the earlier point's server.
    pub(super) fn shares(&self) -> Vec<f64> {
        let n = self.keys.len();
        let mut counts = vec![0u64; self.eweight.len()];
        for i in 0..n {
            let (a, b) = (self.keys[i], self.keys[(i + 1) % n]);
            // Hashes h with a < h ≤ b (going round); `lookup` takes a when h − a ≤ b − h.
            let arc = if n == 1 { 1u64 << 32 } else { u64::from(b.wrapping_sub(a)) };
            if arc == 0 {
                continue;
            }
            let to_a = arc / 2; // h − a from 1 to ⌊arc/2⌋
            counts[self.owners[i] as usize] += to_a;
            counts[self.owners[(i + 1) % n] as usize] += arc - to_a;
        }
        counts.iter().map(|&c| c as f64 / 2f64.powi(32)).collect()
    }
}

/// Each server's share of HAProxy `balance random(1)`'s picks, computed exactly from its
/// consistent-hash ring (16 points per unit of weight, hashed from the server ids): what a
/// run of `random` with `variant = "haproxy"` converges to.
pub fn haproxy_random_shares(servers: &[ServerInfo]) -> Vec<f64> {
    HaproxyRing::new(servers, "variant").map_or_else(|_| Vec::new(), |r| r.shares())
}

/// HAProxy `balance random(1)`: one draw on the ring.
struct HaproxyRandom {
    ring: HaproxyRing,
}

impl Strategy for HaproxyRandom {
    #[inline]
    fn pick(&mut self, _: &RequestView, _: &Pool, rng: &mut StrategyRng) -> usize {
        self.ring.lookup(rng.random::<u32>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    fn haproxy() -> Params {
        Params::new([("variant".to_string(), toml::Value::String("haproxy".into()))].into_iter().collect())
    }

    #[test]
    fn haproxy_hash_values() {
        // The same function evaluated independently (Python, 32-bit unsigned arithmetic).
        let got: Vec<u32> = [0, 1, 4096, 4097].into_iter().map(haproxy_full_hash).collect();
        assert_eq!(got, vec![0xab4e_d927, 0x3486_81b6, 0x49c2_008b, 0xa497_2c87]);
    }

    #[test]
    fn haproxy_ring_shares_are_uneven_and_sum_to_one() {
        // 4 equal servers: HAProxy's own ring (16 points each) gives 28.9/18.5/24.3/28.3%.
        let ring = HaproxyRing::new(&servers(&[1, 1, 1, 1]), "variant").unwrap();
        let shares = ring.shares();
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let pct: Vec<f64> = shares.iter().map(|s| (s * 1000.0).round() / 10.0).collect();
        assert_eq!(pct, vec![28.9, 18.5, 24.3, 28.3]);
    }

    #[test]
    fn haproxy_draws_follow_the_ring_shares() {
        // Per-server counts of n draws are binomial(n, share): within 5 standard deviations.
        let servers = servers(&[1, 1, 1, 1]);
        let pool = Pool::new(&servers);
        let want = HaproxyRing::new(&servers, "variant").unwrap().shares();
        let mut s = (RANDOM.build)(&haproxy(), &servers).unwrap();
        let mut rng = rng();
        let n = 400_000;
        let mut counts = [0u32; 4];
        for i in 0..n {
            counts[s.pick(&req(i), &pool, &mut rng)] += 1;
        }
        for (c, p) in counts.iter().zip(&want) {
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!((f64::from(*c) - n as f64 * p).abs() < 5.0 * sd, "{counts:?} vs {want:?}");
        }
    }

    #[test]
    fn haproxy_ring_keeps_a_servers_points_over_a_subset() {
        // Server ids, not positions, place the points: without server 1 the others keep theirs.
        let all = servers(&[1, 1, 1, 1]);
        let full = HaproxyRing::new(&all, "variant").unwrap();
        let sub = HaproxyRing::new(&all[1..], "variant").unwrap();
        let mut a: Vec<u32> = full.keys.iter().zip(&full.owners).filter(|(_, o)| **o != 0).map(|(k, _)| *k).collect();
        let b = sub.keys.clone();
        a.sort_unstable();
        assert_eq!(a, b);
    }

    #[test]
    fn weighted_frequencies_follow_weights() {
        let servers = servers(&[1, 3, 6]);
        let pool = Pool::new(&servers);
        let mut s = (WEIGHTED_RANDOM.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        let n = 100_000;
        let mut counts = [0u32; 3];
        for i in 0..n {
            counts[s.pick(&req(i), &pool, &mut rng)] += 1;
        }
        for (c, p) in counts.iter().zip([0.1, 0.3, 0.6]) {
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!((f64::from(*c) - n as f64 * p).abs() < 5.0 * sd, "{counts:?}");
        }
    }
}
