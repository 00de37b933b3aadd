//! The balancer's state: the views of the load its instances read and each instance's
//! strategy state (see the parent module for what they model).

use std::collections::VecDeque;

use super::subsets::ClientSubset;
use crate::strategy::{Pool, ServerInfo, Strategy};

/// A view of the load, and the subset of it the strategies read while eligibility
/// restricts the pool.
#[derive(Clone)]
pub(super) struct ViewPool {
    pub(super) full: Pool,
    /// The members' part, renumbered (`Some` exactly while [`super::Balancer::members`] is).
    pub(super) sub: Option<Pool>,
}

impl ViewPool {
    pub(super) fn new(servers: &[ServerInfo]) -> Self {
        ViewPool { full: Pool::new(servers), sub: None }
    }

    /// Adds `delta` to the count of server `s`, at position `pos` among the members.
    #[inline(always)]
    pub(super) fn add(&mut self, s: usize, pos: Option<u32>, delta: i32) {
        let c = &mut self.full.in_flight[s];
        *c = c.checked_add_signed(delta).expect("in-flight counts stay ≥ 0");
        if let (Some(sub), Some(p)) = (&mut self.sub, pos) {
            let c = &mut sub.in_flight[p as usize];
            *c = c.checked_add_signed(delta).expect("in-flight counts stay ≥ 0");
        }
    }

    /// Copies the counts of `from` (the same servers and members).
    pub(super) fn copy_counts(&mut self, from: &ViewPool) {
        self.full.in_flight.copy_from_slice(&from.full.in_flight);
        if let (Some(to), Some(from)) = (&mut self.sub, &from.sub) {
            to.in_flight.copy_from_slice(&from.in_flight);
        }
    }

    /// Re-derives the members' part after a change of eligibility.
    pub(super) fn resubset(&mut self, members: Option<&Members>) {
        self.sub = members.map(|m| self.full.subset(&m.map, &m.infos));
    }
}

/// With subsets and the local view: an instance's own outstanding requests, per server of
/// its subset and per other server it used while widened (a short list, emptied as they
/// are answered). Its memory grows with the subset's size, not the pool's: 10,000
/// instances × 1,000 servers held a whole-pool [`ViewPool`] (24 bytes a server) each,
/// 240 MB.
#[derive(Default)]
pub(super) struct OwnCounts {
    /// The instance's subset (server indices, increasing).
    subset: Vec<u32>,
    /// Outstanding requests at each server of `subset`.
    counts: Vec<u32>,
    /// (server, outstanding) at servers outside `subset`, none at 0.
    others: Vec<(u32, u32)>,
}

impl OwnCounts {
    /// No request outstanding, over `subset` (increasing).
    pub(super) fn new(subset: &[u32]) -> Self {
        OwnCounts { subset: subset.to_vec(), counts: vec![0; subset.len()], others: Vec::new() }
    }

    /// The instance's outstanding requests at server `s`.
    #[inline]
    pub(super) fn get(&self, s: usize) -> u32 {
        match self.subset.binary_search(&(s as u32)) {
            Ok(k) => self.counts[k],
            Err(_) => self.others.iter().find(|o| o.0 as usize == s).map_or(0, |o| o.1),
        }
    }

    /// Adds `delta` to the count of server `s`.
    #[inline]
    pub(super) fn add(&mut self, s: usize, delta: i32) {
        let c = match self.subset.binary_search(&(s as u32)) {
            Ok(k) => &mut self.counts[k],
            Err(_) => {
                let k = match self.others.iter().position(|o| o.0 as usize == s) {
                    Some(k) => k,
                    None => {
                        self.others.push((s as u32, 0));
                        self.others.len() - 1
                    }
                };
                let c = &mut self.others[k].1;
                *c = c.checked_add_signed(delta).expect("in-flight counts stay ≥ 0");
                if *c == 0 {
                    self.others.swap_remove(k);
                }
                return;
            }
        };
        *c = c.checked_add_signed(delta).expect("in-flight counts stay ≥ 0");
    }
}

/// The eligible servers while they are not the whole pool (or some are ramping up).
pub(super) struct Members {
    /// Real server index of each member.
    pub(super) map: Vec<usize>,
    /// Position of each real server among the members (`None`: not a member).
    pub(super) pos: Vec<Option<u32>>,
    /// The members as the strategies are built over them (slow-start weights).
    pub(super) infos: Vec<ServerInfo>,
}

