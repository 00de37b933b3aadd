//! Hedged requests (`[client] hedge_after`; Dean & Barroso 2013) against their known
//! answer at negligible load, and the engine's accounting under a crash.

use crate::common::{assert_within_z, rejects, replications, scenario, sim};
use lbsim::stats::{HedgeCounts, RunStats};

/// Two servers of 100 workers (nothing ever waits: about one busy at a time), Poisson
/// 1 req/s, exponential service of mean 1 s, hedged after `d` s with `more` in `[client]`.
fn idle_pool(d: f64, more: &str) -> String {
    format!(
        "seed = 5\nrequests = 20_000\nwarmup_requests = 0\nstrategies = [\"round-robin\"]\n\
         [arrivals]\nprocess = \"poisson\"\nrate = 1.0\n\
         [service]\ndistribution = \"exponential\"\nmean = \"1s\"\n\
         [[servers]]\nname = \"s\"\ncount = 2\nworkers = 100\n\
         [client]\nhedge_after = \"{d}s\"\n{more}"
    )
}

fn hedges(r: &RunStats) -> HedgeCounts {
    r.hedges.expect("a hedged run")
}

/// The known answer shared by both cancel settings: with S₁, S₂ independent Exp(1), the
/// copy sent at d and nothing waiting, T = min(S₁, d + S₂):
/// E[T] = (1 − e^(−d)) + e^(−d)/2 and E[T²] = 2 − e^(−d)(d + 3/2). Checks the mean
/// response (n = the completed requests, z = 5 with the standard error from Var T), the
/// copies sent (S₁ > d: Binomial(n, e^(−d))) and won (S₂ < S₁ − d: Binomial(n, e^(−d)/2)).
fn check_response(r: &RunStats, d: f64) -> f64 {
    let q = (-d).exp();
    let mean = (1.0 - q) + q / 2.0;
    let var = 2.0 - q * (d + 1.5) - mean * mean;
    assert!(r.total.is_conserved() && r.measured.is_conserved());
    let n = r.measured.completed as f64;
    // Leaving out the requests in flight at the end moves the mean by at most
    // (their number × the largest response) / n.
    let bias = r.measured.in_flight as f64 * r.response_max / n;
    assert_within_z("hedged E[T]", r.mean_response(), mean, (var / n).sqrt(), bias);
    let g = r.measured.generated as f64;
    let h = hedges(r);
    let edge = r.measured.in_flight as f64;
    assert_within_z("copies sent", h.sent as f64, g * q, (g * q * (1.0 - q)).sqrt(), edge);
    assert_within_z("copies won", h.won as f64, g * q / 2.0, (g * q / 2.0 * (1.0 - q / 2.0)).sqrt(), edge);
    g
}

#[test]
fn hedging_at_negligible_load_cancelling_on_the_first_answer() {
    let d = 0.5;
    let r = sim(&scenario(&idle_pool(d, "")), 0, 0);
    let g = check_response(&r, d);
    // Work per request: the copy runs from d until the first answer, min(S₁ − d, S₂) when
    // S₁ > d — mean e^(−d)/2, second moment e^(−d)/2; the request's own attempt runs T.
    let q = (-d).exp();
    let h = hedges(&r);
    // A request in flight at the end has its copies' full demand counted (no cancel yet):
    // below 20 s each except with probability e^(−20).
    let bias = r.measured.in_flight as f64 * 20.0 * 2.0 / g;
    let copy_var = q / 2.0 - q * q / 4.0;
    assert_within_z("copy work per request", h.copy_work / g, q / 2.0, (copy_var / g).sqrt(), bias);
    let mean_t = 1.0 - q / 2.0;
    let var_t = 2.0 - q * (d + 1.5) - mean_t * mean_t;
    assert_within_z("own work per request", h.own_work / g, mean_t, (var_t / g).sqrt(), bias);
    // Extra load (e^(−d)/2) / (1 − e^(−d)/2) = 0.4328 at d = 0.5.
    let extra = h.extra_load();
    assert!((extra - (q / 2.0) / mean_t).abs() < 0.02, "extra load {extra}");
}

#[test]
fn hedging_at_negligible_load_without_cancelling() {
    // Both copies run to completion: the same response time, but the copy does its whole
    // demand S₂ when S₁ > d (mean e^(−d), second moment 2e^(−d)) and the request's own
    // attempt all of S₁ (mean 1, variance 1): extra load e^(−d), against
    // (e^(−d)/2) / (1 − e^(−d)/2) when cancelling.
    let d = 0.5;
    let r = sim(&scenario(&idle_pool(d, "cancel_on_first = false")), 0, 0);
    let g = check_response(&r, d);
    let q = (-d).exp();
    let h = hedges(&r);
    let bias = 0.0; // nothing is cancelled, so in-flight requests count their whole demands too
    assert_within_z("copy work per request", h.copy_work / g, q, ((2.0 * q - q * q) / g).sqrt(), bias);
    assert_within_z("own work per request", h.own_work / g, 1.0, (1.0 / g).sqrt(), bias);
    let cancelling = sim(&scenario(&idle_pool(d, "")), 0, 0);
    assert!(h.extra_load() > hedges(&cancelling).extra_load() + 0.1);
    // Common random numbers: the requests' own demands are the plain run's.
    let plain = sim(&scenario(&idle_pool(d, "").replace("hedge_after = \"0.5s\"\n", "")), 0, 0);
    assert!(plain.hedges.is_none());
    assert!((h.own_work - plain.servers.iter().map(|s| s.work).sum::<f64>()).abs() < 1e-6 * h.own_work);
}

