//! Which balancer instance each request reaches (`[balancers] assign`).
//!
//! With several balancer instances (nginx workers, ingress replicas, client-side sidecars)
//! every request is handled by one of them. The instance is drawn per request, in request
//! order, from a stream of its own (`balancers` seed), so every strategy sees the same
//! assignment (common random numbers); retries of a request go through the same instance.
//!
//! - `random`: each request from a uniformly chosen instance (clients behind DNS, many
//!   independent sidecars);
//! - `round-robin`: instances in turn (a layer-4 balancer spreading connections evenly);
//! - `runs`: runs of consecutive requests to one instance, of geometric length with the
//!   given mean, each run on an instance other than the previous one — the pattern of nginx
//!   workers taking turns on the accept queue (measured: runs of about 13 connections).
//!
//! With `shares` (unequal instances, such as nginx workers of which two take most
//! connections) each request (`random`) or each run (`runs`) goes to an instance drawn in
//! proportion to the shares, so each instance's long-run share of the requests is its
//! share. A run may then be drawn on the instance of the previous one: runs seen on
//! instance i (consecutive requests there) last `run_length / (1 − share_i)` on average,
//! and all runs seen `run_length / (1 − Σ share²)`.

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// How requests are spread over the balancer instances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Assign {
    /// A uniformly random instance per request.
    Random,
    /// Instances in turn.
    RoundRobin,
    /// Runs of geometric length with this mean (≥ 1) on one instance, then another.
    Runs {
        /// Mean run length, requests.
        mean: f64,
    },
}

/// The accepted values of `assign`.
pub const ASSIGN: &[&str] = &["random", "round-robin", "runs"];

impl Assign {
    /// The value as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            Assign::Random => "random",
            Assign::RoundRobin => "round-robin",
            Assign::Runs { .. } => "runs",
        }
    }
}

/// The instance of each request, in request order.
#[derive(Debug, Clone)]
pub struct Assigner {
    how: Assign,
    count: u32,
    /// Instance of the previous request.
    current: u32,
    /// Requests assigned so far.
    assigned: u64,
    rng: Xoshiro256PlusPlus,
    /// Cumulative shares (unequal instances), the last one 1.
    cumulative: Option<Vec<f64>>,
}

impl Assigner {
    /// Requests spread over `count` (≥ 1) instances as `how` says, drawing from a stream
    /// seeded with `seed`.
    pub fn new(how: Assign, count: u32, seed: u64) -> Self {
        assert!(count >= 1, "at least one balancer instance");
        Assigner { how, count, current: 0, assigned: 0, rng: Xoshiro256PlusPlus::seed_from_u64(seed), cumulative: None }
    }

    /// Instances drawn in proportion to `shares` (one per instance, summing to 1) instead
    /// of uniformly, and a new run drawn among all of them (see the module documentation);
    /// `None` changes nothing.
    pub fn with_shares(mut self, shares: Option<&[f64]>) -> Self {
        self.cumulative = shares.map(|s| {
            let mut acc = 0.0;
            let mut c: Vec<f64> = s
                .iter()
                .map(|x| {
                    acc += x;
                    acc
                })
                .collect();
            if let Some(last) = c.last_mut() {
                *last = 1.0;
            }
            c
        });
        self
    }

    /// An instance drawn by the shares.
    fn draw_share(&mut self, cumulative: &[f64]) -> u32 {
        let u: f64 = self.rng.random();
        (cumulative.partition_point(|&c| c <= u) as u32).min(self.count - 1)
    }

