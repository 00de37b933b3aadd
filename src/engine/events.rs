//! The time-ordered event queue.
//!
//! A binary min-heap on (time, sequence number): events at the same instant come out in
//! the order they were scheduled, so a run is deterministic. The pair is kept as one
//! 128-bit key (the time's bits mapped to an unsigned integer that orders as `total_cmp`
//! does, then the sequence number), so a comparison is one integer comparison, and the
//! heap is sifted by hand (a hole moved down to a leaf, then up: one comparison per level
//! on the way down, where most removed entries belong). Arrivals of the open workload
//! are not queued here (they come in order from the request stream and the engine merges
//! them with the heap); everything else — departures, faults, health checks, timeouts,
//! retries, closed-loop client sends — is an [`EventKind`].

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::num::NonZeroU32;

use super::departures::{EMPTY, SlotTree};

/// A slot of the engine's call table: a request followed across attempts (timeouts,
/// retries or a closed loop). Four bytes, and so is `Option<CallId>` (slots are numbered
/// from 1, so zero is free for `None`): a [`Job`] stays 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallId(NonZeroU32);

impl CallId {
    /// The id of slot `slot` (≥ 1) of the call table.
    #[inline]
    pub(super) fn new(slot: usize) -> Self {
        let slot = u32::try_from(slot).ok().and_then(NonZeroU32::new);
        CallId(slot.expect("call slots are numbered 1 to 2³² − 1"))
    }

    /// The slot's position in the call table.
    #[inline]
    pub(super) fn slot(self) -> usize {
        self.0.get() as usize
    }
}

/// A server's schedule generation: bumped whenever the finish times already scheduled at
/// the server stop being valid (a crash empties it, a change of speed moves them). A
/// [`EventKind::Departure`] that carries an older generation is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleGen(u32);

impl ScheduleGen {
    /// The first generation.
    pub const FIRST: Self = ScheduleGen(0);

    /// The generation after this one.
    #[inline]
    pub fn next(self) -> Self {
        ScheduleGen(self.0.wrapping_add(1))
    }
}

/// A call's attempt generation: counts the attempts that ended in its slot of the call
/// table (never reset when the slot is reused), so a job, a timeout or a retry names
/// exactly one attempt; once the call's generation has moved on, they are stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptGen(u32);

impl AttemptGen {
    /// The first generation.
    pub const FIRST: Self = AttemptGen(0);

    /// The generation after this one.
    #[inline]
    pub fn next(self) -> Self {
        AttemptGen(self.0.wrapping_add(1))
    }
}

/// A request attempt as it travels through a server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Job {
    /// Request sequence number.
    pub id: u64,
    /// Arrival time of the request at the balancer (its first attempt).
    pub arrival: f64,
    /// Service time at the chosen server at its nominal speed (demand / speed).
    pub service: f64,
    /// The request's slot in the call table; `None` when the engine does not follow
    /// requests across attempts (no timeouts, retries or closed loop configured).
    pub call: Option<CallId>,
    /// The call's attempt generation when this attempt was sent: if the call has moved on
    /// (the attempt timed out), the job is abandoned and its completion is ignored.
    pub attempt_gen: AttemptGen,
}

