//! The scenario file as written (serde), before validation. Unknown keys are errors.
//!
//! Each table is declared with `table!`, which also lists its keys and the kind of number
//! each holds ([`ValueKind`]): the editor's known keys are derived from these lists. The
//! distribution table and a fault are [`Table`]s, whose keys come from lbsim's lists of
//! distributions and fault types.

mod dynamic;

use serde::Deserialize;

use crate::duration::Duration;
pub(crate) use dynamic::{FaultKeys, Keys, ServiceKeys, Table, Value};

/// The kind of number a key holds (or, for the few text keys `--vary` can set, the names
/// it takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A TOML integer (server counts, queue capacities, strategy choices...).
    Integer,
    /// A number.
    Float,
    /// A duration written with a unit (`"10ms"`).
    Duration,
    /// One of these names (`balancers.subset.kind`: `random`, `deterministic`, `aperture`).
    Choice(&'static [&'static str]),
}

impl ValueKind {
    /// How values of this kind are written on the command line.
    pub fn describe(self) -> &'static str {
        match self {
            ValueKind::Integer => "an integer",
            ValueKind::Float => "a number",
            ValueKind::Duration => "a duration with a unit, e.g. 10ms",
            ValueKind::Choice(_) => "a name",
        }
    }
}

/// The kind of number a field's type holds (`None`: not a number: text, a list, a table).
pub(crate) trait FieldKind {
    /// See the trait.
    const KIND: Option<ValueKind>;
}

macro_rules! field_kind {
    ($($ty:ty => $kind:expr),* $(,)?) => {
        $(impl FieldKind for $ty {
            const KIND: Option<ValueKind> = $kind;
        })*
    };
}

field_kind!(
    u32 => Some(ValueKind::Integer),
    u64 => Some(ValueKind::Integer),
    f64 => Some(ValueKind::Float),
    Duration => Some(ValueKind::Duration),
    bool => None,
    String => None,
    toml::Value => None,
);

impl<T: FieldKind> FieldKind for Option<T> {
    const KIND: Option<ValueKind> = T::KIND;
}

impl<T> FieldKind for Vec<T> {
    const KIND: Option<ValueKind> = None;
}

/// The keys of a table of the scenario file declared with `table!`.
pub(crate) trait TableKeys {
    /// Its keys, in order, with the kind of number each holds (`None`: not a number).
    const KEYS: &'static [(&'static str, Option<ValueKind>)];
}

/// Declares a table of the scenario file: the serde struct (unknown keys rejected) and
/// its [`TableKeys`], the keys with the kind of number each holds.
macro_rules! table {
    ($(#[$meta:meta])* $vis:vis struct $name:ident {
        $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $($(#[$fmeta])* $fvis $field: $ty,)*
        }

        impl TableKeys for $name {
            const KEYS: &'static [(&'static str, Option<ValueKind>)] =
                &[$((stringify!($field), <$ty as FieldKind>::KIND)),*];
        }

        impl FieldKind for $name {
            const KIND: Option<ValueKind> = None;
        }
    };
}

table! {
    /// Top level of a scenario file.
    pub(crate) struct RawScenario {
        pub(crate) name: Option<String>,
        pub(crate) seed: Option<u64>,
        /// Required except for trace replay (which defaults to the trace's length).
        pub(crate) requests: Option<u64>,
        pub(crate) warmup_requests: Option<u64>,
        pub(crate) precision: Option<String>,
        pub(crate) max_requests: Option<u64>,
        pub(crate) replications: Option<u32>,
        pub(crate) strategies: Vec<toml::Value>,
        pub(crate) arrivals: RawArrivals,
        pub(crate) service: RawService,
        pub(crate) keys: Option<RawKeys>,
        pub(crate) servers: Vec<RawServerGroup>,
        #[serde(default)]
        pub(crate) faults: Vec<RawFault>,
        pub(crate) health_check: Option<RawHealthCheck>,
        pub(crate) outlier_detection: Option<RawOutlierDetection>,
        pub(crate) client: Option<RawClient>,
        pub(crate) balancers: Option<RawBalancers>,
        pub(crate) network: Option<RawNetwork>,
        pub(crate) autoscaler: Option<RawAutoscaler>,
        pub(crate) pods: Option<RawPods>,
        pub(crate) clients: Option<RawClients>,
        pub(crate) balancer_queue: Option<RawBalancerQueue>,
        pub(crate) slo: Option<RawSlo>,
    }
}

table! {
    /// `[slo]`: an objective the run is judged on per window of time.
    pub(crate) struct RawSlo {
        pub(crate) objective: String,
        pub(crate) window: Option<Duration>,
    }
}

