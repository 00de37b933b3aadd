//! Hedged requests (`[client] hedge_after`; Dean & Barroso, "The Tail at Scale", CACM
//! 56(2), 2013): an attempt still unanswered `hedge_after` after it was sent is sent again,
//! as a copy, to another server; up to `max_hedges` copies, each `hedge_after` after the
//! previous one. The first successful answer is the request's; with `cancel_on_first` the
//! other copies are cancelled at their servers at once (a waiting copy leaves the queue
//! unserved, one in service stops and frees its worker), otherwise they run to completion
//! unseen, as an attempt its client timed out does. Either way the balancer stops counting
//! them when the request is answered.
//!
//! Copies are not requests: a copy that fails (refused, dropped, reset by a crash) only
//! leaves the attempt's other copies to answer; the attempt fails — and is retried or
//! settles the request's outcome — when its last copy in flight does. A per-try or overall
//! timeout abandons every copy. A copy's service demand is a fresh draw from `[service]`
//! (or the group's `service`), from a stream of its own keyed by (request, copy), so the
//! arrivals, demands and keys every strategy sees are untouched (common random numbers);
//! unlike a retry, which resends the request's own demand, a hedge exists to escape a slow
//! service, which an independent draw models.
//!
//! A percentile `hedge_after` ("p95") is the nearest-rank percentile of the response times
//! (arrival to first successful answer) of the last [`HEDGE_WINDOW`] requests of this
//! strategy that succeeded in this replication, warm-up included; no copy is sent before
//! [`HEDGE_WINDOW_MIN`] have.

use std::collections::VecDeque;

use super::Simulation;
use super::events::{AttemptGen, CallId, EventKind};
use crate::scenario::policies::{HEDGE_WINDOW, HEDGE_WINDOW_MIN};
use crate::scenario::{Hedge, HedgeAfter};
use crate::stats::HedgeCounts;
use crate::strategy::RequestView;
use crate::workload::PerRequestSampler;

/// One copy of the current attempt held at a server.
#[derive(Debug, Clone, Copy)]
struct Holder {
    server: u32,
    /// The job's arrival at the server (names the copy among the call's jobs there).
    arrival: f64,
    /// When it left the balancer (the strategy learns its time from there).
    sent: f64,
    /// A hedge copy (not the attempt's first send).
    copy: bool,
}

/// The copies of one call's current attempt.
#[derive(Debug, Default, Clone)]
struct Copies {
    held: Vec<Holder>,
    /// Copies sent for the current attempt (refused ones too).
    sent: u32,
}

/// Hedging's state in one simulation.
pub(super) struct Hedging {
    cfg: Hedge,
    /// The last response times, oldest first, and the same sorted.
    recent: VecDeque<f64>,
    sorted: Vec<f64>,
    /// Per call slot.
    calls: Vec<Copies>,
    /// The copies' demands under `[service]`.
    demand: PerRequestSampler,
    /// Whether the attempt being offered is a copy.
    sending_copy: bool,
    /// What the measured requests' copies did.
    pub(super) counts: HedgeCounts,
}

/// The key of copy number `k` (> 0) of request `id` in a per-request stream.
fn copy_key(id: u64, k: u32) -> u64 {
    id ^ (u64::from(k) << 48)
}

impl Hedging {
    /// Hedging under `cfg`, drawing copies' demands with `demand`.
    pub(super) fn new(cfg: Hedge, demand: PerRequestSampler) -> Self {
        Hedging {
            cfg,
            recent: VecDeque::new(),
            sorted: Vec::new(),
            calls: Vec::new(),
            demand,
            sending_copy: false,
            counts: HedgeCounts::default(),
        }
    }

    /// The delay before the next copy, if one is known yet.
    fn delay(&self) -> Option<f64> {
        match self.cfg.after {
            HedgeAfter::Fixed(d) => Some(d),
            HedgeAfter::Percentile(p) => {
                let n = self.sorted.len();
                (n >= HEDGE_WINDOW_MIN).then(|| {
                    let rank = ((p / 100.0 * n as f64).ceil() as usize).clamp(1, n);
                    self.sorted[rank - 1]
                })
            }
        }
    }

    /// A request succeeded after `response` s: it enters the percentile's window.
    pub(super) fn observe(&mut self, response: f64) {
        if !matches!(self.cfg.after, HedgeAfter::Percentile(_)) {
            return;
        }
        if self.recent.len() == HEDGE_WINDOW {
            let old = self.recent.pop_front().expect("full");
            let i = self.sorted.partition_point(|&x| x < old);
            self.sorted.remove(i);
        }
        self.recent.push_back(response);
        let i = self.sorted.partition_point(|&x| x < response);
        self.sorted.insert(i, response);
    }

