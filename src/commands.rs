//! One function per subcommand: each calls the library with its checked options
//! ([`crate::options`]) and hands the results to [`lbsim::report`] for printing and files.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use lbsim::analysis::Preflight;
use lbsim::plan::rates::RatesReport;
use lbsim::plan::{self, PlanOptions, PlanReport};
use lbsim::report::{self, Exporter};
use lbsim::run::{self, RunOptions};
use lbsim::strategy::registry::REGISTRY;
use lbsim::sweep::{self, SweepOptions};
use lbsim::{Result, budget, memory, remap};

use crate::cli::{Command, Format};
use crate::options::{Merge, Plan, Remap, Run, SweepRun, load};
use crate::out::{err, errln, out, outln};

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// It did everything it was asked.
    Done,
    /// Ctrl-C stopped it early (exit code 130); what finished is kept.
    Interrupted,
}

/// Runs `command`.
pub(crate) fn run(command: Command) -> Result<Ending> {
    match command {
        Command::Run(args) => cmd_run(Run::new(args)?),
        Command::Validate { file } => cmd_validate(&file).map(|()| Ending::Done),
        Command::Remap(args) => cmd_remap(Remap::new(args)?),
        Command::Strategies => cmd_strategies(),
        Command::Sweep(args) => cmd_sweep(SweepRun::new(args)?),
        Command::Merge(args) => cmd_merge(Merge::new(args)?),
        Command::Plan(args) => cmd_plan(Plan::new(args)?),
        #[cfg(feature = "real")]
        Command::Backends(args) => crate::cli_real::cmd_backends(args).map(|()| Ending::Done),
        #[cfg(feature = "real")]
        Command::Load(args) => crate::cli_real::cmd_load(args).map(|()| Ending::Done),
        #[cfg(feature = "real")]
        Command::Compare(args) => crate::cli_real::cmd_compare(args).map(|()| Ending::Done),
    }
}

/// Whether stdout is a terminal (tables use bold there).
fn color() -> bool {
    std::io::stdout().is_terminal()
}

/// The file names of `paths`, comma-separated.
fn file_names(paths: &[PathBuf]) -> String {
    paths.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect::<Vec<_>>().join(", ")
}

/// Raised by the first Ctrl-C: sweeps and plans finish what is running and stop.
static STOP: AtomicBool = AtomicBool::new(false);

/// First Ctrl-C: stop starting new work; second: quit at once (finished points are on disk).
fn handle_ctrl_c(what: &'static str) {
    let _ = ctrlc::set_handler(move || {
        if STOP.swap(true, Ordering::SeqCst) {
            let _ = errln!("\ninterrupted again: quitting now");
            std::process::exit(130);
        }
        let _ = errln!("\ninterrupted: finishing the {what} already running (Ctrl-C again to quit now)");
    });
}

/// `lbsim run`.
fn cmd_run(o: Run) -> Result<Ending> {
    let options = RunOptions { threads: o.runner.threads, progress: o.runner.verbose };
    // A slow run is said before it starts (and again among the report's warnings), also
    // with --quiet: quiet silences progress, not warnings.
    let usage =
        budget::check(&o.scenario, budget::threads_or_cores(o.runner.threads), memory::memory_limit(), "the run")?;
    if usage.is_slow() {
        errln!("warning: {}", report::Warning::Slow { work: usage.work, simulations: usage.simulations })?;
    }
    let mut report = run::run(&o.scenario, &options)?;
    if let Some(slo) = o.scenario.slo.filter(|_| o.headroom) {
        if o.runner.verbose {
            errln!(
                "headroom at {}: searching ×{} to ×{} of the load, at most {} runs per strategy (--no-headroom skips it)",
                lbsim::plan::slo::Slo::of_window(&slo),
                lbsim::report::run::headroom::factor(lbsim::headroom::MIN_FACTOR),
                lbsim::report::run::headroom::factor(lbsim::headroom::MAX_FACTOR),
                lbsim::headroom::MAX_RUNS
            )?;
        }
        let rho = report.offered_load();
        report.headroom = lbsim::headroom::search(
            &o.scenario,
            &report.strategies,
            rho,
            &lbsim::plan::slo::Slo::of_window(&slo),
            o.runner.threads,
        )?;
    }
    // Files this run does not produce (faults.csv without faults) count as stale too.
    let exporters: Vec<_> = report::run::selected(o.charts, o.html).into_iter().filter(|e| e.wanted(&report)).collect();
    let written = report::write_outputs(&report, &o.out, &exporters)?;
    report::run::remove_stale(&o.out, &exporters)?;
    match o.format {
        Format::Table => out!("{}", report::run::terminal::render_with(&report, color(), &o.layout))?,
        Format::Csv | Format::Json => {
            if o.format == Format::Csv {
                let bytes = report::run::summary_csv::SummaryCsv.render(&report)?;
                out!("{}", String::from_utf8_lossy(&bytes))?;
            } else {
                crate::out::stream(|w| report::run::json::write(&report, w))?;
            }
            for w in &report.warnings {
                errln!("warning: {w}")?;
            }
        }
    }
    if o.runner.verbose {
        err!(
            "{}",
            report::format::to_width(&format!(
                "wrote {} in {}/ ({:.2}s)",
                file_names(&written),
                o.out.display(),
                report.wall_time
            ))
        )?;
    }
    Ok(Ending::Done)
}

