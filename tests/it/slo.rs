//! `[slo]`: time with the objective violated per window — known answers on deterministic
//! runs, failures counted against it, and agreement with latency_timeseries' windowed
//! percentiles (an independent path: a histogram per window) on a random run.

use lbsim::engine::simulate;
use lbsim::scenario::Scenario;
use lbsim::stats::RunStats;
use lbsim::stats::slo_windows::SloRun;

fn run(text: &str) -> (RunStats, SloRun) {
    let sc = Scenario::parse(text, None).expect("valid scenario");
    let r = simulate(&sc, &sc.strategies[0], 0, &|_| {});
    assert!(r.total.is_conserved(), "every request ends once: {:?}", r.total);
    let slo = r.slo.expect("an [slo]");
    (r, slo)
}

/// Four servers, deterministic arrivals (40/s) and service (10 ms), one slowed `slowdown`× from
/// 100 s to 160 s, 300 s of requests (round robin: each server one request per 100 ms), p99 ≤ 50 ms per 10 s window.
fn slowed(slowdown: f64, fault: &str) -> String {
    format!(
        r#"requests = 12000
warmup_requests = 0
strategies = ["round-robin"]
[arrivals]
process = "deterministic"
rate = 40.0
[service]
distribution = "deterministic"
mean = "10ms"
[[servers]]
name = "s"
count = 4
[[faults]]
{fault}
[slo]
objective = "p99<=50ms"
window = "10s"
"#
    )
    .replace("SLOWDOWN", &slowdown.to_string())
}

#[test]
fn a_slowed_minute_is_exactly_the_time_violated() {
    // Slowed 8×: every response in [100 s, 160 s) takes 80 ms (no queueing: each server
    // gets one request per 100 ms) — six whole windows violate p99 ≤ 50 ms, none else (the
    // one request straddling an edge is 1 of 400 in its window: within the p99's rank).
    let fault = "server = \"s-1\"\nslow_at = \"100s\"\nslow_until = \"160s\"\nslowdown = SLOWDOWN";
    let (r, slo) = run(&slowed(8.0, fault));
    assert_eq!(slo.windows, (r.end / 10.0).floor() as u64);
    // One server of four slowed: a quarter of the window's responses are slow.
    assert_eq!((slo.violated, slo.violated_seconds()), (6, 60.0), "{slo:?}");
    // Slowed 4×: 40 ms, within the limit.
    let (_, slo) = run(&slowed(4.0, fault));
    assert_eq!(slo.violated, 0, "{slo:?}");
}

#[test]
fn failures_count_as_too_slow() {
    // s-1 down from 100 s to 130 s without health checks: round robin sends it a quarter of
    // the requests, refused at once (fast, but no answer) — three windows violate.
    let fault = "server = \"s-1\"\ndown_at = \"100s\"\nup_at = \"130s\"";
    let (r, slo) = run(&slowed(1.0, fault));
    assert_eq!(r.total.failed, 300, "30 s × 40 req/s ÷ 4: {:?}", r.total);
    assert_eq!((slo.violated, slo.violated_seconds()), (3, 30.0), "{slo:?}");
    assert!((slo.violated_share() - 3.0 / slo.windows as f64).abs() < 1e-12);
}

#[test]
fn windows_agree_with_the_latency_series_percentiles() {
    // M/M/4 at ρ 0.85, 200,000 requests: about 588 s, sampled every 2 s (400 samples);
    // with a 2 s SLO window both cut the run at the same instants. A window of the series
    // whose p99 (within 1.6% of the order statistic) is clearly above the limit must be
    // violated, one clearly below must not.
    let text = r#"requests = 200000
warmup_requests = 0
strategies = ["random"]
[arrivals]
process = "poisson"
rate = 340.0
[service]
distribution = "exponential"
mean = "10ms"
[[servers]]
name = "s"
count = 4
[slo]
objective = "p99<=300ms"
window = "2s"
"#;
    let (r, slo) = run(text);
    let t = &r.timeline;
    assert_eq!(t.interval(), 2.0, "the series' interval the test assumes");
    let (mut above, mut below, mut near) = (0u64, 0u64, 0u64);
    for k in 1..t.len() {
        let w = t.latency(k).expect("replication 0 records latency");
        let p99 = w.quantile(0.99);
        if p99 > 0.3 * 1.02 {
            above += 1;
        } else if p99 < 0.3 * 0.98 {
            below += 1;
        } else {
            near += 1;
        }
    }
    assert!(above > 20 && below > 20, "the limit splits the windows: {above} above, {below} below");
    assert!(slo.violated >= above && slo.violated <= above + near, "{slo:?}: {above} above, {near} near");
    assert_eq!(slo.windows, (r.end / 2.0).floor() as u64);
}
