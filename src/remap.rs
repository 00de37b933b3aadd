//! Key disruption (`lbsim remap`): how many keys a hash-based strategy moves when the pool
//! changes by one server, next to the ideal.
//!
//! The keys are the scenario's key space (`[keys] count`, at most [`MAX_KEYS`]; 100 000
//! without `[keys]`), hashed as replication 0 hashes them. Each strategy assigns every key
//! on an idle pool ([`Strategy::assign_keys`](crate::strategy::Strategy::assign_keys)):
//!
//! - *removal*: the pool without server r, for every r (or [`MAX_REMOVALS`] evenly spread
//!   ones in a larger pool). The keys that change server are counted; ideally only the
//!   removed server's keys move, a fraction `w_r / W` (1/S with equal weights).
//! - *addition*: the pool plus one server like the last one (same weight), named
//!   `<last group>-added`. Ideally only the keys the newcomer takes move: `w / (W + w)`,
//!   1/(S+1) with equal weights.
//!
//! Fractions are of keys, not of requests (a Zipf-hot key counts once). The table and
//! `remap.csv` are rendered by [`crate::report::remap_out`].

use rayon::prelude::*;

use crate::scenario::{Scenario, ScenarioError};
use crate::strategy::{self, Params, ServerInfo, StrategyInfo};
use crate::workload::keys::key_hash;
use crate::workload::seeds::Seeds;
use crate::{Error, Result};

/// Keys analysed when the scenario has no `[keys]`.
pub const DEFAULT_KEYS: u64 = 100_000;
/// At most this many keys are analysed (the first ids: the hottest under Zipf).
pub const MAX_KEYS: u64 = 1_000_000;
/// At most this many removals are tried (evenly spread over the pool).
pub const MAX_REMOVALS: usize = 32;

/// One strategy's disruption.
#[derive(Debug, Clone, PartialEq)]
pub struct RemapRow {
    /// Strategy label.
    pub label: String,
    /// Mean fraction of keys that change server when one server is removed (NaN for S = 1).
    pub removal_moved: f64,
    /// The ideal: mean share of weight of the removed servers (1/S with equal weights).
    pub removal_ideal: f64,
    /// Largest fraction moved by any single removal tried.
    pub removal_worst: f64,
    /// Fraction of keys that change server when one server is added.
    pub addition_moved: f64,
    /// The ideal: the newcomer's share of weight, w / (W + w).
    pub addition_ideal: f64,
}

/// The result of `lbsim remap`.
#[derive(Debug, Clone)]
pub struct RemapReport {
    /// Scenario name.
    pub scenario: String,
    /// Servers in the pool (S).
    pub servers: usize,
    /// Keys analysed.
    pub keys: u64,
    /// Removals tried (and averaged).
    pub removals: usize,
    /// Name of the server added.
    pub added: String,
    /// One row per hash-based strategy.
    pub rows: Vec<RemapRow>,
}

/// The hash-based strategies to analyse: the scenario's, or every one lbsim knows (with
/// default parameters) when the scenario lists none.
fn keyed_strategies(sc: &Scenario) -> Vec<(&'static StrategyInfo, String, Params, String)> {
    let listed: Vec<_> = sc
        .strategies
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let info = strategy::lookup(s.name)?;
            info.keyed.then(|| (info, s.label.clone(), s.params.clone(), format!("strategies[{i}]")))
        })
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    strategy::registry::REGISTRY
        .iter()
        .filter(|i| i.keyed)
        .map(|i| (i, i.name.to_string(), Params::default(), "strategies".to_string()))
        .collect()
}

/// The work of [`analyze`], in the budget's events (about 0.3 µs each): every strategy builds
/// a pool per removal, plus the whole and the grown one, and assigns every key in each (a
/// rendezvous key hashes every server). Above [`crate::budget::SLOW_WORK`] the command warns.
pub fn work(sc: &Scenario) -> f64 {
    let keys = sc.keys.map_or(DEFAULT_KEYS, |k| k.count).min(MAX_KEYS) as f64;
    let s = sc.server_count() as f64;
    let pools = (sc.server_count().min(MAX_REMOVALS) + 2) as f64;
    keyed_strategies(sc)
        .iter()
        .map(|(info, _, params, _)| {
            // A key costs about 0.07 µs where it is one lookup (measured: cache-tier, 10⁶
            // keys, 7 s), a hash per server read for one that reads several (rendezvous).
            let reads = (info.reads)(params, sc.server_count() as u64);
            let per_key = if reads > 1 { 0.25 + reads as f64 / 25.0 } else { 0.25 };
            pools * (keys * per_key + s * 10.0)
        })
        .sum()
}

