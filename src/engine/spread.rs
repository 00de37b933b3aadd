//! Dynamic imbalance: exact time integrals, over the measured window, of how unevenly the
//! requests present are spread across the servers at each instant.
//!
//! Long-run request counts hide the imbalance that causes queueing: random routing sends
//! every server the same share, yet at any instant one server may hold five requests while
//! another sits idle. Two integrals capture it, both updated at the events where a server's
//! number in system changes (the state is constant in between, so the integrals are exact):
//!
//! - the **spread** max_i N_i(t) − min_i N_i(t). When the servers' capacities differ, N_i is
//!   scaled by c̄ / c_i (c_i = workers_i / mean service time at server i, c̄ their mean): the
//!   number in system as if every server had the pool's mean capacity, so a fast server
//!   holding twice the requests of a half-as-fast one is even;
//! - **idle while waiting**: the time during which some worker of an up server is idle while a
//!   request waits in another server's queue — work the routing decision left undone. A
//!   server never has an idle worker and a waiting request at once (its workers take from
//!   its queue), so this is the time with at least one server of each kind: two counters.
//!
//! Cost per change: O(1) for equal capacities (servers counted per level N; the extremes move
//! by one level per arrival or departure), O(log S) otherwise (a tournament tree of the
//! scaled values). A crash (the number in system drops to 0 at once) may scan levels; it is
//! rare.

/// The integrals of one simulation, reset at the start of the measured window.
///
/// The integrals are kept as `acc + value × t`: when a value (the spread, or whether some
/// worker idles while a request waits) changes at time t from a to b, `acc += (a − b)·t`.
/// Only changes cost anything, and an arrival or departure that moves neither extreme
/// changes neither.
#[derive(Debug)]
pub(super) struct ImbalanceTracker {
    /// Per server: number in system, workers, and below which number it has an idle worker
    /// (its workers when up, 0 when down).
    slots: Vec<Slot>,
    /// Servers with an idle worker (and up).
    idle: u32,
    /// Servers with a request waiting.
    waiting: u32,
    /// The spread's structure.
    levels: Spread,
    /// The current spread (scaled when capacities differ).
    spread: f64,
    /// ∫ spread dt = `spread_acc + spread × t`.
    spread_acc: f64,
    /// ∫ [some worker idle and some request waiting] dt = `idle_waiting_acc + [now] × t`.
    idle_waiting_acc: f64,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    n: u32,
    workers: u32,
    idle_below: u32,
}

/// How the spread max − min is kept.
#[derive(Debug)]
enum Spread {
    /// Equal capacities: `count[k]` servers have k requests; `min` and `max` are the lowest
    /// and highest occupied levels; `count` always has a level above `max`.
    Levels { count: Vec<u32>, min: u32, max: u32 },
    /// Differing capacities: a tournament tree over the scaled values N_i · scale_i; node k
    /// holds the (min, max) of its leaves, the root (node 1) the pool's.
    Tree { scale: Vec<f64>, leaves: usize, min: Vec<f64>, max: Vec<f64> },
}

impl ImbalanceTracker {
    /// A tracker for servers with `workers` workers and capacities `capacity` (req/s), all
    /// empty and up at t = 0.
    pub(super) fn new(workers: Vec<u32>, capacity: &[f64]) -> Self {
        let s = workers.len();
        let mean = capacity.iter().sum::<f64>() / s.max(1) as f64;
        let equal = capacity.iter().all(|&c| (c - mean).abs() <= 1e-12 * mean.abs());
        let levels = if equal {
            let mut count = vec![0; 16];
            count[0] = s as u32;
            Spread::Levels { count, min: 0, max: 0 }
        } else {
            let leaves = s.next_power_of_two();
            // Padding leaves take the neutral values, so they never win.
            let mut min = vec![f64::INFINITY; 2 * leaves];
            let mut max = vec![f64::NEG_INFINITY; 2 * leaves];
            for i in 0..s {
                min[leaves + i] = 0.0;
                max[leaves + i] = 0.0;
            }
            for k in (1..leaves).rev() {
                min[k] = min[2 * k].min(min[2 * k + 1]);
                max[k] = max[2 * k].max(max[2 * k + 1]);
            }
            Spread::Tree { scale: capacity.iter().map(|&c| mean / c).collect(), leaves, min, max }
        };
        ImbalanceTracker {
            slots: workers.iter().map(|&w| Slot { n: 0, workers: w, idle_below: w }).collect(),
            idle: workers.iter().filter(|&&w| w > 0).count() as u32,
            waiting: 0,
            levels,
            spread: 0.0,
            spread_acc: 0.0,
            idle_waiting_acc: 0.0,
        }
    }

