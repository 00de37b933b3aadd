//! Rolling deploys (`deploy_at`): the Kubernetes Deployment controller's bounds hold at
//! every instant, every pod is replaced, every request ends once, and a deterministic
//! deploy takes the time its batches say.

use lbsim::engine::simulate;
use lbsim::scenario::Scenario;
use lbsim::stats::RunStats;
use lbsim::stats::pod_counts::DeployRun;

/// `count` pods of one worker under 200 req/s of 10 ms requests, a deploy at 30 s with
/// `surge` and `unavailable`, pods that take 12 s to provision and are ready 4 s later.
fn scenario(count: u32, surge: &str, unavailable: &str, strategy: &str, extra: &str) -> String {
    format!(
        r#"requests = 40000
warmup_requests = 0
seed = 5
strategies = ["{strategy}"]
[arrivals]
process = "poisson"
rate = 200.0
[service]
distribution = "exponential"
mean = "10ms"
[[servers]]
name = "web"
count = {count}
cold_start = "20s"
cold_start_slowdown = 3.0
[pods]
provision = "12s"
readiness_delay = "4s"
readiness_period = "2s"
deregistration_delay = "3s"
grace_period = "10s"
[[faults]]
group = "web"
deploy_at = "30s"
max_surge = {surge}
max_unavailable = {unavailable}
{extra}"#
    )
}

fn run(text: &str) -> (RunStats, DeployRun) {
    let sc = Scenario::parse(text, None).expect("valid scenario");
    let r = simulate(&sc, &sc.strategies[0], 0, &|_| {});
    assert!(r.total.is_conserved() && r.measured.is_conserved(), "every request ends once: {:?}", r.total);
    let d = r.pods.as_ref().expect("a pod group").deploys[0].clone();
    (r, d)
}

#[test]
fn a_deterministic_deploy_takes_its_batches_times_a_pods_start() {
    // Each round creates surge + unavailable new pods (the old ones scaled down at once by
    // the unavailable, the new ones up to replicas + surge); the next round starts when they
    // are ready, a pod's start (12 s + 4 s) later: ceil(n / (surge + unavailable)) rounds.
    for (n, surge, unavailable, batch) in [
        (8, "2", "0", 2),
        (10, "\"25%\"", "\"25%\"", 5), // surge ceil(2.5) = 3, unavailable floor(2.5) = 2
        (5, "0", "\"10%\"", 1),        // both resolve to 0: unavailable 1 (ResolveFenceposts)
        (6, "1", "1", 2),
    ] {
        let (_, d) = run(&scenario(n, surge, unavailable, "least-connections", ""));
        let rounds = n.div_ceil(batch);
        assert_eq!(d.end.map(|e| e - d.start), Some(16.0 * f64::from(rounds)), "{n} {surge} {unavailable}: {d:?}");
        assert_eq!((d.replaced, d.created, d.replicas), (n, n, n), "every pod replaced: {d:?}");
    }
}

#[test]
fn available_and_total_pods_stay_within_the_bounds_at_every_instant() {
    // The engine tracks the fewest available and the most pods after every change during
    // the deploy; the bounds are replicas − maxUnavailable and replicas + maxSurge.
    for strategy in ["least-connections", "round-robin", "p2c"] {
        for (n, surge, unavailable, s, u) in
            [(10, "\"25%\"", "\"25%\"", 3, 2), (7, "0", "2", 0, 2), (9, "3", "0", 3, 0), (4, "\"50%\"", "1", 2, 1)]
        {
            // Random provisioning times (uniform 5–25 s): pods become ready out of order.
            let text = scenario(n, surge, unavailable, strategy, "").replace(
                "provision = \"12s\"",
                "provision = { distribution = \"uniform\", min = \"5s\", max = \"25s\" }",
            );
            let (r, d) = run(&text);
            assert!(d.end.is_some(), "complete: {d:?}");
            assert!(d.min_available >= n - u, "{strategy} {n} {surge} {unavailable}: {d:?}");
            assert!(d.max_pods <= n + s, "{strategy} {n} {surge} {unavailable}: {d:?}");
            assert_eq!((d.replaced, d.created), (n, n), "{d:?}");
            // Ready pods are the EndpointSlice's `ready` (serving and not terminating): an old
            // pod told to stop is not ready, though the balancers still send to it for its
            // deregistration delay. The controller scales the old pods down as soon as new
            // ones are available, so the ready pods never exceed the replicas.
            let timeline = &r.pods.as_ref().unwrap().timeline;
            assert!(timeline.iter().all(|c| c.ready <= n), "{strategy} {n}: {timeline:?}");
            // After the deploy the pool is back to n pods.
            let last = r.pods.as_ref().unwrap().timeline.last().unwrap();
            assert_eq!((last.pods, last.ready), (n, n), "{last:?}");
        }
    }
}

