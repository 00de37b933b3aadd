//! Turns measured responses into the simulator's statistics ([`RunStats`]), so that a
//! measurement goes through the same summaries and exporters as a simulation.
//!
//! Times are on the schedule's clock: 0 is the origin of the request stream, request `n`
//! is sent at its `arrival`. What each figure covers, measured:
//! - response time: from the request's *scheduled* send to the last byte of the response
//!   (a late send counts against the system, never hides a stall: no coordinated omission);
//! - number in system (mean, timeline): requests outstanding at the client, attributed to
//!   the server that answered: a completed request counts from its scheduled send to its
//!   response, so Little's law holds as in the simulator (the figure includes the fixed
//!   overhead the calibration measures);
//! - waiting time, utilisation (busy time = service time) and the largest number in
//!   system: as the backend reported them in its `x-lbsim-*` headers;
//! - the window: from the scheduled send of the first measured (post-warm-up) request to
//!   the last scheduled send, as in the simulator. Unlike the simulator, responses that come
//!   after the last send are still recorded (nothing is left in flight unless the run was
//!   stopped), so throughput and utilisation may exceed the simulated ones by about
//!   (requests in system at the end) / (requests in the window).
//!
//! Memory is bounded: histograms, per-server sums and a timeline of at most a few hundred
//! samples, whatever the number of requests.

use std::collections::HashMap;

use super::client::Failure;

use crate::stats::timeline::{TARGET_SAMPLES, ceil_1_2_5};
use crate::stats::{Counts, KeyCounter, LatencyHistogram, RunStats, ServerStats, Timeline};

/// How one request ended, as the load generator saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// A 2xx response.
    Completed {
        /// Response time from the scheduled send, s.
        response: f64,
        /// When the response ended, on the schedule's clock, s.
        done: f64,
        /// What the backend reported (absent when the backend is not lbsim's).
        backend: Option<BackendView>,
    },
    /// A 503 marked by the backend as a full waiting room.
    Dropped,
    /// A connection error, a 5xx (or any other non-2xx) response.
    Failed,
    /// No complete response within the timeout.
    TimedOut,
}

/// What delayed a late send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LateCause {
    /// The sender itself woke or ran late (CPU, preemption, timer).
    Sender = 0,
    /// The request waited for a free connection of the pool.
    Pool = 1,
    /// The request waited for a new connection to be accepted.
    Connect = 2,
}

impl LateCause {
    /// Every cause, in report order.
    pub const ALL: [LateCause; 3] = [LateCause::Sender, LateCause::Pool, LateCause::Connect];

    /// Its key in `measurement.json`.
    pub fn key(self) -> &'static str {
        match self {
            LateCause::Sender => "sender",
            LateCause::Pool => "waited_for_connection",
            LateCause::Connect => "waited_for_connect",
        }
    }
}

/// What an lbsim backend reported about a completed request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackendView {
    /// Time waiting for a worker, s.
    pub wait: f64,
    /// Time holding a worker, s.
    pub service: f64,
    /// Requests at the server when it arrived (itself included).
    pub in_system: u32,
    /// How late the backend woke up after the scheduled end of service, s.
    pub overshoot: f64,
}

/// A duration distribution with an exact mean.
#[derive(Debug, Clone)]
pub struct Durations {
    /// The values, s.
    pub hist: LatencyHistogram,
    /// Their sum, s.
    pub sum: f64,
}

impl Durations {
    /// Empty.
    pub fn new() -> Self {
        Durations { hist: LatencyHistogram::new(3), sum: 0.0 }
    }

    /// Records one value, s.
    pub fn record(&mut self, secs: f64) {
        self.hist.record(secs);
        self.sum += secs;
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.hist.count()
    }

    /// Exact mean, s (NaN when empty).
    pub fn mean(&self) -> f64 {
        self.sum / self.count() as f64
    }
}

impl Default for Durations {
    fn default() -> Self {
        Self::new()
    }
}

/// Accumulates one measured run.
#[derive(Debug, Clone)]
pub struct Recorder {
    warmup: u64,
    window_start: f64,
    end: f64,
    index: HashMap<String, usize>,
    total: Counts,
    measured: Counts,
    response: Durations,
    wait_sum: f64,
    servers: Vec<ServerStats>,
    keys: KeyCounter,
    /// Send lateness of every request sent (actual send − scheduled send).
    pub lateness: Durations,
    /// The backends' wait overshoot, from their headers.
    pub overshoot: Durations,
    /// Measured responses that named no server of the scenario.
    pub unattributed: u64,
    /// Non-2xx responses other than a marked 503, by status class (4xx, 5xx, other).
    pub bad_status: [u64; 3],
    /// Failed or timed-out requests by cause, in the order of [`Failure::ALL`].
    pub failures: [u64; Failure::ALL.len()],
    /// Sends later than [`late_threshold`](Self::late_threshold), by cause, in the order
    /// of [`LateCause::ALL`].
    pub late: [u64; LateCause::ALL.len()],
    /// Lateness above which a send counts in [`late`](Self::late), s.
    pub late_threshold: f64,
    /// Send lateness since the last [`take_recent`](Self::take_recent) (the live line).
    recent: Durations,
    interval: f64,
    area: Vec<f64>,
    completed_at: Vec<u32>,
    diff: Vec<i64>,
    /// `x-worker` values seen, in order of first sight, with their measured requests.
    instance_names: Vec<(String, u64)>,
    /// Instance of each measured request (index `id − warmup`): 0 unknown, `i + 1` the
    /// `i`-th of `instance_names` (the first 255; later ones are counted, not placed).
    instance_of: Vec<u8>,
}

