//! What reacts to failures: `[health_check]` (active checks), `[outlier_detection]`
//! (passive ejection) and `[client]` (timeouts and retries), and their validation.

use serde::Serialize;

use super::ScenarioError;
use super::schema::{RawBalancerQueue, RawClient, RawHealthCheck, RawOutlierDetection};

/// `[health_check]`: active checks with HAProxy's semantics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HealthCheck {
    /// Time between two checks of a server (`inter`), s.
    #[serde(rename = "interval_s")]
    pub interval: f64,
    /// A check not answered within this fails (`timeout check`; default: the interval), s.
    #[serde(rename = "timeout_s")]
    pub timeout: f64,
    /// Consecutive failed checks that mark an up server down.
    pub fall: u32,
    /// Consecutive successful checks that mark a down server up.
    pub rise: u32,
}

/// `[outlier_detection]`: passive ejection with Envoy's semantics (consecutive errors).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OutlierDetection {
    /// Consecutive failed requests that eject a server (`consecutive_5xx`, default 5).
    pub consecutive_errors: u32,
    /// Period of the sweep that returns ejected servers (`interval`, default 10 s).
    #[serde(rename = "interval_s")]
    pub interval: f64,
    /// Ejection time per ejection so far (`base_ejection_time`, default 30 s).
    #[serde(rename = "base_ejection_time_s")]
    pub base_ejection_time: f64,
    /// Cap on one ejection (`max_ejection_time`, default 300 s or the base if larger).
    #[serde(rename = "max_ejection_time_s")]
    pub max_ejection_time: f64,
    /// Largest share of servers ejected at once, percent (default 10; one server can
    /// always be ejected).
    pub max_ejection_percent: f64,
}

/// What a failed attempt can be retried on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetryOn {
    /// Connection refused or reset by a crashed server (Envoy `connect-failure,reset`).
    pub failed: bool,
    /// The attempt timed out (Envoy `5xx` includes upstream timeouts).
    pub timeout: bool,
    /// The server's queue was full (a 503; Envoy `5xx`/`retriable-status-codes`).
    pub dropped: bool,
}

/// `[client]`: per-attempt timeout and the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClientPolicy {
    /// Per-attempt timeout, s (`None` = wait forever).
    #[serde(rename = "timeout_s")]
    pub timeout: Option<f64>,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Base of the exponential backoff, s (Envoy `base_interval`, default 25 ms).
    #[serde(rename = "backoff_s")]
    pub backoff: f64,
    /// Cap of the backoff, s (default 10 × base, as Envoy).
    #[serde(rename = "max_backoff_s")]
    pub max_backoff: f64,
    /// Envoy retry budget: concurrent retries at most this percent of active requests.
    #[serde(rename = "retry_budget_percent")]
    pub retry_budget: Option<f64>,
    /// The budget always allows this many concurrent retries (Envoy default 3).
    pub min_retry_concurrency: u32,
    /// Which failures are retried.
    pub retry_on: RetryOn,
    /// A retry goes to a server the request has not tried yet while there is one (Envoy
    /// `retry_host_predicate: previous_hosts`, HAProxy `option redispatch`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub avoid_previous: bool,
    /// The whole request's timeout, attempts and backoffs included (Envoy's route `timeout`,
    /// `timeout` being its `per_try_timeout`), s; `None` = none.
    #[serde(rename = "overall_timeout_s", skip_serializing_if = "Option::is_none")]
    pub overall_timeout: Option<f64>,
    /// Hedged requests (`hedge_after`, `max_hedges`, `cancel_on_first`); `None` = none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hedge: Option<Hedge>,
}

/// When a hedge copy of an attempt is sent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HedgeAfter {
    /// This long after the attempt (or the previous copy) was sent, s.
    Fixed(f64),
    /// The p-th percentile of recent response times (see [`HEDGE_WINDOW`]).
    Percentile(f64),
}

/// How many successful requests' response times a percentile `hedge_after` is taken over:
/// the last ones of the same strategy in the same replication.
pub const HEDGE_WINDOW: usize = 1000;

