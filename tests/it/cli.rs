//! The command line: exit codes, messages, files written (or not), determinism.

use std::fs;
use std::path::Path;

use crate::common::{case, file_names, lbsim, rejects, run_quiet};
use predicates::prelude::*;

const BASE: &str = r#"seed = 1
requests = 2000
strategies = ["random", "p2c"]

[arrivals]
process = "poisson"
rate = 100.0

[service]
distribution = "exponential"
mean = "10ms"

[[servers]]
name = "web"
count = 2
"#;

/// `BASE` with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> String {
    crate::common::edit(BASE, from, to)
}

#[test]
fn malformed_toml() {
    rejects(&edit("rate = 100.0", "rate = = 100.0"), 7, &["expected"]);
}

#[test]
fn unknown_key_with_suggestion() {
    rejects(&edit("rate = 100.0", "raet = 100.0"), 7, &["arrivals.raet", "unknown key", "did you mean `rate`"]);
    rejects(&edit("count = 2", "count = 2\nwieght = 3"), 16, &["servers[0].wieght", "did you mean `weight`"]);
}

#[test]
fn wrong_type() {
    rejects(&edit("rate = 100.0", "rate = \"fast\""), 7, &["arrivals.rate", "expected a number"]);
    rejects(&edit("requests = 2000", "requests = 2.5"), 2, &["requests", "whole number"]);
    rejects(&edit("mean = \"10ms\"", "mean = 10"), 11, &["service.mean", "needs a unit"]);
}

#[test]
fn non_positive_or_nan_numbers() {
    rejects(&edit("rate = 100.0", "rate = -5.0"), 7, &["arrivals.rate", "positive", "-5"]);
    rejects(&edit("rate = 100.0", "rate = 0.0"), 7, &["arrivals.rate", "positive"]);
    rejects(&edit("rate = 100.0", "rate = nan"), 7, &["arrivals.rate", "NaN"]);
    rejects(&edit("mean = \"10ms\"", "mean = \"0ms\""), 11, &["service.mean", "positive"]);
    rejects(&edit("mean = \"10ms\"", "mean = \"-3ms\""), 11, &["service.mean"]);
    rejects(&edit("count = 2", "count = 2\nspeed = 0.0"), 16, &["servers[0].speed", "positive"]);
    rejects(&edit("count = 2", "count = 2\nspeed = inf"), 16, &["servers[0].speed"]);
    rejects(&edit("count = 2", "count = -1"), 15, &["servers[0].count", "whole number"]);
}

#[test]
fn zero_servers_or_requests() {
    rejects(&edit("count = 2", "count = 0"), 15, &["servers[0].count", "at least 1"]);
    let no_servers = format!("servers = []\n{}", BASE.replace("[[servers]]\nname = \"web\"\ncount = 2\n", ""));
    rejects(&no_servers, 1, &["servers", "at least one"]);
    rejects(&edit("requests = 2000", "requests = 0"), 2, &["requests", "at least 1"]);
    rejects(&edit("requests = 2000", "requests = 2000\nwarmup_requests = 2000"), 3, &["warmup_requests"]);
}

#[test]
fn unknown_distribution_or_strategy() {
    rejects(&edit("\"exponential\"", "\"exponental\""), 10, &["service.distribution", "did you mean `exponential`"]);
    rejects(&edit("\"p2c\"]", "\"least-conections\"]"), 3, &["strategies[1]", "did you mean `least-connections`"]);
    rejects(&edit("\"poisson\"", "\"poison\""), 6, &["arrivals.process", "did you mean `poisson`"]);
}

#[test]
fn parameter_out_of_range() {
    rejects(&edit("\"p2c\"]", "{ name = \"p2c\", choices = 5 }]"), 3, &["strategies[1].choices", "from 1 to 2"]);
    rejects(&edit("\"p2c\"]", "{ name = \"p2c\", choise = 2 }]"), 3, &["did you mean `choices`"]);
    rejects(&edit("\"random\",", "{ name = \"random\", choices = 2 },"), 3, &["`random` has no parameter `choices`"]);
}

#[test]
fn parameter_that_does_not_apply() {
    rejects(
        &edit("mean = \"10ms\"", "mean = \"10ms\"\ncv = 2.0"),
        12,
        &["service.cv", "does not apply", "exponential"],
    );
    rejects(&edit("\"exponential\"", "\"hyperexponential\"\ncv = 0.5"), 11, &["service.cv", "> 1"]);
    rejects(&edit("\"exponential\"", "\"gamma\""), 9, &["needs `cv`"]);
}

