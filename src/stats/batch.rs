//! Intervals from one run: batch means (issue 22).
//!
//! A run's measured requests are cut, in arrival order, into [`FINE`] batches of equal size
//! m = ⌊N / FINE⌋ (the remainder, fewer than m requests at the end, counts in every figure
//! but in no batch). The fine batches keep only the mean response time, for the
//! independence test; every [`GAP`]² = 4 of them make one of the [`BATCHES`] batches that
//! keep every figure. At each boundary (the arrival of request warm-up + j·m) the engine
//! hands the [`Recorder`] the window's cumulative counts (a fine boundary: the completions
//! and their response-time sum) or [`Totals`] (a batch boundary); a batch's figures are
//! those of its own slice of simulated time, from the differences (completions counted
//! when they complete, work when it is routed, integrals over the slice). Percentiles come
//! from the batch's own response-time histogram (sectioning), and exactly so at the
//! coarser levels too (pairs, fours and eights of batches).
//!
//! The batch size, after LBatch (Fishman & Yarberry, "An implementation of the batch means
//! method", INFORMS J. on Computing 9(3), 1997; cf. ASAP3, Steiger, Lada, Wilson, Joines,
//! Alexopoulos & Goldsman, ACM TOMACS 15(1), 2005, which grows its batches until a
//! normality test passes and then corrects for the correlation left): the fine batches are
//! merged in pairs until the lag-1 autocorrelation r₁ of their means of the response time is not
//! significant (one-sided at 5%: r₁ ≤ 1.645/√k for k batches), testing only series of at
//! least [`TEST_BATCHES`] (with fewer the test has no power: r₁'s standard error is 1/√k).
//! Passing the test bounds the correlation of neighbouring batches only loosely (an r₁ up
//! to 0.29 passes on 32), so the interval rests on batches [`GAP`] levels coarser, 4 times
//! longer (the correlation of neighbouring batch means falls about as 1/m once m exceeds
//! the correlation time), which leaves 8 to 64 of them — Schmeiser's recommendation of 10
//! to 30 batches for a fixed run length (Operations Research 30(3), 1982) widened at both
//! ends, more batches when the run is long against its correlation time. A figure's 95%
//! interval is t · s/√k around the run's own figure, s the standard deviation of its k
//! batch values (a percentile's: of its section estimates around the run's percentile —
//! sectioning, Asmussen & Glynn, *Stochastic Simulation*, 2007, III.5), t Student's
//! t₀.₉₇₅,ₖ₋₁ widened for the skewness of the k values ([`skew_adjusted`], after Skart).
//! The number of batches is bounded, so the variance estimate is not consistent (no
//! batch-means estimate with a bounded number of batches is: Glynn & Whitt, "Estimating the
//! asymptotic variance with batch means", Operations Research Letters 10, 1991) and
//! `--precision`'s sequential stopping rule does not have the asymptotic validity of
//! Glynn & Whitt (Annals of Applied Probability 2(1), 1992): it stops when the estimate
//! happens to be small, and so favours the runs that understate their spread. The t
//! quantile counts the estimate's noise in, the skewness adjustment the runs that saw
//! few of a queue's long excursions; the coverage studies of docs/outputs.md measure what
//! remains.
//! When the test fails at every level the intervals rest on [`MIN_BATCHES`] batches and
//! are marked not independent ([`Units::independent`]): the run should be longer, and
//! `--precision` does not stop on them. A percentile uses a level at which each batch
//! holds at least [`TAIL_COUNT`] requests beyond it (a p99.9 needs long batches).
//!
//! Cost: a fine boundary stores one number; a batch boundary computes the figures from
//! the totals, merges the batch's histogram into the run's and its coarser sections', and
//! reads the sections' percentiles — 64 of them per run, whatever its length. Memory is
//! O(FINE + BATCHES × percentiles + sections) per simulation, whatever the run length.

use super::ci::mean_ci;
use super::summary::{CI_LEVEL, QUANTILES};
use super::{LatencyHistogram, evenness};

