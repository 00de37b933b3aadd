//! `lbsim compare SIM_DIR MEASURED_DIR`: what lbsim simulated against what `lbsim load`
//! measured on the same request stream, figure by figure.
//!
//! The two must have used the same request stream: the SHA-256 of the generated stream
//! (every request's arrival, demand and key, [`stream_sha256`](crate::analysis::stream_sha256)) recorded by both, so one
//! measurement can be compared with several models written in different files (another
//! `[balancers]` view, other strategy parameters); outputs of older versions without it
//! fall back to the scenario file's SHA-256.
//!
//! Both directories hold a `summary.csv` (the simulation's from `lbsim run`, the
//! measurement's from `lbsim load`); the measured one also a `measurement.json`. The fixed
//! overhead of generator, network, balancer and backend is what the measurement's
//! zero-demand calibration pass took; it is **added to the simulated** response times to
//! give the expected value, and the measured figures are shown raw. The overhead is added
//! as a distribution: a percentile of the expected response is the percentile of the sum
//! of two independent times, the simulated response (its histogram.csv, linear within a
//! bucket) and the overhead (the calibration's quantiles), i.e. of their convolution; the
//! mean adds the means, the maximum the mean overhead. What is added to the simulated
//! percentile (summary.csv's: the mean over replications of each replication's percentile)
//! is the shift the overhead causes, the convolved quantile minus the same quantile without
//! overhead, both from the pooled histogram: so replications pooled and averaged, and the
//! histogram's bucket resolution, do not bias the expected value. Without the quantiles (older
//! measurements) or the histogram, the mean overhead is added to every figure. The
//! deviation is (measured − expected) / expected. Figures without an overhead (waiting
//! time at the backend, throughput, utilisation, imbalance, counts) compare as they are.
//!
//! With several measured replications (`lbsim load --replications N`), the response-time
//! figures also carry the 95% interval of the difference measured − expected
//! ([`interval`]), paired replication by replication where the simulation can be
//! reproduced; a `--check` then passes when the deviation is within its tolerance **or**
//! within that interval, whichever is wider (the table says which applied).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use super::measurement::Measurement;
use crate::report::metric::{
    BUSIEST_SERVER_SHARE, COMPLETED, DROPPED, FAILED, JAIN, LOAD_CV, LOAD_MAX_OVER_MEAN, MAX, MEAN, MEAN_WAIT, P50,
    P90, P99, P999, STRATEGY, THROUGHPUT, TIMED_OUT, UTILIZATION,
};
use crate::scenario::ScenarioError;
use crate::{Error, Result};

pub mod interval;
pub use interval::Interval;

/// The figures compared: (short name, summary.csv column, what it is, whether the
/// calibration overhead applies).
pub const FIGURES: &[(&str, &str, &str, bool)] = &[
    ("mean", MEAN.name, "mean response, ms", true),
    ("p50", P50.name, "p50 response, ms", true),
    ("p90", P90.name, "p90 response, ms", true),
    ("p99", P99.name, "p99 response, ms", true),
    ("p999", P999.name, "p99.9 response, ms", true),
    ("max", MAX.name, "max response, ms", true),
    ("wait", MEAN_WAIT.name, "mean wait at backend, ms", false),
    ("throughput", THROUGHPUT.name, "throughput, req/s", false),
    ("utilization", UTILIZATION.name, "utilisation", false),
    ("max_over_mean", LOAD_MAX_OVER_MEAN.name, "requests max/mean", false),
    ("cv", LOAD_CV.name, "requests CV", false),
    ("jain", JAIN.name, "Jain's index", false),
    ("busiest_share", BUSIEST_SERVER_SHARE.name, "busiest server share", false),
    ("completed", COMPLETED.name, "completed", false),
    ("dropped", DROPPED.name, "dropped (queue full)", false),
    ("failed", FAILED.name, "failed", false),
    ("timed_out", TIMED_OUT.name, "timed out", false),
];

/// A tolerance to check: `|deviation| ≤ tolerance` for a figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Check {
    /// Index into [`FIGURES`].
    pub figure: usize,
    /// Largest relative deviation allowed (0.05 = 5%).
    pub tolerance: f64,
}

