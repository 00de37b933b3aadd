//! The `lbsim` command line: parses arguments and calls the library.

mod cli;
#[cfg(feature = "real")]
mod cli_real;

fn main() -> std::process::ExitCode {
    cli::main()
}
