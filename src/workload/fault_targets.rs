//! The per-replication draw of the servers a group fault hits.
//!
//! A `[[faults]]` entry naming a group (`group = "web", count = 2`) hits servers chosen at
//! random per replication. They are drawn here, with the other per-replication randomness,
//! from their own seeded stream: every strategy of a replication sees the same servers fail
//! (common random numbers), and adding or removing another fault changes no other draw.

use std::ops::Range;

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::seeds::Seeds;

/// The servers fault number `fault` hits in the replication of `seeds`: `count` distinct
/// servers of the group `servers` (its range of server indices), in increasing order, drawn
/// from the stream `faults/<fault>`.
pub fn pick_servers(seeds: &Seeds, fault: usize, servers: Range<usize>, count: usize) -> Vec<usize> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seeds.stream(&format!("faults/{fault}")));
    let mut picked: Vec<usize> =
        sample(&mut rng, servers.len(), count).into_iter().map(|k| servers.start + k).collect();
    picked.sort_unstable();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_distinct_servers_of_the_group_the_same_for_a_replication() {
        let seeds = Seeds::new(42, 0);
        let a = pick_servers(&seeds, 0, 10..20, 4);
        assert_eq!(a.len(), 4);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a.iter().all(|s| (10..20).contains(s)), "{a:?}");
        assert_eq!(a, pick_servers(&Seeds::new(42, 0), 0, 10..20, 4));
        // Another replication or another fault draws from another stream.
        let others: Vec<Vec<usize>> = (1..20)
            .map(|r| pick_servers(&Seeds::new(42, r), 0, 10..20, 4))
            .chain([pick_servers(&seeds, 1, 10..20, 4)])
            .collect();
        assert!(others.iter().any(|o| *o != a));
    }
}
