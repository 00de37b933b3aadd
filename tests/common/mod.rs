//! Helpers shared by the command-line tests.

use std::fs;
use std::path::PathBuf;

use assert_cmd::Command;

/// The `lbsim` binary built for this test run.
pub fn lbsim() -> Command {
    Command::cargo_bin("lbsim").unwrap()
}

/// Writes `text` as `case.toml` in a fresh directory; returns (dir, scenario path).
#[allow(dead_code)] // not every test file writes scenarios
pub fn case(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.toml");
    fs::write(&path, text).unwrap();
    (dir, path)
}