table! {
    /// `[keys]`: the key space requests are drawn from.
    pub(crate) struct RawKeys {
        pub(crate) count: u64,
        pub(crate) distribution: Option<String>,
        pub(crate) exponent: Option<f64>,
    }
}

table! {
    /// `[arrivals]`: the process and the keys of every process (checked per process later).
    pub(crate) struct RawArrivals {
        pub(crate) process: String,
        pub(crate) rate: Option<f64>,
        /// `[[arrivals.schedule]]`: piecewise-constant rate changes.
        #[serde(default)]
        pub(crate) schedule: Vec<RawScheduleEntry>,
        /// `[arrivals.diurnal]`: a sinusoidal daily cycle.
        pub(crate) diurnal: Option<RawDiurnal>,
        /// `[[arrivals.spike]]`: flash crowds multiplying the rate for a while.
        #[serde(default)]
        pub(crate) spike: Vec<RawSpike>,
        /// MMPP: the rate in each of the two states.
        pub(crate) rates: Option<Vec<f64>>,
        /// MMPP: mean time spent in each state.
        pub(crate) mean_sojourn: Option<Vec<Duration>>,
        /// Closed loop: number of clients.
        pub(crate) clients: Option<u32>,
        /// Closed loop: a duration (exponential mean) or a distribution table.
        pub(crate) think_time: Option<toml::Value>,
        /// Trace: CSV file, relative to the scenario file.
        pub(crate) file: Option<String>,
        /// Trace: unit of the timestamp and service_time columns.
        pub(crate) time_unit: Option<String>,
        /// Trace: replay speed factor.
        pub(crate) speed: Option<f64>,
    }
}

table! {
    /// `[[arrivals.schedule]]`.
    pub(crate) struct RawScheduleEntry {
        pub(crate) at: Duration,
        pub(crate) rate: f64,
    }
}

table! {
    /// `[arrivals.diurnal]`.
    pub(crate) struct RawDiurnal {
        pub(crate) base: f64,
        pub(crate) amplitude: f64,
        pub(crate) period: Duration,
        pub(crate) peak_at: Option<Duration>,
    }
}

table! {
    /// `[[arrivals.spike]]`.
    pub(crate) struct RawSpike {
        pub(crate) at: Duration,
        pub(crate) duration: Duration,
        pub(crate) multiplier: f64,
    }
}

/// `[service]` (and a group's `service`, a table think time): a distribution and its
/// parameters, the keys derived from the distributions' table.
pub(crate) type RawService = Table<ServiceKeys>;

table! {
    /// `[[servers]]`: a group of identical servers.
    pub(crate) struct RawServerGroup {
        pub(crate) name: String,
        pub(crate) count: Option<u32>,
        pub(crate) speed: Option<f64>,
        pub(crate) workers: Option<u32>,
        pub(crate) queue_capacity: Option<u32>,
        pub(crate) weight: Option<u32>,
        pub(crate) max_connections: Option<u32>,
        /// Per-group service-time distribution replacing `[service]` on these servers.
        pub(crate) service: Option<RawService>,
        /// Weight ramp after the server comes back (nginx `slow_start`, HAProxy `slowstart`).
        pub(crate) slow_start: Option<Duration>,
        /// Whose ramp: `steps` (default), `haproxy`, `envoy` or `alb`.
        pub(crate) slow_start_model: Option<String>,
        /// Envoy `aggression`.
        pub(crate) slow_start_aggression: Option<f64>,
        /// Envoy `min_weight_percent`.
        pub(crate) slow_start_min_weight_percent: Option<f64>,
        /// Warm-up period of a (re)started server.
        pub(crate) cold_start: Option<Duration>,
        /// Service-time multiplier right after a (re)start.
        pub(crate) cold_start_slowdown: Option<f64>,
    }
}

/// `[[faults]]`: a crash or a gray failure of one named server or of random ones in a group;
/// the keys are derived from the kinds of fault.
pub(crate) type RawFault = Table<FaultKeys>;

table! {
    /// `[health_check]`: HAProxy-style active checks.
    pub(crate) struct RawHealthCheck {
        pub(crate) interval: Duration,
        pub(crate) timeout: Option<Duration>,
        pub(crate) fall: Option<u32>,
        pub(crate) rise: Option<u32>,
    }
}

table! {
    /// `[outlier_detection]`: Envoy-style passive ejection.
    pub(crate) struct RawOutlierDetection {
        pub(crate) consecutive_errors: Option<u32>,
        pub(crate) interval: Option<Duration>,
        pub(crate) base_ejection_time: Option<Duration>,
        pub(crate) max_ejection_time: Option<Duration>,
        pub(crate) max_ejection_percent: Option<f64>,
    }
}

