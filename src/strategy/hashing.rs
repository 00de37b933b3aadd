//! Non-consistent hashing: nginx `hash $key` / HAProxy `hash-type map-based`, and nginx
//! `ip_hash`. Plus the helpers every hash-based strategy shares.
//!
//! Both map a key to a slot of the total weight — `slot = hash mod Σw` — and the slot to
//! the server whose cumulative-weight range holds it ([`WeightSlots`]). Changing the pool reshuffles nearly every
//! key, which is what `lbsim remap` shows next to the consistent schemes.
//!
//! - `hash` routes by the request key's 64-bit hash (nginx hashes the key string with
//!   CRC32, HAProxy with its `hash-type` function; lbsim's key hash stands for either).
//! - `ip-hash` is nginx `ip_hash` exactly: the key is the client's IPv4 address (lbsim
//!   takes the top 32 bits of the key hash), only its first three octets count —
//!   `h = 89; h = (h × 113 + octet) mod 6271` for each — so all clients of a /24 share a
//!   server, and there are only 6271 distinct hash values.
//!
//! nginx re-hashes up to 20 times when the chosen server is down or full and then falls
//! back to round robin; lbsim's servers are always up, so the first choice always stands.

use super::registry::Split;
use super::weights::WeightSlots;
use super::{Pool, RequestView, Strategy, StrategyInfo, StrategyRng};
use crate::workload::seeds::{hash_str, mix64};

/// `hash`.
pub(super) const HASH: StrategyInfo = StrategyInfo {
    name: "hash",
    models: "nginx `hash $key` (without `consistent`); HAProxy `hash-type map-based`",
    summary: "key hash modulo the total weight: even and sticky, but a pool change moves most keys",
    params: &[],
    keyed: true,
    cooperative: false,
    oracle: false,
    split: |_| Split::Keyed,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |_, servers| Ok(Box::new(ModuloHash { slots: WeightSlots::new(servers), ip: false })),
};

/// `ip-hash`.
pub(super) const IP_HASH: StrategyInfo = StrategyInfo {
    name: "ip-hash",
    models: "nginx `ip_hash` (first three octets of the IPv4 client address, weighted)",
    summary: "client /24 network hashed into 6271 values, modulo the total weight",
    params: &[],
    keyed: true,
    cooperative: false,
    oracle: false,
    split: |_| Split::Keyed,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |_, servers| Ok(Box::new(ModuloHash { slots: WeightSlots::new(servers), ip: true })),
};

/// A strategy that routes by the request's key hash alone, never reading the pool: the
/// hash-based strategies. Implementing it makes a [`Strategy`] whose `pick` routes the
/// request's hash and whose `assign_keys` (for `lbsim remap`) routes each hash the same way.
pub(crate) trait KeyRouter: Send {
    /// The server that requests with key hash `hash` go to.
    fn route(&self, hash: u64) -> usize;
}

impl<R: KeyRouter> Strategy for R {
    #[inline]
    fn pick(&mut self, req: &RequestView, _: &Pool, _: &mut StrategyRng) -> usize {
        self.route(req.hash)
    }

    fn assign_keys(&mut self, hashes: &[u64]) -> Option<Vec<u32>> {
        Some(hashes.iter().map(|&h| self.route(h) as u32).collect())
    }
}

/// The stable 64-bit identity of a server, from its name (what real balancers hash:
/// the address or the name).
#[inline]
pub(crate) fn server_hash(name: &str) -> u64 {
    mix64(hash_str(name))
}

/// nginx `ip_hash`: 89, then `(h × 113 + octet) mod 6271` over the first three octets.
#[inline]
pub(crate) fn nginx_ip_hash(address: u32) -> u64 {
    let [a, b, c, _] = address.to_be_bytes();
    [a, b, c].iter().fold(89u64, |h, &o| (h * 113 + u64::from(o)) % 6271)
}

struct ModuloHash {
    slots: WeightSlots,
    ip: bool,
}

impl KeyRouter for ModuloHash {
    #[inline]
    fn route(&self, hash: u64) -> usize {
        let h = if self.ip { nginx_ip_hash((hash >> 32) as u32) } else { hash };
        self.slots.owner(h % self.slots.total())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    #[test]
    fn same_key_same_server_and_weights_honoured() {
        let servers = servers(&[1, 3]);
        let pool = Pool::new(&servers);
        let mut s = (HASH.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        let mut counts = [0u32; 2];
        let n = 40_000;
        for k in 0..n {
            let h = mix64(k);
            let a = s.pick(&keyed(k, h), &pool, &mut rng);
            assert_eq!(a, s.pick(&keyed(k + 1, h), &pool, &mut rng));
            counts[a] += 1;
        }
        let sd = (f64::from(n as u32) * 0.25 * 0.75).sqrt();
        assert!((f64::from(counts[1]) - 0.75 * n as f64).abs() < 5.0 * sd, "{counts:?}");
    }

    #[test]
    fn ip_hash_uses_the_first_three_octets() {
        // 10.1.2.3 and 10.1.2.250 share a /24: same value; the nginx formula by hand.
        let a = u32::from_be_bytes([10, 1, 2, 3]);
        let b = u32::from_be_bytes([10, 1, 2, 250]);
        assert_eq!(nginx_ip_hash(a), nginx_ip_hash(b));
        let by_hand = ((((89 * 113 + 10) % 6271) * 113 + 1) % 6271 * 113 + 2) % 6271;
        assert_eq!(nginx_ip_hash(a), by_hand);
        assert!((0..100_000u32).all(|i| nginx_ip_hash(i.wrapping_mul(2_654_435_761)) < 6271));
    }
}
