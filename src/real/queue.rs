//! The backend's server model: `workers` slots and a FIFO waiting room of `queue_capacity`,
//! in wall-clock time — the same model as the simulator's server (`src/engine/server.rs`).
//!
//! The schedule is computed, not slept: a request admitted at `now` starts when the
//! earliest worker frees (or at once) and ends `service` seconds later, and a worker's next
//! request starts at the *scheduled* end of its previous one. A wait that overshoots its
//! deadline (a busy machine) therefore delays only that response's bytes, never the requests
//! queued behind it: overshoots do not accumulate into queueing delay.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Seconds as an orderable key (every time here is finite and ≥ 0).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Secs(f64);
impl Eq for Secs {}
impl PartialOrd for Secs {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Secs {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// A request's place in the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Admission {
    /// When its service starts, s (≥ the admission time).
    pub start: f64,
    /// When its service ends, s.
    pub end: f64,
    /// Requests at the server just after admitting it (itself included).
    pub in_system: u32,
}

/// One server's slots and waiting room.
#[derive(Debug, Clone)]
pub struct FifoServer {
    /// Scheduled end of the last request of each worker that has served one (a min-heap;
    /// the `workers − len` others have never served and are free since 0). A request takes
    /// the worker free earliest, in O(log workers): a backend of 100,000 workers (a
    /// zero-demand target for a load test) scanned them all for each request, ≈ 100 µs.
    free_at: BinaryHeap<Reverse<Secs>>,
    /// Workers (≥ 1).
    workers: usize,
    /// Scheduled starts of admitted requests not yet started (non-decreasing: FIFO).
    waiting: VecDeque<f64>,
    /// Scheduled ends of admitted requests not yet ended.
    ends: BinaryHeap<Reverse<Secs>>,
    capacity: u32,
}

impl FifoServer {
    /// A server with `workers` slots (≥ 1) and a waiting room of `queue_capacity`
    /// (0 = unbounded).
    pub fn new(workers: u32, queue_capacity: u32) -> Self {
        FifoServer {
            free_at: BinaryHeap::new(),
            workers: workers.max(1) as usize,
            waiting: VecDeque::new(),
            ends: BinaryHeap::new(),
            capacity: queue_capacity,
        }
    }

    /// Requests waiting (admitted, not started) at `now`.
    pub fn waiting_at(&mut self, now: f64) -> usize {
        while self.waiting.front().is_some_and(|&s| s <= now) {
            self.waiting.pop_front();
        }
        self.waiting.len()
    }

    /// Admits a request arriving at `now` (non-decreasing across calls) needing `service`
    /// seconds, or returns `None` when the waiting room is full (the request is dropped).
    pub fn admit(&mut self, now: f64, service: f64) -> Option<Admission> {
        while self.ends.peek().is_some_and(|Reverse(e)| e.0 <= now) {
            self.ends.pop();
        }
        if self.capacity > 0 && self.waiting_at(now) >= self.capacity as usize {
            return None;
        }
        // The earliest free worker: the heap's first if it is free by `now` or every worker
        // has served; else one that never served (free since 0). Two workers free by `now`
        // are interchangeable from then on (admissions come at non-decreasing times), so
        // which of them is taken changes no start or end.
        let earliest = self.free_at.peek().map(|Reverse(f)| f.0);
        let start = match earliest {
            Some(f) if f <= now || self.free_at.len() == self.workers => {
                self.free_at.pop();
                f.max(now)
            }
            _ => now,
        };
        let end = start + service.max(0.0);
        self.free_at.push(Reverse(Secs(end)));
        if start > now {
            self.waiting.push_back(start);
        }
        self.ends.push(Reverse(Secs(end)));
        Some(Admission { start, end, in_system: self.ends.len() as u32 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_worker_is_a_fifo_queue() {
        let mut s = FifoServer::new(1, 0);
        let a = s.admit(0.0, 1.0).unwrap();
        let b = s.admit(0.5, 2.0).unwrap();
        let c = s.admit(0.6, 0.5).unwrap();
        assert_eq!((a.start, a.end, a.in_system), (0.0, 1.0, 1));
        assert_eq!((b.start, b.end, b.in_system), (1.0, 3.0, 2));
        assert_eq!((c.start, c.end, c.in_system), (3.0, 3.5, 3));
        // After everything ended the server is empty again.
        let d = s.admit(10.0, 1.0).unwrap();
        assert_eq!((d.start, d.in_system), (10.0, 1));
    }

    #[test]
    fn two_workers_take_the_earliest_free() {
        let mut s = FifoServer::new(2, 0);
        assert_eq!(s.admit(0.0, 5.0).unwrap().start, 0.0);
        assert_eq!(s.admit(0.0, 1.0).unwrap().start, 0.0);
        // Both busy: waits for the worker free at 1.0.
        let c = s.admit(0.5, 1.0).unwrap();
        assert_eq!((c.start, c.end), (1.0, 2.0));
        let d = s.admit(0.5, 1.0).unwrap();
        assert_eq!((d.start, d.end), (2.0, 3.0));
    }

    #[test]
    fn full_waiting_room_drops() {
        let mut s = FifoServer::new(1, 2);
        s.admit(0.0, 10.0).unwrap(); // in service
        s.admit(0.1, 1.0).unwrap(); // waiting 1
        s.admit(0.2, 1.0).unwrap(); // waiting 2
        assert!(s.admit(0.3, 1.0).is_none());
        // Once the first has ended, one waiting request has started: room for one.
        assert!(s.admit(10.5, 1.0).is_some());
        assert!(s.admit(10.6, 1.0).is_none());
    }

    /// The heap schedules exactly as taking the minimum over every worker's free time does
    /// (the obvious model, written out here), on random arrivals and demands.
    #[test]
    fn heap_of_workers_schedules_as_a_scan_of_all_workers() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut uniform = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for workers in 1..=5u32 {
            for capacity in 0..=3u32 {
                let mut heap = FifoServer::new(workers, capacity);
                let mut free = vec![0.0f64; workers as usize];
                let mut waiting: Vec<f64> = Vec::new();
                let mut ends: Vec<f64> = Vec::new();
                let mut now = 0.0;
                for _ in 0..2_000 {
                    now += uniform() * 0.5;
                    let service = if uniform() < 0.1 { 0.0 } else { uniform() * 2.0 };
                    ends.retain(|&e| e > now);
                    waiting.retain(|&s| s > now);
                    let expected = if capacity > 0 && waiting.len() >= capacity as usize {
                        None
                    } else {
                        let (w, f) = free.iter().copied().enumerate().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
                        let start = f.max(now);
                        let end = start + service;
                        free[w] = end;
                        if start > now {
                            waiting.push(start);
                        }
                        ends.push(end);
                        Some(Admission { start, end, in_system: ends.len() as u32 })
                    };
                    assert_eq!(heap.admit(now, service), expected, "workers {workers}, capacity {capacity}, at {now}");
                }
            }
        }
    }
}
