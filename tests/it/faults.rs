//! Faults, detection and retries, end to end through the library.

use crate::common::{assert_within_z, mm_pool, scenario, sim};
use lbsim::run::{self, RunOptions};
use lbsim::strategy::registry::REGISTRY;
use lbsim::workload::RequestStream;

/// Every fault, detection and retry mechanism at once, with bounded queues so that
/// requests are also dropped.
fn everything(strategies: &str) -> String {
    mm_pool(
        &format!("seed = 9\nrequests = 40000\nwarmup_requests = 2000\nstrategies = [{strategies}]"),
        700.0,
        "a",
        6,
        r#"queue_capacity = 20
slow_start = "5s"
[[servers]]
name = "b"
count = 2
speed = 2.0
weight = 2
service = { distribution = "lognormal", mean = "8ms", cv = 2.0 }
[[faults]]
group = "a"
count = 2
down_at = "10s"
up_at = "25s"
[[faults]]
server = "b-1"
slow_at = "5s"
slow_until = "40s"
slowdown = 4.0
[[faults]]
server = "a-6"
down_at = "30s"
[health_check]
interval = "1s"
timeout = "200ms"
fall = 2
rise = 2
[outlier_detection]
consecutive_errors = 3
base_ejection_time = "5s"
interval = "1s"
max_ejection_percent = 30
[client]
timeout = "300ms"
max_retries = 2
backoff = "5ms"
retry_budget = 50.0
"#,
    )
}

#[test]
fn conservation_under_faults_for_every_strategy() {
    let names: Vec<String> = REGISTRY.iter().map(|s| format!("\"{}\"", s.name)).collect();
    let sc = scenario(&everything(&names.join(", ")));
    let report = run::run(&sc, &RunOptions { threads: None, progress: false }).unwrap();
    for s in &report.strategies {
        for c in [&s.total, &s.measured] {
            assert!(c.is_conserved(), "{}: {c:?}", s.label);
            assert_eq!(c.generated, c.completed + c.failed + c.dropped + c.timed_out + c.in_flight, "{}", s.label);
        }
        assert_eq!(s.total.generated, sc.requests, "{}", s.label);
        // Something of each kind happened, so the sum is not trivially true.
        assert!(s.total.failed + s.total.timed_out + s.total.dropped > 0, "{}: {:?}", s.label, s.total);
        assert!(s.total.retried > 0, "{}", s.label);
        // Per-server attempts add up to the requests routed (attempts, retries included).
        let routed: u64 = s.servers.iter().map(|v| v.requests).sum();
        assert_eq!(routed, s.measured.generated + s.measured.retried, "{}", s.label);
    }
}

#[test]
fn detection_takes_fall_intervals_after_the_crash() {
    // HAProxy: with checks every `inter`, the first failed check comes within one interval
    // of the crash and the server is down after `fall` of them: between (fall − 1) × inter
    // and fall × inter after the crash. Over 12 replications (check phases differ).
    let sc = scenario(&mm_pool(
        r#"seed = 3
requests = 30000
replications = 12
strategies = ["round-robin"]"#,
        500.0,
        "web",
        10,
        r#"[[faults]]
group = "web"
count = 1
down_at = "20s"
[health_check]
interval = "2s"
fall = 3
rise = 2
"#,
    ));
    for rep in 0..sc.replications {
        let r = sim(&sc, 0, rep);
        let o = &r.faults[0];
        let delay = o.detected_at.expect("detected") - 20.0;
        assert_eq!(o.detected_by, Some("health_check"));
        assert!((4.0..=6.0).contains(&delay), "replication {rep}: detected {delay}s after the crash");
    }
}

#[test]
fn requests_sent_to_a_dead_server_before_detection_fail() {
    // Round robin over 10 servers, no retries: until the checks mark web-3 down, every
    // 10th request goes to it and fails at once (refused), and the requests it held when
    // it crashed fail too. After detection nothing fails.
    let text = mm_pool(
        r#"seed = 21
requests = 40000
warmup_requests = 0
strategies = ["round-robin"]"#,
        800.0,
        "web",
        10,
        r#"[[faults]]
server = "web-3"
down_at = "20s"
[health_check]
interval = "2s"
fall = 3
"#,
    );
    let sc = scenario(&text);
    let r = sim(&sc, 0, 0);
    let o = &r.faults[0];
    let detected = o.detected_at.expect("detected");
    // The herd: arrivals in [crash, detection), every 10th of which went to web-3.
    let herd = RequestStream::new(&sc.workload(), 0).filter(|q| (20.0..detected).contains(&q.arrival)).count() as u64;
    assert!(
        o.refused_before_detection.abs_diff(herd / 10) <= 1,
        "{} refused, {herd} arrivals",
        o.refused_before_detection
    );
    let web3 = &r.servers[2];
    let held_at_crash = r.total.failed - o.refused_before_detection;
    assert!(
        held_at_crash <= u64::from(web3.max_in_system),
        "{held_at_crash} lost, web-3 never held more than {}",
        web3.max_in_system
    );
    // Each server is an E₁₀/M/1 queue at ρ = 0.8 under round robin: at any instant
    // P(N ≥ k) = ρσ^(k−1) with σ = 0.658 the GI/M/1 root, so P(N ≥ 40) = 6·10⁻⁸.
    const HELD_AT_CRASH_MAX: u64 = 40;
    assert!(held_at_crash < HELD_AT_CRASH_MAX, "{held_at_crash} requests lost in the crash");
    assert_eq!(web3.failed, r.total.failed);
    assert_eq!(r.total.failed, r.measured.failed);
    assert!(r.total.is_conserved());
    assert!(o.refused_before_detection > 100);
}

