//! lbsim's fuzz target, on the stable toolchain: mutated scenarios (structured and raw
//! mutations of a seed corpus, [`mutate`]) through parse → validate → the resource budget →
//! a short simulation → every output, in process, and a sample of them through the `lbsim`
//! binary ([`check`]). It fails on a panic, a hang (a watchdog), an error without a place,
//! an exit code other than 0 or 2, or a disagreement between the binary and the library.
//!
//! ```text
//! cargo run --release --example fuzz -- --seconds 60             # what CI runs
//! cargo run --release --example fuzz -- --inputs 1000000         # a long run
//! cargo run --release --example fuzz -- --replay fuzz/failures/x.toml
//! ```
//!
//! The other stages (`--stage`): mutated traces, every command's flags and the damaged files
//! lbsim reads back ([`commands`], each input checked in process first by [`library`], one in
//! `--binary-every` through the binary), hostile peers on loopback ([`network`]). A long run
//! stays in process (`--simulate-every`, `--binary-every`, `--network-every`, `--weights`;
//! docs/validation.md gives the 10⁶-input command) and splits into parallel processes by
//! `--start` ranges.
//!
//! The corpus is every shipped scenario (`scenarios/*.toml`) and `fuzz/corpus/*.toml` (the
//! reproductions of issue 10). Input `i` of seed `S` is a pure function of `(S, i)`: a
//! failure is saved under `fuzz/failures/` and printed with its seed and index, and
//! `--seed S --start i --inputs 1` regenerates it.

mod check;
mod commands;
mod library;
mod mutate;
mod network;

// The binary's command line and option checks, compiled in for the in-process half of the
// commands stage ([`library::flags`]); what only the binary's commands use stays unused here.
#[allow(dead_code, unreachable_pub)]
#[path = "../src/cli.rs"]
mod cli;
#[cfg(feature = "real")]
#[allow(dead_code, unreachable_pub)]
#[path = "../src/cli_real.rs"]
mod cli_real;
#[allow(dead_code, unreachable_pub)]
#[path = "../src/options.rs"]
mod options;
#[allow(dead_code, unused_imports, unused_macros, unreachable_pub)]
#[path = "../src/out.rs"]
mod out;

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use check::{Limits, Verdict};

/// The fuzzer's options.
#[derive(Parser, Debug)]
#[command(about = "Fuzz lbsim's front door with mutated scenarios")]
struct Args {
    /// Stop after this many seconds.
    #[arg(long)]
    seconds: Option<f64>,
    /// Stop after this many inputs (the corpus seeds included).
    #[arg(long)]
    inputs: Option<u64>,
    /// Seed of the mutations.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Index of the first input (to regenerate one).
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Run the binary on one input in this many (and on every corpus seed); 0: never.
    #[arg(long, default_value_t = 200)]
    spawn_every: u64,
    /// Simulate one valid scenario or trace input in this many (the others stop once
    /// validated and budgeted, a fraction of the time); 0: never.
    #[arg(long, default_value_t = 1)]
    simulate_every: u64,
    /// Draw the charts of one simulated input in this many; 0: never.
    #[arg(long, default_value_t = 500)]
    charts_every: u64,
    /// An input still running after this many seconds of CPU time (or ten times as many of
    /// wall time) is a hang.
    #[arg(long, default_value_t = 60.0)]
    hang_seconds: f64,
    /// Requests per replication at most in a simulation.
    #[arg(long, default_value_t = 1000)]
    requests: u64,
    /// Work (estimated events) above which a valid input is not simulated.
    #[arg(long, default_value_t = 2e6)]
    max_work: f64,
    /// One simulated input in this many is a larger run: 20 times `--requests`, under 10
    /// times `--max-work` (and the CPU-time watchdog); 0: never.
    #[arg(long, default_value_t = 50)]
    large_every: u64,
    /// The memory limit, in process and for the binary.
    #[arg(long, default_value = "1G")]
    max_memory: String,
    /// The lbsim binary [default: target/release/lbsim next to this example].
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Where failing inputs are saved.
    #[arg(long, default_value = "fuzz/failures")]
    failures: PathBuf,
    /// Check these files only (no mutation), e.g. a saved failure.
    #[arg(long, num_args = 1..)]
    replay: Vec<PathBuf>,
    /// What is fuzzed: mutated scenarios, mutated traces, every command's arguments, damaged
    /// files lbsim reads back, hostile peers on loopback, or all of them in turn.
    #[arg(long, value_enum, default_value_t = Stage::Scenario)]
    stage: Stage,
    /// Run the binary on one commands or files input in this many (every one is checked in
    /// process first, [`library`]); 0: never.
    #[arg(long, default_value_t = 1)]
    binary_every: u64,
    /// In the `all` stage, one input in this many is a network one (0: none).
    #[arg(long, default_value_t = 20)]
    network_every: u64,
    /// In the `all` stage, the shares of the scenario, trace, commands and files stages among
    /// the inputs that are not network ones (a long run in process shifts them to the cheap
    /// stages).
    #[arg(long, value_name = "S,T,C,F", value_delimiter = ',', default_values_t = [12, 2, 3, 2])]
    weights: Vec<u64>,
}

