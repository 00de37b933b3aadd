//! The `lbsim` binary: parses the command line ([`cli`]), checks it into what each command
//! needs ([`options`]) and runs the command ([`commands`]). Exit code 0 on success, 2 for
//! bad input (the user's to fix), 1 for other failures (a failed check, an unwritable file,
//! stdout or stderr on a full device or a closed pipe), 130 after Ctrl-C
//! (docs/outputs.md#exit-codes).

mod cli;
#[cfg(feature = "real")]
mod cli_real;
mod commands;
mod options;
mod out;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match options::set_memory_limit(cli.max_memory.as_deref()).and_then(|()| commands::run(cli.command)) {
        Ok(commands::Ending::Done) => ExitCode::SUCCESS,
        Ok(commands::Ending::Interrupted) => ExitCode::from(130),
        Err(e) => {
            // stderr may be the failing stream: nothing more can be said then.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(if e.is_input() { 2 } else { 1 })
        }
    }
}