/// A percentile `hedge_after` sends no copy until this many requests have succeeded.
pub const HEDGE_WINDOW_MIN: usize = 20;

/// The most copies `max_hedges` allows per attempt.
pub const MAX_HEDGES: u32 = 10;

/// `[client]` hedging (Dean & Barroso, "The Tail at Scale", CACM 56(2), 2013): an attempt
/// still unanswered after `hedge_after` is sent again to another server, and the first
/// answer is the request's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Hedge {
    /// Delay before each copy.
    pub after: HedgeAfter,
    /// Copies per attempt at most (besides the attempt itself).
    pub max_hedges: u32,
    /// Whether the first answer cancels the other copies (at their servers, at once).
    pub cancel_on_first: bool,
}

/// Accepted values of `retry_on`.
pub const RETRY_ON: &[&str] = &["failed", "timeout", "dropped"];

fn duration_positive(key: &str, secs: f64) -> Result<f64, ScenarioError> {
    if secs > 0.0 { Ok(secs) } else { Err(ScenarioError::at(key, "must be a positive duration")) }
}

/// Validates `[health_check]`.
pub(super) fn validate_health(h: &RawHealthCheck) -> Result<HealthCheck, ScenarioError> {
    let interval = duration_positive("health_check.interval", h.interval.secs())?;
    let timeout = duration_positive("health_check.timeout", h.timeout.map_or(interval, |t| t.secs()))?;
    let fall = h.fall.unwrap_or(3);
    let rise = h.rise.unwrap_or(2);
    if fall == 0 {
        return Err(ScenarioError::at("health_check.fall", "must be at least 1"));
    }
    if rise == 0 {
        return Err(ScenarioError::at("health_check.rise", "must be at least 1"));
    }
    Ok(HealthCheck { interval, timeout, fall, rise })
}

/// Validates `[outlier_detection]`.
pub(super) fn validate_outlier(o: &RawOutlierDetection) -> Result<OutlierDetection, ScenarioError> {
    let consecutive_errors = o.consecutive_errors.unwrap_or(5);
    if consecutive_errors == 0 {
        return Err(ScenarioError::at("outlier_detection.consecutive_errors", "must be at least 1"));
    }
    let interval = duration_positive("outlier_detection.interval", o.interval.map_or(10.0, |d| d.secs()))?;
    let base =
        duration_positive("outlier_detection.base_ejection_time", o.base_ejection_time.map_or(30.0, |d| d.secs()))?;
    let max = o.max_ejection_time.map_or(300f64.max(base), |d| d.secs());
    if max < base {
        return Err(ScenarioError::at(
            "outlier_detection.max_ejection_time",
            format!("must be at least base_ejection_time ({base}s)"),
        ));
    }
    let pct = o.max_ejection_percent.unwrap_or(10.0);
    if !(0.0..=100.0).contains(&pct) {
        return Err(ScenarioError::at(
            "outlier_detection.max_ejection_percent",
            format!("must be from 0 to 100, got {pct}"),
        ));
    }
    Ok(OutlierDetection {
        consecutive_errors,
        interval,
        base_ejection_time: base,
        max_ejection_time: max,
        max_ejection_percent: pct,
    })
}