#[test]
fn missing_file_is_an_input_error() {
    lbsim().args(["run", "/nonexistent/x.toml"]).assert().code(2).stderr(predicate::str::contains("cannot read"));
}

#[test]
fn run_writes_csv_with_the_contract_columns() {
    let (dir, path) = case(BASE);
    let out = dir.path().join("out");
    run_quiet(&path, &out, &[]).stdout(predicate::str::contains("random").and(predicate::str::contains("p2c")));
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(summary.starts_with(
        "strategy,requests,completed,dropped,mean_ms,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,mean_wait_ms,\
         throughput_rps,utilization,load_max_over_mean,load_cv,jain_index"
    ));
    assert_eq!(summary.lines().count(), 3);
    let servers = fs::read_to_string(out.join("servers.csv")).unwrap();
    assert!(servers.starts_with("strategy,server,requests,utilization,mean_in_system,max_in_system,mean_ms,p99_ms"));
    assert_eq!(servers.lines().count(), 1 + 2 * 2);
    // No temporary files left behind.
    let hidden: Vec<String> = file_names(&out).into_iter().filter(|f| f.starts_with('.')).collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

fn run_csv(path: &Path, out: &Path, threads: &str) -> (String, String) {
    run_quiet(path, out, &["--threads", threads]);
    (fs::read_to_string(out.join("summary.csv")).unwrap(), fs::read_to_string(out.join("servers.csv")).unwrap())
}

#[test]
fn same_seed_same_bytes_whatever_the_threads() {
    let text = edit(
        "strategies = [\"random\", \"p2c\"]",
        "replications = 3\nstrategies = [\"random\", \"p2c\", \"round-robin\", \"least-connections\"]",
    );
    let (dir, path) = case(&text);
    let a = run_csv(&path, &dir.path().join("a"), "1");
    let b = run_csv(&path, &dir.path().join("b"), "2");
    assert_eq!(a, b);
}

#[test]
fn overrides_apply() {
    let (dir, path) = case(BASE);
    let out = dir.path().join("o");
    run_quiet(&path, &out, &["--requests", "500", "--seed", "9", "--strategies", "round-robin"]);
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    let row = summary.lines().nth(1).unwrap();
    assert!(row.starts_with("round-robin,450,"), "{row}"); // 500 requests, 50 warm-up
    lbsim()
        .arg("run")
        .arg(&path)
        .args(["--strategies", "round-robbin", "--quiet"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `round-robin`"));
}

#[test]
fn validate_reports_load_and_warns_when_unstable() {
    let (_dir, path) = case(BASE);
    lbsim().arg("validate").arg(&path).assert().success().stdout(
        predicate::str::contains("offered load ρ:  0.500").and(predicate::str::contains("capacity:        200.0")),
    );
    let (_dir, path) = case(&edit("rate = 100.0", "rate = 250.0"));
    lbsim()
        .arg("validate")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("warning: UNSTABLE: offered load ρ = 1.250"));
    run_quiet(&path, &_dir.path().join("o"), &[]).stdout(predicate::str::contains("UNSTABLE"));
}

#[test]
fn strategies_lists_every_registered_name() {
    let mut cmd = lbsim();
    let assert = cmd.arg("strategies").assert().success();
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for s in lbsim::strategy::registry::REGISTRY {
        assert!(out.contains(s.name), "{}", s.name);
    }
}

#[test]
fn every_shipped_scenario_validates() {
    for entry in fs::read_dir("scenarios").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            lbsim().arg("validate").arg(&path).assert().success();
        }
    }
}

#[test]
fn help_has_examples() {
    lbsim().arg("--help").assert().success().stdout(predicate::str::contains("Examples:"));
    lbsim().args(["run", "--help"]).assert().success().stdout(predicate::str::contains("--threads"));
    lbsim().arg("frobnicate").assert().code(2);
}

#[test]
fn a_run_too_short_for_steady_state_is_flagged() {
    // 60 requests at ρ = 0.97: the queues cannot settle, so L and λW disagree.
    let text = edit("rate = 100.0", "rate = 194.0").replace("requests = 2000", "requests = 60");
    let (dir, path) = case(&text);
    run_quiet(&path, &dir.path().join("o"), &[]).stdout(predicate::str::contains("Little's law is off"));
}
