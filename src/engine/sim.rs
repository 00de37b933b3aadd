//! The core of a simulation: events due before an arrival, sending a request through the
//! balancer to a server, departures, and the end of the run. A plain open-loop run
//! (`FULL = false`) executes only this file.

use super::Simulation;
use super::attempts::RequestOutcome;
use super::calls::Failure;
use super::events::{Answer, AttemptGen, CallId, EventKind, Job, ScheduleGen};
use super::server::Admission;
use crate::stats::RunStats;
use crate::stats::batch::Totals;
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
            EventKind::Hedge { call, attempt_gen } => self.hedge(call, attempt_gen),
            EventKind::ClientSend { .. } => unreachable!("handled by the closed loop"),
            EventKind::OutlierSweep => self.outlier_sweep(),
            EventKind::SlowStartStep { server, ramp_gen } => self.slow_start_step(server as usize, ramp_gen),
            EventKind::LimitStep { server, ramp_gen } => self.limit_step(server as usize, ramp_gen),
            EventKind::ColdStep { server, cold_gen } => self.cold_step(server as usize, cold_gen),
            EventKind::Deliver { call, attempt_gen } => self.deliver(call, attempt_gen),
            EventKind::Reply { call, attempt_gen, answer } => self.reply(call, attempt_gen, answer),
            EventKind::Refresh => self.refresh(),
            EventKind::Pod { server, pod, step } => self.pod_step(server as usize, pod, step),
            EventKind::Scrape => self.scrape(),
            EventKind::HpaSync => self.hpa_sync(),
            EventKind::ConnAge { conn, conn_gen } => self.conn_age(conn, conn_gen),
            EventKind::ConnIdle { conn, conn_gen } => self.conn_idle(conn, conn_gen),
            EventKind::Handshake { call, attempt_gen } => self.handshake_done(call, attempt_gen),
            EventKind::QueueTimeout { call, attempt_gen } => self.queue_timeout(call, attempt_gen),
            EventKind::SlotReleased { server } => self.slot_released(server as usize),
            EventKind::OverallTimeout { call, incarnation } => self.overall_timeout(call, incarnation),
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
        if req.id == self.rec.next_mark {
            self.mark(req.id);
        }
        self.rec.total.generated += 1;
        self.timeline.arrived();
        if self.rec.measuring {
            self.rec.measured.generated += 1;
            self.rec.keys.record(req.key);
        }
        if FULL && self.tracking {
            let c = self.calls.open(req, client, think);
            let call = self.calls.get_mut(c);
            if let Some(a) = &mut self.assigner {
                call.balancer = a.next_instance();
            }
            let attempt_gen = call.attempt_gen;
            if let Some(tried) = &mut self.tried {
                let slot = c.slot();
                if tried.len() <= slot {
                    tried.resize_with(slot + 1, Vec::new);
                }
                tried[slot].clear();
            }
            if let Some(h) = &mut self.hedging {
                h.open(c);
            }
            if let Some(t) = self.overall_timeout {
                let incarnation = self.calls.get(c).incarnation;
                self.events.push(self.now + t, EventKind::OverallTimeout { call: c, incarnation });
            }
            if self.pools.is_some() {
                return self.client_request(c);
            }
            self.send(req, Some(c), attempt_gen);
        } else {
            self.send(req, None, AttemptGen::FIRST);
        }
    }

    /// Sends one attempt of `req` through the balancer (attempt `attempt_gen` of `call`
    /// when the request is followed across attempts).
    #[inline(always)]
    pub(super) fn send(&mut self, req: Request, call: Option<CallId>, attempt_gen: AttemptGen) {
        if FULL && self.queue.is_some() {
            return self.send_or_queue(req, call.expect("a balancer queue follows every request"), attempt_gen);
        }
        let Request { id, key, hash, .. } = req;
        let now = self.now;
        let b = if FULL && let Some(c) = call { self.calls.get(c).balancer } else { 0 };
        let view = RequestView { id, arrival: now, key, hash, balancer: b };
        let s = if FULL && self.tried.is_some() {
            self.pick_untried(&view, call.expect("retries follow every request"))
        } else {
            self.balancer.pick::<FULL>(&view)
        };
        self.dispatch(s, req, call, attempt_gen);
    }

    /// Sends one attempt of `req` to server `s`, chosen by the balancer for this request or
    /// for its connection.
    #[inline(always)]
    pub(super) fn dispatch(&mut self, s: usize, req: Request, call: Option<CallId>, attempt_gen: AttemptGen) {
        let Request { id, arrival, demand, .. } = req;
        let now = self.now;
        let b = if FULL && let Some(c) = call { self.calls.get(c).balancer } else { 0 };
        if FULL && self.transit.is_some() {
            // The balancer counts the request from its send; it reaches the server after
            // the outbound transit (at once without `to_server`).
            let c = call.expect("network runs follow every request");
            if self.counts_requests() {
                self.balancer.inc::<FULL>(s, b, now);
            }
            let cl = self.calls.get_mut(c);
            cl.server = Some(s as u32);
            cl.sent = now;
            let attempt = cl.attempts;
            if let Some(t) = self.fail.timeout {
                self.events.push_fifo(now + t, EventKind::Timeout { call: c, attempt_gen });
            }
            match self.transit.to_server {
                None => self.deliver(c, attempt_gen),
                leg => {
                    let d = super::Transit::draw(leg, id, attempt);
                    self.events.push(now + d, EventKind::Deliver { call: c, attempt_gen });
                }
            }
            return;
        }
        self.offer::<false>(s, b, id, arrival, demand, call, attempt_gen);
    }

    /// Offers an attempt to server `s` at `self.now` (its job's arrival `arrival`): service
    /// starts, it queues, or it is refused (a crashed server) or dropped (a full queue), and
    /// the server's statistics count it. Without transit (`TRANSIT = false`) the balancer
    /// learns the outcome at once: instance `b` counts an admitted attempt, a failed one is
    /// retried or settled. With transit it counted the attempt at its send and a failure
    /// travels back as an answer.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn offer<const TRANSIT: bool>(
        &mut self,
        s: usize,
        b: u32,
        id: u64,
        arrival: f64,
        demand: f64,
        call: Option<CallId>,
        attempt_gen: AttemptGen,
    ) {
        let now = self.now;
        let measured = id >= self.rec.warmup;
        if FULL && let Some(p) = &mut self.pool {
            p.received[s] += 1;
        }
        let integrating = self.integrating;
        let server = &mut self.servers[s];
        server.advance(now, integrating);
        if measured {
            server.stats.requests += 1;
        }
        if FULL && server.is_down() {
            self.refused(s, id);
            return self.failed::<TRANSIT>(s, id, call, attempt_gen, Failure::Failed);
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
        if FULL {
            server.work_total += job.service;
        }
        let admission = server.admit(job, now);
        match admission {
            Admission::Dropped => {
                if measured {
                    server.stats.dropped += 1;
                }
                return self.failed::<TRANSIT>(s, id, call, attempt_gen, Failure::Dropped);
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
        self.tell_start_at(s);
        if TRANSIT {
            return;
        }
        if self.counts_requests() {
            self.balancer.inc::<FULL>(s, b, now);
        }
        if FULL && let Some(q) = &mut self.queue {
            q.sent(s);
        }
        if FULL
            && let Some(call) = call
            && self.hedging.is_some()
            && self.hedge_admitted(call, attempt_gen, s, arrival, job.service, measured)
        {
            return; // a copy: the call's own attempt stays as it is
        }
        if FULL && let Some(call) = call {
            let c = self.calls.get_mut(call);
            c.server = Some(s as u32);
            c.sent = now;
            if let Some(t) = self.fail.timeout
                && !c.timer_set
            {
                // A constant delay after now: timeouts come due in the order they are set.
                self.events.push_fifo(now + t, EventKind::Timeout { call, attempt_gen });
            }
        }
    }

    /// Tells the oracle (the only strategy that reads it) when a request sent to `s` now
    /// would start.
    #[inline(always)]
    pub(super) fn tell_start_at(&mut self, s: usize) {
        if self.balancer.reads_start_at() {
            let t = self.servers[s].next_start();
            self.balancer.set_start_at::<FULL>(s, t);
        }
    }

    /// The attempt did not get into server `s` (`why`): retried or settled now, or, with
    /// transit, once the refusal reaches the balancer.
    #[inline(always)]
    fn failed<const TRANSIT: bool>(
        &mut self,
        s: usize,
        id: u64,
        call: Option<CallId>,
        attempt_gen: AttemptGen,
        why: Failure,
    ) {
        if TRANSIT {
            self.answer(call.expect("transit runs follow every request"), attempt_gen, why.into());
        } else {
            self.attempt_failed(s, id, call, why);
        }
    }

    /// `[network]`: attempt `attempt_gen` of `call` reaches its server — unless its client
    /// gave up on it while it travelled (the server then never sees it).
    pub(super) fn deliver(&mut self, call: CallId, attempt_gen: AttemptGen) {
        let c = *self.calls.get(call);
        if c.attempt_gen != attempt_gen {
            return;
        }
        let s = c.server.expect("an attempt in transit has its server") as usize;
        // The job's arrival is shifted by the outbound transit (and a connection's
        // handshake), so that its wait (service start − arrival) is the time it queued, as
        // without a network.
        let arrival = c.req.arrival + c.handshake + (self.now - c.sent);
        self.offer::<true>(s, c.balancer, c.req.id, arrival, c.req.demand, Some(call), attempt_gen);
    }

    /// The server's answer to attempt `attempt_gen` of `call` leaves it: it reaches the
    /// balancer after `[network] from_server` (at once without it).
    pub(super) fn answer(&mut self, call: CallId, attempt_gen: AttemptGen, answer: Answer) {
        match self.transit.from_server {
            None => self.reply(call, attempt_gen, answer),
            leg => {
                let c = self.calls.get(call);
                let d = super::Transit::draw(leg, c.req.id, c.attempts);
                self.events.push(self.now + d, EventKind::Reply { call, attempt_gen, answer });
            }
        }
    }

    /// `[network]`: the answer to attempt `attempt_gen` of `call` reaches the balancer,
    /// unless the client gave up on it meanwhile.
    pub(super) fn reply(&mut self, call: CallId, attempt_gen: AttemptGen, answer: Answer) {
        let c = *self.calls.get(call);
        if c.attempt_gen != attempt_gen {
            return;
        }
        let s = c.server.expect("an answered attempt has its server") as usize;
        let now = self.now;
        if self.counts_requests() {
            self.balancer.dec::<true>(s, c.balancer, now);
        }
        match answer {
            Answer::Completed => {
                self.completed(s, c.balancer, c.req.id, now - c.req.arrival, c.wait, now - c.sent, Some(call), false)
            }
            Answer::Failed => self.attempt_failed(s, c.req.id, Some(call), Failure::Failed),
            Answer::Dropped => self.attempt_failed(s, c.req.id, Some(call), Failure::Dropped),
        }
    }

    #[inline(always)]
    fn depart(&mut self, s: usize, worker: u32, schedule_gen: ScheduleGen) {
        let now = self.now;
        let integrating = self.integrating;
        let server = &mut self.servers[s];
        if FULL && schedule_gen != server.schedule_gen {
            return; // rescheduled by a crash or a change of speed
        }
        server.advance(now, integrating);
        let (job, start, next) = server.finish(worker, now);
        self.imbalance.depart(now, s);
        if let Some(finish) = next {
            self.events.push(finish, EventKind::Departure { server: s as u32, worker, schedule_gen });
        }
        if FULL
            && server.in_system() == 0
            && let Some(p) = &self.pool
            && p.draining(s)
        {
            // A terminating pod out of the endpoints has finished its work: it exits.
            let (server, pod) = (s as u32, p.pod_id(s));
            self.events.push(now, EventKind::Pod { server, pod, step: super::events::PodStep::Exit });
        }
        if FULL && let Some(c) = job.call {
            // Really idle: holding nothing, not even an attempt its client gave up on.
            let idle = server.in_system() == 0;
            let call = self.calls.get(c);
            if call.attempt_gen != job.attempt_gen {
                // The client gave up on this attempt; the server did the work anyway.
                if idle && self.counts_requests() {
                    self.balancer.on_idle::<FULL>(s, now);
                }
                return;
            }
            let (b, arrival, mut sent) = (call.balancer, call.req.arrival, call.sent);
            if self.hedging.is_some() {
                sent = self.hedge_answered(c, s, job.arrival, job.id >= self.rec.warmup);
            }
            self.timeline.completed(s);
            if self.transit.from_server.is_some() {
                self.calls.get_mut(c).wait = start - job.arrival;
                self.answer(c, job.attempt_gen, Answer::Completed);
                if idle && self.counts_requests() {
                    self.balancer.on_idle::<FULL>(s, now);
                }
                return;
            }
            if self.counts_requests() {
                self.balancer.dec::<FULL>(s, b, now);
            }
            // The request's response time runs from its arrival; the attempt's own (what
            // the balancer observes) from the attempt's send.
            self.completed(s, b, job.id, now - arrival, start - job.arrival, now - sent, Some(c), idle);
            if self.queue.is_some() {
                self.slot_freed(s);
            }
            return;
        }
        // A request not followed across attempts: one instance, its only attempt, answered
        // at once (the plain run's path).
        self.balancer.dec::<FULL>(s, 0, now);
        self.timeline.completed(s);
        let response = now - job.arrival;
        self.timeline.response(now, response);
        self.rec.series.record(job.id, response);
        if self.rec.is_measured(job.id) {
            server.record(response);
            self.rec.response(response, start - job.arrival);
        }
        self.balancer.on_complete::<FULL>(s, 0, response, now);
        // Without calls every request the server holds is one the balancer counts.
        if self.balancer.count(s) == 0 {
            self.balancer.on_idle::<FULL>(s, now);
        }
        if FULL && self.fail.outlier.is_some() {
            self.outlier_result(s, true);
        }
        self.rec.completed(job.id);
    }

    /// An attempt to `s` through instance `b` completed and its answer reached the balancer:
    /// the request's `response` time and `wait` are recorded, the strategy learns the
    /// attempt's own time `observed`, and the request's outcome is settled. `idle`: the
    /// server has just become idle (its report goes to the strategy too).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn completed(
        &mut self,
        s: usize,
        b: u32,
        id: u64,
        response: f64,
        wait: f64,
        observed: f64,
        call: Option<CallId>,
        idle: bool,
    ) {
        let now = self.now;
        self.timeline.response(now, response);
        self.rec.series.record(id, response);
        if FULL && let Some(h) = &mut self.hedging {
            h.observe(response);
        }
        if self.rec.is_measured(id) {
            self.servers[s].record(response);
            self.rec.response(response, wait);
        }
        // Per connection (an L4 balancer) the strategy hears nothing of responses.
        if self.counts_requests() {
            self.balancer.on_complete::<FULL>(s, b, observed, now);
            if idle {
                self.balancer.on_idle::<FULL>(s, now);
            }
        }
        if FULL && self.fail.outlier.is_some() {
            self.outlier_result(s, true);
        }
        if FULL && call.is_some() {
            self.settle(id, RequestOutcome::Completed, call);
        } else {
            self.rec.completed(id);
        }
    }

    /// A periodic view's refresh: the snapshot is taken, the next one scheduled.
    pub(super) fn refresh(&mut self) {
        self.balancer.refresh(self.now);
        self.refreshes += 1;
        let interval = self.refresh_every.expect("refreshes only for a periodic view");
        self.events.push((self.refreshes + 1) as f64 * interval, EventKind::Refresh);
    }

    /// The arrival of request `id` starts the measured window or ends a fine batch (and
    /// every fourth, a batch: see [`crate::stats::batch`]).
    #[cold]
    #[inline(never)]
    fn mark(&mut self, id: u64) {
        if id == self.rec.warmup {
            self.start_window();
            let t = self.totals();
            self.rec.batches.start(t);
        } else if self.rec.batches.fine_close(self.rec.measured.completed, self.rec.response_sum) {
            let t = self.totals();
            self.rec.batches.close(t, &mut self.rec.response);
        }
        self.rec.next_mark = if self.rec.batches.is_done() { u64::MAX } else { id + self.rec.batches.step() };
    }

    /// The measured window's cumulative totals now (what a batch boundary records).
    fn totals(&self) -> Totals {
        let t = self.now;
        let (queue_spread, idle_waiting) = self.imbalance.finish(t);
        Totals {
            time: t,
            completed: self.rec.measured.completed,
            decided: self.rec.measured.decided(),
            generated: self.rec.measured.generated,
            retried: self.rec.measured.retried,
            response_sum: self.rec.response_sum,
            wait_sum: self.rec.wait_sum,
            busy_area: self.servers.iter().map(|s| s.busy_area_until(t)).sum(),
            queue_spread,
            idle_waiting,
            work: self.servers.iter().map(|s| s.stats.work).collect(),
            lost: self.servers.iter().map(|s| s.lost_capacity_until(t)).collect(),
            requests: self.servers.iter().map(|s| s.stats.requests).collect(),
        }
    }

    fn start_window(&mut self) {
        self.rec.measuring = true;
        self.integrating = true;
        self.rec.window_start = self.now;
        if FULL && let Some(q) = &mut self.queue {
            q.start_window(self.now);
        }
        if FULL && let Some(p) = &mut self.pool {
            // The servers' busy integrals restart with the window: keep what they held.
            for (base, s) in p.busy_base.iter_mut().zip(&self.servers) {
                *base += s.busy_area_until(self.now);
            }
        }
        for s in &mut self.servers {
            s.start_window(self.now);
        }
        self.imbalance.start_window(self.now);
        if FULL {
            self.pools_start_window();
        }
    }

    /// The requests still in the system at the end, all and measured: the calls in progress
    /// when requests are followed across attempts (including those waiting to retry), else
    /// the jobs the servers hold.
    fn held(&self) -> (u64, u64) {
        let count = |ids: &mut dyn Iterator<Item = u64>| {
            ids.fold((0, 0), |(all, measured), id| (all + 1, measured + u64::from(id >= self.rec.warmup)))
        };
        if self.tracking {
            count(&mut self.calls.in_progress().map(|c| c.req.id))
        } else {
            count(&mut self.servers.iter().flat_map(|s| s.held()).map(|j| j.id))
        }
    }

    /// `[network] to_server`: counts at each server the measured attempts still travelling
    /// to it (a pending delivery of the call's current attempt), so that its requests and
    /// these add up to every attempt sent to it.
    fn count_in_transit(&mut self) {
        if !self.transit.is_some() {
            return;
        }
        for kind in self.events.pending() {
            if let EventKind::Deliver { call, attempt_gen } = kind {
                let c = self.calls.get(call);
                if c.attempt_gen == attempt_gen && c.req.id >= self.rec.warmup {
                    let s = c.server.expect("an attempt in transit has its server") as usize;
                    self.servers[s].stats.in_transit += 1;
                }
            }
        }
    }

    pub(super) fn finish(mut self, label: String, replication: u32) -> RunStats {
        let end = self.now;
        let full = self.rec.last_batch_full();
        let totals = (full && self.rec.batches.next_ends_batch()).then(|| self.totals());
        let batches = self.rec.finish_batches(full, totals);
        for s in &mut self.servers {
            s.advance(end, true);
        }
        for w in 0..self.fail.marks.len() {
            self.close_window(w);
        }
        if FULL {
            self.pools_finish();
        }
        let fair_share = if FULL { self.fair_share() } else { None };
        // In flight = what the engine still holds, counted where it is held (not derived from
        // the other counts), so that `Counts::is_conserved` is a real check of the engine.
        let (held, held_measured) = self.held();
        self.count_in_transit();
        self.rec.total.in_flight = held;
        self.rec.measured.in_flight = held_measured;
        let warmup_end = (self.rec.warmup > 0).then_some(self.rec.window_start);
        let slo = self.timeline.slo(end);
        let timeline = self.timeline.finish(end, warmup_end, &self.servers);
        let (queue_spread_area, idle_while_waiting_time) = self.imbalance.finish(end);
        let policies = self.queue.as_mut().map(|q| Box::new(q.finish(end)));
        let calls_area = self.tracking.then(|| {
            // The calls still in progress add their time in the window up to its end.
            let from = self.rec.window_start;
            let open: f64 = self.calls.in_progress().map(|c| end - c.req.arrival.max(from)).sum();
            if self.rec.measuring { self.calls_area + open } else { 0.0 }
        });
        debug_assert!(self.rec.total.is_conserved() && self.rec.measured.is_conserved(), "conservation");
        RunStats {
            label,
            replication,
            window_start: self.rec.window_start,
            end,
            total: self.rec.total,
            measured: self.rec.measured,
            response: self.rec.response,
            response_sum: self.rec.response_sum,
            response_max: self.rec.response_max,
            wait_sum: self.rec.wait_sum,
            hottest_key: self.rec.keys.hottest(self.rec.measured.generated),
            servers: self.servers.into_iter().map(|s| s.stats).collect(),
            pending_events: self.events.len(),
            timeline,
            queue_spread_area,
            idle_while_waiting_time,
            faults: self.fail.outcomes,
            panics: self.balancer.panics,
            fallbacks: self.balancer.fallbacks,
            batches,
            transient: Some(self.rec.series.transient()),
            pods: self.pool.map(|p| p.finish(end)),
            policies,
            fair_share,
            hedges: self.hedging.map(|h| h.counts),
            subset_widened: self.balancer.subset_widened(),
            slo,
            calls_area,
        }
    }
}
