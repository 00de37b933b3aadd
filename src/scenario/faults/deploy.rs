//! `deploy_at` with `max_surge` and `max_unavailable`: a rolling deploy of a group's pods, as
//! the Kubernetes Deployment controller rolls a new ReplicaSet (strategy `RollingUpdate`).
//!
//! The fault names a group (`group = "web"`, no `count`: every pod is replaced). From
//! `deploy_at` the group's pods are replaced by pods of a new revision a few at a time, each
//! new pod living the life of `[pods]` (provision, readiness, cold start) and each old one
//! terminating as a scaled-down pod does (deregistration delay, drain, grace period). The
//! controller's arithmetic is `engine::rollout`; this file reads the keys.

use serde::Serialize;

use super::{Effect, FaultError, FaultKind, Kind, Written};

/// `maxSurge` / `maxUnavailable` as written: a number of pods or a percentage of the
/// replicas (Kubernetes' `IntOrString`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// This many pods.
    Pods(u32),
    /// This percentage of the replicas, rounded as [`Size::of`] says.
    Percent(u32),
}

impl Size {
    /// The number of pods it allows out of `replicas`: a percentage rounded up (`max_surge`)
    /// or down (`max_unavailable`), as `intstr.GetScaledValueFromIntOrPercent` computes it
    /// (k8s.io/apimachinery/pkg/util/intstr/intstr.go: `math.Ceil` / `math.Floor` of
    /// value × replicas / 100).
    pub fn of(self, replicas: u32, round_up: bool) -> u32 {
        match self {
            Size::Pods(n) => n,
            Size::Percent(p) => {
                let x = u64::from(p) * u64::from(replicas);
                (if round_up { x.div_ceil(100) } else { x / 100 }) as u32
            }
        }
    }

    /// Whether it is written as zero (`0` or `"0%"`).
    pub fn is_zero(self) -> bool {
        matches!(self, Size::Pods(0) | Size::Percent(0))
    }

    /// As written: `1`, `25%`.
    pub fn text(self) -> String {
        match self {
            Size::Pods(n) => n.to_string(),
            Size::Percent(p) => format!("{p}%"),
        }
    }
}

/// A rolling deploy: `max_surge` pods above the replicas may exist, `max_unavailable` below
/// them may be unavailable (Kubernetes' defaults: 25% and 25%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Deploy {
    /// `maxSurge`.
    pub max_surge: Size,
    /// `maxUnavailable`.
    pub max_unavailable: Size,
}

impl Deploy {
    /// `ResolveFenceposts` (pkg/controller/deployment/util/deployment_util.go): (surge,
    /// unavailable) for `replicas`, the surge rounded up, the unavailable down, and
    /// unavailable 1 when both come to 0 (a percentage rounded down to nothing).
    pub fn fenceposts(&self, replicas: u32) -> (u32, u32) {
        let surge = self.max_surge.of(replicas, true);
        let unavailable = self.max_unavailable.of(replicas, false);
        if surge == 0 && unavailable == 0 { (0, 1) } else { (surge, unavailable) }
    }
}

impl Written for Deploy {
    const NOUN: &'static str = "a rolling deploy";
    const EXAMPLE: &'static str = "`deploy_at = \"60s\"` with `group` (a rolling deploy)";
    const START: &'static str = "deploy_at";
    const END: Option<&'static str> = None;
    const PARAMS: &'static [&'static str] = &[];
    const SIZES: &'static [&'static str] = &["max_surge", "max_unavailable"];
    const WHOLE_GROUP: bool = true;

    fn build(_values: &[Option<f64>], sizes: &[Option<Size>]) -> Result<FaultKind, FaultError> {
        // The API server's defaults (SetDefaults_Deployment: 25% and 25%).
        let max_surge = sizes[0].unwrap_or(Size::Percent(25));
        let max_unavailable = sizes[1].unwrap_or(Size::Percent(25));
        if max_surge.is_zero() && max_unavailable.is_zero() {
            // ValidateRollingUpdateDeployment (pkg/apis/apps/validation/validation.go).
            return Err((
                Some("max_unavailable"),
                "may not be 0 when max_surge is 0: the deploy could never replace a pod (Kubernetes refuses it too)"
                    .into(),
            ));
        }
        Ok(FaultKind::Deploy(Deploy { max_surge, max_unavailable }))
    }
}

impl Kind for Deploy {
    fn effect(&self) -> Effect {
        Effect::Deploy(*self)
    }

    fn describe(&self) -> String {
        format!("rolling deploy (max surge {}, max unavailable {})", self.max_surge.text(), self.max_unavailable.text())
    }

    fn phase(&self) -> String {
        "rolling deploy".to_string()
    }

    fn legend(&self) -> &'static str {
        "deployed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_as_kubernetes_does() {
        // deployment_util.go's ResolveFenceposts examples.
        let d = |s, u| Deploy { max_surge: s, max_unavailable: u };
        assert_eq!(d(Size::Percent(0), Size::Percent(1)).fenceposts(2), (0, 1));
        assert_eq!(d(Size::Percent(1), Size::Percent(25)).fenceposts(2), (1, 0));
        assert_eq!(d(Size::Percent(1), Size::Percent(0)).fenceposts(1), (1, 0));
        assert_eq!(d(Size::Percent(25), Size::Percent(25)).fenceposts(10), (3, 2));
        assert_eq!(d(Size::Pods(2), Size::Pods(0)).fenceposts(10), (2, 0));
        assert_eq!(d(Size::Percent(0), Size::Percent(10)).fenceposts(5), (0, 1));
    }
}