/// What happens at an event. Payloads are small (the job itself stays in the server's
/// worker slot), so the heap moves 32-byte events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum EventKind {
    /// The job in `worker` of `server` finishes service. Stale if `schedule_gen` is no
    /// longer the server's (a crash or a speed change rescheduled its jobs).
    Departure {
        /// Server index.
        server: u32,
        /// Worker slot.
        worker: u32,
        /// The server's schedule generation when scheduled.
        schedule_gen: ScheduleGen,
    },
    /// Fault window `window` starts (`start`) or ends.
    Fault {
        /// Index into the run's fault windows.
        window: u32,
        /// Start (true) or end.
        start: bool,
    },
    /// An active health check of `server` is sent.
    Probe {
        /// Server index.
        server: u32,
    },
    /// The check's answer (or its timeout) arrives.
    ProbeResult {
        /// Server index.
        server: u32,
        /// Passed?
        ok: bool,
    },
    /// The client's timeout of the call's attempt `attempt_gen` expires.
    Timeout {
        /// The call.
        call: CallId,
        /// Attempt generation it guards.
        attempt_gen: AttemptGen,
    },
    /// The backoff before a retry of the call is over: send it.
    Retry {
        /// The call.
        call: CallId,
        /// Attempt generation it belongs to.
        attempt_gen: AttemptGen,
    },
    /// `[client] hedge_after` has passed: send a copy of the call's attempt.
    Hedge {
        /// The call.
        call: CallId,
        /// Attempt generation it belongs to.
        attempt_gen: AttemptGen,
    },
    /// A closed-loop client sends its next request.
    ClientSend {
        /// Client index.
        client: u32,
    },
    /// Outlier detection's periodic sweep (returns ejected servers whose time is up).
    OutlierSweep,
    /// Slow start: the next weight step of a recovering server.
    SlowStartStep {
        /// Server index.
        server: u32,
        /// The ramp it belongs to: stale once the server's eligibility has changed again.
        ramp_gen: u32,
    },
    /// HAProxy's slow start: the clock reaches a whole second, the next step of a
    /// recovering server's limit at the balancer queue (`srv_dynamic_maxconn`).
    LimitStep {
        /// Server index.
        server: u32,
        /// The ramp it belongs to: stale once the server's eligibility has changed again.
        ramp_gen: u32,
    },
    /// Cold start: the next step of a (re)started server's warm-up.
    ColdStep {
        /// Server index.
        server: u32,
        /// The start it belongs to: stale once the server has started again.
        cold_gen: u32,
    },
    /// `[network] to_server`: the call's attempt reaches its server (skipped if the client
    /// gave up on it meanwhile).
    Deliver {
        /// The call.
        call: CallId,
        /// Attempt generation it belongs to.
        attempt_gen: AttemptGen,
    },
    /// `[network] from_server`: the server's answer to the call's attempt reaches the
    /// balancer (ignored if the client gave up on it meanwhile).
    Reply {
        /// The call.
        call: CallId,
        /// Attempt generation it answers.
        attempt_gen: AttemptGen,
        /// What the server answered.
        answer: Answer,
    },
    /// A periodic view's snapshot is refreshed.
    Refresh,
    /// `[clients] max_age`: connection slot `conn` reaches its age (stale once the slot's
    /// generation `conn_gen` has moved on, i.e. the connection closed).
    ConnAge {
        /// Connection slot.
        conn: u32,
        /// The slot's generation when the connection opened.
        conn_gen: u32,
    },
    /// `[clients] idle_timeout`: connection slot `conn` may have been idle long enough.
    ConnIdle {
        /// Connection slot.
        conn: u32,
        /// The slot's generation when the check was set.
        conn_gen: u32,
    },
    /// `[clients] handshake`: the connection the call was sent on is established, so the
    /// call goes on to the balancer or its server.
    Handshake {
        /// The call.
        call: CallId,
        /// Attempt generation it belongs to.
        attempt_gen: AttemptGen,
    },
    /// A step of the life of the pod holding `server` (`[autoscaler]`); stale unless `pod` is
    /// still the place's pod.
    Pod {
        /// Server index (the pod's place).
        server: u32,
        /// The pod's number at that place.
        pod: u32,
        /// What happens.
        step: PodStep,
    },
    /// metrics-server scrapes every pod (`[autoscaler] metric_window`).
    Scrape,
    /// The HPA controller's sync (`[autoscaler] sync_period`).
    HpaSync,
    /// `[client] overall_timeout`: the call's whole time is up (ignored if the call it was
    /// set for, named by its incarnation, has ended).
    OverallTimeout {
        /// The call.
        call: CallId,
        /// The call's incarnation when it was set.
        incarnation: u32,
    },
    /// `[balancer_queue] timeout`: the call's attempt has waited at the balancer for the
    /// queue timeout (ignored if it left the queue meanwhile).
    QueueTimeout {
        /// The call.
        call: CallId,
        /// Attempt generation it belongs to.
        attempt_gen: AttemptGen,
    },
    /// `[balancer_queue] handover`: a slot of the server, freed there a handover ago, is
    /// free at the balancer.
    SlotReleased {
        /// Server index.
        server: u32,
    },
}

/// A step of a pod's life (`engine::pool_life`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PodStep {
    /// Provisioned: the container runs (not yet ready).
    Running,
    /// Its readiness probe passed `readiness_threshold` times: balancers may send to it.
    Ready,
    /// Its deregistration delay is over: balancers stop sending to it.
    Deregister,
    /// Its grace period is over: what it still holds is reset and it is gone.
    Kill,
    /// Out of the endpoints, it has finished what it held: it exits.
    Exit,
}

/// What a server answered to an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// The response.
    Completed,
    /// Connection refused, or reset by a crash.
    Failed,
    /// Its queue was full (a 503).
    Dropped,
}

