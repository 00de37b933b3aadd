//! Picks that must avoid some servers: those at their `max_connections` under a balancer
//! queue, those a retry already tried under `avoid_previous`.
//!
//! Real balancers do this inside their algorithms: HAProxy's round-robin and
//! least-connections trees skip a server whose `served` reached its `maxconn` (2.6
//! `lb_fwrr.c` `fwrr_get_server_from_group`, `lb_fwlc.c` `fwlc_get_next_server`) and skip
//! the previous server on a redispatch (`assign_server`'s `prev_srv`); Envoy asks its load
//! balancer again while the retry's host predicate (`previous_hosts`) rejects the host
//! (`router.cc` / `retry_state_impl.cc`, `host_selection_retry_max_attempts` times). lbsim
//! needs no code in any strategy for it: the strategy is asked again — round robin moves on
//! to its next server and random draws again, as in those balancers — until it answers a
//! server to keep, at most once per server, and stops early when it gives the same answer
//! three times in a row (a strategy that reads only the load, such as least-connections,
//! would repeat itself). Then the least loaded usable server not avoided is taken
//! (in-flight ÷ weight, lowest index on ties): what a load-aware strategy would pick among
//! them (with `[balancers] subset`, among the servers its instance may use). Unlike Envoy,
//! which keeps its last answer after `host_selection_retry_max_attempts` (default 1)
//! rejections, a server to avoid is thus never taken while another is usable.

use crate::strategy::RequestView;

use super::Balancer;

impl Balancer {
    /// Whether the strategy routes by the request's key (a hash strategy).
    pub(in crate::engine) fn keyed(&self) -> bool {
        self.info.keyed
    }

    /// Whether `s` may receive requests now: eligible, or every server is out (panic mode,
    /// in which all are used).
    pub(in crate::engine) fn usable(&self, s: usize) -> bool {
        self.is_eligible(s) || self.members.is_none()
    }

    /// A server for `req` that `avoid` does not reject (see the module documentation), or
    /// `None` when it rejects every usable server.
    pub(in crate::engine) fn pick_avoiding(
        &mut self,
        req: &RequestView,
        avoid: &mut dyn FnMut(usize) -> bool,
    ) -> Option<usize> {
        let n = self.servers.len();
        let mut last = self.pick_any(req);
        if !avoid(last) {
            return Some(last);
        }
        let mut repeats = 0;
        for _ in 1..n {
            let s = self.pick_any(req);
            if !avoid(s) {
                return Some(s);
            }
            repeats = if s == last { repeats + 1 } else { 0 };
            if repeats == 2 {
                break;
            }
            last = s;
        }
        let in_flight = &self.shared.full.in_flight;
        let mut best: Option<usize> = None;
        for s in 0..n {
            let outside = self.client_servers(req.balancer).is_some_and(|m| m.binary_search(&s).is_err());
            if !self.usable(s) || outside || avoid(s) {
                continue;
            }
            // s is lighter than b when in_flight[s] / w[s] < in_flight[b] / w[b].
            let lighter = |b: usize| {
                u64::from(in_flight[s]) * u64::from(self.servers[b].weight)
                    < u64::from(in_flight[b]) * u64::from(self.servers[s].weight)
            };
            if best.is_none_or(lighter) {
                best = Some(s);
            }
        }
        best
    }
}
