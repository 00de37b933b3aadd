//! `[balancer_queue]`: servers capped by their `max_connections` at the balancer, and the
//! requests that wait there for a slot — HAProxy's `maxconn` with `timeout queue`, read in
//! HAProxy 2.6's `src/backend.c` (`assign_server`, `assign_server_and_queue`) and
//! `src/queue.c` (`pendconn_add`, `process_srv_queue`, `pendconn_process_next_strm`,
//! `pendconn_redistribute`, `pendconn_grab_from_px`).
//!
//! - A server holds at most `max_connections` attempts sent by the balancer and not yet
//!   answered (HAProxy's `served`; a server without it has no cap). What it does with them
//!   is its own business: its workers and its own queue.
//! - A strategy that does not route by key picks among the servers below their cap (HAProxy's
//!   round-robin, least-connections and `first` trees skip full servers; lbsim asks the
//!   strategy again, see `balancer/avoid.rs`). When every usable server is full the request
//!   waits in the **backend queue** (`assign_server` returns `SRV_STATUS_FULL`,
//!   `pendconn_add` with no server).
//! - A hash strategy picks its server whatever its load; if that server is full or already
//!   has requests waiting, the request waits in **that server's queue**
//!   (`assign_server_and_queue`: `srv->queue.length || srv->served >= maxconn`).
//! - When an attempt ends at a server (answered, failed, or abandoned by its client) its
//!   slot is free, and the server takes the **oldest** request of its own queue and of the
//!   backend queue, while it is below its cap (`process_srv_queue`; the backend queue only
//!   if the server is usable). HAProxy orders a queue by priority class, then by the time a
//!   request was queued (`MAKE_KEY`); every request has the default priority here, so the
//!   order is first come, first served, across both queues.
//! - A server that becomes eligible again takes what the backend queue holds up to its cap
//!   (`pendconn_grab_from_px`); one that leaves hands its own queue back to the balancer,
//!   which routes those requests again (`pendconn_redistribute` with `option redispatch`).
//! - A server ramping in under HAProxy's slow start has a lower limit, read at every
//!   dispatch from the clock's whole seconds since it came back (`srv_dynamic_maxconn`,
//!   src/queue.c); its warm-up task, every second from its return, takes from the backend
//!   queue what the limit then allows (`server_warmup` → `pendconn_grab_from_px`). Between
//!   a step of the limit and the next run of the task, the room goes to the server's next
//!   freed slot, or to a new request — except under HAProxy's `roundrobin`, `static-rr` and
//!   `first` (lbsim `round-robin`, `weighted-round-robin`, `first`), which send a new
//!   request straight to a non-empty backend queue when something is being served
//!   (`assign_server`: `be->queue.length && be->queue.length != be->beconn`). lbsim applies
//!   that rule in runs where such a ramp exists: elsewhere a server never has room while
//!   requests wait (a freed slot is taken at once), but for panic mode, where lbsim keeps
//!   letting a new request take a free slot. See `engine/slow_start.rs`.
//! - A request that has waited `timeout` fails with a 503 (HAProxy `timeout queue`): counted
//!   as `dropped` (a retry policy may retry it: `retry_on` `"dropped"`), and as a queue
//!   timeout in `policies.csv`. A client timeout runs from the send, so it also covers the
//!   wait; an attempt that times out while waiting leaves the queue.
//!
//! - With `handover`, a slot freed at a server is free at the balancer only that much later
//!   (an event), and only then taken by a waiting request or a new one; nothing new reaches
//!   the server through it meanwhile. HAProxy releases the slot when the stream's server side is closed
//!   (`process_stream`: `SC_ST_DIS` → `sess_change_server(s, NULL)`, `process_srv_queue`),
//!   after it has read and forwarded the response; the stream it hands the slot to is woken
//!   (`task_instant_wakeup(…, TASK_WOKEN_RES)`), runs, connects to the server (a new
//!   connection per request with `option http-server-close`) and sends the request, which
//!   the server then accepts and reads. A request that found a free slot pays the same
//!   connect before its server sees it. Both are the time a slot is taken while its server
//!   is not serving: `handover` is their sum, measured on loopback by
//!   `scripts/validate-real.sh` (docs/validation.md). Response times do not include it
//!   (lbsim has no connection time without `[network]`; a real measurement's calibration
//!   overhead holds it), only the longer waits it causes.
//!
//! Differences from HAProxy: no `maxqueue` (a server queue's bound), no `minconn`/
//! `fullconn` (dynamic limits), no priority classes, no backup servers; the request goes to
//! the server that freed the slot (as HAProxy's); the strategies' own counts (least
//! connections) fall at the answer, not at the end of the handover.
//!
//! Waiting attempts are entries (call, attempt generation, time queued); one abandoned by
//! its client or expired stays in its queue as a stale entry, skipped when reached.