/// The strategy an instance runs over the members.
pub(super) enum SubStrategy {
    /// Every server is eligible: the full-pool strategy runs.
    None,
    /// Built over the members.
    Built(Box<dyn Strategy>),
    /// Not buildable over the members: the full-pool strategy runs and its picks of
    /// ineligible servers are remapped at random.
    Fallback,
}

/// The strategy state of one balancer instance.
pub(super) struct Instance {
    /// Over the whole pool.
    pub(super) strategy: Box<dyn Strategy>,
    /// Over the eligible members.
    pub(super) sub: SubStrategy,
    /// Whether `strategy` keeps an index of its pool (told of every change of its view).
    pub(super) tracks: bool,
    /// Whether the [`SubStrategy::Built`] state does.
    pub(super) sub_tracks: bool,
    /// With `[balancers] subset`: the instance's subset; `strategy` is then built over the
    /// servers of it that it may use now, and `sub` is unused.
    pub(super) client: Option<ClientSubset>,
}

impl Instance {
    /// A fresh state over the whole pool.
    pub(super) fn new(strategy: Box<dyn Strategy>) -> Self {
        let tracks = strategy.tracks_pool();
        Instance { strategy, sub: SubStrategy::None, tracks, sub_tracks: false, client: None }
    }

    /// Whether either of its states keeps an index.
    pub(super) fn tracking(&self) -> bool {
        self.tracks || self.sub_tracks
    }

    /// Tells the tracking states that the count of server `s` (member `pos`) in `pool`, the
    /// view they read, has changed (learnt at `now`).
    #[inline]
    pub(super) fn count_changed(&mut self, s: usize, pos: Option<u32>, pool: &ViewPool, now: f64) {
        if self.tracks {
            self.strategy.on_in_flight(s, pool.full.in_flight[s], now);
        }
        if self.sub_tracks
            && let (SubStrategy::Built(st), Some(p), Some(sub)) = (&mut self.sub, pos, &pool.sub)
        {
            st.on_in_flight(p as usize, sub.in_flight[p as usize], now);
        }
    }

    /// Tells the tracking states that the oracle's start time of `s` (member `pos`) is `t`.
    #[inline]
    pub(super) fn start_changed(&mut self, s: usize, pos: Option<u32>, t: f64) {
        if self.tracks {
            self.strategy.on_start_at(s, t);
        }
        if self.sub_tracks
            && let (SubStrategy::Built(st), Some(p)) = (&mut self.sub, pos)
        {
            st.on_start_at(p as usize, t);
        }
    }
}

/// The servers whose counts differ between `a` and `b` (the same servers).
pub(super) fn differing(a: &ViewPool, b: &ViewPool) -> Vec<usize> {
    a.full.in_flight.iter().zip(&b.full.in_flight).enumerate().filter(|(_, (x, y))| x != y).map(|(s, _)| s).collect()
}

/// Copies the counts of `from` into `to`, telling `inst` (which reads `to`) of each change
/// when it keeps an index.
pub(super) fn copy_telling(
    to: &mut ViewPool,
    from: &ViewPool,
    inst: &mut Instance,
    members: Option<&Members>,
    now: f64,
) {
    if !inst.tracking() {
        return to.copy_counts(from);
    }
    let changed = differing(to, from);
    to.copy_counts(from);
    for s in changed {
        inst.count_changed(s, members.and_then(|m| m.pos[s]), to, now);
    }
}

/// What the instances read, beyond the shared counts.
pub(super) enum Views {
    /// The shared counts.
    Shared,
    /// Each instance's own outstanding requests.
    Local(Vec<ViewPool>),
    /// Each instance's own outstanding requests, with subsets ([`OwnCounts`], set up by
    /// [`super::Balancer::set_drawn_subsets`]).
    Own(Vec<OwnCounts>),
    /// A snapshot of the shared counts, refreshed by [`super::Balancer::refresh`].
    Periodic {
        board: ViewPool,
        /// Refreshes so far.
        epoch: u64,
        /// With `count_own`: the instances' copies of the snapshot plus their sends since.
        own: Option<OwnCopies>,
    },
    /// The shared counts as they were `delay` ago.
    Delayed {
        board: ViewPool,
        delay: f64,
        /// Changes of the shared counts not yet applied to `board`: (time, server, ±1).
        pending: VecDeque<(f64, u32, i32)>,
    },
}

