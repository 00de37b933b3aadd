//! Active health checks with HAProxy's semantics.
//!
//! Each server is checked every `interval` (`inter`), starting at a random phase within
//! the first interval (HAProxy spreads its checks so they do not all fire together; the
//! phases come from a seeded stream, the same for every strategy). A check fails if the
//! server refuses it (crashed) or does not answer within `timeout`. A check is served like
//! a request by the server's workers, so it waits behind the queued work: an overloaded or
//! badly slowed server fails its checks too, as it does in production. A server that is up
//! goes down after `fall` consecutive failed checks; a server that is down comes back up
//! after `rise` consecutive successful ones. Servers start up.

use crate::scenario::HealthCheck;

/// Per-server check state.
#[derive(Debug)]
pub(super) struct Health {
    /// The configuration.
    pub(super) cfg: HealthCheck,
    up: Vec<bool>,
    ok_run: Vec<u32>,
    fail_run: Vec<u32>,
}

impl Health {
    /// `n` servers, all up.
    pub(super) fn new(cfg: HealthCheck, n: usize) -> Self {
        Health { cfg, up: vec![true; n], ok_run: vec![0; n], fail_run: vec![0; n] }
    }

    /// The outcome of a check of `s`. Returns the new state when it changes.
    pub(super) fn result(&mut self, s: usize, ok: bool) -> Option<bool> {
        if ok {
            self.fail_run[s] = 0;
            self.ok_run[s] += 1;
            if !self.up[s] && self.ok_run[s] >= self.cfg.rise {
                self.up[s] = true;
                return Some(true);
            }
        } else {
            self.ok_run[s] = 0;
            self.fail_run[s] += 1;
            if self.up[s] && self.fail_run[s] >= self.cfg.fall {
                self.up[s] = false;
                return Some(false);
            }
        }
        None
    }

    /// What a check sent at `now` to a server finds: `(passed, answer delay)`. `down` says
    /// whether the server is crashed; `wait` is how long the check would queue.
    pub(super) fn probe(&self, down: bool, wait: f64) -> (bool, f64) {
        if down {
            (false, 0.0)
        } else if wait >= self.cfg.timeout {
            (false, self.cfg.timeout)
        } else {
            (true, wait.max(0.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fall_and_rise() {
        let mut h = Health::new(HealthCheck { interval: 2.0, timeout: 1.0, fall: 3, rise: 2 }, 1);
        assert_eq!(h.result(0, false), None);
        assert_eq!(h.result(0, true), None); // a success resets the failure run
        assert_eq!(h.result(0, false), None);
        assert_eq!(h.result(0, false), None);
        assert_eq!(h.result(0, false), Some(false));
        assert_eq!(h.result(0, true), None);
        assert_eq!(h.result(0, true), Some(true));
        assert_eq!(h.probe(true, 0.0), (false, 0.0));
        assert_eq!(h.probe(false, 0.3), (true, 0.3));
        assert_eq!(h.probe(false, 1.5), (false, 1.0));
    }
}
