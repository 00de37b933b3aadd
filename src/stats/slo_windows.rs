//! Time with a service-level objective violated (`[slo]`): the run cut into windows of fixed
//! length, each judged on its own percentile.
//!
//! A window is `[k·w, (k+1)·w)` of simulated time from t = 0 (warm-up included, as the
//! pod-seconds it is compared with). A request belongs to the window in which its outcome
//! was settled — **by completion**, as `latency_timeseries.csv`: a response when it reached
//! the client, a failure, drop or timeout when it happened. A window **violates** `pQ ≤ L`
//! when the nearest-rank Q-th percentile of its settled requests is above `L`, a request
//! settled without an answer counting as slower than any limit: with `n` settled and `a`
//! of them answered within `L`, when `a < ⌈Q·n⌉` (the rank [`super::LatencyHistogram`]
//! uses). The test is exact — two counts per window, no histogram — and a window in which
//! nothing was settled violates nothing. Only whole windows count: the part of the run after
//! the last whole window is left out.

/// The objective a run's windows are judged on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowObjective {
    /// The percentile bounded, as a fraction (0.99 for p99).
    pub quantile: f64,
    /// Its limit, s.
    pub limit: f64,
    /// The window's length, s.
    pub window: f64,
}

/// The windows of one run, as they are settled.
#[derive(Debug, Clone)]
pub struct SloWindows {
    objective: WindowObjective,
    /// Index of the window being filled.
    current: u64,
    /// Its end, s.
    current_end: f64,
    /// Requests settled in it.
    settled: u64,
    /// Of those, answered within the limit.
    within: u64,
    /// Whole windows closed so far that broke the objective.
    violated: u64,
}

/// What one run's windows came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SloRun {
    /// Whole windows in the run.
    pub windows: u64,
    /// Of those, windows that broke the objective.
    pub violated: u64,
    /// The window's length, s.
    pub window: f64,
}

impl SloRun {
    /// Time with the objective violated, s.
    pub fn violated_seconds(&self) -> f64 {
        self.violated as f64 * self.window
    }

    /// The share of the whole windows that broke the objective (0 without any).
    pub fn violated_share(&self) -> f64 {
        if self.windows == 0 { 0.0 } else { self.violated as f64 / self.windows as f64 }
    }
}

impl SloWindows {
    /// No request settled yet; the first window starts at t = 0.
    pub fn new(objective: WindowObjective) -> Self {
        SloWindows { objective, current: 0, current_end: objective.window, settled: 0, within: 0, violated: 0 }
    }

    /// A request's answer reached its client at `now`, `secs` after it arrived.
    #[inline]
    pub fn response(&mut self, now: f64, secs: f64) {
        self.at(now);
        self.settled += 1;
        self.within += u64::from(secs <= self.objective.limit);
    }

    /// A request was settled without an answer at `now` (failed, dropped, timed out).
    #[inline]
    pub fn failed(&mut self, now: f64) {
        self.at(now);
        self.settled += 1;
    }

    /// Whether `settled` requests of which `within` were answered within the limit violate
    /// the objective.
    pub fn violates(quantile: f64, settled: u64, within: u64) -> bool {
        settled > 0 && within < ((quantile.min(1.0) * settled as f64).ceil() as u64).max(1)
    }

    /// Moves to the window holding `now` when it is past the current one.
    #[inline]
    fn at(&mut self, now: f64) {
        if now >= self.current_end {
            self.close();
            let w = self.objective.window;
            let mut k = (now / w).floor() as u64;
            if now >= (k + 1) as f64 * w {
                k += 1;
            }
            self.current = k;
            self.current_end = (k + 1) as f64 * w;
        }
    }

    /// Judges the current window (whole: only called once it is past).
    fn close(&mut self) {
        if Self::violates(self.objective.quantile, self.settled, self.within) {
            self.violated += 1;
        }
        self.settled = 0;
        self.within = 0;
    }

    /// The run ended at `end`: the whole windows and those that broke the objective.
    pub fn finish(mut self, end: f64) -> SloRun {
        let w = self.objective.window;
        let mut windows = (end / w).floor().max(0.0) as u64;
        if (windows + 1) as f64 * w <= end {
            windows += 1;
        }
        if self.current_end <= end {
            self.close();
        }
        SloRun { windows, violated: self.violated, window: w }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P99: WindowObjective = WindowObjective { quantile: 0.99, limit: 0.1, window: 10.0 };

    #[test]
    fn a_window_violates_when_fewer_than_the_rank_are_within_the_limit() {
        // 100 settled: p99 is the 99th smallest; one slow request keeps it within.
        assert!(!SloWindows::violates(0.99, 100, 99));
        assert!(SloWindows::violates(0.99, 100, 98));
        // 50 settled: the rank is ⌈49.5⌉ = 50, so one slow request violates it.
        assert!(SloWindows::violates(0.99, 50, 49));
        assert!(!SloWindows::violates(0.99, 50, 50));
        assert!(!SloWindows::violates(0.99, 0, 0), "nothing settled violates nothing");
        assert!(SloWindows::violates(0.5, 1, 0));
    }

    #[test]
    fn the_test_is_the_nearest_rank_percentile() {
        // Response times 1..=n ms: the nearest-rank p99 (the ⌈0.99 n⌉-th smallest, as
        // LatencyHistogram ranks) against limits around it.
        for n in [1u64, 7, 50, 99, 100, 101, 250, 1000] {
            let rank = ((0.99 * n as f64).ceil() as u64).max(1);
            let p99_ms = rank; // the rank-th smallest of 1..=n ms
            for limit_ms in [1u64, n / 2, n.saturating_sub(2), n.saturating_sub(1), n] {
                let within = (1..=n).filter(|&i| i <= limit_ms).count() as u64;
                assert_eq!(SloWindows::violates(0.99, n, within), p99_ms > limit_ms, "n {n} limit {limit_ms}");
            }
        }
    }

    #[test]
    fn requests_fall_in_the_window_they_are_settled_in() {
        let mut w = SloWindows::new(P99);
        // Window 0: 100 fast. Window 1: 100 with 2 slow (violates). Window 2: empty.
        // Window 3: 99 fast and one failure (within: 99 of 100). Window 4: 2 failures.
        for i in 0..100 {
            w.response(i as f64 * 0.05, 0.01);
        }
        for i in 0..100 {
            w.response(10.0 + i as f64 * 0.05, if i < 2 { 0.5 } else { 0.01 });
        }
        for i in 0..99 {
            w.response(30.0 + i as f64 * 0.05, 0.01);
        }
        w.failed(39.99);
        w.failed(40.0);
        w.failed(45.0);
        // Window 4 ends at 50 > 49: it is not whole and does not count.
        let run = w.clone().finish(49.0);
        assert_eq!(run, SloRun { windows: 4, violated: 1, window: 10.0 });
        assert_eq!(run.violated_seconds(), 10.0);
        assert_eq!(run.violated_share(), 0.25);
        let run = w.finish(50.0);
        assert_eq!(run, SloRun { windows: 5, violated: 2, window: 10.0 });
    }
}