    fn slot(&mut self, call: CallId) -> &mut Copies {
        let i = call.slot();
        if self.calls.len() <= i {
            self.calls.resize_with(i + 1, Copies::default);
        }
        &mut self.calls[i]
    }

    /// A new request opened `call`: nothing held yet.
    pub(super) fn open(&mut self, call: CallId) {
        let c = self.slot(call);
        c.held.clear();
        c.sent = 0;
    }

    /// Whether copies of `call`'s attempt are still held at servers.
    pub(super) fn in_flight(&self, call: CallId) -> bool {
        self.calls.get(call.slot()).is_some_and(|c| !c.held.is_empty())
    }

    /// The copy of `call` at `server` that arrived there at `arrival` ended (failed or
    /// reset): it is no longer held.
    pub(super) fn forget(&mut self, call: CallId, server: usize, arrival: f64) {
        let c = self.slot(call);
        if let Some(i) = c.held.iter().position(|h| h.server == server as u32 && h.arrival == arrival) {
            c.held.swap_remove(i);
        }
    }

    /// Every copy of `call` still held, which the caller abandons or cancels.
    fn take(&mut self, call: CallId) -> Vec<Holder> {
        std::mem::take(&mut self.slot(call).held)
    }
}

impl<const FULL: bool> Simulation<FULL> {
    /// An attempt of `call` was admitted at server `s` (its job arriving at `arrival`, of
    /// `work` s): it is held there. The attempt's first send also schedules its first copy.
    /// Returns whether it was a copy (the caller then leaves the call's own attempt alone).
    pub(super) fn hedge_admitted(
        &mut self,
        call: CallId,
        attempt_gen: AttemptGen,
        s: usize,
        arrival: f64,
        work: f64,
        measured: bool,
    ) -> bool {
        let now = self.now;
        let h = self.hedging.as_mut().expect("hedging");
        let copy = h.sending_copy;
        if measured {
            if copy {
                h.counts.copy_work += work;
            } else {
                h.counts.own_work += work;
            }
        }
        let c = h.slot(call);
        if !copy {
            c.held.clear();
            c.sent = 0;
        }
        c.held.push(Holder { server: s as u32, arrival, sent: now, copy });
        if !copy && let Some(d) = h.delay() {
            self.events.push(now + d, EventKind::Hedge { call, attempt_gen });
        }
        copy
    }

    /// `hedge_after` has passed since attempt `attempt_gen` of `call` (or its latest copy)
    /// was sent: if it is still unanswered and copies are left, a copy goes to the server
    /// the strategy picks among those not holding one (any server when none other is
    /// eligible), and the next copy is scheduled.
    pub(super) fn hedge(&mut self, call: CallId, attempt_gen: AttemptGen) {
        let c = *self.calls.get(call);
        let h = self.hedging.as_mut().expect("hedging");
        if c.attempt_gen != attempt_gen || !h.in_flight(call) {
            return; // answered, failed or abandoned meanwhile
        }
        let max = h.cfg.max_hedges;
        let Some(delay) = h.delay() else { return };
        let copies = h.slot(call);
        if copies.sent >= max {
            return;
        }
        copies.sent += 1;
        let k = copies.sent;
        let holding: Vec<u32> = copies.held.iter().map(|x| x.server).collect();
        let measured = c.req.id >= self.rec.warmup;
        if measured {
            h.counts.sent += 1;
        }
        let view =
            RequestView { id: c.req.id, arrival: self.now, key: c.req.key, hash: c.req.hash, balancer: c.balancer };
        let s = match self.balancer.pick_avoiding(&view, &mut |s| holding.contains(&(s as u32))) {
            Some(s) => s,
            None => self.balancer.pick::<true>(&view),
        };
        if let Some(tried) = &mut self.tried {
            tried[call.slot()].push(s as u32);
        }
        // Copy k of attempt a: a key no other copy of the request shares.
        let key = copy_key(c.req.id, c.attempts * (crate::scenario::policies::MAX_HEDGES + 1) + k);
        let h = self.hedging.as_mut().expect("hedging");
        let demand = match &self.overrides[s] {
            Some(d) => d.sample(key),
            None => h.demand.sample(key),
        };
        h.sending_copy = true;
        // The copy's job arrives now: its wait is its own queueing at that server.
        self.offer::<false>(s, c.balancer, c.req.id, self.now, demand, Some(call), attempt_gen);
        self.hedging.as_mut().expect("hedging").sending_copy = false;
        if k < max && self.calls.get(call).attempt_gen == attempt_gen {
            self.events.push(self.now + delay, EventKind::Hedge { call, attempt_gen });
        }
    }