/// Fine batches: their means of the response time are what the independence test looks at.
pub const FINE: usize = 256;
/// Levels between the fine batches and the batches every figure keeps, and between the
/// batches that passed the independence test and those an interval rests on.
pub const GAP: u32 = 2;
/// Batches keeping every figure (each [`GAP`] levels above the fine ones).
pub const BATCHES: usize = FINE >> GAP;
/// Levels kept: batches, pairs, fours, eights.
pub const LEVELS: usize = 4;
/// Fewest batches an interval rests on.
pub const MIN_BATCHES: usize = 8;
/// Fewest batches the lag-1 test is applied to.
pub const TEST_BATCHES: usize = 32;
/// One-sided 5% point of the lag-1 test: r₁ is significant above `LAG1_Z / √k`.
const LAG1_Z: f64 = 1.645;
/// Requests a batch must hold beyond (or below) a percentile for its section estimate.
pub const TAIL_COUNT: f64 = 10.0;

/// The outcome of the independence test (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    /// The batches passed: intervals rest on batches [`GAP`] levels coarser.
    Independent,
    /// The batches failed at every level with [`TEST_BATCHES`] of them.
    Correlated,
    /// Too few batches to test.
    Untested,
}

/// A figure whose interval and paired comparisons rest on batches or replications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// Mean response time.
    Mean,
    /// Median response time.
    P50,
    /// 90th percentile.
    P90,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// Mean wait in queue.
    Wait,
    /// Completions per second.
    Throughput,
    /// Busy fraction of all workers.
    Utilization,
    /// The busiest server's load ρ.
    RhoMax,
    /// Max/mean of the loads ρ_i.
    LoadMaxOverMean,
    /// CV of the loads.
    LoadCv,
    /// Jain's index of the loads.
    Jain,
    /// The busiest server's share of the load.
    BusiestShare,
    /// Max/mean of requests per server.
    RequestsMaxOverMean,
    /// Time-average spread of the numbers in system.
    QueueSpread,
    /// Fraction of time some worker idled while a request waited elsewhere.
    IdleWhileWaiting,
    /// Completed share of decided requests.
    Availability,
    /// Attempts per request offered.
    RetryAmplification,
}

impl Figure {
    /// Every figure, in index order.
    pub const ALL: [Figure; 18] = [
        Figure::Mean,
        Figure::P50,
        Figure::P90,
        Figure::P99,
        Figure::P999,
        Figure::Wait,
        Figure::Throughput,
        Figure::Utilization,
        Figure::RhoMax,
        Figure::LoadMaxOverMean,
        Figure::LoadCv,
        Figure::Jain,
        Figure::BusiestShare,
        Figure::RequestsMaxOverMean,
        Figure::QueueSpread,
        Figure::IdleWhileWaiting,
        Figure::Availability,
        Figure::RetryAmplification,
    ];

    /// Its summary.csv column.
    pub fn column(self) -> &'static str {
        match self {
            Figure::Mean => "mean_ms",
            Figure::P50 => "p50_ms",
            Figure::P90 => "p90_ms",
            Figure::P99 => "p99_ms",
            Figure::P999 => "p999_ms",
            Figure::Wait => "mean_wait_ms",
            Figure::Throughput => "throughput_rps",
            Figure::Utilization => "utilization",
            Figure::RhoMax => "rho_max",
            Figure::LoadMaxOverMean => "load_max_over_mean",
            Figure::LoadCv => "load_cv",
            Figure::Jain => "jain_index",
            Figure::BusiestShare => "busiest_server_share",
            Figure::RequestsMaxOverMean => "requests_max_over_mean",
            Figure::QueueSpread => "queue_spread",
            Figure::IdleWhileWaiting => "idle_while_waiting",
            Figure::Availability => "availability",
            Figure::RetryAmplification => "retry_amplification",
        }
    }

    /// The percentile of [`QUANTILES`] it is (its index there), if it is one.
    pub fn quantile(self) -> Option<usize> {
        let name = match self {
            Figure::P50 => "50",
            Figure::P90 => "90",
            Figure::P99 => "99",
            Figure::P999 => "99.9",
            _ => return None,
        };
        QUANTILES.iter().position(|q| q.0 == name)
    }
}

