//! Balancer instances, views and transit (`[balancers]`, `[network]`, issue 12).
//!
//! Exact checks where the design promises identity (the default setup, a delayed view of
//! zero, strategies that read nothing but their draws); everywhere else the tolerance comes
//! from the replications' own spread (99.9% Student-t intervals, [`assert_in_ci`]) or from
//! the binomial error of a count ([`assert_within_z`]), never tuned.

use std::fs;

use crate::common::{CI_LEVEL, assert_in_ci, assert_within_z, case, lbsim, mm_pool, replications, run_quiet, scenario};
use crate::queueing;
use lbsim::scenario::Scenario;
use lbsim::stats::RunStats;
use lbsim::stats::ci::mean_ci;

/// Everything a run measured, exactly (Debug of floats round-trips); the sampled timeline
/// too if `timeline` (a periodic or delayed view samples it more often).
fn fingerprint(r: &RunStats, timeline: bool) -> String {
    let t = if timeline { format!("{:?}", r.timeline) } else { String::new() };
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {t}",
        r.total, r.measured, r.response_sum, r.response_max, r.wait_sum, r.servers, r.window_start, r.end
    )
}

/// Fingerprints of every strategy of `sc`, replication 0.
fn fingerprints(sc: &Scenario, timeline: bool) -> Vec<String> {
    (0..sc.strategies.len()).map(|i| fingerprint(&crate::common::sim(sc, i, 0), timeline)).collect()
}

/// Four servers, ρ = 0.8, the given strategies, plus `extra` tables.
fn pool(strategies: &str, extra: &str) -> String {
    mm_pool(
        &format!("seed = 12\nrequests = 20000\nwarmup_requests = 2000\nstrategies = [{strategies}]"),
        320.0,
        "s",
        4,
        extra,
    )
}

const LOAD_AWARE: &str = "\"round-robin\", \"least-connections\", \"weighted-least-connections\", \"p2c\", \
                          \"random-two-least-conn\", \"peak-ewma\", \"least-response-time\", \"join-idle-queue\", \
                          \"least-work-left\", \"ring-hash\"";

#[test]
fn one_shared_balancer_is_the_default_byte_for_byte() {
    // Writing the default out, a network of zero, and a delayed view of zero (which runs the
    // general engine path, with the view's change log) all give exactly the same runs.
    let base = fingerprints(&scenario(&pool(LOAD_AWARE, "")), true);
    for extra in [
        "[balancers]\ncount = 1\nview = \"shared\"\n",
        "[network]\nto_server = \"0ms\"\nfrom_server = \"0ms\"\n",
        "[balancers]\nview = \"delayed\"\ndelay = \"0s\"\n",
    ] {
        assert_eq!(fingerprints(&scenario(&pool(LOAD_AWARE, extra)), true), base, "{extra}");
    }
}

#[test]
fn random_picks_the_same_servers_under_every_view_and_instance_count() {
    // `random` and `weighted-random` read nothing but their draws, which come from the
    // strategy's one stream in request order whatever instance handles the request. (The
    // timeline is left out: a periodic or delayed view samples it more often.)
    let weighted = |extra: &str| {
        pool("\"random\", \"weighted-random\"", &format!("weight = 3\n[[servers]]\nname = \"t\"\ncount = 2\n{extra}"))
    };
    let base = fingerprints(&scenario(&weighted("")), false);
    for extra in [
        "[balancers]\nview = \"local\"\n",
        "[balancers]\ncount = 3\nview = \"local\"\n",
        "[balancers]\ncount = 50\nassign = \"round-robin\"\nview = \"local\"\n",
        "[balancers]\ncount = 7\nassign = \"runs\"\nrun_length = 13.0\n",
        "[balancers]\ncount = 4\nview = \"periodic\"\ninterval = \"50ms\"\ncount_own = true\n",
        "[balancers]\nview = \"periodic\"\ninterval = \"5ms\"\n",
        "[balancers]\ncount = 2\nview = \"delayed\"\ndelay = \"30ms\"\n",
    ] {
        assert_eq!(fingerprints(&scenario(&weighted(extra)), false), base, "{extra}");
    }
}

/// Per-replication mean response times of strategy `strategy` of `text`.
fn means(text: &str, strategy: usize, reps: u32) -> Vec<f64> {
    replications(&scenario(text), strategy, reps).iter().map(RunStats::mean_response).collect()
}