/// Validates `[client]`.
pub(super) fn validate_client(c: &RawClient) -> Result<ClientPolicy, ScenarioError> {
    let timeout = match c.timeout {
        Some(t) => Some(duration_positive("client.timeout", t.secs())?),
        None => None,
    };
    let overall_timeout = match c.overall_timeout {
        Some(t) => Some(duration_positive("client.overall_timeout", t.secs())?),
        None => None,
    };
    let max_retries = c.max_retries.unwrap_or(0);
    if max_retries > 100 {
        return Err(ScenarioError::at("client.max_retries", format!("must be at most 100, got {max_retries}")));
    }
    let backoff = c.backoff.map_or(0.025, |d| d.secs());
    let max_backoff = c.max_backoff.map_or(10.0 * backoff, |d| d.secs());
    if max_backoff < backoff {
        return Err(ScenarioError::at("client.max_backoff", format!("must be at least backoff ({backoff}s)")));
    }
    let retry_budget = match c.retry_budget {
        Some(p) if !(p > 0.0 && p <= 100.0) => {
            return Err(ScenarioError::at(
                "client.retry_budget",
                format!("must be a percentage in (0, 100] of active requests, got {p}"),
            ));
        }
        p => p,
    };
    if c.min_retry_concurrency.is_some() && retry_budget.is_none() {
        return Err(ScenarioError::at("client.min_retry_concurrency", "goes with `retry_budget`"));
    }
    let retry_on = match &c.retry_on {
        None => RetryOn { failed: true, timeout: true, dropped: true },
        Some(list) => {
            let mut r = RetryOn { failed: false, timeout: false, dropped: false };
            for (i, v) in list.iter().enumerate() {
                match v.as_str() {
                    "failed" => r.failed = true,
                    "timeout" => r.timeout = true,
                    "dropped" => r.dropped = true,
                    other => {
                        return Err(ScenarioError::at(
                            format!("client.retry_on[{i}]"),
                            format!("unknown condition `{other}`; allowed: {}", RETRY_ON.join(", ")),
                        )
                        .suggest(other, RETRY_ON.iter().copied()));
                    }
                }
            }
            r
        }
    };
    Ok(ClientPolicy {
        timeout,
        max_retries,
        backoff,
        max_backoff,
        retry_budget,
        min_retry_concurrency: c.min_retry_concurrency.unwrap_or(3),
        retry_on,
        avoid_previous: c.avoid_previous.unwrap_or(false),
        overall_timeout,
        hedge: validate_hedge(c)?,
    })
}

/// Validates the hedging keys of `[client]`: `max_hedges` and `cancel_on_first` go with
/// `hedge_after`.
fn validate_hedge(c: &RawClient) -> Result<Option<Hedge>, ScenarioError> {
    let Some(text) = &c.hedge_after else {
        for (set, key) in [(c.max_hedges.is_some(), "max_hedges"), (c.cancel_on_first.is_some(), "cancel_on_first")] {
            if set {
                return Err(ScenarioError::at(format!("client.{key}"), "goes with `hedge_after`").with_help(
                    "set hedge_after = \"50ms\" (a delay) or \"p95\" (a percentile of recent response times)",
                ));
            }
        }
        return Ok(None);
    };
    let after = parse_hedge_after(text).map_err(|why| {
        ScenarioError::at("client.hedge_after", why)
            .with_help("write a delay such as \"50ms\", or a percentile of recent response times such as \"p95\"")
    })?;
    let max_hedges = c.max_hedges.unwrap_or(1);
    if !(1..=MAX_HEDGES).contains(&max_hedges) {
        return Err(ScenarioError::at(
            "client.max_hedges",
            format!("must be from 1 to {MAX_HEDGES} copies per attempt, got {max_hedges}"),
        ));
    }
    Ok(Some(Hedge { after, max_hedges, cancel_on_first: c.cancel_on_first.unwrap_or(true) }))
}

/// Refuses hedging where it has no model: with `[network]` (an attempt is one call in
/// transit), `[clients]` (a copy would need a connection of its own) or `[balancer_queue]`
/// (a copy waiting at the balancer for a slot).
pub(super) fn check_hedging(network: bool, clients: bool, queue: bool) -> Result<(), ScenarioError> {
    for (present, table, why) in [
        (network, "[network]", "an attempt travels as one call to its server and back"),
        (clients, "[clients]", "a copy would need a connection of its own"),
        (queue, "[balancer_queue]", "a copy would wait at the balancer for a server's slot"),
    ] {
        if present {
            return Err(ScenarioError::at(
                "client.hedge_after",
                format!("hedged requests are not modelled together with {table} ({why})"),
            )
            .with_help(format!("remove {table} (or hedge_after)")));
        }
    }
    Ok(())
}