/// The values an interval rests on: one per replication, or one per batch of a single run
/// at batch level `level` (2^level finest batches each). Two strategies' units pair up:
/// the same replication, or the same requests (batches are cut by arrival index, and every
/// strategy sees the same arrivals).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Units {
    /// The values.
    pub values: Vec<f64>,
    /// `None`: replications; `Some(l)`: batches of level `l`.
    pub level: Option<u32>,
    /// Whether the values are independent as far as can be told: replications always;
    /// batches when they passed the independence test (see the module's documentation).
    pub independent: bool,
}

impl Units {
    /// The paired difference `self − other` over common units: its mean and 95% half-width
    /// (None when the units do not pair up or are fewer than two).
    pub fn paired(&self, other: &Units) -> Option<(f64, f64)> {
        let (a, b) = match (self.level, other.level) {
            (None, None) => (self.values.clone(), other.values.clone()),
            (Some(x), Some(y)) => {
                let l = x.max(y);
                (at_level(&self.values, l - x), at_level(&other.values, l - y))
            }
            _ => return None,
        };
        if a.len() != b.len() || a.len() < 2 {
            return None;
        }
        let d: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
        if d.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let (mean, half) = mean_ci(&d, CI_LEVEL);
        half.map(|h| (mean, h))
    }
}

/// Cumulative totals of the measured window at one instant (what a batch boundary sees).
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Simulated time, s.
    pub time: f64,
    /// Measured completions so far.
    pub completed: u64,
    /// Measured requests whose outcome is known.
    pub decided: u64,
    /// Measured requests generated.
    pub generated: u64,
    /// Measured retry attempts.
    pub retried: u64,
    /// Sum of measured response times, s.
    pub response_sum: f64,
    /// Sum of their waits, s.
    pub wait_sum: f64,
    /// ∫ busy workers dt, all servers.
    pub busy_area: f64,
    /// ∫ spread dt.
    pub queue_spread: f64,
    /// ∫ idle-while-waiting dt.
    pub idle_waiting: f64,
    /// Work routed to each server, s.
    pub work: Vec<f64>,
    /// Capacity each server lost to faults, s (`ServerStats::lost_capacity`).
    pub lost: Vec<f64>,
    /// Measured requests routed to each server.
    pub requests: Vec<u64>,
}

/// Scalar figures per batch (all but the percentiles), in [`Figure::ALL`] order with the
/// percentiles' places unused.
const SCALARS: usize = Figure::ALL.len();

/// One run's batches.
#[derive(Debug, Clone, Default)]
pub struct Batches {
    /// Measured requests per batch (0: the run was not batched; [`GAP`]² fine batches).
    pub size: u64,
    /// Mean response time of each fine batch (NaN when none completed in its slice).
    pub fine: Vec<f64>,
    /// `values[b][f]`: figure `Figure::ALL[f]` of finest batch `b` (NaN for percentiles).
    pub values: Vec<[f64; SCALARS]>,
    /// `quantiles[l][b][q]`: percentile `QUANTILES[q]` of batch `b` at level `l`.
    pub quantiles: Vec<Vec<Vec<f64>>>,
}

impl Batches {
    /// Full batches at the finest level.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the run has no batch.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The level the intervals rest on, and the outcome of the independence test: [`GAP`]
    /// levels above the first level of the fine batches whose means of the response time
    /// pass the lag-1 test — the level of the batches of the same length, since fine
    /// level `l + GAP` is batch level `l` — or the coarsest with [`MIN_BATCHES`] batches
    /// when none passed or none could be tested.
    pub fn level(&self) -> (u32, Test) {
        let mut outcome = Test::Untested;
        for l in 0..LEVELS as u32 {
            let v = at_level(&self.fine, l);
            if v.len() < TEST_BATCHES {
                break;
            }
            let r = lag1(&v);
            if r.is_nan() || r <= LAG1_Z / (v.len() as f64).sqrt() {
                return (l, Test::Independent);
            }
            outcome = Test::Correlated;
        }
        (self.coarsest(), outcome)
    }

    /// The coarsest level with [`MIN_BATCHES`] batches (0 when even the finest has fewer).
    fn coarsest(&self) -> u32 {
        (0..LEVELS as u32).rev().find(|&l| self.len() >> l >= MIN_BATCHES).unwrap_or(0)
    }