    /// Whether some worker idles while a request waits.
    #[inline(always)]
    fn idle_waiting(&self) -> bool {
        (self.idle > 0) & (self.waiting > 0)
    }

    /// Records that the indicator may have changed at `t` from `was`.
    #[inline(always)]
    fn indicator_moved(&mut self, t: f64, was: bool) {
        let now = self.idle_waiting();
        if now != was {
            self.idle_waiting_acc += if was { t } else { -t };
        }
    }

    /// The same without a branch: adds `(was − now)·t`, exactly nothing when unchanged.
    #[inline(always)]
    fn indicator_moved_by(&mut self, t: f64, was: bool) {
        let delta = i32::from(was) - i32::from(self.idle_waiting());
        self.idle_waiting_acc += f64::from(delta) * t;
    }

    /// Records a new spread at `t` (adds exactly nothing when it is unchanged).
    #[inline(always)]
    fn spread_moved(&mut self, t: f64, spread: f64) {
        self.spread_acc += (self.spread - spread) * t;
        self.spread = spread;
    }

    /// A request arrived at server `s` at `t` (its number in system went up by one).
    ///
    /// Written without data-dependent branches (a simulation calls it at every arrival, and
    /// which counter moves is close to random): the counters move by 0 or 1, and the
    /// integrals take `(old − new)·t`, which adds exactly nothing when nothing changed.
    #[inline(always)]
    pub(super) fn arrive(&mut self, t: f64, s: usize) {
        let was = self.idle_waiting();
        let slot = &mut self.slots[s];
        let old = slot.n;
        let new = old + 1;
        slot.n = new;
        // Its last idle worker goes busy, or (all busy already) a first request waits.
        let busy = new == slot.idle_below;
        self.idle -= u32::from(busy);
        self.waiting += u32::from(!busy & (old == slot.workers));
        self.indicator_moved_by(t, was);
        match &mut self.levels {
            Spread::Levels { count, min, max } => {
                let left = count[old as usize] - 1;
                count[old as usize] = left;
                count[new as usize] += 1;
                // The highest level rises to `new`; the lowest follows the server when it
                // was the last at the lowest level (both, with a single server).
                let top = (*max).max(new);
                let bottom = *min + u32::from((old == *min) & (left == 0));
                if top as usize + 1 == count.len() {
                    count.resize(2 * count.len(), 0);
                }
                *max = top;
                *min = bottom;
                self.spread_moved(t, f64::from(top - bottom));
            }
            Spread::Tree { .. } => self.tree_set(t, s, new),
        }
    }

    /// A request left server `s` at `t` (its number in system went down by one). Without
    /// data-dependent branches, as [`arrive`](Self::arrive).
    #[inline(always)]
    pub(super) fn depart(&mut self, t: f64, s: usize) {
        let was = self.idle_waiting();
        let slot = &mut self.slots[s];
        let old = slot.n;
        let new = old - 1;
        slot.n = new;
        // A worker goes idle, or (requests still queued) one fewer waits.
        let freed = old == slot.idle_below;
        self.idle += u32::from(freed);
        self.waiting -= u32::from(!freed & (new == slot.workers));
        self.indicator_moved_by(t, was);
        match &mut self.levels {
            Spread::Levels { count, min, max } => {
                let left = count[old as usize] - 1;
                count[old as usize] = left;
                count[new as usize] += 1;
                let bottom = (*min).min(new);
                let top = *max - u32::from((old == *max) & (left == 0));
                *max = top;
                *min = bottom;
                self.spread_moved(t, f64::from(top - bottom));
            }
            Spread::Tree { .. } => self.tree_set(t, s, new),
        }
    }

    /// Sets server `s`'s scaled value in the tree at `t`.
    #[inline]
    fn tree_set(&mut self, t: f64, s: usize, n: u32) {
        let Spread::Tree { scale, leaves, min, max } = &mut self.levels else { unreachable!("tree only") };
        let v = f64::from(n) * scale[s];
        let mut k = *leaves + s;
        min[k] = v;
        max[k] = v;
        while k > 1 {
            k /= 2;
            min[k] = min[2 * k].min(min[2 * k + 1]);
            max[k] = max[2 * k].max(max[2 * k + 1]);
        }
        let spread = max[1] - min[1];
        if spread != self.spread {
            self.spread_moved(t, spread);
        }
    }

