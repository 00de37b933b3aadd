//! Failures and the machinery that reacts to them: `[[faults]]`, `[health_check]`,
//! `[outlier_detection]` and `[client]` (timeouts and retries).

use super::schema::{RawClient, RawFault, RawHealthCheck, RawOutlierDetection};
use super::{Group, Scenario, ScenarioError};
use crate::strategy::ServerInfo;
use crate::workload::faults::pick_servers;
use crate::workload::seeds::Seeds;

/// What a fault does to its server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    /// The server crashes: requests queued or in service fail at once, and it refuses new
    /// connections (they fail immediately) until it comes back, empty.
    Down,
    /// A gray failure: the server keeps serving, `factor` times slower (requests already
    /// in service are stretched from that instant).
    Slow {
        /// Service-time multiplier (5.0 = five times slower).
        factor: f64,
    },
}

impl FaultKind {
    /// `down` or `slow`.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Down => "down",
            FaultKind::Slow { .. } => "slow",
        }
    }
}

/// Which servers a fault hits.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultTarget {
    /// One named server (its index).
    Server(usize),
    /// `count` servers of a group, chosen at random per replication from a seeded stream
    /// (the same ones for every strategy).
    Group {
        /// Index into [`Scenario::groups`].
        group: usize,
        /// How many of its servers.
        count: usize,
    },
}

/// A `[[faults]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Which servers.
    pub target: FaultTarget,
    /// Crash or slowdown.
    pub kind: FaultKind,
    /// When it starts, s.
    pub start: f64,
    /// When it ends (`up_at` / `slow_until`), s; `None` = never.
    pub end: Option<f64>,
}

/// One fault on one server in one replication: what the queue-timeline chart shades.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultWindow {
    /// Replication it belongs to.
    pub replication: u32,
    /// Index of the `[[faults]]` entry.
    pub fault: usize,
    /// Server index.
    pub server: usize,
    /// Server name.
    pub server_name: String,
    /// Crash or slowdown.
    pub kind: FaultKind,
    /// Start, s.
    pub start: f64,
    /// End, s (`None` = lasts to the end of the run).
    pub end: Option<f64>,
}

/// `[health_check]`: active checks with HAProxy's semantics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthCheck {
    /// Time between two checks of a server (`inter`), s.
    pub interval: f64,
    /// A check not answered within this fails (`timeout check`; default: the interval), s.
    pub timeout: f64,
    /// Consecutive failed checks that mark an up server down.
    pub fall: u32,
    /// Consecutive successful checks that mark a down server up.
    pub rise: u32,
}

/// `[outlier_detection]`: passive ejection with Envoy's semantics (consecutive errors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutlierDetection {
    /// Consecutive failed requests that eject a server (`consecutive_5xx`, default 5).
    pub consecutive_errors: u32,
    /// Period of the sweep that returns ejected servers (`interval`, default 10 s).
    pub interval: f64,
    /// Ejection time per ejection so far (`base_ejection_time`, default 30 s).
    pub base_ejection_time: f64,
    /// Cap on one ejection (`max_ejection_time`, default 300 s or the base if larger).
    pub max_ejection_time: f64,
    /// Largest share of servers ejected at once, percent (default 10; one server can
    /// always be ejected).
    pub max_ejection_percent: f64,
}

/// What a failed attempt can be retried on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryOn {
    /// Connection refused or reset by a crashed server (Envoy `connect-failure,reset`).
    pub failed: bool,
    /// The attempt timed out (Envoy `5xx` includes upstream timeouts).
    pub timeout: bool,
    /// The server's queue was full (a 503; Envoy `5xx`/`retriable-status-codes`).
    pub dropped: bool,
}

/// `[client]`: per-attempt timeout and the retry policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientPolicy {
    /// Per-attempt timeout, s (`None` = wait forever).
    pub timeout: Option<f64>,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Base of the exponential backoff, s (Envoy `base_interval`, default 25 ms).
    pub backoff: f64,
    /// Cap of the backoff, s (default 10 × base, as Envoy).
    pub max_backoff: f64,
    /// Envoy retry budget: concurrent retries at most this percent of active requests.
    pub retry_budget: Option<f64>,
    /// The budget always allows this many concurrent retries (Envoy default 3).
    pub min_retry_concurrency: u32,
    /// Which failures are retried.
    pub retry_on: RetryOn,
}

