//! The core of a simulation: events due before an arrival, sending a request through the
//! balancer to a server, departures, and the end of the run. A plain open-loop run
//! (`FULL = false`) executes only this file.

use super::Simulation;
use super::attempts::RequestOutcome;
use super::calls::Failure;
use super::events::{AttemptGen, CallId, EventKind, Job, ScheduleGen};
use super::server::Admission;
use crate::stats::RunStats;
use crate::strategy::RequestView;
use crate::workload::Request;

impl<const FULL: bool> Simulation<FULL> {
    /// Handles every event due at or before `t`.
    #[inline]
    fn run_until(&mut self, t: f64) {
        loop {
            let next = if FULL { self.events.next_time_all() } else { self.events.next_time() };
            if next > t {
                break;
            }
            let ev = if FULL { self.events.pop_all() } else { self.events.pop() }.expect("peeked");
            self.timeline.observe(ev.time, &self.servers);
            self.now = ev.time;
            self.handle(ev.kind);
        }
    }

    #[inline(always)]
    pub(super) fn handle(&mut self, kind: EventKind) {
        match kind {
            EventKind::Departure { server, worker, schedule_gen } => self.depart(server as usize, worker, schedule_gen),
            // A plain run schedules nothing but departures.
            other if FULL => self.handle_rare(other),
            _ => {}
        }
    }

    #[inline(never)]
    fn handle_rare(&mut self, kind: EventKind) {
        match kind {
            EventKind::Departure { .. } => unreachable!("handled inline"),
            EventKind::Fault { window, start } => self.fault(window as usize, start),
            EventKind::Probe { server } => self.probe(server as usize),
            EventKind::ProbeResult { server, ok } => self.probe_result(server as usize, ok),
            EventKind::Timeout { call, attempt_gen } => self.timeout(call, attempt_gen),
            EventKind::Retry { call, attempt_gen } => self.retry(call, attempt_gen),
            EventKind::ClientSend { .. } => unreachable!("handled by the closed loop"),
            EventKind::OutlierSweep => self.outlier_sweep(),
            EventKind::SlowStartStep { server, ramp_gen } => self.slow_start_step(server as usize, ramp_gen),
        }
    }

    /// An open-workload arrival.
    #[inline]
    pub(super) fn arrive(&mut self, req: Request) {
        self.run_until(req.arrival);
        self.timeline.observe(req.arrival, &self.servers);
        self.now = req.arrival;
        self.generate(req, None, 0.0);
    }

    /// A new request enters at `self.now` (from `client` in a closed loop, which thinks
    /// `think` after its outcome).
    #[inline(always)]
    pub(super) fn generate(&mut self, req: Request, client: Option<u32>, think: f64) {
        if req.id == self.warmup {
            self.start_window();
        }
        self.total.generated += 1;
        if self.measuring {
            self.measured.generated += 1;
            self.keys.record(req.key);
        }
        if FULL && self.tracking {
            let c = self.calls.open(req, client, think);
            let attempt_gen = self.calls.get(c).attempt_gen;
            self.send(req, Some(c), attempt_gen);
        } else {
            self.send(req, None, AttemptGen::FIRST);
        }
    }

    /// Sends one attempt of `req` through the balancer (attempt `attempt_gen` of `call`
    /// when the request is followed across attempts).
    #[inline(always)]
    pub(super) fn send(&mut self, req: Request, call: Option<CallId>, attempt_gen: AttemptGen) {
        let Request { id, arrival, demand, key, hash } = req;
        let now = self.now;
        let view = RequestView { id, arrival: now, key, hash };
        let s = self.balancer.pick::<FULL>(&view);
        let measured = id >= self.warmup;
        let measuring = self.measuring;
        let server = &mut self.servers[s];
        server.advance(now, measuring);
        if measured {
            server.stats.requests += 1;
        }
        if FULL && server.is_down() {
            self.refused(s, id, call);
            return;
        }
        let nominal = if !FULL {
            demand
        } else {
            match &self.overrides[s] {
                None => demand,
                Some(k) => k.sample(id),
            }
        };
        let job = Job { id, arrival, service: nominal / server.speed, call, attempt_gen };
        if measured {
            server.stats.work += job.service;
        }
        let (admission, next_start) = server.admit(job, now);
        match admission {
            Admission::Dropped => {
                if measured {
                    server.stats.dropped += 1;
                }
                self.attempt_failed(s, id, call, Failure::Dropped);
                return;
            }
            Admission::Started { worker, finish } => {
                let schedule_gen = server.schedule_gen;
                self.events.push(finish, EventKind::Departure { server: s as u32, worker, schedule_gen });
            }
            Admission::Queued => {}
        }
        self.imbalance.arrive(now, s);
        if measured {
            let n = server.in_system();
            if n > server.stats.max_in_system {
                server.stats.max_in_system = n;
            }
        }
        self.balancer.set_start_at::<FULL>(s, next_start);
        self.balancer.inc::<FULL>(s);
        if FULL && let Some(call) = call {
            self.calls.get_mut(call).server = Some(s as u32);
            if let Some(t) = self.timeout {
                // A constant delay after now: timeouts come due in the order they are set.
                self.events.push_fifo(now + t, EventKind::Timeout { call, attempt_gen });
            }
        }
    }

