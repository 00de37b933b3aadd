//! Command-line interface (clap derive). Thin: every command calls into the library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

use lbsim::plan::{self, PlanOptions, PlanReport, PlanRequest, Slo};
use lbsim::report::{self, Exporter};
use lbsim::run::{self, RunOptions};
use lbsim::scenario::edit::{Overrides, ScenarioText};
use lbsim::scenario::{Scenario, ScenarioError, duration::format_duration};
use lbsim::strategy::registry::REGISTRY;
use lbsim::sweep::{self, Shard, Sweep, SweepOptions};
use lbsim::{Result, remap};

const AFTER_HELP: &str = "Examples:
  lbsim run scenarios/web-peak.toml
  lbsim run scenarios/web-peak.toml --requests 100000 --strategies random,p2c --out /tmp/x
  lbsim run scenarios/web-peak.toml --format json --quiet | jq '.strategies[] | {strategy, p99_ms}'
  lbsim sweep scenarios/web-peak.toml --vary arrivals.rate=500:990:50
  lbsim plan scenarios/web-peak.toml --slo 'p99<=100ms' --rate 2000
  lbsim validate scenarios/near-saturation.toml
  lbsim remap scenarios/cache-tier.toml
  lbsim strategies";

const SWEEP_HELP: &str = "KEY is a dotted path: arrivals.rate, service.mean, servers[0].count or servers.web.count,
strategies[3].choices or strategies.p2c.choices, replications, ...
VALUES is a range a:b:n (n values, a and b included), log:a:b:n, or a list a,b,c.
Integer keys take integers; durations take units (5ms:50ms:10).

Examples:
  lbsim sweep web-peak.toml --vary arrivals.rate=500:990:50
  lbsim sweep web-peak.toml --vary arrivals.rate=600,900 --vary servers.web.count=10,12
  lbsim sweep web-peak.toml --vary arrivals.rate=500:990:50 --shard 3/16 --out res/shard-3
  lbsim merge res/shard-* --out res/sweep";

const PLAN_HELP: &str = "SLO metrics: mean, p50, p90, p99, p999 (durations: p99<=200ms), drop_rate and utilization
(fractions or percentages: drop_rate<=0.1%, utilization<=70%). Several --slo must all hold.
A count passes when the 95% upper confidence bound of each metric is within its limit.

Examples:
  lbsim plan web-peak.toml --slo 'p99<=100ms'
  lbsim plan web-peak.toml --slo 'p99<=100ms' --slo 'utilization<=80%' --rate 2000 --cost 250";

/// A discrete-event simulator of load-balancing strategies.
#[derive(Parser, Debug)]
#[command(name = "lbsim", version, about, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run every strategy of a scenario on the same request stream and compare them.
    #[command(after_help = "Example:\n  lbsim run scenarios/web-peak.toml --threads 2 --out output/web-peak")]
    Run(RunArgs),
    /// Check a scenario and print its size and offered load, without running it.
    Validate {
        /// Scenario file (TOML).
        file: PathBuf,
    },
    /// Fraction of keys each hash-based strategy moves when one server is removed or added.
    #[command(after_help = "Example:\n  lbsim remap scenarios/cache-tier.toml --out output/cache-tier")]
    Remap {
        /// Scenario file (TOML); its hash-based strategies are analysed (all of them if it lists none).
        file: PathBuf,
        /// Output directory for remap.csv [default: output/<scenario name>/].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Analyse these strategies instead (comma-separated names).
        #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
        strategies: Option<Vec<String>>,
    },
    /// List the strategies lbsim knows, with the balancer each models.
    Strategies,
    /// Run a scenario over a grid of values of one or more keys (load curves).
    #[command(after_help = SWEEP_HELP)]
    Sweep(SweepArgs),
    /// Combine the shard directories of a sharded sweep into one sweep.csv and its charts.
    #[command(after_help = "Example:\n  lbsim merge results/shard-0 results/shard-1 results/shard-2 --out results/all")]
    Merge(MergeArgs),
    /// Find, per strategy, the smallest server count of a group that meets SLOs.
    #[command(after_help = PLAN_HELP)]
    Plan(PlanArgs),
    /// Serve the scenario's servers as real HTTP backends on loopback (one port each).
    #[cfg(feature = "real")]
    #[command(after_help = crate::cli_real::BACKENDS_HELP)]
    Backends(crate::cli_real::BackendsArgs),
    /// Replay the scenario's request stream against a real balancer and measure it.
    #[cfg(feature = "real")]
    #[command(after_help = crate::cli_real::LOAD_HELP)]
    Load(crate::cli_real::LoadArgs),
    /// Compare a simulation (`run` output) with a measurement (`load` output), figure by figure.
    #[cfg(feature = "real")]
    #[command(after_help = crate::cli_real::COMPARE_HELP)]
    Compare(crate::cli_real::CompareArgs),
}

