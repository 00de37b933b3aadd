//! The pods of a pod group (`[autoscaler]`, a rolling deploy; `[pods]`): their life, the
//! metrics pipeline and the HPA's syncs, as hooks into the simulation. A rolling deploy's
//! controller is `rollout.rs`.
//!
//! The group has `places` places (servers: `max_replicas` or `count`, plus a deploy's
//! surge); a place holds at most one pod at a time. Each pod belongs to a revision (a
//! ReplicaSet): revision 0 runs from the start, each deploy adds one; the ReplicaSet
//! controller ([`rs_sync`](Simulation::rs_sync)) keeps each revision's pods at its
//! `spec.replicas`.
//! A pod's life, with the engine's own machinery:
//!
//! - **created** (Pending): the place's server is down (it refuses, as a crashed server) and
//!   out of the balancer's endpoints; after `provision` (a draw per pod) it **runs**: the
//!   server recovers, empty;
//! - **ready** after its readiness probe (Kubernetes' kubelet prober: ticks every
//!   `readiness_period` from the container's start, the first at or after
//!   `readiness_delay`, `readiness_threshold` successes): it enters the endpoints, and the
//!   balancer rebuilds its strategy over the eligible servers (slow start applies, as for a
//!   server that comes back);
//! - **terminating** when the ReplicaSet removes it: no longer ready (the EndpointSlice
//!   marks it `ready: false, serving: true, terminating: true` at once), but the balancers
//!   still send to it for `deregistration_delay` (until the change reaches them, or a
//!   `preStop` sleep ends), then it leaves the endpoints and drains what it holds; it
//!   exits once empty, or at the end of `grace_period` (SIGKILL) what it still holds is
//!   reset (failed, counted like a crash's). The place is then free.
//!
//! Which pods the ReplicaSet removes follows `controller.ActivePodsWithRanks` (pkg/controller/
//! controller_utils.go): pending before running, not ready before ready, the most recently
//! ready first, then the newest. A pod that cannot be placed (every place taken, e.g. by
//! terminating pods) waits, pending, until a place frees.
//!
//! Metrics (metrics-server): every `metric_window` each running pod's average over the
//! window is taken (busy workers, requests held, or requests received per second); a pod
//! that has not run the whole window has none (missing). The sample reaches the controller
//! `metric_delay` later; each sync uses the newest sample that has arrived.