    /// The copy of `call` at server `s` whose job arrived at `arrival` answered first: it is
    /// counted if it was a hedge, and every other copy is dropped by the balancer (and
    /// cancelled at its server with `cancel_on_first`). Returns when the winner was sent.
    pub(super) fn hedge_answered(&mut self, call: CallId, s: usize, arrival: f64, measured: bool) -> f64 {
        let now = self.now;
        let h = self.hedging.as_mut().expect("hedging");
        let cancel = h.cfg.cancel_on_first;
        let mut held = h.take(call);
        let i =
            held.iter().position(|x| x.server == s as u32 && x.arrival == arrival).expect("the answering copy is held");
        let winner = held.swap_remove(i);
        if measured && winner.copy {
            h.counts.won += 1;
        }
        let (b, attempt_gen) = {
            let c = self.calls.get(call);
            (c.balancer, c.attempt_gen)
        };
        for x in held {
            let t = x.server as usize;
            if self.counts_requests() {
                self.balancer.dec::<true>(t, b, now);
            }
            if cancel {
                self.cancel_copy(t, call, attempt_gen, x.arrival, x.copy, measured);
            }
        }
        winner.sent
    }

    /// Cancels the copy of `call` (attempt `attempt_gen`, arrived at `arrival`) at server `s`:
    /// the work it did not do comes off the server's and the copies' (or own) work.
    fn cancel_copy(
        &mut self,
        s: usize,
        call: CallId,
        attempt_gen: AttemptGen,
        arrival: f64,
        copy: bool,
        measured: bool,
    ) {
        let now = self.now;
        let integrating = self.integrating;
        let server = &mut self.servers[s];
        server.advance(now, integrating);
        let which =
            |j: &super::events::Job| j.call == Some(call) && j.attempt_gen == attempt_gen && j.arrival == arrival;
        let Some((_, spared, moved)) = server.cancel(now, which) else { return };
        server.work_total -= spared;
        if measured {
            server.stats.work -= spared;
            let h = self.hedging.as_mut().expect("hedging");
            if copy {
                h.counts.copy_work -= spared;
            } else {
                h.counts.own_work -= spared;
            }
        }
        let schedule_gen = server.schedule_gen;
        for (worker, finish) in moved {
            self.events.push(finish, EventKind::Departure { server: s as u32, worker, schedule_gen });
        }
        self.imbalance.depart(now, s);
        self.tell_start_at(s);
        if self.servers[s].in_system() == 0 {
            if self.counts_requests() {
                self.balancer.on_idle::<true>(s, now);
            }
            if let Some(p) = &self.pool
                && p.draining(s)
            {
                let (server, pod) = (s as u32, p.pod_id(s));
                self.events.push(now, EventKind::Pod { server, pod, step: super::events::PodStep::Exit });
            }
        }
    }

    /// A per-try or overall timeout gave up on every copy of `call` still held: the balancer
    /// stops counting them, their servers count them timed out (and keep doing the work).
    pub(super) fn hedge_abandon(&mut self, call: CallId) {
        let now = self.now;
        let (b, id) = {
            let c = self.calls.get(call);
            (c.balancer, c.req.id)
        };
        for x in self.hedging.as_mut().expect("hedging").take(call) {
            let s = x.server as usize;
            if self.counts_requests() {
                self.balancer.dec::<true>(s, b, now);
            }
            if id >= self.rec.warmup {
                self.servers[s].stats.timed_out += 1;
            }
            if self.fail.outlier.is_some() {
                self.outlier_result(s, false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::service::ServiceDist;

    fn hedging(after: HedgeAfter) -> Hedging {
        let cfg = Hedge { after, max_hedges: 1, cancel_on_first: true };
        Hedging::new(
            cfg,
            PerRequestSampler::new(ServiceDist::from(crate::workload::service::Exponential::new(1.0).unwrap()), 7),
        )
    }

    #[test]
    fn a_percentile_is_the_nearest_rank_of_the_last_window() {
        let mut h = hedging(HedgeAfter::Percentile(95.0));
        for i in 0..HEDGE_WINDOW_MIN - 1 {
            h.observe(i as f64);
        }
        assert_eq!(h.delay(), None, "too few successes yet");
        let mut h = hedging(HedgeAfter::Percentile(95.0));
        // 1..=2000: the window holds 1001..=2000, whose 95th nearest-rank value is 1950.
        for i in 1..=2000 {
            h.observe(f64::from(i));
        }
        assert_eq!(h.recent.len(), HEDGE_WINDOW);
        assert_eq!(h.delay(), Some(1950.0));
        assert!(h.sorted.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(hedging(HedgeAfter::Fixed(0.05)).delay(), Some(0.05));
    }

    #[test]
    fn copies_of_one_request_draw_demands_of_their_own() {
        let h = hedging(HedgeAfter::Fixed(1.0));
        let (a, b) = (h.demand.sample(copy_key(5, 1)), h.demand.sample(copy_key(5, 2)));
        assert_ne!(a, b);
        assert_eq!(a, h.demand.sample(copy_key(5, 1)), "the same copy, the same demand");
    }
}
