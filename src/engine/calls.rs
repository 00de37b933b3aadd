//! Requests the engine follows across attempts: the call table, the retry policy and its
//! budget.
//!
//! The table is used only when a scenario has a client timeout, retries or a closed loop;
//! a plain open-loop run routes self-contained jobs and never touches it. A slot's
//! [`AttemptGen`] counts the attempts that ended in it (never reset when the slot is
//! reused), so a timeout, a retry or a job names exactly one attempt: when the generation
//! has moved on, the event or the job is stale.

use rand::RngExt;

use super::events::{AttemptGen, CallId};
use crate::scenario::{ClientPolicy, RetryOn};
use crate::workload::Request;

/// How an attempt ended, when it did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// Refused by a crashed server, or reset when it crashed.
    Failed,
    /// The server's queue was full.
    Dropped,
    /// The client gave up waiting.
    TimedOut,
}

impl Failure {
    fn retried_under(self, on: RetryOn) -> bool {
        match self {
            Failure::Failed => on.failed,
            Failure::Dropped => on.dropped,
            Failure::TimedOut => on.timeout,
        }
    }
}

/// A request in progress.
#[derive(Debug, Clone, Copy)]
pub(super) struct Call {
    /// The request (id, first arrival, demand, key): every attempt resends it.
    pub(super) req: Request,
    /// Think time of its client after the outcome (closed loop).
    pub(super) think: f64,
    /// Closed-loop client (`None` in an open workload).
    pub(super) client: Option<u32>,
    /// Attempts sent so far.
    pub(super) attempts: u32,
    /// Attempt generation (see the module documentation).
    pub(super) attempt_gen: AttemptGen,
    /// Server of the attempt in flight (`None` between attempts).
    pub(super) server: Option<u32>,
    /// Whether the call is on a retry (counts against the retry budget).
    pub(super) retrying: bool,
    /// The balancer instance handling it (every attempt goes through the same one).
    pub(super) balancer: u32,
    /// When the current attempt left the balancer: its own time is measured from there.
    pub(super) sent: f64,
    /// With `[network] from_server`: how long the completed attempt queued at the server,
    /// carried until the answer reaches the balancer.
    pub(super) wait: f64,
    /// `[clients]`: the connection slot it travels on (`NO_CONN`: none yet).
    pub(super) conn: u32,
    /// `[clients] handshake`: how long it waited for its connection's handshake, s (part
    /// of its response time, not of its wait).
    pub(super) handshake: f64,
    /// `[balancer_queue]`: where the current attempt waits at the balancer (see
    /// [`super::balancer_queue::Place`]), 0 when it does not.
    pub(super) queued: u32,
    /// Whether the current attempt's client timeout is already scheduled (from its send,
    /// while it waited at the balancer).
    pub(super) timer_set: bool,
    /// Bumped when the slot's call opens and when it closes: an overall timeout names the
    /// call it was set for by it.
    pub(super) incarnation: u32,
}

/// The table of calls in progress: a slab with a free list.
#[derive(Debug)]
pub(super) struct Calls {
    /// Slot 0 is never used, so a [`CallId`] is its slot's position.
    slab: Vec<Call>,
    free: Vec<CallId>,
    /// Calls in progress.
    pub(super) live: u64,
    /// Calls on a retry (Envoy's active retries).
    pub(super) active_retries: u64,
}

impl Default for Calls {
    fn default() -> Self {
        let unused = Request { id: 0, arrival: 0.0, demand: 0.0, key: 0, hash: 0 };
        let unused = Call {
            req: unused,
            think: 0.0,
            client: None,
            attempts: 0,
            attempt_gen: AttemptGen::FIRST,
            server: None,
            retrying: false,
            balancer: 0,
            sent: 0.0,
            wait: 0.0,
            conn: super::connections::NO_CONN,
            handshake: 0.0,
            queued: 0,
            timer_set: false,
            incarnation: 0,
        };
        Calls { slab: vec![unused], free: Vec::new(), live: 0, active_retries: 0 }
    }
}

impl Calls {
    /// Opens a call for `req` (first attempt counted as sent).
    // Out of line: the once-per-request path inlines `settle` instead (see there).
    #[inline(never)]
    pub(super) fn open(&mut self, req: Request, client: Option<u32>, think: f64) -> CallId {
        self.live += 1;
        let fresh = |attempt_gen, incarnation: u32| Call {
            req,
            think,
            client,
            attempts: 1,
            attempt_gen,
            server: None,
            retrying: false,
            balancer: 0,
            sent: req.arrival,
            wait: 0.0,
            conn: super::connections::NO_CONN,
            handshake: 0.0,
            queued: 0,
            timer_set: false,
            incarnation: incarnation.wrapping_add(1),
        };
        match self.free.pop() {
            Some(c) => {
                let slot = &mut self.slab[c.slot()];
                *slot = fresh(slot.attempt_gen, slot.incarnation);
                c
            }
            None => {
                let c = CallId::new(self.slab.len());
                self.slab.push(fresh(AttemptGen::FIRST, 0));
                c
            }
        }
    }

    /// Closes call `c` (its outcome is final).
    pub(super) fn close(&mut self, c: CallId) {
        let call = &mut self.slab[c.slot()];
        call.attempt_gen = call.attempt_gen.next();
        call.incarnation = call.incarnation.wrapping_add(1);
        if call.retrying {
            self.active_retries -= 1;
        }
        self.live -= 1;
        self.free.push(c);
    }

