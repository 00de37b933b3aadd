//! The balancer's state: the views of the load its instances read and each instance's
//! strategy state (see the parent module for what they model).

use std::collections::VecDeque;

use super::subsets::ClientSubset;
use crate::strategy::{Pool, ServerInfo, Strategy};

/// A view of the load, and the subset of it the strategies read while eligibility
/// restricts the pool.
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
        /// With `count_own`: each instance's snapshot plus its sends since, and the epoch it
        /// was copied at.
        own: Vec<(ViewPool, u64)>,
    },
    /// The shared counts as they were `delay` ago.
    Delayed {
        board: ViewPool,
        delay: f64,
        /// Changes of the shared counts not yet applied to `board`: (time, server, ±1).
        pending: VecDeque<(f64, u32, i32)>,
    },
}
