//! The time-ordered event queue.
//!
//! A binary min-heap on (time, sequence number): events at the same instant come out in
//! the order they were scheduled, so a run is deterministic. Arrivals of the open workload
//! are not queued here (they come in order from the request stream and the engine merges
//! them with the heap); everything else — departures today, and later faults, health
//! checks, timeouts, retries, client think times — is an [`EventKind`].

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A request as it travels through a server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Job {
    /// Request sequence number.
    pub id: u64,
    /// Arrival time at the balancer.
    pub arrival: f64,
    /// Service time at the chosen server (demand / speed).
    pub service: f64,
    /// When service started (set at start).
    pub start: f64,
}

/// What happens at an event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind {
    /// `job` finishes service at `server`.
    Departure {
        /// Server index.
        server: u32,
        /// The finishing request.
        job: Job,
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

/// The pending events.
#[derive(Debug, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Event>,
    seq: u64,
}

impl EventQueue {
    /// An empty queue with room for `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue { heap: BinaryHeap::with_capacity(capacity), seq: 0 }
    }

    /// Schedules `kind` at `time`.
    #[inline]
    pub fn push(&mut self, time: f64, kind: EventKind) {
        self.seq += 1;
        self.heap.push(Event { time, seq: self.seq, kind });
    }

    /// Time of the earliest event, or +∞.
    #[inline]
    pub fn next_time(&self) -> f64 {
        self.heap.peek().map_or(f64::INFINITY, |e| e.time)
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<Event> {
        self.heap.pop()
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(server: u32) -> EventKind {
        EventKind::Departure { server, job: Job { id: 0, arrival: 0.0, service: 0.0, start: 0.0 } }
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
            })
            .collect();
        assert_eq!(order, vec![3, 1, 0, 2]);
    }
}
