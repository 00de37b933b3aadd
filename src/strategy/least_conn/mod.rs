//! The least-connections family: nginx `least_conn`, HAProxy `leastconn`, IPVS `wlc`,
//! `sed` and `nq`.
//!
//! All compare a server's active connections (lbsim: its in-flight requests, queued and in
//! service) relative to its weight, with exact cross-multiplied integer comparisons as the
//! real balancers do; they differ in the +1, in what an idle server counts for, and in how
//! ties are broken:
//!
//! | strategy | score | ties |
//! |---|---|---|
//! | `least-connections` (nginx) | n/w | smooth weighted round robin |
//! | `weighted-least-connections` (HAProxy) | 0 if idle, else (n+1)/w | least recently (re)queued server |
//! | `least-connections` (`variant = "ipvs"`, IPVS lc) | n × 256 + ended | first in server order |
//! | `weighted-least-connections` (`variant = "ipvs"`, IPVS wlc) | (n × 256 + ended)/w | first in server order |
//! | `sed` (IPVS) | (n+1)/w | first in server order |
//! | `nq` (IPVS) | the first idle server, else (n+1)/w | first in server order |
//!
//! IPVS's `lc` and `wlc` also count connections that ended in the last `inactive_timeout`
//! (two minutes by default), at 1/256 of an active one: see [`ipvs`].

use rand::RngExt;

mod ipvs;
mod scan;

use ipvs::{Ipvs, IpvsRule};

use scan::uniform_pick;
pub(super) use scan::{least_per_weight, smooth_wrr_among};

use super::registry::Split;
use super::round_robin::stagger_smooth;
use super::{
    ParamError, ParamInfo, ParamType, Params, Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng,
};

/// `least-connections`.
pub(super) const LEAST_CONNECTIONS: StrategyInfo = StrategyInfo {
    name: "least-connections",
    models: "nginx `least_conn` (weighted; ties by smooth weighted round robin); Caddy 2.6 `lb_policy least_conn` \
             with variant = \"caddy\"; IPVS `lc` (kube-proxy's IPVS mode) with variant = \"ipvs\"",
    summary: "fewest in-flight requests relative to weight (conns×weight products), ties round-robin",
    params: &[LC_VARIANT, INACTIVE_TIMEOUT],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |params, servers| {
        let variant = params.choice_of(&LC_VARIANT)?;
        let inactive = inactive_timeout(params, variant)?;
        Ok(match variant {
            "caddy" => Box::new(super::caddy::CaddyLeastConn),
            "ipvs" => Box::new(Ipvs::new(servers, IpvsRule::Lc, inactive)),
            _ => Box::new(LeastConn::new(servers)),
        })
    },
};

/// `weighted-least-connections`.
pub(super) const WEIGHTED_LEAST_CONNECTIONS: StrategyInfo = StrategyInfo {
    name: "weighted-least-connections",
    models: "HAProxy `balance leastconn` (default); IPVS `wlc` with variant = \"ipvs\"",
    summary: "fewest in-flight per unit of weight; HAProxy: idle servers first, ties round-robin",
    params: &[WLC_VARIANT, INACTIVE_TIMEOUT],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |params, servers| {
        let v = params.choice_of(&WLC_VARIANT)?;
        let inactive = inactive_timeout(params, v)?;
        Ok(match v {
            "ipvs" => Box::new(Ipvs::new(servers, IpvsRule::Wlc, inactive)),
            _ => Box::new(HaproxyLeastConn::new(servers)),
        })
    },
};

/// `variant` of `least-connections`.
const LC_VARIANT: ParamInfo = ParamInfo {
    name: "variant",
    help: "\"nginx\": as above; \"caddy\": Caddy's LeastConnSelection, fewest in-flight requests whatever the \
           weights, ties broken uniformly at random; \"ipvs\": IPVS lc, the first server with the least \
           active × 256 + inactive connections, whatever the weights",
    ty: ParamType::Choice { default: "nginx", allowed: &["nginx", "caddy", "ipvs"] },
};

