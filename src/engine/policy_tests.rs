//! Unit tests of the retry policies through the whole engine: the retry budget's invariant
//! (asserted inside the engine in test builds at every retry admitted) and `avoid_previous`.

use super::simulate;
use crate::scenario::Scenario;

/// `count` single-worker servers at 80 req/s of exponential 10 ms work, `strategies`,
/// servers `s-2`, `s-3` … `s-<dead + 1>` down for the whole run (never detected), and
/// `client` as the `[client]` table.
fn pool(strategies: &str, count: u32, dead: u32, client: &str) -> Scenario {
    let mut text = format!(
        "seed = 3\nrequests = 20_000\nstrategies = [{strategies}]\n\
         [arrivals]\nprocess = \"poisson\"\nrate = 80.0\n\
         [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
         [[servers]]\nname = \"s\"\ncount = {count}\n[client]\n{client}\n"
    );
    for d in 0..dead {
        text += &format!("[[faults]]\nserver = \"s-{}\"\ndown_at = \"0s\"\n", d + 2);
    }
    Scenario::parse(&text, None).expect("valid scenario")
}

#[test]
fn avoid_previous_never_retries_a_tried_server_while_another_is_usable() {
    // Two of three servers are dead and refuse at once. With two retries that avoid the
    // servers already tried, the third attempt at the latest reaches the live one: nothing
    // fails — for a random pick, round robin, and least-connections (whose pick would
    // otherwise be the dead servers, always empty).
    let strategies = "\"random\", \"round-robin\", \"least-connections\", \"p2c\"";
    let avoid = pool(strategies, 3, 2, "max_retries = 2\nbackoff = \"1ms\"\navoid_previous = true");
    let plain = pool(strategies, 3, 2, "max_retries = 2\nbackoff = \"1ms\"");
    for (i, spec) in avoid.strategies.iter().enumerate() {
        let r = simulate(&avoid, spec, 0, &|_| {});
        assert!(r.total.is_conserved());
        assert_eq!(r.total.failed, 0, "{}: {:?}", spec.label, r.total);
        // At most two attempts fail per request, one per dead server.
        assert!(r.total.retried <= 2 * r.total.generated);
        let p = simulate(&plain, &plain.strategies[i], 0, &|_| {});
        assert!(p.total.failed > 0 || spec.label == "round-robin", "{}: {:?}", spec.label, p.total);
    }
}

#[test]
fn the_retry_budget_holds_at_every_admitted_retry() {
    // Half the pool dead, three retries each, a 20% budget: the engine asserts
    // retries in flight ≤ max(20% × active requests, 3) whenever it admits one; the budget
    // also turns away retries that the same run without it sends.
    let budget = pool("\"random\"", 4, 2, "max_retries = 3\nretry_budget = 20.0\nmin_retry_concurrency = 3");
    let free = pool("\"random\"", 4, 2, "max_retries = 3");
    let (b, f) =
        (simulate(&budget, &budget.strategies[0], 0, &|_| {}), simulate(&free, &free.strategies[0], 0, &|_| {}));
    assert!(b.total.is_conserved() && f.total.is_conserved());
    assert!(b.total.retried < f.total.retried, "budget {:?} vs none {:?}", b.total, f.total);
    assert!(b.total.failed > f.total.failed);
}
