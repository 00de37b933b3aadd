//! The table's notes on `[slo]`: per strategy, the time with the objective violated and the
//! share of the windows, with the cost (pod-seconds) beside it when the pool's pods change.

use super::Report;

/// The notes (none without `[slo]`).
pub fn notes(report: &Report) -> Vec<String> {
    let Some(slo) = report.scenario.slo else { return Vec::new() };
    let cost = report.strategies.iter().any(|s| s.pod_seconds.is_some());
    let mut out = vec![format!(
        "SLO {slo}: time with it violated (whole windows whose {} over the requests settled in them, failures counting \
         as too slow, is above the limit; mean over replications, ± 95%) and the share of the windows{} \
         (summary.csv `slo_violated_s`, `slo_violated_share`{}):",
        slo.metric,
        if cost { ", beside the cost" } else { "" },
        if cost { ", `pod_seconds`" } else { "" },
    )];
    let width = report.strategies.iter().map(|s| s.label.len()).max().unwrap_or(0);
    for s in &report.strategies {
        let (Some(t), Some(share)) = (s.slo_violated_s, s.slo_violated_share) else { continue };
        let ci = t.ci95.map_or(String::new(), |h| format!(" ±{h:.0}"));
        let mut line = format!(
            "  {:width$}  SLO violated {:.0}{ci} s ({:.1} min, {:.1}% of the windows)",
            s.label,
            t.value,
            t.value / 60.0,
            share.value * 100.0
        );
        if let Some(c) = s.pod_seconds {
            let ci = c.ci95.map_or(String::new(), |h| format!(" ±{h:.0}"));
            line.push_str(&format!(", cost {:.0}{ci} pod-s", c.value));
        }
        out.push(line);
    }
    out
}