impl Check {
    /// Parses `NAME=PCT` (`mean=5%`, `p90=5`).
    pub fn parse(s: &str) -> std::result::Result<Check, ScenarioError> {
        let bad = |m: String| ScenarioError::at("--check", m);
        let (name, pct) =
            s.split_once('=').ok_or_else(|| bad(format!("expected FIGURE=PERCENT, e.g. mean=5%, got {s:?}")))?;
        let names = FIGURES.iter().map(|f| f.0);
        let figure = FIGURES
            .iter()
            .position(|f| f.0 == name.trim())
            .ok_or_else(|| bad(format!("unknown figure {name:?}")).suggest(name.trim(), names.clone()))?;
        let v: f64 = pct.trim().trim_end_matches('%').parse().map_err(|_| bad(format!("not a percentage: {pct:?}")))?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(bad(format!("the tolerance must be a percentage ≥ 0, got {pct}")));
        }
        Ok(Check { figure, tolerance: v / 100.0 })
    }
}

/// One figure, simulated and measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Short name (see [`FIGURES`]).
    pub figure: &'static str,
    /// What it is, with its unit.
    pub what: &'static str,
    /// The simulated value.
    pub simulated: f64,
    /// The simulated value plus the calibration overhead where it applies.
    pub expected: f64,
    /// The measured value.
    pub measured: f64,
    /// (measured − expected) / expected; NaN when expected is 0 or a value is missing.
    pub deviation: f64,
    /// The tolerance applied and whether it held: the `--check` tolerance, or the 95%
    /// interval's relative half-width when that is wider.
    pub check: Option<(f64, bool)>,
    /// The 95% interval of measured − expected over replications, when there are several.
    pub interval: Option<Interval>,
    /// The check's tolerance was widened to the interval.
    pub widened: bool,
}

/// The comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Label of the simulated strategy compared.
    pub strategy: String,
    /// The measurement (label, lateness, calibration, validity).
    pub measurement: Measurement,
    /// Calibration overhead added to the simulated response times, ms (0 without a pass).
    pub overhead_ms: f64,
    /// One row per figure of [`FIGURES`].
    pub rows: Vec<Row>,
    /// Warnings about what was compared.
    pub notes: Vec<String>,
    /// The simulated figures ([`interval::FIGURES`], ms, without the overhead) of the
    /// replications paired with the measured ones (empty when not paired).
    pub simulated_replications: Vec<[f64; 5]>,
}

impl Comparison {
    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.check.is_none_or(|c| c.1))
    }
}

fn input(path: &Path, msg: String) -> Error {
    ScenarioError { file: Some(path.to_path_buf()), ..ScenarioError::general(msg) }.into()
}

/// summary.csv as rows of column → value.
fn read_summary(dir: &Path) -> Result<(PathBuf, Vec<HashMap<String, String>>)> {
    let path = dir.join("summary.csv");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| input(&path, format!("cannot read the summary (an lbsim output directory?): {e}")))?;
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> =
        r.headers().map_err(|e| input(&path, format!("not a CSV file: {e}")))?.iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.map_err(|e| input(&path, format!("bad CSV row: {e}")))?;
            Ok(head.iter().cloned().zip(rec.iter().map(String::from)).collect())
        })
        .collect::<Result<Vec<HashMap<String, String>>>>()?;
    Ok((path, rows))
}

