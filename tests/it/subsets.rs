//! `[balancers] subset` (issue 25): exact checks only — a subset of every server changes no
//! pick, requests never leave a client's subset, and the clients per backend of Google's
//! deterministic subsetting in the outputs. (The statistical known answer, random subsets'
//! Binomial clients per backend, is a unit test of `workload::subsets`.)

use std::fs;

use crate::common::{case, mm_pool, run_quiet, scenario, sim};

/// The strategies the tests run: every family that reads load, latencies, start times or keys.
const STRATEGIES: &str = "\"round-robin\", \"least-connections\", \"weighted-least-connections\", \"p2c\", \
                          \"random-two-least-conn\", \"peak-ewma\", \"least-response-time\", \"least-work-left\", \
                          \"ring-hash\", \"maglev\"";

/// `count` exponential 10 ms servers offered `rate` req/s, the strategies above, plus `extra`.
fn pool(count: u32, rate: f64, extra: &str) -> String {
    mm_pool(
        &format!("seed = 12\nrequests = 20000\nwarmup_requests = 2000\nstrategies = [{STRATEGIES}]"),
        rate,
        "s",
        count,
        extra,
    )
}

#[test]
fn one_instance_with_a_subset_of_every_server_picks_as_without() {
    // Its state is then built over the whole pool, in the servers' order: byte for byte the
    // general engine path without subsets (the delayed view of zero takes that path).
    let base = scenario(&pool(4, 320.0, "[balancers]\nview = \"delayed\"\ndelay = \"0s\"\n"));
    let sub = scenario(&pool(4, 320.0, "[balancers]\nsubset = { size = 4, kind = \"random\" }\n"));
    for i in 0..base.strategies.len() {
        let (a, b) = (sim(&base, i, 0), sim(&sub, i, 0));
        assert_eq!(format!("{:?} {:?}", a.measured, a.servers), format!("{:?} {:?}", b.measured, b.servers), "{i}");
    }
}

#[test]
fn local_counts_kept_over_the_subset_pick_as_over_the_pool() {
    // With `view = "local"` and subsets an instance keeps its own counts over its subset only
    // (issue 25); with one instance and a subset of every server they are the pool's, so
    // every pick is that of the local view without subsets, under a crash with health checks
    // (rebuilds) too.
    let extra =
        "[health_check]\ninterval = \"200ms\"\n[[faults]]\nserver = \"s-2\"\ndown_at = \"20s\"\nup_at = \"40s\"\n";
    let base = scenario(&pool(4, 320.0, &format!("[balancers]\nview = \"local\"\n{extra}")));
    let sub = scenario(&pool(
        4,
        320.0,
        &format!("[balancers]\nview = \"local\"\nsubset = {{ size = 4, kind = \"random\" }}\n{extra}"),
    ));
    for i in 0..base.strategies.len() {
        let (a, b) = (sim(&base, i, 0), sim(&sub, i, 0));
        assert_eq!(format!("{:?} {:?}", a.measured, a.servers), format!("{:?} {:?}", b.measured, b.servers), "{i}");
    }
}

