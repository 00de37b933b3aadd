//! The departures of a plain run, one per busy worker: a winner tree over the worker slots.
//!
//! In a plain open-loop run (no faults, detection, retries, instances or network) the only
//! events are departures, and each worker has at most one pending. Instead of a heap of
//! events, each worker slot holds the key of its pending departure (or none), and a
//! complete binary tree over the slots holds, at every node, the slot with the smallest
//! key below it: the root is the next departure. Setting a slot's key replays its path to
//! the root, one comparison per level and no data-dependent branch (a heap's sift takes a
//! branch per level that goes either way at random).
//!
//! Keys are the event queue's: (time, sequence number) as one ordered 128-bit integer, the
//! sequence numbers drawn in the order the departures are scheduled. Keys are distinct, so
//! the tree yields exactly the order the heap would: a run is the same bit for bit.
//!
//! A departure taken from the tree is usually followed at once by the next job of the same
//! worker: the slot is left holding the taken key until that happens (one path replay
//! instead of two), or is cleared before the tree is next read.

/// A slot's key when no departure is pending: larger than every real key.
pub(super) const EMPTY: u128 = u128::MAX;

/// Pending departures, one slot per worker of every server.
#[derive(Debug)]
pub(super) struct SlotTree {
    /// Key of each slot's pending departure (`EMPTY` when none), padded to `size` slots.
    keys: Vec<u128>,
    /// `win[k]`: the slot with the smallest key under node `k` (node 1 is the root, node
    /// `size + i` is slot `i`).
    win: Vec<u32>,
    /// Number of leaves: the slots, rounded up to a power of two (at least 2).
    size: usize,
    /// Each server's first slot.
    first: Vec<u32>,
    /// Each slot's server.
    server: Vec<u32>,
    /// The slot whose departure was taken but whose key is still in place.
    taken: Option<u32>,
    /// Departures pending.
    live: usize,
}

impl SlotTree {
    /// An empty tree for servers with `workers` workers each.
    pub(super) fn new(workers: &[u32]) -> Self {
        let slots: usize = workers.iter().map(|&w| w as usize).sum();
        let size = slots.next_power_of_two().max(2);
        let mut first = Vec::with_capacity(workers.len());
        let mut server = Vec::with_capacity(slots);
        for (s, &w) in workers.iter().enumerate() {
            first.push(server.len() as u32);
            server.extend(std::iter::repeat_n(s as u32, w as usize));
        }
        let mut win = vec![0u32; 2 * size];
        for i in 0..size {
            win[size + i] = i as u32;
        }
        // Every key is EMPTY: the leftmost slot wins everywhere.
        for k in (1..size).rev() {
            win[k] = win[2 * k];
        }
        SlotTree { keys: vec![EMPTY; size], win, size, first, server, taken: None, live: 0 }
    }

    /// The slot of `worker` of `server`.
    #[inline(always)]
    fn slot(&self, server: u32, worker: u32) -> usize {
        self.first[server as usize] as usize + worker as usize
    }

    /// Replays the path of slot `i` to the root. The winner so far is carried up in
    /// registers and met at each level by the sibling subtree's winner, which this replay
    /// does not change: the loads do not wait on the stores, only the comparisons chain.
    /// (Keys are distinct but for `EMPTY`, so which side wins a tie does not matter.)
    #[inline(always)]
    fn replay(&mut self, i: usize) {
        let (keys, win) = (&self.keys[..], &mut self.win[..]);
        let mut node = self.size + i;
        let (mut best, mut key) = (i as u32, keys[i]);
        while node > 1 {
            let other = win[node ^ 1];
            let other_key = keys[other as usize];
            // Either way at random: masks, not a branch.
            let take = u64::from(other_key < key).wrapping_neg();
            key ^= (key ^ other_key) & (u128::from(take) | (u128::from(take) << 64));
            best ^= (best ^ other) & take as u32;
            node >>= 1;
            win[node] = best;
        }
    }

    /// Clears the slot taken by [`take`](Self::take) if nothing was scheduled in it since.
    #[inline(always)]
    fn settle(&mut self) {
        if let Some(i) = self.taken.take() {
            self.keys[i as usize] = EMPTY;
            self.replay(i as usize);
        }
    }

    /// Schedules the departure of `worker` of `server` with `key`; the worker has none
    /// pending.
    #[inline(always)]
    pub(super) fn set(&mut self, server: u32, worker: u32, key: u128) {
        let i = self.slot(server, worker);
        match self.taken {
            // The worker whose departure was just taken: its old key is replaced.
            Some(t) if t as usize == i => self.taken = None,
            _ => {
                self.settle();
                debug_assert_eq!(self.keys[i], EMPTY, "one pending departure per worker");
            }
        }
        self.keys[i] = key;
        self.live += 1;
        self.replay(i);
    }

    /// The smallest key pending, or `EMPTY`.
    #[inline(always)]
    pub(super) fn first_key(&mut self) -> u128 {
        self.settle();
        self.keys[self.win[1] as usize]
    }

    /// Takes the earliest departure: its key, server and worker.
    #[inline(always)]
    pub(super) fn take(&mut self) -> Option<(u128, u32, u32)> {
        let key = self.first_key();
        if key == EMPTY {
            return None;
        }
        let i = self.win[1];
        self.taken = Some(i);
        self.live -= 1;
        let server = self.server[i as usize];
        Some((key, server, i - self.first[server as usize]))
    }

    /// Departures pending.
    pub(super) fn len(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random schedules and takes, with a worker scheduled again right after its departure
    /// most of the time (as in a run): the tree takes exactly what a sort by key takes.
    #[test]
    fn takes_in_key_order_like_a_sort() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
        for workers in [vec![1u32], vec![1, 1], vec![3], vec![1, 2, 1, 4, 1], vec![1; 17]] {
            let mut tree = SlotTree::new(&workers);
            let mut model: Vec<(u128, u32, u32)> = Vec::new();
            let mut seq = 0u128;
            for _ in 0..20_000 {
                let idle: Vec<(u32, u32)> = workers
                    .iter()
                    .enumerate()
                    .flat_map(|(s, &w)| (0..w).map(move |k| (s as u32, k)))
                    .filter(|&(s, k)| !model.iter().any(|&(_, ms, mk)| (ms, mk) == (s, k)))
                    .collect();
                if !idle.is_empty() && (model.is_empty() || rng.random_range(0..2) == 0) {
                    let (s, k) = idle[rng.random_range(0..idle.len())];
                    // Coarse times: ties are frequent and broken by the sequence number.
                    seq += 1;
                    let key = (u128::from(rng.random_range(0..30u64)) << 64) | seq;
                    tree.set(s, k, key);
                    model.push((key, s, k));
                } else {
                    let i = (0..model.len()).min_by_key(|&i| model[i].0).unwrap();
                    let want = model.remove(i);
                    assert_eq!(tree.first_key(), want.0);
                    assert_eq!(tree.take(), Some(want));
                    if rng.random_range(0..4) > 0 {
                        seq += 1;
                        let key = (u128::from(rng.random_range(0..30u64)) << 64) | seq;
                        tree.set(want.1, want.2, key);
                        model.push((key, want.1, want.2));
                    }
                }
                assert_eq!(tree.len(), model.len());
            }
            while let Some(got) = tree.take() {
                let i = (0..model.len()).min_by_key(|&i| model[i].0).unwrap();
                assert_eq!(got, model.remove(i));
            }
            assert!(model.is_empty());
            assert_eq!(tree.first_key(), EMPTY);
        }
    }
}
