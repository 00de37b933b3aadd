//! The simulator against queueing theory.
//!
//! Each check runs independent replications (different derived seeds), takes one estimate
//! per replication and asserts that the closed-form value lies inside the 99.9% Student-t
//! confidence interval of their mean. Nothing is tuned: the interval width comes from the
//! replications themselves, so a correct simulator fails a given check with probability
//! about 0.1% (and deterministically, since seeds are fixed), while a biased one fails as
//! soon as its bias exceeds a few standard errors.
//!
//! Run with `cargo test --release` (the suite is heavy in debug builds).

use crate::common::{CI_LEVEL, assert_in_ci, replications, scenario, sim};
use crate::queueing;
use lbsim::stats::RunStats;
use lbsim::stats::ci::mean_ci;

fn toml(strategy: &str, servers: u32, workers: u32, rate: f64, process: &str, service: &str, requests: u64) -> String {
    format!(
        "seed = 2024\nrequests = {requests}\nwarmup_requests = {}\nstrategies = [{strategy}]\n\
         [arrivals]\nprocess = \"{process}\"\nrate = {rate}\n[service]\n{service}\n\
         [[servers]]\nname = \"s\"\ncount = {servers}\nworkers = {workers}\n",
        requests / 10
    )
}

const EXP_10MS: &str = "distribution = \"exponential\"\nmean = \"10ms\"";

#[test]
fn random_routing_is_independent_mm1_queues() {
    // S = 4, μ = 100/s, ρ = 0.7: each server is M/M/1 with λ/S = 70/s.
    let sc = scenario(&toml("\"random\"", 4, 1, 280.0, "poisson", EXP_10MS, 200_000));
    let runs = replications(&sc, 0, 20);
    let means: Vec<f64> = runs.iter().map(RunStats::mean_response).collect();
    assert_in_ci("M/M/1 mean response", &means, queueing::mm1_mean_response(70.0, 100.0));
    // The response time is exponential: check its 90th percentile too (HDR precision 0.1%).
    let p90: Vec<f64> = runs.iter().map(|r| r.response.quantile(0.9)).collect();
    assert_in_ci("M/M/1 p90 response", &p90, queueing::mm1_response_quantile(70.0, 100.0, 0.9));
}

#[test]
fn round_robin_is_erlang_s_m_1() {
    for (rate, label) in [(200.0, "ρ = 0.5"), (340.0, "ρ = 0.85")] {
        let sc = scenario(&toml("\"round-robin\"", 4, 1, rate, "poisson", EXP_10MS, 200_000));
        let means: Vec<f64> = replications(&sc, 0, 20).iter().map(RunStats::mean_response).collect();
        assert_in_ci(
            &format!("E4/M/1 mean response, {label}"),
            &means,
            queueing::round_robin_mean_response(rate, 100.0, 4),
        );
    }
}

#[test]
fn least_work_left_is_mmc_erlang_c() {
    // Four single-worker servers at ρ = 0.8 behave as one M/M/4 central queue.
    let sc = scenario(&toml("\"least-work-left\"", 4, 1, 320.0, "poisson", EXP_10MS, 200_000));
    let means: Vec<f64> = replications(&sc, 0, 20).iter().map(RunStats::mean_response).collect();
    assert_in_ci("M/M/4 (least-work-left) mean response", &means, queueing::mmc_mean_response(320.0, 100.0, 4));
}

#[test]
fn one_server_with_c_workers_is_mmc() {
    // A single server with 4 workers and a FIFO queue is M/M/4 whatever the strategy.
    let sc = scenario(&toml("\"least-connections\"", 1, 4, 340.0, "poisson", EXP_10MS, 200_000));
    let runs = replications(&sc, 0, 20);
    let means: Vec<f64> = runs.iter().map(RunStats::mean_response).collect();
    assert_in_ci("M/M/4 (4 workers) mean response", &means, queueing::mmc_mean_response(340.0, 100.0, 4));
    // Utilisation of the workers is ρ = λ/(cμ).
    let util: Vec<f64> = runs.iter().map(|r| r.servers[0].busy_area / (4.0 * r.window())).collect();
    assert_in_ci("M/M/4 utilisation", &util, 0.85);
}

