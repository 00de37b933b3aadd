//! Helpers shared by the test modules: the command line, scenario texts, simulations and
//! the statistical assertions.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use lbsim::engine;
use lbsim::scenario::Scenario;
use lbsim::stats::RunStats;
use lbsim::stats::ci::mean_ci;
use rayon::prelude::*;

// ---- the command line ----

/// The `lbsim` binary built for this test run.
pub(crate) fn lbsim() -> Command {
    Command::cargo_bin("lbsim").unwrap()
}

/// The repository root (where `scenarios/` and `deploy/` live).
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A shipped scenario, by file name: `shipped("web-peak.toml")`.
pub(crate) fn shipped(name: &str) -> PathBuf {
    repo().join("scenarios").join(name)
}

/// `lbsim run SCENARIO --out OUT --quiet` plus `args`; asserts success.
pub(crate) fn run_quiet(scenario: &Path, out: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    lbsim().arg("run").arg(scenario).arg("--out").arg(out).arg("--quiet").args(args).assert().success()
}

/// The `label: …` lines (warnings, notes) of a terminal output, each joined with the
/// continuation lines it was wrapped onto (indented under its text).
pub(crate) fn labelled_lines(text: &str, label: &str) -> Vec<String> {
    let (head, indent) = (format!("{label}: "), " ".repeat(label.chars().count() + 2));
    let mut out: Vec<String> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with(&head) {
            out.push(line.to_string());
            inside = true;
        } else if inside && let Some(rest) = line.strip_prefix(&indent) {
            let last = out.last_mut().expect("a labelled line before");
            last.push(' ');
            last.push_str(rest);
        } else {
            inside = false;
        }
    }
    out
}

/// Writes `text` as `case.toml` in a fresh directory; returns (dir, scenario path).
pub(crate) fn case(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.toml");
    fs::write(&path, text).unwrap();
    (dir, path)
}

/// The names of the files in `dir`, sorted.
pub(crate) fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// `base` with the first `from` replaced by `to` (which must occur).
pub(crate) fn edit(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "{from}");
    base.replacen(from, to, 1)
}

/// Asserts that `cmd` exits with 2 and that its stderr names `case.toml:LINE`, contains every
/// needle and shows no panic. Returns the stderr.
pub(crate) fn assert_input_error(cmd: &mut Command, line: usize, needles: &[&str]) -> String {
    let assert = cmd.assert().code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains(&format!("case.toml:{line}:")), "no line {line} in: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "`{n}` missing from: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// `lbsim run` and `lbsim validate` both reject `text`: exit 2, stderr names `case.toml:LINE`
/// and every needle, no panic, and `run` writes nothing.
pub(crate) fn rejects(text: &str, line: usize, needles: &[&str]) {
    let (dir, path) = case(text);
    let out = dir.path().join("out");
    assert_input_error(lbsim().arg("run").arg(&path).arg("--out").arg(&out).arg("--quiet"), line, needles);
    assert!(!out.exists(), "output written despite the error");
    assert_input_error(lbsim().arg("validate").arg(&path), line, needles);
}

// ---- scenarios and simulations through the library ----

/// A scenario text for the commonest test pool: `top` (top-level keys), Poisson arrivals at
/// `rate` per second, exponential service with mean 10 ms (μ = 100/s at speed 1) and one
/// server group `group` of `count` servers. `more` follows the group's `count` line, so it
/// may continue the group (`workers = 4`) before it adds tables (`[[faults]]`, `[keys]` …).
pub(crate) fn mm_pool(top: &str, rate: f64, group: &str, count: u32, more: &str) -> String {
    format!(
        "{top}\n[arrivals]\nprocess = \"poisson\"\nrate = {rate:?}\n\
         [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
         [[servers]]\nname = \"{group}\"\ncount = {count}\n{more}"
    )
}

/// Parses a scenario text (no file), panicking with the error message if it is invalid.
pub(crate) fn scenario(text: &str) -> Scenario {
    Scenario::parse(text, None).unwrap_or_else(|e| panic!("{e}"))
}

/// One simulation: strategy number `strategy` of the scenario, replication `replication`.
pub(crate) fn sim(sc: &Scenario, strategy: usize, replication: u32) -> RunStats {
    engine::simulate(sc, &sc.strategies[strategy], replication, &|_| {})
}

/// Replications 0 … `reps` − 1 of strategy number `strategy`, in parallel.
pub(crate) fn replications(sc: &Scenario, strategy: usize, reps: u32) -> Vec<RunStats> {
    (0..reps).into_par_iter().map(|r| sim(sc, strategy, r)).collect()
}

// ---- statistical assertions ----

/// Confidence level of [`assert_in_ci`]: a correct simulator fails one such check with
/// probability 0.1% (deterministically, since the seeds are fixed), a biased one as soon as
/// its bias exceeds a few standard errors.
pub(crate) const CI_LEVEL: f64 = 0.999;

/// Asserts that `expected` lies in the 99.9% Student-t confidence interval of the mean of the
/// per-replication `samples` (independent replications, so the width comes from their spread,
/// never from tuning). Returns the interval (mean, half-width).
pub(crate) fn assert_in_ci(what: &str, samples: &[f64], expected: f64) -> (f64, f64) {
    let (mean, half) = mean_ci(samples, CI_LEVEL);
    let half = half.expect("two or more replications");
    eprintln!(
        "{what}: simulated {mean:.6} ± {half:.6} (99.9%), expected {expected:.6}, rel. diff {:+.3}%",
        100.0 * (mean - expected) / expected
    );
    assert!(
        (mean - expected).abs() <= half,
        "{what}: {expected} outside simulated {mean} ± {half} (99.9% CI over {} replications)",
        samples.len()
    );
    (mean, half)
}
/// z of the normal-approximation checks ([`assert_within_z`]): a two-sided tail of
/// 2·(1 − Φ(5)) = 5.7·10⁻⁷, so a correct simulator fails one of them about once in
/// 1.7 million seeds.
pub(crate) const Z: f64 = 5.0;

/// Asserts |`value` − `expected`| ≤ [`Z`] · `se` + `bias`, where `se` is the estimate's
/// standard error (binomial, Poisson or CLT, derived by the caller) and `bias` a bound on a
/// deterministic edge effect the caller derived (0 where there is none).
pub(crate) fn assert_within_z(what: &str, value: f64, expected: f64, se: f64, bias: f64) {
    let z = (value - expected) / se;
    eprintln!("{what}: {value:.6}, expected {expected:.6}, se {se:.3e}, z = {z:+.2}, bias bound {bias:.2e}");
    assert!(
        (value - expected).abs() <= Z * se + bias,
        "{what}: {value} vs {expected} (z = {z:.2}, se {se}, bias bound {bias})"
    );
}
