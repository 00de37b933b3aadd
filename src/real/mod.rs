//! Real traffic: the scenario's servers as HTTP backends, an open-loop load generator that
//! replays the scenario's request stream against a real balancer, and the comparison of
//! what it measured with what lbsim simulated (the `real` cargo feature, on by default).
//!
//! - [`backend`]: `lbsim backends`: one HTTP/1.1 server per scenario server, FIFO slots
//!   ([`queue`]) and precise waits ([`timer`]);
//! - [`load`]: `lbsim load`: sends request `n` of the scenario's stream (replication 0, the
//!   same [`RequestStream`](crate::workload::RequestStream) `lbsim run` simulates: common
//!   random numbers) at its scheduled time, with its demand in the URL; [`record`] turns the
//!   responses into the simulator's [`RunStats`](crate::stats::RunStats), so `load` writes
//!   the same files as `run`; [`measurement`] is what only a measurement has (lateness,
//!   overshoot, calibration, validity);
//!   [`sender`] threads send on schedule over pools of keep-alive connections through the
//!   bounded HTTP/1.1 [`client`] (or HTTP/2 cleartext, [`h2`], when the scenario's
//!   `[clients]` say `protocol = "http2"`); [`diagnose`] says what limited a run whose sends
//!   were late;
//! - [`compare`]: `lbsim compare`: simulated vs measured, figure by figure;
//! - [`target`]: the URL `load` sends to (loopback unless told otherwise).
//!
//! Everything binds to and targets loopback unless told otherwise; every loop is bounded
//! in count and time; nothing is ever retried by lbsim.

pub mod backend;
pub mod client;
pub mod compare;
pub mod diagnose;
pub mod h2;
pub mod load;
pub mod measurement;
pub mod queue;
pub mod record;
pub mod sender;
pub mod target;
pub mod timer;

/// Response headers the backends set, read by the load generator.
pub mod headers {
    /// Name of the server that answered (every response).
    pub const SERVER: &str = "x-lbsim-server";
    /// Time the request waited for a worker, s.
    pub const WAIT: &str = "x-lbsim-wait";
    /// Time it held the worker (demand ÷ speed), s.
    pub const SERVICE: &str = "x-lbsim-service";
    /// Requests at the server when it arrived, itself included.
    pub const IN_SYSTEM: &str = "x-lbsim-in-system";
    /// How late the backend's wait woke up after the scheduled end, s.
    pub const OVERSHOOT: &str = "x-lbsim-overshoot";
    /// Set (to 1) on a 503 for a full waiting room: the simulator's "dropped".
    pub const DROPPED: &str = "x-lbsim-dropped";
    /// Set by the balancer, not the backends: which of its instances (worker process,
    /// thread) carried the request, e.g. nginx `add_header X-Worker $pid always`.
    pub const WORKER: &str = "x-worker";
}
