//! The `commands` and `files` stages: every command of the `lbsim` binary with generated
//! arguments, and the files lbsim reads back (a run's and a measurement's directory for
//! `compare`, a sweep's for `--resume`, shards for `merge`) damaged.
//!
//! The flags of each command are read from its `--help` at start (so a new flag is fuzzed
//! without an edit here); values come from [`VALUES`], the flag's own default, and paths to
//! the fixtures, to nothing, to a directory, to `/dev/null` and `/dev/full`. Stdout goes to
//! `/dev/full` one time in eight (a write error must be exit 1 with one line, not a panic).
//!
//! The properties, for every invocation: it ends (CPU time under the hang limit); the exit
//! code is 0, 1 or 2 (the documented table, docs/outputs.md); no panic message; exit 1 or 2
//! prints an `error: …` line; in the files stage an exit 2 names the damaged
//! directory or file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::{Rng, RngExt};

use crate::check::run_bin_with;
use crate::library::Readback;

/// Values tried for any flag, besides the flag's default and the paths.
const VALUES: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "3",
    "100",
    "18446744073709551616",
    "9223372036854775808",
    "1e300",
    "NaN",
    "inf",
    "",
    " ",
    "x",
    "0s",
    "1ns",
    "1ms",
    "2s",
    "1h",
    "-5s",
    "50%",
    "0%",
    "101%",
    "1G",
    "1K",
    "0.5",
    "a,b",
    ",",
    "round-robin",
    "random,p2c",
    "p99<=100ms",
    "mean<=1ms",
    "p99<=",
    "mean=5%",
    "arrivals.rate=100,140",
    "arrivals.rate=100:200:3",
    "servers.s.count=1,2",
    "requests=",
    "1/2",
    "0/2",
    "3/2",
    "json",
    "csv",
    "table",
    "127.0.0.1",
    "::1",
    "http://127.0.0.1:1",
    "http://localhost:0/x",
    "ftp://x",
    "😀",
];

/// Flags whose values must stay small, so that a valid invocation is a short one: the
/// values tried for them instead of [`VALUES`].
const SMALL: &[(&str, &[&str])] = &[
    ("--requests", &["0", "1", "50", "500", "-1", "x", "18446744073709551616", "1e3"]),
    ("--max-requests", &["0", "1", "500", "x"]),
    ("--replications", &["0", "1", "2", "x", "1000000"]),
    ("--threads", &["0", "1", "2", "100000", "x"]),
    ("--max-servers", &["0", "1", "8", "x", "1000000000"]),
    ("--precision", &["5%", "50%", "0%", "200%", "x", "mean_ms=50%"]),
    ("--time-limit", &["0s", "1s", "2s", "x", "1ns"]),
    ("--timeout", &["0s", "100ms", "1s", "x"]),
    ("--calibration", &["0", "10", "x"]),
    ("--connections", &["0", "1", "4", "x"]),
    ("--senders", &["0", "1", "2", "x", "1000"]),
    ("--port-base", &["0", "65535", "70000", "x", "1"]),
    ("--max-memory", &["1G", "1K", "50%", "0", "x", "1000%"]),
    ("--vary", &["arrivals.rate=100,140", "arrivals.rate=100:160:3", "servers.be.count=1,2", "x=1", "arrivals.rate="]),
];

/// One flag of a command, from its `--help`.
#[derive(Debug, Clone)]
struct Flag {
    name: String,
    /// Takes a value.
    takes: bool,
    /// Its `[default: …]`, when the help gives one.
    default: Option<String>,
}

/// The commands of the binary and their flags.
const COMMANDS: &[&str] =
    &["run", "validate", "remap", "strategies", "sweep", "merge", "plan", "backends", "load", "compare"];

