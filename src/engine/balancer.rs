//! The balancer: its instances, the strategy state each owns, the view of the load each
//! reads, and which servers they may use.
//!
//! # Instances and views
//!
//! `[balancers] count` independent instances (nginx workers, ingress replicas, client-side
//! sidecars) each own a strategy state — a round-robin position, smooth-WRR weights,
//! latency averages — built through the registry's ordinary `build`; with more than one,
//! each is [staggered](Strategy::stagger) so that they are not in step. Their random draws
//! (and the stagger offsets) come from the strategy's one stream, in the order requests are
//! handled: a strategy that reads nothing but its draws (`random`, `weighted-random`) picks
//! exactly the same servers whatever the instances and views. A request is handled by the instance the engine assigned it to, which also
//! hears its completion. Strategies whose state is no per-instance state at all share one
//! object: the hash-based ones (a pure function of the key and the pool) and the
//! [cooperative](StrategyInfo::cooperative) join-idle-queue, whose dispatchers *are* the
//! instances.
//!
//! What an instance's strategy reads is its [`Pool`], chosen here and nowhere else — no
//! strategy has view-specific code:
//! - *shared*: the true global counts — every instance's requests sent and not yet
//!   answered, moving at the balancers' own send and receive times;
//! - *local*: the instance's own requests not yet answered;
//! - *periodic*: a snapshot of the global counts taken every interval (the engine's
//!   `Refresh` events), plus, with `count_own`, the instance's own sends since;
//! - *delayed*: the global counts as they were `delay` ago, exactly: every change is kept in
//!   a FIFO with its time and applied once it is `delay` old, so memory holds only the
//!   changes of the last `delay` (bounded, whatever the run's length); with delay 0 this is
//!   the shared view.
//!
//! An [oracle](StrategyInfo::oracle) (least-work-left) reads the current truth under every
//! view. With one instance and the shared view (the default) none of this exists: the
//! per-request methods compile to the single strategy over the live pool.
//!
//! # Indexes
//!
//! A strategy state that keeps its own index of the pool ([`Strategy::tracks_pool`]:
//! least-connections and least-work-left on large pools) is told every change of exactly
//! the counts its view shows, when they change: under *shared* every change of the global
//! counts; under *local* its instance's own; under *periodic* the snapshot's changes at a
//! refresh (or, with `count_own`, when the instance takes its copy) and its own sends;
//! under *delayed* each change as it is applied to the board. Start times (the oracle's)
//! are told to every state. Its picks are then exactly those of a scan of its view.
//!
//! # Eligibility
//!
//! A server is *eligible* unless active health checks mark it down or outlier detection
//! ejects it. Strategies never see ineligible servers: whenever the eligible set (or a
//! slow-start weight) changes, a fresh state of the strategy is built over the eligible
//! servers only, for every instance, and given the matching [`Pool::subset`] of its view;
//! its picks are mapped back to real server indices. This is how HAProxy (servers leave the
//! LB tree), Envoy (the load balancer is rebuilt over the healthy hosts) and gRPC (a new
//! picker over READY subchannels) behave, and it needs no eligibility code in any strategy.
//! Per-instance state (a round-robin position, smooth-WRR current weights) restarts at each
//! change, as it does in those balancers.
//!
//! If no server is eligible the balancer uses them all (the "panic" behaviour of Envoy
//! and nginx, better than failing every request). If a strategy cannot be built over the
//! eligible set (a parameter such as `choices` larger than the set), the full-pool
//! state keeps picking and its picks of ineligible servers go to a random eligible one.
//!
//! Slow start (nginx `slow_start`, HAProxy `slowstart`): a server that becomes eligible
//! again ramps its weight from 1/20 to its full value in 20 equal steps over the window
//! (HAProxy also updates the effective weight in steps, every 1/20 of the window); the
//! other servers' weights are scaled by 20 meanwhile so the ratio is exact. Strategies
//! that ignore weights (round-robin, random, p2c) see no ramp, as in the real balancers.

use std::collections::VecDeque;

use rand::RngExt;

