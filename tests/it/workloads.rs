//! Time-varying, bursty, closed-loop and replayed workloads, through the library.

use crate::common::{assert_in_ci, assert_within_z, mm_pool, scenario, sim};
use lbsim::run::{self, RunOptions};
use lbsim::scenario::Scenario;
use lbsim::scenario::arrivals::{Arrivals, Poisson};
use lbsim::workload::RequestStream;
use rayon::prelude::*;

/// Relative rounding allowance for identities that hold exactly in real arithmetic but are
/// computed as sums of up to ~10⁵ doubles in different orders: each addition errs by at
/// most 2⁻⁵³ ≈ 1.1·10⁻¹⁶ relative, so 10⁵ of them by at most ~10⁻¹¹; 10⁻⁹ leaves margin.
const ROUNDING: f64 = 1e-9;

/// Arrivals of replication `rep` counted in consecutive windows of `width` seconds from
/// t = 0: the first `windows` of them.
fn counts_per_window(sc: &Scenario, rep: u32, width: f64, windows: usize) -> Vec<f64> {
    let mut counts = vec![0.0f64; windows];
    for q in RequestStream::new(&sc.workload(), rep) {
        let i = (q.arrival / width) as usize;
        if i < counts.len() {
            counts[i] += 1.0;
        }
    }
    counts
}

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
    let Arrivals::Poisson(Poisson::Varying(profile)) = &sc.arrivals else { panic!("varying") };
    // Each second is checked by its z-score (normal approximation of a Poisson count of
    // ≥ 800, skewness ≤ 0.04). At |z| < 4.5 one second fails with probability 6.8·10⁻⁶, so
    // the ~36 seconds checked give a false failure with probability ≤ 2.5·10⁻⁴.
    const Z_PER_SECOND: f64 = 4.5;
    let counts = counts_per_window(&sc, 0, 1.0, 40);
    for (i, &n) in counts.iter().enumerate() {
        let lam = profile.integral(i as f64 + 1.0) - profile.integral(i as f64);
        if i as f64 + 1.0 > sc.expected_duration() - 1.0 {
            break; // the run ends at the `requests`-th arrival
        }
        if lam == 0.0 {
            assert_eq!(n, 0.0, "second {i}");
        } else {
            let z = (n - lam) / lam.sqrt();
            assert!(z.abs() < Z_PER_SECOND, "second {i}: {n} arrivals, expected {lam:.0} (z = {z:.2})");
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
        let se = (100.0 * t).sqrt() / t;
        assert_within_z(&format!("{clients} clients: throughput"), r.throughput(), 100.0, se, 0.0);
        // Never idle: the busy time is the whole window, exactly (but for rounding).
        let util = r.servers[0].busy_area / t;
        assert!((util - 1.0).abs() < ROUNDING, "{clients} clients: utilisation {util}");
        // Little's law for the closed loop: the N clients are all in the system, always.
        let n = f64::from(clients);
        assert!((r.mean_in_system() - n).abs() < ROUNDING * n, "{clients} clients: L = {}", r.mean_in_system());
    }
}