    /// The level figure `f` uses when the response time's batches are uncorrelated at
    /// `level`: the same, or coarser for a percentile whose tail a batch holds too few of.
    pub fn level_of(&self, f: Figure, level: u32) -> u32 {
        f.quantile().map_or(level, |q| self.quantile_level(q, level))
    }

    /// The level percentile `QUANTILES[q]` uses when the response time's batches are
    /// uncorrelated at `level`: the first from there whose batches hold [`TAIL_COUNT`]
    /// requests beyond it (the coarsest if none does).
    pub fn quantile_level(&self, q: usize, level: u32) -> u32 {
        let p = QUANTILES[q].1;
        let tail = p.min(1.0 - p);
        (level..LEVELS as u32).find(|&l| (self.size << l) as f64 * tail >= TAIL_COUNT).unwrap_or(LEVELS as u32 - 1)
    }

    /// Figure `f`'s batch values at `level`.
    pub fn series(&self, f: Figure, level: u32) -> Vec<f64> {
        if let Some(q) = f.quantile() {
            return self.quantile_series(q, level);
        }
        let i = Figure::ALL.iter().position(|&g| g == f).expect("a figure");
        at_level(&self.values.iter().map(|v| v[i]).collect::<Vec<_>>(), level)
    }

    /// Percentile `QUANTILES[q]` of each batch at `level`.
    pub fn quantile_series(&self, q: usize, level: u32) -> Vec<f64> {
        self.quantiles.get(level as usize).map_or_else(Vec::new, |l| l.iter().map(|b| b[q]).collect())
    }
}

/// Half-width of the 95% interval from batch values, t₀.₉₇₅,ₖ₋₁ · s/√k widened for their
/// skewness ([`skew_adjusted`]): None with fewer than [`MIN_BATCHES`] or any undefined.
pub fn half_width(values: &[f64]) -> Option<f64> {
    half_width_about(values, values.iter().sum::<f64>() / values.len() as f64)
}

/// The multiple of the standard error a 95% interval from `values` reaches: Student's t
/// with k − 1 degrees of freedom, widened for the skewness of the k values as Skart does
/// (Tafazzoli & Wilson, "Skart: a skewness- and autoregression-adjusted batch-means
/// procedure for simulation analysis", IIE Transactions 43(2), 2011): Willink's
/// transformation of the Cornish–Fisher expansion of the t statistic (Willink,
/// Communications in Statistics — Theory and Methods 34(4), 2005). With β = B̂/(6√k), B̂
/// the values' sample skewness (bias-corrected), the interval is [x̄ − G(t)·se, x̄ − G(−t)·se],
/// G(ζ) = ((1 + 6β(ζ − β))^{1/3} − 1)/(2β): it reaches further on the side of the long
/// tail. A queue's batch means are skewed to the right (a rare long excursion lifts one
/// batch), and a run that saw few excursions has both a low estimate and a small spread;
/// the plain t interval misses such runs from below. lbsim's intervals are symmetric (one
/// `±`), so this is the wider side, max(|G(t)|, |G(−t)|). Differences from Skart: the
/// skewness is that of the batches the interval rests on (Skart's of spaced batches), and
/// there is no autoregressive inflation (the batches passed the independence test).
pub fn skew_adjusted(values: &[f64], t: f64) -> f64 {
    let k = values.len() as f64;
    if k < 3.0 {
        return t;
    }
    let mean = values.iter().sum::<f64>() / k;
    let m2 = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / k;
    let m3 = values.iter().map(|v| (v - mean).powi(3)).sum::<f64>() / k;
    if m2.is_nan() || m2 <= 0.0 {
        return t;
    }
    let skewness = m3 / m2.powf(1.5) * (k * (k - 1.0)).sqrt() / (k - 2.0);
    let beta = skewness / (6.0 * k.sqrt());
    if beta.is_nan() || beta.abs() <= 1e-12 {
        return t;
    }
    let g = |z: f64| ((1.0 + 6.0 * beta * (z - beta)).cbrt() - 1.0) / (2.0 * beta);
    let wide = g(t).abs().max(g(-t).abs());
    if wide.is_finite() { wide.max(t) } else { t }
}

