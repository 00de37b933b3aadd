//! The command line on the failure and workload features: errors, files, shipped scenarios.

use crate::common::{lbsim, mm_pool, run_quiet};
use predicates::prelude::*;

/// Four web servers at ρ = 0.75, two strategies.
fn base() -> String {
    mm_pool("requests = 3000\nstrategies = [\"round-robin\", \"p2c\"]", 300.0, "web", 4, "")
}

#[test]
fn a_bad_trace_row_names_file_and_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "timestamp,service_time\n0.1,0.002\n0.2,fast\n").unwrap();
    let sc = dir.path().join("s.toml");
    std::fs::write(
        &sc,
        base()
            .replace("process = \"poisson\"\nrate = 300.0", "process = \"trace\"\nfile = \"t.csv\"")
            .replace("requests = 3000\n", ""),
    )
    .unwrap();
    let out = dir.path().join("out");
    lbsim()
        .args(["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("t.csv:3: `service_time`: `fast` is not a number"));
    assert!(!out.exists());
    // A good trace cannot be asked for more requests than it has rows.
    std::fs::write(dir.path().join("t.csv"), "timestamp\n0.1\n0.2\n").unwrap();
    lbsim()
        .args(["run", sc.to_str().unwrap(), "--requests", "5", "--out", out.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the trace has only 2 rows"));
}

#[test]
fn fault_errors_point_at_the_key_and_suggest() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("s.toml");
    let cases = [
        ("[[faults]]\nserver = \"web-33\"\ndown_at = \"1s\"\n", "did you mean `web-3`?"),
        ("[[faults]]\nserver = \"web-1\"\ndown_at = \"5s\"\nup_at = \"2s\"\n", "`faults[0].up_at`: must be after"),
        ("[[faults]]\ngroup = \"web\"\ncount = 9\ndown_at = \"1s\"\n", "from 1 to the group's size (4)"),
        ("[[faults]]\nserver = \"web-1\"\nslow_at = \"1s\"\n", "needs `slowdown"),
        ("[[faults]]\nserver = \"web-1\"\ndown_at = \"1s\"\nslow_at = \"2s\"\n", "either a crash"),
        ("[client]\nretry_on = [\"timeuot\"]\n", "did you mean `timeout`?"),
        ("[health_check]\ninterval = \"2s\"\nfal = 3\n", "did you mean `fall`?"),
        ("[outlier_detection]\nmax_ejection_percent = 150.0\n", "from 0 to 100"),
    ];
    for (extra, expect) in cases {
        std::fs::write(&sc, format!("{}{extra}", base())).unwrap();
        lbsim().arg("validate").arg(&sc).assert().code(2).stderr(predicate::str::contains(expect));
    }
    std::fs::write(&sc, base().replace("rate = 300.0", "rate = 300.0\n[[arrivals.schedule]]\nat = \"0s\"\nrate = 5.0"))
        .unwrap();
    lbsim()
        .arg("validate")
        .arg(&sc)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("arrivals.schedule[0].at").and(predicate::str::contains(":7:")));
    std::fs::write(&sc, base().replace("process = \"poisson\"\nrate = 300.0", "process = \"closed\"\nclients = 3"))
        .unwrap();
    lbsim().arg("validate").arg(&sc).assert().code(2).stderr(predicate::str::contains("needs `think_time`"));
}

#[test]
fn a_fault_run_writes_the_failure_columns_and_faults_csv() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("s.toml");
    std::fs::write(
        &sc,
        format!("{}[[faults]]\nserver = \"web-2\"\ndown_at = \"3s\"\n[health_check]\ninterval = \"1s\"\n[client]\nmax_retries = 1\n", base()),
    )
    .unwrap();
    let out = dir.path().join("out");
    run_quiet(&sc, &out, &[]).stdout(
        predicate::str::contains("fault: web-2 down at 3s (replication 0):").and(predicate::str::contains("avail %")),
    );
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let header = summary.lines().next().unwrap();
    assert!(header.starts_with("strategy,requests,completed,dropped,mean_ms,"), "{header}");
    assert!(
        header.contains(",offered_load,busiest_server_share,hottest_key_share,failed,timed_out,retried,availability,"),
        "{header}"
    );
    let faults = std::fs::read_to_string(out.join("faults.csv")).unwrap();
    assert_eq!(faults.lines().count(), 3, "{faults}");
    assert!(faults.lines().nth(1).unwrap().starts_with("round-robin,0,0,web-2,down,,3.000000,,"), "{faults}");
    // A scenario without faults writes no faults.csv, and removes one left by an earlier run.
    std::fs::write(&sc, base()).unwrap();
    let out2 = dir.path().join("out2");
    run_quiet(&sc, &out2, &[]);
    assert!(!out2.join("faults.csv").exists());
    run_quiet(&sc, &out, &[]);
    assert!(!out.join("faults.csv").exists());
}