/// A scheduled event.
#[derive(Debug, Clone, Copy)]
pub(super) struct Event {
    /// Simulated time, seconds.
    pub time: f64,
    seq: u64,
    /// What happens.
    pub kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        other.time.total_cmp(&self.time).then_with(|| other.seq.cmp(&self.seq))
    }
}

/// An event as the queue holds it (32 bytes): (time, sequence) as one ordered key.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u128,
    kind: EventKind,
}

/// The key of an event at `time` scheduled `seq`-th: the bits of `time` as an unsigned
/// integer ordered as `f64::total_cmp` orders the numbers (flip the sign bit of a positive
/// number, every bit of a negative one), then the sequence number.
#[inline(always)]
fn key_of(time: f64, seq: u64) -> u128 {
    let b = time.to_bits();
    let t = if (b as i64) < 0 { !b } else { b | (1 << 63) };
    (u128::from(t) << 64) | u128::from(seq)
}

/// The time of a key.
#[inline(always)]
fn time_of(key: u128) -> f64 {
    let t = (key >> 64) as u64;
    f64::from_bits(if t >> 63 == 1 { t & !(1 << 63) } else { !t })
}

impl Entry {
    #[inline(always)]
    fn new(time: f64, seq: u64, kind: EventKind) -> Self {
        Entry { key: key_of(time, seq), kind }
    }

    /// The time, from the key.
    #[inline(always)]
    fn time(&self) -> f64 {
        time_of(self.key)
    }

    #[inline(always)]
    fn event(self) -> Event {
        Event { time: self.time(), seq: self.key as u64, kind: self.kind }
    }
}

/// Puts `e` in the hole at `heap[k]` or above it: parents later than `e` move down into
/// the hole until the hole's parent is not.
#[inline(always)]
fn sift_up(heap: &mut [Entry], mut k: usize, e: Entry) {
    while k > 0 {
        let parent = (k - 1) / 2;
        if heap[parent].key <= e.key {
            break;
        }
        heap[k] = heap[parent];
        k = parent;
    }
    heap[k] = e;
}

/// The pending events: a heap, plus a FIFO lane for events scheduled a constant delay
/// after "now" (client timeouts), which therefore arrive in time order and need no heap.
/// Both lanes share the sequence numbers, so ties still resolve in scheduling order.
///
/// A plain run's queue ([`EventQueue::plain`]) holds nothing but departures, one per
/// busy worker at most: they live in a winner tree over the worker slots
/// (`departures.rs`) instead of the heap, in the same order.
#[derive(Debug, Default)]
pub(super) struct EventQueue {
    /// A binary min-heap on `key`.
    heap: Vec<Entry>,
    fifo: VecDeque<Entry>,
    seq: u64,
    /// A plain run's departures (then nothing else is scheduled).
    slots: Option<Box<SlotTree>>,
}

