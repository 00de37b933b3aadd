//! Time-varying, bursty, closed-loop and replayed workloads, through the library.

use crate::common::{mm_pool, scenario, sim};
use lbsim::run::{self, RunOptions};
use lbsim::scenario::{Arrivals, Scenario};
use lbsim::workload::RequestStream;

const SERVERS: &str = r#"
[service]
distribution = "exponential"
mean = "10ms"
[[servers]]
name = "s"
count = 4
"#;

#[test]
fn scheduled_rates_are_reproduced_per_interval() {
    // A schedule with jumps (and a quiet spell), plus a spike, parsed from a scenario: the
    // number of arrivals in each second is Poisson with mean ∫λ over that second.
    let sc = scenario(&format!(
        r#"
requests = 60000
strategies = ["random"]
[arrivals]
process = "poisson"
rate = 800.0
[[arrivals.schedule]]
at = "10s"
rate = 2500.0
[[arrivals.schedule]]
at = "20s"
rate = 0.0
[[arrivals.schedule]]
at = "22s"
rate = 1500.0
[[arrivals.spike]]
at = "5s"
duration = "2s"
multiplier = 3.0
{SERVERS}"#
    ));
    let Arrivals::Varying(profile) = &sc.arrivals else { panic!("varying") };
    let mut counts = vec![0.0f64; 40];
    for q in RequestStream::new(&sc, 0) {
        let i = q.arrival as usize;
        if i < counts.len() {
            counts[i] += 1.0;
        }
    }
    for (i, &n) in counts.iter().enumerate() {
        let lam = profile.integral(i as f64 + 1.0) - profile.integral(i as f64);
        if i as f64 + 1.0 > sc.expected_duration() - 1.0 {
            break; // the run ends at the `requests`-th arrival
        }
        if lam == 0.0 {
            assert_eq!(n, 0.0, "second {i}");
        } else {
            let z = (n - lam) / lam.sqrt();
            assert!(z.abs() < 4.5, "second {i}: {n} arrivals, expected {lam:.0} (z = {z:.2})");
        }
    }
    assert!((sc.peak_rate() - 2500.0).abs() < 1e-9);
}

#[test]
fn closed_loop_with_zero_think_keeps_one_server_saturated() {
    // N clients, no think time, one server: it is never idle, so the throughput is its
    // service rate μ = 100/s. Completions of an always-busy exponential server form a
    // Poisson process, so over a window T the count has standard deviation √(μT).
    for clients in [1u32, 5, 50] {
        let sc = scenario(&format!(
            r#"
requests = 50000
warmup_requests = 1000
strategies = ["round-robin"]
[arrivals]
process = "closed"
clients = {clients}
think_time = "0ms"
[service]
distribution = "exponential"
mean = "10ms"
[[servers]]
name = "s"
"#
        ));
        let r = sim(&sc, 0, 0);
        let t = r.window();
        let x = r.throughput();
        let se = (100.0 * t).sqrt() / t;
        assert!((x - 100.0).abs() < 5.0 * se, "{clients} clients: {x:.2}/s (se {se:.3})");
        let util = r.servers[0].busy_area / t;
        assert!(util > 0.999, "{clients} clients: utilisation {util}");
        // Little's law for the closed loop: the N clients are all in the system.
        assert!((r.mean_in_system() - f64::from(clients)).abs() < 1e-6 * f64::from(clients).max(1.0) + 1e-3);
    }
}

