//! The coverage studies of docs/outputs.md ("How precise is this?"): `random` over 4
//! single-worker servers with exponential service (mean 10 ms), so each server is an M/M/1
//! at load ρ, with a true mean response 1/(μ − λ) and a true p99 ln(100)/(μ − λ). Over
//! `--seeds` seeds (one replication each, the runner as `lbsim run` uses it), how many 95%
//! intervals of the mean and of the p99 cover the truth; with `--precision`, how many runs
//! reached their target, the worst half-width against it and the mean final length.
//!
//!     cargo run --release --example precision_study -- --rho 0.99 --precision 10% \
//!         --requests 200000 --max-requests 400000000 --seeds 200
//!
//! `--warmup auto` (the default) or a number of requests (`--warmup 0`: measure from the
//! empty start). `scripts/precision-study.sh` runs the studies the docs quote.
//!
//! With `--precision`, the coverage is counted over the runs that met their target, and the
//! runs the cap stopped first are counted (and their coverage given) apart. Each coverage
//! comes with its own 95% binomial (Wilson) interval. The runs whose batches failed the
//! independence test (warned "batch means still correlated") are counted too.

use std::time::Instant;

use lbsim::runner::{self, RunnerOptions};
use lbsim::scenario::Scenario;
use rayon::prelude::*;

/// Service rate of each server, per second (mean service 10 ms).
const MU: f64 = 100.0;

/// What to study.
struct Study {
    rho: f64,
    precision: Option<String>,
    requests: u64,
    max_requests: Option<u64>,
    seeds: u64,
    first_seed: u64,
    warmup: Option<u64>,
}

/// What one seed gave.
#[derive(Default, Clone, Copy)]
struct Outcome {
    met: u64,
    mean_in: u64,
    p99_in: u64,
    worst: f64,
    requests: u64,
    warmup: u64,
    /// 1 when the batches failed the independence test (the run's warning).
    flagged: u64,
    seed: u64,
}