#[test]
fn without_detection_the_dead_server_gets_its_share_forever() {
    let sc = scenario(&mm_pool(
        r#"seed = 1
requests = 20000
warmup_requests = 0
strategies = ["round-robin"]"#,
        400.0,
        "web",
        4,
        r#"[[faults]]
server = "web-2"
down_at = "10s"
"#,
    ));
    let r = sim(&sc, 0, 0);
    let o = &r.faults[0];
    assert_eq!(o.detected_at, None);
    let after = RequestStream::new(&sc.workload(), 0).filter(|q| q.arrival >= 10.0).count() as u64;
    assert!(o.refused_before_detection.abs_diff(after / 4) <= 1, "{} refused of {after}", o.refused_before_detection);
    // What the crash failed is what web-2 held. (ρ = 1 here, so how much that is has no
    // stationary bound: the queue is a null-recurrent random walk, ±35 after 10 s.)
    let held_at_crash = r.total.failed - o.refused_before_detection;
    assert!(held_at_crash <= u64::from(r.servers[1].max_in_system), "{held_at_crash}");
    assert_eq!(r.servers[1].failed, r.total.failed);
}

#[test]
fn outlier_detection_ejects_after_consecutive_errors_and_brings_the_server_back() {
    let sc = scenario(&mm_pool(
        r#"seed = 4
requests = 40000
warmup_requests = 0
strategies = ["least-connections"]"#,
        400.0,
        "web",
        5,
        r#"[[faults]]
server = "web-1"
down_at = "20s"
up_at = "30s"
[outlier_detection]
consecutive_errors = 5
base_ejection_time = "30s"
"#,
    ));
    let r = sim(&sc, 0, 0);
    let o = &r.faults[0];
    assert_eq!(o.detected_by, Some("outlier_detection"));
    // Least-connections sends every next request to the empty dead server, so it is ejected
    // after at most 5 refusals (the crash's own resets count as errors too): 5 arrivals at
    // 400/s come within 0.1 s but with probability P(Poisson(40) < 5) = 5·10⁻¹³.
    assert!(o.detected_at.unwrap() - 20.0 < 0.1, "{o:?}");
    assert!(o.refused_before_detection <= 5, "{o:?}");
    // Failed: those refusals plus what web-1 held at the crash. Least-connections gives a
    // server its 10th request only when every server holds ≥ 9 (≥ 45 in the system), which
    // at ρ = 0.8 on 5 servers has probability of order C(5, 4)·ρ⁴⁰ ≈ 7·10⁻⁵ (Erlang C).
    const HELD_AT_CRASH_MAX: u64 = 10;
    let held_at_crash = r.total.failed - o.refused_before_detection;
    assert!(held_at_crash <= u64::from(r.servers[0].max_in_system), "{held_at_crash}");
    assert!(r.total.failed <= 5 + HELD_AT_CRASH_MAX, "{} failed", r.total.failed);
    // Back after 30 s (the sweep runs every 10 s): it serves again before the end (100 s).
    assert!(r.servers[0].completed > 0);
}