#[test]
fn closed_loop_obeys_the_response_time_law() {
    // Interactive response-time law: X = N / (Z + R). Measured with 5 replications; the
    // tolerance comes from their spread (Student t, 4 df, 0.999 → 8.61).
    let sc = scenario(
        r#"
requests = 40000
warmup_requests = 2000
replications = 5
strategies = ["least-connections"]
[arrivals]
process = "closed"
clients = 40
think_time = { distribution = "lognormal", mean = "150ms", cv = 1.5 }
[service]
distribution = "exponential"
mean = "10ms"
[[servers]]
name = "s"
count = 3
"#,
    );
    let ratios: Vec<f64> = (0..5)
        .map(|rep| {
            let r = sim(&sc, 0, rep);
            r.throughput() * (0.150 + r.mean_response()) / 40.0
        })
        .collect();
    let n = ratios.len() as f64;
    let mean = ratios.iter().sum::<f64>() / n;
    let sd = (ratios.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!((mean - 1.0).abs() < 8.61 * sd / n.sqrt() + 0.01, "X(Z+R)/N = {mean} (sd {sd}): {ratios:?}");
}

#[test]
fn closed_loop_reports_the_open_model_at_the_same_throughput() {
    let sc = scenario(
        r#"
requests = 30000
warmup_requests = 1000
strategies = ["random"]
[arrivals]
process = "closed"
clients = 20
think_time = "60ms"
[service]
distribution = "exponential"
mean = "10ms"
[[servers]]
name = "s"
count = 2
"#,
    );
    let report = run::run(&sc, &RunOptions::default()).unwrap();
    let s = &report.strategies[0];
    let open = s.open_model.expect("open model");
    // The open stream runs at the rate the clients sent (≈ the closed loop's throughput).
    assert!((open.rate.value / s.throughput.value - 1.0).abs() < 0.01, "{} vs {}", open.rate.value, s.throughput.value);
    // Near saturation the closed loop hides queueing: the open stream waits longer.
    assert!(open.p99.value > s.p99.value, "open p99 {} vs closed {}", open.p99.value, s.p99.value);
    assert!(open.mean.value > s.mean.value);
    assert!(!report.is_unstable());
}

#[test]
fn per_server_service_overrides_keep_requests_paired() {
    // Group `slow` serves from its own distribution; a request gets the same demand on
    // any server of the group whichever strategy sends it there.
    let text = |strategy: &str| {
        mm_pool(
            &format!("seed = 5\nrequests = 20000\nstrategies = [\"{strategy}\"]"),
            25.0,
            "slow",
            2,
            "service = { distribution = \"deterministic\", mean = \"40ms\" }\n",
        )
    };
    let a = scenario(&text("round-robin"));
    assert!((a.capacity() - 50.0).abs() < 1e-9);
    let r = sim(&a, 0, 0);
    // Every completion took at least the 40 ms service; utilisation λ × 40 ms / 2 = 0.5.
    assert!(r.response.quantile(0.0) >= 0.0399, "{}", r.response.quantile(0.0));
    let util: f64 = r.servers.iter().map(|s| s.busy_area).sum::<f64>() / (2.0 * r.window());
    let se = (0.5 * 0.5 / r.measured.completed as f64).sqrt();
    assert!((util - 0.5).abs() < 5.0 * se + 0.005, "utilisation {util}");
    // With a lognormal override, the same request costs the same on either server of the
    // group whichever strategy routes it: the total work done is identical.
    let text2 = |strategy: &str| {
        text(strategy).replace(
            "{ distribution = \"deterministic\", mean = \"40ms\" }",
            "{ distribution = \"lognormal\", mean = \"40ms\", cv = 2.0 }",
        )
    };
    let work = |strategy: &str| {
        let sc = scenario(&text2(strategy));
        let mut sc2 = sc.clone();
        sc2.arrivals = Arrivals::Poisson { rate: 5.0 }; // light load: all served by the end
        let r = sim(&sc2, 0, 0);
        r.servers.iter().map(|s| s.busy_area).sum::<f64>()
    };
    let (w1, w2) = (work("round-robin"), work("random"));
    assert!((w1 - w2).abs() < 0.5, "work {w1} vs {w2}");
}

#[test]
fn trace_replay_uses_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "timestamp,service_time,key\n1000,20,a\n1010,,b\n1030,5,a\n1100,10,c\n")
        .unwrap();
    let text = r#"
warmup_requests = 0
strategies = ["round-robin"]
[arrivals]
process = "trace"
file = "t.csv"
time_unit = "ms"
speed = 2.0
[service]
distribution = "deterministic"
mean = "1ms"
[[servers]]
name = "s"
"#;
    let path = dir.path().join("replay.toml");
    std::fs::write(&path, text).unwrap();
    let sc = Scenario::load(&path).unwrap();
    assert_eq!(sc.requests, 4);
    let reqs: Vec<_> = RequestStream::new(&sc, 0).collect();
    let times: Vec<f64> = reqs.iter().map(|q| q.arrival).collect();
    assert_eq!(times, vec![0.0, 0.005, 0.015, 0.05]);
    let demands: Vec<f64> = reqs.iter().map(|q| q.demand).collect();
    assert_eq!(demands, vec![0.02, 0.001, 0.005, 0.01]);
    assert_eq!(reqs[0].key, reqs[2].key);
    // One server, FIFO: the first three overlap (20 ms job first).
    let r = sim(&sc, 0, 0);
    assert_eq!(r.measured.completed, 3);
    let expect = [0.02, 0.021 - 0.005, 0.026 - 0.015];
    assert!((r.mean_response() - expect.iter().sum::<f64>() / 3.0).abs() < 1e-12, "{}", r.mean_response());
}

#[test]
fn mmpp_scenario_is_burstier_than_poisson_at_the_same_mean() {
    let sc = scenario(&format!(
        r#"
requests = 200000
strategies = ["random"]
[arrivals]
process = "mmpp"
rates = [3000.0, 0.0]
mean_sojourn = ["1s", "2s"]
{SERVERS}"#
    ));
    assert!((sc.arrival_rate() - 1000.0).abs() < 1e-9);
    // Counts per 100 ms window: an on-off source has many empty windows and a variance
    // far above its mean (Poisson would have variance = mean).
    let mut counts = vec![0.0f64; 1500];
    for q in RequestStream::new(&sc, 0) {
        let i = (q.arrival * 10.0) as usize;
        if i < counts.len() {
            counts[i] += 1.0;
        }
    }
    let n = counts.len() as f64;
    let mean = counts.iter().sum::<f64>() / n;
    let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!(var > 10.0 * mean, "index of dispersion {}", var / mean);
    assert!(counts.iter().filter(|&&c| c == 0.0).count() > 300);
}
