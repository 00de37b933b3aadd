//! HAProxy's weighted round robin: `balance roundrobin` (`src/lb_fwrr.c`, "fast weighted
//! round robin"), as `weighted-round-robin` with `variant = "haproxy"`.
//!
//! Read from HAProxy v2.6.0 (`src/lb_fwrr.c`, unchanged in 2.6.x but for comments;
//! `fwrr_init_server_groups`, `fwrr_get_next_server`, `fwrr_get_server_from_group`,
//! `fwrr_update_position`, `fwrr_queue_srv`, `fwrr_switch_trees`). Each server's effective
//! weight is `16 × weight` (`BE_WEIGHT_SCALE`); servers wait in three trees:
//!
//! - *init*: not yet placed, ordered by decreasing weight (key `4096 − eweight`);
//! - *curr*: placed at their next position `npos` (key `256 × npos` plus a remainder term);
//! - *next*: pushed past this window, ordered by weight, waiting for the trees to switch.
//!
//! A pick takes the first server of *curr* if its position has come (`npos ≤ curr_pos`),
//! else the heaviest server of *init* (a "hole"), else the first of *curr* anyway; when
//! both are empty *next* becomes *init*. The chosen server advances by
//! `total_eweight / eweight` (with a carried remainder) and is requeued. Equal keys keep
//! their insertion order, as HAProxy's ebtrees return duplicates in insertion order.
//!
//! The resulting order differs from nginx's smooth weighted round robin: weights 2, 2, 1, 1
//! give `s1 s2 s3 s1 s2 s4` per cycle (nginx: `s1 s2 s3 s4 s1 s2`).
//!
//! Differences: no `maxconn` saturation skips (lbsim's `first` is the only strategy reading
//! `maxconn`), no backup servers, no dynamic weight changes (the engine rebuilds the
//! strategy over the eligible servers and their slow-start weights, which restarts the
//! order as a server coming back does not in HAProxy); keys are 64-bit where HAProxy's are
//! 32-bit (which only matters where HAProxy's keys would overflow: weights × servers above
//! about 10⁶).

use std::collections::BTreeSet;

use super::{Pool, RequestView, ServerInfo, Strategy, StrategyRng};

/// `BE_WEIGHT_SCALE`: effective weight per unit of configured weight.
const SCALE: u64 = 16;
/// `SRV_UWGHT_RANGE`.
const UWGHT_RANGE: u64 = 256;
/// `SRV_EWGHT_MAX`.
const EWGHT_MAX: u64 = UWGHT_RANGE * SCALE;

/// Which of HAProxy's trees a server waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tree {
    /// `grp->init` (one of `t0`/`t1`).
    Init,
    /// `grp->next` (the other one).
    Next,
    /// `grp->curr`.
    Curr,
}

/// HAProxy's fast weighted round robin over one group of active servers.
pub(super) struct Fwrr {
    eweight: Vec<u64>,
    npos: Vec<u64>,
    rweight: Vec<u64>,
    /// Σ eweight (`curr_weight` = `next_weight`: weights never change within an instance).
    total: u64,
    curr_pos: u64,
    /// Entries `(key, insertion stamp, server)`: the stamp keeps equal keys in insertion order.
    init: BTreeSet<(u64, u64, usize)>,
    next: BTreeSet<(u64, u64, usize)>,
    curr: BTreeSet<(u64, u64, usize)>,
    stamp: u64,
}

impl Fwrr {
    /// `fwrr_init_server_groups`: every server in the init tree, in server order.
    pub(super) fn new(servers: &[ServerInfo]) -> Self {
        let eweight: Vec<u64> = servers.iter().map(|s| u64::from(s.weight) * SCALE).collect();
        let total = eweight.iter().sum();
        let n = servers.len();
        let mut f = Fwrr {
            eweight,
            npos: vec![0; n],
            rweight: vec![0; n],
            total,
            curr_pos: total,
            init: BTreeSet::new(),
            next: BTreeSet::new(),
            curr: BTreeSet::new(),
            stamp: 0,
        };
        for s in 0..n {
            f.queue_by_weight(Tree::Init, s);
        }
        f
    }

    fn tree(&mut self, t: Tree) -> &mut BTreeSet<(u64, u64, usize)> {
        match t {
            Tree::Init => &mut self.init,
            Tree::Next => &mut self.next,
            Tree::Curr => &mut self.curr,
        }
    }

    fn insert(&mut self, t: Tree, key: u64, s: usize) {
        self.stamp += 1;
        let stamp = self.stamp;
        self.tree(t).insert((key, stamp, s));
    }

    /// `fwrr_queue_by_weight`: heavy servers first.
    fn queue_by_weight(&mut self, t: Tree, s: usize) {
        self.insert(t, EWGHT_MAX - self.eweight[s], s);
    }

