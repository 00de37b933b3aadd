//! Faults and how the balancer notices them: fault windows (crash, slowdown), active
//! health checks, outlier detection, and the slow-start ramp of a server that comes back.

use super::calls::Failure;
use super::events::{Answer, EventKind};
use super::{Simulation, slow_start};
use crate::scenario::faults::Effect;
use crate::scenario::slow_start::SlowStartModel;
use crate::stats::{FaultOutcome, RotationChange};

impl<const FULL: bool> Simulation<FULL> {
    pub(super) fn fault(&mut self, w: usize, start: bool) {
        let window = self.fail.windows[w].clone();
        if let Effect::Deploy(deploy) = window.kind.effect() {
            // A deploy acts on the pod group, not on one server; it ends by itself.
            if start {
                self.start_deploy(window.fault, deploy);
            }
            return;
        }
        let s = window.server;
        let now = self.now;
        self.servers[s].advance(now, self.integrating);
        if start {
            self.fail.marks[w] = Some(self.window_mark(s));
        } else {
            self.close_window(w);
        }
        // What a fault does to its server: each kind names one of the effects this match
        // knows (the engine's one place that distinguishes them).
        match window.kind.effect() {
            Effect::Crash if start => {
                self.fail.down_window[s] = Some(w as u32);
                if !self.balancer.is_eligible(s) {
                    self.fail.outcomes[w].already_out(now);
                }
                if FULL && self.l4 {
                    self.server_leaves(s);
                }
                self.crash_server(s);
            }
            Effect::Crash => {
                self.servers[s].recover();
                if !self.servers[s].is_down() {
                    self.fail.down_window[s] = None;
                    self.start_cold(s);
                    self.imbalance.set(now, s, self.servers[s].in_system(), false);
                    if FULL && self.l4 {
                        self.server_joins(s);
                    }
                }
            }
            Effect::Slowdown(factor) => {
                if start && !self.balancer.is_eligible(s) {
                    self.fail.outcomes[w].already_out(now);
                }
                let server = &mut self.servers[s];
                let moved = server.set_slowdown(factor, start, now);
                let schedule_gen = server.schedule_gen;
                for (worker, finish) in moved {
                    self.events.push(finish, EventKind::Departure { server: s as u32, worker, schedule_gen });
                }
                self.tell_start_at(s);
            }
            Effect::Deploy(_) => {} // handled above
        }
    }

    /// What the load during a fault window at server `s` is measured from: the work routed
    /// to it and the capacity it lost, both since t = 0, now.
    fn window_mark(&self, s: usize) -> (f64, f64) {
        let server = &self.servers[s];
        (server.work_total, server.lost_total_until(self.now))
    }

    /// Fault window `w` ends now (or the run does): its server's load during it.
    pub(super) fn close_window(&mut self, w: usize) {
        let Some((work0, lost0)) = self.fail.marks[w].take() else { return };
        let s = self.fail.windows[w].server;
        let (work, lost) = self.window_mark(s);
        let span = self.now - self.fail.windows[w].start;
        let available = span - (lost - lost0);
        // A crash leaves no capacity (rounding aside): no load to report.
        if available > 1e-9 * span.max(1.0) {
            let workers = f64::from(self.servers[s].workers());
            self.fail.outcomes[w].rho = Some((work - work0) / (workers * available));
        }
    }

    /// Server `s` crashes at `self.now`: every request it holds fails (reset) and it refuses
    /// new ones until it recovers (a crash fault, or a pod killed at the end of its grace).
    pub(super) fn crash_server(&mut self, s: usize) {
        let now = self.now;
        let mut lost = std::mem::take(&mut self.fail.lost);
        self.servers[s].crash(now, &mut lost);
        self.imbalance.set(now, s, 0, true);
        for job in lost.drain(..) {
            if let Some(c) = job.call
                && self.calls.get(c).attempt_gen != job.attempt_gen
            {
                continue; // already abandoned by its client
            }
            if job.id >= self.rec.warmup {
                self.servers[s].stats.failed += 1;
            }
            match job.call {
                // The reset travels back to the balancer like any answer.
                Some(c) if self.transit.is_some() => self.answer(c, job.attempt_gen, Answer::Failed),
                _ => {
                    if let (Some(h), Some(c)) = (&mut self.hedging, job.call) {
                        h.forget(c, s, job.arrival);
                    }
                    let b = job.call.map_or(0, |c| self.calls.get(c).balancer);
                    if self.counts_requests() {
                        self.balancer.dec::<true>(s, b, now);
                    }
                    self.attempt_failed(s, job.id, job.call, Failure::Failed);
                    if self.queue.is_some() {
                        self.slot_freed(s);
                    }
                }
            }
        }
        self.fail.lost = lost;
        self.tell_start_at(s);
    }

    pub(super) fn probe(&mut self, s: usize) {
        let now = self.now;
        let health = self.fail.health.as_ref().expect("probes only with health checks");
        self.events.push(now + health.cfg.interval, EventKind::Probe { server: s as u32 });
        let server = &self.servers[s];
        let (ok, delay) = health.probe(server.is_down(), server.next_start() - now);
        if delay > 0.0 {
            self.events.push(now + delay, EventKind::ProbeResult { server: s as u32, ok });
        } else {
            self.probe_result(s, ok);
        }
    }