use crate::scenario::{Balancers, View};
use crate::strategy::{Params, Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// Steps of a slow-start ramp.
pub const SLOW_START_STEPS: u32 = 20;

/// A view of the load, and the subset of it the strategies read while eligibility
/// restricts the pool.
struct ViewPool {
    full: Pool,
    /// The members' part, renumbered (`Some` exactly while [`Balancer::members`] is).
    sub: Option<Pool>,
}

impl ViewPool {
    fn new(servers: &[ServerInfo]) -> Self {
        ViewPool { full: Pool::new(servers), sub: None }
    }

    /// Adds `delta` to the count of server `s`, at position `pos` among the members.
    #[inline(always)]
    fn add(&mut self, s: usize, pos: Option<u32>, delta: i32) {
        let c = &mut self.full.in_flight[s];
        *c = c.checked_add_signed(delta).expect("in-flight counts stay ≥ 0");
        if let (Some(sub), Some(p)) = (&mut self.sub, pos) {
            let c = &mut sub.in_flight[p as usize];
            *c = c.checked_add_signed(delta).expect("in-flight counts stay ≥ 0");
        }
    }

    /// Copies the counts of `from` (the same servers and members).
    fn copy_counts(&mut self, from: &ViewPool) {
        self.full.in_flight.copy_from_slice(&from.full.in_flight);
        if let (Some(to), Some(from)) = (&mut self.sub, &from.sub) {
            to.in_flight.copy_from_slice(&from.in_flight);
        }
    }

    /// Re-derives the members' part after a change of eligibility.
    fn resubset(&mut self, members: Option<&Members>) {
        self.sub = members.map(|m| self.full.subset(&m.map, &m.infos));
    }
}

/// The eligible servers while they are not the whole pool (or some are ramping up).
struct Members {
    /// Real server index of each member.
    map: Vec<usize>,
    /// Position of each real server among the members (`None`: not a member).
    pos: Vec<Option<u32>>,
    /// The members as the strategies are built over them (slow-start weights).
    infos: Vec<ServerInfo>,
}

/// The strategy an instance runs over the members.
enum SubStrategy {
    /// Every server is eligible: the full-pool strategy runs.
    None,
    /// Built over the members.
    Built(Box<dyn Strategy>),
    /// Not buildable over the members: the full-pool strategy runs and its picks of
    /// ineligible servers are remapped at random.
    Fallback,
}

/// The strategy state of one balancer instance.
struct Instance {
    /// Over the whole pool.
    strategy: Box<dyn Strategy>,
    /// Over the eligible members.
    sub: SubStrategy,
    /// Whether `strategy` keeps an index of its pool (told of every change of its view).
    tracks: bool,
    /// Whether the [`SubStrategy::Built`] state does.
    sub_tracks: bool,
}

impl Instance {
    /// A fresh state over the whole pool.
    fn new(strategy: Box<dyn Strategy>) -> Self {
        let tracks = strategy.tracks_pool();
        Instance { strategy, sub: SubStrategy::None, tracks, sub_tracks: false }
    }

    /// Whether either of its states keeps an index.
    fn tracking(&self) -> bool {
        self.tracks || self.sub_tracks
    }

    /// Tells the tracking states that the count of server `s` (member `pos`) in `pool`, the
    /// view they read, has changed.
    #[inline]
    fn count_changed(&mut self, s: usize, pos: Option<u32>, pool: &ViewPool) {
        if self.tracks {
            self.strategy.on_in_flight(s, pool.full.in_flight[s]);
        }
        if self.sub_tracks
            && let (SubStrategy::Built(st), Some(p), Some(sub)) = (&mut self.sub, pos, &pool.sub)
        {
            st.on_in_flight(p as usize, sub.in_flight[p as usize]);
        }
    }

    /// Tells the tracking states that the oracle's start time of `s` (member `pos`) is `t`.
    #[inline]
    fn start_changed(&mut self, s: usize, pos: Option<u32>, t: f64) {
        if self.tracks {
            self.strategy.on_start_at(s, t);
        }
        if self.sub_tracks
            && let (SubStrategy::Built(st), Some(p)) = (&mut self.sub, pos)
        {
            st.on_start_at(p as usize, t);
        }
    }
}

/// The servers whose counts differ between `a` and `b` (the same servers).
fn differing(a: &ViewPool, b: &ViewPool) -> Vec<usize> {
    a.full.in_flight.iter().zip(&b.full.in_flight).enumerate().filter(|(_, (x, y))| x != y).map(|(s, _)| s).collect()
}

/// Copies the counts of `from` into `to`, telling `inst` (which reads `to`) of each change
/// when it keeps an index.
fn copy_telling(to: &mut ViewPool, from: &ViewPool, inst: &mut Instance, members: Option<&Members>) {
    if !inst.tracking() {
        return to.copy_counts(from);
    }
    let changed = differing(to, from);
    to.copy_counts(from);
    for s in changed {
        inst.count_changed(s, members.and_then(|m| m.pos[s]), to);
    }
}

/// What the instances read, beyond the shared counts.
enum Views {
    /// The shared counts.
    Shared,
    /// Each instance's own outstanding requests.
    Local(Vec<ViewPool>),
    /// A snapshot of the shared counts, refreshed by [`Balancer::refresh`].
    Periodic {
        board: ViewPool,
        /// Refreshes so far.
        epoch: u64,
        /// With `count_own`: each instance's snapshot plus its sends since, and the epoch it
        /// was copied at.
        own: Vec<(ViewPool, u64)>,
    },
    /// The shared counts as they were `delay` ago.
    Delayed {
        board: ViewPool,
        delay: f64,
        /// Changes of the shared counts not yet applied to `board`: (time, server, ±1).
        pending: VecDeque<(f64, u32, i32)>,
    },
}

/// The balancer instances, their strategy states and views, and the servers' eligibility.
pub(super) struct Balancer {
    info: &'static StrategyInfo,
    params: Params,
    servers: Vec<ServerInfo>,
    /// The global counts (every instance's requests not yet answered) and the oracle's
    /// start times: the shared view.
    shared: ViewPool,
    /// The first instance's strategy state; every instance's when they share one.
    first: Instance,
    /// Instances 1.. (empty when all share `first`).
    rest: Vec<Instance>,
    /// The strategy's stream, which every instance draws from.
    rng: StrategyRng,
    /// Number of instances.
    count: u32,
    /// Every instance uses `first` (hash-based or cooperative strategies).
    one_state: bool,
    /// Whether some instance's state keeps an index (and must be told of changes).
    tracking: bool,
    /// Whether the strategy is the [oracle](StrategyInfo::oracle), the only one that reads
    /// start times ([`Pool::start_at`]); others do not have them kept.
    oracle: bool,
    views: Views,
    members: Option<Members>,
    healthy: Vec<bool>,
    ejected: Vec<bool>,
    /// Slow-start step of each server (0 = not ramping).
    ramp: Vec<u32>,
    /// Rebuilds that fell back to remapping picks (strategy not buildable over the set).
    pub(super) fallbacks: u64,
    /// Times every server was ineligible and the balancer used them all.
    pub(super) panics: u64,
    /// Tests: every (server, attempt time) the strategies were told of.
    #[cfg(test)]
    pub(super) observed: Vec<(usize, f64)>,
    /// Tests: every (server, time) an idle report was made.
    #[cfg(test)]
    pub(super) idle_reports: Vec<(usize, f64)>,
}

/// The strategy state of instance `b`.
#[inline(always)]
fn instance<'a>(first: &'a mut Instance, rest: &'a mut [Instance], one_state: bool, b: u32) -> &'a mut Instance {
    if one_state || b == 0 { first } else { &mut rest[b as usize - 1] }
}

/// Readies a freshly built state for `count` instances: staggered when each instance owns
/// one, told the count when they share it.
fn prepare(st: &mut dyn Strategy, rng: &mut StrategyRng, count: u32, one_state: bool) {
    if count > 1 {
        if one_state {
            st.set_instances(count);
        } else {
            st.stagger(rng);
        }
    }
}

impl Balancer {
    /// One balancer (the shared view) running `info` with `params` over `servers`, drawing
    /// from `rng`.
    #[cfg(test)]
    pub(super) fn new(info: &'static StrategyInfo, params: Params, servers: &[ServerInfo], rng: StrategyRng) -> Self {
        Self::with_instances(info, params, servers, &Balancers::default(), rng)
    }

    /// The balancer instances of `setup` running `info` with `params` over `servers`, drawing
    /// from `rng` (the strategy's stream).
    pub(super) fn with_instances(
        info: &'static StrategyInfo,
        params: Params,
        servers: &[ServerInfo],
        setup: &Balancers,
        mut rng: StrategyRng,
    ) -> Self {
        let build = || (info.build)(&params, servers).expect("validated parameters");
        let n = servers.len();
        let count = setup.count;
        let one_state = info.keyed || info.cooperative;
        let mut first = Instance::new(build());
        prepare(first.strategy.as_mut(), &mut rng, count, one_state);
        let rest = if one_state {
            Vec::new()
        } else {
            (1..count)
                .map(|_| {
                    let mut inst = Instance::new(build());
                    prepare(inst.strategy.as_mut(), &mut rng, count, one_state);
                    inst
                })
                .collect()
        };
        let pools = |k: u32| (0..k).map(|_| ViewPool::new(servers)).collect::<Vec<_>>();
        let view = if info.oracle { View::Shared } else { setup.view };
        let views = match view {
            View::Shared => Views::Shared,
            View::Local => Views::Local(pools(count)),
            View::Periodic { count_own, .. } => Views::Periodic {
                board: ViewPool::new(servers),
                epoch: 0,
                own: if count_own { pools(count).into_iter().map(|p| (p, 0)).collect() } else { Vec::new() },
            },
            View::Delayed { delay } => {
                Views::Delayed { board: ViewPool::new(servers), delay, pending: VecDeque::new() }
            }
        };
        let tracking = first.tracking() || rest.iter().any(Instance::tracking);
        Balancer {
            info,
            params,
            servers: servers.to_vec(),
            shared: ViewPool::new(servers),
            first,
            rest,
            rng,
            count,
            one_state,
            tracking,
            oracle: info.oracle,
            views,
            members: None,
            healthy: vec![true; n],
            ejected: vec![false; n],
            ramp: vec![0; n],
            fallbacks: 0,
            panics: 0,
            #[cfg(test)]
            observed: Vec::new(),
            #[cfg(test)]
            idle_reports: Vec::new(),
        }
    }

    /// Chooses a server for `req` (handled by instance `req.balancer`) among the eligible
    /// ones. `FULL = false` promises one instance, the shared view and no change of
    /// eligibility (no health checks, no outlier detection), here and in the other
    /// per-request methods.
    #[inline(always)]
    pub(super) fn pick<const FULL: bool>(&mut self, req: &RequestView) -> usize {
        if !FULL {
            return self.first.strategy.pick(req, &self.shared.full, &mut self.rng);
        }
        self.pick_any(req)
    }

    #[inline]
    fn pick_any(&mut self, req: &RequestView) -> usize {
        let b = req.balancer;
        if let Views::Delayed { .. } = self.views {
            self.catch_up(req.arrival);
        }
        let inst = instance(&mut self.first, &mut self.rest, self.one_state, b);
        let pool: &ViewPool = match &mut self.views {
            Views::Shared => &self.shared,
            Views::Local(own) => &own[b as usize],
            Views::Periodic { board, own, .. } if own.is_empty() => board,
            Views::Periodic { board, epoch, own } => {
                let (p, at) = &mut own[b as usize];
                if *at != *epoch {
                    copy_telling(p, board, inst, self.members.as_ref());
                    *at = *epoch;
                }
                p
            }
            Views::Delayed { board, .. } => board,
        };
        let rng = &mut self.rng;
        match (&self.members, &mut inst.sub) {
            (Some(m), SubStrategy::Built(st)) => m.map[st.pick(req, pool.sub.as_ref().expect("members"), rng)],
            (Some(m), _) => {
                let s = inst.strategy.pick(req, &pool.full, rng);
                if m.pos[s].is_some() { s } else { m.map[rng.random_range(0..m.map.len())] }
            }
            (None, _) => inst.strategy.pick(req, &pool.full, rng),
        }
    }

    /// Applies the changes of the shared counts that are `delay` old at `now` to the
    /// delayed view.
    fn catch_up(&mut self, now: f64) {
        let Views::Delayed { board, delay, pending } = &mut self.views else { return };
        let until = now - *delay;
        while let Some(&(t, s, d)) = pending.front() {
            if t > until {
                break;
            }
            pending.pop_front();
            let s = s as usize;
            let pos = self.members.as_ref().and_then(|m| m.pos[s]);
            board.add(s, pos, d);
            if self.tracking {
                // Every instance reads the board.
                for inst in std::iter::once(&mut self.first).chain(self.rest.iter_mut()) {
                    inst.count_changed(s, pos, board);
                }
            }
        }
    }

    /// One more request of instance `b` in flight at `s` (the balancer's "active
    /// connections"), sent at `now`.
    #[inline(always)]
    pub(super) fn inc<const FULL: bool>(&mut self, s: usize, b: u32, now: f64) {
        if !FULL {
            let c = &mut self.shared.full.in_flight[s];
            *c += 1;
            if self.tracking {
                self.first.strategy.on_in_flight(s, *c);
            }
            return;
        }
        self.change(s, b, now, 1);
    }

    /// One request of instance `b` fewer in flight at `s` (answered, or given up, at `now`).
    #[inline(always)]
    pub(super) fn dec<const FULL: bool>(&mut self, s: usize, b: u32, now: f64) {
        if !FULL {
            let c = &mut self.shared.full.in_flight[s];
            *c -= 1;
            if self.tracking {
                self.first.strategy.on_in_flight(s, *c);
            }
            return;
        }
        self.change(s, b, now, -1);
    }

    fn change(&mut self, s: usize, b: u32, now: f64, delta: i32) {
        let pos = self.members.as_ref().and_then(|m| m.pos[s]);
        self.shared.add(s, pos, delta);
        let tracking = self.tracking;
        match &mut self.views {
            Views::Shared => {
                if tracking {
                    for inst in std::iter::once(&mut self.first).chain(self.rest.iter_mut()) {
                        inst.count_changed(s, pos, &self.shared);
                    }
                }
            }
            Views::Local(own) => {
                let p = &mut own[b as usize];
                p.add(s, pos, delta);
                if tracking {
                    instance(&mut self.first, &mut self.rest, self.one_state, b).count_changed(s, pos, p);
                }
            }
            Views::Periodic { board, epoch, own } => {
                // The snapshot moves only at refreshes; an instance adds its own sends.
                if delta > 0 && !own.is_empty() {
                    let inst = instance(&mut self.first, &mut self.rest, self.one_state, b);
                    let (p, at) = &mut own[b as usize];
                    if *at != *epoch {
                        copy_telling(p, board, inst, self.members.as_ref());
                        *at = *epoch;
                    }
                    p.add(s, pos, delta);
                    if tracking {
                        inst.count_changed(s, pos, p);
                    }
                }
            }
            Views::Delayed { pending, .. } => pending.push_back((now, s as u32, delta)),
        }
    }

    /// A periodic view's refresh: the snapshot becomes the current shared counts.
    pub(super) fn refresh(&mut self) {
        if let Views::Periodic { board, epoch, own } = &mut self.views {
            // With count_own the instances read their own copies, taken (and told) later.
            let changed = if self.tracking && own.is_empty() { differing(board, &self.shared) } else { Vec::new() };
            board.copy_counts(&self.shared);
            *epoch += 1;
            for s in changed {
                let pos = self.members.as_ref().and_then(|m| m.pos[s]);
                for inst in std::iter::once(&mut self.first).chain(self.rest.iter_mut()) {
                    inst.count_changed(s, pos, board);
                }
            }
        }
    }

    /// Sets the oracle's "next start" of `s` (always current: the oracle reads the shared
    /// pool whatever the view).
    #[inline(always)]
    pub(super) fn set_start_at<const FULL: bool>(&mut self, s: usize, t: f64) {
        if !self.oracle {
            return; // only the oracle reads start times
        }
        self.shared.full.start_at[s] = t;
        if !FULL {
            if self.tracking {
                self.first.strategy.on_start_at(s, t);
            }
            return;
        }
        let pos = self.members.as_ref().and_then(|m| m.pos[s]);
        if let (Some(sub), Some(p)) = (&mut self.shared.sub, pos) {
            sub.start_at[p as usize] = t;
        }
        if self.tracking {
            for inst in std::iter::once(&mut self.first).chain(self.rest.iter_mut()) {
                inst.start_changed(s, pos, t);
            }
        }
    }

    /// Tells instance `b`'s strategy that its request to `s` was answered after `response`
    /// seconds (the attempt's time as that instance saw it).
    #[inline(always)]
    pub(super) fn on_complete<const FULL: bool>(&mut self, s: usize, b: u32, response: f64, now: f64) {
        #[cfg(test)]
        self.observed.push((s, response));
        if !FULL {
            return self.first.strategy.on_complete(s, response, now);
        }
        let inst = instance(&mut self.first, &mut self.rest, self.one_state, b);
        match (&self.members, &mut inst.sub) {
            (Some(m), SubStrategy::Built(st)) => {
                if let Some(p) = m.pos[s] {
                    st.on_complete(p as usize, response, now);
                }
            }
            _ => inst.strategy.on_complete(s, response, now),
        }
    }

    /// Tells the strategy that `s` has just become idle: join-idle-queue's report. Heard by
    /// the one instance, or by the state instances share when the strategy is cooperative.
    #[inline(always)]
    pub(super) fn on_idle<const FULL: bool>(&mut self, s: usize, now: f64) {
        #[cfg(test)]
        self.idle_reports.push((s, now));
        let (first, rng) = (&mut self.first, &mut self.rng);
        if !FULL {
            return first.strategy.on_idle(s, now, rng);
        }
        if self.count > 1 && !self.info.cooperative {
            return;
        }
        match (&self.members, &mut first.sub) {
            (Some(m), SubStrategy::Built(st)) => {
                if let Some(p) = m.pos[s] {
                    st.on_idle(p as usize, now, rng);
                }
            }
            _ => first.strategy.on_idle(s, now, rng),
        }
    }

    /// Requests in flight at `s`, as the balancers count them together (the shared view).
    #[inline(always)]
    pub(super) fn count(&self, s: usize) -> u32 {
        self.shared.full.in_flight[s]
    }

    /// Requests in flight at each server, as the balancers count them together (the shared
    /// view).
    #[cfg(test)]
    pub(super) fn in_flight(&self) -> &[u32] {
        self.shared.full.in_flight_all()
    }

    /// Whether `s` may receive requests.
    pub(super) fn is_eligible(&self, s: usize) -> bool {
        self.healthy[s] && !self.ejected[s]
    }

    /// Active health checks mark `s` up or down. Returns whether `s` became eligible.
    pub(super) fn set_healthy(&mut self, s: usize, up: bool) -> bool {
        let was = self.is_eligible(s);
        self.healthy[s] = up;
        self.changed(s, was)
    }

    /// Outlier detection ejects `s` or returns it. Returns whether `s` became eligible.
    pub(super) fn set_ejected(&mut self, s: usize, ejected: bool) -> bool {
        let was = self.is_eligible(s);
        self.ejected[s] = ejected;
        self.changed(s, was)
    }

    fn changed(&mut self, s: usize, was: bool) -> bool {
        let now = self.is_eligible(s);
        if now != was {
            if !now {
                self.ramp[s] = 0;
            }
            self.rebuild();
        }
        now && !was
    }

    /// Starts (`step` = 1), advances or ends (`step` = 0) the slow-start ramp of `s`.
    pub(super) fn set_ramp(&mut self, s: usize, step: u32) {
        self.ramp[s] = if step >= SLOW_START_STEPS { 0 } else { step };
        self.rebuild();
    }

    /// Current slow-start step of `s` (0 = none).
    pub(super) fn ramp(&self, s: usize) -> u32 {
        self.ramp[s]
    }

    /// Every view pool: the shared counts and whatever the instances read.
    fn view_pools(&mut self) -> impl Iterator<Item = &mut ViewPool> {
        let (boards, owns): (Option<&mut ViewPool>, Vec<&mut ViewPool>) = match &mut self.views {
            Views::Shared => (None, Vec::new()),
            Views::Local(own) => (None, own.iter_mut().collect()),
            Views::Periodic { board, own, .. } => (Some(board), own.iter_mut().map(|(p, _)| p).collect()),
            Views::Delayed { board, .. } => (Some(board), Vec::new()),
        };
        std::iter::once(&mut self.shared).chain(boards).chain(owns)
    }

    fn rebuild(&mut self) {
        let n = self.servers.len();
        let members: Vec<usize> = (0..n).filter(|&s| self.is_eligible(s)).collect();
        let ramping = members.iter().any(|&s| self.ramp[s] > 0);
        if members.is_empty() {
            self.panics += 1;
        }
        let (info, params, count, one_state) = (self.info, &self.params, self.count, self.one_state);
        let build = |servers: &[ServerInfo]| (info.build)(params, servers);
        let instances = std::iter::once(&mut self.first).chain(self.rest.iter_mut());
        let rng = &mut self.rng;
        if members.is_empty() || (members.len() == n && !ramping) {
            self.members = None;
            for inst in instances {
                *inst = Instance::new(build(&self.servers).expect("validated parameters"));
                prepare(inst.strategy.as_mut(), rng, count, one_state);
            }
            self.view_pools().for_each(|p| p.resubset(None));
            self.tracking = self.first.tracking() || self.rest.iter().any(Instance::tracking);
            return;
        }
        let infos: Vec<ServerInfo> = members
            .iter()
            .map(|&s| {
                let mut info = self.servers[s].clone();
                if ramping {
                    let steps = if self.ramp[s] == 0 { SLOW_START_STEPS } else { self.ramp[s] };
                    info.weight = info.weight.saturating_mul(steps);
                }
                info
            })
            .collect();
        let mut buildable = true;
        for inst in instances {
            inst.sub_tracks = false;
            inst.sub = match build(&infos) {
                Ok(mut st) => {
                    prepare(st.as_mut(), rng, count, one_state);
                    inst.sub_tracks = st.tracks_pool();
                    SubStrategy::Built(st)
                }
                Err(_) => {
                    buildable = false;
                    SubStrategy::Fallback
                }
            };
        }
        if !buildable {
            self.fallbacks += 1;
        }
        let mut pos = vec![None; n];
        for (k, &s) in members.iter().enumerate() {
            pos[s] = Some(k as u32);
        }
        let m = Members { map: members, pos, infos };
        self.view_pools().for_each(|p| p.resubset(Some(&m)));
        self.members = Some(m);
        self.tracking = self.first.tracking() || self.rest.iter().any(Instance::tracking);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy;
    use crate::strategy::testutil::{req, rng, servers};

    fn balancer(name: &str, weights: &[u32]) -> Balancer {
        Balancer::new(strategy::lookup(name).unwrap(), Params::default(), &servers(weights), rng())
    }

    #[test]
    fn every_strategy_skips_ineligible_servers() {
        for info in strategy::registry::REGISTRY {
            let mut b = balancer(info.name, &[1, 2, 1, 3, 1]);
            b.set_healthy(1, false);
            b.set_ejected(3, true);
            for i in 0..200 {
                let s = b.pick::<true>(&req(i));
                assert!(s != 1 && s != 3, "{} picked ineligible {s}", info.name);
                b.inc::<true>(s, 0, 0.0);
                if i % 3 == 0 {
                    b.dec::<true>(s, 0, 0.0);
                }
            }
            // In-flight bookkeeping survives the rebuilds.
            b.set_healthy(1, true);
            let total: u32 = b.in_flight().iter().sum();
            assert_eq!(total, 200 - 67, "{}", info.name);
        }
    }

    #[test]
    fn panic_mode_uses_every_server_when_none_is_eligible() {
        let mut b = balancer("round-robin", &[1, 1, 1]);
        for s in 0..3 {
            b.set_healthy(s, false);
        }
        assert_eq!(b.panics, 1);
        let picks: Vec<usize> = (0..3).map(|i| b.pick::<true>(&req(i))).collect();
        assert_eq!(picks, vec![0, 1, 2]);
    }

    #[test]
    fn slow_start_ramps_the_weight() {
        let mut b = balancer("weighted-round-robin", &[1, 1]);
        b.set_healthy(1, false);
        b.set_healthy(1, true);
        b.set_ramp(1, 5); // 5/20 of its weight
        let n = 2000;
        let to_1 = (0..n).filter(|&i| b.pick::<true>(&req(i)) == 1).count();
        assert_eq!(to_1, n as usize * 5 / 25);
        b.set_ramp(1, SLOW_START_STEPS);
        assert_eq!(b.ramp(1), 0);
        let to_1 = (0..n).filter(|&i| b.pick::<true>(&req(i)) == 1).count();
        assert_eq!(to_1, n as usize / 2);
    }

    #[test]
    fn unbuildable_subset_falls_back_to_remapping() {
        let mut params = std::collections::BTreeMap::new();
        params.insert("choices".to_string(), toml::Value::Integer(3));
        let info = strategy::lookup("p2c").unwrap();
        let mut b = Balancer::new(info, Params::new(params), &servers(&[1, 1, 1]), rng());
        b.set_healthy(0, false);
        assert_eq!(b.fallbacks, 1);
        for i in 0..100 {
            assert_ne!(b.pick::<true>(&req(i)), 0);
        }
    }

    fn instances(name: &str, n_servers: usize, setup: Balancers) -> Balancer {
        let info = strategy::lookup(name).unwrap();
        Balancer::with_instances(info, Params::default(), &servers(&vec![1; n_servers]), &setup, rng())
    }

    fn on(b: u32, id: u64, at: f64) -> RequestView {
        RequestView { balancer: b, arrival: at, ..req(id) }
    }

    #[test]
    fn local_views_see_only_their_own_requests() {
        let setup = Balancers { count: 2, view: View::Local, ..Balancers::default() };
        let mut b = instances("least-connections", 3, setup);
        // Instance 0 loads servers 0 and 1; instance 1 knows nothing of it and loads server 0.
        b.inc::<true>(0, 0, 0.0);
        b.inc::<true>(1, 0, 0.0);
        assert_eq!(b.pick::<true>(&on(0, 0, 0.0)), 2);
        b.inc::<true>(2, 1, 0.0);
        b.inc::<true>(1, 1, 0.0);
        assert_eq!(b.pick::<true>(&on(1, 1, 0.0)), 0, "instance 1 sees server 0 idle");
        assert_eq!(b.in_flight(), &[1, 2, 1], "the shared counts hold both");
        b.dec::<true>(1, 0, 1.0);
        assert_eq!(b.pick::<true>(&on(0, 2, 1.0)), 1, "instance 0's own request to 1 is answered");
    }

    #[test]
    fn periodic_views_move_only_at_refreshes_and_count_own_adds_own_sends() {
        for count_own in [false, true] {
            let setup =
                Balancers { count: 2, view: View::Periodic { interval: 1.0, count_own }, ..Balancers::default() };
            let mut b = instances("least-connections", 2, setup);
            b.inc::<true>(0, 0, 0.0);
            b.inc::<true>(0, 1, 0.0);
            // The snapshot (both idle) is still what instance 1 reads; with count_own it
            // adds its own send to server 0.
            let want = if count_own { 1 } else { 0 };
            let picks: Vec<usize> = (0..2).map(|i| b.pick::<true>(&on(1, i, 0.5))).collect();
            assert!(picks.contains(&want), "count_own {count_own}: {picks:?}");
            b.refresh();
            assert!((0..4).all(|i| b.pick::<true>(&on(1, i, 1.0)) == 1), "after the refresh server 0 holds 2");
        }
    }

    #[test]
    fn delayed_views_apply_changes_once_they_are_old_enough() {
        let setup = Balancers { count: 1, view: View::Delayed { delay: 1.0 }, ..Balancers::default() };
        let mut b = instances("least-connections", 2, setup);
        b.inc::<true>(0, 0, 0.0);
        b.inc::<true>(0, 0, 0.0);
        b.inc::<true>(1, 0, 0.5);
        // At 0.9 the pool still looks idle: ties, round robin from server 0.
        assert_eq!(b.pick::<true>(&on(0, 0, 0.9)), 0);
        // At 1.0 the two sends of t = 0 are seen, not the one of 0.5.
        assert_eq!(b.pick::<true>(&on(0, 1, 1.0)), 1);
        b.dec::<true>(0, 0, 1.2);
        b.dec::<true>(0, 0, 1.2);
        // At 1.6: [2, 1] as of 0.6, not the answers of 1.2; at 2.2: [0, 1] as of 1.2.
        assert_eq!(b.pick::<true>(&on(0, 2, 1.6)), 1);
        assert_eq!(b.pick::<true>(&on(0, 3, 2.2)), 0);
        assert_eq!(b.in_flight(), &[0, 1]);
    }

    /// Drives two balancers through the same random sends, answers, start times, refreshes
    /// and health changes — one whose strategies keep their indexes (100 servers), one whose
    /// strategies scan — under every view, with one and three instances: the picks must be
    /// the same.
    #[test]
    fn indexes_pick_as_the_scan_under_every_view() {
        use crate::strategy::testutil::scan_only;
        use rand::SeedableRng;
        let views = [
            View::Shared,
            View::Local,
            View::Periodic { interval: 1.0, count_own: false },
            View::Periodic { interval: 1.0, count_own: true },
            View::Delayed { delay: 0.7 },
        ];
        let strategies = [
            ("least-connections", None),
            ("weighted-least-connections", None),
            ("weighted-least-connections", Some("ipvs")),
            ("sed", None),
            ("nq", None),
            ("least-work-left", None),
            ("least-response-time", None),
        ];
        let n = 100;
        for view in views {
            for count in [1u32, 3] {
                for (name, variant) in strategies {
                    let info = strategy::lookup(name).unwrap();
                    let mut params = std::collections::BTreeMap::new();
                    if let Some(v) = variant {
                        params.insert("variant".to_string(), toml::Value::String(v.to_string()));
                    }
                    let params = Params::new(params);
                    let setup = Balancers { count, view, ..Balancers::default() };
                    let make = || Balancer::with_instances(info, params.clone(), &servers(&vec![1; n]), &setup, rng());
                    let mut a = make();
                    scan_only(true);
                    let mut z = make();
                    scan_only(false);
                    assert!(a.tracking && !z.tracking, "{name}");
                    let mut draw = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
                    let mut out: Vec<(usize, u32)> = Vec::new();
                    let mut down: Vec<usize> = Vec::new();
                    let mut now = 0.0;
                    for i in 0..3000u64 {
                        now += f64::from(draw.random_range(0..4u32)) * 0.1;
                        let b = draw.random_range(0..count);
                        let r = on(b, i, now);
                        let (x, y) = (a.pick::<true>(&r), z.pick::<true>(&r));
                        assert_eq!(x, y, "{name} {variant:?}, {count} × {view:?}: pick {i}");
                        let t = now + f64::from(draw.random_range(0..20u32)) * 0.1;
                        for bal in [&mut a, &mut z] {
                            bal.inc::<true>(x, b, now);
                            bal.set_start_at::<true>(x, t);
                        }
                        out.push((x, b));
                        while out.len() > 150 || (!out.is_empty() && draw.random_bool(0.5)) {
                            let (s, b) = out.swap_remove(draw.random_range(0..out.len()));
                            a.dec::<true>(s, b, now);
                            z.dec::<true>(s, b, now);
                        }
                        if i % 40 == 0 {
                            a.refresh();
                            z.refresh();
                        }
                        let health: Option<(usize, bool)> = match i % 700 {
                            350 | 360 => Some((draw.random_range(0..n), false)),
                            600 => down.pop().map(|s| (s, true)),
                            _ => None,
                        };
                        if let Some((s, up)) = health {
                            if !up {
                                down.push(s);
                            }
                            a.set_healthy(s, up);
                            scan_only(true);
                            z.set_healthy(s, up);
                            scan_only(false);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn instances_own_their_state_and_start_staggered() {
        let setup = Balancers { count: 8, ..Balancers::default() };
        let mut b = instances("round-robin", 4, setup);
        let firsts: Vec<usize> = (0..8).map(|i| b.pick::<true>(&on(i, 0, 0.0))).collect();
        assert!(firsts.iter().any(|&s| s != firsts[0]), "all in step: {firsts:?}");
        // Each instance then goes on with its own rotation.
        for i in 0..8u32 {
            let next = b.pick::<true>(&on(i, 1, 0.0));
            assert_eq!(next, (firsts[i as usize] + 1) % 4);
        }
    }
}
