//! The least-work-left oracle: the server whose queued work drains first.

use super::least_conn::use_index;
use super::registry::Split;
use super::{Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// `least-work-left`.
pub(super) const LEAST_WORK_LEFT: StrategyInfo = StrategyInfo {
    name: "least-work-left",
    models: "an oracle (no real balancer knows queued work); equals a central FCFS queue, M/M/c",
    summary: "the server where the request would start soonest; the lower bound others are measured against",
    params: &[],
    keyed: false,
    cooperative: false,
    oracle: true,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |_, servers| Ok(Box::new(LeastWorkLeft::new(servers, use_index(servers.len())))),
};

/// Earliest start; among equal starts (idle servers) the fastest, then the next in turn
/// after the previous pick, so idle servers share the work.
///
/// With single-worker FIFO servers this assigns each arrival to the server that a central
/// FCFS queue would hand it to, so the system behaves exactly as M/M/c (Erlang C).
struct LeastWorkLeft {
    cursor: usize,
    n: usize,
    /// Large pools: the same picks from an index, O(log S) per change.
    index: Option<StartIndex>,
}

impl LeastWorkLeft {
    /// `indexed`: keep a [`StartIndex`] (else scan every server per pick).
    fn new(servers: &[ServerInfo], indexed: bool) -> Self {
        LeastWorkLeft { cursor: 0, n: servers.len(), index: indexed.then(|| StartIndex::new(servers)) }
    }
}

/// Least-work-left without a scan. A server whose start time has passed is *idle* (its
/// effective start is now): it sits in the bit set of its speed class. The others sit in
/// a binary min-heap on start time. A pick first moves the servers whose start time has
/// come from the heap to their bit sets; then takes, in the fastest class with an idle
/// server, the first idle one from the cursor on (cyclically) — the scan's choice among
/// equal starts — or, with none idle, the earliest start (among exactly equal earliest
/// starts, the fastest, then the first from the cursor, as the scan).
#[derive(Debug)]
struct StartIndex {
    ready: bool,
    /// Start time each server is filed under.
    start: Vec<f64>,
    /// Servers not idle, a min-heap on (start, index).
    heap: Vec<u32>,
    /// Position in `heap`, or `NOT_IN_HEAP` (idle).
    hpos: Vec<u32>,
    /// Speed class of each server (0 = fastest).
    class: Vec<u32>,
    /// Idle servers of each class.
    idle: Vec<BitSet>,
    /// Idle servers in all.
    idle_count: usize,
    /// Scratch: servers tied at the earliest start.
    ties: Vec<u32>,
}

const NOT_IN_HEAP: u32 = u32::MAX;

/// Whether server `a` comes before `b` in the heap: earlier start, then lower index.
#[inline(always)]
fn earlier(start: &[f64], a: u32, b: u32) -> bool {
    let (x, y) = (start[a as usize], start[b as usize]);
    x < y || (x == y && a < b)
}

/// A set of server indices with "first member from i on" in O(n / 4096) at worst.
#[derive(Debug)]
struct BitSet {
    words: Vec<u64>,
    /// Bit j: whether `words[j]` is non-zero.
    summary: Vec<u64>,
    len: usize,
}

impl BitSet {
    fn new(n: usize) -> Self {
        let words = n.div_ceil(64);
        BitSet { words: vec![0; words], summary: vec![0; words.div_ceil(64)], len: 0 }
    }

    fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
        self.summary[i / 4096] |= 1 << ((i / 64) % 64);
        self.len += 1;
    }

    fn remove(&mut self, i: usize) {
        let w = &mut self.words[i / 64];
        *w &= !(1 << (i % 64));
        if *w == 0 {
            self.summary[i / 4096] &= !(1 << ((i / 64) % 64));
        }
        self.len -= 1;
    }

    /// The first member ≥ `from`, if any.
    fn first_from(&self, from: usize) -> Option<usize> {
        let w = from / 64;
        if w >= self.words.len() {
            return None;
        }
        let here = self.words[w] & (!0u64 << (from % 64));
        if here != 0 {
            return Some(w * 64 + here.trailing_zeros() as usize);
        }
        // The next non-empty word after `w`, through the summary.
        let next = w + 1;
        let mut sw = next / 64;
        let mut bits = if sw < self.summary.len() {
            self.summary[sw] & (!0u64).checked_shl((next % 64) as u32).unwrap_or(0)
        } else {
            0
        };
        loop {
            if bits != 0 {
                let word = sw * 64 + bits.trailing_zeros() as usize;
                return Some(word * 64 + self.words[word].trailing_zeros() as usize);
            }
            sw += 1;
            if sw >= self.summary.len() {
                return None;
            }
            bits = self.summary[sw];
        }
    }

    /// The first member from `from` on, cyclically.
    fn first_cyclic(&self, from: usize) -> Option<usize> {
        self.first_from(from).or_else(|| self.first_from(0))
    }
}