#[test]
fn requests_never_leave_the_subset_while_one_of_it_is_up() {
    // One client with deterministic subsets of 3 of 6 servers: only its 3 get requests, under
    // a crash of one of them with active health checks (the other two take its share) and
    // retries; servers.csv says which are its.
    // 150 req/s on 3 servers: ρ = 0.5, 0.75 on the two left while one is down.
    let text = pool(
        6,
        150.0,
        "[balancers]\nsubset = { size = 3, kind = \"deterministic\" }\n\
         [health_check]\ninterval = \"200ms\"\nfall = 2\nrise = 2\n[client]\nmax_retries = 2\n",
    );
    let sc = scenario(&text);
    let subset = &sc.subsets().unwrap()[0];
    // Crash the first server of the subset for 10 s of the ~130 s run.
    let down = format!("s-{}", subset[0] + 1);
    let text = format!("{text}[[faults]]\nserver = \"{down}\"\ndown_at = \"10s\"\nup_at = \"20s\"\n");
    let sc = scenario(&text);
    for i in 0..sc.strategies.len() {
        let r = sim(&sc, i, 0);
        for (s, v) in r.servers.iter().enumerate() {
            let member = subset.contains(&(s as u32));
            assert_eq!(v.requests > 0, member, "{}: server {s} got {}", sc.strategies[i].label, v.requests);
        }
        assert_eq!(r.subset_widened, Some(0));
    }
    let (dir, path) = case(&text);
    let out = dir.path().join("o");
    run_quiet(&path, &out, &["--strategies", "p2c"]);
    let servers = fs::read_to_string(out.join("servers.csv")).unwrap();
    let mut lines = servers.lines();
    assert!(lines.next().unwrap().ends_with(",subset_clients"));
    for (s, line) in lines.enumerate() {
        let want = if subset.contains(&(s as u32)) { "1" } else { "0" };
        assert!(line.ends_with(&format!(",{want}")), "{line}");
    }
}

#[test]
fn deterministic_subsets_give_every_backend_the_same_clients_in_the_outputs() {
    // The known answer, end to end: 300 clients × 300 backends, subsets of 10.
    let text = mm_pool(
        "seed = 3\nrequests = 3000\nwarmup_requests = 300\nstrategies = [\"p2c\"]",
        21_000.0,
        "be",
        300,
        "[balancers]\ncount = 300\nview = \"local\"\nsubset = { size = 10, kind = \"deterministic\" }\n",
    );
    let (dir, path) = case(&text);
    let out = dir.path().join("o");
    run_quiet(&path, &out, &[]);
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        [
            "subset_size",
            "subset_kind",
            "clients_per_backend_min",
            "clients_per_backend_mean",
            "clients_per_backend_max",
            "subset_widened"
        ]
        .map(cell),
        ["10", "deterministic", "10", "10.000", "10", "0"]
    );
    let servers = fs::read_to_string(out.join("servers.csv")).unwrap();
    assert!(servers.lines().skip(1).all(|l| l.ends_with(",10")));
}

#[test]
fn deterministic_aperture_gives_every_backend_its_share_of_the_requests() {
    // Finagle's deterministic aperture, 300 clients × 280 backends, aperture 12: each slice
    // is 13 client units (12.13 backends' worth), its edge backends partly in it; every
    // request from the next client in turn, sent by weight in its slice (weighted-random
    // reads no load). The slices cover the ring evenly, so each backend's requests are a
    // sum of independent draws with mean total/280 (variance at most the mean): within
    // 5 standard deviations for all 280 (a false alarm about once in 5,000 runs).
    let text = mm_pool(
        "seed = 4\nrequests = 84000\nwarmup_requests = 100\nstrategies = [\"weighted-random\"]",
        20_000.0,
        "be",
        280,
        "[balancers]\ncount = 300\nassign = \"round-robin\"\nsubset = { size = 12, kind = \"aperture\" }\n",
    );
    let sc = scenario(&text);
    let subsets = sc.subsets().unwrap();
    assert!(subsets.iter().all(|s| (12..=14).contains(&s.len())), "{:?}", subsets.iter().map(Vec::len).max());
    let r = sim(&sc, 0, 0);
    let total: u64 = r.servers.iter().map(|v| v.requests).sum();
    let mean = total as f64 / 280.0;
    for (s, v) in r.servers.iter().enumerate() {
        assert!(
            (v.requests as f64 - mean).abs() < 5.0 * mean.sqrt(),
            "backend {s}: {} requests, mean {mean:.1}",
            v.requests
        );
    }
    // A random aperture of the same size leaves the backends' clients Binomial(300, 12/280):
    // far more spread (its busiest backend well above 5 standard deviations).
    let random = scenario(&text.replace("kind = \"aperture\"", "kind = \"random\""));
    let r = sim(&random, 0, 0);
    let most = r.servers.iter().map(|v| v.requests).max().unwrap() as f64;
    assert!(most > mean + 5.0 * mean.sqrt(), "{most} vs {mean}");
}
