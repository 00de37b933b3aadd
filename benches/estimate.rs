//! `cargo bench --bench estimate`: what `lbsim validate` estimates against what `lbsim run`
//! uses, over every shipped scenario, the cases issue 29 found outside the estimate and
//! issue 25's hash tables per balancer instance.
//!
//! For each case the estimate is computed in process ([`lbsim::budget::estimate`], as
//! `validate` and `run` compute it) and the release binary runs the scenario with every
//! output (charts, report.html; `--format json` where the case says so), read with `wait4`:
//! - **memory**: the child's peak resident set must not exceed the estimate by more than the
//!   allocator's own overhead, [`ALLOCATOR`] (the estimate is what the `--max-memory` refusal
//!   compares; a run far above it could pass the check and still exhaust the machine);
//! - **time**: the child's CPU time (user + system, all threads) against the estimated work
//!   at [`EVENT_SECONDS`] an event. A case whose CPU time is more than [`MISSED`] times the
//!   estimate plus [`FLOOR_SECONDS`] has work the estimate does not see (a run that could be
//!   slow without the slow-run warning); one estimated slow ([`lbsim::budget::SLOW_WORK`])
//!   must be warned about on stderr even with `--quiet`.
//!
//! Prints one row per case and fails (exit 1) on a miss. CPU time, not wall time, so that a
//! busy machine does not make a case look slow. `LBSIM_BENCH_QUICK=1` skips the cases that
//! take more than a few seconds (the large pools).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use lbsim::budget;
use lbsim::scenario::Scenario;

/// CPU seconds per event of the estimate's work (`SLOW_WORK` = 10⁸ events is "half a minute
/// of one core").
const EVENT_SECONDS: f64 = 0.3e-6;

/// Resident memory over allocated memory that belongs to the allocator (glibc's per-thread
/// arenas and fragmentation), not to data the estimate misses: web-peak-failure peaks at
/// 24.7 MB of heap (valgrind massif) and 34.5 MB resident, estimated 30.9 MiB.
const ALLOCATOR: f64 = 1.25;

/// A case whose CPU time exceeds `MISSED` × the estimated time + [`FLOOR_SECONDS`] has work
/// the estimate misses.
const MISSED: f64 = 3.0;

/// CPU time every run has besides the simulation (start, reading, the charts and the page).
const FLOOR_SECONDS: f64 = 3.0;

/// A case: a scenario file (shipped or written here) and extra arguments to `lbsim run`.
struct Case {
    name: String,
    file: PathBuf,
    args: Vec<String>,
    /// Takes more than a few seconds (left out with `LBSIM_BENCH_QUICK`).
    large: bool,
}

/// A scenario of `servers` servers (10 ms exponential service, ρ = 0.9) with `strategies`
/// and an extra section, written under `dir`.
fn written(dir: &Path, name: &str, servers: u64, requests: u64, strategies: &str, extra: &str) -> PathBuf {
    let rate = servers as f64 * 90.0;
    let text = format!(
        "name = \"{name}\"\nseed = 1\nrequests = {requests}\nstrategies = [{strategies}]\n{extra}\n\
         [arrivals]\nprocess = \"poisson\"\nrate = {rate}\n\n[service]\ndistribution = \"exponential\"\n\
         mean = \"10ms\"\n\n[[servers]]\nname = \"s\"\ncount = {servers}\n"
    );
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).expect("write a case");
    file
}

/// `[balancers]` of `count` sidecars, each with a random subset of 10 servers and its own
/// outstanding requests (issue 25: each hash-based instance holds its own table).
fn subsets(count: u32) -> String {
    format!(
        "[balancers]\ncount = {count}\nassign = \"random\"\nview = \"local\"\nsubset = {{ size = 10, kind = \"random\" }}\n"
    )
}

