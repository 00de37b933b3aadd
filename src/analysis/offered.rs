//! The offered load of a static split, before the run, and the saturation of a strategy's
//! run: the evidence of [`crate::stats::saturation`] (whose module documentation describes
//! both kinds) gathered from a scenario. For strategies whose long-run split does not depend
//! on the pool's state ([`Split`]) server i gets a share p_i of the requests (1/S, its
//! weight's share, or the probability of the keys hashed to it), so its offered load is
//! ρ_i = λ · p_i / c_i with c_i = workers_i / mean service time.
//!
//! With `[balancers] subset` each instance's strategy splits its share of the requests
//! (1 / instances, or its `shares` entry) over its own subset only, so
//! p_i = Σ over the instances c whose subset holds i of share_c · p_{c,i}, with p_{c,i} the
//! static split computed over the subset's servers as the engine builds it (an aperture's
//! slice weights replacing the servers' own), hashing included.

use crate::scenario::{Scenario, StrategySpec};
use crate::stats::RunStats;
use crate::stats::saturation::{Evidence, SaturatedServer, Saturation, growth, is_saturated};
use crate::strategy::registry::{Split, split};
use crate::strategy::{self, Params, ServerInfo};
use crate::workload::keys::{KeyPopularity, KeySpace, key_hash};
use crate::workload::seeds::Seeds;

/// Key hashes assigned to compute a keyed split: at most this many (the most popular keys),
/// and at most [`KEY_WORK`] / S (a rendezvous assignment costs O(S) per key).
const MAX_KEYS: u64 = 1 << 17;
/// Bound on keys × servers for a keyed split.
const KEY_WORK: u64 = 1 << 24;
/// Keys never assigned for a keyed split, however large the pool.
const MIN_KEYS: u64 = 1 << 12;

/// Whether the scenario's arrivals keep coming at a rate that does not depend on the
/// system: the only workloads whose queues can grow without bound.
pub fn open_ended(sc: &Scenario) -> bool {
    sc.arrivals.open_ended()
}

/// The long-run share of the requests each server gets under `spec`, when it does not
/// depend on the pool's state; `None` for dynamic strategies (or one that cannot be built).
/// Keyed splits use the key hashes of `replication`.
pub fn static_shares(sc: &Scenario, spec: &StrategySpec, replication: u32) -> Option<Vec<f64>> {
    if sc.balancers.subset.is_some() {
        return subset_shares(sc, spec, replication);
    }
    let cap = (KEY_WORK / sc.servers.len().max(1) as u64).clamp(MIN_KEYS, MAX_KEYS);
    shares_over(sc, spec, &sc.servers, replication, cap)
}

/// The split of `spec` over `servers` (the pool, or an instance's subset), hashing at most
/// `cap` keys.
fn shares_over(
    sc: &Scenario,
    spec: &StrategySpec,
    servers: &[ServerInfo],
    replication: u32,
    cap: u64,
) -> Option<Vec<f64>> {
    let s = servers.len();
    match split(spec.name, &spec.params) {
        Split::Even => Some(vec![1.0 / s as f64; s]),
        Split::Weighted => {
            let total: f64 = servers.iter().map(|v| f64::from(v.weight)).sum();
            Some(servers.iter().map(|v| f64::from(v.weight) / total).collect())
        }
        Split::Ring => Some(strategy::haproxy_random_shares(servers)).filter(|v| v.len() == s),
        Split::Keyed => keyed_shares(sc, spec, servers, replication, cap),
        Split::Dynamic => None,
    }
}

/// Keys hashed per instance for a keyed split over subsets, at least: with many
/// instances each hashes fewer keys ([`KEY_WORK`] over instances × subset size), their
/// errors averaging out over the instances that share a server.
const MIN_SUBSET_KEYS: u64 = 1 << 8;

