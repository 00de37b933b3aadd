//! Slow start as each balancer computes it: the weight a server that has just become an
//! endpoint again is given, step by step, and the strategies each balancer applies it to.
//!
//! The balancer holds a server's ramp as an integer *level* out of a full level (`scale`);
//! while any server ramps, every member's weight is multiplied by its level (full for the
//! others), so the ratios are exact in integers ([`Balancer`](super::balancer::Balancer)'s
//! rebuild). A ramp advances by `SlowStartStep` events, one per step.
//!
//! - **steps** (lbsim's generic ramp, nginx Plus `slow_start` as documented): level k + 1
//!   of 20 at the k-th step, a step every 1/20 of the window; through the weights of every
//!   strategy (those that ignore weights see no ramp) but nginx's `hash`, `ip_hash` and
//!   `random` (lbsim `hash`, `ip-hash`, `random`, `weighted-random`), with which nginx Plus
//!   refuses `slow_start`.
//! - **haproxy** (`server_recalc_eweight` and `server_warmup`, src/server.c, read in HAProxy
//!   2.6.0; the formula is the same in 3.x): the effective weight is `uweight × w` with
//!   `w = ⌊(16 × elapsed + S) ÷ S⌋` out of `BE_WEIGHT_SCALE` = 16, `elapsed` in whole
//!   seconds and `S` the window in whole seconds (`srv_parse_slowstart` rounds it up); the
//!   warm-up task recomputes it every `MAX(1000 ms, slowstart / 20)` — since `slowstart` is
//!   stored in seconds, that is every second. It applies to HAProxy's dynamic algorithms
//!   (`BE_LB_PROP_DYN`: roundrobin, leastconn, first, random and consistent hashing), so to
//!   every lbsim strategy through its weights except `hash` (HAProxy's map-based hashing is
//!   static); `round-robin` (HAProxy `roundrobin` with equal weights) becomes HAProxy's
//!   weighted round robin (`weighted-round-robin`, variant `haproxy`, lb_fwrr.c) while a
//!   server ramps.
//!   The same state ramps the server's `maxconn`, whatever the algorithm
//!   (`srv_dynamic_maxconn`, src/queue.c): while the server is `SRV_ST_STARTING` and
//!   `elapsed < S`, its limit is `MAX(1, maxconn × ratio ÷ 100)` with
//!   `ratio = 100 × elapsed ÷ S`, both divisions on integers ([`haproxy_maxconn`]), read
//!   at every dispatch with `elapsed = now.tv_sec − last_change`: whole seconds of the
//!   clock, so the limit steps on the clock's second boundaries, not a whole second after
//!   the return (lbsim's clock is taken as the wall clock: t = 0 at a second's start). The
//!   warm-up task, every second from the return, then takes from the backend queue what
//!   the limit allows (`pendconn_grab_from_px`). lbsim applies it where it has such a
//!   limit: a server with `max_connections` behind a `[balancer_queue]`
//!   (`engine/balancer_queue.rs`, with HAProxy's rule of who takes the room between a step
//!   and the task). Not modelled: `first` without a balancer queue keeps its full
//!   `max_connections`; `minconn`/`fullconn` (the limit's base is `maxconn`).
//! - **envoy** (`EdfLoadBalancerBase::applySlowStartFactor`,
//!   source/extensions/load_balancing_policies/common/load_balancer_impl.cc): weight ×
//!   max(`min_weight_percent`, (t ÷ window)^(1 ÷ `aggression`)), t the time since the host
//!   became healthy. Envoy applies it to ROUND_ROBIN and LEAST_REQUEST only: `round-robin`
//!   becomes Envoy's EDF weighted round robin (`p2c` with `active_request_bias` = 0, the
//!   same `EdfScheduler`) and `p2c` (variant `envoy`) its weighted least request (weight ×
//!   factor ÷ (active + 1)^bias); other strategies get no ramp. Envoy builds the EDF
//!   scheduler at a host-set change when a host is in slow start (`refresh`) and keeps it
//!   until the next change, so lbsim keeps the substitute after the ramps end until the
//!   eligible set changes. Envoy recomputes a host's factor each time it picks it; lbsim
//!   recomputes it every 1/100 of the window (at the middle of each hundredth), out of a
//!   full level of 1,000, and rebuilds the scheduler then.
//! - **alb** (AWS ALB target group `slow_start.duration_seconds`, 30–900 s: "linearly
//!   increases the number of requests sent to a new target … up to its fair share"): weight
//!   × t ÷ window, stepped as Envoy's; `round-robin` (ALB's round robin) becomes
//!   `weighted-round-robin` while ramping; other strategies get no ramp.

use std::collections::BTreeMap;

