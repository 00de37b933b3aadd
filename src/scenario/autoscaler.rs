//! `[autoscaler]` and `[pods]`: a Kubernetes HorizontalPodAutoscaler (autoscaling/v2) that
//! sizes one `[[servers]]` group, and the life of the group's pods (provisioning,
//! readiness, termination). The controller itself is `engine::hpa`; the pods'
//! lifecycle `engine::pool_life`.
//!
//! The group is expanded to `max_replicas` servers (the places a pod can take); the first
//! `count` of them run from the start, the others exist only while a pod holds them.

use serde::Serialize;

use super::ScenarioError;
use super::balancers::{Delay, delay};
use super::schema::{RawAutoscaler, RawPods, RawScalingRules};

/// What the HPA measures per pod.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Busy workers ÷ workers, a `Resource` metric with `averageUtilization` (percent).
    Utilization,
    /// Requests held by the pod (waiting or in service), time-averaged: a `Pods` metric
    /// with `averageValue`.
    InFlight,
    /// Requests received per second: a `Pods` metric with `averageValue`.
    Rps,
}

/// The metric names of `autoscaler.metric`.
pub const METRICS: &[(&str, Metric)] =
    &[("utilization", Metric::Utilization), ("in_flight", Metric::InFlight), ("rps", Metric::Rps)];

/// `select_policy` of a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectPolicy {
    /// The policy allowing the largest change (Kubernetes' default, `Max`).
    Max,
    /// The policy allowing the smallest change (`Min`).
    Min,
    /// No scaling in this direction (`Disabled`).
    Disabled,
}

/// One `HPAScalingPolicy`: at most `pods` pods or `percent` % of the replicas at the start
/// of the trailing `period`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScalingPolicy {
    /// `Pods` policy: this many pods per period.
    pub pods: Option<u32>,
    /// `Percent` policy: this percentage of the replicas per period.
    pub percent: Option<u32>,
    /// `periodSeconds`, s.
    #[serde(rename = "period_s")]
    pub period: f64,
}

/// `HPAScalingRules` of one direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScalingRules {
    /// `stabilizationWindowSeconds`, s.
    #[serde(rename = "stabilization_window_s")]
    pub stabilization_window: f64,
    /// `selectPolicy`.
    pub select_policy: SelectPolicy,
    /// `policies`.
    pub policies: Vec<ScalingPolicy>,
}

impl ScalingRules {
    /// Kubernetes' default scale-up behaviour: no stabilization; 100 % or 4 pods per 15 s,
    /// whichever is more.
    pub fn default_up() -> Self {
        ScalingRules {
            stabilization_window: 0.0,
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy { pods: None, percent: Some(100), period: 15.0 },
                ScalingPolicy { pods: Some(4), percent: None, period: 15.0 },
            ],
        }
    }

    /// Kubernetes' default scale-down behaviour: a 300 s stabilization window; 100 % per 15 s.
    pub fn default_down() -> Self {
        ScalingRules {
            stabilization_window: 300.0,
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy { pods: None, percent: Some(100), period: 15.0 }],
        }
    }

    /// The longest policy period, s.
    pub fn longest_period(&self) -> f64 {
        self.policies.iter().map(|p| p.period).fold(0.0, f64::max)
    }
}

/// `[pods]`: the life of an autoscaled group's pods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodLife {
    /// From creation to the container running (scheduling, image pull, start); none: at once.
    pub provision: Option<Delay>,
    /// The readiness probe's `initialDelaySeconds`, s.
    #[serde(rename = "readiness_delay_s")]
    pub readiness_delay: f64,
    /// The readiness probe's `periodSeconds`, s.
    #[serde(rename = "readiness_period_s")]
    pub readiness_period: f64,
    /// The readiness probe's `successThreshold`.
    pub readiness_threshold: u32,
    /// After a pod is told to stop, how long balancers still send to it (endpoint and
    /// target-group propagation, or a `preStop` sleep), s.
    #[serde(rename = "deregistration_delay_s")]
    pub deregistration_delay: f64,
    /// `terminationGracePeriodSeconds`: what the pod still holds then is reset, s.
    #[serde(rename = "grace_period_s")]
    pub grace_period: f64,
}

impl Default for PodLife {
    /// Kubernetes' defaults: no provisioning time, probes every 10 s with threshold 1, no
    /// deregistration delay, a 30 s grace period.
    fn default() -> Self {
        PodLife {
            provision: None,
            readiness_delay: 0.0,
            readiness_period: 10.0,
            readiness_threshold: 1,
            deregistration_delay: 0.0,
            grace_period: 30.0,
        }
    }
}

impl PodLife {
    /// From a running container to ready: the first probe tick (every `readiness_period`
    /// from the container's start) at or after `readiness_delay`, then `threshold − 1` more
    /// successful probes, s.
    pub fn time_to_ready(&self) -> f64 {
        let p = self.readiness_period;
        let first = (self.readiness_delay / p).ceil() * p;
        first + f64::from(self.readiness_threshold - 1) * p
    }
}

