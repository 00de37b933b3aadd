//! The table of strategies: name → everything lbsim knows of it (description, typed
//! parameters, static split, table memory, servers read per pick, constructor). Each entry
//! lives in its strategy's file; adding a strategy is its file and one line here, adding a
//! parameter is one declaration in its file (help, validation, default and range follow).

use super::{ParamError, ParamInfo, Params, ServerInfo, Strategy};
use super::{aperture, bounded_load, first, hashing, jiq, least_conn, least_time, least_work, maglev, p2c, peak_ewma};
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
    /// How it divides the requests in the long run, given its parameters (see [`Split`]).
    pub split: fn(&Params) -> Split,
    /// Bytes of the tables it builds over the whole pool (hash rings, Maglev tables) at
    /// their peak while being built, given its parameters and the servers (0: none).
    pub table_bytes: fn(&Params, &[ServerInfo]) -> u64,
    /// Servers it reads per pick, given its parameters and the number of servers (for the
    /// budget's work estimate; invalid parameters: their default).
    pub reads: fn(&Params, u64) -> u64,
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
    aperture::APERTURE,
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

/// How a strategy divides the requests among the servers in the long run, whatever the
/// state of the pool: what lets lbsim compute each server's offered load before a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Each server gets 1/S of the requests (weight-blind rotation or draws).
    Even,
    /// Each server gets its weight's share w_i / Σw.
    Weighted,
    /// Each server gets the share of HAProxy's consistent-hash ring its points own
    /// (`random` with `variant = "haproxy"`: see [`super::haproxy_random_shares`]).
    Ring,
    /// Each key always goes to the same server: a server's share is the probability of the
    /// keys mapped to it (see [`super::Strategy::assign_keys`]).
    Keyed,
    /// The choice depends on the pool's live state (in-flight counts, latencies, queued
    /// work) or spills keys under load: only a run tells the split.
    Dynamic,
}

/// The long-run split of the strategy named `name` with parameters `params` (its entry's
/// [`split`](StrategyInfo::split); `Dynamic` for an unknown name). The unit tests check the
/// static ones.
pub fn split(name: &str, params: &Params) -> Split {
    lookup(name).map_or(Split::Dynamic, |i| (i.split)(params))
}

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

    /// The static splits are what the strategies do: on a pool with weights 1, 2 and 3, an
    /// idle pool's picks follow 1/3 each (even) or 1/6, 2/6, 3/6 (weighted) over a whole
    /// cycle of 6000 picks; keyed ones assign keys; every listed name exists.
    #[test]
    fn static_splits_are_what_the_strategies_do() {
        use crate::strategy::Pool;
        use crate::strategy::testutil::{req, rng};
        let servers = crate::strategy::testutil::servers(&[1, 2, 3]);
        for s in REGISTRY {
            let mut st = (s.build)(&Params::default(), &servers).unwrap();
            let pool = Pool::new(&servers);
            let mut r = rng();
            let mut count = [0f64; 3];
            let n = 60_000;
            for i in 0..n {
                count[st.pick(&req(i), &pool, &mut r)] += 1.0;
            }
            let want: Option<[f64; 3]> = match split(s.name, &Params::default()) {
                Split::Even => Some([1.0 / 3.0; 3]),
                Split::Weighted => Some([1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0]),
                Split::Keyed => {
                    assert!(s.keyed, "{}", s.name);
                    None
                }
                Split::Ring | Split::Dynamic => None,
            };
            if let Some(want) = want {
                for k in 0..3 {
                    // Rotations are exact; draws within 5 binomial standard errors.
                    let p = count[k] / n as f64;
                    let se = (want[k] * (1.0 - want[k]) / n as f64).sqrt();
                    assert!((p - want[k]).abs() <= 5.0 * se, "{}: server {k} got {p}, want {}", s.name, want[k]);
                }
            }
        }
        for name in ["round-robin", "random", "weighted-round-robin", "weighted-random", "hash", "ip-hash"] {
            assert!(lookup(name).is_some(), "{name}");
        }
        for name in ["ring-hash", "maglev", "rendezvous"] {
            assert!(lookup(name).is_some_and(|i| i.keyed), "{name}");
        }
        assert_eq!(split("bounded-load-hash", &Params::default()), Split::Dynamic);
        // HAProxy's `random(1)` follows its ring (its shares are tested in `random`).
        let haproxy =
            Params::new([("variant".to_string(), toml::Value::String("haproxy".into()))].into_iter().collect());
        assert_eq!(split("random", &haproxy), Split::Ring);
        assert_eq!(split("p2c", &haproxy), Split::Dynamic);
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