#[test]
fn closed_loop_obeys_the_response_time_law() {
    // Interactive response-time law: X = N / (Z + R). Measured with 5 replications; the
    // tolerance is their 99.9% confidence interval (Student t, 4 df → 8.61 standard errors).
    // No allowance for the window's edges: a client's cycle cut by the start of the window
    // and the one cut by its end have the same expected age, so the edges add noise (which
    // the replications' spread includes) but no bias.
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
    assert_in_ci("X(Z+R)/N", &ratios, 1.0);
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
    // The open stream runs at the rate the clients sent, which exceeds the closed loop's
    // throughput by the requests still outstanding at the end: at most one per client.
    let outstanding = 20.0 / s.measured.completed as f64;
    let ratio = open.rate.value / s.throughput.value;
    assert!((0.0..=outstanding).contains(&(ratio - 1.0)), "{} vs {}", open.rate.value, s.throughput.value);
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
    // Every completion took at least the 40 ms service (the histogram keeps 3 significant
    // digits: a value is recorded within 0.1% below it).
    assert!(r.response.quantile(0.0) >= 0.040 * (1.0 - 1e-3), "{}", r.response.quantile(0.0));
    // Utilisation ρ = λ × 40 ms / 2 = 0.5. The busy time is 40 ms per request served in the
    // window, whose length is the sum of n exponential gaps: relative standard error 1/√n,
    // so se = ρ/√n. At each edge at most one request per server is cut: a bias of at most
    // 2 × 40 ms per server-window.
    let util: f64 = r.servers.iter().map(|s| s.busy_area).sum::<f64>() / (2.0 * r.window());
    let n = r.measured.generated as f64;
    assert_within_z("utilisation", util, 0.5, 0.5 / n.sqrt(), 2.0 * 0.040 / r.window());
    // With a lognormal override, the same request costs the same on either server of the
    // group whichever strategy routes it: the total work done is identical.
    let text2 = |strategy: &str| {
        text(strategy).replace(
            "{ distribution = \"deterministic\", mean = \"40ms\" }",
            "{ distribution = \"lognormal\", mean = \"40ms\", cv = 2.0 }",
        )
    };
    // The window starts empty (no warm-up) and, at this light load, ends with only the last
    // arrival in the system, which has just started: the work done is then the sum of the
    // same demands whichever strategy routed them, equal but for the order of the sums.
    let work = |strategy: &str| {
        let sc = scenario(&text2(strategy));
        let mut sc2 = sc.clone();
        sc2.arrivals = Poisson::Constant { rate: 5.0 }.into(); // light load: all served by the end
        sc2.warmup = 0;
        let r = sim(&sc2, 0, 0);
        assert_eq!(r.total.in_flight, 1, "{strategy}: only the last arrival is in flight");
        r.servers.iter().map(|s| s.busy_area).sum::<f64>()
    };
    let (w1, w2) = (work("round-robin"), work("random"));
    assert!((w1 - w2).abs() <= ROUNDING * w1, "work {w1} vs {w2}");
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
    let reqs: Vec<_> = RequestStream::new(&sc.workload(), 0).collect();
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
    // Counts per 100 ms window against the two-state MMPP's exact moments (the source starts
    // in its stationary state, so every window is stationary). With on-rate λ₁ = 3000/s,
    // off-rate 0, leaving rates q₁ = 1/s (on) and q₂ = 0.5/s (off), r = q₁ + q₂,
    // π = (1/3, 2/3), λ̄ = 1000/s:
    //   Var N(t) = λ̄t + 2 λ₁² π₁π₂ (t/r − (1 − e^{−rt})/r²)   (Poisson would be λ̄t)
    //   P(N(t) = 0) = π · exp((Q − Λ)t) · 1.
    // One sample variance and one share of empty windows per replication (windows within
    // a replication are correlated; replications are independent), 99.9% t-intervals.
    let (w, windows) = (0.1, 1000); // 100 s: 200,000 arrivals last longer with z > 6
    let (l1, q1, q2) = (3000.0, 1.0, 0.5);
    let (p1, p2, r) = (q2 / (q1 + q2), q1 / (q1 + q2), q1 + q2);
    let var_n = |t: f64| 1000.0 * t + 2.0 * l1 * l1 * p1 * p2 * (t / r - (1.0 - (-r * t).exp()) / (r * r));
    // E[sample variance] of n correlated windows: n/(n−1) (Var N(w) − Var(mean)), where the
    // mean's variance is Var N(n·w)/n².
    let n = windows as f64;
    let expected_var = n / (n - 1.0) * (var_n(w) - var_n(n * w) / (n * n));
    // exp(M t) of M = [[a, b], [c, d]] = Q − Λ, by its two real eigenvalues.
    let (a, b, c, d) = (-q1 - l1, q1, q2, -q2);
    let (tr, det) = (a + d, a * d - b * c);
    let root = (tr * tr / 4.0 - det).sqrt();
    let (e1, e2) = (tr / 2.0 + root, tr / 2.0 - root);
    let exp_m = |i: usize, j: usize| {
        let m = [[a, b], [c, d]][i][j];
        let id = if i == j { 1.0 } else { 0.0 };
        ((e1 * w).exp() * (m - e2 * id) - (e2 * w).exp() * (m - e1 * id)) / (e1 - e2)
    };
    let p_empty = p1 * (exp_m(0, 0) + exp_m(0, 1)) + p2 * (exp_m(1, 0) + exp_m(1, 1));
    let stats: Vec<(f64, f64, f64)> = (0..40)
        .into_par_iter()
        .map(|rep| {
            let counts = counts_per_window(&sc, rep, w, windows);
            let mean = counts.iter().sum::<f64>() / n;
            let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let empty = counts.iter().filter(|&&c| c == 0.0).count() as f64 / n;
            (mean, var, empty)
        })
        .collect();
    let col = |f: fn(&(f64, f64, f64)) -> f64| stats.iter().map(f).collect::<Vec<f64>>();
    assert_in_ci("MMPP arrivals per 100 ms", &col(|s| s.0), 1000.0 * w);
    let (var, half) = assert_in_ci("MMPP variance of arrivals per 100 ms", &col(|s| s.1), expected_var);
    assert_in_ci("MMPP share of empty 100 ms windows", &col(|s| s.2), p_empty);
    // Burstier than Poisson at the same mean: the interval excludes Poisson's variance (= its
    // mean); the index of dispersion is about 190.
    assert!(var - half > 1000.0 * w, "index of dispersion {}", var / (1000.0 * w));
}