    /// Server `s` holds `n` requests from `t` on, and is `down` (crashed) or up: any change
    /// at once (a crash empties a server; a recovery brings back its idle workers).
    #[cold]
    pub(super) fn set(&mut self, t: f64, s: usize, n: u32, down: bool) {
        let was = self.idle_waiting();
        let slot = &mut self.slots[s];
        let old = slot.n;
        self.idle -= u32::from(old < slot.idle_below);
        self.waiting -= u32::from(old > slot.workers);
        slot.n = n;
        slot.idle_below = if down { 0 } else { slot.workers };
        self.idle += u32::from(n < slot.idle_below);
        self.waiting += u32::from(n > slot.workers);
        match &mut self.levels {
            Spread::Levels { count, min, max } => {
                if n as usize + 1 >= count.len() {
                    count.resize((n as usize + 2).next_power_of_two(), 0);
                }
                count[old as usize] -= 1;
                count[n as usize] += 1;
                *max = (*max).max(n);
                *min = (*min).min(n);
                while count[*max as usize] == 0 {
                    *max -= 1;
                }
                while count[*min as usize] == 0 {
                    *min += 1;
                }
                let spread = f64::from(*max - *min);
                self.spread_moved(t, spread);
            }
            Spread::Tree { .. } => self.tree_set(t, s, n),
        }
        self.indicator_moved(t, was);
    }

    /// The measured window starts at `t`: the integrals restart from zero.
    pub(super) fn start_window(&mut self, t: f64) {
        self.spread_acc = -self.spread * t;
        self.idle_waiting_acc = if self.idle_waiting() { -t } else { 0.0 };
    }

    /// The integrals up to the end of the run, `end`: (∫ spread dt, ∫ idle-while-waiting dt)
    /// since the window started.
    pub(super) fn finish(&self, end: f64) -> (f64, f64) {
        let iw = if self.idle_waiting() { end } else { 0.0 };
        (self.spread_acc + self.spread * end, self.idle_waiting_acc + iw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: the spread and the indicator of a state.
    fn direct(n: &[u32], workers: &[u32], down: &[bool], scale: &[f64]) -> (f64, bool) {
        let v: Vec<f64> = n.iter().zip(scale).map(|(&n, &s)| f64::from(n) * s).collect();
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let idle = (0..n.len()).any(|i| !down[i] && n[i] < workers[i]);
        let waiting = (0..n.len()).any(|i| n[i] > workers[i]);
        (max - min, idle && waiting)
    }

    /// A random walk of arrivals, departures and crashes: the integrals equal those of the
    /// brute-force state at every step, for equal and for differing capacities, and for a
    /// single server (whose spread is always 0) and two.
    #[test]
    fn integrals_match_brute_force() {
        use rand::{RngExt, SeedableRng};
        let pools: [(Vec<f64>, Vec<u32>); 5] = [
            (vec![1.0; 5], vec![1, 2, 1, 1, 3]),
            (vec![1.0, 2.0, 1.0, 0.5, 3.0], vec![1, 2, 1, 1, 3]),
            (vec![1.0], vec![1]),
            (vec![2.0], vec![2]),
            (vec![1.0; 2], vec![1, 1]),
        ];
        for (capacity, workers) in pools {
            let k = workers.len();
            let mean = capacity.iter().sum::<f64>() / k as f64;
            let scale: Vec<f64> = capacity.iter().map(|c| mean / c).collect();
            let mut tr = ImbalanceTracker::new(workers.clone(), &capacity);
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(9);
            let (mut n, mut down) = (vec![0u32; k], vec![false; k]);
            let (mut area, mut iw, mut t) = (0.0, 0.0, 0.0);
            for step in 0..20_000 {
                let dt: f64 = rng.random::<f64>();
                let (spread, ind) = direct(&n, &workers, &down, &scale);
                area += spread * dt;
                iw += if ind { dt } else { 0.0 };
                t += dt;
                let s = rng.random_range(0..k);
                let r: f64 = rng.random();
                if r < 0.002 {
                    down[s] = !down[s];
                    n[s] = 0;
                    tr.set(t, s, 0, down[s]);
                } else if down[s] {
                    continue;
                } else if r < 0.52 || n[s] == 0 {
                    n[s] += 1;
                    tr.arrive(t, s);
                } else {
                    n[s] -= 1;
                    tr.depart(t, s);
                }
                if step == 1000 {
                    tr.start_window(t);
                    area = 0.0;
                    iw = 0.0;
                }
            }
            let (spread, ind) = direct(&n, &workers, &down, &scale);
            let (a, b) = tr.finish(t + 1.0);
            area += spread;
            iw += if ind { 1.0 } else { 0.0 };
            assert!((a - area).abs() <= 1e-9 * area.max(1.0), "spread {a} vs {area}");
            assert!((b - iw).abs() <= 1e-9 * iw.max(1.0), "idle while waiting {b} vs {iw}");
            if k > 1 {
                assert!(area > 0.0 && iw > 0.0, "the walk exercised both integrals");
            } else {
                assert_eq!((a, b), (0.0, 0.0), "one server: no spread, nowhere else to wait");
            }
        }
    }
}
