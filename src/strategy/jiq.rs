//! Join-Idle-Queue (Lu, Xie, Kliot, Geller, Larus, Greenberg, Performance 2011).
//!
//! Designed for many dispatchers that must not talk to every server on each request: each
//! dispatcher keeps an *I-queue* of servers that reported themselves idle. A server that
//! becomes idle (its last request completes) reports to one dispatcher — a uniformly random
//! one (JIQ-Random, the default) or the one with the shortest I-queue (JIQ-SQ) — unless it
//! is already listed somewhere. A request arrives at a uniformly random dispatcher, which
//! sends it to the first server of its I-queue (removing it), or to a uniformly random
//! server when its I-queue is empty. At the start every server is idle and reports.
//!
//! The dispatchers are lbsim's balancer instances when `[balancers] count` is above 1: the
//! strategy is then *cooperative* (one state for all instances, holding every dispatcher's
//! I-queue), a request is dispatched by the instance `[balancers] assign` gave it (uniform
//! for `assign = "random"`, the paper's model), and `dispatchers` must not be given. With
//! one balancer instance, `dispatchers` splits that one balancer into dispatchers chosen
//! uniformly per request.
//!
//! A server reports when it is really idle — it holds no request, including an attempt the
//! client has given up on (a timed-out request still keeps the server busy) — not when the
//! balancer's count of its requests drops to zero.
//!
//! With one dispatcher (the default, lbsim's single balancer) a listed server can only
//! receive work from the I-queue, so the I-queue is exactly the set of idle servers: every
//! request finds an idle server whenever one exists. With several dispatchers a request may
//! reach a dispatcher whose I-queue is empty, or a listed server may have been given work
//! by another dispatcher's random choice; this is the trade-off the paper studies. Weights
//! are ignored (the paper's servers are identical; the random fallback is uniform).

use std::collections::VecDeque;

use rand::RngExt;

use super::registry::Split;
use super::{ParamInfo, ParamType, Pool, RequestView, Strategy, StrategyInfo, StrategyRng};

/// `join-idle-queue`.
pub(super) const JOIN_IDLE_QUEUE: StrategyInfo = StrategyInfo {
    name: "join-idle-queue",
    models: "Join-Idle-Queue (Lu et al., Performance 2011), JIQ-Random / JIQ-SQ",
    summary: "an idle server from the dispatcher's I-queue if any (idle servers report in), else a random one",
    params: &[DISPATCHERS, REPORT],
    keyed: false,
    cooperative: true,
    oracle: false,
    split: |_| Split::Dynamic,
    table_bytes: |_, _| 0,
    reads: |_, _| 1,
    build: |params, servers| {
        let d = params.int_of(&DISPATCHERS)? as usize;
        let shortest = params.choice_of(&REPORT)? == "shortest";
        Ok(Box::new(Jiq {
            iqueues: vec![VecDeque::new(); d],
            listed: vec![false; servers.len()],
            shortest,
            started: false,
            by_instance: false,
        }))
    },
};

/// `dispatchers` of `join-idle-queue`.
const DISPATCHERS: ParamInfo = ParamInfo {
    name: "dispatchers",
    help: "number of dispatchers, each with its own I-queue, a request's chosen uniformly, 1..=10000; with \
           [balancers] count > 1 the balancer instances are the dispatchers (leave this out)",
    ty: ParamType::Int { default: 1, min: 1, max: 10_000 },
};

/// `report` of `join-idle-queue`.
const REPORT: ParamInfo = ParamInfo {
    name: "report",
    help: "where an idle server reports: \"random\" dispatcher (JIQ-Random) or \"shortest\" I-queue (JIQ-SQ)",
    ty: ParamType::Choice { default: "random", allowed: &["random", "shortest"] },
};

struct Jiq {
    iqueues: Vec<VecDeque<u32>>,
    listed: Vec<bool>,
    shortest: bool,
    started: bool,
    /// The dispatchers are the balancer instances: a request's dispatcher is its instance.
    by_instance: bool,
}

impl Jiq {
    fn report(&mut self, server: usize, rng: &mut StrategyRng) {
        if self.listed[server] {
            return;
        }
        let d = if self.iqueues.len() == 1 {
            0
        } else if self.shortest {
            (0..self.iqueues.len()).min_by_key(|&d| self.iqueues[d].len()).expect("dispatchers")
        } else {
            rng.random_range(0..self.iqueues.len())
        };
        self.iqueues[d].push_back(server as u32);
        self.listed[server] = true;
    }
}

