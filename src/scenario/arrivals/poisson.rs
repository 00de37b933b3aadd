//! `process = "poisson"`: exponential interarrival times at a constant rate, or a
//! non-homogeneous Poisson process whose rate follows a schedule, a diurnal cycle and
//! spikes (sampled exactly by thinning).

use std::path::Path;

use rand_distr::Exp;
use serde::Serialize;

use super::{Arrivals, Process, Shape, Written, non_negative, positive};
use crate::duration::format_duration as d;
use crate::scenario::limits::Timer;
use crate::scenario::schema::RawArrivals;
use crate::scenario::{Scenario, ScenarioError};
use crate::workload::arrival_gen::ArrivalGen;
use crate::workload::rate::{DIURNAL_PIECES, RateBase, RateProfile, Spike, Thinning};

/// A Poisson process. Serialized as its rate (`rate_rps`) or its profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Poisson {
    /// Exponential interarrival times at a constant rate.
    Constant {
        /// Requests per second.
        #[serde(rename = "rate_rps")]
        rate: f64,
    },
    /// A non-homogeneous Poisson process (schedule, diurnal cycle, spikes), sampled exactly
    /// by thinning.
    Varying(RateProfile),
}

impl Written for Poisson {
    const KEYS: &'static [&'static str] = &["rate", "schedule", "diurnal", "spike"];

    fn read(a: &RawArrivals, _dir: &Path) -> Result<Arrivals, ScenarioError> {
        read_poisson(a).map(Arrivals::from)
    }
}

