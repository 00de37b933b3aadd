//! The 95% interval of the difference measured − expected, from replications
//! (`lbsim load --replications N` against `lbsim run --replications N`).
//!
//! One run of a fixed-order strategy moves by several per cent with its request stream
//! alone, so a single-run tolerance cannot tell a model's error from the stream's luck. With
//! several measured passes, each on the stream the simulator runs as the same replication,
//! the difference is estimated replication by replication:
//!
//! - **Paired** (the usual case): the simulated replication `r` of the compared strategy is
//!   simulated again here, from the scenario text, seed, requests and warm-up that
//!   manifest.json records ([`simulate`], the function `lbsim run`
//!   calls), after checking that this reproduces the recorded request stream (its SHA-256)
//!   and the summary's mean. Then `d_r = measured_r − (simulated_r + overhead)`, the
//!   overhead being the pooled figure's (expected − simulated), and the interval is
//!   `d̄ ± t(0.975, n − 1) · s_d / √n`. Both replications saw the same arrivals and
//!   demands, so their common luck cancels.
//! - **Unpaired** otherwise (the simulation cannot be reproduced): Welch's interval from
//!   the simulation's 95% half-width (summary.csv, `*_ci95` over its replications) and the
//!   measured replications' spread.
//!
//! No interval with one measured pass, or (unpaired) one simulated replication.

use std::path::Path;

use crate::engine::simulate;
use crate::scenario::{Overrides, Scenario};
use crate::stats::ci::{mean_ci, t_quantile};
use crate::stats::summary::StrategySummary;

/// The response-time figures that have per-replication values, as named in
/// [`FIGURES`](super::FIGURES).
pub const FIGURES: [&str; 5] = ["mean", "p50", "p90", "p99", "p999"];

/// The 95% interval of the difference measured − expected for one figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The difference's mean over replications, in the figure's unit.
    pub difference: f64,
    /// Its 95% half-width, in the figure's unit.
    pub half: f64,
    /// Paired replication by replication (same stream), else Welch's unpaired interval.
    pub paired: bool,
    /// Measured replications.
    pub replications: usize,
}

/// The figure `name` of one summary (`mean`, `p50`, …), ms.
fn figure(s: &StrategySummary, name: &str) -> f64 {
    let e = match name {
        "mean" => s.mean,
        "p50" => s.p50,
        "p90" => s.p90,
        "p99" => s.p99,
        _ => s.p999,
    };
    e.value * 1e3
}

/// The simulated figures ([`FIGURES`]) of replications `0..n` of strategy `label`, from
/// `sim_dir/manifest.json`, simulated again; `Err` says why they cannot be (then no
/// pairing). `check`: the summary's mean over its `replications`, ms, which the
/// reproduction must match.
pub fn simulated_replications(
    sim_dir: &Path,
    label: &str,
    n: u32,
    (check_mean, replications): (f64, u32),
) -> Result<Vec<[f64; 5]>, String> {
    let path = sim_dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let scenario = v["scenario"]["text"].as_str().ok_or("manifest.json holds no scenario text")?;
    let file = v["scenario"]["file"].as_str().map(Path::new);
    let mut sc = Scenario::parse(scenario, file).map_err(|e| format!("its scenario no longer parses: {e}"))?;
    let p = &v["parameters"];
    let requests = p["requests"].as_u64().ok_or("manifest.json records no requests")?;
    Overrides { requests: Some(requests), seed: v["seed"].as_u64(), ..Overrides::default() }
        .apply(&mut sc)
        .map_err(|e| e.to_string())?;
    sc.warmup = p["warmup_requests"].as_u64().ok_or("manifest.json records no warm-up")?;
    if v["stream_sha256"].as_str() != crate::analysis::stream_sha256(&sc).as_deref() {
        return Err("its scenario text does not reproduce the recorded request stream".into());
    }
    let spec = sc
        .strategies
        .iter()
        .find(|s| s.label == label)
        .cloned()
        .ok_or_else(|| format!("its scenario text has no strategy {label:?} (given with --strategies?)"))?;
    let runs = n.max(replications);
    let summaries: Vec<StrategySummary> = (0..runs)
        .map(|r| {
            let stats = simulate(&sc, &spec, r, &|_| {});
            crate::analysis::summarize(std::slice::from_ref(&stats), &sc, Some(&spec))
        })
        .collect();
    let mean =
        summaries[..replications as usize].iter().map(|s| figure(s, "mean")).sum::<f64>() / f64::from(replications);
    // summary.csv rounds to 4 decimals.
    if (mean - check_mean).abs() > 1e-3 + 1e-6 * check_mean.abs() {
        return Err(format!(
            "simulated again, its mean is {mean:.4} ms, not summary.csv's {check_mean:.4} ms (run with other options?)"
        ));
    }
    Ok(summaries[..n as usize].iter().map(|s| FIGURES.map(|f| figure(s, f))).collect())
}

/// The paired interval of `measured[r] − (simulated[r] + shift)`.
pub fn paired(measured: &[f64], simulated: &[f64], shift: f64) -> Option<Interval> {
    let d: Vec<f64> = measured.iter().zip(simulated).map(|(m, s)| m - (s + shift)).collect();
    if d.len() < 2 || d.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let (difference, half) = mean_ci(&d, 0.95);
    Some(Interval { difference, half: half?, paired: true, replications: d.len() })
}

/// Welch's interval of mean(measured) − expected, the expected value carrying the
/// simulation's 95% half-width `sim_half` over `sim_n` replications.
pub fn unpaired(measured: &[f64], expected: f64, (sim_half, sim_n): (f64, u32)) -> Option<Interval> {
    let n = measured.len();
    if n < 2 || sim_n < 2 || !sim_half.is_finite() || measured.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let (mean, _) = mean_ci(measured, 0.95);
    let var_m = measured.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64 / n as f64;
    let var_s = (sim_half / t_quantile(0.975, f64::from(sim_n - 1))).powi(2);
    let var = var_m + var_s;
    // Welch–Satterthwaite degrees of freedom.
    let df = var * var / (var_m * var_m / (n - 1) as f64 + var_s * var_s / f64::from(sim_n - 1));
    let df = if df.is_finite() { df.max(1.0) } else { (n - 1) as f64 };
    Some(Interval {
        difference: mean - expected,
        half: t_quantile(0.975, df) * var.sqrt(),
        paired: false,
        replications: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairing removes what both replications share; Welch's interval keeps it.
    #[test]
    fn paired_and_unpaired_intervals() {
        let sim = [40.0, 50.0, 60.0, 45.0];
        let meas = [41.0, 51.5, 60.5, 46.0];
        let p = paired(&meas, &sim, 0.5).unwrap();
        // d = 0.5, 1.0, 0.0, 0.5: mean 0.5, s = 0.408, t(0.975, 3) = 3.182.
        assert!((p.difference - 0.5).abs() < 1e-12);
        assert!((p.half - 3.182_446 * (1.0f64 / 6.0).sqrt() / 2.0).abs() < 1e-5, "{p:?}");
        let u = unpaired(&meas, 49.25, (10.0, 4)).unwrap();
        assert!(!u.paired && u.half > 5.0 * p.half, "{u:?}");
        assert!(paired(&meas[..1], &sim[..1], 0.0).is_none());
        assert!(unpaired(&meas, 49.0, (1.0, 1)).is_none());
    }
}