/// [`static_shares`] with `[balancers] subset`: each instance's share of the requests split
/// over its subset (see the module documentation). Instances with the same subset and
/// weights share one computation.
fn subset_shares(sc: &Scenario, spec: &StrategySpec, replication: u32) -> Option<Vec<f64>> {
    if split(spec.name, &spec.params) == Split::Dynamic {
        return None;
    }
    let drawn = sc.drawn_subsets()?;
    let count = drawn.subsets.len();
    let size = drawn.subsets.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let cap = (KEY_WORK / (count * size).max(1) as u64).clamp(MIN_SUBSET_KEYS, MAX_KEYS);
    let mut known: std::collections::HashMap<(&[u32], Vec<u32>), Vec<f64>> = std::collections::HashMap::new();
    let mut out = vec![0.0; sc.servers.len()];
    for (c, subset) in drawn.subsets.iter().enumerate() {
        let share = sc.balancers.shares.as_ref().map_or(1.0 / count as f64, |s| s[c]);
        let infos: Vec<ServerInfo> = subset
            .iter()
            .enumerate()
            .map(|(k, &j)| {
                let mut info = sc.servers[j as usize].clone();
                if let Some(w) = &drawn.shares {
                    info.weight = w[c][k];
                }
                info
            })
            .collect();
        let key = (subset.as_slice(), infos.iter().map(|i| i.weight).collect());
        let p = match known.get(&key) {
            Some(p) => p,
            None => {
                let p = shares_over(sc, spec, &infos, replication, cap)?;
                known.entry(key).or_insert(p)
            }
        };
        for (&j, x) in subset.iter().zip(p) {
            out[j as usize] += share * x;
        }
    }
    Some(out)
}

/// Each server's offered load ρ_i = λ · p_i / c_i under a static split (see
/// [`static_shares`]), for replication `replication`.
pub fn static_rho(sc: &Scenario, spec: &StrategySpec, replication: u32) -> Option<Vec<f64>> {
    let shares = static_shares(sc, spec, replication)?;
    let rate = sc.arrival_rate();
    Some(shares.iter().enumerate().map(|(i, p)| rate * p / sc.capacity_of(i)).collect())
}

/// The probability mass of the keys each of `servers` owns, for a hash-based strategy.
///
/// With `[keys]`: the most popular keys (ids from 0, at most `cap`: [`MAX_KEYS`] and
/// [`KEY_WORK`] / S, or per instance with subsets) are assigned exactly, each weighted by its probability; the rest of
/// the key space (each key rarer than any of those) is spread like the assigned keys
/// counted once each. Without keys every request has a key of its own, so a server's share
/// is the fraction of distinct keys it owns, estimated from as many keys.
fn keyed_shares(
    sc: &Scenario,
    spec: &StrategySpec,
    servers: &[ServerInfo],
    replication: u32,
    cap: u64,
) -> Option<Vec<f64>> {
    let info = strategy::lookup(spec.name)?;
    let params: &Params = &spec.params;
    let mut st = (info.build)(params, servers).ok()?;
    let space = sc.keys.unwrap_or(KeySpace { count: u64::MAX, popularity: KeyPopularity::Uniform });
    let n = space.count.min(cap);
    let salt = Seeds::new(sc.seed, replication).key_hash();
    let hashes: Vec<u64> = (0..n).map(|k| key_hash(k, salt)).collect();
    let owner = st.assign_keys(&hashes)?;
    let (head, total) = head_probabilities(&space, n);
    let head_mass: f64 = head.iter().sum::<f64>() / total;
    let mut share = vec![0.0; servers.len()];
    let mut keys = vec![0.0; servers.len()];
    for (&o, p) in owner.iter().zip(&head) {
        share[o as usize] += p / total;
        keys[o as usize] += 1.0;
    }
    for (s, k) in share.iter_mut().zip(&keys) {
        *s += (1.0 - head_mass).max(0.0) * k / n as f64;
    }
    Some(share)
}

/// The unnormalised probabilities of key ids `0..n` and the normalising total over the
/// whole key space (for Zipf, the head summed exactly and the tail beyond `n` by the
/// integral of x^−s from n + ½ to count + ½).
fn head_probabilities(space: &KeySpace, n: u64) -> (Vec<f64>, f64) {
    match space.popularity {
        KeyPopularity::Uniform => (vec![1.0; n as usize], space.count as f64),
        KeyPopularity::Zipf { exponent: s } => {
            let head: Vec<f64> = (1..=n).map(|r| (r as f64).powf(-s)).collect();
            let (a, b) = (n as f64 + 0.5, space.count as f64 + 0.5);
            let tail = if space.count <= n {
                0.0
            } else if (s - 1.0).abs() < 1e-12 {
                (b / a).ln()
            } else {
                (b.powf(1.0 - s) - a.powf(1.0 - s)) / (1.0 - s)
            };
            let total = head.iter().sum::<f64>() + tail;
            (head, total)
        }
    }
}

