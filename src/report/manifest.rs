//! `manifest.json`: what produced a run, so a result can always be traced back.
//!
//! It records the lbsim version, the scenario file's path, SHA-256 (the same digest
//! `sha256sum` prints) and full text, the seed, every effective parameter (after
//! command-line overrides) and the wall time. The wall time
//! makes it the one output that differs between two runs of the same scenario and seed;
//! every other file is byte-identical.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Exporter;
use crate::report::Report;
use crate::scenario::Arrivals;
use crate::{Error, Result};

/// The run manifest.
pub struct Manifest;

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The manifest as a JSON value.
pub fn manifest(report: &Report) -> Value {
    let sc = &report.scenario;
    let arrivals = match &sc.arrivals {
        Arrivals::Poisson { rate } => json!({ "process": "poisson", "rate_rps": rate }),
        Arrivals::Deterministic { rate } => json!({ "process": "deterministic", "rate_rps": rate }),
        Arrivals::Varying(_) => json!({
            "process": "poisson",
            "time_varying": sc.arrivals_summary(),
            "mean_rate_rps": sc.arrival_rate(),
            "peak_rate_rps": sc.peak_rate(),
        }),
        Arrivals::Mmpp(m) => json!({ "process": "mmpp", "rates_rps": m.rates, "mean_sojourn_s": m.mean_sojourn }),
        Arrivals::Closed(c) => json!({
            "process": "closed",
            "clients": c.clients,
            "think_time": sc.arrivals_summary(),
            "mean_think_s": c.mean_think(),
        }),
        Arrivals::Trace(t) => json!({
            "process": "trace",
            "file": t.file.display().to_string(),
            "rows": t.len(),
            "speed": t.speed,
        }),
    };
    let strategies: Vec<Value> = sc
        .strategies
        .iter()
        .map(|s| {
            let params: serde_json::Map<String, Value> =
                s.params.iter().map(|(k, v)| (k.to_string(), serde_json::to_value(v).unwrap_or(Value::Null))).collect();
            json!({ "label": s.label, "name": s.name, "params": params })
        })
        .collect();
    let groups: Vec<Value> = sc
        .groups
        .iter()
        .map(|g| {
            let s = &sc.servers[g.first];
            json!({
                "name": g.name,
                "count": g.count,
                "speed": s.speed,
                "workers": s.workers,
                "queue_capacity": s.queue_capacity,
                "weight": s.weight,
            })
        })
        .collect();
    let timeline_interval = report.strategies.first().map(|s| s.timeline.interval());
    json!({
        "lbsim_version": env!("CARGO_PKG_VERSION"),
        "scenario": {
            "name": sc.name,
            "file": sc.file.as_ref().map(|f| f.display().to_string()),
            "sha256": sc.source.as_ref().map(|t| sha256_hex(t.as_bytes())),
            "text": sc.source,
        },
        "seed": sc.seed,
        "parameters": {
            "requests": sc.requests,
            "warmup_requests": sc.warmup,
            "replications": sc.replications,
            "strategies": strategies,
            "arrivals": arrivals,
            "service": {
                "distribution": sc.service.name(),
                "mean_s": sc.service.mean(),
                "cv": sc.service.cv(),
            },
            "servers": groups,
            "server_count": sc.server_count(),
            "offered_load": report.offered_load(),
            "failures": sc.failures_summary(),
        },
        "timeseries_interval_s": timeline_interval,
        "warnings": report.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "wall_time_s": report.wall_time,
    })
}

impl Exporter for Manifest {
    fn file_name(&self) -> &'static str {
        "manifest.json"
    }

    fn is_reproducible(&self) -> bool {
        false
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(&manifest(report))
            .map_err(|e| Error::Other(format!("JSON encoding failed: {e}")))?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_test_vector() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
