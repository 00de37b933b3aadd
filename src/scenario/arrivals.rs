//! `[arrivals]`: the arrival processes and their validation.
//!
//! Open processes (Poisson — constant or time-varying —, deterministic, MMPP, trace replay)
//! generate arrival times independently of the system; the closed process has a fixed
//! population of clients that each wait for their response and think before sending again.

use std::path::Path;
use std::sync::Arc;

use super::ScenarioError;
use super::schema::{RawArrivals, RawService};
use super::trace;
use crate::duration::parse_duration;
use crate::workload::arrivals::{Arrivals, ClosedLoop, Mmpp};
use crate::workload::rate::{RateBase, RateProfile, Spike};
use crate::workload::service::{Exponential, ServiceDist};

/// Arrival processes accepted in `[arrivals] process`.
pub const PROCESSES: &[&str] = &["poisson", "deterministic", "mmpp", "closed", "trace"];

/// Keys of `[arrivals]` and the processes that take them.
const KEYS: &[(&str, &[&str])] = &[
    ("rate", &["poisson", "deterministic"]),
    ("schedule", &["poisson"]),
    ("diurnal", &["poisson"]),
    ("spike", &["poisson"]),
    ("rates", &["mmpp"]),
    ("mean_sojourn", &["mmpp"]),
    ("clients", &["closed"]),
    ("think_time", &["closed"]),
    ("file", &["trace"]),
    ("time_unit", &["trace"]),
    ("speed", &["trace"]),
];

/// Whether `key` of `[arrivals]` applies to `process`.
pub(super) fn applies(key: &str, process: &str) -> bool {
    KEYS.iter().any(|(k, takes)| *k == key && takes.contains(&process))
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
    if !PROCESSES.contains(&process) {
        return Err(ScenarioError::at(
            "arrivals.process",
            format!("unknown arrival process `{process}`; allowed: {}", PROCESSES.join(", ")),
        )
        .suggest(process, PROCESSES.iter().copied()));
    }
    for (key, takes) in KEYS {
        if given(a, key) && !takes.contains(&process) {
            return Err(ScenarioError::at(
                format!("arrivals.{key}"),
                format!("`{key}` does not apply to process = \"{process}\"; it belongs to: {}", takes.join(", ")),
            ));
        }
    }
    match process {
        "poisson" => poisson(a),
        "deterministic" => {
            let rate =
                a.rate.ok_or_else(|| ScenarioError::at("arrivals", "process = \"deterministic\" needs `rate`"))?;
            Ok(Arrivals::Deterministic { rate: positive("arrivals.rate", rate, "requests per second")? })
        }
        "mmpp" => mmpp(a),
        "closed" => closed(a),
        "trace" => {
            let file = a.file.as_deref().ok_or_else(|| {
                ScenarioError::at("arrivals", "process = \"trace\" needs `file = \"path/to/trace.csv\"`")
            })?;
            let unit = match a.time_unit.as_deref().unwrap_or("s") {
                "s" => 1.0,
                "ms" => 1e-3,
                "us" => 1e-6,
                other => {
                    return Err(ScenarioError::at(
                        "arrivals.time_unit",
                        format!("unknown time unit `{other}`; allowed: s, ms, us"),
                    ));
                }
            };
            let speed = positive("arrivals.speed", a.speed.unwrap_or(1.0), "2.0 replays twice as fast")?;
            let path = dir.join(file);
            Ok(Arrivals::Trace(Arc::new(trace::load(&path, unit, speed)?)))
        }
        _ => unreachable!("checked above"),
    }
}

fn poisson(a: &RawArrivals) -> Result<Arrivals, ScenarioError> {
    let varying = !a.schedule.is_empty() || a.diurnal.is_some() || !a.spike.is_empty();
    if !varying {
        let rate = a.rate.ok_or_else(|| {
            ScenarioError::at("arrivals", "process = \"poisson\" needs `rate` (or a schedule or diurnal table)")
        })?;
        return Ok(Arrivals::Poisson { rate: positive("arrivals.rate", rate, "requests per second")? });
    }
    let base = if let Some(d) = &a.diurnal {
        if a.rate.is_some() || !a.schedule.is_empty() {
            let key = if a.rate.is_some() { "arrivals.rate" } else { "arrivals.schedule" };
            return Err(ScenarioError::at(
                key,
                "a diurnal cycle sets the rate by itself; use either [arrivals.diurnal] or rate/[[arrivals.schedule]]",
            ));
        }
        let base = positive("arrivals.diurnal.base", d.base, "mean requests per second")?;
        let amplitude = non_negative("arrivals.diurnal.amplitude", d.amplitude, "requests per second")?;
        if amplitude > base {
            return Err(ScenarioError::at(
                "arrivals.diurnal.amplitude",
                format!("must not exceed base ({base}): the rate base − amplitude would be negative"),
            ));
        }
        let period = d.period.secs();
        if period <= 0.0 {
            return Err(ScenarioError::at("arrivals.diurnal.period", "must be a positive duration, e.g. \"24h\""));
        }
        RateBase::Diurnal { base, amplitude, period, peak_at: d.peak_at.map_or(period / 4.0, |p| p.secs()) }
    } else {
        let mut steps: Vec<(f64, f64)> = Vec::new();
        if let Some(r) = a.rate {
            steps.push((0.0, non_negative("arrivals.rate", r, "requests per second")?));
        }
        for (i, e) in a.schedule.iter().enumerate() {
            let at = e.at.secs();
            let rate = non_negative(&format!("arrivals.schedule[{i}].rate"), e.rate, "requests per second")?;
            if let Some(&(prev, _)) = steps.last()
                && at <= prev
            {
                let msg = if i == 0 {
                    "the first schedule entry must come after time 0 when `rate` is given (it is the rate from 0)"
                        .to_string()
                } else {
                    format!("entries must be in increasing time order; the previous one is at {prev}s")
                };
                return Err(ScenarioError::at(format!("arrivals.schedule[{i}].at"), msg));
            }
            if steps.is_empty() && at > 0.0 {
                return Err(ScenarioError::at(
                    format!("arrivals.schedule[{i}].at"),
                    "the rate before the first schedule entry is unknown: give `rate` or start the schedule at \"0s\"",
                ));
            }
            steps.push((at, rate));
        }
        if steps.is_empty() {
            return Err(ScenarioError::at("arrivals", "spikes need a rate to multiply: give `rate` or a schedule"));
        }
        if steps.last().is_some_and(|s| s.1 <= 0.0) {
            let key = if a.schedule.is_empty() {
                "arrivals.rate".to_string()
            } else {
                format!("arrivals.schedule[{}].rate", a.schedule.len() - 1)
            };
            return Err(ScenarioError::at(
                key,
                "the last rate must be positive: the run lasts until `requests` have arrived",
            ));
        }
        RateBase::Steps(steps)
    };
    let mut spikes = Vec::new();
    for (i, s) in a.spike.iter().enumerate() {
        let key = |k: &str| format!("arrivals.spike[{i}].{k}");
        if s.duration.secs() <= 0.0 {
            return Err(ScenarioError::at(key("duration"), "must be a positive duration, e.g. \"30s\""));
        }
        let multiplier = positive(&key("multiplier"), s.multiplier, "3.0 triples the rate")?;
        spikes.push(Spike { at: s.at.secs(), duration: s.duration.secs(), multiplier });
    }
    Ok(Arrivals::Varying(RateProfile { base, spikes }))
}

