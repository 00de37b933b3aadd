//! The synthetic workload: the request stream every strategy sees, and seed derivation.
//!
//! Common random numbers: arrivals, service demands and request keys come from their own
//! seeded streams, regenerated identically for every strategy (nothing is stored per request), so
//! every strategy is compared on exactly the same requests. In a closed loop the arrival
//! times depend on the system, but the n-th request still gets the same demand, key and
//! think time after it, whatever the strategy.

pub mod arrival_gen;
pub mod assign;
pub mod clients;
pub mod fault_targets;
pub mod keys;
pub mod rate;
pub mod seeds;
pub mod service;
pub mod subsets;
pub mod trace_rows;

use std::sync::Arc;

use rand::SeedableRng;
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

use arrival_gen::ArrivalGen;
use keys::{KeySampler, KeySpace};
use service::ServiceDist;
use trace_rows::Trace;

/// What a request stream is generated from: the scenario's workload sections, validated.
#[derive(Debug, Clone)]
pub struct Workload<'a> {
    /// Base seed; every stream is derived from it and the replication.
    pub seed: u64,
    /// Requests generated per replication.
    pub requests: u64,
    /// The generator of the arrival times, at time 0 (the process's
    /// [`generator`](crate::scenario::arrivals::Process::generator)).
    pub arrivals: ArrivalGen,
    /// The trace replayed, if any: it gives the arrival times (and demands and keys where
    /// it has them).
    pub trace: Option<&'a Arc<Trace>>,
    /// Service demand at speed 1.
    pub service: &'a ServiceDist,
    /// The key space; `None`: every request has a key of its own.
    pub keys: Option<&'a KeySpace>,
}

/// One generated request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    /// Sequence number (0-based).
    pub id: u64,
    /// Arrival time in seconds.
    pub arrival: f64,
    /// Service demand at speed 1, in seconds.
    pub demand: f64,
    /// Key id: `0..count` with `[keys]` (or a trace's `key` column, numbered in order of
    /// first appearance), else the request id (every key distinct).
    pub key: u64,
    /// The key's 64-bit hash, what hash-based strategies route by (0 in a stream
    /// [without hashes](RequestStream::without_hashes)).
    pub hash: u64,
}

/// The request stream of one replication of a scenario.
#[derive(Debug)]
pub struct RequestStream {
    next_id: u64,
    total: u64,
    arrivals: ArrivalGen,
    trace: Option<Arc<Trace>>,
    service: ServiceDist,
    arrival_rng: Xoshiro256PlusPlus,
    service_rng: Xoshiro256PlusPlus,
    keys: Option<KeySampler>,
    key_rng: Xoshiro256PlusPlus,
    key_salt: u64,
    /// Whether requests carry their key's hash (else 0).
    hashes: bool,
}

impl RequestStream {
    /// The stream of replication `replication` of `workload`.
    pub fn new(workload: &Workload<'_>, replication: u32) -> Self {
        let seeds = seeds::Seeds::new(workload.seed, replication);
        RequestStream {
            next_id: 0,
            total: workload.requests,
            arrivals: workload.arrivals.clone(),
            trace: workload.trace.cloned(),
            service: *workload.service,
            arrival_rng: Xoshiro256PlusPlus::seed_from_u64(seeds.arrivals()),
            service_rng: Xoshiro256PlusPlus::seed_from_u64(seeds.service()),
            keys: workload.keys.map(KeySampler::new),
            key_rng: Xoshiro256PlusPlus::seed_from_u64(seeds.keys()),
            key_salt: seeds.key_hash(),
            hashes: true,
        }
    }

    /// The same stream with every [`Request::hash`] 0: for a strategy that does not route
    /// by key, which then spends nothing on hashing (the keys, arrivals and demands are
    /// unchanged).
    pub fn without_hashes(mut self) -> Self {
        self.hashes = false;
        self
    }

    /// `key`'s hash, or 0 without hashes.
    #[inline(always)]
    fn hash(&self, key: u64) -> u64 {
        if self.hashes { keys::key_hash(key, self.key_salt) } else { 0 }
    }

