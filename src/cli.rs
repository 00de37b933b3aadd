//! Command-line interface (clap derive). Thin: every command calls into the library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use lbsim::Result;
use lbsim::report::{self, EXPORTERS};
use lbsim::run::{self, RunOptions};
use lbsim::scenario::edit::Overrides;
use lbsim::scenario::{Scenario, duration::format_duration};
use lbsim::strategy::registry::REGISTRY;

const AFTER_HELP: &str = "Examples:
  lbsim run scenarios/web-peak.toml
  lbsim run scenarios/web-peak.toml --requests 100000 --strategies random,p2c --out /tmp/x
  lbsim validate scenarios/near-saturation.toml
  lbsim strategies";

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
    /// List the strategies lbsim knows, with the balancer each models.
    Strategies,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Scenario file (TOML).
    file: PathBuf,
    /// Override the number of requests generated per replication.
    #[arg(long, value_name = "N")]
    requests: Option<u64>,
    /// Override the seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Override the strategy list (comma-separated names).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    strategies: Option<Vec<String>>,
    /// Output directory [default: output/<scenario name>/].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Worker threads [default: one per core]; results do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs the CLI; exit code 0 on success, 2 for bad input, 1 for other failures.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd_run(args),
        Command::Validate { file } => cmd_validate(&file),
        Command::Strategies => {
            cmd_strategies();
            Ok(())
        }
    };
    match result {
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
    let overrides =
        Overrides { requests: args.requests, seed: args.seed, replications: None, strategies: args.strategies.clone() };
    overrides.apply(&mut sc)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("output").join(&sc.name));
    let options = RunOptions { threads: args.threads.map(usize::from), progress: !args.quiet };
    let report = run::run(&sc, &options)?;
    let written = report::write_outputs(&report, &out, EXPORTERS)?;
    print!("{}", report::terminal::render(&report, std::io::stdout().is_terminal()));
    if !args.quiet {
        let names: Vec<String> =
            written.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
        eprintln!("wrote {} in {}/ ({:.2}s)", names.join(", "), out.display(), report.wall_time);
    }
    Ok(())
}

fn cmd_validate(file: &Path) -> Result<()> {
    let sc = load(file)?;
    let rho = sc.offered_load();
    println!("{}: valid", file.display());
    println!("  servers (S):     {} in {} group(s)", sc.server_count(), sc.groups.len());
    println!("  capacity:        {:.1} req/s", sc.capacity());
    println!("  arrival rate:    {:.1} req/s", sc.arrivals.rate());
    println!("  offered load ρ:  {rho:.3}");
    println!(
        "  service:         {} mean {}, cv {:.3}",
        sc.service.name(),
        format_duration(sc.service.mean()),
        sc.service.cv()
    );
    println!(
        "  requests:        {} (warm-up {}), {} replication(s), seed {}",
        sc.requests, sc.warmup, sc.replications, sc.seed
    );
    let labels: Vec<&str> = sc.strategies.iter().map(|s| s.label.as_str()).collect();
    println!("  strategies:      {}", labels.join(", "));
    if rho >= 1.0 {
        println!("warning: offered load ρ = {rho:.3} ≥ 1: the system is unstable, queues will grow without bound");
    }
    if let Some(w) = sc.service.warning() {
        println!("warning: {w}");
    }
    Ok(())
}

fn cmd_strategies() {
    let width = REGISTRY.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in REGISTRY {
        println!("{:width$}  {}", s.name, s.summary);
        println!("{:width$}  models: {}", "", s.models);
        for p in s.params {
            println!("{:width$}  param {} (default {}): {}", "", p.name, p.default, p.help);
        }
    }
}
