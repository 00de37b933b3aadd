//! Issue 10's reproductions, one test each: hostile edits of the shipped scenarios that
//! panicked, aborted, hung, ran for minutes or erred without a place. Each now either runs
//! cleanly or is refused by `validate` and `run` alike: exit 2, `FILE:LINE:` and the key, no
//! panic, no output file, within seconds.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{edit, lbsim, shipped};

/// Anything here that takes longer is a hang (the slowest case builds a million servers).
const HANG: Duration = Duration::from_secs(60);

/// A memory limit that does not depend on the machine.
const LIMIT: &str = "4G";

/// A shipped scenario's text with each `(from, to)` applied.
fn mutant(name: &str, edits: &[(&str, &str)]) -> String {
    let mut text = fs::read_to_string(shipped(name)).unwrap();
    for (from, to) in edits {
        text = edit(&text, from, to);
    }
    text
}

/// Writes `text` as `case.toml` beside a copy of the shipped traces.
fn case_with_traces(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("traces")).unwrap();
    for e in fs::read_dir(shipped("traces")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.path().join("traces").join(e.file_name())).unwrap();
    }
    let path = dir.path().join("case.toml");
    fs::write(&path, text).unwrap();
    (dir, path)
}

/// Asserts an input error: exit 2, a message that starts `error: …case.toml:LINE:` and
/// contains every needle, no panic. Returns the message.
fn input_error(cmd: &mut assert_cmd::Command, needles: &[&str]) -> String {
    let out = cmd.timeout(HANG).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let first = stderr.lines().next().unwrap_or("");
    let place = first.split_once("case.toml:").map(|(_, rest)| rest).unwrap_or_else(|| panic!("no place: {stderr}"));
    let line: String = place.chars().take_while(char::is_ascii_digit).collect();
    assert!(!line.is_empty() && place[line.len()..].starts_with(':'), "no line: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "`{n}` missing from: {stderr}");
    }
    stderr
}

/// `validate` and `run --requests 20000` (as the issue ran them) both refuse `text` at a line
/// with every needle; `run` writes nothing.
fn refused(text: &str, needles: &[&str]) {
    let (dir, path) = case_with_traces(text);
    let out = dir.path().join("out");
    input_error(lbsim().args(["--max-memory", LIMIT, "validate"]).arg(&path), needles);
    input_error(
        lbsim()
            .args(["--max-memory", LIMIT, "run"])
            .arg(&path)
            .args(["--requests", "20000", "--no-charts", "--quiet", "--out"])
            .arg(&out),
        needles,
    );
    assert!(!out.exists(), "output written despite the error");
}

/// The line of `case.toml` (1-based) where `needle` first occurs.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

// ---- panics (exit 101) on files `validate` called valid ----

#[test]
fn subnormal_rate_is_refused() {
    let text = mutant("web-peak.toml", &[("rate = 900.0", "rate = 5e-324")]);
    refused(&text, &[&format!("case.toml:{}:", line_of(&text, "5e-324")), "arrivals.rate"]);
}

#[test]
fn gamma_with_a_tiny_cv_is_refused() {
    let text = mutant("diurnal.toml", &[("cv = 0.8", "cv = 1e-300")]);
    refused(&text, &[&format!("case.toml:{}:", line_of(&text, "1e-300")), "service.cv", "1e-6"]);
}

// ---- aborts on allocation (exit 134) ----

#[test]
fn u32_max_workers_are_refused_with_the_estimate() {
    let text = mutant("web-peak.toml", &[("workers = 1 ", "workers = 4294967295 ")]);
    refused(&text, &["servers[0].workers", "memory", "TiB", "--max-memory"]);
}

#[test]
fn a_million_replications_are_refused_with_the_estimate() {
    let text = mutant("web-peak.toml", &[("replications = 1 ", "replications = 1000000 ")]);
    refused(&text, &["`replications`", "memory"]);
}

#[test]
fn a_billion_clients_are_refused_with_the_estimate() {
    let text = mutant("closed-loop.toml", &[("clients = 30", "clients = 1000000000")]);
    refused(&text, &["arrivals.clients", "memory"]);
}

// ---- hangs ----

#[test]
fn nanosecond_health_checks_are_refused() {
    let text = mutant("gray-failure.toml", &[("interval = \"5s\"", "interval = \"1ns\"")]);
    refused(&text, &["health_check.interval", "events per simulated second"]);
}

