//! Streaming statistics: nothing is stored per request.
//!
//! - [`LatencyHistogram`]: HDR histograms of response times (nanosecond resolution,
//!   fixed relative precision, memory independent of the request count);
//! - [`RunStats`] / [`ServerStats`]: what one simulation measured;
//! - [`summary`]: per-strategy aggregation across replications, with confidence intervals;
//! - [`evenness`]: max/mean, coefficient of variation, Jain's fairness index;
//! - [`saturation`]: servers offered more than they can serve: the verdicts, and the growth
//!   test on a run (a static split's offered load before the run is `analysis::offered`);
//! - [`KeyCounter`]: requests of the hottest key, in bounded memory;
//! - [`ci`]: Student-t confidence intervals;
//! - [`batch`]: batch means, for intervals from one run;
//! - [`Timeline`] and [`WindowLatency`]: number in system, responses and failures over
//!   simulated time, in bounded memory;
//! - [`warmup`]: where the initial transient ends (MSER-5), in bounded memory;
//! - [`slo_windows`]: time with a service-level objective broken, per window.

pub mod batch;
pub mod ci;
pub mod evenness;
mod histogram;
mod hot_keys;
pub mod pod_counts;
pub mod policy_counts;
pub mod saturation;
pub mod slo_windows;
pub mod summary;
pub mod timeline;
pub mod warmup;
pub mod window_latency;

pub use histogram::LatencyHistogram;
pub use hot_keys::{KeyCounter, MAX_COUNTED_KEYS};
pub use policy_counts::{PolicyStats, PolicySummary};
pub use summary::{Estimate, OpenModel, PoolFacts, Reached, ServerSummary, StrategySummary};
pub use timeline::Timeline;
pub use window_latency::WindowLatency;

/// Request outcome counts: every generated request ends exactly once, so
/// `generated = completed + failed + dropped + timed_out + in_flight`. A request's outcome
/// is that of its last attempt (retries included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests generated (offered to the balancer).
    pub generated: u64,
    /// Requests that completed service.
    pub completed: u64,
    /// Requests dropped because the chosen server's queue was full.
    pub dropped: u64,
    /// Requests still in the system when the run ended.
    pub in_flight: u64,
    /// Requests that failed: refused by a crashed server or reset when it crashed.
    pub failed: u64,
    /// Requests whose last attempt timed out at the client.
    pub timed_out: u64,
    /// Retry attempts sent (not an outcome: attempts sent = generated + retried).
    pub retried: u64,
}

impl Counts {
    /// Whether every generated request is accounted for exactly once.
    pub fn is_conserved(&self) -> bool {
        self.generated == self.completed + self.failed + self.dropped + self.timed_out + self.in_flight
    }

    /// Requests whose outcome is known (all but those in flight at the end).
    pub fn decided(&self) -> u64 {
        self.completed + self.failed + self.dropped + self.timed_out
    }

    /// Completed share of the decided requests (1 when none is decided).
    pub fn availability(&self) -> f64 {
        let d = self.decided();
        if d == 0 { 1.0 } else { self.completed as f64 / d as f64 }
    }

    /// Attempts sent per request offered: (generated + retried) / generated.
    pub fn retry_amplification(&self) -> f64 {
        if self.generated == 0 { 1.0 } else { (self.generated + self.retried) as f64 / self.generated as f64 }
    }

    /// Field-wise sum.
    pub fn add(&mut self, o: &Counts) {
        self.generated += o.generated;
        self.completed += o.completed;
        self.dropped += o.dropped;
        self.in_flight += o.in_flight;
        self.failed += o.failed;
        self.timed_out += o.timed_out;
        self.retried += o.retried;
    }
}

