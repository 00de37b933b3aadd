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
//!   follow Binomial(clients, size / backends). This is also Finagle's random aperture of
//!   fixed size `size` (`RandomAperture`: the nodes ordered by a token drawn at random per
//!   node and process, the aperture their first `size`).
//! - `aperture`: Finagle's deterministic aperture ([`aperture`]): clients and backends on
//!   two rings, each client the slice of the backends' ring under its own; a backend at
//!   the slice's edge is in it for part of its arc, and the client weighs it by that part
//!   ([`Drawn::shares`]).

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
    /// Finagle's deterministic aperture (`WeightedAperture`): each client the slice of the
    /// backends' ring under its coordinate, the edge backends weighed by their part in it.
    Aperture,
}

/// The accepted values of `kind`.
pub const SUBSET_KINDS: &[&str] = &["random", "deterministic", "aperture"];

impl SubsetKind {
    /// The value as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            SubsetKind::Random => "random",
            SubsetKind::Deterministic => "deterministic",
            SubsetKind::Aperture => "aperture",
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

/// Every client's subset, and with `aperture` the weight of each of its servers.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    /// `clients` lists of server indices, each in increasing order.
    pub subsets: Vec<Vec<u32>>,
    /// `aperture` only: for each client, the weight of each server of its subset (in
    /// order): the part of the server's arc in the client's slice, in units of
    /// 1/[`SHARE_UNIT`] of the ring's whole width over the servers' count (an equal-weight
    /// server entirely inside weighs [`SHARE_UNIT`]).
    pub shares: Option<Vec<Vec<u32>>>,
}

/// The weight of a whole equal-weight server in an aperture ([`Drawn::shares`]).
pub const SHARE_UNIT: f64 = 65536.0;

/// The subset of every client: `clients` lists of server indices below `servers`, each in
/// increasing order, drawn as `sub` says from the scenario seed `seed` (servers of equal
/// weights).
pub fn draw(sub: &Subsetting, clients: u32, servers: usize, seed: u64) -> Vec<Vec<u32>> {
    draw_weighted(sub, clients, &vec![1; servers], seed).subsets
}

/// The subsets of `clients` clients over servers of weights `weights`, drawn as `sub` says
/// from the scenario seed `seed` (the weights matter to `aperture` only).
pub fn draw_weighted(sub: &Subsetting, clients: u32, weights: &[u32], seed: u64) -> Drawn {
    let servers = weights.len();
    let base = mix64(mix64(seed) ^ hash_str("subsets"));
    let size = sub.size as usize;
    assert!(size >= 1 && size <= servers, "validated subset size");
    let subsets = match sub.kind {
        SubsetKind::Aperture => {
            let (subsets, shares) = (0..clients).map(|c| aperture(size, c, clients, weights)).unzip();
            return Drawn { subsets, shares: Some(shares) };
        }
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
    };
    Drawn { subsets, shares: None }
}