    /// The key id and hash of request `id`.
    #[inline(always)]
    fn key(&mut self, id: u64) -> (u64, u64) {
        let key = match &self.keys {
            Some(k) => k.sample(&mut self.key_rng),
            None => id,
        };
        (key, self.hash(key))
    }

    /// Requests not yet generated.
    pub fn remaining(&self) -> u64 {
        self.total - self.next_id
    }

    /// The next request, arriving at `arrival` (a closed loop's clients decide when).
    #[inline]
    pub fn next_at(&mut self, arrival: f64) -> Option<Request> {
        if self.next_id == self.total {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let demand = self.service.sample(&mut self.service_rng);
        let (key, hash) = self.key(id);
        Some(Request { id, arrival, demand, key, hash })
    }

    #[inline(never)]
    fn next_from_trace(&mut self) -> Request {
        let t = self.trace.as_ref().expect("trace");
        let i = self.next_id as usize;
        self.next_id += 1;
        let given = t.service.as_ref().map_or(f64::NAN, |s| s[i]);
        let demand = if given.is_nan() { self.service.sample(&mut self.service_rng) } else { given };
        let arrival = t.times[i];
        let (key, hash) = match t.keys.as_ref().map(|k| k[i]) {
            Some(k) => (k, self.hash(k)),
            None => self.key(i as u64),
        };
        Request { id: i as u64, arrival, demand, key, hash }
    }
}

impl Iterator for RequestStream {
    type Item = Request;

    #[inline(always)]
    fn next(&mut self) -> Option<Request> {
        if self.next_id == self.total {
            return None;
        }
        if self.trace.is_some() {
            return Some(self.next_from_trace());
        }
        let id = self.next_id;
        self.next_id += 1;
        let arrival = self.arrivals.next(&mut self.arrival_rng);
        let demand = self.service.sample(&mut self.service_rng);
        let (key, hash) = self.key(id);
        Some(Request { id, arrival, demand, key, hash })
    }
}

/// Draws a value for a given request id from a distribution, independently of every
/// other draw: the stream is seeded by (seed, id), so the same request gets the same
/// value whichever strategy, retry or order asks for it (used for per-group service
/// overrides).
#[derive(Debug, Clone, Copy)]
pub struct PerRequestSampler {
    dist: ServiceDist,
    seed: u64,
}

impl PerRequestSampler {
    /// Draws from `dist`, seeded by `seed` and the request id.
    pub fn new(dist: ServiceDist, seed: u64) -> Self {
        PerRequestSampler { dist, seed }
    }

    /// The value for request `id`.
    #[inline]
    pub fn sample(&self, id: u64) -> f64 {
        let mut rng = SplitMix64::seed_from_u64(seeds::mix64(self.seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        self.dist.sample(&mut rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keys::KeyPopularity;

    fn stream(keys: Option<&KeySpace>, replication: u32) -> Vec<Request> {
        let arrivals = ArrivalGen::Poisson { gap: rand_distr::Exp::new(1.0).unwrap(), t: 0.0 };
        let service = ServiceDist::from(service::Exponential::new(1.0).unwrap());
        let workload = Workload { seed: 1, requests: 2000, arrivals, trace: None, service: &service, keys };
        RequestStream::new(&workload, replication).collect()
    }

    #[test]
    fn keys_do_not_disturb_arrivals_or_demands() {
        let space = KeySpace { count: 50, popularity: KeyPopularity::Zipf { exponent: 1.0 } };
        let plain = stream(None, 0);
        let keyed = stream(Some(&space), 0);
        assert!(plain.iter().zip(&keyed).all(|(a, b)| a.arrival == b.arrival && a.demand == b.demand));
        // Without [keys] every request has its own key; with them keys repeat.
        assert!(plain.iter().all(|r| r.key == r.id));
        assert!(keyed.iter().all(|r| r.key < 50));
        // Same key, same hash within a replication; the salt changes across replications.
        let k0 = keyed.iter().find(|r| r.key == 0).unwrap().hash;
        assert!(keyed.iter().filter(|r| r.key == 0).all(|r| r.hash == k0));
        let other = stream(Some(&space), 1).into_iter().find(|r| r.key == 0).unwrap();
        assert_ne!(other.hash, k0);
    }
}
