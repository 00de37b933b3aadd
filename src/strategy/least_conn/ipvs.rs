//! IPVS's connection schedulers (Linux `net/netfilter/ipvs/`): `lc`, `wlc`, `sed`, `nq`.
//!
//! Each is one scan over the destinations in order; a later one replaces the candidate only
//! with a strictly smaller overhead (relative to weight), so ties go to the first.
//!
//! - `lc` (`ip_vs_lc.c`, `ip_vs_lc_schedule`): the least `ip_vs_dest_conn_overhead`,
//!   weights ignored (a weight of 0 quiesces a server; lbsim's weights are at least 1).
//! - `wlc` (`ip_vs_wlc.c`): the least overhead / weight, compared as
//!   `loh × w_dest > doh × w_least`.
//! - `sed` (`ip_vs_sed.c`) and `nq` (`ip_vs_nq.c`): (active + 1) / weight
//!   (`ip_vs_sed_dest_overhead`, `ip_vs_nq_dest_overhead`: active connections only); `nq`
//!   first takes the first server with no active connection.
//!
//! `ip_vs_dest_conn_overhead` (include/net/ip_vs.h) is `(activeconns << 8) + inactconns`:
//! a connection that has ended still counts, at 1/256 of an active one, while IPVS keeps its
//! entry — in FIN_WAIT or TIME_WAIT, two minutes each by default (`tcp_timeouts` in
//! `ip_vs_proto_tcp.c`; kube-proxy's `--ipvs-tcpfin-timeout` changes FIN_WAIT's). lbsim
//! counts every connection the balancer saw end (a request, or with `[clients]` and
//! `balance = "connection"` a connection) as inactive for `inactive_timeout` after it ended.
//!
//! Differences from the kernel, stated: one timeout whichever side closes (IPVS walks its
//! TCP states, and a reset connection stays 10 s in CLOSE); when the eligible servers change
//! (a health check, a crash window) lbsim builds a fresh scheduler over them, so the inactive
//! counts restart at 0, where IPVS keeps each destination's.

use std::collections::VecDeque;

use super::TieIndex;
use crate::strategy::{Pool, RequestView, ServerInfo, Strategy, StrategyRng};

/// The IPVS rules.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum IpvsRule {
    /// overhead active × 256 + inactive, the least wins, weights ignored.
    Lc,
    /// overhead active × 256 + inactive, minimise overhead / weight.
    Wlc,
    /// overhead active + 1, minimise (active + 1) / weight.
    Sed,
    /// the first server with no active connection, else as `Sed`.
    Nq,
}

/// An IPVS scheduler over the balancer's view (active connections = its counts).
pub(super) struct Ipvs {
    weight: Vec<u64>,
    rule: IpvsRule,
    /// Large pools, when the rule reduces to "the first with the fewest active" (no
    /// inactive counts; equal weights or `lc`): the same picks from an index.
    index: Option<TieIndex>,
    /// `lc` and `wlc` with a timeout: the connections that ended recently.
    inactive: Option<Inactive>,
}

/// Ended connections still counted (IPVS's `inactconns`), per server.
struct Inactive {
    timeout: f64,
    /// Whether the counts below have been read from the pool (at the first pick).
    ready: bool,
    /// The active count last heard per server (a decrease is a connection that ended).
    seen: Vec<u32>,
    /// Inactive connections per server.
    count: Vec<u32>,
    /// When each inactive connection expires, and its server: in time order, as every
    /// connection stays the same `timeout`.
    expiries: VecDeque<(f64, u32)>,
}

impl Inactive {
    /// Forgets the connections whose entries expired by `now`.
    fn expire(&mut self, now: f64) {
        while let Some(&(t, s)) = self.expiries.front() {
            if t > now {
                break;
            }
            self.expiries.pop_front();
            self.count[s as usize] -= 1;
        }
    }
}

impl Ipvs {
    /// `rule` over `servers`; `inactive_timeout` s for `lc` and `wlc` (0: ended connections
    /// do not count).
    pub(super) fn new(servers: &[ServerInfo], rule: IpvsRule, inactive_timeout: f64) -> Self {
        Self::with_index(servers, rule, inactive_timeout, super::use_index(servers.len()))
    }

    pub(super) fn with_index(servers: &[ServerInfo], rule: IpvsRule, inactive_timeout: f64, indexed: bool) -> Self {
        let n = servers.len();
        let counts_inactive = matches!(rule, IpvsRule::Lc | IpvsRule::Wlc) && inactive_timeout > 0.0;
        let equal = servers.iter().all(|s| s.weight == servers[0].weight);
        Ipvs {
            weight: servers.iter().map(|s| u64::from(s.weight)).collect(),
            rule,
            index: (indexed && !counts_inactive && (equal || rule == IpvsRule::Lc)).then(|| TieIndex::new(n, 0, false)),
            inactive: counts_inactive.then(|| Inactive {
                timeout: inactive_timeout,
                ready: false,
                seen: vec![0; n],
                count: vec![0; n],
                expiries: VecDeque::new(),
            }),
        }
    }
}

