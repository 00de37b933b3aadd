//! Cold start: a server whose process has just started (a crashed server back up, a pod's
//! container running) serves slower, its service-time multiplier decaying linearly from
//! `cold_start_slowdown` to 1 over `cold_start` (scenario/cold_start.rs). The engine holds
//! the multiplier piecewise constant in `COLD_STEPS` steps, each at the decay's value in
//! the middle of its step (so the work a step does is the decay's, to second order); at
//! each step the requests in service keep the work they have done and their remaining
//! time is stretched or shrunk, as a gray failure's.

use super::Simulation;
use super::events::EventKind;

/// Steps of the piecewise-constant decay.
pub(super) const COLD_STEPS: u32 = 20;

impl<const FULL: bool> Simulation<FULL> {
    /// Server `s`'s process starts now: cold, if its group has a cold start.
    pub(super) fn start_cold(&mut self, s: usize) {
        if self.fail.cold[s].is_none() {
            return;
        }
        self.fail.cold_gen[s] = self.fail.cold_gen[s].wrapping_add(1);
        self.fail.cold_step[s] = 0;
        self.cold_step(s, self.fail.cold_gen[s]);
    }

    /// Applies step `cold_step[s]` of `s`'s decay and schedules the next one (stale once
    /// the server has started again).
    pub(super) fn cold_step(&mut self, s: usize, cold_gen: u32) {
        if cold_gen != self.fail.cold_gen[s] {
            return;
        }
        let c = self.fail.cold[s].expect("a cold start");
        let k = self.fail.cold_step[s];
        let step = c.period / f64::from(COLD_STEPS);
        let m = if k >= COLD_STEPS { 1.0 } else { c.multiplier((f64::from(k) + 0.5) * step) };
        let now = self.now;
        self.servers[s].advance(now, self.integrating);
        let server = &mut self.servers[s];
        let moved = server.set_cold(m, now);
        let schedule_gen = server.schedule_gen;
        for (worker, finish) in moved {
            self.events.push(finish, EventKind::Departure { server: s as u32, worker, schedule_gen });
        }
        self.tell_start_at(s);
        if k < COLD_STEPS {
            self.fail.cold_step[s] = k + 1;
            self.events.push(now + step, EventKind::ColdStep { server: s as u32, cold_gen });
        }
    }
}