    /// `fwrr_queue_srv` for a usable server with a positive weight.
    fn queue_srv(&mut self, s: usize) {
        let w = self.total;
        if self.npos[s] >= 2 * w || self.npos[s] >= w + w {
            self.npos[s] -= w;
            self.queue_by_weight(Tree::Next, s);
        } else {
            let key = UWGHT_RANGE * self.npos[s] + (EWGHT_MAX + self.rweight[s] - self.eweight[s]) / SCALE;
            self.insert(Tree::Curr, key, s);
        }
    }

    /// `fwrr_update_position`.
    fn update_position(&mut self, s: usize) {
        let e = self.eweight[s];
        if self.npos[s] == 0 {
            self.npos[s] = self.curr_pos;
        }
        self.npos[s] += self.total / e;
        self.rweight[s] += self.total % e;
        if self.rweight[s] >= e {
            self.rweight[s] -= e;
            self.npos[s] += 1;
        }
    }

    /// `fwrr_get_server_from_group`, taking the server out of its tree.
    fn server_from_group(&mut self) -> Option<usize> {
        if let Some(&first) = self.curr.first()
            && self.npos[first.2] <= self.curr_pos
        {
            self.curr.remove(&first);
            return Some(first.2);
        }
        if let Some(first) = self.init.pop_first() {
            // `fwrr_get_srv_init`.
            self.npos[first.2] = 0;
            self.rweight[first.2] = 0;
            return Some(first.2);
        }
        self.curr.pop_first().map(|e| e.2)
    }

    /// `fwrr_get_next_server` without saturated or avoided servers.
    fn next_server(&mut self) -> usize {
        let s = match self.server_from_group() {
            Some(s) => s,
            None => {
                // `fwrr_switch_trees`: init (empty) and next swap roles.
                std::mem::swap(&mut self.init, &mut self.next);
                self.curr_pos = self.total;
                self.server_from_group().expect("servers with positive weights")
            }
        };
        self.update_position(s);
        self.curr_pos += 1;
        self.queue_srv(s);
        s
    }
}

impl Strategy for Fwrr {
    fn pick(&mut self, _: &RequestView, _: &Pool, _: &mut StrategyRng) -> usize {
        self.next_server()
    }

    fn stagger(&mut self, rng: &mut StrategyRng) {
        use rand::RngExt;
        let k = rng.random_range(0..(self.total / SCALE).clamp(1, 1_000_000));
        for _ in 0..k {
            self.next_server();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testutil::*;

    fn order(weights: &[u32], skip: usize, n: usize) -> Vec<usize> {
        let servers = servers(weights);
        let pool = Pool::new(&servers);
        let mut f = Fwrr::new(&servers);
        let mut r = rng();
        (0..skip + n).map(|i| f.pick(&req(i as u64), &pool, &mut r) + 1).skip(skip).collect()
    }

    /// Weights 2, 2, 1, 1: HAProxy's cycle is s1 s2 s3 s1 s2 s4 from a fresh start. After
    /// `lbsim load`'s 500 calibration requests (500 = 83 × 6 + 2) the measured pass starts
    /// two picks in: s3 s1 s2 s4 s1 s2, the order measured through HAProxy 2.6.12.
    #[test]
    fn haproxy_order_and_its_starting_point() {
        assert_eq!(order(&[2, 2, 1, 1], 0, 12), vec![1, 2, 3, 1, 2, 4, 1, 2, 3, 1, 2, 4]);
        assert_eq!(order(&[2, 2, 1, 1], 500, 6), vec![3, 1, 2, 4, 1, 2]);
        // The cycle holds over many windows (the trees switch every Σw picks).
        let long = order(&[2, 2, 1, 1], 0, 6000);
        assert!(long.chunks(6).all(|c| c == [1, 2, 3, 1, 2, 4]));
    }

    #[test]
    fn equal_weights_rotate_in_server_order() {
        assert_eq!(order(&[100, 100, 100, 100], 0, 8), vec![1, 2, 3, 4, 1, 2, 3, 4]);
        assert_eq!(order(&[1, 1, 1], 0, 7), vec![1, 2, 3, 1, 2, 3, 1]);
    }

    /// Every cycle of Σw picks gives each server exactly its weight, for uneven weights too.
    #[test]
    fn weights_are_honoured_per_cycle() {
        for weights in [vec![5u32, 1, 1], vec![3, 2, 7], vec![1, 10], vec![4, 4, 1, 2, 9]] {
            let total: u32 = weights.iter().sum();
            let o = order(&weights, 0, total as usize * 50);
            for c in o.chunks(total as usize) {
                for (k, &w) in weights.iter().enumerate() {
                    assert_eq!(c.iter().filter(|&&s| s == k + 1).count(), w as usize, "{weights:?} {c:?}");
                }
            }
        }
        // 5, 1, 1 (traced by hand through the functions above): a a a b a a c, where nginx
        // gives a a b a c a a and Caddy a a a a a b c.
        assert_eq!(order(&[5, 1, 1], 0, 7), vec![1, 1, 1, 2, 1, 1, 3]);
    }
}
