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

/// Two servers of `max_connections = 10` (10 workers, 100 ms deterministic service) behind
/// a balancer queue, 400 requests/s (twice what both can serve), HAProxy slow start of
/// `slow_start`. `s-2` is down at 0 s; the first request sent to it (the second request,
/// at 5 ms, or the first) is refused and outlier detection (1 error) ejects it for 10 s;
/// the sweep every `sweep` (exact multiples) brings it back at t0, the first sweep after
/// 10.005 s. The run ends at the `requests`-th arrival (every 2.5 ms); every request is
/// measured.
fn maxconn_ramp(slow_start: &str, sweep: &str, requests: u64) -> String {
    format!(
        r#"seed = 3
requests = {requests}
warmup_requests = 0
strategies = ["round-robin", "least-connections"]
[arrivals]
process = "deterministic"
rate = 400.0
[service]
distribution = "deterministic"
mean = "100ms"
[[servers]]
name = "s"
count = 2
workers = 10
max_connections = 10
slow_start = "{slow_start}"
slow_start_model = "haproxy"
[[faults]]
server = "s-2"
down_at = "0s"
up_at = "1s"
[outlier_detection]
consecutive_errors = 1
base_ejection_time = "10s"
interval = "{sweep}"
[balancer_queue]
"#
    )
}

/// Runs `maxconn_ramp` and checks every strategy's counts: requests sent to `s-1` and to
/// `s-2` (its refused one apart), and those still waiting at the balancer at the end.
/// `in_service` is what `s-2` holds at the end (`s-1` holds 10).
fn check_counts(text: &str, requests: u64, s1: u64, s2: &[u64], in_service: u64) {
    let sc = scenario(text);
    for (k, &s2) in s2.iter().enumerate() {
        let label = sc.strategies[k].label.clone();
        let r = sim(&sc, k, 0);
        let (a, b) = (&r.servers[0], &r.servers[1]);
        assert_eq!((a.requests, a.completed, a.failed), (s1, s1 - 10, 0), "{label}: s-1");
        assert_eq!((b.requests, b.completed, b.failed), (1 + s2, s2 - in_service, 1), "{label}: s-2");
        let waiting = requests - 1 - s1 - s2;
        assert_eq!(r.measured.in_flight, waiting + 10 + in_service, "{label}: in flight");
        assert!(r.measured.is_conserved(), "{label}: {:?}", r.measured);
    }
}

#[test]
fn haproxy_slowstart_ramps_maxconn_at_the_balancer_queue() {
    // HAProxy's srv_dynamic_maxconn (src/queue.c): k whole seconds after t0 = 11 s the
    // newcomer's limit is MAX(1, 10 × ratio / 100) with ratio = 100 k / 10: 1, 1, 2, …, 9
    // for k = 0…9, then 10 — 46 connection-seconds over the 10 s ramp, 4.6 on average.
    // Each connection serves one request per 100 ms, so over the ramp it serves 460
    // requests instead of 1,000. t0 is a whole second, so the limit steps exactly when the
    // warm-up task runs (12 s, 13 s, …) and takes the room from the queue at once.
    //
    // Where the others go. The queue never empties after 27.5 ms (400/s offered, at most
    // 200/s served), so every request after the first eleven waits in the backend queue
    // and is sent when a slot frees: HAProxy's process_srv_queue gives a freed slot to the
    // oldest waiting request, on the server whose slot it is — and the warm-up task takes
    // from the queue what the newcomer's new limit allows (pendconn_grab_from_px). Nothing
    // moves the newcomer's missing requests to `s-1`: it is at its limit of 10 from
    // 27.5 ms to the end, its slots freeing every 100 ms whatever `s-2` does. So `s-1`'s
    // count is the same with and without slow start, and the 540 requests the newcomer did
    // not take are still waiting when the run ends. Round robin and least connections
    // agree: neither ever sees a server with room.
    //
    // Counts, by send time, over the run (to 8,380 × 2.5 ms = 20.95 s):
    // - `s-1`: its 10 slots were filled by the first requests (at 2.5…27.5 ms, one of the
    //   first two went to `s-2` and was refused), and each sends one every 100 ms after:
    //   at f + 0.1 m ≤ 20.95 s with f ≤ 27.5 ms, m = 0…209, so 10 × 210 = 2,100; the last
    //   10 (at 20.9 s + f) are in service at the end.
    // - `s-2`: the refused request, then from t0 the slots opened at second k (one at
    //   k = 0, then one each at k = 2…9) each send at t0 + k + 0.1 m ≤ 20.95 s, 100 − 10 k
    //   of them: 100 + 80 + 70 + … + 10 = 460 = 10 × 46; the 9 sent at 20.9 s are in
    //   service at the end. Without slow start its 10 slots open at t0: 10 × 100 = 1,000.
    // - Still waiting at the end: 8,380 − 1 refused − sent: 5,819 with slow start, 5,279
    //   without: 540 more.
    // An exact-rational simulation of HAProxy's rules (not in the repository) gives the
    // same counts.
    check_counts(&maxconn_ramp("10s", "1s", 8380), 8380, 2100, &[460, 460], 9);
    check_counts(&maxconn_ramp("0s", "1s", 8380), 8380, 2100, &[1000, 1000], 10);
    // ∫ (connections of `s-2`) dt over the window (2.5 ms … 20.95 s): 1 + 1 + 2 + … + 8
    // for the whole seconds from 11 s to 20 s, then 9 × 0.95 s: 37 + 8.55 = 45.55.
    let sc = scenario(&maxconn_ramp("10s", "1s", 8380));
    let busy = sim(&sc, 0, 0).servers[1].busy_area;
    assert!((busy - 45.55).abs() < 1e-6, "∫ connections of s-2: {busy}");
}

#[test]
fn haproxy_maxconn_steps_on_the_clock_seconds() {
    // The same with sweeps every 250 ms: `s-2` is back at t0 = 10.25 s, so last_change =
    // 10 and the limit steps at 12 s, 13 s, … 20 s (1 → 2 … 9 → 10), a quarter of a second
    // before each run of the warm-up task (11.25 s, 12.25 s, …). The run ends at the
    // 8,092nd arrival, 20.23 s. Who takes the room at a step B:
    // - round robin (HAProxy roundrobin): new requests go to the non-empty queue
    //   (assign_server), so the room waits for `s-2`'s next freed slot at B + 0.05 s (its
    //   slots free at 10.25 s + 0.1 m), which takes one request more. Its sends up to
    //   20.23 s: the slot opened at t0, 100; the slot opened at B + 0.05 s,
    //   ⌊(20.18 − B) / 0.1⌋ + 1: 82 + 72 + … + 12 + 2 = 378 for B = 12…20. 478 in all.
    // - least connections (HAProxy leastconn): the request arriving at B (every whole
    //   second is an arrival) finds `s-2` with room and goes there: ⌊(20.23 − B) / 0.1⌋ + 1
    //   = 83 + 73 + … + 3 = 387, 487 in all.
    // `s-1`: f + 0.1 m ≤ 20.23 s, m = 0…202: 2,030 (in service at the end: 10). `s-2`
    // holds 10 at the end (its limit is whole from 20 s, its last slot opened at 20.0x s).
    // Without slow start: 10 slots from 10.25 s, 100 each.
    check_counts(&maxconn_ramp("10s", "250ms", 8092), 8092, 2030, &[478, 487], 10);
    check_counts(&maxconn_ramp("0s", "250ms", 8092), 8092, 2030, &[1000, 1000], 10);
}
