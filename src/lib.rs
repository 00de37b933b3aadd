//! lbsim — a discrete-event simulator of load-balancing strategies.
//!
//! The library is organised one module per concern, data flowing one way: scenario →
//! workload → engine → stats → runner → report.
//!
//! - [`duration`], [`suggest`], [`memory`]: durations with units, "did you mean"
//!   suggestions, memory sizes and the memory limit (`--max-memory`), shared by every layer;
//! - [`budget`]: the memory and work a run needs, estimated from its scenario before it
//!   starts, and checked against the memory limit;
//! - [`scenario`]: the scenario file (schema, validation, errors that point at a line);
//! - [`workload`]: the synthetic request stream (arrivals, service demands) and seeds;
//! - [`strategy`]: the balancing strategies, one trait, one file per family, one registry;
//! - [`engine`]: the event-driven simulation of one strategy on one request stream;
//! - [`stats`]: streaming statistics (HDR histograms, imbalance, confidence intervals);
//! - [`analysis`]: what is derived from a scenario and its runs, above the simulation and
//!   below the outputs: static splits' offered loads and saturation, a strategy's summary,
//!   what the warnings and `lbsim validate` need before a run, the request stream's digest;
//! - [`runner`]: the one runner: every strategy × replication of one or many scenarios over
//!   one pool of threads, aggregated per scenario (open models of closed loops included);
//! - [`run`]: `lbsim run`: one scenario on the runner, gathered into a report;
//! - [`point`]: a scenario with keys set to values and seeded by them (sweep points, plan
//!   candidates);
//! - [`sweep`]: `lbsim sweep`/`merge`: grids of scenario overrides, shards, resumable output;
//! - [`plan`]: `lbsim plan`: the smallest server count that meets an SLO, per strategy;
//! - [`remap`]: key disruption of the hash-based strategies when the pool changes;
//! - [`report`]: everything shown or written, organised by command (run, sweep, plan,
//!   remap): tables, warnings, and file exporters (CSV, JSON, PNG charts) behind one trait;
//! - `real` (cargo feature `real`, on by default): `lbsim backends`/`load`/`compare`: the
//!   scenario's servers as HTTP backends, its request stream replayed against a real
//!   balancer, and the measurement compared with the simulation.
//!
//! The `lbsim` binary is a thin command-line layer over these (`src/main.rs`, `src/cli.rs`,
//! `src/options.rs`, `src/commands.rs`).

pub mod analysis;
pub mod budget;
pub mod duration;
pub mod engine;
pub mod error;
pub mod headroom;
pub mod memory;
pub mod plan;
pub mod point;
#[cfg(feature = "real")]
pub mod real;
pub mod remap;
pub mod report;
pub mod run;
pub mod runner;
pub mod scenario;
pub mod stats;
pub mod strategy;
pub mod suggest;
pub mod sweep;
pub mod workload;

pub use error::{Error, Result};