use std::collections::VecDeque;

use super::calls::Failure;
use super::events::{AttemptGen, CallId, EventKind};
use super::{Simulation, slow_start};
use crate::scenario::BalancerQueue;
use crate::stats::PolicyStats;
use crate::strategy::{RequestView, ServerInfo};
use crate::workload::Request;

/// Where an attempt waits, as stored in `Call::queued`: 0 = not waiting.
pub(super) struct Place;

impl Place {
    /// Not waiting.
    pub(super) const NONE: u32 = 0;
    /// The backend queue.
    pub(super) const BACKEND: u32 = 1;

    /// Server `s`'s queue.
    fn server(s: usize) -> u32 {
        s as u32 + 2
    }
}

/// An attempt waiting at the balancer.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    call: CallId,
    attempt_gen: AttemptGen,
    /// When it was queued, s.
    since: f64,
}

/// HAProxy's slow start of the servers' limits.
struct LimitRamps {
    /// `max_connections` of each server (`u32::MAX`: none).
    max: Vec<u32>,
    /// Each server's ramp while it lasts: the whole second it came back (`last_change`)
    /// and the window in seconds.
    ramp: Vec<Option<(f64, u32)>>,
    /// Whether each server's warm-up task runs (every second from the return, until the
    /// window has passed).
    warming: Vec<bool>,
}

/// The caps, the attempts each server holds from the balancer, and the queues.
pub(super) struct Queues {
    /// The limit of each server now: its `max_connections` (`u32::MAX`: none), or
    /// HAProxy's while its slow start ramps it.
    cap: Vec<u32>,
    /// HAProxy's slow start of the limits (boxed: `oldest` moves the queues).
    ramps: Box<LimitRamps>,
    /// HAProxy's `roundrobin`/`first` rule: a new request joins a non-empty backend queue
    /// (only in runs with a HAProxy ramp of limits; see the module documentation).
    queue_first: bool,
    /// Attempts sent to each server and not yet ended (HAProxy `served`).
    served: Vec<u32>,
    /// The backend queue.
    backend: VecDeque<Waiting>,
    /// Each server's own queue (hash strategies only).
    own: Vec<VecDeque<Waiting>>,
    /// Live (not stale) entries in each server's queue.
    own_live: Vec<u32>,
    /// Live entries in every queue.
    live: u64,
    /// Whether the strategy routes by key (a full server's requests wait in its own queue).
    keyed: bool,
    /// `timeout queue`, s.
    timeout: Option<f64>,
    /// `handover`, s: a freed slot is free at the balancer this much later.
    handover: Option<f64>,
    /// Time of the last change of `live`.
    last_t: f64,
    /// Figures of the measured window.
    pub(super) stats: PolicyStats,
}

impl Queues {
    /// The queues of `cfg` in front of `servers`, for a strategy that routes by key or not.
    pub(super) fn new(cfg: BalancerQueue, servers: &[ServerInfo], keyed: bool) -> Self {
        let n = servers.len();
        let max: Vec<u32> = servers.iter().map(|s| s.max_connections.unwrap_or(u32::MAX)).collect();
        Queues {
            cap: max.clone(),
            ramps: Box::new(LimitRamps { max, ramp: vec![None; n], warming: vec![false; n] }),
            queue_first: false,
            served: vec![0; n],
            backend: VecDeque::new(),
            own: if keyed { (0..n).map(|_| VecDeque::new()).collect() } else { Vec::new() },
            own_live: vec![0; if keyed { n } else { 0 }],
            live: 0,
            keyed,
            timeout: cfg.timeout,
            handover: cfg.handover,
            last_t: 0.0,
            stats: PolicyStats::default(),
        }
    }

    /// Whether `s` takes a new attempt now: below its limit, nobody waiting for it.
    fn has_room(&self, s: usize) -> bool {
        self.served[s] < self.cap[s] && (!self.keyed || self.own_live[s] == 0)
    }

    /// Whether `s` has a `max_connections`.
    pub(super) fn has_limit(&self, s: usize) -> bool {
        self.ramps.max[s] != u32::MAX
    }

