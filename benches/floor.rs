//! `cargo bench --bench floor`: lbsim end to end against the floor, side by side (issue 13).
//!
//! **The floor** is a minimal exact discrete-event simulator of the benchmark model, written
//! for this comparison and nothing else: Poisson arrivals, exponential service, `S`
//! single-worker FIFO servers. Per request it draws an interarrival and a service time
//! (xoshiro256++, ziggurat exponentials — the generators lbsim uses), pops the completions
//! due at or before the arrival from one binary min-heap (16-byte entries: finish time bits
//! and server) to keep the in-flight counts, picks a server, computes the finish time by
//! the Lindley recursion (`finish = max(now, free_at[s]) + service`), pushes it and adds the
//! response time to a running sum. No histogram, no per-server statistic, no timeline.
//! Its strategies:
//! - `round-robin`: a cursor;
//! - `random`: one uniform draw;
//! - `least-connections`: nginx's rule exactly as lbsim models it (fewest in flight; when
//!   several tie, smooth weighted round robin among them, with equal weights);
//! - `p2c`: Envoy's: two draws with replacement, the second wins only if strictly less loaded.
//!
//! **The harness** (`main`), in one run, interleaved so that both see the same machine load:
//! 1. *vs floor*: for each of the four strategies, `RUNS` rounds of (floor in process, then
//!    `lbsim run benches/bench.toml --strategies X --threads 1 --no-charts --quiet` as a
//!    child), CPU time (user + system) of each; prints the best ns/request of each, the
//!    ratio (floor time / lbsim time: ≥ 1 means lbsim is at least as fast as the floor) and
//!    both mean response times (the same model: they agree within noise).
//! 2. with `LBSIM_BENCH_INSTR=1`: instructions per request of both under
//!    `valgrind --tool=cachegrind`, as (I(2·10⁶) − I(10⁶)) / 10⁶ (start-up and output cancel).
//! 3. *scale*: S = 10, 100, 1,000, 10,000, 100,000 at ρ = 0.9, per strategy: µs/request
//!    (CPU time) and peak RSS of the lbsim child. A strategy that took more than
//!    `SCALE_CAP_US` µs/request at one size is not run at the larger ones.
//! 4. *threads*: wall time of a 4-strategy run with `--threads 1` and `--threads 2`.
//! 5. *clients*: connection-level balancing at fleet size (issue 23): 100,000 HTTP/2
//!    clients over 10,000 servers, `balance = "connection"`, ρ = 0.9, per strategy:
//!    µs/request as (CPU(2R) − CPU(R)) / R, which start-up and output cancel, and peak RSS at
//!    R and 2R (memory must not grow with R).
//!
//! Environment: `LBSIM_BENCH_QUICK=1` (10⁶ requests per timing, scale up to 10,000 servers,
//! one round), `LBSIM_BENCH_INSTR=1` (section 2), `LBSIM_BENCH_ONLY=vs|scale|threads|clients`
//! (one section), `LBSIM_BENCH_SCALE_STRATEGIES=a,b` (the scale curve's strategies), `LBSIM_BENCH_BIN=path` (another lbsim binary, e.g.
//! an older build, measured against the same floor).
//! Nothing here is a pass/fail test: the figures are read by people (docs/performance.md).
//!
//! Internal use: `floor --floor STRATEGY SERVERS REQUESTS` runs the floor once and prints its
//! result (the harness runs itself this way under cachegrind).

mod common;

use common::run_child;

use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rand::{RngExt, SeedableRng};
use rand_distr::Exp1;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The benchmark scenario's parameters (benches/bench.toml).
const SERVERS: usize = 16;
const RHO: f64 = 0.9;
const MEAN_SERVICE: f64 = 0.010;
/// The four strategies of the comparison.
const STRATEGIES: [&str; 4] = ["round-robin", "random", "least-connections", "p2c"];
/// Rounds of the comparison (best of).
const RUNS: usize = 3;
/// Scale curve: a strategy slower than this (µs/request) is not run at larger sizes.
const SCALE_CAP_US: f64 = 5.0;

