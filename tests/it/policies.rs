//! What balancers do besides picking: the balancer queue (`[balancer_queue]` with servers'
//! `max_connections`), against queueing theory and the engine's own accounting.

use crate::common::{assert_in_ci, rejects, replications, scenario, sim};
use crate::queueing;
use lbsim::stats::{PolicyStats, RunStats};

/// Four single-worker servers, exponential 20 ms, Poisson 160 req/s (ρ = 0.8), capped at
/// one request each by the balancer, which queues the rest: strategies `strategies`.
fn mm4(strategies: &str, more: &str) -> String {
    format!(
        "seed = 11\nrequests = 60_000\nwarmup_requests = 6_000\nstrategies = [{strategies}]\n\
         [arrivals]\nprocess = \"poisson\"\nrate = 160.0\n\
         [service]\ndistribution = \"exponential\"\nmean = \"20ms\"\n\
         [[servers]]\nname = \"s\"\ncount = 4\nmax_connections = 1\n{more}"
    )
}

/// The run's balancer-queue figures.
fn q(r: &RunStats) -> PolicyStats {
    r.policies.as_deref().copied().expect("a run with a balancer queue")
}

/// Little's law inside one run: servers' number in system plus the balancer's waiting
/// requests = completions per second × mean response, up to the run's edge effects.
fn little(r: &RunStats) -> (f64, f64) {
    let servers: f64 = r.servers.iter().map(|s| s.area_in_system).sum::<f64>() / r.window();
    let waiting = q(r).queue_area / r.window();
    (servers + waiting, r.throughput() * r.mean_response())
}

#[test]
fn max_connections_one_with_a_balancer_queue_is_mm4() {
    // A central FCFS queue in front of 4 servers: M/M/4, whatever picks among free servers.
    // Erlang C(4, 3.2) = 0.5964; mean response 20 × (1 + 0.5964 / 0.8) = 34.91 ms.
    let c = queueing::erlang_c(4, 3.2);
    assert!((c - 0.5964).abs() < 5e-5, "Erlang C {c}");
    let expected = queueing::mmc_mean_response(160.0, 50.0, 4);
    assert!((expected - 0.03491).abs() < 5e-6, "{expected}");
    let sc = scenario(&mm4("\"round-robin\", \"random\", \"least-connections\"", "[balancer_queue]\n"));
    for (i, label) in ["round-robin", "random", "least-connections"].iter().enumerate() {
        let runs = replications(&sc, i, 20);
        let means: Vec<f64> = runs.iter().map(RunStats::mean_response).collect();
        assert_in_ci(&format!("{label}: M/M/4 mean response"), &means, expected);
        // The share of requests that waited at the balancer is the probability of waiting.
        let waited: Vec<f64> =
            runs.iter().map(|r| q(r).queued as f64 / (r.measured.generated - r.measured.in_flight) as f64).collect();
        assert_in_ci(&format!("{label}: P(wait) = Erlang C"), &waited, c);
        for r in &runs {
            assert!(r.measured.is_conserved() && r.total.is_conserved());
            let (l, lw) = little(r);
            assert!((l - lw).abs() / lw < 0.02, "{label}: Little L {l} vs λW {lw}");
            // The engine's count of requests in progress is the same area.
            let calls = r.mean_in_progress().expect("requests followed");
            assert!((calls - l).abs() <= 1e-9 * l, "{label}: in progress {calls} vs {l}");
        }
    }
}

#[test]
fn the_balancer_queue_equals_least_work_left() {
    // Least-work-left sends each request to the server that frees first — the central
    // queue's choice — so with the same arrivals and demands every response time is the
    // same: the means agree to rounding, replication by replication.
    let queued = scenario(&mm4("\"round-robin\"", "[balancer_queue]\n"));
    let oracle = scenario(&mm4("\"least-work-left\"", ""));
    for rep in 0..3 {
        let (a, b) = (sim(&queued, 0, rep), sim(&oracle, 0, rep));
        let (ma, mb) = (a.mean_response(), b.mean_response());
        assert!((ma - mb).abs() < 1e-9 * mb, "replication {rep}: queue {ma} vs least-work-left {mb}");
        assert_eq!(a.measured.completed, b.measured.completed);
    }
}

#[test]
fn a_handover_holds_the_slot_an_mg1_by_pollaczek_khinchine() {
    // One single-worker server capped at 1, exponential 20 ms, 30 req/s, `handover` 2 ms:
    // its slot is held for the service plus the handover, H = S + h, first come first
    // served, so the slot is an M/G/1 queue: E[H] = 22 ms, E[H²] = 2m² + 2mh + h², the wait
    // λE[H²] / (2(1 − λE[H])) = 39.0 ms (Pollaczek–Khinchine) and the response, which holds
    // the wait and the service but not the handover, 59.0 ms (50 ms without the handover).
    let (lambda, m, h): (f64, f64, f64) = (30.0, 0.020, 0.002);
    let (eh, eh2) = (m + h, 2.0 * m * m + 2.0 * m * h + h * h);
    let expected = lambda * eh2 / (2.0 * (1.0 - lambda * eh)) + m;
    assert!((expected - 0.05900).abs() < 5e-5, "{expected}");
    let text = mm4("\"round-robin\"", "[balancer_queue]\nhandover = \"2ms\"\n")
        .replace("count = 4\n", "count = 1\n")
        .replace("rate = 160.0", "rate = 30.0");
    let runs = replications(&scenario(&text), 0, 20);
    let means: Vec<f64> = runs.iter().map(RunStats::mean_response).collect();
    assert_in_ci("handover 2 ms: M/G/1 mean response", &means, expected);
    // An arrival waits while the slot is held, busy or handed over: P(wait) = λE[H].
    let waited: Vec<f64> =
        runs.iter().map(|r| q(r).queued as f64 / (r.measured.generated - r.measured.in_flight) as f64).collect();
    assert_in_ci("handover 2 ms: P(wait) = λ E[H]", &waited, lambda * eh);
    for r in &runs {
        assert!(r.measured.is_conserved() && r.total.is_conserved());
        let (l, lw) = little(r);
        assert!((l - lw).abs() / lw < 0.03, "Little L {l} vs λW {lw}");
    }
    // "0s" is no handover: the same run, to the bit.
    let none = scenario(&mm4("\"round-robin\"", "[balancer_queue]\n"));
    let zero = scenario(&mm4("\"round-robin\"", "[balancer_queue]\nhandover = \"0s\"\n"));
    let (a, b) = (sim(&none, 0, 0), sim(&zero, 0, 0));
    assert_eq!(a.mean_response().to_bits(), b.mean_response().to_bits());
    assert_eq!(zero.balancer_queue.and_then(|q| q.handover), None);
}

