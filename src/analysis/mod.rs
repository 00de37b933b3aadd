//! What is derived from a scenario and the results of its runs, above both: the layer
//! between the simulation (`engine`, `stats`, which never see a `Scenario` they do not
//! need) and the outputs (`report`, which renders what it is given and computes nothing).
//!
//! - [`offered`]: the offered load of a static split before the run, and a strategy's
//!   saturation from the split and its runs;
//! - [`summarize`]: a strategy's runs aggregated into its summary, with the pool's facts and
//!   its saturation taken from the scenario;
//! - [`Preflight`]: what is known of a scenario before it runs and the warnings and
//!   `lbsim validate` show (the cost estimate, the static splits' offered loads);
//! - [`stream_sha256`]: the digest of the request stream that `manifest.json` records and
//!   `lbsim compare` checks.

pub mod offered;

use crate::budget::{self, Usage};
use crate::scenario::{Scenario, StrategySpec};
use crate::stats::{PoolFacts, RunStats, StrategySummary};
use crate::strategy::registry::{Split, split};
use crate::workload::RequestStream;

/// Aggregates the replications `runs` of strategy `spec` on `sc` (`None` for a real
/// balancer measured by `lbsim load`: no static split to assess).
pub fn summarize(runs: &[RunStats], sc: &Scenario, spec: Option<&StrategySpec>) -> StrategySummary {
    let saturation = offered::assess(sc, spec, runs);
    let mut summary = StrategySummary::from_runs(runs, &pool_facts(sc), saturation);
    summary.warmup = sc.warmup;
    // Without `[keys]` every request has its own key: no hottest key to report (summary.csv
    // leaves the cell empty instead of 1 ÷ requests).
    if !sc.has_keys() {
        summary.hottest_key_share.value = f64::NAN;
        summary.hottest_key_share.ci95 = None;
    }
    summary
}

/// The facts of `sc`'s pool that aggregating its runs needs.
pub fn pool_facts(sc: &Scenario) -> PoolFacts<'_> {
    PoolFacts {
        servers: &sc.servers,
        capacity_rps: (0..sc.servers.len()).map(|i| sc.capacity_of(i)).collect(),
        balancer_queue: sc.balancer_queue.is_some(),
    }
}

/// The offered loads of one strategy whose long-run split is static.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticLoad {
    /// The strategy's label.
    pub label: String,
    /// Each server's offered load ρ_i = λ · p_i / c_i ([`offered::static_rho`]).
    pub rho: Vec<f64>,
    /// Whether the split follows the key hashes (then those of replication 0).
    pub keyed: bool,
}

/// What is known of a scenario before it runs, for its warnings and `lbsim validate`.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// The cost of a run on one thread ([`budget::estimate`]): the slow-run warning.
    pub usage: Usage,
    /// The offered loads of the strategies with a static split, in the scenario's order,
    /// when the workload can overload a server ([`offered::open_ended`]) and they were
    /// asked for ([`Preflight::with_static_loads`]); otherwise empty.
    pub static_loads: Vec<StaticLoad>,
}

impl Preflight {
    /// What a run's warnings need of `sc` (a run assesses static splits per strategy, from
    /// every replication, instead).
    pub fn of(sc: &Scenario) -> Preflight {
        Preflight { usage: budget::estimate(sc, 1), static_loads: Vec::new() }
    }

    /// [`Preflight::of`] with the static splits' offered loads (from replication 0's key
    /// hashes): what `lbsim validate` shows.
    pub fn with_static_loads(sc: &Scenario) -> Preflight {
        let mut pre = Preflight::of(sc);
        if offered::open_ended(sc) {
            pre.static_loads = sc
                .strategies
                .iter()
                .filter_map(|spec| {
                    let rho = offered::static_rho(sc, spec, 0)?;
                    let keyed = split(spec.name, &spec.params) == Split::Keyed;
                    Some(StaticLoad { label: spec.label.clone(), rho, keyed })
                })
                .collect();
        }
        pre
    }
}

/// Streams longer than this are not hashed (the comparison then falls back to the scenario
/// file's SHA-256): hashing costs about 20 ns per request.
pub const MAX_HASHED_REQUESTS: u64 = 5_000_000;

/// SHA-256 (lower-case hex) of replication 0's request stream of `sc`: the warm-up count,
/// then every request's arrival, demand (as `f64` bits) and key — what `lbsim load`
/// replays. `None` for a closed loop (arrivals depend on the responses) or a stream longer
/// than [`MAX_HASHED_REQUESTS`].
pub fn stream_sha256(sc: &Scenario) -> Option<String> {
    use sha2::{Digest, Sha256};
    if sc.is_closed() || sc.requests > MAX_HASHED_REQUESTS {
        return None;
    }
    let mut h = Sha256::new();
    h.update(sc.warmup.to_le_bytes());
    for r in RequestStream::new(&sc.workload(), 0).without_hashes() {
        h.update(r.arrival.to_bits().to_le_bytes());
        h.update(r.demand.to_bits().to_le_bytes());
        h.update(r.key.to_le_bytes());
    }
    Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