impl StartIndex {
    fn new(servers: &[ServerInfo]) -> Self {
        let n = servers.len();
        let mut speeds: Vec<f64> = servers.iter().map(|s| s.speed).collect();
        speeds.sort_by(|a, b| b.total_cmp(a));
        speeds.dedup();
        let class: Vec<u32> =
            servers.iter().map(|s| speeds.iter().position(|&v| v == s.speed).expect("listed") as u32).collect();
        StartIndex {
            ready: false,
            start: vec![0.0; n],
            heap: Vec::with_capacity(n),
            hpos: vec![NOT_IN_HEAP; n],
            class,
            idle: speeds.iter().map(|_| BitSet::new(n)).collect(),
            idle_count: 0,
            ties: Vec::new(),
        }
    }

    fn sift_up(&mut self, k: usize) {
        let start = &self.start;
        super::heap::sift_up(&mut self.heap, &mut self.hpos, k, |a, b| earlier(start, a, b));
    }

    fn sift_down(&mut self, k: usize) {
        let start = &self.start;
        super::heap::sift_down(&mut self.heap, &mut self.hpos, k, |a, b| earlier(start, a, b));
    }

    fn push(&mut self, s: usize) {
        self.heap.push(s as u32);
        self.sift_up(self.heap.len() - 1);
    }

    /// Removes the heap's top.
    fn pop(&mut self) -> usize {
        let top = self.heap[0] as usize;
        let last = self.heap.pop().expect("non-empty");
        self.hpos[top] = NOT_IN_HEAP;
        if !self.heap.is_empty() {
            self.heap[0] = last;
            self.sift_down(0);
        }
        top
    }

    /// Takes `s` out of the heap or its idle set.
    fn unfile(&mut self, s: usize) {
        let k = self.hpos[s];
        if k == NOT_IN_HEAP {
            self.idle[self.class[s] as usize].remove(s);
            self.idle_count -= 1;
            return;
        }
        let k = k as usize;
        let last = self.heap.pop().expect("s is in the heap");
        self.hpos[s] = NOT_IN_HEAP;
        if k < self.heap.len() {
            self.heap[k] = last;
            self.sift_up(k);
            let k = self.hpos[last as usize] as usize;
            self.sift_down(k);
        }
    }

    fn init(&mut self, pool: &Pool) {
        for s in 0..self.start.len() {
            self.start[s] = pool.start_at(s);
            self.push(s);
        }
        self.ready = true;
    }

    /// `s`'s start time is now `t`: back into the heap (a pick moves it to the idle set
    /// once `t` has come).
    #[inline]
    fn set(&mut self, s: usize, t: f64) {
        if !self.ready {
            return;
        }
        self.unfile(s);
        self.start[s] = t;
        self.push(s);
    }