fn value(row: &HashMap<String, String>, column: &str) -> f64 {
    row.get(column).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

/// Compares the simulation in `sim_dir` with the measurement in `measured_dir`. The
/// simulated strategy is `strategy`, else the one labelled like the measurement, else the
/// only one.
pub fn compare(sim_dir: &Path, measured_dir: &Path, strategy: Option<&str>, checks: &[Check]) -> Result<Comparison> {
    let m = Measurement::read(measured_dir).map_err(|e| match e {
        Error::Io { path, source, .. } => {
            input(&path, format!("cannot read ({source}): not a directory `lbsim load` wrote"))
        }
        e => e,
    })?;
    let (sim_path, sim_rows) = read_summary(sim_dir)?;
    let (meas_path, meas_rows) = read_summary(measured_dir)?;
    let meas = meas_rows
        .iter()
        .find(|r| r.get(STRATEGY.name) == Some(&m.label))
        .ok_or_else(|| input(&meas_path, format!("no row labelled {:?}", m.label)))?;
    let labels: Vec<&str> = sim_rows.iter().filter_map(|r| r.get(STRATEGY.name).map(String::as_str)).collect();
    let wanted = match strategy {
        Some(s) => s.to_string(),
        None if labels.contains(&m.label.as_str()) => m.label.clone(),
        None if labels.len() == 1 => labels[0].to_string(),
        None => {
            return Err(input(
                &sim_path,
                format!("several strategies ({}): choose one with --strategy", labels.join(", ")),
            ));
        }
    };
    let sim = sim_rows
        .iter()
        .find(|r| r.get(STRATEGY.name) == Some(&wanted))
        .ok_or_else(|| input(&sim_path, format!("no strategy {wanted:?}; it has {}", labels.join(", "))))?;
    let mut notes = consistency(sim_dir, measured_dir, &m)?;
    if !m.valid {
        notes.extend(m.problems.iter().map(|p| format!("measurement invalid: {p}")));
    }
    let overhead_ms = m.calibration.as_ref().map_or(0.0, |c| c.response.mean_ms);
    let quantiles = m.calibration.as_ref().map(|c| c.quantiles_ms.as_slice()).filter(|q| !q.is_empty());
    let hist = match quantiles {
        Some(_) => read_histogram(sim_dir, &wanted)?,
        None => None,
    };
    let convolved = quantiles.zip(hist.as_ref());
    let measured_reps: Vec<_> = m.replications.iter().collect();
    let sim_reps = value(sim, "replications").max(1.0) as u32;
    let paired = if measured_reps.len() > 1 {
        let n = measured_reps.len() as u32;
        match interval::simulated_replications(sim_dir, &wanted, n, (value(sim, MEAN.name), sim_reps)) {
            Ok(v) => Some(v),
            Err(why) => {
                notes.push(format!(
                    "the interval of the difference is unpaired (Welch): cannot pair replications: {why}"
                ));
                None
            }
        }
    } else {
        None
    };
    if measured_reps.len() > 1 && measured_reps.len() as u32 != sim_reps {
        notes.push(format!(
            "the simulation has {sim_reps} replication(s), the measurement {}: their means are over different streams",
            measured_reps.len()
        ));
    }
    if m.calibration.is_some() && convolved.is_none() {
        notes.push(
            "the mean calibration overhead is added to every percentile (no overhead quantiles in measurement.json or \
             no histogram.csv in the simulation): the tail percentiles are then underestimated"
                .into(),
        );
    }
    let rows = FIGURES
        .iter()
        .enumerate()
        .map(|(i, &(figure, column, what, overhead))| {
            let simulated = value(sim, column);
            let expected = match (overhead, convolved, percentile_of(figure)) {
                (false, ..) => simulated,
                // The overhead's shift of the quantile, on the pooled histogram, added to the
                // simulated figure (the mean over replications of each one's quantile).
                (true, Some((q, h)), Some(p)) if simulated.is_finite() => {
                    simulated + convolved_quantile(h, q, p) - convolved_quantile(h, &[0.0], p)
                }
                (true, ..) => simulated + overhead_ms,
            };
            let measured = value(meas, column);
            let deviation = if expected != 0.0 { (measured - expected) / expected } else { f64::NAN };
            let interval = interval::FIGURES.iter().position(|&f| f == figure).and_then(|k| {
                let meas: Vec<f64> = measured_reps.iter().filter_map(|r| r.figure(figure)).collect();
                match &paired {
                    Some(sims) => {
                        let sims: Vec<f64> = sims.iter().map(|s| s[k]).collect();
                        interval::paired(&meas, &sims, expected - simulated)
                    }
                    None => interval::unpaired(&meas, expected, (value(sim, &format!("{column}_ci95")), sim_reps)),
                }
            });
            let mut widened = false;
            let check = checks.iter().filter(|c| c.figure == i).map(|c| c.tolerance).reduce(f64::min).map(|tol| {
                let wide = interval.map_or(0.0, |iv| iv.half / expected.abs());
                widened = wide > tol;
                let tol = tol.max(wide);
                let ok = if expected == 0.0 { measured == 0.0 } else { deviation.abs() <= tol };
                (tol, ok)
            });
            Row { figure, what, simulated, expected, measured, deviation, check, interval, widened }
        })
        .collect();
    let wait = |r: &Vec<Row>| r.iter().find(|r| r.figure == "wait").map(|r| (r.simulated, r.measured));
    if let Some((sim_wait, meas_wait)) = wait(&rows)
        && sim_wait > 0.5
        && meas_wait < 0.1 * sim_wait
    {
        notes.push(format!(
            "the backends measured almost no waiting ({meas_wait:.3} ms against {sim_wait:.3} ms simulated): the \
             requests waited in front of them instead, in the balancer's own queue (HAProxy `maxconn`, a connection \
             limit), which the backends cannot see; compare the response times, which include that wait"
        ));
    }
    let simulated_replications = paired.unwrap_or_default();
    Ok(Comparison { strategy: wanted, measurement: m, overhead_ms, rows, notes, simulated_replications })
}

/// The probability a percentile figure stands for (`p99` → 0.99).
fn percentile_of(figure: &str) -> Option<f64> {
    match figure {
        "p50" => Some(0.5),
        "p90" => Some(0.9),
        "p99" => Some(0.99),
        "p999" => Some(0.999),
        _ => None,
    }
}

/// A simulated response-time distribution: histogram buckets `(low, high, count)`, ms.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    buckets: Vec<(f64, f64, f64)>,
    total: f64,
}

