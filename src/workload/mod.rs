//! The synthetic workload: the request stream every strategy sees, and seed derivation.
//!
//! Common random numbers: arrivals, service demands and request keys come from their own
//! seeded streams, regenerated identically for every strategy (nothing is stored per request), so
//! every strategy is compared on exactly the same requests.

pub mod arrivals;
pub mod keys;
pub mod seeds;
pub mod service;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::scenario::Scenario;
use arrivals::ArrivalGen;
use keys::KeySampler;
use service::Sampler;

/// One generated request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    /// Sequence number (0-based).
    pub id: u64,
    /// Arrival time in seconds.
    pub arrival: f64,
    /// Service demand at speed 1, in seconds.
    pub demand: f64,
    /// Key id: `0..count` with `[keys]`, else the request id (every key distinct).
    pub key: u64,
    /// The key's 64-bit hash, what hash-based strategies route by.
    pub hash: u64,
}

/// The request stream of one replication of a scenario.
pub struct RequestStream {
    next_id: u64,
    total: u64,
    arrivals: ArrivalGen,
    service: Sampler,
    arrival_rng: Xoshiro256PlusPlus,
    service_rng: Xoshiro256PlusPlus,
    keys: Option<KeySampler>,
    key_rng: Xoshiro256PlusPlus,
    key_salt: u64,
}

impl RequestStream {
    /// The stream of replication `replication` of `scenario`.
    pub fn new(scenario: &Scenario, replication: u32) -> Self {
        let seeds = seeds::Seeds::new(scenario.seed, replication);
        RequestStream {
            next_id: 0,
            total: scenario.requests,
            arrivals: ArrivalGen::new(&scenario.arrivals),
            service: scenario.service.sampler().expect("validated scenario"),
            arrival_rng: Xoshiro256PlusPlus::seed_from_u64(seeds.arrivals()),
            service_rng: Xoshiro256PlusPlus::seed_from_u64(seeds.service()),
            keys: scenario.keys.as_ref().map(KeySampler::new),
            key_rng: Xoshiro256PlusPlus::seed_from_u64(seeds.keys()),
            key_salt: seeds.key_hash(),
        }
    }

    /// Requests not yet generated.
    pub fn remaining(&self) -> u64 {
        self.total - self.next_id
    }
}

impl Iterator for RequestStream {
    type Item = Request;

    #[inline]
    fn next(&mut self) -> Option<Request> {
        if self.next_id == self.total {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let arrival = self.arrivals.next(&mut self.arrival_rng);
        let demand = self.service.sample(&mut self.service_rng);
        let key = match &self.keys {
            Some(k) => k.sample(&mut self.key_rng),
            None => id,
        };
        Some(Request { id, arrival, demand, key, hash: keys::key_hash(key, self.key_salt) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(keys: &str) -> Scenario {
        let text = format!(
            "requests = 2000\nstrategies = [\"random\"]\n[arrivals]\nprocess = \"poisson\"\nrate = 1.0\n\
             [service]\ndistribution = \"exponential\"\nmean = \"1s\"\n{keys}\n[[servers]]\nname = \"s\"\n"
        );
        Scenario::parse(&text, None).unwrap()
    }

    #[test]
    fn keys_do_not_disturb_arrivals_or_demands() {
        let plain: Vec<Request> = RequestStream::new(&scenario(""), 0).collect();
        let keyed: Vec<Request> =
            RequestStream::new(&scenario("[keys]\ncount = 50\ndistribution = \"zipf\""), 0).collect();
        assert!(plain.iter().zip(&keyed).all(|(a, b)| a.arrival == b.arrival && a.demand == b.demand));
        // Without [keys] every request has its own key; with them keys repeat.
        assert!(plain.iter().all(|r| r.key == r.id));
        assert!(keyed.iter().all(|r| r.key < 50));
        // Same key, same hash within a replication; the salt changes across replications.
        let k0 = keyed.iter().find(|r| r.key == 0).unwrap().hash;
        assert!(keyed.iter().filter(|r| r.key == 0).all(|r| r.hash == k0));
        let other = RequestStream::new(&scenario("[keys]\ncount = 50\ndistribution = \"zipf\""), 1)
            .find(|r| r.key == 0)
            .unwrap();
        assert_ne!(other.hash, k0);
    }
}