    /// Whether the warm-up task of `s` runs.
    pub(super) fn warming(&self, s: usize) -> bool {
        self.ramps.warming[s]
    }

    /// The warm-up task of `s` has run for the last time.
    pub(super) fn warmed(&mut self, s: usize) {
        self.ramps.warming[s] = false;
    }

    /// Starts the ramp of the limit of `s`, back at `now`, over a HAProxy slow start of
    /// `window` seconds (`None`: no ramp, the limit is whole). Returns the next whole
    /// second, when the limit steps next.
    pub(super) fn ramp_limit(&mut self, s: usize, start: Option<u32>, now: f64) -> Option<f64> {
        self.ramps.ramp[s] = start.map(|window| (now.floor(), window));
        self.ramps.warming[s] = start.is_some();
        self.step_limit(s, now)
    }

    /// Sets the limit of `s` at `now`: HAProxy's `srv_dynamic_maxconn`, `now.tv_sec −
    /// last_change` whole seconds into the ramp (lbsim's clock taken as the wall clock).
    /// Returns when it steps next (`None`: it is whole, the ramp is over).
    pub(super) fn step_limit(&mut self, s: usize, now: f64) -> Option<f64> {
        let r = &mut self.ramps;
        let Some((since, window)) = r.ramp[s] else {
            self.cap[s] = r.max[s];
            return None;
        };
        let elapsed = (now.floor() - since).clamp(0.0, f64::from(window)) as u32;
        self.cap[s] = slow_start::haproxy_maxconn(r.max[s], elapsed, window);
        if elapsed >= window {
            r.ramp[s] = None;
            return None;
        }
        Some(since + f64::from(elapsed) + 1.0)
    }

    /// Applies HAProxy's `roundrobin`/`first` rule (a new request joins a non-empty backend
    /// queue): for those strategies, in runs with a HAProxy ramp of limits.
    pub(super) fn set_queue_first(&mut self) {
        self.queue_first = !self.keyed;
    }

    /// Integrates the number waiting up to `now` (counted only while `measuring`).
    fn advance(&mut self, now: f64, measuring: bool) {
        if measuring {
            self.stats.queue_area += self.live as f64 * (now - self.last_t);
        }
        self.last_t = now;
    }

    /// Starts the measured window at `now`.
    pub(super) fn start_window(&mut self, now: f64) {
        self.last_t = now;
        self.stats = PolicyStats { queue_max: self.live, ..PolicyStats::default() };
    }

    /// Ends the run at `now`.
    pub(super) fn finish(&mut self, now: f64) -> PolicyStats {
        self.advance(now, true);
        self.stats
    }

    /// One attempt more sent to `s` (admitted by it).
    #[inline]
    pub(super) fn sent(&mut self, s: usize) {
        self.served[s] += 1;
    }
}

impl<const FULL: bool> Simulation<FULL> {
    /// Sends attempt `attempt_gen` of `call` (request `req`) through a balancer with a queue:
    /// to a server with room, or into a queue (see the module documentation).
    pub(super) fn send_or_queue(&mut self, req: Request, call: CallId, attempt_gen: AttemptGen) {
        let view = RequestView { id: req.id, arrival: self.now, key: req.key, hash: req.hash, balancer: 0 };
        let q = self.queue.as_ref().expect("a balancer queue");
        let place = if q.keyed {
            let s = self.balancer.pick::<true>(&view);
            if q.has_room(s) { Ok(s) } else { Err(Place::server(s)) }
        } else if q.queue_first && q.live > 0 && q.served.iter().any(|&n| n > 0) {
            // assign_server: with requests waiting and some served, roundrobin and first
            // know every server is full and queue the request without looking.
            Err(Place::BACKEND)
        } else {
            let tried: &[u32] = self.tried.as_ref().map_or(&[], |t| &t[call.slot()]);
            // With `avoid_previous`, a server with room that the request has not tried; if
            // every untried one is full, any with room (the request is not held back).
            let pick = match self.balancer.pick_avoiding(&view, &mut |s| !q.has_room(s) || tried.contains(&(s as u32)))
            {
                None if !tried.is_empty() => self.balancer.pick_avoiding(&view, &mut |s| !q.has_room(s)),
                s => s,
            };
            match pick {
                Some(s) => Ok(s),
                None => Err(Place::BACKEND),
            }
        };
        if let (Ok(s), Some(t)) = (place, &mut self.tried) {
            t[call.slot()].push(s as u32);
        }
        match place {
            Ok(s) => self.offer::<false>(s, 0, req.id, req.arrival, req.demand, Some(call), attempt_gen),
            Err(place) => self.enqueue(call, attempt_gen, place),
        }
    }