/// The balancer instances one measured pass saw (`x-worker`), for
/// [`Instances`](super::measurement::Instances).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceCounts {
    /// Each instance's name and measured requests, in order of first sight.
    pub requests: Vec<(String, u64)>,
    /// Requests placed in request order (those of the first 255 instances).
    pub placed: u64,
    /// Runs among them: maximal sequences of consecutive placed requests (in request
    /// order) carried by one instance.
    pub runs: u64,
}

impl Recorder {
    /// A recorder for a run whose first measured request (number `warmup`) is scheduled at
    /// `window_start` and last request at `end` (schedule clock, s), on servers `names`.
    pub fn new(names: &[String], warmup: u64, window_start: f64, end: f64, keys: KeyCounter) -> Self {
        let s = names.len();
        let interval = ceil_1_2_5(end / TARGET_SAMPLES);
        let samples = (end / interval).floor() as usize + 1;
        Recorder {
            warmup,
            window_start,
            end,
            index: names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect(),
            total: Counts::default(),
            measured: Counts::default(),
            response: Durations::new(),
            wait_sum: 0.0,
            servers: (0..s).map(|_| ServerStats::new()).collect(),
            keys,
            lateness: Durations::new(),
            overshoot: Durations::new(),
            unattributed: 0,
            bad_status: [0; 3],
            failures: [0; Failure::ALL.len()],
            late: [0; LateCause::ALL.len()],
            late_threshold: f64::INFINITY,
            recent: Durations::new(),
            interval,
            area: vec![0.0; samples * s],
            completed_at: vec![0; samples * s],
            diff: vec![0; (samples + 1) * s],
            instance_names: Vec::new(),
            instance_of: Vec::new(),
        }
    }

    /// Measured request `id` was carried by balancer instance `name` (its `x-worker`).
    pub fn instance(&mut self, id: u64, name: &str) {
        let Some(i) = id.checked_sub(self.warmup) else { return };
        let k = match self.instance_names.iter().position(|(n, _)| n == name) {
            Some(k) => k,
            None => {
                self.instance_names.push((name.to_string(), 0));
                self.instance_names.len() - 1
            }
        };
        self.instance_names[k].1 += 1;
        if k < usize::from(u8::MAX) {
            let i = i as usize;
            if self.instance_of.len() <= i {
                self.instance_of.resize(i + 1, 0);
            }
            self.instance_of[i] = k as u8 + 1;
        }
    }

    /// The balancer instances seen (`None` when no response named one).
    pub fn instances(&self) -> Option<InstanceCounts> {
        if self.instance_names.is_empty() {
            return None;
        }
        let mut placed = 0;
        let mut runs = 0;
        let mut prev = 0;
        for &k in self.instance_of.iter().filter(|&&k| k != 0) {
            placed += 1;
            if k != prev {
                runs += 1;
                prev = k;
            }
        }
        Some(InstanceCounts { requests: self.instance_names.clone(), placed, runs })
    }

    /// Adds `other`'s counters (lateness, overshoot, failures, late sends, statuses,
    /// unattributed responses) to this one's: several passes reported together.
    pub fn absorb(&mut self, other: &Recorder) {
        for (a, b) in [(&mut self.lateness, &other.lateness), (&mut self.overshoot, &other.overshoot)] {
            a.hist.merge(&b.hist);
            a.sum += b.sum;
        }
        self.unattributed += other.unattributed;
        for (a, b) in self.bad_status.iter_mut().zip(other.bad_status) {
            *a += b;
        }
        for (a, b) in self.failures.iter_mut().zip(other.failures) {
            *a += b;
        }
        for (a, b) in self.late.iter_mut().zip(other.late) {
            *a += b;
        }
    }

    /// Request `id` with key `key` was handed to the sender.
    pub fn generated(&mut self, id: u64, key: u64) {
        self.total.generated += 1;
        if id >= self.warmup {
            self.measured.generated += 1;
            self.keys.record(key);
        }
    }