#[test]
fn a_periodic_view_refreshed_every_instant_is_refused() {
    // Found by the fuzz target: refresh events at k × 5e-324 s never advance the clock.
    for interval in ["5e-324s", "1ns"] {
        let text = mutant("stale-board.toml", &[("interval = \"5s\"", &format!("interval = \"{interval}\""))]);
        refused(&text, &["balancers.interval", "events per simulated second"]);
    }
}

#[test]
fn a_tiny_rate_with_health_checks_is_refused() {
    let text = mutant("gray-failure.toml", &[("rate = ", "rate = 1e-9 # was ")]);
    refused(&text, &["arrivals.rate"]);
}

#[test]
fn a_nanosecond_diurnal_period_is_refused_even_with_a_spike() {
    let text = mutant("diurnal.toml", &[("period = \"1200s\"", "period = \"1ns\"")]);
    assert!(text.contains("[[arrivals.spike]]"));
    refused(&text, &["arrivals.diurnal.period", "events per simulated second"]);
}

/// Found by the fuzzer: with a long spike that all but stops arrivals, working out the run's
/// length walked nanosecond pieces for minutes (sines of huge arguments) before the timer
/// limit could refuse it.
#[test]
fn a_nanosecond_diurnal_period_under_a_long_quiet_spike_is_refused_at_once() {
    let spike = "[[arrivals.spike]]\nat = \"900s\"\nduration = \"1e6s\"\nmultiplier = 0.000000001\n\n[service]";
    let text = mutant("diurnal.toml", &[("period = \"1200s\"", "period = \"1ns\""), ("[service]", spike)]);
    refused(&text, &["arrivals.diurnal.period", "at least"]);
}

#[test]
fn overflowing_durations_are_refused() {
    let text = mutant("diurnal.toml", &[("peak_at = \"600s\"", "peak_at = \"1e308s\"")]);
    refused(&text, &["arrivals.diurnal.peak_at", "at most 1e9s"]);
    let text = mutant("closed-loop.toml", &[("think_time = \"100ms\"", "think_time = \"1e308s\"")]);
    refused(&text, &["arrivals.think_time", "at most 1e9s"]);
}

// ---- slow or huge without warning ----

#[test]
fn a_million_workers_are_announced_as_slow() {
    let text = mutant("web-peak.toml", &[("workers = 1 ", "workers = 1000000 ")]);
    let (_dir, path) = case_with_traces(&text);
    let out = lbsim().args(["--max-memory", LIMIT, "validate"]).arg(&path).timeout(HANG).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("resources:") && all.contains("slow run"), "{all}");
}

#[test]
fn a_million_servers_are_refused_with_the_estimate() {
    let text = mutant("web-peak.toml", &[("count = 10", "count = 1000000")]);
    refused(&text, &["memory", "1000000 servers"]);
}

#[test]
fn a_trace_scenario_with_a_million_servers_is_refused_quickly() {
    let text = mutant("trace-replay.toml", &[("count = 5", "count = 1000000")]);
    let (_dir, path) = case_with_traces(&text);
    input_error(lbsim().args(["--max-memory", "1G", "validate"]).arg(&path), &["memory", "1000000 servers"]);
}

#[test]
fn dev_zero_is_not_read_to_the_end() {
    for cmd in ["validate", "run"] {
        let out = lbsim().args([cmd, "/dev/zero"]).timeout(HANG).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("/dev/zero") && stderr.contains("larger than 16.0 MiB"), "{stderr}");
    }
}

// ---- errors without a location ----

#[test]
fn invalid_utf8_is_located_at_its_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.toml");
    let mut bytes = fs::read(shipped("web-peak.toml")).unwrap();
    let at = bytes.windows(5).position(|w| w == b"rate ").unwrap();
    bytes.insert(at + 2, 0xff);
    fs::write(&path, &bytes).unwrap();
    let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    for cmd in ["validate", "run"] {
        input_error(lbsim().arg(cmd).arg(&path), &[&format!("case.toml:{line}:3:"), "UTF-8"]);
    }
}

#[test]
fn integers_beyond_i64_do_not_unlocate_errors() {
    let text = mutant("web-peak.toml", &[("seed = 42", "seed = 18446744073709551616")]);
    refused(&text, &[&format!("case.toml:{}:", line_of(&text, "seed = ")), "`seed`"]);
    let text = mutant("web-peak.toml", &[("count = 10", "count = 18446744073709551616")]);
    refused(&text, &[&format!("case.toml:{}:", line_of(&text, "count = ")), "servers[0].count"]);
    // A big integer that is not the error leaves the real one located.
    let text =
        mutant("web-peak.toml", &[("weight = 1", "weight = -9223372036854775809"), ("rate = 900.0", "rate = -1.0")]);
    refused(&text, &["case.toml:"]);
}