/// The paired differences `a[r] − b[r]` (the same seeds: common random numbers).
fn paired(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

#[test]
fn a_periodic_view_converges_to_the_shared_view_as_its_interval_shrinks() {
    // Least-connections is the strategy most sensitive to stale counts. 10 servers, ρ = 0.9,
    // exponential 10 ms service. Paired with the shared view (same seeds), the excess mean
    // response of a board refreshed every T shrinks with T; with T = 10 ms (one service
    // time) it is clearly positive, with T = 10 µs it is within its own 99.9% interval of 0.
    let text = |extra: &str| {
        mm_pool(
            "seed = 5\nrequests = 60000\nwarmup_requests = 6000\nstrategies = [\"least-connections\"]",
            900.0,
            "s",
            10,
            extra,
        )
    };
    let reps = 12;
    let shared = means(&text(""), 0, reps);
    let mut excess = Vec::new();
    for t in ["10ms", "1ms", "100us", "10us"] {
        let d =
            paired(&means(&text(&format!("[balancers]\nview = \"periodic\"\ninterval = \"{t}\"\n")), 0, reps), &shared);
        let (m, half) = mean_ci(&d, CI_LEVEL);
        let half = half.expect("replications");
        eprintln!("interval {t}: excess mean response {:.4} ms ± {:.4}", m * 1e3, half * 1e3);
        excess.push((m, half));
    }
    assert!(excess[0].0 - excess[0].1 > 0.0, "a 10 ms board is worse than the shared view: {excess:?}");
    for w in excess.windows(2) {
        assert!(w[1].0 < w[0].0 + w[0].1 + w[1].1, "the excess does not shrink: {excess:?}");
    }
    let (m, half) = excess[3];
    assert!(m.abs() <= half, "10 µs board vs shared view: {m} ± {half}");
}

#[test]
fn a_delayed_view_makes_least_connections_herd() {
    // The counts as they were 20 ms (two service times) ago: least-connections keeps sending
    // to the servers that were idle then. Paired with the shared view, clearly worse.
    let text = |extra: &str| {
        mm_pool(
            "seed = 8\nrequests = 40000\nwarmup_requests = 4000\nstrategies = [\"least-connections\"]",
            900.0,
            "s",
            10,
            extra,
        )
    };
    let shared = means(&text(""), 0, 8);
    let delayed = means(&text("[balancers]\nview = \"delayed\"\ndelay = \"20ms\"\n"), 0, 8);
    let (m, half) = mean_ci(&paired(&delayed, &shared), CI_LEVEL);
    assert!(m - half.unwrap() > 0.0, "{m} ± {half:?}");
}

/// Mitzenmacher's periodic update model: 100 servers, λ = 0.9 per server, exponential
/// service of mean 10 ms; `interval` in service times.
fn stale_board(strategy: &str, interval: f64) -> String {
    mm_pool(
        &format!("seed = 2000\nrequests = 200000\nwarmup_requests = 20000\nstrategies = [{strategy}]"),
        9000.0,
        "s",
        100,
        &format!("[balancers]\nview = \"periodic\"\ninterval = \"{}ms\"\n", interval * 10.0),
    )
}

#[test]
fn a_stale_board_makes_least_connections_worse_than_random_but_not_p2c() {
    // Random routing ignores the board: every server is M/M/1 with mean response
    // 1 / (μ − λ) = 100 ms. Mitzenmacher (2000), the periodic update model: going to the
    // least loaded server of a board refreshed every T herds whole intervals of arrivals onto
    // the same servers and does worse than random once T is a few service times; two choices
    // stay better than random across the range (here up to T = 10 service times).
    let random = queueing::mm1_mean_response(90.0, 100.0);
    let reps = 12;
    let mean_of = |strategy: &str, t: f64| {
        let m = means(&stale_board(strategy, t), 0, reps);
        let (mean, half) = mean_ci(&m, CI_LEVEL);
        let half = half.expect("replications");
        eprintln!("{strategy} T = {t}: {:.2} ± {:.2} ms (random: {:.2})", mean * 1e3, half * 1e3, random * 1e3);
        (mean, half)
    };
    let (m, h) = mean_of("\"least-connections\"", 0.5);
    assert!(m + h < random, "least-connections with a fresh board is better than random");
    for t in [5.0, 10.0] {
        let (m, h) = mean_of("\"least-connections\"", t);
        assert!(m - h > random, "least-connections on a board {t} service times old is worse than random");
    }
    for t in [0.5, 2.0, 5.0, 10.0] {
        let (m, h) = mean_of("\"p2c\"", t);
        assert!(m + h < random, "p2c on a board {t} service times old stays better than random");
    }
}

#[test]
fn haproxy_random_shares_follow_its_consistent_hash_ring() {
    // HAProxy `balance random(1)` with 4 equal servers: each server's share of the requests
    // is binomial around the share of the ring's arcs nearest to its points, computed
    // exactly from HAProxy's ring construction (about 28.9/18.5/24.3/28.3%; measured on
    // HAProxy 2.6: 28.8/18.1/24.2/28.9%).
    let sc = scenario(&mm_pool(
        "seed = 3\nrequests = 400000\nwarmup_requests = 1000\nstrategies = [{ name = \"random\", variant = \"haproxy\" }]",
        200.0,
        "be",
        4,
        "",
    ));
    let shares = lbsim::strategy::haproxy_random_shares(&sc.servers);
    let pct: Vec<String> = shares.iter().map(|s| format!("{:.1}", 100.0 * s)).collect();
    assert_eq!(pct, ["28.9", "18.5", "24.3", "28.3"]);
    let run = crate::common::sim(&sc, 0, 0);
    let n = run.measured.generated as f64;
    for (i, (s, p)) in run.servers.iter().zip(&shares).enumerate() {
        let se = (n * p * (1.0 - p)).sqrt();
        assert_within_z(&format!("server {i} requests"), s.requests as f64, n * p, se, 0.0);
    }
}

#[test]
fn nginx_workers_without_zone_do_worse_than_with_it() {
    // The shipped nginx-workers scenario (2 workers, runs of 13 requests, local counts)
    // against the same with shared counts (`zone`), paired by seed: least_conn is slower
    // without zone; round robin, which reads no counts, is not affected at all.
    let text = fs::read_to_string(crate::common::shipped("nginx-workers.toml")).unwrap();
    let text = text.replace("requests = 400_000", "requests = 100_000");
    let shared_text = crate::common::edit(&text, "\nview = \"local\"", "\nview = \"shared\"");
    let (local, shared) = (scenario(&text), scenario(&shared_text));
    let lc = local.strategies.iter().position(|s| s.name == "least-connections").unwrap();
    let rr = local.strategies.iter().position(|s| s.name == "round-robin").unwrap();
    let mean = |sc: &Scenario, i| -> Vec<f64> { replications(sc, i, 8).iter().map(RunStats::mean_response).collect() };
    let (m, half) = mean_ci(&paired(&mean(&local, lc), &mean(&shared, lc)), CI_LEVEL);
    eprintln!("least_conn without zone: {:+.3} ms ± {:.3}", m * 1e3, half.unwrap() * 1e3);
    assert!(m - half.unwrap() > 0.0);
    assert_eq!(mean(&local, rr), mean(&shared, rr));
}

#[test]
fn network_legs_add_to_the_response_time_of_random_routing() {
    // Random routing with constant legs of 1 ms and 2 ms: each server is still M/M/1 (the
    // legs delay arrivals by a constant), and every response is 3 ms longer.
    let text = mm_pool(
        "seed = 4\nrequests = 100000\nwarmup_requests = 10000\nstrategies = [\"random\"]",
        280.0,
        "s",
        4,
        "[network]\nto_server = \"1ms\"\nfrom_server = \"2ms\"\n",
    );
    let m = means(&text, 0, 10);
    assert_in_ci("M/M/1 + 3 ms", &m, queueing::mm1_mean_response(70.0, 100.0) + 0.003);
}

#[test]
fn sweeps_vary_the_balancer_count_and_the_refresh_interval() {
    // `balancers.count` can be varied on a scenario without [balancers] (the table is
    // created); the new columns close every row of summary.csv and sweep.csv.
    let (dir, path) = case(&pool("\"least-connections\"", ""));
    let out = dir.path().join("sweep");
    lbsim()
        .args(["sweep", "--quiet", "--requests", "3000", "--vary", "balancers.count=1,3"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("point,balancers.count,seed,"), "{header}");
    assert!(header.contains(",balancers,view,view_age_ms,network_ms,"), "{header}");
    let counts: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(counts, ["1", "3"]);

    let (dir, path) = case(&pool("\"p2c\"", "[balancers]\nview = \"periodic\"\ninterval = \"10ms\"\n"));
    let out = dir.path().join("sweep");
    lbsim()
        .args(["sweep", "--quiet", "--requests", "3000", "--vary", "balancers.interval=5ms,50ms"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert!(csv.lines().nth(2).unwrap().contains(",1,periodic,50.0000,,"), "{csv}");

    let run = dir.path().join("run");
    run_quiet(&path, &run, &["--no-charts"]);
    let summary = fs::read_to_string(run.join("summary.csv")).unwrap();
    let header: Vec<&str> = summary.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = summary.lines().nth(1).unwrap().split(',').collect();
    let at = header.iter().position(|&c| c == "balancers").expect("a balancers column");
    assert_eq!(header[at..at + 4], ["balancers", "view", "view_age_ms", "network_ms"]);
    assert_eq!(row[at..at + 4], ["1", "periodic", "10.0000", ""], "{summary}");
}

#[test]
fn plans_size_a_pool_of_sidecar_balanced_servers() {
    let (dir, path) = case(&pool(
        "\"p2c\"",
        "[balancers]\ncount = 10\nview = \"local\"\n[network]\nto_server = \"200us\"\nfrom_server = \"200us\"\n",
    ));
    lbsim()
        .args(["plan", "--quiet", "--requests", "4000", "--slo", "p99<=200ms"])
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("plan"))
        .assert()
        .success();
}
