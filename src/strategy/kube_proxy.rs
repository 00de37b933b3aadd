//! kube-proxy's random choices of an endpoint, draw for draw: `random` with `variant =
//! "iptables"` or `"nftables"`.
//!
//! **iptables mode** (`pkg/proxy/iptables/proxier.go`): a Service's chain holds one rule per
//! endpoint; rule `i` of `n` matches with probability `1/(n − i)` (`-m statistic --mode
//! random --probability p`, `p` written by `computeProbability` as `%0.10f`) and the last
//! rule always matches. iptables stores `p` as `lround(0x80000000 × p)`
//! (`libxt_statistic.c`) and the kernel matches when `(get_random_u32() & 0x7FFFFFFF)` is
//! below it (`xt_statistic.c`): one 31-bit draw per rule tried, until one matches.
//!
//! **nftables mode** (`pkg/proxy/nftables/proxier.go`): `numgen random mod n vmap { … }`;
//! the kernel's `nft_ng_random_gen` takes `reciprocal_scale(get_random_u32(), n)`, i.e.
//! `(r × n) >> 32` of one 32-bit draw.
//!
//! Both are uniform to within 2⁻³¹ per endpoint; what the exact draws add is the number of
//! random numbers each choice consumes, and the rounding of the probabilities. Endpoints are
//! taken in the scenario's server order (kube-proxy sorts them by address). Each node's
//! kube-proxy draws on its own: give the scenario `[balancers] count` nodes.

use rand::Rng;

use super::{Pool, RequestView, Strategy, StrategyRng};

/// The iptables chain: thresholds of the first `n − 1` rules.
pub(super) struct IptablesChain {
    thresholds: Vec<u32>,
}

impl IptablesChain {
    /// The chain over `n` endpoints.
    pub(super) fn new(n: usize) -> Self {
        IptablesChain { thresholds: (0..n.saturating_sub(1)).map(|i| iptables_threshold((n - i) as u64)).collect() }
    }
}

/// The stored form of probability `1/m` as kube-proxy writes it and iptables reads it:
/// `%0.10f` (Go rounds an exact half to even), parsed to the nearest double, then
/// `lround(2³¹ × p)`.
pub(super) fn iptables_threshold(m: u64) -> u32 {
    const SCALE: u64 = 10_000_000_000;
    let (mut q, rem) = (SCALE / m, SCALE % m);
    if 2 * rem > m || (2 * rem == m && q % 2 == 1) {
        q += 1;
    }
    // q and 10¹⁰ are exact doubles, so the division is the nearest double to q / 10¹⁰:
    // what strtod makes of the written decimal.
    let p = q as f64 / SCALE as f64;
    (2_147_483_648.0 * p).round() as u32
}

impl Strategy for IptablesChain {
    #[inline]
    fn pick(&mut self, _: &RequestView, _: &Pool, rng: &mut StrategyRng) -> usize {
        for (i, &t) in self.thresholds.iter().enumerate() {
            if rng.next_u32() & 0x7FFF_FFFF < t {
                return i;
            }
        }
        self.thresholds.len()
    }
}

/// `numgen random mod n`.
pub(super) struct NftNumgen {
    pub(super) n: u32,
}

impl Strategy for NftNumgen {
    #[inline]
    fn pick(&mut self, _: &RequestView, _: &Pool, rng: &mut StrategyRng) -> usize {
        ((u64::from(rng.next_u32()) * u64::from(self.n)) >> 32) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testutil::{req, rng, servers};

    #[test]
    fn thresholds_are_the_written_probabilities() {
        // 1/2 → "0.5000000000" → 2³⁰; 1/3 → "0.3333333333" → lround(715827882.59…).
        assert_eq!(iptables_threshold(2), 1 << 30);
        assert_eq!(iptables_threshold(3), 715_827_883);
        // 1/2048 = 0.00048828125 exactly: half, rounded to even "0.0004882812".
        assert_eq!(iptables_threshold(2048), (2_147_483_648.0 * 0.000_488_281_2_f64).round() as u32);
        assert_eq!(IptablesChain::new(1).thresholds.len(), 0);
    }

    /// Each endpoint's share is the chain's exact probability (the product of the earlier
    /// rules' misses and its own match), within 5 binomial standard errors; so is
    /// numgen's 1/n.
    #[test]
    fn shares_follow_the_exact_draws() {
        let n = 5;
        let pool = Pool::new(&servers(&[1; 5]));
        let mut chain = IptablesChain::new(n);
        let mut want = vec![0.0; n];
        let mut miss = 1.0;
        for (i, &t) in chain.thresholds.iter().enumerate() {
            let p = f64::from(t) / 2_147_483_648.0;
            want[i] = miss * p;
            miss *= 1.0 - p;
        }
        want[n - 1] = miss;
        let mut numgen = NftNumgen { n: n as u32 };
        for (st, want) in [(&mut chain as &mut dyn Strategy, want), (&mut numgen, vec![0.2; n])] {
            let mut r = rng();
            let draws = 100_000;
            let mut count = vec![0u32; n];
            for i in 0..draws {
                count[st.pick(&req(i), &pool, &mut r)] += 1;
            }
            for k in 0..n {
                let p = f64::from(count[k]) / draws as f64;
                let se = (want[k] * (1.0 - want[k]) / draws as f64).sqrt();
                assert!((p - want[k]).abs() <= 5.0 * se, "server {k}: {p} vs {}", want[k]);
            }
        }
    }
}