/// `inactive_timeout` of the IPVS variants.
const INACTIVE_TIMEOUT: ParamInfo = ParamInfo {
    name: "inactive_timeout",
    help: "variant = \"ipvs\" only: how long a connection that ended still counts, as inactive (IPVS's \
           FIN_WAIT and TIME_WAIT timeouts, 2 min each by default); \"0s\": ended connections do not count",
    ty: ParamType::Duration { default: 120.0, min: 0.0, max: 86_400.0 },
};

/// The IPVS variants' `inactive_timeout`, s; refused with any other variant.
fn inactive_timeout(params: &Params, variant: &str) -> Result<f64, ParamError> {
    if variant != "ipvs" && params.has(INACTIVE_TIMEOUT.name) {
        return Err(ParamError {
            param: INACTIVE_TIMEOUT.name.into(),
            message: format!(
                "is IPVS's; variant \"{variant}\" has no inactive connections (remove it, or set variant = \"ipvs\")"
            ),
        });
    }
    params.duration_of(&INACTIVE_TIMEOUT)
}

/// `variant` of `weighted-least-connections`.
const WLC_VARIANT: ParamInfo = ParamInfo {
    name: "variant",
    help: "\"haproxy\": score 0 when idle else (n+1)/w, ties to the least recently requeued server; \
           \"ipvs\": IPVS wlc, score (n × 256 + inactive)/w, ties to the first server",
    ty: ParamType::Choice { default: "haproxy", allowed: &["haproxy", "ipvs"] },
};

/// `sed`.
pub(super) const SED: StrategyInfo = StrategyInfo {
    name: "sed",
    models: "IPVS `sed` (shortest expected delay)",
    summary: "the server minimising (in-flight + 1) / weight: its expected delay if weight = speed",
    params: &[],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |_, servers| Ok(Box::new(Ipvs::new(servers, IpvsRule::Sed, 0.0))),
};

/// `nq`.
pub(super) const NQ: StrategyInfo = StrategyInfo {
    name: "nq",
    models: "IPVS `nq` (never queue)",
    summary: "the first idle server if any, else shortest expected delay ((in-flight + 1) / weight)",
    params: &[],
    keyed: false,
    cooperative: false,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |_, servers| Ok(Box::new(Ipvs::new(servers, IpvsRule::Nq, 0.0))),
};

/// Pools from this many servers up keep an index instead of scanning every server per
/// pick (below it a scan is as fast or faster).
pub(super) const INDEX_MIN_SERVERS: usize = 64;

/// Whether a strategy built over `n` servers keeps an index (tests can turn indexes off to
/// compare with the scan).
pub(super) fn use_index(n: usize) -> bool {
    #[cfg(test)]
    if NO_INDEX.with(std::cell::Cell::get) {
        return false;
    }
    n >= INDEX_MIN_SERVERS
}

