//! The retry path: an attempt that did not complete (refused by a crashed server, dropped
//! by a full queue, timed out at the client) is retried under the client policy or settles
//! the request's outcome; a settled request frees its call and, in a closed loop, schedules
//! its client's next send.

use super::Simulation;
use super::calls::{Failure, NONE};
use super::events::{EventKind, NO_CALL};

impl<const FULL: bool> Simulation<FULL> {
    /// An attempt reached a crashed server: the connection is refused.
    #[cold]
    pub(super) fn refused(&mut self, s: usize, id: u64, call: u32) {
        if id >= self.warmup {
            self.servers[s].stats.failed += 1;
        }
        if let Some(w) = self.down_window[s] {
            let o = &mut self.outcomes[w as usize];
            if o.detected_at.is_none() {
                o.refused_before_detection += 1;
            }
        }
        self.attempt_failed(s, id, call, Failure::Failed);
    }

    /// An attempt at server `s` ended without completing: tell outlier detection, then
    /// retry it or settle the request's outcome.
    pub(super) fn attempt_failed(&mut self, s: usize, id: u64, call: u32, why: Failure) {
        if self.outlier.is_some() {
            self.outlier_result(s, false);
        }
        if call == NO_CALL {
            self.settle(id, why_outcome(why), NO_CALL);
            return;
        }
        let c = self.calls.get_mut(call);
        c.epoch = c.epoch.wrapping_add(1);
        c.server = NONE;
        let retry = self.retry.as_ref().is_some_and(|p| p.may_retry(self.calls.get(call), why, &self.calls));
        if !retry {
            self.settle(id, why_outcome(why), call);
            return;
        }
        let c = self.calls.get_mut(call);
        c.attempts += 1;
        let k = c.attempts - 1;
        if !c.retrying {
            c.retrying = true;
            self.calls.active_retries += 1;
        }
        let epoch = self.calls.get(call).epoch;
        let delay = self.retry.as_mut().expect("checked").backoff(k);
        self.events.push(self.now + delay, EventKind::Retry { call, epoch });
    }

    /// The request's outcome is final.
    #[inline]
    pub(super) fn settle(&mut self, id: u64, outcome: Outcome, call: u32) {
        let measured = id >= self.warmup;
        for counts in [Some(&mut self.total), measured.then_some(&mut self.measured)].into_iter().flatten() {
            match outcome {
                Outcome::Completed => counts.completed += 1,
                Outcome::Failed => counts.failed += 1,
                Outcome::Dropped => counts.dropped += 1,
                Outcome::TimedOut => counts.timed_out += 1,
            }
        }
        if call != NO_CALL {
            let c = *self.calls.get(call);
            self.calls.close(call);
            if c.client != NONE {
                self.events.push(self.now + c.think, EventKind::ClientSend { client: c.client });
            }
        }
    }

    /// The backoff before a retry of `call` is over: send the attempt.
    pub(super) fn retry(&mut self, call: u32, epoch: u32) {
        let c = *self.calls.get(call);
        debug_assert_eq!(c.epoch, epoch, "a retry is always current");
        self.total.retried += 1;
        if c.req.id >= self.warmup {
            self.measured.retried += 1;
        }
        self.send(c.req, call, c.epoch);
    }

    /// The client's timeout of an attempt expired.
    pub(super) fn timeout(&mut self, call: u32, epoch: u32) {
        let c = *self.calls.get(call);
        if c.epoch != epoch || c.server == NONE {
            return; // that attempt already ended
        }
        let s = c.server as usize;
        self.balancer.dec::<true>(s);
        if c.req.id >= self.warmup {
            self.servers[s].stats.timed_out += 1;
        }
        self.attempt_failed(s, c.req.id, call, Failure::TimedOut);
    }
}

/// A request's final outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Completed,
    Failed,
    Dropped,
    TimedOut,
}

pub(super) fn why_outcome(f: Failure) -> Outcome {
    match f {
        Failure::Failed => Outcome::Failed,
        Failure::Dropped => Outcome::Dropped,
        Failure::TimedOut => Outcome::TimedOut,
    }
}