/// Half-width of the 95% sectioning interval around `center`, the whole run's estimate,
/// from section estimates `values`: t · √(Σ (vᵢ − center)² / (k − 1) / k), t the
/// skewness-adjusted multiple of [`skew_adjusted`]. A
/// section's estimate of a percentile is biased (more so the fewer requests it holds
/// beyond it), and measuring the spread around the run's own estimate counts that bias
/// in, where the spread around the sections' mean would not (Asmussen & Glynn 2007,
/// III.5; Nakayama, ACM TOMACS 24(4), 2014). None as [`half_width`].
pub fn half_width_about(values: &[f64], center: f64) -> Option<f64> {
    if values.len() < MIN_BATCHES || values.iter().any(|v| !v.is_finite()) || !center.is_finite() {
        return None;
    }
    let k = values.len() as f64;
    let ss: f64 = values.iter().map(|v| (v - center) * (v - center)).sum();
    let t = skew_adjusted(values, super::ci::t_quantile(0.5 + CI_LEVEL / 2.0, k - 1.0));
    // Finite values can still give an infinite half-width (their squares overflow).
    Some(t * (ss / (k - 1.0) / k).sqrt()).filter(|h| h.is_finite())
}

/// `v` with adjacent pairs averaged `levels` times (an odd last value dropped each time).
pub fn at_level(v: &[f64], levels: u32) -> Vec<f64> {
    let mut v = v.to_vec();
    for _ in 0..levels {
        v = merge_pairs(&v);
    }
    v
}

fn merge_pairs(v: &[f64]) -> Vec<f64> {
    v.chunks_exact(2).map(|p| (p[0] + p[1]) / 2.0).collect()
}

/// Lag-1 autocorrelation (NaN for a constant or too short series).
pub fn lag1(v: &[f64]) -> f64 {
    if v.len() < 3 {
        return f64::NAN;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let den: f64 = v.iter().map(|x| (x - m) * (x - m)).sum();
    let num: f64 = v.windows(2).map(|w| (w[0] - m) * (w[1] - m)).sum();
    num / den
}

/// Collects a run's batches as the engine reaches each boundary.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Measured requests per fine batch (0: not batched).
    step: u64,
    workers: Vec<f64>,
    last: Totals,
    /// Completions and their response-time sum at the last fine boundary.
    last_fine: (u64, f64),
    /// The current batch's response times, then those of the current pair, four, eight.
    sections: Vec<LatencyHistogram>,
    out: Batches,
}

impl Recorder {
    /// A recorder for `measured` requests over servers of `workers` (no batches when there
    /// are too few requests for [`MIN_BATCHES`] batches of two).
    pub fn new(measured: u64, workers: &[u32]) -> Self {
        let step = if measured >= 2 * MIN_BATCHES as u64 { (measured / FINE as u64).max(1) } else { 0 };
        Recorder {
            step,
            workers: workers.iter().map(|&w| f64::from(w)).collect(),
            last: Totals::default(),
            last_fine: (0, 0.0),
            sections: (0..LEVELS).map(|_| LatencyHistogram::new(3)).collect(),
            out: Batches {
                size: step << GAP,
                fine: Vec::new(),
                values: Vec::new(),
                quantiles: vec![Vec::new(); LEVELS],
            },
        }
    }

    /// Measured requests between two boundaries: a fine batch (0: not batched).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Whether every batch is closed (or none is kept).
    pub fn is_done(&self) -> bool {
        self.step == 0 || self.out.fine.len() == FINE
    }

    /// Whether the next fine boundary also ends a batch (it needs the [`Totals`]).
    pub fn next_ends_batch(&self) -> bool {
        (self.out.fine.len() + 1).is_multiple_of(1 << GAP)
    }

    /// A fine batch ends with `completed` measured completions so far, whose response
    /// times sum to `response_sum` (s); true when it also ends a batch, which the caller
    /// then closes with [`Self::close`].
    #[inline]
    pub fn fine_close(&mut self, completed: u64, response_sum: f64) -> bool {
        let (c, sum) = self.last_fine;
        self.out.fine.push((response_sum - sum) / (completed - c) as f64);
        self.last_fine = (completed, response_sum);
        self.out.fine.len().is_multiple_of(1 << GAP)
    }