use std::collections::VecDeque;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::Simulation;
use super::balancer::Absence;
use super::events::{EventKind, PodStep};
use super::hpa::{Hpa, PodMetric};
use super::rollout::Rollout;
use crate::scenario::autoscaler::{Autoscaler, Metric, PodGroup, PodLife};
use crate::stats::pod_counts::{PodCount, PodsRun, ScaleEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Absent,
    Pending,
    Starting,
    Ready,
    Terminating,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Pod {
    pub(super) phase: Phase,
    /// Its revision (ReplicaSet).
    pub(super) rev: u32,
    /// Number of the pod at its place (stale events name an older one).
    id: u32,
    created: f64,
    running_since: f64,
    ready_since: f64,
    /// In the balancers' endpoints.
    in_endpoints: bool,
}

/// One metrics-server sample: (place, pod, value in milli-units) of the pods that ran the
/// whole window ending at `end`.
struct Sample {
    end: f64,
    values: Vec<(usize, u32, i64)>,
}

/// A pod group: its pods, the metrics pipeline and the controllers.
pub(super) struct Pool {
    /// `[autoscaler]`, if the group has one.
    cfg: Option<Autoscaler>,
    /// `[pods]`.
    life: PodLife,
    /// Index of the group's first server.
    first: usize,
    pub(super) pods: Vec<Pod>,
    /// The Deployment's `spec.replicas`.
    pub(super) replicas: u32,
    /// Each revision's ReplicaSet `spec.replicas` (index: revision).
    pub(super) rs: Vec<u32>,
    /// The revisions of the pods created but not yet placed (no free place), oldest first.
    pub(super) waiting: Vec<u32>,
    /// The rolling deploy in progress.
    pub(super) rollout: Option<Rollout>,
    hpa: Option<Hpa>,
    /// Per server: busy-worker time before the measured window began (the server's own
    /// integral restarts there).
    pub(super) busy_base: Vec<f64>,
    /// Per server: attempts received since t = 0.
    pub(super) received: Vec<u64>,
    /// Per place: cumulative (busy, held, received) at the last scrape.
    at_scrape: Vec<(f64, f64, u64)>,
    samples: VecDeque<Sample>,
    latest: Option<Sample>,
    scrapes: u64,
    syncs: u64,
    rng: Xoshiro256PlusPlus,
    last_change: f64,
    pub(super) out: PodsRun,
}

impl Pool {
    /// The pool of `group` over servers `first..first + places`, scaled by `cfg` if given,
    /// its provisioning draws seeded by `seed`, for a pool of `servers` servers in all.
    pub(super) fn new(group: &PodGroup, cfg: Option<&Autoscaler>, first: usize, servers: usize, seed: u64) -> Self {
        let places = group.places as usize;
        let pods = (0..places)
            .map(|p| {
                let running = p < group.initial as usize;
                Pod {
                    phase: if running { Phase::Ready } else { Phase::Absent },
                    rev: 0,
                    id: 0,
                    created: f64::NEG_INFINITY,
                    running_since: f64::NEG_INFINITY,
                    ready_since: f64::NEG_INFINITY,
                    in_endpoints: running,
                }
            })
            .collect();
        Pool {
            cfg: cfg.cloned(),
            life: group.life.clone(),
            first,
            pods,
            replicas: group.initial,
            rs: vec![group.initial],
            waiting: Vec::new(),
            rollout: None,
            hpa: cfg.map(Hpa::new),
            busy_base: vec![0.0; servers],
            received: vec![0; servers],
            at_scrape: vec![(0.0, 0.0, 0); places],
            samples: VecDeque::new(),
            latest: None,
            scrapes: 0,
            syncs: 0,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            last_change: 0.0,
            out: PodsRun {
                timeline: vec![PodCount { time: 0.0, pods: group.initial, ready: group.initial }],
                ..PodsRun::default()
            },
        }
    }

    /// Whether server `s` holds a terminating pod out of the endpoints (it exits once empty).
    #[inline]
    pub(super) fn draining(&self, s: usize) -> bool {
        s >= self.first
            && self.pods.get(s - self.first).is_some_and(|p| p.phase == Phase::Terminating && !p.in_endpoints)
    }

    /// The number of the pod at server `s`.
    pub(super) fn pod_id(&self, s: usize) -> u32 {
        self.pods[s - self.first].id
    }

    /// The `[autoscaler]` (an autoscaled pool's own steps only).
    fn a(&self) -> &Autoscaler {
        self.cfg.as_ref().expect("an autoscaled pool")
    }

    /// The pod counts now.
    pub(super) fn counts(&self) -> (u32, u32) {
        let pods = self.pods.iter().filter(|p| p.phase != Phase::Absent).count() as u32 + self.waiting.len() as u32;
        // Ready as the EndpointSlice says it: `ready = serving && !terminating`
        // (`podToEndpoint`, pkg/controller/endpointslice, now
        // staging/src/k8s.io/endpointslice/utils.go). A terminating pod the balancers still
        // send to during its `deregistration_delay` (the slice's update reaching them) is
        // not ready.
        let ready = self.pods.iter().filter(|p| p.in_endpoints && p.phase != Phase::Terminating).count() as u32;
        (pods, ready)
    }

    /// Integrates the counts up to `now` and records the new ones if they changed.
    pub(super) fn record(&mut self, now: f64, before: (u32, u32)) {
        let after = self.counts();
        if after == before {
            return;
        }
        self.integrate(now, before);
        match self.out.timeline.last_mut() {
            Some(last) if last.time == now => (last.pods, last.ready) = after,
            _ => self.out.timeline.push(PodCount { time: now, pods: after.0, ready: after.1 }),
        }
    }

    fn integrate(&mut self, now: f64, (pods, ready): (u32, u32)) {
        let dt = now - self.last_change;
        self.out.pod_seconds += f64::from(pods) * dt;
        self.out.ready_pod_seconds += f64::from(ready) * dt;
        self.last_change = now;
    }

    /// The run's record, integrated to `end`.
    pub(super) fn finish(mut self, end: f64) -> PodsRun {
        if let Some(r) = self.rollout.take() {
            self.out.deploys.push(r.record);
        }
        let c = self.counts();
        self.integrate(end, c);
        self.out
    }
}

impl<const FULL: bool> Simulation<FULL> {
    /// Takes the places beyond the initial replicas out (down, out of the endpoints) and
    /// schedules the first scrape and sync.
    pub(super) fn start_pool(&mut self) {
        let Some(pool) = &self.pool else { return };
        let (first, initial, places) = (pool.first, pool.rs[0] as usize, pool.pods.len());
        let timers = pool.cfg.as_ref().map(|a| (a.metric_window, a.sync_period));
        for s in first + initial..first + places {
            self.servers[s].crash(0.0, &mut self.fail.lost);
            self.imbalance.set(0.0, s, 0, true);
            self.balancer.set_absent(s, Absence::NoReadyPod, true);
        }
        if let Some((window, sync)) = timers {
            self.events.push(window, EventKind::Scrape);
            self.events.push(sync, EventKind::HpaSync);
        }
    }

    pub(super) fn pool(&mut self) -> &mut Pool {
        self.pool.as_mut().expect("an autoscaled scenario")
    }

    /// Cumulative (busy workers, requests held, requests received) of server `s` at now.
    fn cumulative(&self, s: usize) -> (f64, f64, u64) {
        let pool = self.pool.as_ref().expect("an autoscaled scenario");
        let server = &self.servers[s];
        (pool.busy_base[s] + server.busy_area_until(self.now), server.area_until(self.now), pool.received[s])
    }

    /// metrics-server's scrape: each running pod's average over the last window.
    pub(super) fn scrape(&mut self) {
        let now = self.now;
        let due = (self.pool().scrapes + 1) as f64 * self.pool().a().metric_window;
        if due > now {
            return; // taken already by a sync at the same instant
        }
        let (first, places) = (self.pool().first, self.pool().pods.len());
        let cum: Vec<(f64, f64, u64)> = (first..first + places).map(|s| self.cumulative(s)).collect();
        let pool = self.pool();
        let w = pool.a().metric_window;
        let mut values = Vec::new();
        for (p, c) in cum.iter().enumerate() {
            let pod = pool.pods[p];
            let ran = matches!(pod.phase, Phase::Starting | Phase::Ready | Phase::Terminating);
            if ran && pod.running_since <= now - w {
                let before = pool.at_scrape[p];
                let v = match pool.a().metric {
                    Metric::Utilization => (c.0 - before.0) / w,
                    Metric::InFlight => (c.1 - before.1) / w,
                    Metric::Rps => (c.2 - before.2) as f64 / w,
                };
                values.push((p, pod.id, (v * 1000.0).round() as i64));
            }
        }
        pool.at_scrape = cum;
        pool.samples.push_back(Sample { end: now, values });
        pool.scrapes += 1;
        let next = (pool.scrapes + 1) as f64 * w;
        self.events.push(next, EventKind::Scrape);
    }

    /// The HPA controller's sync: the newest sample, the pods as `groupPods` sees them, the
    /// decision, and the ReplicaSet's reaction.
    pub(super) fn hpa_sync(&mut self) {
        let now = self.now;
        // A scrape due at this very instant comes first (whatever order the two were
        // scheduled in): with no pipeline delay the controller sees it.
        self.scrape();
        let workers: Vec<i64> = {
            let pool = self.pool.as_ref().expect("autoscaled");
            (pool.first..pool.first + pool.pods.len()).map(|s| i64::from(self.servers[s].workers()) * 1000).collect()
        };
        let pool = self.pool();
        pool.syncs += 1;
        let next = (pool.syncs + 1) as f64 * pool.a().sync_period;
        self.events.push(next, EventKind::HpaSync);
        let pool = self.pool();
        let delay = pool.a().metric_delay;
        while pool.samples.front().is_some_and(|s| s.end + delay <= now) {
            pool.latest = pool.samples.pop_front();
        }
        let Some(sample) = &pool.latest else { return };
        let utilization = pool.a().metric == Metric::Utilization;
        let w = pool.a().metric_window;
        let mut pods = Vec::new();
        for (p, pod) in pool.pods.iter().enumerate() {
            let request = workers[p];
            let value = sample.values.iter().find(|v| v.0 == p && v.1 == pod.id).map(|v| v.2);
            let m = match (pod.phase, value) {
                (Phase::Absent, _) => continue,
                (Phase::Terminating, Some(value)) => PodMetric::Terminating { value, request },
                (Phase::Terminating, None) => continue,
                (Phase::Pending, _) => PodMetric::Ignored { request },
                (_, None) => PodMetric::Missing { request },
                (phase, Some(value)) => {
                    if utilization && (phase != Phase::Ready || pod.ready_since > sample.end - w) {
                        PodMetric::Ignored { request }
                    } else {
                        PodMetric::Ready { value, request }
                    }
                }
            };
            pods.push(m);
        }
        let request = workers.first().copied().unwrap_or(1000);
        pods.extend(pool.waiting.iter().map(|_| PodMetric::Ignored { request }));
        let current = pool.replicas;
        let Some(d) = pool.hpa.as_mut().expect("an autoscaled pool").sync(now, current, &pods) else { return };
        if d.desired == current {
            return;
        }
        pool.out.events.push(ScaleEvent {
            time: now,
            from: current,
            to: d.desired,
            proposed: d.proposed,
            metric: d.metric,
            reason: d.reason,
            limited_by: d.limited_by,
        });
        self.scale_to(d.desired);
    }

    /// The Deployment's `spec.replicas` becomes `to` (the HPA's decision): its ReplicaSet
    /// brings its pods there, or, during a rolling deploy, the rollout's reconcile does.
    fn scale_to(&mut self, to: u32) {
        let now = self.now;
        let pool = self.pool();
        let before = pool.counts();
        pool.replicas = to;
        if pool.rollout.is_some() {
            self.reconcile_rollout();
        } else {
            let rev = pool.rs.len() - 1;
            pool.rs[rev] = to;
            self.rs_sync(rev as u32);
        }
        self.pool().record(now, before);
    }

    /// The ReplicaSet controller of revision `rev` brings its pods to its `spec.replicas`:
    /// it creates pods, or deletes them in the order of `ActivePodsWithRanks`.
    pub(super) fn rs_sync(&mut self, rev: u32) {
        let pool = self.pool();
        let to = pool.rs[rev as usize];
        let active = |p: &Pod| p.rev == rev && matches!(p.phase, Phase::Pending | Phase::Starting | Phase::Ready);
        let from = pool.pods.iter().filter(|p| active(p)).count() as u32
            + pool.waiting.iter().filter(|&&r| r == rev).count() as u32;
        if to > from {
            for _ in from..to {
                let pool = self.pool();
                match pool.pods.iter().position(|p| p.phase == Phase::Absent) {
                    Some(p) => self.create_pod(p, rev),
                    None => pool.waiting.push(rev),
                }
            }
        } else {
            let mut remove = from - to;
            let pool = self.pool();
            // Unplaced pods first (the newest of them).
            while remove > 0
                && let Some(i) = pool.waiting.iter().rposition(|&r| r == rev)
            {
                pool.waiting.remove(i);
                remove -= 1;
            }
            // ActivePodsWithRanks: pending < not ready < ready; then the most recently ready,
            // then the newest.
            let rank = |p: &Pod| match p.phase {
                Phase::Pending => 0,
                Phase::Starting => 1,
                _ => 2,
            };
            let mut candidates: Vec<usize> = (0..pool.pods.len()).filter(|&p| active(&pool.pods[p])).collect();
            candidates.sort_by(|&a, &b| {
                let (x, y) = (&pool.pods[a], &pool.pods[b]);
                rank(x)
                    .cmp(&rank(y))
                    .then(y.ready_since.total_cmp(&x.ready_since))
                    .then(y.created.total_cmp(&x.created))
                    .then(b.cmp(&a))
            });
            for &p in candidates.iter().take(remove as usize) {
                self.terminate_pod(p);
            }
        }
    }

    /// A pod of revision `rev` is created at place `p`: pending until provisioned.
    fn create_pod(&mut self, p: usize, rev: u32) {
        let now = self.now;
        let pool = self.pool();
        let pod = &mut pool.pods[p];
        pod.id = pod.id.wrapping_add(1);
        pod.rev = rev;
        pod.phase = Phase::Pending;
        pod.created = now;
        pod.ready_since = f64::INFINITY;
        let id = pod.id;
        let d = pool.life.provision.as_ref().map_or(0.0, |d| d.sample(&mut pool.rng));
        let server = (pool.first + p) as u32;
        self.events.push(now + d, EventKind::Pod { server, pod: id, step: PodStep::Running });
    }

    /// The pod at place `p` is deleted.
    fn terminate_pod(&mut self, p: usize) {
        let now = self.now;
        let pool = self.pool();
        let s = pool.first + p;
        let pod = pool.pods[p];
        if let Some(r) = pool.rollout.as_mut()
            && pod.rev < r.rev
        {
            r.record.replaced += 1;
        }
        let (dereg, grace) = (pool.life.deregistration_delay, pool.life.grace_period);
        if pod.phase == Phase::Pending {
            // Never ran: gone at once (its server is already down).
            pool.pods[p].phase = Phase::Absent;
            return self.place_waiting(p);
        }
        pool.pods[p].phase = Phase::Terminating;
        let server = s as u32;
        if pod.in_endpoints && dereg > 0.0 {
            self.events.push(now + dereg, EventKind::Pod { server, pod: pod.id, step: PodStep::Deregister });
        } else {
            self.deregister(p);
            if self.pool.as_ref().is_some_and(|pl| pl.pods[p].phase == Phase::Absent) {
                return;
            }
        }
        self.events.push(now + grace, EventKind::Pod { server, pod: pod.id, step: PodStep::Kill });
    }

    /// The pod at place `p` leaves the endpoints if it is in them (the balancers stop sending
    /// to it). Returns its server.
    fn leave_endpoints(&mut self, p: usize) -> usize {
        let pool = self.pool();
        let s = pool.first + p;
        if pool.pods[p].in_endpoints {
            pool.pods[p].in_endpoints = false;
            let eligible = self.balancer.set_absent(s, Absence::NoReadyPod, true);
            self.after_eligibility(s, eligible, "pods");
            if FULL && self.l4 {
                // Terminating, the pod's server sends GOAWAY on its connections (gRPC's
                // GracefulStop): their clients reconnect through the balancer.
                self.drain_connections(s);
            }
        }
        s
    }

    /// The terminating pod at place `p` leaves the endpoints; it exits at once if it holds
    /// nothing.
    fn deregister(&mut self, p: usize) {
        let s = self.leave_endpoints(p);
        if self.servers[s].in_system() == 0 {
            self.pod_gone(p);
        }
    }

    /// The pod at place `p` is gone (exited, or killed with what it held failing): its
    /// server is down until another pod takes the place.
    fn pod_gone(&mut self, p: usize) {
        let s = self.leave_endpoints(p);
        self.servers[s].advance(self.now, self.integrating);
        self.crash_server(s);
        self.pool().pods[p].phase = Phase::Absent;
        self.place_waiting(p);
    }

    /// A place is free: a pod waiting for one takes it.
    fn place_waiting(&mut self, p: usize) {
        let pool = self.pool();
        if !pool.waiting.is_empty() {
            let rev = pool.waiting.remove(0);
            self.create_pod(p, rev);
        }
    }

    /// A step of the life of pod `id` at server `s` (stale if the place has a newer pod).
    pub(super) fn pod_step(&mut self, s: usize, id: u32, step: PodStep) {
        let now = self.now;
        let pool = self.pool();
        let p = s - pool.first;
        let pod = pool.pods[p];
        if pod.id != id {
            return;
        }
        let before = pool.counts();
        match (step, pod.phase) {
            (PodStep::Running, Phase::Pending) => {
                let ready_in = pool.life.time_to_ready();
                let pod = &mut pool.pods[p];
                pod.phase = Phase::Starting;
                pod.running_since = now;
                self.servers[s].advance(now, self.integrating);
                self.servers[s].recover();
                self.imbalance.set(now, s, self.servers[s].in_system(), false);
                self.start_cold(s);
                self.events.push(now + ready_in, EventKind::Pod { server: s as u32, pod: id, step: PodStep::Ready });
            }
            (PodStep::Ready, Phase::Starting) => {
                let pod = &mut pool.pods[p];
                pod.phase = Phase::Ready;
                pod.ready_since = now;
                pod.in_endpoints = true;
                let eligible = self.balancer.set_absent(s, Absence::NoReadyPod, false);
                self.after_eligibility(s, eligible, "pods");
                if FULL && self.l4 && eligible {
                    self.joined(s);
                }
            }
            (PodStep::Deregister, Phase::Terminating) => self.deregister(p),
            (PodStep::Kill | PodStep::Exit, Phase::Terminating) => self.pod_gone(p),
            _ => {}
        }
        if step == PodStep::Ready && self.pool().rollout.is_some() {
            self.reconcile_rollout();
        }
        self.pool().record(now, before);
    }
}
