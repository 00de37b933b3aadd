//! The discrete-event simulation of one strategy on one replication's request stream.
//!
//! An open workload's loop merges two time-ordered sources: the request stream (arrivals,
//! generated on the fly) and the [`EventQueue`] (departures, faults, health checks,
//! timeouts, retries). Before each arrival every event due at or before it is handled, so
//! a server that finishes at the very instant a request arrives is free for it. A closed
//! loop has no external arrivals: its clients' sends are events too.
//!
//! The run ends at the last arrival (the `requests`-th request sent); requests still in
//! the system then are reported as in flight. Statistics cover the window from the first
//! measured arrival (after warm-up) to the end.
//!
//! Failures (see the `faults`, `health`, `outlier`, `calls` and `balancer` modules): a
//! crashed server fails the requests it holds and refuses new ones until the balancer stops
//! sending to it — which it does only once health checks or outlier detection have noticed.
//! Each attempt ends once: completed, failed, dropped or timed out; a failed attempt may be
//! retried; a request's outcome is its last attempt's. A plain open-loop scenario uses none
//! of this machinery and keeps the fast path of the core.

mod balancer;
mod calls;
pub mod events;
mod health;
mod outlier;
pub mod server;
pub mod timeline;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::scenario::{FaultKind, FaultWindow, Scenario, StrategySpec};
use crate::stats::{Counts, FaultOutcome, KeyCounter, LatencyHistogram, RunStats};
use crate::strategy::{self, RequestView, StrategyRng};
use crate::workload::arrivals::Arrivals;
use crate::workload::seeds::Seeds;
use crate::workload::service::ServiceDist;
use crate::workload::{PerRequestSampler, Request, RequestStream};
use balancer::Balancer;
pub use balancer::SLOW_START_STEPS;
use calls::{Calls, Failure, NONE, RetryPolicy};
use events::{EventKind, EventQueue, Job, NO_CALL};
use health::Health;
use outlier::Outlier;
use server::{Admission, Server};
use timeline::Sampler as TimelineSampler;

/// How often (in requests) the progress callback is told.
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// Simulates `strategy` on replication `replication` of `scenario`.
///
/// `progress` is called with the number of requests processed since its last call.
pub fn simulate(scenario: &Scenario, strategy: &StrategySpec, replication: u32, progress: &dyn Fn(u64)) -> RunStats {
    // A plain scenario (no faults, detection, client policy, closed loop or per-server
    // service) runs a copy of the loop with all of that compiled out.
    let plain = scenario.faults.is_empty()
        && scenario.health_check.is_none()
        && scenario.outlier_detection.is_none()
        && scenario.client.is_none()
        && !scenario.is_closed()
        && scenario.groups.iter().all(|g| g.service.is_none());
    if plain {
        run::<false>(scenario, strategy, replication, progress)
    } else {
        run::<true>(scenario, strategy, replication, progress)
    }
}

fn run<const FULL: bool>(
    scenario: &Scenario,
    strategy: &StrategySpec,
    replication: u32,
    progress: &dyn Fn(u64),
) -> RunStats {
    let info = strategy::lookup(strategy.name).expect("validated strategy");
    let seeds = Seeds::new(scenario.seed, replication);
    let rng = StrategyRng::seed_from_u64(seeds.strategy(&strategy.label));
    let balancer = Balancer::new(info, strategy.params.clone(), &scenario.servers, rng);
    let mut stream = RequestStream::new(&scenario.workload(), replication);
    let mut sim = Simulation::<FULL>::new(scenario, balancer, &seeds, replication);
    let mut since_progress = 0;
    if let Arrivals::Closed(closed) = &scenario.arrivals {
        let think = closed.think;
        let mut think_rng = Xoshiro256PlusPlus::seed_from_u64(seeds.stream("think"));
        let mut start_rng = Xoshiro256PlusPlus::seed_from_u64(seeds.stream("clients"));
        // Each client starts after one think time of its own (all at once with zero think).
        for c in 0..closed.clients {
            let t = think.as_ref().map_or(0.0, |s| s.sample(&mut start_rng));
            sim.events.push(t, EventKind::ClientSend { client: c });
        }
        while stream.remaining() > 0 {
            let Some(ev) = sim.events.pop_all() else { break };
            sim.timeline.observe(ev.time, &sim.servers);
            sim.now = ev.time;
            if let EventKind::ClientSend { client } = ev.kind {
                if let Some(req) = stream.next_at(sim.now) {
                    let t = think.as_ref().map_or(0.0, |s: &ServiceDist| s.sample(&mut think_rng));
                    sim.generate(req, client, t);
                    since_progress += 1;
                    if since_progress == PROGRESS_EVERY {
                        progress(since_progress);
                        since_progress = 0;
                    }
                }
            } else {
                sim.handle(ev.kind);
            }
        }
    } else {
        for req in stream {
            sim.arrive(req);
            since_progress += 1;
            if since_progress == PROGRESS_EVERY {
                progress(since_progress);
                since_progress = 0;
            }
        }
    }
    progress(since_progress);
    sim.finish(strategy.label.clone(), replication)
}

