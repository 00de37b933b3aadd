//! nginx `least_time`: the least average response time and the fewest active connections.
//!
//! The nginx documentation: "a request is passed to the server with the least average
//! response time and least number of active connections, taking into account weights of
//! servers. If there are several such servers, they are tried in turn using a weighted
//! round-robin balancing method." nginx Plus's code is closed; lbsim follows the open
//! implementations of the same directive (Angie and its ports): each server's estimated
//! time is `average × (active + 1)`, compared per unit of weight (`eta_a × w_b < eta_b × w_a`),
//! ties shared by smooth weighted round robin, the average an exponential moving average of
//! response times (previous average weighted `smoothing`, default 0.95; the first sample
//! sets it). A server without a sample yet counts as infinitesimally fast: it is tried
//! first, the fewest connections first among such servers (the open implementations get
//! the same order from their 20 ms floor).
//!
//! Deliberate simplifications: lbsim compares exact times (the open implementations round
//! times up to 20 ms buckets so that close servers tie, and cap them at 5 s), measures the
//! full response (`last_byte`; there is no header time in lbsim) and does not model the
//! `inflight` option.

use std::collections::BTreeMap;

use super::least_conn::{Level, least_per_weight, sift_down, sift_up, smooth_wrr_among, use_index};
use super::registry::Split;
use super::{ParamInfo, ParamType, Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// `least-response-time`.
pub(super) const LEAST_RESPONSE_TIME: StrategyInfo = StrategyInfo {
    name: "least-response-time",
    models: "nginx Plus `least_time last_byte` (as in the open Angie implementation)",
    summary: "the lowest average response time × (in-flight + 1) per weight; ties by weighted round robin",
    params: &[SMOOTHING],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |params, servers| {
        let smoothing = params.number_of(&SMOOTHING)?;
        Ok(Box::new(LeastTime::with_index(servers, smoothing, use_index(servers.len()))))
    },
};

/// `smoothing` of `least-response-time`.
const SMOOTHING: ParamInfo = ParamInfo {
    name: "smoothing",
    help: "weight of the previous average in the moving average of response times, 0 ≤ x < 1",
    ty: ParamType::Number { default: 0.95, min: 0.0, max: 0.999_999 },
};

struct LeastTime {
    avg: Vec<f64>,
    weight: Vec<f64>,
    current: Vec<i64>,
    iweight: Vec<i64>,
    smoothing: f64,
    /// Large pools with equal weights (a power of two, so that `eta × w` is exact): the
    /// same picks from an index, O(log S) per change.
    index: Option<EtaIndex>,
}

impl LeastTime {
    #[cfg(test)]
    fn new(servers: &[ServerInfo], smoothing: f64) -> Self {
        Self::with_index(servers, smoothing, false)
    }

    /// `indexed`: keep an [`EtaIndex`] when the weights allow it (else always scan).
    fn with_index(servers: &[ServerInfo], smoothing: f64, indexed: bool) -> Self {
        let w = servers.first().map_or(1, |s| s.weight);
        let exact = w.is_power_of_two() && servers.iter().all(|s| s.weight == w);
        LeastTime {
            avg: vec![0.0; servers.len()],
            weight: servers.iter().map(|s| f64::from(s.weight)).collect(),
            current: vec![0; servers.len()],
            iweight: servers.iter().map(|s| i64::from(s.weight)).collect(),
            smoothing,
            index: (indexed && exact).then(|| EtaIndex::new(servers.len(), i64::from(w))),
        }
    }
}

/// The estimated time of a server with average `avg` and `conns` in flight (an unseen
/// server, average 0, counts as infinitesimally fast).
#[inline(always)]
fn eta(avg: f64, conns: u32) -> f64 {
    avg.max(f64::MIN_POSITIVE) * (f64::from(conns) + 1.0)
}

/// The scan's picks without a scan, for equal weights: servers grouped by exact estimated
/// time (a *level*, keyed by the bits of that positive number, which order as the numbers
/// do), each level a heap of its servers on smooth-WRR current weight, then index — the
/// same structure and pick as least-connections' index, with levels in an ordered map.
#[derive(Debug)]
struct EtaIndex {
    weight: i64,
    ready: bool,
    levels: BTreeMap<u64, Level>,
    /// In-flight count, average and level key of each server.
    conns: Vec<u32>,
    avg: Vec<f64>,
    key: Vec<u64>,
    pos: Vec<u32>,
    /// Current weight minus the level's offset.
    stored: Vec<i64>,
}

impl EtaIndex {
    fn new(n: usize, weight: i64) -> Self {
        EtaIndex {
            weight,
            ready: false,
            levels: BTreeMap::new(),
            conns: vec![0; n],
            avg: vec![0.0; n],
            key: vec![0; n],
            pos: vec![0; n],
            stored: vec![0; n],
        }
    }

    fn init(&mut self, conns: &[u32], avg: &[f64], current: &[i64]) {
        self.conns.copy_from_slice(conns);
        self.avg.copy_from_slice(avg);
        for (s, &cur) in current.iter().enumerate() {
            self.insert(s, cur);
        }
        self.ready = true;
    }

    fn insert(&mut self, s: usize, current: i64) {
        let key = eta(self.avg[s], self.conns[s]).to_bits();
        self.key[s] = key;
        let lv = self.levels.entry(key).or_default();
        self.stored[s] = current - lv.offset;
        lv.heap.push(s as u32);
        let k = lv.heap.len() - 1;
        sift_up(&mut lv.heap, &mut self.pos, &self.stored, k);
    }

    /// Takes `s` out of its level; returns its current weight.
    fn remove(&mut self, s: usize) -> i64 {
        let key = self.key[s];
        let lv = self.levels.get_mut(&key).expect("s is filed");
        let current = self.stored[s] + lv.offset;
        let k = self.pos[s] as usize;
        let last = lv.heap.pop().expect("s is in its level");
        if k < lv.heap.len() {
            lv.heap[k] = last;
            self.pos[last as usize] = k as u32;
            sift_up(&mut lv.heap, &mut self.pos, &self.stored, k);
            let k = self.pos[last as usize] as usize;
            sift_down(&mut lv.heap, &mut self.pos, &self.stored, k);
        }
        if lv.heap.is_empty() {
            self.levels.remove(&key);
        }
        current
    }

    /// Refiles `s` after its count or average changed.
    fn refile(&mut self, s: usize) {
        if eta(self.avg[s], self.conns[s]).to_bits() != self.key[s] {
            let current = self.remove(s);
            self.insert(s, current);
        }
    }

    fn set_conns(&mut self, s: usize, n: u32) {
        self.conns[s] = n;
        if self.ready {
            self.refile(s);
        }
    }

    fn set_avg(&mut self, s: usize, avg: f64) {
        self.avg[s] = avg;
        if self.ready {
            self.refile(s);
        }
    }

    /// The lowest level's only server, or the smooth-WRR choice among its servers.
    fn pick(&mut self) -> usize {
        let mut first = self.levels.first_entry().expect("a server");
        let lv = first.get_mut();
        let top = lv.heap[0];
        if lv.heap.len() > 1 {
            lv.offset += self.weight;
            self.stored[top as usize] -= self.weight * lv.heap.len() as i64;
            sift_down(&mut lv.heap, &mut self.pos, &self.stored, 0);
        }
        top as usize
    }
}

impl Strategy for LeastTime {
    fn pick(&mut self, _: &RequestView, pool: &Pool, _: &mut StrategyRng) -> usize {
        if let Some(index) = &mut self.index {
            if !index.ready {
                index.init(pool.in_flight_all(), &self.avg, &self.current);
            }
            return index.pick();
        }
        let conns = pool.in_flight_all();
        // An unseen server (average 0) counts as infinitesimally fast: tried before any
        // measured one, and among unseen ones the fewest connections per weight wins.
        let avg = &self.avg;
        let eta = |i: usize| eta(avg[i], conns[i]);
        let (best, best_eta, many) = least_per_weight(&self.weight, eta);
        if !many {
            return best;
        }
        let (weight, wb) = (&self.weight, self.weight[best]);
        smooth_wrr_among(&mut self.current, &self.iweight, best, |i| eta(i) * wb == best_eta * weight[i])
    }

    fn on_complete(&mut self, server: usize, response: f64, _: f64) {
        let a = &mut self.avg[server];
        *a = if *a == 0.0 { response } else { self.smoothing * *a + (1.0 - self.smoothing) * response };
        if let Some(index) = &mut self.index {
            index.set_avg(server, *a);
        }
    }

    fn tracks_pool(&self) -> bool {
        self.index.is_some()
    }

    #[inline]
    fn on_in_flight(&mut self, server: usize, in_flight: u32, _now: f64) {
        if let Some(index) = &mut self.index {
            index.set_conns(server, in_flight);
        }
    }

    fn stagger(&mut self, rng: &mut StrategyRng) {
        super::round_robin::stagger_smooth(&mut self.current, &self.iweight, rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    #[test]
    fn fast_servers_take_more_and_unseen_ones_are_tried_first() {
        let servers = servers(&[1, 1, 1]);
        let mut pool = Pool::new(&servers);
        let mut s = (LEAST_RESPONSE_TIME.build)(&Params::default(), &servers).unwrap();
        let mut rng = rng();
        // No samples: all tie, round robin; but connections count even before samples.
        let seq: Vec<usize> = (0..3).map(|i| s.pick(&req(i), &pool, &mut rng)).collect();
        assert_eq!(seq, vec![0, 1, 2]);
        pool.in_flight = vec![1, 0, 1];
        assert_eq!(s.pick(&req(9), &pool, &mut rng), 1);
        pool.in_flight = vec![0, 0, 0];
        s.on_complete(0, 0.010, 0.0);
        s.on_complete(1, 0.030, 0.0);
        // Server 2 has no sample yet: it is tried first.
        assert_eq!(s.pick(&req(3), &pool, &mut rng), 2);
        s.on_complete(2, 0.020, 0.0);
        // 10 ms × 3 = 30 ms ties with 30 ms × 1 ... but 20 ms × 1 is lower.
        pool.in_flight = vec![2, 0, 0];
        assert_eq!(s.pick(&req(4), &pool, &mut rng), 2);
        pool.in_flight = vec![0, 0, 1];
        assert_eq!(s.pick(&req(5), &pool, &mut rng), 0);
    }

    #[test]
    fn moving_average() {
        let mut s = LeastTime::new(&servers(&[1]), 0.95);
        s.on_complete(0, 1.0, 0.0);
        s.on_complete(0, 3.0, 0.0);
        assert!((s.avg[0] - (0.95 + 0.05 * 3.0)).abs() < 1e-12);
    }

    /// Random sends, completions with responses on a coarse grid (so that averages and
    /// estimated times tie), smoothing 0 and 0.5, pools of 1 to 150 servers with equal
    /// weights (1, 4; and 3, which keeps the scan): the indexed instance picks as the scan.
    #[test]
    fn the_index_picks_exactly_as_the_scan() {
        use rand::RngExt;
        let mut draw = rng();
        for smoothing in [0.0, 0.5] {
            for &(n, w) in &[(1usize, 1u32), (2, 1), (5, 4), (16, 1), (64, 1), (150, 4), (70, 3)] {
                let servers = servers(&vec![w; n]);
                let mut pool = Pool::new(&servers);
                let mut scan = LeastTime::with_index(&servers, smoothing, false);
                let mut indexed = LeastTime::with_index(&servers, smoothing, true);
                assert!(!scan.tracks_pool());
                assert_eq!(indexed.tracks_pool(), w != 3);
                let mut rng = rng();
                if n > 1 {
                    scan.stagger(&mut rng.clone());
                    indexed.stagger(&mut rng);
                }
                for i in 0..20_000 {
                    let a = scan.pick(&req(i), &pool, &mut rng);
                    let b = indexed.pick(&req(i), &pool, &mut rng);
                    assert_eq!(a, b, "pick {i} of {n} servers × {w}, smoothing {smoothing}");
                    if draw.random_range(0..10) > 0 {
                        pool.in_flight[a] += 1;
                        indexed.on_in_flight(a, pool.in_flight[a], 0.0);
                    }
                    for _ in 0..draw.random_range(0..3) {
                        let s = draw.random_range(0..n);
                        if pool.in_flight[s] > 0 {
                            pool.in_flight[s] -= 1;
                            indexed.on_in_flight(s, pool.in_flight[s], 0.0);
                            let r = f64::from(draw.random_range(1..4u32)) * 0.25;
                            scan.on_complete(s, r, 0.0);
                            indexed.on_complete(s, r, 0.0);
                        }
                    }
                }
            }
        }
    }
}