/// A stage of the fuzzer.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// Mutated scenarios through the library and the binary.
    Scenario,
    /// Mutated traces (of scenarios/traces) behind trace-replay.toml.
    Trace,
    /// Every command of the binary with generated arguments.
    Commands,
    /// Damaged output directories read back by compare, merge and sweep --resume.
    Files,
    /// Hostile clients against `backends`, hostile targets for `load` (loopback).
    Network,
    /// All of them, input by input: one in `--network-every` (20) a network one, the others
    /// by `--weights` (of 19: 12 scenario, 2 trace, 3 commands, 2 files).
    All,
}

impl Stage {
    /// The stage of input `index`: in the `all` stage one in `network_every` a network one,
    /// the others in turn by `weights` (scenario, trace, commands, files).
    fn at(self, index: u64, network_every: u64, weights: &[u64]) -> Stage {
        if self != Stage::All {
            return self;
        }
        if network_every > 0 && index % network_every == network_every - 1 {
            return Stage::Network;
        }
        let total: u64 = weights.iter().sum();
        let mut slot = index % total.max(1);
        for (stage, &w) in [Stage::Scenario, Stage::Trace, Stage::Commands, Stage::Files].into_iter().zip(weights) {
            if slot < w {
                return stage;
            }
            slot -= w;
        }
        Stage::Scenario
    }
}

/// The seeds: every shipped scenario and the corpus of reproductions, sorted by path.
fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["scenarios", "fuzz/corpus"] {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut paths: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
        paths.sort();
        for p in paths {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            out.push((p, bytes));
        }
    }
    assert!(!out.is_empty(), "no corpus: run from the repository root");
    out
}

/// The panic messages caught since the last call (the hook records instead of printing).
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info.location().map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
        // The main thread's panics are the fuzzer's own (a fixture that cannot be made): say them.
        if std::thread::current().name() == Some("main") {
            eprintln!("fuzz: panicked{at}: {msg}");
        }
        if let Ok(mut p) = PANICS.lock() {
            p.push(format!("panicked{at}: {msg}"));
        }
    }));
}

