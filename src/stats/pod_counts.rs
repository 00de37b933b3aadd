//! What an autoscaled pool did in one run (`[autoscaler]`): its pod counts over time, its
//! scale events and the pod-seconds it consumed.

/// The pods at one instant (a step of the pool's timeline, from this time on).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PodCount {
    /// From this time, s.
    pub time: f64,
    /// Pods that exist: created and not yet gone (pending, starting, ready, terminating).
    pub pods: u32,
    /// Pods in the balancers' endpoints (ready and not yet deregistered).
    pub ready: u32,
}

/// One change of the replica count decided by the HPA.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleEvent {
    /// Time of the sync, s.
    pub time: f64,
    /// Replicas before.
    pub from: u32,
    /// Replicas after.
    pub to: u32,
    /// What the metric proposed (before stabilization, policies and min/max).
    pub proposed: u32,
    /// The metric the controller computed (percent for utilization, else the per-pod average).
    pub metric: f64,
    /// horizontal.go's `rescaleReason`.
    pub reason: &'static str,
    /// What bounded the change (`DesiredWithinRange`, `ScaleUpLimit`, `ScaleDownStabilized`, …).
    pub limited_by: &'static str,
}

/// An autoscaled pool's run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodsRun {
    /// The pod counts, one entry per change (the first at t = 0).
    pub timeline: Vec<PodCount>,
    /// The HPA's changes of the replica count.
    pub events: Vec<ScaleEvent>,
    /// ∫ pods dt from 0 to the end of the run: the cost, pod-s.
    pub pod_seconds: f64,
    /// ∫ ready pods dt from 0 to the end of the run, pod-s.
    pub ready_pod_seconds: f64,
    /// Its rolling deploys, in the order they started.
    pub deploys: Vec<DeployRun>,
}

/// One rolling deploy (`deploy_at`) in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployRun {
    /// Index of its `[[faults]]` entry.
    pub fault: usize,
    /// When it started, s.
    pub start: f64,
    /// When it was complete (every replica of the new revision available, no old pod left
    /// but terminating ones), s; `None` when the run ended first or a later deploy
    /// superseded it.
    pub end: Option<f64>,
    /// The Deployment's replicas when it started.
    pub replicas: u32,
    /// Old pods deleted.
    pub replaced: u32,
    /// Pods of the new revision created.
    pub created: u32,
    /// The fewest pods available (ready, not terminating) at any instant of it.
    pub min_available: u32,
    /// The most pods not terminating (every ReplicaSet's replicas) at any instant of it.
    pub max_pods: u32,
}
