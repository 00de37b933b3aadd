//! The summary as JSON (`lbsim run --format json`), for scripts and `jq`.
//!
//! The per-strategy and per-server objects carry exactly the columns of summary.csv and
//! servers.csv, under the same names and with the same precision, as JSON numbers
//! (`null` where the CSV cell is empty; the 0/1 flags `unstable` and `saturated` as
//! booleans). Example: `lbsim run s.toml --format json | jq
//! '.strategies[] | {strategy, p99_ms}'`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value, json};

use super::Report;
use super::summary_csv::{ServerExtras, server_extras, server_row, servers_header, summary_table};
use crate::report::metric::{Format, STRATEGY, SUMMARY};
use crate::stats::StrategySummary;

/// servers.csv's columns whose values are text; every other column is a number.
const SERVER_TEXT_COLUMNS: &[&str] = &["server"];

/// servers.csv's columns whose 0/1 values are flags: JSON booleans.
const SERVER_FLAG_COLUMNS: &[&str] = &["saturated"];

/// The format of servers.csv's column `column` as JSON sees it.
fn server_format(column: &str) -> Format {
    if SERVER_TEXT_COLUMNS.contains(&column) {
        Format::Text
    } else if SERVER_FLAG_COLUMNS.contains(&column) {
        Format::Flag
    } else {
        Format::Count
    }
}

/// A CSV cell in `format` as JSON: text stays a string, flags become booleans, numbers
/// become numbers, empty is null.
fn cell(format: Format, text: &str) -> Value {
    match format {
        Format::Text if text.is_empty() => return Value::Null,
        Format::Text => return Value::String(text.to_string()),
        Format::Flag => return Value::Bool(text == "1"),
        Format::Ms | Format::Fixed(_) | Format::Count => {}
    }
    if text.is_empty() {
        return Value::Null;
    }
    if let Ok(n) = text.parse::<u64>() {
        return json!(n);
    }
    match text.parse::<f64>() {
        Ok(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
        // A word in a number column (`fair_share_s`'s `never`) stays a word.
        Err(_) => Value::String(text.to_string()),
    }
}

/// The scenario facts at the top of the summary.
fn scenario_facts(report: &Report) -> Value {
    let sc = &report.scenario;
    json!({
        "name": sc.name,
        "servers": sc.server_count(),
        "arrival_rate_rps": sc.arrival_rate(),
        "capacity_rps": sc.capacity(),
        "offered_load": report.offered_load(),
        "requests": sc.requests,
        "warmup_requests": sc.warmup,
        "replications": sc.replications,
        "seed": sc.seed,
    })
}

/// The summary as a JSON value: scenario facts, one object per strategy (with its servers)
/// and the warnings the table would print. Holds every server's object at once: [`write()`]
/// streams the same text.
pub fn summary(report: &Report) -> Value {
    serde_json::to_value(Summary(report)).expect("JSON values always serialise")
}

/// The summary as pretty-printed JSON text, with a final newline.
pub fn render(report: &Report) -> String {
    let mut out = Vec::new();
    write(report, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Writes the summary as pretty-printed JSON with a final newline to `w`, one server's
/// object at a time: its memory does not grow with servers × strategies (issue 29: 100,000
/// servers × 2 strategies took 2.15 GB as a tree of values).
pub fn write(report: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &Summary(report)).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}

/// The whole summary, serialised on the fly.
struct Summary<'a>(&'a Report);

impl Serialize for Summary<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("lbsim_version", env!("CARGO_PKG_VERSION"))?;
        m.serialize_entry("scenario", &scenario_facts(report))?;
        m.serialize_entry("strategies", &Strategies(report))?;
        let warnings: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
        m.serialize_entry("warnings", &warnings)?;
        m.end()
    }
}

/// The strategies' objects: summary.csv's row, then `servers`.
struct Strategies<'a>(&'a Report);

impl Serialize for Strategies<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (header, rows) = summary_table(self.0);
        let mut seq = s.serialize_seq(Some(rows.len()))?;
        let extras = server_extras(self.0);
        for (row, strategy) in rows.iter().zip(&self.0.strategies) {
            seq.serialize_element(&StrategyObject { header: &header, row, strategy, extras: &extras })?;
        }
        seq.end()
    }
}

/// One strategy's object.
struct StrategyObject<'a> {
    header: &'a [String],
    row: &'a [String],
    strategy: &'a StrategySummary,
    /// The servers' columns beyond the fixed ones.
    extras: &'a ServerExtras,
}

impl Serialize for StrategyObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.header.len() + 1))?;
        for ((h, c), v) in self.header.iter().zip(SUMMARY).zip(self.row) {
            m.serialize_entry(h, &cell(c.metric().format, v))?;
        }
        m.serialize_entry("servers", &Servers(self.strategy, self.extras))?;
        m.end()
    }
}

/// A strategy's servers: servers.csv's rows without the strategy, built one at a time.
struct Servers<'a>(&'a StrategySummary, &'a ServerExtras);

impl Serialize for Servers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let header = servers_header(self.1);
        let mut seq = s.serialize_seq(Some(self.0.servers.len()))?;
        for (i, v) in self.0.servers.iter().enumerate() {
            let row = server_row(&self.0.label, i, v, self.1);
            let object: Map<String, Value> = header
                .iter()
                .zip(&row)
                .filter(|(h, _)| **h != STRATEGY.name)
                .map(|(h, v)| (h.to_string(), cell(server_format(h), v)))
                .collect();
            seq.serialize_element(&object)?;
        }
        seq.end()
    }
}
