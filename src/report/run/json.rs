//! The summary as JSON (`lbsim run --format json`), for scripts and `jq`.
//!
//! The per-strategy and per-server objects carry exactly the columns of summary.csv and
//! servers.csv, under the same names and with the same precision, as JSON numbers
//! (`null` where the CSV cell is empty; the 0/1 flags `unstable` and `saturated` as
//! booleans). Example: `lbsim run s.toml --format json | jq
//! '.strategies[] | {strategy, p99_ms}'`.

use serde_json::{Map, Value, json};

use super::Report;
use super::csv::{servers_table, summary_table};

/// Columns whose values are text; every other column is a number.
const TEXT_COLUMNS: &[&str] = &["strategy", "server", "view"];

/// Columns whose 0/1 values are flags: JSON booleans.
const FLAG_COLUMNS: &[&str] = &["unstable", "saturated"];

/// A CSV cell as JSON: text columns stay strings, flags become booleans, numbers become
/// numbers, empty is null.
fn cell(column: &str, text: &str) -> Value {
    if TEXT_COLUMNS.contains(&column) {
        return Value::String(text.to_string());
    }
    if FLAG_COLUMNS.contains(&column) {
        return Value::Bool(text == "1");
    }
    if text.is_empty() {
        return Value::Null;
    }
    if let Ok(n) = text.parse::<u64>() {
        return json!(n);
    }
    text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
}

fn objects(header: &[&str], rows: &[Vec<String>]) -> Vec<Map<String, Value>> {
    rows.iter().map(|r| header.iter().zip(r).map(|(h, v)| (h.to_string(), cell(h, v))).collect()).collect()
}

/// The summary as a JSON value: scenario facts, one object per strategy (with its servers)
/// and the warnings the table would print.
pub fn summary(report: &Report) -> Value {
    let sc = &report.scenario;
    let (sh, srows) = summary_table(report);
    let (vh, vrows) = servers_table(report);
    let mut strategies = objects(&sh, &srows);
    let servers = objects(&vh, &vrows);
    let per = sc.server_count();
    for (i, s) in strategies.iter_mut().enumerate() {
        let mine: Vec<Value> = servers[i * per..(i + 1) * per]
            .iter()
            .map(|o| {
                let mut o = o.clone();
                o.shift_remove("strategy");
                Value::Object(o)
            })
            .collect();
        s.insert("servers".to_string(), Value::Array(mine));
    }
    json!({
        "lbsim_version": env!("CARGO_PKG_VERSION"),
        "scenario": {
            "name": sc.name,
            "servers": per,
            "arrival_rate_rps": sc.arrival_rate(),
            "capacity_rps": sc.capacity(),
            "offered_load": report.offered_load(),
            "requests": sc.requests,
            "warmup_requests": sc.warmup,
            "replications": sc.replications,
            "seed": sc.seed,
        },
        "strategies": strategies,
        "warnings": report.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// The summary as pretty-printed JSON text, with a final newline.
pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&summary(report)).expect("JSON values always serialise");
    s.push('\n');
    s
}
