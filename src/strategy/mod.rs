//! Load-balancing strategies: one trait, one file per family, one registry.
//!
//! A strategy sees the pool as a balancer would (in-flight counts, weights; the oracle
//! strategies also see queued work) and picks a server for each arriving request.
//! Adding a strategy is one new file implementing [`Strategy`] and one line in
//! [`registry::REGISTRY`].
//!
//! # Eligibility (health checks, outlier ejection, slow start)
//!
//! A strategy never sees a server it must not use. When servers are marked down by
//! health checks or ejected by outlier detection, the engine builds a fresh instance of
//! the strategy over the eligible servers only (through its ordinary [`BuildFn`]) and
//! hands it the matching [`Pool::subset`], renumbered `0..k`; it maps picks back to real
//! servers. This is what HAProxy (servers leave the LB tree), Envoy (the LB is rebuilt
//! over the healthy host set) and gRPC (a new picker over READY subchannels) do, so hash
//! strategies rebuild their ring over the healthy set just as those balancers do. A new
//! strategy therefore needs no code for eligibility; it only has to build over any
//! non-empty set of servers (`registry` tests check this for every entry). Slow start
//! works the same way, through reduced weights.
//!
//! [`BuildFn`]: registry::BuildFn

mod aperture;
mod bounded_load;
mod caddy;
mod first;
mod fwrr;
mod hashing;
mod heap;
mod jiq;
mod kube_proxy;
mod least_conn;
mod least_time;
mod least_work;
mod maglev;
mod p2c;
mod params;
mod peak_ewma;
mod random;
pub mod registry;
mod rendezvous;
mod ring_hash;
mod round_robin;
mod weights;

pub use params::{ParamError, ParamInfo, ParamType, Params};
pub use random::haproxy_random_shares;
pub use registry::{StrategyInfo, lookup, names};

use rand_xoshiro::Xoshiro256PlusPlus;

/// The random-number generator a strategy draws from: its own stream, seeded from the
/// scenario seed and the strategy's label, so strategies never disturb each other's draws
/// nor the workload's (common random numbers).
pub type StrategyRng = Xoshiro256PlusPlus;

/// Static facts about a server, known when a strategy is built.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerInfo {
    /// Server name, e.g. `web-3`.
    pub name: String,
    /// Relative speed: service time = demand / speed.
    pub speed: f64,
    /// Requests served at once.
    pub workers: u32,
    /// Waiting room in front of the workers; 0 = unbounded.
    pub queue_capacity: u32,
    /// Balancer weight (integer, as nginx and HAProxy take it).
    pub weight: u32,
    /// HAProxy `maxconn`: requests the balancer lets the server hold at once. Only the
    /// `first` strategy reads it (it fills servers up to it, in order); `None` = not set.
    pub max_connections: Option<u32>,
    /// The server's number in the scenario's pool, from 1 (HAProxy's default server `id`,
    /// which its consistent-hash ring hashes). It stays the same when a strategy is built
    /// over a subset of the pool.
    pub id: u32,
}

/// The request being routed, as a balancer sees it.
#[derive(Debug, Clone, Copy)]
pub struct RequestView {
    /// Sequence number in the generated stream (0-based).
    pub id: u64,
    /// Arrival time in seconds.
    pub arrival: f64,
    /// Key id (client address or URL; see [`crate::workload::keys`]).
    pub key: u64,
    /// The key's 64-bit hash: what hash-based strategies route by.
    pub hash: u64,
    /// The balancer instance handling the request (`0..[balancers] count`). Only strategies
    /// whose instances share one state ([`StrategyInfo::cooperative`]) need it.
    pub balancer: u32,
}

/// The state of the pool that a strategy reads: the *view* of its balancer instance.
///
/// The engine supplies it: with one balancer and the default shared view, the live
/// in-flight counts; under `[balancers] view` the counts that instance can know — its own
/// outstanding requests (local), a snapshot refreshed periodically, or the counts as they
/// were some time ago (delayed). Strategies read whatever pool they are given and contain
/// no view-specific code. [`Pool::start_at`] (the least-work-left oracle's) is always the
/// current truth; it is kept only for an [oracle](StrategyInfo::oracle) strategy.
#[derive(Debug, Clone)]
pub struct Pool {
    pub(crate) in_flight: Vec<u32>,
    pub(crate) weight: Vec<u32>,
    pub(crate) speed: Vec<f64>,
    pub(crate) start_at: Vec<f64>,
}

impl Pool {
    /// A pool of idle servers.
    pub fn new(servers: &[ServerInfo]) -> Self {
        Pool {
            in_flight: vec![0; servers.len()],
            weight: servers.iter().map(|s| s.weight).collect(),
            speed: servers.iter().map(|s| s.speed).collect(),
            start_at: vec![0.0; servers.len()],
        }
    }

