//! The retry path: an attempt that did not complete (refused by a crashed server, dropped
//! by a full queue, timed out at the client) is retried under the client policy or settles
//! the request's outcome; a settled request frees its call and, in a closed loop, schedules
//! its client's next send.

use super::Simulation;
use super::calls::Failure;
use super::events::{Answer, AttemptGen, CallId, EventKind};

impl<const FULL: bool> Simulation<FULL> {
    /// An attempt reached a crashed server: the connection is refused (counted here; the
    /// caller then fails the attempt).
    #[cold]
    pub(super) fn refused(&mut self, s: usize, id: u64) {
        if id >= self.rec.warmup {
            self.servers[s].stats.failed += 1;
        }
        if let Some(w) = self.fail.down_window[s] {
            let o = &mut self.fail.outcomes[w as usize];
            if o.detected_at.is_none() {
                o.refused_before_detection += 1;
            }
        }
    }

    /// An attempt at server `s` ended without completing: tell outlier detection, then
    /// retry it or settle the request's outcome.
    pub(super) fn attempt_failed(&mut self, s: usize, id: u64, call: Option<CallId>, why: Failure) {
        if self.fail.outlier.is_some() {
            self.outlier_result(s, false);
        }
        let Some(call) = call else {
            self.settle(id, why.into(), None);
            return;
        };
        if self.hedging.as_ref().is_some_and(|h| h.in_flight(call)) {
            return; // another copy of the attempt may still answer
        }
        self.attempt_ended_unsent(id, call, why);
    }

    /// An attempt of request `id` ended without completing (`why`) at a server or before it
    /// reached one: retry it or settle the request's outcome.
    pub(super) fn attempt_ended_unsent(&mut self, id: u64, call: CallId, why: Failure) {
        let c = self.calls.get_mut(call);
        c.attempt_gen = c.attempt_gen.next();
        c.server = None;
        c.timer_set = false;
        let retry = self.fail.retry.as_ref().is_some_and(|p| p.may_retry(self.calls.get(call), why, &self.calls));
        if !retry {
            self.settle(id, why.into(), Some(call));
            return;
        }
        let c = self.calls.get_mut(call);
        c.attempts += 1;
        let k = c.attempts - 1;
        if !c.retrying {
            c.retrying = true;
            self.calls.active_retries += 1;
        }
        // The budget's invariant, checked in test builds whenever a retry is admitted (Envoy
        // checks it then too: requests that end later may leave more retries than the share
        // of the fewer requests left): retries in flight ≤ max(budget% × active, minimum).
        #[cfg(any(test, debug_assertions))]
        if let Some(p) = self.fail.retry.as_ref().map(|r| &r.policy)
            && let Some(pct) = p.retry_budget
        {
            let limit = (pct / 100.0 * self.calls.live as f64).max(f64::from(p.min_retry_concurrency));
            assert!(self.calls.active_retries as f64 <= limit, "retry budget exceeded");
        }
        let attempt_gen = self.calls.get(call).attempt_gen;
        let delay = self.fail.retry.as_mut().expect("checked").backoff(k);
        self.events.push(self.now + delay, EventKind::Retry { call, attempt_gen });
    }

    /// The request's outcome is final: count it, and free its call (a closed-loop client
    /// then thinks before sending again).
    // Inlined into `depart` and the retry path; with `Calls::open` kept out of line this
    // is the cheaper of the two layouts LLVM picks between (callgrind, web-peak-failure).
    #[inline(always)]
    pub(super) fn settle(&mut self, id: u64, outcome: RequestOutcome, call: Option<CallId>) {
        let measured = id >= self.rec.warmup;
        if outcome != RequestOutcome::Completed {
            self.timeline.failed(self.now);
        }
        for counts in [Some(&mut self.rec.total), measured.then_some(&mut self.rec.measured)].into_iter().flatten() {
            match outcome {
                RequestOutcome::Completed => counts.completed += 1,
                RequestOutcome::Failed => counts.failed += 1,
                RequestOutcome::Dropped => counts.dropped += 1,
                RequestOutcome::TimedOut => counts.timed_out += 1,
            }
        }
        if let Some(call) = call {
            let c = *self.calls.get(call);
            if self.rec.measuring {
                // Its time in the window, from its arrival (or the window's start) until now.
                self.calls_area += self.now - c.req.arrival.max(self.rec.window_start);
            }
            self.calls.close(call);
            if FULL && c.conn != super::connections::NO_CONN {
                self.release(c.conn);
            }
            if let Some(client) = c.client {
                self.events.push(self.now + c.think, EventKind::ClientSend { client });
            }
        }
    }

