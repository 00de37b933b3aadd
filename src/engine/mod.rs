//! The discrete-event simulation of one strategy on one replication's request stream.
//!
//! An open workload's loop merges two time-ordered sources: the request stream (arrivals,
//! generated on the fly) and the `EventQueue` (departures, faults, health checks,
//! timeouts, retries). Before each arrival every event due at or before it is handled, so
//! a server that finishes at the very instant a request arrives is free for it. A closed
//! loop has no external arrivals: its clients' sends are events too.
//!
//! The run ends at the last arrival (the `requests`-th request sent); requests still in
//! the system then are reported as in flight. Statistics cover the window from the first
//! measured arrival (after warm-up) to the end.
//!
//! Failures: a crashed server fails the requests it holds and refuses new ones until the
//! balancer stops sending to it — which it does only once health checks or outlier
//! detection have noticed. Each attempt ends once: completed, failed, dropped or timed out;
//! a failed attempt may be retried; a request's outcome is its last attempt's. A plain
//! open-loop scenario uses none of this machinery and keeps the fast path of the core.
//!
//! # Layout
//!
//! This file holds the entry point ([`simulate`], the open and closed loops) and the state
//! of one simulation (its measurements in a `Recorder`, its failure machinery in
//! `Failures`); the simulation's methods are split by concern into `impl` blocks:
//!
//! | file | job |
//! |---|---|
//! | `sim.rs` | the core: events due before an arrival, sending through the balancer, departures, the end of the run |
//! | `recorder.rs` | what the run measures (`Recorder`: outcome counts, the measured window and its batches, response times, keys), filled by the core |
//! | `attempts.rs` | the retry path: refused, dropped and timed-out attempts, retries, a request's final outcome |
//! | `hedging.rs` | hedged requests: copies of an attempt, the first answer, cancelling the others |
//! | `detection.rs` | fault windows, health checks, outlier detection, slow start |
//! | `pool_life.rs`, `hpa.rs`, `rollout.rs` | `[autoscaler]`, rolling deploys: the pods of the group (provisioning, readiness, draining), the metrics pipeline, the HPA controller, the Deployment controller's rolling update |
//! | `events.rs`, `departures.rs`, `server.rs`, `balancer.rs`, `calls.rs`, `health.rs`, `outlier.rs`, `sampler.rs`, `spread.rs` | the parts: the event queue (with a plain run's departure tree), a server, the balancer around the strategy, the call table and retry policy, the two detectors, the timeline recorder, the dynamic-imbalance integrals |

mod attempts;
mod balancer;
mod balancer_queue;
mod calls;
mod cold_start;
mod connections;
mod departures;
mod detection;
mod events;
mod health;
mod hedging;
mod hpa;
mod outlier;
mod pool_life;
mod recorder;
mod rollout;
pub mod sampler;
mod server;
mod sim;
mod slow_start;
mod spread;

#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod tests;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::scenario::cold_start::ColdStart;
use crate::scenario::slow_start::{SlowStart, SlowStartModel};
use crate::scenario::{Delay, FaultWindow, Scenario, StrategySpec, View};
use crate::stats::{FaultOutcome, RunStats};
use crate::strategy::{self, StrategyRng};
use crate::workload::assign::Assigner;
use crate::workload::seeds::Seeds;
use crate::workload::service::ServiceDist;
use crate::workload::{PerRequestSampler, RequestStream};
use balancer::Balancer;
pub use balancer::SLOW_START_STEPS;
use calls::{Calls, RetryPolicy};
use connections::Pools;
use events::{EventKind, EventQueue, Job};
use health::Health;
use outlier::Outlier;
use recorder::Recorder;
use sampler::TimelineRecorder;
use server::Server;
use spread::ImbalanceTracker;

/// Bytes of the engine's structures whose number grows with a scenario: what the budget
/// (`budget::estimate`) multiplies to size a run before it starts, without seeing the
/// engine's types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// An event of the queue (every busy worker and every pending timer holds one).
    pub event: u64,
    /// A server's own state, besides its workers' jobs and its histograms.
    pub server: u64,
    /// A job: a request in service at a worker or waiting in a server's queue.
    pub job: u64,
}

/// The sizes of the engine's structures (see [`Footprint`]).
pub const fn footprint() -> Footprint {
    Footprint {
        event: std::mem::size_of::<events::Event>() as u64,
        server: std::mem::size_of::<Server>() as u64,
        job: std::mem::size_of::<Job>() as u64,
    }
}

