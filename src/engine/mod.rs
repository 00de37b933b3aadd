//! The discrete-event simulation of one strategy on one replication's request stream.
//!
//! The loop merges two time-ordered sources: the request stream (arrivals, generated on
//! the fly) and the [`EventQueue`] (departures; later also faults, probes, timeouts).
//! Before each arrival every event due at or before it is handled, so a server that
//! finishes at the very instant a request arrives is free for it.
//!
//! The run ends at the last arrival; requests still in the system then are reported as
//! in flight. Statistics cover the window from the first measured arrival (after warm-up)
//! to the end.

pub mod events;
pub mod server;
pub mod timeline;

use rand::SeedableRng;

use crate::scenario::{Scenario, StrategySpec};
use crate::stats::{Counts, KeyCounter, LatencyHistogram, RunStats};
use crate::strategy::{self, Pool, RequestView, StrategyRng};
use crate::workload::seeds::Seeds;
use crate::workload::{Request, RequestStream};
use events::{EventKind, EventQueue, Job};
use server::{Admission, Server};
use timeline::Sampler;

/// How often (in requests) the progress callback is told.
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// Simulates `strategy` on replication `replication` of `scenario`.
///
/// `progress` is called with the number of requests processed since its last call.
pub fn simulate(scenario: &Scenario, strategy: &StrategySpec, replication: u32, progress: &dyn Fn(u64)) -> RunStats {
    let info = strategy::lookup(strategy.name).expect("validated strategy");
    let balancer = (info.build)(&strategy.params, &scenario.servers).expect("validated parameters");
    let seeds = Seeds::new(scenario.seed, replication);
    let rng = StrategyRng::seed_from_u64(seeds.strategy(&strategy.label));
    let mut sim = Simulation::new(scenario, balancer, rng);
    let mut since_progress = 0;
    for req in RequestStream::new(scenario, replication) {
        sim.arrive(req);
        since_progress += 1;
        if since_progress == PROGRESS_EVERY {
            progress(since_progress);
            since_progress = 0;
        }
    }
    progress(since_progress);
    sim.finish(strategy.label.clone(), replication)
}

/// The state of one simulation.
struct Simulation {
    servers: Vec<Server>,
    pool: Pool,
    events: EventQueue,
    strategy: Box<dyn strategy::Strategy>,
    rng: StrategyRng,
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
    timeline: Sampler,
}

impl Simulation {
    fn new(sc: &Scenario, strategy: Box<dyn strategy::Strategy>, rng: StrategyRng) -> Self {
        let servers: Vec<Server> = sc.servers.iter().map(Server::new).collect();
        let slots: usize = sc.servers.iter().map(|s| s.workers as usize).sum();
        Simulation {
            servers,
            pool: Pool::new(&sc.servers),
            events: EventQueue::with_capacity(slots + 16),
            strategy,
            rng,
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
            keys: KeyCounter::new(sc.keys.as_ref()),
            timeline: Sampler::new(sc),
        }
    }

    /// Handles every event due at or before `t`.
    #[inline]
    fn run_until(&mut self, t: f64) {
        while self.events.next_time() <= t {
            let ev = self.events.pop().expect("peeked");
            self.timeline.observe(ev.time, &self.servers);
            self.now = ev.time;
            match ev.kind {
                EventKind::Departure { server, job } => self.depart(server as usize, job),
            }
        }
    }

    #[inline]
    fn arrive(&mut self, req: Request) {
        self.run_until(req.arrival);
        self.timeline.observe(req.arrival, &self.servers);
        self.now = req.arrival;
        if req.id == self.warmup {
            self.start_window();
        }
        let view = RequestView { id: req.id, arrival: req.arrival, key: req.key, hash: req.hash };
        let s = self.strategy.pick(&view, &self.pool, &mut self.rng);
        let measured = self.measuring;
        self.total.generated += 1;
        if measured {
            self.measured.generated += 1;
            self.keys.record(req.key);
        }
        let server = &mut self.servers[s];
        server.advance(self.now, measured);
        if measured {
            server.stats.requests += 1;
        }
        let job = Job { id: req.id, arrival: req.arrival, service: req.demand / server.speed, start: req.arrival };
        let (admission, next_start) = server.admit(job, self.now);
        match admission {
            Admission::Dropped => {
                self.total.dropped += 1;
                if measured {
                    self.measured.dropped += 1;
                    server.stats.dropped += 1;
                }
                return;
            }
            Admission::Started => {
                self.events.push(self.now + job.service, EventKind::Departure { server: s as u32, job });
            }
            Admission::Queued => {}
        }
        self.pool.start_at[s] = next_start;
        self.pool.in_flight[s] += 1;
        if measured {
            let n = server.in_system();
            if n > server.stats.max_in_system {
                server.stats.max_in_system = n;
            }
        }
    }

    #[inline]
    fn depart(&mut self, s: usize, job: Job) {
        let now = self.now;
        let measuring = self.measuring;
        let server = &mut self.servers[s];
        server.advance(now, measuring);
        let response = now - job.arrival;
        if let Some(mut next) = server.finish() {
            next.start = now;
            self.events.push(now + next.service, EventKind::Departure { server: s as u32, job: next });
        }
        self.pool.in_flight[s] -= 1;
        self.timeline.completed(s);
        self.total.completed += 1;
        if job.id >= self.warmup {
            server.record(response);
            self.measured.completed += 1;
            self.response.record(response);
            self.response_sum += response;
            self.wait_sum += job.start - job.arrival;
            if response > self.response_max {
                self.response_max = response;
            }
        }
        self.strategy.on_complete(s, response, now);
        if self.pool.in_flight[s] == 0 {
            self.strategy.on_idle(s, now, &mut self.rng);
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
        self.total.in_flight = self.pool.in_flight.iter().map(|&n| u64::from(n)).sum();
        self.measured.in_flight = self.measured.generated - self.measured.completed - self.measured.dropped;
        debug_assert_eq!(
            self.total.generated,
            self.total.completed + self.total.dropped + self.total.in_flight,
            "conservation"
        );
        let warmup_end = (self.warmup > 0).then_some(self.window_start);
        let timeline = self.timeline.finish(end, warmup_end, &self.servers);
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
        }
    }
}
