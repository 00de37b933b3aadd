//! Samples the number in system per server at a fixed simulated-time interval.
//!
//! The engine calls [`TimelineRecorder::observe`] with the time of every event before handling it:
//! one comparison per event, nothing else unless a sampling instant has been passed. The
//! state between events is constant, so the state at an instant is the state after the
//! last event at or before it, and each server's integral of the number in system (kept by
//! `Server` as it changes) extends to the instant exactly; the difference of two such
//! integrals gives the interval's time-average. [`TimelineRecorder::completed`] counts a completion
//! (one increment).
//!
//! In the first replication (the one the outputs draw) it also records latency over time:
//! [`TimelineRecorder::response`] adds a request's response time to the current interval's
//! [`WindowLatency`] when its answer reaches the client, [`TimelineRecorder::failed`] counts a
//! request that ended otherwise, [`TimelineRecorder::arrived`] one that arrived, warm-up
//! included. Later replications skip both (one
//! branch), so memory does not grow with the number of replications.
//!
//! With `[slo]` it also judges every replication's windows of the objective
//! ([`SloWindows`]: two counts per window, whatever the replication).
//!
//! The interval is chosen from the expected run length (requests / arrival rate) so that
//! a run yields about [`TARGET_SAMPLES`] samples, rounded up to 1, 2 or 5 × 10ⁿ seconds so
//! the times in timeseries.csv read well. A run that lasts longer than expected (bursty
//! arrivals, a short run's randomness) fills the buffer, which then halves its resolution
//! ([`Timeline::decimate`]): memory is bounded whatever the number of requests. For very large
//! pools fewer samples are taken, so that sampling (O(servers) per sample) stays a small
//! fraction of the run.

use super::server::Server;
use crate::scenario::Scenario;
use crate::stats::slo_windows::{SloRun, SloWindows, WindowObjective};
use crate::stats::timeline::{TARGET_SAMPLES, ceil_1_2_5};
use crate::stats::{Timeline, WindowLatency};

/// Upper bound on server-samples (servers × samples) aimed at, for very large pools.
const SCAN_BUDGET: f64 = 1.6e7;

/// Fewest samples aimed at, however large the pool.
const MIN_SAMPLES: f64 = 50.0;

/// Records the [`Timeline`] of one simulation: samples the servers' number in system at
/// fixed instants of simulated time, and counts completions between them.
#[derive(Debug)]
pub struct TimelineRecorder {
    next_at: f64,
    /// Completions per server since the last sample.
    pending: Vec<u32>,
    /// ∫ number in system dt per server up to the last sample.
    area_at_last: Vec<f64>,
    last_at: f64,
    in_system: Vec<u32>,
    means: Vec<f64>,
    /// Responses and failures since the last sample (`None`: not recorded).
    latency: Option<WindowLatency>,
    /// `[slo]`: the objective's windows (`None` without one).
    slo: Option<SloWindows>,
    timeline: Timeline,
}

impl TimelineRecorder {
    /// A recorder for `scenario`, with the interval chosen from its expected run length;
    /// it records latency over time only for `replication` 0.
    pub fn new(scenario: &Scenario, replication: u32) -> Self {
        let servers = scenario.server_count();
        let expected = scenario.expected_duration();
        let samples = (SCAN_BUDGET / servers.max(1) as f64).clamp(MIN_SAMPLES, TARGET_SAMPLES);
        let mut interval = ceil_1_2_5(expected / samples);
        // A stale view makes queues oscillate with its refresh interval (or delay): sample
        // at least four times per period so that the oscillation shows (a run much longer
        // than 250 periods still halves the resolution as the buffer fills).
        if let Some(period) = scenario.balancers.view.interval().or(scenario.balancers.view.delay())
            && period > 0.0
        {
            interval = interval.min(floor_1_2_5(period / 4.0));
        }
        TimelineRecorder {
            next_at: 0.0,
            pending: vec![0; servers],
            area_at_last: vec![0.0; servers],
            last_at: 0.0,
            in_system: Vec::with_capacity(servers),
            means: vec![0.0; servers],
            latency: (replication == 0).then(WindowLatency::default),
            slo: scenario
                .slo
                .map(|o| SloWindows::new(WindowObjective { quantile: o.quantile, limit: o.limit, window: o.window })),
            timeline: Timeline::new(servers, interval),
        }
    }

