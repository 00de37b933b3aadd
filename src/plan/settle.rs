//! `plan` with a precision (`--precision`, or the scenario's `precision` key): each
//! candidate is run longer only while its verdict is unclear (issue 22).
//!
//! A candidate's verdict is **clear** when every objective's 95% interval lies on one side of
//! its limit: a pass when every upper bound is within the limit, a fail when some lower
//! bound is above it. Otherwise it is **uncertain** (an interval straddles a limit and none
//! clearly fails). An uncertain candidate is run again, longer — the same streams, as
//! `--requests` cuts them, so its figures are exactly those of the longer run — growing by
//! what the straddling intervals need to clear their limit ((half-width ÷ distance to the
//! limit)², times 1.25, between 2 and 16), until the verdict is clear or:
//! - every straddling figure's half-width is within its target share of its value: the
//!   figure sits at the limit, within the precision asked, and running longer to tell the
//!   two apart would be waste; or
//! - the run reached `max_requests` (default 16 × `requests`).
//!
//! The verdict then stays **uncertain**, is said so (the table's notes, plan_candidates.csv)
//! and counts as not met: the answer is the smallest count whose pass is clear. An objective
//! gets the target of its figure (`p99` → `p99_ms`, `mean` → `mean_ms`, `utilization`), or,
//! when the precision names another, the tightest target given (a bare `2%` applies to every
//! objective).
//!
//! Without a precision a plan judges each candidate once, on the upper bounds alone, as
//! before: an unclear verdict is a fail.

use super::slo::Slo;
use crate::scenario::{Precision, Scenario};
use crate::stats::Estimate;

/// A verdict on the measures of one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Judged {
    /// Every upper bound within its limit.
    Pass,
    /// Some lower bound above its limit (or a figure that is not finite).
    Fail,
    /// Some interval straddles its limit, and none clearly fails.
    Uncertain,
}

/// Where each interval of `measures` lies against the limits of `slos` (see the module's
/// documentation).
pub(super) fn judge(slos: &[Slo], measures: &[Estimate]) -> Judged {
    let mut verdict = Judged::Pass;
    for (slo, e) in slos.iter().zip(measures) {
        let (lo, hi) = e.interval().unwrap_or((e.value, e.value));
        if !e.value.is_finite() || lo > slo.limit {
            return Judged::Fail;
        }
        if hi.is_nan() || hi > slo.limit {
            verdict = Judged::Uncertain;
        }
    }
    verdict
}

/// The relative half-width at which an uncertain objective is left at its limit.
pub(super) fn target(slo: &Slo, precision: &Precision) -> f64 {
    let own = slo.metric.figure().and_then(|f| precision.targets.iter().find(|t| t.0 == f.column()));
    own.map_or_else(|| precision.targets.iter().map(|t| t.1).fold(f64::INFINITY, f64::min), |t| t.1)
}

/// The factor an uncertain candidate's run should grow by to settle its verdict, or `None`
/// when it is clear, or when every straddling figure is already within its target share of
/// its value (then it stays uncertain).
pub(super) fn growth(slos: &[Slo], measures: &[Estimate], precision: &Precision) -> Option<f64> {
    if judge(slos, measures) != Judged::Uncertain {
        return None;
    }
    let mut factor: Option<f64> = None;
    for (slo, e) in slos.iter().zip(measures) {
        let Some((lo, hi)) = e.interval() else { continue };
        let half = e.ci95.unwrap_or(0.0);
        if !(lo <= slo.limit && slo.limit < hi) || half <= target(slo, precision) * e.value.abs() {
            continue;
        }
        let distance = (e.value - slo.limit).abs();
        let need = if distance > 0.0 { (half / distance).powi(2) } else { f64::INFINITY };
        factor = Some(factor.unwrap_or(0.0).max(need));
    }
    factor.map(|f| (1.25 * f).clamp(2.0, 16.0))
}

