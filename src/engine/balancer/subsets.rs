//! `[balancers] subset`: each balancer instance (a client) sends only to the servers of its
//! own subset (drawn in `workload/subsets.rs`), not to be confused with the *members*, the
//! eligible servers the whole balancer's states are rebuilt over (parent module).
//!
//! With subsets every instance owns a [`ClientSubset`]: its strategy state is built over
//! the servers it may use now, and reads its view of the load (shared, local, periodic or
//! delayed, as without subsets) restricted to them. What it may use now:
//! - the servers of its subset that are eligible (health checks, outlier detection, a
//!   fault's crash window, an autoscaled place without a ready pod make a member
//!   ineligible, as a lame-duck or unhealthy backend is skipped within a subset); the
//!   subset itself is fixed over the declared server slots for the whole run;
//! - when none of its subset is eligible, every eligible server (the client widens to the
//!   whole pool rather than fail every request; Google's clients would have their subset
//!   recomputed over the backends that remain, which lbsim does not model); counted in
//!   [`Balancer::widened`];
//! - when no server at all is eligible, its whole subset (the balancer's panic mode, within
//!   the subset).
//!
//! A state is rebuilt only when what its instance may use changes (servers or slow-start
//! weights), so a change outside a client's subset leaves its round-robin position and
//! latency averages alone. If the strategy cannot be built over those servers (a parameter
//! such as `choices` larger than them), the instance picks among them at random (`random`)
//! and the rebuild counts as a fallback.
//!
//! Hash-based strategies (a pure function of the key and the pool, [`StrategyInfo::keyed`])
//! build one state per distinct set of servers (and weights): instances whose usable
//! servers are the same (a subset of every server, instances widened to the same eligible
//! servers, clients given the same subset) share it ([`Tables`]), as the instances of a
//! balancer without subsets share one. A state is dropped when its last instance leaves it.
//!
//! The instance's copy of its view is brought up to date when it picks: a strategy that
//! reads the pool at its picks sees exactly its view; one that keeps an index is told each
//! change at that pick (its index is exact when it picks, but IPVS's ended-connection
//! clock then starts at the pick instead of at the change).

use std::collections::HashMap;

use crate::strategy::{self, Pool, RequestView, ServerInfo, Strategy, StrategyRng};

use super::{Balancer, prepare};

/// One instance's subset, the servers it may use now, and its copy of its view of them.
pub(super) struct ClientSubset {
    /// The instance's subset (server indices, increasing), fixed for the run.
    subset: Vec<u32>,
    /// With an aperture: the weight of each server of `subset` in the instance's slice,
    /// used instead of the server's own.
    shares: Option<Vec<u32>>,
    /// The servers its strategy state is built over now (increasing).
    pub(super) map: Vec<usize>,
    /// Its view restricted to `map` (the weights those of the build).
    pool: Pool,
    /// Whether its state keeps an index of `pool`.
    pub(super) tracks: bool,
    /// Whether its state was built from a slow-start substitute.
    substituted: bool,
    /// Whether none of its subset is eligible and it uses every eligible server.
    widened: bool,
    /// The shared state it picks with (an index into [`Tables`]), when its strategy is
    /// hash-based; its instance's own state otherwise.
    pub(super) table: Option<usize>,
}

/// The state of an instance whose state lives elsewhere: until [`Balancer::set_subsets`]
/// builds it over the instance's subset, or shared in [`Tables`]. Never picks.
pub(super) struct Unbuilt;

impl Strategy for Unbuilt {
    fn pick(&mut self, _: &RequestView, _: &Pool, _: &mut StrategyRng) -> usize {
        unreachable!("an instance with subsets picks with the state built over its subset")
    }
}

/// What a shared hash-based state is built over: the servers, their weights, and whether
/// the slow-start substitute was used.
type TableKey = (Vec<usize>, Vec<u32>, bool);

/// The hash-based states of instances with subsets, one per distinct [`TableKey`].
#[derive(Default)]
pub(super) struct Tables {
    /// Each state and the instances that use it (`None`: a free slot).
    states: Vec<Option<(Box<dyn Strategy>, u32)>>,
    /// Where the state of each key is.
    index: HashMap<TableKey, usize>,
    keys: Vec<Option<TableKey>>,
}

impl Tables {
    /// The state in slot `t`.
    #[inline]
    pub(super) fn get(&mut self, t: usize) -> &mut dyn Strategy {
        self.states[t].as_mut().expect("a used table").0.as_mut()
    }