    /// The instance of the next request (`0..count`).
    #[inline]
    pub fn next_instance(&mut self) -> u32 {
        let first = self.assigned == 0;
        self.assigned += 1;
        if self.count == 1 {
            return 0;
        }
        if let Some(cumulative) = self.cumulative.take() {
            let new_run = match self.how {
                Assign::Runs { mean } => first || self.rng.random::<f64>() * mean < 1.0,
                _ => true,
            };
            if new_run {
                self.current = self.draw_share(&cumulative);
            }
            self.cumulative = Some(cumulative);
            return self.current;
        }
        self.current = match self.how {
            Assign::Random => self.rng.random_range(0..self.count),
            Assign::RoundRobin => {
                if first {
                    0
                } else {
                    (self.current + 1) % self.count
                }
            }
            Assign::Runs { mean } => {
                if first {
                    self.rng.random_range(0..self.count)
                } else if self.rng.random::<f64>() * mean < 1.0 {
                    // A run ends with probability 1/mean after each request (geometric
                    // lengths, mean `mean`); the next run is on one of the other instances.
                    let k = self.rng.random_range(0..self.count - 1);
                    if k >= self.current { k + 1 } else { k }
                } else {
                    self.current
                }
            }
        };
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shares hold per request (random) and per run (runs); runs seen last
    /// `run_length / (1 − Σ share²)` on average.
    #[test]
    fn shares_give_each_instance_its_share() {
        let shares = [0.47, 0.45, 0.05, 0.03];
        let n = 400_000;
        for how in [Assign::Random, Assign::Runs { mean: 1.2 }] {
            let mut a = Assigner::new(how, 4, 3).with_shares(Some(&shares));
            let d: Vec<u32> = (0..n).map(|_| a.next_instance()).collect();
            for (i, &p) in shares.iter().enumerate() {
                let got = d.iter().filter(|&&x| x == i as u32).count() as f64 / n as f64;
                // Runs: requests come in runs of mean 1.2, so the standard error is larger by
                // about √(2 × 1.2) (geometric lengths); 5 of those.
                let se = (p * (1.0 - p) / n as f64).sqrt() * 1.6;
                assert!((got - p).abs() < 5.0 * se, "{how:?} instance {i}: {got} vs {p}");
            }
            if let Assign::Runs { mean } = how {
                let runs = 1 + d.windows(2).filter(|w| w[0] != w[1]).count();
                let seen = n as f64 / runs as f64;
                let want = mean / (1.0 - shares.iter().map(|s| s * s).sum::<f64>());
                assert!((seen - want).abs() < 0.02 * want, "runs seen {seen}, want {want}");
            }
        }
    }

    fn draws(how: Assign, count: u32, n: usize) -> Vec<u32> {
        let mut a = Assigner::new(how, count, 7);
        (0..n).map(|_| a.next_instance()).collect()
    }

    #[test]
    fn round_robin_cycles_and_one_instance_is_always_zero() {
        assert_eq!(draws(Assign::RoundRobin, 3, 7), vec![0, 1, 2, 0, 1, 2, 0]);
        assert!(draws(Assign::Runs { mean: 5.0 }, 1, 100).iter().all(|&i| i == 0));
    }

    #[test]
    fn random_is_uniform() {
        let n = 100_000;
        let mut counts = [0u32; 4];
        for i in draws(Assign::Random, 4, n) {
            counts[i as usize] += 1;
        }
        let sd = (n as f64 * 0.25 * 0.75).sqrt();
        assert!(counts.iter().all(|&c| (f64::from(c) - n as f64 / 4.0).abs() < 5.0 * sd), "{counts:?}");
    }

    #[test]
    fn runs_have_the_mean_length_and_always_change_instance() {
        let d = draws(Assign::Runs { mean: 13.0 }, 2, 400_000);
        let runs = 1 + d.windows(2).filter(|w| w[0] != w[1]).count();
        let mean = d.len() as f64 / runs as f64;
        // Geometric run lengths with mean m have sd √(m(m−1)); the mean of `runs` of them
        // has standard error sd/√runs.
        let se = (13.0f64 * 12.0).sqrt() / (runs as f64).sqrt();
        assert!((mean - 13.0).abs() < 5.0 * se, "mean run {mean}, se {se}");
        // With several instances a run never continues on the same one.
        let d = draws(Assign::Runs { mean: 2.0 }, 3, 10_000);
        let mut a = Assigner::new(Assign::Runs { mean: 1.0 }, 3, 1);
        let mut prev = a.next_instance();
        for _ in 0..1000 {
            let i = a.next_instance();
            assert_ne!(i, prev, "mean 1: every request starts a new run");
            prev = i;
        }
        assert!(d.iter().all(|&i| i < 3));
    }
}