impl EventQueue {
    /// An empty queue with room for `capacity` events.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        EventQueue { heap: Vec::with_capacity(capacity), fifo: VecDeque::new(), seq: 0, slots: None }
    }

    /// An empty queue for a plain run on servers with `workers` workers each: it takes
    /// departures only (of `ScheduleGen::FIRST`), at most one per worker, and only
    /// [`push`](Self::push), [`next_time`](Self::next_time), [`pop`](Self::pop) and
    /// [`len`](Self::len) are used. Up to [`Self::TREE_MAX_WORKERS`] workers in all they
    /// are kept in a winner tree over the worker slots (`departures.rs`); with more, in
    /// the heap.
    pub(super) fn plain(workers: &[u32]) -> Self {
        let slots: u64 = workers.iter().map(|&w| u64::from(w)).sum();
        if slots > Self::TREE_MAX_WORKERS {
            return Self::with_capacity(slots as usize + 16);
        }
        EventQueue { slots: Some(Box::new(SlotTree::new(workers))), ..Self::with_capacity(0) }
    }

    /// Most workers whose departures a plain run keeps in the slot tree (beyond, the heap).
    /// Measured (`lbsim run`, one worker per server, ρ = 0.9, CPU time of the tree against
    /// the heap): round-robin −10 % at 16, 100 and 300 servers, equal at 1,000 to 10,000;
    /// p2c −11 % at 200; least-work-left and least-connections, whose O(log S) indexes
    /// share the cache with it, equal at 200 servers but +6 to +9 % at 300 and up to +15 %
    /// at 1,000.
    pub(super) const TREE_MAX_WORKERS: u64 = 256;

    /// Schedules `kind` at `time`.
    #[inline]
    pub(super) fn push(&mut self, time: f64, kind: EventKind) {
        self.seq += 1;
        if let Some(slots) = &mut self.slots {
            let EventKind::Departure { server, worker, schedule_gen } = kind else {
                unreachable!("a plain run schedules departures only")
            };
            debug_assert_eq!(schedule_gen, ScheduleGen::FIRST);
            return slots.set(server, worker, key_of(time, self.seq));
        }
        let e = Entry::new(time, self.seq, kind);
        let k = self.heap.len();
        self.heap.push(e);
        sift_up(&mut self.heap, k, e);
    }

    /// Schedules `kind` at `time` in the FIFO lane: `time` must not precede any event
    /// already in that lane.
    #[inline]
    pub(super) fn push_fifo(&mut self, time: f64, kind: EventKind) {
        debug_assert!(self.fifo.back().is_none_or(|e| e.time() <= time), "FIFO lane out of order");
        self.seq += 1;
        self.fifo.push_back(Entry::new(time, self.seq, kind));
    }

    /// Time of the earliest event in the heap, or +∞ (ignores the FIFO lane: for runs
    /// that never use it).
    #[inline]
    pub(super) fn next_time(&mut self) -> f64 {
        if let Some(slots) = &mut self.slots {
            let key = slots.first_key();
            return if key == EMPTY { f64::INFINITY } else { time_of(key) };
        }
        self.heap.first().map_or(f64::INFINITY, Entry::time)
    }

    /// Removes and returns the earliest event of the heap (ignores the FIFO lane).
    #[inline]
    pub(super) fn pop(&mut self) -> Option<Event> {
        if let Some(slots) = &mut self.slots {
            let (key, server, worker) = slots.take()?;
            let kind = EventKind::Departure { server, worker, schedule_gen: ScheduleGen::FIRST };
            return Some(Event { time: time_of(key), seq: key as u64, kind });
        }
        let last = self.heap.pop()?;
        let heap = &mut self.heap[..];
        let n = heap.len();
        if n == 0 {
            return Some(last.event());
        }
        let top = heap[0];
        // Move the hole at the root down to a leaf along the smaller children, then sift
        // `last` up from there (it usually belongs near the bottom).
        let mut k = 0;
        let mut child = 1;
        while child + 1 < n {
            child += usize::from(heap[child + 1].key < heap[child].key);
            heap[k] = heap[child];
            k = child;
            child = 2 * k + 1;
        }
        if child < n {
            heap[k] = heap[child];
            k = child;
        }
        sift_up(heap, k, last);
        Some(top.event())
    }

    /// Time of the earliest event in either lane, or +∞.
    #[inline]
    pub(super) fn next_time_all(&self) -> f64 {
        debug_assert!(self.slots.is_none(), "a departures queue is read with next_time");
        let heap = self.heap.first().map_or(f64::INFINITY, Entry::time);
        heap.min(self.fifo.front().map_or(f64::INFINITY, Entry::time))
    }

    /// Removes and returns the earliest event of either lane.
    #[inline]
    pub(super) fn pop_all(&mut self) -> Option<Event> {
        match (self.heap.first(), self.fifo.front()) {
            (Some(h), Some(f)) if f.key < h.key => self.fifo.pop_front().map(Entry::event),
            (None, Some(_)) => self.fifo.pop_front().map(Entry::event),
            _ => self.pop(),
        }
    }

    /// Number of pending events.
    pub(super) fn len(&self) -> usize {
        self.heap.len() + self.fifo.len() + self.slots.as_ref().map_or(0, |t| t.len())
    }

    /// The pending events of the heap and the FIFO lane, in no particular order (a plain
    /// run's departures, kept in the slot tree, are not among them).
    pub(super) fn pending(&self) -> impl Iterator<Item = EventKind> + '_ {
        self.heap.iter().chain(&self.fifo).map(|e| e.event().kind)
    }

    /// Whether no event is pending.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(server: u32) -> EventKind {
        EventKind::Departure { server, worker: 0, schedule_gen: ScheduleGen::FIRST }
    }

    #[test]
    fn events_and_jobs_stay_small() {
        assert!(std::mem::size_of::<Event>() <= 32, "{}", std::mem::size_of::<Event>());
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        assert_eq!(std::mem::size_of::<Option<CallId>>(), 4);
        assert!(std::mem::size_of::<Job>() <= 32, "{}", std::mem::size_of::<Job>());
    }

    #[test]
    fn call_ids_round_trip_their_slot() {
        for i in [1, 41, u32::MAX as usize] {
            assert_eq!(CallId::new(i).slot(), i);
        }
    }

    #[test]
    fn pops_in_time_then_fifo_order() {
        let mut q = EventQueue::with_capacity(4);
        q.push(2.0, dep(0));
        q.push(1.0, dep(1));
        q.push(2.0, dep(2));
        q.push(0.5, dep(3));
        let order: Vec<u32> = std::iter::from_fn(|| q.pop())
            .map(|e| match e.kind {
                EventKind::Departure { server, .. } => server,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![3, 1, 0, 2]);
    }

    #[test]
    fn pops_in_time_then_sequence_order_like_a_sort() {
        use rand::{RngExt, SeedableRng};
        // Random pushes and pops (times on a coarse grid, so ties are frequent, with zero
        // and negative times too): the queue pops exactly what a sort by (time, seq) does.
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        let mut q = EventQueue::with_capacity(0);
        let mut model: Vec<(f64, u32)> = Vec::new(); // (time, push order)
        let mut pushed = 0u32;
        for _ in 0..20_000 {
            if rng.random_range(0..3) > 0 || model.is_empty() {
                let t = f64::from(rng.random_range(-2..40i32)) * 0.5;
                q.push(t, dep(pushed));
                model.push((t, pushed));
                pushed += 1;
            } else {
                let i = (0..model.len())
                    .min_by(|&a, &b| model[a].0.total_cmp(&model[b].0).then(model[a].1.cmp(&model[b].1)))
                    .unwrap();
                let (t, id) = model.remove(i);
                assert_eq!(q.next_time(), t);
                let e = q.pop().unwrap();
                assert_eq!((e.time, e.kind), (t, dep(id)));
            }
            assert_eq!(q.len(), model.len());
        }
    }

    /// A plain run's queue (departures in a slot tree) pops exactly what the heap pops,
    /// ties included, and reports +∞ when empty.
    #[test]
    fn plain_queue_pops_as_the_heap() {
        use rand::{RngExt, SeedableRng};
        let workers = [1u32, 2, 1, 3];
        let mut tree = EventQueue::plain(&workers);
        assert!(tree.slots.is_some());
        let mut heap = EventQueue::with_capacity(0);
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(8);
        let mut busy = [false; 7];
        let slot = |s: u32, w: u32| [0, 1, 3, 4][s as usize] + w as usize;
        for _ in 0..10_000 {
            assert_eq!(tree.next_time(), heap.next_time());
            assert_eq!(tree.len(), heap.len());
            let s = rng.random_range(0..4u32);
            let w = rng.random_range(0..workers[s as usize]);
            if !busy[slot(s, w)] && rng.random_range(0..2) == 0 {
                busy[slot(s, w)] = true;
                let t = f64::from(rng.random_range(0..20u32)) * 0.25;
                let kind = EventKind::Departure { server: s, worker: w, schedule_gen: ScheduleGen::FIRST };
                tree.push(t, kind);
                heap.push(t, kind);
            } else if let Some(e) = heap.pop() {
                let f = tree.pop().unwrap();
                assert_eq!((f.time, f.seq, f.kind), (e.time, e.seq, e.kind));
                let EventKind::Departure { server, worker, .. } = e.kind else { unreachable!() };
                busy[slot(server, worker)] = false;
            }
        }
        while let Some(e) = heap.pop() {
            assert_eq!(tree.pop().map(|f| (f.time, f.seq)), Some((e.time, e.seq)));
        }
        assert_eq!(tree.next_time(), f64::INFINITY);
        assert!(tree.pop().is_none() && tree.is_empty());
    }

    #[test]
    fn fifo_lane_merges_by_time_then_sequence() {
        let mut q = EventQueue::with_capacity(4);
        q.push(2.0, dep(0));
        q.push_fifo(1.0, dep(1));
        q.push_fifo(2.0, dep(2));
        q.push(2.0, dep(3));
        q.push(0.5, dep(4));
        q.push_fifo(3.0, dep(5));
        assert_eq!(q.next_time_all(), 0.5);
        let order: Vec<u32> = std::iter::from_fn(|| q.pop_all())
            .map(|e| match e.kind {
                EventKind::Departure { server, .. } => server,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![4, 1, 0, 2, 3, 5]);
        assert!(q.is_empty());
    }
}