/// The fixtures and what the stages know of the binary.
pub(crate) struct Commands {
    bin: PathBuf,
    dir: PathBuf,
    flags: Vec<(&'static str, Vec<Flag>)>,
    /// A small valid scenario.
    scenario: PathBuf,
    /// `lbsim run` of it, `lbsim load` of it, a sweep of it, two shards of a sweep of it.
    sim: PathBuf,
    measured: PathBuf,
    sweep: PathBuf,
    shards: [PathBuf; 2],
}

/// A scenario of four single-worker servers, a hash strategy among the strategies (for
/// `remap`), short.
const SMALL_SCENARIO: &str = "name = \"fuzz-small\"\nseed = 3\nrequests = 400\nwarmup_requests = 40\n\
strategies = [\"round-robin\", \"p2c\", \"maglev\"]\n\n[keys]\ncount = 1000\n\n[arrivals]\nprocess = \"poisson\"\n\
rate = 160.0\n\n[service]\ndistribution = \"exponential\"\nmean = \"20ms\"\n\n[[servers]]\nname = \"be\"\ncount = 4\n\
workers = 1\n";

/// Reads the long flags of `lbsim CMD --help`.
fn help_flags(bin: &Path, cmd: &str) -> Vec<Flag> {
    let out = Command::new(bin).args([cmd, "--help"]).output().expect("lbsim CMD --help");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut flags: Vec<Flag> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let t = t.strip_prefix("-q, ").or_else(|| t.strip_prefix("-h, ")).unwrap_or(t);
        if let Some(rest) = t.strip_prefix("--") {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            if name == "help" {
                continue;
            }
            let takes = rest[name.len()..].starts_with(" <");
            flags.push(Flag { name: format!("--{name}"), takes, default: None });
        } else if let (Some(f), Some(i)) = (flags.last_mut(), line.find("[default: ")) {
            let d = &line[i + 10..];
            f.default = d.find(']').map(|j| d[..j].to_string());
        }
    }
    flags
}

