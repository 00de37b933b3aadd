//! `[arrivals]`: the arrival processes, what the rest of lbsim asks of them, and their
//! validation.
//!
//! Each process as written in `process = "..."` is one type in a file of its own under
//! `arrivals/` ([`Poisson`] — constant or time-varying —, [`Deterministic`], [`Mmpp`],
//! [`Closed`], [`Replay`] of a trace) implementing `Written` (the keys it takes, how it is
//! read from `[arrivals]`) and [`Process`] (its rates, horizon, limits, description, memory,
//! how reports present it and the generator of its arrival times). [`Arrivals`] is the
//! validated process, an enum over those types declared by the `processes!` list at the end
//! of this file, which also gives the names, keys and readers. Reports, budget, limits and
//! charts ask [`Process`] (through [`Arrivals`]' `Deref`) instead of matching on the process.
//! Adding an arrival process is one file and one line in that list.
//!
//! Open processes (Poisson, deterministic, MMPP, trace replay) generate arrival times
//! independently of the system; the closed process has a fixed population of clients that
//! each wait for their response and think before sending again.

mod closed;
mod deterministic;
mod mmpp;
mod poisson;
mod replay;

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::limits::Timer;
use super::schema::RawArrivals;
use super::{Scenario, ScenarioError};
use crate::workload::arrival_gen::{ArrivalGen, Mmpp};
use crate::workload::rate::Spike;
use crate::workload::trace_rows::Trace;

pub use closed::Closed;
pub use deterministic::Deterministic;
pub use poisson::Poisson;
pub use replay::Replay;

/// How reports present a process's load: the few kinds of load they know how to describe.
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    /// A constant rate, offered whatever the system does.
    Constant,
    /// A rate that varies (in time or by state) around a mean, with a peak above it.
    Peaked,
    /// A trace's rows, replayed.
    Replay(&'a Arc<Trace>),
    /// A closed loop of clients.
    Closed(&'a Closed),
}

/// An arrival process as written in `[arrivals]`.
pub(crate) trait Written: Sized {
    /// The keys of `[arrivals]` it takes (besides `process`).
    const KEYS: &'static [&'static str];

    /// Reads and checks it from `[arrivals]`; `dir` is where a relative path starts (the
    /// scenario's directory). Only keys of [`KEYS`](Written::KEYS) are given.
    fn read(a: &RawArrivals, dir: &Path) -> Result<Arrivals, ScenarioError>;
}

/// What lbsim asks of a validated arrival process.
pub trait Process: std::fmt::Debug {
    /// How reports present its load.
    fn shape(&self) -> Shape<'_>;
    /// The process in a few words (`lbsim validate`).
    fn describe(&self) -> String;
    /// Mean arrival rate over the run, req/s (see [`Scenario::arrival_rate`]).
    fn mean_rate(&self, sc: &Scenario) -> f64;
    /// The highest rate during the run, req/s, when it is above the mean.
    fn peak_rate(&self, _sc: &Scenario) -> Option<f64> {
        None
    }
    /// Time of the `requests`-th arrival, s, when it is not `requests` over the mean rate.
    fn horizon(&self, _requests: u64) -> Option<f64> {
        None
    }
    /// Whether its rate is the same at every time (a queue that grows, grows steadily).
    fn stationary(&self) -> bool {
        true
    }
    /// Its flash crowds (shaded in timeline charts, phases in `phases.csv`).
    fn spikes(&self) -> &[Spike] {
        &[]
    }
    /// The length of its busiest span in `phases.csv`, for a run ending at `end`; `None`
    /// when the rate has no busier span.
    fn busiest_span(&self, _end: f64) -> Option<f64> {
        None
    }
    /// The key that sets its rate, for errors about the run's length.
    fn rate_key(&self) -> &'static str;
    /// The highest rate it can reach and the key responsible, for the [`MAX_RATE`] check
    /// (`None`: no limit applies); an error when its own figures cannot make a run.
    /// `requests_key` names what set `requests`.
    ///
    /// [`MAX_RATE`]: super::limits::MAX_RATE
    fn peak_limit(&self, sc: &Scenario, requests_key: &str) -> Result<Option<(f64, &'static str)>, ScenarioError>;
    /// A lower bound of the run's length, s, checked against the timer limits before the
    /// length itself is computed (for processes whose length is costly to compute).
    fn shortest_run(&self, _requests: f64) -> Option<f64> {
        None
    }
    /// The events it schedules besides arrivals (a diurnal cycle's pieces, an MMPP's state
    /// changes), for the timer limits.
    fn timer(&self) -> Option<Timer> {
        None
    }
    /// What a run of infinite length is, in the limits' error.
    fn endless(&self) -> &'static str {
        "longer than any number of seconds"
    }
    /// The same process at a constant `rate` (`lbsim plan --rate`), when `arrivals.rate`
    /// sets its rate.
    fn with_rate(&self, _rate: f64) -> Option<Arrivals> {
        None
    }
    /// The same process with every rate multiplied by `factor` (the headroom of a run,
    /// [`crate::headroom`]): its shape in time kept (a schedule's steps, a diurnal cycle's
    /// phase, flash crowds' times and multipliers, an MMPP's sojourns); a trace replayed
    /// `factor` times faster. `None` for a closed loop, whose clients set their own rate.
    fn scaled(&self, _factor: f64) -> Option<Arrivals> {
        None
    }
    /// Bytes it holds (a trace's rows).
    fn memory(&self) -> u64 {
        0
    }
    /// The generator of its arrival times, starting at time 0.
    fn generator(&self) -> ArrivalGen;
}