    /// Request `id` was sent `late` seconds after its scheduled time.
    pub fn sent(&mut self, late: f64) {
        self.sent_because(late, LateCause::Sender);
    }

    /// Request sent `late` seconds after its scheduled time, delayed by `cause` when late.
    pub fn sent_because(&mut self, late: f64, cause: LateCause) {
        self.lateness.record(late);
        self.recent.record(late);
        if late > self.late_threshold {
            self.late[cause as usize] += 1;
        }
    }

    /// Requests handed to the senders so far.
    pub fn generated_so_far(&self) -> u64 {
        self.total.generated
    }

    /// Send lateness since the previous call.
    pub fn take_recent(&mut self) -> Durations {
        std::mem::take(&mut self.recent)
    }

    /// Request `id` failed for `cause` (a timeout counts as timed out, the rest as failed).
    pub fn fail(&mut self, id: u64, server: Option<usize>, cause: Failure) {
        self.failures[Failure::ALL.iter().position(|&f| f == cause).expect("every cause is listed")] += 1;
        match cause {
            Failure::Status4xx => self.bad_status[0] += 1,
            Failure::Status5xx => self.bad_status[1] += 1,
            Failure::StatusOther => self.bad_status[2] += 1,
            _ => {}
        }
        let outcome = if cause == Failure::Timeout { Outcome::TimedOut } else { Outcome::Failed };
        self.record(id, server, outcome);
    }

    /// The server index of a backend name, if it is one of the scenario's.
    pub fn server_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Request `id` ended with `outcome`, answered by server `server` (if known).
    pub fn record(&mut self, id: u64, server: Option<usize>, outcome: Outcome) {
        let measured = id >= self.warmup;
        for (c, yes) in [(&mut self.total, true), (&mut self.measured, measured)] {
            if !yes {
                continue;
            }
            match outcome {
                Outcome::Completed { .. } => c.completed += 1,
                Outcome::Dropped => c.dropped += 1,
                Outcome::Failed => c.failed += 1,
                Outcome::TimedOut => c.timed_out += 1,
            }
        }
        if let Outcome::Completed { backend: Some(b), .. } = outcome {
            self.overshoot.record(b.overshoot);
        }
        if !measured {
            return;
        }
        if server.is_none() && !matches!(outcome, Outcome::TimedOut | Outcome::Failed) {
            self.unattributed += 1;
        }
        if let Some(st) = server.map(|s| &mut self.servers[s]) {
            st.requests += 1;
            match outcome {
                Outcome::Completed { .. } => st.completed += 1,
                Outcome::Dropped => st.dropped += 1,
                Outcome::Failed => st.failed += 1,
                Outcome::TimedOut => st.timed_out += 1,
            }
        }
        let Outcome::Completed { response, done, backend } = outcome else { return };
        self.response.record(response);
        if let Some(b) = backend {
            self.wait_sum += b.wait;
        }
        let Some(s) = server else { return };
        let st = &mut self.servers[s];
        st.response.record(response);
        st.response_sum += response;
        st.area_in_system += response;
        if let Some(b) = backend {
            st.busy_area += b.service;
            st.work += b.service;
            st.max_in_system = st.max_in_system.max(b.in_system);
        }
        self.presence(s, done - response, done);
    }

    /// A non-2xx status (other than a marked 503), counted by class.
    pub fn bad_status(&mut self, status: u16) {
        let k = match status {
            400..=499 => 0,
            500..=599 => 1,
            _ => 2,
        };
        self.bad_status[k] += 1;
    }

    /// Adds a stay at server `s` over `[a, b]` (schedule clock) to the timeline.
    fn presence(&mut self, s: usize, a: f64, b: f64) {
        let n = self.servers.len();
        let samples = self.area.len() / n.max(1);
        let (a, b) = (a.max(0.0), b.min(self.end));
        if samples == 0 || b <= a {
            return;
        }
        let dt = self.interval;
        // Interval k (k ≥ 1) is ((k−1)·dt, k·dt]: the one sample k closes.
        let first = ((a / dt).floor() as usize + 1).min(samples);
        for k in first..samples {
            let (lo, hi) = ((k - 1) as f64 * dt, k as f64 * dt);
            if lo >= b {
                break;
            }
            self.area[k * n + s] += hi.min(b) - lo.max(a);
        }
        // Present at instant k·dt when a ≤ k·dt < b.
        let k_in = (a / dt).ceil() as usize;
        let k_out = (b / dt).ceil() as usize;
        if k_in < k_out {
            self.diff[k_in.min(samples) * n + s] += 1;
            self.diff[k_out.min(samples) * n + s] -= 1;
        }
        let k_done = (b / dt).ceil() as usize;
        if k_done < samples && b < self.end {
            self.completed_at[k_done * n + s] += 1;
        }
    }