use super::balancer::SLOW_START_STEPS;
use crate::scenario::slow_start::{SlowStart, SlowStartModel};
use crate::strategy::{self, Params, StrategyInfo};

/// Envoy's and ALB's continuous ramps are recomputed this many times over the window.
const FINE_STEPS: u32 = 100;
/// Their levels are out of this.
const FINE_SCALE: u32 = 1000;
/// HAProxy's `BE_WEIGHT_SCALE`.
const HAPROXY_SCALE: u32 = 16;

/// How a balancer's slow start acts on one strategy.
pub(super) struct Ramping {
    /// The full level.
    pub(super) scale: u32,
    /// The strategy the balancer uses while a server ramps, when it is not the strategy
    /// itself (a weighted form of it).
    pub(super) substitute: Option<(&'static StrategyInfo, Params)>,
    /// Whether the substitute stays after the ramps end, until the eligible set changes
    /// (Envoy).
    pub(super) sticky: bool,
}

fn with(name: &str, params: Params) -> Option<(&'static StrategyInfo, Params)> {
    Some((strategy::lookup(name).expect("registered strategy"), params))
}

fn param(k: &str, v: toml::Value) -> Params {
    Params::new(BTreeMap::from([(k.to_string(), v)]))
}

/// How `model` acts on the strategy `name` with `params`; `None` when that balancer applies
/// no slow start to it.
pub(super) fn ramping(model: SlowStartModel, name: &str, params: &Params) -> Option<Ramping> {
    let variant = params.iter().find(|(k, _)| *k == "variant").and_then(|(_, v)| v.as_str().map(str::to_string));
    match model {
        // nginx Plus: "the parameter cannot be used along with the hash, ip_hash, and random
        // load balancing methods" (ngx_http_upstream_module, `server … slow_start`).
        SlowStartModel::Steps => match name {
            "hash" | "ip-hash" | "random" | "weighted-random" => None,
            _ => Some(Ramping { scale: SLOW_START_STEPS, substitute: None, sticky: false }),
        },
        SlowStartModel::Haproxy => match name {
            "hash" => None,
            "round-robin" => Some(Ramping {
                scale: HAPROXY_SCALE,
                substitute: with("weighted-round-robin", param("variant", "haproxy".into())),
                sticky: false,
            }),
            _ => Some(Ramping { scale: HAPROXY_SCALE, substitute: None, sticky: false }),
        },
        SlowStartModel::Envoy { .. } => match name {
            "round-robin" => Some(Ramping {
                scale: FINE_SCALE,
                substitute: with("p2c", param("active_request_bias", toml::Value::Float(0.0))),
                sticky: true,
            }),
            "p2c" if variant.as_deref().is_none_or(|v| v == "envoy") => {
                // Setting the bias forces Envoy's EDF mode, which it keeps until a refresh.
                let mut values: BTreeMap<String, toml::Value> =
                    params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
                values.entry("active_request_bias".into()).or_insert(toml::Value::Float(1.0));
                Some(Ramping { scale: FINE_SCALE, substitute: with("p2c", Params::new(values)), sticky: true })
            }
            _ => None,
        },
        SlowStartModel::Alb => match name {
            "round-robin" => Some(Ramping {
                scale: FINE_SCALE,
                substitute: with("weighted-round-robin", Params::default()),
                sticky: false,
            }),
            _ => None,
        },
    }
}

/// Seconds between two steps of `ss`'s ramp.
pub(super) fn tick(ss: &SlowStart) -> f64 {
    match ss.model {
        SlowStartModel::Steps => ss.window / f64::from(SLOW_START_STEPS),
        // server_warmup: MAX(1000 ms, slowstart / 20) with slowstart in seconds.
        SlowStartModel::Haproxy => 1.0,
        SlowStartModel::Envoy { .. } | SlowStartModel::Alb => ss.window / f64::from(FINE_STEPS),
    }
}

/// The level of `ss`'s ramp at its `k`-th step (k = 0 when the server becomes an
/// endpoint); the full level (or more) ends the ramp.
pub(super) fn level(ss: &SlowStart, k: u32) -> u32 {
    let fine = |factor: f64| -> u32 {
        if k >= FINE_STEPS {
            FINE_SCALE
        } else {
            ((factor * f64::from(FINE_SCALE)).round() as u32).clamp(1, FINE_SCALE)
        }
    };
    let mid = (f64::from(k) + 0.5) / f64::from(FINE_STEPS);
    match ss.model {
        SlowStartModel::Steps => k + 1,
        SlowStartModel::Haproxy => {
            let s = ss.window as u64;
            ((u64::from(HAPROXY_SCALE) * u64::from(k) + s) / s).min(u64::from(HAPROXY_SCALE)) as u32
        }
        SlowStartModel::Envoy { aggression, min_weight } => fine(envoy_factor(mid, aggression, min_weight)),
        SlowStartModel::Alb => fine(mid),
    }
}

/// HAProxy's limit for a server of `maxconn`, `k` whole seconds into a `window`-second
/// slow start (`srv_dynamic_maxconn`, src/queue.c, HAProxy 2.6: `ratio = 100 × elapsed ÷
/// slowstart`, then `MAX(1, max × ratio ÷ 100)`, integer divisions; `max` is `maxconn`
/// since lbsim has no `minconn`/`fullconn`); `maxconn` itself from the window's end on.
/// HAProxy multiplies in 32 bits; lbsim in 64 (a `maxconn` above 42,949,672 would wrap
/// there).
pub(super) fn haproxy_maxconn(maxconn: u32, k: u32, window: u32) -> u32 {
    if k >= window {
        return maxconn;
    }
    let ratio = 100 * u64::from(k) / u64::from(window);
    (u64::from(maxconn) * ratio / 100).max(1) as u32
}

/// Envoy's factor at `time_factor` = t ÷ window (`applyAggressionFactor`, then the floor).
pub(super) fn envoy_factor(time_factor: f64, aggression: f64, min_weight: f64) -> f64 {
    let f = if aggression == 1.0 || time_factor == 1.0 { time_factor } else { time_factor.powf(1.0 / aggression) };
    f.max(min_weight)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_ramps_in_sixteenths_every_second() {
        let ss = SlowStart { window: 10.0, model: SlowStartModel::Haproxy };
        let levels: Vec<u32> = (0..=10).map(|k| level(&ss, k)).collect();
        // ⌊(16k + 10) / 10⌋, capped at 16.
        assert_eq!(levels, vec![1, 2, 4, 5, 7, 9, 10, 12, 13, 15, 16]);
        assert_eq!(tick(&ss), 1.0);
    }

    #[test]
    fn haproxy_ramps_maxconn_in_whole_percents() {
        // maxconn 10 over 10 s: ratio 0, 10, …, 90 % → MAX(1, 10 × ratio / 100).
        let caps: Vec<u32> = (0..=10).map(|k| haproxy_maxconn(10, k, 10)).collect();
        assert_eq!(caps, vec![1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(caps[..10].iter().sum::<u32>(), 46); // 4.6 connections on average
        // Both divisions truncate: 7 s of 60 → ratio 11 (not 11.67), 8 × 11 / 100 = 0 → 1;
        // 59 s → ratio 98, 100 × 98 / 100 = 98.
        assert_eq!(haproxy_maxconn(8, 7, 60), 1);
        assert_eq!(haproxy_maxconn(100, 59, 60), 98);
        assert_eq!(haproxy_maxconn(100, 60, 60), 100);
        assert_eq!(haproxy_maxconn(1, 0, 10), 1);
        assert_eq!(haproxy_maxconn(u32::MAX - 1, 5, 10), (u32::MAX - 1) / 2);
    }

    #[test]
    fn envoy_factor_follows_the_documented_formula() {
        // Half the window: 0.5 with aggression 1, √0.5 with aggression 2; the floor at 10%.
        assert_eq!(envoy_factor(0.5, 1.0, 0.1), 0.5);
        assert!((envoy_factor(0.5, 2.0, 0.1) - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(envoy_factor(0.001, 1.0, 0.1), 0.1);
        let ss = SlowStart { window: 60.0, model: SlowStartModel::Envoy { aggression: 1.0, min_weight: 0.0 } };
        assert_eq!(level(&ss, 49), 495); // t in [29.4 s, 30 s): evaluated at 29.7 s
        assert_eq!(level(&ss, 100), FINE_SCALE);
    }

    #[test]
    fn each_vendor_ramps_only_its_strategies() {
        let envoy = SlowStartModel::Envoy { aggression: 1.0, min_weight: 0.1 };
        let none = Params::default();
        assert!(ramping(envoy, "least-connections", &none).is_none());
        assert!(ramping(envoy, "p2c", &param("variant", "haproxy".into())).is_none());
        assert_eq!(ramping(envoy, "round-robin", &none).unwrap().substitute.unwrap().0.name, "p2c");
        assert!(ramping(SlowStartModel::Haproxy, "hash", &none).is_none());
        assert!(ramping(SlowStartModel::Alb, "p2c", &none).is_none());
        for nginx_refuses in ["hash", "ip-hash", "random", "weighted-random"] {
            assert!(ramping(SlowStartModel::Steps, nginx_refuses, &none).is_none(), "{nginx_refuses}");
        }
        assert!(ramping(SlowStartModel::Steps, "least-connections", &none).is_some());
        assert!(ramping(SlowStartModel::Steps, "ring-hash", &none).is_some());
    }
}
