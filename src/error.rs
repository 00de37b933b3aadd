//! The library's top-level error type.

use std::path::PathBuf;

use crate::scenario::ScenarioError;

/// Anything that can go wrong in lbsim.
///
/// [`Error::Input`] is the user's to fix (exit code 2 in the CLI); the others are
/// environmental (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario (or an override on the command line) is invalid.
    #[error(transparent)]
    Input(Box<ScenarioError>),
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being attempted ("cannot write", "cannot read", ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing to stdout or stderr failed (a full device, a closed pipe).
    #[error("cannot write to {stream}: {source}")]
    Output {
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Anything else (thread pool creation, CSV encoding, ...).
    #[error("{0}")]
    Other(String),
}

impl From<ScenarioError> for Error {
    fn from(e: ScenarioError) -> Self {
        Error::Input(Box::new(e))
    }
}

impl Error {
    /// Whether the error is the user's input (exit code 2) rather than the environment.
    pub fn is_input(&self) -> bool {
        matches!(self, Error::Input(_))
    }
}

/// Result alias for lbsim.
pub type Result<T, E = Error> = std::result::Result<T, E>;