    /// Response times of the measured completions.
    pub fn responses(&self) -> &Durations {
        &self.response
    }

    /// Requests sent and not yet answered.
    pub fn outstanding(&self) -> u64 {
        self.total.generated - self.total.decided()
    }

    /// The run's statistics, labelled `label`: whatever is unanswered counts as in flight.
    pub fn finish(&self, label: &str) -> RunStats {
        let mut total = self.total;
        total.in_flight = total.generated - total.decided();
        let mut measured = self.measured;
        measured.in_flight = measured.generated - measured.decided();
        let n = self.servers.len();
        let samples = self.area.len() / n.max(1);
        let mut timeline = Timeline::new(n, self.interval);
        let mut in_system = vec![0i64; n];
        for k in 0..samples {
            for (i, v) in in_system.iter_mut().enumerate() {
                *v += self.diff[k * n + i];
            }
            let counts: Vec<u32> = in_system.iter().map(|&v| v.max(0) as u32).collect();
            let means: Vec<f64> = (0..n).map(|i| self.area[k * n + i] / self.interval).collect();
            timeline.push(&counts, &self.completed_at[k * n..(k + 1) * n], &means);
        }
        timeline.end = self.end;
        timeline.warmup_end = (self.warmup > 0).then_some(self.window_start);
        RunStats {
            label: label.to_string(),
            replication: 0,
            window_start: self.window_start,
            end: self.end,
            total,
            measured,
            response: self.response.hist.clone(),
            response_sum: self.response.sum,
            response_max: self.response.hist.max(),
            wait_sum: self.wait_sum,
            hottest_key: self.keys.hottest(measured.generated),
            servers: self.servers.clone(),
            pending_events: 0,
            transient: None,
            timeline,
            queue_spread_area: f64::NAN,
            idle_while_waiting_time: f64::NAN,
            faults: Vec::new(),
            panics: 0,
            fallbacks: 0,
            batches: crate::stats::batch::Batches::default(),
            pods: None,
            policies: None,
            fair_share: None,
            hedges: None,
            subset_widened: None,
            calls_area: None,
            slo: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(wait: f64, service: f64) -> Option<BackendView> {
        Some(BackendView { wait, service, in_system: 1, overshoot: 1e-5 })
    }

    #[test]
    fn counts_add_up_and_warmup_is_excluded() {
        let names = vec!["a".to_string(), "b".to_string()];
        let mut r = Recorder::new(&names, 2, 1.0, 10.0, KeyCounter::new(None));
        for id in 0..6 {
            r.generated(id, id);
        }
        let done = |response| Outcome::Completed { response, done: 5.0, backend: view(0.1, 0.2) };
        r.record(0, Some(0), done(9.0)); // warm-up: not measured
        r.record(2, Some(0), done(0.3));
        r.record(3, Some(1), Outcome::Dropped);
        r.record(4, None, Outcome::TimedOut);
        // Request 5 never answered: in flight.
        let s = r.finish("measured");
        assert_eq!(s.measured.generated, 4);
        assert_eq!((s.measured.completed, s.measured.dropped, s.measured.timed_out), (1, 1, 1));
        assert_eq!(s.measured.in_flight, 1);
        assert!(s.measured.is_conserved() && s.total.is_conserved());
        assert_eq!(s.total.completed, 2);
        assert_eq!(s.response.count(), 1);
        assert!((s.mean_response() - 0.3).abs() < 1e-12);
        assert_eq!(s.servers[0].requests, 1);
        assert_eq!(s.servers[1].dropped, 1);
        assert!((s.servers[0].busy_area - 0.2).abs() < 1e-12);
        assert!((s.wait_sum - 0.1).abs() < 1e-12);
    }

    #[test]
    fn timeline_areas_match_stays() {
        let names = vec!["a".to_string()];
        let mut r = Recorder::new(&names, 0, 0.0, 40.0, KeyCounter::new(None));
        // Interval is ceil_1_2_5(40 / 400) = 0.1 s; one stay of 1.05 s from 2.0 s.
        r.generated(0, 0);
        r.record(0, Some(0), Outcome::Completed { response: 1.05, done: 3.05, backend: view(0.05, 1.0) });
        let s = r.finish("m");
        let t = &s.timeline;
        assert!((t.interval() - 0.1).abs() < 1e-12);
        let area: f64 = (0..t.len()).map(|k| t.server(k, 0).unwrap().mean * t.interval()).sum();
        assert!((area - 1.05).abs() < 1e-9, "area {area}");
        assert_eq!(t.server(25, 0).unwrap().in_system, 1);
        assert_eq!(t.server(31, 0).unwrap().in_system, 0);
        let completed: u32 = (0..t.len()).map(|k| t.server(k, 0).unwrap().completed).sum();
        assert_eq!(completed, 1);
    }
}
