//! `cargo bench`: simulation speed and memory on the fixed benchmark scenario.
//!
//! Speed: each strategy simulates benches/bench.toml (16 servers, Poisson, exponential
//! service, ρ = 0.9, 10^7 requests) on one thread with all statistics on; the best of
//! `RUNS` is reported in millions of requests per second (target: ≥ 5 per core). The
//! hash-based strategies run on benches/bench-keys.toml, the same with request keys.
//!
//! Memory: the release binary runs the same scenario with 10^6 and with 10^8 requests;
//! the peak resident set of each child is read with getrusage (target: ratio ≤ 1.2).
//!
//! Set `LBSIM_BENCH_QUICK=1` to skip the 10^8-request memory run.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use lbsim::engine::simulate;
use lbsim::scenario::Scenario;

const RUNS: usize = 3;

/// The speed scenarios: the core's, and the same with request keys for the hash-based
/// strategies.
const SCENARIOS: &[&str] = &["benches/bench.toml", "benches/bench-keys.toml"];

/// Prints M requests/s of every strategy of `sc`, best of `RUNS`, one thread.
fn speed(sc: &Scenario, file: &str) {
    println!(
        "speed ({file}): {} requests, {} servers, ρ = {:.2}, one thread, best of {RUNS}",
        sc.requests,
        sc.server_count(),
        sc.offered_load()
    );
    println!("{:<28} {:>12} {:>10}", "strategy", "M req/s", "seconds");
    for spec in &sc.strategies {
        let best = (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                let r = simulate(sc, spec, 0, &|_| {});
                assert_eq!(r.total.generated, sc.requests);
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        println!("{:<28} {:>12.2} {:>10.3}", spec.label, sc.requests as f64 / best / 1e6, best);
    }
    println!();
}

/// Prints the cost of one service-time draw of each distribution family, ns.
fn sampling() {
    use lbsim::workload::service::family;
    use rand::SeedableRng;
    let cases: &[(&str, &[f64])] = &[
        ("exponential", &[1.0]),
        ("deterministic", &[1.0]),
        ("uniform", &[0.0, 2.0]),
        ("lognormal", &[1.0, 1.0]),
        ("gamma", &[1.0, 0.5]),
        ("gamma", &[1.0, 2.0]),
        ("weibull", &[1.0, 2.0]),
        ("pareto", &[1.0, 2.5]),
        ("hyperexponential", &[1.0, 3.0]),
    ];
    let n = 10_000_000;
    println!("service-time sampling: {n} draws each, one thread");
    for (name, values) in cases {
        let dist = family(name).expect("a family").build(values).expect("valid parameters");
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let t = Instant::now();
        let mut acc = 0.0;
        for _ in 0..n {
            acc += dist.sample(&mut rng);
        }
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        println!("{:<18} {values:<12?} {ns:6.2} ns/draw (mean {:.4})", name, acc / n as f64);
    }
    println!();
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    for file in SCENARIOS {
        speed(&Scenario::load(Path::new(file)).expect(file), file);
    }
    sampling();
    if std::env::var_os("LBSIM_BENCH_QUICK").is_some() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_lbsim");
    println!("memory: peak RSS of `lbsim run benches/bench.toml --strategies p2c --threads 1`");
    let small = peak_rss_kib(bin, 1_000_000);
    let large = peak_rss_kib(bin, 100_000_000);
    println!("  10^6 requests: {:>8} KiB", small);
    println!("  10^8 requests: {:>8} KiB", large);
    println!("  ratio:         {:>8.3}", large as f64 / small as f64);
}

/// Runs the binary and returns its own peak resident set size (KiB), from wait4.
fn peak_rss_kib(bin: &str, requests: u64) -> i64 {
    let out = tempfile_dir();
    let usage = common::run_child(
        Command::new(bin)
            .args(["run", "benches/bench.toml", "--strategies", "p2c", "--threads", "1", "--quiet", "--requests"])
            .arg(requests.to_string())
            .arg("--out")
            .arg(&out),
    );
    let _ = std::fs::remove_dir_all(&out);
    usage.rss_kib
}

fn tempfile_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("lbsim-bench-{}", std::process::id()))
}
