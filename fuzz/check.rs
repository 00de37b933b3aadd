//! What the fuzzer asserts of one input: in process (parse → validate → resource budget →
//! a short simulation → every output rendered), and through the `lbsim` binary (exit codes,
//! messages, no hang).
//!
//! The properties:
//! - no panic, anywhere (the caller catches them) and no hang (the caller's watchdog);
//! - every refusal is an input error with a place: the scenario file (or its trace) and a
//!   line (`FILE:LINE:`), or a command-line option for what an option changed;
//! - a scenario that passes validation and the budget runs: every strategy's outcomes add
//!   up (conservation), every output renders;
//! - the binary exits 0 or 2, never anything else; with 2 its message starts
//!   `error: FILE:LINE:` and it agrees with the in-process verdict.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lbsim::report::{self, Warning};
use lbsim::run::{self, RunOptions};
use lbsim::scenario::{Overrides, Scenario, ScenarioError, text_from_bytes};
use lbsim::{budget, memory};

/// Limits of one in-process check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Requests per replication at most (larger scenarios are cut to this).
    pub(crate) requests: u64,
    /// Replications at most.
    pub(crate) replications: u32,
    /// Strategies at most (the first ones).
    pub(crate) strategies: usize,
    /// Work (budget estimate, events) above which the simulation is skipped.
    pub(crate) max_work: f64,
    /// Draw the charts too.
    pub(crate) charts: bool,
    /// Simulate a valid input (else stop once it is validated, budgeted and its `validate`
    /// text rendered).
    pub(crate) simulate: bool,
}

/// How an input ended, when nothing went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Verdict {
    /// Not UTF-8.
    RefusedText,
    /// Refused by parsing or validation.
    RefusedScenario,
    /// Valid, refused by the resource budget.
    RefusedBudget,
    /// Valid, refused once cut short (the limits with fewer requests).
    RefusedShortened,
    /// Valid, but too much work for a fuzz input: not simulated.
    SkippedWork,
    /// Valid, validated and budgeted, not simulated this time (one in `--simulate-every` is).
    Validated,
    /// Simulated, outputs rendered.
    Ran,
    /// A command of the binary ended as it must, with this exit code (the commands and files
    /// stages).
    Binary(u8),
    /// A peer attacked, lbsim held (the network stage).
    Peer,
    /// Checked in process only, as the binary would end before its first output: 0
    /// accepted, 1 an environment error, 2 refused (the commands and files stages).
    Library(u8),
}

impl Verdict {
    /// Whether `lbsim validate` must accept the input.
    pub(crate) fn valid(self) -> bool {
        !matches!(self, Verdict::RefusedText | Verdict::RefusedScenario | Verdict::RefusedBudget)
    }
}

/// An error must point at a file and a line.
fn located(e: &ScenarioError, stage: &str) -> Result<(), String> {
    if e.file.is_some() && e.line.is_some() {
        Ok(())
    } else {
        Err(format!("{stage}: an error without a file and line: {e}"))
    }
}

/// Runs one input through the library; `Err` is a failure of lbsim.
pub(crate) fn in_process(bytes: &[u8], file: &Path, limits: &Limits) -> Result<Verdict, String> {
    let text = match text_from_bytes(bytes.to_vec(), Some(file)) {
        Ok(t) => t,
        Err(e) => return located(&e, "utf-8").map(|()| Verdict::RefusedText),
    };
    let mut sc = match Scenario::parse(&text, Some(file)) {
        Ok(sc) => sc,
        Err(e) => return located(&e, "parse").map(|()| Verdict::RefusedScenario),
    };
    // What `lbsim validate` computes and prints.
    let usage = match budget::check(&sc, budget::threads_or_cores(None), memory::memory_limit(), "the run") {
        Ok(u) => u,
        Err(e) => return located(&e, "budget").map(|()| Verdict::RefusedBudget),
    };
    let preflight = lbsim::analysis::Preflight::with_static_loads(&sc);
    let _ = report::validate_text::render(&sc, file, &usage, &preflight);
    let _ = Warning::of_scenario(&sc, &preflight);
    if !limits.simulate {
        return Ok(Verdict::Validated);
    }
    // Cut it short.
    let overrides = Overrides {
        requests: Some(sc.requests.min(limits.requests)),
        replications: Some(sc.replications.min(limits.replications)),
        ..Overrides::default()
    };
    if let Err(e) = overrides.apply(&mut sc) {
        if e.key.as_deref().is_some_and(|k| k.starts_with("--")) {
            return Ok(Verdict::RefusedShortened);
        }
        return located(&e, "shortened").map(|()| Verdict::RefusedShortened);
    }
    sc.strategies.truncate(limits.strategies);
    if budget::estimate(&sc, 1).work > limits.max_work {
        return Ok(Verdict::SkippedWork);
    }
    let report = match run::run(&sc, &RunOptions { threads: Some(1), progress: false }) {
        Ok(r) => r,
        Err(e) if e.is_input() => return Ok(Verdict::RefusedShortened),
        Err(e) => return Err(format!("run: an environment error on a valid scenario: {e}")),
    };
    for s in &report.strategies {
        if !s.total.is_conserved() || !s.measured.is_conserved() {
            return Err(format!("run: {}: outcomes do not add up: {:?} / {:?}", s.label, s.total, s.measured));
        }
    }
    let _ = report::run::terminal::render(&report, false);
    summary_values(&report)?;
    for e in report::run::exporters(limits.charts) {
        if e.wanted(&report) {
            e.render(&report).map_err(|err| format!("render {}: {err}", e.file_name()))?;
        }
    }
    Ok(Verdict::Ran)
}