/// Analyses the scenario's hash-based strategies (see the module documentation).
pub fn analyze(sc: &Scenario) -> Result<RemapReport> {
    let keys = sc.keys.map_or(DEFAULT_KEYS, |k| k.count).min(MAX_KEYS);
    let salt = Seeds::new(sc.seed, 0).key_hash();
    let hashes: Vec<u64> = (0..keys).map(|k| key_hash(k, salt)).collect();
    let servers = &sc.servers;
    let s = servers.len();
    let removals: Vec<usize> = if s <= 1 {
        Vec::new()
    } else if s <= MAX_REMOVALS {
        (0..s).collect()
    } else {
        (0..MAX_REMOVALS).map(|i| i * s / MAX_REMOVALS).collect()
    };
    let added = added_server(sc);
    let total_weight: f64 = servers.iter().map(|v| f64::from(v.weight)).sum();
    let strategies = keyed_strategies(sc);
    let rows = strategies
        .par_iter()
        .map(|(info, label, params, key)| {
            let assign = |pool: &[ServerInfo]| -> Result<Vec<u32>> {
                // Located at the strategy in the file: the pool remap adds a server to may
                // be one too large for it (a ring over its cap).
                let mut st = (info.build)(params, pool).map_err(|e| {
                    Error::from(sc.locate(ScenarioError::at(
                        key.as_str(),
                        format!(
                            "{}: cannot be built for a pool of {} servers (remap adds one): `{}` {}",
                            label,
                            pool.len(),
                            e.param,
                            e.message
                        ),
                    )))
                })?;
                Ok(st.assign_keys(&hashes).expect("keyed strategies assign keys"))
            };
            let base = assign(servers)?;
            let moved = |after: &[u32], map: &dyn Fn(u32) -> u32| {
                base.iter().zip(after).filter(|&(&b, &a)| b != map(a)).count() as f64 / keys as f64
            };
            let mut sum = 0.0;
            let mut worst: f64 = 0.0;
            let mut ideal = 0.0;
            for &r in &removals {
                let pool: Vec<ServerInfo> =
                    servers.iter().enumerate().filter(|&(i, _)| i != r).map(|(_, v)| v.clone()).collect();
                let after = assign(&pool)?;
                let m = moved(&after, &|a| if (a as usize) < r { a } else { a + 1 });
                sum += m;
                worst = worst.max(m);
                ideal += f64::from(servers[r].weight) / total_weight;
            }
            let n = removals.len() as f64;
            let mut grown = servers.clone();
            grown.push(added.clone());
            let after = assign(&grown)?;
            let w = f64::from(added.weight);
            Ok(RemapRow {
                label: label.clone(),
                removal_moved: sum / n,
                removal_ideal: ideal / n,
                removal_worst: if removals.is_empty() { f64::NAN } else { worst },
                addition_moved: moved(&after, &|a| a),
                addition_ideal: w / (total_weight + w),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RemapReport {
        scenario: sc.name.clone(),
        servers: s,
        keys,
        removals: removals.len(),
        added: added.name.clone(),
        rows,
    })
}

/// A server like the last one, with a name no server has.
fn added_server(sc: &Scenario) -> ServerInfo {
    let last = sc.servers.last().expect("a valid scenario has servers");
    let group = sc.groups.last().map_or("server", |g| g.name.as_str());
    let mut name = format!("{group}-added");
    while sc.servers.iter().any(|s| s.name == name) {
        name.push('+');
    }
    ServerInfo { name, id: sc.servers.len() as u32 + 1, ..last.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(strategies: &str, servers: u32, keys: u64) -> Scenario {
        let text = format!(
            "requests = 10\nstrategies = [{strategies}]\n[arrivals]\nprocess = \"poisson\"\nrate = 1.0\n\
             [service]\ndistribution = \"exponential\"\nmean = \"1s\"\n[keys]\ncount = {keys}\n\
             [[servers]]\nname = \"s\"\ncount = {servers}\n"
        );
        Scenario::parse(&text, None).unwrap()
    }

    fn row<'a>(r: &'a RemapReport, label: &str) -> &'a RemapRow {
        r.rows.iter().find(|x| x.label == label).unwrap()
    }

    #[test]
    fn consistent_schemes_stay_near_ideal_and_modulo_moves_most() {
        let s = 10;
        let keys = 200_000;
        let r = analyze(&scenario("\"hash\", \"ring-hash\", \"maglev\", \"rendezvous\"", s, keys)).unwrap();
        assert_eq!(r.removals, 10);
        let ideal_rm = 1.0 / f64::from(s);
        let ideal_add = 1.0 / f64::from(s + 1);
        // Ring and rendezvous move only the removed server's keys, and every server is
        // removed in turn: the mean is exactly Σ shares / S = 1/S.
        for label in ["ring-hash", "rendezvous"] {
            let x = row(&r, label);
            assert!((x.removal_moved - ideal_rm).abs() < 1e-12, "{label}: {x:?}");
        }
        // Addition: the newcomer's share. Ring: relative sd ≈ 1/√160 ≈ 8% of 1/(S+1), plus
        // key noise; rendezvous: binomial noise only. 5 sd bounds.
        let ring = row(&r, "ring-hash");
        assert!((ring.addition_moved / ideal_add - 1.0).abs() < 5.0 / 160f64.sqrt(), "{ring:?}");
        let hrw = row(&r, "rendezvous");
        let sd = (ideal_add * (1.0 - ideal_add) / keys as f64).sqrt();
        assert!((hrw.addition_moved - ideal_add).abs() < 5.0 * sd, "{hrw:?}");
        // Maglev moves the removed server's keys plus a few more (entries reshuffled by the
        // rebuilt permutation walk): near the ideal, far from modulo hashing.
        let m = row(&r, "maglev");
        assert!(m.removal_moved >= ideal_rm && m.removal_moved < 1.5 * ideal_rm, "{m:?}");
        assert!(m.addition_moved >= 0.9 * ideal_add && m.addition_moved < 1.5 * ideal_add, "{m:?}");
        // Modulo hashing: a key stays only if h mod S = h mod (S ± 1): about 1/(S+1) stay.
        let h = row(&r, "hash");
        assert!(h.removal_moved > 0.8 && h.addition_moved > 0.8, "{h:?}");
    }

    #[test]
    fn every_ring_move_is_to_or_from_the_changed_server() {
        // Exact ring property, checked directly on the assignments.
        let sc = scenario("\"ring-hash\"", 6, 20_000);
        let info = strategy::lookup("ring-hash").unwrap();
        let hashes: Vec<u64> = (0..20_000).map(|k| key_hash(k, 99)).collect();
        let assign =
            |pool: &[ServerInfo]| (info.build)(&Default::default(), pool).unwrap().assign_keys(&hashes).unwrap();
        let base = assign(&sc.servers);
        let mut grown = sc.servers.clone();
        grown.push(added_server(&sc));
        for (b, a) in base.iter().zip(assign(&grown)) {
            assert!(a == *b || a == 6);
        }
        let shrunk: Vec<ServerInfo> = sc.servers[1..].to_vec();
        for (b, a) in base.iter().zip(assign(&shrunk)) {
            assert!(*b == 0 || a + 1 == *b);
        }
    }

    #[test]
    fn no_keyed_strategy_listed_means_all_of_them() {
        let r = analyze(&scenario("\"round-robin\"", 3, 1000)).unwrap();
        assert_eq!(r.rows.len(), strategy::registry::REGISTRY.iter().filter(|i| i.keyed).count());
        let one = analyze(&scenario("\"maglev\"", 1, 1000)).unwrap();
        assert!(one.rows[0].removal_moved.is_nan() && one.removals == 0);
        use crate::report::Exporter;
        let csv = crate::report::remap_out::RemapCsv.render(&one).unwrap();
        assert!(String::from_utf8(csv).unwrap().starts_with("strategy,servers,keys,"));
        assert!(crate::report::remap_out::render(&one).contains("maglev"));
    }
}