    /// The backoff before a retry of `call` is over: send the attempt.
    pub(super) fn retry(&mut self, call: CallId, attempt_gen: AttemptGen) {
        let c = *self.calls.get(call);
        if c.attempt_gen != attempt_gen {
            return; // the request's overall timeout ended it during the backoff
        }
        self.rec.total.retried += 1;
        if c.req.id >= self.rec.warmup {
            self.rec.measured.retried += 1;
        }
        self.send(c.req, Some(call), c.attempt_gen);
    }

    /// The client's timeout of attempt `attempt_gen` of `call` expired.
    pub(super) fn timeout(&mut self, call: CallId, attempt_gen: AttemptGen) {
        if self.abandon_waiting(call, attempt_gen) {
            return; // it was still waiting at the balancer
        }
        let c = *self.calls.get(call);
        let (true, Some(s)) = (c.attempt_gen == attempt_gen, c.server) else {
            return; // that attempt already ended
        };
        let s = s as usize;
        if self.hedging.is_some() {
            // Every copy of the attempt is given up on.
            self.hedge_abandon(call);
            return self.attempt_ended_unsent(c.req.id, call, Failure::TimedOut);
        }
        if self.counts_requests() {
            self.balancer.dec::<true>(s, c.balancer, self.now);
        }
        if c.req.id >= self.rec.warmup {
            self.servers[s].stats.timed_out += 1;
        }
        self.attempt_failed(s, c.req.id, Some(call), Failure::TimedOut);
        if self.queue.is_some() {
            self.slot_freed(s);
        }
    }
}

impl<const FULL: bool> Simulation<FULL> {
    /// `[client] overall_timeout` of `call` (set when it had `incarnation`): if that request
    /// is still in progress, its attempt is abandoned wherever it is — waiting at the
    /// balancer, at a server (which still does the work), or between attempts — and the
    /// request ends `timed_out`, never retried (Envoy's route timeout).
    pub(super) fn overall_timeout(&mut self, call: CallId, incarnation: u32) {
        let c = *self.calls.get(call);
        if c.incarnation != incarnation {
            return; // that request has ended
        }
        let now = self.now;
        if c.queued != super::balancer_queue::Place::NONE {
            self.leave_queue(call);
        } else if self.hedging.is_some() {
            self.hedge_abandon(call);
        } else if let Some(s) = c.server {
            let s = s as usize;
            if self.counts_requests() {
                self.balancer.dec::<true>(s, c.balancer, now);
            }
            if c.req.id >= self.rec.warmup {
                self.servers[s].stats.timed_out += 1;
            }
            if self.fail.outlier.is_some() {
                self.outlier_result(s, false);
            }
            if self.queue.is_some() {
                self.slot_freed(s);
            }
        }
        let cl = self.calls.get_mut(call);
        cl.attempt_gen = cl.attempt_gen.next();
        cl.server = None;
        self.settle(c.req.id, RequestOutcome::TimedOut, Some(call));
    }
}

/// A request's final outcome: its last attempt's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RequestOutcome {
    /// Served.
    Completed,
    /// Refused by a crashed server, or reset when it crashed.
    Failed,
    /// The chosen server's queue was full.
    Dropped,
    /// The client gave up waiting.
    TimedOut,
}

impl From<Failure> for Answer {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Failed | Failure::TimedOut => Answer::Failed,
            Failure::Dropped => Answer::Dropped,
        }
    }
}

impl From<Failure> for RequestOutcome {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Failed => RequestOutcome::Failed,
            Failure::Dropped => RequestOutcome::Dropped,
            Failure::TimedOut => RequestOutcome::TimedOut,
        }
    }
}
