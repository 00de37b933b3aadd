//! The balancer: a strategy, the pool it reads, and which servers it may use.
//!
//! A server is *eligible* unless active health checks mark it down or outlier detection
//! ejects it. Strategies never see ineligible servers: whenever the eligible set (or a
//! slow-start weight) changes, a fresh instance of the strategy is built over the eligible
//! servers only and given the matching [`Pool::subset`]; its picks are mapped back to real
//! server indices. This is how HAProxy (servers leave the LB tree), Envoy (the load
//! balancer is rebuilt over the healthy hosts) and gRPC (a new picker over READY
//! subchannels) behave, and it needs no eligibility code in any strategy. Per-instance
//! state (a round-robin position, smooth-WRR current weights) restarts at each change, as
//! it does in those balancers.
//!
//! If no server is eligible the balancer uses them all (the "panic" behaviour of Envoy
//! and nginx, better than failing every request). If a strategy cannot be built over the
//! eligible set (a parameter such as `choices` larger than the set), the full-pool
//! instance keeps picking and its picks of ineligible servers go to a random eligible one.
//!
//! Slow start (nginx `slow_start`, HAProxy `slowstart`): a server that becomes eligible
//! again ramps its weight from 1/20 to its full value in 20 equal steps over the window
//! (HAProxy also updates the effective weight in steps, every 1/20 of the window); the
//! other servers' weights are scaled by 20 meanwhile so the ratio is exact. Strategies
//! that ignore weights (round-robin, random, p2c) see no ramp, as in the real balancers.

use rand::RngExt;

use crate::strategy::{self, Params, Pool, RequestView, ServerInfo, Strategy, StrategyInfo, StrategyRng};

/// Steps of a slow-start ramp.
pub const SLOW_START_STEPS: u32 = 20;

struct Sub {
    /// Real server index of each member.
    map: Vec<usize>,
    /// Position of each real server among the members (`None`: not a member).
    pos: Vec<Option<u32>>,
    pool: Pool,
    /// `None` when the strategy could not be built over the members (fallback mode).
    strategy: Option<Box<dyn Strategy>>,
    /// Whether `strategy` keeps an index of its pool (told of every change).
    tracks: bool,
}

impl Sub {
    /// Tells a tracking strategy that member `p`'s in-flight count changed.
    #[inline]
    fn in_flight_changed(&mut self, p: usize) {
        if self.tracks
            && let Some(st) = &mut self.strategy
        {
            st.on_in_flight(p, self.pool.in_flight[p]);
        }
    }
}

/// A strategy with its view of the pool and the servers' eligibility.
pub(super) struct Balancer {
    info: &'static StrategyInfo,
    params: Params,
    servers: Vec<ServerInfo>,
    pool: Pool,
    strategy: Box<dyn Strategy>,
    /// Whether `strategy` keeps an index of the pool (told of every change).
    tracks: bool,
    sub: Option<Sub>,
    rng: StrategyRng,
    healthy: Vec<bool>,
    ejected: Vec<bool>,
    /// Slow-start step of each server (0 = not ramping).
    ramp: Vec<u32>,
    /// Rebuilds that fell back to remapping picks (strategy not buildable over the set).
    pub(super) fallbacks: u64,
    /// Times every server was ineligible and the balancer used them all.
    pub(super) panics: u64,
}

impl Balancer {
    /// A balancer running `info` with `params` over `servers`, drawing from `rng`.
    pub(super) fn new(info: &'static StrategyInfo, params: Params, servers: &[ServerInfo], rng: StrategyRng) -> Self {
        let strategy = (info.build)(&params, servers).expect("validated parameters");
        let n = servers.len();
        Balancer {
            info,
            params,
            servers: servers.to_vec(),
            pool: Pool::new(servers),
            tracks: strategy.tracks_pool(),
            strategy,
            sub: None,
            rng,
            healthy: vec![true; n],
            ejected: vec![false; n],
            ramp: vec![0; n],
            fallbacks: 0,
            panics: 0,
        }
    }

    /// Chooses a server for `req` among the eligible ones. `FULL = false` promises that
    /// eligibility never changes (no health checks, no outlier detection), here and in
    /// the other per-request methods.
    #[inline(always)]
    pub(super) fn pick<const FULL: bool>(&mut self, req: &RequestView) -> usize {
        if !FULL {
            return self.strategy.pick(req, &self.pool, &mut self.rng);
        }
        match &mut self.sub {
            None => self.strategy.pick(req, &self.pool, &mut self.rng),
            Some(sub) => match &mut sub.strategy {
                Some(st) => sub.map[st.pick(req, &sub.pool, &mut self.rng)],
                None => {
                    let s = self.strategy.pick(req, &self.pool, &mut self.rng);
                    if sub.pos[s].is_some() { s } else { sub.map[self.rng.random_range(0..sub.map.len())] }
                }
            },
        }
    }