/// Input `index` of seed `seed`: a corpus seed as is for the first ones, then mutants.
fn input(seed: u64, index: u64, corpus: &[(PathBuf, Vec<u8>)]) -> (String, Vec<u8>) {
    if (index as usize) < corpus.len() {
        let (p, b) = &corpus[index as usize];
        return (format!("seed {}", p.display()), b.clone());
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let k = rng.random_range(0..corpus.len());
    (format!("mutant of {}", corpus[k].0.display()), mutate::mutate(&mut rng, &corpus[k].1))
}

/// The trace stage's seeds (scenarios/traces/*.csv) and where its input is written.
struct TraceSeeds {
    dir: PathBuf,
    seeds: Vec<(PathBuf, Vec<u8>)>,
}

/// Every trace of scenarios/traces, sorted by path.
fn trace_seeds() -> Vec<(PathBuf, Vec<u8>)> {
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir("scenarios/traces").map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    paths.sort();
    paths.into_iter().map(|p| (p.clone(), std::fs::read(&p).expect("a trace"))).collect()
}

/// Input `index` of the trace stage: a raw mutant of a trace, written to traces/fuzz.csv.
fn trace_input(seed: u64, index: u64, traces: &TraceSeeds) -> (String, Vec<u8>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let (p, b) = &traces.seeds[rng.random_range(0..traces.seeds.len())];
    let bytes = mutate::mutate_raw(&mut rng, b);
    std::fs::write(traces.dir.join("fuzz.csv"), &bytes).expect("write the trace");
    (format!("mutant of {}", p.display()), bytes)
}

/// A work item for the checking thread, and its answer.
type Job = Box<dyn FnOnce() -> Answer + Send>;
type Answer = Result<Verdict, String>;

/// Starts the thread that checks inputs in process (so that a hang can be noticed).
fn checker() -> (mpsc::Sender<Job>, mpsc::Receiver<Answer>) {
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let (ans_tx, ans_rx) = mpsc::channel::<Answer>();
    std::thread::spawn(move || {
        for job in job_rx {
            PANICS.lock().map(|mut p| p.clear()).ok();
            let result = panic::catch_unwind(AssertUnwindSafe(job));
            let answer = match result {
                Ok(r) => r,
                Err(_) => Err(PANICS.lock().map(|p| p.join("; ")).unwrap_or_else(|_| "a panic".into())),
            };
            if ans_tx.send(answer).is_err() {
                return;
            }
        }
    });
    (job_tx, ans_rx)
}

/// CPU time (user and system) this process has used, seconds.
pub(crate) fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes only into the struct we pass.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// The checking thread's answer, or `None` once it has used `hang` of CPU time (the process's,
/// which is the checking thread's while this one waits) or ten times that of wall time. CPU
/// time, so that a fuzzer run at `nice -n 19` on a busy machine does not call a slow share
/// of the CPU a hang.
fn wait_cpu(answers: &mpsc::Receiver<Answer>, hang: Duration) -> Option<Answer> {
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    loop {
        match answers.recv_timeout(Duration::from_millis(500)) {
            Ok(r) => return Some(r),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Some(Err("the checking thread died".into())),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if cpu_seconds() - cpu0 > hang.as_secs_f64() || wall0.elapsed() > 10 * hang {
                    return None;
                }
            }
        }
    }
}

/// The in-process answer for an input whose binary exit code is `binary`: an input refused in
/// process (2) must be refused by the binary too.
fn agree(library: u8, binary: u8) -> Result<u8, String> {
    if library == 2 && binary != 2 {
        return Err(format!("refused in process (exit 2), but the binary exited {binary}"));
    }
    Ok(binary)
}

/// Raises this process's soft limit of open files to its hard limit (the network stage holds
/// 10,000 idle connections; `lbsim backends` started from here inherits the limit).
fn raise_open_files() {
    // SAFETY: getrlimit and setrlimit read and write only the struct we pass.
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

/// Peak resident memory of this process, KiB.
fn peak_rss_kib() -> i64 {
    // SAFETY: getrusage writes only into the struct we pass.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u.ru_maxrss
    }
}

