//! The Kubernetes HorizontalPodAutoscaler controller (autoscaling/v2), as its source
//! computes it: `pkg/controller/podautoscaler/replica_calculator.go` (the replica count a
//! metric proposes) and `horizontal.go` (stabilization, scaling policies, min/max). Pure
//! arithmetic over what the engine measured; the pods themselves are `pool_life.rs`.
//!
//! Differences from Kubernetes, all stated in docs/autoscaling.md: one metric per HPA; the
//! `behavior` defaults are always applied (as the API server does for autoscaling/v2); for
//! the utilization metric a pod is ignored while it is not ready or became ready less than
//! one metric window before the sample (the rule `groupPods` applies within
//! `cpuInitializationPeriod`), whatever its age.

use std::collections::VecDeque;

use crate::scenario::autoscaler::{Autoscaler, Metric, ScalingRules, SelectPolicy};

/// How the controller classifies a pod (`groupPods` in replica_calculator.go).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum PodMetric {
    /// Counted, with its metric (milli-units) and its request (milli-workers; utilization).
    Ready {
        /// The metric, in milli-units (`MilliValue()`).
        value: i64,
        /// The pod's request in milli-units (utilization only: workers × 1000).
        request: i64,
    },
    /// Pending, or (utilization) not ready: left out, or counted as 0 on a scale-up.
    Ignored {
        /// The pod's request in milli-units.
        request: i64,
    },
    /// Running but without a sample: 0 on a scale-up, the target on a scale-down.
    Missing {
        /// The pod's request in milli-units.
        request: i64,
    },
    /// A pod being deleted whose last sample is still in the metrics (groupPods skips the pod
    /// but leaves its metric in).
    Terminating {
        /// The metric, in milli-units.
        value: i64,
        /// The pod's request in milli-units.
        request: i64,
    },
}

/// What one sync decided.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Decision {
    /// The replicas the metric proposed (before stabilization and policies).
    pub proposed: u32,
    /// The replicas to run from now.
    pub desired: u32,
    /// The metric as the controller computed it (percent for utilization, else the average).
    pub metric: f64,
    /// `rescaleReason` of horizontal.go.
    pub reason: &'static str,
    /// The normalization's reason (`DesiredWithinRange`, `ScaleUpLimit`, …).
    pub limited_by: &'static str,
}

/// One HPA: its recommendations and scale events (the controller's memory).
pub(super) struct Hpa {
    cfg: Autoscaler,
    /// (time, unstabilized recommendation), oldest reused (stabilizeRecommendationWithBehaviors).
    recommendations: Vec<(f64, u32)>,
    /// (time, pods added) and (time, pods removed), kept for the longest policy period.
    up_events: VecDeque<(f64, u32)>,
    down_events: VecDeque<(f64, u32)>,
}

/// `getReplicasChangePerPeriod`: the change of the events after `now − period`.
fn change_in(events: &VecDeque<(f64, u32)>, now: f64, period: f64) -> i64 {
    let cutoff = now - period;
    events.iter().filter(|(t, _)| *t > cutoff).map(|(_, n)| i64::from(*n)).sum()
}

impl Hpa {
    /// A controller with no history.
    pub(super) fn new(cfg: &Autoscaler) -> Self {
        Hpa { cfg: cfg.clone(), recommendations: Vec::new(), up_events: VecDeque::new(), down_events: VecDeque::new() }
    }

    /// The target in the units the metric is compared in: percent, or milli-units.
    fn target(&self) -> f64 {
        match self.cfg.metric {
            Metric::Utilization => self.cfg.target,
            _ => (self.cfg.target * 1000.0).round(),
        }
    }