    /// Attempt `attempt_gen` of `call` waits at `place`; its client timeout and its queue
    /// timeout start now.
    fn enqueue(&mut self, call: CallId, attempt_gen: AttemptGen, place: u32) {
        let now = self.now;
        let measuring = self.rec.measuring;
        let q = self.queue.as_mut().expect("a balancer queue");
        q.advance(now, measuring);
        let w = Waiting { call, attempt_gen, since: now };
        if place == Place::BACKEND {
            q.backend.push_back(w);
        } else {
            let s = (place - 2) as usize;
            q.own[s].push_back(w);
            q.own_live[s] += 1;
        }
        q.live += 1;
        if measuring {
            q.stats.queue_max = q.stats.queue_max.max(q.live);
        }
        if let Some(t) = q.timeout {
            self.events.push(now + t, EventKind::QueueTimeout { call, attempt_gen });
        }
        let c = self.calls.get_mut(call);
        c.queued = place;
        c.sent = now;
        if let Some(t) = self.fail.timeout
            && !c.timer_set
        {
            c.timer_set = true;
            self.events.push_fifo(now + t, EventKind::Timeout { call, attempt_gen });
        }
    }

    /// The waiting attempt of `call` leaves its queue without being sent (its request
    /// ended).
    pub(super) fn leave_queue(&mut self, call: CallId) {
        self.unqueue(call);
    }

    /// Takes the waiting attempt of `call` out of its queue (it is sent, or it ends).
    fn unqueue(&mut self, call: CallId) {
        let now = self.now;
        let measuring = self.rec.measuring;
        let q = self.queue.as_mut().expect("a balancer queue");
        let c = self.calls.get_mut(call);
        debug_assert_ne!(c.queued, Place::NONE);
        q.advance(now, measuring);
        q.live -= 1;
        if c.queued != Place::BACKEND {
            q.own_live[(c.queued - 2) as usize] -= 1;
        }
        c.queued = Place::NONE;
    }

    /// Whether `w` is still waiting (not abandoned, expired or moved).
    fn is_live(&self, w: &Waiting) -> bool {
        let c = self.calls.get(w.call);
        c.attempt_gen == w.attempt_gen && c.queued != Place::NONE
    }

    /// The oldest live entry at the head of the backend queue (`backend`) or of server `s`'s
    /// queue (`own`), stale heads dropped on the way; `true` in the pair when it is the
    /// backend's.
    fn oldest(&mut self, s: usize, own: bool, backend: bool) -> Option<(Waiting, bool)> {
        let mut q = self.queue.take().expect("a balancer queue");
        let head = |d: &mut VecDeque<Waiting>| {
            while let Some(w) = d.front() {
                if self.is_live(w) {
                    return Some(*w);
                }
                d.pop_front();
            }
            None
        };
        let own = if own && q.keyed { head(&mut q.own[s]) } else { None };
        let px = if backend { head(&mut q.backend) } else { None };
        let pick = match (own, px) {
            (None, None) => None,
            (Some(o), None) => Some((o, false)),
            (None, Some(p)) => Some((p, true)),
            // HAProxy keeps the server's when both were queued at the same time.
            (Some(o), Some(p)) => Some(if o.since <= p.since { (o, false) } else { (p, true) }),
        };
        if let Some((_, from_backend)) = pick {
            if from_backend {
                q.backend.pop_front()
            } else {
                q.own[s].pop_front()
            };
        }
        self.queue = Some(q);
        pick
    }

    /// A slot of `s` is free (an attempt there ended at `now`): at once, or after the
    /// handover, it takes waiting attempts while it is below its cap (`process_srv_queue`).
    pub(super) fn slot_freed(&mut self, s: usize) {
        let q = self.queue.as_mut().expect("a balancer queue");
        match q.handover {
            None => self.slot_released(s),
            Some(h) => self.events.push(self.now + h, EventKind::SlotReleased { server: s as u32 }),
        }
    }