/// A process as listed in [`PROCESSES`].
#[derive(Debug, Clone, Copy)]
pub struct ProcessInfo {
    /// Its name in `process = "..."`.
    pub name: &'static str,
    /// The keys of `[arrivals]` it takes.
    pub keys: &'static [&'static str],
    read: fn(&RawArrivals, &Path) -> Result<Arrivals, ScenarioError>,
}

impl ProcessInfo {
    const fn of<P: Written>(name: &'static str) -> ProcessInfo {
        ProcessInfo { name, keys: P::KEYS, read: P::read }
    }
}

impl Arrivals {
    /// The trace it replays, if any.
    pub fn trace(&self) -> Option<&Arc<Trace>> {
        match self.shape() {
            Shape::Replay(t) => Some(t),
            _ => None,
        }
    }

    /// Its closed loop of clients, if it is one.
    pub fn closed(&self) -> Option<&Closed> {
        match self.shape() {
            Shape::Closed(c) => Some(c),
            _ => None,
        }
    }

    /// Whether its arrivals keep coming at a rate that does not depend on the system (not a
    /// closed loop, not a finite trace): the only workloads whose queues can grow without bound.
    pub fn open_ended(&self) -> bool {
        matches!(self.shape(), Shape::Constant | Shape::Peaked)
    }
}

/// Whether `key` of `[arrivals]` applies to `process`.
pub(super) fn applies(key: &str, process: &str) -> bool {
    PROCESSES.iter().any(|p| p.name == process && p.keys.contains(&key))
}

fn given(a: &RawArrivals, key: &str) -> bool {
    match key {
        "rate" => a.rate.is_some(),
        "schedule" => !a.schedule.is_empty(),
        "diurnal" => a.diurnal.is_some(),
        "spike" => !a.spike.is_empty(),
        "rates" => a.rates.is_some(),
        "mean_sojourn" => a.mean_sojourn.is_some(),
        "clients" => a.clients.is_some(),
        "think_time" => a.think_time.is_some(),
        "file" => a.file.is_some(),
        "time_unit" => a.time_unit.is_some(),
        "speed" => a.speed.is_some(),
        _ => false,
    }
}

/// `x` if it is a positive number, else an error at `key` saying it must be (`what` it is).
fn positive(key: &str, x: f64, what: &str) -> Result<f64, ScenarioError> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(ScenarioError::at(
            key,
            format!("must be a positive number ({what}), got {}", crate::duration::format_number(x)),
        ))
    }
}

/// `x` if it is a number ≥ 0, else an error at `key` saying it must be (`what` it is).
fn non_negative(key: &str, x: f64, what: &str) -> Result<f64, ScenarioError> {
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(ScenarioError::at(key, format!("must be a number ≥ 0 ({what}), got {}", crate::duration::format_number(x))))
    }
}

/// Validates `[arrivals]`. `dir` is where a trace's relative path starts (the scenario's
/// directory).
pub(super) fn validate(a: &RawArrivals, dir: &Path) -> Result<Arrivals, ScenarioError> {
    let process = a.process.as_str();
    let Some(info) = PROCESSES.iter().find(|p| p.name == process) else {
        let names = || PROCESSES.iter().map(|p| p.name);
        return Err(ScenarioError::at(
            "arrivals.process",
            format!("unknown arrival process `{process}`; allowed: {}", names().collect::<Vec<_>>().join(", ")),
        )
        .suggest(process, names()));
    };
    // Each key, in the order of the first process that takes it.
    let mut keys: Vec<&str> = Vec::new();
    for k in PROCESSES.iter().flat_map(|p| p.keys) {
        if !keys.contains(k) {
            keys.push(k);
        }
    }
    for key in keys {
        if given(a, key) && !info.keys.contains(&key) {
            let takes: Vec<&str> = PROCESSES.iter().filter(|p| p.keys.contains(&key)).map(|p| p.name).collect();
            return Err(ScenarioError::at(
                format!("arrivals.{key}"),
                format!("`{key}` does not apply to process = \"{process}\"; it belongs to: {}", takes.join(", ")),
            ));
        }
    }
    (info.read)(a, dir)
}

impl Scenario {
    /// Rows of the replayed trace (the most requests the scenario can run), if any.
    pub fn trace_rows(&self) -> Option<u64> {
        self.arrivals.trace().map(|t| t.len() as u64)
    }
}

/// Declares [`Arrivals`] (one variant per process), its dispatch and [`PROCESSES`].
macro_rules! processes {
    ($($name:literal => $process:ident),* $(,)?) => {
        /// The validated arrival process: an enum over the processes, each holding its
        /// parameters. Serialized with its `process` as written in the scenario, rates in
        /// req/s, times in s.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "process")]
        pub enum Arrivals {
            $(
                #[doc = concat!("`process = \"", $name, "\"`: [`", stringify!($process), "`].")]
                #[serde(rename = $name)]
                $process($process),
            )*
        }

        $(
            impl From<$process> for Arrivals {
                fn from(p: $process) -> Self {
                    Arrivals::$process(p)
                }
            }
        )*

        impl Arrivals {
            /// Its name in `process = "..."`.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Arrivals::$process(_) => $name,)*
                }
            }
        }

        /// Asks the process itself.
        impl Deref for Arrivals {
            type Target = dyn Process;
            fn deref(&self) -> &(dyn Process + 'static) {
                match self {
                    $(Arrivals::$process(p) => p,)*
                }
            }
        }

        /// Every arrival process, in the order they are listed to the user.
        pub const PROCESSES: &[ProcessInfo] = &[$(ProcessInfo::of::<$process>($name),)*];
    };
}

processes!(
    "poisson" => Poisson,
    "deterministic" => Deterministic,
    "mmpp" => Mmpp,
    "closed" => Closed,
    "trace" => Replay,
);