/// The state of one simulation. With `FULL = false` every failure-related check is
/// compiled out (the scenario has none).
struct Simulation<const FULL: bool> {
    servers: Vec<Server>,
    /// Per-server service-time distribution replacing the request's demand (group
    /// `service` overrides), keyed by request id.
    overrides: Vec<Option<PerRequestSampler>>,
    balancer: Balancer,
    events: EventQueue,
    warmup: u64,
    measuring: bool,
    window_start: f64,
    now: f64,
    total: Counts,
    measured: Counts,
    response: LatencyHistogram,
    response_sum: f64,
    response_max: f64,
    wait_sum: f64,
    keys: KeyCounter,
    timeline: TimelineSampler,
    // --- failure machinery (unused by a plain open-loop run) ---
    /// Whether requests are followed across attempts (timeouts, retries, closed loop).
    tracking: bool,
    calls: Calls,
    retry: Option<RetryPolicy>,
    timeout: Option<f64>,
    health: Option<Health>,
    outlier: Option<Outlier>,
    slow_start: Vec<Option<f64>>,
    ramp_gen: Vec<u32>,
    windows: Vec<FaultWindow>,
    outcomes: Vec<FaultOutcome>,
    /// The crash window each server is in, if any.
    down_window: Vec<Option<u32>>,
    lost: Vec<Job>,
}

impl<const FULL: bool> Simulation<FULL> {
    fn new(sc: &Scenario, balancer: Balancer, seeds: &Seeds, replication: u32) -> Self {
        let servers: Vec<Server> = sc.servers.iter().map(Server::new).collect();
        let n = servers.len();
        let slots: usize = sc.servers.iter().map(|s| s.workers as usize).sum();
        let overrides = (0..n)
            .map(|i| {
                let g = sc.group_of(i);
                g.service.as_ref().map(|d| PerRequestSampler::new(*d, seeds.stream(&format!("service/{}", g.name))))
            })
            .collect();
        let windows = sc.fault_windows(replication);
        let mut sim = Simulation {
            servers,
            overrides,
            balancer,
            events: EventQueue::with_capacity(slots + 16),
            warmup: sc.warmup,
            measuring: false,
            window_start: 0.0,
            now: 0.0,
            total: Counts::default(),
            measured: Counts::default(),
            response: LatencyHistogram::new(3),
            response_sum: 0.0,
            response_max: 0.0,
            wait_sum: 0.0,
            keys: match &sc.arrivals {
                Arrivals::Trace(t) if t.keys.is_some() => KeyCounter::Counted {
                    counts: vec![0; t.distinct_keys.min(crate::stats::MAX_COUNTED_KEYS) as usize],
                },
                _ => KeyCounter::new(sc.keys.as_ref()),
            },
            timeline: TimelineSampler::new(sc),
            tracking: sc.client.is_some() || sc.is_closed(),
            calls: Calls::default(),
            retry: sc.client.map(|p| RetryPolicy::new(p, Xoshiro256PlusPlus::seed_from_u64(seeds.stream("retries")))),
            timeout: sc.client.and_then(|p| p.timeout),
            health: sc.health_check.map(|h| Health::new(h, n)),
            outlier: sc.outlier_detection.map(|o| Outlier::new(o, n)),
            slow_start: (0..n).map(|i| sc.group_of(i).slow_start).collect(),
            ramp_gen: vec![0; n],
            outcomes: vec![FaultOutcome::default(); windows.len()],
            windows,
            down_window: vec![None; n],
            lost: Vec::new(),
        };
        for (i, w) in sim.windows.iter().enumerate() {
            sim.events.push(w.start, EventKind::Fault { window: i as u32, start: true });
            if let Some(end) = w.end {
                sim.events.push(end, EventKind::Fault { window: i as u32, start: false });
            }
        }
        if let Some(h) = &sim.health {
            let mut phase = Xoshiro256PlusPlus::seed_from_u64(seeds.stream("health"));
            let interval = h.cfg.interval;
            for s in 0..n {
                let u: f64 = rand::RngExt::random(&mut phase);
                sim.events.push(u * interval, EventKind::Probe { server: s as u32 });
            }
        }
        if let Some(o) = &sim.outlier {
            sim.events.push(o.cfg.interval, EventKind::OutlierSweep);
        }
        sim
    }

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
    fn handle(&mut self, kind: EventKind) {
        match kind {
            EventKind::Departure { server, worker, epoch } => self.depart(server as usize, worker, epoch),
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
            EventKind::Timeout { call, epoch } => self.timeout(call, epoch),
            EventKind::Retry { call, epoch } => {
                let c = *self.calls.get(call);
                debug_assert_eq!(c.epoch, epoch, "a retry is always current");
                self.total.retried += 1;
                if c.req.id >= self.warmup {
                    self.measured.retried += 1;
                }
                self.send(c.req, call, c.epoch);
            }
            EventKind::ClientSend { .. } => unreachable!("handled by the closed loop"),
            EventKind::OutlierSweep => self.outlier_sweep(),
            EventKind::SlowStartStep { server, epoch } => self.slow_start_step(server as usize, epoch),
        }
    }

