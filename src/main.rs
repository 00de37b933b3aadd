//! The `lbsim` binary: parses the command line ([`cli`]), checks it into what each command
//! needs ([`options`]) and runs the command ([`commands`]). Exit code 0 on success, 2 for
//! bad input (the user's to fix), 1 for other failures, 130 after Ctrl-C.

mod cli;
#[cfg(feature = "real")]
mod cli_real;
mod commands;
mod options;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match options::set_memory_limit(cli.max_memory.as_deref()).and_then(|()| commands::run(cli.command)) {
        Ok(commands::Ending::Done) => ExitCode::SUCCESS,
        Ok(commands::Ending::Interrupted) => ExitCode::from(130),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_input() { 2 } else { 1 })
        }
    }
}
