//! What the benchmarks share: running a child process to completion and reading what it
//! used from `wait4`. Each bench binary uses a part of it.
#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::time::Instant;

/// What a child process used.
#[derive(Debug, Clone)]
pub(crate) struct Usage {
    /// User + system CPU time, s.
    pub(crate) cpu: f64,
    /// Wall time, s.
    pub(crate) wall: f64,
    /// Peak resident set, KiB.
    pub(crate) rss_kib: i64,
    /// What it wrote on stderr.
    pub(crate) stderr: String,
}

/// Runs `cmd` to completion and returns its own resource usage (wait4).
#[allow(clippy::zombie_processes)] // the child is reaped by libc::wait4, which std cannot see
pub(crate) fn run_child(cmd: &mut Command) -> Usage {
    let t = Instant::now();
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start the child");
    let mut stderr = String::new();
    // Read to the end first (the child closes it when it exits), so a full pipe cannot block it.
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    let mut status = 0;
    // SAFETY: wait4 reaps our own child and writes only into the two values we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
        usage
    };
    let wall = t.elapsed().as_secs_f64();
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child failed: {cmd:?}: {stderr}");
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Usage { cpu: tv(usage.ru_utime) + tv(usage.ru_stime), wall, rss_kib: usage.ru_maxrss, stderr }
}