fn mmpp(a: &RawArrivals) -> Result<Arrivals, ScenarioError> {
    let example = "e.g. rates = [4000.0, 500.0] and mean_sojourn = [\"2s\", \"18s\"]";
    let rates =
        a.rates.as_ref().ok_or_else(|| ScenarioError::at("arrivals", format!("mmpp needs `rates`, {example}")))?;
    let soj = a
        .mean_sojourn
        .as_ref()
        .ok_or_else(|| ScenarioError::at("arrivals", format!("mmpp needs `mean_sojourn`, {example}")))?;
    if rates.len() != 2 {
        return Err(ScenarioError::at("arrivals.rates", format!("give exactly two rates (one per state), {example}")));
    }
    if soj.len() != 2 {
        return Err(ScenarioError::at(
            "arrivals.mean_sojourn",
            format!("give exactly two durations (one per state), {example}"),
        ));
    }
    let mut m = Mmpp { rates: [0.0; 2], mean_sojourn: [0.0; 2] };
    for i in 0..2 {
        m.rates[i] = non_negative(&format!("arrivals.rates[{i}]"), rates[i], "requests per second")?;
        m.mean_sojourn[i] = soj[i].secs();
        if m.mean_sojourn[i] <= 0.0 {
            return Err(ScenarioError::at(format!("arrivals.mean_sojourn[{i}]"), "must be a positive duration"));
        }
    }
    if m.rates[0] + m.rates[1] <= 0.0 {
        return Err(ScenarioError::at("arrivals.rates", "at least one state needs a positive rate"));
    }
    Ok(Arrivals::Mmpp(m))
}

fn closed(a: &RawArrivals) -> Result<Arrivals, ScenarioError> {
    let clients = a
        .clients
        .ok_or_else(|| ScenarioError::at("arrivals", "process = \"closed\" needs `clients` (the number of users)"))?;
    if clients == 0 {
        return Err(ScenarioError::at("arrivals.clients", "must be at least 1"));
    }
    let think = match &a.think_time {
        None => {
            return Err(ScenarioError::at(
                "arrivals",
                "process = \"closed\" needs `think_time`: \"1s\" (exponential with that mean), \"0ms\" (none) or a \
                 distribution table like [service]'s",
            ));
        }
        Some(toml::Value::String(s)) => {
            let mean = parse_duration(s).map_err(|m| ScenarioError::at("arrivals.think_time", m))?;
            let exponential = |mean| Exponential::new(mean).map(ServiceDist::from);
            (mean > 0.0)
                .then(|| exponential(mean))
                .transpose()
                .map_err(|e| ScenarioError::at("arrivals.think_time", e.message))?
        }
        Some(v @ toml::Value::Table(_)) => {
            let raw: RawService = v.clone().try_into().map_err(|e: toml::de::Error| {
                ScenarioError::at("arrivals.think_time", format!("{} (it takes the keys of [service])", e.message()))
            })?;
            Some(super::validate::validate_service(&raw, "arrivals.think_time")?)
        }
        Some(other) => {
            return Err(ScenarioError::at(
                "arrivals.think_time",
                format!(
                    "must be a duration like \"1s\" or a table like {{ distribution = \"lognormal\", mean = \"1s\", cv = 2.0 }}, got {other}"
                ),
            ));
        }
    };
    Ok(Arrivals::Closed(ClosedLoop { clients, think }))
}

impl super::Scenario {
    /// Rows of the replayed trace (the most requests the scenario can run), if any.
    pub fn trace_rows(&self) -> Option<u64> {
        match &self.arrivals {
            Arrivals::Trace(t) => Some(t.len() as u64),
            _ => None,
        }
    }
}
