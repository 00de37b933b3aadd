//! The metric records, one `pub const` each, and their order: in summary.csv
//! ([`SUMMARY`]) and in the terminal table ([`TABLE`]). Adding a metric is one record here
//! and its place in those lists.

use super::{BASE, Better, Column, Format, Get, Metric, Relevant, SHOWN, Shown, Value, When, cost, subset};
use crate::stats::batch::Figure;

/// Legend shared by the four measures of how the servers' loads spread.
const LOAD_SPREAD: &str = "max/mean, CV, Jain, busiest % = of the servers' loads ρ (even: 1, 0, 1, 1/S)";

/// Strategy label.
pub const STRATEGY: Metric =
    Metric { name: "strategy", format: Format::Text, get: Get::Summary(|s| Value::Text(s.label.clone())), ..BASE };
/// Measured requests generated.
pub const REQUESTS: Metric =
    Metric { name: "requests", get: Get::Summary(|s| Value::Count(s.measured.generated)), ..BASE };
/// Measured requests completed.
pub const COMPLETED: Metric =
    Metric { name: "completed", get: Get::Summary(|s| Value::Count(s.measured.completed)), ..BASE };
/// Measured requests dropped (queue full).
pub const DROPPED: Metric = Metric {
    name: "dropped",
    get: Get::Summary(|s| Value::Count(s.measured.dropped)),
    better: Better::Lower,
    shown: Some(Shown { title: "dropped", digits: 0, keep: 9, relevant: Relevant::Drops, ..SHOWN }),
    ..BASE
};
/// Mean response time.
pub const MEAN: Metric = Metric {
    name: "mean_ms",
    format: Format::Ms,
    get: Get::Estimate(|s| s.mean),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::Mean),
    shown: Some(Shown { title: "mean ms", keep: 14, ..SHOWN }),
    ..BASE
};
/// Median response time.
pub const P50: Metric = Metric {
    name: "p50_ms",
    format: Format::Ms,
    get: Get::Estimate(|s| s.p50),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::P50),
    shown: Some(Shown { title: "p50 ms", keep: 3, ..SHOWN }),
    ..BASE
};
/// 90th percentile of the response time.
pub const P90: Metric = Metric {
    name: "p90_ms",
    format: Format::Ms,
    get: Get::Estimate(|s| s.p90),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::P90),
    shown: Some(Shown { title: "p90 ms", ..SHOWN }),
    ..BASE
};
/// 99th percentile of the response time.
pub const P99: Metric = Metric {
    name: "p99_ms",
    format: Format::Ms,
    get: Get::Estimate(|s| s.p99),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::P99),
    shown: Some(Shown { title: "p99 ms", keep: 15, ..SHOWN }),
    ..BASE
};
/// 99.9th percentile of the response time.
pub const P999: Metric = Metric {
    name: "p999_ms",
    format: Format::Ms,
    get: Get::Estimate(|s| s.p999),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::P999),
    shown: Some(Shown { title: "p99.9 ms", keep: 4, ..SHOWN }),
    ..BASE
};
/// Largest response time over all replications.
pub const MAX: Metric = Metric {
    name: "max_ms",
    format: Format::Ms,
    get: Get::Summary(|s| Value::Number(s.max)),
    better: Better::Lower,
    shown: Some(Shown { title: "max ms", ..SHOWN }),
    ..BASE
};
/// Mean waiting time before service.
pub const MEAN_WAIT: Metric = Metric {
    name: "mean_wait_ms",
    format: Format::Ms,
    get: Get::Estimate(|s| s.mean_wait),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::Wait),
    shown: Some(Shown { title: "wait ms", ..SHOWN }),
    ..BASE
};
/// Completions per second.
pub const THROUGHPUT: Metric = Metric {
    name: "throughput_rps",
    format: Format::Fixed(3),
    get: Get::Estimate(|s| s.throughput),
    ci: true,
    figure: Some(Figure::Throughput),
    shown: Some(Shown { title: "req/s", digits: 1, keep: 12, relevant: Relevant::Closed, ..SHOWN }),
    ..BASE
};
/// Mean busy fraction of all workers.
pub const UTILIZATION: Metric = Metric {
    name: "utilization",
    format: Format::Fixed(6),
    get: Get::Estimate(|s| s.utilization),
    ci: true,
    figure: Some(Figure::Utilization),
    shown: Some(Shown { title: "util", ..SHOWN }),
    ..BASE
};
/// Max/mean of the servers' loads.
pub const LOAD_MAX_OVER_MEAN: Metric = Metric {
    name: "load_max_over_mean",
    format: Format::Fixed(6),
    get: Get::Estimate(|s| s.load_max_over_mean),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::LoadMaxOverMean),
    legend: Some(LOAD_SPREAD),
    shown: Some(Shown { title: "max/mean", keep: 5, ..SHOWN }),
};
/// Coefficient of variation of the servers' loads.
pub const LOAD_CV: Metric = Metric {
    name: "load_cv",
    format: Format::Fixed(6),
    get: Get::Estimate(|s| s.load_cv),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::LoadCv),
    legend: Some(LOAD_SPREAD),
    shown: Some(Shown { title: "CV", ..SHOWN }),
};
/// Jain's fairness index of the servers' loads.
pub const JAIN: Metric = Metric {
    name: "jain_index",
    format: Format::Fixed(6),
    get: Get::Estimate(|s| s.jain),
    ci: true,
    better: Better::Higher,
    figure: Some(Figure::Jain),
    legend: Some(LOAD_SPREAD),
    shown: Some(Shown { title: "Jain", digits: 4, ..SHOWN }),
};
/// Measured requests still in flight at the end.
pub const IN_FLIGHT: Metric =
    Metric { name: "in_flight", get: Get::Summary(|s| Value::Count(s.measured.in_flight)), ..BASE };
