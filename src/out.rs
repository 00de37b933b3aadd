//! The binary's stdout and stderr: every write is checked, so a full device (ENOSPC) or a
//! closed pipe (EPIPE) ends the command with one line and exit code 1 instead of the panic of
//! `print!` (issue 29).

use std::fmt::Arguments;
use std::io::Write;

use lbsim::{Error, Result};

/// Writes `args` to stdout and flushes it.
pub(crate) fn stdout(args: Arguments<'_>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args).and_then(|()| out.flush()).map_err(|source| Error::Output { stream: "stdout", source })
}

/// Lets `write` stream to a buffered stdout, then flushes it.
pub(crate) fn stream(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write(&mut out).and_then(|()| out.flush()).map_err(|source| Error::Output { stream: "stdout", source })
}

/// Writes `args` to stderr.
pub(crate) fn stderr(args: Arguments<'_>) -> Result<()> {
    std::io::stderr().lock().write_fmt(args).map_err(|source| Error::Output { stream: "stderr", source })
}

/// `print!` that returns an error instead of panicking.
macro_rules! out {
    ($($t:tt)*) => { $crate::out::stdout(format_args!($($t)*)) };
}

/// `println!` that returns an error instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => { $crate::out::stdout(format_args!("{}\n", format_args!($($t)*))) };
}

/// `eprint!` that returns an error instead of panicking.
macro_rules! err {
    ($($t:tt)*) => { $crate::out::stderr(format_args!($($t)*)) };
}

/// `eprintln!` that returns an error instead of panicking.
macro_rules! errln {
    ($($t:tt)*) => { $crate::out::stderr(format_args!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {err, errln, out, outln};