#[test]
fn random_with_deterministic_service_is_md1() {
    let sc = scenario(&toml(
        "\"random\"",
        4,
        1,
        280.0,
        "poisson",
        "distribution = \"deterministic\"\nmean = \"10ms\"",
        200_000,
    ));
    let means: Vec<f64> = replications(&sc, 0, 20).iter().map(RunStats::mean_response).collect();
    assert_in_ci("M/D/1 mean response (P-K)", &means, queueing::mg1_mean_response(70.0, 0.01, 0.0));
}

#[test]
fn random_with_general_service_follows_pollaczek_khinchine() {
    for (service, cv) in [
        ("distribution = \"gamma\"\nmean = \"10ms\"\ncv = 2.0", 2.0),
        ("distribution = \"lognormal\"\nmean = \"10ms\"\ncv = 0.5", 0.5),
        ("distribution = \"uniform\"\nmin = \"0ms\"\nmax = \"20ms\"", 1.0 / 3f64.sqrt()),
    ] {
        let sc = scenario(&toml("\"random\"", 2, 1, 120.0, "poisson", service, 300_000));
        let means: Vec<f64> = replications(&sc, 0, 20).iter().map(RunStats::mean_response).collect();
        assert_in_ci(
            &format!("M/G/1 mean response, cv = {cv:.3}"),
            &means,
            queueing::mg1_mean_response(60.0, 0.01, cv),
        );
    }
}

#[test]
fn deterministic_arrivals_and_service_never_wait() {
    // D/D/1 at ρ = 0.9 under round robin: every response equals the service time exactly.
    let sc = scenario(&toml(
        "\"round-robin\"",
        3,
        1,
        270.0,
        "deterministic",
        "distribution = \"deterministic\"\nmean = \"10ms\"",
        30_000,
    ));
    let r = sim(&sc, 0, 0);
    assert!((r.mean_response() - 0.01).abs() < 1e-12, "{}", r.mean_response());
    assert_eq!(r.wait_sum, 0.0);
}

#[test]
fn p2c_approaches_the_supermarket_limit() {
    // Mitzenmacher: n → ∞, λ = 0.9 per server, mean service 1: T₂(0.9) ≈ 2.6135.
    // A finite pool sits above the limit and the gap shrinks as n grows, as c/n + O(1/n²)
    // (the mean-field expansion; Gast & Van Houdt, "A refined mean field approximation",
    // 2017).
    let limit = queueing::supermarket_mean_response(0.9, 2);
    let gap = |n: u32, requests: u64| {
        let body = toml(
            "\"p2c\"",
            n,
            1,
            0.9 * f64::from(n),
            "poisson",
            "distribution = \"exponential\"\nmean = \"1s\"",
            requests,
        );
        let means: Vec<f64> = replications(&scenario(&body), 0, 10).iter().map(RunStats::mean_response).collect();
        let (m, h) = mean_ci(&means, CI_LEVEL);
        eprintln!(
            "p2c n = {n}: {m:.4} ± {:.4}, limit {limit:.4}, gap {:+.2}%",
            h.unwrap(),
            100.0 * (m - limit) / limit
        );
        (m - limit, h.unwrap())
    };
    let (gap_small, h_small) = gap(10, 200_000);
    let (gap_large, h_large) = gap(200, 1_000_000);
    assert!(gap_large > -h_large, "the finite system cannot beat the n → ∞ limit: gap {gap_large}");
    assert!(gap_small - h_small > gap_large + h_large, "gap must shrink with n: {gap_small} vs {gap_large}");
    // The 1/n law: the gap at n = 10 predicts gap(10) × 10/200 at n = 200 (the O(1/n²) term
    // is the prediction's error, ≤ gap(10)/20 when it is positive); the two estimates'
    // 99.9% intervals must meet.
    let predicted = gap_small * 10.0 / 200.0;
    eprintln!(
        "p2c n = 200: gap {:+.2}% ± {:.2}%, 1/n prediction from n = 10: {:+.2}% ± {:.2}%",
        100.0 * gap_large / limit,
        100.0 * h_large / limit,
        100.0 * predicted / limit,
        100.0 * h_small / 20.0 / limit
    );
    assert!(
        (gap_large - predicted).abs() <= h_large + h_small * 10.0 / 200.0,
        "gap at n = 200 ({gap_large} ± {h_large}) is not the 1/n extrapolation from n = 10 ({predicted})"
    );
}