/// Accepted values of `retry_on`.
pub const RETRY_ON: &[&str] = &["failed", "timeout", "dropped"];

fn duration_positive(key: &str, secs: f64) -> Result<f64, ScenarioError> {
    if secs > 0.0 { Ok(secs) } else { Err(ScenarioError::at(key, "must be a positive duration")) }
}

/// Validates `[[faults]]` against the servers and groups.
pub(super) fn validate_faults(
    raw: &[RawFault],
    servers: &[ServerInfo],
    groups: &[Group],
) -> Result<Vec<FaultSpec>, ScenarioError> {
    let mut out = Vec::new();
    for (i, f) in raw.iter().enumerate() {
        let key = |k: &str| format!("faults[{i}].{k}");
        let target = match (&f.server, &f.group) {
            (Some(name), None) => {
                if f.count.is_some() {
                    return Err(ScenarioError::at(key("count"), "`count` goes with `group`, not with `server`"));
                }
                let Some(s) = servers.iter().position(|s| &s.name == name) else {
                    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
                    let mut e = ScenarioError::at(key("server"), format!("no server is named `{name}`"));
                    e = e.suggest(name, names.iter().copied());
                    if e.help.is_none() && names.len() <= 20 {
                        e = e.with_help(format!("servers: {}", names.join(", ")));
                    }
                    return Err(e);
                };
                FaultTarget::Server(s)
            }
            (None, Some(name)) => {
                let Some(g) = groups.iter().position(|g| &g.name == name) else {
                    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                    return Err(ScenarioError::at(
                        key("group"),
                        format!("no [[servers]] group is named `{name}`; groups: {}", names.join(", ")),
                    )
                    .suggest(name, names.iter().copied()));
                };
                let count = f.count.unwrap_or(1) as usize;
                if count == 0 || count > groups[g].count {
                    return Err(ScenarioError::at(
                        key("count"),
                        format!("must be from 1 to the group's size ({}), got {count}", groups[g].count),
                    ));
                }
                FaultTarget::Group { group: g, count }
            }
            (Some(_), Some(_)) => {
                return Err(ScenarioError::at(key("group"), "give either `server` or `group`, not both"));
            }
            (None, None) => {
                return Err(ScenarioError::at(
                    format!("faults[{i}]"),
                    "a fault needs `server = \"name\"` or `group = \"name\"` (with `count`)",
                ));
            }
        };
        let (kind, start, end) = match (f.down_at, f.slow_at) {
            (Some(down), None) => {
                for (k, v) in [("slow_until", f.slow_until.is_some()), ("slowdown", f.slowdown.is_some())] {
                    if v {
                        return Err(ScenarioError::at(key(k), format!("`{k}` goes with `slow_at`, not `down_at`")));
                    }
                }
                (FaultKind::Down, down.secs(), f.up_at.map(|u| u.secs()))
            }
            (None, Some(slow)) => {
                if f.up_at.is_some() {
                    return Err(ScenarioError::at(key("up_at"), "`up_at` goes with `down_at`; use `slow_until`"));
                }
                let Some(factor) = f.slowdown else {
                    return Err(ScenarioError::at(
                        format!("faults[{i}]"),
                        "a slowdown needs `slowdown = 5.0` (service takes that many times longer)",
                    ));
                };
                if !(factor.is_finite() && factor > 0.0) {
                    return Err(ScenarioError::at(key("slowdown"), format!("must be a positive number, got {factor}")));
                }
                (FaultKind::Slow { factor }, slow.secs(), f.slow_until.map(|u| u.secs()))
            }
            (Some(_), Some(_)) => {
                return Err(ScenarioError::at(
                    key("slow_at"),
                    "one fault is either a crash (`down_at`) or a slowdown (`slow_at`); write two [[faults]]",
                ));
            }
            (None, None) => {
                return Err(ScenarioError::at(
                    format!("faults[{i}]"),
                    "a fault needs `down_at = \"20s\"` (a crash) or `slow_at = \"20s\"` with `slowdown` (a gray failure)",
                ));
            }
        };
        if let Some(e) = end
            && e <= start
        {
            let k = if kind == FaultKind::Down { "up_at" } else { "slow_until" };
            return Err(ScenarioError::at(key(k), format!("must be after the start ({start}s), got {e}s")));
        }
        out.push(FaultSpec { target, kind, start, end });
    }
    Ok(out)
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
    })
}

