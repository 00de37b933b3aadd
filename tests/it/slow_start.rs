//! Slow start as each balancer computes it (engine/slow_start.rs), end to end: the share
//! of a server that has just come back, measured over the requests of a few seconds; and
//! the cold start of a restarted server (engine/cold_start.rs).

use crate::common::{assert_within_z, scenario, sim};

/// 4 equal servers at 200 requests/s (deterministic arrivals, light load); `s-4` is down
/// from 1 s to 10 s and its health checks (every 10 ms, rise 1) bring it back at
/// t0 ∈ (10 s, 10.01 s]; the measured requests are those arriving from 37 s to 43 s, i.e.
/// t0 + 27 s to t0 + 33 s of a 60 s slow start.
fn comeback(strategies: &str, slow_start: &str) -> String {
    format!(
        r#"seed = 5
requests = 8600
warmup_requests = 7400
strategies = [{strategies}]
[arrivals]
process = "deterministic"
rate = 200.0
[service]
distribution = "exponential"
mean = "1ms"
[[servers]]
name = "s"
count = 4
slow_start = "60s"
{slow_start}
[[faults]]
server = "s-4"
down_at = "1s"
up_at = "10s"
[health_check]
interval = "10ms"
fall = 1
rise = 1
"#
    )
}

/// The newcomer's share of the measured requests of strategy `k`, and its binomial
/// standard error at `expected`.
fn share(text: &str, k: usize, expected: f64) -> (f64, f64) {
    let sc = scenario(text);
    let r = sim(&sc, k, 0);
    let routed: u64 = r.servers.iter().map(|s| s.requests).sum();
    assert_eq!(routed, 1200, "{}", sc.strategies[k].label);
    let share = r.servers[3].requests as f64 / routed as f64;
    (share, (expected * (1.0 - expected) / routed as f64).sqrt())
}

#[test]
fn envoy_round_robin_gives_the_newcomer_its_documented_share() {
    // Envoy: weight × max(10%, (t / window)^(1 / aggression)); at t = 30 s of 60 s the
    // newcomer weighs 0.5 (aggression 1) or √0.5 (aggression 2) against 1 for the others.
    // Averaged over t = 27…33 s the share differs from its value at 30 s by under 1e-4.
    for (aggression, factor) in [(1.0, 0.5), (2.0, 0.5f64.sqrt())] {
        let text = comeback(
            r#""round-robin", "least-connections""#,
            &format!("slow_start_model = \"envoy\"\nslow_start_aggression = {aggression:?}"),
        );
        let expected = factor / (3.0 + factor);
        let (got, se) = share(&text, 0, expected);
        assert_within_z(&format!("envoy aggression {aggression}: newcomer's share"), got, expected, se, 1e-4);
        // Envoy has no slow start for least connections: the newcomer gets its full quarter.
        let (got, se) = share(&text, 1, 0.25);
        assert_within_z("envoy, least-connections: no ramp", got, 0.25, se, 0.0);
    }
}

#[test]
fn haproxy_ramps_round_robin_in_sixteenths() {
    // HAProxy: eweight = 16 × ⌊(16 k + 60) / 60⌋ / 16 of the weight at the k-th second:
    // 8/16 for k = 27…29, 9/16 for k = 30…33 (the measured seconds: three of each).
    let text = comeback(r#""round-robin""#, "slow_start_model = \"haproxy\"");
    let expected = (8.0 / 56.0 + 9.0 / 57.0) / 2.0;
    let (got, se) = share(&text, 0, expected);
    assert_within_z("haproxy: newcomer's share", got, expected, se, 0.0);
}

#[test]
fn alb_ramps_round_robin_linearly() {
    let text = comeback(r#""round-robin""#, "slow_start_model = \"alb\"");
    let expected = 0.5 / 3.5;
    let (got, se) = share(&text, 0, expected);
    assert_within_z("alb: newcomer's share", got, expected, se, 1e-4);
}

#[test]
fn a_restarted_server_serves_slower_while_cold() {
    // One server, a request every 125 ms (exact in binary), 10 ms of work each: no queue.
    // Down from 1 s to 2 s; then 3× slower, decaying linearly to 1× over 20 s, held in 20
    // one-second steps at the decay's midpoint values (2.95, 2.85, …, 1.05). The measured
    // requests arrive at 2 s, 2.125 s, … 21.875 s: 8 per step, none crossing a step, so
    // they take 10 ms × the mean of the steps, 10 ms × 2 = 20 ms on average; the last
    // (at 21.875 s, 1.05×) is still in service when the run ends.
    let sc = scenario(
        r#"seed = 1
requests = 175
warmup_requests = 15
strategies = ["round-robin"]
[arrivals]
process = "deterministic"
rate = 8.0
[service]
distribution = "deterministic"
mean = "10ms"
[[servers]]
name = "s"
cold_start = "20s"
cold_start_slowdown = 3.0
[[faults]]
server = "s"
down_at = "1s"
up_at = "2s"
"#,
    );
    let r = sim(&sc, 0, 0);
    let s = &r.servers[0];
    assert_eq!((s.requests, s.completed), (160, 159));
    let mean = s.response_sum / s.completed as f64;
    let expected = 0.010 * (160.0 * 2.0 - 1.05) / 159.0;
    assert!((mean - expected).abs() < 1e-9, "mean service while cold: {mean}, expected {expected}");
    // Nothing lost: the requests sent while it was down failed (refused), once each.
    assert!(r.total.is_conserved(), "{:?}", r.total);
}
