//! Derivation of independent seeds from the scenario seed.
//!
//! Every random stream (arrivals, service demands, request keys, each strategy's own draws) is seeded
//! from `(scenario seed, replication, stream tag)` through SplitMix64, so that adding a
//! strategy or reordering the list changes no other stream.

/// SplitMix64 finaliser: a bijective mix of 64 bits.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a hash of a string, stable across platforms and versions.
pub fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3))
}

/// The seed of one point of a sweep or one candidate of a plan: derived from the scenario
/// seed and the point's values (`point`: canonical `key=value` pairs joined by `;`), never
/// from its position, so a point's results do not depend on which other points ran.
pub fn point_seed(seed: u64, point: &str) -> u64 {
    mix64(mix64(seed) ^ hash_str(&format!("point/{point}")))
}

/// The seeds of one replication.
#[derive(Debug, Clone, Copy)]
pub struct Seeds {
    base: u64,
}

impl Seeds {
    /// Seeds for replication `replication` of a scenario with seed `seed`.
    pub fn new(seed: u64, replication: u32) -> Self {
        Seeds { base: mix64(mix64(seed) ^ u64::from(replication).wrapping_mul(0xA24B_AED4_963E_E407)) }
    }

    /// Seed of the stream tagged `tag`.
    pub fn stream(&self, tag: &str) -> u64 {
        mix64(self.base ^ hash_str(tag))
    }

    /// Seed of the arrival-time stream.
    pub fn arrivals(&self) -> u64 {
        self.stream("arrivals")
    }

    /// Seed of the service-demand stream.
    pub fn service(&self) -> u64 {
        self.stream("service")
    }

    /// Seed of the request-key stream (which key each request carries).
    pub fn keys(&self) -> u64 {
        self.stream("keys")
    }

    /// Salt of the key-id → key-hash mapping: the same for every strategy of a
    /// replication, different across replications (see [`super::keys`]).
    pub fn key_hash(&self) -> u64 {
        self.stream("key-hash")
    }

    /// Seed of a strategy's own stream, keyed by its label.
    pub fn strategy(&self, label: &str) -> u64 {
        self.stream(&format!("strategy/{label}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ() {
        let s = Seeds::new(42, 0);
        assert_ne!(s.arrivals(), s.service());
        assert_ne!(s.keys(), s.arrivals());
        assert_ne!(s.keys(), s.key_hash());
        assert_ne!(Seeds::new(42, 1).arrivals(), s.arrivals());
        assert_ne!(s.strategy("random"), s.strategy("p2c"));
        assert_eq!(Seeds::new(42, 0).strategy("random"), s.strategy("random"));
        assert_ne!(point_seed(42, "arrivals.rate=100"), point_seed(42, "arrivals.rate=200"));
        assert_ne!(point_seed(42, "arrivals.rate=100"), point_seed(43, "arrivals.rate=100"));
        assert_eq!(point_seed(42, "arrivals.rate=100"), point_seed(42, "arrivals.rate=100"));
    }
}