/// The group whose servers are pods' places: the `[autoscaler]`'s group, or the group a
/// rolling deploy (`deploy_at`) replaces. At most one per scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodGroup {
    /// Index of the group.
    pub group: usize,
    /// Pods running at t = 0 (the group's `count`).
    pub initial: u32,
    /// Places (servers) of the group: [`counted`](PodGroup::counted), plus a deploy's room
    /// (its surge and as many places again for the old pods while they terminate).
    pub places: u32,
    /// The places the group has without a deploy's room (`max_replicas`, or `count`): those
    /// in the scenario's capacity.
    pub counted: u32,
    /// `[pods]`.
    pub life: PodLife,
}

/// `[autoscaler]` as validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Autoscaler {
    /// Index of the scaled group.
    pub group: usize,
    /// Replicas at the start (the group's `count`).
    pub initial: u32,
    /// `minReplicas`.
    pub min_replicas: u32,
    /// `maxReplicas` (the group has this many servers).
    pub max_replicas: u32,
    /// What is measured.
    pub metric: Metric,
    /// Target: percent for utilization, else per-pod average value.
    pub target: f64,
    /// `--horizontal-pod-autoscaler-tolerance`.
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-sync-period`, s.
    #[serde(rename = "sync_period_s")]
    pub sync_period: f64,
    /// metrics-server's `--metric-resolution`: a sample averages this window, s.
    #[serde(rename = "metric_window_s")]
    pub metric_window: f64,
    /// Pipeline latency: a sample reaches the controller this long after its window ends, s.
    #[serde(rename = "metric_delay_s")]
    pub metric_delay: f64,
    /// `behavior.scaleUp`.
    pub scale_up: ScalingRules,
    /// `behavior.scaleDown`.
    pub scale_down: ScalingRules,
    /// `[pods]`.
    pub pods: PodLife,
}

impl Autoscaler {
    /// The metric's name as written in `autoscaler.metric`.
    pub fn metric_name(&self) -> &'static str {
        METRICS.iter().find(|(_, m)| *m == self.metric).map_or("utilization", |(n, _)| n)
    }
}

fn secs(d: Option<crate::duration::Duration>, default: f64) -> f64 {
    d.map_or(default, |d| d.secs())
}

fn nonneg(key: &str, x: f64) -> Result<f64, ScenarioError> {
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(ScenarioError::at(key, "must be a duration of zero or more, e.g. \"10s\""))
    }
}

fn pos(key: &str, x: f64) -> Result<f64, ScenarioError> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(ScenarioError::at(key, "must be a positive duration, e.g. \"15s\""))
    }
}

/// Validates `[autoscaler]` (with `[pods]`) against the groups as written; the caller then
/// expands the group to `max_replicas` servers.
pub(super) fn validate_autoscaler(
    a: &RawAutoscaler,
    pods: Option<&RawPods>,
    groups: &[super::schema::RawServerGroup],
) -> Result<Autoscaler, ScenarioError> {
    let key = |k: &str| format!("autoscaler.{k}");
    let group = match &a.group {
        Some(name) => groups.iter().position(|g| &g.name == name).ok_or_else(|| {
            let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
            ScenarioError::at(key("group"), format!("no [[servers]] group is named `{name}`"))
                .with_help(format!("groups: {}", names.join(", ")))
        })?,
        None if groups.len() == 1 => 0,
        None => {
            return Err(ScenarioError::at(key("group"), "several [[servers]] groups: name the one to scale")
                .with_help(format!("e.g. group = \"{}\"", groups[0].name)));
        }
    };
    let initial = groups[group].count.unwrap_or(1);
    let min_replicas = a.min_replicas.unwrap_or(1);
    if min_replicas == 0 {
        return Err(ScenarioError::at(key("min_replicas"), "must be at least 1 (scaling to zero is not modelled)"));
    }
    if a.max_replicas < min_replicas || a.max_replicas as usize > super::MAX_SERVERS {
        return Err(ScenarioError::at(
            key("max_replicas"),
            format!("must be from min_replicas ({min_replicas}) to {}, got {}", super::MAX_SERVERS, a.max_replicas),
        ));
    }
    if initial < min_replicas || initial > a.max_replicas {
        return Err(ScenarioError::at(
            format!("servers[{group}].count"),
            format!(
                "the autoscaled group starts with its count, which must be from min_replicas ({min_replicas}) to \
                 max_replicas ({}), got {initial}",
                a.max_replicas
            ),
        ));
    }
    let metric = match a.metric.as_deref() {
        None => Metric::Utilization,
        Some(m) => METRICS.iter().find(|(n, _)| *n == m).map(|(_, v)| *v).ok_or_else(|| {
            ScenarioError::at(key("metric"), format!("unknown metric `{m}`")).with_help(
                "one of: utilization (percent of workers busy), in_flight (requests per pod), rps (requests/s per pod)",
            )
        })?,
    };
    let target = a.target;
    let ok = match metric {
        Metric::Utilization => (1.0..=100.0).contains(&target) && target.fract() == 0.0,
        _ => target.is_finite() && target > 0.0,
    };
    if !ok {
        let what = match metric {
            Metric::Utilization => "a whole percentage from 1 to 100 (averageUtilization), e.g. 60",
            _ => "a positive number per pod (averageValue)",
        };
        return Err(ScenarioError::at(key("target"), format!("must be {what}, got {target}")));
    }
    let tolerance = a.tolerance.unwrap_or(0.1);
    if !(0.0..1.0).contains(&tolerance) {
        return Err(ScenarioError::at(key("tolerance"), format!("must be from 0 to below 1, got {tolerance}")));
    }
    let sync_period = pos(&key("sync_period"), secs(a.sync_period, 15.0))?;
    let metric_window = pos(&key("metric_window"), secs(a.metric_window, 15.0))?;
    let metric_delay = nonneg(&key("metric_delay"), secs(a.metric_delay, 0.0))?;
    let scale_up = rules(a.scale_up.as_ref(), ScalingRules::default_up(), "autoscaler.scale_up")?;
    let scale_down = rules(a.scale_down.as_ref(), ScalingRules::default_down(), "autoscaler.scale_down")?;
    let pods = pods.map(validate_pods).transpose()?.unwrap_or_default();
    Ok(Autoscaler {
        group,
        initial,
        min_replicas,
        max_replicas: a.max_replicas,
        metric,
        target,
        tolerance,
        sync_period,
        metric_window,
        metric_delay,
        scale_up,
        scale_down,
        pods,
    })
}

fn rules(r: Option<&RawScalingRules>, default: ScalingRules, at: &str) -> Result<ScalingRules, ScenarioError> {
    let Some(r) = r else { return Ok(default) };
    let key = |k: &str| format!("{at}.{k}");
    let stabilization_window =
        nonneg(&key("stabilization_window"), secs(r.stabilization_window, default.stabilization_window))?;
    let select_policy = match r.select_policy.as_deref() {
        None | Some("max") => SelectPolicy::Max,
        Some("min") => SelectPolicy::Min,
        Some("disabled") => SelectPolicy::Disabled,
        Some(other) => {
            return Err(ScenarioError::at(key("select_policy"), format!("unknown select_policy `{other}`"))
                .with_help("one of: max (the largest change, the default), min, disabled"));
        }
    };
    let policies = match &r.policies {
        None => default.policies,
        Some(ps) => {
            let mut out = Vec::new();
            for (i, p) in ps.iter().enumerate() {
                let k = key(&format!("policies[{i}]"));
                match (p.pods, p.percent) {
                    (Some(0), _) | (_, Some(0)) => {
                        return Err(ScenarioError::at(k, "a policy's value must be at least 1"));
                    }
                    (Some(_), None) | (None, Some(_)) => {}
                    _ => {
                        return Err(ScenarioError::at(k, "a policy gives exactly one of `pods` and `percent`")
                            .with_help("e.g. { pods = 4, period = \"15s\" } or { percent = 100, period = \"15s\" }"));
                    }
                }
                let period = p.period.secs();
                if !(period > 0.0 && period <= 1800.0) {
                    return Err(ScenarioError::at(
                        format!("{k}.period"),
                        "must be from 1s to 30m (periodSeconds: 1 to 1800)",
                    ));
                }
                out.push(ScalingPolicy { pods: p.pods, percent: p.percent, period });
            }
            if out.is_empty() && select_policy != SelectPolicy::Disabled {
                return Err(ScenarioError::at(
                    key("policies"),
                    "list at least one policy (or select_policy = \"disabled\")",
                ));
            }
            out
        }
    };
    Ok(ScalingRules { stabilization_window, select_policy, policies })
}

pub(super) fn validate_pods(p: &RawPods) -> Result<PodLife, ScenarioError> {
    let d = PodLife::default();
    let key = |k: &str| format!("pods.{k}");
    let provision = p.provision.as_ref().map(|v| delay(v, &key("provision"))).transpose()?.flatten();
    let readiness_threshold = p.readiness_threshold.unwrap_or(1);
    if readiness_threshold == 0 {
        return Err(ScenarioError::at(key("readiness_threshold"), "must be at least 1 (successThreshold)"));
    }
    Ok(PodLife {
        provision,
        readiness_delay: nonneg(&key("readiness_delay"), secs(p.readiness_delay, d.readiness_delay))?,
        readiness_period: pos(&key("readiness_period"), secs(p.readiness_period, d.readiness_period))?,
        readiness_threshold,
        deregistration_delay: nonneg(
            &key("deregistration_delay"),
            secs(p.deregistration_delay, d.deregistration_delay),
        )?,
        grace_period: nonneg(&key("grace_period"), secs(p.grace_period, d.grace_period))?,
    })
}