#[cfg(test)]
thread_local! {
    /// Tests: build every strategy without an index (on this thread).
    pub(super) static NO_INDEX: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// nginx `ngx_http_upstream_get_least_conn_peer`: the peer minimising conns/weight,
/// compared as `conns_a * weight_b < conns_b * weight_a`; when several share the minimum,
/// smooth weighted round robin among them (their current weights persist across picks).
struct LeastConn {
    current: Vec<i64>,
    weight: Vec<i64>,
    /// All weights equal: compare connection counts directly (same order, no multiply).
    uniform: bool,
    /// Large pools with equal weights: the same picks from an index, O(log S) per change.
    index: Option<TieIndex>,
}

impl LeastConn {
    fn new(servers: &[ServerInfo]) -> Self {
        Self::with_index(servers, use_index(servers.len()))
    }

    /// `indexed`: keep a [`TieIndex`] when the weights are equal (else always scan).
    fn with_index(servers: &[ServerInfo], indexed: bool) -> Self {
        let weight: Vec<i64> = servers.iter().map(|s| i64::from(s.weight)).collect();
        let uniform = weight.iter().all(|&w| w == weight[0]);
        let index = (indexed && uniform).then(|| TieIndex::new(servers.len(), weight[0], true));
        LeastConn { current: vec![0; servers.len()], uniform, weight, index }
    }
}

/// nginx's least-connections rule with equal weights `w`, without a scan: servers are
/// grouped by in-flight count (a *level*), each level a binary max-heap of its servers
/// ordered by smooth-WRR current weight, then by index (the first in server order wins a
/// tie of current weights, as in nginx's pass). The tie pass adds `w` to the current weight
/// of every server of the lowest level: the level keeps that as a shared `offset`
/// (current = stored + offset), so it costs one addition; the chosen server, the heap's top,
/// then loses `w × (servers tied)` (a sift-down). A change of in-flight count moves a server
/// between levels (two heap operations). Every quantity is the exact integer nginx keeps,
/// so the picks are those of the scan (the tests drive both side by side).
///
/// The same index serves the rules that break ties otherwise: with `smooth` off a pick
/// changes nothing, so the top of the lowest level is the first server in server order
/// (IPVS) or, with keys set to minus a requeue stamp ([`TieIndex::set_key`]), the least
/// recently requeued (HAProxy).
#[derive(Debug)]
struct TieIndex {
    weight: i64,
    /// nginx's smooth-WRR pass among tied servers (else the top is taken as it is).
    smooth: bool,
    /// Whether the index has read the pool (at the first pick).
    ready: bool,
    levels: Vec<Level>,
    /// The level (in-flight count) each server is filed under.
    level: Vec<u32>,
    /// Each server's position in its level's heap.
    pos: Vec<u32>,
    /// Current weight minus the level's offset.
    stored: Vec<i64>,
    /// The lowest non-empty level.
    min: usize,
}

/// Servers tied on a score: a max-heap on smooth-WRR current weight (stored relative to
/// `offset`), then lower index.
#[derive(Debug, Default)]
pub(super) struct Level {
    pub(super) heap: Vec<u32>,
    pub(super) offset: i64,
}

/// Whether server `a` precedes `b` in a level's heap: higher current weight, then lower index.
#[inline(always)]
fn before(stored: &[i64], a: u32, b: u32) -> bool {
    let (x, y) = (stored[a as usize], stored[b as usize]);
    x > y || (x == y && a < b)
}

/// Moves `heap[k]` of a level up to its place ([`before`] order).
pub(super) fn sift_up(heap: &mut [u32], pos: &mut [u32], stored: &[i64], k: usize) {
    super::heap::sift_up(heap, pos, k, |a, b| before(stored, a, b));
}

/// Moves `heap[k]` of a level down to its place ([`before`] order).
pub(super) fn sift_down(heap: &mut [u32], pos: &mut [u32], stored: &[i64], k: usize) {
    super::heap::sift_down(heap, pos, k, |a, b| before(stored, a, b));
}

impl TieIndex {
    fn new(n: usize, weight: i64, smooth: bool) -> Self {
        TieIndex {
            weight,
            smooth,
            ready: false,
            levels: Vec::new(),
            level: vec![0; n],
            pos: vec![0; n],
            stored: vec![0; n],
            min: 0,
        }
    }

    /// Files every server under its in-flight count, with current weight `current[i]`.
    fn init(&mut self, conns: &[u32], current: &[i64]) {
        for (i, (&c, &cur)) in conns.iter().zip(current).enumerate() {
            self.insert(i, c as usize, cur);
        }
        self.min = conns.iter().copied().min().unwrap_or(0) as usize;
        self.ready = true;
    }

    fn insert(&mut self, s: usize, c: usize, current: i64) {
        if self.levels.len() <= c {
            self.levels.resize_with(c + 1, Level::default);
        }
        let lv = &mut self.levels[c];
        self.stored[s] = current - lv.offset;
        self.level[s] = c as u32;
        lv.heap.push(s as u32);
        let k = lv.heap.len() - 1;
        sift_up(&mut lv.heap, &mut self.pos, &self.stored, k);
    }

    /// Takes `s` out of its level; returns its current weight.
    fn remove(&mut self, s: usize) -> i64 {
        let lv = &mut self.levels[self.level[s] as usize];
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
            lv.offset = 0; // no member left to be relative to: keep the numbers small
        }
        current
    }

    /// Server `s` now has `n` requests in flight.
    #[inline]
    fn set(&mut self, s: usize, n: u32) {
        if !self.ready || self.level[s] == n {
            return;
        }
        let current = self.remove(s);
        let n = n as usize;
        self.insert(s, n, current);
        if n < self.min {
            self.min = n;
        }
        while self.levels[self.min].heap.is_empty() {
            self.min += 1;
        }
    }

    /// Sets the tie-break key (current weight) of `s` to `key`, in its level.
    fn set_key(&mut self, s: usize, key: i64) {
        if !self.ready {
            return;
        }
        let lv = &mut self.levels[self.level[s] as usize];
        self.stored[s] = key - lv.offset;
        let k = self.pos[s] as usize;
        sift_up(&mut lv.heap, &mut self.pos, &self.stored, k);
        let k = self.pos[s] as usize;
        sift_down(&mut lv.heap, &mut self.pos, &self.stored, k);
    }

    /// nginx's pick: the only server of the lowest level, or the smooth-WRR choice among
    /// its servers (the top of the lowest level when `smooth` is off).
    #[inline]
    fn pick(&mut self) -> usize {
        let lv = &mut self.levels[self.min];
        let top = lv.heap[0];
        if lv.heap.len() == 1 || !self.smooth {
            return top as usize;
        }
        lv.offset += self.weight;
        self.stored[top as usize] -= self.weight * lv.heap.len() as i64;
        sift_down(&mut lv.heap, &mut self.pos, &self.stored, 0);
        top as usize
    }
}

