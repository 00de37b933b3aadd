//! The search of one strategy's answer: galloping from the smallest stable count (steps
//! 1, 2, 4, ...) until a count passes, then bisection between the largest failing and the
//! smallest passing count (see the [module documentation](super)).

/// Search state of one strategy.
#[derive(Debug, Clone)]
pub(super) struct Search {
    /// Largest count known to fail.
    lo_fail: u32,
    /// Smallest count known to pass.
    hi_pass: Option<u32>,
    /// Galloping step.
    step: u32,
    /// Whether the search has ended.
    done: bool,
}

impl Search {
    /// A search for the smallest passing count above `lo_fail`, known to fail.
    pub(super) fn above(lo_fail: u32) -> Search {
        Search { lo_fail, hi_pass: None, step: 1, done: false }
    }

    /// Ends the search without an answer.
    pub(super) fn give_up(&mut self) {
        self.done = true;
    }

    /// The smallest passing count, once the search has finished with one.
    pub(super) fn answer(&self) -> Option<u32> {
        self.hi_pass.filter(|_| self.done)
    }

    /// The next count to evaluate, or `None` when finished.
    pub(super) fn next(&mut self, max: u32) -> Option<u32> {
        if self.done {
            return None;
        }
        match self.hi_pass {
            Some(h) if h <= self.lo_fail + 1 => {
                self.done = true;
                None
            }
            Some(h) => Some(self.lo_fail + (h - self.lo_fail) / 2),
            None if self.lo_fail >= max => {
                self.done = true;
                None
            }
            None => Some((self.lo_fail.saturating_add(self.step)).min(max)),
        }
    }

    /// Records the verdict on count `s`.
    pub(super) fn record(&mut self, s: u32, pass: bool) {
        if pass {
            self.hi_pass = Some(self.hi_pass.map_or(s, |h| h.min(s)));
        } else {
            self.lo_fail = self.lo_fail.max(s);
            if self.hi_pass.is_none() {
                self.step = self.step.saturating_mul(2);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gallop_then_bisect() {
        // True answer 11, smallest stable 9: 9 fails, 11 passes, 10 fails → 11.
        let mut s = Search::above(8);
        let mut seen = Vec::new();
        while let Some(c) = s.next(1000) {
            seen.push(c);
            s.record(c, c >= 11);
        }
        assert_eq!(seen, vec![9, 11, 10]);
        assert_eq!(s.answer(), Some(11));
        // Capped by the maximum, never met.
        let mut s = Search::above(0);
        let mut seen = Vec::new();
        while let Some(c) = s.next(10) {
            seen.push(c);
            s.record(c, false);
        }
        assert_eq!(seen, vec![1, 3, 7, 10]);
        assert_eq!(s.answer(), None);
        // The smallest stable count passes at once.
        let mut s = Search::above(4);
        assert_eq!(s.next(100), Some(5));
        s.record(5, true);
        assert_eq!(s.next(100), None);
        assert_eq!(s.answer(), Some(5));
    }
}