// ---------------------------------------------------------------------------------------
// The floor.

/// A strategy of the floor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pick {
    RoundRobin,
    Random,
    LeastConn,
    P2c,
}

impl Pick {
    fn parse(name: &str) -> Pick {
        match name {
            "round-robin" => Pick::RoundRobin,
            "random" => Pick::Random,
            "least-connections" => Pick::LeastConn,
            "p2c" => Pick::P2c,
            _ => panic!("the floor has no strategy {name}"),
        }
    }
}

/// What one floor run measured.
#[derive(Debug)]
struct FloorResult {
    /// Mean response time of the measured requests, s.
    mean: f64,
}

/// A completion in the floor's heap: finish time (a positive f64's bits, which order as
/// the numbers do) and server; reversed for a min-heap.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Completion(u64, u32);

impl Ord for Completion {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.0.cmp(&self.0)
    }
}
impl PartialOrd for Completion {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// The floor: `requests` requests through `servers` FIFO servers at ρ = `RHO` (the first
/// tenth is warm-up, as in bench.toml), picking with `pick`.
#[inline(never)]
fn floor(pick: Pick, servers: usize, requests: u64, seed: u64) -> FloorResult {
    let mut arrivals = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut service = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut choose = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x6a09_e667_f3bc_c908);
    let mean_gap = MEAN_SERVICE / (RHO * servers as f64);
    let warmup = requests / 10;
    let mut conns = vec![0u32; servers];
    let mut free_at = vec![0f64; servers];
    let mut current = vec![0i64; servers]; // smooth-WRR weights of least-connections
    let mut heap: BinaryHeap<Completion> = BinaryHeap::with_capacity(1024);
    let mut cursor = 0usize;
    let mut now = 0f64;
    let mut sum = 0f64;
    for id in 0..requests {
        now += mean_gap * arrivals.sample::<f64, _>(Exp1);
        let demand = MEAN_SERVICE * service.sample::<f64, _>(Exp1);
        let t_bits = now.to_bits();
        while let Some(&Completion(t, s)) = heap.peek() {
            if t > t_bits {
                break;
            }
            heap.pop();
            conns[s as usize] -= 1;
        }
        let s = match pick {
            Pick::RoundRobin => {
                let s = cursor;
                cursor = if cursor + 1 == servers { 0 } else { cursor + 1 };
                s
            }
            Pick::Random => choose.random_range(0..servers),
            Pick::P2c => {
                let a = choose.random_range(0..servers);
                let b = choose.random_range(0..servers);
                if conns[b] < conns[a] { b } else { a }
            }
            Pick::LeastConn => least_conn(&conns, &mut current),
        };
        let finish = free_at[s].max(now) + demand;
        free_at[s] = finish;
        conns[s] += 1;
        heap.push(Completion(finish.to_bits(), s as u32));
        if id >= warmup {
            sum += finish - now;
        }
    }
    FloorResult { mean: sum / (requests - warmup) as f64 }
}

/// nginx `least_conn` with equal weights: the fewest in flight; among several, smooth
/// weighted round robin (weight 1 each) over the tied servers.
#[inline(always)]
fn least_conn(conns: &[u32], current: &mut [i64]) -> usize {
    let mut best = 0;
    let mut min = conns[0];
    let mut many = false;
    for (i, &c) in conns.iter().enumerate().skip(1) {
        if c < min {
            min = c;
            best = i;
            many = false;
        } else if c == min {
            many = true;
        }
    }
    if !many {
        return best;
    }
    let mut total = 0;
    let mut choice = best;
    for i in best..conns.len() {
        if conns[i] == min {
            current[i] += 1;
            total += 1;
            if current[i] > current[choice] {
                choice = i;
            }
        }
    }
    current[choice] -= total;
    choice
}

// ---------------------------------------------------------------------------------------
// Measuring.

