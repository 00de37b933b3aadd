//! lbsim — a discrete-event simulator of load-balancing strategies.
//!
//! The library is organised one module per concern:
//!
//! - [`scenario`]: the scenario file (schema, validation, errors that point at a line);
//! - [`workload`]: the synthetic request stream (arrivals, service demands) and seeds;
//! - [`strategy`]: the balancing strategies, one trait, one file per family, one registry;
//! - [`engine`]: the event-driven simulation of one strategy on one request stream;
//! - [`stats`]: streaming statistics (HDR histograms, imbalance, confidence intervals);
//! - [`report`]: the terminal table, JSON summary, and file exporters (CSV, JSON manifest,
//!   PNG charts) behind one trait;
//! - [`remap`]: key disruption of the hash-based strategies when the pool changes;
//! - [`theory`]: closed-form queueing results used to validate the simulator;
//! - [`run`]: runs every strategy × replication of a scenario in parallel and aggregates;
//! - [`batch`]: runs many scenarios (sweep points, plan candidates) over one set of threads;
//! - [`sweep`]: `lbsim sweep`/`merge`: grids of scenario overrides, shards, resumable output;
//! - [`plan`]: `lbsim plan`: the smallest server count that meets an SLO, per strategy;
//! - `real` (cargo feature `real`, on by default): `lbsim backends`/`load`/`compare`: the
//!   scenario's servers as HTTP backends, its request stream replayed against a real
//!   balancer, and the measurement compared with the simulation.
//!
//! The `lbsim` binary is a thin command-line layer over [`run`] and [`report`].

pub mod batch;
pub mod engine;
pub mod error;
pub mod plan;
#[cfg(feature = "real")]
pub mod real;
pub mod remap;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stats;
pub mod strategy;
pub mod sweep;
pub mod theory;
pub mod workload;

pub use error::{Error, Result};