/// Finagle's deterministic aperture for client `client` of `clients` over servers of
/// weights `weights`, logical aperture `size`: its servers (increasing) and their weights
/// ([`Drawn::shares`]).
///
/// As Finagle computes it (finagle-core `loadbalancer/aperture/`): the client's coordinate
/// is `ProcessCoordinate.FromInstanceId(client, clients)`: offset `client / clients`, unit
/// width `1 / clients`; the slice's width is `DeterministicAperture.dApertureWidth`:
/// `min(1, ceil((size / servers) / (1 / clients)) / clients)`, the smallest whole number of
/// client units covering `size` servers' worth of ring; the servers lie on their ring in
/// index order with arcs of their normalized weights, and `WeightedAperture.adjustWeights`
/// walks it from 0 to the slice's end, giving each server the part of its arc inside
/// [offset, offset + width). Servers with no part (or one that rounds to 0 of
/// [`SHARE_UNIT`]: a floating-point sliver Finagle keeps at a weight of about 10⁻¹⁷) are
/// not in the subset.
///
/// Finagle's `WeightedAperture` takes `size` from the `minDeterministicAperture` flag
/// (default 12, at most the servers); lbsim from `subset.size`. The ring's order is
/// lbsim's server order (Finagle's the order of the resolved addresses).
pub fn aperture(size: usize, client: u32, clients: u32, weights: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let n = weights.len();
    let sum: f64 = weights.iter().map(|&w| f64::from(w)).sum();
    let normalized: Vec<f64> =
        weights.iter().map(|&w| if sum == 0.0 { 1.0 / n as f64 } else { f64::from(w) / sum }).collect();
    // ProcessCoordinate.FromInstanceId
    let unit_width = 1.0 / f64::from(clients);
    let offset = (f64::from(client) * unit_width) % 1.0;
    // DeterministicAperture.dApertureWidth(unitWidth, 1 / servers, logicalAperture)
    let unit_aperture = size.min(n) as f64 * (1.0 / n as f64);
    let units = (unit_aperture / unit_width).ceil();
    let width = (units * unit_width).min(1.0);
    // WeightedAperture.adjustWeights(weights, offset, width)
    let (start, end) = (offset, offset + width);
    let mut part = vec![0.0f64; n];
    let mut position = 0.0;
    let mut idx = 0;
    while position < end {
        let w = normalized[idx];
        if position < start {
            if position + w >= start {
                part[idx] += width.min(w + position - start);
            }
        } else if position + w > end {
            part[idx] += end - position;
        } else {
            part[idx] += w;
        }
        position += w;
        idx = (idx + 1) % n;
    }
    let mut servers = Vec::new();
    let mut shares = Vec::new();
    for (s, p) in part.iter().enumerate() {
        let share = (p * n as f64 * SHARE_UNIT).round();
        if share >= 1.0 {
            servers.push(s as u32);
            shares.push(share.min(f64::from(u32::MAX)) as u32);
        }
    }
    (servers, shares)
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

    /// The load each server gets when every client sends the same share of the requests
    /// and spreads them over its subset in proportion to its weights there.
    fn aperture_load(drawn: &Drawn, servers: usize) -> Vec<f64> {
        let mut load = vec![0.0; servers];
        let clients = drawn.subsets.len() as f64;
        for (sub, shares) in drawn.subsets.iter().zip(drawn.shares.as_ref().unwrap()) {
            let total: f64 = shares.iter().map(|&x| f64::from(x)).sum();
            for (&s, &x) in sub.iter().zip(shares) {
                load[s as usize] += f64::from(x) / total / clients;
            }
        }
        load
    }

    #[test]
    fn aperture_over_equal_rings_gives_every_server_its_share_of_load() {
        // 300 clients × 300 servers, aperture 12: each slice is exactly 12 servers, every
        // server in 12 slices, each wholly.
        let sub = Subsetting { size: 12, kind: SubsetKind::Aperture };
        let drawn = draw_weighted(&sub, 300, &[1; 300], 1);
        assert!(drawn.subsets.iter().all(|s| s.len() == 12), "{:?}", drawn.subsets.iter().map(Vec::len).max());
        assert!(clients_per_server(&drawn.subsets, 300).iter().all(|&c| c == 12));
        assert!(drawn.shares.as_ref().unwrap().iter().flatten().all(|&x| x == SHARE_UNIT as u32));
        // The slices are contiguous on the ring, client c's from server c (the ring wraps).
        assert_eq!(drawn.subsets[0], (0..12).collect::<Vec<u32>>());
        assert_eq!(drawn.subsets[295], [0, 1, 2, 3, 4, 5, 6, 295, 296, 297, 298, 299]);
        // Not drawn: the same for every seed.
        assert_eq!(drawn, draw_weighted(&sub, 300, &[1; 300], 2));
    }

    #[test]
    fn aperture_slices_cover_the_ring_evenly_whatever_the_counts() {
        // Finagle's bound: the client slices, each `ceil(size·clients/servers)` client units
        // wide, start at every client unit, so they cover each point of the ring exactly
        // that many times; a server's load (clients sending alike, by weight in their
        // slice) is then exactly its arc: 1/servers with equal weights, w/Σw otherwise. The
        // shares are rounded to 1/65536 of a server, so within ~1e-4 relative.
        for (clients, servers, size) in
            [(7u32, 20usize, 3usize), (300, 300, 10), (300, 1000, 12), (1000, 300, 5), (3, 100, 20)]
        {
            let sub = Subsetting { size: size as u32, kind: SubsetKind::Aperture };
            let drawn = draw_weighted(&sub, clients, &vec![1; servers], 9);
            let units = (size as f64 * f64::from(clients) / servers as f64).ceil();
            for (c, s) in drawn.subsets.iter().enumerate() {
                // A slice of `units` client units holds units·servers/clients servers' worth.
                let worth: f64 = drawn.shares.as_ref().unwrap()[c].iter().map(|&x| f64::from(x) / SHARE_UNIT).sum();
                let want = (units * servers as f64 / f64::from(clients)).min(servers as f64);
                assert!((worth - want).abs() < 1e-3 * want, "{clients}×{servers}: client {c} {worth} vs {want}");
                assert!(s.len() >= size.min(servers));
            }
            for (j, l) in aperture_load(&drawn, servers).iter().enumerate() {
                let want = 1.0 / servers as f64;
                assert!(
                    (l - want).abs() < 2e-4 * want,
                    "{clients}×{servers} aperture {size}: server {j} {l} vs {want}"
                );
            }
        }
        // Unequal weights: arcs in proportion to weight.
        let weights: Vec<u32> = (0..40).map(|i| 1 + i % 3).collect();
        let total: u32 = weights.iter().sum();
        let drawn = draw_weighted(&Subsetting { size: 6, kind: SubsetKind::Aperture }, 25, &weights, 0);
        for (j, l) in aperture_load(&drawn, 40).iter().enumerate() {
            let want = f64::from(weights[j]) / f64::from(total);
            assert!((l - want).abs() < 2e-4 * want, "server {j}: {l} vs {want}");
        }
    }
}