impl Process for Poisson {
    fn shape(&self) -> Shape<'_> {
        match self {
            Poisson::Constant { .. } => Shape::Constant,
            Poisson::Varying(_) => Shape::Peaked,
        }
    }

    fn describe(&self) -> String {
        match self {
            Poisson::Constant { rate } => format!("poisson, {rate} req/s"),
            Poisson::Varying(p) => {
                let base = match &p.base {
                    RateBase::Steps(s) if s.len() == 1 => format!("{} req/s", s[0].1),
                    RateBase::Steps(s) => format!("a schedule of {} rates", s.len()),
                    RateBase::Diurnal { base, amplitude, period, .. } => {
                        format!("diurnal {base} ± {amplitude} req/s over {}", d(*period))
                    }
                };
                let spikes = if p.spikes.is_empty() { String::new() } else { format!(", {} spike(s)", p.spikes.len()) };
                format!("time-varying poisson: {base}{spikes}")
            }
        }
    }

    fn mean_rate(&self, sc: &Scenario) -> f64 {
        match self {
            Poisson::Constant { rate } => *rate,
            Poisson::Varying(p) => {
                let n = sc.requests as f64;
                n / p.horizon(n)
            }
        }
    }

    fn peak_rate(&self, sc: &Scenario) -> Option<f64> {
        match self {
            Poisson::Constant { .. } => None,
            Poisson::Varying(p) => Some(p.peak(sc.expected_duration())),
        }
    }

    fn horizon(&self, requests: u64) -> Option<f64> {
        match self {
            Poisson::Constant { .. } => None,
            Poisson::Varying(p) => Some(p.horizon(requests as f64)),
        }
    }

    fn stationary(&self) -> bool {
        matches!(self, Poisson::Constant { .. })
    }

    fn spikes(&self) -> &[Spike] {
        match self {
            Poisson::Constant { .. } => &[],
            Poisson::Varying(p) => &p.spikes,
        }
    }

    /// An hour, or a 24th of the diurnal period (a "day" compressed), or a tenth of a run
    /// shorter than ten hours.
    fn busiest_span(&self, end: f64) -> Option<f64> {
        match self {
            Poisson::Constant { .. } => None,
            Poisson::Varying(p) => Some(match p.base {
                RateBase::Diurnal { period, .. } => (period / 24.0).min(3600.0),
                RateBase::Steps(_) => (end / 10.0).min(3600.0),
            }),
        }
    }

    fn rate_key(&self) -> &'static str {
        match self {
            Poisson::Constant { .. } => "arrivals.rate",
            Poisson::Varying(p) => match p.base {
                RateBase::Diurnal { .. } => "arrivals.diurnal.base",
                RateBase::Steps(_) => "arrivals",
            },
        }
    }

    fn peak_limit(&self, _sc: &Scenario, _requests_key: &str) -> Result<Option<(f64, &'static str)>, ScenarioError> {
        Ok(Some(match self {
            Poisson::Constant { rate } => (*rate, "arrivals.rate"),
            Poisson::Varying(p) => {
                let boost = boost(p);
                (top(p) * boost, if boost > 1.0 { "arrivals.spike" } else { "arrivals" })
            }
        }))
    }

    /// `requests` at the highest rate, spikes included.
    fn shortest_run(&self, requests: f64) -> Option<f64> {
        match self {
            Poisson::Constant { .. } => None,
            Poisson::Varying(p) => Some(requests / (top(p) * boost(p))),
        }
    }

    fn timer(&self) -> Option<Timer> {
        match self {
            Poisson::Varying(RateProfile { base: RateBase::Diurnal { period, .. }, .. }) => Some(Timer {
                key: "arrivals.diurnal.period",
                what: format!("a diurnal cycle of {} (sampled in {DIURNAL_PIECES} pieces)", d(*period)),
                rate: DIURNAL_PIECES / period,
            }),
            _ => None,
        }
    }

    fn endless(&self) -> &'static str {
        match self {
            Poisson::Constant { .. } => "longer than any number of seconds",
            Poisson::Varying(_) => {
                "longer than lbsim can follow (its rate changes faster than an f64 clock resolves that late, or it \
                 never ends)"
            }
        }
    }

    fn with_rate(&self, rate: f64) -> Option<Arrivals> {
        match self {
            Poisson::Constant { .. } => Some(Poisson::Constant { rate }.into()),
            Poisson::Varying(_) => None,
        }
    }

    fn scaled(&self, factor: f64) -> Option<Arrivals> {
        Some(
            match self {
                Poisson::Constant { rate } => Poisson::Constant { rate: rate * factor },
                Poisson::Varying(p) => {
                    let base = match &p.base {
                        RateBase::Steps(s) => RateBase::Steps(s.iter().map(|&(from, r)| (from, r * factor)).collect()),
                        RateBase::Diurnal { base, amplitude, period, peak_at } => RateBase::Diurnal {
                            base: base * factor,
                            amplitude: amplitude * factor,
                            period: *period,
                            peak_at: *peak_at,
                        },
                    };
                    Poisson::Varying(RateProfile { base, spikes: p.spikes.clone() })
                }
            }
            .into(),
        )
    }

    fn generator(&self) -> ArrivalGen {
        match self {
            Poisson::Constant { rate } => ArrivalGen::Poisson { gap: Exp::new(*rate).expect("rate > 0"), t: 0.0 },
            Poisson::Varying(p) => ArrivalGen::Varying(Box::new(Thinning::new(p.clone()))),
        }
    }
}

/// The highest base rate of a profile, before spikes.
fn top(p: &RateProfile) -> f64 {
    match &p.base {
        RateBase::Steps(steps) => steps.iter().map(|s| s.1).fold(0.0, f64::max),
        RateBase::Diurnal { base, amplitude, .. } => base + amplitude,
    }
}

/// The most the spikes can multiply the rate by (all at once).
fn boost(p: &RateProfile) -> f64 {
    p.spikes.iter().map(|s| s.multiplier.max(1.0)).product()
}

fn read_poisson(a: &RawArrivals) -> Result<Poisson, ScenarioError> {
    let varying = !a.schedule.is_empty() || a.diurnal.is_some() || !a.spike.is_empty();
    if !varying {
        let rate = a.rate.ok_or_else(|| {
            ScenarioError::at("arrivals", "process = \"poisson\" needs `rate` (or a schedule or diurnal table)")
        })?;
        return Ok(Poisson::Constant { rate: positive("arrivals.rate", rate, "requests per second")? });
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
    Ok(Poisson::Varying(RateProfile { base, spikes }))
}