/// Runs `lbsim` with `args` for a fixture; it must succeed.
fn fixture(bin: &Path, args: &[&str]) {
    let out = Command::new(bin).args(args).stdin(Stdio::null()).output().expect("start lbsim");
    assert!(
        out.status.success(),
        "fixture `lbsim {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A measurement of the small scenario: `lbsim backends` on ports the system picks, `lbsim
/// load` against the first.
fn measure(bin: &Path, scenario: &str, out: &str) {
    use std::io::BufRead;
    let mut backends = Command::new(bin)
        .args(["backends", scenario, "--port-base", "0", "--time-limit", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("lbsim backends");
    let mut line = String::new();
    std::io::BufReader::new(backends.stdout.take().expect("stdout")).read_line(&mut line).expect("a port");
    let url = line.split_whitespace().nth(1).expect("NAME URL").to_string();
    fixture(
        bin,
        &["load", scenario, "--target", &url, "--out", out, "--quiet", "--no-charts", "--label", "round-robin"],
    );
    let _ = backends.kill();
    let _ = backends.wait();
}

impl Commands {
    /// Reads the flags and makes the fixtures under `dir`.
    pub(crate) fn new(bin: &Path, dir: &Path) -> Commands {
        let flags = COMMANDS.iter().map(|&c| (c, help_flags(bin, c))).collect();
        let p = |x: &str| dir.join(x);
        std::fs::create_dir_all(dir).expect("the commands stage's directory");
        let scenario = p("small.toml");
        std::fs::write(&scenario, SMALL_SCENARIO).expect("write the small scenario");
        let s = scenario.to_str().expect("UTF-8 path");
        let (sim, measured, sweep) = (p("sim"), p("measured"), p("sweep"));
        let shards = [p("shard0"), p("shard1")];
        let q = |x: &Path| x.to_str().expect("UTF-8 path").to_string();
        fixture(bin, &["run", s, "--out", &q(&sim), "--quiet", "--no-charts"]);
        measure(bin, s, &q(&measured));
        let vary = "arrivals.rate=100,140,180";
        fixture(bin, &["sweep", s, "--vary", vary, "--out", &q(&sweep), "--quiet", "--no-html"]);
        for (k, d) in shards.iter().enumerate() {
            fixture(bin, &["sweep", s, "--vary", vary, "--shard", &format!("{k}/2"), "--out", &q(d), "--quiet"]);
        }
        Commands { bin: bin.to_path_buf(), dir: dir.to_path_buf(), flags, scenario, sim, measured, sweep, shards }
    }

    /// A path argument: a fixture, nothing, a directory, a device.
    fn path(&self, rng: &mut impl Rng, corpus: &[(PathBuf, Vec<u8>)]) -> String {
        let q = |x: &Path| x.to_string_lossy().into_owned();
        match rng.random_range(0..10) {
            0..=3 => q(&self.scenario),
            4 => q(&corpus[rng.random_range(0..corpus.len())].0),
            5 => q(&self.sim),
            6 => q(&self.dir),
            7 => "/dev/null".into(),
            8 => q(&self.dir.join("nothing-here")),
            _ => "/dev/full".into(),
        }
    }

    /// A value for `flag`.
    fn value(&self, rng: &mut impl Rng, flag: &Flag, corpus: &[(PathBuf, Vec<u8>)]) -> String {
        if flag.name == "--out" || flag.name == "--log" {
            return match rng.random_range(0..4) {
                0 => "/dev/full".into(),
                1 => self.dir.join("nothing-here/x").to_string_lossy().into_owned(),
                _ => self.dir.join("out").to_string_lossy().into_owned(),
            };
        }
        if flag.name == "--target" {
            return ["http://127.0.0.1:1", "http://127.0.0.1:0", "http://10.0.0.1:80", "x", "http://[::1]:1/a"]
                [rng.random_range(0..5)]
            .into();
        }
        if let Some((_, vs)) = SMALL.iter().find(|(n, _)| *n == flag.name) {
            return vs[rng.random_range(0..vs.len())].to_string();
        }
        match rng.random_range(0..10) {
            0 | 1 if flag.default.is_some() => flag.default.clone().unwrap_or_default(),
            2 => self.path(rng, corpus),
            _ => VALUES[rng.random_range(0..VALUES.len())].to_string(),
        }
    }

    /// Arguments of one invocation of the `commands` stage.
    pub(crate) fn input(&self, rng: &mut impl Rng, corpus: &[(PathBuf, Vec<u8>)]) -> Vec<String> {
        let (cmd, flags) = &self.flags[rng.random_range(0..self.flags.len())];
        let mut args = vec!["--max-memory".to_string(), "1G".into(), cmd.to_string()];
        // Positional arguments: one path (two for compare, one to three for merge), rarely none
        // or one too many.
        let positional = match *cmd {
            "strategies" => 0,
            "compare" => 2,
            "merge" => rng.random_range(1..4),
            _ => 1,
        };
        let extra: i32 = match rng.random_range(0..20) {
            0 => -1,
            1 => 1,
            _ => 0,
        };
        for k in 0..(positional + extra).max(0) {
            args.push(match (*cmd, k) {
                ("compare", 0) if rng.random_bool(0.7) => self.sim.to_string_lossy().into_owned(),
                ("compare", 1) if rng.random_bool(0.7) => self.measured.to_string_lossy().into_owned(),
                ("merge", k) if rng.random_bool(0.7) => self.shards[k as usize % 2].to_string_lossy().into_owned(),
                _ => self.path(rng, corpus),
            });
        }
        // Commands that run something stay short: few requests, a short time limit.
        match *cmd {
            "run" | "sweep" | "plan" | "load" if rng.random_bool(0.9) => {
                args.extend(["--requests".into(), "300".into()]);
            }
            _ => {}
        }
        if matches!(*cmd, "backends" | "load") {
            args.extend(["--time-limit".into(), "3s".into()]);
        }
        if *cmd == "load" {
            args.extend(["--timeout".into(), "1s".into(), "--calibration".into(), "0".into()]);
        }
        if *cmd == "sweep" && rng.random_bool(0.8) {
            args.extend(["--vary".into(), "arrivals.rate=100,140".into()]);
        }
        let n = rng.random_range(0..5);
        for _ in 0..n {
            if flags.is_empty() {
                break;
            }
            let f = &flags[rng.random_range(0..flags.len())];
            args.push(f.name.clone());
            if f.takes && rng.random_bool(0.95) {
                args.push(self.value(rng, f, corpus));
            }
        }
        if rng.random_bool(0.1) {
            args.push(VALUES[rng.random_range(0..VALUES.len())].into());
        }
        args
    }

    /// Runs one invocation: its exit code; `Err` is a failure of lbsim. `damaged`: the file or directory the
    /// files stage damaged (an exit 2 must name it).
    pub(crate) fn check(
        &self,
        args: &[String],
        stdout_full: bool,
        damaged: Option<&Path>,
        hang: Duration,
    ) -> Result<u8, String> {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let stdout = if stdout_full {
            Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").map_err(|e| e.to_string())?)
        } else {
            Stdio::null()
        };
        let (code, err) = run_bin_with(&self.bin, &a, hang, stdout, &self.dir)?;
        let what = format!("`lbsim {}`", args.join(" "));
        if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
            return Err(format!("{what}: a panic: {err}"));
        }
        match code {
            0 => Ok(0),
            1 | 2 => {
                // One `error: …` line (progress lines of `load` may come before it).
                // `compare --check` outside tolerance and `load --strict` end with exit 1 after
                // their table; their last line says why.
                let checked = code == 1 && (args.iter().any(|a| a == "--check" || a == "--strict"));
                if !err.lines().any(|l| l.starts_with("error: ")) && !checked {
                    return Err(format!("{what}: exit {code} without an `error: …` line: {err}"));
                }
                if code == 2
                    && let Some(d) = damaged
                    && !names(&err, d)
                {
                    return Err(format!("{what}: exit 2 does not name the damaged {}: {err}", d.display()));
                }
                Ok(code as u8)
            }
            other => Err(format!("{what}: exit code {other}: {err}")),
        }
    }

    /// One input of the `files` stage: a fixture directory copied, one of its files damaged
    /// (mutated, emptied, removed or replaced by a directory), and the command that reads it
    /// back. Returns the arguments, the damaged path and what the command reads back (for the
    /// in-process check).
    pub(crate) fn damage(&self, rng: &mut impl Rng, case: &Path) -> (Vec<String>, PathBuf, Readback) {
        let _ = std::fs::remove_dir_all(case);
        std::fs::create_dir_all(case).expect("the case directory");
        // Which fixture and which command reads it.
        let shard = rng.random_range(0..2);
        let (fixture, kind) = match rng.random_range(0..4) {
            0 => (&self.sim, "sim"),
            1 => (&self.measured, "measured"),
            2 => (&self.sweep, "sweep"),
            _ => (&self.shards[shard], "shard"),
        };
        let copy = case.join(kind);
        copy_dir(fixture, &copy);
        let files = data_files(&copy);
        let target = files[rng.random_range(0..files.len())].clone();
        let bytes = std::fs::read(&target).expect("a fixture file");
        match rng.random_range(0..10) {
            0 => std::fs::write(&target, b"").expect("empty it"),
            1 => {
                std::fs::remove_file(&target).expect("remove it");
            }
            2 => {
                std::fs::remove_file(&target).expect("remove it");
                std::fs::create_dir(&target).expect("a directory in its place");
            }
            _ => std::fs::write(&target, crate::mutate::mutate_raw(rng, &bytes)).expect("damage it"),
        }
        let s = |p: &Path| p.to_string_lossy().into_owned();
        let mut args = vec!["--max-memory".to_string(), "1G".into()];
        match kind {
            "sim" => args.extend(["compare".into(), s(&copy), s(&self.measured)]),
            "measured" => args.extend(["compare".into(), s(&self.sim), s(&copy)]),
            "sweep" => args.extend([
                "sweep".into(),
                s(&self.scenario),
                "--vary".into(),
                "arrivals.rate=100,140,180".into(),
                "--resume".into(),
                "--out".into(),
                s(&copy),
                "--quiet".into(),
                "--no-html".into(),
            ]),
            _ => {
                let other = s(&self.shards[1 - shard]);
                args.extend([
                    "merge".into(),
                    s(&copy),
                    other,
                    "--out".into(),
                    s(&case.join("merged")),
                    "--quiet".into(),
                ]);
            }
        }
        let mut readback = match kind {
            "sim" => Readback::Compare { sim: copy.clone(), measured: self.measured.clone(), checks: Vec::new() },
            "measured" => Readback::Compare { sim: self.sim.clone(), measured: copy.clone(), checks: Vec::new() },
            "sweep" => Readback::Resume {
                scenario: self.scenario.clone(),
                vary: "arrivals.rate=100,140,180".into(),
                dir: copy.clone(),
            },
            _ => Readback::Merge { dirs: vec![copy.clone(), self.shards[1 - shard].clone()] },
        };
        if kind == "sim" || kind == "measured" {
            if rng.random_bool(0.3) {
                args.extend(["--check".into(), "mean=50%".into()]);
                if let Readback::Compare { checks, .. } = &mut readback {
                    checks.push("mean=50%".into());
                }
            }
            if rng.random_bool(0.3) {
                args.push("--csv".into());
            }
        }
        (args, target, readback)
    }
}

/// Whether the message `err` names the damaged `path`: the file by its name, or the
/// directory given (the file's or its parent's).
pub(crate) fn names(err: &str, path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    err.contains(&name) || path.ancestors().skip(1).take(2).any(|p| err.contains(p.display().to_string().as_str()))
}

/// Copies the data files (CSV, JSON: what lbsim reads back; not the charts) of `from` into a
/// new `to`, subdirectories (a sweep's points/) included.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("the copy");
    for e in std::fs::read_dir(from).expect("a fixture").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else if p.extension().is_some_and(|x| x == "csv" || x == "json") {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy a fixture file");
        }
    }
}

/// The CSV and JSON files under `dir`, subdirectories included, sorted.
fn data_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("a copy").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(data_files(&p));
        } else if p.extension().is_some_and(|x| x == "csv" || x == "json") {
            out.push(p);
        }
    }
    out.sort();
    out
}
