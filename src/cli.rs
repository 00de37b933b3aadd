//! The command line as clap parses it: the raw arguments of every subcommand, their help
//! and examples. Nothing here is checked beyond what clap checks (types, ranges, required
//! options); [`crate::options`] turns these into what each command needs.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use lbsim::scenario::Overrides;

/// Examples after `lbsim --help`.
const AFTER_HELP: &str = "Examples:
  lbsim run scenarios/web-peak.toml
  lbsim run scenarios/web-peak.toml --requests 100000 --strategies random,p2c --out /tmp/x
  lbsim run scenarios/web-peak.toml --format json --quiet | jq '.strategies[] | {strategy, p99_ms}'
  lbsim sweep scenarios/web-peak.toml --vary arrivals.rate=500:990:50
  lbsim plan scenarios/web-peak.toml --slo 'p99<=100ms' --rate 2000
  lbsim validate scenarios/near-saturation.toml
  lbsim remap scenarios/cache-tier.toml
  lbsim strategies";

/// After `lbsim sweep --help`: the KEY=VALUES syntax and examples.
const SWEEP_HELP: &str = "KEY is a dotted path: arrivals.rate, service.mean, servers[0].count or servers.web.count,
strategies[3].choices or strategies.p2c.choices, replications, ...
VALUES is a range a:b:n (n values, a and b included), log:a:b:n, or a list a,b,c.
Integer keys take integers; durations take units (5ms:50ms:10).

Examples:
  lbsim sweep web-peak.toml --vary arrivals.rate=500:990:50
  lbsim sweep web-peak.toml --vary arrivals.rate=600,900 --vary servers.web.count=10,12
  lbsim sweep web-peak.toml --vary arrivals.rate=500:990:50 --shard 3/16 --out res/shard-3
  lbsim merge res/shard-* --out res/sweep";

/// After `lbsim plan --help`: the SLO syntax and examples.
const PLAN_HELP: &str = "SLO metrics: mean, p50, p90, p99, p999 (durations: p99<=200ms), drop_rate and utilization
(fractions or percentages: drop_rate<=0.1%, utilization<=70%). Several --slo must all hold.
A count passes when the 95% upper confidence bound of each metric is within its limit.

Examples:
  lbsim plan web-peak.toml --slo 'p99<=100ms'
  lbsim plan web-peak.toml --slo 'p99<=100ms' --slo 'utilization<=80%' --rate 2000 --cost 250
  lbsim plan web-peak.toml --slo 'p99<=100ms' --rate 1000:3000:5";

/// A discrete-event simulator of load-balancing strategies.
#[derive(Parser, Debug)]
#[command(name = "lbsim", version, about, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Memory a run may use, e.g. 8G, 512M or 75% (of physical memory); a run estimated to
    /// need more is refused before it starts [default: 50% of physical memory]
    #[arg(long, value_name = "SIZE", global = true)]
    pub(crate) max_memory: Option<String>,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run every strategy of a scenario on the same request stream and compare them.
    #[command(
        after_help = "Example:\n  lbsim run scenarios/web-peak.toml --threads 2 --out output/web-peak",
        mut_arg("out", |a| a.help("Output directory [default: output/<scenario name>/]"))
    )]
    Run(RunArgs),
    /// Check a scenario and print its size and offered load, without running it.
    Validate {
        /// Scenario file (TOML).
        file: PathBuf,
    },
    /// Fraction of keys each hash-based strategy moves when one server is removed or added.
    #[command(after_help = "Example:\n  lbsim remap scenarios/cache-tier.toml --out output/cache-tier")]
    Remap(RemapArgs),
    /// List the strategies lbsim knows, with the balancer each models.
    Strategies,
    /// Run a scenario over a grid of values of one or more keys (load curves).
    #[command(
        after_help = SWEEP_HELP,
        mut_arg("out", |a| a.help("Output directory [default: output/<scenario>/sweep/, or .../sweep/shard-K-of-N/]"))
    )]
    Sweep(SweepArgs),
    /// Combine the shard directories of a sharded sweep into one sweep.csv and its charts.
    #[command(after_help = "Example:\n  lbsim merge results/shard-0 results/shard-1 results/shard-2 --out results/all")]
    Merge(MergeArgs),
    /// Find, per strategy, the smallest server count of a group that meets SLOs.
    #[command(
        after_help = PLAN_HELP,
        mut_arg("out", |a| a.help("Output directory [default: output/<scenario>/plan/]"))
    )]
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