impl Scenario {
    /// The faults of replication `replication`, one window per affected server, in
    /// `[[faults]]` order. Servers of a group fault are drawn per replication by
    /// [`pick_servers`]: the same for every strategy.
    pub fn fault_windows(&self, replication: u32) -> Vec<FaultWindow> {
        let seeds = Seeds::new(self.seed, replication);
        let mut out = Vec::new();
        for (i, f) in self.faults.iter().enumerate() {
            let targets: Vec<usize> = match f.target {
                FaultTarget::Server(s) => vec![s],
                FaultTarget::Group { group, count } => {
                    let g = &self.groups[group];
                    pick_servers(&seeds, i, g.first..g.first + g.count, count)
                }
            };
            for s in targets {
                out.push(FaultWindow {
                    replication,
                    fault: i,
                    server: s,
                    server_name: self.servers[s].name.clone(),
                    kind: f.kind,
                    start: f.start,
                    end: f.end,
                });
            }
        }
        out
    }

    /// One line each for the faults, detection and client policy (for `lbsim validate`).
    pub fn failures_summary(&self) -> Vec<String> {
        use crate::duration::format_duration as d;
        let mut out = Vec::new();
        for f in &self.faults {
            let who = match &f.target {
                FaultTarget::Server(s) => self.servers[*s].name.clone(),
                FaultTarget::Group { group, count } => {
                    format!("{count} random server(s) of group {}", self.groups[*group].name)
                }
            };
            let what = match f.kind {
                FaultKind::Down => "down".to_string(),
                FaultKind::Slow { factor } => format!("{factor}× slower"),
            };
            let until = f.end.map_or(" for good".to_string(), |e| format!(" until {}", d(e)));
            out.push(format!("fault:           {who} {what} at {}{until}", d(f.start)));
        }
        if let Some(h) = &self.health_check {
            out.push(format!(
                "health checks:   every {}, timeout {}, fall {}, rise {} (a crash is seen after {}–{})",
                d(h.interval),
                d(h.timeout),
                h.fall,
                h.rise,
                d(f64::from(h.fall - 1) * h.interval),
                d(f64::from(h.fall) * h.interval)
            ));
        } else if !self.faults.is_empty() {
            out.push("health checks:   none (no [health_check]: probes never notice a dead server)".to_string());
        }
        if let Some(o) = &self.outlier_detection {
            out.push(format!(
                "ejection:        after {} consecutive errors, {} × ejections (max {}), at most {}% ejected, sweep every {}",
                o.consecutive_errors,
                d(o.base_ejection_time),
                d(o.max_ejection_time),
                o.max_ejection_percent,
                d(o.interval)
            ));
        }
        if let Some(c) = &self.client {
            let timeout = c.timeout.map_or("no timeout".to_string(), |t| format!("timeout {}", d(t)));
            let budget = c.retry_budget.map_or(String::new(), |b| format!(", budget {b}% of active requests"));
            out.push(format!(
                "client:          {timeout}, {} retries, backoff {}..{} (jittered){budget}",
                c.max_retries,
                d(c.backoff),
                d(c.max_backoff)
            ));
        }
        out
    }

    /// Whether anything can make a request fail or be retried (faults, timeouts, retries).
    pub fn has_failures(&self) -> bool {
        !self.faults.is_empty() || self.client.is_some()
    }
}