/// `"p95"`, `"p99.9"` (a percentile strictly between 0 and 100) or a positive duration.
fn parse_hedge_after(text: &str) -> Result<HedgeAfter, String> {
    if let Some(p) = text.trim().strip_prefix('p') {
        return match p.parse::<f64>() {
            Ok(p) if p > 0.0 && p < 100.0 => Ok(HedgeAfter::Percentile(p)),
            _ => Err(format!("`{text}`: a percentile must be from p0 to p100 exclusive, e.g. \"p95\"")),
        };
    }
    match crate::duration::parse_duration(text) {
        Ok(d) if d > 0.0 => Ok(HedgeAfter::Fixed(d)),
        Ok(_) => Err("must be a positive duration".to_string()),
        Err(e) => Err(e),
    }
}

/// `[balancer_queue]`: a queue at the balancer in front of servers capped by their
/// `max_connections` (HAProxy `maxconn` with `timeout queue`; see `engine/balancer_queue.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BalancerQueue {
    /// A request waiting longer than this at the balancer fails with a 503 (HAProxy
    /// `timeout queue`), s; `None` = it waits as long as it takes.
    #[serde(rename = "timeout_s")]
    pub timeout: Option<f64>,
    /// How long a server's slot stays taken after the attempt holding it ended there before
    /// it carries the next request (HAProxy closing the server connection, waking the
    /// queued stream and connecting again), s; `None` = at once. Nothing new reaches the
    /// server through the slot meanwhile; response times include the extra waiting it
    /// causes, not the handover.
    #[serde(rename = "handover_s", skip_serializing_if = "Option::is_none")]
    pub handover: Option<f64>,
}

/// Validates `[balancer_queue]` against the rest of the scenario: some server must have a
/// `max_connections` (otherwise nothing ever waits), and the queue is one balancer's with the
/// live counts (one instance, the shared view, no `[network]`); nor does it combine with
/// `[clients]` or `[autoscaler]` (`clients`, `autoscaler`: whether the scenario has them).
pub(super) fn validate_balancer_queue(
    q: &RawBalancerQueue,
    servers: &[crate::strategy::ServerInfo],
    balancers: &super::Balancers,
    network: &super::Network,
    clients: bool,
    autoscaler: bool,
) -> Result<BalancerQueue, ScenarioError> {
    let timeout = match q.timeout {
        Some(t) => Some(duration_positive("balancer_queue.timeout", t.secs())?),
        None => None,
    };
    // "0s" is no handover (the slot is handed over at once, as without the key).
    let handover = q.handover.map(|h| h.secs()).filter(|&h| h > 0.0);
    if servers.iter().all(|s| s.max_connections.is_none()) {
        return Err(ScenarioError::at(
            "balancer_queue",
            "no server has `max_connections`, so no request would ever wait at the balancer",
        )
        .with_help("set `max_connections` in a [[servers]] group (HAProxy `maxconn`), e.g. max_connections = 1"));
    }
    if balancers.count > 1 || balancers.view != super::View::Shared || balancers.subset.is_some() {
        return Err(ScenarioError::at(
            "balancer_queue",
            "a balancer queue is modelled for one balancer reading the live counts (one HAProxy process)",
        )
        .with_help("remove [balancers] or set count = 1 and view = \"shared\", without `subset`"));
    }
    if network.is_some() {
        return Err(ScenarioError::at("balancer_queue", "a balancer queue is not modelled together with [network]")
            .with_help("remove [network] (or [balancer_queue])"));
    }
    // Neither has a model: a pinned connection's requests go straight to its server (they
    // would bypass the queue), and a pod that leaves while requests wait for its slot has no
    // rule for where they go.
    for (present, table, why) in [
        (clients, "[clients]", "requests on a pinned connection go straight to its server"),
        (autoscaler, "[autoscaler]", "a pod that leaves while requests wait for its slot"),
    ] {
        if present {
            return Err(ScenarioError::at(
                "balancer_queue",
                format!("[balancer_queue] is not modelled together with {table} ({why})"),
            )
            .with_help(format!("remove {table} (or [balancer_queue])")));
        }
    }
    Ok(BalancerQueue { timeout, handover })
}