/// Options that change the scenario as a whole (run, sweep and plan).
#[derive(clap::Args, Debug)]
pub(crate) struct ScenarioArgs {
    /// Override the number of requests generated per replication.
    #[arg(long, value_name = "N")]
    pub(crate) requests: Option<u64>,
    /// Override the seed.
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Override the number of replications.
    #[arg(long, value_name = "N")]
    pub(crate) replications: Option<u32>,
    /// Override the strategy list (comma-separated names).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub(crate) strategies: Option<Vec<String>>,
    /// Run until every strategy's 95% half-width is within this share of the figure:
    /// `2%` (mean_ms and p99_ms) or per figure, `p99_ms=5%,mean_ms=2%`.
    #[arg(long, value_name = "P%")]
    pub(crate) precision: Option<String>,
    /// The most requests per replication --precision may grow the run to [default: 16 ×
    /// requests].
    #[arg(long, value_name = "N")]
    pub(crate) max_requests: Option<u64>,
}

impl ScenarioArgs {
    /// The overrides, as the library takes them.
    pub(crate) fn overrides(&self) -> Overrides {
        Overrides {
            requests: self.requests,
            seed: self.seed,
            replications: self.replications,
            strategies: self.strategies.clone(),
            precision: self.precision.clone(),
            max_requests: self.max_requests,
        }
    }
}

/// Where the files go and how the simulations run (run, sweep and plan; each command
/// states its default directory).
#[derive(clap::Args, Debug)]
pub(crate) struct RunnerArgs {
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Worker threads [default: one per core]; results do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) threads: Option<u16>,
    /// No progress display (warnings are still shown).
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// `lbsim run`.
#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
    /// Scenario file (TOML).
    pub(crate) file: PathBuf,
    /// Scenario overrides.
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// What to print on stdout (the files are written either way).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Do not draw the PNG charts (the CSV and JSON files are still written; charts of an
    /// earlier run in the same directory are removed).
    #[arg(long)]
    pub(crate) no_charts: bool,
    /// Do not write report.html (the one-page report with the charts embedded; a report.html
    /// of an earlier run in the same directory is removed).
    #[arg(long)]
    pub(crate) no_html: bool,
    /// Show every column of the table (by default the table fits 120 columns).
    #[arg(long, conflicts_with = "columns")]
    pub(crate) wide: bool,
    /// The table's columns, by summary.csv name, e.g. mean_ms,p99_ms,rho_max,queue_spread.
    #[arg(long, value_name = "A,B,...")]
    pub(crate) columns: Option<String>,
    /// The service-level objective, a percentile of the response time (e.g. "p99<=100ms", the
    /// syntax of plan and sweep): the scenario's `[slo] objective`, which it overrides (its
    /// `window` kept). Also searches each strategy's headroom (see --no-headroom).
    #[arg(long, value_name = "SLO")]
    pub(crate) slo: Option<String>,
    /// With an SLO (--slo or `[slo]`), do not search how much more load each strategy takes
    /// before breaking it (the search re-runs each strategy at scaled arrival rates, about 3
    /// to 9 runs of it; without it the run writes no headroom.csv).
    #[arg(long)]
    pub(crate) no_headroom: bool,
    /// Output directory, threads, progress.
    #[command(flatten)]
    pub(crate) runner: RunnerArgs,
}

/// The summary `lbsim run` prints on stdout.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// A side-by-side table with notes and warnings.
    Table,
    /// summary.csv's header and rows.
    Csv,
    /// The summary and per-server results as JSON (for scripts and jq).
    Json,
}