/// CPU time (user + system) of this process so far, s.
fn process_cpu() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes only into `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// The lbsim binary measured: this build's, or `LBSIM_BENCH_BIN` (an older build, for a
/// before/after table in the same session).
fn lbsim() -> String {
    std::env::var("LBSIM_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_lbsim").to_string())
}

fn out_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("lbsim-floor-{}-{tag}", std::process::id()))
}

/// `lbsim run FILE --strategies S --threads T --no-charts --quiet --requests R`.
fn lbsim_run(file: &Path, strategies: &str, threads: u32, requests: u64, out: &Path) -> Command {
    let mut c = Command::new(lbsim());
    c.arg("run").arg(file).args(["--strategies", strategies, "--no-charts", "--quiet"]);
    c.arg("--threads").arg(threads.to_string()).arg("--requests").arg(requests.to_string()).arg("--out").arg(out);
    c
}

/// The mean response time (s) of `strategy` in a run's summary.csv.
fn summary_mean(out: &Path, strategy: &str) -> f64 {
    let text = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = header.iter().position(|&h| h == "mean_ms").expect("mean_ms column");
    let row = lines.find(|l| l.split(',').next() == Some(strategy)).expect("the strategy's row");
    row.split(',').nth(col).expect("mean").parse::<f64>().expect("a number") * 1e-3
}

/// Instructions executed by `cmd` under cachegrind (no cache simulation).
fn instructions(program: &str, args: &[String]) -> u64 {
    let out = Command::new("valgrind")
        .args(["--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"])
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .output()
        .expect("valgrind (set LBSIM_BENCH_INSTR only where valgrind is installed)");
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.contains("I   refs:") || l.contains("I refs:")).expect("cachegrind's I refs");
    line.rsplit(':').next().unwrap().trim().replace(',', "").parse().expect("a count")
}

// ---------------------------------------------------------------------------------------
// The sections.

fn bench_toml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/bench.toml")
}

/// Section 1 (and 2): lbsim vs the floor at S = 16.
fn versus(requests: u64, runs: usize, instr: bool) {
    println!("lbsim vs the floor: S = {SERVERS}, ρ = {RHO}, exponential, {requests} requests, one thread,");
    println!("CPU time, best of {runs} interleaved rounds (floor in process; lbsim end to end, process CPU time)");
    println!(
        "{:<18} {:>11} {:>11} {:>7}   {:>13} {:>13}",
        "strategy", "lbsim ns/req", "floor ns/req", "ratio", "lbsim mean ms", "floor mean ms"
    );
    let file = bench_toml();
    for name in STRATEGIES {
        let pick = Pick::parse(name);
        let out = out_dir(name);
        let (mut best_floor, mut best_lbsim) = (f64::INFINITY, f64::INFINITY);
        let mut floor_mean = f64::NAN;
        for _ in 0..runs {
            let t = process_cpu();
            let r = floor(pick, SERVERS, requests, 1);
            best_floor = best_floor.min(process_cpu() - t);
            floor_mean = r.mean;
            let u = run_child(&mut lbsim_run(&file, name, 1, requests, &out));
            best_lbsim = best_lbsim.min(u.cpu);
        }
        let lbsim_mean = summary_mean(&out, name);
        let _ = std::fs::remove_dir_all(&out);
        let ns = |s: f64| s * 1e9 / requests as f64;
        println!(
            "{:<18} {:>11.1} {:>11.1} {:>6.2}×   {:>13.3} {:>13.3}",
            name,
            ns(best_lbsim),
            ns(best_floor),
            best_floor / best_lbsim,
            lbsim_mean * 1e3,
            floor_mean * 1e3
        );
    }
    println!("(ratio = floor time / lbsim time: 1.00× = as fast as the floor)");
    println!();
    if !instr {
        return;
    }
    println!("instructions per request (cachegrind, (I(2·10⁶) − I(10⁶)) / 10⁶):");
    println!("{:<18} {:>12} {:>12} {:>7}", "strategy", "lbsim", "floor", "ratio");
    let me = std::env::current_exe().expect("own path");
    let me = me.to_str().expect("a UTF-8 path");
    for name in STRATEGIES {
        let out = out_dir(name);
        let per = |f: &dyn Fn(u64) -> u64| (f(2_000_000) as f64 - f(1_000_000) as f64) / 1e6;
        let floor_i = per(&|n| instructions(me, &["--floor".into(), name.into(), SERVERS.to_string(), n.to_string()]));
        let lbsim_i = per(&|n| {
            let args: Vec<String> = lbsim_run(&file, name, 1, n, &out)
                .get_args()
                .map(|a| a.to_str().expect("UTF-8 argument").to_string())
                .collect();
            instructions(&lbsim(), &args)
        });
        let _ = std::fs::remove_dir_all(&out);
        println!("{:<18} {:>12.0} {:>12.0} {:>6.2}×", name, lbsim_i, floor_i, floor_i / lbsim_i);
    }
    println!();
}

/// A scenario of `servers` single-worker servers at ρ = 0.9 (bench.toml's model).
fn scale_scenario(servers: usize, requests: u64) -> PathBuf {
    let path = std::env::temp_dir().join(format!("lbsim-floor-{}-scale-{servers}.toml", std::process::id()));
    let text = format!(
        "name = \"scale-{servers}\"\nseed = 1\nrequests = {requests}\nwarmup_requests = {}\n\
         strategies = [\"round-robin\"]\n[arrivals]\nprocess = \"poisson\"\nrate = {}\n\
         [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"s\"\ncount = {servers}\n",
        requests / 10,
        servers as f64 * 100.0 * RHO
    );
    std::fs::write(&path, text).expect("write the scale scenario");
    path
}

/// Section 3: µs/request and peak RSS against the number of servers.
fn scale(sizes: &[usize], strategies: &[String]) {
    println!("scale: ρ = {RHO}, exponential, one strategy per run, one thread; µs/request (CPU) | peak RSS MiB");
    print!("{:<28}", "strategy \\ servers");
    for s in sizes {
        print!(" {:>18}", s);
    }
    println!();
    for name in strategies {
        print!("{name:<28}");
        let mut capped = false;
        for &servers in sizes {
            if capped {
                print!(" {:>18}", "(skipped)");
                continue;
            }
            // Enough requests to reach a steady state and to time: 10⁶, or 20 per server.
            let requests = 1_000_000u64.max(20 * servers as u64);
            let file = scale_scenario(servers, requests);
            let out = out_dir("scale");
            let u = run_child(&mut lbsim_run(&file, name, 1, requests, &out));
            let _ = std::fs::remove_dir_all(&out);
            let _ = std::fs::remove_file(&file);
            let us = u.cpu * 1e6 / requests as f64;
            print!(" {:>9.3} | {:>6.1}", us, u.rss_kib as f64 / 1024.0);
            capped = us > SCALE_CAP_US;
            use std::io::Write;
            let _ = std::io::stdout().flush();
        }
        println!();
    }
    println!(
        "(requests per run: max(10⁶, 20 × servers); a strategy above {SCALE_CAP_US} µs is skipped at larger sizes)"
    );
    println!();
}

/// The scenario of section 5: `clients` HTTP/2 clients, one connection each, balanced per
/// connection over `servers` servers at ρ = 0.9.
fn clients_scenario(clients: usize, servers: usize) -> PathBuf {
    let path = std::env::temp_dir().join(format!("lbsim-floor-{}-clients.toml", std::process::id()));
    let text = format!(
        "name = \"clients-{clients}x{servers}\"\nseed = 1\nrequests = 1000000\nwarmup_requests = 0\n\
         strategies = [\"round-robin\"]\n[arrivals]\nprocess = \"poisson\"\nrate = {}\n\
         [service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n[[servers]]\nname = \"s\"\ncount = {servers}\n\
         [clients]\ncount = {clients}\nconnections = 1\nprotocol = \"http2\"\nbalance = \"connection\"\n",
        servers as f64 * 100.0 * RHO
    );
    std::fs::write(&path, text).expect("write the clients scenario");
    path
}

/// Section 5: µs/request and peak RSS with 100,000 pinned clients over 10,000 servers.
fn clients(requests: u64) {
    let (c, s) = (100_000, 10_000);
    let file = clients_scenario(c, s);
    let out = out_dir("clients");
    println!(
        "clients: {c} HTTP/2 clients × 1 connection over {s} servers, balance = \"connection\", ρ = {RHO}, one thread"
    );
    println!("{:<24} {:>12} {:>16} {:>16}", "strategy", "µs/request", "RSS MiB at R", "RSS MiB at 2R");
    for name in ["round-robin", "random", "least-connections", "p2c"] {
        let one = run_child(&mut lbsim_run(&file, name, 1, requests, &out));
        let two = run_child(&mut lbsim_run(&file, name, 1, 2 * requests, &out));
        let us = (two.cpu - one.cpu) * 1e6 / requests as f64;
        println!("{name:<24} {us:>12.3} {:>16.1} {:>16.1}", one.rss_kib as f64 / 1024.0, two.rss_kib as f64 / 1024.0);
    }
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_file(&file);
    println!("(R = {requests} requests; target ≤ 2 µs/request, issue 23)");
    println!();
}

/// Section 4: the 2-thread speed-up of a 4-strategy run.
fn threads(requests: u64, runs: usize) {
    let file = bench_toml();
    let list = STRATEGIES.join(",");
    let out = out_dir("threads");
    let (mut one, mut two) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..runs {
        one = one.min(run_child(&mut lbsim_run(&file, &list, 1, requests, &out)).wall);
        two = two.min(run_child(&mut lbsim_run(&file, &list, 2, requests, &out)).wall);
    }
    let _ = std::fs::remove_dir_all(&out);
    println!(
        "threads: `lbsim run benches/bench.toml --strategies {list} --requests {requests}`, wall time, best of {runs}"
    );
    println!("  --threads 1: {one:.3} s   --threads 2: {two:.3} s   speed-up {:.2}×", one / two);
    println!("  (load average now: {})", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
    println!();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--floor") {
        let pick = Pick::parse(&args[i + 1]);
        let servers: usize = args[i + 2].parse().expect("servers");
        let requests: u64 = args[i + 3].parse().expect("requests");
        let r = floor(pick, servers, requests, 1);
        println!("mean response {:.6} ms", r.mean * 1e3);
        return;
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty() && v != "0");
    let quick = env("LBSIM_BENCH_QUICK").is_some();
    let instr = env("LBSIM_BENCH_INSTR").is_some();
    let only = env("LBSIM_BENCH_ONLY");
    let wants = |s: &str| only.as_deref().is_none_or(|o| o == s);
    let (requests, runs) = if quick { (1_000_000, 1) } else { (10_000_000, RUNS) };
    if wants("vs") {
        versus(requests, runs, instr);
    }
    if wants("scale") {
        let sizes: &[usize] = if quick { &[10, 100, 1_000, 10_000] } else { &[10, 100, 1_000, 10_000, 100_000] };
        let strategies: Vec<String> = match env("LBSIM_BENCH_SCALE_STRATEGIES") {
            Some(list) => list.split(',').map(str::to_string).collect(),
            None => [
                "round-robin",
                "random",
                "least-connections",
                "p2c",
                "weighted-round-robin",
                "weighted-random",
                "weighted-least-connections",
                "sed",
                "nq",
                "first",
                "random-two-least-conn",
                "peak-ewma",
                "least-response-time",
                "join-idle-queue",
                "least-work-left",
            ]
            .map(str::to_string)
            .to_vec(),
        };
        scale(sizes, &strategies);
    }
    if wants("threads") {
        threads(requests, runs);
    }
    if wants("clients") {
        clients(requests);
    }
}
