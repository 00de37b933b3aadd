//! A server: workers, a FIFO waiting room, its faults, and its statistics over the
//! measured window.
//!
//! Each worker has a slot holding the job it serves and that job's finish time; the
//! departure event only names the server, the worker and the server's schedule generation. A crash
//! or a change of speed (gray failure) bumps that generation, which makes every departure
//! already scheduled stale; the engine reschedules the survivors.

use std::collections::VecDeque;

use super::events::{AttemptGen, Job, ScheduleGen};
use crate::stats::ServerStats;
use crate::strategy::ServerInfo;

/// What happened to a request offered to a server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// A worker was free: service starts now in `worker` and ends at `finish`.
    Started {
        /// Worker slot.
        worker: u32,
        /// Finish time.
        finish: f64,
    },
    /// All workers busy: the request waits.
    Queued,
    /// The waiting room was full: the request is dropped.
    Dropped,
}

/// What [`Server::cancel`] took out: the job, its work left undone, and the departures to
/// push again (worker, finish) under the new schedule generation.
pub(super) type Cancelled = (Job, f64, Vec<(u32, f64)>);

#[derive(Debug, Clone, Copy)]
struct Slot {
    job: Job,
    start: f64,
    finish: f64,
}

const EMPTY: Slot = Slot {
    job: Job { id: 0, arrival: 0.0, service: 0.0, call: None, attempt_gen: AttemptGen::FIRST },
    start: 0.0,
    finish: f64::INFINITY,
};

/// Live state of one server.
#[derive(Debug)]
pub struct Server {
    /// Service rate multiplier.
    pub speed: f64,
    workers: u32,
    capacity: u32,
    busy: u32,
    slots: Vec<Slot>,
    free: Vec<u32>,
    queue: VecDeque<Job>,
    /// Predicted time each worker frees up, given the jobs admitted so far (FIFO, known
    /// service times): the oracle's view of queued work, and a health check's wait. Kept
    /// only when `predict` (nothing else reads it).
    worker_free: Vec<f64>,
    predict: bool,
    last_t: f64,
    /// ∫ number in system dt since t = 0, warm-up included (for the sampled timeline).
    area_total: f64,
    /// Bumped whenever scheduled finish times stop being valid (crash, speed change).
    pub schedule_gen: ScheduleGen,
    /// Number of crash faults in progress; the server refuses requests while > 0.
    down: u32,
    /// Slowdown factors in progress (gray failures); service time × their product.
    slowdowns: Vec<f64>,
    /// Cold-start multiplier (1 when warm).
    cold: f64,
    factor: f64,
    /// Share of its capacity the server has now: 0 while crashed, 1 / [`Self::factor`]
    /// otherwise.
    available: f64,
    /// ∫ (1 − available) dt since t = 0, warm-up included: capacity lost to faults, in
    /// seconds of the server's nominal speed (a fault window's capacity).
    lost_total: f64,
    /// Work routed to it since t = 0, warm-up included, s (kept with faults only, for the
    /// load during a fault window).
    pub work_total: f64,
    /// Statistics of the measured window.
    pub stats: ServerStats,
}

impl Server {
    /// An idle server; `predict`: keep the prediction of when a request admitted now would
    /// start ([`next_start`](Self::next_start)).
    pub fn new(info: &ServerInfo, predict: bool) -> Self {
        Server {
            speed: info.speed,
            workers: info.workers,
            capacity: info.queue_capacity,
            busy: 0,
            slots: vec![EMPTY; info.workers as usize],
            free: (0..info.workers).rev().collect(),
            queue: VecDeque::new(),
            worker_free: vec![0.0; info.workers as usize],
            predict,
            last_t: 0.0,
            area_total: 0.0,
            schedule_gen: ScheduleGen::FIRST,
            down: 0,
            slowdowns: Vec::new(),
            cold: 1.0,
            factor: 1.0,
            available: 1.0,
            lost_total: 0.0,
            work_total: 0.0,
            stats: ServerStats::new(),
        }
    }

    /// Requests present (waiting and in service).
    #[inline]
    pub fn in_system(&self) -> u32 {
        self.busy + self.queue.len() as u32
    }

    /// Whether the server is crashed (refusing connections).
    #[inline]
    pub fn is_down(&self) -> bool {
        self.down > 0
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
        if self.available != 1.0 {
            let lost = (1.0 - self.available) * dt;
            self.lost_total += lost;
            if measuring {
                self.stats.lost_capacity += lost;
            }
        }
        self.last_t = t;
    }

