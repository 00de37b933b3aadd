//! Tests of the least-connections family: picks, tie rules, and the index against the scan.

use super::*;
use crate::strategy::Params;
use crate::strategy::testutil::*;

#[test]
fn picks_fewest_relative_to_weight() {
    let servers = servers(&[1, 2, 1]);
    let mut pool = Pool::new(&servers);
    pool.in_flight = vec![2, 3, 2];
    let mut s = (LEAST_CONNECTIONS.build)(&Params::default(), &servers).unwrap();
    // 3/2 < 2/1: the weight-2 server wins with more connections.
    assert_eq!(s.pick(&req(0), &pool, &mut rng()), 1);
}

#[test]
fn weighted_ties_follow_smooth_wrr() {
    // Equal conns/weight ratios (0/2 = 0/1): smooth WRR with weights 2,1 → a a b.
    let servers = servers(&[2, 1]);
    let pool = Pool::new(&servers);
    let mut s = (LEAST_CONNECTIONS.build)(&Params::default(), &servers).unwrap();
    let mut rng = rng();
    let picks: Vec<usize> = (0..6).map(|i| s.pick(&req(i), &pool, &mut rng)).collect();
    assert_eq!(picks, vec![0, 1, 0, 0, 1, 0]);
}

#[test]
fn ties_go_round_robin() {
    let servers = servers(&[1, 1, 1, 1]);
    let mut pool = Pool::new(&servers);
    pool.in_flight = vec![1, 0, 0, 0];
    let mut s = (LEAST_CONNECTIONS.build)(&Params::default(), &servers).unwrap();
    let mut rng = rng();
    let picks: Vec<usize> = (0..6).map(|i| s.pick(&req(i), &pool, &mut rng)).collect();
    assert_eq!(picks, vec![1, 2, 3, 1, 2, 3]);
}

/// Random sends and completions (several per pick, sometimes none, sometimes a dropped
/// send), on pools of 1 to 150 servers with equal weights (1 and 3): `indexed` must pick
/// as `scan` does.
fn same_picks(make: impl Fn(&[ServerInfo], bool) -> Box<dyn Strategy>) {
    use rand::RngExt;
    let mut draw = rng();
    for &(n, w) in &[(1usize, 1u32), (2, 1), (5, 3), (16, 1), (64, 1), (150, 3)] {
        let servers = servers(&vec![w; n]);
        let mut pool = Pool::new(&servers);
        let mut scan = make(&servers, false);
        let mut indexed = make(&servers, true);
        assert!(indexed.tracks_pool() && !scan.tracks_pool());
        let mut rng = rng();
        for i in 0..20_000 {
            let a = scan.pick(&req(i), &pool, &mut rng);
            let b = indexed.pick(&req(i), &pool, &mut rng);
            assert_eq!(a, b, "pick {i} of {n} servers");
            if draw.random_range(0..10) > 0 {
                pool.in_flight[a] += 1;
                indexed.on_in_flight(a, pool.in_flight[a], 0.0);
            }
            for _ in 0..draw.random_range(0..3) {
                let s = draw.random_range(0..n);
                if pool.in_flight[s] > 0 {
                    pool.in_flight[s] -= 1;
                    indexed.on_in_flight(s, pool.in_flight[s], 0.0);
                    scan.on_complete(s, 0.0, 0.0);
                    indexed.on_complete(s, 0.0, 0.0);
                }
            }
        }
    }
}

#[test]
fn the_index_picks_exactly_as_the_scan() {
    same_picks(|s, indexed| Box::new(LeastConn::with_index(s, indexed)));
    same_picks(|s, indexed| Box::new(HaproxyLeastConn::with_index(s, indexed)));
    for rule in [IpvsRule::Lc, IpvsRule::Wlc, IpvsRule::Sed, IpvsRule::Nq] {
        same_picks(|s, indexed| Box::new(Ipvs::with_index(s, rule, 0.0, indexed)));
    }
}