#[test]
fn retries_with_a_dead_server_follow_the_geometric_law() {
    // Random over two servers, one dead and never detected, 3 retries: an attempt fails
    // with probability 1/2, so a request needs 1 + 1/2 + 1/4 + 1/8 = 1.875 attempts on
    // average and fails for good with probability 1/16.
    let sc = scenario(&mm_pool(
        r#"seed = 8
requests = 40000
warmup_requests = 0
strategies = ["random"]"#,
        40.0,
        "s",
        2,
        r#"[[faults]]
server = "s-2"
down_at = "0s"
[client]
max_retries = 3
backoff = "1ms"
"#,
    ));
    let r = sim(&sc, 0, 0);
    let n = r.total.generated as f64;
    let amp = r.total.retry_amplification();
    // attempts per request: mean 1.875, variance Σ over the geometric truncated at 4.
    let probs = [0.5, 0.25, 0.125, 0.125];
    let var = probs.iter().enumerate().map(|(k, p)| p * ((k + 1) as f64 - 1.875).powi(2)).sum::<f64>();
    assert_within_z("attempts per request", amp, 1.875, (var / n).sqrt(), 0.0);
    // Failing for good is a Bernoulli(1/16) per request: binomial standard error.
    let p_fail = r.total.failed as f64 / n;
    let se = (1.0 / 16.0 * 15.0 / 16.0 / n).sqrt();
    assert_within_z("failed share", p_fail, 1.0 / 16.0, se, 0.0);
    assert!(r.total.is_conserved());
}

#[test]
fn timeouts_abandon_attempts_but_the_server_still_does_the_work() {
    // One server, deterministic 50 ms service, arrivals every 40 ms: the queue grows
    // without bound, so waits soon exceed the 1 s timeout. Timed-out requests are still
    // served (the server cannot know), so the server stays fully busy.
    let sc = scenario(
        r#"
seed = 1
requests = 2000
warmup_requests = 0
strategies = ["round-robin"]
[arrivals]
process = "deterministic"
rate = 25.0
[service]
distribution = "deterministic"
mean = "50ms"
[[servers]]
name = "s"
[client]
timeout = "1s"
"#,
    );
    let r = sim(&sc, 0, 0);
    // Request k (from 1) arrives at 0.04(k − 1) s and completes at 0.05k s: its response
    // 0.01k + 0.04 s exceeds 1 s from k = 97 on. The run ends at the last arrival (79.96 s),
    // when requests sent after 78.96 s (k ≥ 1976) have not yet timed out: k = 97 … 1975 time
    // out, 1879 requests. k = 96 (response exactly 1 s) and k = 1975 (timeout at the last
    // instant) sit on a boundary and may go either way in floating point.
    assert!((1878..=1880).contains(&r.total.timed_out), "{:?}", r.total);
    assert!(r.total.is_conserved());
    assert!(r.response_max <= 1.0, "no completion is slower than the timeout: {}", r.response_max);
    // Busy from the first arrival on, without a gap.
    let util = r.servers[0].busy_area / r.window();
    assert!((util - 1.0).abs() < 1e-9, "utilisation {util}");
}

#[test]
fn a_slowdown_stretches_requests_in_service() {
    // Arrivals at 1, 2, 3, … s, deterministic 0.5 s service, one server: no queueing even
    // when slowed. From t = 10.25 s to 19.5 s the server is 1.8× slower. The request that
    // started at 10 s has 0.25 s of work left, which takes 0.45 s: response 0.7 s. Those
    // of 11 … 18 s take 0.9 s. The one that started at 19 s does 0.5/1.8 of its work by
    // 19.5 s and the rest at full speed: response 0.5 + (0.5 − 0.5/1.8) = 0.7222 s.
    let sc = scenario(
        r#"
seed = 1
requests = 30
warmup_requests = 0
strategies = ["round-robin"]
[arrivals]
process = "deterministic"
rate = 1.0
[service]
distribution = "deterministic"
mean = "500ms"
[[servers]]
name = "s"
[[faults]]
server = "s"
slow_at = "10.25s"
slow_until = "19.5s"
slowdown = 1.8
"#,
    );
    let r = sim(&sc, 0, 0);
    // 29 completions (the last arrival is still in service at the end).
    let last = 0.5 + (0.5 - 0.5 / 1.8);
    let expect = (9.0 * 0.5 + 0.7 + 8.0 * 0.9 + last + 10.0 * 0.5) / 29.0;
    assert_eq!(r.measured.completed, 29);
    assert!((r.mean_response() - expect).abs() < 1e-9, "{} vs {expect}", r.mean_response());
    assert!((r.response_max - 0.9).abs() < 1e-9, "{}", r.response_max);
}

#[test]
fn runs_are_reproducible_whatever_the_thread_count() {
    let sc = scenario(&everything("\"round-robin\", \"p2c\", \"least-work-left\""));
    let a = run::run(&sc, &RunOptions { threads: Some(1), progress: false }).unwrap();
    let b = run::run(&sc, &RunOptions { threads: Some(2), progress: false }).unwrap();
    // Every data file (the manifest records wall time; charts are drawn from the same data).
    for exporter in lbsim::report::run::EXPORTERS.iter().filter(|e| e.is_reproducible() && !e.is_chart()) {
        assert!(exporter.render(&a).unwrap() == exporter.render(&b).unwrap(), "{} differs", exporter.file_name());
    }
    assert_eq!(a.fault_windows, b.fault_windows);
    // The group fault picked 2 distinct servers of group a, the same for every strategy.
    let w: Vec<_> = a.fault_windows_of(0).filter(|w| w.fault == 0).map(|w| w.server).collect();
    assert_eq!(w.len(), 2);
    assert_ne!(w[0], w[1]);
    assert!(w.iter().all(|&s| s < 6));
}