/// Every number of summary.csv is finite, and within its physical bounds: times (`_ms`) and
/// confidence half-widths (`_ci95`) not negative, the utilization from 0 to 1 (issue 29). A
/// half-width has no upper bound: over 2 replications t₀.₉₇₅ = 12.7 makes a utilization's
/// exceed 1 (the table shows such an interval clipped to the bound).
fn summary_values(report: &report::run::Report) -> Result<(), String> {
    use report::Exporter;
    let bytes = report::run::summary_csv::SummaryCsv.render(report).map_err(|e| format!("summary.csv: {e}"))?;
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = r.headers().map_err(|e| e.to_string())?.iter().map(str::to_string).collect();
    for row in r.records() {
        let row = row.map_err(|e| e.to_string())?;
        for (h, cell) in header.iter().zip(row.iter()) {
            let Ok(x) = cell.parse::<f64>() else { continue };
            let bad = !x.is_finite()
                || ((h.ends_with("_ms") || h.ends_with("_ci95")) && x < 0.0)
                || (h == "utilization" && !(0.0..=1.0 + 1e-9).contains(&x));
            if bad {
                return Err(format!("summary.csv: `{h}` = {cell} ({})", &row[0]));
            }
        }
    }
    Ok(())
}

/// Runs `bin` with `args`; `Err` after `timeout` (the child is killed).
fn run_bin(bin: &Path, args: &[&str], timeout: Duration) -> Result<(i32, String), String> {
    run_bin_with(bin, args, timeout, Stdio::null(), Path::new("."))
}

/// Starts `bin` with `args` in `cwd`, stdin empty, stdout to `stdout`; the child and a thread
/// reading its stderr as it comes (its first MiB; a chatty child must not block on a full
/// pipe).
pub(crate) fn spawn(
    bin: &Path,
    args: &[&str],
    stdout: Stdio,
    cwd: &Path,
) -> Result<(std::process::Child, std::thread::JoinHandle<String>), String> {
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let mut err = child.stderr.take().expect("a piped stderr");
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = Vec::new();
        let _ = err.by_ref().take(1 << 20).read_to_end(&mut buf);
        let _ = std::io::copy(&mut err, &mut std::io::sink());
        String::from_utf8_lossy(&buf).into_owned()
    });
    Ok((child, reader))
}

/// A child's exit code, or minus the signal that ended it.
pub(crate) fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| -status.signal().unwrap_or(0))
}

/// Runs `bin` with `args` in `cwd`, its stdout to `stdout`; its exit code (−signal when a
/// signal ended it) and stderr; `Err` after `timeout` of CPU time (the child is killed).
pub(crate) fn run_bin_with(
    bin: &Path,
    args: &[&str],
    timeout: Duration,
    stdout: Stdio,
    cwd: &Path,
) -> Result<(i32, String), String> {
    let (mut child, reader) = spawn(bin, args, stdout, cwd)?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok((exit_code(status), reader.join().unwrap_or_default()));
        }
        // CPU time, so that a slow share of a busy machine is not a hang (wall time: 10×).
        let cpu = child_cpu_seconds(child.id()).unwrap_or(0.0);
        if cpu > timeout.as_secs_f64() || started.elapsed() > 10 * timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("HANG: `lbsim {}` still running after {timeout:?} (CPU {cpu:.1}s)", args.join(" ")));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// CPU time (user and system) process `pid` has used, seconds, from `/proc/PID/stat`.
fn child_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz.max(1.0))
}

/// The exit code and message discipline of one run of the binary.
fn discipline(what: &str, code: i32, stderr: &str) -> Result<(), String> {
    match code {
        0 => Ok(()),
        2 => {
            let first = stderr.lines().next().unwrap_or("");
            let rest =
                first.strip_prefix("error: ").ok_or_else(|| format!("{what}: exit 2 without `error: `: {stderr}"))?;
            if stderr.contains("panicked") {
                return Err(format!("{what}: a panic message: {stderr}"));
            }
            // `FILE:LINE:` (a path, then a line number), or an option (`--requests`).
            let located = rest.starts_with('`')
                || rest
                    .split(": ")
                    .next()
                    .and_then(|place| place.split(':').nth(1))
                    .is_some_and(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()));
            if located { Ok(()) } else { Err(format!("{what}: an error without FILE:LINE: {first}")) }
        }
        other => Err(format!("{what}: exit code {other}: {stderr}")),
    }
}

/// Runs the binary on `file` (`validate`, then, if `run`, a short `run` into `out`) and
/// checks its exit codes and messages against the in-process `verdict`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawned(
    bin: &Path,
    file: &Path,
    out: &Path,
    verdict: Verdict,
    limits: &Limits,
    max_memory: &str,
    run: bool,
    timeout: Duration,
) -> Result<(), String> {
    let f = file.to_str().expect("a UTF-8 temporary path");
    let (code, err) = run_bin(bin, &["--max-memory", max_memory, "validate", f], timeout)?;
    discipline("validate", code, &err)?;
    if (code == 0) != verdict.valid() {
        return Err(format!("validate exited {code}, but in process the verdict is {verdict:?}: {err}"));
    }
    if code != 0 || !run {
        return Ok(());
    }
    let requests = limits.requests.to_string();
    let replications = limits.replications.to_string();
    let o = out.to_str().expect("a UTF-8 temporary path");
    let args = [
        "--max-memory",
        max_memory,
        "run",
        f,
        "--requests",
        &requests,
        "--replications",
        &replications,
        "--threads",
        "1",
        "--quiet",
        "--no-charts",
        "--format",
        "csv",
        "--out",
        o,
    ];
    let (code, err) = run_bin(bin, &args, timeout)?;
    discipline("run", code, &err)?;
    if code == 0 && !out.join("summary.csv").exists() {
        return Err("run: exit 0 but no summary.csv".into());
    }
    Ok(())
}