/// Options that change the scenario as a whole.
#[derive(clap::Args, Debug)]
struct ScenarioOpts {
    /// Override the number of requests generated per replication.
    #[arg(long, value_name = "N")]
    requests: Option<u64>,
    /// Override the seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Override the number of replications.
    #[arg(long, value_name = "N")]
    replications: Option<u32>,
    /// Override the strategy list (comma-separated names).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    strategies: Option<Vec<String>>,
}

impl ScenarioOpts {
    fn overrides(&self) -> Overrides {
        Overrides {
            requests: self.requests,
            seed: self.seed,
            replications: self.replications,
            strategies: self.strategies.clone(),
        }
    }
}

#[derive(clap::Args, Debug)]
struct SweepArgs {
    /// Scenario file (TOML).
    file: PathBuf,
    /// A key and its values, KEY=VALUES (repeat for a grid; the first varies slowest and is the charts' x axis).
    #[arg(long, value_name = "KEY=VALUES", required = true)]
    vary: Vec<String>,
    #[command(flatten)]
    scenario: ScenarioOpts,
    /// Run only shard K of N (K from 0): points K, K+N, K+2N, ...
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Continue an interrupted sweep in the same output directory, keeping its finished points.
    #[arg(long)]
    resume: bool,
    /// Output directory [default: output/<scenario>/sweep/, or .../sweep/shard-K-of-N/].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Worker threads [default: one per core]; results do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
struct MergeArgs {
    /// The shard output directories.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Output directory [default: output/<scenario>/sweep/].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print only errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
struct PlanArgs {
    /// Scenario file (TOML).
    file: PathBuf,
    /// An objective METRIC<=LIMIT, e.g. "p99<=200ms" (repeat: all must hold).
    #[arg(long, value_name = "SLO", required = true)]
    slo: Vec<String>,
    /// Arrival rate to plan for, req/s [default: the scenario's].
    #[arg(long, value_name = "REQ/S")]
    rate: Option<f64>,
    /// The server group to size [default: the only one].
    #[arg(long, value_name = "NAME")]
    group: Option<String>,
    /// Largest server count to consider.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_servers: u32,
    /// Cost of one server of the group (any unit), to show the cost of each answer.
    #[arg(long, value_name = "X")]
    cost: Option<f64>,
    #[command(flatten)]
    scenario: ScenarioOpts,
    /// Output directory [default: output/<scenario>/plan/].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Worker threads [default: one per core]; results do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Scenario file (TOML).
    file: PathBuf,
    #[command(flatten)]
    scenario: ScenarioOpts,
    /// Output directory [default: output/<scenario name>/].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Worker threads [default: one per core]; results do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// What to print on stdout (the files are written either way).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Do not draw the PNG charts (the CSV and JSON files are still written; charts of an
    /// earlier run in the same directory are removed).
    #[arg(long)]
    no_charts: bool,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

/// The summary printed on stdout.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// A side-by-side table with notes and warnings.
    Table,
    /// summary.csv's header and rows.
    Csv,
    /// The summary and per-server results as JSON (for scripts and jq).
    Json,
}

/// Runs the CLI; exit code 0 on success, 2 for bad input, 1 for other failures.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd_run(args),
        Command::Validate { file } => cmd_validate(&file),
        Command::Remap { file, out, strategies } => cmd_remap(&file, out, strategies),
        Command::Strategies => {
            cmd_strategies();
            Ok(())
        }
        Command::Sweep(args) => cmd_sweep(args),
        Command::Merge(args) => cmd_merge(args),
        Command::Plan(args) => cmd_plan(args),
        #[cfg(feature = "real")]
        Command::Backends(args) => crate::cli_real::cmd_backends(args),
        #[cfg(feature = "real")]
        Command::Load(args) => crate::cli_real::cmd_load(args),
        #[cfg(feature = "real")]
        Command::Compare(args) => crate::cli_real::cmd_compare(args),
    };
    match result {
        Ok(()) if INTERRUPTED.load(Ordering::SeqCst) => ExitCode::from(130),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_input() { 2 } else { 1 })
        }
    }
}

fn load(file: &Path) -> Result<Scenario> {
    Ok(Scenario::load(file)?)
}

