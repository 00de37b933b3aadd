//! The servers each balancer instance may use (`[balancers] subset`).
//!
//! A client (sidecar, proxy, balancer instance) of a large fleet talks to a subset of the
//! backends only, to bound its connections. The subsets are drawn once from the scenario
//! seed (stream `subsets`), not per replication: they are the deployment's, the same for
//! every strategy and every replication (common random numbers), and changing the
//! strategies, the replications or the workload changes none of them. To see other draws
//! of random subsets, vary the seed.
//!
//! Instance *c* (0-based) is client *c*. Each subset is listed in increasing server order.
//!
//! - `deterministic`: Google's deterministic subsetting exactly as the SRE book gives it
//!   (Beyer et al., *Site Reliability Engineering*, O'Reilly 2016, chapter 20 "Load
//!   Balancing in the Datacenter", section "A Subset Selection Algorithm: Deterministic
//!   Subsetting"): `subset_count = backends / size` (integer division); clients come in
//!   rounds of `subset_count`, `round = client / subset_count`; each round shuffles the
//!   backends with a seed of its own (the book seeds with the round number; lbsim with the
//!   round and the scenario seed); client `subset_id = client % subset_count` takes slice
//!   `subset_id` (`size` backends from `subset_id × size`). Within a round the subsets are
//!   disjoint, so when `backends` is a multiple of `size` and the clients fill whole rounds
//!   every backend has exactly `clients × size / backends` clients. When it is not a
//!   multiple, the book's algorithm leaves the last `backends mod size` backends of each
//!   round's shuffle out of that round; lbsim keeps that (it is the algorithm as published
//!   and as its name promises): the left-out backends differ from round to round, so the
//!   clients per backend differ by a little, and the outputs show by how much.
//! - `random`: each client draws `size` distinct backends uniformly, from a stream of its
//!   own (`subsets/<client>`), independently of the others: the clients per backend then
//!   follow Binomial(clients, size / backends).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand::seq::index::sample;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::seeds::{hash_str, mix64};
use serde::Serialize;

/// How each instance's subset is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubsetKind {
    /// Each client draws `size` distinct backends uniformly at random, independently of the
    /// others (Finagle's random aperture without its load-driven resizing; a client that
    /// picks its backends alone).
    Random,
    /// Google's deterministic subsetting (SRE book, chapter 20, "Load Balancing in the
    /// Datacenter"): clients in rounds of `backends / size`, one shuffle per round, each
    /// client a distinct slice of it.
    Deterministic,
}

/// The accepted values of `kind`.
pub const SUBSET_KINDS: &[&str] = &["random", "deterministic"];

impl SubsetKind {
    /// The value as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            SubsetKind::Random => "random",
            SubsetKind::Deterministic => "deterministic",
        }
    }
}

/// `subset = { size, kind }`: every balancer instance sends only to `size` of the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Subsetting {
    /// Backends per instance (1 to the number of servers).
    pub size: u32,
    /// How the subsets are chosen.
    pub kind: SubsetKind,
}

impl Subsetting {
    /// The setup in a few words, e.g. `deterministic subsets of 10 servers`.
    pub fn describe(&self) -> String {
        format!("{} subsets of {} server{}", self.kind.name(), self.size, if self.size == 1 { "" } else { "s" })
    }
}

/// The subset of every client: `clients` lists of server indices below `servers`, each in
/// increasing order, drawn as `sub` says from the scenario seed `seed`.
pub fn draw(sub: &Subsetting, clients: u32, servers: usize, seed: u64) -> Vec<Vec<u32>> {
    let base = mix64(mix64(seed) ^ hash_str("subsets"));
    let size = sub.size as usize;
    assert!(size >= 1 && size <= servers, "validated subset size");
    match sub.kind {
        SubsetKind::Random => (0..clients)
            .map(|c| {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix64(base ^ hash_str(&format!("subsets/{c}"))));
                let mut s: Vec<u32> = sample(&mut rng, servers, size).into_iter().map(|k| k as u32).collect();
                s.sort_unstable();
                s
            })
            .collect(),
        SubsetKind::Deterministic => {
            let subset_count = servers / size;
            let mut shuffled: Vec<u32> = Vec::new();
            let mut shuffled_round = None;
            (0..clients as usize)
                .map(|c| {
                    let round = c / subset_count;
                    if shuffled_round != Some(round) {
                        let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix64(
                            base ^ hash_str(&format!("subsets/round/{round}")),
                        ));
                        shuffled = (0..servers as u32).collect();
                        shuffled.shuffle(&mut rng);
                        shuffled_round = Some(round);
                    }
                    let start = (c % subset_count) * size;
                    let mut s = shuffled[start..start + size].to_vec();
                    s.sort_unstable();
                    s
                })
                .collect()
        }
    }
}