    /// One more request in flight at `s` (the balancer's "active connections").
    #[inline(always)]
    pub(super) fn inc<const FULL: bool>(&mut self, s: usize) {
        self.pool.in_flight[s] += 1;
        if self.tracks {
            self.strategy.on_in_flight(s, self.pool.in_flight[s]);
        }
        if !FULL {
            return;
        }
        if let Some(sub) = &mut self.sub
            && let Some(p) = sub.pos[s]
        {
            sub.pool.in_flight[p as usize] += 1;
            sub.in_flight_changed(p as usize);
        }
    }

    /// One request fewer in flight at `s`.
    #[inline(always)]
    pub(super) fn dec<const FULL: bool>(&mut self, s: usize) {
        self.pool.in_flight[s] -= 1;
        if self.tracks {
            self.strategy.on_in_flight(s, self.pool.in_flight[s]);
        }
        if !FULL {
            return;
        }
        if let Some(sub) = &mut self.sub
            && let Some(p) = sub.pos[s]
        {
            sub.pool.in_flight[p as usize] -= 1;
            sub.in_flight_changed(p as usize);
        }
    }

    /// Sets the oracle's "next start" of `s`.
    #[inline(always)]
    pub(super) fn set_start_at<const FULL: bool>(&mut self, s: usize, t: f64) {
        self.pool.start_at[s] = t;
        if self.tracks {
            self.strategy.on_start_at(s, t);
        }
        if !FULL {
            return;
        }
        if let Some(sub) = &mut self.sub
            && let Some(p) = sub.pos[s]
        {
            sub.pool.start_at[p as usize] = t;
            if sub.tracks
                && let Some(st) = &mut sub.strategy
            {
                st.on_start_at(p as usize, t);
            }
        }
    }

    /// Tells the strategy that a request to `s` completed.
    #[inline(always)]
    pub(super) fn on_complete<const FULL: bool>(&mut self, s: usize, response: f64, now: f64) {
        if !FULL {
            return self.strategy.on_complete(s, response, now);
        }
        match &mut self.sub {
            None => self.strategy.on_complete(s, response, now),
            Some(sub) => match &mut sub.strategy {
                Some(st) => {
                    if let Some(p) = sub.pos[s] {
                        st.on_complete(p as usize, response, now);
                    }
                }
                None => self.strategy.on_complete(s, response, now),
            },
        }
    }

    /// Tells the strategy that `s` has just become idle (its last in-flight request
    /// completed): join-idle-queue's report.
    #[inline(always)]
    pub(super) fn on_idle<const FULL: bool>(&mut self, s: usize, now: f64) {
        if !FULL {
            return self.strategy.on_idle(s, now, &mut self.rng);
        }
        match &mut self.sub {
            None => self.strategy.on_idle(s, now, &mut self.rng),
            Some(sub) => match &mut sub.strategy {
                Some(st) => {
                    if let Some(p) = sub.pos[s] {
                        st.on_idle(p as usize, now, &mut self.rng);
                    }
                }
                None => self.strategy.on_idle(s, now, &mut self.rng),
            },
        }
    }

    /// Requests in flight at each server, as the balancer counts them.
    pub(super) fn in_flight(&self) -> &[u32] {
        self.pool.in_flight_all()
    }

    /// Whether `s` may receive requests.
    pub(super) fn is_eligible(&self, s: usize) -> bool {
        self.healthy[s] && !self.ejected[s]
    }

    /// Active health checks mark `s` up or down. Returns whether `s` became eligible.
    pub(super) fn set_healthy(&mut self, s: usize, up: bool) -> bool {
        let was = self.is_eligible(s);
        self.healthy[s] = up;
        self.changed(s, was)
    }

    /// Outlier detection ejects `s` or returns it. Returns whether `s` became eligible.
    pub(super) fn set_ejected(&mut self, s: usize, ejected: bool) -> bool {
        let was = self.is_eligible(s);
        self.ejected[s] = ejected;
        self.changed(s, was)
    }

    fn changed(&mut self, s: usize, was: bool) -> bool {
        let now = self.is_eligible(s);
        if now != was {
            if !now {
                self.ramp[s] = 0;
            }
            self.rebuild();
        }
        now && !was
    }