fn parse() -> Result<Study, String> {
    let mut s = Study {
        rho: 0.5,
        precision: None,
        requests: 20_000,
        max_requests: None,
        seeds: 200,
        first_seed: 0,
        warmup: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.replace('_', "").parse::<u64>().map_err(|_| format!("{flag}: `{v}` is not a count"));
        match flag.as_str() {
            "--rho" => s.rho = value.parse().map_err(|_| format!("--rho: `{value}` is not a number"))?,
            "--precision" => s.precision = Some(value),
            "--requests" => s.requests = num(&value)?,
            "--max-requests" => s.max_requests = Some(num(&value)?),
            "--seeds" => s.seeds = num(&value)?,
            "--first-seed" => s.first_seed = num(&value)?,
            "--warmup" => s.warmup = if value == "auto" { None } else { Some(num(&value)?) },
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if !(s.rho > 0.0 && s.rho < 1.0) {
        return Err("--rho must be between 0 and 1".into());
    }
    Ok(s)
}

fn one(study: &Study, seed: u64) -> Outcome {
    let lambda = study.rho * MU;
    let (mean, p99) = (1.0 / (MU - lambda), 100f64.ln() / (MU - lambda));
    let mut top = format!("name = \"mm1\"\nrequests = {}\nseed = {seed}\nstrategies = [\"random\"]\n", study.requests);
    if let Some(w) = study.warmup {
        top.push_str(&format!("warmup_requests = {w}\n"));
    }
    if let Some(p) = &study.precision {
        top.push_str(&format!("precision = \"{p}\"\n"));
    }
    if let Some(m) = study.max_requests {
        top.push_str(&format!("max_requests = {m}\n"));
    }
    let text = format!(
        "{top}[arrivals]\nprocess = \"poisson\"\nrate = {:?}\n[service]\ndistribution = \"exponential\"\n\
         mean = \"10ms\"\n[[servers]]\nname = \"s\"\ncount = 4\n",
        4.0 * lambda
    );
    let sc = Scenario::parse(&text, None).unwrap_or_else(|e| panic!("{e}"));
    let r = runner::run_scenario(&sc, &RunnerOptions { threads: Some(1), ..Default::default() }).expect("runs");
    let s = &r.strategies[0];
    let inside = |e: lbsim::stats::Estimate, x: f64| u64::from(e.interval().is_some_and(|(lo, hi)| lo <= x && x <= hi));
    let met = s.precision.iter().all(|x| x.met());
    let worst = s.precision.iter().filter_map(|x| x.relative.map(|v| v / x.target)).fold(0.0, f64::max);
    Outcome {
        met: u64::from(met && !s.precision.is_empty()),
        mean_in: inside(s.mean, mean),
        p99_in: inside(s.p99, p99),
        worst: if met { worst } else { 0.0 },
        requests: r.requests,
        warmup: r.warmup,
        flagged: u64::from(s.batches_correlated),
        seed,
    }
}

fn main() -> Result<(), String> {
    let study = parse()?;
    let started = Instant::now();
    let seeds = study.first_seed..study.first_seed + study.seeds;
    let outcomes: Vec<Outcome> = seeds.into_par_iter().map(|seed| one(&study, seed)).collect();
    let n = outcomes.len() as u64;
    let sum = |f: fn(&Outcome) -> u64| outcomes.iter().map(f).sum::<u64>();
    let short: Vec<Outcome> = outcomes.iter().filter(|o| study.precision.is_some() && o.met == 0).copied().collect();
    let counted: Vec<Outcome> = outcomes.iter().filter(|o| study.precision.is_none() || o.met == 1).copied().collect();
    let k = counted.len() as u64;
    let cover = |c: u64| format!("{c} of {k} ({})", wilson(c, k));
    let (mean_in, p99_in) =
        (counted.iter().map(|o| o.mean_in).sum::<u64>(), counted.iter().map(|o| o.p99_in).sum::<u64>());
    let warmup = match study.warmup {
        Some(w) => format!("warm-up {w}"),
        None => format!("warm-up auto (mean {})", sum(|o| o.warmup) / n),
    };
    let precision = match &study.precision {
        Some(p) => format!(
            ", precision {p}: {} of {n} met (worst {:.3} of target), mean length {}",
            sum(|o| o.met),
            outcomes.iter().map(|o| o.worst).fold(0.0, f64::max),
            sum(|o| o.requests) / n
        ),
        None => String::new(),
    };
    let flagged: Vec<&Outcome> = outcomes.iter().filter(|o| o.flagged == 1).collect();
    let flagged = if flagged.is_empty() {
        String::new()
    } else {
        format!(
            "; flagged \"batch means still correlated\": {} (mean covered {}, p99 {} of them)",
            flagged.len(),
            flagged.iter().map(|o| o.mean_in).sum::<u64>(),
            flagged.iter().map(|o| o.p99_in).sum::<u64>()
        )
    };
    let capped = if short.is_empty() {
        String::new()
    } else {
        let m = short.len() as u64;
        let seeds: Vec<String> = short.iter().map(|o| o.seed.to_string()).collect();
        format!(
            "; stopped by the cap short of the target: {m} (seeds {}; mean covered {}, p99 {} of them)",
            seeds.join(" "),
            short.iter().map(|o| o.mean_in).sum::<u64>(),
            short.iter().map(|o| o.p99_in).sum::<u64>()
        )
    };
    println!(
        "ρ = {}, {} requests, {warmup}{precision}; {n} seeds: mean covered {}, p99 covered {}{capped}{flagged} [{:.0} s]",
        study.rho,
        study.requests,
        cover(mean_in),
        cover(p99_in),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `c` of `n` as a percentage with its 95% Wilson score interval.
fn wilson(c: u64, n: u64) -> String {
    if n == 0 {
        return "–".into();
    }
    let (z, n, p) = (1.96f64, n as f64, c as f64 / n as f64);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    format!("{:.1}%, 95% CI {:.1}–{:.1}%", 100.0 * p, 100.0 * (centre - half), 100.0 * (centre + half))
}