impl Strategy for Jiq {
    fn pick(&mut self, req: &RequestView, pool: &Pool, rng: &mut StrategyRng) -> usize {
        if !self.started {
            self.started = true;
            for s in 0..pool.len() {
                if pool.in_flight(s) == 0 {
                    self.report(s, rng);
                }
            }
        }
        let d = if self.iqueues.len() == 1 {
            0
        } else if self.by_instance {
            req.balancer as usize
        } else {
            rng.random_range(0..self.iqueues.len())
        };
        match self.iqueues[d].pop_front() {
            Some(s) => {
                self.listed[s as usize] = false;
                s as usize
            }
            None => rng.random_range(0..pool.len()),
        }
    }

    fn on_idle(&mut self, server: usize, _: f64, rng: &mut StrategyRng) {
        self.report(server, rng);
    }

    fn set_instances(&mut self, count: u32) {
        if count > 1 {
            self.iqueues = vec![VecDeque::new(); count as usize];
            self.by_instance = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    /// Drives a strategy through random arrivals and completions (no engine), checking
    /// `check(pool before the pick, pick)` at every arrival.
    fn drive(params: &Params, n_servers: usize, steps: u64, check: &mut dyn FnMut(&Pool, usize)) {
        let servers = servers(&vec![1; n_servers]);
        let mut pool = Pool::new(&servers);
        let mut s = (JOIN_IDLE_QUEUE.build)(params, &servers).unwrap();
        let mut rng = rng();
        for i in 0..steps {
            // An M/M/S-like process at load 0.9: arrivals at rate 0.9·S, each busy server
            // completing at rate 1 — idle servers are common, and so is a fully busy pool.
            let busy_now = pool.in_flight_all().iter().filter(|&&c| c > 0).count() as f64;
            let lambda = 0.9 * n_servers as f64;
            if rng.random_bool(lambda / (lambda + busy_now)) {
                let k = s.pick(&req(i), &pool, &mut rng);
                check(&pool, k);
                pool.in_flight[k] += 1;
            } else {
                let busy: Vec<usize> = (0..n_servers).filter(|&j| pool.in_flight[j] > 0).collect();
                if let Some(&j) = busy.get(rng.random_range(0..busy.len().max(1))) {
                    pool.in_flight[j] -= 1;
                    s.on_complete(j, 0.0, 0.0);
                    if pool.in_flight[j] == 0 {
                        s.on_idle(j, 0.0, &mut rng);
                    }
                }
            }
        }
    }

    #[test]
    fn one_dispatcher_sends_to_an_idle_server_whenever_one_exists() {
        let mut idle_available = 0;
        let mut random_fallbacks = 0;
        drive(&Params::default(), 8, 200_000, &mut |pool, k| {
            if pool.in_flight_all().contains(&0) {
                idle_available += 1;
                assert_eq!(pool.in_flight(k), 0, "an idle server existed but server {k} was busy");
            } else {
                random_fallbacks += 1;
            }
        });
        // Both regimes were exercised.
        assert!(idle_available > 1000 && random_fallbacks > 1000, "{idle_available} {random_fallbacks}");
    }

    #[test]
    fn balancer_instances_are_the_dispatchers() {
        // Three instances, JIQ-SQ: the six idle servers report at the first pick, each to the
        // shortest I-queue (the first on ties): instance 0 gets servers 0 and 3, instance 1
        // servers 1 and 4, instance 2 servers 2 and 5. A request is dispatched by its own
        // instance, from its own I-queue.
        let servers = servers(&[1; 6]);
        let pool = Pool::new(&servers);
        let params =
            Params::new([("report".to_string(), toml::Value::String("shortest".into()))].into_iter().collect());
        let mut s = (JOIN_IDLE_QUEUE.build)(&params, &servers).unwrap();
        s.set_instances(3);
        let mut rng = rng();
        let on = |b: u32, id: u64| RequestView { balancer: b, ..req(id) };
        let picks: Vec<usize> =
            [1, 1, 2, 0, 2, 0].iter().enumerate().map(|(i, &b)| s.pick(&on(b, i as u64), &pool, &mut rng)).collect();
        assert_eq!(picks, vec![1, 4, 2, 0, 5, 3]);
        // Server 4 becomes idle: it reports to the shortest I-queue (all empty: instance 0's).
        s.on_idle(4, 1.0, &mut rng);
        assert_eq!(s.pick(&on(0, 6), &pool, &mut rng), 4);
    }

    #[test]
    fn many_dispatchers_mostly_find_idle_servers() {
        let params = Params::new(
            [
                ("dispatchers".to_string(), toml::Value::Integer(4)),
                ("report".into(), toml::Value::String("shortest".into())),
            ]
            .into_iter()
            .collect(),
        );
        let (mut idle, mut hits) = (0u32, 0u32);
        drive(&params, 16, 100_000, &mut |pool, k| {
            if pool.in_flight_all().contains(&0) {
                idle += 1;
                hits += u32::from(pool.in_flight(k) == 0);
            }
        });
        assert!(f64::from(hits) / f64::from(idle) > 0.5, "{hits}/{idle}");
    }
}