#[test]
fn a_missing_required_key_has_a_line() {
    let text = mutant("web-peak.toml", &[("requests = 1_000_000", "# requests removed")]);
    refused(&text, &["`requests`", "missing required key"]);
}

#[test]
fn a_missing_trace_file_points_at_arrivals_file() {
    let text = mutant("trace-replay.toml", &[("file = \"traces/api-burst.csv\"", "file = \"traces/nope.csv\"")]);
    let (_dir, path) = case_with_traces(&text);
    input_error(
        lbsim().arg("validate").arg(&path),
        &[&format!("case.toml:{}:", line_of(&text, "file = ")), "arrivals.file", "nope.csv"],
    );
}

// ---- hints and statistics ----

#[test]
fn a_single_value_range_hint_keeps_the_unit() {
    let dir = tempfile::tempdir().unwrap();
    let out = lbsim()
        .arg("sweep")
        .arg(shipped("web-peak.toml"))
        .args(["--vary", "service.mean=5ms:15ms:1", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("write just `5ms`"), "{stderr}");
    // The hint works.
    let text = fs::read_to_string(shipped("web-peak.toml")).unwrap();
    let text = edit(&text, "requests = 1_000_000", "requests = 2000");
    let (d, path) = case_with_traces(&edit(&text, "warmup_requests = 20_000", "warmup_requests = 100"));
    let out = lbsim()
        .arg("sweep")
        .arg(&path)
        .args(["--vary", "service.mean=5ms", "--quiet", "--out"])
        .arg(d.path().join("out"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn nothing_is_best_when_nothing_completed() {
    let dir = tempfile::tempdir().unwrap();
    let out = lbsim()
        .arg("run")
        .arg(shipped("web-peak.toml"))
        .args(["--requests", "1", "--no-charts", "--quiet", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with('│') && !l.contains("strategy")).collect();
    assert_eq!(rows.len(), 11, "{stdout}");
    for r in rows {
        assert!(!r.contains('*'), "a best mark without a completed request: {r}");
    }
    assert!(stdout.contains("no measured request completed"), "{stdout}");
}

#[test]
fn a_shipped_scenario_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out: &Path = &dir.path().join("out");
    lbsim()
        .arg("run")
        .arg(shipped("gray-failure.toml"))
        .args(["--requests", "2000", "--no-charts", "--quiet", "--out"])
        .arg(out)
        .assert()
        .success();
    assert!(out.join("summary.csv").exists());
}

// ---- the fuzz target's property, under proptest (a short pass in every `cargo test`) ----

#[allow(dead_code, unreachable_pub)]
#[path = "../../fuzz/check.rs"]
mod check;
/// The fuzz target's mutations ([`mutate::mutate`]) and in-process check ([`check::in_process`]),
/// shared with `fuzz/` (run long with `cargo run --release --example fuzz`).
#[allow(dead_code, unreachable_pub)]
#[path = "../../fuzz/mutate.rs"]
mod mutate;

/// The fuzz corpus: the shipped scenarios and `fuzz/corpus/`.
fn corpus() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dir in [shipped(""), crate::common::repo().join("fuzz/corpus")] {
        let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        out.extend(paths.iter().map(|p| fs::read(p).unwrap()));
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// A mutant of a corpus seed is refused with a file and line, or runs with outcomes that
    /// add up; nothing panics.
    #[test]
    fn mutated_scenarios_are_refused_with_a_place_or_run(pick in 0usize..1000, seed in proptest::prelude::any::<u64>()) {
        use rand::SeedableRng;
        let corpus = corpus();
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let bytes = mutate::mutate(&mut rng, &corpus[pick % corpus.len()]);
        let (dir, _) = case_with_traces("");
        let limits = check::Limits { requests: 300, replications: 2, strategies: 2, max_work: 2e6, charts: false, simulate: true };
        let verdict = check::in_process(&bytes, &dir.path().join("case.toml"), &limits);
        proptest::prop_assert!(verdict.is_ok(), "{}\n--- input ---\n{}", verdict.unwrap_err(), String::from_utf8_lossy(&bytes));
    }
}