    /// Workers.
    #[inline]
    pub fn workers(&self) -> u32 {
        self.workers
    }

    /// ∫ busy workers dt over the window until `t` (≥ the last change), without advancing.
    #[inline]
    pub fn busy_area_until(&self, t: f64) -> f64 {
        self.stats.busy_area + f64::from(self.busy) * (t - self.last_t)
    }

    /// Capacity lost to faults over the window until `t` (≥ the last change), without
    /// advancing (see [`ServerStats::lost_capacity`]).
    #[inline]
    pub fn lost_capacity_until(&self, t: f64) -> f64 {
        self.stats.lost_capacity + (1.0 - self.available) * (t - self.last_t)
    }

    /// Capacity lost to faults from t = 0 until `t` (≥ the last change), warm-up included,
    /// without advancing.
    pub fn lost_total_until(&self, t: f64) -> f64 {
        self.lost_total + (1.0 - self.available) * (t - self.last_t)
    }

    /// ∫ number in system dt from 0 to `t` (≥ the last change), warm-up included.
    #[inline]
    pub fn area_until(&self, t: f64) -> f64 {
        self.area_total + f64::from(self.in_system()) * (t - self.last_t)
    }

    /// Starts the measured window at `t`: counters from zero, the current state as the max.
    pub fn start_window(&mut self, t: f64) {
        self.area_total += f64::from(self.in_system()) * (t - self.last_t);
        self.lost_total += (1.0 - self.available) * (t - self.last_t);
        self.last_t = t;
        self.stats = ServerStats::new();
        self.stats.max_in_system = self.in_system();
    }

