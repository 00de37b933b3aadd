//! Requests per key, to report the hottest key's share of the traffic.
//!
//! Exact counts are kept for key ids below [`MAX_COUNTED_KEYS`] (4 MiB of `u32` per
//! simulation at most), so memory never grows with the number of requests:
//!
//! - a key space of at most that many keys is counted exactly;
//! - in a larger Zipf key space key ids are popularity ranks, and a key of rank beyond
//!   2²⁰ is requested at most 2^(−20·s) times as often as the hottest, so the hottest key is
//!   always among the counted ones;
//! - in a larger uniform key space the result is the hottest among the first 2²⁰ keys, a
//!   slight underestimate of a share that is tiny anyway;
//! - without `[keys]` every request has its own key: the hottest key has 1 request.

use crate::workload::keys::KeySpace;

/// Key ids below this are counted exactly.
pub const MAX_COUNTED_KEYS: u64 = 1 << 20;

/// Counts measured requests per key.
#[derive(Debug, Clone)]
pub enum KeyCounter {
    /// Every request has a key of its own (no `[keys]`).
    Unique,
    /// Counts of key ids `0..counts.len()`.
    Counted {
        /// Requests per key id (saturating).
        counts: Vec<u32>,
    },
}

impl KeyCounter {
    /// A counter for the scenario's key space.
    pub fn new(keys: Option<&KeySpace>) -> Self {
        match keys {
            None => KeyCounter::Unique,
            Some(k) => KeyCounter::Counted { counts: vec![0; k.count.min(MAX_COUNTED_KEYS) as usize] },
        }
    }

    /// Records a measured request with key id `key`.
    #[inline]
    pub fn record(&mut self, key: u64) {
        if let KeyCounter::Counted { counts } = self
            && let Some(c) = counts.get_mut(key as usize)
        {
            *c = c.saturating_add(1);
        }
    }

    /// Requests of the most requested key, given `measured` requests in all.
    pub fn hottest(&self, measured: u64) -> u64 {
        match self {
            KeyCounter::Unique => u64::from(measured > 0),
            KeyCounter::Counted { counts } => counts.iter().copied().max().map_or(0, u64::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::keys::KeyPopularity;

    #[test]
    fn counts_and_bounds() {
        let space = KeySpace { count: 5, popularity: KeyPopularity::Uniform };
        let mut c = KeyCounter::new(Some(&space));
        for k in [0, 3, 3, 4, 3] {
            c.record(k);
        }
        assert_eq!(c.hottest(5), 3);
        assert_eq!(KeyCounter::new(None).hottest(10), 1);
        assert_eq!(KeyCounter::new(None).hottest(0), 0);
        let big = KeySpace { count: u64::MAX / 2, popularity: KeyPopularity::Uniform };
        let mut b = KeyCounter::new(Some(&big));
        b.record(u64::MAX / 3);
        assert_eq!(b.hottest(1), 0);
    }
}