/// Replications aggregated.
pub const REPLICATIONS: Metric =
    Metric { name: "replications", get: Get::Summary(|s| Value::Count(u64::from(s.replications))), ..BASE };
/// Time-averaged number in system, whole pool.
pub const MEAN_IN_SYSTEM: Metric =
    Metric { name: "mean_in_system", format: Format::Fixed(6), get: Get::Estimate(|s| s.mean_in_system), ..BASE };
/// The scenario's offered load ρ.
pub const OFFERED_LOAD: Metric = Metric {
    name: "offered_load",
    format: Format::Fixed(6),
    get: Get::Scenario(|sc| Value::Number(sc.offered_load())),
    ..BASE
};
/// The busiest server's share of the pool's load.
pub const BUSIEST_SERVER_SHARE: Metric = Metric {
    name: "busiest_server_share",
    format: Format::Fixed(6),
    get: Get::Estimate(|s| s.busiest_server_share),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::BusiestShare),
    legend: Some(LOAD_SPREAD),
    shown: Some(Shown { title: "busiest %", digits: 2, percent: true, ..SHOWN }),
};
/// Share of measured requests carrying the most requested key.
pub const HOTTEST_KEY_SHARE: Metric = Metric {
    name: "hottest_key_share",
    format: Format::Fixed(8),
    get: Get::Estimate(|s| s.hottest_key_share),
    ci: true,
    shown: Some(Shown { title: "hot key %", digits: 2, percent: true, when: When::Keyed, keep: 6, ..SHOWN }),
    ..BASE
};
/// Measured requests that failed.
pub const FAILED: Metric = Metric {
    name: "failed",
    get: Get::Summary(|s| Value::Count(s.measured.failed)),
    better: Better::Lower,
    shown: Some(Shown { title: "failed", digits: 0, when: When::Failures, keep: 2, ..SHOWN }),
    ..BASE
};
/// Measured requests that timed out.
pub const TIMED_OUT: Metric = Metric {
    name: "timed_out",
    get: Get::Summary(|s| Value::Count(s.measured.timed_out)),
    better: Better::Lower,
    shown: Some(Shown { title: "timed out", digits: 0, when: When::Failures, keep: 1, ..SHOWN }),
    ..BASE
};
/// Measured retry attempts.
pub const RETRIED: Metric = Metric { name: "retried", get: Get::Summary(|s| Value::Count(s.measured.retried)), ..BASE };
/// Completed share of the measured requests whose outcome is known.
pub const AVAILABILITY: Metric = Metric {
    name: "availability",
    format: Format::Fixed(6),
    get: Get::Estimate(|s| s.availability),
    ci: true,
    better: Better::Higher,
    figure: Some(Figure::Availability),
    shown: Some(Shown { title: "avail %", percent: true, when: When::Failures, keep: 13, ..SHOWN }),
    ..BASE
};
/// Attempts sent per request offered.
pub const RETRY_AMPLIFICATION: Metric = Metric {
    name: "retry_amplification",
    format: Format::Fixed(6),
    get: Get::Estimate(|s| s.retry_amplification),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::RetryAmplification),
    shown: Some(Shown { title: "sent/offered", when: When::Retries, keep: 7, ..SHOWN }),
    ..BASE
};
/// A closed loop's open model: its arrival rate.
pub const OPEN_MODEL_RATE: Metric = Metric {
    name: "open_model_rate_rps",
    format: Format::Fixed(3),
    get: Get::Summary(|s| s.open_model.map_or(Value::Missing, |o| Value::Estimate(o.rate))),
    ..BASE
};
/// A closed loop's open model: its mean response time.
pub const OPEN_MODEL_MEAN: Metric = Metric {
    name: "open_model_mean_ms",
    format: Format::Ms,
    get: Get::Summary(|s| s.open_model.map_or(Value::Missing, |o| Value::Estimate(o.mean))),
    ..BASE
};
/// A closed loop's open model: its p99.
pub const OPEN_MODEL_P99: Metric = Metric {
    name: "open_model_p99_ms",
    format: Format::Ms,
    get: Get::Summary(|s| s.open_model.map_or(Value::Missing, |o| Value::Estimate(o.p99))),
    ..BASE
};
/// `balance = "connection"`: the longest time a server that joined took to carry its fair
/// share of the connections, s, or `never`.
pub const FAIR_SHARE: Metric = Metric {
    name: "fair_share_s",
    format: Format::Fixed(3),
    get: Get::Summary(|s| match s.fair_share {
        None => Value::Missing,
        Some(t) if t.is_finite() => Value::Number(t),
        Some(_) => Value::Text("never".to_string()),
    }),
    ..BASE
};
/// `[client] hedge_after`: hedge copies sent for the measured requests (pooled).
pub const HEDGES_SENT: Metric = Metric {
    name: "hedges_sent",
    get: Get::Summary(|s| s.hedges.map_or(Value::Missing, |h| Value::Count(h.sent))),
    ..BASE
};
/// `[client] hedge_after`: measured requests whose first answer came from a copy (pooled).
pub const HEDGES_WON: Metric = Metric {
    name: "hedges_won",
    get: Get::Summary(|s| s.hedges.map_or(Value::Missing, |h| Value::Count(h.won))),
    ..BASE
};
/// `[client] hedge_after`: work done by copies ÷ the requests' own work (pooled).
pub const HEDGE_EXTRA_LOAD: Metric = Metric {
    name: "hedge_extra_load",
    format: Format::Fixed(4),
    get: Get::Summary(|s| s.hedges.map_or(Value::Missing, |h| Value::Number(h.extra_load()))),
    ..BASE
};
/// The longest recovery over the first replication's fault windows and flash crowds, s.
pub const RECOVERY: Metric = Metric {
    name: "recovery_s",
    format: Format::Fixed(3),
    get: Get::Summary(|s| match s.recovery {
        Some(r) if r.longest.is_finite() => Value::Number(r.longest),
        _ => Value::Missing,
    }),
    ..BASE
};
/// Whether every fault window and flash crowd recovered by the end of the run.
pub const RECOVERED: Metric = Metric {
    name: "recovered",
    format: Format::Flag,
    get: Get::Summary(|s| s.recovery.map_or(Value::Missing, |r| Value::Flag(r.all))),
    ..BASE
};
/// Balancer instances.
pub const BALANCERS: Metric =
    Metric { name: "balancers", get: Get::Scenario(|sc| Value::Count(u64::from(sc.balancers.count))), ..BASE };
