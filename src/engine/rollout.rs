//! A rolling deploy (`deploy_at`): the Kubernetes Deployment controller's `RollingUpdate`
//! strategy over the pod group's ReplicaSets (one per revision), as hooks into the
//! simulation. The pods it creates and deletes live the life of `pool_life.rs`.
//!
//! Following pkg/controller/deployment/rolling.go (`rolloutRolling`) and
//! pkg/controller/deployment/util/deployment_util.go:
//!
//! - **scale up the new ReplicaSet** (`reconcileNewReplicaSet`, `NewRSNewReplicas`): to at
//!   most `replicas + maxSurge` pods over all ReplicaSets' `spec.replicas`, and at most
//!   `replicas` of its own; a new ReplicaSet above `replicas` is scaled down to it;
//! - **scale down old ones** (`reconcileOldReplicaSets`): by at most
//!   `all − minAvailable − (new ReplicaSet's unavailable pods)`, with
//!   `minAvailable = replicas − MaxUnavailable`; first the old pods that are not available
//!   (`cleanupUnhealthyReplicas`), then available ones while more than `minAvailable` are
//!   available (`scaleDownOldReplicaSetsForRollingUpdate`), oldest ReplicaSet first;
//! - `maxSurge` rounds up, `maxUnavailable` down, and both resolving to 0 make it 1
//!   (`ResolveFenceposts`); `MaxUnavailable` is at most `replicas`.
//!
//! A pod is available when ready (`minReadySeconds` 0) and not terminating; terminating pods
//! count in no ReplicaSet, as in Kubernetes (they leave the ReplicaSet's active pods).
//!
//! **Differences.** The controller reacts to every change at once and repeats until
//! nothing changes: Kubernetes' controller reacts to the same informer events after a
//! short queueing delay, one scaling per sync (scale up, return; the ReplicaSet's update
//! triggers the next sync), so the sequence of ReplicaSet sizes is the same and only
//! milliseconds of latency are left out; its periodic resync changes nothing here. The
//! ReplicaSets' status is read as it is (no stale informer cache). When the HPA changes
//! `replicas` during a rollout the rollout's own reconcile absorbs it (new pods are of the
//! new revision, removals come from old ones first); Kubernetes first scales every
//! ReplicaSet in proportion (sync.go `scale`). `progressDeadlineSeconds`, pausing and
//! rollbacks are not modelled.

use super::Simulation;
use super::pool_life::{Phase, Pool};
use crate::scenario::faults::Deploy;
use crate::stats::pod_counts::DeployRun;

/// A rolling deploy in progress.
pub(super) struct Rollout {
    /// Its `maxSurge` and `maxUnavailable`.
    deploy: Deploy,
    /// The new revision (its ReplicaSet's index).
    pub(super) rev: u32,
    /// What it did so far.
    pub(super) record: DeployRun,
}

impl Pool {
    /// Available pods (ready, not terminating) of revisions `revs`.
    fn available(&self, revs: impl Fn(u32) -> bool) -> u32 {
        self.pods.iter().filter(|p| p.phase == Phase::Ready && revs(p.rev)).count() as u32
    }

    /// Pods that are not terminating (placed or waiting for a place): every ReplicaSet's
    /// `spec.replicas` once its controller has acted.
    fn active(&self) -> u32 {
        let placed = self.pods.iter().filter(|p| matches!(p.phase, Phase::Pending | Phase::Starting | Phase::Ready));
        placed.count() as u32 + self.waiting.len() as u32
    }