#[test]
fn every_request_has_one_outcome_with_hedges_under_a_crash() {
    // Four single-worker servers at ρ = 0.4, one crashing for 4 s (detected by outlier
    // detection), copies at the recent p90, timeouts and retries: every request ends once,
    // whichever copy settles it, for both cancel settings. (Two copies per attempt that are
    // never cancelled would triple the load past saturation: then one copy.)
    for (cancel, copies) in [("true", 2), ("false", 1)] {
        let text = format!(
            "seed = 9\nrequests = 20_000\nstrategies = [\"round-robin\", \"least-connections\", \"p2c\"]\n\
             [arrivals]\nprocess = \"poisson\"\nrate = 160.0\n\
             [service]\ndistribution = \"lognormal\"\nmean = \"10ms\"\ncv = 2.0\n\
             [[servers]]\nname = \"s\"\ncount = 4\n\
             [[faults]]\nserver = \"s-2\"\ndown_at = \"20s\"\nup_at = \"24s\"\n\
             [outlier_detection]\nconsecutive_errors = 5\n\
             [client]\ntimeout = \"200ms\"\nmax_retries = 2\nhedge_after = \"p90\"\nmax_hedges = {copies}\n\
             cancel_on_first = {cancel}\n"
        );
        let sc = scenario(&text);
        for i in 0..sc.strategies.len() {
            for r in replications(&sc, i, 2) {
                assert!(r.total.is_conserved(), "cancel {cancel}, {}: {:?}", r.label, r.total);
                assert!(r.measured.is_conserved(), "cancel {cancel}, {}: {:?}", r.label, r.measured);
                let h = hedges(&r);
                assert!(h.sent > 0 && h.won > 0 && h.won <= h.sent, "{h:?}");
                // The crash resets and refuses attempts; copies and retries may save them all.
                assert!(r.servers.iter().map(|s| s.failed).sum::<u64>() > 0, "the crash fails attempts");
                assert!(h.copy_work > 0.0);
                // Work spared by cancelling comes off the servers' work too: never negative.
                assert!(r.servers.iter().all(|s| s.work >= -1e-9));
            }
        }
    }
}

#[test]
fn hedging_keys_are_validated() {
    let base = "requests = 100\nstrategies = [\"random\"]\n[arrivals]\nprocess = \"poisson\"\nrate = 10.0\n\
                [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"s\"\ncount = 2\n\
                [client]\n";
    rejects(&format!("{base}hedge_after = \"p100\"\n"), 13, &["client.hedge_after", "p95"]);
    rejects(&format!("{base}hedge_after = \"fast\"\n"), 13, &["client.hedge_after", "50ms"]);
    rejects(&format!("{base}hedge_after = \"0ms\"\n"), 13, &["client.hedge_after", "positive"]);
    rejects(&format!("{base}hedge_after = \"10ms\"\nmax_hedges = 0\n"), 14, &["client.max_hedges", "from 1 to 10"]);
    rejects(&format!("{base}max_hedges = 2\n"), 13, &["client.max_hedges", "goes with `hedge_after`"]);
    rejects(&format!("{base}cancel_on_first = false\n"), 13, &["client.cancel_on_first", "hedge_after"]);
    rejects(
        &format!("{base}hedge_after = \"10ms\"\n[network]\nto_server = \"1ms\"\n"),
        13,
        &["client.hedge_after", "[network]", "remove [network]"],
    );
}

/// summary.csv's cell `column` of each strategy's row.
fn summary_cells(out: &std::path::Path, column: &str) -> Vec<String> {
    let text = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let k = header.iter().position(|h| *h == column).unwrap_or_else(|| panic!("no column {column}"));
    lines.map(|l| l.split(',').nth(k).unwrap().to_string()).collect()
}

#[test]
fn the_retry_storm_recovers_only_with_a_budget() {
    // scenarios/retry-storm.toml: with its 20% retry budget the pool is back to normal
    // after the flash crowd (summary.csv recovered = 1, recovery_s = phases.csv's); without
    // it the retries keep it overloaded to the end: recovered = 0, named metastable in the
    // table's phase note and the warnings.
    use crate::common::{case, labelled_lines, lbsim, run_quiet, shipped};
    let storm = std::fs::read_to_string(shipped("retry-storm.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("budget");
    run_quiet(&shipped("retry-storm.toml"), &out, &["--no-charts", "--no-html"]);
    assert_eq!(summary_cells(&out, "recovered"), ["1", "1"]);
    let phases = std::fs::read_to_string(out.join("phases.csv")).unwrap();
    for r in summary_cells(&out, "recovery_s") {
        let r: f64 = r.parse().unwrap();
        assert!(r > 0.0 && phases.contains(&format!(",{r:.6},1")), "recovery_s {r} vs phases.csv:\n{phases}");
    }
    let free: String = storm
        .lines()
        .filter(|l| !l.contains("retry_budget") && !l.contains("min_retry"))
        .collect::<Vec<_>>()
        .join("\n");
    let (tmp, path) = case(&free);
    let out = tmp.path().join("out");
    let shown =
        lbsim().arg("run").arg(&path).arg("--out").arg(&out).args(["--no-charts", "--no-html"]).output().unwrap();
    let text = String::from_utf8(shown.stdout).unwrap();
    assert_eq!(summary_cells(&out, "recovered"), ["0", "0"]);
    assert_eq!(summary_cells(&out, "recovery_s"), ["", ""]);
    assert!(text.contains("did not recover by the end of"), "{text}");
    let warnings = labelled_lines(&text, "warning");
    assert!(
        warnings.iter().any(|w| w.contains(
            "round-robin, least-connections: did not recover by the end of the run: \
                                          a metastable state (retries/timeouts keep it overloaded)"
        )),
        "{warnings:?}"
    );
}