    /// Offers `job` at time `now`; on `Started` the caller schedules its departure.
    #[inline(always)]
    pub fn admit(&mut self, job: Job, now: f64) -> Admission {
        let outcome = if self.busy < self.workers {
            self.busy += 1;
            let worker = if self.workers == 1 { 0 } else { self.free.pop().unwrap_or(0) };
            let finish = now + job.service * self.factor;
            self.slots[worker as usize] = Slot { job, start: now, finish };
            Admission::Started { worker, finish }
        } else if self.capacity == 0 || self.queue.len() < self.capacity as usize {
            self.queue.push_back(job);
            Admission::Queued
        } else {
            return Admission::Dropped;
        };
        if self.predict {
            // FIFO with known service times: the job takes the worker that frees first.
            let (w, free) = self.earliest_worker();
            self.worker_free[w] = free.max(now) + job.service * self.factor;
        }
        outcome
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
    /// Only for a server that keeps the prediction (`predict`).
    #[inline]
    pub fn next_start(&self) -> f64 {
        debug_assert!(self.predict, "next_start of a server that does not predict it");
        self.earliest_worker().1
    }

    /// The job in `worker` finished at `now`: returns it with the time its service
    /// started, and the finish time of the next waiting job if one starts in that worker
    /// (the caller schedules its departure).
    #[inline(always)]
    pub fn finish(&mut self, worker: u32, now: f64) -> (Job, f64, Option<f64>) {
        let w = worker as usize;
        let Slot { job: done, start, .. } = self.slots[w];
        match self.queue.pop_front() {
            Some(job) => {
                let finish = now + job.service * self.factor;
                self.slots[w] = Slot { job, start: now, finish };
                (done, start, Some(finish))
            }
            None => {
                self.slots[w].finish = f64::INFINITY;
                self.busy -= 1;
                if self.workers != 1 {
                    self.free.push(worker);
                }
                (done, start, None)
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

    /// The jobs the server holds: in service (by worker), then waiting (in order).
    pub fn held(&self) -> impl Iterator<Item = &Job> {
        self.slots.iter().filter(|s| s.finish.is_finite()).map(|s| &s.job).chain(self.queue.iter())
    }

    /// Requests waiting (not in service).
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// A crash starts at `now`. On the first one, every job in service or waiting is
    /// moved into `lost` (in service by worker, then the queue in order) and the server is
    /// left empty; pending departures become stale.
    pub fn crash(&mut self, now: f64, lost: &mut Vec<Job>) {
        self.down += 1;
        self.available = 0.0;
        if self.down > 1 {
            return;
        }
        for slot in self.slots.iter_mut() {
            if slot.finish.is_finite() {
                lost.push(slot.job);
            }
            *slot = EMPTY;
        }
        lost.extend(self.queue.drain(..));
        self.busy = 0;
        self.free = (0..self.workers).rev().collect();
        self.worker_free.iter_mut().for_each(|f| *f = now);
        self.schedule_gen = self.schedule_gen.next();
    }

    /// A crash ends (the server restarts empty once no crash is left).
    pub fn recover(&mut self) {
        self.down = self.down.saturating_sub(1);
        if self.down == 0 {
            self.available = 1.0 / self.factor;
        }
    }

    /// Adds (`start`) or removes a slowdown `factor` at `now`. Jobs in service keep the
    /// work they have done: their remaining time is stretched by new/old factor. Returns
    /// the rescheduled departures `(worker, finish)`, to be pushed with the new
    /// generation.
    pub fn set_slowdown(&mut self, factor: f64, start: bool, now: f64) -> Vec<(u32, f64)> {
        if start {
            self.slowdowns.push(factor);
        } else if let Some(i) = self.slowdowns.iter().position(|&f| f == factor) {
            self.slowdowns.swap_remove(i);
        }
        self.rescale(now)
    }

    /// Sets the cold-start multiplier at `now`, as [`set_slowdown`](Self::set_slowdown)
    /// does a slowdown.
    pub fn set_cold(&mut self, cold: f64, now: f64) -> Vec<(u32, f64)> {
        self.cold = cold;
        self.rescale(now)
    }

    /// The factor after a change of slowdowns or cold start: the remaining time of the jobs
    /// in service stretched by new/old factor, the rescheduled departures returned.
    fn rescale(&mut self, now: f64) -> Vec<(u32, f64)> {
        let old = self.factor;
        self.factor = self.slowdowns.iter().product::<f64>() * self.cold;
        if self.down == 0 {
            self.available = 1.0 / self.factor;
        }
        let ratio = self.factor / old;
        let mut out = Vec::new();
        for (w, slot) in self.slots.iter_mut().enumerate() {
            if slot.finish.is_finite() {
                slot.finish = now + (slot.finish - now) * ratio;
                out.push((w as u32, slot.finish));
            }
        }
        self.schedule_gen = self.schedule_gen.next();
        self.repredict(now);
        out
    }

    /// The oracle's prediction from scratch at `now`: workers free at their jobs' finish,
    /// then the queue FIFO.
    fn repredict(&mut self, now: f64) {
        for (f, slot) in self.worker_free.iter_mut().zip(&self.slots) {
            *f = if slot.finish.is_finite() { slot.finish } else { now };
        }
        for i in 0..self.queue.len() {
            let s = self.queue[i].service * self.factor;
            let (w, free) = self.earliest_worker();
            self.worker_free[w] = free.max(now) + s;
        }
    }

    /// Cancels at `now` the job `which` picks (a hedge copy the request no longer needs):
    /// a waiting one leaves the queue unserved; one in service stops at once and its worker
    /// takes the next waiting job. Returns the job with its work left undone (in the units of
    /// [`Job::service`]) and, when a worker was freed, the departures to push with the new
    /// schedule generation (as after a change of speed); `None` if the server does not hold it.
    pub fn cancel(&mut self, now: f64, which: impl Fn(&Job) -> bool) -> Option<Cancelled> {
        if let Some(w) = self.slots.iter().position(|s| s.finish.is_finite() && which(&s.job)) {
            let slot = self.slots[w];
            let spared = ((slot.finish - now) / self.factor).max(0.0);
            match self.queue.pop_front() {
                Some(job) => {
                    let finish = now + job.service * self.factor;
                    self.slots[w] = Slot { job, start: now, finish };
                }
                None => {
                    self.slots[w] = EMPTY;
                    self.busy -= 1;
                    if self.workers != 1 {
                        self.free.push(w as u32);
                    }
                }
            }
            // Departures are named by (worker, generation): a new generation for all.
            self.schedule_gen = self.schedule_gen.next();
            let out = self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.finish.is_finite())
                .map(|(w, s)| (w as u32, s.finish))
                .collect();
            if self.predict {
                self.repredict(now);
            }
            return Some((slot.job, spared, out));
        }
        let i = self.queue.iter().position(which)?;
        let job = self.queue.remove(i).expect("found");
        if self.predict {
            self.repredict(now);
        }
        Some((job, job.service, Vec::new()))
    }

    /// The current slowdown factor (1 when healthy).
    pub fn slowdown(&self) -> f64 {
        self.factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(workers: u32, cap: u32) -> ServerInfo {
        ServerInfo {
            name: "s".into(),
            speed: 1.0,
            workers,
            queue_capacity: cap,
            weight: 1,
            max_connections: None,
            id: 1,
        }
    }

    fn job(id: u64, service: f64) -> Job {
        Job { id, arrival: 0.0, service, call: None, attempt_gen: AttemptGen::FIRST }
    }

    #[test]
    fn fifo_with_workers_and_bounded_queue() {
        let mut s = Server::new(&info(2, 1), true);
        assert!(matches!(s.admit(job(0, 1.0), 0.0), Admission::Started { worker: 0, finish } if finish == 1.0));
        assert!(matches!(s.admit(job(1, 2.0), 0.0), Admission::Started { worker: 1, .. }));
        assert_eq!(s.admit(job(2, 1.0), 0.0), Admission::Queued);
        assert_eq!(s.admit(job(3, 1.0), 0.0), Admission::Dropped);
        let (done, start, next) = s.finish(0, 1.0);
        assert_eq!((done.id, start), (0, 0.0));
        assert_eq!(next, Some(2.0));
        assert_eq!(s.in_system(), 2);
    }

    #[test]
    fn slowdown_stretches_the_remaining_work() {
        let mut s = Server::new(&info(1, 0), true);
        s.admit(job(0, 10.0), 0.0);
        s.admit(job(1, 1.0), 0.0);
        let g = s.schedule_gen;
        // At t = 4, 6 s of work remain; 3× slower → finish at 4 + 18.
        let r = s.set_slowdown(3.0, true, 4.0);
        assert_eq!(r, vec![(0, 22.0)]);
        assert_ne!(s.schedule_gen, g);
        assert_eq!(s.next_start(), 25.0);
        // Back to normal at t = 10: 12 slowed seconds remain = 4 nominal.
        let r = s.set_slowdown(3.0, false, 10.0);
        assert_eq!(r, vec![(0, 14.0)]);
        let (_, _, next) = s.finish(0, 14.0);
        assert_eq!(next, Some(15.0));
    }

    #[test]
    fn a_cancelled_job_frees_its_worker_or_its_place_in_the_queue() {
        let mut s = Server::new(&info(1, 0), true);
        for i in 0..3 {
            s.admit(job(i, 2.0), 0.0);
        }
        let g = s.schedule_gen;
        // Job 0 in service until 2: cancelled at 0.5, 1.5 s spared; job 1 starts at once.
        let (j, spared, out) = s.cancel(0.5, |j| j.id == 0).unwrap();
        assert_eq!((j.id, spared, out), (0, 1.5, vec![(0, 2.5)]));
        assert_ne!(s.schedule_gen, g);
        // Job 2 waits: it leaves the queue with all its work spared, no departure moves.
        let (j, spared, out) = s.cancel(0.5, |j| j.id == 2).unwrap();
        assert_eq!((j.id, spared, out.len()), (2, 2.0, 0));
        assert_eq!(s.in_system(), 1);
        assert_eq!(s.next_start(), 2.5);
        assert!(s.cancel(0.5, |j| j.id == 7).is_none());
        let (j, _, out) = s.cancel(1.0, |j| j.id == 1).unwrap();
        assert_eq!((j.id, out.len(), s.in_system()), (1, 0, 0));
        assert!(matches!(s.admit(job(9, 1.0), 1.0), Admission::Started { worker: 0, .. }));
    }

    #[test]
    fn crash_empties_the_server() {
        let mut s = Server::new(&info(2, 0), true);
        for i in 0..5 {
            s.admit(job(i, 1.0), 0.0);
        }
        let mut lost = Vec::new();
        s.crash(0.5, &mut lost);
        assert_eq!(lost.iter().map(|j| j.id).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
        assert!(s.is_down());
        assert_eq!(s.in_system(), 0);
        assert_eq!(s.next_start(), 0.5);
        s.recover();
        assert!(!s.is_down());
        assert!(matches!(s.admit(job(9, 1.0), 1.0), Admission::Started { .. }));
    }
}
