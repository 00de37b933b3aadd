//! A server: workers, a FIFO waiting room, and its statistics over the measured window.

use std::collections::VecDeque;

use super::events::Job;
use crate::stats::ServerStats;
use crate::strategy::ServerInfo;

/// What happened to a request offered to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A worker was free: service starts now.
    Started,
    /// All workers busy: the request waits.
    Queued,
    /// The waiting room was full: the request is dropped.
    Dropped,
}

/// Live state of one server.
#[derive(Debug)]
pub struct Server {
    /// Service rate multiplier.
    pub speed: f64,
    workers: u32,
    capacity: u32,
    busy: u32,
    queue: VecDeque<Job>,
    /// Predicted time each worker frees up, given the jobs admitted so far (FIFO, known
    /// service times): the oracle's view of queued work.
    worker_free: Vec<f64>,
    last_t: f64,
    /// ∫ number in system dt since t = 0, warm-up included (for the sampled timeline).
    area_total: f64,
    /// Statistics of the measured window.
    pub stats: ServerStats,
}

impl Server {
    /// An idle server.
    pub fn new(info: &ServerInfo) -> Self {
        Server {
            speed: info.speed,
            workers: info.workers,
            capacity: info.queue_capacity,
            busy: 0,
            queue: VecDeque::new(),
            worker_free: vec![0.0; info.workers as usize],
            last_t: 0.0,
            area_total: 0.0,
            stats: ServerStats::new(),
        }
    }

    /// Requests present (waiting and in service).
    #[inline]
    pub fn in_system(&self) -> u32 {
        self.busy + self.queue.len() as u32
    }

    /// Integrates the time-weighted counters up to `t` (the window's only while measuring).
    #[inline]
    pub fn advance(&mut self, t: f64, measuring: bool) {
        let dt = t - self.last_t;
        self.area_total += f64::from(self.in_system()) * dt;
        if measuring {
            self.stats.area_in_system += f64::from(self.in_system()) * dt;
            self.stats.busy_area += f64::from(self.busy) * dt;
        }
        self.last_t = t;
    }

    /// ∫ number in system dt from 0 to `t` (≥ the last change), warm-up included.
    #[inline]
    pub fn area_until(&self, t: f64) -> f64 {
        self.area_total + f64::from(self.in_system()) * (t - self.last_t)
    }

    /// Starts the measured window at `t`: counters from zero, the current state as the max.
    pub fn start_window(&mut self, t: f64) {
        self.area_total += f64::from(self.in_system()) * (t - self.last_t);
        self.last_t = t;
        self.stats = ServerStats::new();
        self.stats.max_in_system = self.in_system();
    }

    /// Offers `job` at time `now`; on `Started` the caller schedules its departure at
    /// `now + job.service`. Returns the oracle's new "start time for the next request".
    #[inline]
    pub fn admit(&mut self, job: Job, now: f64) -> (Admission, f64) {
        let outcome = if self.busy < self.workers {
            self.busy += 1;
            Admission::Started
        } else if self.capacity == 0 || self.queue.len() < self.capacity as usize {
            self.queue.push_back(job);
            Admission::Queued
        } else {
            return (Admission::Dropped, self.next_start());
        };
        // FIFO with known service times: the job takes the worker that frees first.
        let (w, free) = self.earliest_worker();
        self.worker_free[w] = free.max(now) + job.service;
        (outcome, self.next_start())
    }

    #[inline]
    fn earliest_worker(&self) -> (usize, f64) {
        if self.worker_free.len() == 1 {
            return (0, self.worker_free[0]);
        }
        let mut best = (0, self.worker_free[0]);
        for (i, &f) in self.worker_free.iter().enumerate().skip(1) {
            if f < best.1 {
                best = (i, f);
            }
        }
        best
    }

    /// When a request admitted now would start service (may be in the past: idle worker).
    #[inline]
    pub fn next_start(&self) -> f64 {
        self.earliest_worker().1
    }

    /// A job finished: frees its worker and returns the next waiting job, if any, which
    /// starts service at once (the caller schedules its departure).
    #[inline]
    pub fn finish(&mut self) -> Option<Job> {
        match self.queue.pop_front() {
            Some(job) => Some(job),
            None => {
                self.busy -= 1;
                None
            }
        }
    }

    /// Records a measured completion.
    #[inline]
    pub fn record(&mut self, response: f64) {
        self.stats.completed += 1;
        self.stats.response_sum += response;
        self.stats.response.record(response);
    }

    /// Requests waiting (not in service).
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }
}