impl Strategy for LeastConn {
    fn pick(&mut self, _: &RequestView, pool: &Pool, _: &mut StrategyRng) -> usize {
        if let Some(index) = &mut self.index {
            if !index.ready {
                index.init(pool.in_flight_all(), &self.current);
            }
            return index.pick();
        }
        let conns = pool.in_flight_all();
        if self.uniform {
            return uniform_pick(conns, &mut self.current, self.weight[0]);
        }
        let load = |i: usize| i64::from(conns[i]);
        let (best, best_load, many) = least_per_weight(&self.weight, load);
        if !many {
            return best;
        }
        let (weight, wb) = (&self.weight, self.weight[best]);
        smooth_wrr_among(&mut self.current, weight, best, |i| load(i) * wb == best_load * weight[i])
    }

    fn tracks_pool(&self) -> bool {
        self.index.is_some()
    }

    #[inline]
    fn on_in_flight(&mut self, server: usize, in_flight: u32, _now: f64) {
        if let Some(index) = &mut self.index {
            index.set(server, in_flight);
        }
    }

    fn stagger(&mut self, rng: &mut StrategyRng) {
        // Ties are broken by smooth WRR among the tied servers; on an idle pool all tie.
        stagger_smooth(&mut self.current, &self.weight, rng);
    }
}

/// HAProxy `fwlc` (lb_fwlc.c): servers sit in a tree keyed by
/// `inflight ? (inflight + 1) × SRV_EWGHT_MAX / eweight : 0` and the first is taken. A server
/// is requeued (moved behind the others with the same key) whenever it takes or releases a
/// request, so servers with equal keys are used in turn. lbsim compares the keys exactly
/// (HAProxy's integer division can merge keys that differ by less than 1/4096).
///
/// With equal weights the key orders as the in-flight count, so large pools use a
/// [`TieIndex`] whose tie-break key is minus the requeue stamp (the least recently
/// requeued server first).
struct HaproxyLeastConn {
    weight: Vec<u64>,
    /// When each server was last requeued: the tree order among equal keys.
    stamp: Vec<u64>,
    clock: u64,
    /// All weights equal (a faster comparison).
    equal: bool,
    /// Large pools with equal weights: the same picks from an index.
    index: Option<TieIndex>,
}