/// How often (in requests) the progress callback is told.
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// Simulates `strategy` on replication `replication` of `scenario`.
///
/// `progress` is called with the number of requests processed since its last call.
pub fn simulate(scenario: &Scenario, strategy: &StrategySpec, replication: u32, progress: &dyn Fn(u64)) -> RunStats {
    // A plain scenario (no faults, detection, client policy, closed loop, per-server
    // service, balancer instances or views, network) runs a copy of the loop with all of
    // that compiled out.
    let plain = scenario.faults.is_empty()
        && scenario.health_check.is_none()
        && scenario.outlier_detection.is_none()
        && scenario.client.is_none()
        && !scenario.is_closed()
        && scenario.groups.iter().all(|g| g.service.is_none())
        && scenario.balancers.is_default()
        && !scenario.network.is_some()
        && scenario.autoscaler.is_none()
        && scenario.clients.is_none()
        && scenario.balancer_queue.is_none();
    if plain {
        run::<false>(scenario, strategy, replication, progress)
    } else {
        run::<true>(scenario, strategy, replication, progress)
    }
}

/// Runs one simulation: the open workload's arrivals in order, or the closed loop's
/// client sends as events, until the `requests`-th request is sent.
fn run<const FULL: bool>(
    scenario: &Scenario,
    strategy: &StrategySpec,
    replication: u32,
    progress: &dyn Fn(u64),
) -> RunStats {
    let info = strategy::lookup(strategy.name).expect("validated strategy");
    let seeds = Seeds::new(scenario.seed, replication);
    let rng = StrategyRng::seed_from_u64(seeds.strategy(&strategy.label));
    let mut balancer =
        Balancer::with_instances(info, strategy.params.clone(), &scenario.servers, &scenario.balancers, rng);
    if let Some(drawn) = scenario.drawn_subsets() {
        balancer.set_drawn_subsets(drawn);
    }
    if let Some(model) = scenario.groups.iter().find_map(|g| g.slow_start).map(|s| s.model)
        && let Some(r) = slow_start::ramping(model, strategy.name, &strategy.params)
    {
        balancer.set_slow_start(r);
    }
    let mut stream = RequestStream::new(&scenario.workload(), replication);
    if !info.keyed {
        stream = stream.without_hashes(); // only hash-based strategies read them
    }
    let mut sim = Simulation::<FULL>::new(scenario, balancer, &seeds, replication);
    if let Some(q) = &mut sim.queue
        && matches!(strategy.name, "round-robin" | "weighted-round-robin" | "first")
        && (0..scenario.servers.len()).any(|i| {
            q.has_limit(i) && scenario.group_of(i).slow_start.is_some_and(|ss| ss.model == SlowStartModel::Haproxy)
        })
    {
        // HAProxy's roundrobin, static-rr and first (balancer_queue.rs).
        q.set_queue_first();
    }
    let mut since_progress = 0;
    if let Some(closed) = scenario.arrivals.closed() {
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
                    sim.generate(req, Some(client), t);
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
    /// The servers: workers, queues, their statistics.
    servers: Vec<Server>,
    /// Per-server service-time distribution replacing the request's demand (group
    /// `service` overrides), keyed by request id.
    overrides: Vec<Option<PerRequestSampler>>,
    /// The strategy, its view of the pool and the servers' eligibility.
    balancer: Balancer,
    /// Pending events (everything but the open workload's arrivals).
    events: EventQueue,
    /// What the run measures: outcome counts, the measured window and its batches,
    /// response times, keys.
    rec: Recorder,
    /// Whether servers integrate their busy time: while measuring, and from the start when
    /// an autoscaler reads it.
    integrating: bool,
    /// Simulated time of the event or arrival being handled, s.
    now: f64,
    /// The sampled number-in-system series.
    timeline: TimelineRecorder,
    /// Dynamic imbalance: the spread of the numbers in system, idle while waiting.
    imbalance: ImbalanceTracker,
    // --- failure machinery (unused by a plain open-loop run) ---
    /// Whether requests are followed across attempts (timeouts, retries, closed loop).
    tracking: bool,
    /// Requests followed across attempts.
    calls: Calls,
    /// ∫ calls in progress dt over the measured window so far, from the calls closed
    /// (see [`crate::stats::RunStats::calls_area`]).
    calls_area: f64,
    /// Faults, their detection and the client's retry policy (`attempts.rs`, `detection.rs`).
    fail: Failures,
    // --- balancer instances and network (unused by a plain run) ---
    /// The instance of each request (`None`: one instance).
    assigner: Option<Assigner>,
    /// `[network]` transit times.
    transit: Transit,
    /// Refresh interval of a periodic view, s.
    refresh_every: Option<f64>,
    /// Refreshes so far.
    refreshes: u64,
    /// `[autoscaler]`: the autoscaled group's pods and controller.
    pool: Option<Box<pool_life::Pool>>,
    // --- [clients] (unused without it) ---
    /// The clients' connection pools.
    pools: Option<Pools>,
    /// Whether the strategy chooses per connection (`balance = "connection"`).
    l4: bool,
    /// `[balancer_queue]`: the servers' caps and the requests waiting at the balancer.
    queue: Option<balancer_queue::Queues>,
    /// `[client] overall_timeout`, s.
    overall_timeout: Option<f64>,
    /// `[client] avoid_previous`: the servers each call (by slot) has tried.
    tried: Option<Vec<Vec<u32>>>,
    /// `[client] hedge_after`: the copies each call's attempt has at servers.
    hedging: Option<Box<hedging::Hedging>>,
}

/// The failure machinery of a simulation (unused by a plain open-loop run): faults and
/// their detection (`detection.rs`), the client's retries and timeout (`attempts.rs`).
struct Failures {
    /// `[client]` retries, with their backoff stream.
    retry: Option<RetryPolicy>,
    /// `[client]` per-attempt timeout, s.
    timeout: Option<f64>,
    /// Active health checks.
    health: Option<Health>,
    /// Passive outlier detection.
    outlier: Option<Outlier>,
    /// Slow start of each server's group (`None` also when the balancer applies none to
    /// the strategy).
    slow_start: Vec<Option<SlowStart>>,
    /// Step of each server's ramp.
    ramp_step: Vec<u32>,
    /// Cold start of each server's group.
    cold: Vec<Option<ColdStart>>,
    /// Per server: bumped at every (re)start, which makes pending cold steps stale.
    cold_gen: Vec<u32>,
    /// Step of each server's warm-up.
    cold_step: Vec<u32>,
    /// Per server: bumped at every change of eligibility, which makes pending slow-start
    /// steps stale.
    ramp_gen: Vec<u32>,
    /// This replication's fault windows.
    windows: Vec<FaultWindow>,
    /// How the balancer reacted to each fault window.
    outcomes: Vec<FaultOutcome>,
    /// Per fault window in progress: the work routed to its server and the capacity it
    /// lost, both since t = 0, when the window started (its load is measured from them).
    marks: Vec<Option<(f64, f64)>>,
    /// The crash window each server is in, if any.
    down_window: Vec<Option<u32>>,
    /// Scratch buffer for the jobs a crash loses (kept to reuse its allocation).
    lost: Vec<Job>,
}

/// The `[network]` legs, with the seeds their per-attempt draws come from.
#[derive(Debug, Clone, Copy, Default)]
struct Transit {
    to_server: Option<(Delay, u64)>,
    from_server: Option<(Delay, u64)>,
}

impl Transit {
    /// Whether the network is modelled at all (requests then travel through `Deliver` and
    /// `Reply`, possibly of zero length).
    fn is_some(&self) -> bool {
        self.to_server.is_some() || self.from_server.is_some()
    }

    /// The length of `leg` for attempt `attempt` of request `id`: the same whichever
    /// strategy routes it (common random numbers).
    fn draw(leg: Option<(Delay, u64)>, id: u64, attempt: u32) -> f64 {
        match leg {
            None => 0.0,
            Some((Delay::Constant(x), _)) => x,
            Some((Delay::Random(d), seed)) => PerRequestSampler::new(d, seed).sample(id ^ (u64::from(attempt) << 48)),
        }
    }
}

impl<const FULL: bool> Simulation<FULL> {
    /// A simulation of `sc` at t = 0 with its fault windows, first health checks and
    /// outlier sweep scheduled.
    fn new(sc: &Scenario, balancer: Balancer, seeds: &Seeds, replication: u32) -> Self {
        // The oracle reads when a request would start; so does a health check (its wait).
        let predict = balancer.reads_start_at() || sc.health_check.is_some();
        let servers: Vec<Server> = sc.servers.iter().map(|info| Server::new(info, predict)).collect();
        let n = servers.len();
        let slots: usize = sc.servers.iter().map(|s| s.workers as usize).sum();
        let overrides = (0..n)
            .map(|i| {
                let g = sc.group_of(i);
                g.service.as_ref().map(|d| PerRequestSampler::new(*d, seeds.stream(&format!("service/{}", g.name))))
            })
            .collect();
        let windows = sc.fault_windows(replication);
        let balancer_keyed = balancer.keyed();
        let ramps = balancer.has_slow_start();
        let mut sim = Simulation {
            servers,
            overrides,
            balancer,
            // A plain run schedules nothing but departures, at most one per worker.
            events: if FULL {
                EventQueue::with_capacity(slots + 16)
            } else {
                EventQueue::plain(&sc.servers.iter().map(|s| s.workers).collect::<Vec<_>>())
            },
            rec: Recorder::new(sc),
            integrating: sc.autoscaler.is_some(),
            now: 0.0,
            timeline: TimelineRecorder::new(sc, replication),
            imbalance: ImbalanceTracker::new(
                sc.servers.iter().map(|s| s.workers).collect(),
                &(0..n).map(|i| sc.capacity_of(i)).collect::<Vec<_>>(),
            ),
            tracking: sc.client.is_some()
                || sc.is_closed()
                || sc.balancers.count > 1
                || sc.network.is_some()
                || sc.clients.is_some()
                || sc.balancer_queue.is_some(),
            calls: Calls::default(),
            calls_area: 0.0,
            fail: Failures {
                retry: sc
                    .client
                    .map(|p| RetryPolicy::new(p, Xoshiro256PlusPlus::seed_from_u64(seeds.stream("retries")))),
                timeout: sc.client.and_then(|p| p.timeout),
                health: sc.health_check.map(|h| Health::new(h, n)),
                outlier: sc.outlier_detection.map(|o| Outlier::new(o, n)),
                // A ramp of the weights (the balancer applies this slow start to the
                // strategy), or of HAProxy's limit at a balancer queue (whatever the strategy).
                slow_start: (0..n)
                    .map(|i| {
                        let limit = sc.balancer_queue.is_some() && sc.servers[i].max_connections.is_some();
                        sc.group_of(i).slow_start.filter(|ss| ramps || (limit && ss.model == SlowStartModel::Haproxy))
                    })
                    .collect(),
                ramp_step: vec![0; n],
                cold: (0..n).map(|i| sc.group_of(i).cold_start).collect(),
                cold_gen: vec![0; n],
                cold_step: vec![0; n],
                ramp_gen: vec![0; n],
                outcomes: vec![FaultOutcome::default(); windows.len()],
                marks: vec![None; windows.len()],
                windows,
                down_window: vec![None; n],
                lost: Vec::new(),
            },
            assigner: (sc.balancers.count > 1).then(|| {
                Assigner::new(sc.balancers.assign, sc.balancers.count, seeds.stream("balancers"))
                    .with_shares(sc.balancers.shares.as_deref())
            }),
            transit: Transit {
                to_server: sc.network.to_server.map(|d| (d, seeds.stream("network/to_server"))),
                from_server: sc.network.from_server.map(|d| (d, seeds.stream("network/from_server"))),
            },
            refresh_every: match sc.balancers.view {
                View::Periodic { interval, .. } => Some(interval),
                _ => None,
            },
            refreshes: 0,
            pool: sc.pod_group.as_ref().map(|g| {
                let first = sc.groups[g.group].first;
                Box::new(pool_life::Pool::new(g, sc.autoscaler.as_ref(), first, n, seeds.stream("pods/provision")))
            }),
            pools: sc.clients.as_ref().map(|c| Pools::new(c, n, sc.balancers.count, &sc.network, seeds)),
            l4: sc.clients.as_ref().is_some_and(|c| c.per_connection()),
            overall_timeout: sc.client.and_then(|c| c.overall_timeout),
            tried: sc.client.is_some_and(|c| c.avoid_previous).then(Vec::new),
            hedging: sc.client.and_then(|c| c.hedge).map(|h| {
                Box::new(hedging::Hedging::new(h, PerRequestSampler::new(sc.service, seeds.stream("hedges"))))
            }),
            queue: sc.balancer_queue.map(|q| balancer_queue::Queues::new(q, &sc.servers, balancer_keyed)),
        };
        sim.start_pool();
        if let Some(interval) = sim.refresh_every {
            sim.events.push(interval, EventKind::Refresh);
        }
        for (i, w) in sim.fail.windows.iter().enumerate() {
            sim.events.push(w.start, EventKind::Fault { window: i as u32, start: true });
            if let Some(end) = w.end {
                sim.events.push(end, EventKind::Fault { window: i as u32, start: false });
            }
        }
        if let Some(h) = &sim.fail.health {
            let mut phase = Xoshiro256PlusPlus::seed_from_u64(seeds.stream("health"));
            let interval = h.cfg.interval;
            for s in 0..n {
                let u: f64 = rand::RngExt::random(&mut phase);
                sim.events.push(u * interval, EventKind::Probe { server: s as u32 });
            }
        }
        if let Some(o) = &sim.fail.outlier {
            sim.events.push(o.cfg.interval, EventKind::OutlierSweep);
        }
        sim
    }
}
