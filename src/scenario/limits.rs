//! Limits that keep a valid scenario runnable: checked after validation (and again after
//! `--requests`), so that `run`, `sweep` and `plan` never meet a scenario whose times
//! overflow, whose clock cannot resolve its service times, or whose timers swamp its
//! requests. Each refusal names the key responsible and the figures behind it.
//!
//! - **Rates**: the highest rate the arrivals can reach (with every spike's multiplier) is at
//!   most [`MAX_RATE`].
//! - **Clock**: simulated time is an `f64` number of seconds, exact to 1 part in 2⁵³. A run
//!   may span at most [`MAX_SPAN`] (2⁴⁰) of its shortest mean service time, so that times
//!   late in the run still resolve service times to 2⁻¹² (0.02%) of their mean. This also
//!   refuses rates so small that arrival times overflow (`rate = 5e-324`).
//! - **Timers**: events that do not come from requests — health checks (a probe and its
//!   result per server per interval), outlier-detection sweeps, the pieces a diurnal cycle
//!   is sampled in ([`DIURNAL_PIECES`](crate::workload::rate::DIURNAL_PIECES) per period), the state changes of an MMPP — may number
//!   at most `max(`[`MAX_TIMER_EVENTS`]`, `[`TIMER_EVENTS_PER_REQUEST`]` × requests)` per
//!   simulation: a 1 ns health check or diurnal period is refused, not left to run for days.
//!
//! - **Service**: a server's mean service time (demand over speed), under every slowdown
//!   fault at once, is at most [`MAX_DURATION`], so that service times stay finite.
//!
//! Durations themselves are at most [`MAX_DURATION`] (checked where they are parsed).

use super::{Scenario, ScenarioError};
use crate::duration::{MAX_DURATION, format_number};

/// The highest arrival rate a scenario may reach, req/s (spikes included).
pub const MAX_RATE: f64 = 1e12;

/// The longest run, in units of the shortest mean service time (2⁴⁰ ≈ 1.1 × 10¹²).
pub const MAX_SPAN: f64 = (1u64 << 40) as f64;

/// Timer events per simulation always allowed.
pub const MAX_TIMER_EVENTS: f64 = 1e9;

/// Timer events per request allowed beyond [`MAX_TIMER_EVENTS`].
pub const TIMER_EVENTS_PER_REQUEST: f64 = 100.0;

/// A source of events that do not come from requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    /// The key that sets its pace.
    pub key: &'static str,
    /// What it is, for messages: "health checks of 10 servers every 1ns".
    pub what: String,
    /// Events per simulated second.
    pub rate: f64,
}

impl Scenario {
    /// The sources of events that do not come from requests, with their rates.
    pub fn timers(&self) -> Vec<Timer> {
        use crate::duration::format_duration as d;
        let mut out = Vec::new();
        if let Some(h) = &self.health_check {
            let s = self.server_count();
            out.push(Timer {
                key: "health_check.interval",
                what: format!("health checks of {s} server(s) every {}", d(h.interval)),
                rate: 2.0 * s as f64 / h.interval,
            });
        }
        if let Some(o) = &self.outlier_detection {
            out.push(Timer {
                key: "outlier_detection.interval",
                what: format!("outlier-detection sweeps every {}", d(o.interval)),
                rate: 1.0 / o.interval,
            });
        }
        if let Some(a) = &self.autoscaler {
            // A scrape reads every place; a sync classifies every pod.
            let places = a.max_replicas as f64;
            out.push(Timer {
                key: "autoscaler.metric_window",
                what: format!("metrics of {} pod(s) scraped every {}", a.max_replicas, d(a.metric_window)),
                rate: places / a.metric_window,
            });
            out.push(Timer {
                key: "autoscaler.sync_period",
                what: format!("HPA syncs over {} pod(s) every {}", a.max_replicas, d(a.sync_period)),
                rate: places / a.sync_period,
            });
        }
        if let Some(interval) = self.balancers.view.interval() {
            out.push(Timer {
                key: "balancers.interval",
                what: format!("a periodic view refreshed every {}", d(interval)),
                rate: 1.0 / interval,
            });
        }
        out.extend(self.arrivals.timer());
        out
    }

