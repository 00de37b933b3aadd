//! Passive outlier detection with Envoy's semantics (consecutive errors).
//!
//! Every attempt's result is reported for its server: a completion resets the server's
//! run of errors; a failure (refused, reset by a crash, dropped by a full queue, timed
//! out — Envoy maps these locally originated errors to 5xx) extends it. When the run
//! reaches `consecutive_errors`, the server is ejected at once, unless the ejected share
//! would exceed `max_ejection_percent` (one server can always be ejected). An ejection
//! lasts `base_ejection_time` × the server's ejection multiplier (which grows by one per
//! ejection and is capped so one ejection never exceeds `max_ejection_time`); a sweep every
//! `interval` returns the servers whose time is up, and lowers the multiplier of servers
//! that have stayed in service for a base ejection time since they came back.

use crate::scenario::OutlierDetection;

/// Per-server detection state.
#[derive(Debug)]
pub(super) struct Outlier {
    /// The configuration.
    pub(super) cfg: OutlierDetection,
    errors: Vec<u32>,
    ejected_at: Vec<Option<f64>>,
    multiplier: Vec<u32>,
    returned_at: Vec<f64>,
    ejected: usize,
}

impl Outlier {
    /// `n` servers, none ejected.
    pub(super) fn new(cfg: OutlierDetection, n: usize) -> Self {
        Outlier {
            cfg,
            errors: vec![0; n],
            ejected_at: vec![None; n],
            multiplier: vec![0; n],
            returned_at: vec![0.0; n],
            ejected: 0,
        }
    }

    /// Whether `s` is ejected.
    pub(super) fn is_ejected(&self, s: usize) -> bool {
        self.ejected_at[s].is_some()
    }

    /// Records an attempt's result at `s`; returns true when it ejects `s`.
    pub(super) fn record(&mut self, s: usize, ok: bool, now: f64) -> bool {
        if ok {
            self.errors[s] = 0;
            return false;
        }
        self.errors[s] += 1;
        if self.errors[s] != self.cfg.consecutive_errors || self.is_ejected(s) {
            return false;
        }
        let n = self.errors.len() as f64;
        let share = 100.0 * self.ejected as f64 / n;
        if self.ejected > 0 && share >= self.cfg.max_ejection_percent {
            return false;
        }
        let max_mult = (self.cfg.max_ejection_time / self.cfg.base_ejection_time).floor().max(1.0) as u32;
        self.multiplier[s] = (self.multiplier[s] + 1).min(max_mult);
        self.ejected_at[s] = Some(now);
        self.errors[s] = 0;
        self.ejected += 1;
        true
    }

    /// The periodic sweep at `now`: returns the servers whose ejection is over.
    pub(super) fn sweep(&mut self, now: f64) -> Vec<usize> {
        let mut back = Vec::new();
        for s in 0..self.errors.len() {
            match self.ejected_at[s] {
                Some(at) => {
                    let length =
                        (self.cfg.base_ejection_time * f64::from(self.multiplier[s])).min(self.cfg.max_ejection_time);
                    if now - at >= length {
                        self.ejected_at[s] = None;
                        self.ejected -= 1;
                        self.errors[s] = 0;
                        self.returned_at[s] = now;
                        back.push(s);
                    }
                }
                None => {
                    if self.multiplier[s] > 0 && now - self.returned_at[s] >= self.cfg.base_ejection_time {
                        self.multiplier[s] -= 1;
                        self.returned_at[s] = now;
                    }
                }
            }
        }
        back
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pct: f64) -> OutlierDetection {
        OutlierDetection {
            consecutive_errors: 3,
            interval: 10.0,
            base_ejection_time: 30.0,
            max_ejection_time: 300.0,
            max_ejection_percent: pct,
        }
    }

    #[test]
    fn ejects_after_consecutive_errors_and_returns_after_the_ejection_time() {
        let mut o = Outlier::new(cfg(10.0), 10);
        assert!(!o.record(0, false, 1.0));
        assert!(!o.record(0, true, 1.0)); // reset
        assert!(!o.record(0, false, 1.0));
        assert!(!o.record(0, false, 1.0));
        assert!(o.record(0, false, 1.5));
        assert!(o.is_ejected(0));
        assert!(o.sweep(30.0).is_empty());
        assert_eq!(o.sweep(31.5), vec![0]);
        // Ejected again at once: twice as long.
        for _ in 0..3 {
            o.record(0, false, 32.0);
        }
        assert!(o.is_ejected(0));
        assert!(o.sweep(91.0).is_empty());
        assert_eq!(o.sweep(92.0), vec![0]);
    }

    #[test]
    fn max_ejection_percent_caps_ejections_but_one_is_always_allowed() {
        let mut o = Outlier::new(cfg(10.0), 5); // 10% of 5 < 1 server
        for _ in 0..3 {
            o.record(0, false, 0.0);
        }
        assert!(o.is_ejected(0));
        for _ in 0..3 {
            o.record(1, false, 0.0);
        }
        assert!(!o.is_ejected(1));
        let mut o = Outlier::new(cfg(50.0), 4);
        for s in 0..4 {
            for _ in 0..3 {
                o.record(s, false, 0.0);
            }
        }
        assert_eq!((0..4).filter(|&s| o.is_ejected(s)).count(), 2);
    }
}