    /// Distinct states held.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.index.len()
    }

    /// One instance fewer uses slot `t`; the state is dropped with its last.
    fn release(&mut self, t: usize) {
        let slot = self.states[t].as_mut().expect("a used table");
        slot.1 -= 1;
        if slot.1 == 0 {
            self.states[t] = None;
            let key = self.keys[t].take().expect("a used table");
            self.index.remove(&key);
        }
    }

    /// The slot of `key`'s state, built with `build` unless held; `None` when it cannot be.
    fn acquire(&mut self, key: TableKey, build: impl FnOnce() -> Option<Box<dyn Strategy>>) -> Option<usize> {
        if let Some(&t) = self.index.get(&key) {
            self.states[t].as_mut().expect("a used table").1 += 1;
            return Some(t);
        }
        let st = build()?;
        let t = self.states.iter().position(Option::is_none).unwrap_or_else(|| {
            self.states.push(None);
            self.keys.push(None);
            self.states.len() - 1
        });
        self.states[t] = Some((st, 1));
        self.keys[t] = Some(key.clone());
        self.index.insert(key, t);
        Some(t)
    }
}

impl ClientSubset {
    /// Brings the copy of its view (each server's count by `count`, the oracle's start
    /// times `start_at`) up to date, telling an indexing `st` of each change at the
    /// request's arrival, and returns the server `st` picks for `req`.
    #[inline]
    pub(super) fn pick(
        &mut self,
        st: &mut dyn Strategy,
        req: &RequestView,
        count: impl Fn(usize) -> u32,
        start_at: Option<&[f64]>,
        rng: &mut strategy::StrategyRng,
    ) -> usize {
        for (k, &s) in self.map.iter().enumerate() {
            let c = count(s);
            if self.pool.in_flight[k] != c {
                self.pool.in_flight[k] = c;
                if self.tracks {
                    st.on_in_flight(k, c, req.arrival);
                }
            }
            if let Some(start_at) = start_at {
                let t = start_at[s];
                if self.pool.start_at[k] != t {
                    self.pool.start_at[k] = t;
                    if self.tracks {
                        st.on_start_at(k, t);
                    }
                }
            }
        }
        self.map[st.pick(req, &self.pool, rng)]
    }

    /// The position of server `s` among those the state is built over.
    #[inline]
    pub(super) fn position(&self, s: usize) -> Option<usize> {
        self.map.binary_search(&s).ok()
    }
}

impl Balancer {
    /// Gives instance `b` the subset `subsets[b]` (server indices, increasing) and builds
    /// every instance's state over its subset.
    #[cfg(test)]
    pub(in crate::engine) fn set_subsets(&mut self, subsets: Vec<Vec<u32>>) {
        self.set_drawn_subsets(crate::workload::subsets::Drawn { subsets, shares: None });
    }

    /// Gives instance `b` the subset `drawn.subsets[b]` and, with an aperture, the weights
    /// of its servers there (which then replace the servers' own), and builds every
    /// instance's state over its subset.
    pub(in crate::engine) fn set_drawn_subsets(&mut self, drawn: crate::workload::subsets::Drawn) {
        let subsets = drawn.subsets;
        assert!(!self.one_state && subsets.len() == self.count as usize, "one subset per instance");
        if let super::Views::Own(own) = &mut self.views {
            *own = subsets.iter().map(|s| super::OwnCounts::new(s)).collect();
        }
        let mut shares = drawn.shares.map(Vec::into_iter);
        let instances = std::iter::once(&mut self.first).chain(self.rest.iter_mut());
        for (inst, subset) in instances.zip(subsets) {
            inst.client = Some(ClientSubset {
                shares: shares.as_mut().map(|s| s.next().expect("shares for every instance")),
                subset,
                map: Vec::new(),
                pool: Pool::new(&[]),
                tracks: false,
                substituted: false,
                widened: false,
                table: None,
            });
        }
        self.rebuild_subsets();
    }

    /// With subsets: times an instance's whole subset became ineligible and it widened to
    /// every eligible server (`None` without subsets).
    pub(in crate::engine) fn subset_widened(&self) -> Option<u64> {
        self.first.client.is_some().then_some(self.widened)
    }