/// The saturation of one strategy (`spec`; `None` for a real balancer, whose split is
/// unknown) from its replications `runs` of `sc`.
pub fn assess(sc: &Scenario, spec: Option<&StrategySpec>, runs: &[RunStats]) -> Saturation {
    let unbounded: Vec<bool> = sc.servers.iter().map(|s| s.queue_capacity == 0).collect();
    if !open_ended(sc) || !unbounded.iter().any(|&u| u) {
        return Saturation::default();
    }
    let mut out = Saturation { pool: is_saturated(sc.offered_load()), ..Saturation::default() };
    let several = runs.len() > 1;
    let keyed = spec.is_some_and(|s| split(s.name, &s.params) == Split::Keyed);
    // Offered load of a static split: the replication whose busiest server is the busiest.
    if let Some(spec) = spec {
        let reps: Vec<u32> = if keyed { runs.iter().map(|r| r.replication).collect() } else { vec![0] };
        let worst = reps
            .iter()
            .filter_map(|&r| static_rho(sc, spec, r).map(|rho| (r, rho)))
            .max_by(|a, b| max_where(&a.1, &unbounded).total_cmp(&max_where(&b.1, &unbounded)));
        if let Some((r, rho)) = worst {
            for (i, &x) in rho.iter().enumerate() {
                if unbounded[i] && is_saturated(x) {
                    let capacity_rps = sc.capacity_of(i);
                    out.servers.push(SaturatedServer {
                        server: Some(i),
                        evidence: Evidence::Offered { offered_rps: x * capacity_rps, capacity_rps, rho: x },
                    });
                }
            }
            if keyed && several && !out.servers.is_empty() {
                out.split_replication = Some(r);
            }
        }
    }
    // Growth, for stationary arrivals.
    if sc.arrivals.stationary() {
        let tests = runs.len() * sc.servers.len();
        let workers: Vec<u32> = sc.servers.iter().map(|s| s.workers).collect();
        for r in runs {
            let grown = growth(r, &workers, &unbounded, tests);
            let fresh: Vec<SaturatedServer> =
                grown.into_iter().filter(|g| g.server.is_none_or(|i| !out.has(i))).collect();
            if !fresh.is_empty() {
                if several {
                    out.growth_replication = Some(r.replication);
                }
                out.servers.extend(fresh);
                break;
            }
        }
    }
    out.unstable = out.pool || !out.servers.is_empty();
    out
}