impl HaproxyLeastConn {
    fn new(servers: &[ServerInfo]) -> Self {
        Self::with_index(servers, use_index(servers.len()))
    }

    fn with_index(servers: &[ServerInfo], indexed: bool) -> Self {
        let n = servers.len() as u64;
        let equal = servers.iter().all(|s| s.weight == servers[0].weight);
        HaproxyLeastConn {
            weight: servers.iter().map(|s| u64::from(s.weight)).collect(),
            stamp: (0..n).collect(),
            clock: n,
            equal,
            index: (indexed && equal).then(|| TieIndex::new(servers.len(), 0, false)),
        }
    }

    /// `key(a) < key(b)`, `==`, `>` for keys 0 (idle) or (n+1)/w.
    #[inline]
    fn cmp(&self, na: u32, a: usize, nb: u32, b: usize) -> std::cmp::Ordering {
        match (na, nb) {
            (0, 0) => std::cmp::Ordering::Equal,
            (0, _) => std::cmp::Ordering::Less,
            (_, 0) => std::cmp::Ordering::Greater,
            _ => ((u64::from(na) + 1) * self.weight[b]).cmp(&((u64::from(nb) + 1) * self.weight[a])),
        }
    }

    fn requeue(&mut self, s: usize) {
        self.clock += 1;
        self.stamp[s] = self.clock;
        if let Some(index) = &mut self.index {
            index.set_key(s, -(self.clock as i64));
        }
    }
}

impl Strategy for HaproxyLeastConn {
    fn pick(&mut self, _: &RequestView, pool: &Pool, _: &mut StrategyRng) -> usize {
        if let Some(index) = &mut self.index {
            if !index.ready {
                let keys: Vec<i64> = self.stamp.iter().map(|&t| -(t as i64)).collect();
                index.init(pool.in_flight_all(), &keys);
            }
            let best = index.pick();
            self.requeue(best);
            return best;
        }
        let n = pool.in_flight_all();
        let mut best = 0;
        if self.equal {
            // Equal weights: the key is 0 when idle, else n + 1 — compare (key, stamp).
            let key = |c: u32| if c == 0 { 0 } else { u64::from(c) + 1 };
            let mut best_key = (key(n[0]), self.stamp[0]);
            for (i, &c) in n.iter().enumerate().skip(1) {
                let k = (key(c), self.stamp[i]);
                if k < best_key {
                    best = i;
                    best_key = k;
                }
            }
        } else {
            for i in 1..n.len() {
                match self.cmp(n[i], i, n[best], best) {
                    std::cmp::Ordering::Less => best = i,
                    std::cmp::Ordering::Equal if self.stamp[i] < self.stamp[best] => best = i,
                    _ => {}
                }
            }
        }
        self.requeue(best);
        best
    }

    fn on_complete(&mut self, server: usize, _: f64, _: f64) {
        self.requeue(server);
    }

    fn tracks_pool(&self) -> bool {
        self.index.is_some()
    }

    #[inline]
    fn on_in_flight(&mut self, server: usize, in_flight: u32, _now: f64) {
        if let Some(index) = &mut self.index {
            index.set(server, in_flight);
        }
    }

    fn stagger(&mut self, rng: &mut StrategyRng) {
        // Rotate the tree order among equal keys: server k first, then k + 1, ...
        let n = self.stamp.len();
        let k = rng.random_range(0..n);
        for (i, st) in self.stamp.iter_mut().enumerate() {
            *st = ((i + n - k) % n) as u64;
        }
    }
}

#[cfg(test)]
mod tests;
