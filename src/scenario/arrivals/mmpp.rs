//! `process = "mmpp"`: a two-state Markov-modulated Poisson process (bursty; on-off when a
//! rate is 0). The process and its generator are [`Mmpp`] and
//! [`MmppGen`](crate::workload::arrival_gen::MmppGen).

use std::path::Path;

use super::{Arrivals, Process, Shape, Written, non_negative};
use crate::duration::format_duration as d;
use crate::scenario::limits::Timer;
use crate::scenario::schema::RawArrivals;
use crate::scenario::{Scenario, ScenarioError};
use crate::workload::arrival_gen::{ArrivalGen, Mmpp, MmppGen};

impl Written for Mmpp {
    const KEYS: &'static [&'static str] = &["rates", "mean_sojourn"];

    fn read(a: &RawArrivals, _dir: &Path) -> Result<Arrivals, ScenarioError> {
        let example = "e.g. rates = [4000.0, 500.0] and mean_sojourn = [\"2s\", \"18s\"]";
        let rates =
            a.rates.as_ref().ok_or_else(|| ScenarioError::at("arrivals", format!("mmpp needs `rates`, {example}")))?;
        let soj = a
            .mean_sojourn
            .as_ref()
            .ok_or_else(|| ScenarioError::at("arrivals", format!("mmpp needs `mean_sojourn`, {example}")))?;
        if rates.len() != 2 {
            return Err(ScenarioError::at(
                "arrivals.rates",
                format!("give exactly two rates (one per state), {example}"),
            ));
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
        Ok(m.into())
    }
}

impl Process for Mmpp {
    fn shape(&self) -> Shape<'_> {
        Shape::Peaked
    }

    fn describe(&self) -> String {
        format!(
            "mmpp: {} req/s for {} then {} req/s for {} (means)",
            self.rates[0],
            d(self.mean_sojourn[0]),
            self.rates[1],
            d(self.mean_sojourn[1])
        )
    }

    fn mean_rate(&self, _sc: &Scenario) -> f64 {
        Mmpp::mean_rate(self)
    }

    fn peak_rate(&self, _sc: &Scenario) -> Option<f64> {
        Some(self.rates[0].max(self.rates[1]))
    }

    fn scaled(&self, factor: f64) -> Option<Arrivals> {
        Some(Mmpp { rates: self.rates.map(|r| r * factor), ..*self }.into())
    }

    fn busiest_span(&self, end: f64) -> Option<f64> {
        Some((end / 10.0).min(3600.0))
    }

    fn rate_key(&self) -> &'static str {
        "arrivals.rates"
    }

    fn peak_limit(&self, _sc: &Scenario, _requests_key: &str) -> Result<Option<(f64, &'static str)>, ScenarioError> {
        Ok(Some((self.rates[0].max(self.rates[1]), "arrivals.rates")))
    }

    fn timer(&self) -> Option<Timer> {
        let m = self.mean_sojourn;
        Some(Timer {
            key: "arrivals.mean_sojourn",
            what: format!("MMPP states lasting {} and {} on average", d(m[0]), d(m[1])),
            rate: 2.0 / (m[0] + m[1]),
        })
    }

    fn generator(&self) -> ArrivalGen {
        ArrivalGen::Mmpp(MmppGen::new(*self))
    }
}
