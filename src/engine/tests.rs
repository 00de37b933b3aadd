//! Unit tests of the engine itself: small runs with hand-chosen requests (exact times and
//! demands, binary fractions so every sum is exact) whose every event can be checked by hand.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::balancer::Balancer;
use super::calls::RetryPolicy;
use super::{Simulation, simulate};
use crate::scenario::Scenario;
use crate::stats::RunStats;
use crate::strategy::{self, StrategyRng};
use crate::workload::Request;
use crate::workload::seeds::Seeds;

/// A scenario running `strategy` on `servers` (a `[[servers]]` body) plus `extra` sections.
/// Its arrival process and service only size the timeline: the tests feed the requests.
fn scenario(strategy: &str, servers: &str, extra: &str) -> Scenario {
    let text = format!(
        "requests = 100\nwarmup_requests = 0\nstrategies = [\"{strategy}\"]\n\
         [arrivals]\nprocess = \"poisson\"\nrate = 1.0\n\
         [service]\ndistribution = \"deterministic\"\nmean = \"1s\"\n\
         [[servers]]\n{servers}\n{extra}"
    );
    Scenario::parse(&text, None).expect("valid scenario")
}

/// A simulation of `sc`'s first strategy on replication 0, as `engine::simulate` builds it.
fn simulation<const FULL: bool>(sc: &Scenario) -> Simulation<FULL> {
    let spec = &sc.strategies[0];
    let info = strategy::lookup(spec.name).expect("registered");
    let seeds = Seeds::new(sc.seed, 0);
    let rng = StrategyRng::seed_from_u64(seeds.strategy(&spec.label));
    let mut balancer = Balancer::with_instances(info, spec.params.clone(), &sc.servers, &sc.balancers, rng);
    if let Some(drawn) = sc.drawn_subsets() {
        balancer.set_drawn_subsets(drawn);
    }
    Simulation::new(sc, balancer, &seeds, 0)
}

/// Request `id` arriving at `arrival` with `demand` seconds of work.
fn req(id: u64, arrival: f64, demand: f64) -> Request {
    Request { id, arrival, demand, key: id, hash: id }
}

/// Requests the engine itself holds: calls open, or (untracked) the balancer's in-flight.
fn live<const FULL: bool>(sim: &Simulation<FULL>) -> u64 {
    if sim.tracking { sim.calls.live } else { sim.balancer.in_flight().iter().map(|&n| u64::from(n)).sum() }
}

/// Ends the run, checking that the requests reported in flight (generated − decided) are
/// the ones the engine still holds: `finish` does so only in debug builds.
fn finish<const FULL: bool>(sim: Simulation<FULL>) -> RunStats {
    let held = live(&sim);
    let stats = sim.finish("test".to_string(), 0);
    assert!(stats.total.is_conserved() && stats.measured.is_conserved(), "{:?}", stats.total);
    assert_eq!(stats.total.in_flight, held, "{:?}", stats.total);
    stats
}

/// Feeds `requests` in order as open-workload arrivals and ends the run at the last one.
fn run<const FULL: bool>(sc: &Scenario, requests: &[(f64, f64)]) -> RunStats {
    let mut sim = simulation::<FULL>(sc);
    for (id, &(arrival, demand)) in requests.iter().enumerate() {
        sim.arrive(req(id as u64, arrival, demand));
    }
    finish(sim)
}

#[test]
fn a_departure_at_an_arrival_instant_frees_the_worker_first() {
    // One worker, unbounded queue. Request 0 finishes at t = 1 exactly when request 1
    // arrives: the departure is handled first, so request 1 never waits and the server
    // never holds two requests.
    let sc = scenario("round-robin", "name = \"a\"", "");
    let run = run::<false>(&sc, &[(0.0, 1.0), (1.0, 1.0), (2.0, 1.0)]);
    assert_eq!(run.wait_sum, 0.0);
    assert_eq!(run.servers[0].max_in_system, 1);
    assert_eq!((run.total.completed, run.total.in_flight), (2, 1));
    assert_eq!(run.response_sum, 2.0);
}

#[test]
fn same_time_events_are_handled_in_scheduling_order() {
    // Join-idle-queue hands a request to the server that reported idle first, so the
    // order of two departures at the same instant decides where the next request goes.
    //   t = 0     request 0 → a-1 (I-queue [a-2]), finishes at 0.5
    //   t = 0.25  request 1 → a-2 (I-queue []), finishes at 1 (scheduled first)
    //   t = 0.5   a-1 idle, reports; request 2 → a-1, finishes at 1 (scheduled second)
    //   t = 1     a-2 then a-1 report idle (scheduling order, not server order);
    //             request 3 → a-2
    let sc = scenario("join-idle-queue", "name = \"a\"\ncount = 2", "");
    let run = run::<false>(&sc, &[(0.0, 0.5), (0.25, 0.75), (0.5, 0.5), (1.0, 1.0), (4.0, 1.0)]);
    assert_eq!(run.servers[0].completed, 2, "a-1 served requests 0 and 2");
    assert_eq!(run.servers[1].completed, 2, "a-2 served requests 1 and 3");
    assert_eq!(run.servers[1].response_sum, 0.75 + 1.0);
}