fn with(name: &str, v: &str) -> Params {
    Params::new([(name.to_string(), toml::Value::String(v.to_string()))].into_iter().collect())
}

/// Requests that never complete: after each pick the chosen server holds one more.
fn fill(info: &StrategyInfo, params: &Params, weights: &[u32], n: usize) -> Vec<u32> {
    let servers = servers(weights);
    let mut pool = Pool::new(&servers);
    let mut s = (info.build)(params, &servers).unwrap();
    let mut rng = rng();
    for i in 0..n {
        let k = s.pick(&req(i as u64), &pool, &mut rng);
        pool.in_flight[k] += 1;
    }
    pool.in_flight
}

#[test]
fn wlc_keeps_connections_proportional_to_weights() {
    // The defining property of weighted least connections: in-flight counts track the
    // weights. With no completions, after N = k × Σw picks each server holds exactly
    // k × w (both variants: the minimum ratio is always topped up first).
    for variant in ["haproxy", "ipvs"] {
        for (weights, k) in [(&[1u32, 2, 3][..], 7), (&[5, 1, 1, 3][..], 4)] {
            let total: u32 = weights.iter().sum();
            let got = fill(&WEIGHTED_LEAST_CONNECTIONS, &with("variant", variant), weights, (k * total) as usize);
            let want: Vec<u32> = weights.iter().map(|w| w * k).collect();
            assert_eq!(got, want, "{variant} {weights:?}");
        }
    }
}

#[test]
fn sed_and_nq_ratios() {
    // (n+1)/w balanced: after k × Σw picks each holds k × w as well.
    for info in [&SED, &NQ] {
        assert_eq!(fill(info, &Params::default(), &[1, 2, 3], 30), vec![5, 10, 15], "{}", info.name);
    }
}

#[test]
fn haproxy_ties_go_round_robin_and_idle_first() {
    let servers = servers(&[1, 1, 1]);
    let mut pool = Pool::new(&servers);
    let mut s = (WEIGHTED_LEAST_CONNECTIONS.build)(&Params::default(), &servers).unwrap();
    let mut rng = rng();
    // All idle: each request goes to the next idle server, and completes at once.
    let mut seq = Vec::new();
    for i in 0..6 {
        let k = s.pick(&req(i), &pool, &mut rng);
        seq.push(k);
        s.on_complete(k, 0.0, 0.0);
    }
    assert_eq!(seq, vec![0, 1, 2, 0, 1, 2]);
    // An idle server beats a lightly loaded heavier one (key 0 < (n+1)/w).
    let servers = crate::strategy::testutil::servers(&[1, 10]);
    pool = Pool::new(&servers);
    pool.in_flight = vec![0, 1];
    let mut s = (WEIGHTED_LEAST_CONNECTIONS.build)(&Params::default(), &servers).unwrap();
    assert_eq!(s.pick(&req(0), &pool, &mut rng), 0);
}

#[test]
fn ipvs_ties_go_to_the_first_and_nq_takes_idle() {
    let servers = servers(&[1, 1, 4]);
    let mut pool = Pool::new(&servers);
    pool.in_flight = vec![2, 2, 8];
    let mut rng = rng();
    let mut wlc = (WEIGHTED_LEAST_CONNECTIONS.build)(&with("variant", "ipvs"), &servers).unwrap();
    // 2/1 = 2/1 = 8/4: the first wins, every time.
    assert!((0..5).all(|i| wlc.pick(&req(i), &pool, &mut rng) == 0));
    // sed: (2+1)/1 = 3 > (8+1)/4 = 2.25: the big server.
    let mut sed = (SED.build)(&Params::default(), &servers).unwrap();
    assert_eq!(sed.pick(&req(0), &pool, &mut rng), 2);
    // nq: an idle server is taken at once, even a slow one.
    pool.in_flight = vec![2, 0, 0];
    let mut nq = (NQ.build)(&Params::default(), &servers).unwrap();
    assert_eq!(nq.pick(&req(0), &pool, &mut rng), 1);
}
