//! The raw arguments ([`crate::cli`]) checked into what each command needs: the scenario
//! loaded and overridden, the shard and SLOs parsed, the output directory resolved.
//!
//! Checks run in the order a user meets them (the scenario file first, then the options
//! that depend on it), so the first error reported is the first one to fix.

use std::path::{Path, PathBuf};

use lbsim::plan::{PlanRequest, Slo};
use lbsim::report::run::terminal::Layout;
use lbsim::scenario::ValueKind;
use lbsim::scenario::edit::KeyValue;
use lbsim::scenario::edit::ScenarioText;
use lbsim::scenario::slo::WindowSlo;
use lbsim::scenario::{Overrides, Scenario, ScenarioError};
use lbsim::sweep::spec::parse_values;
use lbsim::sweep::{self, Shard, Sweep};
use lbsim::{Result, memory};

use crate::cli::{Format, MergeArgs, PlanArgs, RemapArgs, RunArgs, RunnerArgs, SweepArgs};

/// Where every default output directory lives.
const OUTPUT: &str = "output";

/// Threads and progress, as the library's options take them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Runner {
    /// Worker threads; `None` = one per core.
    pub(crate) threads: Option<usize>,
    /// Whether to show progress and the closing "wrote ..." line (not `--quiet`).
    pub(crate) verbose: bool,
}

impl From<&RunnerArgs> for Runner {
    fn from(a: &RunnerArgs) -> Runner {
        Runner { threads: a.threads.map(usize::from), verbose: !a.quiet }
    }
}

/// Sets the process's memory limit from `--max-memory` (the default stays otherwise).
pub(crate) fn set_memory_limit(size: Option<&str>) -> Result<()> {
    if let Some(text) = size {
        let bytes = memory::parse_size(text).map_err(|m| ScenarioError::at("--max-memory", m))?;
        memory::set_memory_limit(bytes);
    }
    Ok(())
}

/// Loads and validates a scenario file.
pub(crate) fn load(file: &Path) -> Result<Scenario> {
    Ok(Scenario::load(file)?)
}

/// `--rate`: one rate (REQ/S), or several: a range `a:b:n`, `log:a:b:n` or a list `a,b,c`
/// (the syntax of `sweep --vary`), returned ascending; every rate of several must be positive.
pub(crate) fn parse_rates(spec: &str) -> Result<Vec<f64>, ScenarioError> {
    let spec = spec.trim();
    let err = |why: String| {
        ScenarioError::at("--rate", format!("`{spec}`: {why}")).with_help(
            "give requests per second (2000), a range A:B:N (N rates from A to B), log:A:B:N or a list a,b,c",
        )
    };
    let mut rates: Vec<f64> = if spec.contains(':') || spec.contains(',') {
        let (values, _) = parse_values(spec, ValueKind::Float).map_err(err)?;
        values.into_iter().map(KeyValue::as_f64).collect()
    } else {
        // One rate: its range is checked where a single plan checks it.
        return Ok(vec![
            spec.replace('_', "").parse::<f64>().map_err(|_| err("not a number of requests per second".into()))?,
        ]);
    };
    if let Some(bad) = rates.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
        return Err(err(format!("every rate must be a positive number of requests per second, got {bad}")));
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates)
}

/// `lbsim run`, checked.
#[derive(Debug)]
pub(crate) struct Run {
    /// The scenario with its overrides.
    pub(crate) scenario: Scenario,
    /// Output directory.
    pub(crate) out: PathBuf,
    /// Threads and progress.
    pub(crate) runner: Runner,
    /// What to print on stdout.
    pub(crate) format: Format,
    /// Whether to draw the charts.
    pub(crate) charts: bool,
    /// Whether to write report.html.
    pub(crate) html: bool,
    /// The table's columns.
    pub(crate) layout: Layout,
    /// Whether to search each strategy's headroom at the SLO (when there is one).
    pub(crate) headroom: bool,
}

impl Run {
    /// Loads the scenario and applies the overrides.
    pub(crate) fn new(args: RunArgs) -> Result<Run> {
        let layout = match (&args.columns, args.wide) {
            (Some(list), _) => Layout::columns(list)?,
            (None, true) => Layout::Wide,
            (None, false) => Layout::Fit,
        };
        let mut scenario = load(&args.file)?;
        args.scenario.overrides().apply(&mut scenario)?;
        if let Some(text) = &args.slo {
            // `--slo` is `[slo] objective`: the same parser, the file's window kept.
            let window = scenario.slo.map_or(lbsim::scenario::slo::DEFAULT_WINDOW, |s| s.window);
            scenario.slo = Some(WindowSlo::parse(text, window, "--slo")?);
        }
        let out = args.runner.out.clone().unwrap_or_else(|| Path::new(OUTPUT).join(&scenario.name));
        Ok(Run {
            scenario,
            out,
            runner: (&args.runner).into(),
            format: args.format,
            charts: !args.no_charts,
            html: !args.no_html,
            layout,
            headroom: !args.no_headroom,
        })
    }
}