    /// Records a measured response time (s): in the current batch's histogram, which is
    /// added to the run's histogram `run` when the batch closes ([`Self::close`],
    /// [`Self::finish`]) — one record per response, as without batches.
    #[inline(always)]
    pub fn record(&mut self, run: &mut LatencyHistogram, response: f64) {
        if self.step > 0 {
            self.sections[0].record(response);
        } else {
            run.record(response);
        }
    }

    /// The measured window starts with these totals.
    pub fn start(&mut self, t: Totals) {
        self.last_fine = (t.completed, t.response_sum);
        self.last = t;
    }

    /// A batch ends with these totals (the next one starts); its response times join the
    /// run's histogram `run`.
    pub fn close(&mut self, t: Totals, run: &mut LatencyHistogram) {
        let p = &self.last;
        // A batch whose requests all arrived at one instant (a trace's repeated timestamp)
        // spans no time: its time averages are undefined (NaN), so the figures that need them
        // get no interval, instead of one divided by the smallest float (issue 29: an infinite
        // half-width left imbalance.png's axis at ±inf and plotters looping).
        let dt = if t.time > p.time { t.time - p.time } else { f64::NAN };
        let completed = (t.completed - p.completed) as f64;
        let loads: Vec<f64> = (0..self.workers.len())
            .map(|i| evenness::load(t.work[i] - p.work[i], self.workers[i], dt - (t.lost[i] - p.lost[i])))
            .collect();
        let requests: Vec<f64> = t.requests.iter().zip(&p.requests).map(|(a, b)| (a - b) as f64).collect();
        let decided = t.decided - p.decided;
        let generated = (t.generated - p.generated) as f64;
        let mut v = [f64::NAN; SCALARS];
        for (i, f) in Figure::ALL.iter().enumerate() {
            v[i] = match f {
                Figure::Mean => (t.response_sum - p.response_sum) / completed,
                Figure::Wait => (t.wait_sum - p.wait_sum) / completed,
                Figure::Throughput => completed / dt,
                Figure::Utilization => (t.busy_area - p.busy_area) / (dt * self.workers.iter().sum::<f64>()),
                Figure::RhoMax => evenness::max(&loads),
                Figure::LoadMaxOverMean => evenness::max_over_mean(&loads),
                Figure::LoadCv => evenness::cv(&loads),
                Figure::Jain => evenness::jain(&loads),
                Figure::BusiestShare => evenness::max_share(&loads),
                Figure::RequestsMaxOverMean => evenness::max_over_mean(&requests),
                Figure::QueueSpread => (t.queue_spread - p.queue_spread) / dt,
                Figure::IdleWhileWaiting => (t.idle_waiting - p.idle_waiting) / dt,
                Figure::Availability => {
                    if decided == 0 {
                        1.0
                    } else {
                        (t.completed - p.completed) as f64 / decided as f64
                    }
                }
                Figure::RetryAmplification => (generated + (t.retried - p.retried) as f64) / generated,
                Figure::P50 | Figure::P90 | Figure::P99 | Figure::P999 => f64::NAN,
            };
        }
        self.out.values.push(v);
        self.last = t;
        // Sections: the batch's own, and each coarser one it completes.
        let b = self.out.values.len();
        let finest = std::mem::replace(&mut self.sections[0], LatencyHistogram::new(3));
        run.merge(&finest);
        for l in 1..LEVELS {
            self.sections[l].merge(&finest);
        }
        self.out.quantiles[0].push(quantiles(&finest));
        for l in 1..LEVELS {
            if b.is_multiple_of(1 << l) {
                let done = std::mem::replace(&mut self.sections[l], LatencyHistogram::new(3));
                self.out.quantiles[l].push(quantiles(&done));
            }
        }
    }

    /// The run's batches; the response times after the last batch join `run`.
    pub fn finish(self, run: &mut LatencyHistogram) -> Batches {
        run.merge(&self.sections[0]);
        self.out
    }
}