    pub(super) fn probe_result(&mut self, s: usize, ok: bool) {
        let health = self.fail.health.as_mut().expect("health checks");
        if let Some(up) = health.result(s, ok) {
            let eligible = self.balancer.set_healthy(s, up);
            self.after_eligibility(s, eligible, "health_check");
        }
    }

    pub(super) fn outlier_result(&mut self, s: usize, ok: bool) {
        let outlier = self.fail.outlier.as_mut().expect("outlier detection");
        if outlier.record(s, ok, self.now) {
            let eligible = self.balancer.set_ejected(s, true);
            self.after_eligibility(s, eligible, "outlier_detection");
        }
    }

    pub(super) fn outlier_sweep(&mut self) {
        let outlier = self.fail.outlier.as_mut().expect("outlier detection");
        let back = outlier.sweep(self.now);
        self.events.push(self.now + outlier.cfg.interval, EventKind::OutlierSweep);
        for s in back {
            let eligible = self.balancer.set_ejected(s, false);
            self.after_eligibility(s, eligible, "outlier_detection");
        }
    }

    /// Bookkeeping after `s` changed eligibility: detection of a fault in progress, and
    /// slow start when it comes back.
    pub(super) fn after_eligibility(&mut self, s: usize, became_eligible: bool, by: &'static str) {
        self.fail.ramp_gen[s] = self.fail.ramp_gen[s].wrapping_add(1);
        if let Some(q) = &mut self.queue {
            // HAProxy's limit ramps from now (`last_change`) before the server takes from
            // the backend queue (srv_update_status: the state, then pendconn_grab_from_px);
            // it is whole again when the server leaves.
            let starts = became_eligible && self.balancer.is_eligible(s);
            let limit =
                self.fail.slow_start[s].filter(|ss| starts && ss.model == SlowStartModel::Haproxy && q.has_limit(s));
            if let Some(t) = q.ramp_limit(s, limit.map(|ss| ss.window as u32), self.now) {
                let ramp_gen = self.fail.ramp_gen[s];
                self.events.push(t, EventKind::LimitStep { server: s as u32, ramp_gen });
            }
            self.queue_eligibility(s);
        }
        let eligible = self.balancer.is_eligible(s);
        let now = self.now;
        // Every change of the window's server while the window lasts, and its return after.
        for (w, o) in self.fail.windows.iter().zip(&mut self.fail.outcomes) {
            let out = o.rotation.last().is_some_and(|c| c.out);
            let active = w.start <= now && w.end.is_none_or(|e| now < e);
            // A deploy's window names its group, not a server that fails.
            if w.server != s || eligible != out || (!eligible && !active) || w.kind.deploy().is_some() {
                continue;
            }
            if !eligible && o.detected_at.is_none() {
                o.detected_at = Some(now);
                o.detected_by = Some(by);
            }
            o.rotation.push(RotationChange { at: now, out: !eligible, by });
        }
        if eligible
            && became_eligible
            && let Some(ss) = self.fail.slow_start[s]
        {
            self.fail.ramp_step[s] = 0;
            if self.balancer.has_slow_start() {
                self.balancer.set_ramp(s, slow_start::level(&ss, 0));
            }
            let ramp_gen = self.fail.ramp_gen[s];
            self.events.push(self.now + slow_start::tick(&ss), EventKind::SlowStartStep { server: s as u32, ramp_gen });
        }
    }

    /// The next step of `s`'s slow start: its weight (the balancer's level) and, under
    /// HAProxy's, the warm-up task's grab from the backend queue up to the server's limit
    /// (which steps on whole seconds: `limit_step`), until the window has passed.
    pub(super) fn slow_start_step(&mut self, s: usize, ramp_gen: u32) {
        let limit = self.queue.as_ref().is_some_and(|q| q.warming(s));
        if ramp_gen != self.fail.ramp_gen[s] || (self.balancer.ramp(s) == 0 && !limit) {
            return;
        }
        let ss = self.fail.slow_start[s].expect("ramping");
        self.fail.ramp_step[s] += 1;
        let k = self.fail.ramp_step[s];
        if self.balancer.ramp(s) != 0 {
            self.balancer.set_ramp(s, slow_start::level(&ss, k));
        }
        if limit {
            if k >= ss.window as u32 {
                self.queue.as_mut().expect("a balancer queue").warmed(s);
            }
            self.grab_from_backend(s);
        }
        if self.balancer.ramp(s) != 0 || self.queue.as_ref().is_some_and(|q| q.warming(s)) {
            self.events.push(self.now + slow_start::tick(&ss), EventKind::SlowStartStep { server: s as u32, ramp_gen });
        }
    }

    /// The clock reaches a whole second while the limit of `s` ramps (HAProxy's slow
    /// start): the limit's next step. Nothing else happens then in HAProxy: the room is
    /// taken by the next dispatch that reads the limit.
    pub(super) fn limit_step(&mut self, s: usize, ramp_gen: u32) {
        if ramp_gen != self.fail.ramp_gen[s] {
            return;
        }
        if let Some(t) = self.queue.as_mut().expect("a balancer queue").step_limit(s, self.now) {
            self.events.push(t, EventKind::LimitStep { server: s as u32, ramp_gen });
        }
    }
}

impl FaultOutcome {
    /// The window's server was already out of rotation when the window started, at `now`.
    fn already_out(&mut self, now: f64) {
        self.detected_at = Some(now);
        self.detected_by = Some("already out");
        self.rotation.push(RotationChange { at: now, out: true, by: "already out" });
    }
}
