//! `manifest.json`: what produced a run, so a result can always be traced back.
//!
//! It records the lbsim version, the scenario file's path, SHA-256 (the same digest
//! `sha256sum` prints) and full text, the seed, the validated scenario with every effective
//! parameter (after defaults and command-line overrides; a trace by its file and size, not
//! its rows) and the wall time. The wall time
//! makes it the one output that differs between two runs of the same scenario and seed;
//! every other file is byte-identical.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Exporter;
use crate::report::Report;
use crate::{Error, Result};

/// The run manifest.
#[derive(Debug)]
pub struct Manifest;

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The manifest as a JSON value.
pub fn manifest(report: &Report) -> Value {
    let sc = &report.scenario;
    // The validated scenario (after defaults and overrides), with two derived figures.
    let mut parameters = serde_json::to_value(sc).unwrap_or(Value::Null);
    if let Value::Object(p) = &mut parameters {
        p.insert("server_count".into(), json!(sc.server_count()));
        p.insert("offered_load".into(), json!(report.offered_load()));
        // How the warm-up was chosen, and where MSER-5 finds the transient ends (the
        // largest truncation over strategies and replications; null for a real load test).
        p.insert("warmup".into(), json!(if sc.warmup_explicit { "explicit" } else { "auto" }));
        let detected = report.strategies.iter().filter_map(|s| s.transient).map(|t| t.truncation).max();
        p.insert("warmup_detected".into(), json!(detected));
    }
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
        "stream_sha256": report.stream_sha256,
        "parameters": parameters,
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