#[test]
fn a_hash_strategy_queues_at_its_server() {
    // One key: every request hashes to the same server, capped at 1 — an M/M/1 at
    // 30 req/s with μ = 50/s, the others idle; the wait is at the balancer.
    let text = mm4("\"hash\"", "[balancer_queue]\n[keys]\ncount = 1\n").replace("rate = 160.0", "rate = 30.0");
    let sc = scenario(&text);
    let runs = replications(&sc, 0, 20);
    let means: Vec<f64> = runs.iter().map(RunStats::mean_response).collect();
    assert_in_ci("hash, one key: M/M/1 mean response", &means, queueing::mm1_mean_response(30.0, 50.0));
    for r in &runs {
        assert_eq!(r.servers.iter().filter(|s| s.requests > 0).count(), 1);
        let (l, lw) = little(r);
        assert!((l - lw).abs() / lw < 0.03, "Little L {l} vs λW {lw}");
    }
}

#[test]
fn queue_timeouts_fail_as_dropped_and_every_request_ends_once() {
    // ρ = 1.2: the queue grows until its timeout sheds the excess; with crashes, health
    // checks, client timeouts and retries on top, every request still ends exactly once.
    let more = "[balancer_queue]\ntimeout = \"50ms\"\n\
                [[faults]]\nserver = \"s-2\"\ndown_at = \"30s\"\nup_at = \"60s\"\n\
                [health_check]\ninterval = \"2s\"\n\
                [client]\ntimeout = \"300ms\"\nmax_retries = 2\n";
    let all: Vec<String> = lbsim::strategy::names().map(|n| format!("{n:?}")).collect();
    let text = mm4(&all.join(", "), more).replace("rate = 160.0", "rate = 240.0") + "[keys]\ncount = 50\n";
    let sc = scenario(&text);
    for i in 0..sc.strategies.len() {
        let r = sim(&sc, i, 0);
        let label = &sc.strategies[i].label;
        assert!(r.total.is_conserved() && r.measured.is_conserved(), "{label}: {:?}", r.total);
        assert!(q(&r).queue_timeouts > 0, "{label}: no queue timeout at ρ = 1.2");
        // Servers' queues are unbounded: every drop is a request whose last attempt timed
        // out in the balancer's queue.
        assert!(r.measured.dropped > 0 && r.measured.dropped <= q(&r).queue_timeouts, "{label}");
        // The queue never holds more than what waits: at most the requests in progress.
        assert!(q(&r).queue_max <= r.measured.generated);
    }
}

#[test]
fn the_overall_timeout_bounds_every_response_and_per_try_timeouts_retry_within_it() {
    // One of two servers is a tarpit (100× slower, never detected): a 30 ms per-try
    // timeout moves its requests on, and the 80 ms overall timeout ends whatever is still
    // going — no completed response is longer, and requests time out as a whole.
    let more = "[[servers]]\nname = \"tarpit\"\nspeed = 0.01\n\
                [client]\ntimeout = \"30ms\"\nmax_retries = 5\nbackoff = \"5ms\"\noverall_timeout = \"80ms\"\n";
    let text = mm4("\"random\", \"round-robin\", \"least-connections\"", more)
        .replace("count = 4\nmax_connections = 1\n", "count = 1\n")
        .replace("rate = 160.0", "rate = 20.0");
    let sc = scenario(&text);
    for i in 0..sc.strategies.len() {
        let r = sim(&sc, i, 0);
        let label = &sc.strategies[i].label;
        assert!(r.total.is_conserved() && r.measured.is_conserved(), "{label}: {:?}", r.total);
        assert!(r.response_max <= 0.080 + 1e-9, "{label}: a response of {} s", r.response_max);
        assert!(r.measured.timed_out > 0 && r.measured.retried > 0, "{label}: {:?}", r.measured);
    }
}

#[test]
fn a_balancer_queue_needs_a_capped_server_and_one_balancer() {
    let base = mm4("\"round-robin\"", "[balancer_queue]\n");
    rejects(&base.replace("max_connections = 1\n", ""), 14, &["balancer_queue", "max_connections"]);
    rejects(&format!("{base}[balancers]\ncount = 2\n"), 15, &["balancer_queue", "one balancer"]);
    rejects(&base.replace("[balancer_queue]\n", "[balancer_queue]\ntimeout = \"0s\"\n"), 16, &["positive"]);
    rejects(&format!("{base}[clients]\ncount = 4\n"), 15, &["balancer_queue", "[clients]"]);
    let hpa = "[autoscaler]\nmin_replicas = 2\nmax_replicas = 8\nmetric = \"utilization\"\ntarget = 60\n";
    rejects(&format!("{base}{hpa}"), 15, &["balancer_queue", "[autoscaler]"]);
}
