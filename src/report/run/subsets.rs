//! The table's notes on `[balancers] subset`: the clients each backend has and the load
//! spread the subsets force, whatever the strategy.

use super::Report;
use crate::report::format;
use crate::scenario::Scenario;

/// The share of the requests each backend gets when every instance spreads its share of
/// the requests evenly over its subset (equal servers; `[balancers] shares` weighs the
/// instances). `None` without subsets.
pub fn implied_shares(sc: &Scenario) -> Option<Vec<f64>> {
    let subsets = sc.subsets()?;
    let count = subsets.len();
    let mut load = vec![0.0; sc.servers.len()];
    for (c, subset) in subsets.iter().enumerate() {
        let share = sc.balancers.shares.as_ref().map_or(1.0 / count as f64, |s| s[c]);
        for &s in subset {
            load[s as usize] += share / subset.len() as f64;
        }
    }
    Some(load)
}

/// The notes (none without subsets).
pub fn notes(report: &Report) -> Vec<String> {
    let sc = &report.scenario;
    let (Some(sub), Some((min, mean, max)), Some(load)) =
        (sc.balancers.subset, crate::report::metric::subset::clients_min_mean_max(sc), implied_shares(sc))
    else {
        return Vec::new();
    };
    let busiest = load.iter().copied().fold(0.0, f64::max) * load.len() as f64;
    let mut out = vec![format!(
        "subsets: {} of the {} servers per balancer instance ({}); clients (instances) per backend min {min}, mean \
         {}, max {max} (summary.csv `clients_per_backend_*`, servers.csv `subset_clients`). Instances spreading their \
         requests evenly over their subsets would give the busiest backend {} × the mean load: the load columns' \
         spread beyond that is the strategies'",
        sub.size,
        sc.servers.len(),
        sub.kind.name(),
        format::fixed(mean, 3),
        format::fixed(busiest, 3),
    )];
    for s in &report.strategies {
        if let Some(n) = s.subset_widened.filter(|&n| n > 0) {
            out.push(format!(
                "{}: an instance's whole subset was ineligible {n} time(s); it then used every eligible server",
                s.label
            ));
        }
    }
    out
}