/// The load the balancers' strategies read.
pub const VIEW: Metric = Metric {
    name: "view",
    format: Format::Text,
    get: Get::Scenario(|sc| Value::Text(sc.balancers.view.name().to_string())),
    ..BASE
};
/// The age of that view: its refresh interval or delay.
pub const VIEW_AGE: Metric = Metric {
    name: "view_age_ms",
    format: Format::Ms,
    get: Get::Scenario(|sc| {
        let v = &sc.balancers.view;
        v.interval().or(v.delay()).map_or(Value::Missing, Value::Number)
    }),
    ..BASE
};
/// The mean network delay, there and back.
pub const NETWORK: Metric = Metric {
    name: "network_ms",
    format: Format::Ms,
    get: Get::Scenario(|sc| {
        let n = &sc.network;
        if n.is_some() {
            Value::Number(n.to_server.map_or(0.0, |d| d.mean()) + n.from_server.map_or(0.0, |d| d.mean()))
        } else {
            Value::Missing
        }
    }),
    ..BASE
};
/// Max/mean of the measured requests per server.
pub const REQUESTS_MAX_OVER_MEAN: Metric = Metric {
    name: "requests_max_over_mean",
    format: Format::Fixed(6),
    get: Get::Estimate(|s| s.requests_max_over_mean),
    ci: true,
    figure: Some(Figure::RequestsMaxOverMean),
    legend: Some("req max/mean = of requests per server, not normalised"),
    shown: Some(Shown { title: "req max/mean", ..SHOWN }),
    ..BASE
};
/// The busiest server's load.
pub const RHO_MAX: Metric = Metric {
    name: "rho_max",
    format: Format::Fixed(6),
    get: Get::Estimate(|s| s.rho_max),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::RhoMax),
    legend: Some("ρ max = busiest server's load, work routed ÷ its capacity (≥ 1: saturated)"),
    shown: Some(Shown { title: "ρ max", keep: 11, ..SHOWN }),
};
/// Time average of the spread of the numbers in system.
pub const QUEUE_SPREAD: Metric = Metric {
    name: "queue_spread",
    format: Format::Fixed(6),
    get: Get::Estimate(|s| s.queue_spread),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::QueueSpread),
    legend: Some("N spread = time-average of max − min requests at a server"),
    shown: Some(Shown { title: "N spread", digits: 2, keep: 8, ..SHOWN }),
};
/// Fraction of time some worker idled while a request waited elsewhere.
pub const IDLE_WHILE_WAITING: Metric = Metric {
    name: "idle_while_waiting",
    format: Format::Fixed(6),
    get: Get::Estimate(|s| s.idle_while_waiting),
    ci: true,
    better: Better::Lower,
    figure: Some(Figure::IdleWhileWaiting),
    legend: Some("idle∧wait % = time a worker idled while a request waited elsewhere"),
    shown: Some(Shown { title: "idle∧wait %", digits: 1, percent: true, keep: 10, ..SHOWN }),
};
/// Whether queues grow without bound.
pub const UNSTABLE: Metric =
    Metric { name: "unstable", format: Format::Flag, get: Get::Summary(|s| Value::Flag(s.is_unstable())), ..BASE };