    /// The balancer has released a slot of `s`: the server takes waiting attempts while it
    /// is below its cap.
    pub(super) fn slot_released(&mut self, s: usize) {
        let q = self.queue.as_mut().expect("a balancer queue");
        q.served[s] -= 1;
        self.take_waiting(s);
    }

    /// Server `s` takes waiting attempts while it is below its cap: from its own queue, and
    /// from the backend queue if it is usable.
    fn take_waiting(&mut self, s: usize) {
        let backend = self.balancer.usable(s);
        self.take_from(s, true, backend);
    }

    /// HAProxy's warm-up task after a step of `s`'s limit: `s`, if usable, takes from the
    /// backend queue (not its own) while it is below its limit (`pendconn_grab_from_px`).
    pub(super) fn grab_from_backend(&mut self, s: usize) {
        if self.balancer.usable(s) {
            self.take_from(s, false, true);
        }
    }

    /// `s` takes waiting attempts from its own queue (`own`) and the backend queue
    /// (`backend`), the oldest first, while it is below its limit.
    fn take_from(&mut self, s: usize, own: bool, backend: bool) {
        loop {
            let q = self.queue.as_ref().expect("a balancer queue");
            if q.served[s] >= q.cap[s] {
                return;
            }
            let Some((w, _)) = self.oldest(s, own, backend) else { return };
            self.unqueue(w.call);
            let c = *self.calls.get(w.call);
            if c.req.id >= self.rec.warmup {
                let q = self.queue.as_mut().expect("a balancer queue");
                q.stats.queued += 1;
                q.stats.queue_wait_sum += self.now - w.since;
            }
            self.offer::<false>(s, 0, c.req.id, c.req.arrival, c.req.demand, Some(w.call), w.attempt_gen);
        }
    }

    /// `s` changed eligibility: back in, it takes from the backend queue up to its cap
    /// (`pendconn_grab_from_px`); out, the attempts waiting for it are routed again
    /// (`pendconn_redistribute`).
    pub(super) fn queue_eligibility(&mut self, s: usize) {
        if self.balancer.usable(s) {
            self.take_waiting(s);
            return;
        }
        let q = self.queue.as_mut().expect("a balancer queue");
        if !q.keyed {
            return;
        }
        let waiting: Vec<Waiting> = q.own[s].drain(..).collect();
        for w in waiting {
            if !self.is_live(&w) {
                continue;
            }
            self.unqueue(w.call);
            let req = self.calls.get(w.call).req;
            self.send_or_queue(req, w.call, w.attempt_gen);
        }
    }

    /// The queue timeout of attempt `attempt_gen` of `call`: if it is still waiting, it
    /// fails with a 503 (`dropped`).
    pub(super) fn queue_timeout(&mut self, call: CallId, attempt_gen: AttemptGen) {
        let c = *self.calls.get(call);
        if c.attempt_gen != attempt_gen || c.queued == Place::NONE {
            return;
        }
        self.unqueue(call);
        if c.req.id >= self.rec.warmup {
            self.queue.as_mut().expect("a balancer queue").stats.queue_timeouts += 1;
        }
        self.attempt_ended_unsent(c.req.id, call, Failure::Dropped);
    }

    /// The client gave up on attempt `attempt_gen` of `call` while it waited at the
    /// balancer: it leaves the queue. Returns whether it was waiting.
    pub(super) fn abandon_waiting(&mut self, call: CallId, attempt_gen: AttemptGen) -> bool {
        let c = *self.calls.get(call);
        if self.queue.is_none() || c.attempt_gen != attempt_gen || c.queued == Place::NONE {
            return false;
        }
        self.unqueue(call);
        self.attempt_ended_unsent(c.req.id, call, Failure::TimedOut);
        true
    }
}

impl<const FULL: bool> Simulation<FULL> {
    /// `[client] avoid_previous`: a server for `view` that `call` has not tried yet while
    /// one is usable (else the strategy's own pick), recorded as tried.
    pub(super) fn pick_untried(&mut self, view: &RequestView, call: CallId) -> usize {
        let tried = &mut self.tried.as_mut().expect("avoid_previous")[call.slot()];
        let s = if tried.is_empty() {
            self.balancer.pick::<true>(view)
        } else {
            let t: &[u32] = tried;
            match self.balancer.pick_avoiding(view, &mut |s| t.contains(&(s as u32))) {
                Some(s) => s,
                None => self.balancer.pick::<true>(view),
            }
        };
        self.tried.as_mut().expect("avoid_previous")[call.slot()].push(s as u32);
        s
    }
}