/// `sc` run longer by `factor`, up to `cap` requests (its warm-up moved with it unless
/// explicit, as the runner's precision does); `None` when it is already at the cap.
pub(super) fn longer(sc: &Scenario, factor: f64, cap: u64) -> Option<Scenario> {
    if sc.requests >= cap {
        return None;
    }
    let next = ((sc.requests as f64 * factor).ceil() as u64).min(cap);
    let mut longer = sc.clone();
    longer.requests = next;
    if !longer.warmup_explicit {
        longer.warmup = next / 10;
    }
    Some(longer)
}

/// Why an uncertain verdict stayed so, for the notes: each straddling objective with its
/// figure, and what stopped the run.
pub(super) fn why_uncertain(slos: &[Slo], measures: &[Estimate], precision: &Precision, at_cap: bool) -> String {
    let straddling: Vec<String> = slos
        .iter()
        .zip(measures)
        .filter(|(slo, e)| e.interval().is_some_and(|(lo, hi)| lo <= slo.limit && slo.limit < hi))
        .map(|(slo, e)| {
            format!(
                "{} {} ±{} against {}",
                slo.metric.name(),
                slo.metric.show(e.value),
                slo.metric.show(e.ci95.unwrap_or(0.0)),
                slo.metric.show(slo.limit)
            )
        })
        .collect();
    let stop = if at_cap {
        "max_requests reached".to_string()
    } else {
        let t: Vec<String> = slos
            .iter()
            .map(|s| {
                let t = format!("{:.3}", 100.0 * target(s, precision));
                format!("{}%", t.trim_end_matches('0').trim_end_matches('.'))
            })
            .collect();
        format!("within {} of the value, the precision asked: at the limit", t.join(", "))
    };
    format!("{} ({stop})", straddling.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::ci::Bounds;

    fn e(value: f64, ci: f64) -> Estimate {
        Estimate { value, ci95: Some(ci), bounds: Bounds::NON_NEGATIVE }
    }

    #[test]
    fn verdicts_are_clear_only_outside_the_interval() {
        let slos = [Slo::parse("p99<=100ms").unwrap(), Slo::parse("mean<=50ms").unwrap()];
        assert_eq!(judge(&slos, &[e(0.090, 0.005), e(0.04, 0.001)]), Judged::Pass);
        assert_eq!(judge(&slos, &[e(0.098, 0.005), e(0.04, 0.001)]), Judged::Uncertain);
        assert_eq!(judge(&slos, &[e(0.098, 0.005), e(0.06, 0.001)]), Judged::Fail, "one clear fail decides");
        assert_eq!(judge(&slos, &[e(f64::NAN, 0.0), e(0.04, 0.001)]), Judged::Fail);
    }

    #[test]
    fn an_uncertain_candidate_grows_until_clear_or_at_its_target() {
        let slos = [Slo::parse("p99<=100ms").unwrap()];
        let p = Precision { targets: vec![("mean_ms", 0.02), ("p99_ms", 0.05)], max_requests: None };
        assert_eq!(target(&slos[0], &p), 0.05);
        assert_eq!(target(&Slo::parse("drop_rate<=1%").unwrap(), &p), 0.02, "the tightest for other objectives");
        // 90 ± 20 against 100: the half-width must shrink to 10, 4× the requests, × 1.25.
        let g = growth(&slos, &[e(0.090, 0.020)], &p).unwrap();
        assert!((g - 5.0).abs() < 1e-9, "{g}");
        // Clear: nothing to grow.
        assert_eq!(growth(&slos, &[e(0.090, 0.005)], &p), None);
        // 99 ± 4 (4% of the value, within 5%): at the limit within the precision asked.
        assert_eq!(growth(&slos, &[e(0.099, 0.004)], &p), None);
        // Tiny distance: the most growth at once.
        assert_eq!(growth(&slos, &[e(0.0999, 0.020)], &p), Some(16.0));
        assert!(why_uncertain(&slos, &[e(0.099, 0.004)], &p, false).contains("p99 99ms ±4ms against 100ms"));
    }
}