/// The largest of `x` over the servers marked in `mask`.
fn max_where(x: &[f64], mask: &[bool]) -> f64 {
    x.iter().zip(mask).filter(|(_, m)| **m).map(|(v, _)| *v).fold(f64::NEG_INFINITY, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        Scenario::parse(text, None).unwrap_or_else(|e| panic!("{e}"))
    }

    const HETERO: &str = "requests = 1000\nstrategies = [\"round-robin\", \"weighted-random\", \"p2c\"]\n\
        [arrivals]\nprocess = \"poisson\"\nrate = 600.0\n[service]\ndistribution = \"exponential\"\nmean = \"20ms\"\n\
        [[servers]]\nname = \"gen3\"\ncount = 4\nspeed = 2.0\nweight = 2\n\
        [[servers]]\nname = \"gen2\"\ncount = 6\n\
        [[servers]]\nname = \"gen1\"\ncount = 2\nspeed = 0.6\n";

    #[test]
    fn static_offered_loads() {
        let sc = scenario(HETERO);
        // Round robin: 50 req/s each; gen1 serves 30, gen2 50, gen3 100.
        let rho = static_rho(&sc, &sc.strategies[0], 0).unwrap();
        assert!((rho[0] - 0.5).abs() < 1e-12 && (rho[4] - 1.0).abs() < 1e-12 && (rho[11] - 50.0 / 30.0).abs() < 1e-12);
        // Weighted: 600 / 16 = 37.5 per unit of weight.
        let rho = static_rho(&sc, &sc.strategies[1], 0).unwrap();
        assert!((rho[0] - 0.75).abs() < 1e-12 && (rho[11] - 37.5 / 30.0).abs() < 1e-12);
        assert!(static_rho(&sc, &sc.strategies[2], 0).is_none());
    }

    /// A keyed split's shares add up to 1, and a Zipf head's hottest key lands whole on one
    /// server: with two keys of probabilities 2/3 and 1/3 (Zipf exponent 1), the shares are
    /// {1} or {2/3, 1/3}.
    #[test]
    fn keyed_shares_weigh_keys_by_popularity() {
        let text = "requests = 1000\nstrategies = [\"ring-hash\", \"maglev\", \"rendezvous\", \"hash\"]\n\
            [arrivals]\nprocess = \"poisson\"\nrate = 100.0\n[service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
            [keys]\ncount = 2\ndistribution = \"zipf\"\nexponent = 1.0\n[[servers]]\nname = \"s\"\ncount = 3\n";
        let sc = scenario(text);
        for spec in &sc.strategies {
            let mut p = static_shares(&sc, spec, 0).unwrap();
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{}: {p:?}", spec.label);
            p.sort_by(|a, b| b.total_cmp(a));
            let ok =
                (p[0] - 1.0).abs() < 1e-12 || ((p[0] - 2.0 / 3.0).abs() < 1e-12 && (p[1] - 1.0 / 3.0).abs() < 1e-12);
            assert!(ok, "{}: {p:?}", spec.label);
        }
        // A large key space: the tail is spread like the head; shares still add up to 1.
        let big = text.replace("count = 2\n", "count = 10000000\n");
        let sc = scenario(&big);
        let p = static_shares(&sc, &sc.strategies[0], 0).unwrap();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn zipf_normalisation_is_close_to_the_exact_sum() {
        let space = KeySpace { count: 1_000_000, popularity: KeyPopularity::Zipf { exponent: 0.8 } };
        let (_, approx) = head_probabilities(&space, 1000);
        let exact: f64 = (1..=1_000_000u64).map(|r| (r as f64).powf(-0.8)).sum();
        assert!((approx / exact - 1.0).abs() < 1e-6, "{approx} vs {exact}");
    }

    /// With subsets each instance splits its share over its own subset: round-robin gives
    /// server j clients_j ÷ (instances × size); a hash strategy over a subset of every
    /// server hashes as over the whole pool; one key lands whole on one server per
    /// instance.
    #[test]
    fn subsets_split_each_instances_share_over_its_subset() {
        let base = "requests = 1000\nstrategies = [\"round-robin\", \"ring-hash\", \"p2c\", \"weighted-round-robin\"]\n\
            [arrivals]\nprocess = \"poisson\"\nrate = 100.0\n[service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
            [keys]\ncount = 50\n[[servers]]\nname = \"s\"\ncount = 12\n[balancers]\ncount = 30\n";
        let sc = scenario(&format!("{base}subset = {{ size = 3, kind = \"random\" }}\n"));
        let subsets = sc.subsets().unwrap();
        for i in [0, 3] {
            let p = static_shares(&sc, &sc.strategies[i], 0).unwrap();
            for (j, x) in p.iter().enumerate() {
                let clients = subsets.iter().filter(|s| s.contains(&(j as u32))).count();
                assert!((x - clients as f64 / 90.0).abs() < 1e-12, "{j}: {x} vs {clients} clients");
            }
        }
        assert!(static_shares(&sc, &sc.strategies[2], 0).is_none());
        let rr = static_rho(&sc, &sc.strategies[0], 0).unwrap();
        let busiest = subsets.iter().flatten().fold([0; 12], |mut n, &j| {
            n[j as usize] += 1;
            n
        });
        let most = *busiest.iter().max().unwrap() as f64;
        // 100 req/s × most ÷ 90 on a server of 100 req/s.
        assert!((rr.iter().copied().fold(0.0, f64::max) - most / 90.0).abs() < 1e-12);
        let whole = scenario(base);
        let all = scenario(&format!("{base}subset = {{ size = 12, kind = \"random\" }}\n"));
        let (a, b) = (
            static_shares(&all, &all.strategies[1], 0).unwrap(),
            static_shares(&whole, &whole.strategies[1], 0).unwrap(),
        );
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-12), "{a:?} vs {b:?}");
        let one = scenario(&format!(
            "{}subset = {{ size = 3, kind = \"random\" }}\n",
            base.replace("count = 50", "count = 1")
        ));
        let p = static_shares(&one, &one.strategies[1], 0).unwrap();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for (j, x) in p.iter().enumerate() {
            let n = x * 30.0;
            assert!((n - n.round()).abs() < 1e-9, "{j}: {x} is not whole instances");
            let clients = one.subsets().unwrap().iter().filter(|s| s.contains(&(j as u32))).count();
            assert!(n.round() as usize <= clients, "{j}: {n} instances but {clients} clients");
        }
    }
}
