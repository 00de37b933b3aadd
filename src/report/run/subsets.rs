//! The table's notes on `[balancers] subset`: the clients each backend has and the load
//! spread the subsets force, whatever the strategy.

use super::Report;
use crate::report::format;
use crate::scenario::Scenario;

/// The share of the requests each backend gets when every instance spreads its share of
/// the requests evenly over its subset (equal servers; an aperture's by each server's
/// weight in the instance's slice; `[balancers] shares` weighs the instances). `None`
/// without subsets.
pub fn implied_shares(sc: &Scenario) -> Option<Vec<f64>> {
    let drawn = sc.drawn_subsets()?;
    let count = drawn.subsets.len();
    let mut load = vec![0.0; sc.servers.len()];
    for (c, subset) in drawn.subsets.iter().enumerate() {
        let share = sc.balancers.shares.as_ref().map_or(1.0 / count as f64, |s| s[c]);
        let weights: Vec<f64> = match &drawn.shares {
            Some(w) => w[c].iter().map(|&x| f64::from(x)).collect(),
            None => vec![1.0; subset.len()],
        };
        let total: f64 = weights.iter().sum();
        for (&s, w) in subset.iter().zip(&weights) {
            load[s as usize] += share * w / total;
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