fn cmd_run(args: RunArgs) -> Result<()> {
    let mut sc = load(&args.file)?;
    args.scenario.overrides().apply(&mut sc)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("output").join(&sc.name));
    let options = RunOptions { threads: args.threads.map(usize::from), progress: !args.quiet };
    let report = run::run(&sc, &options)?;
    // Files this run does not produce (faults.csv without faults) count as stale too.
    let exporters: Vec<_> = report::exporters(!args.no_charts).into_iter().filter(|e| e.wanted(&report)).collect();
    let written = report::write_outputs(&report, &out, &exporters)?;
    report::remove_stale(&out, &exporters)?;
    match args.format {
        Format::Table => print!("{}", report::terminal::render(&report, std::io::stdout().is_terminal())),
        Format::Csv | Format::Json => {
            if args.format == Format::Csv {
                let bytes = report::csv::SummaryCsv.render(&report)?;
                print!("{}", String::from_utf8_lossy(&bytes));
            } else {
                print!("{}", report::json::render(&report));
            }
            for w in report::terminal::warnings(&report) {
                eprintln!("warning: {w}");
            }
        }
    }
    if !args.quiet {
        let names: Vec<String> =
            written.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
        eprintln!("wrote {} in {}/ ({:.2}s)", names.join(", "), out.display(), report.wall_time);
    }
    Ok(())
}

/// Raised by the first Ctrl-C: sweeps and plans finish what is running and stop.
static STOP: AtomicBool = AtomicBool::new(false);
/// Set when a command stopped early because of Ctrl-C (exit code 130).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// First Ctrl-C: stop starting new work; second: quit at once (finished points are on disk).
fn handle_ctrl_c(what: &'static str) {
    let _ = ctrlc::set_handler(move || {
        if STOP.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted again: quitting now");
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: finishing the {what} already running (Ctrl-C again to quit now)");
    });
}

fn file_names(paths: &[PathBuf]) -> String {
    paths.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect::<Vec<_>>().join(", ")
}

fn cmd_sweep(args: SweepArgs) -> Result<()> {
    let text = ScenarioText::load(&args.file)?;
    let shard = Shard::parse(args.shard.as_deref().unwrap_or("0/1"))?;
    let sw = Sweep::new(text, args.scenario.overrides(), &args.vary)?;
    let name = &sw.scenario(0).name;
    let out = args.out.clone().unwrap_or_else(|| {
        let base = Path::new("output").join(name).join("sweep");
        match shard {
            Some(s) => base.join(format!("shard-{}-of-{}", s.index, s.count)),
            None => base,
        }
    });
    handle_ctrl_c("points");
    let options = SweepOptions {
        threads: args.threads.map(usize::from),
        progress: !args.quiet,
        stop: Some(&STOP),
        shard,
        resume: args.resume,
    };
    let outcome = sweep::execute(&sw, &out, &options)?;
    if !outcome.complete {
        INTERRUPTED.store(true, Ordering::SeqCst);
        eprintln!(
            "interrupted: {} of {} points done, kept in {}; continue with the same command and --resume",
            outcome.resumed + outcome.ran,
            outcome.points,
            out.join("points").display()
        );
        return Ok(());
    }
    if let Some(data) = outcome.data.as_ref().filter(|_| outcome.points > 0) {
        print!("{}", report::sweep::render(data, std::io::stdout().is_terminal())?);
    }
    if !args.quiet {
        let resumed = if outcome.resumed > 0 { format!(", {} resumed", outcome.resumed) } else { String::new() };
        eprintln!(
            "wrote {} in {}/ ({} points{resumed}, {:.2}s)",
            file_names(&outcome.written),
            out.display(),
            outcome.points,
            outcome.wall_time
        );
        if let Some(s) = shard {
            eprintln!("shard {s} done; when all {} shards are, combine them with: lbsim merge DIR...", s.count);
        }
    }
    Ok(())
}

fn cmd_merge(args: MergeArgs) -> Result<()> {
    let out = match &args.out {
        Some(o) => o.clone(),
        None => {
            let m = sweep::store::read_manifest(&args.dirs[0])?;
            let name = m.map(|m| m.scenario).unwrap_or_else(|| "sweep".into());
            Path::new("output").join(name).join("sweep")
        }
    };
    let outcome = sweep::merge(&args.dirs, &out)?;
    print!("{}", report::sweep::render(&outcome.data, std::io::stdout().is_terminal())?);
    if !args.quiet {
        eprintln!(
            "merged {} director{} into {}/: {}",
            args.dirs.len(),
            if args.dirs.len() == 1 { "y" } else { "ies" },
            out.display(),
            file_names(&outcome.written)
        );
    }
    Ok(())
}

