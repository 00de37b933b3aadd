//! What one simulation measures: the outcome counts (all requests and the measured ones),
//! the measured window (warm-up, its start, the batch boundaries the arrivals mark), the
//! response-time histogram and exact sums, the keys — the part of a run's `RunStats` that
//! the engine's core fills as requests arrive and complete.

use crate::scenario::Scenario;
use crate::stats::batch::{Batches, Recorder as BatchRecorder, Totals};
use crate::stats::warmup::Series;
use crate::stats::{Counts, KeyCounter, LatencyHistogram};

/// The measurements of one simulation.
pub(super) struct Recorder {
    /// Requests with a lower id are warm-up: not measured.
    pub(super) warmup: u64,
    /// The id of the next request whose arrival starts the window or a batch.
    pub(super) next_mark: u64,
    /// The measured window's batches (intervals from one run).
    pub(super) batches: BatchRecorder,
    /// Whether the measured window has started.
    pub(super) measuring: bool,
    /// Start of the measured window, s.
    pub(super) window_start: f64,
    /// Outcomes of every request.
    pub(super) total: Counts,
    /// Outcomes of the measured requests.
    pub(super) measured: Counts,
    /// Response times of measured completions.
    pub(super) response: LatencyHistogram,
    /// Exact sum of those response times, s.
    pub(super) response_sum: f64,
    /// Largest of them, s.
    pub(super) response_max: f64,
    /// Exact sum of their waits in queue, s.
    pub(super) wait_sum: f64,
    /// Measured requests per key (the hottest key's share).
    pub(super) keys: KeyCounter,
    /// Every completion's response time by arrival index, warm-up included (where the
    /// transient ends).
    pub(super) series: Series,
}

impl Recorder {
    /// Nothing measured yet, for a run of `sc`.
    pub(super) fn new(sc: &Scenario) -> Recorder {
        Recorder {
            warmup: sc.warmup,
            next_mark: sc.warmup,
            batches: BatchRecorder::new(
                sc.requests.saturating_sub(sc.warmup),
                &sc.servers.iter().map(|s| s.workers).collect::<Vec<_>>(),
            ),
            measuring: false,
            window_start: 0.0,
            total: Counts::default(),
            measured: Counts::default(),
            response: LatencyHistogram::new(3),
            response_sum: 0.0,
            response_max: 0.0,
            wait_sum: 0.0,
            series: Series::new(),
            keys: match sc.arrivals.trace() {
                Some(t) if t.keys.is_some() => KeyCounter::Counted {
                    counts: vec![0; t.distinct_keys.min(crate::stats::MAX_COUNTED_KEYS) as usize],
                },
                _ => KeyCounter::new(sc.keys.as_ref()),
            },
        }
    }

    /// Whether request `id` is measured (not warm-up).
    #[inline(always)]
    pub(super) fn is_measured(&self, id: u64) -> bool {
        id >= self.warmup
    }

    /// A measured completion's `response` time and `wait` in queue.
    #[inline(always)]
    pub(super) fn response(&mut self, response: f64, wait: f64) {
        self.batches.record(&mut self.response, response);
        self.response_sum += response;
        self.wait_sum += wait;
        if response > self.response_max {
            self.response_max = response;
        }
    }

    /// Request `id` completed (counted for every request, and as measured after warm-up).
    #[inline(always)]
    pub(super) fn completed(&mut self, id: u64) {
        self.total.completed += 1;
        if id >= self.warmup {
            self.measured.completed += 1;
        }
    }

    /// Whether the last fine batch is full, so it ends with the run (its closing arrival
    /// would be the request after the last).
    pub(super) fn last_batch_full(&self) -> bool {
        self.measuring && !self.batches.is_done() && self.measured.generated == self.next_mark - self.warmup
    }

    /// The batches of the run: the last fine one closed when `full`, and the batch it ends
    /// with the window's `totals` (given when it ends one).
    pub(super) fn finish_batches(&mut self, full: bool, totals: Option<Totals>) -> Batches {
        if full && self.batches.fine_close(self.measured.completed, self.response_sum) {
            let t = totals.expect("the totals of a batch's end");
            self.batches.close(t, &mut self.response);
        }
        std::mem::replace(&mut self.batches, BatchRecorder::new(0, &[])).finish(&mut self.response)
    }
}