    /// The calls in progress (not yet closed), in slot order.
    pub(super) fn in_progress(&self) -> impl Iterator<Item = &Call> {
        let mut closed = vec![false; self.slab.len()];
        for c in &self.free {
            closed[c.slot()] = true;
        }
        self.slab.iter().zip(closed).skip(1).filter(|(_, closed)| !closed).map(|(call, _)| call)
    }

    /// The call in slot `c`.
    #[inline]
    pub(super) fn get(&self, c: CallId) -> &Call {
        &self.slab[c.slot()]
    }

    /// The call in slot `c`, mutably.
    #[inline]
    pub(super) fn get_mut(&mut self, c: CallId) -> &mut Call {
        &mut self.slab[c.slot()]
    }
}

/// The retry policy of `[client]`, with its random backoff stream.
pub(super) struct RetryPolicy {
    /// The policy as configured.
    pub(super) policy: ClientPolicy,
    rng: rand_xoshiro::Xoshiro256PlusPlus,
}

impl RetryPolicy {
    /// The policy, drawing backoff jitter from `rng` (a stream shared by no strategy).
    pub(super) fn new(policy: ClientPolicy, rng: rand_xoshiro::Xoshiro256PlusPlus) -> Self {
        RetryPolicy { policy, rng }
    }

    /// Whether a call that failed its latest attempt with `why` may try again:
    /// retries left, a retriable failure, and room in the budget (Envoy's: concurrent
    /// retries ≤ max(min_retry_concurrency, budget% × active requests)).
    pub(super) fn may_retry(&self, call: &Call, why: Failure, calls: &Calls) -> bool {
        let p = &self.policy;
        if call.attempts > p.max_retries || !why.retried_under(p.retry_on) {
            return false;
        }
        match p.retry_budget {
            None => true,
            Some(pct) => {
                let extra = u64::from(!call.retrying);
                let limit = (pct / 100.0 * calls.live as f64).max(f64::from(p.min_retry_concurrency));
                (calls.active_retries + extra) as f64 <= limit
            }
        }
    }

    /// Backoff before retry number `k` (1 = first retry): fully jittered exponential,
    /// uniform in [0, min(base × 2^(k−1), max)), as Envoy's router does.
    pub(super) fn backoff(&mut self, k: u32) -> f64 {
        let p = &self.policy;
        let cap = (p.backoff * 2f64.powi(k.saturating_sub(1).min(60) as i32)).min(p.max_backoff);
        if cap <= 0.0 { 0.0 } else { self.rng.random::<f64>() * cap }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn req(id: u64) -> Request {
        Request { id, arrival: 0.0, demand: 1.0, key: id, hash: id }
    }

    fn policy(max_retries: u32, budget: Option<f64>) -> RetryPolicy {
        RetryPolicy::new(
            ClientPolicy {
                timeout: None,
                max_retries,
                backoff: 0.025,
                max_backoff: 0.1,
                retry_budget: budget,
                min_retry_concurrency: 2,
                retry_on: RetryOn { failed: true, timeout: true, dropped: false },
                avoid_previous: false,
                overall_timeout: None,
                hedge: None,
            },
            rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1),
        )
    }

    #[test]
    fn retries_are_limited_by_count_condition_and_budget() {
        let mut calls = Calls::default();
        let p = policy(2, None);
        let c = calls.open(req(0), None, 0.0);
        assert!(p.may_retry(calls.get(c), Failure::Failed, &calls));
        assert!(!p.may_retry(calls.get(c), Failure::Dropped, &calls));
        calls.get_mut(c).attempts = 3;
        assert!(!p.may_retry(calls.get(c), Failure::TimedOut, &calls));

        // 10% of 30 live calls = 3 concurrent retries (above the minimum of 2).
        let p = policy(5, Some(10.0));
        let ids: Vec<CallId> = (0..30).map(|i| calls.open(req(i), None, 0.0)).collect();
        calls.close(c);
        for &c in &ids[..3] {
            assert!(p.may_retry(calls.get(c), Failure::Failed, &calls));
            calls.get_mut(c).retrying = true;
            calls.active_retries += 1;
        }
        assert!(!p.may_retry(calls.get(ids[3]), Failure::Failed, &calls));
        // A call already on a retry does not need a new place.
        assert!(p.may_retry(calls.get(ids[0]), Failure::Failed, &calls));
        calls.close(ids[0]);
        assert_eq!(calls.active_retries, 2);
    }

    #[test]
    fn slots_are_reused_with_a_fresh_generation() {
        let mut calls = Calls::default();
        let a = calls.open(req(0), None, 0.0);
        let g = calls.get(a).attempt_gen;
        calls.close(a);
        let b = calls.open(req(1), None, 0.0);
        assert_eq!(a, b);
        assert_ne!(calls.get(b).attempt_gen, g);
    }

    #[test]
    fn backoff_is_jittered_exponential_and_capped() {
        let mut p = policy(5, None);
        for k in 1..=6 {
            let cap = (0.025 * 2f64.powi(k - 1)).min(0.1);
            let xs: Vec<f64> = (0..2000).map(|_| p.backoff(k as u32)).collect();
            assert!(xs.iter().all(|&x| (0.0..cap).contains(&x)));
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            // Uniform on [0, cap): mean cap/2, sd cap/√12 per draw.
            let se = cap / 12f64.sqrt() / (xs.len() as f64).sqrt();
            assert!((mean - cap / 2.0).abs() < 5.0 * se, "k {k}: mean {mean}");
        }
    }
}