/// What one server measured over the window.
#[derive(Debug, Clone)]
pub struct ServerStats {
    /// Measured requests routed to the server (including dropped).
    pub requests: u64,
    /// Measured requests completed.
    pub completed: u64,
    /// Measured requests dropped.
    pub dropped: u64,
    /// Measured attempts that failed here (refused while crashed, or reset by the crash).
    pub failed: u64,
    /// Measured attempts here that the client gave up on.
    pub timed_out: u64,
    /// ∫ busy workers dt over the window.
    pub busy_area: f64,
    /// ∫ number in system dt over the window.
    pub area_in_system: f64,
    /// Largest number in system seen in the window.
    pub max_in_system: u32,
    /// Sum of measured response times (s).
    pub response_sum: f64,
    /// Response times of measured completions.
    pub response: LatencyHistogram,
    /// Work routed to the server: the service times (demand / speed, or its group's
    /// service) of the measured requests sent to it, dropped ones included, s.
    pub work: f64,
    /// Capacity lost to faults over the window: ∫ (1 − available share) dt, where the share
    /// is 0 while crashed (or while an autoscaled pod is absent) and 1 / slowdown while
    /// slowed, s. The server could do `workers × (window − lost_capacity)` seconds of work
    /// at its nominal speed: what its load ρ is measured against.
    pub lost_capacity: f64,
    /// `[clients]` per connection: ∫ connections held dt over the window.
    pub connections_area: f64,
    /// Most connections held at once in the window.
    pub connections_max: u32,
    /// Connections opened to it over the whole run.
    pub connections_opened: u64,
    /// Requests sent to it on those connections over the whole run.
    pub connection_requests: u64,
    /// `[network] to_server`: measured attempts sent to it that were still on the network
    /// toward it when the run ended (the server has not seen them, so they are in no other
    /// count of its).
    pub in_transit: u64,
}

impl ServerStats {
    /// Zeroed statistics.
    pub fn new() -> Self {
        ServerStats {
            requests: 0,
            completed: 0,
            dropped: 0,
            failed: 0,
            timed_out: 0,
            busy_area: 0.0,
            area_in_system: 0.0,
            max_in_system: 0,
            response_sum: 0.0,
            response: LatencyHistogram::new(2),
            work: 0.0,
            lost_capacity: 0.0,
            connections_area: 0.0,
            connections_max: 0,
            connections_opened: 0,
            connection_requests: 0,
            in_transit: 0,
        }
    }
}

impl Default for ServerStats {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything one simulation (one strategy, one replication) measured.
#[derive(Debug, Clone)]
pub struct RunStats {
    /// Strategy label.
    pub label: String,
    /// Replication index.
    pub replication: u32,
    /// Start of the measured window (arrival of the first measured request), s.
    pub window_start: f64,
    /// End of the run (last arrival), s.
    pub end: f64,
    /// Outcomes of all generated requests, warm-up included.
    pub total: Counts,
    /// Outcomes of the measured requests.
    pub measured: Counts,
    /// Response times of measured completions.
    pub response: LatencyHistogram,
    /// Sum of measured response times (s), for an exact mean.
    pub response_sum: f64,
    /// Largest measured response time (s).
    pub response_max: f64,
    /// Sum of measured waiting times (s).
    pub wait_sum: f64,
    /// Measured requests carrying the most requested key (see [`KeyCounter`]).
    pub hottest_key: u64,
    /// Per-server statistics, in server order.
    pub servers: Vec<ServerStats>,
    /// Events still pending at the end (departures of in-flight requests in service).
    pub pending_events: usize,
    /// Number in system over simulated time (sampled, bounded memory).
    pub timeline: Timeline,
    /// ∫ (max_i N_i − min_i N_i) dt over the window, N_i scaled by mean capacity / server
    /// i's capacity when capacities differ (NaN when not measured).
    pub queue_spread_area: f64,
    /// Time in the window during which some worker was idle while a request waited at
    /// another server, s (NaN when not measured).
    pub idle_while_waiting_time: f64,
    /// What happened in each fault window of the replication (same order as
    /// the scenario's fault windows of that replication).
    pub faults: Vec<FaultOutcome>,
    /// Times the balancer had no eligible server and used them all.
    pub panics: u64,
    /// Times the strategy could not be rebuilt over the eligible servers and its picks of
    /// ineligible ones were redirected at random.
    pub fallbacks: u64,
    /// The measured window cut into batches, for intervals from this run alone.
    pub batches: batch::Batches,
    /// Where MSER-5 finds the initial transient ends in this run's response times (None:
    /// not looked for, a real load test).
    pub transient: Option<warmup::Transient>,
    /// `[autoscaler]`: what the pool did (`None` without an autoscaler).
    pub pods: Option<pod_counts::PodsRun>,
    /// The balancer queue's figures (`None` without `[balancer_queue]`; boxed, so that runs
    /// without one carry a pointer only).
    pub policies: Option<Box<PolicyStats>>,
    /// `[clients]` with `balance = "connection"`: the longest time a server that joined the
    /// endpoints during the run took to hold 90% of its fair share of the connections
    /// (connections held ÷ endpoints), s; infinite when one never did before the run ended;
    /// `None` when no server joined.
    pub fair_share: Option<f64>,
    /// `[client] hedge_after`: the hedge copies of the measured requests (`None` without
    /// hedging).
    pub hedges: Option<HedgeCounts>,
    /// `[balancers] subset`: times an instance's whole subset was ineligible and it used
    /// every eligible server instead (`None` without subsets).
    pub subset_widened: Option<u64>,
    /// `[slo]`: the run's whole windows and those that broke the objective (`None`
    /// without one).
    pub slo: Option<slo_windows::SloRun>,
    /// ∫ requests in progress dt over the window, from each request's arrival to its
    /// outcome — wherever it is: at a server, waiting at the balancer or for a client's
    /// connection, on the network, backing off before a retry (`None` when the engine does
    /// not follow requests across attempts; then the servers hold every request).
    pub calls_area: Option<f64>,
}

/// How a strategy's run came back from its events (fault windows and flash crowds of the
/// first replication; `report::run::phases` measures each): what summary.csv's
/// `recovery_s` and `recovered` say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recovery {
    /// The longest time from an event's end until back to normal, s (over the events that
    /// recovered; NaN when none did).
    pub longest: f64,
    /// Whether every event recovered before the end of the run.
    pub all: bool,
    /// When the last event to recover did (its end + its recovery), s; `None` when one did
    /// not recover.
    pub at: Option<f64>,
}

