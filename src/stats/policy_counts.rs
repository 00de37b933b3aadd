//! What the balancer's own policies did: its queue (`[balancer_queue]`). Kept apart from
//! [`Counts`](super::Counts) so that a scenario without them reports exactly what it did.

use super::RunStats;
use super::summary::Estimate;

/// One run's balancer-queue figures over the measured window (attempts of measured
/// requests; the length over the window's time).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PolicyStats {
    /// Attempts that waited at the balancer and were then sent to a server.
    pub queued: u64,
    /// The sum of their waits at the balancer, s.
    pub queue_wait_sum: f64,
    /// Attempts whose wait reached `timeout` (HAProxy's 503; their request is `dropped`
    /// unless retried).
    pub queue_timeouts: u64,
    /// ∫ attempts waiting at the balancer dt over the measured window.
    pub queue_area: f64,
    /// Most attempts waiting at once in the measured window.
    pub queue_max: u64,
}

/// The balancer-queue figures of one strategy over its replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicySummary {
    /// Share of the measured requests' attempts that waited at the balancer (pooled).
    pub queued_share: f64,
    /// Mean wait at the balancer of the attempts that waited and were sent (pooled), s.
    pub mean_queue_wait: f64,
    /// Attempts that timed out in the queue, summed over replications.
    pub queue_timeouts: u64,
    /// Time-averaged number waiting at the balancer (over replications, with its interval).
    pub mean_queue_length: Estimate,
    /// Most waiting at once in any replication.
    pub max_queue_length: u64,
}

impl PolicySummary {
    /// Aggregates `runs` (the replications of one strategy).
    pub fn from_runs(runs: &[RunStats]) -> Self {
        let zero = PolicyStats::default();
        let of = |r: &RunStats| r.policies.as_deref().copied().unwrap_or(zero);
        let queued: u64 = runs.iter().map(|r| of(r).queued).sum();
        let timeouts: u64 = runs.iter().map(|r| of(r).queue_timeouts).sum();
        let attempts: u64 = runs.iter().map(|r| r.measured.generated + r.measured.retried).sum();
        let lengths: Vec<f64> = runs.iter().map(|r| of(r).queue_area / r.window()).collect();
        PolicySummary {
            queued_share: if attempts == 0 { 0.0 } else { (queued + timeouts) as f64 / attempts as f64 },
            mean_queue_wait: if queued == 0 {
                0.0
            } else {
                runs.iter().map(|r| of(r).queue_wait_sum).sum::<f64>() / queued as f64
            },
            queue_timeouts: timeouts,
            mean_queue_length: Estimate::from_samples(&lengths),
            max_queue_length: runs.iter().map(|r| of(r).queue_max).max().unwrap_or(0),
        }
    }
}
