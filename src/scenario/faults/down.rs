//! `down_at` (… `up_at`): the server crashes.

use serde::Serialize;

use super::{Effect, FaultError, FaultKind, Kind, Written};

/// A crash: requests queued or in service fail at once, and the server refuses new
/// connections (they fail immediately) until it comes back, empty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Down;

impl Written for Down {
    const NOUN: &'static str = "a crash";
    const EXAMPLE: &'static str = "`down_at = \"20s\"` (a crash)";
    const START: &'static str = "down_at";
    const END: Option<&'static str> = Some("up_at");
    const PARAMS: &'static [&'static str] = &[];

    fn build(_values: &[Option<f64>], _sizes: &[Option<super::Size>]) -> Result<FaultKind, FaultError> {
        Ok(FaultKind::Down(Down))
    }
}

impl Kind for Down {
    fn effect(&self) -> Effect {
        Effect::Crash
    }

    fn describe(&self) -> String {
        "down".to_string()
    }

    fn phase(&self) -> String {
        "down".to_string()
    }

    fn legend(&self) -> &'static str {
        "down"
    }
}