/// `lc` / `wlc`: the first server with the least `active × 256 + inactive` (`lc`), or
/// relative to its weight (`wlc`); `inactive` empty when ended connections do not count.
fn least_overhead(rule: IpvsRule, weight: &[u64], active: &[u32], inactive: &[u32]) -> usize {
    let overhead = |i: usize| (u64::from(active[i]) << 8) + inactive.get(i).map_or(0, |&c| u64::from(c));
    let mut least = 0;
    let mut loh = overhead(0);
    for i in 1..active.len() {
        let doh = overhead(i);
        let better = match rule {
            IpvsRule::Lc => doh < loh,
            _ => loh * weight[i] > doh * weight[least],
        };
        if better {
            least = i;
            loh = doh;
        }
    }
    least
}

impl Strategy for Ipvs {
    fn tracks_pool(&self) -> bool {
        self.index.is_some() || self.inactive.is_some()
    }

    #[inline]
    fn on_in_flight(&mut self, server: usize, in_flight: u32, now: f64) {
        if let Some(index) = &mut self.index {
            index.set(server, in_flight);
        }
        if let Some(ia) = &mut self.inactive
            && ia.ready
        {
            let seen = &mut ia.seen[server];
            for _ in in_flight..*seen {
                ia.count[server] += 1;
                ia.expiries.push_back((now + ia.timeout, server as u32));
            }
            *seen = in_flight;
        }
    }

    fn pick(&mut self, req: &RequestView, pool: &Pool, _: &mut StrategyRng) -> usize {
        if let Some(index) = &mut self.index {
            if !index.ready {
                index.init(pool.in_flight_all(), &vec![0; pool.len()]);
            }
            return index.pick();
        }
        let n = pool.in_flight_all();
        if let Some(ia) = &mut self.inactive {
            if !ia.ready {
                ia.seen.copy_from_slice(n);
                ia.ready = true;
            }
            ia.expire(req.arrival);
            return least_overhead(self.rule, &self.weight, n, &ia.count);
        }
        if matches!(self.rule, IpvsRule::Lc | IpvsRule::Wlc) {
            return least_overhead(self.rule, &self.weight, n, &[]);
        }
        // sed, nq: (active + 1) / weight.
        let mut least = 0;
        let mut loh = u64::from(n[0]) + 1;
        if self.rule == IpvsRule::Nq && n[0] == 0 {
            return 0;
        }
        for (i, &c) in n.iter().enumerate().skip(1) {
            if self.rule == IpvsRule::Nq && c == 0 {
                return i;
            }
            let doh = u64::from(c) + 1;
            if loh * self.weight[i] > doh * self.weight[least] {
                least = i;
                loh = doh;
            }
        }
        least
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testutil::{req, rng, servers};

    fn at(t: f64) -> RequestView {
        RequestView { arrival: t, ..req(0) }
    }

    /// An active connection weighs 256 ended ones; an ended one counts until its timeout.
    #[test]
    fn lc_overhead_is_active_times_256_plus_inactive_until_it_expires() {
        let sv = servers(&[1, 1]);
        let mut pool = Pool::new(&sv);
        let mut lc = Ipvs::with_index(&sv, IpvsRule::Lc, 120.0, false);
        assert!(lc.tracks_pool());
        let mut r = rng();
        assert_eq!(lc.pick(&at(0.0), &pool, &mut r), 0, "ties go to the first");
        // 255 connections open and end at server 0; one stays open at server 1.
        for k in 0..255 {
            pool.in_flight[0] = 1;
            lc.on_in_flight(0, 1, k as f64 * 0.01);
            pool.in_flight[0] = 0;
            lc.on_in_flight(0, 0, k as f64 * 0.01);
        }
        pool.in_flight[1] = 1;
        lc.on_in_flight(1, 1, 3.0);
        assert_eq!(lc.pick(&at(5.0), &pool, &mut r), 0, "255 < 256");
        let end_one = |lc: &mut Ipvs, t: f64| {
            lc.on_in_flight(0, 1, t);
            lc.on_in_flight(0, 0, t);
        };
        end_one(&mut lc, 5.0);
        assert_eq!(lc.pick(&at(6.0), &pool, &mut r), 0, "256 = 256: a tie, to the first");
        end_one(&mut lc, 6.0);
        assert_eq!(lc.pick(&at(7.0), &pool, &mut r), 1, "257 > 256");
        // The first ended at 0 s: it stops counting at 120 s.
        assert_eq!(lc.pick(&at(119.99), &pool, &mut r), 1);
        assert_eq!(lc.pick(&at(120.0), &pool, &mut r), 0);
        assert_eq!(lc.inactive.as_ref().map(|ia| ia.count[0]), Some(256));
        assert_eq!(lc.pick(&at(126.0), &pool, &mut r), 0);
        assert_eq!(lc.inactive.as_ref().map(|ia| ia.count[0]), Some(0), "all expired two minutes after the last");
    }
}