    fn pick(&mut self, now: f64, cursor: usize) -> usize {
        while let Some(&top) = self.heap.first()
            && self.start[top as usize] <= now
        {
            let s = self.pop();
            self.idle[self.class[s] as usize].insert(s);
            self.idle_count += 1;
        }
        if self.idle_count > 0 {
            let set = self.idle.iter().find(|set| set.len > 0).expect("an idle server");
            return set.first_cyclic(cursor).expect("a member");
        }
        // None idle: the earliest start; exact ties by speed, then from the cursor.
        let first = self.start[self.heap[0] as usize];
        self.ties.clear();
        while let Some(&top) = self.heap.first()
            && self.start[top as usize] == first
        {
            let s = self.pop() as u32;
            self.ties.push(s);
        }
        let n = self.start.len();
        let key = |s: u32| (self.class[s as usize], (s as usize + n - cursor) % n);
        let best = *self.ties.iter().min_by_key(|&&s| key(s)).expect("the earliest");
        for k in 0..self.ties.len() {
            let s = self.ties[k] as usize;
            self.push(s);
        }
        best as usize
    }
}

impl Strategy for LeastWorkLeft {
    fn tracks_pool(&self) -> bool {
        self.index.is_some()
    }

    #[inline]
    fn on_start_at(&mut self, server: usize, start_at: f64) {
        if let Some(index) = &mut self.index {
            index.set(server, start_at);
        }
    }

    fn pick(&mut self, req: &RequestView, pool: &Pool, _: &mut StrategyRng) -> usize {
        let now = req.arrival;
        if let Some(index) = &mut self.index {
            if !index.ready {
                index.init(pool);
            }
            let best = index.pick(now, self.cursor);
            self.cursor = if best + 1 == self.n { 0 } else { best + 1 };
            return best;
        }
        let mut best = self.cursor;
        let mut best_start = pool.start_at(best).max(now);
        for k in 1..self.n {
            let mut i = self.cursor + k;
            if i >= self.n {
                i -= self.n;
            }
            let start = pool.start_at(i).max(now);
            if start < best_start || (start == best_start && pool.speed(i) > pool.speed(best)) {
                best = i;
                best_start = start;
            }
        }
        self.cursor = if best + 1 == self.n { 0 } else { best + 1 };
        best
    }

    fn stagger(&mut self, rng: &mut StrategyRng) {
        self.cursor = rand::RngExt::random_range(rng, 0..self.n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    #[test]
    fn earliest_start_wins() {
        let servers = servers(&[1, 1, 1]);
        let mut pool = Pool::new(&servers);
        pool.start_at = vec![5.0, 3.0, 4.0];
        let mut s = (LEAST_WORK_LEFT.build)(&Params::default(), &servers).unwrap();
        let r = RequestView { arrival: 1.0, ..req(0) };
        assert_eq!(s.pick(&r, &pool, &mut rng()), 1);
    }

    #[test]
    fn the_index_picks_exactly_as_the_scan() {
        use rand::RngExt;
        // Random start times (on a coarse grid, so that exact ties happen), two speed
        // classes, time moving on: the indexed instance must pick as the scan does.
        let mut draw = rng();
        for &n in &[1usize, 2, 7, 64, 200, 4200] {
            let mut servers = servers(&vec![1; n]);
            for (i, s) in servers.iter_mut().enumerate() {
                s.speed = if i % 3 == 0 { 2.0 } else { 1.0 };
            }
            let mut pool = Pool::new(&servers);
            let mut scan = LeastWorkLeft::new(&servers, false);
            let mut indexed = LeastWorkLeft::new(&servers, true);
            assert!(indexed.tracks_pool() && !scan.tracks_pool());
            let mut rng = rng();
            let mut now = 0.0;
            for i in 0..5_000 {
                now += f64::from(draw.random_range(0..3u32)) * 0.25;
                let r = RequestView { arrival: now, ..req(i) };
                let a = scan.pick(&r, &pool, &mut rng);
                let b = indexed.pick(&r, &pool, &mut rng);
                assert_eq!(a, b, "pick {i} of {n} servers at {now}");
                for s in [a, draw.random_range(0..n)] {
                    let t = now + f64::from(draw.random_range(0..(n as u32).clamp(2, 40))) * 0.25;
                    pool.start_at[s] = t;
                    indexed.on_start_at(s, t);
                }
            }
        }
    }
}