fn cmd_plan(args: PlanArgs) -> Result<()> {
    let text = ScenarioText::load(&args.file)?;
    let slos = args.slo.iter().map(|s| Slo::parse(s)).collect::<Result<Vec<_>, _>>()?;
    if let Some(c) = args.cost
        && !(c.is_finite() && c >= 0.0)
    {
        return Err(ScenarioError::at("--cost", format!("must be a number ≥ 0, got {c}")).into());
    }
    let request = PlanRequest {
        slos,
        rate: args.rate,
        group: args.group.clone(),
        max_servers: args.max_servers,
        cost: args.cost,
        overrides: args.scenario.overrides(),
    };
    handle_ctrl_c("candidates");
    let options = PlanOptions { threads: args.threads.map(usize::from), progress: !args.quiet, stop: Some(&STOP) };
    let report = plan::plan(&text, &request, &options)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("output").join(&report.scenario.name).join("plan"));
    print!("{}", report::plan::render(&report, std::io::stdout().is_terminal()));
    if !report.complete {
        INTERRUPTED.store(true, Ordering::SeqCst);
        eprintln!("interrupted: the plan above is incomplete; nothing written");
        return Ok(());
    }
    let exporters: &[&dyn report::Exporter<PlanReport>] =
        &[&report::plan::PlanCsv, &report::plan::CandidatesCsv, &report::plan_chart::PlanChart];
    let written = report::write_outputs(&report, &out, exporters)?;
    if !args.quiet {
        eprintln!("wrote {} in {}/ ({:.2}s)", file_names(&written), out.display(), report.wall_time);
    }
    Ok(())
}

fn cmd_remap(file: &Path, out: Option<PathBuf>, strategies: Option<Vec<String>>) -> Result<()> {
    let mut sc = load(file)?;
    if let Some(names) = &strategies {
        sc.set_strategies(names)?;
    }
    let report = remap::analyze(&sc)?;
    let dir = out.unwrap_or_else(|| Path::new("output").join(&sc.name));
    report::write_outputs(&report, &dir, &[&report::remap::RemapCsv])?;
    print!("{}", report::remap::render(&report));
    eprintln!("wrote remap.csv in {}/", dir.display());
    Ok(())
}

fn cmd_validate(file: &Path) -> Result<()> {
    let sc = load(file)?;
    let rho = sc.offered_load();
    println!("{}: valid", file.display());
    println!("  servers (S):     {} in {} group(s)", sc.server_count(), sc.groups.len());
    println!("  capacity:        {:.1} req/s", sc.capacity());
    println!("  arrivals:        {}", sc.arrivals_summary());
    println!("  arrival rate:    {:.1} req/s mean, peak {:.1}", sc.arrival_rate(), sc.peak_rate());
    println!("  offered load ρ:  {rho:.3}");
    println!("  expected length: {} of simulated time", format_duration(sc.expected_duration()));
    for line in sc.failures_summary() {
        println!("  {line}");
    }
    println!(
        "  service:         {} mean {}, cv {:.3}",
        sc.service.name(),
        format_duration(sc.service.mean()),
        sc.service.cv()
    );
    println!("  keys:            {}", sc.keys_summary());
    println!(
        "  requests:        {} (warm-up {}), {} replication(s), seed {}",
        sc.requests, sc.warmup, sc.replications, sc.seed
    );
    let labels: Vec<&str> = sc.strategies.iter().map(|s| s.label.as_str()).collect();
    println!("  strategies:      {}", labels.join(", "));
    if rho >= 1.0 && !sc.is_closed() {
        println!("warning: offered load ρ = {rho:.3} ≥ 1: the system is unstable, queues will grow without bound");
    }
    let end = sc.expected_duration();
    for (i, f) in sc.faults.iter().enumerate() {
        if f.start >= end {
            println!(
                "warning: fault {i} starts at {} but the run is expected to end near {}: raise `requests` to see it",
                format_duration(f.start),
                format_duration(end)
            );
        }
    }
    if let Some(w) = sc.service.warning() {
        println!("warning: {w}");
    }
    if let Some(w) = sc.keyless_warning() {
        println!("warning: {w}");
    }
    Ok(())
}

fn cmd_strategies() {
    let width = REGISTRY.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in REGISTRY {
        let keyed = if s.keyed { " [routes by key]" } else { "" };
        println!("{:width$}  {}{keyed}", s.name, s.summary);
        println!("{:width$}  models: {}", "", s.models);
        for p in s.params {
            println!("{:width$}  param {} (default {}): {}", "", p.name, p.default, p.help);
        }
    }
}
