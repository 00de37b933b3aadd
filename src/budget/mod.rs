//! The resource budget: what a run will need, estimated before anything is simulated, and
//! the limits it is checked against.
//!
//! - the memory limit (`--max-memory`) lives in the leaf module [`crate::memory`]
//!   ([`memory_limit`](crate::memory::memory_limit)), since reading a trace stops at it too;
//! - [`Usage`]: the memory a run will hold at its peak (servers and their workers, the
//!   event queue, clients, rings, traces, the results of every strategy × replication) and
//!   the work it will do (events, and the per-request scans that grow with workers), from
//!   the scenario alone, in microseconds ([`estimate`]);
//! - [`check`]: refuses (an input error, exit 2) a run whose estimate exceeds the limit,
//!   with the estimate and its largest parts.
//!
//! Nothing here runs during a simulation: the engine is unchanged.

mod estimate;

pub use estimate::{Part, SLOW_WORK, Usage, estimate, hist_bytes, scenario_bytes, trace_bytes};

use crate::memory::{DEFAULT_MEMORY_FRACTION, format_bytes};
use crate::scenario::{Scenario, ScenarioError};

/// Estimates what running `scenario` on `threads` worker threads needs and refuses it (an
/// input error at the key that sets its largest part, located in the scenario's file) when
/// its memory exceeds `limit` bytes. `what` names the run in the message (`"the run"`,
/// `"sweep point 3"`).
pub fn check(scenario: &Scenario, threads: usize, limit: u64, what: &str) -> Result<Usage, ScenarioError> {
    let usage = estimate(scenario, threads);
    fits(scenario, &usage, 0, limit, what)?;
    Ok(usage)
}

/// Refuses `usage` of `scenario` when it and `besides` (bytes held by others) exceed `limit`.
fn fits(scenario: &Scenario, usage: &Usage, besides: u64, limit: u64, what: &str) -> Result<(), ScenarioError> {
    if usage.memory.saturating_add(besides) <= limit {
        return Ok(());
    }
    let largest = usage.largest_parts(3);
    let parts: Vec<String> = largest.iter().map(|p| format!("{}: {}", p.what, format_bytes(p.bytes))).collect();
    let key = largest[0].key.clone().unwrap_or_else(|| "--max-memory".into());
    let others = if besides > 0 {
        format!(" besides the {} the other scenarios hold", format_bytes(besides))
    } else {
        String::new()
    };
    let e = ScenarioError::at(
        key,
        format!(
            "{what} would need about {} of memory{others}, more than the limit of {} (largest parts: {})",
            format_bytes(usage.memory),
            format_bytes(limit),
            parts.join("; ")
        ),
    )
    .with_help(format!(
        "make that part smaller, or raise the limit with --max-memory (default: {:.0}% of physical memory)",
        100.0 * DEFAULT_MEMORY_FRACTION
    ));
    Err(scenario.locate(e))
}

/// [`check`] for many scenarios run by one runner (sweep points, plan candidates): each must
/// fit with every scenario of the batch held in memory besides it (the batch keeps them all,
/// and a copy of those it runs). `name(i)` names scenario `i` in the message.
pub fn check_batch(
    scenarios: &[&Scenario],
    threads: usize,
    limit: u64,
    name: impl Fn(usize) -> String,
) -> Result<(), ScenarioError> {
    let held: u64 = scenarios.iter().map(|sc| 2 * scenario_bytes(sc)).sum();
    let trace = scenarios.iter().map(|sc| trace_bytes(sc)).max().unwrap_or(0);
    if held + trace > limit {
        return Err(ScenarioError::at(
            "--vary",
            format!(
                "the {} scenarios of the batch would hold {} of memory, more than the limit of {}",
                scenarios.len(),
                format_bytes(held + trace),
                format_bytes(limit)
            ),
        )
        .with_help("fewer points, or raise the limit with --max-memory"));
    }
    for (i, sc) in scenarios.iter().enumerate() {
        // Its own estimate counts it; the others are held besides.
        fits(sc, &estimate(sc, threads), held - 2 * scenario_bytes(sc), limit, &name(i))?;
    }
    Ok(())
}

/// The number of threads a run uses: `threads`, or one per core.
pub fn threads_or_cores(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1)
}