/// `lbsim sweep`.
fn cmd_sweep(o: SweepRun) -> Result<Ending> {
    handle_ctrl_c("points");
    let options = SweepOptions {
        threads: o.runner.threads,
        progress: o.runner.verbose,
        stop: Some(&STOP),
        shard: o.shard,
        resume: o.resume,
        no_html: !o.html,
        slo: o.slo.as_ref(),
    };
    let outcome = sweep::execute(&o.sweep, &o.out, &options)?;
    if !outcome.complete {
        errln!(
            "interrupted: {} of {} points done, kept in {}; continue with the same command and --resume",
            outcome.resumed + outcome.ran,
            outcome.points,
            o.out.join(sweep::store::POINTS).display()
        )?;
        return Ok(Ending::Interrupted);
    }
    if let Some(data) = outcome.data.as_ref().filter(|_| outcome.points > 0) {
        out!("{}", report::sweep::render(&data.view, color()))?;
    }
    if o.runner.verbose {
        let resumed = if outcome.resumed > 0 { format!(", {} resumed", outcome.resumed) } else { String::new() };
        err!(
            "{}",
            report::format::to_width(&format!(
                "wrote {} in {}/ ({} points{resumed}, {:.2}s)",
                file_names(&outcome.written),
                o.out.display(),
                outcome.points,
                outcome.wall_time
            ))
        )?;
        if let Some(s) = o.shard {
            errln!("shard {s} done; when all {} shards are, combine them with: lbsim merge DIR...", s.count)?;
        }
    }
    Ok(Ending::Done)
}

/// `lbsim merge`.
fn cmd_merge(o: Merge) -> Result<Ending> {
    let outcome = sweep::merge(&o.dirs, &o.out)?;
    out!("{}", report::sweep::render(&outcome.data.view, color()))?;
    if o.verbose {
        errln!(
            "merged {} director{} into {}/: {}",
            o.dirs.len(),
            if o.dirs.len() == 1 { "y" } else { "ies" },
            o.out.display(),
            file_names(&outcome.written)
        )?;
    }
    Ok(Ending::Done)
}

/// `lbsim plan`.
fn cmd_plan(o: Plan) -> Result<Ending> {
    handle_ctrl_c("candidates");
    let options = PlanOptions { threads: o.runner.threads, progress: o.runner.verbose, stop: Some(&STOP) };
    if let Some((rates, spec)) = &o.range {
        return cmd_plan_rates(&o, rates, spec, &options);
    }
    let report = plan::plan(&o.text, &o.request, &options)?;
    let out = o.out(&report.scenario.name);
    out!("{}", report::plan::render(&report, color()))?;
    if !report.complete {
        errln!("interrupted: the plan above is incomplete; nothing written")?;
        return Ok(Ending::Interrupted);
    }
    let mut exporters: Vec<&dyn Exporter<PlanReport>> =
        vec![&report::plan::plan_csv::PlanCsv, &report::plan::plan_csv::CandidatesCsv, &report::plan::chart::PlanChart];
    if o.html {
        exporters.push(&report::plan::html::PlanHtml);
    } else {
        report::remove_file(&out.join(report::html::FILE))?;
    }
    // A range's chart left by an earlier plan in the same directory would describe another plan.
    report::remove_file(&out.join(report::plan::rates_chart::RatesChart.file_name()))?;
    let written = report::write_outputs(&report, &out, &exporters)?;
    if o.runner.verbose {
        err!(
            "{}",
            report::format::to_width(&format!(
                "wrote {} in {}/ ({:.2}s)",
                file_names(&written),
                out.display(),
                report.wall_time
            ))
        )?;
    }
    Ok(Ending::Done)
}