/// `count_own`: what each instance of a periodic view reads, the snapshot plus its own sends
/// since it was taken. An instance that has sent nothing since the last refresh reads the
/// snapshot itself, so only the instances that sent in the current interval hold a copy
/// (its first send takes one), and a refresh returns their copies for reuse: memory follows
/// the instances sending per interval, not instances × servers (5,000 p2c instances × 4,000
/// servers, 2,000 sends per 100 ms interval: peak RSS 374 → 181 MB). A state that keeps an
/// index ([`Instance::tracking`]) is told of its view's changes when it takes its copy, so
/// then every instance keeps a copy of its own for good, taken (and told) at its first pick
/// or send of each interval.
pub(super) struct OwnCopies {
    /// Each instance's copy (an index into `copies`) and the refresh it was taken after.
    held: Vec<Option<(u32, u64)>>,
    /// Every copy, held or free (all re-derived at a change of eligibility).
    copies: Vec<ViewPool>,
    /// Copies no instance holds.
    free: Vec<u32>,
    /// Instances holding a copy that the next refresh takes back.
    lent: Vec<u32>,
    /// Whether every instance keeps its copy (some state keeps an index).
    keep: bool,
}

impl OwnCopies {
    /// No copy yet for `count` instances reading `board`; with `keep`, one each from the
    /// start (of the idle pool, as `board` is then).
    pub(super) fn new(count: u32, board: &ViewPool, keep: bool) -> Self {
        let mut own = OwnCopies {
            held: vec![None; count as usize],
            copies: Vec::new(),
            free: Vec::new(),
            lent: Vec::new(),
            keep: false,
        };
        if keep {
            own.keep_all(board, 0);
        }
        own
    }

    /// From now on every instance keeps a copy: those without one take the snapshot of
    /// refresh `epoch` (their view: they have sent nothing since).
    pub(super) fn keep_all(&mut self, board: &ViewPool, epoch: u64) {
        for b in 0..self.held.len() {
            if self.held[b].is_none() {
                let k = self.copies.len() as u32;
                self.copies.push(board.clone());
                self.held[b] = Some((k, epoch));
            }
        }
        self.free.clear();
        self.lent.clear();
        self.keep = true;
    }

    /// Whether every instance keeps its copy.
    pub(super) fn keeps(&self) -> bool {
        self.keep
    }

    /// What instance `b` reads after refresh `epoch`: its copy, brought up to `board` first
    /// if it was taken before (telling `inst`), or `board` itself.
    pub(super) fn read<'a>(
        &'a mut self,
        b: u32,
        board: &'a ViewPool,
        epoch: u64,
        inst: &mut Instance,
        members: Option<&Members>,
        now: f64,
    ) -> &'a ViewPool {
        match self.held[b as usize] {
            Some((k, at)) => {
                let p = &mut self.copies[k as usize];
                if at != epoch {
                    copy_telling(p, board, inst, members, now);
                    self.held[b as usize] = Some((k, epoch));
                }
                p
            }
            None => board,
        }
    }

    /// The copy instance `b` adds its send to after refresh `epoch`: as [`Self::read`],
    /// taking one (a free one, or a new one) if it has none.
    pub(super) fn for_send(
        &mut self,
        b: u32,
        board: &ViewPool,
        epoch: u64,
        inst: &mut Instance,
        members: Option<&Members>,
        now: f64,
    ) -> &mut ViewPool {
        if self.held[b as usize].is_none() {
            let k = match self.free.pop() {
                Some(k) => {
                    self.copies[k as usize].copy_counts(board);
                    k
                }
                None => {
                    self.copies.push(board.clone());
                    (self.copies.len() - 1) as u32
                }
            };
            self.held[b as usize] = Some((k, epoch));
            self.lent.push(b);
        }
        let (k, at) = self.held[b as usize].expect("a copy");
        let p = &mut self.copies[k as usize];
        if at != epoch {
            copy_telling(p, board, inst, members, now);
            self.held[b as usize] = Some((k, epoch));
        }
        p
    }

    /// A refresh: unless every instance keeps its copy, the copies come back (their
    /// instances read the new snapshot until they send again).
    pub(super) fn refreshed(&mut self) {
        for b in self.lent.drain(..) {
            if let Some((k, _)) = self.held[b as usize].take() {
                self.free.push(k);
            }
        }
    }

    /// How many copies exist, held or free.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.copies.len()
    }

    /// Every copy, held or free.
    pub(super) fn copies(&mut self) -> impl Iterator<Item = &mut ViewPool> {
        self.copies.iter_mut()
    }
}