/// `lbsim remap`, checked.
#[derive(Debug)]
pub(crate) struct Remap {
    /// The scenario, with the strategies to analyse.
    pub(crate) scenario: Scenario,
    /// Output directory.
    pub(crate) out: PathBuf,
}

impl Remap {
    /// Loads the scenario and sets the strategies asked for.
    pub(crate) fn new(args: RemapArgs) -> Result<Remap> {
        let mut scenario = load(&args.file)?;
        Overrides { strategies: args.strategies, ..Overrides::default() }.apply(&mut scenario)?;
        let out = args.out.unwrap_or_else(|| Path::new(OUTPUT).join(&scenario.name));
        Ok(Remap { scenario, out })
    }
}

/// `lbsim sweep`, checked.
#[derive(Debug)]
pub(crate) struct SweepRun {
    /// The sweep, every point built and validated.
    pub(crate) sweep: Sweep,
    /// The shard to run (`None`: all points).
    pub(crate) shard: Option<Shard>,
    /// Keep the finished points of the output directory.
    pub(crate) resume: bool,
    /// Whether to write report.html.
    pub(crate) html: bool,
    /// `--slo`: the objective whose headroom is reported.
    pub(crate) slo: Option<Slo>,
    /// Output directory.
    pub(crate) out: PathBuf,
    /// Threads and progress.
    pub(crate) runner: Runner,
}

impl SweepRun {
    /// Loads the scenario text, parses the shard and builds every point.
    pub(crate) fn new(args: SweepArgs) -> Result<SweepRun> {
        let text = ScenarioText::load(&args.file)?;
        let shard = Shard::parse(args.shard.as_deref().unwrap_or("0/1"))?;
        let sweep = Sweep::new(text, args.scenario.overrides(), &args.vary)?;
        let out = args.runner.out.clone().unwrap_or_else(|| {
            let base = Path::new(OUTPUT).join(&sweep.scenario(0).name).join("sweep");
            match shard {
                Some(s) => base.join(format!("shard-{}-of-{}", s.index, s.count)),
                None => base,
            }
        });
        let slo = match &args.slo {
            None => None,
            Some(text) => {
                let slo = Slo::parse(text)?;
                if !lbsim::report::sweep::headroom::supported(slo.metric) {
                    return Err(ScenarioError::at(
                        "--slo",
                        format!(
                            "a sweep judges headroom on p99 or mean (the metrics of its charts), got `{}`; `lbsim \
                             plan` takes the others",
                            slo.metric.name()
                        ),
                    )
                    .into());
                }
                Some(slo)
            }
        };
        Ok(SweepRun { sweep, shard, resume: args.resume, html: !args.no_html, slo, out, runner: (&args.runner).into() })
    }
}

/// `lbsim merge`, checked.
#[derive(Debug)]
pub(crate) struct Merge {
    /// The shard directories.
    pub(crate) dirs: Vec<PathBuf>,
    /// Output directory.
    pub(crate) out: PathBuf,
    /// Whether to print the closing "merged ..." line.
    pub(crate) verbose: bool,
}

impl Merge {
    /// Resolves the output directory (by default, named after the first shard's scenario).
    pub(crate) fn new(args: MergeArgs) -> Result<Merge> {
        let out = match args.out {
            Some(o) => o,
            None => {
                let m = sweep::store::read_manifest(&args.dirs[0])?;
                let name = m.map(|m| m.scenario).unwrap_or_else(|| "sweep".into());
                Path::new(OUTPUT).join(name).join("sweep")
            }
        };
        Ok(Merge { dirs: args.dirs, out, verbose: !args.quiet })
    }
}

/// `lbsim plan`, checked.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The scenario text.
    pub(crate) text: ScenarioText,
    /// What to plan.
    pub(crate) request: PlanRequest,
    /// `--rate` of several rates: the rates, ascending, and the option as written.
    pub(crate) range: Option<(Vec<f64>, String)>,
    /// Output directory, if given (the default is named after the planned scenario).
    pub(crate) out: Option<PathBuf>,
    /// Whether to write report.html.
    pub(crate) html: bool,
    /// Threads and progress.
    pub(crate) runner: Runner,
}