/// With one replication: the batches the intervals rest on.
pub const CI_BATCHES: Metric = Metric {
    name: "ci_batches",
    get: Get::Summary(|s| s.batch_count.map_or(Value::Missing, |k| Value::Count(k as u64))),
    ..BASE
};
/// Requests of each replication left out as warm-up (`warmup = "auto"`: the one it settled on).
pub const WARMUP_REQUESTS: Metric =
    Metric { name: "warmup_requests", get: Get::Summary(|s| Value::Count(s.warmup)), ..BASE };
/// Where MSER-5 finds the initial transient ends (largest over the replications), in requests.
pub const WARMUP_DETECTED: Metric = Metric {
    name: "warmup_detected",
    get: Get::Summary(|s| s.transient.map_or(Value::Missing, |t| Value::Count(t.truncation))),
    ..BASE
};
/// Whether every replication reached a steady state (MSER-5's truncation in its first half).
pub const STEADY_STATE: Metric = Metric {
    name: "steady_state",
    format: Format::Flag,
    get: Get::Summary(|s| s.transient.map_or(Value::Missing, |t| Value::Flag(t.steady))),
    ..BASE
};
/// With `precision`: whether every requested figure reached its target.
pub const PRECISION_MET: Metric = Metric {
    name: "precision_met",
    format: Format::Flag,
    get: Get::Summary(|s| {
        if s.precision.is_empty() { Value::Missing } else { Value::Flag(s.precision.iter().all(|r| r.met())) }
    }),
    ..BASE
};
/// Share of the requests dropped: of a sweep point or plan candidate (not in summary.csv).
pub const DROP_RATE: Metric = Metric { name: "drop_rate", format: Format::Fixed(8), ci: true, ..BASE };

use Column::{Ci, Value as V};