    /// The service distributions in use whose moments run out by the third (Pareto with
    /// α ≤ 3): `(order of the moments that exist, where: "[service]" or "group web")`.
    pub fn heavy_tails(&self) -> Vec<(f64, String)> {
        let mut out = Vec::new();
        if self.groups.iter().any(|g| g.service.is_none()) && self.service.moments() <= 3.0 {
            out.push((self.service.moments(), "[service]".to_string()));
        }
        for g in &self.groups {
            if let Some(d) = g.service.as_ref().filter(|d| d.moments() <= 3.0) {
                out.push((d.moments(), format!("group {}", g.name)));
            }
        }
        out
    }

    /// The shortest mean service time of any server (its demand over its speed), s.
    pub fn shortest_service(&self) -> f64 {
        let mut shortest = f64::INFINITY;
        for g in &self.groups {
            let mean = g.service.as_ref().map_or_else(|| self.mean_demand(), |s| s.mean());
            for s in &self.servers[g.first..g.first + g.count] {
                shortest = shortest.min(mean / s.speed);
            }
        }
        shortest
    }

    /// Checks the limits of this module; `requests_key` names what set `requests` (`requests`,
    /// or `--requests` after an override).
    pub(super) fn check_limits(&self, requests_key: &str) -> Result<(), ScenarioError> {
        self.check_rates(requests_key)?;
        let n = self.requests as f64;
        // Timer events first over a lower bound of the run's length (cheap), so that a
        // nanosecond diurnal cycle is refused before its length is computed piece by piece.
        if let Some(shortest) = self.arrivals.shortest_run(n)
            && shortest.is_finite()
        {
            self.check_timers(shortest, true)?;
        }
        let span = self.expected_duration();
        let tau = self.shortest_service();
        let rate_key = self.rate_key();
        if !(tau.is_finite() && tau > 0.0) {
            return Err(ScenarioError::at(
                "servers",
                format!("a server's mean service time is {tau} s: it must be a positive, finite duration"),
            ));
        }
        self.check_longest_service()?;
        if !(span.is_finite() && span / tau <= MAX_SPAN) {
            let what = if span.is_finite() {
                format!("{span:.3e} s, {:.1e} times the shortest mean service time ({tau:.3e} s)", span / tau)
            } else {
                self.arrivals.endless().to_string()
            };
            return Err(ScenarioError::at(
                rate_key,
                format!(
                    "{} requests would take {what}: lbsim's clock (seconds in an f64) cannot resolve service times \
                     that late in a run; a run may span at most 2^40 mean service times",
                    self.requests
                ),
            )
            .with_help(format!("raise the arrival rate or lower `{requests_key}`")));
        }
        self.check_timers(span, false)
    }

    /// Timer events over a run of `span` seconds (`at_least`: a lower bound of its length) are
    /// at most `max(`[`MAX_TIMER_EVENTS`]`, `[`TIMER_EVENTS_PER_REQUEST`]` × requests)`.
    fn check_timers(&self, span: f64, at_least: bool) -> Result<(), ScenarioError> {
        let n = self.requests as f64;
        let allowed = MAX_TIMER_EVENTS.max(TIMER_EVENTS_PER_REQUEST * n);
        let timers = self.timers();
        let total: f64 = timers.iter().map(|t| t.rate * span).sum();
        if total > allowed {
            let top = timers.iter().max_by(|a, b| a.rate.total_cmp(&b.rate)).expect("total > 0");
            return Err(ScenarioError::at(
                top.key,
                format!(
                    "{} make {:.1e} events per simulated second: {}{total:.1e} over the run's {} {span:.3e} s, for \
                     {} requests; a simulation may have at most {allowed:.1e} such events (10^9, or 100 per request)",
                    top.what,
                    top.rate,
                    if at_least { "at least " } else { "" },
                    if at_least { "shortest possible" } else { "expected" },
                    self.requests
                ),
            )
            .with_help("lengthen the interval or period (or the run's rate), or lower `requests`"));
        }
        Ok(())
    }