/// How many clients' subsets hold each of `servers` servers.
pub fn clients_per_server(subsets: &[Vec<u32>], servers: usize) -> Vec<u32> {
    let mut count = vec![0u32; servers];
    for s in subsets.iter().flatten() {
        count[*s as usize] += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(size: u32, kind: SubsetKind) -> Subsetting {
        Subsetting { size, kind }
    }

    #[test]
    fn deterministic_300_by_300_subset_10_gives_every_backend_10_clients() {
        // The known answer: 30 rounds of 30 disjoint subsets cover every backend
        // once per round.
        let subsets = draw(&sub(10, SubsetKind::Deterministic), 300, 300, 1);
        assert!(subsets.iter().all(|s| s.len() == 10 && s.windows(2).all(|w| w[0] < w[1])));
        assert!(clients_per_server(&subsets, 300).iter().all(|&c| c == 10));
        // Each round's subsets are disjoint and the rounds shuffle differently.
        let round0: Vec<u32> = subsets[..30].iter().flatten().copied().collect();
        assert_eq!(round0.len(), 300);
        assert_ne!(subsets[0], subsets[30]);
        // The same seed draws the same subsets; another seed others.
        assert_eq!(subsets, draw(&sub(10, SubsetKind::Deterministic), 300, 300, 1));
        assert_ne!(subsets, draw(&sub(10, SubsetKind::Deterministic), 300, 300, 2));
    }

    #[test]
    fn deterministic_with_a_remainder_leaves_size_mod_out_per_round() {
        // 10 backends, subsets of 3: 3 subsets a round, one backend left out of each round.
        let subsets = draw(&sub(3, SubsetKind::Deterministic), 30, 10, 7);
        for round in subsets.chunks(3) {
            let mut used: Vec<u32> = round.iter().flatten().copied().collect();
            used.sort_unstable();
            used.dedup();
            assert_eq!(used.len(), 9, "{round:?}");
        }
        let per = clients_per_server(&subsets, 10);
        assert_eq!(per.iter().sum::<u32>(), 90);
        assert!(per.iter().all(|&c| c <= 10), "{per:?}");
    }

    #[test]
    fn random_subsets_of_90_give_binomial_300_03_clients_per_backend() {
        // Clients per backend: each of 300 clients holds a given backend with probability
        // 90/300 = 0.3, independently of the other clients: Binomial(300, 0.3), mean 90,
        // variance 63 (sd 7.94). The 300 backends' counts are exchangeable but sum to exactly
        // 300 × 90, so the sample mean is exactly 90, and two counts covary by
        // 300 × (90·89/(300·299) − 0.09) = −0.21: the sample variance S² (divisor n − 1) of
        // one draw has expectation 63 + 0.21 = 63 × 300/299 = 63.21 and, counts being
        // near-normal (excess kurtosis −0.004), a standard error of about
        // σ² √(2/(n − 1)) = 63 × 0.0819 = 5.16. Over 20 seeds the mean of S² has a standard
        // error of 5.16 / √20 = 1.15: accept 63.21 ± 4 standard errors (±4.6).
        let mut vars = Vec::new();
        for seed in 0..20 {
            let subsets = draw(&sub(90, SubsetKind::Random), 300, 300, seed);
            assert!(subsets.iter().all(|s| s.len() == 90 && s.windows(2).all(|w| w[0] < w[1])));
            let per = clients_per_server(&subsets, 300);
            let mean = per.iter().map(|&c| f64::from(c)).sum::<f64>() / 300.0;
            assert!((mean - 90.0).abs() < 1e-12, "{mean}");
            vars.push(per.iter().map(|&c| (f64::from(c) - mean).powi(2)).sum::<f64>() / 299.0);
        }
        let v = vars.iter().sum::<f64>() / vars.len() as f64;
        let expected = 63.0 * 300.0 / 299.0;
        assert!((v - expected).abs() < 4.6, "variance of clients per backend {v}, Binomial(300, 0.3) gives {expected}");
    }
}