    /// Called before handling an event at time `t`: takes every sample due before `t`.
    #[inline(always)]
    pub fn observe(&mut self, t: f64, servers: &[Server]) {
        if t > self.next_at {
            self.sample_before(t, servers);
        }
    }

    /// A request completed at server `s`.
    #[inline(always)]
    pub fn completed(&mut self, s: usize) {
        self.pending[s] += 1;
    }

    /// A request arrived (was generated).
    #[inline(always)]
    pub fn arrived(&mut self) {
        if let Some(w) = &mut self.latency {
            w.arrived += 1;
        }
    }

    /// A request's answer reached its client at `now`, `secs` after it arrived.
    #[inline(always)]
    pub fn response(&mut self, now: f64, secs: f64) {
        if let Some(w) = &mut self.latency {
            w.record(secs);
        }
        if let Some(o) = &mut self.slo {
            o.response(now, secs);
        }
    }

    /// A request ended without completing (failed, dropped or timed out) at `now`.
    #[inline(always)]
    pub fn failed(&mut self, now: f64) {
        if let Some(w) = &mut self.latency {
            w.fail();
        }
        if let Some(o) = &mut self.slo {
            o.failed(now);
        }
    }

    /// `[slo]`: the run ended at `end`; what its windows came to (taken once).
    pub fn slo(&mut self, end: f64) -> Option<SloRun> {
        self.slo.take().map(|o| o.finish(end))
    }

    #[cold]
    #[inline(never)]
    fn sample_before(&mut self, t: f64, servers: &[Server]) {
        self.take(servers, |at| at < t);
    }

    /// Takes samples while `due(next sampling instant)`, all with the current state.
    fn take(&mut self, servers: &[Server], due: impl Fn(f64) -> bool) {
        self.in_system.clear();
        self.in_system.extend(servers.iter().map(Server::in_system));
        while due(self.next_at) {
            let at = self.next_at;
            let dt = at - self.last_at;
            for (i, s) in servers.iter().enumerate() {
                let area = s.area_until(at);
                self.means[i] = if dt > 0.0 { (area - self.area_at_last[i]) / dt } else { 0.0 };
                self.area_at_last[i] = area;
            }
            let latency = self.latency.as_mut().map(std::mem::take);
            self.timeline.push_with(&self.in_system, &self.pending, &self.means, latency);
            self.pending.fill(0);
            self.last_at = at;
            self.next_at = self.timeline.next_time();
        }
    }

    /// Takes the samples due at or before `end` (every event has been handled) and returns
    /// the series.
    pub fn finish(mut self, end: f64, warmup_end: Option<f64>, servers: &[Server]) -> Timeline {
        self.take(servers, |at| at <= end);
        self.timeline.end = end;
        self.timeline.warmup_end = warmup_end;
        self.timeline
    }
}