    #[inline(always)]
    fn depart(&mut self, s: usize, worker: u32, schedule_gen: ScheduleGen) {
        let now = self.now;
        let measuring = self.measuring;
        let server = &mut self.servers[s];
        if FULL && schedule_gen != server.schedule_gen {
            return; // rescheduled by a crash or a change of speed
        }
        server.advance(now, measuring);
        let (job, start, next) = server.finish(worker, now);
        self.imbalance.depart(now, s);
        if let Some(finish) = next {
            self.events.push(finish, EventKind::Departure { server: s as u32, worker, schedule_gen });
        }
        if FULL
            && let Some(c) = job.call
            && self.calls.get(c).attempt_gen != job.attempt_gen
        {
            return; // the client gave up on this attempt; the server did the work anyway
        }
        self.balancer.dec::<FULL>(s);
        self.timeline.completed(s);
        let response = now - job.arrival;
        if job.id >= self.warmup {
            server.record(response);
            self.response.record(response);
            self.response_sum += response;
            self.wait_sum += start - job.arrival;
            if response > self.response_max {
                self.response_max = response;
            }
        }
        self.balancer.on_complete::<FULL>(s, response, now);
        if self.balancer.in_flight()[s] == 0 {
            self.balancer.on_idle::<FULL>(s, now);
        }
        if FULL && self.outlier.is_some() {
            self.outlier_result(s, true);
        }
        if FULL && job.call.is_some() {
            self.settle(job.id, RequestOutcome::Completed, job.call);
        } else {
            self.total.completed += 1;
            if job.id >= self.warmup {
                self.measured.completed += 1;
            }
        }
    }

    fn start_window(&mut self) {
        self.measuring = true;
        self.window_start = self.now;
        for s in &mut self.servers {
            s.start_window(self.now);
        }
        self.imbalance.start_window(self.now);
    }

    /// The requests still in the system at the end, all and measured: the calls in progress
    /// when requests are followed across attempts (including those waiting to retry), else
    /// the jobs the servers hold.
    fn held(&self) -> (u64, u64) {
        let count = |ids: &mut dyn Iterator<Item = u64>| {
            ids.fold((0, 0), |(all, measured), id| (all + 1, measured + u64::from(id >= self.warmup)))
        };
        if self.tracking {
            count(&mut self.calls.in_progress().map(|c| c.req.id))
        } else {
            count(&mut self.servers.iter().flat_map(|s| s.held()).map(|j| j.id))
        }
    }

    pub(super) fn finish(mut self, label: String, replication: u32) -> RunStats {
        let end = self.now;
        for s in &mut self.servers {
            s.advance(end, true);
        }
        // In flight = what the engine still holds, counted where it is held (not derived from
        // the other counts), so that `Counts::is_conserved` is a real check of the engine.
        let (held, held_measured) = self.held();
        self.total.in_flight = held;
        self.measured.in_flight = held_measured;
        let warmup_end = (self.warmup > 0).then_some(self.window_start);
        let timeline = self.timeline.finish(end, warmup_end, &self.servers);
        let (queue_spread_area, idle_while_waiting_time) = self.imbalance.finish(end);
        debug_assert!(self.total.is_conserved() && self.measured.is_conserved(), "conservation");
        RunStats {
            label,
            replication,
            window_start: self.window_start,
            end,
            total: self.total,
            measured: self.measured,
            response: self.response,
            response_sum: self.response_sum,
            response_max: self.response_max,
            wait_sum: self.wait_sum,
            hottest_key: self.keys.hottest(self.measured.generated),
            servers: self.servers.into_iter().map(|s| s.stats).collect(),
            pending_events: self.events.len(),
            timeline,
            queue_spread_area,
            idle_while_waiting_time,
            faults: self.outcomes,
            panics: self.balancer.panics,
            fallbacks: self.balancer.fallbacks,
        }
    }
}
