//! The least-work-left oracle: the server whose queued work drains first.

use super::{Pool, RequestView, Strategy, StrategyInfo, StrategyRng};

/// `least-work-left`.
pub(super) const LEAST_WORK_LEFT: StrategyInfo = StrategyInfo {
    name: "least-work-left",
    models: "an oracle (no real balancer knows queued work); equals a central FCFS queue, M/M/c",
    summary: "the server where the request would start soonest; the lower bound others are measured against",
    params: &[],
    keyed: false,
    cooperative: false,
    oracle: true,
    build: |_, servers| Ok(Box::new(LeastWorkLeft { cursor: 0, n: servers.len() })),
};

/// Earliest start; among equal starts (idle servers) the fastest, then the next in turn
/// after the previous pick, so idle servers share the work.
///
/// With single-worker FIFO servers this assigns each arrival to the server that a central
/// FCFS queue would hand it to, so the system behaves exactly as M/M/c (Erlang C).
struct LeastWorkLeft {
    cursor: usize,
    n: usize,
}

impl Strategy for LeastWorkLeft {
    fn pick(&mut self, req: &RequestView, pool: &Pool, _: &mut StrategyRng) -> usize {
        let now = req.arrival;
        let mut best = self.cursor;
        let mut best_start = pool.start_at(best).max(now);
        for k in 1..self.n {
            let mut i = self.cursor + k;
            if i >= self.n {
                i -= self.n;
            }
            let start = pool.start_at(i).max(now);
            if start < best_start || (start == best_start && pool.speed(i) > pool.speed(best)) {
                best = i;
                best_start = start;
            }
        }
        self.cursor = if best + 1 == self.n { 0 } else { best + 1 };
        best
    }

    fn stagger(&mut self, rng: &mut StrategyRng) {
        self.cursor = rand::RngExt::random_range(rng, 0..self.n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Params;
    use crate::strategy::testutil::*;

    #[test]
    fn earliest_start_wins() {
        let servers = servers(&[1, 1, 1]);
        let mut pool = Pool::new(&servers);
        pool.start_at = vec![5.0, 3.0, 4.0];
        let mut s = (LEAST_WORK_LEFT.build)(&Params::default(), &servers).unwrap();
        let r = RequestView { arrival: 1.0, ..req(0) };
        assert_eq!(s.pick(&r, &pool, &mut rng()), 1);
    }
}