impl Histogram {
    /// From buckets `(low, high, count)` in increasing order.
    pub fn new(buckets: Vec<(f64, f64, f64)>) -> Self {
        let total = buckets.iter().map(|b| b.2).sum();
        Histogram { buckets, total }
    }

    /// P(S ≤ x), linear within a bucket.
    pub fn cdf(&self, x: f64) -> f64 {
        let mut below = 0.0;
        for &(lo, hi, c) in &self.buckets {
            if x >= hi {
                below += c;
            } else {
                if x > lo {
                    below += c * (x - lo) / (hi - lo);
                }
                break;
            }
        }
        below / self.total
    }

    fn max(&self) -> f64 {
        self.buckets.iter().rev().find(|b| b.2 > 0.0).map_or(0.0, |b| b.1)
    }
}

/// The `p` quantile of S + C, S with histogram `h` and C uniform over the quantiles `c`
/// (independent): the x where the mean over c of P(S ≤ x − c) reaches `p`, by bisection.
pub fn convolved_quantile(h: &Histogram, c: &[f64], p: f64) -> f64 {
    let cmax = c.iter().copied().fold(0.0, f64::max);
    let g = |x: f64| c.iter().map(|&ci| h.cdf(x - ci)).sum::<f64>() / c.len() as f64;
    let (mut lo, mut hi) = (0.0, h.max() + cmax);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if g(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The simulated strategy `label`'s response-time histogram (histogram.csv), if written.
fn read_histogram(sim_dir: &Path, label: &str) -> Result<Option<Histogram>> {
    let path = sim_dir.join("histogram.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let mut buckets = Vec::new();
    for rec in csv::Reader::from_reader(text.as_bytes()).records() {
        let rec = rec.map_err(|e| input(&path, format!("bad CSV row: {e}")))?;
        if rec.get(0) != Some(label) {
            continue;
        }
        let num = |i: usize| rec.get(i).and_then(|v| v.parse::<f64>().ok());
        match (num(1), num(2), num(3)) {
            (Some(lo), Some(hi), Some(c)) if hi > lo && c >= 0.0 => buckets.push((lo, hi, c)),
            _ => return Err(input(&path, format!("bad histogram row: {rec:?}"))),
        }
    }
    let h = Histogram::new(buckets);
    Ok((h.total > 0.0).then_some(h))
}

/// Checks that the simulation ran the stream the measurement replayed (manifest.json).
fn consistency(sim_dir: &Path, measured_dir: &Path, m: &Measurement) -> Result<Vec<String>> {
    let path = sim_dir.join("manifest.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(vec![format!("{} missing: cannot check that both ran the same request stream", path.display())]);
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| input(&path, format!("not JSON: {e}")))?;
    let p = &v["parameters"];
    let mut wrong = Vec::new();
    if v["seed"].as_u64() != Some(m.seed) {
        wrong.push(format!("seed {} vs {}", v["seed"], m.seed));
    }
    if p["requests"].as_u64() != Some(m.requests) {
        wrong.push(format!("requests {} vs {}", p["requests"], m.requests));
    }
    if p["warmup_requests"].as_u64() != Some(m.warmup) {
        wrong.push(format!("warm-up {} vs {}", p["warmup_requests"], m.warmup));
    }
    match (v["stream_sha256"].as_str(), m.stream_sha256.as_deref()) {
        (Some(a), Some(b)) => {
            if a != b {
                wrong.push("the request streams differ (SHA-256 of every arrival, demand and key)".into());
            }
        }
        _ => {
            if let (Some(a), Some(b)) = (v["scenario"]["sha256"].as_str(), m.scenario_sha256.as_deref())
                && a != b
            {
                wrong.push("the scenario files differ (SHA-256; no stream hash recorded to compare instead)".into());
            }
        }
    }
    if !wrong.is_empty() {
        return Err(input(
            &path,
            format!(
                "the simulation and the measurement ({}) did not use the same request stream: {} (run both with the \
                 same scenario, --requests and --seed)",
                // Either file may be the odd one out: name both (issue 29, found by the fuzzer).
                measured_dir.join("measurement.json").display(),
                wrong.join(", ")
            ),
        ));
    }
    let mut notes = Vec::new();
    if p["replications"].as_u64().is_some_and(|r| r > 1) && m.replications.len() < 2 {
        notes.push(format!(
            "the simulation has {} replications; the measurement replays replication 0 only (run with --replications 1 \
             for the same stream)",
            p["replications"]
        ));
    }
    Ok(notes)
}

fn num(x: f64) -> String {
    if !x.is_finite() {
        "—".into()
    } else if x == x.trunc() && x.abs() < 1e12 {
        format!("{x:.0}")
    } else if x.abs() >= 100.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

/// The deviation as a signed percentage.
pub fn pct(x: f64) -> String {
    if x.is_finite() { format!("{:+.2}%", x * 100.0) } else { "—".into() }
}

/// The comparison as a table, with the lateness, overshoot and calibration lines.
pub fn render(c: &Comparison) -> String {
    let m = &c.measurement;
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled).force_no_tty();
    let checked = c.rows.iter().any(|r| r.check.is_some());
    let intervals = c.rows.iter().any(|r| r.interval.is_some());
    let mut head = vec!["figure", "simulated", "+ overhead", "measured", "deviation"];
    if intervals {
        head.push("95% interval");
    }
    if checked {
        head.push("check");
    }
    t.set_header(head);
    for r in &c.rows {
        let overhead = r.expected != r.simulated;
        let mut row = vec![
            Cell::new(r.what),
            Cell::new(num(r.simulated)).set_alignment(CellAlignment::Right),
            Cell::new(if overhead { num(r.expected) } else { String::new() }).set_alignment(CellAlignment::Right),
            Cell::new(num(r.measured)).set_alignment(CellAlignment::Right),
            Cell::new(pct(r.deviation)).set_alignment(CellAlignment::Right),
        ];
        if intervals {
            row.push(
                Cell::new(r.interval.map_or(String::new(), |iv| {
                    let rel = |x: f64| x / r.expected.abs();
                    format!("{} ± {:.2}%", pct(rel(iv.difference)), rel(iv.half) * 100.0)
                }))
                .set_alignment(CellAlignment::Right),
            );
        }
        if checked {
            let by = if r.widened { ": the interval" } else { "" };
            row.push(Cell::new(match r.check {
                Some((tol, true)) => format!("ok (≤ {:.1}%{by})", tol * 100.0),
                Some((tol, false)) => format!("FAIL (> {:.1}%{by})", tol * 100.0),
                None => String::new(),
            }));
        }
        t.add_row(row);
    }
    let mut s = format!(
        "{}: simulated {:?} vs measured {:?} ({} → {}), {} requests, seed {}\n{t}\n",
        m.scenario, c.strategy, m.label, m.label, m.target, m.requests, m.seed
    );
    match &m.calibration {
        Some(cal) if !cal.quantiles_ms.is_empty() && c.notes.iter().all(|n| !n.starts_with("the mean calibration")) => {
            s.push_str(&format!(
                "overhead (the response times of {} zero-demand requests: mean {:.3} ms, p99 {:.3} ms) is ADDED to \
                 the simulated response times as a distribution (convolution; the mean adds the means); measured \
                 figures are raw\n",
                cal.response.count, c.overhead_ms, cal.response.p99_ms
            ))
        }
        Some(cal) => s.push_str(&format!(
            "overhead {:.3} ms (mean response of {} zero-demand requests; p99 {:.3} ms) is ADDED to the simulated \
             response times; measured figures are raw\n",
            c.overhead_ms, cal.response.count, cal.response.p99_ms
        )),
        None => s.push_str("no calibration pass: nothing added to the simulated figures\n"),
    }
    if let Some(l) = m.lateness {
        s.push_str(&format!("send lateness: {} (threshold p99 ≤ {:.3} ms)\n", l.brief(), m.max_lateness_p99_ms));
    }
    if let Some(o) = m.backend_overshoot {
        s.push_str(&format!("backend wait overshoot: {}\n", o.brief()));
    }
    if let Some(iv) = c.rows.iter().find_map(|r| r.interval) {
        s.push_str(&format!(
            "95% interval of the difference (measured − expected) over {} replications, {}; a check passes within \
             its tolerance or within this interval, whichever is wider\n",
            iv.replications,
            if iv.paired {
                "paired replication by replication (the same stream simulated again)"
            } else {
                "unpaired (Welch: the simulation's interval and the measured replications' spread)"
            }
        ));
        let shift = |k: usize| {
            let r = c.rows.iter().find(|r| r.figure == interval::FIGURES[k]);
            r.map_or(0.0, |r| r.expected - r.simulated)
        };
        for (i, r) in m.replications.iter().enumerate() {
            let sim = c.simulated_replications.get(i).map_or(String::new(), |x| {
                format!("; expected mean {:.3} ms, p90 {:.3} ms", x[0] + shift(0), x[2] + shift(2))
            });
            s.push_str(&format!(
                "  replication {}: measured mean {:.3} ms, p90 {:.3} ms, p99 {:.3} ms{sim}\n",
                r.replication, r.mean_ms, r.p90_ms, r.p99_ms
            ));
        }
    }
    s.push_str(if m.valid { "measurement: valid\n" } else { "measurement: INVALID\n" });
    for n in &c.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s
}

/// `comparison.csv`: `figure,simulated,overhead,expected,measured,deviation,tolerance,ok,
/// difference_ci95,interval` — the tolerance applied (widened to the interval when wider),
/// the 95% half-width of measured − expected relative to expected, and `paired` or
/// `unpaired` (both empty with one replication).
pub fn to_csv(c: &Comparison) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| Error::Other(format!("CSV encoding failed: {e}"));
    w.write_record([
        "figure",
        "simulated",
        "overhead",
        "expected",
        "measured",
        "deviation",
        "tolerance",
        "ok",
        "difference_ci95",
        "interval",
    ])
    .map_err(e)?;
    for r in &c.rows {
        let f = |x: f64| if x.is_finite() { format!("{x}") } else { String::new() };
        w.write_record([
            r.figure.to_string(),
            f(r.simulated),
            f(r.expected - r.simulated),
            f(r.expected),
            f(r.measured),
            f(r.deviation),
            r.check.map(|c| f(c.0)).unwrap_or_default(),
            r.check.map(|c| c.1.to_string()).unwrap_or_default(),
            r.interval.map(|iv| f(iv.half / r.expected.abs())).unwrap_or_default(),
            r.interval.map(|iv| if iv.paired { "paired" } else { "unpaired" }.to_string()).unwrap_or_default(),
        ])
        .map_err(e)?;
    }
    w.into_inner().map_err(|e| Error::Other(format!("CSV encoding failed: {e}")))
}

/// File name of the comparison written into the measured directory.
pub const FILE_NAME: &str = "comparison.csv";

#[cfg(test)]
mod tests {
    use super::*;

    /// A constant overhead shifts every quantile by itself; an overhead spread over two
    /// values mixes two shifted copies (exact for a uniform S).
    #[test]
    fn overhead_is_convolved() {
        // S uniform on [0, 100] ms in 100 buckets.
        let h = Histogram::new((0..100).map(|i| (f64::from(i), f64::from(i + 1), 1.0)).collect());
        for p in [0.5, 0.9, 0.99] {
            assert!((convolved_quantile(&h, &[2.0; 10], p) - (100.0 * p + 2.0)).abs() < 1e-6);
        }
        // C = 0 or 10 with probability ½ each: P(S + C ≤ x) = (x + (x − 10)) / 200 for
        // 10 ≤ x ≤ 100: the median is 55 and the 0.9 quantile 95.
        let c = [0.0, 10.0];
        assert!((convolved_quantile(&h, &c, 0.5) - 55.0).abs() < 1e-6);
        assert!((convolved_quantile(&h, &c, 0.9) - 95.0).abs() < 1e-6);
        // A heavy overhead tail moves the high quantiles more than its mean would.
        let mut tail = vec![0.5; 99];
        tail.push(40.0);
        let mean: f64 = tail.iter().sum::<f64>() / 100.0;
        assert!(convolved_quantile(&h, &tail, 0.999) > 99.9 + mean + 1.0);
    }

    #[test]
    fn checks_parse() {
        assert_eq!(Check::parse("mean=5%").unwrap(), Check { figure: 0, tolerance: 0.05 });
        assert_eq!(Check::parse("p90=2.5").unwrap().tolerance, 0.025);
        let e = Check::parse("man=5%").unwrap_err();
        assert_eq!(e.help.as_deref().map(|h| h.contains("mean")), Some(true), "{e}");
        assert!(Check::parse("mean").is_err());
        assert!(Check::parse("mean=-1").is_err());
    }
}
