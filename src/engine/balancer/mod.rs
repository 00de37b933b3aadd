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
//! Slow start: a server that becomes eligible again ramps its weight in integer levels up
//! to a full level (20 steps for lbsim's generic ramp, HAProxy's 16, 1,000 for Envoy's and
//! ALB's continuous ramps); the other servers' weights are scaled by the full level
//! meanwhile so the ratios are exact. Each vendor's levels, and the weighted form of the
//! strategy a vendor switches to while a server ramps, are in `engine/slow_start.rs`.

use std::collections::VecDeque;

use rand::RngExt;

use crate::scenario::{Balancers, View};
use crate::strategy::{Params, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// Steps of a slow-start ramp.
pub const SLOW_START_STEPS: u32 = 20;

mod avoid;
mod state;
mod subsets;

use super::slow_start::Ramping;
use state::{Instance, Members, OwnCopies, OwnCounts, SubStrategy, ViewPool, Views, differing};

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
    /// Why each server is no endpoint, one bit per [`Absence`] (0: it is one).
    absent: Vec<u8>,
    /// Slow-start level of each server (0 = not ramping), out of `ramp.scale`.
    ramp: Vec<u32>,
    /// How the balancer's slow start acts on the strategy (`None`: it applies none).
    ramping: Option<Ramping>,
    /// Whether the states were last built from `ramping`'s substitute.
    substituted: bool,
    /// Rebuilds that fell back to remapping picks (strategy not buildable over the set).
    pub(super) fallbacks: u64,
    /// Times every server was ineligible and the balancer used them all.
    pub(super) panics: u64,
    /// With subsets: times an instance's whole subset was ineligible and it used every
    /// eligible server.
    pub(super) widened: u64,
    /// With subsets: the hash-based states instances with the same servers share.
    tables: subsets::Tables,
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

/// Why a server is not in the endpoints (bits of `Balancer::absent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Absence {
    /// The place of an autoscaled group has no ready pod (`[autoscaler]`).
    NoReadyPod = 1,
    /// `balance = "connection"`: the server is in a crash window (a `down` fault).
    CrashWindow = 2,
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
        // Hash-based strategies share one state unless each instance hashes over its own
        // subset.
        let one_state = (info.keyed && setup.subset.is_none()) || info.cooperative;
        // With subsets every instance's state is built over its subset (`set_subsets`): none
        // is built over the whole pool, except for its stagger's draws (the same draws as
        // before subsets existed; hash-based states draw none and are not built at all).
        let subsets = setup.subset.is_some();
        let mut new_instance = || {
            if subsets {
                if !info.keyed {
                    prepare(build().as_mut(), &mut rng, count, one_state);
                }
                return Instance::new(Box::new(subsets::Unbuilt));
            }
            let mut inst = Instance::new(build());
            prepare(inst.strategy.as_mut(), &mut rng, count, one_state);
            inst
        };
        let first = new_instance();
        let rest = if one_state { Vec::new() } else { (1..count).map(|_| new_instance()).collect() };
        let view = if info.oracle { View::Shared } else { setup.view };
        let views = match view {
            View::Shared => Views::Shared,
            // With subsets an instance's own counts are kept over its subset only.
            View::Local if subsets => Views::Own((0..count).map(|_| OwnCounts::default()).collect()),
            View::Local => Views::Local((0..count).map(|_| ViewPool::new(servers)).collect()),
            View::Periodic { count_own, .. } => {
                let board = ViewPool::new(servers);
                let tracking = first.tracking() || rest.iter().any(Instance::tracking);
                let own = count_own.then(|| OwnCopies::new(count, &board, tracking));
                Views::Periodic { board, epoch: 0, own }
            }
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
            absent: vec![0; n],
            ramp: vec![0; n],
            ramping: None,
            substituted: false,
            fallbacks: 0,
            panics: 0,
            widened: 0,
            tables: subsets::Tables::default(),
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
        if let (Views::Own(own), Some(c)) = (&self.views, &mut inst.client) {
            let st = match c.table {
                Some(t) => self.tables.get(t),
                None => inst.strategy.as_mut(),
            };
            let own = &own[b as usize];
            return c.pick(st, req, |s| own.get(s), None, &mut self.rng);
        }
        let pool: &ViewPool = match &mut self.views {
            Views::Shared => &self.shared,
            Views::Local(own) => &own[b as usize],
            Views::Own(_) => unreachable!("own counts only with subsets"),
            Views::Periodic { board, own: None, .. } => board,
            Views::Periodic { board, epoch, own: Some(own) } => {
                own.read(b, board, *epoch, inst, self.members.as_ref(), req.arrival)
            }
            Views::Delayed { board, .. } => board,
        };
        let rng = &mut self.rng;
        if let Some(c) = &mut inst.client {
            let st = match c.table {
                Some(t) => self.tables.get(t),
                None => inst.strategy.as_mut(),
            };
            let start_at = self.oracle.then_some(pool.full.start_at.as_slice());
            return c.pick(st, req, |s| pool.full.in_flight[s], start_at, rng);
        }
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
        let delay_s = *delay;
        let until = now - delay_s;
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
                    inst.count_changed(s, pos, board, t + delay_s);
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
                self.first.strategy.on_in_flight(s, *c, now);
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
                self.first.strategy.on_in_flight(s, *c, now);
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
                        inst.count_changed(s, pos, &self.shared, now);
                    }
                }
            }
            Views::Local(own) => {
                let p = &mut own[b as usize];
                p.add(s, pos, delta);
                if tracking {
                    instance(&mut self.first, &mut self.rest, self.one_state, b).count_changed(s, pos, p, now);
                }
            }
            Views::Periodic { board, epoch, own } => {
                // The snapshot moves only at refreshes; an instance adds its own sends.
                if let (true, Some(own)) = (delta > 0, own) {
                    let inst = instance(&mut self.first, &mut self.rest, self.one_state, b);
                    let p = own.for_send(b, board, *epoch, inst, self.members.as_ref(), now);
                    p.add(s, pos, delta);
                    if tracking {
                        inst.count_changed(s, pos, p, now);
                    }
                }
            }
            Views::Delayed { pending, .. } => pending.push_back((now, s as u32, delta)),
            // Its instance's state is told of the change when it next picks.
            Views::Own(own) => own[b as usize].add(s, delta),
        }
    }

    /// A periodic view's refresh at `now`: the snapshot becomes the current shared counts.
    pub(super) fn refresh(&mut self, now: f64) {
        if let Views::Periodic { board, epoch, own } = &mut self.views {
            // With count_own the instances read their own copies, taken (and told) later.
            let changed = if self.tracking && own.is_none() { differing(board, &self.shared) } else { Vec::new() };
            board.copy_counts(&self.shared);
            *epoch += 1;
            if let Some(own) = own {
                own.refreshed();
            }
            for s in changed {
                let pos = self.members.as_ref().and_then(|m| m.pos[s]);
                for inst in std::iter::once(&mut self.first).chain(self.rest.iter_mut()) {
                    inst.count_changed(s, pos, board, now);
                }
            }
        }
    }

    /// Whether the strategy reads when a request sent now would start (the oracle).
    #[inline(always)]
    pub(super) fn reads_start_at(&self) -> bool {
        self.oracle
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
        if let Some(c) = &inst.client {
            // A server it may no longer use (its state was rebuilt since) is forgotten.
            if let Some(p) = c.position(s) {
                match c.table {
                    Some(t) => self.tables.get(t).on_complete(p, response, now),
                    None => inst.strategy.on_complete(p, response, now),
                }
            }
            return;
        }
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
        if (self.count > 1 && !self.info.cooperative) || first.client.is_some() {
            return; // subsets rule out cooperative strategies
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

    /// How many servers may receive requests.
    pub(super) fn eligible_count(&self) -> usize {
        if self.first.client.is_some() {
            // None eligible: panic mode, every server is used.
            let n = (0..self.servers.len()).filter(|&s| self.is_eligible(s)).count();
            return if n == 0 { self.servers.len() } else { n };
        }
        self.members.as_ref().map_or(self.absent.len(), |m| m.map.len())
    }

    /// Whether `s` may receive requests.
    pub(super) fn is_eligible(&self, s: usize) -> bool {
        self.healthy[s] && !self.ejected[s] && self.absent[s] == 0
    }

    /// `s` leaves (`absent`) or rejoins the endpoints for `why`; it is an endpoint when no
    /// reason holds. Returns whether `s` became eligible.
    pub(super) fn set_absent(&mut self, s: usize, why: Absence, absent: bool) -> bool {
        let was = self.is_eligible(s);
        if absent {
            self.absent[s] |= why as u8;
        } else {
            self.absent[s] &= !(why as u8);
        }
        self.changed(s, was)
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

    /// The strategy a rebuild uses: the configured one, or the weighted form a vendor's slow
    /// start switches to while a server ramps (and, for Envoy, until the eligible set next
    /// changes): engine/slow_start.rs. `ramping`: whether an eligible server ramps now.
    pub(super) fn strategy_for_rebuild(&mut self, ramping: bool) -> (&'static StrategyInfo, Params) {
        let (sub, sticky) = match &self.ramping {
            Some(Ramping { substitute: Some(sub), sticky, .. }) => (Some(sub), *sticky),
            _ => (None, false),
        };
        self.substituted = sub.is_some() && (ramping || (sticky && self.substituted));
        match sub {
            Some((info, params)) if self.substituted => (*info, params.clone()),
            _ => (self.info, self.params.clone()),
        }
    }

    fn changed(&mut self, s: usize, was: bool) -> bool {
        let now = self.is_eligible(s);
        if now != was {
            if !now {
                self.ramp[s] = 0;
            }
            self.substituted = false;
            self.rebuild();
        }
        now && !was
    }

    /// Sets how the balancer's slow start acts on the strategy (default: none).
    pub(super) fn set_slow_start(&mut self, ramping: Ramping) {
        self.ramping = Some(ramping);
    }

    /// Whether the balancer applies a slow start to the strategy.
    pub(super) fn has_slow_start(&self) -> bool {
        self.ramping.is_some()
    }

    /// The full slow-start level.
    fn scale(&self) -> u32 {
        self.ramping.as_ref().map_or(SLOW_START_STEPS, |r| r.scale)
    }

    /// Starts, advances or ends (`level` = 0 or the full level) the slow-start ramp of
    /// `s`; the strategy is rebuilt when the level changes.
    pub(super) fn set_ramp(&mut self, s: usize, level: u32) {
        let level = if level >= self.scale() { 0 } else { level };
        if level != self.ramp[s] {
            self.ramp[s] = level;
            self.rebuild();
        }
    }

    /// Current slow-start level of `s` (0 = none).
    pub(super) fn ramp(&self, s: usize) -> u32 {
        self.ramp[s]
    }

    /// Every view pool: the shared counts and whatever the instances read.
    fn view_pools(&mut self) -> impl Iterator<Item = &mut ViewPool> {
        let (boards, owns): (Option<&mut ViewPool>, Vec<&mut ViewPool>) = match &mut self.views {
            Views::Shared => (None, Vec::new()),
            Views::Local(own) => (None, own.iter_mut().collect()),
            Views::Own(_) => (None, Vec::new()),
            Views::Periodic { board, own, .. } => (Some(board), own.iter_mut().flat_map(OwnCopies::copies).collect()),
            Views::Delayed { board, .. } => (Some(board), Vec::new()),
        };
        std::iter::once(&mut self.shared).chain(boards).chain(owns)
    }

    /// Whether some state keeps an index, after a rebuild: then `count_own` copies are kept
    /// for every instance (see [`OwnCopies`]).
    fn retrack(&mut self) {
        self.tracking = self.first.tracking() || self.rest.iter().any(Instance::tracking);
        if let (true, Views::Periodic { board, epoch, own: Some(own) }) = (self.tracking, &mut self.views)
            && !own.keeps()
        {
            own.keep_all(board, *epoch);
        }
    }

    fn rebuild(&mut self) {
        if self.first.client.is_some() {
            return self.rebuild_subsets();
        }
        let n = self.servers.len();
        let members: Vec<usize> = (0..n).filter(|&s| self.is_eligible(s)).collect();
        let ramping = members.iter().any(|&s| self.ramp[s] > 0);
        if members.is_empty() {
            self.panics += 1;
        }
        let (info, params) = self.strategy_for_rebuild(ramping);
        let params = &params;
        let (count, one_state, scale) = (self.count, self.one_state, self.scale());
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
            self.retrack();
            return;
        }
        let infos: Vec<ServerInfo> = members
            .iter()
            .map(|&s| {
                let mut info = self.servers[s].clone();
                if ramping {
                    let steps = if self.ramp[s] == 0 { scale } else { self.ramp[s] };
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
        self.retrack();
    }
}

#[cfg(test)]
mod tests;