/// `lbsim plan --rate A:B:N`: a plan per rate; said to be slow before it starts when even
/// its least work (one candidate per strategy and rate) is.
fn cmd_plan_rates(o: &Plan, rates: &[f64], spec: &str, options: &PlanOptions) -> Result<Ending> {
    let threads = budget::threads_or_cores(o.runner.threads);
    let (work, candidates) = plan::rates::work_floor(&o.text, &o.request, rates, threads)?;
    if work > budget::SLOW_WORK {
        errln!(
            "{}",
            report::format::to_width(&format!(
                "warning: slow plan: {} rates need at least {candidates} candidates (one per strategy and rate), about                  {work:.1e} events, and a search usually simulates 2 to 4 times that; fewer rates, `requests` or                  `replications` for a quick look",
                rates.len()
            ))
        )?;
    }
    let report = plan::rates::plan_rates(&o.text, &o.request, rates, spec, options)?;
    let Some(name) = report.plans.first().map(|p| p.scenario.name.clone()) else { return Ok(Ending::Interrupted) };
    let out = o.out(&name);
    out!("{}", report::plan::rates::render(&report, color()))?;
    if !report.complete {
        errln!("interrupted: the plan above is incomplete; nothing written")?;
        return Ok(Ending::Interrupted);
    }
    use report::plan::rates::{RatesCandidatesCsv, RatesHtml, RatesPlanCsv};
    let mut exporters: Vec<&dyn Exporter<RatesReport>> =
        vec![&RatesPlanCsv, &RatesCandidatesCsv, &report::plan::rates_chart::RatesChart];
    if o.html {
        exporters.push(&RatesHtml);
    } else {
        report::remove_file(&out.join(report::html::FILE))?;
    }
    // plan.png of a single plan in the same directory would describe another plan.
    report::remove_file(&out.join(report::plan::chart::PlanChart.file_name()))?;
    let written = report::write_outputs(&report, &out, &exporters)?;
    if o.runner.verbose {
        err!(
            "{}",
            report::format::to_width(&format!(
                "wrote {} in {}/ ({} rates, {} candidates, {:.2}s)",
                file_names(&written),
                out.display(),
                report.plans.len(),
                report.simulated(),
                report.wall_time
            ))
        )?;
    }
    Ok(Ending::Done)
}

/// `lbsim remap`.
fn cmd_remap(o: Remap) -> Result<Ending> {
    let work = remap::work(&o.scenario);
    if work > budget::SLOW_WORK {
        errln!(
            "warning: slow remap: about {work:.1e} events of work (pools × keys × servers hashed per key); lower the \
             servers or [keys] count, or list fewer strategies, for a quick look"
        )?;
    }
    let report = remap::analyze(&o.scenario)?;
    report::write_outputs(&report, &o.out, &[&report::remap_out::RemapCsv])?;
    out!("{}", report::remap_out::render(&report))?;
    errln!("wrote remap.csv in {}/", o.out.display())?;
    Ok(Ending::Done)
}

/// `lbsim strategies`.
fn cmd_strategies() -> Result<Ending> {
    let width = REGISTRY.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in REGISTRY {
        let keyed = if s.keyed { " [routes by key]" } else { "" };
        outln!("{:width$}  {}{keyed}", s.name, s.summary)?;
        outln!("{:width$}  models: {}", "", s.models)?;
        for p in s.params {
            outln!("{:width$}  param {} (default {}): {}", "", p.name, p.default_text(), p.help)?;
        }
    }
    Ok(Ending::Done)
}

/// `lbsim validate`.
fn cmd_validate(file: &Path) -> Result<()> {
    let sc = load(file)?;
    let threads = budget::threads_or_cores(None);
    let usage = budget::check(&sc, threads, memory::memory_limit(), "a run of this scenario")?;
    let preflight = Preflight::with_static_loads(&sc);
    out!("{}", report::validate_text::render(&sc, file, &usage, &preflight))?;
    Ok(())
}