/// The largest of 1, 2 or 5 × 10ⁿ that is ≤ `x` (`x` > 0).
pub fn floor_1_2_5(x: f64) -> f64 {
    let up = ceil_1_2_5(x);
    if up <= x * (1.0 + 1e-12) {
        return up;
    }
    // The step below a 1-2-5 value: 10 → 5, 5 → 2, 2 → 1.
    let p = 10f64.powf(up.log10().floor());
    let m = (up / p).round();
    if m == 1.0 {
        p / 2.0
    } else if m == 2.0 {
        p
    } else {
        2.0 * p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(servers: u32, requests: u64) -> Scenario {
        let text = format!(
            "requests = {requests}\nwarmup_requests = 100\nstrategies = [\"random\"]\n\
             [arrivals]\nprocess = \"poisson\"\nrate = {rate}\n\
             [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
             [[servers]]\nname = \"s\"\ncount = {servers}\n",
            rate = 80.0 * f64::from(servers)
        );
        Scenario::parse(&text, None).expect("valid scenario")
    }

    #[test]
    fn sampled_run_is_bounded_consistent_and_deterministic() {
        let sc = scenario(4, 200_000);
        let run = crate::engine::simulate(&sc, &sc.strategies[0], 0, &|_| {});
        let t = &run.timeline;
        assert!(t.len() >= 100 && t.len() < crate::stats::timeline::MAX_SAMPLES, "{} samples", t.len());
        let last = t.time(t.len() - 1);
        assert!(last <= run.end && run.end < last + t.interval());
        assert_eq!(t.warmup_end, Some(run.window_start));
        // Every completion up to the last sample is counted once, and none after it.
        let counted: u64 = t.pool_samples().map(|p| p.completed).sum();
        assert!(counted <= run.total.completed);
        let per_server: u64 =
            (0..t.len()).flat_map(|k| (0..4).map(move |i| u64::from(t.server(k, i).unwrap().completed))).sum();
        assert_eq!(per_server, counted);
        assert_eq!(t.pool(0).in_system, 0, "empty at t = 0");
        let again = crate::engine::simulate(&sc, &sc.strategies[0], 0, &|_| {});
        assert_eq!(&again.timeline, t);
    }

    /// The interval means are exact: averaged over the samples that cover the measured
    /// window they give the engine's own time average, up to the partial intervals at the
    /// window's two ends (each shorter than one interval, with at most the sum of the
    /// servers' peaks in system).
    #[test]
    fn interval_means_add_up_to_the_time_average() {
        let sc = scenario(4, 400_000);
        let run = crate::engine::simulate(&sc, &sc.strategies[0], 0, &|_| {});
        let t = &run.timeline;
        let dt = t.interval();
        let from = t.warmup_end.unwrap();
        let covered: Vec<f64> =
            t.pool_samples().filter(|p| p.time - dt >= from).map(|p| p.mean * t.servers() as f64).collect();
        let sampled = covered.iter().sum::<f64>() / covered.len() as f64;
        let exact = run.mean_in_system();
        let peak: f64 = run.servers.iter().map(|s| f64::from(s.max_in_system)).sum();
        let bound = 2.0 * dt * peak / (covered.len() as f64 * dt);
        assert!((sampled - exact).abs() <= bound, "sampled {sampled} vs exact {exact}, bound {bound}");
        assert!(bound < 0.1 * exact, "the check is tight: bound {bound}");
    }

    /// Deterministic arrivals in step with the sampling instants: an instantaneous sample
    /// would always catch the same phase; the interval mean is the true load, 0.5.
    #[test]
    fn periodic_workloads_do_not_alias() {
        let text = "requests = 20000\nstrategies = [\"round-robin\"]\n\
                    [arrivals]\nprocess = \"deterministic\"\nrate = 50.0\n\
                    [service]\ndistribution = \"deterministic\"\nmean = \"10ms\"\n\
                    [[servers]]\nname = \"a\"\n";
        let sc = Scenario::parse(text, None).unwrap();
        let run = crate::engine::simulate(&sc, &sc.strategies[0], 0, &|_| {});
        let t = &run.timeline;
        assert!(t.len() > 100);
        for k in 2..t.len() {
            let m = t.server(k, 0).unwrap().mean;
            assert!((m - 0.5).abs() < 1e-3, "sample {k}: mean {m}");
        }
    }

    #[test]
    fn large_pools_keep_the_aggregate_only() {
        // 300 servers at 80 req/s each: 24,000 req/s; 2,000 requests last about 0.083 s.
        let sc = scenario(300, 2_000);
        let run = crate::engine::simulate(&sc, &sc.strategies[0], 0, &|_| {});
        let t = &run.timeline;
        assert!(!t.has_detail());
        assert!(t.len() > 10 && t.len() < crate::stats::timeline::MAX_SAMPLES);
        assert!(t.pool_samples().all(|p| p.min <= p.mean && p.mean <= p.max));
    }

    #[test]
    fn floors_are_1_2_or_5_times_a_power_of_ten() {
        assert_eq!(floor_1_2_5(0.003), 0.002);
        assert_eq!(floor_1_2_5(1.0), 1.0);
        assert_eq!(floor_1_2_5(0.99), 0.5);
        assert_eq!(floor_1_2_5(4.0), 2.0);
        assert_eq!(floor_1_2_5(6.0), 5.0);
        assert_eq!(floor_1_2_5(12.0), 10.0);
        assert!((floor_1_2_5(0.025) - 0.02).abs() < 1e-15);
    }
}