#[test]
fn every_request_is_counted_once_with_drops_and_in_flight() {
    // One worker, room for one waiting request.
    //   t = 0    request 0 starts (until 1), request 1 waits, request 2 is dropped
    //   t = 1    request 0 completes, request 1 starts (until 2)
    //   t = 1.5  request 3 waits; the run ends: requests 1 and 3 are in flight
    let sc = scenario("round-robin", "name = \"a\"\nqueue_capacity = 1", "");
    let run = run::<false>(&sc, &[(0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (1.5, 1.0)]);
    let t = run.total;
    assert_eq!((t.generated, t.completed, t.dropped, t.in_flight), (4, 1, 1, 2));
    assert_eq!((t.failed, t.timed_out, t.retried), (0, 0, 0));
    assert_eq!(run.servers[0].dropped, 1);
    assert_eq!(run.servers[0].requests, 4);
    assert_eq!(run.servers[0].max_in_system, 2);
}

#[test]
fn a_timed_out_attempts_late_completion_is_discarded() {
    // The client gives up on request 0 at t = 1; the server cannot know and finishes it at
    // t = 3, but that completion counts for nothing. Request 1 (t = 5) ends the run.
    let sc = scenario("round-robin", "name = \"a\"", "[client]\ntimeout = \"1s\"\nmax_retries = 0\n");
    let mut sim = simulation::<true>(&sc);
    sim.arrive(req(0, 0.0, 3.0));
    sim.arrive(req(1, 5.0, 1.0));
    assert_eq!(sim.balancer.in_flight(), &[1], "the balancer forgot the abandoned attempt");
    assert_eq!(sim.calls.live, 1);
    let run = finish(sim);
    let t = run.total;
    assert_eq!((t.generated, t.completed, t.timed_out, t.in_flight), (2, 0, 1, 1));
    assert_eq!(run.response.count(), 0);
    let s = &run.servers[0];
    assert_eq!((s.completed, s.timed_out), (0, 1));
    assert_eq!(s.busy_area, 3.0, "the server did the work anyway");
}

#[test]
fn a_crash_fails_the_requests_the_server_holds() {
    // a is down from t = 1 to t = 2.
    //   t = 0    request 0 starts (until 5); t = 0.5 request 1 waits
    //   t = 1    crash: both fail
    //   t = 1.5  request 2 is refused (fails)
    //   t = 5    request 0's old departure is stale: nothing happens
    //   t = 6    request 3 starts; the run ends
    let sc = scenario("round-robin", "name = \"a\"", "[[faults]]\nserver = \"a\"\ndown_at = \"1s\"\nup_at = \"2s\"\n");
    let run = run::<true>(&sc, &[(0.0, 5.0), (0.5, 1.0), (1.5, 1.0), (6.0, 1.0)]);
    let t = run.total;
    assert_eq!((t.generated, t.completed, t.failed, t.in_flight), (4, 0, 3, 1));
    assert_eq!(run.servers[0].failed, 3);
    assert_eq!(run.faults[0].refused_before_detection, 1);
    assert_eq!(run.faults[0].detected_at, None);
}

#[test]
fn a_retry_goes_out_after_its_backoff() {
    // a-1 is down from t = 0 to t = 5. Request 0 goes to a-1 (round robin), is refused,
    // and is retried after a jittered backoff d < 25 ms on a-2, where it takes 1 s:
    // response d + 1. Request 1 (t = 10, to a-1 again) ends the run.
    let sc = scenario(
        "round-robin",
        "name = \"a\"\ncount = 2",
        "[[faults]]\nserver = \"a-1\"\ndown_at = \"0s\"\nup_at = \"5s\"\n\
         [client]\nmax_retries = 1\nbackoff = \"25ms\"\nmax_backoff = \"25ms\"\n",
    );
    let seeds = Seeds::new(sc.seed, 0);
    let mut policy =
        RetryPolicy::new(sc.client.expect("client policy"), Xoshiro256PlusPlus::seed_from_u64(seeds.stream("retries")));
    let backoff = policy.backoff(1);
    assert!(backoff > 0.0 && backoff < 0.025, "{backoff}");
    let run = run::<true>(&sc, &[(0.0, 1.0), (10.0, 1.0)]);
    let t = run.total;
    assert_eq!((t.generated, t.completed, t.failed, t.retried, t.in_flight), (2, 1, 0, 1, 1));
    assert_eq!((run.servers[0].failed, run.servers[1].completed), (1, 1));
    assert_eq!(run.response_sum, backoff + 1.0);
    assert_eq!(run.wait_sum, backoff, "the backoff counts as waiting, since the first arrival");
}

#[test]
fn a_closed_loop_client_sends_again_after_its_think_time() {
    // One client thinking exactly 1 s, service exactly 0.5 s: sends at t = 1, 2.5 and 4;
    // the third send is the last request and ends the run.
    let text = "requests = 3\nwarmup_requests = 0\nstrategies = [\"round-robin\"]\n\
                [arrivals]\nprocess = \"closed\"\nclients = 1\n\
                think_time = { distribution = \"deterministic\", mean = \"1s\" }\n\
                [service]\ndistribution = \"deterministic\"\nmean = \"500ms\"\n\
                [[servers]]\nname = \"a\"\n";
    let sc = Scenario::parse(text, None).expect("valid scenario");
    let run = simulate(&sc, &sc.strategies[0], 0, &|_| {});
    assert_eq!((run.window_start, run.end), (1.0, 4.0));
    let t = run.total;
    assert_eq!((t.generated, t.completed, t.in_flight), (3, 2, 1));
    assert_eq!(run.response_sum, 1.0);
    assert_eq!(run.servers[0].busy_area, 1.0);
}

#[test]
fn a_retried_request_teaches_the_strategy_its_last_attempts_own_time() {
    // Request 0 (1 s of work) goes to the slow server first (8× slower: 8 s), which the
    // client gives up at t = 1; the retry, after a jittered backoff d, goes to the fast one
    // (8× faster: 0.125 s). The request's response time is 1 + d + 0.125 from its arrival;
    // the balancer saw its attempt take 0.125 s, and that is what a latency-aware strategy
    // learns (Finagle and nginx time each upstream attempt on its own).
    let sc = scenario(
        "least-response-time",
        "name = \"slow\"\nspeed = 0.125\n[[servers]]\nname = \"fast\"\nspeed = 8.0",
        "[client]\ntimeout = \"1s\"\nmax_retries = 1\nretry_on = [\"timeout\"]\nbackoff = \"25ms\"\nmax_backoff = \"25ms\"\n",
    );
    let mut sim = simulation::<true>(&sc);
    sim.arrive(req(0, 0.0, 1.0));
    sim.arrive(req(1, 10.0, 1.0));
    assert_eq!(sim.balancer.observed, vec![(1, 0.125)], "the attempt's own time, not the request's");
    let run = finish(sim);
    assert_eq!((run.total.completed, run.total.retried), (1, 1));
    let backoff = run.response_sum - 1.125;
    assert!(backoff > 0.0 && backoff < 0.025, "response {}", run.response_sum);
}

#[test]
fn an_abandoned_attempt_keeps_its_server_busy_for_join_idle_queue() {
    // One server with two workers. Request 0 (5 s) is given up at t = 1 but keeps a worker
    // busy until t = 5; request 1 (t = 0.5, 1 s) completes at t = 1.5, when the balancer
    // counts nothing at the server any more. The server is idle only at t = 5: that is when
    // it reports to join-idle-queue, not at 1.5.
    let sc = scenario("join-idle-queue", "name = \"a\"\nworkers = 2", "[client]\ntimeout = \"1s\"\nmax_retries = 0\n");
    let mut sim = simulation::<true>(&sc);
    sim.arrive(req(0, 0.0, 5.0));
    sim.arrive(req(1, 0.5, 1.0));
    sim.arrive(req(2, 6.0, 1.0));
    assert_eq!(sim.balancer.idle_reports, vec![(0, 5.0)]);
    assert_eq!(sim.balancer.observed, vec![(0, 1.0)]);
    let run = finish(sim);
    assert_eq!((run.total.completed, run.total.timed_out, run.total.in_flight), (1, 1, 1));
}

#[test]
fn network_legs_delay_the_counts_and_add_to_the_response() {
    // 0.25 s to the server, 0.5 s back. Request 0 (1 s of work) leaves the balancer at t = 0,
    // starts at 0.25, finishes at 1.25 and is answered at 1.75: its response time and the
    // time the balancer observed are both 1.75; it waited 0. The balancer counts it until
    // 1.75 although the server is idle from 1.25 (when it reports idle).
    let sc = scenario("join-idle-queue", "name = \"a\"", "[network]\nto_server = \"250ms\"\nfrom_server = \"500ms\"\n");
    let mut sim = simulation::<true>(&sc);
    sim.arrive(req(0, 0.0, 1.0));
    sim.arrive(req(1, 1.5, 1.0));
    assert_eq!(sim.balancer.in_flight(), &[2], "request 0 is still counted at t = 1.5");
    assert_eq!(sim.balancer.idle_reports, vec![(0, 1.25)]);
    sim.arrive(req(2, 10.0, 1.0));
    assert_eq!(sim.balancer.observed, vec![(0, 1.75), (0, 1.75)]);
    let run = finish(sim);
    assert_eq!((run.total.completed, run.total.in_flight), (2, 1));
    assert_eq!((run.response_sum, run.wait_sum), (3.5, 0.0));
    assert_eq!(run.servers[0].busy_area, 2.0);
}