/// Hedged requests (Dean & Barroso, "The Tail at Scale", 2013) over the measured requests:
/// the copies sent and what they cost. Work is service time at the servers (demand ÷
/// speed) of the attempts admitted, less what cancelling them spared.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HedgeCounts {
    /// Hedge copies sent (copies are not requests: no outcome of their own).
    pub sent: u64,
    /// Requests whose first successful answer came from a copy.
    pub won: u64,
    /// Work done by the copies, s.
    pub copy_work: f64,
    /// Work done by the requests' own attempts (the first and any retries), s.
    pub own_work: f64,
}

impl HedgeCounts {
    /// Field-wise sum.
    pub fn add(&mut self, o: &HedgeCounts) {
        self.sent += o.sent;
        self.won += o.won;
        self.copy_work += o.copy_work;
        self.own_work += o.own_work;
    }

    /// The extra load hedging costs: copies' work ÷ the requests' own work (0 when no
    /// work was done).
    pub fn extra_load(&self) -> f64 {
        if self.own_work > 0.0 { self.copy_work / self.own_work } else { 0.0 }
    }
}

/// How the balancer reacted to one fault window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultOutcome {
    /// When the server was first taken out of rotation during the window, s.
    pub detected_at: Option<f64>,
    /// What took it out: `health_check` or `outlier_detection`.
    pub detected_by: Option<&'static str>,
    /// Attempts refused by the crashed server before that (the herd sent to a dead server).
    pub refused_before_detection: u64,
    /// Every time the server left rotation during the window, and every time it came back
    /// (during the window or after it, until it is back), in time order: a health check that
    /// fails a slowed server again and again takes it out and puts it back several times.
    pub rotation: Vec<RotationChange>,
    /// The server's load ρ during the window: the work routed to it then over the capacity
    /// it had then (a slowed server has 1 / slowdown of its own); until the run's end when
    /// the window outlasts it. `None` when it had no capacity (a crash) or the window
    /// started after the run.
    pub rho: Option<f64>,
}

/// The server of a fault window left rotation, or came back to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotationChange {
    /// When, s.
    pub at: f64,
    /// Out of rotation (`true`) or back in it.
    pub out: bool,
    /// What did it: `health_check`, `outlier_detection`, `already out` (it was out when the
    /// window started), or the mechanism that put it back.
    pub by: &'static str,
}

impl FaultOutcome {
    /// The times the server was taken out of rotation.
    pub fn removals(&self) -> usize {
        self.rotation.iter().filter(|c| c.out).count()
    }
}

impl RunStats {
    /// Length of the measured window, s.
    pub fn window(&self) -> f64 {
        (self.end - self.window_start).max(f64::MIN_POSITIVE)
    }

    /// Mean response time of measured completions, s (NaN when none completed).
    pub fn mean_response(&self) -> f64 {
        self.response_sum / self.measured.completed as f64
    }

    /// Completions of measured requests per second.
    pub fn throughput(&self) -> f64 {
        self.measured.completed as f64 / self.window()
    }

    /// Time-averaged number of requests in progress over the window, wherever they are
    /// (see [`Self::calls_area`]).
    pub fn mean_in_progress(&self) -> Option<f64> {
        self.calls_area.map(|a| a / self.window())
    }

    /// Time-averaged number in system over the window, all servers.
    pub fn mean_in_system(&self) -> f64 {
        self.servers.iter().map(|s| s.area_in_system).sum::<f64>() / self.window()
    }
}