    /// Every server's mean service time (its demand over its speed), slowed down by every
    /// slowdown fault at once, is at most [`MAX_DURATION`]: service times stay finite.
    fn check_longest_service(&self) -> Result<(), ScenarioError> {
        let slowdowns: Vec<(usize, f64)> = self
            .faults
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.kind.slowdown().filter(|&factor| factor > 1.0).map(|factor| (i, factor)))
            .collect();
        let slowest: f64 = slowdowns.iter().map(|s| s.1).product();
        for (gi, g) in self.groups.iter().enumerate() {
            let mean = g.service.as_ref().map_or_else(|| self.mean_demand(), |s| s.mean());
            let base = mean / self.servers[g.first].speed;
            if base.is_nan() || base > MAX_DURATION {
                return Err(ScenarioError::at(
                    format!("servers[{gi}].speed"),
                    format!(
                        "its servers' mean service time would be {base:.3e} s (mean demand {mean:.3e} s / speed {}); \
                         at most {MAX_DURATION:e} s",
                        format_number(self.servers[g.first].speed)
                    ),
                ));
            }
            if (base * slowest).is_nan() || base * slowest > MAX_DURATION {
                let (i, factor) = slowdowns.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)).expect("slowest > 1");
                return Err(ScenarioError::at(
                    format!("faults[{i}].slowdown"),
                    format!(
                        "slowed down by every slowdown at once ({slowest:.3e}×, this one {factor}×), group {}'s mean \
                         service time would be {:.3e} s; at most {MAX_DURATION:e} s",
                        g.name,
                        base * slowest
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The key that sets the arrival rate, for errors about the run's length.
    pub fn rate_key(&self) -> &'static str {
        self.arrivals.rate_key()
    }

    /// The highest rate the arrivals can reach is at most [`MAX_RATE`]; a trace's replayed
    /// rows span some time (its rate is their number over that span).
    fn check_rates(&self, requests_key: &str) -> Result<(), ScenarioError> {
        let Some((peak, key)) = self.arrivals.peak_limit(self, requests_key)? else {
            return Ok(());
        };
        if peak > MAX_RATE {
            return Err(ScenarioError::at(
                key,
                format!("the arrival rate can reach {peak:.3e} req/s (spikes included); at most {MAX_RATE:e} req/s"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;

    const BASE: &str = "requests = 20000\nstrategies = [\"random\"]\n[service]\ndistribution = \"exponential\"\n\
                        mean = \"10ms\"\n[[servers]]\nname = \"s\"\ncount = 10\n";

    fn parse(arrivals: &str, extra: &str) -> Result<Scenario, String> {
        Scenario::parse(&format!("{BASE}{extra}\n[arrivals]\n{arrivals}\n"), None).map_err(|e| e.to_string())
    }

    #[test]
    fn rates_whose_times_overflow_are_refused() {
        let e = parse("process = \"poisson\"\nrate = 5e-324", "").unwrap_err();
        assert!(e.contains("`arrivals.rate`") && e.contains("2^40 mean service times"), "{e}");
        let e = parse("process = \"poisson\"\nrate = 1e-9", "").unwrap_err();
        assert!(e.contains("`arrivals.rate`"), "{e}");
        let e = parse("process = \"deterministic\"\nrate = 1e13", "").unwrap_err();
        assert!(e.contains("at most 1e12 req/s"), "{e}");
        let spikes = "[[arrivals.spike]]\nat = \"1s\"\nduration = \"1s\"\nmultiplier = 1e300\n";
        let e = parse(&format!("process = \"poisson\"\nrate = 100.0\n{spikes}"), "").unwrap_err();
        assert!(e.contains("`arrivals.spike`"), "{e}");
        assert!(parse("process = \"poisson\"\nrate = 900.0", "").is_ok());
    }

    #[test]
    fn timers_that_swamp_the_requests_are_refused() {
        let poisson = "process = \"poisson\"\nrate = 900.0";
        let e = parse(poisson, "[health_check]\ninterval = \"1ns\"").unwrap_err();
        assert!(e.contains("`health_check.interval`: health checks of 10 server(s) every 1ns make 2.0e10"), "{e}");
        assert!(parse(poisson, "[health_check]\ninterval = \"1ms\"").is_ok());
        let e = parse(poisson, "[outlier_detection]\ninterval = \"1ns\"").unwrap_err();
        assert!(e.contains("`outlier_detection.interval`"), "{e}");
        let diurnal = "process = \"poisson\"\n[arrivals.diurnal]\nbase = 100.0\namplitude = 50.0\nperiod = \"1ns\"";
        let e = parse(diurnal, "").unwrap_err();
        assert!(e.contains("`arrivals.diurnal.period`"), "{e}");
        let spike = "\n[[arrivals.spike]]\nat = \"60s\"\nduration = \"10s\"\nmultiplier = 2.0";
        assert!(parse(&format!("{diurnal}{spike}"), "").unwrap_err().contains("`arrivals.diurnal.period`"));
        let mmpp = "process = \"mmpp\"\nrates = [100.0, 10.0]\nmean_sojourn = [\"1ns\", \"1ns\"]";
        assert!(parse(mmpp, "").unwrap_err().contains("`arrivals.mean_sojourn`"));
    }
}