impl Plan {
    /// Loads the scenario text and parses the SLOs and the cost.
    pub(crate) fn new(args: PlanArgs) -> Result<Plan> {
        let text = ScenarioText::load(&args.file)?;
        let slos = args.slo.iter().map(|s| Slo::parse(s)).collect::<Result<Vec<_>, _>>()?;
        if let Some(c) = args.cost
            && !(c.is_finite() && c >= 0.0)
        {
            return Err(ScenarioError::at("--cost", format!("must be a number ≥ 0, got {c}")).into());
        }
        let rates = args.rate.as_deref().map(parse_rates).transpose()?;
        let request = PlanRequest {
            slos,
            rate: rates.as_ref().and_then(|r| r.first().copied()),
            group: args.group,
            max_servers: args.max_servers,
            cost: args.cost,
            overrides: args.scenario.overrides(),
        };
        let range = rates.filter(|r| r.len() > 1).zip(args.rate);
        Ok(Plan {
            text,
            request,
            range,
            out: args.runner.out.clone(),
            html: !args.no_html,
            runner: (&args.runner).into(),
        })
    }

    /// The output directory of a plan of the scenario `name`.
    pub(crate) fn out(&self, name: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| Path::new(OUTPUT).join(name).join("plan"))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn command(args: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("lbsim").chain(args.iter().copied())).expect("parses").command
    }

    #[test]
    fn default_directories_are_named_after_the_scenario() {
        let Command::Run(args) = command(&["run", "scenarios/web-peak.toml", "--requests", "1000", "-q"]) else {
            panic!("run")
        };
        let run = Run::new(args).unwrap();
        assert_eq!(run.out, Path::new("output/web-peak"));
        assert_eq!(run.scenario.requests, 1000);
        assert!(!run.runner.verbose && run.charts);
        let Command::Sweep(args) =
            command(&["sweep", "scenarios/web-peak.toml", "--vary", "arrivals.rate=600,900", "--shard", "1/2"])
        else {
            panic!("sweep")
        };
        let sweep = SweepRun::new(args).unwrap();
        assert_eq!(sweep.out, Path::new("output/web-peak/sweep/shard-1-of-2"));
        assert_eq!(sweep.shard, Some(Shard { index: 1, count: 2 }));
        let Command::Plan(args) = command(&["plan", "scenarios/web-peak.toml", "--slo", "p99<=1s", "--out", "x"])
        else {
            panic!("plan")
        };
        assert_eq!(Plan::new(args).unwrap().out("web-peak"), Path::new("x"));
    }

    #[test]
    fn the_scenario_file_is_checked_before_the_options_that_need_it() {
        let Command::Plan(args) = command(&["plan", "/nonexistent.toml", "--slo", "p98<=1s"]) else { panic!("plan") };
        let e = Plan::new(args).unwrap_err();
        assert!(e.to_string().contains("/nonexistent.toml"), "{e}");
        let Command::Plan(args) = command(&["plan", "scenarios/web-peak.toml", "--slo", "p99<=1s", "--cost=-1"]) else {
            panic!("plan")
        };
        let e = Plan::new(args).unwrap_err();
        assert!(e.is_input() && e.to_string().contains("--cost"), "{e}");
    }

    #[test]
    fn rates_are_one_number_a_range_or_a_list() {
        assert_eq!(parse_rates("2000").unwrap(), vec![2000.0]);
        assert_eq!(parse_rates("-3").unwrap(), vec![-3.0], "refused by the plan, as before");
        assert_eq!(parse_rates("500:2000:4").unwrap(), vec![500.0, 1000.0, 1500.0, 2000.0]);
        assert_eq!(parse_rates("900,300,600").unwrap(), vec![300.0, 600.0, 900.0]);
        assert_eq!(parse_rates("log:100:10000:3").unwrap(), vec![100.0, 1000.0, 10000.0]);
        for (bad, why) in [
            ("fast", "not a number"),
            ("-5:10:3", "positive"),
            ("100:200", "a range is"),
            ("100:200:1", "n ≥ 2"),
            ("100,100", "twice"),
        ] {
            let e = parse_rates(bad).unwrap_err();
            assert_eq!(e.key.as_deref(), Some("--rate"), "{bad}");
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
    }
}
