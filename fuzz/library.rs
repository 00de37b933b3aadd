//! The in-process half of the `commands` and `files` stages (issue 29): what the binary does
//! with an input before its first output, called as a library under the caller's
//! `catch_unwind`, a few microseconds an input instead of a process. The binary's own command
//! line ([`crate::cli`], [`crate::options`]: its modules, compiled into this example) parses
//! the arguments with clap's `try_parse_from` and checks them into each command's options;
//! the files lbsim reads back (`compare`'s directories, a sweep's for `--resume`, `merge`'s
//! shards) go through the library's readers.
//!
//! The answer is the exit code the binary would end with if it stopped there: 0 (accepted),
//! 1 (an environment error), 2 (refused: clap, or an input error). What needs a process —
//! stdout on a full device, signals, the exit code of the whole command, the network — stays
//! with the binary ([`crate::commands`], [`crate::network`]), which the caller also runs on
//! one input in `--binary-every` and compares: an input refused here must be refused (exit 2)
//! there.

use std::path::{Path, PathBuf};

use clap::Parser;
use lbsim::real::compare::{self, Check};
use lbsim::scenario::edit::ScenarioText;
use lbsim::scenario::{Overrides, Scenario};
use lbsim::sweep::{Sweep, store};
use lbsim::{Error, budget, memory};

use crate::cli::{Cli, Command};
use crate::options;

/// What a `files` input reads back, and how.
#[derive(Debug, Clone)]
pub(crate) enum Readback {
    /// `compare SIM MEASURED [--check …]`.
    Compare { sim: PathBuf, measured: PathBuf, checks: Vec<String> },
    /// `sweep SCENARIO --vary VARY --resume --out DIR`.
    Resume { scenario: PathBuf, vary: String, dir: PathBuf },
    /// `merge DIRS…`.
    Merge { dirs: Vec<PathBuf> },
}

/// The exit code an error would give, after checking that its message says something.
fn code_of(e: &Error) -> Result<u8, String> {
    let text = e.to_string();
    if text.trim().is_empty() {
        return Err(format!("an error with an empty message: {e:?}"));
    }
    Ok(if e.is_input() { 2 } else { 1 })
}

/// Checks `argv` (without the program's name) as `lbsim` does before it starts work: clap's
/// parse, `--max-memory`, the command's options (the scenario loaded and overridden, shards,
/// SLOs, rates), and for `run` and `validate` the resource budget.
pub(crate) fn flags(argv: &[String]) -> Result<u8, String> {
    let cli = match Cli::try_parse_from(std::iter::once("lbsim").chain(argv.iter().map(String::as_str))) {
        Ok(cli) => cli,
        // `--help` and `--version` are "errors" that print to stdout and exit 0.
        Err(e) => {
            let _ = e.render().to_string();
            return Ok(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let limit = match cli.max_memory.as_deref().map(memory::parse_size) {
        None => memory::memory_limit(),
        Some(Ok(bytes)) => bytes,
        Some(Err(_)) => return Ok(2),
    };
    let checked: lbsim::Result<()> = match cli.command {
        Command::Run(args) => options::Run::new(args).and_then(|o| {
            budget::check(&o.scenario, budget::threads_or_cores(o.runner.threads), limit, "the run")
                .map(drop)
                .map_err(Error::from)
        }),
        Command::Validate { file } => Scenario::load(&file).map_err(Error::from).and_then(|sc| {
            budget::check(&sc, budget::threads_or_cores(None), limit, "the run").map(drop).map_err(Error::from)
        }),
        Command::Remap(args) => options::Remap::new(args).map(drop),
        Command::Sweep(args) => options::SweepRun::new(args).map(drop),
        Command::Merge(args) => options::Merge::new(args).map(drop),
        Command::Plan(args) => options::Plan::new(args).map(drop),
        // Their options are checked as they start serving or sending: the binary's part.
        _ => Ok(()),
    };
    match checked {
        Ok(()) => Ok(0),
        Err(e) => code_of(&e),
    }
}

/// Reads back what `readback` names, as the command does before it writes anything; an
/// input error must name `damaged` (the file, or its directory).
pub(crate) fn files(readback: &Readback, damaged: &Path) -> Result<u8, String> {
    let result: lbsim::Result<()> = match readback {
        Readback::Compare { sim, measured, checks } => {
            match checks.iter().map(|c| Check::parse(c)).collect::<Result<Vec<_>, _>>() {
                Err(e) => Err(e.into()),
                Ok(checks) => compare::compare(sim, measured, None, &checks).and_then(|c| {
                    let _ = compare::render(&c);
                    compare::to_csv(&c).map(drop)
                }),
            }
        }
        Readback::Resume { scenario, vary, dir } => ScenarioText::load(scenario)
            .and_then(|text| Sweep::new(text, Overrides::default(), std::slice::from_ref(vary)))
            .map_err(Error::from)
            .and_then(|sweep| store::prepare(dir, &sweep.manifest(None), true))
            .and_then(|done| store::read_points(dir, &done.into_iter().collect::<Vec<_>>()).map(drop)),
        Readback::Merge { dirs } => dirs.iter().try_for_each(|d| {
            store::read_manifest(d)?;
            store::read_points(d, &store::list_points(d)?).map(drop)
        }),
    };
    match result {
        Ok(()) => Ok(0),
        Err(e) => {
            let code = code_of(&e)?;
            if code == 2 && !crate::commands::names(&e.to_string(), damaged) {
                return Err(format!(
                    "in process: an input error that does not name the damaged {}: {e}",
                    damaged.display()
                ));
            }
            Ok(code)
        }
    }
}
