//! Helpers shared by the command-line tests.

use std::fs;
use std::path::PathBuf;

use assert_cmd::Command;

/// The `lbsim` binary built for this test run.
pub fn lbsim() -> Command {
    Command::cargo_bin("lbsim").unwrap()
}

/// Writes `text` as `case.toml` in a fresh directory; returns (dir, scenario path).
pub fn case(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.toml");
    fs::write(&path, text).unwrap();
    (dir, path)
}

/// `base` with the first `from` replaced by `to` (which must occur).
pub fn edit(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "{from}");
    base.replacen(from, to, 1)
}

/// Asserts that `cmd` exits with 2 and that its stderr names `case.toml:LINE`, contains every
/// needle and shows no panic. Returns the stderr.
pub fn assert_input_error(cmd: &mut Command, line: usize, needles: &[&str]) -> String {
    let assert = cmd.assert().code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains(&format!("case.toml:{line}:")), "no line {line} in: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "`{n}` missing from: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}