#[test]
fn a_deploy_under_an_autoscaler_replaces_every_pod_and_loses_no_request() {
    let text = scenario(6, "\"25%\"", "0", "p2c", "")
        .replace("[pods]", "[autoscaler]\nmax_replicas = 12\nmin_replicas = 2\ntarget = 50\n[pods]");
    let (r, d) = run(&text);
    let p = r.pods.as_ref().unwrap();
    assert!(d.end.is_some(), "{d:?}");
    assert!(d.replaced >= 1 && d.created >= 1, "{d:?}");
    assert!(!p.events.is_empty(), "the HPA acted too: {:?}", p.events);
}

#[test]
fn both_zero_is_refused_as_kubernetes_refuses_it() {
    let e = Scenario::parse(&scenario(4, "0", "\"0%\"", "round-robin", ""), None).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("faults[0].max_unavailable"), "{e}");
    for (from, to, key) in [
        ("group = \"web\"\ndeploy_at", "server = \"web-1\"\ndeploy_at", "faults[0].server"),
        ("group = \"web\"\ndeploy_at", "group = \"web\"\ncount = 2\ndeploy_at", "faults[0].count"),
        ("max_surge = 1", "max_surge = \"x\"", "faults[0].max_surge"),
        ("max_unavailable = 0", "max_unavailable = \"150%\"", "faults[0].max_unavailable"),
        ("max_unavailable = 0", "max_unavailable = 0\nup_at = \"90s\"", "faults[0].up_at"),
    ] {
        let text = scenario(4, "1", "0", "round-robin", "").replace(from, to);
        let e = Scenario::parse(&text, None).unwrap_err();
        assert_eq!(e.key.as_deref(), Some(key), "{to}: {e}");
    }
}

#[test]
fn timeseries_csv_has_the_pods_and_ready_pods_of_pods_csv() {
    // Each sample's pods and ready pods are those of pods.csv's step in force at time_s.
    let dir = std::env::temp_dir().join(format!("lbsim-deploy-ts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("d.toml");
    std::fs::write(&file, scenario(6, "2", "0", "round-robin", "").replace("40000", "12000")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(["run", "--quiet", "--no-charts", "--out"])
        .arg(&dir)
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let steps: Vec<(f64, String)> = read("pods.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[2].parse().unwrap(), format!("{},{}", c[3], c[4]))
        })
        .collect();
    let ts = read("timeseries.csv");
    assert!(ts.lines().next().unwrap().ends_with(",pods,ready_pods"));
    let mut seen = std::collections::BTreeSet::new();
    for l in ts.lines().skip(1) {
        let c: Vec<&str> = l.split(',').collect();
        let t: f64 = c[1].parse().unwrap();
        let step = steps.iter().rev().find(|(at, _)| *at <= t + 1e-9).unwrap();
        assert_eq!(format!("{},{}", c[8], c[9]), step.1, "{l}");
        seen.insert(step.1.clone());
    }
    assert!(seen.len() > 2, "the surge shows: {seen:?}");
    std::fs::remove_dir_all(&dir).ok();
}