/// Issue 26, defect 2: a server's load is measured against the capacity it had. Two
/// servers, round robin, evenly spaced arrivals and constant service, so every split is
/// exact: each server gets 50 req/s × 10 ms = ρ 0.5 of its nominal capacity. `s-2` runs 2×
/// slower for 100 s of the 200 s run: it had 150 s of capacity, so its ρ over the run is
/// 0.5 × 200 / 150 = 2/3 (the old figure, work ÷ the nominal capacity, said 0.5, the same
/// as its healthy neighbour), and during the window 0.5 × 2 = 1.
#[test]
fn load_is_measured_against_the_capacity_the_server_had() {
    let sc = scenario(&two_servers(
        r#"[[faults]]
server = "s-2"
slow_at = "50s"
slow_until = "150s"
slowdown = 2.0
"#,
    ));
    let report = run::run(&sc, &RunOptions { threads: None, progress: false }).unwrap();
    let s = &report.strategies[0];
    let close = |a: f64, b: f64| (a - b).abs() < 2e-3;
    assert!(close(s.servers[0].rho, 0.5), "{}", s.servers[0].rho);
    assert!(close(s.servers[1].rho, 2.0 / 3.0), "{}", s.servers[1].rho);
    // The summary's figures read the same loads.
    assert!(close(s.rho_max.value, 2.0 / 3.0), "{:?}", s.rho_max);
    assert!(close(s.load_max_over_mean.value, (2.0 / 3.0) / ((0.5 + 2.0 / 3.0) / 2.0)), "{:?}", s.load_max_over_mean);
    let o = &s.faults[0][0];
    assert!(close(o.rho.expect("a load during the window"), 1.0), "{o:?}");
    // A crash leaves no capacity: no load during it, and the server's ρ over the run is
    // its work over the time it was up.
    let crashed = scenario(&two_servers("[[faults]]\nserver = \"s-2\"\ndown_at = \"50s\"\nup_at = \"100s\"\n"));
    let r = sim(&crashed, 0, 0);
    assert_eq!(r.faults[0].rho, None);
    let up = r.window() - r.servers[1].lost_capacity;
    assert!((up - 150.0).abs() < 0.1, "{up}");
}

/// Two servers at 50 req/s each of deterministic 10 ms requests for 200 s, plus `fault`.
fn two_servers(fault: &str) -> String {
    format!(
        r#"seed = 5
requests = 20000
warmup_requests = 0
strategies = ["round-robin"]
[arrivals]
process = "deterministic"
rate = 100.0
[service]
distribution = "deterministic"
mean = "10ms"
[[servers]]
name = "s"
count = 2
{fault}"#
    )
}

/// Issue 26, defect 3: every time a health check takes a slowed server out and puts it
/// back is recorded, not only the first removal. A server 20× slower at ρ 0.5 per server
/// fails its checks (they queue behind its backlog), drains out of rotation, passes, comes
/// back, and overflows again: out and in several times, alternating, each return after its
/// removal, and the last return after the window (or never).
#[test]
fn every_removal_and_return_is_recorded() {
    let sc = scenario(&mm_pool(
        "seed = 11\nrequests = 30000\nwarmup_requests = 1000\nstrategies = [\"round-robin\"]",
        200.0,
        "web",
        4,
        r#"[[faults]]
server = "web-2"
slow_at = "20s"
slow_until = "120s"
slowdown = 20.0
[health_check]
interval = "1s"
timeout = "300ms"
fall = 2
rise = 2
"#,
    ));
    let r = sim(&sc, 0, 0);
    let o = &r.faults[0];
    assert!(o.removals() >= 2, "{o:?}");
    assert_eq!(o.detected_at, Some(o.rotation[0].at));
    for (k, c) in o.rotation.iter().enumerate() {
        assert_eq!(c.out, k % 2 == 0, "alternating: {o:?}");
        assert_eq!(c.by, "health_check");
        if c.out {
            assert!((20.0..120.0).contains(&c.at), "removed within the window: {o:?}");
        }
    }
    assert!(o.rotation.windows(2).all(|w| w[0].at < w[1].at), "{o:?}");
}
