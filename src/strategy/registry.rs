//! The table of strategies: name → description, parameters and constructor.

use super::{ParamError, ParamInfo, Params, ServerInfo, Strategy};
use super::{bounded_load, first, hashing, jiq, least_conn, least_time, least_work, maglev, p2c, peak_ewma};
use super::{random, rendezvous, ring_hash, round_robin};

/// Builds a strategy instance from its parameters and the servers.
pub type BuildFn = fn(&Params, &[ServerInfo]) -> Result<Box<dyn Strategy>, ParamError>;

/// One entry of the registry.
#[derive(Debug)]
pub struct StrategyInfo {
    /// The name used in scenarios and on the command line.
    pub name: &'static str,
    /// The real balancer (and directive) it models, or the paper it comes from.
    pub models: &'static str,
    /// One line: what it does.
    pub summary: &'static str,
    /// Parameters it accepts in the inline-table form.
    pub params: &'static [ParamInfo],
    /// Whether it routes by the request key (hash-based strategies).
    pub keyed: bool,
    /// Whether its balancer instances cooperate through one shared state instead of each
    /// owning its own: join-idle-queue, whose dispatchers receive the servers' idle
    /// reports. The engine then builds one state for all instances (told their number by
    /// [`Strategy::set_instances`]) and delivers the idle reports to it.
    pub cooperative: bool,
    /// Whether it is an oracle reading what no balancer can know (the servers' queued
    /// work): it then sees the current truth whatever the balancers' view.
    pub oracle: bool,
    /// Builds a fresh instance for the given servers (parameters already checked by name).
    pub build: BuildFn,
}

/// Every strategy lbsim knows, in the order `lbsim strategies` lists them.
pub static REGISTRY: &[StrategyInfo] = &[
    round_robin::ROUND_ROBIN,
    round_robin::WEIGHTED_ROUND_ROBIN,
    random::RANDOM,
    random::WEIGHTED_RANDOM,
    least_conn::LEAST_CONNECTIONS,
    least_conn::WEIGHTED_LEAST_CONNECTIONS,
    least_conn::SED,
    least_conn::NQ,
    first::FIRST,
    p2c::P2C,
    p2c::RANDOM_TWO_LEAST_CONN,
    peak_ewma::PEAK_EWMA,
    least_time::LEAST_RESPONSE_TIME,
    jiq::JOIN_IDLE_QUEUE,
    hashing::HASH,
    hashing::IP_HASH,
    ring_hash::RING_HASH,
    maglev::MAGLEV,
    rendezvous::RENDEZVOUS,
    bounded_load::BOUNDED_LOAD_HASH,
    least_work::LEAST_WORK_LEFT,
];

/// The entry named `name`, if any.
pub fn lookup(name: &str) -> Option<&'static StrategyInfo> {
    REGISTRY.iter().find(|s| s.name == name)
}

/// All strategy names.
pub fn names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|s| s.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_build_with_defaults() {
        let servers = crate::strategy::testutil::servers(&[1, 2, 3]);
        let mut seen = std::collections::HashSet::new();
        for s in REGISTRY {
            assert!(seen.insert(s.name), "duplicate {}", s.name);
            let mut built = (s.build)(&Params::default(), &servers).unwrap_or_else(|e| panic!("{}: {e:?}", s.name));
            // `keyed` says exactly which strategies can assign keys (for `lbsim remap`).
            assert_eq!(built.assign_keys(&[1, 2]).is_some(), s.keyed, "{}", s.name);
        }
    }

    /// The engine rebuilds strategies over the eligible servers only (see the module
    /// documentation of `strategy`): every strategy must build, and pick in range, over any
    /// non-empty set of servers, down to a single one.
    #[test]
    fn every_strategy_builds_and_picks_over_any_subset() {
        use crate::strategy::Pool;
        use crate::strategy::testutil::{req, rng};
        let all = crate::strategy::testutil::servers(&[3, 1, 2, 5, 1]);
        for s in REGISTRY {
            for k in 1..=all.len() {
                let subset = &all[all.len() - k..];
                let mut st =
                    (s.build)(&Params::default(), subset).unwrap_or_else(|e| panic!("{} over {k}: {e:?}", s.name));
                let pool = Pool::new(subset);
                let mut r = rng();
                for i in 0..50 {
                    let p = st.pick(&req(i), &pool, &mut r);
                    assert!(p < k, "{} picked {p} of {k}", s.name);
                }
            }
        }
    }
}