    /// The servers instance `b` may use now, when it has a subset.
    pub(super) fn client_servers(&self, b: u32) -> Option<&[usize]> {
        let inst = if self.one_state || b == 0 { &self.first } else { &self.rest[b as usize - 1] };
        inst.client.as_ref().map(|c| c.map.as_slice())
    }

    /// Rebuilds the state of every instance whose usable servers (or their weights, or the
    /// slow-start substitute) changed.
    pub(super) fn rebuild_subsets(&mut self) {
        let n = self.servers.len();
        let eligible: Vec<usize> = (0..n).filter(|&s| self.is_eligible(s)).collect();
        if eligible.is_empty() {
            self.panics += 1;
        }
        let ramping = eligible.iter().any(|&s| self.ramp[s] > 0);
        let (info, params) = self.strategy_for_rebuild(ramping);
        let params = &params;
        let scale = self.scale();
        let infos = |map: &[usize], c: &ClientSubset| -> Vec<ServerInfo> {
            map.iter()
                .map(|&s| {
                    let mut i = self.servers[s].clone();
                    // An aperture's server weighs its part of the instance's slice (not when
                    // the instance widened beyond its subset).
                    if let (Some(shares), Ok(k)) = (&c.shares, c.subset.binary_search(&(s as u32))) {
                        i.weight = shares[k];
                    }
                    if ramping {
                        let steps = if self.ramp[s] == 0 { scale } else { self.ramp[s] };
                        i.weight = i.weight.saturating_mul(steps);
                    }
                    i
                })
                .collect()
        };
        let (count, one_state, substituted) = (self.count, self.one_state, self.substituted);
        let mut rebuilt: Vec<(usize, Vec<usize>, Vec<ServerInfo>)> = Vec::new();
        let mut widened: Vec<bool> = Vec::with_capacity(count as usize);
        let instances = std::iter::once(&self.first).chain(self.rest.iter());
        for (b, inst) in instances.enumerate() {
            let c = inst.client.as_ref().expect("every instance has a subset");
            let mut map: Vec<usize> = c.subset.iter().map(|&s| s as usize).filter(|&s| self.is_eligible(s)).collect();
            widened.push(map.is_empty() && !eligible.is_empty());
            if map.is_empty() {
                map =
                    if eligible.is_empty() { c.subset.iter().map(|&s| s as usize).collect() } else { eligible.clone() };
            }
            let inf = infos(&map, c);
            let same = map == c.map
                && c.substituted == substituted
                && inf.iter().zip(&c.pool.weight).all(|(i, &w)| i.weight == w);
            if !same {
                rebuilt.push((b, map, inf));
            }
        }
        let instances = std::iter::once(&mut self.first).chain(self.rest.iter_mut());
        for (inst, w) in instances.zip(widened) {
            let c = inst.client.as_mut().expect("every instance has a subset");
            self.widened += u64::from(w && !c.widened);
            c.widened = w;
        }
        let random = strategy::lookup("random").expect("random is registered");
        for (b, map, inf) in rebuilt {
            let inst = if b == 0 { &mut self.first } else { &mut self.rest[b - 1] };
            let c = inst.client.as_mut().expect("every instance has a subset");
            if let Some(t) = c.table.take() {
                self.tables.release(t);
            }
            // A hash-based state is shared by the instances with the same servers (it holds
            // nothing of its own: no stagger, no index, nothing learnt from completions).
            let key = || (map.clone(), inf.iter().map(|i| i.weight).collect(), substituted);
            let rng = &mut self.rng;
            c.table = if info.keyed {
                self.tables.acquire(key(), || {
                    let mut st = (info.build)(params, &inf).ok()?;
                    prepare(st.as_mut(), rng, count, one_state);
                    (!st.tracks_pool()).then_some(st)
                })
            } else {
                None
            };
            let st = if c.table.is_some() {
                Box::new(Unbuilt)
            } else {
                let mut st = match (info.build)(params, &inf) {
                    Ok(st) => st,
                    Err(_) => {
                        self.fallbacks += 1;
                        (random.build)(&crate::strategy::Params::default(), &inf).expect("random builds over any pool")
                    }
                };
                prepare(st.as_mut(), rng, count, one_state);
                st
            };
            c.tracks = st.tracks_pool();
            c.pool = Pool::new(&inf);
            c.pool.in_flight.iter_mut().for_each(|x| *x = u32::MAX); // told in full at the next pick
            c.map = map;
            c.substituted = substituted;
            inst.strategy = st;
            inst.tracks = false;
        }
    }
}
