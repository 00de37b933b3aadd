//! The time-ordered event queue.
//!
//! A binary min-heap on (time, sequence number): events at the same instant come out in
//! the order they were scheduled, so a run is deterministic. Arrivals of the open workload
//! are not queued here (they come in order from the request stream and the engine merges
//! them with the heap); everything else — departures, faults, health checks, timeouts,
//! retries, closed-loop client sends — is an [`EventKind`].

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Marks a job whose request is not tracked by the engine's call table (no timeouts,
/// retries or closed loop configured).
pub const NO_CALL: u32 = u32::MAX;

/// A request attempt as it travels through a server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Job {
    /// Request sequence number.
    pub id: u64,
    /// Arrival time of the request at the balancer (its first attempt).
    pub arrival: f64,
    /// Service time at the chosen server at its nominal speed (demand / speed).
    pub service: f64,
    /// Slot in the call table, or [`NO_CALL`].
    pub call: u32,
    /// The call's attempt generation when this attempt was sent: if the call has moved on
    /// (the attempt timed out), the job is abandoned and its completion is ignored.
    pub epoch: u32,
}

/// What happens at an event. Payloads are small (the job itself stays in the server's
/// worker slot), so the heap moves 32-byte events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind {
    /// The job in `worker` of `server` finishes service. Stale if `epoch` is no longer the
    /// server's generation (a crash or a speed change rescheduled its jobs).
    Departure {
        /// Server index.
        server: u32,
        /// Worker slot.
        worker: u32,
        /// The server's generation when scheduled.
        epoch: u32,
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
    /// The client's timeout of the call's attempt `epoch` expires.
    Timeout {
        /// Call slot.
        call: u32,
        /// Attempt generation it guards.
        epoch: u32,
    },
    /// The backoff before a retry of the call is over: send it.
    Retry {
        /// Call slot.
        call: u32,
        /// Attempt generation it belongs to.
        epoch: u32,
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
        /// The ramp it belongs to (stale if the server went down again).
        epoch: u32,
    },
}

/// A scheduled event.
#[derive(Debug, Clone, Copy)]
pub struct Event {
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

/// The pending events: a heap, plus a FIFO lane for events scheduled a constant delay
/// after "now" (client timeouts), which therefore arrive in time order and need no heap.
/// Both lanes share the sequence numbers, so ties still resolve in scheduling order.
#[derive(Debug, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Event>,
    fifo: VecDeque<Event>,
    seq: u64,
}

impl EventQueue {
    /// An empty queue with room for `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue { heap: BinaryHeap::with_capacity(capacity), fifo: VecDeque::new(), seq: 0 }
    }

    /// Schedules `kind` at `time`.
    #[inline]
    pub fn push(&mut self, time: f64, kind: EventKind) {
        self.seq += 1;
        self.heap.push(Event { time, seq: self.seq, kind });
    }

    /// Schedules `kind` at `time` in the FIFO lane: `time` must not precede any event
    /// already in that lane.
    #[inline]
    pub fn push_fifo(&mut self, time: f64, kind: EventKind) {
        debug_assert!(self.fifo.back().is_none_or(|e| e.time <= time), "FIFO lane out of order");
        self.seq += 1;
        self.fifo.push_back(Event { time, seq: self.seq, kind });
    }

    /// Time of the earliest event in the heap, or +∞ (ignores the FIFO lane: for runs
    /// that never use it).
    #[inline]
    pub fn next_time(&self) -> f64 {
        self.heap.peek().map_or(f64::INFINITY, |e| e.time)
    }

    /// Removes and returns the earliest event of the heap (ignores the FIFO lane).
    #[inline]
    pub fn pop(&mut self) -> Option<Event> {
        self.heap.pop()
    }

    /// Time of the earliest event in either lane, or +∞.
    #[inline]
    pub fn next_time_all(&self) -> f64 {
        self.next_time().min(self.fifo.front().map_or(f64::INFINITY, |e| e.time))
    }

    /// Removes and returns the earliest event of either lane.
    #[inline]
    pub fn pop_all(&mut self) -> Option<Event> {
        match (self.heap.peek(), self.fifo.front()) {
            (Some(h), Some(f)) if f > h => self.fifo.pop_front(),
            (None, Some(_)) => self.fifo.pop_front(),
            _ => self.heap.pop(),
        }
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len() + self.fifo.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.fifo.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(server: u32) -> EventKind {
        EventKind::Departure { server, worker: 0, epoch: 0 }
    }

    #[test]
    fn events_stay_small() {
        assert!(std::mem::size_of::<Event>() <= 32, "{}", std::mem::size_of::<Event>());
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