table! {
    /// `[client]`: timeout and retry policy.
    pub(crate) struct RawClient {
        pub(crate) timeout: Option<Duration>,
        pub(crate) max_retries: Option<u32>,
        pub(crate) backoff: Option<Duration>,
        pub(crate) max_backoff: Option<Duration>,
        pub(crate) retry_budget: Option<f64>,
        pub(crate) min_retry_concurrency: Option<u32>,
        pub(crate) retry_on: Option<Vec<String>>,
        pub(crate) avoid_previous: Option<bool>,
        pub(crate) overall_timeout: Option<Duration>,
        pub(crate) hedge_after: Option<String>,
        pub(crate) max_hedges: Option<u32>,
        pub(crate) cancel_on_first: Option<bool>,
    }
}

table! {
    /// `[balancer_queue]`: requests wait at the balancer for a server below its
    /// `max_connections` (HAProxy `maxconn` and `timeout queue`).
    pub(crate) struct RawBalancerQueue {
        pub(crate) timeout: Option<Duration>,
        pub(crate) handover: Option<Duration>,
    }
}

table! {
    /// `[balancers]`: the balancer instances and the view of the load they read.
    pub(crate) struct RawBalancers {
        pub(crate) count: Option<u32>,
        pub(crate) assign: Option<String>,
        pub(crate) run_length: Option<f64>,
        pub(crate) shares: Option<Vec<f64>>,
        pub(crate) view: Option<String>,
        pub(crate) interval: Option<Duration>,
        pub(crate) count_own: Option<bool>,
        pub(crate) delay: Option<Duration>,
        pub(crate) subset: Option<RawSubset>,
    }
}

table! {
    /// `[balancers] subset`: which backends each balancer instance may use.
    pub(crate) struct RawSubset {
        pub(crate) size: Option<u32>,
        pub(crate) kind: Option<String>,
    }
}

table! {
    /// `[network]`: transit times between the balancer and the servers (a duration or a
    /// distribution table each).
    pub(crate) struct RawNetwork {
        pub(crate) to_server: Option<toml::Value>,
        pub(crate) from_server: Option<toml::Value>,
    }
}

table! {
    /// `[autoscaler]`: a Kubernetes HPA (autoscaling/v2) scaling one group.
    pub(crate) struct RawAutoscaler {
        pub(crate) group: Option<String>,
        pub(crate) min_replicas: Option<u32>,
        pub(crate) max_replicas: u32,
        pub(crate) metric: Option<String>,
        pub(crate) target: f64,
        pub(crate) tolerance: Option<f64>,
        pub(crate) sync_period: Option<Duration>,
        pub(crate) metric_window: Option<Duration>,
        pub(crate) metric_delay: Option<Duration>,
        pub(crate) scale_up: Option<RawScalingRules>,
        pub(crate) scale_down: Option<RawScalingRules>,
    }
}

table! {
    /// `[autoscaler.scale_up]`, `[autoscaler.scale_down]`: the HPA's `behavior`.
    pub(crate) struct RawScalingRules {
        pub(crate) stabilization_window: Option<Duration>,
        pub(crate) select_policy: Option<String>,
        pub(crate) policies: Option<Vec<RawScalingPolicy>>,
    }
}

table! {
    /// One scaling policy: `pods` or `percent` per `period`.
    pub(crate) struct RawScalingPolicy {
        pub(crate) pods: Option<u32>,
        pub(crate) percent: Option<u32>,
        pub(crate) period: Duration,
    }
}

table! {
    /// `[pods]`: a pod's life (provisioning, readiness, termination).
    pub(crate) struct RawPods {
        pub(crate) provision: Option<toml::Value>,
        pub(crate) readiness_delay: Option<Duration>,
        pub(crate) readiness_period: Option<Duration>,
        pub(crate) readiness_threshold: Option<u32>,
        pub(crate) deregistration_delay: Option<Duration>,
        pub(crate) grace_period: Option<Duration>,
    }
}

table! {
    /// `[clients]`: the clients, their connections and where the balancing choice is made.
    pub(crate) struct RawClients {
        pub(crate) count: u32,
        pub(crate) connections: Option<u32>,
        pub(crate) protocol: Option<String>,
        pub(crate) max_streams: Option<u32>,
        pub(crate) balance: Option<String>,
        pub(crate) max_requests: Option<u32>,
        pub(crate) max_age: Option<Duration>,
        pub(crate) age_jitter: Option<f64>,
        pub(crate) idle_timeout: Option<Duration>,
        /// `"none"`, `"tcp"`, `"tls"`, `"tls1.2"` or a number of round trips.
        pub(crate) handshake: Option<toml::Value>,
        pub(crate) weights: Option<Vec<f64>>,
        pub(crate) zipf: Option<f64>,
    }
}