    /// Number of servers.
    #[inline]
    pub fn len(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether the pool has no server (never, for a valid scenario).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Requests at server `i` (queued and in service): a balancer's "active connections".
    #[inline]
    pub fn in_flight(&self, i: usize) -> u32 {
        self.in_flight[i]
    }

    /// All in-flight counts.
    #[inline]
    pub fn in_flight_all(&self) -> &[u32] {
        &self.in_flight
    }

    /// Weight of server `i`.
    #[inline]
    pub fn weight(&self, i: usize) -> u32 {
        self.weight[i]
    }

    /// Speed of server `i`.
    #[inline]
    pub fn speed(&self, i: usize) -> f64 {
        self.speed[i]
    }

    /// Oracle view: the time at which a request admitted now to server `i` would start
    /// service (its queued work drained). May be in the past when a worker is idle. Kept
    /// current only when the strategy is an [oracle](StrategyInfo::oracle) (0 otherwise).
    #[inline]
    pub fn start_at(&self, i: usize) -> f64 {
        self.start_at[i]
    }

    /// The view of a strategy built over `members` (server indices of this pool, in
    /// order): their live state renumbered `0..members.len()`, with the weights of
    /// `infos` (the `ServerInfo`s the strategy was built with, possibly with slow-start
    /// weights).
    pub fn subset(&self, members: &[usize], infos: &[ServerInfo]) -> Pool {
        debug_assert_eq!(members.len(), infos.len());
        Pool {
            in_flight: members.iter().map(|&i| self.in_flight[i]).collect(),
            weight: infos.iter().map(|s| s.weight).collect(),
            speed: members.iter().map(|&i| self.speed[i]).collect(),
            start_at: members.iter().map(|&i| self.start_at[i]).collect(),
        }
    }
}

/// A load-balancing strategy.
///
/// `pick` is called once per request, in arrival order; it must return an index below
/// `pool.len()`. The engine then admits the request to that server (or drops it if the
/// server's queue is full). Strategies are deterministic given their RNG stream.
pub trait Strategy: Send {
    /// Chooses the server for `req`.
    fn pick(&mut self, req: &RequestView, pool: &Pool, rng: &mut StrategyRng) -> usize;

    /// Told when a request to `server` completes, with its response time in seconds
    /// (latency-aware strategies use it). Called for every completion, warm-up included.
    fn on_complete(&mut self, _server: usize, _response: f64, _now: f64) {}

    /// Told when `server` has just become idle: it finished its last request and holds no
    /// other, whatever the balancers count (a timed-out attempt the server is still working
    /// on keeps it busy), right after [`on_complete`](Strategy::on_complete) when the
    /// completion was answered. Join-idle-queue uses it: idle servers report themselves to
    /// a dispatcher (drawn from `rng`, the strategy's stream). With several balancer
    /// instances only a [cooperative](StrategyInfo::cooperative) strategy hears it.
    fn on_idle(&mut self, _server: usize, _now: f64, _rng: &mut StrategyRng) {}

    /// Whether this instance keeps its own index of the pool (an O(log S) structure instead
    /// of a scan of every server per pick) and must therefore be told of every change of an
    /// in-flight count ([`on_in_flight`](Strategy::on_in_flight)) and of an oracle start
    /// time ([`on_start_at`](Strategy::on_start_at)). Asked once, right after the build.
    fn tracks_pool(&self) -> bool {
        false
    }

    /// Told (when [`tracks_pool`](Strategy::tracks_pool)) right after the in-flight count of
    /// `server` changed to `in_flight`, at `now` (when the instance's view learnt of it). An
    /// instance reads the whole pool at its first pick; changes before that may be ignored.
    fn on_in_flight(&mut self, _server: usize, _in_flight: u32, _now: f64) {}

    /// Told (when [`tracks_pool`](Strategy::tracks_pool)) right after the oracle's start
    /// time of `server` ([`Pool::start_at`]) changed to `start_at`.
    fn on_start_at(&mut self, _server: usize, _start_at: f64) {}

    /// With several balancer instances, called once on each freshly built instance: start
    /// any rotation (a round-robin position, the order that breaks ties) at a random place
    /// drawn from `rng`, so that independent instances are not in step (as Envoy's random
    /// pre-picks and gRPC's random start index do). Never called with one instance.
    fn stagger(&mut self, _rng: &mut StrategyRng) {}

    /// A [cooperative](StrategyInfo::cooperative) strategy, before its first pick: the
    /// number of balancer instances sharing it (`RequestView::balancer` is below it).
    fn set_instances(&mut self, _count: u32) {}

    /// Hash-based strategies: the server each key hash (in order) is routed to on an
    /// idle pool, for the key-disruption analysis (`lbsim remap`). Strategies that do not
    /// route by key return `None`.
    fn assign_keys(&mut self, _hashes: &[u64]) -> Option<Vec<u32>> {
        None
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers for strategy unit tests.
    use super::*;

    /// `n` servers with the given weights.
    pub(crate) fn servers(weights: &[u32]) -> Vec<ServerInfo> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &w)| ServerInfo {
                name: format!("s-{}", i + 1),
                speed: 1.0,
                workers: 1,
                queue_capacity: 0,
                weight: w,
                max_connections: None,
                id: i as u32 + 1,
            })
            .collect()
    }

    /// A request with id `id` (its own key).
    pub(crate) fn req(id: u64) -> RequestView {
        RequestView { id, arrival: id as f64, key: id, hash: crate::workload::keys::key_hash(id, 0), balancer: 0 }
    }

    /// A request carrying the key hash `hash`.
    pub(crate) fn keyed(id: u64, hash: u64) -> RequestView {
        RequestView { id, arrival: id as f64, key: id, hash, balancer: 0 }
    }

    /// Builds strategies on this thread without their indexes (`true`) or as usual.
    pub(crate) fn scan_only(on: bool) {
        super::least_conn::NO_INDEX.with(|c| c.set(on));
    }

    /// A seeded strategy RNG.
    pub(crate) fn rng() -> StrategyRng {
        use rand::SeedableRng;
        StrategyRng::seed_from_u64(7)
    }
}
