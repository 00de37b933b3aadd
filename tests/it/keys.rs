//! Request keys and the hash-based strategies, end to end through the engine.
//!
//! Statistical checks use independent replications and assert that the expected value lies
//! in the 99.9% Student-t confidence interval of the replication means: nothing is tuned,
//! the interval comes from the replications (a correct simulator fails a check with
//! probability about 0.1%, deterministically since the seeds are fixed).
//!
//! Run with `cargo test --release`.

use crate::common::{assert_in_ci, mm_pool, replications, scenario as parse, sim};
use lbsim::scenario::Scenario;
use lbsim::stats::RunStats;

fn scenario(strategies: &str, servers: u32, rate: f64, keys: &str, requests: u64) -> Scenario {
    let top =
        format!("seed = 77\nrequests = {requests}\nwarmup_requests = {}\nstrategies = [{strategies}]", requests / 10);
    parse(&mm_pool(&top, rate, "s", servers, keys))
}

#[test]
fn hashing_distinct_keys_is_random_routing() {
    // Without [keys] every request has its own key, so a hash that spreads keys evenly
    // sends each server an independent Poisson(λ/S) stream: M/M/1 queues, mean response
    // 1/(μ − λ/S) = 1/(100 − 70) s with S = 4, λ = 280/s.
    let sc = scenario("\"hash\", \"maglev\", \"rendezvous\"", 4, 280.0, "", 100_000);
    for i in 0..sc.strategies.len() {
        let r = replications(&sc, i, 12);
        let means: Vec<f64> = r.iter().map(|x| x.mean_response()).collect();
        assert_in_ci(&sc.strategies[i].label, &means, 1.0 / 30.0);
    }
}

#[test]
fn hottest_key_share_is_the_zipf_head_and_bounds_hashing() {
    // Zipf(1.1) over 1000 keys: key 0 carries p₁ = 1/H(1000, 1.1) of the requests. Each
    // replication's hottest-key share estimates it (its bias, the chance that another key
    // outnumbers key 0, is nil at these counts). Every request of a key goes to one server
    // under hashing, so the busiest server's share is at least the hottest key's share in
    // every run.
    let keys = "[keys]\ncount = 1000\ndistribution = \"zipf\"\nexponent = 1.1";
    let sc = scenario("\"ring-hash\", \"maglev\", \"p2c\"", 8, 400.0, keys, 40_000);
    let p1 = 1.0 / (1..=1000).map(|r| f64::from(r).powf(-1.1)).sum::<f64>();
    for i in 0..3 {
        let r = replications(&sc, i, 10);
        let hot: Vec<f64> = r.iter().map(|x| x.hottest_key as f64 / x.measured.generated as f64).collect();
        assert_in_ci("hottest key share", &hot, p1);
        if sc.strategies[i].name != "p2c" {
            for x in &r {
                let loads: Vec<u64> = x.servers.iter().map(|s| s.requests).collect();
                assert!(*loads.iter().max().unwrap() >= x.hottest_key, "{loads:?} vs {}", x.hottest_key);
            }
        }
    }
}

#[test]
fn the_same_key_always_reaches_the_same_server_under_hashing() {
    // One key only: every measured request of a hash strategy lands on one server.
    let sc = scenario(
        "\"hash\", \"ip-hash\", \"ring-hash\", \"maglev\", \"rendezvous\"",
        5,
        20.0,
        "[keys]\ncount = 1",
        2000,
    );
    for i in 0..sc.strategies.len() {
        let r = sim(&sc, i, 0);
        let busy = r.servers.iter().filter(|s| s.requests > 0).count();
        assert_eq!(busy, 1, "{}", sc.strategies[i].label);
    }
}

#[test]
fn bounded_load_spreads_a_hot_key_that_plain_hashing_cannot() {
    // One key only, λ = 350/s on 5 servers of 100/s: plain consistent hashing puts it all on
    // one server (overloaded), bounded loads cap every server near 1.25× the average.
    let sc = scenario("\"ring-hash\", \"bounded-load-hash\"", 5, 350.0, "[keys]\ncount = 1", 20_000);
    let ring = sim(&sc, 0, 0);
    let bounded = sim(&sc, 1, 0);
    let share = |r: &RunStats| {
        let loads: Vec<u64> = r.servers.iter().map(|s| s.requests).collect();
        *loads.iter().max().unwrap() as f64 / loads.iter().sum::<u64>() as f64
    };
    assert_eq!(share(&ring), 1.0);
    // A server cannot take more requests than it completes (a Poisson count at μ = 100/s
    // while busy, at most μT + 5√(μT) at z = 5) plus what it holds at the end; bounded loads
    // keep every server below that, where hashing sends all 350/s to one.
    let t = bounded.window();
    let busiest = bounded.servers.iter().max_by_key(|s| s.requests).unwrap();
    let cap = 100.0 * t + 5.0 * (100.0 * t).sqrt() + f64::from(busiest.max_in_system);
    let n: u64 = bounded.servers.iter().map(|s| s.requests).sum();
    assert!(share(&bounded) <= cap / n as f64, "{} > {}", share(&bounded), cap / n as f64);
    // Not a tolerance but a qualitative gap: ring-hash's one server runs at ρ = 3.5, so its
    // mean response grows with the run (≈ 28 s here); bounded loads stay stable (≈ 26 ms).
    assert!(bounded.mean_response() < 0.1 * ring.mean_response());
}