fn main() {
    let args = Args::parse();
    if args.weights.len() != 4 || args.weights.iter().all(|&w| w == 0) {
        eprintln!("--weights takes four numbers, not all 0: scenario,trace,commands,files");
        std::process::exit(2);
    }
    install_panic_hook();
    raise_open_files();
    let bytes = lbsim::memory::parse_size(&args.max_memory).expect("--max-memory");
    lbsim::memory::set_memory_limit(bytes);
    let bin = args.bin.clone().unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("the example's path");
        exe.parent().and_then(Path::parent).map(|d| d.join("lbsim")).expect("target/<profile>/")
    });
    if args.spawn_every > 0 && !bin.exists() {
        eprintln!("no lbsim binary at {} (build it: cargo build --release), or pass --spawn-every 0", bin.display());
        std::process::exit(2);
    }
    // A scratch directory laid out like scenarios/ (traces/ beside the input).
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let traces = tmp.path().join("traces");
    std::fs::create_dir_all(&traces).expect("traces/");
    for e in std::fs::read_dir("scenarios/traces").into_iter().flatten().flatten() {
        std::fs::copy(e.path(), traces.join(e.file_name())).expect("copy a trace");
    }
    let file = tmp.path().join("input.toml");
    // The trace stage's scenario: trace-replay.toml reading traces/fuzz.csv.
    let trace_scenario = std::fs::read_to_string("scenarios/trace-replay.toml")
        .expect("scenarios/trace-replay.toml")
        .replace("traces/api-burst.csv", "traces/fuzz.csv")
        .into_bytes();
    let traces = TraceSeeds { dir: traces.clone(), seeds: trace_seeds() };
    let mut commands: Option<commands::Commands> = None;
    let mut network: Option<network::Network> = None;
    let out = tmp.path().join("out");
    let corpus = corpus();
    let hang = Duration::from_secs_f64(args.hang_seconds);
    let (jobs, answers) = checker();
    // Runs a job on the checking thread: its answer, or a hang.
    let ask = |job: Job| -> Answer {
        jobs.send(job).expect("the checking thread");
        wait_cpu(&answers, hang)
            .unwrap_or_else(|| Err(format!("HANG: still running after {hang:?} of CPU time in process")))
    };
    let limits = |i: u64| {
        let simulate = args.simulate_every > 0 && i.is_multiple_of(args.simulate_every);
        let large = simulate && args.large_every > 0 && (i / args.simulate_every).is_multiple_of(args.large_every);
        let scale = if large { (20, 10.0) } else { (1, 1.0) };
        Limits {
            requests: args.requests.saturating_mul(scale.0),
            replications: 2,
            strategies: 3,
            max_work: args.max_work * scale.1,
            charts: args.charts_every > 0 && i.is_multiple_of(args.charts_every),
            simulate,
        }
    };

    let replaying = !args.replay.is_empty();
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut counts: BTreeMap<Verdict, u64> = BTreeMap::new();
    let mut stages: BTreeMap<Stage, (u64, u64)> = BTreeMap::new();
    let (mut done, mut spawned, mut failures) = (0u64, 0u64, 0u64);
    let mut index = args.start;
    loop {
        if args.inputs.is_some_and(|n| done >= n)
            || args.seconds.is_some_and(|s| started.elapsed().as_secs_f64() >= s)
            || (replaying && done as usize >= args.replay.len())
        {
            break;
        }
        let is_seed = !replaying && index < corpus.len() as u64 && matches!(args.stage, Stage::Scenario | Stage::All);
        let stage = if replaying || is_seed {
            Stage::Scenario
        } else {
            args.stage.at(index, args.network_every, &args.weights)
        };
        let mut result: Result<Verdict, String>;
        let (what, bytes, ext, hung);
        if matches!(stage, Stage::Scenario | Stage::Trace) {
            let (w, b) = if replaying {
                let p = &args.replay[done as usize];
                (format!("replay of {}", p.display()), std::fs::read(p).expect("the file to replay"))
            } else if stage == Stage::Trace {
                trace_input(args.seed, index, &traces)
            } else {
                input(args.seed, index, &corpus)
            };
            // A trace input is the trace; the scenario replaying it is trace-replay.toml's.
            let scenario = if stage == Stage::Trace { trace_scenario.clone() } else { b.clone() };
            let lim = limits(index);
            let (sc, f) = (scenario.clone(), file.clone());
            result = ask(Box::new(move || check::in_process(&sc, &f, &lim)));
            hung = result.as_ref().is_err_and(|e| e.starts_with("HANG"));
            if let Ok(verdict) = result
                && (replaying || is_seed || (args.spawn_every > 0 && index.is_multiple_of(args.spawn_every)))
            {
                spawned += 1;
                std::fs::write(&file, &scenario).expect("write the input");
                let _ = std::fs::remove_dir_all(&out);
                // Validate only when a run would be too long for a fuzz input.
                let run = verdict != Verdict::SkippedWork;
                result =
                    check::spawned(&bin, &file, &out, verdict, &lim, &args.max_memory, run, hang).map(|()| verdict);
            }
            (what, bytes, ext) = (w, b, if stage == Stage::Trace { "csv" } else { "toml" });
        } else {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let cmds = commands.get_or_insert_with(|| commands::Commands::new(&bin, &tmp.path().join("commands")));
            let binary = args.binary_every > 0 && index.is_multiple_of(args.binary_every);
            let (w, argv, r) = match stage {
                Stage::Commands => {
                    let argv = cmds.input(&mut rng, &corpus);
                    let full = rng.random_ratio(1, 8);
                    let a = argv.clone();
                    let mut r = ask(Box::new(move || library::flags(&a).map(Verdict::Library)));
                    if let Ok(Verdict::Library(lib)) = r
                        && binary
                    {
                        spawned += 1;
                        r = cmds.check(&argv, full, None, hang).and_then(|b| agree(lib, b)).map(Verdict::Binary);
                    }
                    (format!("commands{}", if full { ", stdout on /dev/full" } else { "" }), argv, r)
                }
                Stage::Files => {
                    let (argv, damaged, readback) = cmds.damage(&mut rng, &tmp.path().join("case"));
                    let d = damaged.clone();
                    let mut r = ask(Box::new(move || library::files(&readback, &d).map(Verdict::Library)));
                    if let Ok(Verdict::Library(lib)) = r
                        && binary
                    {
                        spawned += 1;
                        r = cmds
                            .check(&argv, false, Some(&damaged), hang)
                            .and_then(|b| agree(lib, b))
                            .map(Verdict::Binary);
                    }
                    (format!("files, damaged {}", damaged.display()), argv, r)
                }
                _ => {
                    spawned += 1;
                    let small = tmp.path().join("commands").join("small.toml");
                    let net = network.get_or_insert_with(|| network::Network::new(&bin, &small, tmp.path()));
                    let r = net.check(args.seed ^ index).map(|_| Verdict::Peer);
                    ("network".to_string(), vec![format!("network input {index}")], r)
                }
            };
            hung = r.as_ref().is_err_and(|e| e.starts_with("HANG: still running") && e.contains("in process"));
            result = r;
            (what, bytes, ext) = (w, argv.join("\n").into_bytes(), "txt");
        }
        let per_stage = stages.entry(stage).or_default();
        per_stage.0 += 1;
        per_stage.1 += u64::from(result.is_err());
        match result {
            Ok(v) => *counts.entry(v).or_default() += 1,
            Err(why) if replaying => {
                failures += 1;
                println!("{what}: FAILURE: {why}");
            }
            Err(why) => {
                failures += 1;
                std::fs::create_dir_all(&args.failures).ok();
                let saved = args.failures.join(format!("seed{}-input{index}.{ext}", args.seed));
                std::fs::write(&saved, &bytes).ok();
                eprintln!(
                    "FAILURE on input {index} (seed {}, {what}), saved as {}:\n  {why}",
                    args.seed,
                    saved.display()
                );
            }
        }
        if replaying {
            if let Some((v, n)) = counts.iter().next().filter(|_| failures == 0) {
                println!("{what}: {v:?} ({n})");
            }
            counts.clear();
        }
        if hung {
            // The checking thread is stuck; nothing more can be checked in this process.
            eprintln!("stopping: a hang leaves the checking thread busy");
            std::process::exit(1);
        }
        done += 1;
        index += 1;
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            eprintln!(
                "{done} inputs in {:.0}s, {failures} failure(s), {spawned} through the binary: {counts:?}",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "fuzz: {done} inputs (seed {}, from {}) in {secs:.1}s, {failures} failure(s); {spawned} also through the \
         binary; peak RSS {} MiB",
        args.seed,
        args.start,
        peak_rss_kib() / 1024
    );
    for (v, n) in &counts {
        println!("  {v:?}: {n}");
    }
    for (stage, (n, failed)) in &stages {
        println!("  stage {stage:?}: {n} inputs, {failed} failure(s)");
    }
    // `exit` runs no destructors: stop the network stage's `lbsim backends` and remove the
    // scratch directory first.
    drop(network);
    drop(tmp);
    std::process::exit(if failures == 0 { 0 } else { 1 });
}