    /// One step of `rolloutRolling`: the ReplicaSet whose `spec.replicas` changes and its
    /// new value, `None` when nothing is to change.
    fn rolling_step(&self, r: &Rollout) -> Option<(u32, u32)> {
        let d = self.replicas;
        let new = r.rev as usize;
        let all: u32 = self.rs.iter().sum();
        // reconcileNewReplicaSet
        if self.rs[new] > d {
            return Some((r.rev, d));
        }
        if self.rs[new] < d {
            // NewRSNewReplicas: maxSurge from GetScaledValueFromIntOrPercent, rounded up.
            let max_total = d + r.deploy.max_surge.of(d, true);
            if all < max_total {
                let up = (max_total - all).min(d - self.rs[new]);
                return Some((r.rev, self.rs[new] + up));
            }
        }
        // reconcileOldReplicaSets
        let old: u32 = self.rs.iter().enumerate().filter(|&(i, _)| i != new).map(|(_, n)| n).sum();
        if old == 0 {
            return None;
        }
        // MaxUnavailable: the resolved fencepost, at most replicas (0 for 0 replicas).
        let max_unavailable = if d == 0 { 0 } else { r.deploy.fenceposts(d).1.min(d) };
        let min_available = d - max_unavailable;
        let new_unavailable = self.rs[new].saturating_sub(self.available(|v| v == r.rev));
        let max_scaled_down = i64::from(all) - i64::from(min_available) - i64::from(new_unavailable);
        if max_scaled_down <= 0 {
            return None;
        }
        // Oldest ReplicaSet first (ReplicaSetsByCreationTimestamp: revisions in order).
        for (rev, &spec) in self.rs.iter().enumerate().filter(|&(i, _)| i != new) {
            // cleanupUnhealthyReplicas: old pods that are not available go first.
            let available = self.available(|v| v == rev as u32);
            if spec > available {
                let down = (max_scaled_down as u32).min(spec - available);
                return Some((rev as u32, spec - down));
            }
        }
        // scaleDownOldReplicaSetsForRollingUpdate.
        let available = self.available(|_| true);
        if available <= min_available {
            return None;
        }
        let (rev, &spec) = self.rs.iter().enumerate().find(|&(i, &n)| i != new && n > 0)?;
        Some((rev as u32, spec - spec.min(available - min_available)))
    }

    /// Whether the rollout is complete (`DeploymentComplete`): the new revision has every
    /// replica, all available, and no old pod is left but terminating ones.
    fn rollout_complete(&self, r: &Rollout) -> bool {
        let d = self.replicas;
        self.rs[r.rev as usize] == d
            && self.available(|v| v == r.rev) == d
            && self.active() == d
            && self.rs.iter().enumerate().all(|(i, &n)| i == r.rev as usize || n == 0)
    }
}

impl<const FULL: bool> Simulation<FULL> {
    /// Fault `fault` starts a rolling deploy of the pod group: a new revision, rolled out.
    pub(super) fn start_deploy(&mut self, fault: usize, deploy: Deploy) {
        let now = self.now;
        let pool = self.pool();
        let before = pool.counts();
        // A deploy still rolling is superseded: its record ends unfinished.
        if let Some(old) = pool.rollout.take() {
            pool.out.deploys.push(old.record);
        }
        pool.rs.push(0);
        let (available, active) = (pool.available(|_| true), pool.active());
        let record = DeployRun {
            fault,
            start: now,
            end: None,
            replicas: pool.replicas,
            replaced: 0,
            created: 0,
            min_available: available,
            max_pods: active,
        };
        pool.rollout = Some(Rollout { deploy, rev: pool.rs.len() as u32 - 1, record });
        self.reconcile_rollout();
        self.pool().record(now, before);
    }

    /// `rolloutRolling`, repeated until nothing changes; then the rollout's figures, and its
    /// end once complete.
    pub(super) fn reconcile_rollout(&mut self) {
        let now = self.now;
        loop {
            let pool = self.pool();
            let Some(r) = &pool.rollout else { return };
            let Some((rev, to)) = pool.rolling_step(r) else { break };
            if rev == r.rev && to > pool.rs[rev as usize] {
                let created = to - pool.rs[rev as usize];
                pool.rollout.as_mut().expect("rolling").record.created += created;
            }
            pool.rs[rev as usize] = to;
            self.rs_sync(rev);
        }
        let pool = self.pool();
        let (available, active) = (pool.available(|_| true), pool.active());
        let complete = pool.rollout.as_ref().is_some_and(|r| pool.rollout_complete(r));
        let r = pool.rollout.as_mut().expect("rolling");
        r.record.min_available = r.record.min_available.min(available);
        r.record.max_pods = r.record.max_pods.max(active);
        if complete {
            r.record.end = Some(now);
            let r = pool.rollout.take().expect("rolling");
            pool.out.deploys.push(r.record);
        }
    }
}