/// `lbsim remap`.
#[derive(clap::Args, Debug)]
pub(crate) struct RemapArgs {
    /// Scenario file (TOML); its hash-based strategies are analysed (all of them if it lists none).
    pub(crate) file: PathBuf,
    /// Output directory for remap.csv [default: output/<scenario name>/].
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Analyse these strategies instead (comma-separated names).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub(crate) strategies: Option<Vec<String>>,
    /// Run until every strategy's 95% half-width is within this share of the figure:
    /// `2%` (mean_ms and p99_ms) or per figure, `p99_ms=5%,mean_ms=2%`.
    #[arg(long, value_name = "P%")]
    pub(crate) precision: Option<String>,
    /// The most requests per replication --precision may grow the run to [default: 16 ×
    /// requests].
    #[arg(long, value_name = "N")]
    pub(crate) max_requests: Option<u64>,
}

/// `lbsim sweep`.
#[derive(clap::Args, Debug)]
pub(crate) struct SweepArgs {
    /// Scenario file (TOML).
    pub(crate) file: PathBuf,
    /// A key and its values, KEY=VALUES (repeat for a grid; the first varies slowest and is the charts' x axis).
    #[arg(long, value_name = "KEY=VALUES", required = true)]
    pub(crate) vary: Vec<String>,
    /// Scenario overrides.
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// Report each strategy's headroom at this objective, p99 or mean (e.g. "p99<=100ms"): the
    /// highest swept value of the first key meeting it and the interpolated crossing.
    #[arg(long, value_name = "SLO")]
    pub(crate) slo: Option<String>,
    /// Run only shard K of N (K from 0): points K, K+N, K+2N, ...
    #[arg(long, value_name = "K/N")]
    pub(crate) shard: Option<String>,
    /// Continue an interrupted sweep in the same output directory, keeping its finished points.
    #[arg(long)]
    pub(crate) resume: bool,
    /// Do not write report.html (the one-page report with the charts embedded).
    #[arg(long)]
    pub(crate) no_html: bool,
    /// Output directory, threads, progress.
    #[command(flatten)]
    pub(crate) runner: RunnerArgs,
}

/// `lbsim merge`.
#[derive(clap::Args, Debug)]
pub(crate) struct MergeArgs {
    /// The shard output directories.
    #[arg(required = true, value_name = "DIR")]
    pub(crate) dirs: Vec<PathBuf>,
    /// Output directory [default: output/<scenario>/sweep/].
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Print only errors.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// `lbsim plan`.
#[derive(clap::Args, Debug)]
pub(crate) struct PlanArgs {
    /// Scenario file (TOML).
    pub(crate) file: PathBuf,
    /// An objective METRIC<=LIMIT, e.g. "p99<=200ms" (repeat: all must hold).
    #[arg(long, value_name = "SLO", required = true)]
    pub(crate) slo: Vec<String>,
    /// Arrival rate to plan for, req/s [default: the scenario's]; or several, as a range
    /// A:B:N (N rates from A to B), log:A:B:N or a list a,b,c: servers needed per rate.
    #[arg(long, value_name = "REQ/S", allow_hyphen_values = true)]
    pub(crate) rate: Option<String>,
    /// The server group to size [default: the only one].
    #[arg(long, value_name = "NAME")]
    pub(crate) group: Option<String>,
    /// Largest server count to consider.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) max_servers: u32,
    /// Cost of one server of the group (any unit), to show the cost of each answer.
    #[arg(long, value_name = "X")]
    pub(crate) cost: Option<f64>,
    /// Do not write report.html (the one-page report with the chart embedded).
    #[arg(long)]
    pub(crate) no_html: bool,
    /// Scenario overrides.
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// Output directory, threads, progress.
    #[command(flatten)]
    pub(crate) runner: RunnerArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn each_command_states_its_default_directory() {
        use clap::CommandFactory;
        let cmd = Cli::command();
        let help = |name: &str| {
            let sub = cmd.find_subcommand(name).expect("subcommand");
            let out = sub.get_arguments().find(|a| a.get_id() == "out").expect("--out");
            out.get_help().map(ToString::to_string).unwrap_or_default()
        };
        assert!(help("run").contains("output/<scenario name>/]"));
        assert!(help("sweep").contains("/sweep/"));
        assert!(help("plan").contains("/plan/"));
    }
}