/// The columns of summary.csv, in order. The first [`CONTRACT`] are a contract with users'
/// scripts; the rest were appended over time, and new ones are only ever appended.
pub const SUMMARY: &[Column] = &[
    V(&STRATEGY),
    V(&REQUESTS),
    V(&COMPLETED),
    V(&DROPPED),
    V(&MEAN),
    V(&P50),
    V(&P90),
    V(&P99),
    V(&P999),
    V(&MAX),
    V(&MEAN_WAIT),
    V(&THROUGHPUT),
    V(&UTILIZATION),
    V(&LOAD_MAX_OVER_MEAN),
    V(&LOAD_CV),
    V(&JAIN),
    // Appended.
    V(&IN_FLIGHT),
    V(&REPLICATIONS),
    Ci(&MEAN),
    Ci(&P99),
    V(&MEAN_IN_SYSTEM),
    V(&OFFERED_LOAD),
    V(&BUSIEST_SERVER_SHARE),
    V(&HOTTEST_KEY_SHARE),
    V(&FAILED),
    V(&TIMED_OUT),
    V(&RETRIED),
    V(&AVAILABILITY),
    V(&RETRY_AMPLIFICATION),
    V(&OPEN_MODEL_RATE),
    V(&OPEN_MODEL_MEAN),
    V(&OPEN_MODEL_P99),
    V(&BALANCERS),
    V(&VIEW),
    V(&VIEW_AGE),
    V(&NETWORK),
    V(&REQUESTS_MAX_OVER_MEAN),
    V(&RHO_MAX),
    V(&QUEUE_SPREAD),
    Ci(&QUEUE_SPREAD),
    V(&IDLE_WHILE_WAITING),
    Ci(&IDLE_WHILE_WAITING),
    V(&UNSTABLE),
    Ci(&P50),
    Ci(&P90),
    Ci(&P999),
    Ci(&MEAN_WAIT),
    Ci(&THROUGHPUT),
    Ci(&UTILIZATION),
    Ci(&RHO_MAX),
    Ci(&LOAD_MAX_OVER_MEAN),
    Ci(&LOAD_CV),
    Ci(&JAIN),
    Ci(&BUSIEST_SERVER_SHARE),
    Ci(&REQUESTS_MAX_OVER_MEAN),
    Ci(&HOTTEST_KEY_SHARE),
    Ci(&AVAILABILITY),
    Ci(&RETRY_AMPLIFICATION),
    V(&CI_BATCHES),
    V(&WARMUP_REQUESTS),
    V(&WARMUP_DETECTED),
    V(&STEADY_STATE),
    V(&PRECISION_MET),
    V(&FAIR_SHARE),
    V(&HEDGES_SENT),
    V(&HEDGES_WON),
    V(&HEDGE_EXTRA_LOAD),
    V(&RECOVERY),
    V(&RECOVERED),
    V(&subset::SUBSET_SIZE),
    V(&subset::SUBSET_KIND),
    V(&subset::CLIENTS_MIN),
    V(&subset::CLIENTS_MEAN),
    V(&subset::CLIENTS_MAX),
    V(&subset::SUBSET_WIDENED),
    V(&cost::POD_SECONDS),
    Ci(&cost::POD_SECONDS),
    V(&cost::SLO),
    V(&cost::SLO_VIOLATED_S),
    Ci(&cost::SLO_VIOLATED_S),
    V(&cost::SLO_VIOLATED_SHARE),
    Ci(&cost::SLO_VIOLATED_SHARE),
];

/// How many leading columns of [`SUMMARY`] are the original contract.
pub const CONTRACT: usize = 16;

/// The terminal table's columns, in the order shown (each has [`Metric::shown`]).
pub const TABLE: &[&Metric] = &[
    &MEAN,
    &P50,
    &P90,
    &P99,
    &P999,
    &MAX,
    &MEAN_WAIT,
    &THROUGHPUT,
    &UTILIZATION,
    &RHO_MAX,
    &LOAD_MAX_OVER_MEAN,
    &LOAD_CV,
    &JAIN,
    &BUSIEST_SERVER_SHARE,
    &REQUESTS_MAX_OVER_MEAN,
    &QUEUE_SPREAD,
    &IDLE_WHILE_WAITING,
    &HOTTEST_KEY_SHARE,
    &DROPPED,
    &FAILED,
    &TIMED_OUT,
    &AVAILABILITY,
    &RETRY_AMPLIFICATION,
];