/// Every shipped scenario, then issue 29's and issue 25's cases.
fn cases(dir: &Path) -> Vec<Case> {
    let mut shipped: Vec<PathBuf> = std::fs::read_dir("scenarios")
        .expect("scenarios/ (run from the repository root)")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    shipped.sort();
    let mut out: Vec<Case> = shipped
        .into_iter()
        .map(|file| Case {
            name: file.file_stem().unwrap().to_string_lossy().into_owned(),
            file,
            args: Vec::new(),
            large: false,
        })
        .collect();
    let json = ["--format", "json"].map(String::from).to_vec();
    out.extend([
        Case {
            name: "100k servers, json".into(),
            file: written(dir, "wide-json", 100_000, 200_000, "\"round-robin\", \"random\"", ""),
            args: json,
            large: true,
        },
        Case {
            name: "10k balancers, lc".into(),
            file: written(dir, "balancers", 1000, 20_000, "\"least-connections\"", "[balancers]\ncount = 10000\n"),
            args: Vec::new(),
            large: true,
        },
        Case {
            name: "maglev, 300 subsets".into(),
            file: written(dir, "maglev-subsets", 300, 100_000, "\"maglev\"", &subsets(300)),
            args: Vec::new(),
            large: false,
        },
        Case {
            name: "maglev, 10k subsets".into(),
            file: written(dir, "maglev-subsets-10k", 300, 20_000, "\"maglev\"", &subsets(10_000)),
            args: Vec::new(),
            large: true,
        },
        Case {
            name: "rendezvous, 100k servers".into(),
            file: written(dir, "rendezvous", 100_000, 20_000, "\"rendezvous\"", "[keys]\ncount = 1000000\n"),
            args: Vec::new(),
            large: true,
        },
        Case {
            name: "p2c choices = 100k".into(),
            file: written(dir, "choices", 100_000, 20_000, "{ name = \"p2c\", choices = 100000 }", ""),
            args: Vec::new(),
            large: true,
        },
    ]);
    out
}

fn main() {
    let quick = std::env::var_os("LBSIM_BENCH_QUICK").is_some();
    let bin = env!("CARGO_BIN_EXE_lbsim");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let threads = budget::threads_or_cores(None);
    println!("estimate against use: `lbsim run` of each case with every output, {threads} thread(s)");
    println!(
        "{:<26} {:>9} {:>9} {:>6}   {:>9} {:>9} {:>6}  verdict",
        "case", "est MiB", "RSS MiB", "ratio", "est CPU s", "CPU s", "ratio"
    );
    let mut misses = 0;
    for case in cases(dir.path()) {
        if quick && case.large {
            continue;
        }
        let text = std::fs::read_to_string(&case.file).expect("read the case");
        let sc = Scenario::parse(&text, Some(&case.file)).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let est = budget::estimate(&sc, threads);
        let out = dir.path().join("out");
        let _ = std::fs::remove_dir_all(&out);
        let mut cmd = Command::new(bin);
        cmd.args(["--max-memory", "90%", "run"]).arg(&case.file).args(["--quiet", "--out"]).arg(&out).args(&case.args);
        let used = common::run_child(&mut cmd);
        let (est_mib, rss_mib) = (est.memory as f64 / 1048576.0, used.rss_kib as f64 / 1024.0);
        let est_cpu = est.work * EVENT_SECONDS;
        let mut verdict = Vec::new();
        if rss_mib > ALLOCATOR * est_mib {
            verdict.push("MEMORY ABOVE THE ESTIMATE");
        }
        if used.cpu > MISSED * est_cpu + FLOOR_SECONDS {
            verdict.push("WORK MISSED BY THE ESTIMATE");
        }
        if est.is_slow() && !used.stderr.contains("slow") {
            verdict.push("SLOW WITHOUT A WARNING");
        }
        misses += usize::from(!verdict.is_empty());
        println!(
            "{:<26} {:>9.1} {:>9.1} {:>6.2}   {:>9.2} {:>9.2} {:>6.2}  {}",
            case.name,
            est_mib,
            rss_mib,
            rss_mib / est_mib,
            est_cpu,
            used.cpu,
            used.cpu / est_cpu.max(1e-9),
            if verdict.is_empty() { "ok".to_string() } else { verdict.join(", ") }
        );
    }
    if misses > 0 {
        eprintln!("{misses} case(s) outside the estimate");
        std::process::exit(1);
    }
}