    /// An open-workload arrival.
    #[inline]
    fn arrive(&mut self, req: Request) {
        self.run_until(req.arrival);
        self.timeline.observe(req.arrival, &self.servers);
        self.now = req.arrival;
        self.generate(req, NONE, 0.0);
    }

    /// A new request enters at `self.now` (from `client` in a closed loop, which thinks
    /// `think` after its outcome).
    #[inline(always)]
    fn generate(&mut self, req: Request, client: u32, think: f64) {
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
            let epoch = self.calls.get(c).epoch;
            self.send(req, c, epoch);
        } else {
            self.send(req, NO_CALL, 0);
        }
    }

    /// Sends one attempt of request `id` through the balancer.
    #[inline(always)]
    fn send(&mut self, req: Request, call: u32, epoch: u32) {
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
        let job = Job { id, arrival, service: nominal / server.speed, call, epoch };
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
                let epoch = server.epoch;
                self.events.push(finish, EventKind::Departure { server: s as u32, worker, epoch });
            }
            Admission::Queued => {}
        }
        if measured {
            let n = server.in_system();
            if n > server.stats.max_in_system {
                server.stats.max_in_system = n;
            }
        }
        self.balancer.set_start_at::<FULL>(s, next_start);
        self.balancer.inc::<FULL>(s);
        if FULL && call != NO_CALL {
            self.calls.get_mut(call).server = s as u32;
            if let Some(t) = self.timeout {
                // A constant delay after now: timeouts come due in the order they are set.
                self.events.push_fifo(now + t, EventKind::Timeout { call, epoch });
            }
        }
    }

    /// An attempt reached a crashed server: the connection is refused.
    #[cold]
    fn refused(&mut self, s: usize, id: u64, call: u32) {
        if id >= self.warmup {
            self.servers[s].stats.failed += 1;
        }
        if let Some(w) = self.down_window[s] {
            let o = &mut self.outcomes[w as usize];
            if o.detected_at.is_none() {
                o.refused_before_detection += 1;
            }
        }
        self.attempt_failed(s, id, call, Failure::Failed);
    }

    /// An attempt at server `s` ended without completing: tell outlier detection, then
    /// retry it or settle the request's outcome.
    fn attempt_failed(&mut self, s: usize, id: u64, call: u32, why: Failure) {
        if self.outlier.is_some() {
            self.outlier_result(s, false);
        }
        if call == NO_CALL {
            self.settle(id, why_outcome(why), NO_CALL);
            return;
        }
        let c = self.calls.get_mut(call);
        c.epoch = c.epoch.wrapping_add(1);
        c.server = NONE;
        let retry = self.retry.as_ref().is_some_and(|p| p.may_retry(self.calls.get(call), why, &self.calls));
        if !retry {
            self.settle(id, why_outcome(why), call);
            return;
        }
        let c = self.calls.get_mut(call);
        c.attempts += 1;
        let k = c.attempts - 1;
        if !c.retrying {
            c.retrying = true;
            self.calls.active_retries += 1;
        }
        let epoch = self.calls.get(call).epoch;
        let delay = self.retry.as_mut().expect("checked").backoff(k);
        self.events.push(self.now + delay, EventKind::Retry { call, epoch });
    }

    /// The request's outcome is final.
    #[inline]
    fn settle(&mut self, id: u64, outcome: Outcome, call: u32) {
        let measured = id >= self.warmup;
        for counts in [Some(&mut self.total), measured.then_some(&mut self.measured)].into_iter().flatten() {
            match outcome {
                Outcome::Completed => counts.completed += 1,
                Outcome::Failed => counts.failed += 1,
                Outcome::Dropped => counts.dropped += 1,
                Outcome::TimedOut => counts.timed_out += 1,
            }
        }
        if call != NO_CALL {
            let c = *self.calls.get(call);
            self.calls.close(call);
            if c.client != NONE {
                self.events.push(self.now + c.think, EventKind::ClientSend { client: c.client });
            }
        }
    }

    #[inline(always)]
    fn depart(&mut self, s: usize, worker: u32, epoch: u32) {
        let now = self.now;
        let measuring = self.measuring;
        let server = &mut self.servers[s];
        if FULL && epoch != server.epoch {
            return; // rescheduled by a crash or a change of speed
        }
        server.advance(now, measuring);
        let (job, start, next) = server.finish(worker, now);
        if let Some(finish) = next {
            self.events.push(finish, EventKind::Departure { server: s as u32, worker, epoch });
        }
        if FULL && job.call != NO_CALL && self.calls.get(job.call).epoch != job.epoch {
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
        if !FULL || job.call == NO_CALL {
            self.total.completed += 1;
            if job.id >= self.warmup {
                self.measured.completed += 1;
            }
        } else {
            self.settle(job.id, Outcome::Completed, job.call);
        }
    }

    /// The client's timeout of an attempt expired.
    fn timeout(&mut self, call: u32, epoch: u32) {
        let c = *self.calls.get(call);
        if c.epoch != epoch || c.server == NONE {
            return; // that attempt already ended
        }
        let s = c.server as usize;
        self.balancer.dec::<true>(s);
        if c.req.id >= self.warmup {
            self.servers[s].stats.timed_out += 1;
        }
        self.attempt_failed(s, c.req.id, call, Failure::TimedOut);
    }

    fn fault(&mut self, w: usize, start: bool) {
        let window = self.windows[w].clone();
        let s = window.server;
        let now = self.now;
        self.servers[s].advance(now, self.measuring);
        match window.kind {
            FaultKind::Down if start => {
                self.down_window[s] = Some(w as u32);
                if !self.balancer.is_eligible(s) {
                    self.outcomes[w].detected_at = Some(now);
                    self.outcomes[w].detected_by = Some("already out");
                }
                let mut lost = std::mem::take(&mut self.lost);
                self.servers[s].crash(now, &mut lost);
                for job in lost.drain(..) {
                    if job.call != NO_CALL && self.calls.get(job.call).epoch != job.epoch {
                        continue; // already abandoned by its client
                    }
                    self.balancer.dec::<true>(s);
                    if job.id >= self.warmup {
                        self.servers[s].stats.failed += 1;
                    }
                    self.attempt_failed(s, job.id, job.call, Failure::Failed);
                }
                self.lost = lost;
                let t = self.servers[s].next_start();
                self.balancer.set_start_at::<true>(s, t);
            }
            FaultKind::Down => {
                self.servers[s].recover();
                if !self.servers[s].is_down() {
                    self.down_window[s] = None;
                }
            }
            FaultKind::Slow { factor } => {
                if start && !self.balancer.is_eligible(s) {
                    self.outcomes[w].detected_at = Some(now);
                    self.outcomes[w].detected_by = Some("already out");
                }
                let server = &mut self.servers[s];
                let moved = server.set_slowdown(factor, start, now);
                let epoch = server.epoch;
                for (worker, finish) in moved {
                    self.events.push(finish, EventKind::Departure { server: s as u32, worker, epoch });
                }
                let t = self.servers[s].next_start();
                self.balancer.set_start_at::<true>(s, t);
            }
        }
    }

    fn probe(&mut self, s: usize) {
        let now = self.now;
        let health = self.health.as_ref().expect("probes only with health checks");
        self.events.push(now + health.cfg.interval, EventKind::Probe { server: s as u32 });
        let server = &self.servers[s];
        let (ok, delay) = health.probe(server.is_down(), server.next_start() - now);
        if delay > 0.0 {
            self.events.push(now + delay, EventKind::ProbeResult { server: s as u32, ok });
        } else {
            self.probe_result(s, ok);
        }
    }

    fn probe_result(&mut self, s: usize, ok: bool) {
        let health = self.health.as_mut().expect("health checks");
        if let Some(up) = health.result(s, ok) {
            let eligible = self.balancer.set_healthy(s, up);
            self.after_eligibility(s, eligible, "health_check");
        }
    }

    fn outlier_result(&mut self, s: usize, ok: bool) {
        let outlier = self.outlier.as_mut().expect("outlier detection");
        if outlier.record(s, ok, self.now) {
            let eligible = self.balancer.set_ejected(s, true);
            self.after_eligibility(s, eligible, "outlier_detection");
        }
    }

    fn outlier_sweep(&mut self) {
        let outlier = self.outlier.as_mut().expect("outlier detection");
        let back = outlier.sweep(self.now);
        self.events.push(self.now + outlier.cfg.interval, EventKind::OutlierSweep);
        for s in back {
            let eligible = self.balancer.set_ejected(s, false);
            self.after_eligibility(s, eligible, "outlier_detection");
        }
    }

    /// Bookkeeping after `s` changed eligibility: detection of a fault in progress, and
    /// slow start when it comes back.
    fn after_eligibility(&mut self, s: usize, became_eligible: bool, by: &'static str) {
        self.ramp_gen[s] = self.ramp_gen[s].wrapping_add(1);
        if !self.balancer.is_eligible(s) {
            let now = self.now;
            for (w, o) in self.windows.iter().zip(&mut self.outcomes) {
                let active = w.start <= now && w.end.is_none_or(|e| now < e);
                if w.server == s && active && o.detected_at.is_none() {
                    o.detected_at = Some(now);
                    o.detected_by = Some(by);
                }
            }
        } else if became_eligible && let Some(window) = self.slow_start[s] {
            self.balancer.set_ramp(s, 1);
            let epoch = self.ramp_gen[s];
            let step = window / f64::from(SLOW_START_STEPS);
            self.events.push(self.now + step, EventKind::SlowStartStep { server: s as u32, epoch });
        }
    }

    fn slow_start_step(&mut self, s: usize, epoch: u32) {
        if epoch != self.ramp_gen[s] || self.balancer.ramp(s) == 0 {
            return;
        }
        let next = self.balancer.ramp(s) + 1;
        self.balancer.set_ramp(s, next);
        if next < SLOW_START_STEPS {
            let step = self.slow_start[s].expect("ramping") / f64::from(SLOW_START_STEPS);
            self.events.push(self.now + step, EventKind::SlowStartStep { server: s as u32, epoch });
        }
    }

    fn start_window(&mut self) {
        self.measuring = true;
        self.window_start = self.now;
        for s in &mut self.servers {
            s.start_window(self.now);
        }
    }

    fn finish(mut self, label: String, replication: u32) -> RunStats {
        let end = self.now;
        for s in &mut self.servers {
            s.advance(end, true);
        }
        self.total.in_flight = self.total.generated - self.total.decided();
        self.measured.in_flight = self.measured.generated - self.measured.decided();
        let warmup_end = (self.warmup > 0).then_some(self.window_start);
        let timeline = self.timeline.finish(end, warmup_end, &self.servers);
        if cfg!(debug_assertions) {
            let live = if self.tracking {
                self.calls.live
            } else {
                self.balancer.in_flight().iter().map(|&n| u64::from(n)).sum()
            };
            assert_eq!(self.total.in_flight, live, "conservation");
        }
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
            faults: self.outcomes,
            panics: self.balancer.panics,
            fallbacks: self.balancer.fallbacks,
        }
    }
}

/// A request's final outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Completed,
    Failed,
    Dropped,
    TimedOut,
}

fn why_outcome(f: Failure) -> Outcome {
    match f {
        Failure::Failed => Outcome::Failed,
        Failure::Dropped => Outcome::Dropped,
        Failure::TimedOut => Outcome::TimedOut,
    }
}