/// Every percentile of [`QUANTILES`] of `h`.
fn quantiles(h: &LatencyHistogram) -> Vec<f64> {
    h.quantiles(&QUANTILES.iter().map(|&(_, q)| q).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag1_of_known_series() {
        let alternating: Vec<f64> = (0..64).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        assert!(lag1(&alternating) < -0.9);
        let trend: Vec<f64> = (0..64).map(f64::from).collect();
        assert!(lag1(&trend) > 0.9);
        assert!(lag1(&[1.0, 1.0, 1.0, 1.0]).is_nan());
        assert_eq!(at_level(&[1.0, 3.0, 5.0, 7.0, 9.0], 1), vec![2.0, 6.0]);
        assert_eq!(at_level(&[1.0, 3.0, 5.0, 7.0], 2), vec![4.0]);
    }

    /// 256 fine means, each value of `x` repeated `run` times (a correlation `run` fine
    /// batches long), with 64 batches behind them.
    fn batches(run: usize) -> Batches {
        // A small LCG: values without correlation of their own.
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let x: Vec<f64> = (0..FINE / run).map(|_| next()).collect();
        let fine: Vec<f64> = (0..FINE).map(|i| x[i / run]).collect();
        Batches { size: 4, fine, values: vec![[0.0; SCALARS]; BATCHES], quantiles: vec![Vec::new(); LEVELS] }
    }

    #[test]
    fn the_interval_rests_two_levels_above_the_first_independent_fine_level() {
        // Independent fine batches: the interval rests on the 64 batches 4 times as long.
        assert_eq!(batches(1).level(), (0, Test::Independent));
        // Correlated over 8 fine batches: merged until 32 fine batches of 8 pass, then the
        // interval on 8 batches of 32 fine ones.
        assert_eq!(batches(8).level(), (3, Test::Independent));
        // Correlated over 16: 32 fine batches still fail; the coarsest, marked.
        assert_eq!(batches(16).level(), (3, Test::Correlated));
        // Too few fine batches to test: the coarsest with 8 batches, untested.
        let mut short = batches(1);
        short.fine.truncate(20);
        short.values.truncate(20);
        assert_eq!(short.level(), (1, Test::Untested));
    }

    #[test]
    fn sectioning_measures_the_spread_around_the_run_estimate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        // Around their own mean, the same as `half_width`.
        let own = half_width(&v).unwrap();
        assert!((half_width_about(&v, 4.5).unwrap() - own).abs() < 1e-12);
        // Around another centre, wider by the offset.
        assert!(half_width_about(&v, 6.0).unwrap() > own);
        assert_eq!(half_width_about(&v[..4], 2.5), None);
    }

    #[test]
    fn skewness_widens_the_interval_on_the_side_of_the_long_tail() {
        let t = crate::stats::ci::t_quantile(0.975, 7.0);
        // Symmetric values: Student's t as it is.
        assert!((skew_adjusted(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], t) - t).abs() < 1e-12);
        // One batch of eight far above the rest: B̂ = 2√2, β = B̂/(6√8) = 1/6, and the wider
        // side −G(−t) = 3 · (1 − ∛(5/6 − t)), from Willink's G (by hand: 6.4579).
        let skewed = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0];
        let wide = skew_adjusted(&skewed, t);
        assert!((wide - 6.457858).abs() < 1e-5, "{wide}");
        // Mirrored, the same width (the long tail below).
        assert!((skew_adjusted(&skewed.map(|v| -v), t) - wide).abs() < 1e-9);
        assert!((half_width(&skewed).unwrap() - wide * (87.5f64 / 7.0 / 8.0).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn paired_units_meet_at_the_coarser_level() {
        let a = Units { values: (0..16).map(f64::from).collect(), level: Some(0), independent: true };
        let b = Units {
            values: (0..8).map(|i| 2.0 * f64::from(i) + 0.5 - 1.0).collect(),
            level: Some(1),
            independent: true,
        };
        // a at level 1: 0.5, 2.5, …; b: −0.5, 1.5, …: a − b = 1 exactly.
        assert_eq!(a.paired(&b), Some((1.0, 0.0)));
        let r = Units { values: vec![1.0, 2.0], level: None, independent: true };
        assert_eq!(a.paired(&r), None);
    }
}
