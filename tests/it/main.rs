//! lbsim's integration tests: one test binary (each module was a binary of its own, each
//! compiling and linking the shared helpers again), one module per area.
//!
//! Run with `cargo test --release` (the statistical modules are heavy in debug builds);
//! `cargo test --release --test it theory::` runs one module.

mod common;

mod autoscaler;
mod balancers;

mod charts;
mod cli;
mod cli_faults;
mod cli_outputs;
mod connections;
mod deploy;
mod exports;
mod faults;
mod front_door;
mod hardening;
mod headroom;
mod hedging;
mod html;
mod imbalance;
mod invariants;
mod keys;
mod keys_cli;
mod latency;
mod layers;
mod plan;
mod policies;
mod precision;
mod queueing;
#[cfg(feature = "real")]
mod real;
mod real_targets;
mod slo;
mod slow_start;
mod subsets;
mod sweep;
mod theory;
mod workloads;