    /// Starts (`step` = 1), advances or ends (`step` = 0) the slow-start ramp of `s`.
    pub(super) fn set_ramp(&mut self, s: usize, step: u32) {
        self.ramp[s] = if step >= SLOW_START_STEPS { 0 } else { step };
        self.rebuild();
    }

    /// Current slow-start step of `s` (0 = none).
    pub(super) fn ramp(&self, s: usize) -> u32 {
        self.ramp[s]
    }

    fn build(&self, servers: &[ServerInfo]) -> Result<Box<dyn Strategy>, strategy::ParamError> {
        (self.info.build)(&self.params, servers)
    }

    fn rebuild(&mut self) {
        let n = self.servers.len();
        let members: Vec<usize> = (0..n).filter(|&s| self.is_eligible(s)).collect();
        let ramping = members.iter().any(|&s| self.ramp[s] > 0);
        if members.is_empty() {
            self.panics += 1;
        }
        if members.is_empty() || (members.len() == n && !ramping) {
            self.sub = None;
            self.strategy = self.build(&self.servers).expect("validated parameters");
            self.tracks = self.strategy.tracks_pool();
            return;
        }
        let infos: Vec<ServerInfo> = members
            .iter()
            .map(|&s| {
                let mut info = self.servers[s].clone();
                if ramping {
                    let steps = if self.ramp[s] == 0 { SLOW_START_STEPS } else { self.ramp[s] };
                    info.weight = info.weight.saturating_mul(steps);
                }
                info
            })
            .collect();
        let strategy = match self.build(&infos) {
            Ok(st) => Some(st),
            Err(_) => {
                self.fallbacks += 1;
                None
            }
        };
        let mut pos = vec![None; n];
        for (k, &s) in members.iter().enumerate() {
            pos[s] = Some(k as u32);
        }
        let pool = self.pool.subset(&members, &infos);
        let tracks = strategy.as_ref().is_some_and(|st| st.tracks_pool());
        self.sub = Some(Sub { map: members, pos, pool, strategy, tracks });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testutil::{req, rng, servers};

    fn balancer(name: &str, weights: &[u32]) -> Balancer {
        Balancer::new(strategy::lookup(name).unwrap(), Params::default(), &servers(weights), rng())
    }

    #[test]
    fn every_strategy_skips_ineligible_servers() {
        for info in strategy::registry::REGISTRY {
            let mut b = balancer(info.name, &[1, 2, 1, 3, 1]);
            b.set_healthy(1, false);
            b.set_ejected(3, true);
            for i in 0..200 {
                let s = b.pick::<true>(&req(i));
                assert!(s != 1 && s != 3, "{} picked ineligible {s}", info.name);
                b.inc::<true>(s);
                if i % 3 == 0 {
                    b.dec::<true>(s);
                }
            }
            // In-flight bookkeeping survives the rebuilds.
            b.set_healthy(1, true);
            let total: u32 = b.in_flight().iter().sum();
            assert_eq!(total, 200 - 67, "{}", info.name);
        }
    }

    #[test]
    fn panic_mode_uses_every_server_when_none_is_eligible() {
        let mut b = balancer("round-robin", &[1, 1, 1]);
        for s in 0..3 {
            b.set_healthy(s, false);
        }
        assert_eq!(b.panics, 1);
        let picks: Vec<usize> = (0..3).map(|i| b.pick::<true>(&req(i))).collect();
        assert_eq!(picks, vec![0, 1, 2]);
    }

    #[test]
    fn slow_start_ramps_the_weight() {
        let mut b = balancer("weighted-round-robin", &[1, 1]);
        b.set_healthy(1, false);
        b.set_healthy(1, true);
        b.set_ramp(1, 5); // 5/20 of its weight
        let n = 2000;
        let to_1 = (0..n).filter(|&i| b.pick::<true>(&req(i)) == 1).count();
        assert_eq!(to_1, n as usize * 5 / 25);
        b.set_ramp(1, SLOW_START_STEPS);
        assert_eq!(b.ramp(1), 0);
        let to_1 = (0..n).filter(|&i| b.pick::<true>(&req(i)) == 1).count();
        assert_eq!(to_1, n as usize / 2);
    }

    #[test]
    fn unbuildable_subset_falls_back_to_remapping() {
        let mut params = std::collections::BTreeMap::new();
        params.insert("choices".to_string(), toml::Value::Integer(3));
        let info = strategy::lookup("p2c").unwrap();
        let mut b = Balancer::new(info, Params::new(params), &servers(&[1, 1, 1]), rng());
        b.set_healthy(0, false);
        assert_eq!(b.fallbacks, 1);
        for i in 0..100 {
            assert_ne!(b.pick::<true>(&req(i)), 0);
        }
    }
}