    /// `GetResourceUtilizationRatio` / `GetMetricUtilizationRatio`: (usage ratio, metric)
    /// over `(value, request)` pairs; `None` without any.
    fn ratio(&self, metrics: &[(i64, i64)]) -> Option<(f64, f64)> {
        if metrics.is_empty() {
            return None;
        }
        let total: i64 = metrics.iter().map(|m| m.0).sum();
        match self.cfg.metric {
            Metric::Utilization => {
                let requests: i64 = metrics.iter().map(|m| m.1).sum();
                // currentUtilization = int32((metricsTotal * 100) / requestsTotal)
                let utilization = (total * 100) / requests.max(1);
                Some((utilization as f64 / self.target(), utilization as f64))
            }
            _ => {
                // currentUtilization = metricsTotal / int64(len(metrics))
                let average = total / metrics.len() as i64;
                Some((average as f64 / self.target(), average as f64 / 1000.0))
            }
        }
    }

    /// `GetResourceReplicas` / `calcPlainMetricReplicas`: the replicas the metric proposes,
    /// with the metric; `None` when no ready pod has a metric (the controller then skips).
    pub(super) fn replica_count(&self, current: u32, pods: &[PodMetric]) -> Option<(u32, f64)> {
        let mut metrics: Vec<(i64, i64)> = Vec::new();
        let (mut ready, mut ignored, mut missing) = (0u32, Vec::new(), Vec::new());
        for p in pods {
            match *p {
                PodMetric::Ready { value, request } => {
                    ready += 1;
                    metrics.push((value, request));
                }
                PodMetric::Terminating { value, request } => metrics.push((value, request)),
                PodMetric::Ignored { request } => ignored.push(request),
                PodMetric::Missing { request } => missing.push(request),
            }
        }
        let (ratio, metric) = self.ratio(&metrics)?;
        let tol = self.cfg.tolerance;
        let rebalance_ignored = !ignored.is_empty() && ratio > 1.0;
        if !rebalance_ignored && missing.is_empty() {
            if (1.0 - ratio).abs() <= tol {
                return Some((current, metric));
            }
            return Some(((ratio * f64::from(ready)).ceil() as u32, metric));
        }
        let full = |request: i64| match self.cfg.metric {
            Metric::Utilization => request,
            _ => self.target() as i64,
        };
        if ratio < 1.0 {
            metrics.extend(missing.iter().map(|&r| (full(r), r)));
        } else if ratio > 1.0 {
            metrics.extend(missing.iter().map(|&r| (0, r)));
        }
        if rebalance_ignored {
            metrics.extend(ignored.iter().map(|&r| (0, r)));
        }
        let (new_ratio, _) = self.ratio(&metrics)?;
        if (1.0 - new_ratio).abs() <= tol || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
            return Some((current, metric));
        }
        let proposed = (new_ratio * metrics.len() as f64).ceil() as u32;
        if (new_ratio < 1.0 && proposed > current) || (new_ratio > 1.0 && proposed < current) {
            return Some((current, metric));
        }
        Some((proposed, metric))
    }

    /// `stabilizeRecommendationWithBehaviors`: the current count brought within the lowest
    /// recommendation of the scale-up window and the highest of the scale-down window; the
    /// unstabilized recommendation is recorded.
    fn stabilize(&mut self, now: f64, current: u32, desired: u32) -> u32 {
        let up_cutoff = now - self.cfg.scale_up.stabilization_window;
        let down_cutoff = now - self.cfg.scale_down.stabilization_window;
        let (mut up, mut down) = (desired, desired);
        let mut old = None;
        for (i, &(t, rec)) in self.recommendations.iter().enumerate() {
            if t > up_cutoff {
                up = up.min(rec);
            }
            if t > down_cutoff {
                down = down.max(rec);
            }
            if t < up_cutoff && t < down_cutoff {
                old = Some(i);
            }
        }
        let stabilized = current.max(up).min(down);
        match old {
            Some(i) => self.recommendations[i] = (now, desired),
            None => self.recommendations.push((now, desired)),
        }
        stabilized
    }

    /// `calculateScaleUpLimitWithScalingRules` / `calculateScaleDownLimitWithBehaviors`.
    fn limit(&self, now: f64, current: u32, up: bool) -> i64 {
        let rules: &ScalingRules = if up { &self.cfg.scale_up } else { &self.cfg.scale_down };
        let cur = i64::from(current);
        if rules.select_policy == SelectPolicy::Disabled {
            return cur;
        }
        // Scale-up: Max takes the largest limit; scale-down: Max takes the lowest.
        let largest = (rules.select_policy == SelectPolicy::Max) == up;
        let mut result = if largest { i64::MIN } else { i64::MAX };
        for p in &rules.policies {
            let added = change_in(&self.up_events, now, p.period);
            let removed = change_in(&self.down_events, now, p.period);
            let start = cur - added + removed;
            let proposed = match (p.pods, p.percent, up) {
                (Some(n), _, true) => start + i64::from(n),
                (Some(n), _, false) => start - i64::from(n),
                (_, Some(pc), true) => (start as f64 * (1.0 + f64::from(pc) / 100.0)).ceil() as i64,
                (_, Some(pc), false) => (start as f64 * (1.0 - f64::from(pc) / 100.0)) as i64,
                (None, None, _) => unreachable!("validated: one of pods and percent"),
            };
            result = if largest { result.max(proposed) } else { result.min(proposed) };
        }
        result
    }

    /// `convertDesiredReplicasWithBehaviorRate`: policies and min/max.
    fn rate_limit(&self, now: f64, current: u32, desired: u32) -> (u32, &'static str) {
        let (min, max) = (i64::from(self.cfg.min_replicas), i64::from(self.cfg.max_replicas));
        let d = i64::from(desired);
        let cur = i64::from(current);
        if desired > current {
            let limit = self.limit(now, current, true).max(cur);
            let (allowed, why) = if max > limit { (limit, "ScaleUpLimit") } else { (max, "TooManyReplicas") };
            if d > allowed {
                return (allowed as u32, why);
            }
        } else if desired < current {
            let limit = self.limit(now, current, false).min(cur);
            let (allowed, why) = if min < limit { (limit, "ScaleDownLimit") } else { (min, "TooFewReplicas") };
            if d < allowed {
                return (allowed as u32, why);
            }
        }
        (desired, "DesiredWithinRange")
    }

    /// One sync of the controller (`reconcileAutoscaler`) at `now` with `current` replicas
    /// (the ReplicaSet's spec) and the pods as classified; `None` when there is no metric.
    pub(super) fn sync(&mut self, now: f64, current: u32, pods: &[PodMetric]) -> Option<Decision> {
        let (min, max) = (self.cfg.min_replicas, self.cfg.max_replicas);
        if current > max || current < min {
            let desired = current.clamp(min, max);
            return Some(Decision {
                proposed: desired,
                desired,
                metric: f64::NAN,
                reason: if current > max {
                    "Current number of replicas above Spec.MaxReplicas"
                } else {
                    "Current number of replicas below Spec.MinReplicas"
                },
                limited_by: "DesiredWithinRange",
            });
        }
        let (proposed, metric) = self.replica_count(current, pods)?;
        let reason = if proposed > current { "metric above target" } else { "All metrics below target" };
        let stabilized = self.stabilize(now, current, proposed);
        let (desired, limited_by) = self.rate_limit(now, current, stabilized);
        let limited_by = if stabilized != proposed && desired == stabilized {
            if proposed > current { "ScaleUpStabilized" } else { "ScaleDownStabilized" }
        } else {
            limited_by
        };
        if desired != current {
            self.store_event(now, current, desired);
        }
        Some(Decision { proposed, desired, metric, reason, limited_by })
    }

    /// `storeScaleEvent`: events older than the direction's longest policy period are dropped.
    fn store_event(&mut self, now: f64, from: u32, to: u32) {
        let (events, rules) = if to > from {
            (&mut self.up_events, &self.cfg.scale_up)
        } else {
            (&mut self.down_events, &self.cfg.scale_down)
        };
        let cutoff = now - rules.longest_period();
        while events.front().is_some_and(|(t, _)| *t < cutoff) {
            events.pop_front();
        }
        events.push_back((now, from.abs_diff(to)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::autoscaler::{PodLife, ScalingPolicy};

    fn cfg() -> Autoscaler {
        Autoscaler {
            group: 0,
            initial: 10,
            min_replicas: 1,
            max_replicas: 100,
            metric: Metric::Utilization,
            target: 60.0,
            tolerance: 0.1,
            sync_period: 15.0,
            metric_window: 15.0,
            metric_delay: 0.0,
            scale_up: ScalingRules::default_up(),
            scale_down: ScalingRules::default_down(),
            pods: PodLife::default(),
        }
    }

    fn busy(n: u32, utilization_milli: i64) -> Vec<PodMetric> {
        (0..n).map(|_| PodMetric::Ready { value: utilization_milli, request: 1000 }).collect()
    }

    #[test]
    fn a_step_to_90_percent_proposes_15_and_65_percent_is_within_tolerance() {
        let mut h = Hpa::new(&cfg());
        let d = h.sync(15.0, 10, &busy(10, 900)).unwrap();
        assert_eq!((d.proposed, d.desired, d.metric), (15, 15, 90.0));
        let h = Hpa::new(&cfg());
        assert_eq!(h.replica_count(10, &busy(10, 650)), Some((10, 65.0)));
    }

    #[test]
    fn scale_down_waits_for_the_stabilization_window() {
        let mut h = Hpa::new(&cfg());
        assert_eq!(h.sync(15.0, 10, &busy(10, 600)).unwrap().desired, 10);
        // The load halves: the proposal is 5, but 10 was recommended within 300 s.
        let mut t = 30.0;
        while t < 315.0 {
            assert_eq!(h.sync(t, 10, &busy(10, 300)).unwrap().desired, 10, "t = {t}");
            t += 15.0;
        }
        assert_eq!(h.sync(t, 10, &busy(10, 300)).unwrap().desired, 5);
    }

    #[test]
    fn scale_up_policies_bound_every_sync() {
        // Default: max(100 %, 4 pods) per 15 s. From 2 pods a huge load: 4+2=6 (4 pods more
        // than 2 beats 100 %), then 12, 24 ... (a 10 % target: the proposal is always larger).
        let mut c = cfg();
        c.target = 10.0;
        let mut h = Hpa::new(&c);
        let mut current = 2;
        for (k, expect) in [6, 12, 24, 48, 96, 100].into_iter().enumerate() {
            let d = h.sync(15.0 * (k + 1) as f64, current, &busy(current, 1000)).unwrap();
            assert_eq!(d.desired, expect, "sync {k}");
            current = d.desired;
        }
        // A pods policy with select min, 2 per 60 s: one step of 2, then nothing until 60 s
        // have passed.
        c.scale_up.select_policy = SelectPolicy::Min;
        c.scale_up.policies = vec![
            ScalingPolicy { pods: Some(2), percent: None, period: 60.0 },
            ScalingPolicy { pods: None, percent: Some(100), period: 15.0 },
        ];
        let mut h = Hpa::new(&c);
        let mut current = 10;
        let mut seen = Vec::new();
        for k in 1..=9 {
            let d = h.sync(15.0 * f64::from(k), current, &busy(current, 1000)).unwrap();
            current = d.desired;
            seen.push(current);
        }
        assert_eq!(seen, vec![12, 12, 12, 12, 14, 14, 14, 14, 16]);
    }

    #[test]
    fn missing_and_unready_pods_follow_replica_calculator() {
        let h = Hpa::new(&cfg());
        // 4 ready pods at 90 %, 4 unready: on a scale-up the unready count as 0 → 45 % of
        // 8 pods: ratio 0.75, a scale down, which reverses the direction: no change.
        let mut pods = busy(4, 900);
        pods.extend((0..4).map(|_| PodMetric::Ignored { request: 1000 }));
        assert_eq!(h.replica_count(8, &pods).unwrap().0, 8);
        // 4 ready at 100 %, 1 unready: 80 % over 5 pods: ratio 1.333 → ceil(6.67) = 7.
        let mut pods = busy(4, 1000);
        pods.push(PodMetric::Ignored { request: 1000 });
        assert_eq!(h.replica_count(5, &pods).unwrap().0, 7);
    }
}
